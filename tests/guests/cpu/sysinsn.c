/* CPU corner cases compared with the host kernel running this program natively (issues 14 and 12):
 * umip   SGDT/SIDT/SLDT/STR/SMSW at CPL 3 (register and memory forms, a read-only and an unmapped destination)
 * arpl   ARPL (valid in 32-bit protected mode: it adjusts the RPL)
 * enter  ENTER's stack accesses: which fault comes first, at which address, with which registers left
 * csw    a write through a CS override (#GP), a read through it (allowed)
 * a16    string instructions with a 16-bit address size (67 prefix): SI/DI/CX, not ESI/EDI/ECX
 * hnop   the hint-NOP space 0F 0D and 0F 18-1F in every form: no memory access, no #UD; but 0F 0D with a register
 *        operand, a NOP on Intel and #UD on AMD (its own section, which the test compares only where the model's
 *        vendor is the host's)
 * stack  PUSHA/POPA/ENTER/LEAVE against an SS limit (an LDT stack segment), a null FS/GS used for memory
 * Each case prints what a program sees: results, signal, si_code, trapno, err and the fault address. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <setjmp.h>
#include <unistd.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <asm/ldt.h>

static sigjmp_buf jb;
static unsigned char *page;     /* two pages: page[0..4095] read-write, page[4096..] unmapped */
static unsigned char *ropage;   /* read-only page */
static unsigned lowbase; /* what a fault address below 64 KiB is printed relative to */
static volatile unsigned fault_esp, fault_ebp, fault_esi, fault_edi, fault_eax;

__attribute__((used)) void fault(int sig, siginfo_t *si, void *c)
{
    ucontext_t *u = c;
    unsigned a = (unsigned)si->si_addr;
    const char *where = "";
    char buf[32];
    if (sig == SIGSEGV && si->si_code != 128) {
        if (a >= (unsigned)page - 4096 && a < (unsigned)page + 8192) { snprintf(buf, sizeof buf, "page%+d", (int)(a - (unsigned)page)); where = buf; }
        else if (a < 0x10000) { snprintf(buf, sizeof buf, "low %#x", a - lowbase); where = buf; }
        else if (a >= (unsigned)ropage && a < (unsigned)ropage + 4096) { snprintf(buf, sizeof buf, "ro+%#x", a - (unsigned)ropage); where = buf; }
        else { snprintf(buf, sizeof buf, "%#x", a); where = buf; }
    }
    fault_esp = u->uc_mcontext.gregs[REG_ESP];
    fault_ebp = u->uc_mcontext.gregs[REG_EBP];
    fault_esi = u->uc_mcontext.gregs[REG_ESI];
    fault_edi = u->uc_mcontext.gregs[REG_EDI];
    fault_eax = u->uc_mcontext.gregs[REG_EAX];
    printf("  signal %d code %d trapno %d err %#x %s\n", sig, si->si_code,
           (int)u->uc_mcontext.gregs[REG_TRAPNO], (unsigned)u->uc_mcontext.gregs[REG_ERR], where);
    siglongjmp(jb, 1);
}

/* The kernel leaves FS/GS as they were for the handler: restore glibc's GS (TLS) before any C code runs. */
unsigned short gs_saved;
void fault_entry(int, siginfo_t *, void *);
asm(".text\n fault_entry:\n movw gs_saved, %ax\n movw %ax, %gs\n jmp fault\n");

static void on(int sig, void (*h)(int, siginfo_t *, void *))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigaction(sig, &sa, 0);
}

static int set_ldt(int entry, unsigned base, unsigned limit, int seg32, int contents, int pages)
{
    struct user_desc d = { .entry_number = entry, .base_addr = base, .limit = limit, .seg_32bit = seg32,
        .contents = contents, .read_exec_only = 0, .limit_in_pages = pages, .seg_not_present = 0, .useable = 1 };
    return syscall(SYS_modify_ldt, 0x11, &d, sizeof d);
}
#define LDT(i) (((i) << 3) | 7)

#define TRY(name) printf("%s:\n", name); if (sigsetjmp(jb, 1) == 0)

/* ------------------------------------------------------------------ umip */
static void umip(void)
{
    unsigned char d[8];
    unsigned r;
    memset(d, 0xcc, sizeof d);
    TRY("sgdt") { asm volatile("sgdt %0" : "=m"(d)); printf("  limit %#x base %#x next %#x\n", *(unsigned short *)d, *(unsigned *)(d + 2), d[6]); }
    memset(d, 0xcc, sizeof d);
    TRY("sidt") { asm volatile("sidt %0" : "=m"(d)); printf("  limit %#x base %#x next %#x\n", *(unsigned short *)d, *(unsigned *)(d + 2), d[6]); }
    memset(d, 0xcc, sizeof d);
    TRY("data16 sgdt") { asm volatile("data16 sgdt %0" : "=m"(d)); printf("  limit %#x base %#x next %#x\n", *(unsigned short *)d, *(unsigned *)(d + 2), d[6]); }
    r = 0xdeadbeef; TRY("sldt r32") { asm volatile("sldt %0" : "+r"(r)); printf("  %#x\n", r); }
    r = 0xdeadbeef; TRY("sldt r16") { asm volatile("data16 sldt %0" : "+r"(r)); printf("  %#x\n", r); }
    memset(d, 0xcc, sizeof d); TRY("sldt m16") { asm volatile("sldt %0" : "=m"(d)); printf("  %02x %02x %02x\n", d[0], d[1], d[2]); }
    r = 0xdeadbeef; TRY("str r32") { asm volatile("str %0" : "+r"(r)); printf("  %#x\n", r); }
    r = 0xdeadbeef; TRY("str r16") { asm volatile("data16 str %0" : "+r"(r)); printf("  %#x\n", r); }
    memset(d, 0xcc, sizeof d); TRY("str m16") { asm volatile("str %0" : "=m"(d)); printf("  %02x %02x %02x\n", d[0], d[1], d[2]); }
    r = 0xdeadbeef; TRY("smsw r32") { asm volatile("smsw %0" : "+r"(r)); printf("  %#x\n", r); }
    r = 0xdeadbeef; TRY("smsw r16") { asm volatile("data16 smsw %0" : "+r"(r)); printf("  %#x\n", r); }
    memset(d, 0xcc, sizeof d); TRY("smsw m16") { asm volatile("smsw %0" : "=m"(d)); printf("  %02x %02x %02x\n", d[0], d[1], d[2]); }
    /* destinations that cannot be written */
    TRY("sgdt to a read-only page") { asm volatile("sgdt (%0)" : : "r"(ropage + 16) : "memory"); printf("  stored\n"); }
    TRY("sidt to an unmapped page") { asm volatile("sidt (%0)" : : "r"(page + 4096 + 32) : "memory"); printf("  stored\n"); }
    TRY("smsw to a read-only page") { asm volatile("smsw (%0)" : : "r"(ropage + 8) : "memory"); printf("  stored\n"); }
    TRY("str across into an unmapped page") { asm volatile("str (%0)" : : "r"(page + 4095) : "memory"); printf("  stored\n"); }
    /* through a segment with a base: the store lands at base + offset */
    if (set_ldt(2, (unsigned)page + 0x100, 0xfff, 1, 0, 0) == 0) {
        unsigned short fs0;
        asm volatile("mov %%fs, %0" : "=r"(fs0));
        memset(page + 0x100, 0xcc, 16);
        TRY("sgdt %fs:4 (LDT base page+0x100)") {
            asm volatile("mov %1, %%fs\n sgdt %%fs:4\n mov %0, %%fs" : : "r"(fs0), "r"(LDT(2)) : "memory");
            printf("  limit %#x base %#x\n", *(unsigned short *)(page + 0x104), *(unsigned *)(page + 0x106));
        }
        asm volatile("mov %0, %%fs" : : "r"(fs0));
        TRY("sgdt past the limit of FS") {
            asm volatile("mov %1, %%fs\n sgdt %%fs:0xffc\n mov %0, %%fs" : : "r"(fs0), "r"(LDT(2)) : "memory");
            printf("  stored\n");
        }
        asm volatile("mov %0, %%fs" : : "r"(fs0));
        r = 0xdeadbeef; TRY("sldt r32 with an LDT") { asm volatile("sldt %0" : "+r"(r)); printf("  %#x\n", r); }
    }
}

/* ------------------------------------------------------------------ arpl */
static void arpl(void)
{
    unsigned short a = 3, b = 0x28, m = 0x11, c = 0x2b;
    unsigned char z;
    TRY("arpl r,r (raise)") { asm volatile("arpl %2, %1\n setz %0" : "=q"(z), "+r"(b) : "r"(a)); printf("  %#x zf %d\n", b, z); }
    TRY("arpl r,r (keep)") { asm volatile("arpl %2, %1\n setz %0" : "=q"(z), "+r"(c) : "r"((unsigned short)1)); printf("  %#x zf %d\n", c, z); }
    TRY("arpl m,r") { asm volatile("arpl %2, %1\n setz %0" : "=q"(z), "+m"(m) : "r"(a)); printf("  %#x zf %d\n", m, z); }
    TRY("arpl to a read-only page") { asm volatile("arpl %0, (%1)" : : "r"(a), "r"(ropage) : "memory"); printf("  done\n"); }
}

/* ------------------------------------------------------------------ enter */
/* Runs ENTER with ESP = sp and EBP = bp; prints ESP/EBP after it, or the fault and the registers the handler saw. */
static void enter_case(const char *name, unsigned sp, unsigned bp, int kind)
{
    unsigned esp_after = 0, ebp_after = 0;
    printf("%s:\n", name);
    if (sigsetjmp(jb, 1) == 0) {
        switch (kind) {
        case 0: asm volatile("push %%ebp\n mov %%esp, %%edi\n mov %2, %%esp\n mov %3, %%ebp\n enter $0x100, $0\n"
                             "mov %%esp, %0\n mov %%ebp, %1\n mov %%edi, %%esp\n pop %%ebp"
                             : "=&r"(esp_after), "=&r"(ebp_after) : "r"(sp), "r"(bp) : "edi", "memory"); break;
        case 1: asm volatile("push %%ebp\n mov %%esp, %%edi\n mov %2, %%esp\n mov %3, %%ebp\n enter $8, $3\n"
                             "mov %%esp, %0\n mov %%ebp, %1\n mov %%edi, %%esp\n pop %%ebp"
                             : "=&r"(esp_after), "=&r"(ebp_after) : "r"(sp), "r"(bp) : "edi", "memory"); break;
        case 2: asm volatile("push %%ebp\n mov %%esp, %%edi\n mov %2, %%esp\n mov %3, %%ebp\n enterw $0x10, $0\n"
                             "mov %%esp, %0\n mov %%ebp, %1\n mov %%edi, %%esp\n pop %%ebp"
                             : "=&r"(esp_after), "=&r"(ebp_after) : "r"(sp), "r"(bp) : "edi", "memory"); break;
        case 3: asm volatile("push %%ebp\n mov %%esp, %%edi\n mov %2, %%esp\n mov %3, %%ebp\n enter $0, $0\n"
                             "mov %%esp, %0\n mov %%ebp, %1\n mov %%edi, %%esp\n pop %%ebp"
                             : "=&r"(esp_after), "=&r"(ebp_after) : "r"(sp), "r"(bp) : "edi", "memory"); break;
        }
        if (kind == 2) /* 16-bit operand size: BP = the frame's low half, EBP's high half kept */
            printf("  esp page+%#x bp = frame's low half %d, ebp high half kept %d\n", esp_after - (unsigned)page,
                   (ebp_after & 0xffff) == ((sp - 2) & 0xffff), ebp_after >> 16 == bp >> 16);
        else
            printf("  esp page+%#x ebp page+%#x\n", esp_after - (unsigned)page, ebp_after - (unsigned)page);
    } else
        printf("  at fault: esp page+%#x ebp %s\n", fault_esp - (unsigned)page, fault_ebp == bp ? "unchanged" : "changed");
}

static void enter(void)
{
    /* page+0..4095 mapped; the page below page is unmapped (see main) */
    memset(page, 0, 4096);
    enter_case("enter $0x100,$0 (room)", (unsigned)page + 0x800, (unsigned)page + 0x900, 0);
    enter_case("enter $0x100,$0 (frame ends below the page)", (unsigned)page + 0x80, (unsigned)page + 0x900, 0);
    printf("  saved ebp slot page+%#x\n", *(unsigned *)(page + 0x7c) - (unsigned)page);
    enter_case("enter $0,$0 (push faults)", (unsigned)page, (unsigned)page + 0x900, 3);
    enter_case("enter $0,$0 (exactly at the edge)", (unsigned)page + 4, (unsigned)page + 0x900, 3);
    for (int i = 0; i < 4; i++) *(unsigned *)(page + 0x900 - 4 * (i + 1)) = 0x1110 + i;
    enter_case("enter $8,$3", (unsigned)page + 0x800, (unsigned)page + 0x900, 1);
    for (int i = 0; i < 4; i++) printf("  slot %d %#x\n", i, *(unsigned *)(page + 0x800 - 4 * (i + 1)) - (i == 0 || i == 3 ? (unsigned)page : 0));
    enter_case("enter $8,$3 (nested read faults)", (unsigned)page + 0x800, (unsigned)page + 0x4, 1);
    enter_case("enterw $0x10,$0", (unsigned)page + 0x800, (unsigned)page + 0x12345, 2);
    enter_case("enterw $0x10,$0 (frame ends below the page)", (unsigned)page + 0x8, (unsigned)page + 0x12345, 2);
}

/* ------------------------------------------------------------------ csw */
static unsigned csbuf = 5;
static void csw(void)
{
    unsigned v = 0;
    TRY("mov from %cs:") { asm volatile("mov %%cs:%1, %0" : "=r"(v) : "m"(csbuf)); printf("  %u\n", v); }
    TRY("mov to %cs:") { asm volatile("movl $1, %%cs:%0" : "=m"(csbuf)); printf("  %u\n", csbuf); }
    TRY("add to %cs:") { asm volatile("addl $1, %%cs:%0" : "+m"(csbuf)); printf("  %u\n", csbuf); }
    TRY("add to %cs: (unmapped)") { asm volatile("addl $1, %%cs:(%0)" : : "r"(page + 4096) : "memory"); printf("  done\n"); }
    TRY("fstps to %cs:") { float f = 1; asm volatile("flds %1\n fstps %%cs:%0" : "=m"(csbuf) : "m"(f)); printf("  %#x\n", csbuf); }
    TRY("setz to %cs:") { asm volatile("setz %%cs:%0" : "=m"(csbuf)); printf("  %u\n", csbuf); }
    TRY("movs from %cs:") {
        unsigned dst = 0;
        asm volatile("cld\n movsl %%cs:(%%esi), %%es:(%%edi)" : : "S"(&csbuf), "D"(&dst) : "memory");
        printf("  %u\n", dst);
    }
    printf("csbuf %u\n", csbuf);
}

/* ------------------------------------------------------------------ a16 */
static void a16(void)
{
    unsigned ecx, esi, edi;
    /* CX = 0: nothing happens, whatever ECX's high half says */
    TRY("addr16 rep stosb, CX = 0") {
        asm volatile("cld\n addr16 rep stosb" : "=c"(ecx), "=D"(edi) : "c"(0x12340000), "D"(page + 0x10), "a"(0x55) : "memory");
        printf("  ecx %#x edi page+%#x byte %#x\n", ecx, edi - (unsigned)page, page[0x10]);
    }
    /* flat DS: SI addresses below 64 KiB, which Linux never maps */
    lowbase = (unsigned)page & 0xffff;
    TRY("addr16 lodsb (at (page & 0xffff) + 0x20)") {
        asm volatile("addr16 lodsb" : "=S"(esi) : "S"(page + 0x20) : "eax");
        printf("  esi page+%#x\n", esi - (unsigned)page);
    }
    lowbase = 0;
    TRY("cmpsb, both operands unmapped") {
        asm volatile("cmpsb" : "=S"(esi), "=D"(edi) : "S"(page + 4096), "D"(page - 4096 + 8));
        printf("  done\n");
    }
    TRY("addr16 cmpsb, both operands unmapped") {
        asm volatile("addr16 cmpsb" : "=S"(esi), "=D"(edi) : "S"(page + 0x10), "D"(0x20));
        printf("  done\n");
    }
    TRY("addr16 rep movsb, CX = 0") {
        asm volatile("addr16 rep movsb" : "=c"(ecx), "=S"(esi), "=D"(edi) : "c"(0xffff0000), "S"(page), "D"(page + 0x40) : "memory");
        printf("  ecx %#x esi page+%#x edi page+%#x\n", ecx, esi - (unsigned)page, edi - (unsigned)page);
    }
    /* FS = an LDT segment based at page: SI/DI index it; ESI's high half is kept, SI wraps */
    if (set_ldt(3, (unsigned)page, 0xffff, 1, 0, 0) == 0 && set_ldt(4, (unsigned)page, 0xfffff, 1, 0, 1) == 0) {
        unsigned short fs0;
        asm volatile("mov %%fs, %0" : "=r"(fs0));
        for (int i = 0; i < 16; i++) page[i] = 0xa0 + i;
        for (int pass = 0; pass < 2; pass++) {
            unsigned sel = pass ? LDT(4) : LDT(3);
            unsigned eax = 0;
            printf("addr16 fs lods (%s):\n", pass ? "4 GiB limit" : "64 KiB limit");
            if (sigsetjmp(jb, 1) == 0) {
                asm volatile("mov %3, %%fs\n cld\n addr16 lodsb %%fs:(%%si)\n addr16 lodsb %%fs:(%%si)\n mov %4, %%fs"
                             : "=a"(eax), "=S"(esi), "=c"(ecx) : "r"(sel), "r"(fs0), "S"(0xabcd0005), "a"(0), "c"(7));
                printf("  al %#x esi %#x\n", eax & 0xff, esi);
            }
            asm volatile("mov %0, %%fs" : : "r"(fs0));
            printf("addr16 rep fs movsb (%s):\n", pass ? "4 GiB limit" : "64 KiB limit");
            if (sigsetjmp(jb, 1) == 0) {
                /* ES is flat: DI below 64 KiB faults at the first store, with CX, SI, DI as they were */
                asm volatile("mov %4, %%fs\n cld\n addr16 rep movsb %%fs:(%%si), %%es:(%%di)\n mov %5, %%fs"
                             : "=S"(esi), "=D"(edi), "=c"(ecx) : "0"(0x77770002), "r"(sel), "r"(fs0), "1"(0x88880100), "2"(0x99990003) : "memory");
                printf("  esi %#x edi %#x ecx %#x\n", esi, edi, ecx);
            } else
                printf("  (faulted)\n");
            asm volatile("mov %0, %%fs" : : "r"(fs0));
            TRY("addr16 std rep lods, CX = 2, SI wraps below 0") {
                asm volatile("mov %3, %%fs\n std\n addr16 rep lodsb %%fs:(%%si)\n cld\n mov %4, %%fs"
                             : "=a"(eax), "=S"(esi), "=c"(ecx) : "r"(sel), "r"(fs0), "S"(0x11110001), "c"(0x22220002), "a"(0));
                printf("  al %#x esi %#x ecx %#x\n", eax & 0xff, esi, ecx);
            }
            asm volatile("mov %0, %%fs" : : "r"(fs0));
        }
    }
}

/* ------------------------------------------------------------------ hnop */
static void hnop(void)
{
    TRY("hint NOPs with memory operands at an unmapped address") {
        asm volatile(
            ".byte 0x0f,0x0d,0x05,0x10,0,0,0\n .byte 0x0f,0x0d,0x0d,0x10,0,0,0\n .byte 0x0f,0x0d,0x3d,0x10,0,0,0\n"
            ".byte 0x0f,0x18,0x05,0x10,0,0,0\n .byte 0x0f,0x18,0x25,0x10,0,0,0\n .byte 0x0f,0x18,0x3d,0x10,0,0,0\n"
            ".byte 0x0f,0x19,0x05,0x10,0,0,0\n .byte 0x0f,0x1a,0x05,0x10,0,0,0\n .byte 0x0f,0x1b,0x05,0x10,0,0,0\n"
            ".byte 0x66,0x0f,0x1a,0x05,0x10,0,0,0\n .byte 0xf3,0x0f,0x1b,0x05,0x10,0,0,0\n .byte 0xf2,0x0f,0x1a,0x05,0x10,0,0,0\n"
            ".byte 0x0f,0x1c,0x05,0x10,0,0,0\n .byte 0x0f,0x1c,0x0d,0x10,0,0,0\n .byte 0x0f,0x1d,0x05,0x10,0,0,0\n"
            ".byte 0x0f,0x1e,0x05,0x10,0,0,0\n .byte 0xf3,0x0f,0x1e,0x05,0x10,0,0,0\n .byte 0x0f,0x1f,0x05,0x10,0,0,0\n"
            ".byte 0x0f,0x1f,0x3d,0x10,0,0,0\n .byte 0x66,0x0f,0x1f,0x05,0x10,0,0,0\n");
        printf("  ok\n");
    }
    TRY("hint NOPs 0F 18-1F with register operands") {
        unsigned a = 1, b = 2;
        asm volatile(
            ".byte 0x0f,0x18,0xc0\n .byte 0x0f,0x18,0xe1\n"
            ".byte 0x0f,0x19,0xc1\n .byte 0x0f,0x1a,0xc1\n .byte 0x0f,0x1b,0xc1\n .byte 0x66,0x0f,0x1a,0xc1\n .byte 0xf3,0x0f,0x1e,0xc8\n"
            ".byte 0xf3,0x0f,0x1e,0xfb\n .byte 0x0f,0x1c,0xc0\n .byte 0x0f,0x1d,0xc0\n .byte 0x0f,0x1e,0xc0\n .byte 0x0f,0x1f,0xc0\n"
            ".byte 0xf3,0x0f,0x1e,0xfa\n .byte 0xf2,0x0f,0x1b,0xc0\n"
            : "+a"(a), "+c"(b));
        printf("  ok %u %u\n", a, b);
    }
    /* AMD defines only the memory form of PREFETCH/PREFETCHW (0F 0D): the register form is #UD there, a NOP on Intel */
    printf("0F 0D with a register operand:\n");
#define PFREG(text, bytes) printf("  %s:\n", text); if (sigsetjmp(jb, 1) == 0) { asm volatile(".byte " bytes); printf("  ok\n"); }
    PFREG("0f 0d c0", "0x0f,0x0d,0xc0") PFREG("0f 0d c8", "0x0f,0x0d,0xc8") PFREG("0f 0d f9", "0x0f,0x0d,0xf9")
    PFREG("66 0f 0d c1", "0x66,0x0f,0x0d,0xc1") PFREG("f3 0f 0d d2", "0xf3,0x0f,0x0d,0xd2")
}

/* ------------------------------------------------------------------ stack */
/* One stack instruction with SS = st_sel and ESP = EBP = st_sp; every register is saved around it. */
unsigned st_sp, st_sel, st_op, st_esp_out, st_ebp_out, st_eax_out, st_saved_esp;
unsigned short st_saved_ss;
void stack_op(void);
asm(".text\n stack_op:\n pushal\n mov %esp, st_saved_esp\n mov %ss, st_saved_ss\n"
    " mov $0xb1b1, %ebx\n mov $0xc1c1, %ecx\n mov $0xd1d1, %edx\n mov $0x5151, %esi\n mov $0xd0d0, %edi\n"
    " mov st_sel, %eax\n mov st_sp, %ebp\n mov %ax, %ss\n mov %ebp, %esp\n mov $0xa5a5, %eax\n"
    " cmpl $0, st_op\n jne 1f\n pusha\n jmp 9f\n"
    "1: cmpl $1, st_op\n jne 2f\n popa\n jmp 9f\n"
    "2: cmpl $2, st_op\n jne 3f\n popaw\n jmp 9f\n"
    "3: cmpl $3, st_op\n jne 4f\n leave\n jmp 9f\n"
    "4: cmpl $4, st_op\n jne 5f\n enter $0x20, $0\n jmp 9f\n"
    "5: enter $0x20, $1\n"
    "9: mov %esp, st_esp_out\n mov %ebp, st_ebp_out\n mov %eax, st_eax_out\n"
    " mov st_saved_ss, %ss\n mov st_saved_esp, %esp\n popal\n ret\n");

static void stack(void)
{
    unsigned short ss0, fs0, gs0;
    asm volatile("mov %%ss, %0\n mov %%fs, %1\n mov %%gs, %2" : "=r"(ss0), "=r"(fs0), "=r"(gs0));
    /* SS = an LDT data segment based at page, limit 0xfff (byte granular): the stack is page[0..0xfff] */
    if (set_ldt(5, (unsigned)page, 0xfff, 1, 0, 0) != 0) { printf("modify_ldt failed\n"); return; }
    static const struct { const char *name; unsigned sp; int op; } c[] = {
        { "pusha (room)", 0x100, 0 }, { "pusha (below offset 0)", 0x10, 0 }, { "popa (room)", 0x100, 1 },
        { "popa (past the limit)", 0xff0, 1 }, { "popaw (past the limit)", 0xff8, 2 },
        { "leave (ebp past the limit)", 0xffe, 3 }, { "leave (room)", 0xf00, 3 },
        { "enter $0x20,$0 (below offset 0)", 0x10, 4 }, { "enter $0x20,$1 (room)", 0x100, 5 },
    };
    for (unsigned i = 0; i < 0x40; i++) page[0x100 + i] = i;
    for (unsigned i = 0; i < 0x10; i++) page[0xff0 + i] = 0x80 + i;
    for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
        printf("%s:\n", c[i].name);
        st_sp = c[i].sp; st_sel = LDT(5); st_op = c[i].op;
        if (sigsetjmp(jb, 1) == 0) {
            stack_op();
            printf("  esp %#x ebp %#x eax %#x\n", st_esp_out, st_ebp_out, st_eax_out);
        } else
            printf("  at fault: esp %#x ebp %#x esi %#x edi %#x eax %#x; stack bottom %#x %#x\n", fault_esp, fault_ebp,
                   fault_esi, fault_edi, fault_eax, ((unsigned *)page)[0], ((unsigned *)page)[3]);
        memset(page, 0, 16);
    }
    /* the same with a flat stack whose next page is unmapped */
    printf("popa across into an unmapped page (flat):\n");
    st_sp = (unsigned)page + 0xff0; st_sel = ss0; st_op = 1;
    if (sigsetjmp(jb, 1) == 0) { stack_op(); printf("  done\n"); }
    else printf("  at fault: esp page+%#x ebp %#x esi %#x edi %#x\n", fault_esp - (unsigned)page, fault_ebp, fault_esi, fault_edi);
    printf("pusha across into an unmapped page (flat):\n");
    st_sp = (unsigned)page + 0x10; st_op = 0;
    if (sigsetjmp(jb, 1) == 0) { stack_op(); printf("  done\n"); }
    else printf("  at fault: esp page+%#x; stack bottom %#x %#x\n", fault_esp - (unsigned)page, ((unsigned *)page)[0], ((unsigned *)page)[3]);
    /* a null FS or GS used for a memory access: #GP(0) */
    unsigned v = 0;
    TRY("null fs read") { asm volatile("mov %2, %%fs\n mov %%fs:(%1), %0" : "=r"(v) : "r"(page), "r"(0)); printf("  %#x\n", v); }
    asm volatile("mov %0, %%fs" : : "r"(fs0));
    TRY("null gs write") { asm volatile("push %%gs\n mov %1, %%gs\n movl $1, %%gs:(%0)\n pop %%gs" : : "r"(page), "r"(0) : "memory"); printf("  done\n"); }
    asm volatile("mov %0, %%gs" : : "r"(gs0));
    TRY("null fs movs source") {
        asm volatile("mov %2, %%fs\n movsl %%fs:(%%esi), %%es:(%%edi)" : : "S"(page), "D"(page + 16), "r"(0) : "memory");
        printf("  done\n");
    }
    asm volatile("mov %0, %%fs" : : "r"(fs0));
    TRY("null fs lea (no access)") { asm volatile("mov %2, %%fs\n lea %%fs:4(%1), %0" : "=r"(v) : "r"(page), "r"(0)); printf("  page+%#x\n", v - (unsigned)page); }
    asm volatile("mov %0, %%fs" : : "r"(fs0));
    TRY("null fs fld") { asm volatile("mov %1, %%fs\n flds %%fs:(%0)\n fstp %%st(0)" : : "r"(page), "r"(0)); printf("  done\n"); }
    asm volatile("mov %0, %%fs" : : "r"(fs0));
    TRY("null gs in a loop (translated code)") {
        unsigned s = 0;
        for (int i = 0; i < 3; i++) {
            unsigned sel = i == 2 ? 0 : gs0;
            asm volatile("push %%gs\n mov %1, %%gs\n addl %%gs:0, %0\n pop %%gs" : "+r"(s) : "r"(sel));
        }
        printf("  done\n");
    }
    asm volatile("mov %0, %%gs" : : "r"(gs0));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, 0, _IONBF, 0);
    /* handlers run on their own stack: the cases point ESP at unmapped memory or into an LDT stack segment */
    static char alt[65536];
    stack_t st = { .ss_sp = alt, .ss_size = sizeof alt };
    sigaltstack(&st, 0);
    asm volatile("mov %%gs, %0" : "=m"(gs_saved));
    on(SIGSEGV, fault_entry); on(SIGBUS, fault_entry); on(SIGILL, fault_entry);
    /* an unmapped page, page (read-write), an unmapped page */
    ropage = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *p = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 4096); munmap(p + 2 * 4096, 4096);
    page = p + 4096;
    const char *what = argc > 1 ? argv[1] : "all";
#define PART(n) if (!strcmp(what, "all") || !strcmp(what, #n)) n();
    PART(umip) PART(arpl) PART(enter) PART(csw) PART(a16) PART(hnop) PART(stack)
    return 0;
}
