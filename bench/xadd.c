/* NTHREADS threads each add 1 to a shared counter ITERS times with LOCK XADD (__sync_fetch_and_add). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned counter;
static long iters = 2000000;

static void *worker(void *arg) {
  (void)arg;
  for (long i = 0; i < iters; i++) __sync_fetch_and_add(&counter, 1);
  return NULL;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 8;
  if (argc > 2) iters = atol(argv[2]);
  pthread_t t[64];
  if (n < 1 || n > 64) return 2;
  for (int i = 0; i < n; i++)
    if (pthread_create(&t[i], NULL, worker, NULL)) return 1;
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  printf("xadd %d threads x %ld = %u\n", n, iters, counter);
  return counter == (unsigned)(n * iters) ? 0 : 1;
}
