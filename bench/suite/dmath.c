/* Scalar double math: an n-body step loop, a Mandelbrot grid and a series (+ - * / sqrt only, no libm
   transcendentals, so the checksum depends on the binary alone). Built twice: x87 (-march=i686) and SSE2
   (-msse2 -mfpmath=sse). REAL=long double makes the x87 long double variant (ldmath.c). */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#ifndef REAL
#define REAL double
#define SQRT sqrt
#endif
#define NB 5
struct body { REAL x, y, z, vx, vy, vz, m; };
static void advance(struct body *b, REAL dt) {
    for (int i = 0; i < NB; i++)
        for (int j = i + 1; j < NB; j++) {
            REAL dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            REAL d2 = dx * dx + dy * dy + dz * dz, mag = dt / (d2 * SQRT(d2));
            b[i].vx -= dx * b[j].m * mag; b[i].vy -= dy * b[j].m * mag; b[i].vz -= dz * b[j].m * mag;
            b[j].vx += dx * b[i].m * mag; b[j].vy += dy * b[i].m * mag; b[j].vz += dz * b[i].m * mag;
        }
    for (int i = 0; i < NB; i++) { b[i].x += dt * b[i].vx; b[i].y += dt * b[i].vy; b[i].z += dt * b[i].vz; }
}
static REAL energy(const struct body *b) {
    REAL e = 0;
    for (int i = 0; i < NB; i++) {
        e += (REAL)0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < NB; j++) {
            REAL dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].m * b[j].m / SQRT(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    long steps = (long)(scale * 1500000), rows = (long)(scale * 160), terms = (long)(scale * 20000000);
    if (steps < 1) steps = 1;
    if (rows < 2) rows = 2;
    if (terms < 1) terms = 1;
    struct body b[NB];
    for (int i = 0; i < NB; i++) {
        b[i].x = i * 1.5 - 3; b[i].y = (i % 3) * 0.7 - 0.6; b[i].z = (i & 1) * 0.3;
        b[i].vx = 0.01 * i; b[i].vy = -0.02 * (i - 2); b[i].vz = 0.005 * (i % 2); b[i].m = 0.01 + 0.0025 * i;
    }
    REAL e0 = energy(b);
    for (long s = 0; s < steps; s++) advance(b, (REAL)0.001);
    REAL e1 = energy(b);
    /* Mandelbrot: rows x (2*rows) points, up to 256 iterations */
    long inside = 0, iters = 0;
    for (long r = 0; r < rows; r++)
        for (long c = 0; c < 2 * rows; c++) {
            REAL cr = -2.0 + 2.5 * c / (2 * rows), ci = -1.25 + 2.5 * r / rows, zr = 0, zi = 0;
            int k = 0;
            while (k < 256 && zr * zr + zi * zi <= 4) { REAL t = zr * zr - zi * zi + cr; zi = 2 * zr * zi + ci; zr = t; k++; }
            iters += k; inside += k == 256;
        }
    /* Leibniz and Basel series with a division per term */
    REAL pi4 = 0, z2 = 0;
    for (long k = 0; k < terms; k++) { REAL d = 2 * k + 1; pi4 += (k & 1 ? -1 : 1) / d; z2 += 1 / (d * d); }
    printf("dmath e0 %.9f e1 %.9f mandel %ld %ld series %.12f %.12f\n",
           (double)e0, (double)e1, inside, iters, (double)(4 * pi4), (double)z2);
    return 0;
}
