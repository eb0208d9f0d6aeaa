/* Which error a call reports when several apply (the syscall fuzzer's differential mode against the host kernel
 * found these first differences): mlock/munlock/mlock2 (mm/mlock.c), sched_getparam (kernel/sched/core.c),
 * prlimit64 and compat setrlimit (kernel/sys.c), socketpair (net/socket.c), getpriority (kernel/sys.c) and linkat
 * (fs/namei.c); then fstatat64/statx, renameat2/renameat, fchownat, truncate, dup3/dup2, writev, flistxattr,
 * accept4, sched_getscheduler, clock_nanosleep, timer_settime and timerfd_settime. Raw calls, so glibc checks nothing first. Pid 0x3ffffff0 and uid 0x3ffffff0 exist nowhere
 * (above PID_MAX_LIMIT); 0xc0000000 is never a valid user pointer. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <signal.h>
#include <linux/stat.h>

#define BAD 0xc0000000u
#define NOPID 0x3ffffff0

static void show(const char *what, long r)
{
    printf("%-48s %s\n", what, r == -1 ? strerrorname_np(errno) : r == 0 ? "0" : "positive");
}

int main(void)
{
    char dir[] = "/tmp/c32-errno-order-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) return 1;
    alarm(10);

    /* mlock: the pages holding [start, start + len) in 64-bit arithmetic; a hole is ENOMEM, even for len 0 */
    uint8_t *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(m + 2 * 4096, 4096);
    show("mlock(0xffffffff, 2)", syscall(SYS_mlock, 0xffffffffu, 2));
    show("mlock(page + 8, 0)", syscall(SYS_mlock, m + 8, 0));
    show("mlock(hole + 8, 0)", syscall(SYS_mlock, m + 2 * 4096 + 8, 0));
    show("mlock(page, 2 pages + 1)", syscall(SYS_mlock, m, 2 * 4096 + 1));
    show("mlock(page, 2 pages)", syscall(SYS_mlock, m, 2 * 4096));
    show("munlock(0xfffffe97, 0xd3466c0c)", syscall(SYS_munlock, 0xfffffe97u, 0xd3466c0cu));
    show("munlock(hole, 1)", syscall(SYS_munlock, m + 2 * 4096, 1));
    show("munlock(page, 2 pages)", syscall(SYS_munlock, m, 2 * 4096));
    show("mlock2(page, 1, 2)", syscall(SYS_mlock2, m, 1, 2));
    show("mlock2(hole, 1, 1)", syscall(SYS_mlock2, m + 2 * 4096, 1, 1));
    show("mlock2(page, 1, MLOCK_ONFAULT)", syscall(SYS_mlock2, m, 1, 1));
    munlock(m, 2 * 4096);

    /* sched_getparam: NULL or pid < 0 EINVAL, then the pid (ESRCH), then the copy (EFAULT) */
    int prio = 7;
    show("sched_getparam(NOPID, BAD)", syscall(SYS_sched_getparam, NOPID, BAD));
    show("sched_getparam(-1, &p)", syscall(SYS_sched_getparam, -1, &prio));
    show("sched_getparam(0, NULL)", syscall(SYS_sched_getparam, 0, 0));
    show("sched_getparam(0, BAD)", syscall(SYS_sched_getparam, 0, BAD));
    show("sched_getparam(0, &p)", syscall(SYS_sched_getparam, 0, &prio));
    show("sched_getparam(getpid(), &p)", syscall(SYS_sched_getparam, getpid(), &prio));
    printf("priority %d\n", prio);

    /* prlimit64: the new limit's copy, the pid, the resource, and the old limit's copy last (after the change) */
    uint64_t lim[2], old[2] = {1, 1};
    show("prlimit64(NOPID, NOFILE, BAD, NULL)", syscall(SYS_prlimit64, NOPID, RLIMIT_NOFILE, BAD, 0));
    show("prlimit64(NOPID, 99, NULL, &old)", syscall(SYS_prlimit64, NOPID, 99, 0, old));
    show("prlimit64(-5, NOFILE, NULL, &old)", syscall(SYS_prlimit64, -5, RLIMIT_NOFILE, 0, old));
    show("prlimit64(0, 99, NULL, &old)", syscall(SYS_prlimit64, 0, 99, 0, old));
    show("prlimit64(0, 99, BAD, &old)", syscall(SYS_prlimit64, 0, 99, BAD, old));
    lim[0] = 2; lim[1] = 1;
    show("prlimit64(0, CORE, {2, 1}, NULL)", syscall(SYS_prlimit64, 0, RLIMIT_CORE, lim, 0));
    uint64_t nofile[2];
    syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, nofile);
    lim[0] = nofile[0] - 1; lim[1] = nofile[1];
    show("prlimit64(0, NOFILE, {soft - 1, hard}, BAD)", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, lim, BAD));
    syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, old);
    printf("nofile soft limit lowered by 1 all the same: %d (hard unchanged: %d)\n", old[0] == nofile[0] - 1, old[1] == nofile[1]);
    show("prlimit64(getpid(), CORE, NULL, &old)", syscall(SYS_prlimit64, getpid(), RLIMIT_CORE, 0, old));
    lim[0] = 0x300000; lim[1] = 0x200000;
    show("prlimit64(0, NOFILE, {3M, 2M}, NULL)", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, lim, 0));

    /* compat setrlimit: the copy before the resource */
    uint32_t l32[2] = {2, 1};
    show("setrlimit(0x9b97643c, BAD)", syscall(SYS_setrlimit, 0x9b97643cu, BAD));
    show("setrlimit(99, {2, 1})", syscall(SYS_setrlimit, 99, l32));
    show("setrlimit(CORE, {2, 1})", syscall(SYS_setrlimit, RLIMIT_CORE, l32));
    l32[0] = 0x300000; l32[1] = 0x200000;
    show("setrlimit(NOFILE, {3M, 2M})", syscall(SYS_setrlimit, RLIMIT_NOFILE, l32));

    /* socketpair: flag bits, two descriptors stored in sv, and only then the family */
    int sv[2] = {-7, -7};
    show("socketpair(0x72d506f9, 15, 0x1000000, 8)", syscall(SYS_socketpair, 0x72d506f9, 15, 0x1000000, 8));
    show("socketpair(AF_UNIX, STREAM|0x100, 0, BAD)", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | 0x100, 0, BAD));
    show("socketpair(12345, STREAM, 0, BAD)", syscall(SYS_socketpair, 12345, SOCK_STREAM, 0, BAD));
    show("socketpair(12345, STREAM, 0, sv)", syscall(SYS_socketpair, 12345, SOCK_STREAM, 0, sv));
    printf("sv after a failed pair: %d %d\n", sv[0], sv[1]);
    show("socketpair(AF_INET, STREAM, 0, sv)", syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv));
    show("socketpair(AF_UNIX, 99, 0, sv)", syscall(SYS_socketpair, AF_UNIX, 99, 0, sv));
    show("socketpair(AF_UNIX, STREAM, 0, sv)", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    printf("sv: %d %d\n", sv[0], sv[1]);

    /* getpriority: which, then whether anything matches */
    show("getpriority(3, 0)", syscall(SYS_getpriority, 3, 0));
    show("getpriority(-1, 0)", syscall(SYS_getpriority, -1, 0));
    show("getpriority(PROCESS, NOPID)", syscall(SYS_getpriority, 0, NOPID));
    show("getpriority(PGRP, NOPID)", syscall(SYS_getpriority, 1, NOPID));
    show("getpriority(USER, NOUID)", syscall(SYS_getpriority, 2, NOPID));
    show("getpriority(PROCESS, 0)", syscall(SYS_getpriority, 0, 0));
    show("getpriority(PROCESS, getpid())", syscall(SYS_getpriority, 0, getpid()));
    show("getpriority(PGRP, 0)", syscall(SYS_getpriority, 1, 0));
    show("getpriority(PGRP, getpgrp())", syscall(SYS_getpriority, 1, getpgrp()));
    show("getpriority(USER, 0)", syscall(SYS_getpriority, 2, 0));
    show("getpriority(USER, getuid())", syscall(SYS_getpriority, 2, getuid()));

    /* linkat: the flags, then the old name (copy, dirfd, existence), then the new name */
    close(open("f", O_CREAT | O_WRONLY, 0644));
    show("linkat(CWD, BAD, CWD, BAD, 2)", syscall(SYS_linkat, AT_FDCWD, BAD, AT_FDCWD, BAD, 2));
    show("linkat(77, f, CWD, BAD, 0)", syscall(SYS_linkat, 77, "f", AT_FDCWD, BAD, 0));
    show("linkat(CWD, missing, CWD, BAD, 0)", syscall(SYS_linkat, AT_FDCWD, "missing", AT_FDCWD, BAD, 0));
    show("linkat(CWD, BAD, 77, g, 0)", syscall(SYS_linkat, AT_FDCWD, BAD, 77, "g", 0));
    show("linkat(CWD, f, CWD, BAD, 0)", syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, BAD, 0));
    show("linkat(CWD, f, 77, g, 0)", syscall(SYS_linkat, AT_FDCWD, "f", 77, "g", 0));
    show("linkat(CWD, f, CWD, \"\", 0)", syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, "", 0));
    show("linkat(CWD, f, CWD, f, 0)", syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, "f", 0));
    show("linkat(CWD, f, CWD, g, FOLLOW)", syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, "g", AT_SYMLINK_FOLLOW));

    /* the flags before the name's copy; two names in order (first name's copy and dirfd, then the second's) */
    show("fstatat64(CWD, BAD, buf, 0x80000000)", syscall(SYS_fstatat64, AT_FDCWD, BAD, m, 0x80000000u));
    show("fstatat64(CWD, f, buf, AT_STATX_DONT_SYNC)", syscall(SYS_fstatat64, AT_FDCWD, "f", m, 0x4000));
    show("statx(CWD, BAD, 0, 0x80000000, buf)", syscall(SYS_statx, AT_FDCWD, BAD, 0, 0x80000000u, m));
    show("statx(CWD, BAD, 0x6000, 1, buf)", syscall(SYS_statx, AT_FDCWD, BAD, 0x6000, 1, m));
    show("statx(CWD, BAD, 0x10000, 1, buf)", syscall(SYS_statx, AT_FDCWD, BAD, 0x10000, 1, m));
    show("renameat2(CWD, BAD, CWD, BAD, 8)", syscall(SYS_renameat2, AT_FDCWD, BAD, AT_FDCWD, BAD, 8));
    show("renameat2(CWD, BAD, CWD, BAD, EXCHANGE|NOREPLACE)", syscall(SYS_renameat2, AT_FDCWD, BAD, AT_FDCWD, BAD, 3));
    show("renameat(77, f, CWD, BAD)", syscall(SYS_renameat, 77, "f", AT_FDCWD, BAD));
    show("fchownat(CWD, BAD, 0, 0, 0x10)", syscall(SYS_fchownat, AT_FDCWD, BAD, 0, 0, 0x10));
    show("truncate(BAD, -5)", syscall(SYS_truncate, BAD, -5));
    show("truncate64(BAD, -5)", syscall(SYS_truncate64, BAD, -5, -1));
    show("dup3(77, 5, 0x10)", syscall(SYS_dup3, 77, 5, 0x10));
    show("dup3(77, 77, 0)", syscall(SYS_dup3, 77, 77, 0));
    show("dup3(77, 0x7fffffff, 0)", syscall(SYS_dup3, 77, 0x7fffffff, 0));
    show("dup2(77, 77)", syscall(SYS_dup2, 77, 77));
    show("dup2(1, 1)", syscall(SYS_dup2, 1, 1));
    show("writev(77, BAD, 5000)", syscall(SYS_writev, 77, BAD, 5000));
    show("readv(77, BAD, -1)", syscall(SYS_readv, 77, BAD, -1));
    show("flistxattr(-4096, BAD, 0)", syscall(SYS_flistxattr, -4096, BAD, 0));
    show("accept4(77, 0, 0, 0x100000)", syscall(SYS_accept4, 77, 0, 0, 0x100000));
    show("accept4(1, 0, 0, 0x100000)", syscall(SYS_accept4, 1, 0, 0, 0x100000));
    show("accept4(1, 0, 0, 0)", syscall(SYS_accept4, 1, 0, 0, 0));
    show("sched_getscheduler(-3)", syscall(SYS_sched_getscheduler, -3));
    show("sched_getscheduler(NOPID)", syscall(SYS_sched_getscheduler, NOPID));
    show("sched_getscheduler(0)", syscall(SYS_sched_getscheduler, 0));

    /* clock_nanosleep: the clock, whether it can sleep, the copy, the timespec (never clock 2: it would sleep on
       our own CPU time, which does not pass while we sleep) */
    struct timespec invalid = {0, 2000000000};
    long clocks[] = {3, 4, 5, 6, 10, 12, -2, -6, (long)0x8f61895f, -3, -5};
    for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
        char w[80];
        snprintf(w, sizeof w, "clock_nanosleep(%ld, 0, BAD)", clocks[i]);
        show(w, syscall(SYS_clock_nanosleep, clocks[i], 0, 0x10, 0));
        snprintf(w, sizeof w, "clock_nanosleep(%ld, 0, {0, 2e9})", clocks[i]);
        show(w, syscall(SYS_clock_nanosleep, clocks[i], 0, &invalid, 0));
    }
    show("clock_nanosleep(2, 0, BAD)", syscall(SYS_clock_nanosleep, 2, 0, 0x10, 0));
    show("clock_nanosleep(2, 0, {0, 2e9})", syscall(SYS_clock_nanosleep, 2, 0, &invalid, 0));

    /* timer_settime: NULL, the copy, the values, then the timer; the old setting after the change */
    struct itimerspec its = {{0, 0}, {100, 0}}, bad_its = {{0, 0}, {0, 2000000000}}, cur;
    int timer;
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_NONE;
    syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &timer);
    show("timer_settime(0x3f, 0x7fff, BAD, 0)", syscall(SYS_timer_settime, 0x3f, 0x7fff, 5, 0));
    show("timer_settime(0x3f, 0, NULL, 0)", syscall(SYS_timer_settime, 0x3f, 0, 0, 0));
    show("timer_settime(0x3f, 0, {0, 2e9}, 0)", syscall(SYS_timer_settime, 0x3f, 0, &bad_its, 0));
    show("timer_settime(0x3f, 0, {100 s}, 0)", syscall(SYS_timer_settime, 0x3f, 0, &its, 0));
    show("timer_settime(timer, 0, {100 s}, BAD)", syscall(SYS_timer_settime, timer, 0, &its, BAD));
    syscall(SYS_timer_gettime, timer, &cur);
    printf("timer armed all the same: %d\n", cur.it_value.tv_sec > 50);

    /* timerfd_settime: the copy, the flags and values, then the descriptor */
    show("timerfd_settime(77, 0x10, &its, 0)", syscall(SYS_timerfd_settime, 77, 0x10, &its, 0));
    show("timerfd_settime(77, 0, {0, 2e9}, 0)", syscall(SYS_timerfd_settime, 77, 0, &bad_its, 0));
    show("timerfd_settime(77, 0x10, BAD, 0)", syscall(SYS_timerfd_settime, 77, 0x10, BAD, 0));
    show("timerfd_settime(77, 0, &its, 0)", syscall(SYS_timerfd_settime, 77, 0, &its, 0));
    show("timerfd_settime(1, 0, &its, 0)", syscall(SYS_timerfd_settime, 1, 0, &its, 0));

    unlink("f"); unlink("g");
    chdir("/");
    rmdir(dir);
    return 0;
}
