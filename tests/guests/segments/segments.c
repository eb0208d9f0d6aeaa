/* Segments and exact single-stepping (issue 14), compared with the host kernel running it natively.
 * Each case prints what a program can see: registers, trap numbers and error codes from the sigcontext. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <setjmp.h>
#include <unistd.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <asm/ldt.h>

static sigjmp_buf jb;
static volatile int steps;
static volatile unsigned step_ecx[16];

static void fault(int sig, siginfo_t *si, void *c)
{
    ucontext_t *u = c;
    printf("  signal %d code %d trapno %d err %#x\n", sig, si->si_code,
           (int)u->uc_mcontext.gregs[REG_TRAPNO], (unsigned)u->uc_mcontext.gregs[REG_ERR]);
    siglongjmp(jb, 1);
}

static void trap(int sig, siginfo_t *si, void *c)
{
    ucontext_t *u = c;
    if (steps < 16) step_ecx[steps] = u->uc_mcontext.gregs[REG_ECX];
    steps++;
}

static void on(int sig, void (*h)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(sig, &sa, 0);
}

static int set_ldt(int entry, unsigned base, unsigned limit, int seg32, int contents, int ro, int pages, int np)
{
    struct user_desc d = { .entry_number = entry, .base_addr = base, .limit = limit, .seg_32bit = seg32,
        .contents = contents, .read_exec_only = ro, .limit_in_pages = pages, .seg_not_present = np };
    return syscall(SYS_modify_ldt, 0x11, &d, sizeof d);
}

#define LDT(i) (((i) << 3) | 7)

static int far_target(void) { return 42; }
extern char lret_target[], lret16_target[];
asm(".text\n lret_target: movl $7, %eax\n lret\n"
    " lret16_target: movl $9, %eax\n lretw\n");

static void far_transfers(void)
{
    unsigned short cs;
    asm volatile("mov %%cs, %0" : "=r"(cs));
    int r;
    /* push %cs; call f; f ends in lret */
    asm volatile("push %%cs\n call lret_target" : "=a"(r) : : "memory");
    printf("lret: %d\n", r);
    /* lcall m16:32 */
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) p = { (unsigned)lret_target, cs };
    asm volatile("lcall *%1" : "=a"(r) : "m"(p) : "memory");
    printf("lcall m16:32: %d\n", r);
    /* lret $4 drops an argument */
    unsigned sp0, sp1;
    asm volatile("mov %%esp, %0\n push $0x1234\n push %%cs\n push $1f\n lret $4\n 1: mov %%esp, %1"
                 : "=&r"(sp0), "=&r"(sp1) : : "memory");
    printf("lret $4: esp delta %d\n", (int)(sp0 - sp1));
    /* ljmp ptr16:32 through a far pointer in memory */
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) j;
    asm volatile("movl $1f, %0\n movw %%cs, %1\n ljmp *%0\n 1:" : "=m"(j.off), "=m"(j.sel) : : "memory");
    printf("ljmp m16:32 ok\n");
    /* 16-bit operand size: lretw pops IP and CS as words (the target must lie below 64 KiB: it faults #GP(0)
       past the limit only if the offset were truncated wrongly; here the truncated offset is the check) */
    (void)far_target;
    /* far transfers that fault: a null selector, a data segment, the GDT's kernel code */
    static const unsigned short bad[] = { 0x0, 0x2b, 0x10, 0x7 };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (sigsetjmp(jb, 1) == 0) {
            struct { unsigned off; unsigned short sel; } __attribute__((packed)) q = { (unsigned)lret_target, bad[i] };
            printf("ljmp to %#x:\n", bad[i]);
            asm volatile("ljmp *%0" : : "m"(q));
        }
    }
}

static void lar_lsl(void)
{
    static const unsigned short sels[] = { 0x23, 0x2b, 0x33, 0x10, 0x0, 0x3, LDT(0), LDT(1), LDT(2), LDT(3), LDT(100) };
    for (unsigned i = 0; i < sizeof sels / sizeof sels[0]; i++) {
        unsigned ar = 0, lim = 0, ok1 = 0, ok2 = 0, r = 0, w = 0;
        asm("lar %2, %0\n setz %b1" : "=r"(ar), "=q"(ok1) : "r"((unsigned)sels[i]));
        asm("lsl %2, %0\n setz %b1" : "=r"(lim), "=q"(ok2) : "r"((unsigned)sels[i]));
        asm("verr %1\n setz %b0" : "=q"(r) : "r"((unsigned short)sels[i]));
        asm("verw %1\n setz %b0" : "=q"(w) : "r"((unsigned short)sels[i]));
        printf("sel %#06x: lar %d %#010x lsl %d %#010x verr %d verw %d\n", sels[i], ok1 & 1, (ok1 & 1) ? ar & ~0xF0000u : 0,
               ok2 & 1, (ok2 & 1) ? lim : 0, r & 1, w & 1);
    }
}

static char buf[64] __attribute__((aligned(16)));

static void ldt_loads(void)
{
    for (int i = 0; i < 16; i++) buf[i] = 'a' + i;
    printf("modify_ldt: %d %d %d %d\n",
           set_ldt(0, (unsigned)buf + 4, 7, 1, 0, 0, 0, 0),    /* 8-byte data window at buf+4 */
           set_ldt(1, (unsigned)buf, 15, 1, 0, 0, 0, 1),       /* not present */
           set_ldt(2, (unsigned)buf, 15, 1, 0, 1, 0, 0),       /* read-only */
           set_ldt(3, (unsigned)buf + 8, 3, 1, 1, 0, 0, 0));   /* expand-down, limit 3 */
    struct user_desc rd[4];
    memset(rd, 0xff, sizeof rd);
    printf("read_ldt: %ld\n", syscall(SYS_modify_ldt, 0, rd, sizeof rd));
    unsigned char bb[16];
    printf("read_default_ldt: %ld\n", syscall(SYS_modify_ldt, 2, bb, sizeof bb));
    struct user_desc big = { .entry_number = 8192 };
    printf("entry 8192: %ld\n", syscall(SYS_modify_ldt, 0x11, &big, sizeof big));
    printf("bad size: %ld\n", syscall(SYS_modify_ldt, 0x11, &big, 12));
    struct user_desc conf = { .entry_number = 5, .contents = 3, .seg_32bit = 1 };
    printf("conforming present: %ld\n", syscall(SYS_modify_ldt, 0x11, &conf, sizeof conf));
    printf("func 7: %ld\n", syscall(SYS_modify_ldt, 7, &conf, sizeof conf));
    unsigned v = 0;
    asm volatile("push %%fs\n mov %1, %%fs\n movl %%fs:0, %0\n pop %%fs" : "=r"(v) : "r"(LDT(0)));
    printf("fs:0 via LDT: %.4s\n", (char *)&v);
    static const struct { unsigned short sel; unsigned off; int write; const char *what; } acc[] = {
        { LDT(0), 4, 0, "read at the limit" }, { LDT(0), 5, 0, "read past the limit" },
        { LDT(1), 0, 0, "load a not-present segment" }, { LDT(2), 0, 1, "write a read-only segment" },
        { LDT(3), 4, 0, "expand-down above the limit" }, { LDT(3), 2, 0, "expand-down at the limit" },
        { LDT(9), 0, 0, "load an empty entry" },
    };
    for (unsigned i = 0; i < sizeof acc / sizeof acc[0]; i++) {
        printf("%s:\n", acc[i].what);
        if (sigsetjmp(jb, 1) == 0) {
            unsigned x = 0;
            if (acc[i].write) asm volatile("mov %1, %%fs\n movl %2, %%fs:(%3)" : "=m"(x) : "r"((unsigned)acc[i].sel), "r"(1), "r"(acc[i].off));
            else asm volatile("mov %1, %%fs\n movl %%fs:(%2), %0" : "=r"(x) : "r"((unsigned)acc[i].sel), "r"(acc[i].off));
            printf("  value %#x\n", x);
        }
    }
}

static void rep_single_step(void)
{
    char src[8] = "abcdefg", dst[8] = { 0 };
    unsigned c = 3;
    steps = 0;
    asm volatile("pushf\n orl $0x100, (%%esp)\n popf\n"
                 "rep movsb\n"
                 "pushf\n andl $~0x100, (%%esp)\n popf\n"
                 : "+c"(c) : "S"(src), "D"(dst) : "memory");
    printf("rep movsb ecx=3: %d traps, ecx at each:", steps);
    for (int i = 0; i < steps && i < 16; i++) printf(" %u", step_ecx[i]);
    printf("\n");
    char a[4] = "abcd", b[4] = "abcd";
    c = 4; steps = 0;
    asm volatile("pushf\n orl $0x100, (%%esp)\n popf\n"
                 "repe cmpsb\n"
                 "pushf\n andl $~0x100, (%%esp)\n popf\n"
                 : "+c"(c) : "S"(a), "D"(b) : "memory", "cc");
    printf("repe cmpsb ecx=4: %d traps, ecx at each:", steps);
    for (int i = 0; i < steps && i < 16; i++) printf(" %u", step_ecx[i]);
    printf("\n");
    c = 0; steps = 0;
    asm volatile("pushf\n orl $0x100, (%%esp)\n popf\n"
                 "rep stosb\n"
                 "pushf\n andl $~0x100, (%%esp)\n popf\n"
                 : "+c"(c) : "D"(dst), "a"(0) : "memory");
    printf("rep stosb ecx=0: %d traps\n", steps);
}

static void fpu_env16(void)
{
    unsigned char env[40], sav[120];
    memset(env, 0xee, sizeof env);
    memset(sav, 0xee, sizeof sav);
    asm volatile("fninit\n fld1\n fldpi\n data16 fnstenv %0\n fldcw %0" : "=m"(env) : : "memory");
    /* Bytes 8-9 and 12-13 (FPU CS and DS) are left out: this model stores CS, parts that deprecate them store 0. */
    static const int shown[] = { 0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 14, 15 };
    printf("fnstenv16:");
    for (int i = 0; i < 12; i++) printf(" %02x", env[shown[i]]);
    printf("\n");
    asm volatile("fninit\n fld1\n data16 fnsave %0" : "=m"(sav) : : "memory");
    printf("fnsave16:");
    for (int i = 0; i < 10; i++) printf(" %02x", sav[shown[i]]);
    printf(" | st0:");
    for (int i = 14; i < 24; i++) printf(" %02x", sav[i]);
    printf(" |");
    for (int i = 94; i < 98; i++) printf(" %02x", sav[i]);
    printf("\n");
    unsigned short cw = 0;
    asm volatile("fninit\n data16 frstor %1\n fnstcw %0\n fstp %%st(0)" : "=m"(cw) : "m"(sav));
    unsigned char env32[28];
    asm volatile("data16 fldenv %1\n fnstenv %0" : "=m"(env32) : "m"(env));
    printf("frstor16 cw %#x; fldenv16 then fnstenv32 cw/sw/tw:", cw);
    for (int i = 0; i < 12; i++) printf(" %02x", env32[i]);
    printf("\n");
    asm volatile("fninit");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, 0, _IONBF, 0);
    on(SIGSEGV, fault); on(SIGBUS, fault); on(SIGILL, fault);
    on(SIGTRAP, trap);
    const char *what = argc > 1 ? argv[1] : "all";
    if (!strcmp(what, "all") || !strcmp(what, "far")) far_transfers();
    if (!strcmp(what, "all") || !strcmp(what, "ldt")) ldt_loads();
    if (!strcmp(what, "all") || !strcmp(what, "lar")) lar_lsl();
    if (!strcmp(what, "all") || !strcmp(what, "rep")) rep_single_step();
    if (!strcmp(what, "all") || !strcmp(what, "fpu")) fpu_env16();
    return 0;
}
