/* __thread variables: initialized (.tdata), zeroed (.tbss), arrays, addresses, and %gs:0 self pointer. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <errno.h>

__thread int tinit = 1234;
__thread long long tll = -987654321012345LL;
__thread char tstr[32] = "thread-local";
__thread int tzero;
__thread int tarr[1000];
static __thread double tdbl = 2.5;

static int *addr_of_tinit(void) { return &tinit; }

int main(void)
{
    printf("init %d %lld %s zero %d dbl %g\n", tinit, tll, tstr, tzero, tdbl);
    for (int i = 0; i < 1000; i++) if (tarr[i]) { puts("tbss not zero"); return 1; }
    for (int i = 0; i < 1000; i++) tarr[i] = i * i;
    long s = 0;
    for (int i = 0; i < 1000; i++) s += tarr[i];
    tinit += 1; tll *= 3; strcat(tstr, "!"); tzero = 99; tdbl *= tdbl;
    printf("after %d %lld %s %d %g sum %ld\n", tinit, tll, tstr, tzero, tdbl, s);
    printf("same address %d\n", addr_of_tinit() == &tinit);
    uintptr_t self;
    __asm__ volatile ("movl %%gs:0, %0" : "=r"(self));
    uintptr_t a = (uintptr_t)&tinit;
    printf("tcb above tls %d, distance < 64k %d\n", self > a, self - a < 65536);
    errno = 0;
    errno = EDOM;
    printf("errno tls %d\n", errno);
    unsigned short gs;
    __asm__ volatile ("movw %%gs, %0" : "=r"(gs));
    printf("gs rpl %d ti %d\n", gs & 3, (gs >> 2) & 1);
    return 0;
}
