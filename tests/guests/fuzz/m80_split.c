/* A 10-byte x87 store (FSTP m80, FBSTP) into the last bytes of a page whose next page is unmapped: the Intel host
 * stores the low 8 bytes and then the top 2, so when only the top 2 cross, the low 8 are written before the fault
 * (instruction fuzzer seed 8700001479: fstp tbyte ptr [30002FF7h] at the end of the data pages); the AMD host writes
 * nothing then. Each model does as its vendor. FSTP m64 beside it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <setjmp.h>
#include <sys/mman.h>
static sigjmp_buf jb; static volatile uintptr_t fa;
static void h(int s, siginfo_t *si, void *u) { fa = (uintptr_t)si->si_addr; siglongjmp(jb, 1); }
int main(void)
{
    uint8_t *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + 4096, 4096);
    struct sigaction sa = { .sa_sigaction = h, .sa_flags = SA_SIGINFO | SA_NODEFER };
    sigaction(SIGSEGV, &sa, 0);
    for (int op = 0; op < 4; op++)
    for (int back = 1; back <= 10; back++) {
        memset(p + 4080, 0x55, 16);
        uint8_t *a = p + 4096 - back;
        fa = 0;
        long double one = 1.5L;
        if (!sigsetjmp(jb, 1)) {
            if (op == 0) __asm__ volatile("fninit\nfldt %1\nfstpt %0" : "=m"(*(char (*)[10])a) : "m"(one));
            else if (op == 1) __asm__ volatile("fninit\nfstpt %0" : "=m"(*(char (*)[10])a));  /* empty: the indefinite */
            else if (op == 2) __asm__ volatile("fninit\nfldt %1\nfbstp %0" : "=m"(*(char (*)[10])a) : "m"(one));
            else __asm__ volatile("fninit\nfldl %1\nfstpl %0" : "=m"(*(char (*)[8])a) : "m"(*(double *)&one));
        }
        printf("op %d back %2d fault %s%lx:", op, back, fa ? "+" : "", fa ? (unsigned long)(fa - (uintptr_t)p) : 0ul);
        for (int i = 4080; i < 4096; i++) printf(" %02x", p[i]);
        printf("\n");
    }
    return 0;
}
