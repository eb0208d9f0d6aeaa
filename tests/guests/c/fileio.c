/* file I/O in a directory given as argv[1]: open/read/write/lseek/pread/pwrite/stat/fstat/lstat/readdir/
   unlink/rename/mkdir/rmdir/symlink/link/truncate/chmod/utimensat/access/openat/fsync. Prints no inode numbers or
   current times. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

static void st(const char *what, const struct stat *s)
{
    printf("%s: type %o perm %o size %lld nlink %lu blocksize>0 %d\n", what, s->st_mode & S_IFMT, s->st_mode & 07777,
        (long long)s->st_size, (unsigned long)s->st_nlink, s->st_blksize > 0);
}
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void list(const char *dir)
{
    DIR *d = opendir(dir);
    char *names[64]; int n = 0;
    struct dirent *e;
    if (!d) { printf("opendir %s: %s\n", dir, strerror(errno)); return; }
    while ((e = readdir(d)) && n < 64) {
        char t = e->d_type == DT_DIR ? 'd' : e->d_type == DT_REG ? 'f' : e->d_type == DT_LNK ? 'l' : '?';
        char *s = malloc(strlen(e->d_name) + 3);
        sprintf(s, "%s/%c", e->d_name, t);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("ls %s:", dir);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || chdir(argv[1]) != 0) { fprintf(stderr, "need a directory\n"); return 2; }
    umask(022);
    struct stat s;
    int fd = open("a.txt", O_CREAT | O_RDWR | O_TRUNC, 0666);
    printf("open %d\n", fd >= 3);
    const char *text = "The quick brown fox jumps over the lazy dog\n";
    for (int i = 0; i < 100; i++) if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) { perror("write"); return 1; }
    printf("lseek cur %lld end %lld set %lld\n", (long long)lseek(fd, 0, SEEK_CUR), (long long)lseek(fd, 0, SEEK_END), (long long)lseek(fd, 10, SEEK_SET));
    char buf[8192];
    ssize_t n = read(fd, buf, 9);
    printf("read %zd '%.*s'\n", n, (int)n, buf);
    n = pread(fd, buf, 5, 4); printf("pread %zd '%.*s' pos %lld\n", n, (int)n, buf, (long long)lseek(fd, 0, SEEK_CUR));
    n = pwrite(fd, "QUICK", 5, 4); printf("pwrite %zd\n", n);
    fstat(fd, &s); st("fstat a.txt", &s);
    errno = 0; printf("lseek negative %lld %s\n", (long long)lseek(fd, -1, SEEK_SET), strerror(errno));
    printf("lseek hole %lld\n", (long long)lseek(fd, 100000, SEEK_SET));
    write(fd, "X", 1);
    fsync(fd);
    fstat(fd, &s); st("sparse", &s);
    printf("ftruncate %d\n", ftruncate(fd, 50));
    close(fd);
    fd = open("a.txt", O_RDONLY);
    n = read(fd, buf, sizeof buf);
    printf("reread %zd '%.*s'\n", n, (int)n, buf);
    printf("read at eof %zd\n", read(fd, buf, 10));
    errno = 0; printf("write to O_RDONLY %zd %s\n", write(fd, "x", 1), strerror(errno));
    close(fd);
    errno = 0; printf("read closed fd %zd %s\n", read(fd, buf, 1), strerror(errno));
    printf("mkdir %d %d\n", mkdir("dir1", 0750), mkdir("dir1/inner", 0700));
    errno = 0; printf("mkdir exists %d %s\n", mkdir("dir1", 0777), strerror(errno));
    stat("dir1", &s); st("dir1", &s);
    printf("rename %d\n", rename("a.txt", "dir1/b.txt"));
    errno = 0; printf("stat old %d %s\n", stat("a.txt", &s), strerror(errno));
    stat("dir1/b.txt", &s); st("b.txt", &s);
    printf("symlink %d link %d\n", symlink("dir1/b.txt", "sl"), link("dir1/b.txt", "hard"));
    lstat("sl", &s); st("lstat sl", &s);
    stat("sl", &s); st("stat sl", &s);
    stat("hard", &s); st("hard", &s);
    n = readlink("sl", buf, sizeof buf); printf("readlink %zd %.*s\n", n, (int)n, buf);
    printf("chmod %d\n", chmod("hard", 0600));
    stat("dir1/b.txt", &s); st("after chmod", &s);
    struct timespec ts[2] = { { 1000000000, 123456789 }, { 1234567890, 987654321 } };
    printf("utimensat %d\n", utimensat(AT_FDCWD, "hard", ts, 0));
    stat("hard", &s);
    printf("times %lld.%09ld %lld.%09ld\n", (long long)s.st_atim.tv_sec, s.st_atim.tv_nsec, (long long)s.st_mtim.tv_sec, s.st_mtim.tv_nsec);
    printf("truncate %d\n", truncate("hard", 5000));
    stat("hard", &s); st("truncated", &s);
    printf("access R %d X %d missing %d\n", access("hard", R_OK), access("hard", X_OK), access("nope", F_OK));
    int dfd = open("dir1", O_RDONLY | O_DIRECTORY);
    int f2 = openat(dfd, "c.txt", O_CREAT | O_WRONLY | O_EXCL, 0644);
    printf("openat %d\n", f2 >= 0);
    write(f2, "c", 1); close(f2);
    errno = 0; printf("O_EXCL again %d %s\n", openat(dfd, "c.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), strerror(errno));
    printf("fstatat %d\n", fstatat(dfd, "c.txt", &s, 0)); st("c.txt", &s);
    printf("renameat %d\n", renameat(dfd, "c.txt", AT_FDCWD, "d.txt"));
    printf("unlinkat dir %d\n", unlinkat(dfd, "inner", AT_REMOVEDIR));
    close(dfd);
    /* many files so getdents needs several calls */
    for (int i = 0; i < 40; i++) { char nm[64]; sprintf(nm, "dir1/file-%02d-with-a-longish-name", i); close(open(nm, O_CREAT | O_WRONLY, 0644)); }
    list("."); list("dir1");
    FILE *fp = fopen("stdio.txt", "w+");
    for (int i = 0; i < 1000; i++) fprintf(fp, "%d,%d\n", i, i * i);
    rewind(fp);
    long sum = 0; int a, b;
    while (fscanf(fp, "%d,%d", &a, &b) == 2) sum += b;
    printf("stdio sum %ld ftell %ld\n", sum, ftell(fp));
    fclose(fp);
    errno = 0; printf("rmdir nonempty %d %s\n", rmdir("dir1"), strerror(errno));
    errno = 0; printf("unlink dir %d %s\n", unlink("dir1"), strerror(errno));
    errno = 0; printf("open missing %d %s\n", open("missing/x", O_RDONLY), strerror(errno));
    errno = 0; printf("open dir for write %d %s\n", open("dir1", O_WRONLY), strerror(errno));
    printf("unlink %d %d %d\n", unlink("sl"), unlink("hard"), unlink("d.txt"));
    printf("devnull %zd\n", write(open("/dev/null", O_WRONLY), "x", 1));
    list(".");
    return 0;
}
