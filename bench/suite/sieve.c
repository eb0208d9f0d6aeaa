/* Array walks: sieve of Eratosthenes (byte array), prefix sums, a histogram and a strided matrix transpose. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int reps = (int)(scale * 12); if (reps < 1) reps = 1;
    uint32_t n = 8000000, count = 0, sum = 0;
    uint8_t *s = malloc(n + 1);
    const int m = 512;
    uint32_t *a = malloc(sizeof(uint32_t) * m * m), *b = malloc(sizeof(uint32_t) * m * m), hist[256];
    for (int k = 0; k < reps; k++) {
        memset(s, 1, n + 1); s[0] = s[1] = 0;
        for (uint32_t i = 2; i * i <= n; i++)
            if (s[i]) for (uint32_t j = i * i; j <= n; j += i) s[j] = 0;
        count = 0;
        for (uint32_t i = 0; i <= n; i++) count += s[i];
        for (int i = 0; i < m * m; i++) a[i] = (uint32_t)i * 2654435761u + k;
        for (int t = 0; t < 4; t++) {
            for (int i = 0; i < m; i++) for (int j = 0; j < m; j++) b[j * m + i] = a[i * m + j] ^ (uint32_t)t;
            uint32_t acc = 0;
            for (int i = 0; i < m * m; i++) { acc += b[i]; a[i] = acc; }
        }
        memset(hist, 0, sizeof hist);
        for (int i = 0; i < m * m; i++) hist[a[i] >> 24]++;
        for (int i = 0; i < 256; i++) sum = sum * 33 + hist[i];
    }
    printf("sieve %d primes<=%u %u walks %08x\n", reps, n, count, sum);
    return 0;
}
