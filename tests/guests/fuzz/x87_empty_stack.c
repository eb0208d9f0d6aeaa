/* x87 instructions on an empty stack (found by the instruction fuzzer): a memory operand's #D is not reported
 * with the stack fault, an unmasked stack underflow in FCOM still sets C3 C2 C0 = 111, and FSTP1 (D9 D8+i,
 * Iced's FSTPNCE) copies an empty ST(0) with its tag and no stack fault. */
#include <stdio.h>
#include <stdint.h>

static uint32_t den = 1; /* a float32 denormal */

int main(void)
{
    uint16_t sw, cw = 0x37e; /* IM unmasked */
    char env[28];
    float out;
    __asm__ volatile("fninit\nfadds %1\nfnstsw %0" : "=m"(sw) : "m"(den));
    printf("fadd m32 (denormal), empty: sw %04x\n", sw);
    __asm__ volatile("fninit\nfcomps %1\nfnstsw %0" : "=m"(sw) : "m"(den));
    printf("fcomp m32 (denormal), empty: sw %04x\n", sw);
    __asm__ volatile("fninit\nfcoms %1\nfnstsw %0" : "=m"(sw) : "m"(den));
    printf("fcom m32 (denormal), empty: sw %04x\n", sw);
    __asm__ volatile("fninit\nfldcw %1\nfcom %%st(1)\nfnstsw %0\nfnclex" : "=m"(sw) : "m"(cw));
    printf("fcom st(1), IE unmasked, empty: sw %04x\n", sw);
    __asm__ volatile("fninit\nfldcw %1\nfucomp %%st(4)\nfnstsw %0\nfnclex" : "=m"(sw) : "m"(cw));
    printf("fucomp st(4), IE unmasked, empty: sw %04x\n", sw);
    __asm__ volatile("fninit\nfldcw %1\nfadd %%st(1)\nfnstsw %0\nfnclex" : "=m"(sw) : "m"(cw));
    printf("fadd st(1), IE unmasked, empty: sw %04x\n", sw);
    __asm__ volatile("fninit\nfld1\n.byte 0xd9,0xd9\nfnstsw %0\nfnstenv %1" : "=m"(sw), "=m"(env));
    printf("fstp1 st(1), 1.0: sw %04x tag %04x\n", sw, *(uint16_t *)(env + 8));
    __asm__ volatile("fninit\n.byte 0xd9,0xd9\nfnstsw %0\nfnstenv %1" : "=m"(sw), "=m"(env));
    printf("fstp1 st(1), empty: sw %04x tag %04x\n", sw, *(uint16_t *)(env + 8));
    __asm__ volatile("fninit\n.byte 0xd9,0xdf\nfld %%st(6)\nfstps %1\nfnstsw %0\nfninit" : "=m"(sw), "=m"(out));
    printf("fld st(6) after fstp1 st(7) on empty: %08x sw %04x\n", *(uint32_t *)&out, sw);
    return 0;
}
