/* EFLAGS.TF single-stepping as the CPU and kernel deliver it: SIGTRAP with si_code TRAP_TRACE, si_addr and
 * eip = the next instruction, trapno 1. POPF setting TF traps only after the following instruction (SDM 17.3.1.4);
 * POPF clearing TF still traps after itself; INT $0x80 clears TF for the kernel and the IRET restoring it makes
 * the trap come after the first instruction at the return address; a handler that sets TF in uc_flags starts
 * tracing after the first instruction following sigreturn (FIX_EFLAGS lets TF through); after MOV SS the trap is
 * held until the next instruction has run (SDM 6.8.3), one trap for both. qemu-i386 does not
 * model TF on POPF/IRET like hardware, so this is checked against sig_trace.expected (the rules above). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>

extern char A1[], A2[], A3[], A4[], A5[], A6[], A7[], A8[], A9[];
extern char B0[], B1[], B2[], B3[], B4[], B5[];
extern char C1[], C2[], C3[], C4[], C5[], C6[], C7[];
static struct { const char *n; char *p; } labels[] = {
    {"A1", A1}, {"A2", A2}, {"A3", A3}, {"A4", A4}, {"A5", A5}, {"A6", A6}, {"A7", A7}, {"A8", A8}, {"A9", A9},
    {"B0", B0}, {"B1", B1}, {"B2", B2}, {"B3", B3}, {"B4", B4}, {"B5", B5},
    {"C1", C1}, {"C2", C2}, {"C3", C3}, {"C4", C4}, {"C5", C5}, {"C6", C6}, {"C7", C7},
};
static volatile uintptr_t trap_ip[32]; static volatile int trap_code[32], trap_no[32], ok_addr[32], n;

static void on_trap(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv; (void)sig;
    if (n < 32) {
        trap_ip[n] = uc->uc_mcontext.gregs[REG_EIP]; trap_code[n] = si->si_code;
        trap_no[n] = uc->uc_mcontext.gregs[REG_TRAPNO]; ok_addr[n] = (uintptr_t)si->si_addr == trap_ip[n];
        n++;
    }
}
static void on_usr1(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv; (void)sig; (void)si;
    uc->uc_mcontext.gregs[REG_EFL] |= 0x100;
}

static void dump(const char *what) {
    printf("%s: %d traps:", what, n);
    for (int i = 0; i < n; i++) {
        const char *name = "?";
        for (unsigned k = 0; k < sizeof labels / sizeof labels[0]; k++) if ((uintptr_t)labels[k].p == trap_ip[i]) name = labels[k].n;
        printf(" %s(code=%d trapno=%d addr_ok=%d)", name, trap_code[i], trap_no[i], ok_addr[i]);
    }
    printf("\n");
    n = 0;
}

int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, 0);
    sa.sa_sigaction = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    __asm__ volatile(
        "pushf\n\torl $0x100,(%%esp)\n\tpopf\n"
        "A1: nop\n"
        "A2: mov $20,%%eax\n"          /* getpid */
        "A3: int $0x80\n"
        "A4: nop\n"
        "A5: pushf\n"
        "A6: andl $~0x100,(%%esp)\n"
        "A7: popf\n"
        "A8: nop\n"
        "A9: nop\n" ::: "eax", "memory", "cc");
    dump("popf/int80");
    int me = getpid();
    __asm__ volatile(
        "mov %0,%%ebx\n\tmov %0,%%ecx\n\tmov $10,%%edx\n\tmov $270,%%eax\n" /* tgkill(me, me, SIGUSR1) */
        "B0: int $0x80\n"
        "B1: nop\n"
        "B2: pushf\n"
        "B3: andl $~0x100,(%%esp)\n"
        "B4: popf\n"
        "B5: nop\n" :: "m"(me) : "eax", "ebx", "ecx", "edx", "memory", "cc");
    dump("sigreturn sets TF");
    __asm__ volatile(
        "pushf\n\torl $0x100,(%%esp)\n\tpopf\n"
        "C1: mov %%ss,%%eax\n"
        "C2: mov %%eax,%%ss\n"        /* the single-step trap for this one waits for the next instruction */
        "C3: nop\n"
        "C4: pushf\n"
        "C5: andl $~0x100,(%%esp)\n"
        "C6: popf\n"
        "C7: nop\n" ::: "eax", "memory", "cc");
    dump("mov ss shadow");
    return 0;
}
