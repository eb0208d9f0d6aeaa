/* The bytes between the end of the stack and the end of AT_EXECFN's string (found by the instruction fuzzer: every
 * string and frame sat 4 bytes away from where the host kernel puts them): fs/exec.c starts the strings at
 * vm_end - sizeof(void *), the kernel's pointer, 8 bytes on x86-64. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

int main(void)
{
    const char *fn = (const char *)getauxval(AT_EXECFN);
    FILE *f = fopen("/proc/self/maps", "r");
    char l[256];
    unsigned long lo, hi;
    while (f && fgets(l, sizeof l, f))
        if (strstr(l, "[stack]") && sscanf(l, "%lx-%lx", &lo, &hi) == 2)
            printf("stack end - end of AT_EXECFN: %lu\n", hi - ((uintptr_t)fn + strlen(fn) + 1));
    return 0;
}
