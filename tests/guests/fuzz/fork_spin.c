/* A guest that exits while a child it forked spins on, holding stdout and stderr: the fuzzers' runner must not wait
 * for the child, and must kill it (tests/Compat32.Tests/Fuzz/FuzzRun.cs, RunSession) */
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    printf("parent\n");
    fflush(stdout);
    if (fork() == 0)
        for (volatile unsigned long i = 0;; i++) { }
    return 0;
}
