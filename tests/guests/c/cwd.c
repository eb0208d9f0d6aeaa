/* getcwd/chdir/fchdir with a directory given on the command line. */
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
    char buf[PATH_MAX], small[4];
    if (argc < 2) return 2;
    if (chdir(argv[1]) != 0) { perror("chdir"); return 1; }
    printf("cwd %s\n", getcwd(buf, sizeof buf));
    printf("small buffer %p errno %s\n", (void *)getcwd(small, sizeof small), strerror(errno));
    mkdir("sub", 0755);
    mkdir("sub/deeper", 0755);
    chdir("sub/deeper");
    printf("cwd %s\n", getcwd(buf, sizeof buf));
    chdir("../..");
    printf("after .. %s\n", getcwd(buf, sizeof buf));
    int fd = open("sub", O_RDONLY | O_DIRECTORY);
    printf("fchdir %d\n", fchdir(fd));
    printf("cwd %s\n", getcwd(buf, sizeof buf));
    close(fd);
    errno = 0;
    printf("chdir missing %d %s\n", chdir("/nonexistent/dir/x"), strerror(errno));
    printf("chdir file %d %s\n", chdir("/proc/self/exe"), strerror(errno));
    chdir("/");
    printf("root %s\n", getcwd(buf, sizeof buf));
    return 0;
}
