/* pipe/pipe2 within one process: write then read, partial reads, EOF, EAGAIN, dup/dup2, fcntl flags, poll. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <signal.h>
#include <time.h>

int main(void)
{
    int p[2];
    char buf[70000];
    if (pipe(p) != 0) { perror("pipe"); return 1; }
    printf("write %zd\n", write(p[1], "hello pipe", 10));
    struct pollfd pf = { p[0], POLLIN, 0 };
    int pr = poll(&pf, 1, 0);
    printf("poll %d revents %x\n", pr, pf.revents);
    printf("read %zd\n", read(p[0], buf, 4));
    printf("read %zd '%.6s'\n", read(p[0], buf, sizeof buf), buf);
    fd_set rs; FD_ZERO(&rs); FD_SET(p[0], &rs);
    struct timeval tv = { 0, 1000 };
    int sr = select(p[0] + 1, &rs, NULL, NULL, &tv);
    printf("select empty %d set %d tv %ld.%06ld\n", sr, FD_ISSET(p[0], &rs), (long)tv.tv_sec, (long)tv.tv_usec);
    write(p[1], "z", 1);
    FD_SET(p[0], &rs);
    fd_set ws; FD_ZERO(&ws); FD_SET(p[1], &ws); FD_SET(p[0], &ws);
    tv.tv_sec = 5; tv.tv_usec = 0;
    sr = select(p[1] + 1, &rs, &ws, NULL, &tv);
    printf("select ready %d r %d w %d %d\n", sr, FD_ISSET(p[0], &rs), FD_ISSET(p[1], &ws), FD_ISSET(p[0], &ws));
    read(p[0], buf, 1);
    struct timespec pts = { 0, 2000000 };
    pf.revents = 0;
    pr = ppoll(&pf, 1, &pts, NULL);
    printf("ppoll empty %d revents %x\n", pr, pf.revents);
    int total = 0;
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 15; i++) total += (int)write(p[1], buf, 4000);
    printf("wrote %d\n", total);
    int got = 0, n;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    while ((n = (int)read(p[0], buf, 3000)) > 0) got += n;
    printf("got %d then %d errno %s\n", got, n, strerror(errno));
    struct iovec iov[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
    printf("writev %zd\n", writev(p[1], iov, 3));
    char x1[3], x2[4];
    struct iovec riov[2] = { { x1, 3 }, { x2, 3 } };
    printf("readv %zd '%.3s' '%.3s'\n", readv(p[0], riov, 2), x1, x2);
    int d = dup(p[1]);
    printf("dup > 2 %d\n", d > 2);
    write(d, "via dup", 7);
    close(d);
    int d2 = dup2(p[1], 20);
    printf("dup2 %d cloexec %d\n", d2, fcntl(d2, F_GETFD));
    close(p[1]); close(d2);
    printf("read %zd\n", read(p[0], buf, sizeof buf));
    printf("eof %zd\n", read(p[0], buf, sizeof buf));
    close(p[0]);
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) { perror("pipe2"); return 1; }
    printf("pipe2 fd flags %d fl nonblock %d\n", fcntl(p[0], F_GETFD), (fcntl(p[1], F_GETFL) & O_NONBLOCK) != 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    printf("write to closed reader %zd %s\n", write(p[1], "x", 1) , strerror(errno));
    return 0;
}
