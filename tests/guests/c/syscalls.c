/* assorted process-information syscalls whose results are the same under any faithful Linux model. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <sched.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/random.h>
#include <sys/stat.h>

int main(void)
{
    struct utsname u;
    printf("uname %d sysname %s\n", uname(&u), u.sysname);
    printf("pid>0 %d tid==pid %d ppid>0 %d\n", getpid() > 0, (int)syscall(SYS_gettid) == getpid(), getppid() > 0);
    printf("uid==euid %d gid==egid %d\n", getuid() == geteuid(), getgid() == getegid());
    mode_t old = umask(077);
    printf("umask roundtrip %d\n", umask(old) == 077);
    struct rlimit rl;
    printf("getrlimit stack %d cur>0 %d\n", getrlimit(RLIMIT_STACK, &rl), rl.rlim_cur > 0);
    printf("getrlimit nofile %d\n", getrlimit(RLIMIT_NOFILE, &rl));
    struct sysinfo si;
    printf("sysinfo %d mem>0 %d unit>0 %d\n", sysinfo(&si), si.totalram > 0, si.mem_unit > 0);
    cpu_set_t set;
    printf("affinity %d count>0 %d\n", sched_getaffinity(0, sizeof set, &set), CPU_COUNT(&set) > 0);
    printf("sched_yield %d\n", sched_yield());
    unsigned char r[16] = { 0 };
    printf("getrandom %zd\n", getrandom(r, sizeof r, 0));
    errno = 0; /* GRND_RANDOM|GRND_INSECURE together, and an unknown flag: EINVAL (drivers/char/random.c) */
    printf("getrandom random|insecure %zd %s\n", getrandom(r, sizeof r, 2 | 4), strerror(errno));
    errno = 0;
    printf("getrandom flag 8 %zd %s\n", getrandom(r, sizeof r, 8), strerror(errno));
    printf("pagesize %ld\n", sysconf(_SC_PAGESIZE));
    errno = 0;
    printf("unknown syscall %ld %s\n", syscall(9999), strerror(errno));
    errno = 0;
    printf("bad pointer %ld %s\n", syscall(SYS_uname, (void *)16), strerror(errno));
    errno = 0;
    printf("bad write buffer %zd %s\n", write(1, (void *)16, 5), strerror(errno));
    /* mmap family */
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap ok %d aligned %d zero %d\n", m != MAP_FAILED, ((unsigned long)m & 4095) == 0, m[5000] == 0);
    memset(m, 7, 3 * 4096);
    printf("mprotect %d\n", mprotect(m + 4096, 4096, PROT_READ));
    printf("munmap middle %d\n", munmap(m + 4096, 4096));
    char *g = mremap(m, 4096, 8192, MREMAP_MAYMOVE);
    printf("mremap ok %d kept %d\n", g != MAP_FAILED, g != MAP_FAILED && g[100] == 7);
    printf("madvise %d\n", madvise(m + 8192, 4096, MADV_DONTNEED));
    errno = 0;
    printf("munmap unaligned %d %s\n", munmap(m + 1, 10), strerror(errno));
    void *brk0 = sbrk(0);
    printf("sbrk grow %d\n", sbrk(100000) == brk0);
    memset(brk0, 1, 100000);
    printf("sbrk now %ld\n", (long)((char *)sbrk(0) - (char *)brk0));
    return 0;
}
