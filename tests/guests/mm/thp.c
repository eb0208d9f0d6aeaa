/* Private anonymous mappings written through, then "up" and a wait on stdin, while GuestThpTests reads the engine's
 * /proc/PID/smaps: an 8 MiB buffer's whole huge pages are advised MADV_HUGEPAGE in the host (AddressSpace.AdviseHuge),
 * an 8 MiB MAP_STACK mapping's are not, nor an 8 MiB buffer the guest advised MADV_NOHUGEPAGE, while a 6 MiB
 * MAP_STACK mapping the guest advised MADV_HUGEPAGE is. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char *map(size_t n, int flags, int advice)
{
    char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); _exit(1); }
    if (advice >= 0 && madvise(p, n, advice) != 0) { perror("madvise"); _exit(1); }
    memset(p, 1, n);
    return p;
}

int main(void)
{
    map(8 << 20, 0, -1);
    map(8 << 20, MAP_STACK, -1);
    map(8 << 20, 0, MADV_NOHUGEPAGE);
    map(6 << 20, MAP_STACK, MADV_HUGEPAGE);
    printf("up\n");
    fflush(stdout);
    char c;
    return read(0, &c, 1) < 0;
}
