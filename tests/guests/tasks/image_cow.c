/* The program's own PT_LOAD pages are private file mappings (elf_map): copy-on-write between parent and child,
 * back to the file's bytes after MADV_DONTNEED, zero after munmap + anonymous mmap, intact across mremap and
 * mprotect. Compared with the host kernel. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE 4096
/* Initialised data spanning several pages, page aligned so whole pages can be unmapped and advised. */
static char data[8 * PAGE] __attribute__((aligned(PAGE))) = { [0] = 'A', [PAGE] = 'B', [2 * PAGE] = 'C', [3 * PAGE] = 'D',
    [4 * PAGE] = 'E', [5 * PAGE] = 'F', [6 * PAGE] = 'G', [7 * PAGE] = 'H' };
static const char rodata[2 * PAGE] __attribute__((aligned(PAGE))) = { [0] = 'r', [PAGE] = 's' };

static unsigned sum(const char *p, int n) { unsigned s = 0; for (int i = 0; i < n; i++) s = s * 31 + (unsigned char)p[i]; return s; }

static void wait_child(pid_t c)
{
    int st;
    while (waitpid(c, &st, 0) < 0) { }
    printf("child exit %d\n", WEXITSTATUS(st));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* 1. fork: writes on either side stay on that side; untouched pages read the file's bytes. */
    data[0] = 'a';
    pid_t c = fork();
    if (c == 0) {
        printf("child sees %c %c %c\n", data[0], data[PAGE], rodata[PAGE]);
        data[PAGE] = 'x';
        data[2 * PAGE] = 'y';
        printf("child wrote %c %c\n", data[PAGE], data[2 * PAGE]);
        _exit(0);
    }
    data[3 * PAGE] = 'p';
    wait_child(c);
    printf("parent sees %c %c %c %c\n", data[0], data[PAGE], data[2 * PAGE], data[3 * PAGE]);

    /* 2. a grandchild through a child that wrote: each generation copies what its parent wrote. */
    c = fork();
    if (c == 0) {
        data[4 * PAGE] = 'q';
        pid_t g = fork();
        if (g == 0) { printf("grandchild sees %c %c %c\n", data[0], data[3 * PAGE], data[4 * PAGE]); _exit(0); }
        wait_child(g);
        _exit(0);
    }
    wait_child(c);

    /* 3. MADV_DONTNEED on a written private file page: the file's byte comes back (not zero). */
    data[5 * PAGE] = 'z';
    int r = madvise(data + 5 * PAGE, PAGE, MADV_DONTNEED);
    printf("madvise %d -> %c\n", r, data[5 * PAGE]);

    /* 4. munmap, then anonymous memory at the same place: zero, not the file. */
    char *p6 = data + 6 * PAGE;
    printf("munmap %d\n", munmap(p6, PAGE));
    char *m = mmap(p6, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("anon at old page: %s byte %d\n", m == p6 ? "same" : "moved", m[0]);

    /* 5. mremap moves a written and an untouched page of the image elsewhere: both keep their bytes. */
    data[7 * PAGE + 1] = 'w';
    char *to = mremap(data + 7 * PAGE, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    if (to == MAP_FAILED) { perror("mremap"); return 1; }
    printf("mremap: %c%c grown %d\n", to[0], to[1], to[PAGE]);
    /* (moved there and back: printf's own strings are not on these two pages, but sum reads them at the end) */
    char *slot = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ro = mremap((void *)rodata, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, slot);
    if (ro == MAP_FAILED) { perror("mremap rodata"); return 1; }
    printf("moved rodata: %c %c\n", ro[0], ro[PAGE]);
    if (mremap(ro, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)rodata) == MAP_FAILED) { perror("mremap back"); return 1; }

    /* 6. text made writable, patched, forked: the child runs the patched byte; the parent's file is intact. */
    /* (sum's first byte: nothing calls sum until it is restored) */
    volatile unsigned char *fn = (volatile unsigned char *)(unsigned long)&sum;
    printf("mprotect %d\n", mprotect((void *)((unsigned long)fn & ~(PAGE - 1UL)), PAGE, PROT_READ | PROT_WRITE | PROT_EXEC));
    unsigned char old = fn[0];
    fn[0] = (unsigned char)(old ^ 0x5a);
    c = fork();
    if (c == 0) { printf("child text byte changed %d\n", fn[0] == (unsigned char)(old ^ 0x5a)); _exit(0); }
    wait_child(c);
    fn[0] = old;
    printf("sums %08x %08x\n", sum(data, 5 * PAGE), sum(rodata, 2 * PAGE));

    /* 7. many forks, each child checking the whole image reads as its parent left it. */
    unsigned want = sum(data, 5 * PAGE);
    int bad = 0;
    for (int i = 0; i < 50; i++) {
        data[(i % 5) * PAGE + 7] = (char)i;
        want = sum(data, 5 * PAGE);
        c = fork();
        if (c == 0) _exit(sum(data, 5 * PAGE) == want ? 0 : 1);
        int st;
        waitpid(c, &st, 0);
        bad += WEXITSTATUS(st) != 0;
    }
    printf("forks with a wrong image: %d\n", bad);
    return 0;
}
