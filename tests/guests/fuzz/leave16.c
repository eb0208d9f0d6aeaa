/* LEAVE with an operand-size prefix (66 C9) on a 32-bit stack: ESP := EBP, then POP BP, two bytes, the upper half
 * of EBP kept (found by the instruction fuzzer: compat32 ignored the prefix and popped four bytes). */
#include <stdio.h>
#include <stdint.h>

uint32_t frame[4] = { 0x11223344, 0x55667788, 0, 0 }, out_esp, out_ebp, saved_esp, saved_ebp;

int main(void)
{
    __asm__ volatile(
        "mov %%esp,saved_esp\nmov %%ebp,saved_ebp\n"
        "mov $frame,%%ebp\n.byte 0x66,0xc9\n"
        "mov %%esp,out_esp\nmov %%ebp,out_ebp\n"
        "mov saved_esp,%%esp\nmov saved_ebp,%%ebp" : : : "memory");
    printf("leavew: esp frame%+d ebp %08x (upper half of frame's address kept: %d)\n",
           (int)(out_esp - (uint32_t)frame), out_ebp & 0xffff, (out_ebp >> 16) == ((uint32_t)frame >> 16));
    __asm__ volatile(
        "mov %%esp,saved_esp\nmov %%ebp,saved_ebp\n"
        "mov $frame,%%ebp\nleave\n"
        "mov %%esp,out_esp\nmov %%ebp,out_ebp\n"
        "mov saved_esp,%%esp\nmov saved_ebp,%%ebp" : : : "memory");
    printf("leave: esp frame%+d ebp %08x\n", (int)(out_esp - (uint32_t)frame), out_ebp);
    return 0;
}
