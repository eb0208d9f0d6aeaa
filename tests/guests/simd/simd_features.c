/* What a program can learn about the CPU, printed so the test can check that it all agrees: CPUID, AT_HWCAP,
 * the flags line of /proc/cpuinfo, and whether one instruction of each feature runs or raises SIGILL. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

static sigjmp_buf jb;
static void ill(int s) { siglongjmp(jb, 1); }

#define PROBE(name, insn) do { \
    if (sigsetjmp(jb, 1) == 0) { __asm__ volatile(insn ::: "eax", "ecx", "memory"); printf("runs %s 1\n", name); } \
    else printf("runs %s 0\n", name); } while (0)

int main(void)
{
    unsigned a, b, c, d, ec = 0, ed = 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    unsigned maxext;
    __asm__ volatile("cpuid" : "=a"(maxext), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000), "c"(0));
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (maxext >= 0x80000001) __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(ec), "=d"(ed) : "a"(0x80000001), "c"(0));
    printf("cpuid1 ecx %08x edx %08x ext ecx %08x\n", c, d, ec);
    /* the kernel's AT_HWCAP from /proc/self/auxv (glibc's getauxval reports its own dl_hwcap instead) */
    unsigned aux[2], hw = 0, hw2 = 0;
    FILE *av = fopen("/proc/self/auxv", "r");
    while (av && fread(aux, sizeof aux, 1, av) == 1 && aux[0] != 0)
    {
        if (aux[0] == AT_HWCAP) hw = aux[1];
        if (aux[0] == AT_HWCAP2) hw2 = aux[1];
    }
    if (av) fclose(av);
    printf("hwcap %08x hwcap2 %08x\n", hw, hw2);
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5)) { printf("%s", line); break; }
    if (f) fclose(f);
    signal(SIGILL, ill);
    PROBE("mmx", "pxor %%mm0, %%mm0; emms");
    PROBE("sse", "xorps %%xmm0, %%xmm0");
    PROBE("sse2", "paddq %%xmm0, %%xmm0");
    PROBE("pni", "haddps %%xmm0, %%xmm0");
    PROBE("ssse3", "pshufb %%xmm0, %%xmm0");
    PROBE("sse4_1", "ptest %%xmm0, %%xmm0");
    PROBE("sse4_2", "pcmpgtq %%xmm0, %%xmm0");
    PROBE("popcnt", "popcnt %%eax, %%eax");
    PROBE("aes", "aesenc %%xmm0, %%xmm0");
    PROBE("pclmulqdq", "pclmulqdq $0, %%xmm0, %%xmm0");
    PROBE("movbe", "movbe (%%esp), %%eax");
    PROBE("clflush", "clflush (%%esp)");
    /* LZCNT without ABM is BSR: lzcnt of 1 is 31, bsr of 1 is 0 */
    unsigned lz = 1;
    __asm__ volatile("lzcnt %0, %0" : "+r"(lz));
    printf("runs abm %d\n", lz == 31);
    return 0;
}
