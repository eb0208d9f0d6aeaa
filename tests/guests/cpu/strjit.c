/* String instructions as glibc and hand-written code use them: memcpy/memset/memmove/strlen/memcmp/strchr on many
 * sizes and alignments, REP MOVS/STOS/LODS with overlapping operands and DF=1 in inline assembly, and faults on a
 * middle element (a PROT_NONE page after a buffer): the SIGSEGV handler prints the fault address and ESI/EDI/ECX
 * as the signal frame has them. Prints hashes; run against qemu-i386 and the host kernel (StringJitTests). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static unsigned char src[70000], dst[70000];
static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

static uint32_t hash(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static const size_t sizes[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 255, 256,
    257, 511, 1000, 1023, 1024, 1025, 2049, 4095, 4096, 4097, 8191, 8192, 12000, 16385, 32768, 65536 };
#define NS (sizeof sizes / sizeof sizes[0])

static void libc_part(void)
{
    for (size_t i = 0; i < sizeof src; i++) src[i] = (unsigned char)rnd();
    for (size_t k = 0; k < NS; k++)
    {
        size_t n = sizes[k];
        uint32_t hc = 0, hs = 0, hm = 0, hl = 0, hx = 0;
        for (int sa = 0; sa < 8; sa++)
            for (int da = 0; da < 8; da += 3)
            {
                memset(dst, 0x5A, n + 64);
                memcpy(dst + da, src + sa, n);
                hc = hc * 31 + hash(dst, n + 16);
                memset(dst + sa, (int)(n + da), n);
                hs = hs * 31 + hash(dst, n + 16);
                memcpy(dst, src, n + 16);
                memmove(dst + da + 1, dst + sa, n); /* overlapping both ways */
                hm = hm * 31 + hash(dst, n + 16);
                memmove(dst + sa, dst + da + 2, n);
                hm = hm * 31 + hash(dst, n + 16);
                hx = hx * 31 + (uint32_t)(memcmp(dst, src, n) > 0) + (uint32_t)(memcmp(dst, src, n) < 0) * 2;
            }
        memset(dst, 'a', n + 2);
        dst[n] = 0;
        hl = (uint32_t)strlen((char *)dst);
        char *c = strchr((char *)dst, 0);
        printf("n %5zu copy %08x set %08x move %08x cmp %08x len %u/%d\n", n, hc, hs, hm, hx, hl, (int)(c - (char *)dst));
    }
}

static void asm_part(void)
{
    for (size_t i = 0; i < sizeof src; i++) src[i] = (unsigned char)rnd();
    /* forward copies with dst = src + k: the pattern repeats every k bytes, element by element */
    for (int k = 1; k <= 8; k++)
        for (int size = 1; size <= 4; size *= 2)
        {
            memcpy(dst, src, 20000);
            unsigned char *s = dst + 3, *d = dst + 3 + k;
            unsigned cnt = 19000 / size;
            if (size == 1) __asm__ volatile("cld; rep movsb" : "+S"(s), "+D"(d), "+c"(cnt) : : "memory");
            else if (size == 2) __asm__ volatile("cld; rep movsw" : "+S"(s), "+D"(d), "+c"(cnt) : : "memory");
            else __asm__ volatile("cld; rep movsl" : "+S"(s), "+D"(d), "+c"(cnt) : : "memory");
            printf("overlap k %d size %d: %08x esi+%d edi+%d ecx %u\n", k, size, hash(dst, 20000), (int)(s - dst), (int)(d - dst), cnt);
        }
    /* backward (DF=1) copy, fills, loads */
    {
        memcpy(dst, src, 20000);
        unsigned char *s = dst + 9999, *d = dst + 10003;
        unsigned cnt = 9000;
        __asm__ volatile("std; rep movsb; cld" : "+S"(s), "+D"(d), "+c"(cnt) : : "memory");
        printf("backward: %08x %d %d\n", hash(dst, 20000), (int)(s - dst), (int)(d - dst));
        uint32_t v = 0x89ABCDEF;
        d = dst + 1;
        cnt = 5000;
        __asm__ volatile("cld; rep stosl" : "+D"(d), "+c"(cnt) : "a"(v) : "memory");
        d = dst + 20001;
        cnt = 3333;
        __asm__ volatile("rep stosw" : "+D"(d), "+c"(cnt) : "a"(v) : "memory");
        uint32_t acc = 0, a;
        s = src + 7;
        for (int i = 0; i < 1000; i++)
        {
            __asm__ volatile("lodsl" : "=a"(a), "+S"(s) : : "memory");
            acc = acc * 3 + a;
            __asm__ volatile("lodsb" : "=a"(a), "+S"(s) : "a"(0) : "memory");
            acc += a;
        }
        cnt = 77;
        __asm__ volatile("rep lodsw" : "=a"(a), "+S"(s), "+c"(cnt) : "a"(0) : "memory");
        printf("fill/load: %08x %08x %08x %d\n", hash(dst, 30000), acc, a, (int)(s - src));
    }
    /* REPE CMPS / REPNE SCAS as old string code has them: the flags (all six, through PUSHF) and registers */
    for (int size = 1; size <= 4; size *= 2)
        for (int k = 0; k < 12; k++)
        {
            unsigned n = (unsigned)sizes[k * 3], diff = n ? rnd() % (n + 8) : 0;
            memcpy(dst, src, 70000 - 8);
            if (diff < n * size) dst[diff] ^= (unsigned char)(1 + rnd() % 255);
            unsigned char *s = src, *d = dst;
            unsigned cnt = n, fl, fl2;
            if (size == 1) __asm__ volatile("cmp %%ecx, %%ecx; repe cmpsb; pushf; pop %3" : "+S"(s), "+D"(d), "+c"(cnt), "=r"(fl) : : "memory", "cc");
            else if (size == 2) __asm__ volatile("cmp %%ecx, %%ecx; repe cmpsw; pushf; pop %3" : "+S"(s), "+D"(d), "+c"(cnt), "=r"(fl) : : "memory", "cc");
            else __asm__ volatile("cmp %%ecx, %%ecx; repe cmpsl; pushf; pop %3" : "+S"(s), "+D"(d), "+c"(cnt), "=r"(fl) : : "memory", "cc");
            printf("repe cmps%d n %u: flags %03x esi+%d edi+%d ecx %u\n", size, n, fl & 0x8d5, (int)(s - src), (int)(d - dst), cnt);
            memset(dst, 0x41, n * size + 8);
            if (diff < n * size) dst[diff] = 0;
            d = dst; cnt = n;
            if (size == 1) __asm__ volatile("repne scasb; pushf; pop %2" : "+D"(d), "+c"(cnt), "=r"(fl2) : "a"(0) : "memory", "cc");
            else if (size == 2) __asm__ volatile("repne scasw; pushf; pop %2" : "+D"(d), "+c"(cnt), "=r"(fl2) : "a"(0x4100) : "memory", "cc");
            else __asm__ volatile("repne scasl; pushf; pop %2" : "+D"(d), "+c"(cnt), "=r"(fl2) : "a"(0x41414100) : "memory", "cc");
            printf("repne scas%d n %u: flags %03x edi+%d ecx %u\n", size, n, fl2 & 0x8d5, (int)(d - dst), cnt);
        }
}

static sigjmp_buf jb;
static unsigned char *area;
static volatile int uses; /* bit 0: ESI is an operand, bit 1: EDI (the other holds whatever the compiler left) */

static void onsegv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    printf("  SIGSEGV at area+%ld: esi area+%ld edi area+%ld ecx %ld\n", (long)((unsigned char *)si->si_addr - area),
        uses & 1 ? (long)((unsigned char *)g[REG_ESI] - area) : 0L, uses & 2 ? (long)((unsigned char *)g[REG_EDI] - area) : 0L,
        (long)g[REG_ECX]);
    (void)sig;
    siglongjmp(jb, 1);
}

static void fault_part(void)
{
    /* 4 pages: read/write, read/write, read-only, none */
    area = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) { perror("mmap"); return; }
    for (int i = 0; i < 2 * 4096; i++) area[i] = (unsigned char)(i * 7);
    mprotect(area + 2 * 4096, 4096, PROT_READ);
    mprotect(area + 3 * 4096, 4096, PROT_NONE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = onsegv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    static const int starts[] = { 0, 1, 2, 3, 4093, 4094, 4095, 4096 };
    for (int size = 1; size <= 4; size *= 2)
        for (unsigned si = 0; si < sizeof starts / sizeof starts[0]; si++)
        {
            volatile int kind;
            for (kind = 0; kind < 3; kind++)
            {
                unsigned char *s = area + starts[si], *d = area + 4096 + 100 + starts[si];
                unsigned cnt = 8192 / size;
                printf("fault size %d start %d kind %d\n", size, starts[si], kind);
                uses = kind == 0 ? 3 : kind == 1 ? 2 : 1;
                if (sigsetjmp(jb, 1) == 0)
                {
                    if (kind == 0) /* copy into the read-only page */
                    {
                        if (size == 1) __asm__ volatile("rep movsb" : "+S"(s), "+D"(d), "+c"(cnt) : : "memory");
                        else if (size == 2) __asm__ volatile("rep movsw" : "+S"(s), "+D"(d), "+c"(cnt) : : "memory");
                        else __asm__ volatile("rep movsl" : "+S"(s), "+D"(d), "+c"(cnt) : : "memory");
                    }
                    else if (kind == 1) /* fill into the read-only page */
                    {
                        if (size == 1) __asm__ volatile("rep stosb" : "+D"(d), "+c"(cnt) : "a"(0x11) : "memory");
                        else if (size == 2) __asm__ volatile("rep stosw" : "+D"(d), "+c"(cnt) : "a"(0x2222) : "memory");
                        else __asm__ volatile("rep stosl" : "+D"(d), "+c"(cnt) : "a"(0x33333333) : "memory");
                    }
                    else /* read into the PROT_NONE page */
                    {
                        s = area + 2 * 4096 + starts[si];
                        uint32_t a;
                        if (size == 1) __asm__ volatile("rep lodsb" : "=a"(a), "+S"(s), "+c"(cnt) : : "memory");
                        else if (size == 2) __asm__ volatile("rep lodsw" : "=a"(a), "+S"(s), "+c"(cnt) : : "memory");
                        else __asm__ volatile("rep lodsl" : "=a"(a), "+S"(s), "+c"(cnt) : : "memory");
                    }
                    printf("  no fault: ecx %u\n", cnt);
                }
                printf("  area hash %08x\n", hash(area, 3 * 4096));
            }
        }
}

int main(void)
{
    libc_part();
    asm_part();
    fault_part();
    return 0;
}
