/* x87 detail the instruction fuzzer found against the host CPU (long run 8600000000, seed 8600005173 case 1346):
 * FFREE and FFREEP clear C1 and keep C0 C2 C3, as FINCSTP does (the SDM leaves C0..C3 undefined for them) */
#include <stdio.h>
#include <stdint.h>
struct env { uint32_t cw, sw, tw, ip, cs, dp, ds; };

/* the status word after one instruction, with C0..C3 preset to `c` (through FLDENV) over ST(0)=0, ST(1)=1 */
static unsigned after(int op, unsigned c)
{
    struct env e;
    unsigned short sw;
    __asm__ volatile("fninit\nfld1\nfldz\nfnstenv %0" : "=m"(e));
    e.sw = (e.sw & ~0x4700u) | c;
    __asm__ volatile("fldenv %0" : : "m"(e));
    switch (op) {
    case 0: __asm__ volatile("ffree %%st(1)" ::: "memory"); break;
    case 1: __asm__ volatile(".byte 0xdf,0xc1" ::: "memory"); break; /* ffreep st(1) */
    case 2: __asm__ volatile("ffree %%st(0)" ::: "memory"); break;
    case 3: __asm__ volatile(".byte 0xdf,0xc0" ::: "memory"); break; /* ffreep st(0) */
    case 4: __asm__ volatile("ffree %%st(5)" ::: "memory"); break;   /* an empty register */
    case 5: __asm__ volatile("fincstp" ::: "memory"); break;
    case 6: __asm__ volatile("fdecstp" ::: "memory"); break;
    case 7: __asm__ volatile("fxch %%st(1)" ::: "memory"); break;
    default: __asm__ volatile("fnop" ::: "memory"); break;
    }
    __asm__ volatile("fnstsw %0\nfninit" : "=m"(sw));
    return sw;
}

int main(void)
{
    static const char *name[] = { "ffree st1", "ffreep st1", "ffree st0", "ffreep st0", "ffree st5", "fincstp", "fdecstp", "fxch st1", "fnop" };
    static const unsigned cs[] = { 0, 0x0100, 0x0200, 0x0400, 0x4000, 0x4700 };
    for (int op = 0; op < 9; op++) {
        printf("%-10s", name[op]);
        for (unsigned k = 0; k < sizeof cs / sizeof *cs; k++) printf(" %04x", after(op, cs[k]));
        printf("\n");
    }
    /* the fuzzer's case: a rounded-up FMUL sets C1, FFREEP of the register below clears it, in one straight line
       (the translator runs FFREE on the host FPU, FFREEP in the interpreter) */
    for (int k = 1; k < 9; k++) {
        double a = 1.0 / (3 * k) + 1e-3 * k, b = 1.0 / (7 * k) + 1.5;
        unsigned short s1, s2, s3;
        __asm__ volatile("fninit\nfldz\nfldl %3\nfmull %4\nfnstsw %0\nffree %%st(1)\nfnstsw %1\n"
                         "fldz\nfxch %%st(1)\nfmull %4\n.byte 0xdf,0xc1\nfnstsw %2\nfninit"
                         : "=m"(s1), "=m"(s2), "=m"(s3) : "m"(a), "m"(b) : "memory");
        printf("k %d fmul %04x ffree %04x ffreep %04x\n", k, s1, s2, s3);
    }
    return 0;
}
