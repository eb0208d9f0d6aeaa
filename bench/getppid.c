/* Syscall-bound benchmark guest: getppid() one million times (glibc enters the kernel each call). */
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void)
{
    long s = 0;
    for (int i = 0; i < 1000000; i++) s += syscall(SYS_getppid);
    printf("%d\n", s != 0);
    return 0;
}
