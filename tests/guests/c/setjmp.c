/* setjmp/longjmp, nested jumps, volatile locals, sigsetjmp/siglongjmp with a saved mask. */
#include <stdio.h>
#include <setjmp.h>
#include <signal.h>

static jmp_buf env1, env2;
static sigjmp_buf senv;
static int depth;

static void recurse(int n)
{
    char pad[64];
    pad[0] = (char)n;
    if (n == 0) longjmp(env1, 42 + pad[0]);
    recurse(n - 1);
}
static void inner(void) { longjmp(env2, 0); /* longjmp with 0 makes setjmp return 1 */ }

int main(void)
{
    volatile int count = 0;
    int r = setjmp(env1);
    printf("setjmp returned %d (count %d)\n", r, count);
    if (count++ < 3) recurse(100 + count);
    r = setjmp(env2);
    if (r == 0) inner();
    printf("longjmp(0) gives %d\n", r);
    for (int i = 0; i < 5; i++) {
        jmp_buf local;
        volatile double f = i * 1.5;
        if (setjmp(local) == 0) { f += 1; longjmp(local, i + 1); }
        printf("loop %d f=%.2f\n", i, f);
    }
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int sr = sigsetjmp(senv, 1);
    sigprocmask(SIG_SETMASK, NULL, &old);
    printf("sigsetjmp %d usr1 blocked=%d\n", sr, sigismember(&old, SIGUSR1));
    if (sr == 0) {
        sigprocmask(SIG_BLOCK, &set, NULL);
        siglongjmp(senv, 7);
    }
    depth = sr;
    printf("done depth %d\n", depth);
    return 0;
}
