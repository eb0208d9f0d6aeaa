/* What the instruction fuzzer's long run found (issue #12), against the host CPU: privileged instructions at CPL 3
 * (LMSW raised #UD, not #GP), FCOMI with #IA unmasked (EFLAGS left alone), FPREM/FPREM1 without a quotient (C0 C3
 * cleared), a memory operand against a NaN (the SNaN chosen, #D reported), FSTP1 from an empty ST(0) (copied the
 * empty register), shifts/rotates of a read-only operand (no fault for a count of 0; the flags written before
 * the faulting store), ARPL (wrote, or checked CS for a write, even when it leaves the RPL alone), and BT* with a
 * register bit offset and 16-bit addressing (the address did not wrap at 64 KiB). */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf back;
static volatile uint32_t fault_addr, fault_fl;
static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    fault_addr = (uint32_t)(uintptr_t)si->si_addr;
    fault_fl = uc->uc_mcontext.gregs[REG_EFL] & 0x8d5;
    siglongjmp(back, sig);
}

static uint8_t *code, *ro;

/* runs bytes followed by ret with ecx = count, eflags arithmetic bits = fl; prints the signal */
static void run(const char *name, const uint8_t *b, int n, uint32_t ecx, uint32_t fl)
{
    memcpy(code, b, n);
    code[n] = 0xc3;
    int sig = sigsetjmp(back, 1);
    if (!sig) {
        uint32_t eax = 0, edx = (uint32_t)(uintptr_t)ro;
        __asm__ volatile("push %3\npopf\ncall *%4" : "+a"(eax), "+c"(ecx), "+d"(edx) : "r"(0x202 | fl), "r"(code)
                         : "memory", "cc");
        printf("%-34s no signal\n", name);
        return;
    }
    printf("%-34s sig %d addr %s%x fl %x\n", name, sig, fault_addr - (uint32_t)(uintptr_t)ro < 4096 ? "ro+" : "",
           fault_addr - (uint32_t)(uintptr_t)ro < 4096 ? fault_addr - (uint32_t)(uintptr_t)ro : fault_addr, fault_fl);
}

static uint16_t cw_unmasked = 0x37e;
static double one = 1.0, three = 3.0, qnan;

#define SW(name, body) do { uint16_t sw; \
    __asm__ volatile("fninit\n" body "\nfnstsw %0\nfnclex\nfninit" : "=m"(sw) \
                     : [one] "m"(one), [three] "m"(three), [qn] "m"(qnan), [cw] "m"(cw_unmasked)); \
    printf("%-40s sw %04x\n", name, sw); } while (0)

#define FL(name, body) do { uint32_t fl; \
    __asm__ volatile("fninit\nfldcw %[cw]\n" body "\npushf\npop %0\nfnclex\nfninit" : "=r"(fl) \
                     : [qn] "m"(qnan), [cw] "m"(cw_unmasked) : "eax", "cc"); \
    printf("%-40s fl %x\n", name, fl & 0x8d5); } while (0)

int main(void)
{
    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    sigaltstack(&ss, 0);
    struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, 0); sigaction(SIGILL, &sa, 0); sigaction(SIGBUS, &sa, 0);
    code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(ro, 0x5a, 4096);
    mprotect(ro, 4096, PROT_READ);

    /* privileged at CPL 3: #GP(0), SIGSEGV with address 0, before any memory operand is touched */
    run("lmsw ax", (uint8_t[]){ 0x0f, 0x01, 0xf0 }, 3, 0, 0);
    run("lmsw [0x10]", (uint8_t[]){ 0x0f, 0x01, 0x35, 0x10, 0, 0, 0 }, 7, 0, 0);
    run("lmsw [edx] (read-only page)", (uint8_t[]){ 0x0f, 0x01, 0x32 }, 3, 0, 0);
    run("clts", (uint8_t[]){ 0x0f, 0x06 }, 2, 0, 0);
    run("hlt", (uint8_t[]){ 0xf4 }, 1, 0, 0);
    run("wbinvd", (uint8_t[]){ 0x0f, 0x09 }, 2, 0, 0);
    run("lgdt [0x10]", (uint8_t[]){ 0x0f, 0x01, 0x15, 0x10, 0, 0, 0 }, 7, 0, 0);
    run("rdmsr", (uint8_t[]){ 0x0f, 0x32 }, 2, 0, 0);
    run("mov eax, cr0", (uint8_t[]){ 0x0f, 0x20, 0xc0 }, 3, 0, 0);
    run("mov cr0, eax", (uint8_t[]){ 0x0f, 0x22, 0xc0 }, 3, 0, 0);
    run("mov eax, dr7", (uint8_t[]){ 0x0f, 0x21, 0xf8 }, 3, 0, 0);
    run("invlpg [edx]", (uint8_t[]){ 0x0f, 0x01, 0x3a }, 3, 0, 0);

    /* shift and rotate of memory: the store is checked even for a count of 0, and a faulting store changes no flag */
    run("rol dword [ro], cl=0x80", (uint8_t[]){ 0xd3, 0x02 }, 2, 0x80, 0);
    run("shl byte [ro], cl=0", (uint8_t[]){ 0xd2, 0x22 }, 2, 0, 0x85);
    run("rcl byte [ro], cl=9", (uint8_t[]){ 0xd2, 0x12 }, 2, 9, 0x01);
    run("shr byte [ro], 1 (flags 0xc0)", (uint8_t[]){ 0xd0, 0x2a }, 2, 0, 0xc0);
    run("sar dword [ro], cl=3 (flags 0x8d5)", (uint8_t[]){ 0xd3, 0x3a }, 2, 3, 0x8d5);
    run("shld [ro], eax, cl=0", (uint8_t[]){ 0x0f, 0xa5, 0x02 }, 3, 0, 0x44);
    run("shrd [ro], eax, 5 (flags 0x1)", (uint8_t[]){ 0x0f, 0xac, 0x02, 5 }, 4, 0, 0x01);

    /* ARPL reads first and writes only when it raises the RPL (the read-only page holds 0x5a5a: RPL 2) */
    run("arpl [ro], cx=1 (no raise)", (uint8_t[]){ 0x63, 0x0a }, 2, 1, 0);
    run("arpl [ro], cx=3 (raise)", (uint8_t[]){ 0x63, 0x0a }, 2, 3, 0);
    run("arpl cs:[ro], cx=1 (no raise)", (uint8_t[]){ 0x2e, 0x63, 0x0a }, 3, 1, 0);
    run("arpl cs:[ro], cx=3 (raise)", (uint8_t[]){ 0x2e, 0x63, 0x0a }, 3, 3, 0);
    run("arpl cs:[0x10], cx", (uint8_t[]){ 0x2e, 0x63, 0x0d, 0x10, 0, 0, 0 }, 7, 3, 0);

    /* BTC with a register bit offset and 16-bit addressing: the offset's bytes wrap at 64 KiB with the address */
    run("btc [0x1234] (addr16), ecx=0x60000000", (uint8_t[]){ 0x67, 0x0f, 0xbb, 0x0e, 0x34, 0x12 }, 6, 0x60000000, 0);
    run("btc [0x1234] (addr16), cx=0xf000", (uint8_t[]){ 0x66, 0x67, 0x0f, 0xbb, 0x0e, 0x34, 0x12 }, 7, 0xf000, 0);
    run("lock bts [0x1234] (addr16), ecx=-8", (uint8_t[]){ 0xf0, 0x67, 0x0f, 0xab, 0x0e, 0x34, 0x12 }, 7, (uint32_t)-8, 0);
    run("bt [0x10], ecx=0x80", (uint8_t[]){ 0x0f, 0xa3, 0x0d, 0x10, 0, 0, 0 }, 7, 0x80, 0);

    /* FPREM/FPREM1 without a quotient (empty register, NaN operand, #IA): C1 C2 cleared, C0 C3 as they were */
    qnan = __builtin_nan("");
    SW("fucomp empty; fprem", "fucomp %%st(4)\nfprem");
    SW("fucomp empty; fprem1", "fucomp %%st(4)\nfprem1");
    SW("fucomp empty; fprem 3 by 1", "fucomp %%st(4)\nfldl %[one]\nfldl %[three]\nfprem");
    SW("fucomp empty; fprem qnan by 1", "fucomp %%st(4)\nfldl %[one]\nfldl %[qn]\nfprem");
    SW("fucomp empty; fprem 1 by qnan", "fucomp %%st(4)\nfldl %[qn]\nfldl %[one]\nfprem");
    SW("fucomp empty; fprem 1 by 0", "fucomp %%st(4)\nfldz\nfldl %[one]\nfprem");
    SW("fucomp empty; fprem1 1 by 0", "fucomp %%st(4)\nfldz\nfldl %[one]\nfprem1");
    SW("fucomp empty; IE unmasked; fprem", "fucomp %%st(4)\nfnclex\nfldcw %[cw]\nfprem");

    /* FCOMI family with #IA unmasked: ZF PF CF = 111 and OF SF AF cleared all the same; no pop */
    FL("fcomi empty", "xor %%eax,%%eax\ncmp $1,%%eax\nfcomi %%st(1),%%st");
    FL("fucomi empty, OF SF set before", "mov $0x7fffffff,%%eax\ncmp $-1,%%eax\nfucomi %%st(1),%%st");
    FL("fcomi qnan", "fldl %[qn]\nfldl %[qn]\nmov $0x7fffffff,%%eax\ncmp $-1,%%eax\nfcomi %%st(1),%%st");
    FL("fcomip qnan", "fldl %[qn]\nfldl %[qn]\nmov $0x7fffffff,%%eax\ncmp $-1,%%eax\nfcomip %%st(1),%%st");

    /* a memory operand against a NaN in ST(0): an SNaN operand gives way to the QNaN (SDM Table 4-7), and the NaN
     * comes before the operand's #D (SDM 4.9.2) */
    static uint64_t snan64 = 0xfff72ec65df58d20ull, den64 = 1;
    static uint32_t den32 = 1;
    uint16_t sw;
    uint8_t st[10];
    __asm__ volatile("fninit\nfdivrl %2\nfnclex\nfdivrl %2\nfnstsw %0\nfstpt %1\nfninit" : "=m"(sw), "=m"(st) : "m"(snan64));
    printf("indefinite / snan64: sw %04x st %02x%02x %02x%02x%02x%02x%02x%02x%02x%02x\n", sw, st[9], st[8], st[7], st[6], st[5], st[4], st[3], st[2], st[1], st[0]);
    __asm__ volatile("fninit\nfdivrl %1\nfnclex\nfadds %2\nfnstsw %0\nfninit" : "=m"(sw) : "m"(snan64), "m"(den32));
    printf("indefinite + denormal32: sw %04x\n", sw);
    __asm__ volatile("fninit\nfdivrl %1\nfnclex\nfmull %2\nfnstsw %0\nfninit" : "=m"(sw) : "m"(snan64), "m"(den64));
    printf("indefinite * denormal64: sw %04x\n", sw);
    __asm__ volatile("fninit\nfld1\nfaddl %2\nfnstsw %0\nfstpt %1\nfninit" : "=m"(sw), "=m"(st) : "m"(snan64));
    printf("1 + snan64: sw %04x st %02x%02x %02x%02x%02x%02x%02x%02x%02x%02x\n", sw, st[9], st[8], st[7], st[6], st[5], st[4], st[3], st[2], st[1], st[0]);

    /* FSTP1 (D9 D8+i) from an empty ST(0): ST(i) keeps its value and tag; then the pop */
    static uint8_t fx[512] __attribute__((aligned(16)));
    __asm__ volatile("fninit\nfld1\nfldz\nfldpi\nfld1\nfadd %%st(0)\nffree %%st(0)\n.byte 0xd9,0xda\nfxsave %0\nfninit" : "=m"(fx));
    printf("fstp1 st(2), empty st(0): sw %04x ftw %02x", *(uint16_t *)(fx + 2), fx[4]);
    for (int i = 0; i < 4; i++) {
        uint16_t *s = (uint16_t *)(fx + 32 + 16 * i);
        printf(" %04x%04x%04x%04x%04x", s[4], s[3], s[2], s[1], s[0]);
    }
    printf("\n");
    return 0;
}
