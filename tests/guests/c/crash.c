/* Faults that kill the process, chosen by argv[1]: compat32 must report them as the shell would (128+N) with
   one line on stderr, and the exit status must match qemu-i386's. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int deep(int n) { volatile char pad[4096]; pad[0] = (char)n; return deep(n + 1) + pad[0]; }

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    printf("about to %s\n", m);
    fflush(stdout);
    if (!strcmp(m, "write")) *(volatile int *)0x1234 = 1;
    else if (!strcmp(m, "read")) return *(volatile int *)0;
    else if (!strcmp(m, "text")) *(volatile unsigned char *)main = 0xc3;
    else if (!strcmp(m, "high")) return *(volatile int *)0xfffff000u;
    else if (!strcmp(m, "stack")) return deep(0);
    else if (!strcmp(m, "ud2")) __asm__ volatile ("ud2");
    else if (!strcmp(m, "int3")) __asm__ volatile ("int3");
    else if (!strcmp(m, "hlt")) __asm__ volatile ("hlt");
    else if (!strcmp(m, "div0")) { volatile int z = 0; return 10 / z; }
    else if (!strcmp(m, "abort")) abort();
    puts("not reached");
    return 0;
}
