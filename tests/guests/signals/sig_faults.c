/* Synchronous signals from CPU exceptions: signal, si_code, si_addr, and sigcontext trapno/err/cr2 as
 * arch/x86/kernel/traps.c and mm/fault.c fill them. qemu-i386 does not report trapno/err/cr2 like the kernel
 * (and reports #GP-class faults differently), so this guest is checked against sig_faults.expected, written from
 * the kernel's rules: #PF → SEGV_MAPERR/SEGV_ACCERR, trapno 14, err = PF error code | USER, cr2 = address;
 * #GP (HLT, INT 0x81) → SIGSEGV SI_KERNEL, addr 0, trapno 13, err = selector error code (vector*8+2 for INT n);
 * #UD → SIGILL ILL_ILLOPN at the instruction; #DE → SIGFPE FPE_INTDIV; INT3 → SIGTRAP SI_KERNEL after the int3;
 * INTO → SIGSEGV SI_KERNEL trapno 4; BOUND → SIGSEGV SI_KERNEL trapno 5. The saved EFLAGS have RF set for
 * fault-class exceptions and not for traps (INT3, INTO), as the CPU pushes them (SDM 17.3.1.1). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <signal.h>
#include <setjmp.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int got_sig, got_code, got_trapno;
static volatile uintptr_t got_addr, got_err, got_cr2, got_eip, got_efl;

static void h(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    got_sig = sig; got_code = si->si_code; got_addr = (uintptr_t)si->si_addr;
    got_trapno = uc->uc_mcontext.gregs[REG_TRAPNO]; got_err = uc->uc_mcontext.gregs[REG_ERR];
    got_cr2 = uc->uc_mcontext.cr2; got_eip = uc->uc_mcontext.gregs[REG_EIP]; got_efl = uc->uc_mcontext.gregs[REG_EFL];
    siglongjmp(jb, 1);
}

extern char ud_at[], div_at[], int3_after[], hlt_at[], int81_at[];
static char *page;

#define TRY(name, code, ref) do { \
    if (!sigsetjmp(jb, 1)) { code; printf("%s: no signal\n", name); } \
    else printf("%s: sig=%d code=%#x addr=%s trapno=%d err=%#lx cr2=%s eip=%s rf=%d\n", name, got_sig, got_code, \
        got_addr == 0 ? "0" : got_addr == (uintptr_t)(ref) ? "ref" : "other", got_trapno, (unsigned long)got_err, \
        got_cr2 == (uintptr_t)(ref) ? "ref" : got_cr2 == 0 ? "0" : "other", \
        got_eip == (uintptr_t)(ref) ? "ref" : "other", (int)((got_efl >> 16) & 1)); \
} while (0)

int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, 0);
    page = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *unmapped = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(unmapped, 4096);
    TRY("read unmapped", (void)*(volatile int *)(unmapped + 16), unmapped + 16);
    TRY("write readonly", *(volatile int *)(page + 8) = 1, page + 8);
    TRY("exec nx", ((void (*)(void))(page + 32))(), page + 32);
    TRY("ud2", __asm__ volatile("ud_at: ud2"), ud_at);
    TRY("div0", __asm__ volatile("xor %%edx,%%edx; mov $1,%%eax; xor %%ecx,%%ecx; div_at: div %%ecx" ::: "eax", "ecx", "edx"), div_at);
    TRY("int3", __asm__ volatile("int3; int3_after: nop"), int3_after);
    TRY("hlt", __asm__ volatile("hlt_at: hlt"), hlt_at);
    TRY("int 0x81", __asm__ volatile("int81_at: int $0x81"), int81_at);
    TRY("into", __asm__ volatile("mov $0x7fffffff,%%eax; add $1,%%eax; into" ::: "eax", "cc"), 0);
    static int bounds[2] = { 0, 1 };
    TRY("bound", __asm__ volatile("mov $5,%%eax; bound %%eax,%0" :: "m"(bounds) : "eax"), 0);
    /* Blocked and ignored synchronous signals are forced: the default action (checked by the exit status). */
    printf("done\n");
    fflush(stdout);
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGSEGV); sigprocmask(SIG_BLOCK, &s, 0);
    *(volatile int *)(page + 8) = 1; /* blocked SIGSEGV from a fault still kills, with a core */
    printf("not reached\n");
    return 0;
}
