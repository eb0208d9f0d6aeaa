/* bench/simdkernel.c: vectorised loops as gcc -m32 -O2 -msse4.2 -mfpmath=sse -ftree-vectorize emits them
 * (packed SSE single/double arithmetic, integer SIMD, unaligned loads/stores): saxpy, a double dot product, a
 * byte copy with a transform, an int32 sum of products and a float max. Fixed work; prints checksums. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#define N 4096

static float xs[N], ys[N];
static double xd[N], yd[N];
static uint8_t src[N * 4 + 16], dst[N * 4 + 16];
static int32_t ia[N], ib[N];

__attribute__((noinline)) static void saxpy(float a, const float *x, float *y, int n)
{
    for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}

__attribute__((noinline)) static double ddot(const double *x, const double *y, int n)
{
    double s0 = 0, s1 = 0;
    for (int i = 0; i < n; i += 2) { s0 += x[i] * y[i]; s1 += x[i + 1] * y[i + 1]; }
    return s0 + s1;
}

__attribute__((noinline)) static void copyxor(uint8_t *restrict d, const uint8_t *restrict s, int n, uint8_t k)
{
    for (int i = 0; i < n; i++) d[i] = s[i] ^ k;
}

__attribute__((noinline)) static int32_t isum(const int32_t *a, const int32_t *b, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

__attribute__((noinline)) static float fmaxv(const float *x, int n)
{
    float m = x[0];
    for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

int main(void)
{
    uint32_t r = 12345;
    for (int i = 0; i < N; i++)
    {
        r = r * 1103515245 + 12345;
        xs[i] = (float)(r >> 16) / 65536.0f;
        ys[i] = (float)i * 0.001f;
        xd[i] = (double)(r >> 8) / 16777216.0;
        yd[i] = 1.0 / (i + 1);
        ia[i] = (int32_t)(r >> 20) - 2048;
        ib[i] = i * 7 - 9000;
    }
    for (int i = 0; i < (int)sizeof src; i++) src[i] = (uint8_t)(i * 31 + 7);
    double dsum = 0;
    int64_t isumv = 0;
    uint32_t csum = 0;
    float fm = 0;
    for (int it = 0; it < 4000; it++)
    {
        saxpy(0.999f, xs, ys, N);
        dsum += ddot(xd, yd, N);
        copyxor(dst + (it & 15), src + ((it >> 4) & 15), N * 4, (uint8_t)it);
        csum = csum * 31 + dst[it & 4095] + dst[N * 4 - 1 - (it & 1023)];
        isumv += isum(ia, ib, N);
        fm += fmaxv(ys, N);
    }
    printf("saxpy %.6e dot %.10e copy %08x isum %lld fmax %.6e\n", ys[N / 3], dsum, csum, (long long)isumv, fm);
    return 0;
}
