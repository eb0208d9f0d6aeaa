/* truncate() on what is not a regular file (found by the syscall fuzzer: compat32 opened a FIFO for writing to
 * truncate it and waited for a reader forever, deaf to signals). vfs_truncate: EISDIR for a directory, EINVAL for
 * anything else that is not a regular file, EINVAL for a negative length first. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, int r)
{
    printf("%-32s %d %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(void)
{
    char dir[] = "/tmp/c32-truncate-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) return 1;
    alarm(10); /* a hang ends the test instead of the suite */
    mkfifo("fifo", 0644);
    mkdir("dir", 0755);
    int fd = open("file", O_CREAT | O_WRONLY, 0644);
    write(fd, "0123456789", 10);
    close(fd);
    symlink("fifo", "link-to-fifo");
    show("truncate(fifo, 0)", truncate("fifo", 0));
    show("truncate(link-to-fifo, 0)", truncate("link-to-fifo", 0));
    show("truncate(dir, 0)", truncate("dir", 0));
    show("truncate(dir, -1)", truncate("dir", -1));
    show("truncate(file, -1)", truncate("file", -1));
    show("truncate(file, 3)", truncate("file", 3));
    struct stat st;
    stat("file", &st);
    printf("size %ld\n", (long)st.st_size);
    show("truncate(missing, 0)", truncate("missing", 0));
    show("truncate(\"\", 0)", truncate("", 0));
    show("truncate(/dev/null, 0)", truncate("/dev/null", 0));
    unlink("fifo"); unlink("link-to-fifo"); unlink("file"); rmdir("dir");
    chdir("/");
    rmdir(dir);
    return 0;
}
