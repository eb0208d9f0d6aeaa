/* The kernel's side of SSE: XMM0-7 and MXCSR in the i386 signal frame's fxsave area (and sigreturn restoring
 * what the handler left there), the handler's clean MXCSR, SIGFPE from unmasked SIMD exceptions with the
 * si_code the kernel derives from MXCSR, #GP from misaligned MOVAPS and a reserved MXCSR bit, fork and threads
 * each with their own copy. Compared with the host kernel running the same binary. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static uint8_t pattern[8][16] __attribute__((aligned(16)));
static uint8_t after[8][16] __attribute__((aligned(16)));

static uint8_t *fx(ucontext_t *uc) { return (uint8_t *)uc->uc_mcontext.fpregs + 112; } /* fxsave image after the fsave header */

static unsigned getmxcsr(void) { unsigned m; __asm__ volatile("stmxcsr %0" : "=m"(m)); return m; }
static void setmxcsr(unsigned m) { __asm__ volatile("ldmxcsr %0" ::"m"(m)); }

static void usr1(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uint8_t *f = fx(uc);
    unsigned short magic = *(unsigned short *)((uint8_t *)uc->uc_mcontext.fpregs + 110);
    printf("frame: magic %04x mxcsr %08x handler mxcsr %08x\n", magic, *(uint32_t *)(f + 24), getmxcsr());
    for (int i = 0; i < 8; i++)
    {
        printf(" xmm%d", i);
        for (int k = 0; k < 16; k++) printf("%02x", f[160 + 16 * i + k]);
        printf("\n");
    }
    /* its own section: a CPU with AMD's misaligned SSE mode adds bit 17 (MM) */
    printf("fxsave MXCSR_MASK:\n  %08x\n", *(uint32_t *)(f + 28));
    /* what sigreturn must bring back */
    for (int k = 0; k < 16; k++) f[160 + 16 * 3 + k] = 0xA0 + k;
    *(uint32_t *)(f + 24) = 0x5F80 | 0x3; /* RC down, IE and DE flags */
    __asm__ volatile("pxor %%xmm3, %%xmm3; pcmpeqd %%xmm5, %%xmm5" ::: "xmm3", "xmm5");
}

static void frame_test(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    for (int i = 0; i < 8; i++) for (int k = 0; k < 16; k++) pattern[i][k] = (uint8_t)(i * 16 + k * 7 + 1);
    setmxcsr(0x1F80 | 0x20 | 0x6000); /* PE flag, RC toward zero */
    int pid = getpid();
    unsigned mx_after;
    __asm__ volatile(
        "movdqa 0(%1), %%xmm0; movdqa 16(%1), %%xmm1; movdqa 32(%1), %%xmm2; movdqa 48(%1), %%xmm3\n"
        "movdqa 64(%1), %%xmm4; movdqa 80(%1), %%xmm5; movdqa 96(%1), %%xmm6; movdqa 112(%1), %%xmm7\n"
        "push %%ebx; mov %3, %%ebx; mov $37, %%eax; mov $10, %%ecx; int $0x80; pop %%ebx\n" /* kill(pid, SIGUSR1) */
        "movdqa %%xmm0, 0(%2); movdqa %%xmm1, 16(%2); movdqa %%xmm2, 32(%2); movdqa %%xmm3, 48(%2)\n"
        "movdqa %%xmm4, 64(%2); movdqa %%xmm5, 80(%2); movdqa %%xmm6, 96(%2); movdqa %%xmm7, 112(%2)\n"
        "stmxcsr %0\n"
        : "=m"(mx_after) : "r"(pattern), "r"(after), "r"(pid) : "eax", "ecx", "edx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
    printf("after sigreturn: mxcsr %08x\n", mx_after);
    for (int i = 0; i < 8; i++)
    {
        printf(" xmm%d", i);
        for (int k = 0; k < 16; k++) printf("%02x", after[i][k]);
        printf("\n");
    }
    setmxcsr(0x1F80);
}

static volatile unsigned fpe_mx;
static void fpe(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    uint8_t *f = fx(uc);
    fpe_mx = *(uint32_t *)(f + 24);
    printf("  SIGFPE code %d at-ip %d trapno %d err %lu frame mxcsr %08x\n", si->si_code, si->si_addr == (void *)uc->uc_mcontext.gregs[REG_EIP],
           (int)uc->uc_mcontext.gregs[REG_TRAPNO], (unsigned long)uc->uc_mcontext.gregs[REG_ERR], fpe_mx);
    *(uint32_t *)(f + 24) = (fpe_mx | 0x1F80); /* mask everything: the instruction reruns with the masked response */
}

static float fdata[4] __attribute__((aligned(16))) = { 1.0f, 0.0f, -1.0f, 3.0f };
static float big = 3e38f, tiny = 1e-30f, den;

static void fpe_test(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = fpe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, 0);
    float r;
    int ir;
    den = tiny * 1e-10f; /* a denormal */
    struct { const char *name; unsigned mx; } cases[] = {
        { "div by zero", 0x1F80 & ~0x200 }, { "invalid sqrt", 0x1F80 & ~0x80 }, { "overflow", 0x1F80 & ~0x400 },
        { "underflow", 0x1F80 & ~0x800 }, { "precision", 0x1F80 & ~0x1000 }, { "denormal", 0x1F80 & ~0x100 },
        { "cvt invalid", 0x1F80 & ~0x80 },
    };
    for (int c = 0; c < 7; c++)
    {
        printf("%s:\n", cases[c].name);
        setmxcsr(cases[c].mx);
        switch (c)
        {
            case 0: __asm__ volatile("movss %1, %0; divss %2, %0" : "=&x"(r) : "m"(fdata[0]), "m"(fdata[1])); break;
            case 1: __asm__ volatile("sqrtss %1, %0" : "=x"(r) : "m"(fdata[2])); break;
            case 2: __asm__ volatile("movss %1, %0; mulss %1, %0" : "=&x"(r) : "m"(big)); break;
            case 3: __asm__ volatile("movss %1, %0; mulss %1, %0" : "=&x"(r) : "m"(tiny)); break;
            case 4: __asm__ volatile("movss %1, %0; divss %2, %0" : "=&x"(r) : "m"(fdata[0]), "m"(fdata[3])); break;
            case 5: __asm__ volatile("movss %1, %0; addss %2, %0" : "=&x"(r) : "m"(fdata[0]), "m"(den)); break;
            case 6: { float nan = __builtin_nanf(""); __asm__ volatile("cvttss2si %1, %0" : "=r"(ir) : "m"(nan)); r = (float)ir; break; }
        }
        unsigned m = getmxcsr();
        setmxcsr(0x1F80);
        printf("  result %a mxcsr %08x\n", (double)r, m);
    }
}

static volatile int segv_count;
static void segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    printf("  SIGSEGV code %d addr %p trapno %d err %lu\n", si->si_code, si->si_addr, (int)uc->uc_mcontext.gregs[REG_TRAPNO],
           (unsigned long)uc->uc_mcontext.gregs[REG_ERR]);
    uc->uc_mcontext.gregs[REG_EIP] += (int)uc->uc_mcontext.gregs[REG_EAX]; /* skip: EAX holds the length */
    segv_count++;
}

static uint8_t unal[64] __attribute__((aligned(16)));

static void gp_test(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    printf("movaps misaligned:\n");
    __asm__ volatile("mov $3, %%eax; movaps (%0), %%xmm0" ::"r"(unal + 4) : "eax", "xmm0");
    printf("movdqa misaligned store:\n");
    __asm__ volatile("mov $4, %%eax; movdqa %%xmm0, (%0)" ::"r"(unal + 8) : "eax", "memory");
    printf("addps misaligned:\n");
    __asm__ volatile("mov $3, %%eax; addps (%0), %%xmm1" ::"r"(unal + 1) : "eax", "xmm1");
    printf("movups misaligned (fine):\n");
    __asm__ volatile("mov $3, %%eax; movups (%0), %%xmm0" ::"r"(unal + 4) : "eax", "xmm0");
    unsigned bad = 0x1F80 | 0x10000;
    printf("ldmxcsr reserved bit:\n");
    __asm__ volatile("mov $3, %%eax; ldmxcsr (%0)" ::"r"(&bad) : "eax");
    printf("fxrstor reserved mxcsr:\n");
    static uint8_t area[512] __attribute__((aligned(16)));
    __asm__ volatile("fxsave (%0)" ::"r"(area) : "memory");
    *(uint32_t *)(area + 24) = 0x1F80 | 0x40000;
    __asm__ volatile("mov $3, %%eax; fxrstor (%0)" ::"r"(area) : "eax");
    printf("segv count %d mxcsr %08x\n", segv_count, getmxcsr());
}

static void *thread_fn(void *arg)
{
    unsigned inherited = getmxcsr();
    setmxcsr(0x1F80 | 0x4000 | 0x1); /* RC up, IE flag */
    return (void *)(uintptr_t)inherited;
}

static void copy_test(void)
{
    setmxcsr(0x1F80 | 0x2000); /* RC down */
    static uint8_t x5[16] __attribute__((aligned(16))), c5[16] __attribute__((aligned(16)));
    for (int k = 0; k < 16; k++) x5[k] = 0x50 + k;
    int r;
    __asm__ volatile("movdqa (%2), %%xmm5; mov $2, %%eax; int $0x80; movdqa %%xmm5, (%1); mov %%eax, %0"
                     : "=r"(r) : "r"(c5), "r"(x5) : "eax", "memory", "xmm5");
    if (r == 0)
    {
        printf("child: xmm5 %02x..%02x mxcsr %08x\n", c5[0], c5[15], getmxcsr());
        fflush(stdout);
        syscall(SYS_exit, 0);
    }
    waitpid(r, 0, 0);
    pthread_t t;
    void *res;
    pthread_create(&t, 0, thread_fn, 0);
    pthread_join(t, &res);
    printf("thread inherited %08x, main still %08x\n", (unsigned)(uintptr_t)res, getmxcsr());
    setmxcsr(0x1F80);
}

int main(void)
{
    setvbuf(stdout, 0, _IONBF, 0);
    printf("initial mxcsr %08x\n", getmxcsr());
    frame_test();
    fpe_test();
    gp_test();
    copy_test();
    return 0;
}
