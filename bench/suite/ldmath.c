/* x87 long double math: dmath.c's kernels in long double (80-bit x87 arithmetic, FSQRT). */
#define REAL long double
#define SQRT __builtin_sqrtl
#include "dmath.c"
