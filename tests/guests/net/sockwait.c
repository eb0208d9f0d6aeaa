/* Blocking socket calls and signals, compared with the host kernel: a signal ends a blocked recv/send/accept/
 * connect at once (EINTR without SA_RESTART, a restart with it, EINTR regardless with SO_RCVTIMEO/SO_SNDTIMEO),
 * MSG_WAITALL returns what it has, data already queued wins over a pending signal, non-blocking calls never sleep
 * once a socket has slept in a blocking call, the signal goes to the thread it names, exit ends a blocked thread,
 * and no wake-up is lost when signals race with the start of the call (many rounds). One mode per argument. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s (errno %s)\n", __LINE__, #x, strerrorname_np(errno)); exit(1); } } while (0)

static volatile int handled;
static void on_sig(int s) { (void)s; handled++; }

static void handler(int restart)
{
    struct sigaction sa = { .sa_handler = on_sig, .sa_flags = restart ? SA_RESTART : 0 };
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* SIGALRM after ms milliseconds and every ms after that until result() disarms it: on a loaded machine the
 * first one may come before the call blocks (and be handled then); a later one finds it blocked. */
static void alarm_ms(int ms)
{
    struct itimerval it = { { ms / 1000, (ms % 1000) * 1000 }, { ms / 1000, (ms % 1000) * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void alarm_off(void)
{
    struct itimerval it = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void result(const char *what, long r)
{
    int e = errno;
    alarm_off();
    printf("%-44s %ld %s\n", what, r, r < 0 ? strerrorname_np(e) : "");
}

/* Fill s's send path until a non-blocking send says EAGAIN; returns the bytes queued. */
static long fill(int s)
{
    static char junk[4096];
    long n = 0;
    for (;;) {
        int r = send(s, junk, sizeof junk, MSG_DONTWAIT);
        if (r < 0) { CHECK(errno == EAGAIN); return n; }
        n += r;
    }
}

static void tcp_pair(int *a, int *b)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    CHECK(bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(l, (struct sockaddr *)&sa, &sl) == 0 && listen(l, 1) == 0);
    *a = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(*a, (struct sockaddr *)&sa, sizeof sa) == 0);
    *b = accept(l, NULL, NULL);
    CHECK(*b >= 0);
    close(l);
}

static void mode_recv(int tcp)
{
    int sv[2];
    if (tcp) tcp_pair(&sv[0], &sv[1]); else CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    char b[64];
    long r;

    handler(0);
    alarm_ms(50); errno = 0;
    r = recv(sv[0], b, sizeof b, 0);
    result("recv, no SA_RESTART:", r);
    alarm_ms(50); errno = 0;
    r = read(sv[0], b, sizeof b);
    result("read, no SA_RESTART:", r);
    struct msghdr mh = { 0 };
    struct iovec iov = { b, sizeof b };
    mh.msg_iov = &iov; mh.msg_iovlen = 1;
    alarm_ms(50); errno = 0;
    r = recvmsg(sv[0], &mh, 0);
    result("recvmsg, no SA_RESTART:", r);

    /* MSG_WAITALL with part of the data: the part, not EINTR (with or without SA_RESTART) */
    CHECK(write(sv[1], "xyz", 3) == 3);
    alarm_ms(50); errno = 0;
    r = recv(sv[0], b, 8, MSG_WAITALL);
    result("MSG_WAITALL, 3 of 8, interrupted:", r);
    handler(1);
    CHECK(write(sv[1], "uvw", 3) == 3);
    alarm_ms(50); errno = 0;
    r = recv(sv[0], b, 8, MSG_WAITALL);
    result("MSG_WAITALL, 3 of 8, SA_RESTART:", r);

    /* SA_RESTART: the receive goes on and gets the late data */
    pid_t kid = fork();
    if (kid == 0) { usleep(300000); write(sv[1], "late", 4); _exit(0); }
    alarm_ms(50);
    int h0 = handled;
    r = recv(sv[0], b, sizeof b, 0);
    alarm_off();
    printf("recv, SA_RESTART: %ld '%.*s', handler ran: %s\n", r, r > 0 ? (int)r : 0, b, handled > h0 ? "yes" : "no");
    waitpid(kid, NULL, 0);

    /* SO_RCVTIMEO: EAGAIN after the time, and EINTR even with SA_RESTART (sock_intr_errno) */
    struct timeval tv = { 0, 200000 };
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    double t0 = now();
    errno = 0;
    r = recv(sv[0], b, sizeof b, 0);
    double dt = now() - t0;
    result("recv, SO_RCVTIMEO 200 ms:", r);
    printf("  waited about the timeout: %s\n", dt >= 0.15 && dt < 2 ? "yes" : "no");
    tv.tv_sec = 5; tv.tv_usec = 0;
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    alarm_ms(50); errno = 0;
    t0 = now();
    r = recv(sv[0], b, sizeof b, 0);
    result("recv, SO_RCVTIMEO 5 s, SA_RESTART:", r);
    printf("  ended by the signal: %s\n", now() - t0 < 2.5 ? "yes" : "no");
}

/* A blocked send: the buffer full, nothing sent, EINTR; SA_RESTART keeps it going; a send larger than the room
 * returns what it sent when interrupted; SO_SNDTIMEO gives EAGAIN. */
static void mode_send(int tcp)
{
    int sv[2];
    if (tcp) tcp_pair(&sv[0], &sv[1]); else CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    static char big[32 << 20];
    long r;
    handler(0);
    fill(sv[0]);
    usleep(100000); /* TCP: what was in flight has landed; fill what room that left */
    fill(sv[0]);
    alarm_ms(50); errno = 0;
    r = send(sv[0], big, 4096, 0);
    result("send on a full buffer, no SA_RESTART:", r);
    alarm_ms(50); errno = 0;
    r = write(sv[0], big, 4096);
    result("write on a full buffer, no SA_RESTART:", r);

    /* SA_RESTART: the send goes on once a reader makes room */
    handler(1);
    pid_t kid = fork();
    if (kid == 0) {
        /* a slow reader: 4 KiB a millisecond at most, so 32 MiB (more than any buffer holds) take seconds */
        usleep(300000);
        char d[4096];
        for (;;) { int n = read(sv[1], d, sizeof d); if (n <= 0) break; usleep(1000); }
        _exit(0);
    }
    alarm_ms(50);
    int h0 = handled;
    r = send(sv[0], big, 4096, 0);
    alarm_off();
    printf("send on a full buffer, SA_RESTART: %ld, handler ran: %s\n", r, handled > h0 ? "yes" : "no");
    /* the reader drains everything: a send far larger than the buffer, interrupted part way, returns its count */
    handler(0);
    alarm_ms(100); errno = 0;
    r = send(sv[0], big, sizeof big, 0);
    alarm_off();
    printf("big send interrupted part way: %s\n", r > 0 && r < (long)sizeof big ? "partial count" : r == (long)sizeof big ? "all" : strerrorname_np(errno));
    shutdown(sv[0], SHUT_WR);
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);

    int s2[2];
    if (tcp) tcp_pair(&s2[0], &s2[1]); else CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s2) == 0);
    fill(s2[0]);
    usleep(100000);
    fill(s2[0]);
    struct timeval tv = { 0, 200000 };
    CHECK(setsockopt(s2[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
    double t0 = now();
    errno = 0;
    r = send(s2[0], big, 4096, 0);
    double dt = now() - t0;
    result("send, SO_SNDTIMEO 200 ms:", r);
    printf("  waited about the timeout: %s\n", dt >= 0.15 && dt < 2 ? "yes" : "no");
}

/* accept and connect interrupted (an AF_UNIX listener with a full backlog makes connect wait). */
static void mode_accept(void)
{
    handler(0);
    char path[64];
    snprintf(path, sizeof path, "/tmp/sockwait-%d", getpid());
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u = { .sun_family = AF_UNIX };
    strcpy(u.sun_path, path);
    CHECK(bind(l, (struct sockaddr *)&u, sizeof u) == 0 && listen(l, 0) == 0);
    alarm_ms(50); errno = 0;
    long r = accept(l, NULL, NULL);
    result("accept, no SA_RESTART:", r);
    int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c1, (struct sockaddr *)&u, sizeof u) == 0);
    int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    errno = 0;
    r = connect(c3, (struct sockaddr *)&u, sizeof u);
    result("non-blocking connect, backlog full:", r);
    alarm_ms(50); errno = 0;
    r = connect(c2, (struct sockaddr *)&u, sizeof u);
    result("connect, backlog full, no SA_RESTART:", r);
    int a = accept(l, NULL, NULL);
    CHECK(a >= 0);
    /* once the socket has slept in a blocking receive, non-blocking calls still never sleep */
    pid_t kid = fork();
    if (kid == 0) { usleep(50000); write(a, "hi", 2); _exit(0); }
    char b[8];
    r = recv(c1, b, sizeof b, 0);
    result("blocking recv after a wait:", r);
    waitpid(kid, NULL, 0);
    errno = 0;
    r = recv(c1, b, sizeof b, MSG_DONTWAIT);
    result("then MSG_DONTWAIT on empty:", r);
    fcntl(c1, F_SETFL, O_NONBLOCK);
    errno = 0;
    r = recv(c1, b, sizeof b, 0);
    result("then O_NONBLOCK recv on empty:", r);
    long q = fill(c1);
    printf("then O_NONBLOCK sends until full: %s\n", q > 0 ? "some bytes" : "none");
    fcntl(c1, F_SETFL, 0);
    alarm_ms(50); errno = 0;
    r = send(c1, b, 1, 0);
    result("blocking again, full, no SA_RESTART:", r);
    /* a listener after a blocking wait on another socket of the process: accept stays non-blocking */
    fcntl(l, F_SETFL, O_NONBLOCK);
    errno = 0;
    r = accept(l, NULL, NULL);
    result("non-blocking accept, none queued:", r);
    unlink(path);
}

/* The signal goes to the thread it names: the other thread's recv goes on. */
static int tsock[2][2];
static long tres[2];
static int terr[2];
static void *receiver(void *p)
{
    int i = (int)(long)p;
    char b[8];
    errno = 0;
    tres[i] = recv(tsock[i][0], b, sizeof b, 0);
    terr[i] = errno;
    return NULL;
}

static void mode_threads(void)
{
    handler(0);
    for (int i = 0; i < 2; i++) CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, tsock[i]) == 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, receiver, (void *)(long)i);
    /* again every 50 ms until it returns: under load the first may come before the thread is in recv */
    for (;;) { usleep(50000); pthread_kill(th[0], SIGUSR1); usleep(20000); if (pthread_tryjoin_np(th[0], NULL) == 0) break; }
    usleep(100000);
    printf("thread 0 (signalled): %ld %s\n", tres[0], tres[0] < 0 ? strerrorname_np(terr[0]) : "");
    printf("thread 1 still waiting: %s\n", tres[1] == 0 && terr[1] == 0 ? "yes" : "no");
    CHECK(write(tsock[1][1], "data", 4) == 4);
    pthread_join(th[1], NULL);
    printf("thread 1 (data): %ld\n", tres[1]);
}

/* exit_group and a fatal signal end threads and processes blocked in socket calls. */
static void *blocked(void *p)
{
    char b[8];
    recv(*(int *)p, b, sizeof b, 0);
    printf("recv returned\n");
    return NULL;
}

static void mode_exit(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pid_t kid = fork();
    if (kid == 0) {
        pthread_t th;
        pthread_create(&th, NULL, blocked, &sv[0]);
        usleep(100000);
        exit(3); /* exit_group with a thread in recv */
    }
    int st;
    double t0 = now();
    waitpid(kid, &st, 0);
    printf("exit with a thread in recv: status %d, prompt %s\n", WEXITSTATUS(st), now() - t0 < 5 ? "yes" : "no");
    kid = fork();
    if (kid == 0) { char b[8]; recv(sv[0], b, sizeof b, 0); _exit(0); }
    usleep(100000);
    kill(kid, SIGTERM);
    waitpid(kid, &st, 0);
    printf("SIGTERM to a process in recv: signalled %d by %s\n", WIFSIGNALED(st), WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "-");
}

/* Many rounds of a signal racing with a thread entering recv: every one is handled, none lost. With SA_RESTART
 * the receive goes on each time; without, it returns EINTR and the thread calls it again. */
#define ROUNDS 400
static int rsock[2];
static volatile int stop;
static void *racer(void *p)
{
    (void)p;
    char b[8];
    long others = 0;
    while (!stop) {
        long r = recv(rsock[0], b, sizeof b, 0);
        if (r < 0 && errno != EINTR) others++;
        if (r > 0) break;
    }
    return (void *)others;
}

static void mode_race(int restart)
{
    handler(restart);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, rsock) == 0);
    pthread_t th;
    pthread_create(&th, NULL, racer, NULL);
    int lost = 0;
    static double took[ROUNDS];
    double t0 = now();
    for (int i = 0; i < ROUNDS; i++) {
        int want = handled + 1;
        double s = now();
        pthread_kill(th, SIGUSR1);
        while (handled < want) {
            if (now() - s > 5) { lost++; break; }
            sched_yield();
        }
        took[i] = now() - s;
        if (i % 16 == 0) usleep(i % 3 * 100); /* vary where the next signal finds the thread */
    }
    /* at once: a blocked receive is not left to notice the signal at its next poll slice (10 ms) */
    int fast = 0;
    for (int i = 0; i < ROUNDS; i++) fast += took[i] < 0.003;
    stop = 1;
    CHECK(write(rsock[1], "end", 3) == 3);
    void *others;
    pthread_join(th, &others);
    printf("%d signals, %d handled, %d lost, %ld other errors\n", ROUNDS, handled, lost, (long)others);
    printf("most handled within 3 ms: %s\n", fast > ROUNDS / 2 ? "yes" : "no");
    if (getenv("SOCKWAIT_TIME")) fprintf(stderr, "race: %.3f s, %d of %d within 3 ms\n", now() - t0, fast, ROUNDS);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "recv-unix")) mode_recv(0);
    else if (!strcmp(m, "recv-tcp")) mode_recv(1);
    else if (!strcmp(m, "send-unix")) mode_send(0);
    else if (!strcmp(m, "send-tcp")) mode_send(1);
    else if (!strcmp(m, "accept")) mode_accept();
    else if (!strcmp(m, "threads")) mode_threads();
    else if (!strcmp(m, "exit")) mode_exit();
    else if (!strcmp(m, "race")) mode_race(0);
    else if (!strcmp(m, "race-restart")) mode_race(1);
    else { fprintf(stderr, "usage: sockwait MODE\n"); return 2; }
    return 0;
}
