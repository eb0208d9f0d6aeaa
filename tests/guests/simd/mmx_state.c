/* MMX and the x87 state it aliases, as FNSAVE, FNSTENV, FXSAVE and the signal frame show it (SDM vol. 1 9.5:
 * MMi is physical register i's significand; an MMX write sets its sign/exponent to all ones; every MMX
 * instruction but EMMS sets TOP to 0 and tags all valid; EMMS tags all empty). Each MMX loop runs hot (thousands
 * of times) so the block translator runs it; four threads keep their own MMX and x87 state. Then a SIGSEGV from
 * an MMX load inside a hot loop: the handler prints the frame's i387 and FXSAVE images. Compared with the host kernel (the CPU itself). The pointer fields
 * (FIP, FDP, FOP) are left out: they name the last x87 instruction, not MMX state. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static uint64_t data[64] __attribute__((aligned(16)));

static void dump_fsave(const char *what, const unsigned char *b)
{
    uint16_t cw, sw, tw;
    memcpy(&cw, b, 2); memcpy(&sw, b + 4, 2); memcpy(&tw, b + 8, 2);
    printf("%s: cw %04x sw %04x tw %04x\n", what, cw, sw, tw);
    for (int i = 0; i < 8; i++) {
        const unsigned char *r = b + 28 + 10 * i;
        uint64_t m; uint16_t e;
        memcpy(&m, r, 8); memcpy(&e, r + 8, 2);
        printf("  st%d %04x:%016llx\n", i, e, (unsigned long long)m);
    }
}

static void dump_fxsave(const char *what, const unsigned char *b)
{
    uint16_t cw, sw; uint8_t ftw;
    memcpy(&cw, b, 2); memcpy(&sw, b + 2, 2); ftw = b[4];
    printf("%s: fcw %04x fsw %04x ftw %02x\n", what, cw, sw, ftw);
    for (int i = 0; i < 8; i++) {
        const unsigned char *r = b + 32 + 16 * i;
        uint64_t m; uint16_t e;
        memcpy(&m, r, 8); memcpy(&e, r + 8, 2);
        printf("  r%d %04x:%016llx\n", i, e, (unsigned long long)m);
    }
}

static void dump_fnstenv(const char *what)
{
    unsigned char env[28];
    __asm__ volatile("fnstenv %0" : "=m"(env));
    uint16_t cw, sw, tw;
    memcpy(&cw, env, 2); memcpy(&sw, env + 4, 2); memcpy(&tw, env + 8, 2);
    printf("%s: fnstenv cw %04x sw %04x tw %04x\n", what, cw, sw, tw);
    __asm__ volatile("fldenv %0" : : "m"(env));
}

/* A hot MMX loop: packs, unpacks, multiplies, shifts; writes mm0-mm5, leaves mm6/mm7 as they were. */
static uint64_t mmx_loop(int n)
{
    uint64_t out;
    __asm__ volatile(
        "movq (%1), %%mm6\n"
        "1:\n"
        "movq (%1), %%mm0\n"
        "movq 8(%1), %%mm1\n"
        "movq %%mm0, %%mm2\n"
        "punpcklbw %%mm1, %%mm0\n"
        "punpckhbw %%mm1, %%mm2\n"
        "pmullw %%mm6, %%mm0\n"
        "pmaddwd %%mm2, %%mm0\n"
        "psrad $3, %%mm0\n"
        "packssdw %%mm2, %%mm0\n"
        "paddusb 16(%1), %%mm0\n"
        "movq %%mm0, %%mm3\n"
        "psllq $5, %%mm3\n"
        "pxor %%mm3, %%mm4\n"
        "pcmpgtw %%mm0, %%mm5\n"
        "paddw %%mm0, %%mm6\n"
        "dec %2\n"
        "jnz 1b\n"
        "movq %%mm4, %0\n"
        : "=m"(out) : "r"(data), "r"(n) : "memory");
    return out;
}

/* Threads: each keeps its own MMX registers across calls (mm4/mm5 carry over) and its own x87 state. */
static uint64_t thread_out[4];
static double thread_x87[4];

static void *worker(void *arg)
{
    int t = (int)(long)arg;
    uint64_t r = (uint64_t)t * 0x9E3779B97F4A7C15ULL;
    double d = t;
    for (int k = 0; k < 3000; k++) {
        r = r * 31 + mmx_loop(3 + ((k + t) & 3));
        __asm__ volatile("emms");
        d = d * 0.5 + (double)(r & 0xff) + t;
        if ((k & 255) == 0) sched_yield();
    }
    thread_out[t] = r;
    thread_x87[t] = d;
    return 0;
}

static sigjmp_buf jb;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    const unsigned char *b = (const unsigned char *)fp;
    printf("SIGSEGV %d at offset %ld, frame i387: cw %04lx sw %04lx tag %04lx status %04lx\n", sig,
           (long)((char *)si->si_addr - (char *)0) & 0xfff, fp->cw & 0xffff, fp->sw & 0xffff, fp->tag & 0xffff,
           (unsigned long)fp->status & 0xffff);
    for (int i = 0; i < 8; i++) {
        const unsigned char *r = b + 28 + 10 * i;
        uint64_t m; uint16_t e;
        memcpy(&m, r, 8); memcpy(&e, r + 8, 2);
        printf("  st%d %04x:%016llx\n", i, e, (unsigned long long)m);
    }
    uint16_t magic; memcpy(&magic, b + 110, 2);
    printf("  magic %04x\n", magic);
    if (magic == 0) dump_fxsave("  frame fxsave", b + 112);
    siglongjmp(jb, 1);
}

int main(void)
{
    uint32_t x = 7;
    for (int i = 0; i < 64; i++) { x = x * 1103515245 + 12345; data[i] = (uint64_t)x << 32 | (x * 69069 + 1); }
    unsigned char fs[108], fx[512] __attribute__((aligned(16)));

    /* x87 values first (R5-R7 hold 0, 1, pi), then MMX over them */
    __asm__ volatile("fninit; fldz; fld1; fldpi; fstp %%st(0); fstp %%st(0); fstp %%st(0)" ::: "memory");
    uint64_t r = 0;
    for (int k = 0; k < 20; k++) r = r * 31 + mmx_loop(500 + k);
    printf("mmx loop: %016llx\n", (unsigned long long)r);
    dump_fnstenv("after MMX");
    __asm__ volatile("fxsave %0" : "=m"(fx));
    dump_fxsave("fxsave after MMX", fx);
    __asm__ volatile("fnsave %0" : "=m"(fs));
    dump_fsave("fnsave after MMX", fs);

    /* FNSAVE emptied the tags; MMX again makes them valid */
    __asm__ volatile("frstor %0" : : "m"(fs));
    __asm__ volatile("emms");
    dump_fnstenv("after EMMS");

    /* x87 pushes (TOP 6) and then MMX: TOP back to 0, every tag valid */
    double one = 1.5;
    for (int k = 0; k < 2000; k++) {
        __asm__ volatile("emms; fldl %0; fld %%st(0); fmul %%st(0), %%st(1); fstp %%st(0); fstp %%st(0)" : : "m"(one));
        r ^= mmx_loop(3);
    }
    __asm__ volatile("fldl %0; fldl %0" : : "m"(one));
    dump_fnstenv("x87 pushes after MMX without EMMS");
    r ^= mmx_loop(1);
    __asm__ volatile("fnsave %0" : "=m"(fs));
    dump_fsave("fnsave after x87 then MMX", fs);
    __asm__ volatile("frstor %0; emms" : : "m"(fs));

    /* x87 after EMMS: ordinary stack arithmetic */
    double s = 0;
    for (int k = 0; k < 1000; k++) {
        r ^= mmx_loop(2);
        __asm__ volatile("emms");
        s = s * 0.75 + (double)(r & 0xffff);
    }
    printf("x87 after EMMS: %.6f %016llx\n", s, (unsigned long long)r);

    pthread_t th[4];
    for (int t = 0; t < 4; t++) pthread_create(&th[t], 0, worker, (void *)(long)t);
    for (int t = 0; t < 4; t++) pthread_join(th[t], 0);
    for (int t = 0; t < 4; t++) printf("thread %d: %016llx %.6f\n", t, (unsigned long long)thread_out[t], thread_x87[t]);

    /* a fault inside a hot MMX loop: reads run off the end of a mapping */
    long pg = sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(0, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + pg, pg);
    for (long i = 0; i < pg; i++) m[i] = (unsigned char)(i * 7);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    __asm__ volatile("fninit; fld1; fldz; fstp %%st(0); fstp %%st(0)" ::: "memory");
    if (sigsetjmp(jb, 1) == 0) {
        unsigned char *p = m;
        __asm__ volatile(
            "pxor %%mm7, %%mm7\n"
            "1:\n"
            "movq (%0), %%mm1\n"
            "paddb %%mm1, %%mm7\n"
            "pshufw $0x1b, %%mm7, %%mm2\n"
            "psadbw %%mm1, %%mm2\n"
            "paddd %%mm2, %%mm3\n"
            "add $3, %0\n"
            "jmp 1b\n"
            : "+r"(p) : : "memory");
    }
    __asm__ volatile("emms");
    printf("done\n");
    return 0;
}
