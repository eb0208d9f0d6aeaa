/* glibc's clock_gettime/gettimeofday/time go through the vDSO (no syscall); their results must agree with
 * the real syscalls: vDSO(before) <= syscall <= vDSO(after), for every clock the vDSO serves. */
#include <stdio.h>
#include <time.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(int argc, char **argv) {
    int loops = argc > 1 ? atoi(argv[1]) : 2000, bad = 0;
    clockid_t clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI, CLOCK_MONOTONIC_RAW };
    for (int c = 0; c < 5; c++) {
        for (int i = 0; i < 50; i++) {
            struct timespec a, s, b;
            clock_gettime(clocks[c], &a);
            syscall(SYS_clock_gettime, clocks[c], &s);
            clock_gettime(clocks[c], &b);
            if (!(ns(a) <= ns(s) && ns(s) <= ns(b))) { bad++; printf("clock %d out of order: %lld %lld %lld\n", clocks[c], ns(a), ns(s), ns(b)); }
        }
    }
    struct timespec prev = {0, 0}, now;
    for (int i = 0; i < loops; i++) {          /* the part that must make no syscall */
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (ns(now) < ns(prev)) bad++;
        prev = now;
        struct timeval tv; gettimeofday(&tv, 0);
        (void)time(0);
    }
    struct timeval tv; gettimeofday(&tv, 0);
    time_t t = time(0);
    if (t < tv.tv_sec - 1 || t > tv.tv_sec + 1) bad++;
    printf("vdso_time: %d problems\n", bad);
    return bad != 0;
}
