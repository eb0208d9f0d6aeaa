/* bench/mmxkernel.c: MMX loops as <mmintrin.h> code built with gcc -m32 -O2 -mmmx compiles them: an 8-bit
 * alpha blend (unpack, multiply, shift, pack with unsigned saturation), an int16 dot product (PMADDWD), a
 * saturating byte add and a 16-bit absolute-difference sum (compare, subtract, shifts). EMMS after each kernel,
 * then x87 code folds the results. Fixed work (argument: rounds, default 4000); prints checksums. */
#include <mmintrin.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#define N 8192

static uint8_t a8[N] __attribute__((aligned(8))), b8[N] __attribute__((aligned(8))), d8[N] __attribute__((aligned(8)));
static int16_t a16[N] __attribute__((aligned(8))), b16[N] __attribute__((aligned(8)));

__attribute__((noinline)) static void blend(uint8_t *d, const uint8_t *x, const uint8_t *y, int n, int alpha)
{
    __m64 z = _mm_setzero_si64(), al = _mm_set1_pi16((short)alpha), ia = _mm_set1_pi16((short)(256 - alpha));
    for (int i = 0; i < n; i += 8) {
        __m64 p = *(const __m64 *)(x + i), q = *(const __m64 *)(y + i);
        __m64 lo = _mm_add_pi16(_mm_mullo_pi16(_mm_unpacklo_pi8(p, z), al), _mm_mullo_pi16(_mm_unpacklo_pi8(q, z), ia));
        __m64 hi = _mm_add_pi16(_mm_mullo_pi16(_mm_unpackhi_pi8(p, z), al), _mm_mullo_pi16(_mm_unpackhi_pi8(q, z), ia));
        *(__m64 *)(d + i) = _mm_packs_pu16(_mm_srli_pi16(lo, 8), _mm_srli_pi16(hi, 8));
    }
    _mm_empty();
}

__attribute__((noinline)) static int64_t dot16(const int16_t *x, const int16_t *y, int n)
{
    __m64 s = _mm_setzero_si64();
    for (int i = 0; i < n; i += 4) s = _mm_add_pi32(s, _mm_madd_pi16(*(const __m64 *)(x + i), *(const __m64 *)(y + i)));
    int64_t r = (int64_t)_mm_cvtsi64_si32(s) + _mm_cvtsi64_si32(_mm_srli_si64(s, 32));
    _mm_empty();
    return r;
}

__attribute__((noinline)) static void addsat(uint8_t *d, const uint8_t *x, int n)
{
    for (int i = 0; i < n; i += 8) *(__m64 *)(d + i) = _mm_adds_pu8(*(const __m64 *)(d + i), *(const __m64 *)(x + i));
    _mm_empty();
}

__attribute__((noinline)) static uint32_t sad16(const int16_t *x, const int16_t *y, int n)
{
    __m64 acc = _mm_setzero_si64(), z = _mm_setzero_si64();
    for (int i = 0; i < n; i += 4) {
        __m64 p = *(const __m64 *)(x + i), q = *(const __m64 *)(y + i);
        __m64 gt = _mm_cmpgt_pi16(p, q);
        __m64 d = _mm_sub_pi16(_mm_xor_si64(_mm_sub_pi16(p, q), gt), gt); /* |p - q| (mod 2^16) */
        acc = _mm_add_pi32(acc, _mm_add_pi32(_mm_unpacklo_pi16(d, z), _mm_unpackhi_pi16(d, z)));
    }
    uint32_t r = (uint32_t)_mm_cvtsi64_si32(acc) + (uint32_t)_mm_cvtsi64_si32(_mm_srli_si64(acc, 32));
    _mm_empty();
    return r;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4000;
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245 + 12345; a8[i] = x >> 16;
        x = x * 1103515245 + 12345; b8[i] = x >> 16;
        x = x * 1103515245 + 12345; a16[i] = (int16_t)(x >> 12);
        x = x * 1103515245 + 12345; b16[i] = (int16_t)(x >> 12);
    }
    double fold = 0; /* x87 between the MMX kernels */
    uint32_t ck = 0;
    for (int r = 0; r < rounds; r++) {
        blend(d8, a8, b8, N, r & 255);
        addsat(d8, b8, N);
        int64_t dp = dot16(a16, b16, N);
        uint32_t s = sad16(a16, b16, N);
        fold = fold * 0.5 + (double)dp * 1e-9 + s * 1e-6;
        ck = ck * 31 + d8[r % N] + (uint32_t)dp + s;
        a16[r % N] ^= (int16_t)ck;
    }
    printf("mmx kernel: %d rounds, checksum %08x, fold %.6f\n", rounds, ck, fold);
    return 0;
}
