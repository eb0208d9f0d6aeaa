/* A host (64-bit) process at the other end of a guest's AF_UNIX socket: receives a descriptor through SCM_RIGHTS,
 * writes into it, and sends one of its own back. Built with the host's gcc by the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what) { perror(what); exit(1); }

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u = { .sun_family = AF_UNIX };
    strncpy(u.sun_path, argv[1], sizeof u.sun_path - 1);
    unlink(argv[1]);
    if (bind(s, (struct sockaddr *)&u, sizeof u) || listen(s, 1)) fail("bind");
    printf("ready\n");
    fflush(stdout);
    int c = accept(s, NULL, NULL);
    if (c < 0) fail("accept");
    char data[16], ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { data, sizeof data };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
    if (recvmsg(c, &m, 0) <= 0) fail("recvmsg");
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    if (!h || h->cmsg_type != SCM_RIGHTS) fail("no SCM_RIGHTS");
    int fd;
    memcpy(&fd, CMSG_DATA(h), sizeof fd);
    dprintf(fd, "hello from the host\n");
    close(fd);
    int p[2];
    if (pipe(p)) fail("pipe");
    dprintf(p[1], "a host pipe\n");
    close(p[1]);
    iov.iov_base = "host"; iov.iov_len = 4;
    m.msg_controllen = sizeof ctl;
    h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS; h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &p[0], sizeof(int));
    if (sendmsg(c, &m, 0) != 4) fail("sendmsg");
    close(p[0]);
    dprintf(c, "%d", (int)getpid());
    char x;
    read(c, &x, 1);
    unlink(argv[1]);
    return 0;
}
