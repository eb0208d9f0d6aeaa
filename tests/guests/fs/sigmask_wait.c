/* The temporary mask of ppoll and pselect6 in the cases qemu-i386 does not model (compared with a run on
   Linux, sigmask_wait.expected): a signal blocked only for the wait stays pending through it and is delivered
   as the call returns, before the next instruction; one unblocked only for the wait is delivered with the
   caller's mask restored after the handler. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int hits, blocked_in_handler;
static void on_sig(int s)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    blocked_in_handler = sigismember(&cur, SIGUSR2);
    (void)s;
    hits++;
}

static void alarm_ms(int ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, 0);
}

int main(void)
{
    setvbuf(stdout, 0, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaction(SIGALRM, &sa, 0);
    sigaction(SIGUSR1, &sa, 0);
    int p[2];
    pipe(p);
    struct pollfd pf = {p[0], POLLIN, 0};

    sigset_t wait_mask, cur;
    sigemptyset(&wait_mask);
    sigaddset(&wait_mask, SIGALRM);
    sigaddset(&wait_mask, SIGUSR2);
    alarm_ms(30);
    struct timespec ts = {0, 150 * 1000000};
    int r = ppoll(&pf, 1, &ts, &wait_mask);
    int h = hits;
    printf("ppoll, SIGALRM blocked for the wait: %d, handler ran on return: %d, SIGUSR2 blocked in it: %d\n", r, h, blocked_in_handler);
    hits = 0;

    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    alarm_ms(30);
    r = pselect(p[0] + 1, &rs, 0, 0, &ts, &wait_mask);
    h = hits;
    printf("pselect, same: %d, handler ran on return: %d\n", r, h);
    hits = 0;

    /* SIGUSR1 blocked by the caller, unblocked for the wait; SIGUSR2 blocked only in the wait mask. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, 0);
    raise(SIGUSR1);
    r = ppoll(&pf, 1, 0, &wait_mask);
    printf("ppoll, SIGUSR1 unblocked for the wait: %d %s, hits=%d\n", r, strerror(errno), hits);
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("after: SIGUSR1 blocked %d, SIGUSR2 blocked %d, SIGALRM blocked %d\n", sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2), sigismember(&cur, SIGALRM));
    return 0;
}
