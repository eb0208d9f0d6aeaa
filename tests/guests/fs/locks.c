/* flock(2) between processes: separate opens conflict, a descriptor shared across fork is one lock, LOCK_NB,
   a blocked flock interrupted by a signal (EINTR) and granted once the holder unlocks; an OFD lock wait
   (F_OFD_SETLKW) interrupted by a signal. Run in a scratch directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int hits;
static void on_sig(int s) { (void)s; hits++; }

static void alarm_ms(int ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, 0);
}

static void show(const char *who, const char *what, int r)
{
    printf("%s %s: %d %s hits=%d\n", who, what, r, r < 0 ? strerror(errno) : "-", hits);
    hits = 0;
}

int main(void)
{
    setvbuf(stdout, 0, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sigaction(SIGALRM, &sa, 0);

    int fd = open("lockfile", O_RDWR | O_CREAT, 0644);
    show("parent", "LOCK_EX", flock(fd, LOCK_EX));
    show("parent", "bad op", flock(fd, 3));
    show("parent", "bad fd", flock(99, LOCK_SH));
    int go[2], done[2];
    pipe(go);
    pipe(done);
    pid_t kid = fork();
    if (kid == 0)
    {
        show("child", "inherited LOCK_EX|LOCK_NB", flock(fd, LOCK_EX | LOCK_NB));
        int mine = open("lockfile", O_RDWR);
        show("child", "own LOCK_SH|LOCK_NB", flock(mine, LOCK_SH | LOCK_NB));
        alarm_ms(50);
        show("child", "own LOCK_SH, interrupted", flock(mine, LOCK_SH));
        write(go[1], "g", 1);
        show("child", "own LOCK_SH, waits for unlock", flock(mine, LOCK_SH));
        write(done[1], "d", 1);
        _exit(0);
    }
    char c;
    read(go[0], &c, 1);
    usleep(100000);
    printf("parent unlocks\n");
    /* fd is shared with the child: unlocking here unlocks the one description */
    flock(fd, LOCK_UN);
    read(done[0], &c, 1);
    waitpid(kid, 0, 0);
    show("parent", "LOCK_EX|LOCK_NB after child", flock(fd, LOCK_EX | LOCK_NB));

    /* OFD locks: two opens in one process conflict. */
    int a = open("lockfile", O_RDWR), b = open("lockfile", O_RDWR);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 10;
    show("parent", "F_OFD_SETLK a", fcntl(a, F_OFD_SETLK, &fl));
    show("parent", "F_OFD_SETLK b", fcntl(b, F_OFD_SETLK, &fl));
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_RDLCK;
    fl.l_len = 10;
    show("parent", "F_OFD_GETLK b", fcntl(b, F_OFD_GETLK, &fl));
    printf("conflict: type=%d start=%ld len=%ld pid=%d\n", fl.l_type, (long)fl.l_start, (long)fl.l_len, fl.l_pid);
    fl.l_type = F_WRLCK;
    show("parent", "F_OFD_SETLKW with l_pid set", fcntl(b, F_OFD_SETLKW, &fl));
    fl.l_pid = 0;
    alarm_ms(50);
    show("parent", "F_OFD_SETLKW b, interrupted", fcntl(b, F_OFD_SETLKW, &fl));
    close(a);
    show("parent", "F_OFD_SETLKW b after close", fcntl(b, F_OFD_SETLKW, &fl));
    close(a);
    close(b);

    /* POSIX record locks belong to the process: a child conflicts, F_GETLK names the holder, a wait is
       interrupted, and closing any descriptor of the file drops the parent's locks. */
    int pa = open("lockfile", O_RDWR), other = open("lockfile", O_RDONLY);
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_start = 5;
    fl.l_len = 10;
    show("parent", "F_SETLK [5,15)", fcntl(pa, F_SETLK, &fl));
    fl.l_type = F_RDLCK;
    show("parent", "F_SETLK read lock on O_WRONLY? (RDWR: ok)", fcntl(pa, F_SETLK, &fl));
    fl.l_type = F_WRLCK;
    show("parent", "F_SETLK write lock via O_RDONLY fd", fcntl(other, F_SETLK, &fl));
    pid_t me = getpid();
    pipe(go);
    pipe(done);
    kid = fork();
    if (kid == 0)
    {
        int ca = open("lockfile", O_RDWR);
        struct flock k;
        memset(&k, 0, sizeof k);
        k.l_type = F_WRLCK;
        k.l_len = 6;
        show("child", "F_SETLK [0,6)", fcntl(ca, F_SETLK, &k));
        k.l_len = 5;
        show("child", "F_SETLK [0,5)", fcntl(ca, F_SETLK, &k));
        k.l_type = F_WRLCK;
        k.l_start = 0;
        k.l_len = 0;
        show("child", "F_GETLK whole file", fcntl(ca, F_GETLK, &k));
        printf("child sees: type=%d start=%ld len=%ld holder=%s\n", k.l_type, (long)k.l_start, (long)k.l_len,
               k.l_pid == me ? "parent" : "other");
        k.l_type = F_WRLCK;
        k.l_start = 10;
        k.l_len = 1;
        alarm_ms(50);
        show("child", "F_SETLKW [10,11), interrupted", fcntl(ca, F_SETLKW, &k));
        write(go[1], "g", 1);
        show("child", "F_SETLKW [10,11), after the parent's close", fcntl(ca, F_SETLKW, &k));
        show("child", "lockf F_TEST on [0,5) from offset 0", (lseek(ca, 0, SEEK_SET), lockf(ca, F_TEST, 5)));
        write(done[1], "d", 1);
        _exit(0);
    }
    read(go[0], &c, 1);
    usleep(100000);
    printf("parent closes another descriptor of the file\n");
    close(other);
    read(done[0], &c, 1);
    waitpid(kid, 0, 0);
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    show("parent", "F_GETLK after the child exited", fcntl(pa, F_GETLK, &fl));
    printf("parent sees: type=%d\n", fl.l_type);
    unlink("lockfile");
    return 0;
}
