/* /proc for other processes and threads: a child's stat, status, cmdline, exe, fd, task, its directory's owner,
   the /proc listing, a zombie's state and the directory going away at wait; /proc/self/comm written and read back
   through prctl; a thread's task/TID entries and /proc/thread-self; a working directory under /proc. Pids are printed as names, so the output is
   the same on Linux (proc_pids.expected) and under compat32. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[65536];

static int slurp(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    int n = 0, k;
    while ((k = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += k;
    buf[n] = 0;
    close(fd);
    return n;
}

/* The stat line's fields after the comm: state and the numbers that follow. */
static void stat_fields(const char *path, char *comm, char *state, long *f)
{
    slurp(path);
    char *l = strchr(buf, '('), *r = strrchr(buf, ')');
    memcpy(comm, l + 1, r - l - 1);
    comm[r - l - 1] = 0;
    *state = r[2];
    char *p = r + 3;
    for (int i = 0; i < 50; i++) f[i] = strtol(p, &p, 10); /* f[0] = ppid (field 4) */
}

static long status_field(const char *path, const char *name)
{
    slurp(path);
    char *p = strstr(buf, name);
    return p ? strtol(p + strlen(name), 0, 10) : -1;
}

static const char *who(long v, pid_t me, pid_t kid)
{
    return v == me ? "parent" : v == kid ? "child" : "other";
}

static int listed(const char *dir, pid_t pid)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) if (atoi(e->d_name) == pid) found = 1;
    closedir(d);
    return found;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -errno;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static pid_t thread_tid;
static int go[2], stop[2];

static void *thread_main(void *a)
{
    (void)a;
    thread_tid = syscall(SYS_gettid);
    prctl(PR_SET_NAME, "worker");
    write(go[1], "t", 1);
    char c;
    read(stop[0], &c, 1);
    return 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    setvbuf(stdout, 0, _IONBF, 0);
    pid_t me = getpid();
    char comm[64], st, path[128], mycomm[16];
    long f[50];
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    snprintf(mycomm, sizeof mycomm, "%s", base);

    stat_fields("/proc/self/stat", comm, &st, f);
    printf("self stat: comm %s, state %c, ppid %s, pgrp %s, session %s, threads %ld\n",
           strcmp(comm, mycomm) ? "wrong" : "ok", st, f[0] == getppid() ? "ok" : "wrong", f[1] == getpgrp() ? "ok" : "wrong",
           f[2] == getsid(0) ? "ok" : "wrong", f[16]);

    int ready[2], hold[2];
    pipe(ready);
    pipe(hold);
    pid_t kid = fork();
    if (kid == 0)
    {
        prctl(PR_SET_NAME, "kid");
        char p2[64];
        snprintf(p2, sizeof p2, "/proc/%d/comm", getppid());
        int cfd = open(p2, O_WRONLY);
        char code = cfd < 0 ? 100 + errno : write(cfd, "x", 1) < 0 ? errno : 0;
        write(ready[1], &code, 1);
        char c;
        read(hold[0], &c, 1);
        _exit(3);
    }
    char c;
    read(ready[0], &c, 1);
    printf("child writes parent's comm: %s\n", c >= 100 ? "open failed" : c ? strerror(c) : "ok");
    usleep(50000);

    snprintf(path, sizeof path, "/proc/%d/stat", kid);
    stat_fields(path, comm, &st, f);
    printf("child stat: comm %s, state %c, ppid %s, pgrp %s, threads %ld, exit_signal %ld\n",
           comm, st, who(f[0], me, kid), f[1] == getpgrp() ? "parent's" : "other", f[16], f[34]);
    snprintf(path, sizeof path, "/proc/%d/status", kid);
    slurp(path);
    printf("child status: %.*s", (int)(strchr(buf, '\n') - buf + 1), buf);
    printf("child status: State %s\n", strstr(buf, "State:\tS (sleeping)") ? "S (sleeping)" : "wrong");
    printf("child status: Tgid %s, Pid %s, PPid %s\n", who(status_field(path, "Tgid:\t"), me, kid),
           who(status_field(path, "\nPid:\t"), me, kid), who(status_field(path, "PPid:\t"), me, kid));

    static char mine[4096];
    int n1 = slurp("/proc/self/cmdline");
    memcpy(mine, buf, n1);
    snprintf(path, sizeof path, "/proc/%d/cmdline", kid);
    int n2 = slurp(path);
    printf("child cmdline: %s\n", n1 == n2 && !memcmp(mine, buf, n1) ? "same as parent's" : "different");

    char l1[512] = {0}, l2[512] = {0};
    readlink("/proc/self/exe", l1, sizeof l1 - 1);
    snprintf(path, sizeof path, "/proc/%d/exe", kid);
    readlink(path, l2, sizeof l2 - 1);
    printf("child exe: %s\n", strcmp(l1, l2) ? "different" : "same as parent's");

    snprintf(path, sizeof path, "/proc/%d/fd", kid);
    printf("child fd entries: %s\n", count_entries(path) >= 7 ? "at least 7" : "too few");
    snprintf(path, sizeof path, "/proc/%d/fd/%d", kid, hold[0]);
    memset(l1, 0, sizeof l1);
    readlink(path, l1, sizeof l1 - 1);
    printf("child fd link: %.6s\n", l1);
    snprintf(path, sizeof path, "/proc/%d/task", kid);
    printf("child task listing: %d entries, has child %d\n", count_entries(path), listed(path, kid));
    struct stat sb;
    snprintf(path, sizeof path, "/proc/%d", kid);
    stat(path, &sb);
    printf("child dir: isdir %d, owner %s\n", S_ISDIR(sb.st_mode), sb.st_uid == geteuid() ? "me" : "other");
    printf("/proc listing: parent %d, child %d\n", listed("/proc", me), listed("/proc", kid));

    write(hold[1], "x", 1);
    usleep(200000);
    snprintf(path, sizeof path, "/proc/%d/stat", kid);
    stat_fields(path, comm, &st, f);
    printf("zombie stat: comm %s, state %c\n", comm, st);
    int status;
    waitpid(kid, &status, 0);
    printf("after wait: open stat %s, listed %d\n", slurp(path) == -ENOENT ? "ENOENT" : "found", listed("/proc", kid));

    int fd = open("/proc/self/comm", O_WRONLY);
    printf("write comm: %ld\n", (long)write(fd, "renamed-process-name", 20));
    close(fd);
    char name[17] = {0};
    prctl(PR_GET_NAME, name);
    printf("PR_GET_NAME: %s\n", name);
    prctl(PR_SET_NAME, "viaprctl");
    slurp("/proc/self/comm");
    printf("/proc/self/comm: %s", buf);

    pipe(go);
    pipe(stop);
    pthread_t th;
    pthread_create(&th, 0, thread_main, 0);
    read(go[0], &c, 1);
    printf("/proc/self/task: %d entries\n", count_entries("/proc/self/task"));
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", thread_tid);
    slurp(path);
    printf("thread comm: %s", buf);
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", thread_tid);
    stat_fields(path, comm, &st, f);
    printf("thread stat: comm %s, exit_signal %ld\n", comm, f[34]);
    snprintf(path, sizeof path, "/proc/%d/status", thread_tid);
    printf("/proc/TID/status: Tgid %s\n", status_field(path, "Tgid:\t") == me ? "parent" : "other");
    printf("process stat threads: %ld\n", (stat_fields("/proc/self/stat", comm, &st, f), f[16]));
    memset(l1, 0, sizeof l1);
    readlink("/proc/thread-self", l1, sizeof l1 - 1);
    snprintf(l2, sizeof l2, "%d/task/%d", me, me);
    printf("thread-self: %s\n", strcmp(l1, l2) ? "wrong" : "PID/task/PID");
    write(stop[1], "s", 1);
    pthread_join(th, 0);
    /* join returns at the thread's clear_child_tid wake-up (mm_release), which do_exit does before exit_notify
       unlists it: natively too it may still be listed for a moment (here longer when the host preempts it). */
    for (int i = 0; i < 2000 && count_entries("/proc/self/task") != 1; i++) usleep(1000);

    /* A working directory under /proc: relative names resolve in it, getcwd names it. */
    char cwd[256];
    chdir("/proc/self");
    getcwd(cwd, sizeof cwd);
    snprintf(l2, sizeof l2, "/proc/%d", me);
    printf("cwd /proc/self: %s\n", strcmp(cwd, l2) ? cwd : "/proc/PID");
    stat_fields("stat", comm, &st, f);
    printf("relative stat: ppid %s\n", f[0] == getppid() ? "ok" : "wrong");
    printf("relative task listing: %d entries\n", count_entries("task"));
    chdir("task");
    printf("relative listing of .: has PID %d\n", listed(".", me));
    chdir("/proc");
    printf("relative self/comm: %s\n", slurp("self/comm") > 0 ? "read" : "missing");
    printf("relative sys/kernel/pid_max: %s\n", slurp("sys/kernel/pid_max") > 0 && atol(buf) >= 32768 ? "plausible" : "wrong");
    chdir("/");
    static const char *odd[] = { "/proc//self///stat", "/proc/self/../self/stat", "/proc/self/fd/99999999999",
        "/proc/self/fd/-1", "/proc/self/task/abc/stat", "/proc/self/stat/x", "/proc/self/fd/0/x", "/proc/0/stat",
        "/proc/self/task/1/stat", "/proc/self/nonexistent", "/proc/4194304/stat" };
    for (unsigned i = 0; i < sizeof odd / sizeof *odd; i++)
    {
        int r = slurp(odd[i]);
        printf("%s: %s\n", odd[i], r >= 0 ? "read" : strerror(-r));
    }
    slurp("/proc/sys/kernel/pid_max");
    printf("pid_max: %s\n", atol(buf) >= 32768 ? "plausible" : buf);
    slurp("/proc/self/maps");
    printf("maps: first mapping is the program %d\n", strstr(strtok(buf, "\n"), base) != 0);
    slurp("/proc/self/smaps");
    printf("smaps: has Size %d, VmFlags %d\n", strstr(buf, "\nSize:") != 0, strstr(buf, "VmFlags:") != 0);
    slurp("/proc/self/fdinfo/1");
    printf("fdinfo: %.4s\n", buf);
    slurp("/proc/self/statm");
    printf("statm: %d numbers\n", sscanf(buf, "%ld %ld %ld %ld %ld %ld %ld", f, f, f, f, f, f, f));
    printf("exit %d\n", WEXITSTATUS(status));
    return 0;
}
