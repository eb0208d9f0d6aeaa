/* A process touches MIB MiB of heap (one write per 4 KiB page), forks, the child exits at once (_exit),
   the parent waits. Measures fork of a large private address space (copy-on-write on Linux). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long mib = argc > 1 ? atol(argv[1]) : 256;
  size_t size = (size_t)mib << 20;
  unsigned char *p = malloc(size);
  if (!p) { perror("malloc"); return 1; }
  for (size_t i = 0; i < size; i += 4096) p[i] = (unsigned char)(i >> 12);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) _exit(p[size - 4096] == (unsigned char)((size - 4096) >> 12) ? 7 : 1);
  int st;
  if (waitpid(pid, &st, 0) != pid) { perror("waitpid"); return 1; }
  unsigned sum = 0;
  for (size_t i = 0; i < size; i += 4096) sum += p[i];
  printf("forkheap %ld MiB, child exit %d, sum %u\n", mib, WIFEXITED(st) ? WEXITSTATUS(st) : -1, sum);
  return 0;
}
