/* Instruction-stream fuzzer guest (issue #12). Reads test cases from a file, runs each on a code page at a fixed
 * address followed by int3, with every register set from the case and the data pages filled with a fixed
 * pattern; whatever ends the case (the final int3, or a fault of the code's own: SIGSEGV, SIGILL, SIGFPE,
 * SIGBUS, SIGTRAP) is caught, and one line is printed from the signal frame: signal, where, the eight registers,
 * the flags under the case's mask (the SDM's undefined flags are masked by the generator), a hash of the data
 * pages and the x87 state. compat32 must print the same lines as the reference (the real CPU or qemu-i386).
 *
 * usage: insnfuzz FILE   FILE: cases of { u32 flagmask, u32 regs[8] (eax ecx edx ebx esp ebp esi edi),
 *                                           u32 eflags, u32 len, u8 code[len] } */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <sys/auxv.h>
#include <stdlib.h>

#define CODE 0x20000000u
#define DATA 0x30000000u
#define DATA_LEN 0x3000u

static sigjmp_buf back;
uint32_t code_addr = CODE;
static volatile uint32_t mask;
static uint32_t regs_in[10];
static char line[512];

static uint32_t hash(const uint8_t *p, uint32_t n) { uint32_t h = 2166136261u; while (n--) h = (h ^ *p++) * 16777619u; return h; }

static void handler(int sig, siginfo_t *si, void *ucv)
{
    if (sig == SIGALRM || sig == SIGPROF) { snprintf(line, sizeof line, "timeout"); siglongjmp(back, 1); } /* the same everywhere: no registers */
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    uint32_t eip = g[REG_EIP];
    int n = snprintf(line, sizeof line, "sig %d eip %s%x", sig, eip - CODE < 0x1000 ? "+" : "", eip - CODE < 0x1000 ? eip - CODE : eip);
    if (sig == SIGSEGV || sig == SIGBUS) n += snprintf(line + n, sizeof line - n, " addr %x", (uint32_t)(uintptr_t)si->si_addr);
    n += snprintf(line + n, sizeof line - n, " eax %x ecx %x edx %x ebx %x esp %x ebp %x esi %x edi %x fl %x mem %x",
                  (uint32_t)g[REG_EAX], (uint32_t)g[REG_ECX], (uint32_t)g[REG_EDX], (uint32_t)g[REG_EBX], (uint32_t)g[REG_UESP],
                  (uint32_t)g[REG_EBP], (uint32_t)g[REG_ESI], (uint32_t)g[REG_EDI], (uint32_t)g[REG_EFL] & mask,
                  hash((const uint8_t *)DATA, DATA_LEN));
    struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    if (fp) {
        n += snprintf(line + n, sizeof line - n, " fcw %x fsw %x", (unsigned)fp->cw & 0xffff, (unsigned)fp->sw & 0xffff);
        for (int i = 0; i < 8; i++) {
            const uint16_t *s = (const uint16_t *)&fp->_st[i];
            n += snprintf(line + n, sizeof line - n, " %04x%04x%04x%04x%04x", s[4], s[3], s[2], s[1], s[0]);
        }
    }
    siglongjmp(back, 1);
}

/* Memory a random address may read besides the data pages, whose bytes differ between the host kernel and compat32
 * without saying anything about the CPU: the process stack (the auxv, which a newer host kernel makes longer, so
 * every frame below moves; AT_RANDOM; what startup and stdio left there, such as fstat of a pipe), and the signal
 * frames on the alternate stack (the kernel's xsave layout). So the cases run on a stack of their own in bss, the
 * process stack is zeroed from 64 KiB below main's frame to its top once, and the used part of both stacks before
 * every case. */
static uint8_t run_stack[1 << 18] __attribute__((aligned(16)));
static uintptr_t old_lo, old_hi;
static const char *case_file;
static int run(void);

static void __attribute__((noreturn, noinline)) on_run_stack(void)
{
    memset((void *)old_lo, 0, old_hi - old_lo);
    fflush(stdout);
    exit(run());
}

static void __attribute__((noinline)) scrub_below(void)
{
    char a[16384];
    memset(a, 0, sizeof a);
    __asm__ volatile("" : : "r"(a) : "memory");
}

/* load every register and jump to the code; the signal handler brings us back */
static void enter(void)
{
    __asm__ volatile(
        "fninit\n"
        "mov regs_in+32,%%eax\npush %%eax\npopf\n"
        "mov regs_in+0,%%eax\nmov regs_in+4,%%ecx\nmov regs_in+8,%%edx\nmov regs_in+12,%%ebx\n"
        "mov regs_in+20,%%ebp\nmov regs_in+24,%%esi\nmov regs_in+28,%%edi\nmov regs_in+16,%%esp\n"
        "jmp *code_addr\n" : : : "memory");
}

/* [vvar] and [vdso] differ between kernels (a newer host has more vvar pages, some of which SIGBUS; the vDSO code is
 * another build), so a random address there says nothing about the CPU: they are unmapped, and libc's system calls
 * (through %gs:0x10, the TCB's sysinfo, normally __kernel_vsyscall) go through int $0x80 instead. */
void int80(void);
__asm__(".text\nint80:\nint $0x80\nret\n");
static void drop_vdso(void)
{
    __asm__ volatile("movl %0,%%gs:0x10" : : "r"(int80) : "memory");
    FILE *f = fopen("/proc/self/maps", "r");
    char l[256];
    unsigned long lo[8], hi[8];
    int n = 0;
    while (f && n < 8 && fgets(l, sizeof l, f))
        if ((strstr(l, "[vvar") || strstr(l, "[vdso]")) && sscanf(l, "%lx-%lx", &lo[n], &hi[n]) == 2) n++;
    if (f) fclose(f);
    for (int i = 0; i < n; i++) munmap((void *)lo[i], hi[i] - lo[i]);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    static char file[4096];
    strncpy(file, argv[1], sizeof file - 1);
    case_file = file;
    const char *fn = (const char *)getauxval(AT_EXECFN);
    if (!fn) return 2;
    old_hi = ((uintptr_t)fn + strlen(fn) + 1 + 4095) & ~(uintptr_t)4095; /* fs/exec.c: the name ends the stack */
    old_lo = ((uintptr_t)&fn & ~(uintptr_t)4095) - 65536;
    drop_vdso();
    __asm__ volatile("mov %0,%%esp\ncall *%1" : : "r"(run_stack + sizeof run_stack - 16), "r"(on_run_stack) : "memory");
    __builtin_unreachable();
}

static int run(void)
{
    int fd = open(case_file, O_RDONLY);
    if (fd < 0) return 2;
    static uint8_t buf[1 << 20];
    int len = read(fd, buf, sizeof buf);
    close(fd);
    if (mmap((void *)CODE, 0x2000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) return 2;
    if (mmap((void *)DATA, DATA_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) return 2;
    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    sigaltstack(&ss, 0);
    struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
    sigemptyset(&sa.sa_mask);
    int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP, SIGALRM, SIGPROF };
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, 0);
    static uint8_t pattern[DATA_LEN];
    for (uint32_t i = 0; i < DATA_LEN; i++) pattern[i] = (uint8_t)(i * 13 + 5);
    int pos = 0, n = 0;
    while (pos + 44 <= len) {
        uint32_t *h = (uint32_t *)(buf + pos);
        uint32_t clen = h[10];
        if (clen > 0x1000 - 1 || pos + 44 + clen > (uint32_t)len) break;
        mask = h[0];
        memcpy(regs_in, h + 1, 36);
        memset((void *)CODE, 0xcc, 0x2000);
        memcpy((void *)CODE, buf + pos + 44, clen);
        memcpy((void *)DATA, pattern, DATA_LEN);
        pos += 44 + clen;
        memset(altstack + sizeof altstack - 16384, 0, 16384); /* where the signal frame goes */
        scrub_below();
        struct itimerval on = { .it_value = { .tv_sec = 5 } }, wall = { .it_value = { .tv_sec = 30 } }, off = { 0 };
        /* a case ends after 5 s of CPU time (a long REP), or 30 s of wall time (a task the host kernel sleeps, such
           as a throttled bus lock); CPU time, and a long one, so that a loaded machine does not end a case early on
           one side only (a long run on a machine at load 47 did; compat32 counts ITIMER_PROF in wall time) */
        setitimer(ITIMER_PROF, &on, 0);
        setitimer(ITIMER_REAL, &wall, 0);
        if (sigsetjmp(back, 1) == 0) enter();
        setitimer(ITIMER_REAL, &off, 0);
        setitimer(ITIMER_PROF, &off, 0);
        printf("%d %s\n", n++, line);
    }
    printf("cases %d\n", n);
    return 0;
}
