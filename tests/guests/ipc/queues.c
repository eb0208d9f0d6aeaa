/* The order of the kernel's queues: System V semaphore sleepers completed in Linux's order (per-semaphore and
   array-wide pending lists, update_queue, wait-for-zero, SETVAL, SEM_UNDO at exit, IPC_RMID); msgrcv with
   MSG_COPY; mq_notify with SIGEV_THREAD (glibc's netlink helper thread) and its bad input. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define T(x) do { errno = 0; long r_ = (long)(x); printf("%-60s %ld %s\n", #x, r_, r_ < 0 ? strerror(errno) : ""); } while (0)
#define CHECK(x) do { if ((long)(x) < 0) { printf("FAIL %s: %s (line %d)\n", #x, strerror(errno), __LINE__); exit(1); } } while (0)

union semun { int val; struct semid_ds *buf; unsigned short *array; };

/* ------------------------------------------------------------------ semaphores */

#define NS 3
static int semid;
static pid_t kids[8];

static int waiting(void)
{
    int n = 0;
    for (int i = 0; i < NS; i++) n += semctl(semid, i, GETNCNT) + semctl(semid, i, GETZCNT);
    return n;
}

/* The waker unlinks what it completes, so the counts are exact as soon as the call returns; a new sleeper
   shows once it has queued itself. */
static void wait_waiting(int n)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (waiting() != n) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 60) { printf("FAIL: %d sleepers, expected %d\n", waiting(), n); exit(1); }
        usleep(500);
    }
}

static void spawn(int idx, struct sembuf *ops, int nops, int sleepers)
{
    pid_t p = fork();
    CHECK(p);
    if (p == 0) _exit(semop(semid, ops, nops) == 0 ? 0 : 100 + errno);
    kids[idx] = p;
    wait_waiting(sleepers);
}

static int idx_of(pid_t p) { for (int i = 0; i < 8; i++) if (kids[i] == p) return i; return -1; }

/* Reap n children; print them in index order (they may exit in any order once completed). */
static void reap_then(const char *what, int n, int settle);
static void reap(const char *what, int n) { reap_then(what, n, -1); }

/* settle >= 0: wait for that many sleepers before printing the count (one may still be on its way in). */
static void reap_then(const char *what, int n, int settle)
{
    int got[8] = { 0 }, code[8] = { 0 };
    for (int k = 0; k < n; k++) {
        int st;
        pid_t p;
        while ((p = wait(&st)) < 0 && errno == EINTR) { }
        CHECK(p);
        int i = idx_of(p);
        got[i] = 1; code[i] = WEXITSTATUS(st); kids[i] = 0;
    }
    if (settle >= 0) wait_waiting(settle);
    printf("%s:", what);
    for (int i = 0; i < 8; i++) if (got[i]) printf(" #%d(exit %d)", i, code[i]);
    printf("  left waiting %d\n", waiting());
}

static void op(int num, int delta)
{
    struct sembuf b = { num, delta, 0 };
    CHECK(semop(semid, &b, 1));
}

static void vals(void)
{
    printf("  values");
    for (int i = 0; i < NS; i++) printf(" %d", semctl(semid, i, GETVAL));
    printf("  ncnt");
    for (int i = 0; i < NS; i++) printf(" %d", semctl(semid, i, GETNCNT));
    printf("  zcnt");
    for (int i = 0; i < NS; i++) printf(" %d", semctl(semid, i, GETZCNT));
    printf("\n");
}

/* A failed check exits: the set goes with it, so no sleeper is left behind holding the output pipe. */
static pid_t parent;
static void drop_set(void) { if (getpid() == parent) semctl(semid, 0, IPC_RMID); }

static void semorder(void)
{
    semid = semget(IPC_PRIVATE, NS, IPC_CREAT | 0600);
    CHECK(semid);
    parent = getpid();
    atexit(drop_set);
    struct sembuf dec1 = { 0, -1, 0 }, dec2 = { 0, -2, 0 };

    /* FIFO among single decrements of one semaphore */
    for (int i = 0; i < 5; i++) spawn(i, &dec1, 1, i + 1);
    for (int i = 0; i < 5; i++) { op(0, 1); reap("fifo +1", 1); }

    /* a larger decrement at the head does not hold back smaller ones behind it (update_queue goes on) */
    spawn(0, &dec2, 1, 1); spawn(1, &dec1, 1, 2); spawn(2, &dec1, 1, 3); spawn(3, &dec2, 1, 4);
    op(0, 1); reap("skip +1", 1);
    op(0, 1); reap("skip +1", 1);
    op(0, 2); reap("skip +2", 1);
    op(0, 2); reap("skip +2", 1);

    /* wait-for-zero sleepers all complete when the value reaches 0; the decrement keeps waiting */
    union semun su = { .val = 2 };
    CHECK(semctl(semid, 1, SETVAL, su));
    struct sembuf z1 = { 1, 0, 0 }, d3 = { 1, -3, 0 };
    spawn(0, &z1, 1, 1); spawn(1, &d3, 1, 2); spawn(2, &z1, 1, 3);
    vals();
    op(1, -2); reap("zero", 2); vals();
    op(1, 3); reap("zero then +3", 1);

    /* a complex sleeper moves the single ones to the array's queue; FIFO across them */
    struct sembuf both[2] = { { 0, -1, 0 }, { 1, -1, 0 } };
    spawn(0, &dec1, 1, 1); spawn(1, both, 2, 2); spawn(2, &dec1, 1, 3);
    vals();
    op(0, 1); reap("complex sem0 +1", 1);
    op(0, 1); reap("complex sem0 +1", 1);
    op(1, 1); vals();
    op(0, 1); reap("complex sem0 +1", 1);

    /* SETVAL completes the oldest sleepers first; GETPID names the last one performed */
    for (int i = 0; i < 4; i++) spawn(i, &dec1, 1, i + 1);
    su.val = 2;
    pid_t k1 = kids[1], k3 = kids[3];
    CHECK(semctl(semid, 0, SETVAL, su));
    printf("setval 2: GETPID is #1 %d\n", semctl(semid, 0, GETPID) == k1);
    reap("setval 2", 2);
    CHECK(semctl(semid, 0, SETVAL, su));
    printf("setval 2: GETPID is #3 %d\n", semctl(semid, 0, GETPID) == k3);
    reap("setval 2", 2);

    /* SETALL */
    for (int i = 0; i < 3; i++) spawn(i, &dec1, 1, i + 1);
    unsigned short all[NS] = { 1, 0, 0 };
    su.array = all;
    CHECK(semctl(semid, 0, SETALL, su));
    reap("setall 1", 1);
    all[0] = 2;
    CHECK(semctl(semid, 0, SETALL, su));
    reap("setall 2", 2);

    /* SEM_UNDO applied at the holder's exit completes the next sleeper */
    struct sembuf undo1 = { 0, -1, SEM_UNDO };
    spawn(0, &undo1, 1, 1); spawn(1, &dec1, 1, 2);
    op(0, 1);
    reap("undo at exit", 2); vals();

    /* a timed sleeper that times out leaves the queue and another sleeper is served (whichever queued first:
       no timing is assumed, so a loaded machine gets the same result) */
    pid_t p = fork();
    CHECK(p);
    if (p == 0) {
        struct timespec ts = { 0, 300 * 1000 * 1000 };
        _exit(semtimedop(semid, &dec1, 1, &ts) == 0 ? 0 : 100 + errno);
    }
    kids[0] = p;
    p = fork();
    CHECK(p);
    if (p == 0) _exit(semop(semid, &dec1, 1) == 0 ? 0 : 100 + errno);
    kids[1] = p;
    reap_then("timed out", 1, 1);
    op(0, 1); reap("after timeout", 1);

    /* IPC_RMID: every sleeper gets EIDRM */
    su.val = 1;
    CHECK(semctl(semid, 2, SETVAL, su));
    struct sembuf z2 = { 2, 0, 0 };
    spawn(0, &dec1, 1, 1); spawn(1, &z2, 1, 2); spawn(2, both, 2, 3);
    CHECK(semctl(semid, 0, IPC_RMID));
    reap("rmid", 3);
}

/* Eight processes passing two tokens around with single and complex operations (the queues merge and unmerge
   all the time): a sleeper lost or completed twice shows as a hang or as other final values. */
static void semstress(void)
{
    semid = semget(IPC_PRIVATE, NS, IPC_CREAT | 0600);
    CHECK(semid);
    parent = getpid();
    atexit(drop_set);
    unsigned short init[NS] = { 2, 0, 0 };
    union semun su = { .array = init };
    CHECK(semctl(semid, 0, SETALL, su));
    pid_t w[8];
    for (int k = 0; k < 8; k++) {
        CHECK(w[k] = fork());
        if (w[k] == 0) {
            for (int i = 0; i < 3000; i++) {
                if ((i + k) % 3 == 0) {
                    struct sembuf a[2] = { { 0, -1, 0 }, { 1, 1, 0 } }, b[2] = { { 1, -1, 0 }, { 0, 1, 0 } };
                    if (semop(semid, a, 2) || semop(semid, b, 2)) _exit(1);
                } else {
                    struct sembuf d = { 0, -1, SEM_UNDO }, u = { 0, 1, SEM_UNDO }, c = { 2, 1, 0 }, e = { 2, -1, 0 };
                    if (semop(semid, &d, 1) || semop(semid, &c, 1) || semop(semid, &e, 1) || semop(semid, &u, 1)) _exit(2);
                }
            }
            _exit(0);
        }
    }
    int bad = 0;
    for (int k = 0; k < 8; k++) { int st; while (waitpid(w[k], &st, 0) < 0 && errno == EINTR) { } bad += !WIFEXITED(st) || WEXITSTATUS(st); }
    printf("semstress: %d workers failed", bad);
    vals();
    CHECK(semctl(semid, 0, IPC_RMID));
}

/* ------------------------------------------------------------------ MSG_COPY */

struct mbuf { long mtype; char text[64]; };

static void show(const char *what, long r, struct mbuf *b)
{
    if (r < 0) printf("%-40s -1 %s\n", what, strerror(errno));
    else printf("%-40s %ld type %ld '%.*s'\n", what, r, b->mtype, (int)r, b->text);
}

static void msgcopy(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(id);
    struct mbuf b;
    const char *texts[] = { "five", "three!", "seven, a longer message" };
    long types[] = { 5, 3, 7 };
    for (int i = 0; i < 3; i++) {
        b.mtype = types[i];
        strcpy(b.text, texts[i]);
        CHECK(msgsnd(id, &b, strlen(texts[i]), 0));
    }
    long r;
#define RCV(bufsz, typ, flg) do { memset(&b, 0, sizeof b); errno = 0; r = msgrcv(id, &b, bufsz, typ, flg); show(#bufsz " " #typ " " #flg, r, &b); } while (0)
    RCV(64, 0, MSG_COPY | IPC_NOWAIT);
    RCV(64, 1, MSG_COPY | IPC_NOWAIT);
    RCV(64, 2, MSG_COPY | IPC_NOWAIT);
    RCV(64, 3, MSG_COPY | IPC_NOWAIT);
    RCV(64, -1, MSG_COPY | IPC_NOWAIT);
    RCV(64, 0, MSG_COPY);
    RCV(64, 0, MSG_COPY | IPC_NOWAIT | MSG_EXCEPT);
    RCV(4, 2, MSG_COPY | IPC_NOWAIT);
    RCV(4, 2, MSG_COPY | IPC_NOWAIT | MSG_NOERROR);
    RCV(23, 2, MSG_COPY | IPC_NOWAIT);
    RCV(4, 0, MSG_COPY | IPC_NOWAIT | MSG_NOERROR);
    T(msgrcv(id, (void *)16, 64, 0, MSG_COPY | IPC_NOWAIT));
    T(msgrcv(id + 1, &b, 64, 0, MSG_COPY | IPC_NOWAIT));
    struct msqid_ds ds;
    CHECK(msgctl(id, IPC_STAT, &ds));
    printf("after copies: qnum %lu cbytes %lu rtime %ld lrpid %d\n", (unsigned long)ds.msg_qnum,
           (unsigned long)ds.__msg_cbytes, (long)ds.msg_rtime, ds.msg_lrpid);
    RCV(64, 0, 0);
    RCV(64, 0, MSG_COPY | IPC_NOWAIT);
    CHECK(msgctl(id, IPC_STAT, &ds));
    printf("after a receive: qnum %lu lrpid is me %d\n", (unsigned long)ds.msg_qnum, ds.msg_lrpid == getpid());
    CHECK(msgctl(id, IPC_RMID, NULL));
}

/* ------------------------------------------------------------------ mq_notify SIGEV_THREAD */

static mqd_t mq;
static int note[2];

static void notified(union sigval sv)
{
    struct mq_attr a;
    mq_getattr(mq, &a);
    char line[96];
    int n = snprintf(line, sizeof line, "thread notified: value %d, %ld message(s) queued\n", sv.sival_int, a.mq_curmsgs);
    write(note[1], line, n);
}

static void await_note(void)
{
    char line[96];
    int n = read(note[0], line, sizeof line);
    printf("%.*s", n, line);
}

static char mqname[64];
static void drop_mq(void) { if (getpid() == parent) mq_unlink(mqname); }

static void mqthread(void)
{
    char *name = mqname;
    snprintf(mqname, sizeof mqname, "/c32q-%d", getpid());
    parent = getpid();
    atexit(drop_mq);
    struct mq_attr at = { .mq_maxmsg = 4, .mq_msgsize = 32 };
    mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &at);
    CHECK(mq);
    CHECK(pipe(note));
    struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = notified };
    sev.sigev_value.sival_int = 42;
    T(mq_notify(mq, &sev));
    T(mq_notify(mq, &sev));
    pid_t c = fork();
    CHECK(c);
    if (c == 0) {
        mqd_t w = mq_open(name, O_WRONLY);
        _exit(mq_send(w, "hello", 5, 1) == 0 ? 0 : 1);
    }
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) { }
    printf("sender exit %d\n", WEXITSTATUS(st));
    await_note();
    char buf[32];
    unsigned prio;
    T(mq_receive(mq, buf, sizeof buf, &prio));

    /* once more, from this process, with another value */
    sev.sigev_value.sival_int = 43;
    T(mq_notify(mq, &sev));
    T(mq_send(mq, "again", 5, 2));
    await_note();
    T(mq_receive(mq, buf, sizeof buf, &prio));

    /* unregistered (glibc's helper hears NOTIFY_REMOVED): no call */
    T(mq_notify(mq, &sev));
    T(mq_notify(mq, NULL));
    T(mq_send(mq, "quiet", 5, 3));
    usleep(200 * 1000);
    CHECK(fcntl(note[0], F_SETFL, O_NONBLOCK));
    T(read(note[0], buf, sizeof buf));
    CHECK(fcntl(note[0], F_SETFL, 0));
    T(mq_receive(mq, buf, sizeof buf, &prio));

    /* the kernel's struct sigevent by hand: sigev_signo names the netlink socket, sigev_value its cookie */
    struct { int value, signo, notify, pad[13]; } k = { 0 };
    char cookie[32] = { 0 };
    int us = socket(AF_UNIX, SOCK_DGRAM, 0), nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
    k.notify = SIGEV_THREAD; k.value = (int)(long)cookie;
    k.signo = 999;          T(syscall(SYS_mq_notify, mq, &k));
    k.signo = note[0];      T(syscall(SYS_mq_notify, mq, &k));
    k.signo = us;           T(syscall(SYS_mq_notify, mq, &k));
    k.value = 16;           T(syscall(SYS_mq_notify, mq, &k));
    k.signo = nl;           T(syscall(SYS_mq_notify, mq, &k));
    k.value = (int)(long)cookie;
    T(syscall(SYS_mq_notify, note[0], &k));
    T(syscall(SYS_mq_notify, mq, &k));
    T(mq_send(mq, "raw", 3, 0));
    char got[64];
    int n = recv(nl, got, sizeof got, 0);
    printf("netlink socket got %d bytes, last %d\n", n, n > 0 ? got[n - 1] : -1);
    T(syscall(SYS_mq_notify, mq, &k));
    T(syscall(SYS_mq_notify, mq, NULL));
    n = recv(nl, got, sizeof got, 0);
    printf("netlink socket got %d bytes, last %d\n", n, n > 0 ? got[n - 1] : -1);
    k.notify = SIGEV_SIGNAL; k.signo = 0;
    T(syscall(SYS_mq_notify, mq, &k));
    T(syscall(SYS_mq_notify, mq, NULL));
    k.signo = 65;
    T(syscall(SYS_mq_notify, mq, &k));

    /* mqueue_flush_file: the owner's close of any descriptor of the queue drops its registration (a SIGEV_THREAD
       one tells glibc's helper NOTIFY_REMOVED); a child's close of its inherited copy does not */
    struct sigevent none = { .sigev_notify = SIGEV_NONE };
    mqd_t q2 = mq_open(name, O_RDWR);
    CHECK(q2);
    T(mq_notify(q2, &none));
    c = fork();
    CHECK(c);
    if (c == 0) { mq_close(q2); mq_close(mq); _exit(0); }
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) { }
    T(mq_notify(mq, &none));
    T(mq_close(q2));
    T(mq_notify(mq, &none));
    T(mq_notify(mq, NULL));
    q2 = mq_open(name, O_RDWR);
    CHECK(q2);
    sev.sigev_value.sival_int = 44;
    T(mq_notify(q2, &sev));
    T(mq_close(q2));
    T(mq_receive(mq, buf, sizeof buf, &prio));
    T(mq_send(mq, "after close", 11, 0));
    usleep(200 * 1000);
    CHECK(fcntl(note[0], F_SETFL, O_NONBLOCK));
    T(read(note[0], buf, sizeof buf));
    T(mq_notify(mq, &sev));
    T(mq_unlink(name));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "semorder")) semorder();
    else if (!strcmp(m, "semstress")) semstress();
    else if (!strcmp(m, "msgcopy")) msgcopy();
    else if (!strcmp(m, "mqthread")) mqthread();
    else { fprintf(stderr, "usage: queues semorder|semstress|msgcopy|mqthread\n"); return 2; }
    return 0;
}
