/* Runs one x86 instruction at a time on the host CPU for the SIMD differential tests.
 * Input lines:  CODEHEX STATEHEX   (the stub, assembled by the test with Iced for x86-64, and a 144-byte state)
 * Output lines: STATEHEX after the stub ran, or "XM mxcsr", "UD", "GP", "MF" when it raised a signal.
 * State layout (little-endian): xmm0..xmm2 at 0/16/32, mm0..mm2 at 48/56/64, eax ecx edx at 72/76/80,
 * eflags at 84, mxcsr at 88, x87 tag word (FNSTENV) at 92, status word at 96; 144 bytes in all. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf jb;
static volatile int sig;
static volatile unsigned mxcsr_at_fault;

static void handler(int s, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    sig = s;
    mxcsr_at_fault = uc->uc_mcontext.fpregs ? uc->uc_mcontext.fpregs->mxcsr : 0;
    siglongjmp(jb, 1);
}

static int unhex(const char *s, unsigned char *out, int max)
{
    int n = 0;
    while (s[0] && s[1] && n < max && s[0] != ' ' && s[0] != '\n') {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (unsigned char)v;
        s += 2;
    }
    return n;
}

int main(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGFPE, &sa, 0);
    sigaction(SIGILL, &sa, 0);
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    unsigned char *code = mmap(0, 65536, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static char line[1 << 16];
    static unsigned char state[144] __attribute__((aligned(64)));
    setvbuf(stdout, 0, _IOFBF, 1 << 20);
    while (fgets(line, sizeof line, stdin)) {
        char *sp = strchr(line, ' ');
        if (!sp) { puts("BAD"); continue; }
        unhex(line, code, 65536);
        memset(state, 0, sizeof state);
        unhex(sp + 1, state, sizeof state);
        sig = 0;
        if (sigsetjmp(jb, 1) == 0) {
            ((void (*)(unsigned char *))code)(state);
            for (int i = 0; i < 144; i++) printf("%02x", state[i]);
            putchar('\n');
        } else {
            unsigned m = 0x1f80;
            __asm__ volatile("ldmxcsr %0" ::"m"(m)); /* the handler's return left the faulting MXCSR */
            __asm__ volatile("fninit; emms");
            if (sig == SIGFPE) printf("XM %08x\n", mxcsr_at_fault);
            else if (sig == SIGILL) puts("UD");
            else puts("GP");
        }
    }
    return 0;
}
