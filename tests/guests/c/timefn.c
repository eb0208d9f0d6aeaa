/* time functions: plausibility of the clocks (not exact values) and exact calendar conversions. */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
#include <sys/times.h>
#include <unistd.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
    struct timeval tv;
    struct timespec rt, mono, mono2, cpu, res;
    int ok = gettimeofday(&tv, NULL) == 0;
    printf("gettimeofday ok=%d sane=%d usec<1e6=%d\n", ok, tv.tv_sec > 1600000000 && tv.tv_sec < 4000000000u, tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    clock_gettime(CLOCK_REALTIME, &rt);
    printf("realtime close to gettimeofday %d\n", rt.tv_sec - tv.tv_sec >= 0 && rt.tv_sec - tv.tv_sec <= 2);
    time_t t = time(NULL);
    /* time() reads the coarse clock (the vDSO's basetime), which may lag CLOCK_REALTIME by up to a tick */
    printf("time close %d\n", t - rt.tv_sec >= -1 && t - rt.tv_sec <= 2);
    struct timespec pause = { 1, 100 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    time_t t1 = time(NULL);
    printf("time advances with the clock %d\n", t1 - t >= 1 && t1 - t <= 3);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    struct timespec req = { 0, 20 * 1000 * 1000 };
    printf("nanosleep %d\n", nanosleep(&req, NULL));
    clock_gettime(CLOCK_MONOTONIC, &mono2);
    long long d = ns(mono2) - ns(mono);
    printf("monotonic advanced >=20ms %d <5s %d\n", d >= 20000000, d < 5000000000LL);
    printf("process cputime %d\n", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0 && ns(cpu) >= 0);
    printf("getres realtime %d res<=1ms %d\n", clock_getres(CLOCK_REALTIME, &res), res.tv_sec == 0 && res.tv_nsec <= 1000000);
    printf("boottime %d\n", clock_gettime(CLOCK_BOOTTIME, &res) == 0 && res.tv_sec >= 0);
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 5000000; if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    printf("clock_nanosleep abs %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
    struct tms tm_;
    clock_t c = times(&tm_);
    printf("times %d\n", c != (clock_t)-1);
    /* calendar arithmetic is pure libc: must be exact */
    time_t fixed = 1234567890;
    struct tm g;
    gmtime_r(&fixed, &g);
    char buf[128];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a %b %j %U %Z", &g);
    printf("%s\n", buf);
    g.tm_mday += 100;
    printf("timegm %lld\n", (long long)timegm(&g));
    fixed = 2147483647; gmtime_r(&fixed, &g);
    printf("%s", asctime(&g));
    return 0;
}
