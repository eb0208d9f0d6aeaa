/* madvise (mm/madvise.c) and mincore (mm/mincore.c): MADV_DONTNEED zeroes private anonymous memory and leaves
   shared memory's contents; the other advice values are accepted; EINVAL/ENOMEM rules; mincore's residency vector.
   Reference: mm_madvise.expected (Linux; qemu-i386 7.2 accepts any advice and reports PROT_NONE pages as unmapped). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>

#define PG 4096
static void res(const char *what, int r) { printf("%s: %d%s%s\n", what, r, r ? " " : "", r ? strerror(errno) : ""); }
static void vec(const char *what, void *p, int pages)
{
    unsigned char v[16];
    memset(v, 0xEE, sizeof v);
    int r = mincore(p, pages * PG, v);
    printf("%s: %d", what, r);
    if (r) printf(" %s", strerror(errno));
    else { printf(" ["); for (int i = 0; i < pages; i++) printf("%d", v[i]); printf("]"); }
    printf("\n");
}

int main(void)
{
    char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    vec("fresh", p, 8);
    p[0] = 1; p[2 * PG] = 2; p[5 * PG + 7] = 3;
    vec("touched", p, 8);
    res("DONTNEED", madvise(p, 3 * PG, MADV_DONTNEED));
    printf("after DONTNEED: %d %d %d\n", p[0], p[2 * PG], p[5 * PG + 7]);
    vec("after DONTNEED", p, 8);

    char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(s, "kept");
    res("DONTNEED shared", madvise(s, 2 * PG, MADV_DONTNEED));
    printf("shared after DONTNEED: %s\n", s);

    static const struct { int a; const char *n; } ok[] = {
        { MADV_NORMAL, "NORMAL" }, { MADV_RANDOM, "RANDOM" }, { MADV_SEQUENTIAL, "SEQUENTIAL" },
        { MADV_WILLNEED, "WILLNEED" }, { MADV_FREE, "FREE" }, { MADV_DONTFORK, "DONTFORK" }, { MADV_DOFORK, "DOFORK" },
        { MADV_DONTDUMP, "DONTDUMP" }, { MADV_DODUMP, "DODUMP" }, { MADV_WIPEONFORK, "WIPEONFORK" },
        { MADV_KEEPONFORK, "KEEPONFORK" }, { MADV_COLD, "COLD" },
    };
    for (unsigned i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "MADV_%s", ok[i].n);
        res(name, madvise(p + 5 * PG, PG, ok[i].a));
    }
    res("FREE on shared", madvise(s, PG, MADV_FREE));
    res("WIPEONFORK on shared", madvise(s, PG, MADV_WIPEONFORK));
    res("REMOVE on private", madvise(p, PG, MADV_REMOVE));
    strcpy(s + PG, "punched");
    res("REMOVE on shared", madvise(s + PG, PG, MADV_REMOVE));
    printf("after REMOVE: '%s' '%s'\n", s, s + PG);
    res("bad advice", madvise(p, PG, 999));
    res("unaligned", madvise(p + 1, PG, MADV_DONTNEED));
    res("len 0", madvise(p, 0, MADV_DONTNEED));
    munmap(p + 6 * PG, PG);
    p[7 * PG] = 9;
    res("hole", madvise(p + 5 * PG, 3 * PG, MADV_DONTNEED));
    printf("hole: after page done: %d\n", p[7 * PG]);

    vec("unaligned", p + 1, 1);
    vec("hole", p + 5 * PG, 3);
    vec("len 0", p, 0);
    unsigned char v;
    int bad = mincore(p, PG, (unsigned char *)8);
    printf("bad vec: %d %s\n", bad, strerror(errno));
    char *none = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    v = 0xEE;
    int r = mincore(none, PG, &v);
    printf("PROT_NONE: %d %d\n", r, v);
    return 0;
}
