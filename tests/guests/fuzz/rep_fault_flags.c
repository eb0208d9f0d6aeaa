/* REPE/REPNE CMPS and SCAS that fault after some iterations (found by the instruction fuzzer): ECX/ESI/EDI say how
 * far it got; EFLAGS are still those from before the instruction on the Intel host, those of the last completed
 * comparison on the AMD host. Each model does as its vendor. */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf back;
static volatile uint32_t fl, ecx;
static void handler(int sig, siginfo_t *si, void *ucv)
{
    greg_t *g = ((ucontext_t *)ucv)->uc_mcontext.gregs;
    fl = g[REG_EFL] & 0xcd5; ecx = g[REG_ECX];
    (void)si;
    siglongjmp(back, sig);
}

uint32_t a_in, c_in, s_in, d_in, f_in, code_ptr;

int main(void)
{
    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    sigaltstack(&ss, 0);
    struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
    sigaction(SIGSEGV, &sa, 0);
    uint8_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *p = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p + 4096, 4096);
    memset(p, 0x11, 4096);
    code_ptr = (uint32_t)(uintptr_t)code;
    uint32_t end = (uint32_t)(uintptr_t)p + 4096;
    static const struct { const char *name; uint8_t prefix, op; uint32_t eax, flags; } t[] = {
        { "repne scasd", 0xf2, 0xaf, 0, 0x8c2 }, { "repne scasb", 0xf2, 0xae, 0, 0x0c3 }, { "repe scasd", 0xf3, 0xaf, 0x11111111, 0x002 },
        { "repe cmpsd", 0xf3, 0xa7, 0, 0x8d7 }, { "repne cmpsb", 0xf2, 0xa6, 0, 0x002 },
    };
    for (unsigned i = 0; i < sizeof t / sizeof *t; i++) {
        code[0] = t[i].prefix; code[1] = t[i].op; code[2] = 0xc3;
        a_in = t[i].eax; c_in = 0x10000; f_in = t[i].flags;
        d_in = end - 64; s_in = (uint32_t)(uintptr_t)p + 64;
        if (t[i].op == 0xa6 || t[i].op == 0xa7) { s_in = end - 64; d_in = (uint32_t)(uintptr_t)p; }
        int sig = sigsetjmp(back, 1);
        if (!sig)
            __asm__ volatile("push %%ebp\npush %%ebx\npush %%esi\npush %%edi\n"
                             "push f_in\npopf\nmov a_in,%%eax\nmov c_in,%%ecx\nmov s_in,%%esi\nmov d_in,%%edi\n"
                             "call *code_ptr\npushf\npop f_in\nmov %%ecx,c_in\npop %%edi\npop %%esi\npop %%ebx\npop %%ebp"
                             : : : "eax", "ecx", "edx", "memory", "cc");
        printf("%-12s sig %d flags before %03x after %03x, %u iterations\n", t[i].name, sig, t[i].flags & 0xcd5,
               sig ? fl : f_in & 0xcd5, 0x10000 - (sig ? ecx : c_in));
    }
    return 0;
}
