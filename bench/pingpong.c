/* Mutex + condition variable ping-pong between two threads: ROUNDS round trips (main -> worker -> main). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;          /* 0: main's turn, 1: worker's turn */
static long rounds = 100000, done_by_worker;

static void *worker(void *arg) {
  (void)arg;
  for (long i = 0; i < rounds; i++) {
    pthread_mutex_lock(&m);
    while (turn != 1) pthread_cond_wait(&cv, &m);
    done_by_worker++;
    turn = 0;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1) rounds = atol(argv[1]);
  pthread_t t;
  if (pthread_create(&t, NULL, worker, NULL)) return 1;
  for (long i = 0; i < rounds; i++) {
    pthread_mutex_lock(&m);
    while (turn != 0) pthread_cond_wait(&cv, &m);
    turn = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
  }
  pthread_mutex_lock(&m);
  while (turn != 0) pthread_cond_wait(&cv, &m);
  pthread_mutex_unlock(&m);
  pthread_join(t, NULL);
  printf("pingpong %ld round trips, worker saw %ld\n", rounds, done_by_worker);
  return done_by_worker == rounds ? 0 : 1;
}
