/* mremap (mm/mremap.c): shrink, grow in place, grow by moving, MREMAP_FIXED, MREMAP_DONTUNMAP, the
   duplicate-a-shared-mapping case (old_len 0), and the EINVAL/EFAULT/ENOMEM rules. Prints no addresses.
   Reference: mm_mremap.expected (Linux; qemu-i386 7.2 differs on MREMAP_DONTUNMAP). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>

#define PG 4096
static char *base;
static void show(const char *what, void *p)
{
    if (p == MAP_FAILED) printf("%s: %s\n", what, strerror(errno));
    else printf("%s: ok\n", what);
}
static void fill(char *p, int pages, char c) { for (int i = 0; i < pages; i++) p[i * PG] = c + i; }
static void check(const char *what, char *p, int pages, char c)
{
    int ok = 1;
    for (int i = 0; i < pages; i++) ok &= p[i * PG] == c + i;
    printf("%s: data %s\n", what, ok ? "kept" : "LOST");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* A 16-page window we control: map it, then carve. */
    base = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(base, 16 * PG);
    char *a = mmap(base, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    fill(a, 4, 'a');

    char *r = mremap(a, 4 * PG, 2 * PG, 0);
    printf("shrink: same %d\n", r == a);
    check("shrink", a, 2, 'a');
    r = mremap(a, 2 * PG, 6 * PG, 0);
    printf("grow in place: same %d\n", r == a);
    check("grow in place", a, 2, 'a');
    printf("grown page reads %d\n", a[5 * PG]);

    /* Block growth with a neighbour: without MAYMOVE it fails, with it the data moves. */
    char *n = mmap(a + 6 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    show("neighbour", n);
    r = mremap(a, 6 * PG, 8 * PG, 0);
    show("grow blocked", r);
    r = mremap(a, 6 * PG, 8 * PG, MREMAP_MAYMOVE);
    show("grow maymove", r);
    printf("moved %d\n", r != a);
    check("grow maymove", r, 2, 'a');
    char *m = r;

    /* Rules. */
    show("unaligned", mremap(m + 1, PG, PG, MREMAP_MAYMOVE));
    show("new_len 0", mremap(m, PG, 0, MREMAP_MAYMOVE));
    show("bad flags", mremap(m, PG, PG, 8));
    show("FIXED without MAYMOVE", mremap(m, PG, PG, MREMAP_FIXED, base));
    char *hole = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, PG);
    show("unmapped", mremap(hole, PG, 2 * PG, MREMAP_MAYMOVE));
    show("FIXED overlap", mremap(m, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, m + PG));
    show("FIXED unaligned", mremap(m, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, base + 1));
    show("DONTUNMAP resize", mremap(m, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
    show("DONTUNMAP without MAYMOVE", mremap(m, PG, PG, MREMAP_DONTUNMAP, NULL));
    show("private old_len 0", mremap(m, 0, PG, MREMAP_MAYMOVE));
    /* Across two mappings with different protections. */
    mprotect(m + PG, PG, PROT_READ);
    show("across mappings", mremap(m, 2 * PG, 4 * PG, MREMAP_MAYMOVE));
    mprotect(m + PG, PG, PROT_READ | PROT_WRITE);

    /* MREMAP_FIXED onto our window, replacing what is there. */
    munmap(a, 6 * PG);
    char *f = mmap(base, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    fill(f, 3, 'x');
    r = mremap(m, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, base);
    printf("fixed: at base %d\n", r == base);
    check("fixed", base, 2, 'a');
    printf("fixed: third page kept %c\n", base[2 * PG]);
    show("old range gone", mremap(m, PG, PG, 0));

    /* MREMAP_DONTUNMAP: private anonymous pages move, the old range stays mapped and reads zero. */
    show("DONTUNMAP unaligned hint", mremap(base, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, base + 1));
    r = mremap(base, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    show("dontunmap", r);
    if (r == MAP_FAILED) return 1;
    check("dontunmap new", r, 2, 'a');
    printf("dontunmap old reads %d %d\n", base[0], base[PG]);
    base[0] = 5;
    printf("old still writable %d\n", base[0]);
    munmap(r, 2 * PG);

    /* Shared anonymous: moving keeps the object; old_len 0 makes an alias of it. */
    char *s = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    strcpy(s, "shared");
    char *alias = mremap(s, 0, 2 * PG, MREMAP_MAYMOVE);
    show("alias", alias);
    strcpy(alias + 10, "via-alias");
    printf("alias: %s %s\n", alias, s + 10);
    char *s2 = mremap(s, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    show("shared move", s2);
    strcpy(s2, "moved");
    printf("after move: %s\n", alias);
    /* Past the object's 2 pages Linux raises SIGBUS (compat32 gives zero pages instead), so stop here. */
    return 0;
}
