/* FIFOs: mkfifo/mknod, a blocking open that waits for the other end (in either order), an open interrupted by
   a signal (EINTR; SA_RESTART restarts it), O_NONBLOCK opens (ENXIO for a writer without reader), and two FIFOs
   opened crosswise by parent and child. Run in a scratch directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int hits;
static void on_sig(int s) { (void)s; hits++; }

static void handler(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sig;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, 0);
}

static void alarm_ms(int ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, 0);
}

static void show(const char *what, int r)
{
    printf("%s: %s %s hits=%d\n", what, r < 0 ? "-1" : "ok", r < 0 ? strerror(errno) : "-", hits);
    hits = 0;
}

int main(void)
{
    setvbuf(stdout, 0, _IONBF, 0);
    show("mkfifo", mkfifo("f1", 0600));
    show("mkfifo again", mkfifo("f1", 0600));
    show("mknod S_IFIFO", mknod("f2", S_IFIFO | 0644, 0));
    show("mknod S_IFREG", mknod("reg", S_IFREG | 0644, 0));
    show("mknod S_IFDIR", mknod("dir", S_IFDIR | 0755, 0));
    show("mknod bad type", mknod("bad", 0170000 | 0644, 0));
    struct stat st;
    stat("f2", &st);
    printf("f2: fifo=%d mode=%o\n", S_ISFIFO(st.st_mode), st.st_mode & 0777);

    /* The writer waits for the reader. */
    pid_t kid = fork();
    if (kid == 0)
    {
        int w = open("f1", O_WRONLY);
        write(w, "hello", 5);
        _exit(0);
    }
    usleep(100000);
    int r = open("f1", O_RDONLY);
    char buf[16] = {0};
    int n = 0, k;
    while ((k = read(r, buf + n, sizeof buf - 1 - n)) > 0) n += k;
    printf("reader got '%s'\n", buf);
    close(r);
    waitpid(kid, 0, 0);

    /* The reader waits for the writer, which holds the FIFO open a while before writing. */
    kid = fork();
    if (kid == 0)
    {
        usleep(100000);
        int w = open("f1", O_WRONLY);
        usleep(100000);
        write(w, "late", 4);
        _exit(0);
    }
    r = open("f1", O_RDONLY);
    n = 0;
    memset(buf, 0, sizeof buf);
    while ((k = read(r, buf + n, sizeof buf - 1 - n)) > 0) n += k;
    printf("reader got '%s'\n", buf);
    close(r);
    waitpid(kid, 0, 0);

    /* Interrupted opens. */
    handler(0);
    alarm_ms(50);
    show("open read, no writer", open("f1", O_RDONLY));
    alarm_ms(50);
    show("open write, no reader", open("f1", O_WRONLY));
    show("open write nonblock, no reader", open("f1", O_WRONLY | O_NONBLOCK));
    int nr = open("f1", O_RDONLY | O_NONBLOCK);
    show("open read nonblock", nr);
    show("open write nonblock with reader", open("f1", O_WRONLY | O_NONBLOCK));
    close(nr);
    show("open rdwr", open("f2", O_RDWR));

    handler(SA_RESTART);
    kid = fork();
    if (kid == 0)
    {
        usleep(200000);
        int w = open("f1", O_WRONLY);
        write(w, "again", 5);
        _exit(0);
    }
    alarm_ms(50);
    r = open("f1", O_RDONLY);
    show("restarted open", r);
    memset(buf, 0, sizeof buf);
    read(r, buf, 5);
    printf("reader got '%s'\n", buf);
    close(r);
    waitpid(kid, 0, 0);

    /* Crosswise: parent opens f1 for writing then f2 for reading; the child the other way round. */
    kid = fork();
    if (kid == 0)
    {
        int a = open("f1", O_RDONLY);
        int b = open("f2", O_WRONLY);
        char c;
        read(a, &c, 1);
        write(b, &c, 1);
        _exit(0);
    }
    int a = open("f1", O_WRONLY);
    int b = open("f2", O_RDONLY);
    write(a, "X", 1);
    char c = 0;
    read(b, &c, 1);
    printf("crosswise echo '%c'\n", c);
    waitpid(kid, 0, 0);
    unlink("f1");
    unlink("f2");
    unlink("reg");
    return 0;
}
