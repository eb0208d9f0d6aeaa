/* Memory accesses as the translator's checks see them (JitTests.GuestMemoryChecksMatchQemu): accesses crossing
 * from one page into the next (both accessible; into PROT_NONE; a write into PROT_READ; a write into a page holding
 * code that has run), accesses on a mapping's first page below which nothing is mapped, a base + displacement that
 * passes 4 GiB and wraps to a low mapping or to page 0, and a loop writing a page that another thread write-protects
 * (the loop must fault at once, not run on). Prints what it sees and the fault addresses; run against qemu-i386. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile uintptr_t fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)uc;
    fault_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, 1);
}

static uint32_t hash(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Reads and writes of 2, 4 and 8 bytes at every offset around the boundary of two accessible pages. */
static void crossing(unsigned char *two)
{
    uint32_t h = 0;
    for (int round = 0; round < 3; round++)
        for (int off = 4096 - 12; off < 4096 + 4; off++)
        {
            volatile uint16_t *p16 = (uint16_t *)(two + off);
            volatile uint32_t *p32 = (uint32_t *)(two + off);
            volatile uint64_t *p64 = (uint64_t *)(two + off);
            *p32 = *p32 * 2654435761u + (uint32_t)off;
            *p16 = (uint16_t)(*p16 + 7);
            *p64 = *p64 ^ 0x0123456789abcdefull;
            h = h * 31 + *p32 + *p16;
        }
    printf("crossing: %08x %08x\n", h, hash(two, 8192));
}

/* The first page of a mapping with nothing below it: every offset, the last bytes included. */
static void first_page(unsigned char *p)
{
    uint32_t h = 0;
    for (int round = 0; round < 3; round++)
        for (int off = 0; off < 4096 - 3; off += (off < 8 || off > 4080) ? 1 : 61)
        {
            volatile uint32_t *q = (uint32_t *)(p + off);
            *q += (uint32_t)off * 3u + 1u;
            h = h * 33 + *q;
        }
    printf("first page: %08x %08x\n", h, hash(p, 4096));
}

/* A 4-byte read or write starting 1..3 bytes before a page that does not allow it: SIGSEGV at the page, and a
 * write leaves the bytes before the boundary as they were. */
static void crossing_faults(unsigned char *two, int prot)
{
    mprotect(two + 4096, 4096, prot);
    for (int k = 1; k <= 3; k++)
    {
        unsigned char *at = two + 4096 - k;
        memset(two + 4096 - 8, 0x11, 8);
        fault_addr = 0;
        if (!sigsetjmp(jb, 1))
        {
            if (prot == PROT_NONE) { volatile uint32_t v = *(volatile uint32_t *)at; (void)v; }
            else *(volatile uint32_t *)at = 0xAABBCCDDu;
            printf("crossing into %s at -%d: no fault\n", prot == PROT_NONE ? "PROT_NONE" : "PROT_READ", k);
        }
        else
            printf("crossing into %s at -%d: SIGSEGV at +%ld, before it %02x%02x%02x\n", prot == PROT_NONE ? "PROT_NONE" : "PROT_READ",
                k, (long)(fault_addr - (uintptr_t)(two + 4096)), two[4093], two[4094], two[4095]);
    }
    mprotect(two + 4096, 4096, PROT_READ | PROT_WRITE);
}

typedef int (*fn)(void);

/* mov eax, imm32; ret at the start of the second page, run until translated; then one 4-byte store from the
 * first page changes its opcode byte and the immediate's low byte: the next call runs the new code. */
static void crossing_smc(void)
{
    unsigned char *two = mmap(0, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *code = two + 4096;
    code[0] = 0xB8; code[1] = 0x01; code[2] = 0; code[3] = 0; code[4] = 0; code[5] = 0xC3;
    code[8] = 0xB8; code[9] = 0x02; code[10] = 0; code[11] = 0; code[12] = 0; code[13] = 0xC3;
    fn f = (fn)code;
    int sum = 0;
    for (int i = 0; i < 300; i++) sum += f();
    /* bytes [4094, 4098): 0x90 0x90 at the end of the first page, then 0xB8 and 5 + i over the code's first two */
    for (int i = 0; i < 2; i++)
    {
        *(volatile uint32_t *)(two + 4094) = 0x00B89090u | (uint32_t)(5 + i) << 24;
        sum = sum * 10 + f();
    }
    printf("crossing smc: %d\n", sum);
    munmap(two, 8192);
}

/* [EBX + disp] with EBX + disp past 4 GiB: the 32-bit sum wraps to a low mapping (or to page 0: SIGSEGV). */
static uint32_t wrap_read(uint32_t ebx)
{
    uint32_t v;
    __asm__ volatile("mov 0x11000(%1), %0\n\tadd 0x11004(%1), %0" : "=&r"(v) : "b"(ebx) : "memory");
    return v;
}

static void wraparound(void)
{
    uint32_t *low = mmap((void *)0x10000, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (low == MAP_FAILED) { printf("wraparound: no mapping at 0x10000\n"); return; }
    for (int i = 0; i < 0x1000; i++) low[i] = 0x1000000u + (uint32_t)i * 3;
    uint32_t *hi = mmap(0, 0x4000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < 0x1000; i++) hi[i] = 0x2000000u + (uint32_t)i * 5;
    uint32_t s = 0;
    /* the same instructions without the wrap (hi) and with it (0xFFFFF000 + 0x11000 = 0x10000 in 32 bits) */
    for (int i = 0; i < 300; i++)
        s = s * 3 + wrap_read((uint32_t)(uintptr_t)hi - 0x11000u + (uint32_t)(i & 7) * 4) + wrap_read(0xFFFFF000u + (uint32_t)(i & 7) * 4);
    printf("wraparound: %08x\n", s);
    fault_addr = 0;
    if (!sigsetjmp(jb, 1)) printf("wraparound to page 0: %08x (no fault)\n", wrap_read(0xFFFEF000u + 0x10));
    else printf("wraparound to page 0: SIGSEGV at %#lx\n", (unsigned long)fault_addr);
    munmap(low, 0x4000);
    munmap(hi, 0x4000);
}

/* One thread stores to a page in a loop (the same address each time: its check is one at block entry), and
 * counts; another write-protects or unmaps the page. After that call returns the loop may finish the iteration it
 * is in, no more. */
static unsigned char *victim;
static volatile uint32_t loops;
static volatile int protected_now;
static volatile uint32_t loops_at_fault;

/* the faulting thread ends here (exit(2) of the thread alone; pthread_join sees it through CLONE_CHILD_CLEARTID) */
static void thread_done(void) { syscall(SYS_exit, 0); }

static void on_segv_thread(int sig, siginfo_t *si, void *uc)
{
    (void)sig; (void)si;
    loops_at_fault = loops;
    ((ucontext_t *)uc)->uc_mcontext.gregs[REG_EIP] = (greg_t)(uintptr_t)thread_done;
}

static void *writer(void *arg)
{
    (void)arg;
    /* one block that jumps to itself: the store, then the count, forever */
    __asm__ volatile("1:\n\tmov %%eax, (%0)\n\tmov %%eax, (%1)\n\tinc %%eax\n\tjmp 1b"
        : : "r"(victim + 64), "r"(&loops), "a"(0) : "memory");
    return 0;
}

/* The same with a loop that tests its budget and stop flag inside its pass (compat32's translator: before the ADD,
 * whose flags the JNE reads), storing twice through one register (a check at block entry that the loop skips). */
static void *writer_jcc(void *arg)
{
    (void)arg;
    __asm__ volatile("1:\n\tadd $1, %%eax\n\tmov %%eax, (%0)\n\tmov %%eax, 4(%0)\n\tmov %%eax, (%1)\n\tjne 1b"
        : : "r"(victim + 64), "r"(&loops), "a"(0) : "memory", "cc");
    return 0;
}

static void protect_race(int unmap, int jcc)
{
    victim = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    loops = 0; loops_at_fault = 0;
    pthread_t t;
    pthread_create(&t, 0, jcc ? writer_jcc : writer, 0);
    while (loops < 200000) usleep(100);
    if (unmap) munmap(victim, 4096); else mprotect(victim, 4096, PROT_READ);
    uint32_t after = loops;
    pthread_join(t, 0);
    printf("%s while a %s loop stores there: faulted within one iteration: %s\n", unmap ? "munmap" : "mprotect",
        jcc ? "JNE" : "JMP", loops_at_fault - after <= 1 ? "yes" : "no");
    if (!unmap) munmap(victim, 4096);
}

int main(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);

    unsigned char *two = mmap(0, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    two += 4096; /* a PROT_NONE page below, two accessible pages */
    mprotect(two, 8192, PROT_READ | PROT_WRITE);
    for (int i = 0; i < 8192; i++) two[i] = (unsigned char)(i * 7 + 3);
    crossing(two);
    first_page(two);
    crossing_faults(two, PROT_NONE);
    crossing_faults(two, PROT_READ);
    crossing_smc();
    wraparound();

    sa.sa_sigaction = on_segv_thread;
    sigaction(SIGSEGV, &sa, 0);
    protect_race(0, 0);
    protect_race(1, 0);
    protect_race(0, 1);
    protect_race(1, 1);
    return 0;
}
