/* Which error a call reports when several apply (the syscall fuzzer's differential mode against the host kernel
 * found these first differences): mlock/munlock/mlock2 (mm/mlock.c), sched_getparam (kernel/sched/core.c),
 * prlimit64 and compat setrlimit (kernel/sys.c), socketpair (net/socket.c), getpriority (kernel/sys.c) and linkat
 * (fs/namei.c). Raw calls, so glibc checks nothing first. Pid 0x3ffffff0 and uid 0x3ffffff0 exist nowhere
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
    unlink("f"); unlink("g");
    chdir("/");
    rmdir(dir);
    return 0;
}
