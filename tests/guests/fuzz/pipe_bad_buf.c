/* Syscall fuzzer: read(2) from an empty pipe into a buffer whose second page is not writable sleeps
 * interruptibly (pipe_read waits for data before it copies); a signal ends it with EINTR. Then, with data there,
 * more data than fits before the bad page, the read fails with EFAULT and leaves it all in the pipe. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int s) { (void)s; }

int main(void) {
  char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(m + 4096, 4096, PROT_READ);
  int p[2];
  pipe(p);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm; /* no SA_RESTART */
  sigaction(SIGALRM, &sa, 0);
  struct itimerval it = {{0, 0}, {0, 100000}};
  setitimer(ITIMER_REAL, &it, 0);
  long r = read(p[0], m + 4090, 100);
  printf("empty pipe: r=%ld errno=%s\n", r, r < 0 ? strerror(errno) : "-");
  write(p[1], "0123456789", 10);
  r = read(p[0], m + 4090, 100);
  printf("with data: r=%ld errno=%s\n", r, r < 0 ? strerror(errno) : "-"); /* what reached the buffer is not compared */
  char ok[32] = {0};
  r = read(p[0], ok, sizeof ok);
  printf("still in the pipe: r=%ld %s\n", r, ok);
  return 0;
}
