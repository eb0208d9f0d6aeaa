/* After fork, MAP_SHARED anonymous memory is the same memory in parent and child (a counter both increment);
   MAP_PRIVATE memory is copied (the child's writes stay in the child); MADV_WIPEONFORK memory is zero in the child;
   the parent waits for the child, so the output is deterministic. Reference: mm_fork_shared.expected (Linux;
   qemu-i386 7.2 ignores MADV_WIPEONFORK). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(void)
{
    volatile int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile int *pr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile int *wp = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *sh = 1; *pr = 1; *wp = 1;
    madvise((void *)wp, 4096, MADV_WIPEONFORK);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        printf("child sees: shared %d private %d wiped %d\n", *sh, *pr, *wp);
        for (int i = 0; i < 1000; i++) __sync_fetch_and_add(sh, 1);
        *pr = 99;
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("parent sees: shared %d private %d wiped %d status %d\n", *sh, *pr, *wp, st);
    *sh = 5;
    fflush(stdout);
    pid = fork();
    if (pid == 0) { printf("second child sees: shared %d\n", *sh); fflush(stdout); _exit(*sh == 5 ? 0 : 1); }
    waitpid(pid, &st, 0);
    printf("second child status %d\n", st);
    return 0;
}
