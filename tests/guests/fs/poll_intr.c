/* poll, select, ppoll and pselect interrupted by signals: EINTR with or without SA_RESTART (fs/select.c never
   restarts them once a handler ran), the temporary sigmask of ppoll/pselect, the time left written back by
   select, and poll resuming after a stop/continue (restart_syscall, no handler). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int hits;
static void on_sig(int s) { (void)s; hits++; }

static void handler(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = flags;
    sigaction(sig, &sa, 0);
}

static void alarm_ms(int ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, 0);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void show(const char *what, int r)
{
    printf("%s: %d %s hits=%d\n", what, r, r < 0 ? strerror(errno) : "-", hits);
    hits = 0;
}

int main(void)
{
    int p[2], r;
    pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};
    setvbuf(stdout, 0, _IONBF, 0);

    for (int restart = 0; restart < 2; restart++)
    {
        handler(SIGALRM, restart ? SA_RESTART : 0);
        printf("-- SA_RESTART=%d\n", restart);
        alarm_ms(50);
        show("poll", poll(&pf, 1, -1));
        alarm_ms(50);
        show("poll timeout", poll(&pf, 1, 5000));

        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        struct timeval tv = {5, 0};
        alarm_ms(50);
        r = select(p[0] + 1, &rs, 0, 0, &tv);
        show("select", r);
        printf("select left %s, set kept %d\n", tv.tv_sec == 4 || (tv.tv_sec == 5 && tv.tv_usec == 0) ? "4.x s" : "wrong",
               FD_ISSET(p[0], &rs));

        alarm_ms(50);
        struct timespec ts = {5, 0};
        show("ppoll", ppoll(&pf, 1, &ts, 0));
        printf("ppoll timespec (glibc passes a copy) %ld\n", (long)ts.tv_sec);

        FD_ZERO(&rs);
        FD_SET(p[0], &rs);
        alarm_ms(50);
        show("pselect", pselect(p[0] + 1, &rs, 0, 0, 0, 0));
    }

    /* A ready descriptor wins over a pending signal; a zero timeout with nothing ready and nothing pending is 0. */
    write(p[1], "x", 1);
    show("poll ready", poll(&pf, 1, -1));
    char c;
    read(p[0], &c, 1);
    show("poll zero", poll(&pf, 1, 0));
    struct timeval z = {0, 0};
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    show("select zero", select(p[0] + 1, &rs, 0, 0, &z));
    show("select wide n", select(100, &rs, 0, 0, &z));
    FD_SET(50, &rs);
    show("select closed fd", select(51, &rs, 0, 0, &z));

    /* ppoll's temporary mask: SIGUSR1 blocked normally, pending, and let through only for the wait. */
    handler(SIGUSR1, 0);
    sigset_t blk, empty, cur;
    sigemptyset(&blk);
    sigaddset(&blk, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &blk, 0);
    raise(SIGUSR1);
    printf("pending before: %d\n", hits);
    show("ppoll unmasked", ppoll(&pf, 1, 0, &empty));
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("SIGUSR1 blocked after: %d\n", sigismember(&cur, SIGUSR1));
    raise(SIGUSR1);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    show("pselect unmasked", pselect(p[0] + 1, &rs, 0, 0, 0, &empty));
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("SIGUSR1 blocked after: %d\n", sigismember(&cur, SIGUSR1));

    /* Stop and continue with no handler: poll restarts (restart_syscall) and ends at its first deadline. */
    pid_t parent = getpid();
    pid_t kid = fork();
    if (kid == 0)
    {
        usleep(50000);
        kill(parent, SIGSTOP);
        usleep(50000);
        kill(parent, SIGCONT);
        _exit(0);
    }
    long t0 = now_ms();
    r = poll(&pf, 1, 400);
    long el = now_ms() - t0;
    printf("poll across stop: %d, %s\n", r, el >= 390 && el < 2000 ? "full time" : "wrong time");
    waitpid(kid, 0, 0);
    return 0;
}
