/* The futex system call directly: value mismatch, timeouts (relative, absolute, CLOCK_REALTIME), bitsets,
 * requeue, wake-op, and a futex shared between processes in MAP_SHARED memory. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>

static long fx(int *u, int op, int v, void *t, int *u2, int v3) { return syscall(SYS_futex, u, op, v, t, u2, v3); }
static int word, word2, woke;

static void *waiter(void *a) {
  long bits = (long)a;
  long r = fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, (int)bits);
  __sync_fetch_and_add(&woke, 1);
  return (void *)r;
}

/* a woken thread may take a while to run on a loaded machine: wait (bounded) until n have counted themselves */
static int woke_at_least(int n) { for (int i = 0; i < 5000 && __sync_fetch_and_add(&woke, 0) < n; i++) usleep(1000); return woke; }

static int waiting(int *w) { /* wait until n threads sleep: poll /proc is not portable, so just give them time */
  usleep(300000); return 0;
}

int main() {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct timespec ts = {0, 20 * 1000 * 1000};
  errno = 0;
  printf("mismatch: %ld %s\n", fx(&word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0), strerror(errno));
  errno = 0;
  printf("relative timeout: %ld %s\n", fx(&word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0), strerror(errno));
  struct timespec abs; clock_gettime(CLOCK_MONOTONIC, &abs); abs.tv_nsec += 20000000; if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
  errno = 0;
  printf("absolute monotonic timeout: %ld %s\n", fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs, NULL, -1), strerror(errno));
  clock_gettime(CLOCK_REALTIME, &abs); abs.tv_nsec += 20000000; if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
  errno = 0;
  printf("absolute realtime timeout: %ld %s\n", fx(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &abs, NULL, -1), strerror(errno));
  errno = 0;
  printf("bad timeout: %ld %s\n", fx(&word, FUTEX_WAIT_PRIVATE, 0, &(struct timespec){0, 2000000000}, NULL, 0), strerror(errno));
  errno = 0;
  printf("unaligned: %ld %s\n", fx((int *)((char *)&word + 1), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), strerror(errno));
  errno = 0;
  printf("zero bitset: %ld %s\n", fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0), strerror(errno));
  printf("wake nobody: %ld\n", fx(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));

  /* bitsets: two waiters with bits 1 and 2; wake bit 2 wakes exactly one */
  pthread_t a, b; pthread_create(&a, NULL, waiter, (void *)1L); pthread_create(&b, NULL, waiter, (void *)2L);
  waiting(&word);
  printf("wake bitset 2: %ld\n", fx(&word, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 2));
  printf("woke so far: %d\n", woke_at_least(1));
  printf("wake all: %ld\n", fx(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
  pthread_join(a, NULL); pthread_join(b, NULL);

  /* requeue: 3 waiters on word; wake 1, move 2 to word2; then wake word2 */
  woke = 0;
  pthread_t w[3]; for (int i = 0; i < 3; i++) pthread_create(&w[i], NULL, waiter, (void *)-1L);
  waiting(&word);
  errno = 0;
  printf("cmp_requeue bad val: %ld %s\n", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2L, &word2, 5), strerror(errno));
  printf("cmp_requeue: %ld\n", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2L, &word2, 0));
  int w1 = woke_at_least(1);
  long ww = fx(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0);
  long ww2 = fx(&word2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0);
  printf("woke after requeue: %d, wake word: %ld, wake word2: %ld\n", w1, ww, ww2);
  for (int i = 0; i < 3; i++) pthread_join(w[i], NULL);

  /* wake-op: word2 += 5 (was 0), wake on word2 if old == 0 */
  word2 = 0;
  long r = fx(&word, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word2, FUTEX_OP(FUTEX_OP_ADD, 5, FUTEX_OP_CMP_EQ, 0));
  printf("wake_op: %ld word2=%d\n", r, word2);

  /* a shared futex across fork */
  int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  *sh = 0;
  pid_t p = fork();
  if (p == 0) {
    while (__sync_fetch_and_add(sh, 0) == 0) fx(sh, FUTEX_WAIT, 0, NULL, NULL, 0);
    _exit(*sh);
  }
  usleep(30000);
  __sync_fetch_and_add(sh, 5);
  fx(sh, FUTEX_WAKE, 1, NULL, NULL, 0);
  int st; waitpid(p, &st, 0);
  printf("shared futex: child exit %d\n", WEXITSTATUS(st));
  return 0;
}
