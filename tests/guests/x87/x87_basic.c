/* x87 guest: prints exact bit patterns of long double / x87 results so compat32 and qemu-i386 can be diffed.
 * Transcendentals are printed to 10 digits only: qemu evaluates them through host doubles. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>

static void p80(const char *name, long double v) {
    unsigned char b[10]; memcpy(b, &v, 10);
    printf("%-10s %02X%02X:", name, b[9], b[8]);
    for (int i = 7; i >= 0; i--) printf("%02X", b[i]);
    printf("\n");
}
static void setcw(uint16_t cw) { __asm__ volatile("fldcw %0" :: "m"(cw)); }
static uint16_t getsw(void) { uint16_t sw; __asm__ volatile("fnstsw %0" : "=m"(sw)); return sw; }

static volatile long double vone = 1.0L, vthree = 3.0L, vtwo = 2.0L, vbig = 1e4000L, vtiny = 1e-4940L;


int main(void) {
    long double third = vone / vthree;
    p80("third", third);
    p80("sqrt2", __builtin_sqrtl(vtwo));
    p80("mul", third * vbig);
    p80("ovf", vbig * vbig);
    p80("unf", vtiny * vtiny);
    p80("denorm", vtiny / 1e10L);
    for (int rc = 0; rc < 4; rc++)
        for (int pc = 0; pc < 4; pc += (pc == 0 ? 2 : 1)) {
            setcw((uint16_t)(0x7F | pc << 8 | rc << 10));
            __asm__ volatile("fnclex");
            long double q = vone / vthree;
            long double s = vtwo + vtiny;
            char n[16]; snprintf(n, sizeof n, "rc%dpc%d", rc, pc);
            p80(n, q); p80(n, s);
            printf("sw %04X\n", getsw() & 0x7F);
            long long ll; __asm__ volatile("fistpll %0" : "=m"(ll) : "t"(q * 1e18L) : "st");
            printf("fistp %lld\n", ll);
        }
    setcw(0x37F);
    /* compare and classify */
    long double vals[] = { 0.0L, -0.0L, 1.5L, -2.25L, 1e4000L, __builtin_infl(), __builtin_nanl(""), 1e-4940L };
    for (int i = 0; i < 8; i++) {
        uint16_t sw;
        __asm__ volatile("fxam\n\tfnstsw %0" : "=m"(sw) : "t"(vals[i]));
        printf("fxam %d %04X\n", i, sw & 0x4700);
        for (int j = 0; j < 8; j++) {
            __asm__ volatile("fnclex\n\tfucom %%st(1)\n\tfnstsw %0" : "=m"(sw) : "t"(vals[i]), "u"(vals[j]));
            printf("%X", (sw >> 8) & 0x47);
        }
        printf("\n");
    }
    /* fprem loop */
    long double r = 1e300L, d = 3.0L;
    int steps = 0;
    uint16_t sw;
    do { __asm__ volatile("fprem\n\tfnstsw %1" : "+t"(r), "=m"(sw) : "u"(d)); steps++; } while (sw & 0x400);
    p80("fprem", r); printf("steps %d q=%d%d%d\n", steps, !!(sw & 0x100), !!(sw & 0x4000), !!(sw & 0x200));
    /* bcd */
    unsigned char bcd[10];
    long double big = -123456789012345678.0L;
    __asm__ volatile("fbstp %0" : "=m"(bcd) : "t"(big) : "st");
    for (int i = 9; i >= 0; i--) printf("%02X", bcd[i]);
    printf("\n");
    /* environment */
    unsigned char env[28];
    __asm__ volatile("fldpi\n\tfld1\n\tfnstenv %0\n\tfninit" : "=m"(env));
    printf("env cw=%02X%02X sw=%02X%02X tag=%02X%02X\n", env[1], env[0], env[5], env[4], env[9], env[8]);
    /* transcendentals, coarse */
    long double s, c, t, at, l;
    __asm__ ("fsin" : "=t"(s) : "0"(0.5L));
    __asm__ ("fcos" : "=t"(c) : "0"(0.5L));
    __asm__ ("fptan\n\tfstp %%st(0)" : "=t"(t) : "0"(0.5L));
    __asm__ ("fpatan" : "=t"(at) : "0"(2.0L), "u"(1.0L) : "st(1)");
    __asm__ ("fyl2x" : "=t"(l) : "0"(10.0L), "u"(1.0L) : "st(1)");
    printf("%.10Lg %.10Lg %.10Lg %.10Lg %.10Lg\n", s, c, t, at, l);
    printf("done\n");
    return 0;
}
