/* Bad arguments to poll, select, ppoll, pselect6, flock, pipe2 and fcntl on pipes: each fails with the errno
   Linux gives (raw syscalls, so libc does not check first). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    printf("%s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "-");
}

int main(void)
{
    int p[2];
    pipe(p);
    char *bad = (char *)16;
    unsigned int set[32] = {0};
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {-5, POLLIN, 123}};
    show("poll NULL", syscall(SYS_poll, 0, 1, 0));
    show("poll bad pointer", syscall(SYS_poll, bad, 1, 0));
    show("poll nfds 0 NULL", syscall(SYS_poll, 0, 0, 0));
    show("poll too many", syscall(SYS_poll, pf, 100000, 0));
    show("poll negative fd", syscall(SYS_poll, pf, 2, 0));
    printf("revents of negative fd: %d\n", pf[1].revents);
    pf[1].fd = 77;
    show("poll closed fd", syscall(SYS_poll, pf, 2, 0));
    printf("revents of closed fd: %#x\n", pf[1].revents);
    close(p[1]);
    show("poll hung-up pipe", syscall(SYS_poll, pf, 1, 0));
    printf("revents: %#x\n", pf[0].revents);

    int tv[2] = {0, -1};
    show("select negative n", syscall(SYS__newselect, -1, 0, 0, 0, 0));
    show("select negative usec", syscall(SYS__newselect, 1, 0, 0, 0, tv));
    tv[0] = -1; tv[1] = 0;
    show("select negative sec", syscall(SYS__newselect, 1, 0, 0, 0, tv));
    tv[0] = 0; tv[1] = 1500000;
    show("select usec over a second", syscall(SYS__newselect, 0, 0, 0, 0, tv));
    printf("left: %d.%06d\n", tv[0], tv[1]);
    show("select bad set", syscall(SYS__newselect, 3, bad, 0, 0, 0));
    set[0] = 1u << 9;
    show("select closed fd", syscall(SYS__newselect, 10, set, 0, 0, 0));
    show("select bad timeval", syscall(SYS__newselect, 0, 0, 0, 0, bad));
    show("old select bad args", syscall(SYS_select, bad));

    int ts[2] = {0, 1000000000};
    show("ppoll nsec too big", syscall(SYS_ppoll, pf, 1, ts, 0, 8));
    ts[1] = 0;
    unsigned long long mask = 0;
    show("ppoll sigsetsize 4", syscall(SYS_ppoll, pf, 1, ts, &mask, 4));
    show("ppoll bad sigset", syscall(SYS_ppoll, pf, 1, ts, bad, 8));
    show("ppoll bad timespec", syscall(SYS_ppoll, pf, 1, bad, 0, 8));
    show("pselect bad sig arg", syscall(SYS_pselect6, 0, 0, 0, 0, ts, bad));
    unsigned int arg[2] = {(unsigned)(unsigned long)&mask, 7};
    show("pselect sigsetsize 7", syscall(SYS_pselect6, 0, 0, 0, 0, ts, arg));
    arg[1] = 8;
    show("pselect zero timeout", syscall(SYS_pselect6, 0, 0, 0, 0, ts, arg));

    show("flock bad op", syscall(SYS_flock, p[0], 0));
    show("flock LOCK_MAND", syscall(SYS_flock, p[0], 32 | 1));
    show("flock closed fd", syscall(SYS_flock, 99, 2));
    show("pipe2 bad flags", syscall(SYS_pipe2, p, 1));
    show("pipe2 bad pointer", syscall(SYS_pipe2, bad, 0));
    show("F_SETPIPE_SZ huge", fcntl(p[0], F_SETPIPE_SZ, 1 << 30));
    show("F_GETPIPE_SZ on a file", fcntl(open("/proc/self/exe", O_RDONLY), F_GETPIPE_SZ));
    show("mknod bad path", syscall(SYS_mknod, bad, 010644, 0));
    return 0;
}
