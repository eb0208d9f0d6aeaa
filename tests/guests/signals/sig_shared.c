/* Process-directed signals in a multi-threaded process (kernel/signal.c shared_pending, complete_signal,
 * dequeue_signal; fs/signalfd.c): which thread takes kill(getpid()), sigpending/signalfd/sigwaitinfo from any
 * thread seeing and taking a shared signal, poll/epoll on a signalfd, blocking signalfd reads woken by a
 * process-directed signal, a thread-directed signal staying private, and a stress run counting every queued
 * signal delivered exactly once while threads block, unblock and exit. Compared with the host kernel.
 * A thread that is not chosen sleeps on undisturbed while the chosen one takes the signal (bystander).
 * Modes: pick, allblock, poll, sigwait, bystander, stress (no argument: all). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s (errno %d)\n", __FILE__, __LINE__, #c, errno); exit(1); } } while (0)

static pid_t gettid_(void) { return syscall(SYS_gettid); }
static void sleep_ms(int ms) { struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L }; nanosleep(&ts, NULL); }

static void block(int sig, int how) { sigset_t s; sigemptyset(&s); sigaddset(&s, sig); CHECK(pthread_sigmask(how, &s, NULL) == 0); }
static int pending(int sig) { sigset_t s; CHECK(sigpending(&s) == 0); return sigismember(&s, sig); }

/* ---- pick: all threads but one block SIGUSR1; kill(getpid()) must be taken by that one. */
static __thread int my_index;
static volatile int taken_by, taken_count, go_on, ready_count;
static void h_pick(int sig) { (void)sig; taken_by = my_index; __sync_fetch_and_add(&taken_count, 1); }

struct pick_arg { int index, unblocked, spin; };
static void *pick_thread(void *p) {
  struct pick_arg *a = p;
  my_index = a->index;
  if (!a->unblocked) block(SIGUSR1, SIG_BLOCK); else block(SIGUSR1, SIG_UNBLOCK);
  __sync_fetch_and_add(&ready_count, 1);
  while (!go_on) { if (a->spin) { for (volatile int i = 0; i < 1000; i++) ; } else sleep_ms(1); }
  return NULL;
}

static void pick(void) {
  struct sigaction sa = { 0 }; sa.sa_handler = h_pick; sigaction(SIGUSR1, &sa, NULL);
  for (int round = 0; round < 8; round++) {
    int n = 4, chosen = 1 + round % 3, spin = round >= 4;
    pthread_t th[4]; struct pick_arg a[4];
    block(SIGUSR1, SIG_BLOCK);
    go_on = 0; ready_count = 0; taken_count = 0; taken_by = -1;
    for (int i = 0; i < n; i++) { a[i] = (struct pick_arg){ i + 1, i + 1 == chosen, spin }; pthread_create(&th[i], NULL, pick_thread, &a[i]); }
    while (ready_count < n) sleep_ms(1);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    for (int w = 0; w < 5000 && taken_count == 0; w++) sleep_ms(1);
    printf("pick round %d: thread %d unblocked (%s), taken by thread %d, %d time(s)\n", round, chosen,
           spin ? "spinning" : "sleeping", taken_by, taken_count);
    go_on = 1;
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
  }
  /* The main thread unblocked too: it gets the first crack (complete_signal), whatever the others do. */
  my_index = 0;
  pthread_t th[3]; struct pick_arg a[3];
  go_on = 0; ready_count = 0; taken_count = 0; taken_by = -1;
  for (int i = 0; i < 3; i++) { a[i] = (struct pick_arg){ i + 1, 1, 1 }; pthread_create(&th[i], NULL, pick_thread, &a[i]); }
  while (ready_count < 3) sleep_ms(1);
  block(SIGUSR1, SIG_UNBLOCK); /* nothing pending: nothing delivered */
  printf("main unblocked, before kill: %d taken\n", taken_count);
  CHECK(kill(getpid(), SIGUSR1) == 0); /* delivered to main before kill returns to user mode */
  printf("main unblocked: taken by thread %d, %d time(s)\n", taken_by, taken_count);
  go_on = 1;
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  signal(SIGUSR1, SIG_DFL);
}

/* ---- allblock: every thread blocks; any thread sees the shared signal; another one dequeues it. */
static int sfd;
static volatile int phase, phase_ack;
static void wait_phase(int p) { while (phase != p) sleep_ms(1); }

static void report_pending(const char *who, int sig) { printf("  %s: sigpending has %s: %d\n", who, sig == SIGUSR1 ? "SIGUSR1" : "SIGRTMIN+1", pending(sig)); }

static void read_one(const char *who, int expect_eagain) {
  struct signalfd_siginfo si;
  ssize_t r = read(sfd, &si, sizeof si);
  if (r < 0) { printf("  %s: signalfd read: %s\n", who, errno == EAGAIN ? "EAGAIN" : strerror(errno)); CHECK(expect_eagain); return; }
  CHECK(r == sizeof si);
  printf("  %s: signalfd read signo %d code %d pid_is_us %d value %d\n", who, si.ssi_signo, si.ssi_code,
         si.ssi_pid == (unsigned)getpid(), si.ssi_code == SI_QUEUE ? si.ssi_int : -1);
}

static pid_t helper_tid;
static void *allblock_thread(void *p) {
  (void)p;
  helper_tid = gettid_();
  wait_phase(1); report_pending("thread", SIGUSR1); report_pending("thread", SIGRTMIN + 1);
  read_one("thread", 0);
  report_pending("thread", SIGUSR1);
  read_one("thread", 0); read_one("thread", 0); read_one("thread", 1);
  phase_ack = 1;
  wait_phase(2);
  /* main tgkill'ed us SIGUSR2: private to us, so our signalfd read gets it. */
  report_pending("thread (after tgkill)", SIGUSR1);
  { sigset_t s; sigpending(&s); printf("  thread: SIGUSR2 pending here: %d\n", sigismember(&s, SIGUSR2)); }
  read_one("thread", 0);
  phase_ack = 2;
  return NULL;
}

static void allblock(void) {
  sigset_t m; sigemptyset(&m);
  sigaddset(&m, SIGUSR1); sigaddset(&m, SIGUSR2); sigaddset(&m, SIGRTMIN + 1);
  CHECK(pthread_sigmask(SIG_BLOCK, &m, NULL) == 0);
  sfd = signalfd(-1, &m, SFD_NONBLOCK);
  CHECK(sfd >= 0);
  pthread_t th; pthread_create(&th, NULL, allblock_thread, NULL);
  CHECK(kill(getpid(), SIGUSR1) == 0);
  CHECK(kill(getpid(), SIGUSR1) == 0); /* a legacy signal is queued once */
  union sigval v; v.sival_int = 41; CHECK(sigqueue(getpid(), SIGRTMIN + 1, v) == 0);
  v.sival_int = 42; CHECK(sigqueue(getpid(), SIGRTMIN + 1, v) == 0);
  printf("allblock:\n");
  report_pending("main", SIGUSR1); report_pending("main", SIGRTMIN + 1);
  phase = 1;
  while (phase_ack != 1) sleep_ms(1);
  report_pending("main (after the thread read)", SIGUSR1);
  report_pending("main (after the thread read)", SIGRTMIN + 1);
  /* Thread-directed: stays in the thread's private set; main's signalfd read does not see it. */
  CHECK(syscall(SYS_tgkill, getpid(), helper_tid, SIGUSR2) == 0);
  { sigset_t s; sigpending(&s); printf("  main: SIGUSR2 pending here: %d\n", sigismember(&s, SIGUSR2)); }
  read_one("main", 1);
  phase = 2;
  while (phase_ack != 2) sleep_ms(1);
  pthread_join(th, NULL);
  close(sfd);
  CHECK(pthread_sigmask(SIG_UNBLOCK, &m, NULL) == 0);
}

/* ---- poll: a process-directed signal makes a signalfd readable in every thread, and wakes pollers and
 * blocking readers in other threads. */
static volatile int poller_state;
static void *poller(void *p) {
  (void)p;
  struct pollfd pf = { sfd, POLLIN, 0 };
  poller_state = 1;
  int r = poll(&pf, 1, 10000);
  printf("  poller thread: poll = %d revents %s\n", r, pf.revents & POLLIN ? "POLLIN" : "-");
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 }, out;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) == 0);
  r = epoll_wait(ep, &out, 1, 0);
  printf("  poller thread: epoll_wait = %d data %u\n", r, r == 1 ? out.data.u32 : 0);
  close(ep);
  poller_state = 2;
  return NULL;
}
static int blocking_fd;
static void *blocking_reader(void *p) {
  (void)p;
  struct signalfd_siginfo si;
  poller_state = 3;
  ssize_t r = read(blocking_fd, &si, sizeof si);
  printf("  reader thread: blocking read = %d signo %d\n", (int)r, r > 0 ? (int)si.ssi_signo : 0);
  return NULL;
}

static void pollmode(void) {
  sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGUSR2);
  CHECK(pthread_sigmask(SIG_BLOCK, &m, NULL) == 0);
  sfd = signalfd(-1, &m, SFD_NONBLOCK);
  printf("poll:\n");
  struct pollfd pf = { sfd, POLLIN, 0 };
  printf("  main: poll before = %d\n", poll(&pf, 1, 0));
  pthread_t th; pthread_create(&th, NULL, poller, NULL);
  while (poller_state != 1) sleep_ms(1);
  sleep_ms(50); /* the poller is asleep in poll */
  CHECK(kill(getpid(), SIGUSR1) == 0);
  while (poller_state != 2) sleep_ms(1);
  pthread_join(th, NULL);
  pf.revents = 0;
  int pr = poll(&pf, 1, 0);
  printf("  main: poll after kill = %d revents %s\n", pr, pf.revents & POLLIN ? "POLLIN" : "-");
  read_one("main", 0);
  pf.revents = 0;
  printf("  main: poll after read = %d\n", poll(&pf, 1, 0));
  /* A blocking read in another thread, woken by kill(getpid()) from main. */
  blocking_fd = signalfd(-1, &m, 0);
  poller_state = 0;
  pthread_create(&th, NULL, blocking_reader, NULL);
  while (poller_state != 3) sleep_ms(1);
  sleep_ms(50);
  CHECK(kill(getpid(), SIGUSR2) == 0);
  pthread_join(th, NULL);
  close(blocking_fd); close(sfd);
  CHECK(pthread_sigmask(SIG_UNBLOCK, &m, NULL) == 0);
}

/* ---- sigwait: a thread in sigwaitinfo takes a process-directed signal that every thread blocks. */
static void *waiter(void *p) {
  (void)p;
  sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGRTMIN + 2);
  for (int i = 0; i < 3; i++) {
    siginfo_t si;
    int s = sigwaitinfo(&m, &si);
    printf("  waiter thread: sigwaitinfo = %s value %d\n", s == SIGUSR1 ? "SIGUSR1" : s == SIGRTMIN + 2 ? "SIGRTMIN+2" : "?",
           s == SIGRTMIN + 2 ? si.si_value.sival_int : -1);
  }
  return NULL;
}
static void sigwaitmode(void) {
  sigset_t m; sigemptyset(&m); sigaddset(&m, SIGUSR1); sigaddset(&m, SIGRTMIN + 2);
  CHECK(pthread_sigmask(SIG_BLOCK, &m, NULL) == 0);
  printf("sigwait:\n");
  pthread_t th; pthread_create(&th, NULL, waiter, NULL);
  sleep_ms(50);
  CHECK(kill(getpid(), SIGUSR1) == 0);
  sleep_ms(50);
  union sigval v; v.sival_int = 5; CHECK(sigqueue(getpid(), SIGRTMIN + 2, v) == 0);
  v.sival_int = 6; CHECK(sigqueue(getpid(), SIGRTMIN + 2, v) == 0);
  pthread_join(th, NULL);
  printf("  main: SIGUSR1 pending after: %d\n", pending(SIGUSR1));
  CHECK(pthread_sigmask(SIG_UNBLOCK, &m, NULL) == 0);
}

/* ---- bystander: main takes kill(getpid()) (complete_signal gives the main thread the first crack); a
 * worker that blocks nothing sleeps in nanosleep and a blocking pipe read meanwhile and is not interrupted. */
static volatile int by_taken_in;
static int by_pipe[2];
static void h_by(int sig) { (void)sig; by_taken_in = my_index; }
static void *bystander_thread(void *p) {
  (void)p;
  my_index = 1;
  struct timespec ts = { 0, 300 * 1000000L };
  ready_count = 1;
  int r = nanosleep(&ts, &ts);
  printf("  worker: nanosleep = %d%s\n", r, r ? (errno == EINTR ? " EINTR" : " ?") : "");
  char c;
  ssize_t n = read(by_pipe[0], &c, 1);
  printf("  worker: pipe read = %d\n", (int)n);
  return NULL;
}
static void bystander(void) {
  struct sigaction sa = { 0 }; sa.sa_handler = h_by; sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART */
  CHECK(pipe(by_pipe) == 0);
  my_index = 0; by_taken_in = -1; ready_count = 0;
  printf("bystander:\n");
  pthread_t th; pthread_create(&th, NULL, bystander_thread, NULL);
  while (!ready_count) sleep_ms(1);
  sleep_ms(50);
  CHECK(kill(getpid(), SIGUSR1) == 0);
  printf("  main: handler ran in thread %d\n", by_taken_in);
  sleep_ms(400);
  CHECK(kill(getpid(), SIGUSR1) == 0); /* the worker now sleeps in read(): again main's */
  printf("  main: handler ran in thread %d\n", by_taken_in);
  sleep_ms(50);
  CHECK(write(by_pipe[1], "x", 1) == 1);
  pthread_join(th, NULL);
  close(by_pipe[0]); close(by_pipe[1]);
  signal(SIGUSR1, SIG_DFL);
}

/* ---- stress: many threads, many queued signals; every one delivered exactly once. Receivers take them in
 * handlers while they block and unblock them, some exit midway; signalfd readers take others. */
#define NRECV 6
#define NSEND 2
#define PERSENDER 1500
#define NREADERS 3
static volatile int stop_receivers;
static int seen[NSEND * PERSENDER];
static volatile int delivered, dup_or_bad;
static void h_stress(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  int v = si->si_value.sival_int;
  if (v < 0 || v >= NSEND * PERSENDER || __sync_fetch_and_add(&seen[v], 1) != 0) __sync_fetch_and_add(&dup_or_bad, 1);
  __sync_fetch_and_add(&delivered, 1);
}
static void *receiver(void *p) {
  long i = (long)p;
  unsigned r = 12345 + i;
  block(SIGRTMIN + 3, SIG_UNBLOCK);
  while (!stop_receivers) {
    r = r * 1103515245 + 12345;
    if ((r >> 16) % 4 == 0) { block(SIGRTMIN + 3, SIG_BLOCK); sched_yield(); block(SIGRTMIN + 3, SIG_UNBLOCK); }
    else if ((r >> 16) % 4 == 1) sleep_ms(0);
    else for (volatile int k = 0; k < 2000; k++) ;
    if (i == 0 && delivered > NSEND * PERSENDER / 3) break; /* one exits midway: its share is retargeted */
  }
  return NULL;
}
static void *sender(void *p) {
  long i = (long)p;
  for (int k = 0; k < PERSENDER; k++) {
    union sigval v; v.sival_int = i * PERSENDER + k;
    while (sigqueue(getpid(), SIGRTMIN + 3, v) != 0) { CHECK(errno == EAGAIN); sched_yield(); }
  }
  return NULL;
}
static int rfd;
static int rd_seen[NSEND * 200 + 1];
static volatile int rd_count, rd_bad;
static void *sfd_reader(void *p) {
  (void)p;
  for (;;) {
    struct signalfd_siginfo si;
    ssize_t n = read(rfd, &si, sizeof si);
    if (n != sizeof si) { __sync_fetch_and_add(&rd_bad, 1); return NULL; }
    int v = si.ssi_int;
    if (v == -1) return NULL;
    if (v < 0 || v >= NSEND * 200 || __sync_fetch_and_add(&rd_seen[v], 1) != 0) __sync_fetch_and_add(&rd_bad, 1);
    __sync_fetch_and_add(&rd_count, 1);
  }
}
static void *sfd_sender(void *p) {
  long i = (long)p;
  for (int k = 0; k < 200; k++) {
    union sigval v; v.sival_int = i * 200 + k;
    CHECK(sigqueue(getpid(), SIGRTMIN + 4, v) == 0);
  }
  return NULL;
}

static void stress(void) {
  struct sigaction sa = { 0 }; sa.sa_sigaction = h_stress; sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 3, &sa, NULL);
  sigset_t m; sigemptyset(&m); sigaddset(&m, SIGRTMIN + 3); sigaddset(&m, SIGRTMIN + 4);
  printf("stress:\n");
  for (int round = 0; round < 3; round++) {
    CHECK(pthread_sigmask(SIG_BLOCK, &m, NULL) == 0); /* inherited: senders and readers block both */
    memset(seen, 0, sizeof seen); memset(rd_seen, 0, sizeof rd_seen);
    delivered = dup_or_bad = rd_count = rd_bad = 0; stop_receivers = 0;
    sigset_t rm; sigemptyset(&rm); sigaddset(&rm, SIGRTMIN + 4);
    rfd = signalfd(-1, &rm, 0);
    pthread_t rc[NRECV], sd[NSEND], rd[NREADERS], rs[NSEND];
    for (long i = 0; i < NRECV; i++) pthread_create(&rc[i], NULL, receiver, (void *)i);
    for (long i = 0; i < NREADERS; i++) pthread_create(&rd[i], NULL, sfd_reader, NULL);
    for (long i = 0; i < NSEND; i++) pthread_create(&sd[i], NULL, sender, (void *)i);
    for (long i = 0; i < NSEND; i++) pthread_create(&rs[i], NULL, sfd_sender, (void *)i);
    for (int i = 0; i < NSEND; i++) { pthread_join(sd[i], NULL); pthread_join(rs[i], NULL); }
    for (int w = 0; w < 30000 && (delivered < NSEND * PERSENDER || rd_count < NSEND * 200); w++) sleep_ms(1);
    stop_receivers = 1;
    for (int i = 0; i < NRECV; i++) pthread_join(rc[i], NULL);
    for (int i = 0; i < NREADERS; i++) { union sigval v; v.sival_int = -1; CHECK(sigqueue(getpid(), SIGRTMIN + 4, v) == 0); }
    for (int i = 0; i < NREADERS; i++) pthread_join(rd[i], NULL);
    int missing = 0;
    for (int v = 0; v < NSEND * PERSENDER; v++) missing += seen[v] == 0;
    for (int v = 0; v < NSEND * 200; v++) missing += rd_seen[v] == 0;
    printf("  round %d: handlers took %d of %d, signalfd readers %d of %d; missing %d, duplicate or bad %d, still pending %d\n",
           round, delivered, NSEND * PERSENDER, rd_count, NSEND * 200, missing, dup_or_bad + rd_bad,
           pending(SIGRTMIN + 3) + pending(SIGRTMIN + 4));
    close(rfd);
  }
  signal(SIGRTMIN + 3, SIG_DFL);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argc > 1 ? argv[1] : "all";
  int all = !strcmp(mode, "all");
  if (all || !strcmp(mode, "pick")) pick();
  if (all || !strcmp(mode, "allblock")) allblock();
  if (all || !strcmp(mode, "poll")) pollmode();
  if (all || !strcmp(mode, "sigwait")) sigwaitmode();
  if (all || !strcmp(mode, "bystander")) bystander();
  if (all || !strcmp(mode, "stress")) stress();
  return 0;
}
