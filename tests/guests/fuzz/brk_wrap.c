/* brk near 4 GiB (issue #12): the page rounding of the requested break must not wrap to 0 and unmap the
 * program; Linux (mm/mmap.c brk, check_brk_limits) returns the unchanged break. Also: a break just below the
 * next mapping, shrinking, and growing again. */
#include <stdio.h>
#include <stdint.h>

static uint32_t brk_(uint32_t a)
{
    uint32_t r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(45), "b"(a) : "memory");
    return r;
}

static volatile int global = 42;

int main(void)
{
    uint32_t b0 = brk_(0);
    static const uint32_t far[] = { 0xffffffffu, 0xfffffffeu, 0xfffff001u, 0xfffff000u, 0xffffe001u, 0xc0000000u, 0xbfffffffu };
    for (unsigned i = 0; i < sizeof far / sizeof *far; i++) {
        uint32_t r = brk_(far[i]);
        printf("brk(%#x) %s\n", far[i], r == b0 ? "unchanged" : "moved");
        if (r != b0) brk_(b0);
        global++;
    }
    uint32_t up = brk_(b0 + 0x10000);
    printf("grow %s\n", up == b0 + 0x10000 ? "ok" : "failed");
    ((volatile char *)b0)[0x8000] = 1;
    printf("shrink %s\n", brk_(b0 + 0x100) == b0 + 0x100 ? "ok" : "failed");
    printf("same page %s\n", brk_(b0 + 0x200) == b0 + 0x200 ? "ok" : "failed");
    printf("below start %s\n", brk_(0x1000) == b0 + 0x200 ? "unchanged" : "moved");
    printf("back %s global %d\n", brk_(b0) == b0 ? "ok" : "failed", global);
    return 0;
}
