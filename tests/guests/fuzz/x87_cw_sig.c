/* Found by the instruction fuzzer (issue #12): (1) a loaded x87 control word keeps only the bits the CPU has
 * (FLDCW/FLDENV/FXRSTOR of 0xFFFF read back 0x1F7F); (2) a signal handler starts with the FPU in its init
 * state, registers zero (fpu__clear_user_states), and sigreturn brings the old registers back. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void dump(const char *when)
{
    unsigned char b[108];
    __asm__ volatile("fnsave %0\nfrstor %0" : "=m"(b));
    printf("%s: cw %04x", when, b[0] | b[1] << 8);
    for (int i = 0; i < 8; i++) {
        printf(" ");
        for (int k = 9; k >= 0; k--) printf("%02x", b[28 + 10 * i + k]);
    }
    printf("\n");
}

static void handler(int sig) { (void)sig; dump("handler"); }

int main(void)
{
    static const unsigned short v[] = { 0xffff, 0x2013, 0x1000, 0x0000, 0xe0bf };
    for (unsigned i = 0; i < sizeof v / sizeof *v; i++) {
        unsigned short a, b; unsigned env[7] = { v[i], 0, 0xffff };
        __asm__ volatile("fldcw %1\nfnstcw %0" : "=m"(a) : "m"(v[i]));
        __asm__ volatile("fldenv %1\nfnstcw %0" : "=m"(b) : "m"(env));
        printf("%04x: fldcw %04x fldenv %04x\n", v[i], a, b);
    }
    __asm__ volatile("fninit\nfld1\nfldpi\nfldl2e");
    signal(SIGUSR1, handler);
    raise(SIGUSR1);
    dump("after");
    __asm__ volatile("fninit");
    return 0;
}
