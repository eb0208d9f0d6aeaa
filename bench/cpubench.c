/* CPU-bound benchmark guest: integer hashing, a sieve, sorting and x87 floating point, with a checksum so
 * both runners provably did the same work. Sized for ~1-3 s under qemu-i386. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static uint32_t fnv(const uint8_t *p, size_t n) { uint32_t h = 2166136261u; while (n--) h = (h ^ *p++) * 16777619u; return h; }
static uint32_t rs = 2463534242u;
static uint32_t xs(void) { rs ^= rs << 13; rs ^= rs >> 17; rs ^= rs << 5; return rs; }
static int cmp(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }

int main(void)
{
    uint32_t sum = 0;
    /* 1. hashing */
    static uint8_t buf[1 << 16];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)xs();
    for (int r = 0; r < 240; r++) { buf[r] ^= (uint8_t)r; sum += fnv(buf, sizeof buf); }
    /* 2. sieve of Eratosthenes */
    static uint8_t comp[2000000];
    int primes = 0;
    for (int r = 0; r < 10; r++)
    {
        memset(comp, 0, sizeof comp);
        primes = 0;
        for (uint32_t i = 2; i < sizeof comp; i++)
        {
            if (comp[i]) continue;
            primes++;
            for (uint32_t j = i * 2; j < sizeof comp; j += i) comp[j] = 1;
        }
    }
    sum += (uint32_t)primes;
    /* 3. sorting */
    static uint32_t a[200000];
    for (size_t i = 0; i < 200000; i++) a[i] = xs();
    qsort(a, 200000, sizeof a[0], cmp);
    for (size_t i = 1; i < 200000; i++) if (a[i - 1] > a[i]) return 1;
    sum += a[1000] ^ a[150000];
    /* 4. floating point (x87 on i686): a Leibniz series, a small n-body step and a Mandelbrot */
    double pi = 0;
    for (int k = 0; k < 4000000; k++) pi += (k & 1 ? -4.0 : 4.0) / (2 * k + 1);
    int inside = 0;
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 200; x++)
        {
            double cr = -2.0 + x * 0.015, ci = -1.5 + y * 0.015, zr = 0, zi = 0;
            int it = 0;
            while (it < 100 && zr * zr + zi * zi < 4.0) { double t = zr * zr - zi * zi + cr; zi = 2 * zr * zi + ci; zr = t; it++; }
            inside += it == 100;
        }
    printf("sum=%08x primes=%d pi=%.12f inside=%d\n", sum, primes, pi, inside);
    return 0;
}
