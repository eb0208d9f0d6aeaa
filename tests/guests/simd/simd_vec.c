/* Vectorised loops, SSE float/double math and intrinsics from SSE2 to SSE4.2, AES-NI and PCLMULQDQ; glibc's
 * string functions (its ifuncs pick SSE2/SSSE3/SSE4.2 versions on a CPU that reports them). Built with
 * gcc -m32 -O2 -msse4.2 -maes -mpclmul -mfpmath=sse -ftree-vectorize; every result is printed in hex. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 1 ^ seed << 7; }

#define N 1031
static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static int32_t ia[N], ib[N], ic[N];
static uint8_t ua[N], ub[N], uc[N];
static int16_t sa[N], sb[N], sc[N];

static uint32_t hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

__attribute__((noinline)) static void saxpy(float a, const float *x, float *y, int n) { for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i]; }
__attribute__((noinline)) static double dot(const double *x, const double *y, int n) { double s = 0; for (int i = 0; i < n; i++) s += x[i] * y[i]; return s; }
__attribute__((noinline)) static float fdot(const float *x, const float *y, int n) { float s = 0; for (int i = 0; i < n; i++) s += x[i] * y[i]; return s; }
__attribute__((noinline)) static void iops(int32_t *c, const int32_t *a, const int32_t *b, int n) { for (int i = 0; i < n; i++) c[i] = (a[i] * b[i]) ^ (a[i] >> 3) + (b[i] < a[i] ? a[i] : b[i]); }
__attribute__((noinline)) static void bops(uint8_t *c, const uint8_t *a, const uint8_t *b, int n) { for (int i = 0; i < n; i++) c[i] = (uint8_t)((a[i] + b[i] + 1) >> 1) ^ (a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]); }
__attribute__((noinline)) static void sops(int16_t *c, const int16_t *a, const int16_t *b, int n) { for (int i = 0; i < n; i++) { int v = a[i] + b[i]; c[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v; } }
__attribute__((noinline)) static void conv(int32_t *c, const float *a, const double *b, int n) { for (int i = 0; i < n; i++) c[i] = (int32_t)a[i] + (int32_t)b[i] + (int32_t)lrintf(a[i]); }
__attribute__((noinline)) static void fmath(float *c, double *d, const float *a, const double *b, int n)
{
    for (int i = 0; i < n; i++) { c[i] = sqrtf(fabsf(a[i])) / (a[i] + 3.0f) + fminf(a[i], (float)b[i]); d[i] = sqrt(fabs(b[i])) * b[i] - fmax(b[i], (double)a[i]) / 7.0; }
}

int main(void)
{
    for (int i = 0; i < N; i++)
    {
        fa[i] = (float)(int32_t)rnd() / 65536.0f; fb[i] = (float)(rnd() % 2000) / 7.0f - 100.0f;
        da[i] = (double)(int32_t)rnd() / 3.0; db[i] = (double)(rnd() % 100000) / 13.0 - 3000.0;
        ia[i] = rnd(); ib[i] = rnd() % 1000 - 500; ua[i] = rnd(); ub[i] = rnd(); sa[i] = rnd(); sb[i] = rnd();
    }
    memcpy(fc, fb, sizeof fc);
    saxpy(2.5f, fa, fc, N);
    printf("saxpy %08x\n", hash(fc, sizeof fc));
    printf("dot %a fdot %a\n", dot(da, db, N), (double)fdot(fa, fb, N));
    iops(ic, ia, ib, N); printf("iops %08x\n", hash(ic, sizeof ic));
    bops(uc, ua, ub, N); printf("bops %08x\n", hash(uc, sizeof uc));
    sops(sc, sa, sb, N); printf("sops %08x\n", hash(sc, sizeof sc));
    conv(ic, fb, db, N); printf("conv %08x\n", hash(ic, sizeof ic));
    fmath(fc, dc, fa, db, N); printf("fmath %08x %08x\n", hash(fc, sizeof fc), hash(dc, sizeof dc));
    printf("libm %a %a %a %a\n", sin(da[3]), exp(db[5] / 1000), log(fabs(da[7])), pow(fabs(db[9]), 0.37));
    printf("libmf %a %a %a\n", (double)sinf(fb[3]), (double)expf(fb[5] / 10), (double)logf(fabsf(fa[7])));

    /* SSE2 */
    __m128i x = _mm_set_epi32(rnd(), rnd(), rnd(), rnd()), y = _mm_set_epi32(rnd(), rnd(), rnd(), rnd());
    __m128i r = _mm_add_epi64(_mm_mul_epu32(x, y), _mm_sad_epu8(x, y));
    r = _mm_xor_si128(r, _mm_packs_epi32(_mm_srai_epi32(x, 7), _mm_slli_epi32(y, 3)));
    r = _mm_unpackhi_epi8(r, _mm_shuffle_epi32(x, 0x4E));
    __m128d pd = _mm_div_pd(_mm_cvtepi32_pd(x), _mm_set_pd(3.0, -7.0));
    printf("sse2 %08x %08x %08x %08x %a %a %d\n", _mm_extract_epi16(r, 1), _mm_movemask_epi8(r), (uint32_t)_mm_cvtsi128_si32(r),
           (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(r, 5)), _mm_cvtsd_f64(pd), _mm_cvtsd_f64(_mm_unpackhi_pd(pd, pd)), _mm_cvtsd_si32(pd));
    /* SSSE3 */
    __m128i s3 = _mm_shuffle_epi8(x, y);
    s3 = _mm_add_epi16(_mm_hadd_epi16(s3, x), _mm_maddubs_epi16(x, y));
    s3 = _mm_sign_epi8(_mm_alignr_epi8(s3, y, 5), _mm_abs_epi16(x));
    s3 = _mm_mulhrs_epi16(s3, y);
    printf("ssse3 %08x\n", hash(&s3, 16));
    /* SSE4.1 */
    __m128 ps = _mm_set_ps(1.5f, -2.25f, 3.75f, 1e-3f), ps2 = _mm_set_ps(-0.5f, 8.0f, 2.5f, 1e5f);
    __m128 dp = _mm_dp_ps(ps, ps2, 0xF1);
    __m128 rd = _mm_round_ps(_mm_mul_ps(ps, ps2), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m128i s4 = _mm_mullo_epi32(x, y);
    s4 = _mm_max_epi32(s4, _mm_min_epu32(x, y));
    s4 = _mm_blendv_epi8(s4, _mm_cvtepu8_epi32(x), y);
    s4 = _mm_packus_epi32(s4, _mm_mpsadbw_epu8(x, y, 5));
    printf("sse41 %a %08x %08x %d %d %08x\n", (double)_mm_cvtss_f32(dp), hash(&rd, 16), hash(&s4, 16), _mm_testz_si128(x, y),
           _mm_extract_epi8(s4, 9), (uint32_t)_mm_cvtsi128_si32(_mm_minpos_epu16(x)));
    /* SSE4.2 */
    const char *hay = "The quick brown fox jumps over the lazy dog; 0123456789";
    __m128i h = _mm_loadu_si128((const __m128i *)(hay + 4)), nd = _mm_setr_epi8('o', 'w', 'n', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    __m128i rng = _mm_setr_epi8('a', 'f', 'x', 'z', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    printf("sse42 %d %d %d %d %08x %08x %08x\n", _mm_cmpistri(nd, h, _SIDD_CMP_EQUAL_ORDERED), _mm_cmpistri(rng, h, _SIDD_CMP_RANGES | _SIDD_MOST_SIGNIFICANT),
           _mm_cmpestri(nd, 2, h, 16, _SIDD_CMP_EQUAL_ANY | _SIDD_NEGATIVE_POLARITY), _mm_cmpistrc(rng, h, _SIDD_CMP_RANGES),
           (uint32_t)_mm_cvtsi128_si32(_mm_cmpistrm(rng, h, _SIDD_CMP_RANGES | _SIDD_UNIT_MASK)),
           _mm_crc32_u32(_mm_crc32_u8(0xFFFFFFFF, 0x5A), 0xDEADBEEF), (uint32_t)__builtin_popcount(ia[3]) | (uint32_t)_mm_popcnt_u32(ia[5]) << 8);
    /* AES: one FIPS-197 appendix C.1 block, encrypted with AESENC* and key expansion with AESKEYGENASSIST, and back */
    __m128i key = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), ks[11];
    ks[0] = key;
#define EXP(i, rc) do { __m128i t = _mm_aeskeygenassist_si128(ks[i - 1], rc); t = _mm_shuffle_epi32(t, 0xFF); __m128i k = ks[i - 1]; \
        k = _mm_xor_si128(k, _mm_slli_si128(k, 4)); k = _mm_xor_si128(k, _mm_slli_si128(k, 4)); k = _mm_xor_si128(k, _mm_slli_si128(k, 4)); ks[i] = _mm_xor_si128(k, t); } while (0)
    EXP(1, 0x01); EXP(2, 0x02); EXP(3, 0x04); EXP(4, 0x08); EXP(5, 0x10); EXP(6, 0x20); EXP(7, 0x40); EXP(8, 0x80); EXP(9, 0x1B); EXP(10, 0x36);
    __m128i blk = _mm_setr_epi8(0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff);
    __m128i c = _mm_xor_si128(blk, ks[0]);
    for (int i = 1; i < 10; i++) c = _mm_aesenc_si128(c, ks[i]);
    c = _mm_aesenclast_si128(c, ks[10]);
    uint8_t cb[16]; _mm_storeu_si128((__m128i *)cb, c);
    printf("aes ");
    for (int i = 0; i < 16; i++) printf("%02x", cb[i]);
    __m128i p = _mm_xor_si128(c, ks[10]);
    for (int i = 9; i >= 1; i--) p = _mm_aesdec_si128(p, _mm_aesimc_si128(ks[i]));
    p = _mm_aesdeclast_si128(p, ks[0]);
    printf(" back %d\n", _mm_movemask_epi8(_mm_cmpeq_epi8(p, blk)) == 0xFFFF);
    /* PCLMULQDQ */
    __m128i cl = _mm_clmulepi64_si128(x, y, 0x11);
    cl = _mm_xor_si128(cl, _mm_clmulepi64_si128(x, y, 0x00));
    printf("pclmul %08x\n", hash(&cl, 16));
    /* MMX with the x87 afterwards */
    __m64 m1 = _mm_set_pi16(1, -2, 300, -32768), m2 = _mm_set_pi16(7, 7, -300, -1);
    __m64 m3 = _mm_adds_pi16(_mm_mullo_pi16(m1, m2), _mm_sub_pi8(m1, m2));
    int32_t mm = _mm_cvtsi64_si32(m3) ^ _mm_cvtsi64_si32(_mm_srli_si64(m3, 32));
    _mm_empty();
    printf("mmx %08x x87 %a\n", (uint32_t)mm, (double)(1.0L / 3.0L));

    /* glibc string functions on random data: the SSE2/SSSE3/SSE4.2 ifunc versions */
    static char buf[4096], buf2[4096];
    for (int i = 0; i < 4095; i++) buf[i] = 'a' + rnd() % 20;
    buf[4095] = 0;
    memcpy(buf2, buf, sizeof buf);
    uint32_t acc = 0;
    for (int i = 0; i < 300; i++)
    {
        int off = rnd() % 2000, len = rnd() % 1500;
        char save = buf[off + len]; buf[off + len] = 0;
        acc = acc * 31 + strlen(buf + off);
        acc = acc * 31 + (uint32_t)(strchr(buf + off, 'q') ? strchr(buf + off, 'q') - buf : -1);
        acc = acc * 31 + (uint32_t)(strrchr(buf + off, 'b') ? strrchr(buf + off, 'b') - buf : -1);
        acc = acc * 31 + strspn(buf + off, "abcdefgh");
        acc = acc * 31 + strcspn(buf + off, "stq");
        acc = acc * 31 + (uint32_t)(strpbrk(buf + off, "rs") ? strpbrk(buf + off, "rs") - buf : -1);
        acc = acc * 31 + (uint32_t)(memchr(buf + off, 'p', len) ? (char *)memchr(buf + off, 'p', len) - buf : -1);
        int c1 = strcmp(buf + off, buf2 + off), c2 = memcmp(buf + off, buf2 + off + 1, len), c3 = strncmp(buf + off, buf2 + off, len / 2);
        acc = acc * 31 + (c1 > 0) - (c1 < 0) + 3 * ((c2 > 0) - (c2 < 0)) + 9 * ((c3 > 0) - (c3 < 0));
        acc = acc * 31 + (uint32_t)(strstr(buf + off, "abc") ? strstr(buf + off, "abc") - buf : -1);
        int cc = strcasecmp(buf + off, buf2 + off + 2);
        acc = acc * 31 + (cc > 0) - (cc < 0);
        buf[off + len] = save;
        memmove(buf2 + 100 + i, buf2 + 90, 700);
        memset(buf2 + 2000 + i, 'a' + i % 20, 300);
    }
    printf("string %08x %08x\n", acc, hash(buf2, sizeof buf2));
    return 0;
}
