/* Threads: many threads hammering a mutex, a condition variable, atomics, join values, tids, thread exit,
 * a robust mutex whose owner dies, and execve from a non-main thread while others run. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <errno.h>
#include <sys/syscall.h>

#define N 8
#define ITER 20000
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter, acounter; static int ready, turn;
static pid_t tids[N];

static void *work(void *a) {
  long i = (long)a;
  tids[i] = syscall(SYS_gettid);
  for (int k = 0; k < ITER; k++) {
    pthread_mutex_lock(&m); counter++; pthread_mutex_unlock(&m);
    __sync_fetch_and_add(&acounter, 1);
  }
  pthread_mutex_lock(&m); ready++; pthread_cond_broadcast(&cv); pthread_mutex_unlock(&m);
  return (void *)(i * 10);
}

/* ping-pong through one condvar: strictly alternating turns */
static void *pong(void *a) {
  for (int k = 0; k < 2000; k++) {
    pthread_mutex_lock(&m);
    while (turn != 1) pthread_cond_wait(&cv, &m);
    turn = 0; pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

static pthread_mutex_t robust;
static void *die_holding(void *a) { pthread_mutex_lock(&robust); return NULL; }

static void *spin(void *a) { for (;;) __sync_fetch_and_add(&acounter, 1); return NULL; }
static void *execer(void *a) {
  usleep(10000);
  execl("/proc/self/exe", "threads", "after-exec", (char *)NULL);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && strcmp(argv[1], "after-exec") == 0) { printf("after exec: pid same=%d\n", getpid() == atoi(getenv("C32_PID"))); return 0; }
  int basic = argc > 1 && strcmp(argv[1], "basic") == 0; /* what qemu-i386 handles (it hangs on robust futexes) */
  pthread_t t[N];
  for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, work, (void *)i);
  pthread_mutex_lock(&m); while (ready < N) pthread_cond_wait(&cv, &m); pthread_mutex_unlock(&m);
  long sum = 0;
  for (int i = 0; i < N; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
  int distinct = 1;
  for (int i = 0; i < N; i++) for (int j = i + 1; j < N; j++) if (tids[i] == tids[j] || tids[i] == getpid()) distinct = 0;
  printf("mutex counter=%ld atomic=%ld join sum=%ld distinct tids=%d\n", counter, acounter, sum, distinct);

  pthread_t pt; pthread_create(&pt, NULL, pong, NULL);
  for (int k = 0; k < 2000; k++) {
    pthread_mutex_lock(&m);
    while (turn != 0) pthread_cond_wait(&cv, &m);
    turn = 1; pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
  }
  pthread_join(pt, NULL);
  printf("ping-pong done\n");
  if (basic) return 0;

  pthread_mutexattr_t ma; pthread_mutexattr_init(&ma);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&robust, &ma);
  pthread_create(&pt, NULL, die_holding, NULL); pthread_join(pt, NULL);
  int r = pthread_mutex_lock(&robust);
  printf("robust: lock after owner died = %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  pthread_mutex_consistent(&robust); pthread_mutex_unlock(&robust);

  char pidbuf[16]; snprintf(pidbuf, sizeof pidbuf, "%d", getpid()); setenv("C32_PID", pidbuf, 1);
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, spin, NULL);
  pthread_create(&pt, NULL, execer, NULL);
  for (;;) pause();
}
