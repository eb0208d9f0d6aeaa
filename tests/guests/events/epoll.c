/* epoll, eventfd, timerfd, signalfd and inotify, alone and mixed in one set with pipes and a socketpair.
   Each mode prints what it saw; the output is compared with qemu-i386 or the host kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <mqueue.h>

#define CHECK(x) do { if ((x) < 0) { printf("FAIL %s: %s (line %d)\n", #x, strerror(errno), __LINE__); exit(1); } } while (0)

static const char *name_of(uint64_t d)
{
    static const char *names[] = { "timer", "event", "signal", "pipe", "sock", "inotify", "inner" };
    return d < 7 ? names[d] : "?";
}

/* Events of one epoll_wait, sorted by data so the order does not depend on the kernel's ready list. */
static int wait_print(int ep, int timeout, const char *tag)
{
    struct epoll_event ev[16];
    int n = epoll_wait(ep, ev, 16, timeout);
    if (n < 0) { printf("%s: epoll_wait -1 %s\n", tag, strerror(errno)); return n; }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (ev[j].data.u64 < ev[i].data.u64) { struct epoll_event x = ev[i]; ev[i] = ev[j]; ev[j] = x; }
    printf("%s: %d", tag, n);
    for (int i = 0; i < n; i++) printf(" %s=%#x", name_of(ev[i].data.u64), ev[i].events);
    printf("\n");
    return n;
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event e = { .events = events, .data.u64 = data };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e));
}

/* The event loop: a periodic timer, an eventfd, a signalfd, a pipe and a socketpair in one epoll set. */
static void loop(void)
{
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); CHECK(tfd);
    int efd = eventfd(0, EFD_NONBLOCK); CHECK(efd);
    int sfd = signalfd(-1, &m, SFD_NONBLOCK); CHECK(sfd);
    int p[2]; CHECK(pipe(p));
    int sv[2]; CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int ep = epoll_create1(EPOLL_CLOEXEC); CHECK(ep);
    add(ep, tfd, EPOLLIN, 0); add(ep, efd, EPOLLIN, 1); add(ep, sfd, EPOLLIN, 2);
    add(ep, p[0], EPOLLIN, 3); add(ep, sv[0], EPOLLIN | EPOLLRDHUP, 4);
    wait_print(ep, 0, "idle");
    struct itimerspec its = { .it_interval = { 0, 20000000 }, .it_value = { 0, 20000000 } };
    CHECK(timerfd_settime(tfd, 0, &its, NULL));
    int ticks = 0, round = 0;
    while (ticks < 3) {
        struct epoll_event ev[8];
        int n = epoll_wait(ep, ev, 8, 2000);
        if (n <= 0) { printf("wait %d %s\n", n, strerror(errno)); exit(1); }
        /* the timer last: under load a tick may come with the events the previous tick caused */
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (ev[j].data.u64 > ev[i].data.u64) { struct epoll_event x = ev[i]; ev[i] = ev[j]; ev[j] = x; }
        for (int i = 0; i < n; i++) {
            uint64_t v;
            switch (ev[i].data.u64) {
            case 0:
                CHECK(read(tfd, &v, 8));
                ticks++;
                printf("tick %d (expirations>=1: %d)\n", ticks, v >= 1);
                if (ticks == 1) { v = 5; CHECK(write(efd, &v, 8)); }
                if (ticks == 2) { kill(getpid(), SIGUSR1); CHECK(write(p[1], "x", 1)); }
                if (ticks == 3) { CHECK(write(sv[1], "hello", 5)); }
                break;
            case 1: CHECK(read(efd, &v, 8)); printf("eventfd %llu\n", (unsigned long long)v); break;
            case 2: {
                struct signalfd_siginfo si;
                CHECK(read(sfd, &si, sizeof si));
                printf("signalfd signo=%d code=%d\n", si.ssi_signo, si.ssi_code);
                break;
            }
            case 3: { char c; CHECK(read(p[0], &c, 1)); printf("pipe %c\n", c); break; }
            }
        }
        round++;
    }
    /* the socket's data is pending: level-triggered it is reported until read */
    struct itimerspec off = { 0 };
    CHECK(timerfd_settime(tfd, 0, &off, NULL));
    wait_print(ep, 1000, "sock");
    wait_print(ep, 0, "sock again");
    char buf[16];
    CHECK(read(sv[0], buf, sizeof buf));
    close(sv[1]);
    wait_print(ep, 1000, "peer closed");
    /* nothing pending for the signalfd any more */
    struct pollfd pf = { .fd = sfd, .events = POLLIN };
    printf("poll signalfd: %d\n", poll(&pf, 1, 0));
    kill(getpid(), SIGUSR1);
    printf("poll signalfd after kill: %d revents=%#x\n", poll(&pf, 1, 0), pf.revents);
    fd_set rs; FD_ZERO(&rs); FD_SET(sfd, &rs); FD_SET(p[0], &rs);
    struct timeval tv = { 0, 0 };
    printf("select: %d sfd=%d pipe=%d\n", select(sfd > p[0] ? sfd + 1 : p[0] + 1, &rs, NULL, NULL, &tv), FD_ISSET(sfd, &rs), FD_ISSET(p[0], &rs));
}

/* A blocked poll on a signalfd wakes when another process signals us. */
static void signalfd_wake(void)
{
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sfd = signalfd(-1, &m, 0); CHECK(sfd);
    int ep = epoll_create(1); CHECK(ep);
    add(ep, sfd, EPOLLIN | EPOLLET, 2);
    pid_t parent = getpid(), c = fork();
    if (c == 0) { usleep(50000); kill(parent, SIGUSR2); _exit(0); }
    struct pollfd pf = { .fd = sfd, .events = POLLIN };
    printf("poll: %d revents=%#x\n", poll(&pf, 1, 5000), pf.revents);
    wait_print(ep, 0, "epoll et");
    wait_print(ep, 0, "epoll et again");
    struct signalfd_siginfo si;
    CHECK(read(sfd, &si, sizeof si));
    printf("read signo=%d from child=%d\n", si.ssi_signo, si.ssi_pid == (uint32_t)c);
    pf.revents = 0;
    printf("poll after read: %d\n", poll(&pf, 1, 0));
    waitpid(c, NULL, 0);
}

/* Edge-triggered and one-shot items on a pipe and an eventfd. */
static void edge(void)
{
    int p[2]; CHECK(pipe2(p, O_NONBLOCK));
    int efd = eventfd(0, EFD_NONBLOCK | EFD_SEMAPHORE); CHECK(efd);
    int ep = epoll_create1(0); CHECK(ep);
    add(ep, p[0], EPOLLIN | EPOLLET, 3);
    add(ep, efd, EPOLLIN | EPOLLONESHOT, 1);
    CHECK(write(p[1], "ab", 2));
    uint64_t v = 3; CHECK(write(efd, &v, 8));
    wait_print(ep, 0, "first");
    wait_print(ep, 0, "second (et consumed, oneshot disabled)");
    CHECK(write(p[1], "c", 1));
    wait_print(ep, 0, "new data edge");
    struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 1 };
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &e));
    wait_print(ep, 0, "rearmed");
    for (int i = 0; i < 4; i++) { int r = read(efd, &v, 8); printf("sem read %d %llu %s\n", r, r > 0 ? (unsigned long long)v : 0ULL, r < 0 ? strerror(errno) : ""); }
    e.events = EPOLLIN | EPOLLET;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, efd, &e));
    v = 1; CHECK(write(efd, &v, 8));
    wait_print(ep, 0, "eventfd et");
    CHECK(write(efd, &v, 8));
    wait_print(ep, 0, "eventfd et second write");
    /* the same pipe through a dup is a second item */
    int d = dup(p[0]);
    add(ep, d, EPOLLIN, 5);
    wait_print(ep, 0, "dup item");
    close(d);
    wait_print(ep, 0, "dup closed, description still open");
    close(p[0]);
    wait_print(ep, 0, "all closed");
}

/* EPOLLEXCLUSIVE: two waiting processes with their own epolls on one eventfd. */
static void exclusive(void)
{
    int efd = eventfd(0, EFD_NONBLOCK); CHECK(efd);
    int ep = epoll_create1(0); CHECK(ep);
    add(ep, efd, EPOLLIN | EPOLLEXCLUSIVE, 1);
    struct epoll_event e = { .events = EPOLLIN, .data.u64 = 1 };
    printf("mod exclusive: %d %s\n", epoll_ctl(ep, EPOLL_CTL_MOD, efd, &e), strerror(errno));
    uint64_t v = 1; CHECK(write(efd, &v, 8));
    wait_print(ep, 0, "exclusive");
    int ep2 = epoll_create1(0);
    e.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    printf("exclusive+oneshot: %d %s\n", epoll_ctl(ep2, EPOLL_CTL_ADD, efd, &e), strerror(errno));
    e.events = EPOLLIN | EPOLLEXCLUSIVE;
    printf("exclusive on epoll: %d %s\n", epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &e), strerror(errno));
}

static volatile int got;
static void on_alarm(int s) { (void)s; got++; }

/* epoll_wait interrupted by a handled signal: -EINTR even with SA_RESTART; epoll_pwait's mask. */
static void interrupted(void)
{
    struct sigaction sa = { 0 };
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    int p[2]; CHECK(pipe(p));
    int ep = epoll_create1(0); CHECK(ep);
    add(ep, p[0], EPOLLIN, 3);
    struct itimerval it = { .it_value = { 0, 50000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    struct epoll_event ev;
    int r = epoll_wait(ep, &ev, 1, 5000);
    printf("epoll_wait: %d %s got=%d\n", r, r < 0 ? strerror(errno) : "", got);
    sigset_t blockalrm, old;
    sigemptyset(&blockalrm); sigaddset(&blockalrm, SIGALRM);
    sigprocmask(SIG_BLOCK, &blockalrm, &old);
    setitimer(ITIMER_REAL, &it, NULL);
    r = epoll_pwait(ep, &ev, 1, 5000, &old);
    printf("epoll_pwait: %d %s got=%d\n", r, r < 0 ? strerror(errno) : "", got);
    sigset_t now; sigprocmask(SIG_SETMASK, NULL, &now);
    printf("mask restored: %d\n", sigismember(&now, SIGALRM));
    setitimer(ITIMER_REAL, &it, NULL);
    r = epoll_pwait(ep, &ev, 1, 200, NULL); /* blocked: the timeout wins */
    printf("epoll_pwait blocked: %d got=%d\n", r, got);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("after unblock got=%d\n", got);
    long long ts[2] = { 0, 30000000 }; /* struct __kernel_timespec */
    r = syscall(441 /* epoll_pwait2 */, ep, &ev, 1, ts, NULL, 8);
    printf("epoll_pwait2 timeout: %d\n", r);
    ts[1] = 1000000000;
    r = syscall(441, ep, &ev, 1, ts, NULL, 8);
    printf("epoll_pwait2 bad ts: %d %s\n", r, strerror(errno));
}

static void errors(void)
{
    int ep = epoll_create1(0); CHECK(ep);
    int p[2]; CHECK(pipe(p));
    struct epoll_event e = { .events = EPOLLIN };
    int f = open("/proc/self/exe", O_RDONLY);
#define T(x) do { errno = 0; int r_ = (x); printf("%-40s %d %s\n", #x, r_, r_ < 0 ? strerror(errno) : ""); } while (0)
    T(epoll_create(0));
    T(epoll_create1(1));
    T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    T(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
    T(epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    T(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &e));
    T(epoll_ctl(ep, 7, p[0], &e));
    T(epoll_ctl(ep, EPOLL_CTL_ADD, f, &e));
    T(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
    T(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e));
    T(epoll_ctl(999, EPOLL_CTL_ADD, p[0], &e));
    T(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e));
    T(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], (struct epoll_event *)16));
    T(epoll_wait(ep, &e, 0, 0));
    T(epoll_wait(p[0], &e, 1, 0));
    T(epoll_wait(999, &e, 1, 0));
    CHECK(write(p[1], "x", 1));
    T(epoll_wait(ep, (struct epoll_event *)16, 1, 0));
    T(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    uint64_t v;
    int efd = eventfd(0, EFD_NONBLOCK);
    T(eventfd(0, 0x4));
    T(read(efd, &v, 4));
    T(read(efd, &v, 8));
    v = ~0ULL;
    T(write(efd, &v, 8));
    v = 0xfffffffffffffffeULL;
    T(write(efd, &v, 8));
    v = 1;
    T(write(efd, &v, 8));
    T(fcntl(efd, F_GETFL) & ~O_LARGEFILE);
    T(timerfd_create(99, 0));
    T(timerfd_create(CLOCK_MONOTONIC, 0x4));
    T(timerfd_settime(p[0], 0, &(struct itimerspec){ 0 }, NULL));
    T(timerfd_gettime(999, &(struct itimerspec){ 0 }));
    int tfd = timerfd_create(CLOCK_REALTIME, 0);
    T(timerfd_settime(tfd, 0, &(struct itimerspec){ .it_value = { 0, 1000000000 } }, NULL));
    T(timerfd_settime(tfd, 8, &(struct itimerspec){ 0 }, NULL));
    T(inotify_init1(0x4));
    T(inotify_add_watch(p[0], "/", IN_CREATE));
    int in = inotify_init1(IN_NONBLOCK);
    T(inotify_add_watch(in, "/", 0));
    T(inotify_add_watch(in, "/nonexistent/x", IN_CREATE));
    T(inotify_rm_watch(in, 12345));
    char buf[64];
    T(read(in, buf, sizeof buf));
}

static void timers(void)
{
    int clocks[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME };
    for (int i = 0; i < 3; i++) {
        int tfd = timerfd_create(clocks[i], 0); CHECK(tfd);
        struct timespec now; clock_gettime(clocks[i], &now);
        struct itimerspec its = { .it_interval = { 0, 10000000 }, .it_value = { now.tv_sec, now.tv_nsec + 20000000 } };
        if (its.it_value.tv_nsec >= 1000000000) { its.it_value.tv_sec++; its.it_value.tv_nsec -= 1000000000; }
        CHECK(timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL));
        struct itimerspec cur; CHECK(timerfd_gettime(tfd, &cur));
        printf("clock %d: interval %ld.%09ld value<=20ms %d\n", clocks[i], (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec,
               cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 20000000);
        uint64_t v; CHECK(read(tfd, &v, 8));
        printf("  read %d\n", v >= 1);
        usleep(35000);
        CHECK(read(tfd, &v, 8));
        printf("  after 35ms: %d\n", v >= 2);
        struct itimerspec old; struct itimerspec zero = { 0 };
        CHECK(timerfd_settime(tfd, 0, &zero, &old));
        printf("  old interval %ld\n", old.it_interval.tv_nsec);
        int fl = fcntl(tfd, F_GETFL);
        fcntl(tfd, F_SETFL, fl | O_NONBLOCK);
        int r = read(tfd, &v, 8);
        printf("  disarmed read %d %s\n", r, strerror(errno));
        close(tfd);
    }
    /* time64 forms */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    long long t64[4] = { 0, 5000000, 0, 5000000 }, o64[4];
    printf("settime64: %ld\n", syscall(411, tfd, 0, t64, o64));
    printf("gettime64: %ld interval=%lld\n", syscall(410, tfd, o64), o64[1]);
}

static void inotify(void)
{
    char dir[] = "/tmp/c32inoXXXXXX";
    if (!mkdtemp(dir)) { printf("mkdtemp failed\n"); return; }
    int in = inotify_init1(IN_CLOEXEC); CHECK(in);
    int wd = inotify_add_watch(in, dir, IN_CREATE | IN_MODIFY | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO); CHECK(wd);
    char path[256], path2[256];
    snprintf(path, sizeof path, "%s/file", dir);
    snprintf(path2, sizeof path2, "%s/renamed", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0600); CHECK(f);
    CHECK(write(f, "x", 1));
    close(f);
    rename(path, path2);
    unlink(path2);
    int ep = epoll_create1(0);
    add(ep, in, EPOLLIN, 5);
    wait_print(ep, 1000, "inotify ready");
    char buf[4096] __attribute__((aligned(4)));
    int n = read(in, buf, sizeof buf);
    uint32_t cookie = 0;
    for (char *p = buf; p < buf + n; ) {
        struct inotify_event *e = (struct inotify_event *)p;
        printf("wd=%d mask=%#x cookie=%s name=%s\n", e->wd == wd, e->mask,
               e->cookie == 0 ? "0" : cookie == 0 ? (cookie = e->cookie, "set") : e->cookie == cookie ? "same" : "other", e->len ? e->name : "");
        p += sizeof *e + e->len;
    }
    printf("rm_watch %d\n", inotify_rm_watch(in, wd));
    n = read(in, buf, sizeof buf);
    struct inotify_event *e = (struct inotify_event *)buf;
    printf("after rm: n=%d mask=%#x\n", n > 0, n > 0 ? e->mask : 0);
    rmdir(dir);
}

/* epoll inside epoll and inside poll: readiness of the outer from an inner eventfd and signalfd. */
static void nested(void)
{
    sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    int sfd = signalfd(-1, &m, SFD_NONBLOCK);
    int efd = eventfd(0, EFD_NONBLOCK);
    int inner = epoll_create1(0), outer = epoll_create1(0);
    add(inner, sfd, EPOLLIN, 2);
    add(inner, efd, EPOLLIN, 1);
    add(outer, inner, EPOLLIN, 6);
    wait_print(outer, 0, "outer idle");
    struct pollfd pf = { .fd = inner, .events = POLLIN };
    printf("poll inner idle: %d\n", poll(&pf, 1, 0));
    kill(getpid(), SIGUSR1);
    wait_print(outer, 100, "outer after signal");
    printf("poll inner: %d %#x\n", poll(&pf, 1, 100), pf.revents);
    wait_print(inner, 0, "inner");
    struct signalfd_siginfo si; read(sfd, &si, sizeof si);
    wait_print(inner, 0, "inner after read");
    uint64_t v = 1; write(efd, &v, 8);
    wait_print(outer, 100, "outer after eventfd");
    struct epoll_event e = { .events = EPOLLIN };
    printf("loop: %d %s\n", epoll_ctl(inner, EPOLL_CTL_ADD, outer, &e), strerror(errno));
}


/* Four threads in epoll_wait on one set (an eventfd and a POSIX message queue, one-shot items re-armed by
   whoever took the event) while two producers post 3000 eventfd counts and 600 messages. */
static int sp_ep, sp_efd;
static mqd_t sp_mq;
static volatile long sp_total, sp_msgs;
static pthread_mutex_t sp_lock = PTHREAD_MUTEX_INITIALIZER;

static void *sp_consumer(void *arg)
{
    (void)arg;
    while (1) {
        struct epoll_event ev;
        int n = epoll_wait(sp_ep, &ev, 1, 3000);
        if (n == 0) return NULL; /* quiet for 3 s: done */
        if (n < 0) { if (errno == EINTR) continue; printf("epoll_wait %s\n", strerror(errno)); exit(1); }
        if (ev.data.u32 == 1) {
            uint64_t v;
            if (read(sp_efd, &v, 8) == 8) { pthread_mutex_lock(&sp_lock); sp_total += v; pthread_mutex_unlock(&sp_lock); }
        } else {
            char buf[64];
            while (mq_receive(sp_mq, buf, sizeof buf, NULL) > 0) { pthread_mutex_lock(&sp_lock); sp_msgs++; pthread_mutex_unlock(&sp_lock); }
        }
        struct epoll_event re = { .events = EPOLLIN | EPOLLONESHOT, .data.u32 = ev.data.u32 };
        epoll_ctl(sp_ep, EPOLL_CTL_MOD, ev.data.u32 == 1 ? sp_efd : sp_mq, &re);
        pthread_mutex_lock(&sp_lock);
        int done = sp_total == 3000 && sp_msgs == 600;
        pthread_mutex_unlock(&sp_lock);
        if (done) { uint64_t one = 0; (void)one; }
    }
}

static void *sp_producer(void *arg)
{
    if (arg) { for (int i = 0; i < 3000; i++) { uint64_t v = 1; write(sp_efd, &v, 8); if (i % 100 == 0) usleep(1000); } }
    else { for (int i = 0; i < 600; i++) { while (mq_send(sp_mq, "m", 1, 0) < 0) usleep(1000); if (i % 50 == 0) usleep(1000); } }
    return NULL;
}

static void stress(void)
{
    char name[64];
    snprintf(name, sizeof name, "/c32ep-%d", getpid());
    struct mq_attr at = { .mq_maxmsg = 8, .mq_msgsize = 16 };
    sp_mq = mq_open(name, O_CREAT | O_RDWR | O_NONBLOCK, 0600, &at); CHECK(sp_mq);
    mq_unlink(name);
    sp_efd = eventfd(0, EFD_NONBLOCK); CHECK(sp_efd);
    sp_ep = epoll_create1(0); CHECK(sp_ep);
    add(sp_ep, sp_efd, EPOLLIN | EPOLLONESHOT, 1);
    add(sp_ep, sp_mq, EPOLLIN | EPOLLONESHOT, 2);
    pthread_t c[4], p[2];
    for (int i = 0; i < 4; i++) pthread_create(&c[i], NULL, sp_consumer, NULL);
    pthread_create(&p[0], NULL, sp_producer, (void *)1);
    pthread_create(&p[1], NULL, sp_producer, NULL);
    for (int i = 0; i < 2; i++) pthread_join(p[i], NULL);
    for (int i = 0; i < 4; i++) pthread_join(c[i], NULL);
    printf("stress: eventfd total=%ld messages=%ld\n", sp_total, sp_msgs);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *m = argc > 1 ? argv[1] : "loop";
    if (!strcmp(m, "loop")) loop();
    else if (!strcmp(m, "signalfd")) signalfd_wake();
    else if (!strcmp(m, "edge")) edge();
    else if (!strcmp(m, "exclusive")) exclusive();
    else if (!strcmp(m, "intr")) interrupted();
    else if (!strcmp(m, "errors")) errors();
    else if (!strcmp(m, "timers")) timers();
    else if (!strcmp(m, "inotify")) inotify();
    else if (!strcmp(m, "nested")) nested();
    else if (!strcmp(m, "stress")) stress();
    else { printf("unknown mode\n"); return 2; }
    return 0;
}
