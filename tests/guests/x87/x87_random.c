/* x87 arithmetic over random and special operands in every rounding mode and precision, as compiled C code
 * uses it (long double ops, conversions to float/double/integers through FNSTCW/FLDCW/FISTP, comparisons).
 * Prints a hash of the raw result bytes per mode and the status word's sticky flags: the reference is the
 * host's own x87 running the same source built natively. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
static uint32_t h = 2166136261u;
static void mix(const void *p, size_t n) { const unsigned char *b = p; while (n--) h = (h ^ *b++) * 16777619u; }
static void mixld(long double v) { unsigned char b[10]; memcpy(b, &v, 10); mix(b, 10); }

static long double operand(void)
{
    static const long double special[] = { 0.0L, -0.0L, 1.0L, -1.0L, 0.5L, 3.0L, 1e-4940L, 1e4930L, 1.0L / 3.0L };
    uint64_t r = next();
    if ((r & 15) == 0) return special[(r >> 4) % 9];
    long double v;
    unsigned char b[10];
    uint64_t m = next() | 0x8000000000000000ull;           /* normal: integer bit set */
    uint16_t e = (uint16_t)(0x3FFF - 80 + (next() % 160)); /* moderate exponents: results stay finite */
    if ((r & 0x30) == 0x10) e = (uint16_t)(next() % 0x7FFE + 1); /* anything finite */
    if (r & 0x40) e |= 0x8000;
    memcpy(b, &m, 8); memcpy(b + 8, &e, 2);
    memcpy(&v, b, 10);
    return v;
}

int main(void)
{
    static const char *rcn[] = { "nearest", "down", "up", "zero" };
    static const char *pcn[] = { "single", "", "double", "extended" };
    unsigned short cw0;
    __asm__ volatile("fnstcw %0" : "=m"(cw0));
    for (int rc = 0; rc < 4; rc++)
        for (int pc = 0; pc < 4; pc++)
        {
            if (pc == 1) continue;
            unsigned short cw = (unsigned short)((cw0 & ~0x0F00) | (rc << 10) | (pc << 8));
            __asm__ volatile("fnclex; fldcw %0" : : "m"(cw));
            h = 2166136261u;
            int lt = 0;
            for (int i = 0; i < 3000; i++)
            {
                volatile long double a = operand(), b = operand();
                long double s = a + b, d = a - b, p = a * b, q = a / b;
                mixld(s); mixld(d); mixld(p); mixld(q);
                double dd = (double)q; float ff = (float)p;
                mix(&dd, 8); mix(&ff, 4);
                long long ll = (long long)(s / 1e6L);
                int ii = (int)(d / 1e12L);
                mix(&ll, 8); mix(&ii, 4);
                lt += a < b;
                long double r;
                __asm__("fsqrt" : "=t"(r) : "0"(a < 0 ? -a : a));
                mixld(r);
                __asm__("frndint" : "=t"(r) : "0"(q));
                mixld(r);
            }
            unsigned short sw;
            __asm__ volatile("fnstsw %0" : "=m"(sw));
            printf("rc=%-7s pc=%-8s hash=%08x lt=%d sw=%04x\n", rcn[rc], pcn[pc], h, lt, sw & 0x3F);
        }
    __asm__ volatile("fldcw %0" : : "m"(cw0));
    return 0;
}
