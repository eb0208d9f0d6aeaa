/* strtod/strtof/strtold/strtol/strtoul/strtoll/atoi and friends, with errno and end pointers. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <inttypes.h>

int main(void)
{
    const char *fl[] = { "0", "-0", "1", "3.14159265358979323846", "1e308", "1e309", "-1e309", "1e-320", "1e-400",
        "2.2250738585072011e-308", "0x1.8p3", "0x1p-1074", "  +42.5xyz", "inf", "-Infinity", "nan", "nan(123)",
        "1.7976931348623157e308", "4.9e-324", ".5", "5.", "e5", "", "0.1e1", "123456789012345678901234567890",
        "9007199254740993", "2.4703282292062327e-324", "2.4703282292062328e-324", "1.00000000000000011102230246251565" };
    for (unsigned i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        char *end;
        errno = 0;
        double d = strtod(fl[i], &end);
        int e1 = errno; errno = 0;
        float f = strtof(fl[i], NULL);
        int e2 = errno; errno = 0;
        long double l = strtold(fl[i], NULL);
        int e3 = errno;
        printf("'%s' -> %.17g %a [%td] e%d | %.9g e%d | %.21Lg e%d\n", fl[i], d, d, end - fl[i], e1, f, e2, l, e3);
    }
    const char *il[] = { "0", "-1", "2147483647", "2147483648", "-2147483648", "-2147483649", "0x7fffffff", "0777",
        "4294967295", "4294967296", "18446744073709551615", "18446744073709551616", "-9223372036854775808", "  -0x10",
        "zz", "123abc", "+", "0x", "1010", "z" };
    int bases[] = { 0, 10, 16, 8, 2, 36 };
    for (unsigned i = 0; i < sizeof il / sizeof il[0]; i++)
        for (unsigned b = 0; b < sizeof bases / sizeof bases[0]; b++) {
            char *e1, *e2, *e3;
            errno = 0; long v = strtol(il[i], &e1, bases[b]); int r1 = errno;
            errno = 0; unsigned long u = strtoul(il[i], &e2, bases[b]); int r2 = errno;
            errno = 0; long long ll = strtoll(il[i], &e3, bases[b]); int r3 = errno;
            errno = 0; unsigned long long ull = strtoull(il[i], NULL, bases[b]); int r4 = errno;
            printf("%s/%d: %ld[%td]e%d %lu[%td]e%d %lld[%td]e%d %llu e%d\n", il[i], bases[b], v, e1 - il[i], r1,
                u, e2 - il[i], r2, ll, e3 - il[i], r3, ull, r4);
        }
    printf("atoi %d atol %ld atoll %lld atof %g\n", atoi("  -77x"), atol("123456"), atoll("-98765432109"), atof("6.02e23"));
    intmax_t im = strtoimax("-12345678901234", NULL, 10);
    printf("imax %jd div %lld %lld\n", im, im / 7, im % 7);
    unsigned long long x = 0xfedcba9876543210ULL;
    printf("u64 ops %llu %llu %llx %lld\n", x / 12345, x % 12345, x >> 13, (long long)x / -3);
    return 0;
}
