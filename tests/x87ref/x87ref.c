/* Reference oracle for the x87 tests: runs real x87 instructions on the host (x86-64, gcc long double is
 * the x87 80-bit format) and, for transcendentals, a __float128 libquadmath value.
 * Input lines:  OP CW A [B]   (A/B: 80-bit "SSSS:MMMMMMMMMMMMMMMM", or plain hex for integer/float loads)
 * Output lines: RESULT [RESULT2] SW   (all hex).  A = ST0, B = ST1 for two-operand instructions. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <quadmath.h>

typedef union { long double ld; struct { uint64_t m; uint16_t se; } p; } f80;

static int parse80(const char *s, f80 *v) {
    unsigned se; unsigned long long m;
    memset(v, 0, sizeof *v);
    if (sscanf(s, "%x:%llx", &se, &m) != 2) return 0;
    v->p.se = (uint16_t)se; v->p.m = m; return 1;
}
static void put80(const f80 *v) { printf("%04X:%016llX", v->p.se, (unsigned long long)v->p.m); }

#define BIN(INSN) asm volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" INSN "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfstp %%st(0)" \
    : [sw] "=m"(sw), [r] "=m"(r.ld) : [cw] "m"(cw), [a] "m"(a.ld), [b] "m"(b.ld) : "memory")
#define BINPOP(INSN) asm volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" INSN "\n\tfnstsw %[sw]\n\tfstpt %[r]" \
    : [sw] "=m"(sw), [r] "=m"(r.ld) : [cw] "m"(cw), [a] "m"(a.ld), [b] "m"(b.ld) : "memory")
#define UN(INSN) asm volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\t" INSN "\n\tfnstsw %[sw]\n\tfstpt %[r]" \
    : [sw] "=m"(sw), [r] "=m"(r.ld) : [cw] "m"(cw), [a] "m"(a.ld) : "memory")
#define UN2(INSN) asm volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\t" INSN "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfstpt %[r2]" \
    : [sw] "=m"(sw), [r] "=m"(r.ld), [r2] "=m"(r2.ld) : [cw] "m"(cw), [a] "m"(a.ld) : "memory")
#define CMP(INSN) asm volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" INSN "\n\tfnstsw %[sw]\n\tfninit" \
    : [sw] "=m"(sw) : [cw] "m"(cw), [a] "m"(a.ld), [b] "m"(b.ld) : "memory")
#define CONST(INSN) asm volatile("fninit\n\tfldcw %[cw]\n\t" INSN "\n\tfnstsw %[sw]\n\tfstpt %[r]" \
    : [sw] "=m"(sw), [r] "=m"(r.ld) : [cw] "m"(cw) : "memory")
#define STORE(INSN, DST) asm volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\t" INSN " %[d]\n\tfnstsw %[sw]\n\tfninit" \
    : [sw] "=m"(sw), [d] "=m"(DST) : [cw] "m"(cw), [a] "m"(a.ld) : "memory")
#define LOAD(INSN, SRC) asm volatile("fninit\n\tfldcw %[cw]\n\t" INSN " %[s]\n\tfnstsw %[sw]\n\tfstpt %[r]" \
    : [sw] "=m"(sw), [r] "=m"(r.ld) : [cw] "m"(cw), [s] "m"(SRC) : "memory")

static __float128 toq(const f80 *v) {
    if ((v->p.se & 0x7FFF) == 0 && v->p.m) { /* denormal or pseudo-denormal: exact, independent of gcc's handling */
        __float128 q = ldexpq((__float128)v->p.m, -16445);
        return (v->p.se & 0x8000) ? -q : q;
    }
    return (__float128)v->ld;
}
static void fromq(__float128 q, f80 *v) { memset(v, 0, sizeof *v); v->ld = (long double)q; }

int main(void) {
    char line[512], op[32], sa[64], sb[64];
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    while (fgets(line, sizeof line, stdin)) {
        unsigned cwi; uint16_t cw, sw = 0;
        f80 a, b, r, r2;
        sa[0] = sb[0] = 0;
        int n = sscanf(line, "%31s %x %63s %63s", op, &cwi, sa, sb);
        if (n < 2) { printf("ERR\n"); continue; }
        cw = (uint16_t)cwi;
        parse80(sa, &a); parse80(sb, &b);
        memset(&r, 0, sizeof r); memset(&r2, 0, sizeof r2);
        int two = 0;
        if (!strcmp(op, "add")) BIN("fadd %%st(1), %%st");
        else if (!strcmp(op, "sub")) BIN("fsub %%st(1), %%st");
        else if (!strcmp(op, "mul")) BIN("fmul %%st(1), %%st");
        else if (!strcmp(op, "div")) BIN("fdiv %%st(1), %%st");
        else if (!strcmp(op, "prem")) BIN("fprem");
        else if (!strcmp(op, "prem1")) BIN("fprem1");
        else if (!strcmp(op, "scale")) BIN("fscale");
        else if (!strcmp(op, "yl2x")) BINPOP("fyl2x");
        else if (!strcmp(op, "yl2xp1")) BINPOP("fyl2xp1");
        else if (!strcmp(op, "patan")) BINPOP("fpatan");
        else if (!strcmp(op, "sqrt")) UN("fsqrt");
        else if (!strcmp(op, "rndint")) UN("frndint");
        else if (!strcmp(op, "f2xm1")) UN("f2xm1");
        else if (!strcmp(op, "sin")) UN("fsin");
        else if (!strcmp(op, "cos")) UN("fcos");
        else if (!strcmp(op, "tan")) { UN2("fptan"); two = 1; }
        else if (!strcmp(op, "sincos")) { UN2("fsincos"); two = 1; }
        else if (!strcmp(op, "xtract")) { UN2("fxtract"); two = 1; }
        else if (!strcmp(op, "com")) CMP("fcom %%st(1)");
        else if (!strcmp(op, "ucom")) CMP("fucom %%st(1)");
        else if (!strcmp(op, "tst")) CMP("ftst");
        else if (!strcmp(op, "xam")) CMP("fxam");
        else if (!strcmp(op, "ldpi")) CONST("fldpi");
        else if (!strcmp(op, "ldl2e")) CONST("fldl2e");
        else if (!strcmp(op, "ldl2t")) CONST("fldl2t");
        else if (!strcmp(op, "ldlg2")) CONST("fldlg2");
        else if (!strcmp(op, "ldln2")) CONST("fldln2");
        else if (!strcmp(op, "st32")) { uint32_t d = 0; STORE("fstps", d); printf("%08X %04X\n", d, sw); continue; }
        else if (!strcmp(op, "st64")) { uint64_t d = 0; STORE("fstpl", d); printf("%016llX %04X\n", (unsigned long long)d, sw); continue; }
        else if (!strcmp(op, "ist16")) { uint16_t d = 0; STORE("fistps", d); printf("%04X %04X\n", d, sw); continue; }
        else if (!strcmp(op, "ist32")) { uint32_t d = 0; STORE("fistpl", d); printf("%08X %04X\n", d, sw); continue; }
        else if (!strcmp(op, "ist64")) { uint64_t d = 0; STORE("fistpll", d); printf("%016llX %04X\n", (unsigned long long)d, sw); continue; }
        else if (!strcmp(op, "istt16")) { uint16_t d = 0; STORE("fisttps", d); printf("%04X %04X\n", d, sw); continue; }
        else if (!strcmp(op, "istt32")) { uint32_t d = 0; STORE("fisttpl", d); printf("%08X %04X\n", d, sw); continue; }
        else if (!strcmp(op, "istt64")) { uint64_t d = 0; STORE("fisttpll", d); printf("%016llX %04X\n", (unsigned long long)d, sw); continue; }
        else if (!strcmp(op, "bstp")) {
            unsigned char d[10] = {0}; STORE("fbstp", d);
            for (int i = 9; i >= 0; i--) printf("%02X", d[i]);
            printf(" %04X\n", sw); continue;
        }
        else if (!strcmp(op, "ld32")) { uint32_t s = (uint32_t)strtoull(sa, 0, 16); LOAD("flds", s); }
        else if (!strcmp(op, "ld64")) { uint64_t s = strtoull(sa, 0, 16); LOAD("fldl", s); }
        else if (!strcmp(op, "bld")) {
            unsigned char s[10]; for (int i = 0; i < 10; i++) { unsigned x; sscanf(sa + 2 * (9 - i), "%2x", &x); s[i] = (unsigned char)x; }
            LOAD("fbld", s);
        }
        /* high-precision references (round-to-nearest of a 113-bit libquadmath value) */
        else if (!strcmp(op, "qsin")) { fromq(sinq(toq(&a)), &r); }
        else if (!strcmp(op, "qcos")) { fromq(cosq(toq(&a)), &r); }
        else if (!strcmp(op, "qtan")) { fromq(tanq(toq(&a)), &r); }
        else if (!strcmp(op, "qf2xm1")) { fromq(expm1q(toq(&a) * M_LN2q), &r); }
        else if (!strcmp(op, "qyl2x")) { fromq(toq(&b) * log2q(toq(&a)), &r); }
        else if (!strcmp(op, "qyl2xp1")) { fromq(toq(&b) * log1pq(toq(&a)) / M_LN2q, &r); }
        else if (!strcmp(op, "qpatan")) { fromq(atan2q(toq(&b), toq(&a)), &r); }
        else { printf("ERR\n"); continue; }
        put80(&r);
        if (two) { putchar(' '); put80(&r2); }
        printf(" %04X\n", sw);
    }
    return 0;
}
