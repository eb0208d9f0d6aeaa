/* Signal delivery and sigreturn: SA_SIGINFO and legacy frames, what the handler sees (signo, siginfo, ucontext,
 * alignment, flags), registers and FPU state restored by sigreturn, SA_RESETHAND, SA_NODEFER, sa_mask,
 * sigprocmask/sigpending, kill/tkill/tgkill/sigqueue siginfo, rt-signal queueing, sigsuspend, sigtimedwait,
 * signalfd, sigaltstack (SA_ONSTACK, AT_MINSIGSTKSZ). Checked against sig_frames.expected, which is qemu-i386's
 * output except for four lines where qemu-i386 does not do what the kernel does:
 *  - AT_MINSIGSTKSZ: the kernel puts it in the auxv (fs/binfmt_elf.c ARCH_DLINFO), qemu-i386 does not;
 *  - onstack: with SA_ONSTACK and a 2048-byte+ stack the kernel's frame is on it (get_sigframe/sigsp);
 *  - aligned: get_sigframe aligns so that (sp + 4) % 16 == 0 at handler entry; qemu-i386 does not;
 *  - fpu: the kernel restores the interrupted x87 state (control word, stack) from the fsave header on
 *    sigreturn (fpu__restore_sig); qemu-i386 leaves the handler's. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <errno.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <sys/signalfd.h>
#include <sys/auxv.h>
#include <time.h>

static volatile int hits, depth, maxdepth, seen_sig, seen_code, seen_pid_ok, seen_val;
static volatile uintptr_t seen_sp;
static volatile unsigned seen_mask_usr2;

static volatile int order[8][2], order_n, record;
static void h_info(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    hits++;
    if (record && order_n < 8) { order[order_n][0] = sig; order[order_n][1] = sig == SIGRTMIN ? si->si_value.sival_int : si->si_code; order_n++; }
    seen_sig = sig; seen_code = si->si_code; seen_pid_ok = si->si_pid == getpid(); seen_val = si->si_value.sival_int;
    uintptr_t sp; __asm__ volatile("mov %%esp,%0" : "=r"(sp));
    seen_sp = sp;
    sigset_t cur; sigprocmask(SIG_BLOCK, 0, &cur);
    seen_mask_usr2 = sigismember(&cur, SIGUSR2) * 2 + sigismember(&cur, sig);
    (void)uc;
}

static void h_legacy(int sig) { hits++; seen_sig = sig; }

static volatile int raised;
static void h_nest(int sig) {
    depth++; if (depth > maxdepth) maxdepth = depth;
    if (raised < 2) { raised++; raise(sig); }
    depth--; hits++;
}

static int entry_align_ok = 1;
static void h_align(int sig, siginfo_t *si, void *uc) {
    /* i386 ABI: at function entry (sp + 4) % 16 == 0, i.e. the return address is at a 16n-4 address. */
    uintptr_t fa = (uintptr_t)__builtin_frame_address(0) + 4; /* where the return address sits */
    if ((fa + 4) % 16 != 0) entry_align_ok = 0;
    (void)sig; (void)si; (void)uc;
}

static volatile unsigned short h_fcw; static volatile int h_ftop_empty;
static void h_fpu(int sig) {
    unsigned short cw, sw; __asm__ volatile("fnstcw %0; fnstsw %1" : "=m"(cw), "=m"(sw));
    h_fcw = cw; h_ftop_empty = (sw >> 11) & 7;
    volatile double x = 3.0; x = x * 7.0; (void)x;
    __asm__ volatile("fninit; fldpi; fldpi; fldpi"); /* leave junk: sigreturn must restore ours */
    (void)sig;
}

static void h_modify(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    uc->uc_mcontext.gregs[REG_EBX] = 0x12345678; /* sigreturn restores from the frame */
    uc->uc_mcontext.gregs[REG_EFL] |= 0x400 | 0x40000; /* DF is FIX_EFLAGS, AC too */
    (void)sig; (void)si;
}

static void set(int sig, void *h, int flags, int maskusr2) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h; sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask); if (maskusr2) sigaddset(&sa.sa_mask, SIGUSR2);
    if (sigaction(sig, &sa, 0)) perror("sigaction");
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    /* 1. SA_SIGINFO, kill: si_code SI_USER, pid; handler mask has sig + sa_mask */
    set(SIGUSR1, h_info, SA_SIGINFO, 1);
    kill(getpid(), SIGUSR1);
    printf("kill: hits=%d sig=%d code=%d pid_ok=%d mask=%u\n", hits, seen_sig, seen_code, seen_pid_ok, seen_mask_usr2);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    printf("tgkill: sig=%d code=%d pid_ok=%d\n", seen_sig, seen_code, seen_pid_ok);
    syscall(SYS_tkill, syscall(SYS_gettid), SIGUSR1);
    printf("tkill: sig=%d code=%d\n", seen_sig, seen_code);
    union sigval v = { .sival_int = 4242 };
    sigqueue(getpid(), SIGUSR1, v);
    printf("sigqueue: code=%d val=%d\n", seen_code, seen_val);
    sigset_t cur; sigprocmask(SIG_BLOCK, 0, &cur);
    printf("mask restored: usr1=%d usr2=%d\n", sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2));

    /* 2. legacy frame, SA_RESETHAND */
    hits = 0;
    set(SIGUSR2, h_legacy, SA_RESETHAND, 0);
    raise(SIGUSR2);
    struct sigaction old; sigaction(SIGUSR2, 0, &old);
    printf("resethand: hits=%d sig=%d now_dfl=%d\n", hits, seen_sig, old.sa_handler == SIG_DFL);

    /* 3. SA_NODEFER nesting vs default deferral */
    hits = depth = maxdepth = raised = 0;
    set(SIGUSR2, h_nest, SA_NODEFER, 0);
    raise(SIGUSR2);
    printf("nodefer: hits=%d maxdepth=%d\n", hits, maxdepth);
    hits = depth = maxdepth = raised = 0;
    set(SIGUSR2, h_nest, 0, 0);
    raise(SIGUSR2);
    printf("defer: hits=%d maxdepth=%d\n", hits, maxdepth);

    /* 4. blocking, pending, rt queueing vs legacy coalescing */
    sigset_t s; sigemptyset(&s); sigaddset(&s, SIGUSR1); sigaddset(&s, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &s, 0);
    hits = 0;
    set(SIGRTMIN, h_info, SA_SIGINFO, 0);
    for (int i = 0; i < 3; i++) { raise(SIGUSR1); v.sival_int = i; sigqueue(getpid(), SIGRTMIN, v); }
    order_n = 0; record = 1;
    sigset_t p; sigpending(&p);
    printf("pending: usr1=%d rtmin=%d usr2=%d hits=%d\n", sigismember(&p, SIGUSR1), sigismember(&p, SIGRTMIN), sigismember(&p, SIGUSR2), hits);
    sigprocmask(SIG_UNBLOCK, &s, 0);
    record = 0;
    printf("after unblock: hits=%d order:", hits);
    for (int i = 0; i < order_n; i++) printf(" %d/%d", order[i][0], order[i][1]);
    printf("\n");

    /* 5. sigsuspend with a timer */
    hits = 0;
    set(SIGALRM, h_info, SA_SIGINFO, 0);
    sigemptyset(&s); sigaddset(&s, SIGALRM); sigprocmask(SIG_BLOCK, &s, 0);
    struct itimerspec its = { {0, 0}, {0, 20000000} };
    timer_t tid; struct sigevent sev; memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL; sev.sigev_signo = SIGALRM; sev.sigev_value.sival_int = 77;
    timer_create(CLOCK_MONOTONIC, &sev, &tid);
    timer_settime(tid, 0, &its, 0);
    sigset_t empty; sigemptyset(&empty);
    int r = sigsuspend(&empty);
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("sigsuspend: r=%d errno=%d hits=%d code=%d val=%d alrm_blocked_again=%d\n", r, errno, hits, seen_code, seen_val, sigismember(&cur, SIGALRM));

    /* 6. sigtimedwait: pending one, then a timeout */
    raise(SIGALRM);
    siginfo_t si; struct timespec ts = {0, 10000000};
    r = sigtimedwait(&s, &si, &ts);
    printf("sigtimedwait: r=%d code=%d\n", r, si.si_code);
    r = sigtimedwait(&s, &si, &ts);
    printf("sigtimedwait timeout: r=%d errno=%d\n", r, errno);
    timer_settime(tid, 0, &its, 0);
    r = sigwaitinfo(&s, &si);
    printf("sigwaitinfo timer: r=%d code=%d val=%d\n", r, si.si_code, si.si_value.sival_int);

    /* 7. signalfd */
    int fd = signalfd(-1, &s, SFD_CLOEXEC);
    timer_settime(tid, 0, &its, 0);
    struct signalfd_siginfo ssi;
    ssize_t n = read(fd, &ssi, sizeof ssi);
    printf("signalfd: n=%d signo=%u code=%d int=%d\n", (int)n, ssi.ssi_signo, ssi.ssi_code, ssi.ssi_int);
    int fd2 = signalfd(-1, &s, SFD_NONBLOCK);
    n = read(fd2, &ssi, sizeof ssi);
    printf("signalfd nonblock: n=%d errno=%d\n", (int)n, errno);
    close(fd); close(fd2);
    timer_delete(tid);
    sigprocmask(SIG_UNBLOCK, &s, 0);

    /* 8. sigaltstack with SA_ONSTACK, AT_MINSIGSTKSZ-sized */
    unsigned long minsz = getauxval(AT_MINSIGSTKSZ);
    printf("AT_MINSIGSTKSZ present=%d\n", minsz > 0);
    if (minsz < 2048) minsz = 2048; /* MINSIGSTKSZ is the floor sigaltstack accepts */
    char *alt = malloc(minsz);
    stack_t ss = { .ss_sp = alt, .ss_size = minsz, .ss_flags = 0 }, os;
    printf("sigaltstack: %d\n", sigaltstack(&ss, &os));
    printf("old: flags=%d\n", os.ss_flags);
    stack_t small = { .ss_sp = alt, .ss_size = 1024, .ss_flags = 0 };
    r = sigaltstack(&small, 0);
    printf("too small: r=%d errno=%d\n", r, errno);
    set(SIGUSR1, h_info, SA_SIGINFO | SA_ONSTACK, 0);
    raise(SIGUSR1);
    printf("onstack: in_alt=%d\n", seen_sp >= (uintptr_t)alt && seen_sp < (uintptr_t)alt + minsz);
    set(SIGUSR1, h_info, SA_SIGINFO, 0);
    raise(SIGUSR1);
    printf("not onstack: in_alt=%d\n", seen_sp >= (uintptr_t)alt && seen_sp < (uintptr_t)alt + minsz);
    ss.ss_flags = SS_DISABLE; sigaltstack(&ss, 0); sigaltstack(0, &os);
    printf("disabled: flags=%d\n", os.ss_flags);

    /* 9. alignment, FPU state at entry and after return, register changes via ucontext */
    set(SIGUSR1, h_align, SA_SIGINFO, 0);
    for (int i = 0; i < 4; i++) { volatile char pad[i * 4 + 1]; pad[0] = 0; raise(SIGUSR1); (void)pad; }
    printf("aligned: %d\n", entry_align_ok);
    int me = getpid();
    set(SIGUSR1, h_fpu, 0, 0);
    volatile double a = 1.5, b;
    unsigned short mycw = 0x27f, cw;
    double top0, top1;
    /* One asm block so nothing else touches the x87 stack: fld1; fldz; tgkill(me, me, SIGUSR1); fstp; fstp */
    __asm__ volatile("fldcw %4\n\tfld1\n\tfldz\n\tpush %%ebx\n\tmov %3, %%ebx\n\tmov %3, %%ecx\n\tmov %5, %%edx\n\t"
                     "mov %6, %%eax\n\tint $0x80\n\tpop %%ebx\n\tfstpl %0\n\tfstpl %1\n\tfnstcw %2"
                     : "=m"(top0), "=m"(top1), "=m"(cw) : "m"(me), "m"(mycw), "i"(SIGUSR1), "i"(SYS_tgkill) : "eax", "ecx", "edx", "memory");
    b = a * 2;
    printf("fpu: handler_cw=%#x top=%d after: cw=%#x st0=%g st1=%g b=%g\n", h_fcw, h_ftop_empty, cw, top0, top1, (double)b);
    mycw = 0x37f; __asm__ volatile("fldcw %0" :: "m"(mycw));
    set(SIGUSR1, h_modify, SA_SIGINFO, 0);
    unsigned ebx_after, fl;
    
    __asm__ volatile("push %%ebx\n\tmov %2, %%ebx\n\tmov %2, %%ecx\n\tmov %3, %%edx\n\tmov %4, %%eax\n\t"
                     "int $0x80\n\tmov %%ebx, %0\n\tpushf\n\tpop %1\n\tcld\n\tpop %%ebx"
                     : "=&r"(ebx_after), "=&r"(fl) : "m"(me), "i"(SIGUSR1), "i"(SYS_tgkill) : "eax", "ecx", "edx", "memory");
    printf("modified: ebx=%#x df=%d ac=%d\n", ebx_after, !!(fl & 0x400), !!(fl & 0x40000));
    __asm__ volatile("pushf; andl $~0x40000,(%%esp); popf" ::: "memory");
    printf("done\n");
    return 0;
}
