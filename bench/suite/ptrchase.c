/* Pointer chasing: a singly linked list laid out in random order over 16 MiB (a cache miss per step), then a
   binary search tree built from random keys and searched. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
struct node { struct node *next; uint32_t val; uint32_t pad[5]; };
struct tree { struct tree *l, *r; uint32_t key; };
static uint32_t rng = 123456789u;
static uint32_t xs(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    long steps = (long)(scale * 6000000); if (steps < 1) steps = 1;
    uint32_t n = scale >= 0.1 ? 1u << 19 : 1u << 12;   /* 16 MiB of nodes: beyond the caches */
    struct node *a = malloc(n * sizeof *a);
    uint32_t *perm = malloc(n * sizeof *perm);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) { uint32_t j = xs() % (i + 1), t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
    for (uint32_t i = 0; i < n; i++) { a[perm[i]].next = &a[perm[(i + 1) % n]]; a[perm[i]].val = i * 2654435761u; }
    struct node *p = &a[perm[0]];
    uint32_t sum = 0;
    for (long s = 0; s < steps; s++) { sum += p->val; p = p->next; }
    uint32_t tn = (uint32_t)(scale * 150000) + 16;
    struct tree *t = calloc(tn, sizeof *t), *root = &t[0];
    t[0].key = 0x80000000u;
    for (uint32_t i = 1; i < tn; i++) {
        t[i].key = xs();
        struct tree **q = &root;
        while (*q) q = t[i].key < (*q)->key ? &(*q)->l : &(*q)->r;
        *q = &t[i];
    }
    uint32_t found = 0, depth = 0;
    for (uint32_t i = 0; i < tn * 4; i++) {
        uint32_t k = i & 1 ? t[(i * 7919u) % tn].key : xs();
        struct tree *q = root;
        while (q && q->key != k) { q = k < q->key ? q->l : q->r; depth++; }
        found += q != NULL;
    }
    printf("ptrchase list %ld steps %08x tree %u found %u depth %u\n", steps, sum, tn, found, depth);
    return 0;
}
