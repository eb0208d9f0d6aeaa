/* malloc-heavy code: many sizes (small bins, large bins, mmap threshold), realloc growth/shrink, free in
   pseudo-random order, calloc, posix_memalign. Prints checksums, which depend only on the data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

#define N 2000
static unsigned char *p[N];
static size_t sz[N];

static uint32_t sum(const unsigned char *b, size_t n) { uint32_t s = 0; for (size_t i = 0; i < n; i++) s = s * 31 + b[i]; return s; }

int main(void)
{
    uint32_t total = 0;
    int round, i;
    for (round = 0; round < 6; round++) {
        for (i = 0; i < N; i++) {
            uint32_t r = rnd();
            size_t n = (r % 16 == 0) ? (r % 300000) : (r % 16 == 1) ? (r % 5000) : (r % 200);
            if (p[i]) {
                if (r & 1) {
                    total += sum(p[i], sz[i]);
                    free(p[i]); p[i] = NULL;
                } else {
                    unsigned char *q = realloc(p[i], n + 1);
                    if (!q) { puts("realloc failed"); return 1; }
                    size_t keep = sz[i] < n + 1 ? sz[i] : n + 1;
                    total += sum(q, keep);
                    if (n + 1 > sz[i]) memset(q + sz[i], (int)(r & 0xff), n + 1 - sz[i]);
                    p[i] = q; sz[i] = n + 1;
                }
            } else {
                p[i] = (r & 2) ? calloc(n + 1, 1) : malloc(n + 1);
                if (!p[i]) { puts("malloc failed"); return 1; }
                if (r & 2) { for (size_t k = 0; k < n + 1; k++) if (p[i][k]) { puts("calloc not zero"); return 1; } }
                for (size_t k = 0; k < n + 1; k++) p[i][k] = (unsigned char)(k * 7 + i + round);
                sz[i] = n + 1;
            }
            if (((uintptr_t)p[i] & 7) != 0 && p[i]) { puts("misaligned"); return 1; }
        }
        printf("round %d checksum %08x\n", round, total);
    }
    for (i = 0; i < N; i++) { if (p[i]) total += sum(p[i], sz[i]); free(p[i]); }
    for (i = 4; i <= 65536; i *= 4) {
        void *a = NULL;
        int rc = posix_memalign(&a, (size_t)i, 1000);
        printf("memalign %d rc=%d aligned=%d\n", i, rc, a && ((uintptr_t)a % (uintptr_t)i) == 0);
        free(a);
    }
    /* one big block that must come from mmap, written end to end */
    size_t big = 64u << 20;
    unsigned char *b = malloc(big);
    if (!b) { puts("big malloc failed"); return 1; }
    memset(b, 0x5a, big);
    b[big - 1] = 1;
    total += sum(b + big - 4096, 4096);
    b = realloc(b, big * 2);
    if (!b) { puts("big realloc failed"); return 1; }
    memset(b + big, 0xa5, big);
    total += sum(b + big - 4096, 8192);
    free(b);
    printf("final %08x\n", total);
    return 0;
}
