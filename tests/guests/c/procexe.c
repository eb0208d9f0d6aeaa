/* /proc/self/exe readlink, compared with argv[0]'s real path. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <limits.h>
#include <string.h>
#include <errno.h>

int main(int argc, char **argv)
{
    char buf[PATH_MAX + 1], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
    if (n < 0) { perror("readlink"); return 1; }
    buf[n] = 0;
    realpath(argv[0], real);
    printf("exe %s\n", buf);
    printf("equals realpath(argv[0]) %d\n", strcmp(buf, real) == 0);
    char tiny[5];
    printf("truncated %zd\n", readlink("/proc/self/exe", tiny, sizeof tiny));
    errno = 0;
    printf("not a link %zd %s\n", readlink("/", buf, sizeof buf), strerror(errno));
    return 0;
}
