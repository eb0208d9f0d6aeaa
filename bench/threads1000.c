/* NTHREADS threads (64 KiB stacks) are created, all block on one barrier with the main thread (so all are
   alive at once), sleep SLEEP_US microseconds (default 1000; 0: no sleep), and are joined. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_barrier_t bar;
static volatile int ran[4096];
static long sleep_us = 1000;

static void *worker(void *arg) {
  long i = (long)arg;
  pthread_barrier_wait(&bar);
  struct timespec ts = {sleep_us / 1000000, sleep_us % 1000000 * 1000};
  if (sleep_us > 0) nanosleep(&ts, NULL);
  ran[i] = 1;
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  if (argc > 2) sleep_us = atol(argv[2]);
  if (n < 1 || n > 4096) return 2;
  pthread_t *t = malloc(sizeof *t * n);
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 64 * 1024);
  pthread_barrier_init(&bar, NULL, n + 1);
  for (long i = 0; i < n; i++)
    if (pthread_create(&t[i], &a, worker, (void *)i)) { fprintf(stderr, "pthread_create %ld failed\n", i); return 1; }
  pthread_barrier_wait(&bar);
  int count = 0;
  for (int i = 0; i < n; i++) { pthread_join(t[i], NULL); count += ran[i]; }
  printf("threads %d created, %d ran\n", n, count);
  return count == n ? 0 : 1;
}
