/* Tight register-only integer loop: rotate, xor, add, count down. Work: SCALE x 300M iterations. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    uint32_t n = (uint32_t)(scale * 300e6), a = 0x12345678, b = 0x9e3779b9, c = 1;
    /* volatile-free loop; the compiler keeps everything in registers */
    for (uint32_t i = n; i != 0; i--) {
        a = rotl(a ^ b, 5) + i;
        b = rotl(b + c, 11) ^ a;
        c += a >> 3;
    }
    printf("intloop %u %08x %08x %08x\n", n, a, b, c);
    return 0;
}
