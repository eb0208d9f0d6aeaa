/* A process that holds a robust, process-shared mutex and then execs: the kernel walks its robust list at exec
 * (futex_exec_release), so the waiting parent gets EOWNERDEAD at once instead of sleeping forever. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "after-exec") == 0) return 7;
  pthread_mutex_t *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(m, &a);
  int fds[2];
  pipe(fds);
  pid_t p = fork();
  if (p == 0) {
    pthread_mutex_lock(m);
    write(fds[1], "l", 1);
    usleep(100000); /* the parent is asleep on the mutex by now */
    execl("/proc/self/exe", "robust_exec", "after-exec", (char *)NULL);
    _exit(99);
  }
  char c;
  read(fds[0], &c, 1);
  int r = pthread_mutex_lock(m);
  printf("lock after the owner's exec: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  if (r == EOWNERDEAD) printf("consistent: %d\n", pthread_mutex_consistent(m));
  printf("unlock: %d\n", pthread_mutex_unlock(m));
  int st;
  waitpid(p, &st, 0);
  printf("child exit %d\n", WEXITSTATUS(st));
  return 0;
}
