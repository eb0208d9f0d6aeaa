/* x87 details the instruction fuzzer found against the host CPU (long run 8600000000): FCOMI/FUCOMI keep C1, and a NaN
 * in ST(0) comes before a memory operand's #D in FCOMP */
#include <stdio.h>
#include <stdint.h>
int main(void)
{
    unsigned short sw1, sw2, sw3;
    /* FCOMI/FUCOMI keep the C1 a rounded-up FADD set (seed 8600001519) */
    for (int k = 1; k < 13; k++) {
        double v = 1.0 / k + 1e-3 * k; long double big = 1e18L;
        __asm__ volatile("fninit\nfldt %4\nfldl %3\nfaddp\nfnstsw %0\nfcomi %%st(0),%%st\nfnstsw %1\nfucomi %%st(0),%%st\nfnstsw %2\nfstp %%st(0)"
                         : "=m"(sw1), "=m"(sw2), "=m"(sw3) : "m"(v), "m"(big) : "cc");
        printf("k %2d fadd %04x fcomi %04x fucomi %04x\n", k, sw1, sw2, sw3);
    }
    /* FCOMP of a NaN ST(0) with a denormal m32: IE without DE (seed 8600001515); FCOMP of a number with it: DE */
    uint32_t den = 1; float one = 1.0f;
    __asm__ volatile("fninit\nfldz\nfldz\nfdivp\nfcomps %1\nfnstsw %0" : "=m"(sw1) : "m"(den));
    __asm__ volatile("fninit\nflds %2\nfcomps %1\nfnstsw %0" : "=m"(sw2) : "m"(den), "m"(one));
    __asm__ volatile("fninit\nfxch %%st(6)\nfcomps %1\nfnstsw %0" : "=m"(sw3) : "m"(den));
    printf("nan vs denormal %04x, 1 vs denormal %04x, after fxch of empties %04x\n", sw1, sw2, sw3);
    return 0;
}
