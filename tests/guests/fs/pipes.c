/* Pipes: capacity (F_GETPIPE_SZ / F_SETPIPE_SZ), O_NONBLOCK EAGAIN, PIPE_BUF atomicity, EPIPE with SIGPIPE, and a
   writer blocked on a full pipe interrupted by a signal (pipe_write: -ERESTARTSYS, so EINTR without SA_RESTART, a
   restart with it, and the partial count once something was written). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
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

static void show(const char *what, long r)
{
    printf("%s: %ld %s hits=%d\n", what, r, r < 0 ? strerror(errno) : "-", hits);
    hits = 0;
}

static long fill(int fd)
{
    static char buf[4096];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    long total = 0;
    for (;;)
    {
        long n = write(fd, buf, sizeof buf);
        if (n < 0) { printf("fill stops: %s\n", strerror(errno)); break; }
        total += n;
    }
    /* one byte still fits in a partly used page? only when the last write was short */
    fcntl(fd, F_SETFL, fl);
    return total;
}

static void drain(int fd, long n)
{
    static char buf[65536];
    while (n > 0) { long r = read(fd, buf, n > (long)sizeof buf ? (long)sizeof buf : n); if (r <= 0) break; n -= r; }
}

int main(void)
{
    setvbuf(stdout, 0, _IONBF, 0);
    int p[2];
    pipe(p);
    show("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
    show("F_GETPIPE_SZ read end", fcntl(p[0], F_GETPIPE_SZ));
    show("fill default", fill(p[1]));
    drain(p[0], 65536);
    show("F_SETPIPE_SZ 4096", fcntl(p[1], F_SETPIPE_SZ, 4096));
    show("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    show("F_SETPIPE_SZ 5000", fcntl(p[1], F_SETPIPE_SZ, 5000));
    show("F_SETPIPE_SZ 0", fcntl(p[1], F_SETPIPE_SZ, 0));
    long small = fill(p[1]);
    show("fill small", small);
    drain(p[0], small);
    show("F_SETPIPE_SZ 65536", fcntl(p[1], F_SETPIPE_SZ, 65536));

    /* Blocked writer, no SA_RESTART: EINTR. */
    handler(SIGALRM, 0);
    long filled = fill(p[1]);
    alarm_ms(50);
    show("blocked write", write(p[1], "y", 1));
    drain(p[0], filled);

    /* A big write blocked half way: the part written. */
    static char big[131072];
    alarm_ms(50);
    show("partial write", write(p[1], big, sizeof big));
    drain(p[0], 65536);

    /* SA_RESTART: the write restarts and completes once a child drains the pipe. */
    handler(SIGALRM, SA_RESTART);
    filled = fill(p[1]);
    pid_t kid = fork();
    if (kid == 0)
    {
        usleep(200000);
        drain(p[0], filled + 100);
        _exit(0);
    }
    alarm_ms(50);
    show("restarted write", write(p[1], big, 100));
    waitpid(kid, 0, 0);

    /* O_NONBLOCK: EAGAIN on a full pipe; a write of at most PIPE_BUF is all or nothing. */
    int q[2];
    pipe2(q, O_NONBLOCK);
    fcntl(q[1], F_SETPIPE_SZ, 4096);
    show("nb write 4000", write(q[1], big, 4000));
    show("nb write 200 (atomic)", write(q[1], big, 200));
    show("nb write 96", write(q[1], big, 96));
    show("nb write 1", write(q[1], big, 1));
    show("nb read", read(q[0], big, 10));

    /* No reader: SIGPIPE, then EPIPE (handled), and death by SIGPIPE in a child (default action). */
    handler(SIGPIPE, 0);
    close(q[0]);
    show("write no reader", write(q[1], "z", 1));
    kid = fork();
    if (kid == 0)
    {
        signal(SIGPIPE, SIG_DFL);
        write(q[1], "z", 1);
        _exit(0);
    }
    int st;
    waitpid(kid, &st, 0);
    printf("child: signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));

    /* Packet mode (O_DIRECT): each write is one read, also for a blocking writer. */
    int pk[2];
    pipe2(pk, O_DIRECT);
    write(pk[1], "abc", 3);
    write(pk[1], "defgh", 5);
    char pb[100];
    long a1 = read(pk[0], pb, sizeof pb), a2 = read(pk[0], pb, sizeof pb);
    printf("packet pipe reads: %ld %ld\n", a1, a2);

    /* EOF after the last writer goes, and a reader blocked until then. */
    int r[2];
    pipe(r);
    kid = fork();
    if (kid == 0) { close(r[0]); usleep(50000); write(r[1], "hello", 5); _exit(0); }
    close(r[1]);
    char buf[16];
    long n, tot = 0;
    while ((n = read(r[0], buf + tot, sizeof buf - tot)) > 0) tot += n;
    printf("read %ld bytes '%.*s', then %ld\n", tot, (int)tot, buf, n);
    waitpid(kid, 0, 0);
    return 0;
}
