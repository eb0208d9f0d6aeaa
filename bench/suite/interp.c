/* Control flow: a bytecode interpreter (switch dispatch, computing primes and a hash), recursion (Fibonacci,
   Ackermann) and indirect calls through a function-pointer table. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, JNZ, JMP, LT, DUP, DROP, HASH, HALT };
static uint32_t run(const int *code, uint32_t *vars) {
    uint32_t st[64]; int sp = 0, pc = 0;
    for (;;) {
        int op = code[pc++];
        switch (op) {
        case PUSH: st[sp++] = (uint32_t)code[pc++]; break;
        case LOAD: st[sp++] = vars[code[pc++]]; break;
        case STORE: vars[code[pc++]] = st[--sp]; break;
        case ADD: sp--; st[sp - 1] += st[sp]; break;
        case SUB: sp--; st[sp - 1] -= st[sp]; break;
        case MUL: sp--; st[sp - 1] *= st[sp]; break;
        case MOD: sp--; st[sp - 1] %= st[sp]; break;
        case LT: sp--; st[sp - 1] = st[sp - 1] < st[sp]; break;
        case JNZ: { int t = code[pc++]; if (st[--sp]) pc = t; break; }
        case JMP: pc = code[pc]; break;
        case DUP: st[sp] = st[sp - 1]; sp++; break;
        case DROP: sp--; break;
        case HASH: sp--; vars[3] = (vars[3] ^ st[sp]) * 16777619u; break;
        case HALT: return vars[3];
        }
    }
}
static uint32_t fib(uint32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static uint32_t ack(uint32_t m, uint32_t n) { return m == 0 ? n + 1 : n == 0 ? ack(m - 1, 1) : ack(m - 1, ack(m, n - 1)); }
static uint32_t f0(uint32_t x) { return x * 3 + 1; }
static uint32_t f1(uint32_t x) { return x >> 1; }
static uint32_t f2(uint32_t x) { return x ^ 0x5bd1e995u; }
static uint32_t f3(uint32_t x) { return (x << 7) | (x >> 25); }
static uint32_t (*const fns[4])(uint32_t) = {f0, f1, f2, f3};
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    /* vars: 0 = i (counts down), 1 = j, 2 = scratch, 3 = hash. for i: hash(i*i % 1000003); j = 1..7 inner */
    int limit = (int)(scale * 1500000); if (limit < 1) limit = 1;
    const int code[] = {
        /*0*/ LOAD, 0, JNZ, 5, HALT,
        /*5*/ PUSH, 7, STORE, 1,
        /*9*/ LOAD, 0, LOAD, 0, MUL, LOAD, 1, ADD, PUSH, 1000003, MOD, HASH,
        /*21*/ LOAD, 1, PUSH, 1, SUB, DUP, STORE, 1, JNZ, 9,
        /*31*/ LOAD, 0, PUSH, 1, SUB, STORE, 0, JMP, 0};
    uint32_t vars[4] = {(uint32_t)limit, 0, 0, 2166136261u};
    uint32_t h = run(code, vars);
    uint32_t fr = 0; int fn = 24 + (scale >= 1 ? 5 : 0);
    for (int k = 0; k < (scale >= 1 ? (int)scale : 1); k++) fr += fib((uint32_t)fn);
    uint32_t ak = ack(2, (uint32_t)(scale >= 1 ? 2000 : 200));
    uint32_t x = 1; long calls = (long)(scale * 60000000);
    for (long i = 0; i < calls; i++) x = fns[(x ^ (uint32_t)i) & 3](x) + (uint32_t)i;
    printf("interp %d %08x fib(%d) %u ack %u calls %ld %08x\n", limit, h, fn, fr, ak, calls, x);
    return 0;
}
