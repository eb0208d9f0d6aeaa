/* Unmasked x87 exceptions: Linux i386 delivers SIGFPE at the next waiting x87 instruction (#MF), with si_code
 * from the status/control words. qemu-i386 user mode does not model #MF, so this guest is checked against
 * x87_sigfpe.expected (what a Linux kernel on x87 hardware prints) instead of qemu. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <signal.h>
#include <setjmp.h>

static sigjmp_buf jb;
static void onfpe(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    printf("SIGFPE sig=%d code=%d\n", sig, si->si_code);
    siglongjmp(jb, 1);
}
static void setcw(uint16_t cw) { __asm__ volatile("fldcw %0" :: "m"(cw)); }
static volatile long double vone = 1.0L, vzero = 0.0L, vbig = 1e4000L;

int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = onfpe; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGFPE, &sa, 0);
    if (!sigsetjmp(jb, 1)) {
        __asm__ volatile("fninit");
        setcw(0x37B); /* ZM clear */
        long double x = vone / vzero;
        __asm__ volatile("fwait");
        printf("no exception %d\n", (int)(x > 0));
    }
    if (!sigsetjmp(jb, 1)) {
        __asm__ volatile("fninit");
        setcw(0x37E); /* IM clear */
        long double x = vzero / vzero;
        __asm__ volatile("fwait");
        printf("no exception %d\n", (int)(x > 0));
    }
    if (!sigsetjmp(jb, 1)) {
        __asm__ volatile("fninit");
        setcw(0x377); /* OM clear */
        long double x = vbig * vbig;
        __asm__ volatile("fwait");
        printf("no exception %d\n", (int)(x > 0));
    }
    __asm__ volatile("fninit");
    printf("done\n");
    return 0;
}
