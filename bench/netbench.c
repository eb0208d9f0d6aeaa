/* Loopback TCP between two processes: "tput BYTES" streams BYTES from a child to its parent in 64 KiB writes;
 * "rr N" does N 64-byte request/response round trips (TCP_NODELAY). Prints what it moved. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int pair(int *server, int *client_of_child)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || getsockname(l, (struct sockaddr *)&a, &al) || listen(l, 1)) { perror("listen"); exit(1); }
    pid_t p = fork();
    if (p == 0) {
        close(l);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a)) { perror("connect"); _exit(1); }
        *client_of_child = c;
        return 0;
    }
    *server = accept(l, NULL, NULL);
    close(l);
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: netbench tput BYTES | rr N\n"); return 2; }
    long long n = atoll(argv[2]);
    int s = -1, c = -1, one = 1;
    pid_t kid = pair(&s, &c);
    static char buf[65536];
    if (!strcmp(argv[1], "tput")) {
        if (kid == 0) {
            memset(buf, 'x', sizeof buf);
            for (long long left = n; left > 0;) {
                int w = write(c, buf, left < (long long)sizeof buf ? left : (long long)sizeof buf);
                if (w <= 0) { perror("write"); _exit(1); }
                left -= w;
            }
            _exit(0);
        }
        long long got = 0;
        int r;
        while ((r = read(s, buf, sizeof buf)) > 0) got += r;
        waitpid(kid, NULL, 0);
        printf("received %lld bytes\n", got);
        return got != n;
    }
    int fd = kid == 0 ? c : s;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char m[64];
    memset(m, 'r', sizeof m);
    for (long long i = 0; i < n; i++) {
        if (kid != 0 && write(fd, m, sizeof m) != sizeof m) return 1;
        for (int got = 0; got < (int)sizeof m;) { int r = read(fd, buf + got, sizeof m - got); if (r <= 0) return 1; got += r; }
        if (kid == 0 && write(fd, buf, sizeof m) != sizeof m) _exit(1);
    }
    if (kid == 0) _exit(0);
    waitpid(kid, NULL, 0);
    printf("%lld round trips\n", n);
    return 0;
}
