/* alarm, setitimer/getitimer (REAL, VIRTUAL, PROF), POSIX timers (CLOCK_REALTIME/MONOTONIC, SIGEV_SIGNAL,
 * (periodic counts: at most one per period plus one, at least two — a loaded host delays timer threads),
 * SIGEV_NONE, timer_gettime, interval timers), kill/raise with default actions that ignore. Only timing-robust
 * facts are printed; compared with qemu-i386 (it implements these with host timers). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

static volatile int n_alrm, n_vt, n_prof, n_usr1, last_code, last_val;
static void h(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (sig == SIGALRM) n_alrm++;
    if (sig == SIGVTALRM) n_vt++;
    if (sig == SIGPROF) n_prof++;
    if (sig == SIGUSR1) { n_usr1++; last_val = si->si_value.sival_int; }
    last_code = si->si_code;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
/* CPU time of the process: what VIRTUAL and PROF count (on a busy machine 0.1 s of wall time may hold none of it) */
static double cpu_now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGALRM, &sa, 0); sigaction(SIGVTALRM, &sa, 0); sigaction(SIGPROF, &sa, 0); sigaction(SIGUSR1, &sa, 0);

    printf("alarm(5)=%u\n", alarm(5));
    printf("alarm(3)=%u\n", alarm(3)); /* 5 left, rounded */
    printf("alarm(0)=%u\n", alarm(0));
    struct itimerval it, old;
    memset(&it, 0, sizeof it); it.it_value.tv_usec = 1000000;
    int r = setitimer(ITIMER_REAL, &it, 0);
    printf("setitimer bad usec: %d errno=%d\n", r, errno);
    r = getitimer(7, &old);
    printf("getitimer bad which: %d errno=%d\n", r, errno);

    /* ITIMER_REAL one-shot 30 ms, then wait for it */
    memset(&it, 0, sizeof it); it.it_value.tv_usec = 30000;
    setitimer(ITIMER_REAL, &it, 0);
    getitimer(ITIMER_REAL, &old);
    printf("real pending: value_ok=%d interval=%ld\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0 && old.it_value.tv_usec <= 30000, (long)old.it_interval.tv_usec);
    while (!n_alrm) ;
    getitimer(ITIMER_REAL, &old);
    printf("real fired: n=%d code=%d disarmed=%d\n", n_alrm, last_code, old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);

    /* periodic 10 ms for ~105 ms of computing: 10 (+-2) signals */
    n_alrm = 0;
    it.it_interval.tv_usec = 10000; it.it_value.tv_usec = 10000;
    setitimer(ITIMER_REAL, &it, 0);
    double t0 = now();
    while (now() - t0 < 0.105) ;
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, &old);
    printf("periodic: count_ok=%d old_interval=%ld\n", n_alrm >= 2 && n_alrm <= 11, (long)old.it_interval.tv_usec);

    /* VIRTUAL and PROF tick while computing */
    it.it_interval.tv_usec = 5000; it.it_value.tv_usec = 5000;
    setitimer(ITIMER_VIRTUAL, &it, 0); setitimer(ITIMER_PROF, &it, 0);
    volatile unsigned x = 0; t0 = cpu_now();
    while (cpu_now() - t0 < 0.1) x++;
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_VIRTUAL, &it, 0); setitimer(ITIMER_PROF, &it, 0);
    printf("virtual ticked=%d prof ticked=%d\n", n_vt > 0, n_prof > 0);

    /* POSIX timers */
    timer_t t1, t2;
    struct sigevent sev; memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL; sev.sigev_signo = SIGUSR1; sev.sigev_value.sival_int = 1234;
    r = timer_create(99, &sev, &t1);
    printf("timer_create bad clock: %d errno=%d\n", r, errno);
    printf("timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &sev, &t1));
    struct itimerspec its = { {0, 0}, {0, 20000000} }, cur;
    timer_settime(t1, 0, &its, 0);
    timer_gettime(t1, &cur);
    printf("timer_gettime: armed=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
    while (!n_usr1) ;
    printf("posix fired: n=%d code=%d val=%d\n", n_usr1, last_code, last_val);
    struct timespec abs; clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_nsec += 20000000; if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    sev.sigev_value.sival_int = 99;
    timer_create(CLOCK_REALTIME, &sev, &t2);
    its.it_value = abs;
    timer_settime(t2, TIMER_ABSTIME, &its, 0);
    while (n_usr1 < 2) ;
    printf("abs realtime fired: n=%d val=%d\n", n_usr1, last_val);
    /* interval posix timer, 10 ms for ~100 ms */
    its.it_interval.tv_nsec = 10000000; its.it_value.tv_sec = 0; its.it_value.tv_nsec = 10000000;
    n_usr1 = 0; timer_settime(t1, 0, &its, 0);
    t0 = now(); while (now() - t0 < 0.1) ;
    memset(&its, 0, sizeof its); timer_settime(t1, 0, &its, &cur);
    printf("posix periodic: count_ok=%d old_interval=%ld\n", n_usr1 >= 2 && n_usr1 <= 11, cur.it_interval.tv_nsec);
    sev.sigev_notify = SIGEV_NONE;
    timer_t t3; timer_create(CLOCK_MONOTONIC, &sev, &t3);
    its.it_value.tv_nsec = 1000000; timer_settime(t3, 0, &its, 0);
    usleep(10000);
    timer_gettime(t3, &cur);
    printf("sigev_none: expired=%d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    int d1 = timer_delete(t1), d2 = timer_delete(t2), d3 = timer_delete(t3);
    r = timer_delete(t1);
    printf("delete: %d %d %d, again: %d errno=%d\n", d1, d2, d3, r, errno);

    /* default actions that ignore */
    signal(SIGCHLD, SIG_DFL); raise(SIGCHLD);
    signal(SIGWINCH, SIG_DFL); raise(SIGWINCH);
    signal(SIGTERM, SIG_IGN); raise(SIGTERM);
    printf("ignored ok\n");
    return 0;
}
