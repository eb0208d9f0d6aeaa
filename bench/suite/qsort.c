/* glibc qsort with a comparison callback: SCALE x 10 sorts of 200k records (key, then tie-break). */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
struct rec { uint32_t key; uint32_t id; };
static int cmp(const void *a, const void *b) {
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}
static int cmpu(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int reps = (int)(scale * 10); if (reps < 1) reps = 1;
    size_t n = 200000;
    struct rec *r = malloc(n * sizeof *r);
    uint32_t *u = malloc(n * sizeof *u), x = 88172645u, sum = 0;
    for (int k = 0; k < reps; k++) {
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            r[i].key = x % 50000; r[i].id = (uint32_t)i; u[i] = x;
        }
        qsort(r, n, sizeof *r, cmp);
        qsort(u, n, sizeof *u, cmpu);
        for (size_t i = 0; i < n; i += 997) sum = sum * 31 + r[i].key * 7 + r[i].id + u[i];
    }
    printf("qsort %d x %zu %08x\n", reps, n, sum);
    return 0;
}
