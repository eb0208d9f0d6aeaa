/* Syscall restart with handlers (arch/x86/kernel/signal.c handle_signal): a blocking read on a signalfd
 * (-ERESTARTSYS) is interrupted by SIGALRM; without SA_RESTART it fails with EINTR, with SA_RESTART it is
 * restarted and completes when SIGUSR2 arrives. Done through libc, raw int $0x80 and the vDSO's
 * __kernel_vsyscall (SYSENTER/SYSCALL/int80 by CPU model: a restart lands on the vDSO's int $0x80).
 * pause() (-ERESTARTNOHAND) always fails with EINTR. nanosleep interrupted by a handler fails with EINTR and
 * reports the remaining time; an absolute clock_nanosleep fails with EINTR without touching rem.
 * qemu-i386 has no vDSO/AT_SYSINFO, so this is checked against sig_restart.expected (the kernel's rules above). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile int hits;
static void h(int s) { (void)s; hits++; }
static uintptr_t vsyscall;

static long raw80(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("push %%ebx\n\tmov %%esi,%%ebx\n\tint $0x80\n\tpop %%ebx" : "=a"(r) : "0"(nr), "S"(a), "c"(b), "d"(c) : "memory");
    return r;
}
static long rawvdso(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile("push %%ebx\n\tmov %%esi,%%ebx\n\tcall *%%edi\n\tpop %%ebx" : "=a"(r) : "0"(nr), "S"(a), "c"(b), "d"(c), "D"(vsyscall) : "memory");
    return r;
}

static void handler(int flags) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_handler = h; sa.sa_flags = flags; sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, 0);
}

static void alarm_ms(int ms) {
    struct itimerval it = { {0, 0}, {0, ms * 1000} };
    setitimer(ITIMER_REAL, &it, 0);
}

static timer_t usr2_timer;
static void usr2_in_ms(int ms) {
    struct itimerspec its = { {0, 0}, {0, ms * 1000000L} };
    timer_settime(usr2_timer, 0, &its, 0);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    vsyscall = getauxval(AT_SYSINFO);
    printf("AT_SYSINFO present=%d\n", vsyscall != 0);
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR2); sigprocmask(SIG_BLOCK, &s, 0);
    int fd = signalfd(-1, &s, 0);
    struct sigevent sev; memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL; sev.sigev_signo = SIGUSR2; sev.sigev_value.sival_int = 5;
    timer_create(CLOCK_REALTIME, &sev, &usr2_timer);
    struct signalfd_siginfo ssi;
    const char *names[] = { "libc", "int80", "vdso" };
    for (int m = 0; m < 3; m++) {
        if (m == 2 && !vsyscall) { printf("%s: no vDSO\n", names[m]); continue; }
        for (int restart = 0; restart < 2; restart++) {
            handler(restart ? SA_RESTART : 0);
            hits = 0;
            memset(&ssi, 0, sizeof ssi);
            alarm_ms(20);
            usr2_in_ms(300);
            long r;
            if (m == 0) { r = read(fd, &ssi, sizeof ssi); if (r < 0) r = -errno; }
            else if (m == 1) r = raw80(SYS_read, fd, (long)&ssi, sizeof ssi);
            else r = rawvdso(SYS_read, fd, (long)&ssi, sizeof ssi);
            printf("%s %s: r=%ld hits=%d signo=%u int=%d\n", names[m], restart ? "SA_RESTART" : "no SA_RESTART", r, hits, ssi.ssi_signo, ssi.ssi_int);
            if (r < 0) { /* drain the SIGUSR2 that is still coming */
                r = read(fd, &ssi, sizeof ssi);
                printf("  drained: r=%ld signo=%u\n", r, ssi.ssi_signo);
            }
        }
    }
    handler(SA_RESTART);
    hits = 0; alarm_ms(20);
    int r = pause();
    printf("pause: r=%d errno=%d hits=%d\n", r, errno, hits);
    handler(0);
    hits = 0; alarm_ms(50);
    struct timespec req = { 2, 0 }, rem = { -1, -1 };
    r = nanosleep(&req, &rem);
    printf("nanosleep: r=%d errno=%d hits=%d rem_ok=%d\n", r, errno, hits, rem.tv_sec == 1 && rem.tv_nsec > 800000000);
    hits = 0; alarm_ms(50);
    rem.tv_sec = 1; rem.tv_nsec = 0;
    r = (int)raw80(SYS_nanosleep, (long)&req, (long)&rem, 0);
    printf("nanosleep int80: r=%d hits=%d rem_ok=%d\n", r, hits, rem.tv_sec == 1 && rem.tv_nsec > 800000000);
    struct timespec now; clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_sec += 2; rem.tv_sec = 7; rem.tv_nsec = 7;
    hits = 0; alarm_ms(50);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, &rem);
    printf("clock_nanosleep abs: r=%d hits=%d rem_untouched=%d\n", r, hits, rem.tv_sec == 7 && rem.tv_nsec == 7);
    req.tv_sec = 0; req.tv_nsec = 30000000; alarm_ms(0);
    r = nanosleep(&req, 0);
    printf("nanosleep uninterrupted: r=%d\n", r);
    r = (int)syscall(SYS_restart_syscall);
    printf("restart_syscall with nothing to restart: r=%d errno=%d\n", r, errno);
    return 0;
}
