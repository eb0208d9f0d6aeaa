/* Reads of PROT_NONE pages in a hot loop, each fault repaired by the SIGSEGV handler (mprotect back to readable),
 * as a user-space pager or a GC write barrier does: every fault must come at the first byte of the next page the
 * loop reads (si_addr), the loop must resume exactly there, and the sums must be those of the data. The loop's
 * reads run in translated code once it is hot (compat32 leaves them to the host MMU: HostFaults). Then a dword read
 * that straddles a readable page and a PROT_NONE one faults at the second page. Reference: qemu-i386 7.2's output
 * (the same on Linux; the flags in the signal frame are left out: they depend on where the stack is). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static char *base;
static volatile int hits;
static volatile long first[6];

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    char *page = (char *)((unsigned long)si->si_addr & ~4095UL);
    if (hits < 6) first[hits] = (char *)si->si_addr - base;
    hits++;
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    const int n = 256;
    base = mmap(0, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) { perror("mmap"); return 1; }
    for (int i = 0; i < n * 4096; i++) base[i] = (char)(i * 7 + (i >> 12));
    unsigned sum = 0;
    for (int r = 0; r < 20; r++) {
        mprotect(base, n * 4096, PROT_NONE);
        volatile unsigned *q = (volatile unsigned *)(base + 4096 * 3 + 2); /* unaligned: some reads straddle pages */
        for (int i = 0; i < (n * 4096 - 12292) / 4; i++) sum = (sum << 1 | sum >> 31) + q[i];
    }
    printf("pass faults %d sum %08x\n", hits, sum);
    for (int k = 0; k < 6; k++) printf("fault %d at page %ld + %ld\n", k, first[k] / 4096, first[k] % 4096);
    /* A straddling read: the first page readable, the second not. */
    hits = 0;
    mprotect(base, 2 * 4096, PROT_READ | PROT_WRITE);
    mprotect(base + 2 * 4096, 4096, PROT_NONE);
    volatile unsigned *s = (volatile unsigned *)(base + 2 * 4096 - 2);
    unsigned v = *s;
    printf("straddle faults %d at page %ld + %ld value %08x\n", hits, first[0] / 4096, first[0] % 4096, v);
    return 0;
}
