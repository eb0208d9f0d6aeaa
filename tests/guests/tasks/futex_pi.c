/* PI futexes: PTHREAD_PRIO_INHERIT mutexes under contention, trylock, a robust PI mutex whose owner exits,
 * condition variables with a PI mutex, and the raw calls: FUTEX_LOCK_PI(2), TRYLOCK_PI, UNLOCK_PI,
 * WAIT_REQUEUE_PI / CMP_REQUEUE_PI, their errors, timeouts and signals. Words are printed relative to the
 * tids involved so the output does not depend on pid numbers. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <signal.h>
#include <limits.h>
#include <unistd.h>
#include <pthread.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif
#ifndef FUTEX_LOCK_PI2_PRIVATE
#define FUTEX_LOCK_PI2_PRIVATE (FUTEX_LOCK_PI2 | FUTEX_PRIVATE_FLAG)
#endif

static long fx(int *u, int op, int v, void *t, int *u2, int v3) { return syscall(SYS_futex, u, op, v, t, u2, v3); }
static long fxe(int *u, int op, int v, void *t, int *u2, int v3) { errno = 0; long r = fx(u, op, v, t, u2, v3); return r < 0 ? -errno : r; }
static int tid(void) { return syscall(SYS_gettid); }
static const char *en(long r) { return r >= 0 ? "ok" : strerrorname_np(-r); }
/* the word with the given tid replaced by "T" */
static void word(const char *what, int w, int t) {
  unsigned u = w;
  printf("%s: %s%s%s\n", what, (u & FUTEX_TID_MASK) == 0 ? "0" : (u & FUTEX_TID_MASK) == (unsigned)t ? "T" : "?",
         u & FUTEX_WAITERS ? "|WAITERS" : "", u & FUTEX_OWNER_DIED ? "|OWNER_DIED" : "");
}
static void deadline(struct timespec *ts, clockid_t c, long ms) {
  clock_gettime(c, ts); ts->tv_nsec += ms * 1000000; while (ts->tv_nsec >= 1000000000) { ts->tv_sec++; ts->tv_nsec -= 1000000000; }
}

/* ---- PTHREAD_PRIO_INHERIT mutex, 8 threads */
static pthread_mutex_t pim;
static long counter;
static void *hammer(void *a) {
  (void)a;
  for (int i = 0; i < 20000; i++) { pthread_mutex_lock(&pim); counter++; pthread_mutex_unlock(&pim); }
  return NULL;
}

static void *try_other(void *a) {
  int r = pthread_mutex_trylock((pthread_mutex_t *)a);
  if (r == 0) pthread_mutex_unlock((pthread_mutex_t *)a);
  return (void *)(long)r;
}

/* ---- robust + PI */
static pthread_mutex_t rpm;
static volatile int held;
static void *die_holding(void *a) {
  pthread_mutex_lock(&rpm); held = 1;
  if (a) usleep(200000); /* let main block in FUTEX_LOCK_PI first */
  return NULL;
}

/* ---- condvar with a PI mutex */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready, consumed;
static void *consumer(void *a) {
  (void)a;
  pthread_mutex_lock(&pim);
  while (!ready) pthread_cond_wait(&cv, &pim);
  consumed++;
  pthread_mutex_unlock(&pim);
  return NULL;
}

/* ---- raw requeue_pi: a condition word and a PI lock word */
static int cond, lockw, lockw2, rq_count, rq_ok;
static void *rq_waiter(void *a) {
  long r = fxe(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, a ? (int *)a : &lockw, 0);
  if (r == 0) {
    if ((lockw & FUTEX_TID_MASK) == tid()) __sync_fetch_and_add(&rq_ok, 1);
    rq_count++; /* under the PI lock */
    if (fxe(&lockw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0) != 0) printf("unlock after requeue failed\n");
  }
  return (void *)r;
}

/* ---- a holder for the raw calls */
static int rawl, holder_tid, release;
static void *holder(void *a) {
  (void)a;
  long r = fxe(&rawl, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
  holder_tid = tid();
  if (r) printf("holder lock: %s\n", en(r));
  while (!__sync_fetch_and_add(&release, 0)) usleep(1000);
  return (void *)fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
}

static volatile int hits;
static void on_usr1(int s) { (void)s; hits++; }
static int sig_locker_tid;
static void *sig_locker(void *a) {
  (void)a;
  sig_locker_tid = tid();
  return (void *)fxe(&rawl, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
}

static int requeue_all(int *c, int *l, int n) {
  int got = 0;
  for (int i = 0; i < 5000 && got < n; i++) {
    long r = fxe(c, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)(long)INT_MAX, l, 0);
    if (r < 0) { printf("cmp_requeue_pi: %s\n", en(r)); return got; }
    got += r;
    if (got < n) usleep(1000);
  }
  return got;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int me = tid();

  pthread_mutexattr_t ma; pthread_mutexattr_init(&ma);
  pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&pim, &ma);
  pthread_t th[8];
  for (int i = 0; i < 8; i++) pthread_create(&th[i], NULL, hammer, NULL);
  for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
  printf("pi mutex, 8 threads: counter=%ld\n", counter);

  pthread_mutex_lock(&pim);
  pthread_t t1; void *rv;
  pthread_create(&t1, NULL, try_other, &pim); pthread_join(t1, &rv);
  printf("trylock held by another: %s\n", strerrorname_np((int)(long)rv));
  pthread_mutex_unlock(&pim);
  pthread_create(&t1, NULL, try_other, &pim); pthread_join(t1, &rv);
  printf("trylock free: %d\n", (int)(long)rv);

  /* robust + PI: the owner exits holding it (a) with nobody waiting, (b) with main blocked on it */
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  for (int round = 0; round < 2; round++) {
    pthread_mutex_init(&rpm, &ma); held = 0;
    pthread_create(&t1, NULL, die_holding, round ? (void *)1 : NULL);
    if (round == 0) pthread_join(t1, NULL); else while (!held) usleep(1000);
    int r = pthread_mutex_lock(&rpm);
    printf("robust pi %s: lock=%s", round ? "waiting" : "after exit", r ? strerrorname_np(r) : "0");
    if (r == EOWNERDEAD) printf(" consistent=%d", pthread_mutex_consistent(&rpm));
    printf(" unlock=%d", pthread_mutex_unlock(&rpm));
    r = pthread_mutex_lock(&rpm);
    printf(" again=%d\n", r);
    pthread_mutex_unlock(&rpm);
    if (round) pthread_join(t1, NULL);
    pthread_mutex_destroy(&rpm);
  }

  /* condvar with a PI mutex */
  pthread_t cs[4];
  for (int i = 0; i < 4; i++) pthread_create(&cs[i], NULL, consumer, NULL);
  usleep(100000);
  pthread_mutex_lock(&pim); ready = 1; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&pim);
  for (int i = 0; i < 4; i++) pthread_join(cs[i], NULL);
  printf("condvar with pi mutex: consumed=%d\n", consumed);

  /* raw: errors */
  rawl = me;
  printf("lock_pi own: %s\n", en(fxe(&rawl, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  printf("trylock_pi own: %s\n", en(fxe(&rawl, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  printf("unlock_pi own: %s\n", en(fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  word("after unlock", rawl, me);
  printf("unlock_pi free: %s\n", en(fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  rawl = 0x3ffffff0;
  printf("lock_pi dead tid: %s\n", en(fxe(&rawl, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  printf("  word=%#x\n", (unsigned)rawl);
  printf("unlock_pi not owner: %s\n", en(fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  rawl = FUTEX_OWNER_DIED;
  printf("lock_pi owner died: %s\n", en(fxe(&rawl, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  word("  word", rawl, me);
  printf("unlock_pi: %s\n", en(fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  word("  word", rawl, me);
  printf("trylock_pi free: %s\n", en(fxe(&rawl, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  word("  word", rawl, me);
  fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
  printf("cmp_requeue_pi same word: %s\n", en(fxe(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 0, &cond, 0)));
  printf("cmp_requeue_pi nr_wake 2: %s\n", en(fxe(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, 0, &lockw, 0)));
  printf("cmp_requeue_pi bad val: %s\n", en(fxe(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 0, &lockw, 5)));
  printf("cmp_requeue_pi nobody: %s\n", en(fxe(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 0, &lockw, 0)));
  printf("wait_requeue_pi same word: %s\n", en(fxe(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &cond, 0)));
  printf("wait_requeue_pi mismatch: %s\n", en(fxe(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, NULL, &lockw, 0)));
  struct timespec ts;
  deadline(&ts, CLOCK_MONOTONIC, 30);
  printf("wait_requeue_pi timeout: %s\n", en(fxe(&cond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &ts, &lockw, 0)));
  printf("realtime lock_pi: %s\n", en(fxe(&rawl, FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0)));
  printf("realtime unlock_pi: %s\n", en(fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, NULL, 0)));

  /* raw: another thread holds rawl */
  rawl = 0; release = 0; holder_tid = 0;
  pthread_t h; pthread_create(&h, NULL, holder, NULL);
  while (!__sync_fetch_and_add(&holder_tid, 0)) usleep(1000);
  word("held", rawl, holder_tid);
  printf("trylock_pi held: %s\n", en(fxe(&rawl, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  word("  word", rawl, holder_tid);
  printf("unlock_pi by non-owner: %s\n", en(fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  printf("wake on pi word: %s\n", en(fxe(&rawl, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
  deadline(&ts, CLOCK_REALTIME, 50);
  printf("lock_pi timeout (realtime): %s\n", en(fxe(&rawl, FUTEX_LOCK_PI_PRIVATE, 0, &ts, NULL, 0)));
  deadline(&ts, CLOCK_MONOTONIC, 50);
  printf("lock_pi2 timeout (monotonic): %s\n", en(fxe(&rawl, FUTEX_LOCK_PI2_PRIVATE, 0, &ts, NULL, 0)));
  deadline(&ts, CLOCK_REALTIME, 50);
  printf("lock_pi2 timeout (realtime): %s\n", en(fxe(&rawl, FUTEX_LOCK_PI2_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &ts, NULL, 0)));
  printf("lock_pi bad timeout: %s\n", en(fxe(&rawl, FUTEX_LOCK_PI_PRIVATE, 0, &(struct timespec){0, 2000000000}, NULL, 0)));
  word("  word", rawl, holder_tid);

  /* a LOCK_PI waiter interrupted by a signal goes back to waiting (-ERESTARTNOINTR), then gets the lock */
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_usr1; sigaction(SIGUSR1, &sa, NULL);
  pthread_t sl; pthread_create(&sl, NULL, sig_locker, NULL);
  usleep(100000);
  pthread_kill(sl, SIGUSR1);
  usleep(100000);
  __sync_fetch_and_add(&release, 1);
  pthread_join(h, &rv);
  printf("holder unlock (handing over): %s\n", en((long)rv));
  pthread_join(sl, &rv);
  printf("lock_pi across a signal: %s, handler ran %d\n", en((long)rv), hits);
  word("  word", rawl, sig_locker_tid);
  printf("unlock_pi of a thread's lock by main: %s\n", en(fxe(&rawl, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));

  /* raw requeue_pi: 4 waiters on cond, requeued to lockw (free, then held by main) */
  for (int round = 0; round < 2; round++) {
    pthread_t rw[4]; rq_count = rq_ok = 0; lockw = 0;
    if (round) fxe(&lockw, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    for (int i = 0; i < 4; i++) pthread_create(&rw[i], NULL, rq_waiter, NULL);
    int got = requeue_all(&cond, &lockw, 4);
    if (round) { usleep(50000); word("  lockw while requeued", lockw, me); fxe(&lockw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0); }
    long bad = 0;
    for (int i = 0; i < 4; i++) { pthread_join(rw[i], &rv); if (rv) bad = (long)rv; }
    printf("requeue_pi round %d: requeued=%d ran=%d owned=%d err=%s\n", round, got, rq_count, rq_ok, en(bad));
    word("  lockw", lockw, me);
  }

  /* a WAIT_REQUEUE_PI waiter named lockw: requeue to lockw2 is -EINVAL, a plain wake too */
  pthread_t rw; lockw = 0;
  pthread_create(&rw, NULL, rq_waiter, NULL);
  long r = 0;
  for (int i = 0; i < 5000 && (r = fxe(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 0, &lockw2, 0)) == 0; i++) usleep(1000);
  printf("cmp_requeue_pi to another word: %s\n", en(r));
  printf("wake a requeue_pi waiter: %s\n", en(fxe(&cond, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
  printf("cmp_requeue (non-pi) of it: %s\n", en(fxe(&cond, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &lockw2, 0)));
  printf("cmp_requeue_pi right word: %s\n", en(fxe(&cond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 0, &lockw, 0)));
  pthread_join(rw, &rv);
  printf("  waiter: %s, ran=%d\n", en((long)rv), rq_count);
  return 0;
}
