/* String functions through glibc (its CPUID-selected variants): memcpy, strlen, strchr, memcmp, memset on sizes
   from 1 byte to 64 KiB at varying alignments. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int reps = (int)(scale * 25); if (reps < 1) reps = 1;
    size_t n = 1 << 17;
    char *a = malloc(n + 64), *b = malloc(n + 64);
    for (size_t i = 0; i < n + 64; i++) a[i] = (char)('a' + i * 7 % 26);
    memcpy(b, a, n + 64);
    static const size_t sizes[] = {1, 3, 7, 8, 15, 16, 31, 33, 64, 100, 255, 256, 1000, 4096, 5000, 16384, 65536};
    const int ns = sizeof sizes / sizeof sizes[0];
    uint32_t acc = 0;
    for (int r = 0; r < reps; r++)
        for (int si = 0; si < ns; si++) {
            size_t len = sizes[si], loops = 2000000 / (len + 32) + 1;
            for (size_t l = 0; l < loops; l++) {
                size_t off = (l * 13 + r) & 31, off2 = (l * 7) & 31;
                memcpy(b + off2, a + off, len);
                acc += (uint32_t)memcmp(b + off2, a + off, len) + (uint8_t)b[off2 + len / 2];
                char save = a[off + len]; a[off + len] = 0;
                acc += (uint32_t)strlen(a + off);
                char *p = strchr(a + off, 'z');
                acc += p ? (uint32_t)(p - (a + off)) : 7u;
                a[off + len] = save;
                memset(b + off2, 'q', len / 2);
                acc = acc * 33 + (memcmp(a + off, b + off2, len) > 0);
                memcpy(b + off2, a + off, len / 2);
            }
        }
    printf("strings %d %08x\n", reps, acc);
    return 0;
}
