/* printf of floats, doubles and long doubles in many formats; compared byte for byte with qemu-i386. */
#include <stdio.h>
#include <float.h>
#include <math.h>

static const char *dfmt[] = { "%f", "%.0f", "%.1f", "%.3f", "%.10f", "%.17f", "%e", "%.0e", "%.3e", "%.17e",
    "%g", "%.0g", "%.3g", "%.17g", "%#g", "%#.0f", "%a", "%.3a", "%A", "%+f", "% e", "%-12.4f|", "%012.3f", "%20.10e",
    "%'.2f", "%G", "%E", "%F" };
static const char *lfmt[] = { "%Lf", "%.0Lf", "%.5Lf", "%.21Lf", "%Le", "%.25Le", "%Lg", "%.21Lg", "%La", "%.4La",
    "%LA", "%+Lf", "%30.18Le" };

int main(void)
{
    volatile double zero = 0.0;
    double dv[] = { 0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, -2.5, 3.14159265358979323846, 1e10, 1e-10, 123456789.125,
        1e22, 1e23, 1e300, -1e-300, DBL_MAX, DBL_MIN, DBL_MIN / 3.0, 4.9406564584124654e-324, DBL_EPSILON,
        9007199254740993.0, 0.30000000000000004, 1.0 / 3.0, 2.0 / 3.0, 100.0, 999999.5, 0.000123456,
        1.0 / zero, -1.0 / zero, zero / zero };
    float fv[] = { 0.1f, 1.0f / 3.0f, 16777217.0f, FLT_MAX, FLT_MIN, 1e-45f, -2.75f, 3.4028234e38f };
    long double lv[] = { 0.0L, 1.0L, -1.0L, 0.1L, 1.0L / 3.0L, 2.0L / 3.0L, 3.14159265358979323846264338327950288L,
        LDBL_MAX, LDBL_MIN, LDBL_MIN / 7.0L, LDBL_EPSILON, 1e4000L, 1e-4000L, 18446744073709551615.0L,
        123456789012345678.25L, -5e-3000L, 1.0L / zero, (long double)(zero / zero) };
    unsigned i, j;
    for (i = 0; i < sizeof dv / sizeof dv[0]; i++)
        for (j = 0; j < sizeof dfmt / sizeof dfmt[0]; j++) {
            printf(dfmt[j], dv[i]);
            putchar(j + 1 == sizeof dfmt / sizeof dfmt[0] ? '\n' : ' ');
        }
    for (i = 0; i < sizeof fv / sizeof fv[0]; i++)
        printf("%.9g %a %f %e\n", fv[i], fv[i], fv[i], fv[i]);
    for (i = 0; i < sizeof lv / sizeof lv[0]; i++)
        for (j = 0; j < sizeof lfmt / sizeof lfmt[0]; j++) {
            printf(lfmt[j], lv[i]);
            putchar(j + 1 == sizeof lfmt / sizeof lfmt[0] ? '\n' : ' ');
        }
    /* arithmetic results printed exactly */
    double acc = 0;
    long double lacc = 0;
    for (i = 1; i <= 1000; i++) { acc += 1.0 / i; lacc += 1.0L / i; }
    printf("harmonic %.17g %.21Lg\n", acc, lacc);
    printf("sqrt %.17g %.21Lg floor %g ceil %g fmod %.17g\n", sqrt(2.0), sqrtl(2.0L), floor(-2.5), ceil(-2.5), fmod(10.5, 3.25));
    int e;
    double m = frexp(1234.5678, &e);
    printf("frexp %.17g %d ldexp %.17g rint %g %g\n", m, e, ldexp(0.75, 40), rint(2.5), rint(3.5));
    printf("width %*.*f|%-*d|%s\n", 15, 4, 2.0 / 7.0, 6, 42, "end");
    printf("int %d %i %u %x %X %o %#x %#o %ld %lld %llu %hhd %hd %zd %%\n", -42, 7, 4000000000u, 0xdeadbeef, 0xcafe,
        0777, 255, 8, -123456789L, -1234567890123456789LL, 18446744073709551615ULL, (char)300, (short)70000, (size_t)99);
    return 0;
}
