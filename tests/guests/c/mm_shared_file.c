/* MAP_SHARED file mappings are the file's pages: writes through a mapping are read back by read()/pread(),
   pwrite() shows in the mapping, two mappings of one file alias, msync and munmap write back, and the EACCES,
   EINVAL and ENOMEM rules of mmap, mprotect and msync. Also MAP_SHARED of /dev/zero and anonymous memory.
   argv[1]: a directory for the file. Reference: mm_shared_file.expected (Linux; qemu-i386 7.2 differs on msync
   of an unmapped range and MAP_SHARED_VALIDATE). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/mman.h>

#define PG 4096
static void res(const char *what, long r) { printf("%s: %ld%s%s\n", what, r < 0 ? -1L : r, r < 0 ? " " : "", r < 0 ? strerror(errno) : ""); }
static void mres(const char *what, void *p) { printf("%s: %s\n", what, p == MAP_FAILED ? strerror(errno) : "ok"); }

int main(int argc, char **argv)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/shared.bin", argc > 1 ? argv[1] : ".");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror("open"); return 1; }
    res("ftruncate", ftruncate(fd, 3 * PG));
    res("pwrite", pwrite(fd, "from-write", 10, PG + 16));

    char *a = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    mres("mmap shared", a);
    printf("mapping sees write(): %.10s\n", a + PG + 16);
    strcpy(a + 2 * PG + 5, "from-mapping");
    char buf[32] = {0};
    res("pread", pread(fd, buf, 12, 2 * PG + 5));
    printf("read() sees mapping: %s\n", buf);
    res("pwrite again", pwrite(fd, "XY", 2, 0));
    printf("mapping sees pwrite: %c%c\n", a[0], a[1]);

    /* A second mapping of page 2 alone (file offset 2*PG) aliases the first. */
    char *b = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PG);
    mres("mmap at offset", b);
    b[100] = 'Q';
    printf("alias: %s %c\n", b + 5, a[2 * PG + 100]);

    res("msync MS_SYNC", msync(a, 3 * PG, MS_SYNC));
    res("msync MS_ASYNC", msync(a, PG, MS_ASYNC));
    res("msync MS_INVALIDATE", msync(a, PG, MS_INVALIDATE));
    res("msync unaligned", msync(a + 1, PG, MS_SYNC));
    res("msync ASYNC|SYNC", msync(a, PG, MS_ASYNC | MS_SYNC));
    res("msync bad flag", msync(a, PG, 8));
    res("msync len 0", msync(a, 0, MS_SYNC));

    /* munmap writes back; the data stays in the file after close. */
    strcpy(a + PG, "last-words");
    res("munmap", munmap(a, 3 * PG));
    res("munmap alias", munmap(b, PG));
    res("msync unmapped", msync(a, PG, MS_SYNC));
    close(fd);
    fd = open(path, O_RDONLY);
    memset(buf, 0, sizeof buf);
    res("pread after munmap", pread(fd, buf, 10, PG));
    printf("file: %s\n", buf);

    /* Rules. */
    mres("shared PROT_WRITE on O_RDONLY", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    mres("private PROT_WRITE on O_RDONLY", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    char *r = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
    mres("shared PROT_READ on O_RDONLY", r);
    printf("read-only mapping: %c%c\n", r[0], r[1]);
    res("mprotect PROT_WRITE on it", mprotect(r, PG, PROT_READ | PROT_WRITE));
    mres("unaligned offset", mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 100));
    mres("bad type", mmap(NULL, PG, PROT_READ, 0, fd, 0));
    mres("bad fd", mmap(NULL, PG, PROT_READ, MAP_SHARED, 99, 0));
    int w = open(path, O_WRONLY);
    mres("O_WRONLY", mmap(NULL, PG, PROT_READ, MAP_SHARED, w, 0));
    mres("MAP_SHARED_VALIDATE unknown flag", mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x80000, fd, 0));
    close(w);
    close(fd);
    printf("still mapped after close: %c\n", r[1]);
    munmap(r, PG);
    unlink(path);

    /* MAP_SHARED /dev/zero and anonymous: zero-filled, writable. */
    int z = open("/dev/zero", O_RDWR);
    int *zp = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
    mres("shared /dev/zero", zp);
    printf("zero: %d %d\n", zp[0], zp[2 * PG / 4 - 1]);
    zp[5] = 7;
    printf("write: %d\n", zp[5]);
    int *zq = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
    mres("private /dev/zero", zq);
    printf("zero: %d\n", zq[9]);
    close(z);
    int *an = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    mres("shared anonymous", an);
    an[3 * PG / 4] = 11;
    res("munmap middle", munmap((char *)an + PG, PG));
    printf("ends: %d %d\n", an[0], an[3 * PG / 4]);
    return 0;
}
