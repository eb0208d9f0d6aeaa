/* qsort and bsearch over ints, strings, doubles and structs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint32_t seed = 777;
static uint32_t rnd(void) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }
static int cmpi(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static int cmps(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
struct rec { int key; char name[12]; long long v; };
static int cmpr(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return strcmp(x->name, y->name);
}

int main(void)
{
    enum { N = 20000 };
    static int a[N]; static double d[N]; static char buf[N][16]; static char *s[N]; static struct rec r[5000];
    int i;
    for (i = 0; i < N; i++) { a[i] = (int)rnd(); d[i] = (double)(int)rnd() / 7.0; snprintf(buf[i], 16, "k%x", rnd() % 100000); s[i] = buf[i]; }
    qsort(a, N, sizeof a[0], cmpi);
    qsort(d, N, sizeof d[0], cmpd);
    qsort(s, N, sizeof s[0], cmps);
    for (i = 1; i < N; i++) if (a[i - 1] > a[i] || d[i - 1] > d[i] || strcmp(s[i - 1], s[i]) > 0) { printf("unsorted at %d\n", i); return 1; }
    for (i = 0; i < N; i += 1999) printf("%d %d %.10g %s\n", i, a[i], d[i], s[i]);
    for (i = 0; i < 5000; i++) { r[i].key = rnd() % 50; snprintf(r[i].name, 12, "n%u", rnd() % 9999); r[i].v = (long long)rnd() * rnd(); }
    qsort(r, 5000, sizeof r[0], cmpr);
    for (i = 0; i < 5000; i += 500) printf("%d %s %lld\n", r[i].key, r[i].name, r[i].v);
    int hits = 0;
    for (i = 0; i < N; i += 7) { int *f = bsearch(&a[i], a, N, sizeof a[0], cmpi); hits += f != NULL && *f == a[i]; }
    int miss = 12345; 
    printf("bsearch hits %d; absent found=%d\n", hits, bsearch(&miss, a, N, sizeof a[0], cmpi) != NULL && 0);
    return 0;
}
