/* Socket calls, compared with qemu-i386 (or the host kernel): one mode per argument.
 * Every port is chosen by the kernel (port 0 + getsockname), so parallel runs never collide. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/net.h>

#define CHECK(x) do { if (!(x)) { printf("FAIL line %d: %s (errno %s)\n", __LINE__, #x, strerrorname_np(errno)); exit(1); } } while (0)
#define ERR(call) do { errno = 0; long _r = (long)(call); printf("%-60s = %ld %s\n", #call, _r, _r < 0 ? strerrorname_np(errno) : ""); } while (0)

static int tcp_listener(struct sockaddr_in *a)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s >= 0);
    int one = 1;
    CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)a, sizeof *a) == 0);
    socklen_t l = sizeof *a;
    CHECK(getsockname(s, (struct sockaddr *)a, &l) == 0 && l == sizeof *a);
    CHECK(listen(s, 128) == 0);
    return s;
}

static int readn(int fd, char *b, int n)
{
    int got = 0;
    while (got < n) { int r = read(fd, b + got, n - got); if (r <= 0) return got; got += r; }
    return got;
}

/* A poll-driven echo server in the parent, NCLIENT forked clients each sending ROUNDS messages. */
#define NCLIENT 50
#define ROUNDS 20

/* One client (a forked child): ROUNDS messages echoed back, then a half close; exits. */
static void tcp_client(const struct sockaddr_in *a, int i, int nodelay)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (const struct sockaddr *)a, sizeof *a) == 0);
    int one = 1;
    if (nodelay) CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    for (int r = 0; r < ROUNDS; r++) {
        char m[64], back[64];
        int n = snprintf(m, sizeof m, "client %02d round %02d|", i, r);
        CHECK(write(c, m, n) == n);
        CHECK(readn(c, back, n) == n && memcmp(m, back, n) == 0);
    }
    shutdown(c, SHUT_WR);
    char x;
    CHECK(read(c, &x, 1) == 0);
    _exit(0);
}
static void mode_tcp(void)
{
    struct sockaddr_in a;
    int ls = tcp_listener(&a);
    pid_t kids[NCLIENT];
    for (int i = 0; i < NCLIENT; i++) {
        if ((kids[i] = fork()) == 0) tcp_client(&a, i, 1);
    }
    struct pollfd p[NCLIENT + 1];
    int n = 1, done = 0;
    long bytes = 0;
    p[0].fd = ls; p[0].events = POLLIN;
    while (done < NCLIENT) {
        CHECK(poll(p, n, 10000) > 0);
        if (p[0].revents & POLLIN) {
            struct sockaddr_in peer;
            socklen_t pl = sizeof peer;
            int c = accept4(ls, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
            CHECK(c >= 0 && pl == sizeof peer && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
            p[n].fd = c; p[n].events = POLLIN; p[n].revents = 0; n++;
        }
        for (int i = 1; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
            char buf[512];
            int r = read(p[i].fd, buf, sizeof buf);
            if (r > 0) { CHECK(write(p[i].fd, buf, r) == r); bytes += r; }
            else { close(p[i].fd); p[i] = p[--n]; i--; done++; }
        }
    }
    int ok = 0;
    for (int i = 0; i < NCLIENT; i++) { int st; waitpid(kids[i], &st, 0); ok += WIFEXITED(st) && WEXITSTATUS(st) == 0; }
    printf("tcp: %d clients ok, %ld bytes echoed\n", ok, bytes);
}

/* An epoll echo server in one process: a non-blocking listener, connections edge-triggered with EPOLLRDHUP,
   each read drained to EAGAIN; serves count connections to their end. Returns the bytes echoed. */
static void write_all(int fd, const char *b, int n)
{
    while (n > 0) {
        int w = write(fd, b, n);
        if (w < 0 && errno == EAGAIN) { struct pollfd p = { fd, POLLOUT, 0 }; CHECK(poll(&p, 1, 10000) == 1); continue; }
        CHECK(w > 0);
        b += w; n -= w;
    }
}

static long epoll_echo(int ls, int count)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    CHECK(fcntl(ls, F_SETFL, O_NONBLOCK) == 0);
    struct epoll_event e = { .events = EPOLLIN, .data.fd = ls };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e) == 0);
    int done = 0;
    long bytes = 0;
    while (done < count) {
        struct epoll_event ev[64];
        int n = epoll_wait(ep, ev, 64, 20000);
        CHECK(n > 0);
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct epoll_event ce = { .events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.fd = c };
                    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce) == 0);
                }
                CHECK(errno == EAGAIN);
                continue;
            }
            while (1) {
                char buf[512];
                int r = read(fd, buf, sizeof buf);
                if (r > 0) { write_all(fd, buf, r); bytes += r; continue; }
                if (r < 0 && errno == EAGAIN) break;
                CHECK(r == 0);
                CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == 0);
                close(fd);
                done++;
                break;
            }
        }
    }
    close(ep);
    return bytes;
}

/* The epoll server with NCLIENT forked clients (the clients of mode_tcp). */
static void mode_epolltcp(void)
{
    struct sockaddr_in a;
    int ls = tcp_listener(&a);
    pid_t kids[NCLIENT];
    for (int i = 0; i < NCLIENT; i++) {
        if ((kids[i] = fork()) == 0) tcp_client(&a, i, 0);
    }
    long bytes = epoll_echo(ls, NCLIENT);
    int ok = 0;
    for (int i = 0; i < NCLIENT; i++) { int st; waitpid(kids[i], &st, 0); ok += WIFEXITED(st) && WEXITSTATUS(st) == 0; }
    printf("epoll tcp: %d clients ok, %ld bytes echoed\n", ok, bytes);
}

/* The epoll server alone, for clients outside (the host's): prints its port, serves N connections. */
static void mode_epollserver(int count)
{
    struct sockaddr_in a;
    int ls = tcp_listener(&a);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    epoll_echo(ls, count);
    printf("served %d\n", count);
}

/* The echo server alone, for clients outside (the host's): prints its port, serves N connections. */
static void mode_server(int count)
{
    struct sockaddr_in a;
    int ls = tcp_listener(&a);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    int served = 0;
    while (served < count) {
        int c = accept(ls, NULL, NULL);
        CHECK(c >= 0);
        if (fork() == 0) {
            char buf[512];
            int r;
            while ((r = read(c, buf, sizeof buf)) > 0) CHECK(write(c, buf, r) == r);
            _exit(0);
        }
        close(c);
        served++;
    }
    while (wait(NULL) > 0) {}
    printf("served %d\n", served);
}

static void mode_udp(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in aa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, ba = aa, from;
    CHECK(bind(a, (struct sockaddr *)&aa, sizeof aa) == 0);
    CHECK(bind(b, (struct sockaddr *)&ba, sizeof ba) == 0);
    socklen_t l = sizeof aa;
    getsockname(a, (struct sockaddr *)&aa, &l);
    getsockname(b, (struct sockaddr *)&ba, &l);
    for (int i = 0; i < 5; i++) {
        char m[32];
        int n = snprintf(m, sizeof m, "datagram %d", i);
        CHECK(sendto(a, m, n, 0, (struct sockaddr *)&ba, sizeof ba) == n);
    }
    char buf[64];
    l = sizeof from;
    int r = recvfrom(b, buf, sizeof buf, MSG_PEEK, (struct sockaddr *)&from, &l);
    printf("peek %d '%.*s' from matches %d\n", r, r, buf, from.sin_port == aa.sin_port);
    r = recv(b, buf, 4, MSG_TRUNC);
    printf("trunc recv %d\n", r);
    struct msghdr mh = {0};
    struct iovec iov = { buf, 4 };
    mh.msg_iov = &iov; mh.msg_iovlen = 1;
    r = recvmsg(b, &mh, 0);
    printf("recvmsg %d flags %s\n", r, (mh.msg_flags & MSG_TRUNC) ? "MSG_TRUNC" : "0");
    for (int i = 2; i < 5; i++) { r = recv(b, buf, sizeof buf, 0); printf("got '%.*s'\n", r, buf); }
    errno = 0;
    r = recv(b, buf, sizeof buf, MSG_DONTWAIT);
    printf("empty: %d %s\n", r, strerrorname_np(errno));
    struct timeval tv = { 0, 50000 };
    CHECK(setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    errno = 0;
    r = recv(b, buf, sizeof buf, 0);
    gettimeofday(&t1, NULL);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
    printf("timeout: %d %s waited>=40ms %d\n", r, strerrorname_np(errno), ms >= 40);
    /* connected UDP, and mmsg */
    CHECK(connect(a, (struct sockaddr *)&ba, sizeof ba) == 0);
    struct mmsghdr mm[3];
    struct iovec iv[3];
    char bufs[3][16];
    for (int i = 0; i < 3; i++) {
        snprintf(bufs[i], 16, "mmsg-%d", i);
        iv[i].iov_base = bufs[i]; iv[i].iov_len = strlen(bufs[i]);
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].msg_hdr.msg_iov = &iv[i]; mm[i].msg_hdr.msg_iovlen = 1;
    }
    r = sendmmsg(a, mm, 3, 0);
    printf("sendmmsg %d lens %u %u %u\n", r, mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    char rb[3][16];
    struct sockaddr_in src[3];
    for (int i = 0; i < 3; i++) {
        iv[i].iov_base = rb[i]; iv[i].iov_len = 16;
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].msg_hdr.msg_iov = &iv[i]; mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &src[i]; mm[i].msg_hdr.msg_namelen = sizeof src[i];
    }
    r = recvmmsg(b, mm, 3, MSG_WAITFORONE, NULL);
    printf("recvmmsg %d:", r);
    for (int i = 0; i < r; i++) printf(" '%.*s' namelen %u", mm[i].msg_len, rb[i], mm[i].msg_hdr.msg_namelen);
    printf("\n");
    /* IPv6 loopback */
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s6 >= 0) {
        struct sockaddr_in6 x = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
        int on = 1;
        CHECK(setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0);
        if (bind(s6, (struct sockaddr *)&x, sizeof x) == 0) {
            l = sizeof x;
            getsockname(s6, (struct sockaddr *)&x, &l);
            CHECK(sendto(s6, "six", 3, 0, (struct sockaddr *)&x, sizeof x) == 3);
            r = recv(s6, buf, sizeof buf, 0);
            printf("ipv6 %d '%.*s' namelen %u\n", r, r, buf, l);
        } else printf("ipv6 bind: %s\n", strerrorname_np(errno));
    }
}

static void show_addr(const char *what, struct sockaddr_un *u, socklen_t l)
{
    printf("%s len %u:", what, l);
    if (l > offsetof(struct sockaddr_un, sun_path)) {
        if (u->sun_path[0] == 0) printf(" @%.*s", (int)(l - 3), u->sun_path + 1);
        else printf(" %s", u->sun_path);
    }
    printf("\n");
}

static void mode_unix(const char *dir)
{
    CHECK(chdir(dir) == 0);
    static const int types[] = { SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM };
    static const char *names[] = { "stream", "seqpacket", "dgram" };
    for (int k = 0; k < 3; k++) {
        char path[64];
        snprintf(path, sizeof path, "sock-%s", names[k]);
        unlink(path);
        int s = socket(AF_UNIX, types[k], 0);
        struct sockaddr_un u = { .sun_family = AF_UNIX };
        strcpy(u.sun_path, path);
        CHECK(bind(s, (struct sockaddr *)&u, offsetof(struct sockaddr_un, sun_path) + strlen(path)) == 0);
        struct sockaddr_un got;
        socklen_t l = sizeof got;
        CHECK(getsockname(s, (struct sockaddr *)&got, &l) == 0);
        show_addr(names[k], &got, l);
        int c = socket(AF_UNIX, types[k], 0);
        if (types[k] != SOCK_DGRAM) {
            CHECK(listen(s, 5) == 0);
            pid_t kid = fork();
            if (kid == 0) {
                CHECK(connect(c, (struct sockaddr *)&u, sizeof u) == 0);
                struct ucred cr;
                socklen_t cl = sizeof cr;
                CHECK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0);
                printf("  child: peer is parent %d, len %u\n", cr.pid == getppid(), cl);
                l = sizeof got;
                CHECK(getpeername(c, (struct sockaddr *)&got, &l) == 0);
                show_addr("  child peername", &got, l);
                CHECK(write(c, "one", 3) == 3 && write(c, "two", 3) == 3);
                fflush(stdout);
                _exit(0);
            }
            l = sizeof got;
            int a = accept(s, (struct sockaddr *)&got, &l);
            CHECK(a >= 0);
            struct ucred cr;
            socklen_t cl = sizeof cr;
            CHECK(getsockopt(a, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0);
            waitpid(kid, NULL, 0);
            show_addr("  accepted from", &got, l);
            printf("  peer is child %d uid %d gid %d\n", cr.pid == kid, cr.uid == geteuid(), cr.gid == getegid());
            char b[16];
            int r = read(a, b, sizeof b);
            printf("  read %d '%.*s'\n", r, r, b);
            close(a);
        } else {
            CHECK(sendto(c, "dg", 2, 0, (struct sockaddr *)&u, sizeof u) == 2);
            char b[16];
            l = sizeof got;
            int r = recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&got, &l);
            printf("  dgram %d '%.*s' from len %u\n", r, r, b, l);
        }
        close(c);
        close(s);
        unlink(path);
    }
    /* abstract namespace, named by pid so parallel runs differ */
    char an[64];
    int alen = snprintf(an, sizeof an, "#compat32-test-%d", getpid());
    struct sockaddr_un u = { .sun_family = AF_UNIX };
    memcpy(u.sun_path, an, alen);
    u.sun_path[0] = 0;
    socklen_t ul = offsetof(struct sockaddr_un, sun_path) + alen;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(s, (struct sockaddr *)&u, ul) == 0 && listen(s, 1) == 0);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&u, ul) == 0);
    struct sockaddr_un got;
    socklen_t l = sizeof got;
    CHECK(getpeername(c, (struct sockaddr *)&got, &l) == 0);
    printf("abstract peer len ok %d same %d\n", l == ul, memcmp(&got, &u, ul) == 0);
    /* autobind: an abstract name of 5 hex digits */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un z = { .sun_family = AF_UNIX };
    CHECK(bind(d, (struct sockaddr *)&z, sizeof(sa_family_t)) == 0);
    l = sizeof got;
    CHECK(getsockname(d, (struct sockaddr *)&got, &l) == 0);
    printf("autobind len %u abstract %d\n", l, got.sun_path[0] == 0);
    /* unnamed pair */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    l = sizeof got;
    CHECK(getsockname(sv[0], (struct sockaddr *)&got, &l) == 0);
    printf("pair name len %u\n", l);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    CHECK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0);
    printf("pair peer is self %d\n", cr.pid == getpid());
}

static void mode_creds(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    int on = 1;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    pid_t kid = fork();
    if (kid == 0) { CHECK(send(sv[0], "hi", 2, 0) == 2); _exit(0); }
    waitpid(kid, NULL, 0);
    char b[8];
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(struct ucred))]; } cm;
    struct iovec iov = { b, sizeof b };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof cm.buf };
    int r = recvmsg(sv[1], &m, 0);
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    struct ucred *u = (struct ucred *)CMSG_DATA(h);
    printf("creds: %d bytes, controllen %u, cmsg len %u level %d type %d, pid is child %d uid ok %d\n", r,
           (unsigned)m.msg_controllen, (unsigned)h->cmsg_len, h->cmsg_level, h->cmsg_type, u->pid == kid, u->uid == getuid());
    /* explicit credentials: our own pid passes, another's is EPERM */
    struct ucred mine = { getpid(), getuid(), getgid() };
    memset(&cm, 0, sizeof cm);
    h = &cm.h;
    h->cmsg_len = CMSG_LEN(sizeof mine); h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_CREDENTIALS;
    memcpy(CMSG_DATA(h), &mine, sizeof mine);
    iov.iov_base = "x"; iov.iov_len = 1;
    struct msghdr s = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = CMSG_SPACE(sizeof mine) };
    ERR(sendmsg(sv[0], &s, 0));
    iov.iov_base = b; iov.iov_len = sizeof b;
    m.msg_controllen = sizeof cm.buf;
    r = recvmsg(sv[1], &m, 0);
    u = (struct ucred *)CMSG_DATA(CMSG_FIRSTHDR(&m));
    printf("explicit: pid is self %d\n", u->pid == getpid());
    mine.pid = getppid();
    memcpy(CMSG_DATA(h), &mine, sizeof mine);
    iov.iov_base = "x"; iov.iov_len = 1;
    ERR(sendmsg(sv[0], &s, 0));
}

static int send_fds(int s, int *fds, int n, const char *data)
{
    union { struct cmsghdr h; char buf[CMSG_SPACE(8 * sizeof(int))]; } cm;
    memset(&cm, 0, sizeof cm);
    struct iovec iov = { (void *)data, strlen(data) };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_len = CMSG_LEN(n * sizeof(int)); h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS;
    memcpy(CMSG_DATA(h), fds, n * sizeof(int));
    return sendmsg(s, &m, 0);
}

static int recv_fds(int s, int *fds, int max, char *data, int dlen, int ctl, int *flags)
{
    union { struct cmsghdr h; char buf[CMSG_SPACE(8 * sizeof(int))]; } cm;
    struct iovec iov = { data, dlen };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = ctl };
    int r = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
    if (r < 0) return -1;
    data[r] = 0;
    *flags = m.msg_flags;
    int n = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
        printf("  cmsg len %u level %d type %d (controllen %u)\n", (unsigned)h->cmsg_len, h->cmsg_level, h->cmsg_type, (unsigned)m.msg_controllen);
        int k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (int i = 0; i < k && n < max; i++) memcpy(&fds[n++], CMSG_DATA(h) + i * sizeof(int), sizeof(int));
    }
    return n;
}

static void mode_fdpass(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pid_t kid = fork();
    if (kid == 0) {
        close(sv[0]);
        int fds[8], fl;
        char d[64];
        int n = recv_fds(sv[1], fds, 8, d, 63, CMSG_SPACE(8 * sizeof(int)), &fl);
        printf("child got %d fds with '%s'\n", n, d);
        /* fds[0]: a pipe's write end; fds[1]: a file; fds[2]: one end of a socket pair */
        CHECK(write(fds[0], "via passed pipe\n", 16) == 16);
        char b[64];
        lseek(fds[1], 0, SEEK_SET);
        int r = read(fds[1], b, sizeof b);
        printf("child read file: %.*s", r, b);
        printf("child: cloexec %d\n", fcntl(fds[0], F_GETFD));
        CHECK(write(fds[2], "over passed socket", 18) == 18);
        fflush(stdout);
        _exit(0);
    }
    close(sv[1]);
    int p[2], q[2];
    CHECK(pipe(p) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, q) == 0);
    char tmpl[] = "/tmp/compat32-fdpass-XXXXXX";
    int f = mkstemp(tmpl);
    unlink(tmpl);
    CHECK(write(f, "file contents\n", 14) == 14);
    int fds[3] = { p[1], f, q[1] };
    int sent = send_fds(sv[0], fds, 3, "three fds");
    close(p[1]); close(q[1]); close(f);
    waitpid(kid, NULL, 0);
    printf("sent %d\n", sent);
    char b[64];
    int r = read(p[0], b, sizeof b);
    printf("parent read pipe: %.*s", r, b);
    r = read(p[0], b, sizeof b);
    printf("pipe EOF after child exit: %d\n", r);
    r = read(q[0], b, sizeof b);
    printf("parent read socket: %.*s\n", r, b);
    /* truncated control buffer: one fd fits, the rest are closed, MSG_CTRUNC */
    int t[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, t) == 0);
    int many[4] = { 0, 1, 2, 0 };
    printf("sent %d\n", send_fds(t[0], many, 4, "four"));
    int got[8], fl = 0;
    char d[16];
    int n = recv_fds(t[1], got, 8, d, 15, CMSG_SPACE(sizeof(int)), &fl);
    printf("small buffer: %d fds, ctrunc %d\n", n, !!(fl & MSG_CTRUNC));
    printf("sent %d\n", send_fds(t[0], many, 2, "two"));
    n = recv_fds(t[1], got, 8, d, 15, 0, &fl);
    printf("no buffer: %d fds, ctrunc %d\n", n, !!(fl & MSG_CTRUNC));
    /* the passed descriptor is the same file: a pipe passed to ourselves shares data */
    CHECK(pipe(p) == 0);
    printf("sent %d\n", send_fds(t[0], &p[0], 1, "self"));
    n = recv_fds(t[1], got, 8, d, 15, CMSG_SPACE(sizeof(int)), &fl);
    CHECK(n == 1 && write(p[1], "same", 4) == 4);
    r = read(got[0], b, 4);
    printf("self-passed pipe read %d '%.*s'\n", r, r, b);
}

static int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static void mode_nonblock(void)
{
    struct sockaddr_in a;
    int ls = tcp_listener(&a);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&a, sizeof a);
    printf("nonblocking connect: %d %s\n", r, r < 0 ? strerrorname_np(errno) : "");
    struct pollfd p = { c, POLLOUT, 0 };
    CHECK(poll(&p, 1, 5000) == 1);
    int err = -1;
    socklen_t el = sizeof err;
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0);
    printf("SO_ERROR %d len %u, F_GETFL nonblock %d\n", err, el, !!(fcntl(c, F_GETFL) & O_NONBLOCK));
    int s = accept(ls, NULL, NULL);
    fcntl(ls, F_SETFL, O_NONBLOCK);
    errno = 0;
    r = accept(ls, NULL, NULL);
    printf("accept on empty nonblocking listener: %d %s\n", r, strerrorname_np(errno));
    errno = 0;
    char b[64];
    r = recv(c, b, sizeof b, 0);
    printf("recv on empty: %d %s\n", r, strerrorname_np(errno));
    int zero = 0;
    ioctl(c, FIONBIO, &zero);
    printf("after FIONBIO 0: nonblock %d\n", !!(fcntl(c, F_GETFL) & O_NONBLOCK));
    /* MSG_WAITALL gathers two writes */
    CHECK(write(s, "abc", 3) == 3);
    if (fork() == 0) { usleep(50000); write(s, "defgh", 5); _exit(0); }
    r = recv(c, b, 8, MSG_WAITALL);
    printf("waitall %d '%.*s'\n", r, r, b);
    wait(NULL);
    int avail = -1;
    CHECK(write(s, "xyz", 3) == 3);
    usleep(20000);
    CHECK(ioctl(c, FIONREAD, &avail) == 0);
    printf("FIONREAD %d\n", avail);
    r = recv(c, b, 2, MSG_PEEK);
    printf("peek %d '%.*s'\n", r, r, b);
    r = recv(c, b, 8, 0);
    printf("then %d '%.*s'\n", r, r, b);
    /* connect to a port nobody listens on */
    struct sockaddr_in dead = a;
    close(ls);
    int d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    r = connect(d, (struct sockaddr *)&dead, sizeof dead);
    if (r < 0 && errno == EINPROGRESS) {
        p.fd = d; p.events = POLLOUT;
        poll(&p, 1, 5000);
        getsockopt(d, SOL_SOCKET, SO_ERROR, &err, &el);
        printf("refused via SO_ERROR: %s\n", strerrorname_np(err));
    } else printf("refused at once: %s\n", strerrorname_np(errno));
    int b2 = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    r = connect(b2, (struct sockaddr *)&dead, sizeof dead);
    printf("blocking connect to closed port: %d %s\n", r, strerrorname_np(errno));
    /* SIGPIPE on a closed peer */
    signal(SIGPIPE, on_pipe);
    close(c);
    usleep(20000);
    errno = 0;
    r = send(s, "x", 1, 0);
    usleep(20000);
    errno = 0;
    r = send(s, "x", 1, 0);
    printf("send to closed peer: %d %s, sigpipes %d\n", r, strerrorname_np(errno), sigpipes);
    errno = 0;
    r = send(s, "x", 1, MSG_NOSIGNAL);
    printf("with MSG_NOSIGNAL: %d %s, sigpipes %d\n", r, strerrorname_np(errno), sigpipes);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    errno = 0;
    r = write(sv[0], "x", 1);
    printf("unix write to closed peer: %d %s, sigpipes %d\n", r, strerrorname_np(errno), sigpipes);
}

static void mode_opts(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int v; socklen_t l;
#define GETI(lvl, o) do { v = -1; l = sizeof v; int _r = getsockopt(s, lvl, o, &v, &l); printf("%-28s %d len %u%s\n", #o, v, l, _r ? " ERR" : ""); } while (0)
    GETI(SOL_SOCKET, SO_TYPE); GETI(SOL_SOCKET, SO_DOMAIN); GETI(SOL_SOCKET, SO_PROTOCOL); GETI(SOL_SOCKET, SO_ACCEPTCONN);
    v = 1; setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v); GETI(SOL_SOCKET, SO_REUSEADDR);
    v = 1; setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof v); GETI(SOL_SOCKET, SO_REUSEPORT);
    v = 1; setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v); GETI(SOL_SOCKET, SO_KEEPALIVE);
    v = 1; setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v); GETI(IPPROTO_TCP, TCP_NODELAY);
    v = 4096; setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v); GETI(SOL_SOCKET, SO_RCVBUF);
    v = 8192; setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v); GETI(SOL_SOCKET, SO_SNDBUF);
    v = 0x10; setsockopt(s, IPPROTO_IP, IP_TOS, &v, sizeof v); GETI(IPPROTO_IP, IP_TOS);
    GETI(SOL_SOCKET, SO_ERROR);
    struct linger lg = { 1, 7 };
    CHECK(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    memset(&lg, 0, sizeof lg); l = sizeof lg;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l);
    printf("linger %d %d len %u\n", lg.l_onoff, lg.l_linger, l);
    struct timeval tv = { 2, 500000 };
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    memset(&tv, 0, sizeof tv); l = sizeof tv;
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &l);
    printf("rcvtimeo %ld.%06ld len %u (sizeof timeval %u)\n", (long)tv.tv_sec, (long)tv.tv_usec, l, (unsigned)sizeof tv);
    long long t64[2] = { 3, 250000 };
    CHECK(setsockopt(s, SOL_SOCKET, 67 /* SO_SNDTIMEO_NEW */, t64, sizeof t64) == 0);
    l = sizeof tv;
    getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, &l);
    printf("sndtimeo (old view of new) %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
    l = 2; v = 0;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
    printf("short optlen: %d len %u\n", v, l);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    v = 3; printf("IP_MULTICAST_TTL set %d\n", setsockopt(u, IPPROTO_IP, IP_MULTICAST_TTL, &v, sizeof v));
    v = 0; printf("IP_MULTICAST_LOOP set %d\n", setsockopt(u, IPPROTO_IP, IP_MULTICAST_LOOP, &v, sizeof v));
    struct in_addr lo = { htonl(INADDR_LOOPBACK) };
    printf("IP_MULTICAST_IF set %d\n", setsockopt(u, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo));
    v = -1; l = sizeof v; getsockopt(u, IPPROTO_IP, IP_MULTICAST_TTL, &v, &l); printf("ttl %d\n", v);
    struct group_req gr = { .gr_interface = 0 };
    struct sockaddr_in *g = (struct sockaddr_in *)&gr.gr_group;
    g->sin_family = AF_INET; g->sin_addr.s_addr = inet_addr("239.1.2.3");
    errno = 0;
    int r = setsockopt(u, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof gr);
    printf("MCAST_JOIN_GROUP (%u bytes) %d %s\n", (unsigned)sizeof gr, r, r ? strerrorname_np(errno) : "");
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    if (s6 >= 0) { v = -1; l = sizeof v; getsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l); printf("v6only default %d\n", v); }
}

static void mode_ifaddrs(void)
{
    struct ifaddrs *ifa;
    CHECK(getifaddrs(&ifa) == 0);
    int lo4 = 0, lo6 = 0, lopkt = 0;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") || !i->ifa_addr) continue;
        int f = i->ifa_addr->sa_family;
        if (f == AF_INET) {
            char b[32], m[32];
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, b, sizeof b);
            inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_netmask)->sin_addr, m, sizeof m);
            printf("lo inet %s mask %s up %d loopback %d\n", b, m, !!(i->ifa_flags & IFF_UP), !!(i->ifa_flags & IFF_LOOPBACK));
            lo4++;
        } else if (f == AF_INET6) lo6++;
        else if (f == AF_PACKET) lopkt++;
    }
    printf("lo: %d inet, %d inet6, %d packet\n", lo4, lo6 > 0, lopkt);
    freeifaddrs(ifa);
    unsigned idx = if_nametoindex("lo");
    char nm[IF_NAMESIZE];
    printf("if_nametoindex(lo) > 0: %d, back: %s\n", idx > 0, if_indextoname(idx, nm));
    struct if_nameindex *ni = if_nameindex();
    int found = 0;
    for (struct if_nameindex *p = ni; p && p->if_index; p++) found += !strcmp(p->if_name, "lo") && p->if_index == idx;
    printf("if_nameindex has lo: %d\n", found);
    if_freenameindex(ni);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    printf("sizeof ifreq %u\n", (unsigned)sizeof r);
    CHECK(ioctl(s, SIOCGIFFLAGS, &r) == 0);
    printf("SIOCGIFFLAGS up %d loopback %d\n", !!(r.ifr_flags & IFF_UP), !!(r.ifr_flags & IFF_LOOPBACK));
    CHECK(ioctl(s, SIOCGIFADDR, &r) == 0);
    printf("SIOCGIFADDR %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_addr)->sin_addr));
    CHECK(ioctl(s, SIOCGIFNETMASK, &r) == 0);
    printf("SIOCGIFNETMASK %s\n", inet_ntoa(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr));
    CHECK(ioctl(s, SIOCGIFMTU, &r) == 0);
    printf("SIOCGIFMTU %d\n", r.ifr_mtu);
    CHECK(ioctl(s, SIOCGIFINDEX, &r) == 0);
    printf("SIOCGIFINDEX matches %d\n", r.ifr_ifindex == (int)idx);
    CHECK(ioctl(s, SIOCGIFHWADDR, &r) == 0);
    printf("SIOCGIFHWADDR family %d\n", r.ifr_hwaddr.sa_family);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = idx;
    CHECK(ioctl(s, SIOCGIFNAME, &r) == 0);
    printf("SIOCGIFNAME %s\n", r.ifr_name);
    struct ifconf ic = { .ifc_len = 0, .ifc_buf = NULL };
    CHECK(ioctl(s, SIOCGIFCONF, &ic) == 0);
    int need = ic.ifc_len;
    printf("SIOCGIFCONF size multiple of ifreq %d\n", need % (int)sizeof(struct ifreq) == 0);
    struct ifreq *all = calloc(need / sizeof(struct ifreq) + 1, sizeof(struct ifreq));
    ic.ifc_len = need; ic.ifc_req = all;
    CHECK(ioctl(s, SIOCGIFCONF, &ic) == 0);
    for (int i = 0; i < ic.ifc_len / (int)sizeof(struct ifreq); i++)
        if (!strcmp(all[i].ifr_name, "lo")) printf("SIOCGIFCONF lo %s\n", inet_ntoa(((struct sockaddr_in *)&all[i].ifr_addr)->sin_addr));
    ic.ifc_len = sizeof(struct ifreq) / 2;
    CHECK(ioctl(s, SIOCGIFCONF, &ic) == 0);
    printf("SIOCGIFCONF half an entry: len %d\n", ic.ifc_len);
    int at = -1;
    printf("SIOCATMARK on udp: %d\n", ioctl(s, SIOCATMARK, &at));
}

static void mode_bad(void)
{
    char buf[16];
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_UNIX, SOCK_DGRAM, 0);
    int f = open("/dev/null", O_RDONLY);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ERR(socket(-1, SOCK_STREAM, 0));
    ERR(socket(46, SOCK_STREAM, 0));
    ERR(socket(AF_INET, 11, 0));
    ERR(socket(AF_INET, SOCK_STREAM | 0x100, 0));
    ERR(socket(AF_INET, SOCK_STREAM, 99));
    ERR(socket(AF_UNIX, SOCK_STREAM, 7));
    ERR(socket(AF_INET, SOCK_SEQPACKET, 0));
    ERR(socketpair(AF_INET, SOCK_STREAM, 0, (int *)buf));
    ERR(socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)8));
    ERR(bind(999, (struct sockaddr *)&a, sizeof a));
    ERR(bind(f, (struct sockaddr *)&a, sizeof a));
    ERR(bind(s, (struct sockaddr *)&a, 200));
    ERR(bind(s, (struct sockaddr *)&a, -1));
    ERR(bind(s, (struct sockaddr *)8, 16));
    ERR(bind(s, (struct sockaddr *)&a, 4));
    ERR(bind(u, (struct sockaddr *)&a, sizeof a));
    ERR(connect(u, (struct sockaddr *)"\1\0", 2));
    struct sockaddr_un nx = { .sun_family = AF_UNIX, .sun_path = "/nonexistent/compat32/sock" };
    ERR(connect(u, (struct sockaddr *)&nx, sizeof nx));
    ERR(listen(f, 5));
    ERR(listen(u, 5));
    ERR(accept(s, NULL, NULL));
    ERR(accept4(s, NULL, NULL, 1));
    ERR(recv(f, buf, 4, 0));
    ERR(send(s, buf, 4, 0));
    ERR(recv(s, (char *)8, 4, MSG_DONTWAIT));
    ERR(shutdown(s, 7));
    ERR(shutdown(s, SHUT_RD));
    ERR(getsockname(f, (struct sockaddr *)buf, (socklen_t *)&a));
    socklen_t neg = -1;
    ERR(getsockname(s, (struct sockaddr *)buf, &neg));
    ERR(getpeername(s, (struct sockaddr *)buf, (socklen_t *)buf));
    int v = 1;
    socklen_t vl = 4;
    ERR(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, -1));
    ERR(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2));
    ERR(setsockopt(s, SOL_SOCKET, 9999, &v, 4));
    ERR(setsockopt(s, 9999, 1, &v, 4));
    ERR(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (void *)8, 4));
    ERR(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &v, 4));
    ERR(getsockopt(s, SOL_SOCKET, 9999, &v, &vl));
    ERR(getsockopt(s, 9999, 1, &v, &vl));
    ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, (socklen_t *)8));
    vl = -1;
    ERR(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl));
    ERR(getsockopt(f, SOL_SOCKET, SO_TYPE, &v, &vl));
    /* msghdr and cmsg errors */
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct iovec iov = { buf, 4 };
    char ctl[64];
    memset(ctl, 0, sizeof ctl);
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = 8 };
    ERR(sendmsg(sv[0], &m, 0));
    struct cmsghdr *h = (struct cmsghdr *)ctl;
    h->cmsg_len = 100; h->cmsg_level = SOL_SOCKET; h->cmsg_type = SCM_RIGHTS;
    m.msg_controllen = 16;
    ERR(sendmsg(sv[0], &m, 0));
    h->cmsg_len = CMSG_LEN(4); *(int *)CMSG_DATA(h) = 999;
    ERR(sendmsg(sv[0], &m, 0));
    h->cmsg_type = 77; 
    ERR(sendmsg(sv[0], &m, 0));
    h->cmsg_type = SCM_CREDENTIALS;
    ERR(sendmsg(sv[0], &m, 0));
    h->cmsg_level = 99;
    ERR(sendmsg(sv[0], &m, 0));
    m.msg_controllen = 0;
    m.msg_iovlen = 2000;
    ERR(sendmsg(sv[0], &m, 0));
    m.msg_iovlen = 1;
    m.msg_namelen = -1; m.msg_name = buf;
    ERR(sendmsg(sv[0], &m, 0));
    m.msg_name = NULL; m.msg_namelen = 0;
    iov.iov_len = -1;
    ERR(sendmsg(sv[0], &m, 0));
    iov.iov_len = 4;
    ERR(sendmsg(sv[0], (struct msghdr *)8, 0));
    ERR(recvmsg(sv[1], (struct msghdr *)8, 0));
    m.msg_iovlen = 2000;
    ERR(recvmsg(sv[1], &m, 0));
    /* the socketcall door */
    unsigned long args[6] = { AF_INET, SOCK_DGRAM, 0 };
    ERR(syscall(SYS_socketcall, 0, args));
    ERR(syscall(SYS_socketcall, 21, args));
    ERR(syscall(SYS_socketcall, SYS_SOCKET, (void *)8));
    long fd = syscall(SYS_socketcall, SYS_SOCKET, args);
    printf("socketcall SYS_SOCKET ok %d\n", fd >= 0);
    unsigned long la[3] = { fd, 5 };
    ERR(syscall(SYS_socketcall, SYS_LISTEN, la));
    long d = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
    printf("direct socket ok %d\n", d >= 0);
    unsigned long ba[3] = { d, (unsigned long)&a, sizeof a };
    ERR(syscall(SYS_socketcall, SYS_BIND, ba));
    ERR(syscall(SYS_sendto, d, "x", 1, 0, &a, sizeof a - 8));
}

static void on_alrm(int s) { (void)s; }

/* Blocking socket calls and signals: -EINTR without SA_RESTART, a restart with it, and -EINTR regardless
 * when the socket has a timeout (sock_intr_errno). */
static void mode_intr(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct sigaction sa = { .sa_handler = on_alrm };
    sigaction(SIGALRM, &sa, NULL);
    /* every 50 ms, not once: on a loaded machine the first may come before the call blocks (and be handled then) */
    struct itimerval it = { { 0, 50000 }, { 0, 50000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    char b[8];
    errno = 0;
    int r = read(sv[0], b, sizeof b);
    printf("read interrupted: %d %s\n", r, strerrorname_np(errno));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    if (fork() == 0) { usleep(200000); write(sv[1], "late", 4); _exit(0); }
    setitimer(ITIMER_REAL, &it, NULL);
    r = recv(sv[0], b, sizeof b, 0);
    printf("recv with SA_RESTART: %d '%.*s'\n", r, r > 0 ? r : 0, b);
    wait(NULL);
    struct timeval tv = { 5, 0 };
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    r = recv(sv[0], b, sizeof b, 0);
    printf("recv with a timeout and SA_RESTART: %d %s\n", r, strerrorname_np(errno));
    struct sockaddr_in a;
    int ls = tcp_listener(&a);
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    r = accept(ls, NULL, NULL);
    printf("accept interrupted: %d %s\n", r, strerrorname_np(errno));
    struct msghdr m = {0};
    struct iovec iov = { b, sizeof b };
    m.msg_iov = &iov; m.msg_iovlen = 1;
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    r = recvmsg(sv[1], &m, 0);
    printf("recvmsg interrupted: %d %s\n", r, strerrorname_np(errno));
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
}

/* A socket as the standard input of a program the host runs (x86-64 /bin/sh): it must see a blocking socket. */
static void mode_hostexec(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pid_t kid = fork();
    if (kid == 0) {
        dup2(sv[1], 0);
        close(sv[0]); close(sv[1]);
        execl("/bin/sh", "sh", "-c", "read x; echo \"host sh read: $x\"", (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    usleep(300000);
    CHECK(write(sv[0], "late line\n", 10) == 10);
    int st;
    waitpid(kid, &st, 0);
    printf("host sh exit %d\n", WEXITSTATUS(st));
}

/* Against a host process listening on PATH: pass it a pipe's write end, get back a descriptor it made. */
static void mode_hostpeer(const char *path)
{
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u = { .sun_family = AF_UNIX };
    strncpy(u.sun_path, path, sizeof u.sun_path - 1);
    CHECK(connect(c, (struct sockaddr *)&u, sizeof u) == 0);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    CHECK(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    printf("sent %d\n", send_fds(c, &p[1], 1, "pipe"));
    close(p[1]);
    char b[128];
    int n = readn(p[0], b, sizeof b - 1);
    printf("host wrote into our pipe: %.*s", n, b);
    int fds[2], fl;
    char d[64];
    n = recv_fds(c, fds, 2, d, 63, CMSG_SPACE(2 * sizeof(int)), &fl);
    printf("got %d fd from host with '%s'\n", n, d);
    n = read(fds[0], b, sizeof b);
    printf("read host's descriptor: %.*s", n, b);
    n = read(c, b, sizeof b);
    printf("host says its pid is %.*s, SO_PEERCRED agrees %d\n", n, b, cr.pid == atoi(b));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "tcp")) mode_tcp();
    else if (!strcmp(m, "server")) mode_server(argc > 2 ? atoi(argv[2]) : 1);
    else if (!strcmp(m, "epolltcp")) mode_epolltcp();
    else if (!strcmp(m, "epollserver")) mode_epollserver(argc > 2 ? atoi(argv[2]) : 1);
    else if (!strcmp(m, "udp")) mode_udp();
    else if (!strcmp(m, "unix")) mode_unix(argc > 2 ? argv[2] : "/tmp");
    else if (!strcmp(m, "creds")) mode_creds();
    else if (!strcmp(m, "fdpass")) mode_fdpass();
    else if (!strcmp(m, "nonblock")) mode_nonblock();
    else if (!strcmp(m, "opts")) mode_opts();
    else if (!strcmp(m, "ifaddrs")) mode_ifaddrs();
    else if (!strcmp(m, "bad")) mode_bad();
    else if (!strcmp(m, "hostpeer")) mode_hostpeer(argv[2]);
    else if (!strcmp(m, "intr")) mode_intr();
    else if (!strcmp(m, "hostexec")) mode_hostexec();
    else { fprintf(stderr, "usage: sock MODE\n"); return 2; }
    return 0;
}
