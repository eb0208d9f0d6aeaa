/* Busy signal load: a 1 ms ITIMER_REAL for a few seconds while computing and making system calls (getpid,
 * write to /dev/null, clock_gettime, nanosleep restarted by hand after EINTR, sigprocmask). The handler counts
 * its runs and checks the FPU it gets is usable. Usage: sig_busy [ROUNDS] [signal|nosignal] [OUTFILE].
 * Prints the computation's result (must not depend on the signals), the handler count and the elapsed time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile unsigned long handlers;
static volatile int bad;
static void on_alrm(int sig) {
    volatile double f = 1.0 / 3.0; /* the handler uses the FPU: the interrupted code must not notice */
    if (sig != SIGALRM || f < 0.33) bad++;
    handlers++;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    unsigned long total = argc > 1 ? strtoul(argv[1], 0, 0) : 65536;
    int nosig = argc > 2 && !strcmp(argv[2], "nosignal");
    FILE *out = argc > 3 ? fopen(argv[3], "w") : stdout;
    if (!out) return 2;
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm; sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    int fd = open("/dev/null", O_WRONLY);
    struct itimerval it = { {0, 1000}, {0, 1000} };
    if (!nosig) setitimer(ITIMER_REAL, &it, 0);
    double t0 = now();
    uint32_t h = 2166136261u; double acc = 0; unsigned long rounds = 0, eintr = 0;
    /* a fixed amount of work per round; rounds run until the time is up, the result is per 4096 rounds */
    uint64_t fixed = 0;
    while (rounds < total) {
        for (int i = 0; i < 200; i++) { h ^= (uint32_t)(i + rounds); h *= 16777619u; }
        acc += (double)(h & 0xFF) * 0.5;
        if (rounds % 16 == 0) { syscall(SYS_getpid); write(fd, &h, 4); }
        if (rounds % 512 == 0) {
            struct timespec req = { 0, 200000 }, rem;
            while (nanosleep(&req, &rem) == -1 && errno == EINTR) { eintr++; req = rem; }
            sigset_t s, o; sigemptyset(&s); sigaddset(&s, SIGALRM); sigprocmask(SIG_BLOCK, &s, &o); sigprocmask(SIG_SETMASK, &o, 0);
        }
        rounds++;
        if (rounds % 4096 == 0) fixed = fixed * 31 + h + (uint64_t)acc;
    }
    double elapsed = now() - t0;
    struct itimerval off = { {0, 0}, {0, 0} };
    setitimer(ITIMER_REAL, &off, 0);
    unsigned long n = handlers;
    fprintf(out, "result=%016llx acc=%.1f\n", (unsigned long long)fixed, acc);
    fprintf(out, "handlers=%lu elapsed_ms=%.0f eintr=%lu bad=%d\n", n, elapsed * 1000, eintr, bad);
    fclose(out);
    return 0;
}
