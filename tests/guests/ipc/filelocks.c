/* Record locks and flock between cooperating processes: contention, F_GETLK naming the holder, a blocked
   F_SETLKW granted on unlock, EDEADLK when two processes would wait for each other, the 64-bit and OFD forms,
   and POSIX locks dropped by closing any descriptor of the file. Run in a scratch directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int lk(int fd, int cmd, int type, off_t start, off_t len)
{
    struct flock f = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
    return fcntl(fd, cmd, &f);
}

static void show(const char *who, const char *what, int r)
{
    printf("%s %s: %d %s\n", who, what, r, r < 0 ? strerror(errno) : "");
}

static void sync_read(int fd) { char c; if (read(fd, &c, 1) != 1) exit(9); }
static void sync_write(int fd) { if (write(fd, "x", 1) != 1) exit(9); }

int main(void)
{
    setvbuf(stdout, 0, _IONBF, 0);
    int fd = open("locked", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16) return 1;
    int p2c[2], c2p[2];
    pipe(p2c); pipe(c2p);

    /* contention and F_GETLK */
    show("parent", "F_SETLK wr [0,10)", lk(fd, F_SETLK, F_WRLCK, 0, 10));
    pid_t kid = fork();
    if (kid == 0) {
        int f2 = open("locked", O_RDWR);
        show("child", "F_SETLK rd [5,6)", lk(f2, F_SETLK, F_RDLCK, 5, 1));
        show("child", "F_SETLK wr [10,12)", lk(f2, F_SETLK, F_WRLCK, 10, 2));
        struct flock g = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
        show("child", "F_GETLK", fcntl(f2, F_GETLK, &g));
        printf("child getlk: type=%d start=%ld len=%ld pid_is_parent=%d\n", g.l_type, (long)g.l_start, (long)g.l_len, g.l_pid == getppid());
        sync_write(c2p[1]);
        show("child", "F_SETLKW wr [0,1) (blocks)", lk(f2, F_SETLKW, F_WRLCK, 0, 1));
        sync_write(c2p[1]);
        /* deadlock: the child holds [0,1) and [10,12) and now waits for [20,21) that the parent holds */
        sync_read(p2c[0]);
        show("child", "F_SETLKW wr [20,21) (blocks)", lk(f2, F_SETLKW, F_WRLCK, 20, 1));
        lk(f2, F_SETLK, F_UNLCK, 0, 0);
        _exit(0);
    }
    sync_read(c2p[0]);
    usleep(50000);
    int r = lk(fd, F_SETLK, F_UNLCK, 0, 10);
    sync_read(c2p[0]); /* the child has its lock and printed: print in a fixed order */
    show("parent", "unlock [0,10) (earlier)", r);
    show("parent", "F_SETLK wr [20,21)", lk(fd, F_SETLK, F_WRLCK, 20, 1));
    sync_write(p2c[1]);
    usleep(100000); /* the child is asleep in F_SETLKW on [20,21) */
    show("parent", "F_SETLKW wr [0,1) (deadlock)", lk(fd, F_SETLKW, F_WRLCK, 0, 1));
    show("parent", "F_SETLK wr [0,1) (busy)", lk(fd, F_SETLK, F_WRLCK, 0, 1));
    r = lk(fd, F_SETLK, F_UNLCK, 20, 1);
    int st;
    waitpid(kid, &st, 0);
    show("parent", "unlock [20,21) (earlier)", r);
    printf("child exit %d\n", WEXITSTATUS(st));

    /* 64-bit offsets through fcntl64 */
    struct flock64 f64 = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1LL << 33, .l_len = 4096 };
    show("parent", "F_SETLK64 at 8 GiB", syscall(SYS_fcntl64, fd, F_SETLK64, &f64));
    kid = fork();
    if (kid == 0) {
        int f2 = open("locked", O_RDWR);
        struct flock64 g = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = (1LL << 33) + 100, .l_len = 1 };
        show("child", "F_GETLK64", syscall(SYS_fcntl64, f2, F_GETLK64, &g));
        printf("child getlk64: type=%d start=%lld len=%lld\n", g.l_type, (long long)g.l_start, (long long)g.l_len);
        struct flock g32 = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
        show("child", "F_GETLK (32-bit overflow)", syscall(SYS_fcntl64, f2, F_GETLK, &g32));
        _exit(0);
    }
    waitpid(kid, &st, 0);

    /* closing any descriptor of the file drops this process's POSIX locks */
    int again = open("locked", O_RDONLY);
    close(again);
    kid = fork();
    if (kid == 0) {
        int f2 = open("locked", O_RDWR);
        show("child", "F_SETLK64 after parent's close", lk(f2, F_SETLK, F_WRLCK, 0, 0));
        _exit(0);
    }
    waitpid(kid, &st, 0);

    /* OFD locks belong to the open file description */
    int a = open("locked", O_RDWR), b = open("locked", O_RDWR);
    show("parent", "F_OFD_SETLK a", lk(a, F_OFD_SETLK, F_WRLCK, 0, 4));
    show("parent", "F_OFD_SETLK b", lk(b, F_OFD_SETLK, F_WRLCK, 2, 4));
    struct flock o = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    show("parent", "F_OFD_GETLK b", fcntl(b, F_OFD_GETLK, &o));
    printf("ofd getlk: type=%d pid=%d\n", o.l_type, o.l_pid);
    o.l_pid = 5;
    show("parent", "F_OFD_SETLK with l_pid", fcntl(b, F_OFD_SETLK, &o));

    /* flock between processes */
    show("parent", "flock LOCK_EX", flock(a, LOCK_EX));
    kid = fork();
    if (kid == 0) {
        int f2 = open("locked", O_RDONLY);
        show("child", "flock LOCK_SH|LOCK_NB", flock(f2, LOCK_SH | LOCK_NB));
        show("child", "flock inherited LOCK_EX|LOCK_NB", flock(a, LOCK_EX | LOCK_NB));
        _exit(0);
    }
    waitpid(kid, &st, 0);
    return 0;
}
