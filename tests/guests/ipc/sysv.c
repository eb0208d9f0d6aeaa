/* System V shared memory, semaphores and message queues between forked processes, through glibc (the ipc(2)
   multiplexer with IPC_64 on i386) and through raw calls (direct syscalls, old layouts); POSIX message queues. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T(x) do { errno = 0; long r_ = (long)(x); printf("%-50s %ld %s\n", #x, r_, r_ < 0 ? strerror(errno) : ""); } while (0)
#define CHECK(x) do { if ((long)(x) < 0) { printf("FAIL %s: %s (line %d)\n", #x, strerror(errno), __LINE__); exit(1); } } while (0)

union semun { int val; struct semid_ds *buf; unsigned short *array; };

/* The mq_notify signal (no SA_RESTART) may interrupt the wait: retry on EINTR. */
static void reap(pid_t c)
{
    int st = 0;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) { }
    printf("child exit %d\n", WEXITSTATUS(st));
}

static void shm(void)
{
    int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600); CHECK(id);
    struct shmid_ds ds;
    CHECK(shmctl(id, IPC_STAT, &ds));
    printf("segsz=%u nattch=%lu mode=%o cpid_is_me=%d\n", (unsigned)ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777, ds.shm_cpid == getpid());
    char *p = shmat(id, NULL, 0); CHECK(p == (void *)-1 ? -1 : 0);
    strcpy(p, "parent");
    CHECK(shmctl(id, IPC_STAT, &ds));
    printf("attached nattch=%lu\n", (unsigned long)ds.shm_nattch);
    pid_t c = fork();
    if (c == 0) {
        struct shmid_ds d2; shmctl(id, IPC_STAT, &d2);
        printf("child sees '%s' nattch=%lu\n", p, (unsigned long)d2.shm_nattch);
        strcpy(p + 5000, "written by child");
        char *q = shmat(id, NULL, SHM_RDONLY);
        printf("second attach reads '%s'\n", q);
        shmdt(q);
        _exit(0);
    }
    reap(c);
    printf("parent sees '%s'\n", p + 5000);
    /* a second process attaching by key */
    key_t key = 0x5e000000 | (getpid() & 0xffff);
    int k = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600); CHECK(k);
    T(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600));
    T(shmget(key, 8192, 0) < 0);
    T(shmget(key, 100, 0) == k);
    T(shmget(key + 1, 100, 0));
    c = fork();
    if (c == 0) { int *x = shmat(shmget(key, 0, 0), NULL, 0); x[0] = 42; _exit(0); }
    reap(c);
    int *x = shmat(k, NULL, 0);
    printf("by key: %d\n", x[0]);
    /* removal while attached: SHM_DEST, the memory stays */
    CHECK(shmctl(k, IPC_RMID, NULL));
    CHECK(shmctl(k, IPC_STAT, &ds));
    printf("after rmid: dest=%d key=%d nattch=%lu value=%d\n", !!(ds.shm_perm.mode & SHM_DEST), ds.shm_perm.__key, (unsigned long)ds.shm_nattch, x[0]);
    T(shmget(key, 100, 0));
    CHECK(shmdt(x));
    T(shmctl(k, IPC_STAT, &ds));
    T(shmdt(x));
    T(shmdt((char *)p + 1));
    T(shmat(id, (void *)0x12345, 0));
    T(shmat(id, (void *)0x12345, SHM_RND) == (void *)0x12000);
    T(shmat(-1, NULL, 0));
    T(shmget(IPC_PRIVATE, 0, 0600));
    T(shmctl(id, 99, &ds));
    CHECK(shmdt(p));
    CHECK(shmctl(id, IPC_RMID, NULL));
    T(shmctl(id, IPC_STAT, &ds));
}

static void sem(void)
{
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600); CHECK(id);
    union semun a; a.val = 1;
    CHECK(semctl(id, 0, SETVAL, a));
    unsigned short vals[3] = { 1, 5, 0 };
    a.array = vals;
    CHECK(semctl(id, 0, SETALL, a));
    struct semid_ds ds; a.buf = &ds;
    CHECK(semctl(id, 0, IPC_STAT, a));
    printf("nsems=%lu mode=%o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);
    /* SEM_UNDO: a child takes 2 from sem 1 and dies; its adjustment gives them back */
    pid_t c = fork();
    if (c == 0) {
        struct sembuf op = { 1, -2, SEM_UNDO };
        CHECK(semop(id, &op, 1));
        printf("child took: %d\n", semctl(id, 1, GETVAL));
        _exit(3);
    }
    reap(c);
    printf("after child exit: %d pid_is_child=%d\n", semctl(id, 1, GETVAL), semctl(id, 1, GETPID) == c);
    /* blocking: the parent waits for sem 2; a child checks GETNCNT and posts */
    c = fork();
    if (c == 0) {
        while (semctl(id, 2, GETNCNT) != 1) usleep(1000);
        printf("child: ncnt=1 zcnt=%d\n", semctl(id, 2, GETZCNT));
        struct sembuf op = { 2, 1, 0 };
        semop(id, &op, 1);
        _exit(0);
    }
    struct sembuf w = { 2, -1, 0 };
    CHECK(semop(id, &w, 1));
    printf("parent woke\n");
    reap(c);
    /* wait-for-zero and atomic multi-op */
    struct sembuf two[2] = { { 0, -1, 0 }, { 1, -6, IPC_NOWAIT } };
    T(semop(id, two, 2));
    printf("vals unchanged: %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
    struct timespec ts = { 0, 20000000 };
    struct sembuf z = { 0, 0, 0 };
    T(semtimedop(id, &z, 1, &ts));
    struct sembuf big = { 0, 32767, 0 };
    T(semop(id, &big, 1));
    struct sembuf bad = { 3, 1, 0 };
    T(semop(id, &bad, 1));
    T(semop(id, &z, 0));
    T(semop(id, NULL, 600));
    a.val = 40000;
    T(semctl(id, 0, SETVAL, a));
    T(semctl(id, 5, GETVAL));
    T(semget(IPC_PRIVATE, 0, 0600));
    T(semctl(id, 0, 99));
    /* removal wakes a sleeper with EIDRM */
    c = fork();
    if (c == 0) {
        struct sembuf op = { 2, -1, 0 };
        int r = semop(id, &op, 1);
        printf("child semop after rmid: %d %s\n", r, strerror(errno));
        _exit(0);
    }
    while (semctl(id, 2, GETNCNT) != 1) usleep(1000);
    CHECK(semctl(id, 0, IPC_RMID));
    reap(c);
    T(semctl(id, 0, GETVAL));
}

struct msgb { long type; char text[64]; };

static void msg(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600); CHECK(id);
    pid_t c = fork();
    if (c == 0) {
        struct msgb m;
        for (int i = 1; i <= 5; i++) { m.type = i; snprintf(m.text, sizeof m.text, "message %d", i); msgsnd(id, &m, strlen(m.text) + 1, 0); }
        _exit(0);
    }
    reap(c);
    struct msqid_ds ds;
    CHECK(msgctl(id, IPC_STAT, &ds));
    printf("qnum=%lu cbytes=%lu lspid_is_child=%d\n", (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, ds.msg_lspid == c);
    struct msgb m;
    long n;
    n = msgrcv(id, &m, sizeof m.text, 3, 0); printf("type 3: %ld %ld %s\n", n, m.type, m.text);
    n = msgrcv(id, &m, sizeof m.text, -2, 0); printf("type <=2: %ld %ld %s\n", n, m.type, m.text);
    n = msgrcv(id, &m, sizeof m.text, 2, MSG_EXCEPT); printf("except 2: %ld %ld %s\n", n, m.type, m.text);
    T(msgrcv(id, &m, 3, 0, IPC_NOWAIT));
    n = msgrcv(id, &m, 3, 0, MSG_NOERROR); printf("truncated: %ld %ld %.3s\n", n, m.type, m.text);
    T(msgrcv(id, &m, sizeof m.text, 9, IPC_NOWAIT));
    m.type = 0;
    T(msgsnd(id, &m, 4, 0));
    m.type = 1;
    T(msgsnd(id, &m, 9000, 0));
    /* a blocked receiver woken by a sender */
    c = fork();
    if (c == 0) { usleep(30000); struct msgb x = { 7, "late" }; msgsnd(id, &x, 5, 0); _exit(0); }
    n = msgrcv(id, &m, sizeof m.text, 7, 0); printf("blocking: %ld %ld %s\n", n, m.type, m.text);
    reap(c);
    /* a full queue: qbytes lowered, IPC_NOWAIT gets EAGAIN */
    CHECK(msgctl(id, IPC_STAT, &ds));
    ds.msg_qbytes = 10;
    CHECK(msgctl(id, IPC_SET, &ds));
    m.type = 1;
    T(msgsnd(id, &m, 8, IPC_NOWAIT));
    T(msgsnd(id, &m, 8, IPC_NOWAIT));
    c = fork();
    if (c == 0) {
        int r = msgrcv(id, &m, sizeof m.text, 55, 0);
        printf("child msgrcv after rmid: %d %s\n", r, strerror(errno));
        _exit(0);
    }
    usleep(50000);
    CHECK(msgctl(id, IPC_RMID, NULL));
    reap(c);
    T(msgctl(id, IPC_STAT, &ds));
}

/* Raw calls: the direct syscalls and ipc(2) without IPC_64 (the old layouts). */
static void raw(void)
{
    int id = syscall(SYS_semget, IPC_PRIVATE, 4, IPC_CREAT | 0640);
    CHECK(id);
    unsigned char buf[128];
    memset(buf, 0xee, sizeof buf);
    uint32_t pad = (uint32_t)(uintptr_t)buf;
    long r = syscall(SYS_ipc, 3 /* SEMCTL */, id, 0, IPC_STAT, &pad);
    printf("old semid_ds: %ld mode=%o nsems=%u tail=%#x\n", r, *(uint16_t *)(buf + 12) & 0777, *(uint16_t *)(buf + 40), buf[44]);
    memset(buf, 0xee, sizeof buf);
    r = syscall(SYS_semctl, id, 0, IPC_STAT, buf);
    printf("semid64_ds: %ld mode=%o nsems=%u tail=%#x\n", r, *(uint16_t *)(buf + 20) & 0777, *(uint32_t *)(buf + 52), buf[64]);
    syscall(SYS_semctl, id, 0, IPC_RMID, 0);
    int m = syscall(SYS_msgget, IPC_PRIVATE, IPC_CREAT | 0600);
    struct { int32_t type; char t[8]; } mb = { 5, "raw" };
    printf("direct msgsnd: %ld\n", syscall(SYS_msgsnd, m, &mb, 4, 0));
    memset(buf, 0xee, sizeof buf);
    r = syscall(SYS_ipc, 14 /* MSGCTL */, m, IPC_STAT, 0, buf);
    printf("old msqid_ds: %ld qnum=%u cbytes=%u tail=%#x\n", r, *(uint16_t *)(buf + 46), *(uint16_t *)(buf + 44), buf[56]);
    struct { uint32_t msgp; int32_t typ; } kludge = { (uint32_t)(uintptr_t)&mb, 0 };
    memset(&mb, 0, sizeof mb);
    r = syscall(SYS_ipc, 12 /* MSGRCV, version 0 */, m, 8, 0, &kludge);
    printf("ipc msgrcv kludge: %ld %d %s\n", r, mb.type, mb.t);
    syscall(SYS_msgctl, m, IPC_RMID, 0);
    int s = syscall(SYS_shmget, IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    uint32_t raddr = 0;
    r = syscall(SYS_ipc, 21 /* SHMAT */, s, 0, &raddr, NULL);
    printf("ipc shmat: %ld page-aligned=%d\n", r, raddr != 0 && (raddr & 4095) == 0);
    memset(buf, 0xee, sizeof buf);
    r = syscall(SYS_ipc, 24 /* SHMCTL */, s, IPC_STAT, 0, buf);
    printf("old shmid_ds: %ld segsz=%u nattch=%u tail=%#x\n", r, *(uint32_t *)(buf + 16), *(uint16_t *)(buf + 36), buf[48]);
    r = syscall(SYS_ipc, 22 /* SHMDT */, 0, 0, 0, raddr);
    printf("ipc shmdt: %ld\n", r);
    syscall(SYS_shmctl, s, IPC_RMID, 0);
    printf("ipc unknown: %ld %s\n", syscall(SYS_ipc, 99, 0, 0, 0, 0), strerror(errno));
}

static volatile int notified;
static void on_usr1(int s, siginfo_t *si, void *u) { (void)s; (void)u; notified = si->si_code == SI_MESGQ ? si->si_value.sival_int : -1; }

static void mq(void)
{
    char name[64];
    snprintf(name, sizeof name, "/c32test-%d", getpid());
    struct mq_attr at = { .mq_maxmsg = 4, .mq_msgsize = 32 };
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &at); CHECK(q);
    T(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &at));
    struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 77 };
    CHECK(mq_notify(q, &sev));
    T(mq_notify(q, &sev) == 0);
    pid_t c = fork();
    if (c == 0) {
        mqd_t w = mq_open(name, O_WRONLY);
        mq_send(w, "low", 4, 1);
        mq_send(w, "high", 5, 9);
        mq_send(w, "mid", 4, 5);
        mq_send(w, "high2", 6, 9);
        _exit(0);
    }
    reap(c);
    printf("notified value=%d\n", notified);
    struct mq_attr got;
    CHECK(mq_getattr(q, &got));
    printf("maxmsg=%ld msgsize=%ld curmsgs=%ld flags=%ld\n", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs, got.mq_flags);
    char status[128] = { 0 };
    struct pollfd pf = { .fd = q, .events = POLLIN | POLLOUT };
    printf("poll full: %d revents=%#x\n", poll(&pf, 1, 0), pf.revents);
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    T(mq_timedsend(q, "x", 1, 0, &ts));
    char buf[64]; unsigned prio;
    for (int i = 0; i < 4; i++) { long n = mq_receive(q, buf, sizeof buf, &prio); printf("recv %ld prio=%u %s\n", n, prio, buf); }
    T(mq_receive(q, buf, 8, &prio));
    T(mq_send(q, buf, 33, 0));
    T(mq_send(q, buf, 1, 40000));
    clock_gettime(CLOCK_REALTIME, &ts); ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    T(mq_timedreceive(q, buf, sizeof buf, &prio, &ts));
    /* epoll on the queue: a child's send wakes the waiter */
    int ep = epoll_create1(0);
    struct epoll_event e = { .events = EPOLLIN, .data.u32 = 9 };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, q, &e));
    c = fork();
    if (c == 0) { usleep(30000); mqd_t w = mq_open(name, O_WRONLY); mq_send(w, "wake", 5, 3); _exit(0); }
    int n = epoll_wait(ep, &e, 1, 5000);
    printf("epoll: %d events=%#x data=%u\n", n, e.events, e.data.u32);
    reap(c);
    int fd = open("/dev/null", O_RDONLY); (void)fd;
    long len = read(q, status, sizeof status - 1);
    printf("status %ld: %s", len, status);
    struct mq_attr nb = { .mq_flags = O_NONBLOCK };
    CHECK(mq_setattr(q, &nb, NULL));
    mq_receive(q, buf, sizeof buf, NULL);
    T(mq_receive(q, buf, sizeof buf, NULL));
    nb.mq_flags = 1;
    T(mq_setattr(q, &nb, NULL));
    CHECK(mq_unlink(name));
    T(mq_unlink(name));
    T(mq_open(name, O_RDWR));
    T(mq_open("/bad/name", O_RDWR | O_CREAT, 0600, NULL));
    struct mq_attr huge = { .mq_maxmsg = 100000, .mq_msgsize = 10 };
    T(mq_open(name, O_RDWR | O_CREAT, 0600, &huge));
    mq_close(q);
}

/* Several processes and threads hammering one semaphore set with SEM_UNDO mutexes. */
static void stress(void)
{
    int id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600); CHECK(id);
    int sh = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600); CHECK(sh);
    volatile int *counter = shmat(sh, NULL, 0);
    union semun a; a.val = 1; semctl(id, 0, SETVAL, a);
    enum { PROCS = 6, ITERS = 400 };
    for (int p = 0; p < PROCS; p++) {
        if (fork() == 0) {
            for (int i = 0; i < ITERS; i++) {
                struct sembuf lock = { 0, -1, SEM_UNDO }, unlock = { 0, 1, SEM_UNDO }, count = { 1, 1, 0 };
                if (semop(id, &lock, 1) < 0) _exit(1);
                int v = *counter; *counter = v + 1;
                if (semop(id, &unlock, 1) < 0) _exit(1);
                semop(id, &count, 1);
            }
            if (p == 0) { struct sembuf lock = { 0, -1, SEM_UNDO }; semop(id, &lock, 1); _exit(0); } /* dies holding it */
            _exit(0);
        }
    }
    int bad = 0;
    for (int p = 0; p < PROCS; p++) { int st; wait(&st); if (!WIFEXITED(st) || WEXITSTATUS(st)) bad++; }
    printf("stress: counter=%d sem1=%d sem0=%d bad=%d\n", *counter, semctl(id, 1, GETVAL), semctl(id, 0, GETVAL), bad);
    semctl(id, 0, IPC_RMID);
    shmctl(sh, IPC_RMID, NULL);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *m = argc > 1 ? argv[1] : "shm";
    if (!strcmp(m, "shm")) shm();
    else if (!strcmp(m, "sem")) sem();
    else if (!strcmp(m, "msg")) msg();
    else if (!strcmp(m, "raw")) raw();
    else if (!strcmp(m, "mq")) mq();
    else if (!strcmp(m, "stress")) stress();
    else { printf("unknown mode\n"); return 2; }
    return 0;
}
