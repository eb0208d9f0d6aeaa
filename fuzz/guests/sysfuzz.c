/* Syscall fuzzer guest (issue #12). Issues seeded random i386 system calls with interesting arguments through
 * int $0x80 and the vDSO's __kernel_vsyscall (SYSENTER or SYSCALL, whichever the machine model patched in), inside
 * a scratch directory of its own (a fresh "sysfuzz-scratch" made in the current directory), and checks after each call:
 *   - the registers Linux preserves (ebx ecx edx esi edi ebp) came back unchanged;
 *   - a result in [-4095, -1] is a user-visible errno (1..133; never a kernel-internal ERESTART* value);
 *   - results of calls with a fixed contract fit it (0 for success, a descriptor, at most the length asked ...);
 *   - canaries in .data, .bss and on the stack, the read-only arena page and (every 256 calls) the whole text are
 *     intact.
 * Excluded, because they would end or blind the run: exit, exit_group, execve(at), sigreturn, rt_sigreturn,
 * seccomp, userfaultfd (a registered range blocks the next access), fanotify_init (can block the host's opens),
 * and the calls that change the host as a whole (reboot, mount, swapon, settimeofday, sethostname, module loading,
 * bpf, ...). Other calls are kept with their dangerous arguments narrowed (a signal that cannot be caught, a pid
 * other than ours, a mapping over our own image or stack, a handler other than ours, a path outside the scratch
 * directory).
 * Confinement: every descriptor it inherited is closed at start; a pointer argument that could be read as a path
 * (into the arena, the text, or any other readable page, probed through a pipe) must not name an absolute path or
 * hold a ".." component, except the fixed path slots, whose ".." stays inside; open_by_handle_at (which can open any
 * inode of a file system) is excluded.
 *
 * usage: sysfuzz SEED COUNT [FLAGS]   FLAGS: i = int80 only, v = vsyscall only (default: both, chosen per call),
 *                                          d = print one line per call for the differential mode
 * Report (fd 1 at start, kept as fd 100): "ok CALLS" at the end, or "ORACLE ..." (exit 3), "FAULT ..." (exit 4).
 * Written without libc after start-up (raw calls, no malloc, no stdio), so brk and close cannot pull libc's own
 * state away. */
#include <stdint.h>
#include <string.h>
#include <asm/unistd_32.h>
#include <sys/auxv.h>

#define REPORT 100
#define SCRATCH 101
#define PROBE_R 98   /* a pipe for probing whether user memory is readable (and what it holds) */
#define PROBE_W 99
#define ARENA ((uint8_t *)0x5a000000u)
#define ARENA_RW (16 * 4096)
#define ARENA_RO (ARENA + ARENA_RW)
#define ARENA_NONE (ARENA_RO + 4096)
#define ARENA_END (ARENA_NONE + 4096)
#define UNMAPPED ((uint8_t *)0x5b000000u)

struct call { uint32_t nr, a[6], method, out[6]; };
uint32_t vsys_addr, main_tid;
volatile uint32_t fork_like;
struct call *volatile cur_call;
int32_t do_call(struct call *c);
__asm__(
    ".text\n.globl do_call\ndo_call:\n"
    "push %ebp\npush %ebx\npush %esi\npush %edi\n"
    "mov 20(%esp),%eax\nmov %eax,cur_call\n"
    "mov 4(%eax),%ebx\nmov 8(%eax),%ecx\nmov 12(%eax),%edx\nmov 16(%eax),%esi\nmov 20(%eax),%edi\nmov 24(%eax),%ebp\n"
    "cmpl $0,28(%eax)\nmov 0(%eax),%eax\njne 1f\nint $0x80\njmp 2f\n"
    "1: call *vsys_addr\n"
    /* the child of fork/vfork/clone leaves at once, touching no memory (it may share ours and our stack). It knows
       itself by its tid, not by fork_like: a CLONE_VM child may first run after we went on to the next call and
       cleared fork_like; it then returned through this frame on its arena stack to address 0 (seed 7600000457,
       on the host kernel too) */
    "2: test %eax,%eax\njne 3f\nmov $224,%eax\nint $0x80\ncmp main_tid,%eax\nje 4f\n"
    "mov $1,%eax\nxor %ebx,%ebx\nint $0x80\nhlt\n4: xor %eax,%eax\n"
    "3: push %eax\nmov cur_call,%eax\n"
    "mov %ebx,32(%eax)\nmov %ecx,36(%eax)\nmov %edx,40(%eax)\nmov %esi,44(%eax)\nmov %edi,48(%eax)\nmov %ebp,52(%eax)\n"
    "pop %eax\npop %edi\npop %esi\npop %ebx\npop %ebp\nret\n");

static int32_t raw(uint32_t nr, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t e)
{
    int32_t r;
    __asm__ volatile("push %%ebp\nxor %%ebp,%%ebp\nint $0x80\npop %%ebp"
                     : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
    return r;
}

/* ---- output without libc ---- */
static char obuf[4096];
static int olen;
static void flush(void) { if (olen) raw(__NR_write, REPORT, (uint32_t)obuf, olen, 0, 0); olen = 0; }
static void puts_(const char *s) { while (*s) { if (olen == sizeof obuf) flush(); obuf[olen++] = *s++; } }
static void putu(uint32_t v) { char b[12]; int n = 0; do b[n++] = '0' + v % 10; while (v /= 10); while (n) { char s[2] = {b[--n], 0}; puts_(s); } }
static void putd(int32_t v) { if (v < 0) { puts_("-"); putu(-(uint32_t)v); } else putu(v); }
static void putx(uint32_t v) { puts_("0x"); for (int i = 28; i >= 0; i -= 4) { char s[2] = {"0123456789abcdef"[(v >> i) & 15], 0}; puts_(s); } }

/* ---- randomness ---- */
static uint64_t rs;
static uint32_t rnd(void) { rs ^= rs >> 12; rs ^= rs << 25; rs ^= rs >> 27; return (uint32_t)((rs * 2685821657736338717ull) >> 32); }
static uint32_t below(uint32_t n) { return rnd() % n; }

/* ---- canaries ---- */
#define CAN 1024
static uint32_t data_can[CAN] = {1};  /* .data (filled at start) */
static uint32_t bss_can[CAN];         /* .bss */
static uint32_t can_val(int i) { return 0x9e3779b9u * (i + 1) ^ 0x5a5aa5a5u; }
extern char __executable_start[], etext[];
static uint32_t text_sum;
static uint32_t sum_text(void) { uint32_t s = 0; for (const uint32_t *p = (const uint32_t *)__executable_start; p < (const uint32_t *)etext; p++) s = s * 31 + *p; return s; }

static uint32_t initial_brk, stack_lo, stack_hi, vdso_lo, vdso_hi, my_pid;
static const char *const paths[] = { "f0", "f1", "d0", "d0/f2", "d1/x", "l0", "f0/", ".", "", "/nonexistent-c32/x",
    "d0/../f1", "p0", "s0", "a-name-that-is-rather-long-but-still-fine-for-any-filesystem-we-meet-here-0123456789" };
#define NPATHS (sizeof paths / sizeof *paths)

static int recent_fds[8];
static uint32_t ipc_ids[4];

static uint32_t ptr(void)
{
    switch (below(12)) {
    case 0: return 0;
    case 1: return (uint32_t)ARENA + below(ARENA_RW);
    case 2: case 3: return (uint32_t)ARENA + 256 * below(16);   /* a path slot or a struct */
    case 4: return (uint32_t)ARENA + ARENA_RW - below(64);     /* straddles into the read-only page */
    case 5: return (uint32_t)ARENA_RO + below(4096);
    case 6: return (uint32_t)ARENA_NONE + below(4096);
    case 7: return (uint32_t)UNMAPPED + below(0x10000);
    case 8: return (uint32_t)__executable_start + below(0x1000); /* our text: readable, never writable */
    case 9: return 0xc0000000u + below(0x3fffffff);           /* kernel half / top of the space */
    case 10: return 0xfffff000u + below(0x1000);
    default: return rnd();
    }
}

static uint32_t interesting(void)
{
    static const uint32_t v[] = { 0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 512, 1023, 1024,
        4095, 4096, 4097, 8192, 0x7fff, 0x8000, 0xffff, 0x10000, 0x100000, 0x7fffffff, 0x80000000u, 0x80000001u,
        0xfffff000u, 0xfffff001u, 0xffffff9cu /* AT_FDCWD */, 0xfffffffeu, 0xffffffffu, 0x40000000u, 0xc0000000u };
    return v[below(sizeof v / sizeof *v)];
}

static uint32_t fdv(void)
{
    switch (below(6)) {
    case 0: return below(5);
    case 1: return 0xffffff9cu;
    case 2: return 0xffffffffu;
    default: return recent_fds[below(8)];
    }
}

static uint32_t arg(void)
{
    switch (below(10)) {
    case 0: case 1: return fdv();
    case 2: case 3: case 4: return ptr();
    case 5: return below(4096) < 100 ? rnd() : below(64);
    case 6: case 7: return interesting();
    case 8: return 1u << below(32);
    default: return rnd();
    }
}

static int hits_us(uint32_t a, uint32_t len);

static void fill_arena(void)
{
    /* path strings in the first 16 slots of 256 bytes; random words elsewhere (a few per call) */
    for (int i = 0; i < 16; i++) {
        if (below(4)) continue;
        const char *p = paths[below(NPATHS)];
        memcpy(ARENA + 256 * i, p, strlen(p) + 1);
    }
    /* never a '/' byte: a pointer into random bytes must not name an absolute path (we may run as root) */
    for (int i = 0; i < 64; i++) {
        uint32_t w = below(3) ? interesting() : rnd();
        for (int b = 0; b < 32; b += 8) if (((w >> b) & 0xff) == '/') w ^= 1u << b;
        if (hits_us(w, 1)) w = (uint32_t)UNMAPPED; /* a pointer in a struct or iovec the kernel writes through */
        ((uint32_t *)ARENA)[1024 + below(ARENA_RW / 4 - 1024)] = w;
    }
    for (int i = 0; i < 8; i++) { uint8_t v = rnd(); ARENA[4096 + below(ARENA_RW - 4096)] = v == '/' ? 0 : v; }
}

static uint8_t ro_copy[4096];

static void map_arena(void)
{
    raw(__NR_mmap2, (uint32_t)ARENA, ARENA_RW + 8192, 3, 0x32 /* PRIVATE|ANON|FIXED */, -1);
    raw(__NR_mprotect, (uint32_t)ARENA_RO, 4096, 3, 0, 0);
    memcpy(ARENA_RO, ro_copy, 4096);
    raw(__NR_mprotect, (uint32_t)ARENA_RO, 4096, 1, 0, 0);
    raw(__NR_mprotect, (uint32_t)ARENA_NONE, 4096, 0, 0, 0);
    raw(__NR_munmap, (uint32_t)UNMAPPED, 0x10000, 0, 0, 0);
    for (int i = 0; i < 16; i++) memcpy(ARENA + 256 * i, paths[i % NPATHS], strlen(paths[i % NPATHS]) + 1);
}

/* [lo, hi) overlaps something we must keep: our image and heap start (TLS lives there), stack, vDSO + vvar */
static int hits_us(uint32_t a, uint32_t len)
{
    uint64_t lo = a, hi = (uint64_t)a + (len ? len : 1);
    uint64_t img_hi = initial_brk + 0x1000;
    return (lo < img_hi && hi > (uint32_t)__executable_start) || (lo < stack_hi && hi > stack_lo) ||
           (lo < vdso_hi && hi > vdso_lo) || (lo < (uint32_t)ARENA_END && hi > (uint32_t)ARENA_RO);
}

static volatile int faulted;
static uint32_t calls_done, cur_nr;
struct ksigaction { uint32_t handler, flags, restorer; uint32_t mask[2]; };
static void handler(int sig, void *info, void *uc)
{
    int code = ((int *)info)[2];
    if (raw(__NR_getpid, 0, 0, 0, 0, 0) != (int32_t)my_pid) raw(__NR_exit, 0, 0, 0, 0, 0); /* a child we made */
    if ((sig == 11 || sig == 7 || sig == 4 || sig == 8 || sig == 5) && code > 0) {
        /* a fault of our own: report it, then let the default action kill us */
        puts_("FAULT sig "); putu(sig); puts_(" addr "); putx(((uint32_t *)info)[3]);
        puts_(" after call "); putu(calls_done); puts_(" nr "); putu(cur_nr); puts_("\n"); flush();
        struct ksigaction d = {0};
        raw(__NR_rt_sigaction, sig, (uint32_t)&d, 0, 8, 0);
        faulted = 1;
    }
    (void)uc;
}

static void install(int sig)
{
    struct ksigaction a = { (uint32_t)handler, 4 /* SA_SIGINFO */, 0, {0, 0} };
    raw(__NR_rt_sigaction, sig, (uint32_t)&a, 0, 8, 0);
}

static void arm_timer(void)
{
    uint32_t it[4] = { 0, 50000, 0, 50000 }; /* every 50 ms: a blocking call ends with EINTR */
    raw(__NR_setitimer, 0, (uint32_t)it, 0, 0, 0);
}

static void fail(const char *what, struct call *c, int32_t r)
{
    puts_("ORACLE "); puts_(what); puts_(" call "); putu(calls_done); puts_(" nr "); putu(c->nr);
    puts_(" args"); for (int i = 0; i < 6; i++) { puts_(" "); putx(c->a[i]); }
    puts_(" method "); putu(c->method); puts_(" result "); putd(r); puts_("\n"); flush();
    raw(__NR_exit_group, 3, 0, 0, 0, 0);
}

/* calls we never make: they end the run, blind it, or change the host as a whole */
static int excluded(uint32_t nr)
{
    switch (nr) {
    case __NR_exit: case __NR_exit_group: case __NR_execve: case __NR_execveat: case __NR_sigreturn: case __NR_rt_sigreturn:
    case __NR_seccomp: case __NR_userfaultfd: case __NR_fanotify_init: case __NR_fanotify_mark:
    case __NR_reboot: case __NR_kexec_load: case __NR_mount: case __NR_umount: case __NR_umount2:
    case __NR_swapon: case __NR_swapoff: case __NR_sethostname: case __NR_setdomainname: case __NR_settimeofday:
    case __NR_stime: case __NR_clock_settime: case __NR_clock_settime64: case __NR_adjtimex: case __NR_clock_adjtime:
    case __NR_clock_adjtime64: case __NR_init_module: case __NR_finit_module: case __NR_delete_module:
    case __NR_pivot_root: case __NR_acct: case __NR_syslog: case __NR_quotactl: case __NR_iopl: case __NR_ioperm:
    case __NR_vhangup: case __NR_bpf: case __NR_request_key: case __NR_perf_event_open: case __NR_chroot:
    case __NR_fsopen: case __NR_fsmount: case __NR_move_mount: case __NR_open_tree: case __NR_mount_setattr:
    case __NR_fsconfig: case __NR_quotactl_fd: case __NR_sched_setattr: case __NR_vm86: case __NR_vm86old:
    case __NR_mlockall: /* locks (populates) every mapping we made, however big */
    case __NR_modify_ldt: case __NR_set_thread_area:  /* our %gs TLS descriptor; the segment code is another room */
    case __NR_open_by_handle_at: /* a guessed handle (inode 2: a file system's root) opens outside the scratch dir */
    case __NR_nfsservctl: case __NR_lookup_dcookie: case __NR_process_madvise: case __NR_setns: case __NR_unshare:
        return 1;
    }
    return 0;
}

static uint32_t safe_sig(uint32_t s) { s &= 0x7f; return s == 9 || s == 19 || s > 64 ? 0 : s; }
static uint32_t safe_pid(uint32_t p)
{
    switch (below(4)) { case 0: return 0; case 1: return my_pid; case 2: return 0x3ffffff0u; default: return (uint32_t)-(int32_t)my_pid; }
    (void)p;
}

static uint32_t no_alrm_mask(uint32_t p)
{
    if (!p) return 0;
    uint32_t *m = (uint32_t *)(ARENA + 0x1700);
    m[0] = rnd() & ~(1u << 13); m[1] = rnd();
    return (uint32_t)m;
}

/* pid for a queued siginfo at p: ours only when p is in the arena (where queued_info makes si_code negative);
   Linux lets a process send itself any si_code, and a positive one would look like a fault of our own */
static uint32_t queue_pid(uint32_t pid, uint32_t p)
{
    return p >= (uint32_t)ARENA && p < (uint32_t)ARENA + ARENA_RW - 128 ? pid : 0x3ffffff0u;
}

static uint32_t queued_info(uint32_t p)
{
    if (p < (uint32_t)ARENA || p >= (uint32_t)ARENA + ARENA_RW - 128) return p;
    ((int32_t *)p)[2] = -1 - (int32_t)below(6);
    return p;
}

static void path_arg(uint32_t *a)
{
    /* a path pointer must name something inside the scratch directory (we run as root under compat32) */
    if (*a >= (uint32_t)ARENA && *a < (uint32_t)ARENA + ARENA_RW) *a = (uint32_t)ARENA + 256 * below(16);
}

/* A string the kernel could take as a path must stay inside the scratch directory: not absolute, no ".."
   component. n bytes of it are readable at s (the kernel stops at the first unreadable byte: EFAULT); more may be
   readable past n when `more` (then a string without its NUL in n counts as escaping). */
static int escapes(const char *s, uint32_t n, int more)
{
    if (n && s[0] == '/') return 1;
    uint32_t i = 0;
    for (; i < n && s[i]; i++)
        if (s[i] == '.' && i + 1 < n && s[i + 1] == '.' && (i == 0 || s[i - 1] == '/') && (i + 2 >= n || s[i + 2] == 0 || s[i + 2] == '/'))
            return 1;
    return i == n && more;
}

static char probe_buf[4096];

/* Could the kernel read a path at p that leaves the scratch directory? */
static int path_escapes(uint32_t p)
{
    if (p >= (uint32_t)ARENA && p < (uint32_t)ARENA + 4096 && (p - (uint32_t)ARENA) % 256 == 0)
        for (unsigned k = 0; k < NPATHS; k++) if (strcmp((const char *)p, paths[k]) == 0) return 0; /* a path slot */
    if (p >= (uint32_t)ARENA && p < (uint32_t)ARENA_NONE) return escapes((const char *)p, (uint32_t)ARENA_NONE - p, 0);
    if (p >= (uint32_t)__executable_start && p < (uint32_t)etext)
        return escapes((const char *)p, (uint32_t)etext - p < 4096 ? (uint32_t)etext - p : 4096, (uint32_t)etext - p < 4096);
    if (p < 4096 || (p >= (uint32_t)ARENA_NONE && p < (uint32_t)ARENA_END) || (p >= (uint32_t)UNMAPPED && p < (uint32_t)UNMAPPED + 0x10000) || p >= 0xffffe000u) return 0;
    /* anything else (a mapping a call made, the heap, a shared segment): copy what is readable through the pipe */
    uint32_t n = 0;
    while (n < sizeof probe_buf) {
        uint32_t chunk = 4096 - ((p + n) & 0xfff);
        if (chunk > sizeof probe_buf - n) chunk = sizeof probe_buf - n;
        int32_t w = raw(__NR_write, PROBE_W, p + n, chunk, 0, 0);
        if (w <= 0) break;
        raw(__NR_read, PROBE_R, (uint32_t)probe_buf + n, w, 0, 0);
        n += w;
        int nul = 0;
        for (uint32_t i = n - w; i < n; i++) if (!probe_buf[i]) { nul = 1; break; }
        if (nul || (uint32_t)w < chunk) break;
    }
    return escapes(probe_buf, n, 0);
}

/* A table of pointers the kernel reads from p and writes through (old select's sel_arg_struct, iovecs, msghdrs,
   ipc's kludge and semun): never our text, whose words include our data's addresses (seeds 7600000339 and
   7600000462: old select read its struct from our text and cleared bits of our stack, then returned to them, on the
   host kernel too); another word of the arena instead, where fill_arena keeps our addresses out */
static uint32_t vec_ptr(uint32_t p)
{
    return p >= (uint32_t)__executable_start && p < (uint32_t)etext ? (uint32_t)ARENA + 0x2000 + (p & 0xffc) : p;
}

static void sanitize(struct call *c)
{
    uint32_t *a = c->a;
    fork_like = 0;
    /* every pointer to a path goes to a path slot; cheap and general: any arena pointer below slot 16 */
    for (int i = 0; i < 6; i++) {
        if (a[i] >= (uint32_t)ARENA && a[i] < (uint32_t)ARENA + 4096) path_arg(&a[i]);
        if (a[i] >= PROBE_R && a[i] <= SCRATCH) a[i] = 3;
        /* a number that happens to point into our data, heap or stack would let the kernel write there lawfully;
           our text stays (read-only: writes must fail), but not at a '/' (a path) */
        if (hits_us(a[i], 1) && !(a[i] >= (uint32_t)__executable_start && a[i] < (uint32_t)etext)) a[i] = (uint32_t)UNMAPPED;
        while (a[i] >= (uint32_t)__executable_start && a[i] < (uint32_t)etext && *(const char *)a[i] == '/') a[i]++;
    }
    switch (c->nr) {
    case __NR_fork: case __NR_vfork: fork_like = 1; break;
    case __NR_clone:
        fork_like = 1;
        a[0] &= ~0x00008000u;                       /* CLONE_PARENT: our parent is the test driver */
        a[0] = (a[0] & ~0xffu) | (below(2) ? 17 : 0);   /* exit signal SIGCHLD or none */
        /* CLONE_VM: the child gets a stack of its own in the arena (a signal frame there cannot clobber ours) and
           leaves by the int $0x80 path, which touches no memory; a child on a stack of junk must not return through
           __kernel_vsyscall either */
        if (a[0] & 0x100) a[1] = (uint32_t)ARENA + 0x4000;
        if (a[0] & 0x100 || a[1]) c->method = 0;
        break;
    case __NR_clone3: {
        uint32_t *s = (uint32_t *)(ARENA + 0x1000);
        memset(s, 0, 88);
        s[0] = rnd() & ~(0x8000u | 0x100u | 0x10000u | 0x800u); /* no PARENT, VM, THREAD, SIGHAND */
        s[8] = 17;
        a[0] = (uint32_t)s; a[1] = below(2) ? 64 : 88; fork_like = 1; break;
    }
    case __NR_kill: case __NR_tkill: a[0] = safe_pid(a[0]); a[1] = safe_sig(a[1]); break;
    case __NR_tgkill: a[0] = safe_pid(a[0]); a[1] = safe_pid(a[1]); a[2] = safe_sig(a[2]); break;
    /* a queued siginfo says SI_QUEUE (a positive si_code would look like a fault of our own) */
    case __NR_rt_sigqueueinfo: a[0] = queue_pid(safe_pid(a[0]), a[2]); a[1] = safe_sig(a[1]); a[2] = queued_info(a[2]); break;
    case __NR_rt_tgsigqueueinfo: a[0] = queue_pid(safe_pid(a[0]), a[3]); a[1] = safe_pid(a[1]); a[2] = safe_sig(a[2]); a[3] = queued_info(a[3]); break;
    case __NR_pidfd_send_signal: a[1] = safe_sig(a[1]); break;
    case __NR_pidfd_open: case __NR_ptrace: case __NR_process_vm_readv: case __NR_process_vm_writev:
    case __NR_sched_setscheduler: case __NR_sched_setparam: case __NR_sched_setaffinity: case __NR_setpgid:
    case __NR_prlimit64: case __NR_getpriority: case __NR_kcmp: case __NR_pidfd_getfd: case __NR_migrate_pages:
    case __NR_move_pages: case __NR_get_robust_list: case __NR_getsid: case __NR_getpgid: case __NR_wait4: case __NR_waitpid:
        if (c->nr == __NR_ptrace) { a[1] = 0x3ffffff0u; if (a[0] == 0) a[0] = 3; }
        else if (c->nr == __NR_process_vm_writev || c->nr == __NR_process_vm_readv) a[0] = 0x3ffffff0u;
        else if (c->nr == __NR_wait4 || c->nr == __NR_waitpid) { if ((int32_t)a[0] > 0) a[0] = 0x3ffffff0u; }
        else a[0] = safe_pid(a[0]);
        if (c->nr == __NR_sched_setscheduler) a[1] &= ~0x40000000u, a[1] = (a[1] & 0xff) == 1 || (a[1] & 0xff) == 2 || (a[1] & 0xff) == 6 ? 0 : a[1];
        if (c->nr == __NR_prlimit64 && a[2]) {
            uint32_t res = a[1];
            if (res == 0 || res == 1 || res == 2 || res == 3 || res == 9 || res == 7) a[2] = 0; /* CPU FSIZE DATA STACK AS NOFILE: query only */
        }
        break;
    case __NR_setpriority: case __NR_ioprio_set: a[0] = 1 + (c->nr == __NR_setpriority ? -1 : 0); a[1] = 0; break;
    case __NR_setrlimit: case __NR_ugetrlimit:
        if (c->nr == __NR_setrlimit && (a[0] <= 3 || a[0] == 9 || a[0] == 7)) c->nr = __NR_ugetrlimit;
        break;
    case __NR_rt_sigaction: case __NR_sigaction: {
        uint32_t s = a[0];
        if (a[1]) {
            struct ksigaction *k = (struct ksigaction *)(ARENA + 0x1100);
            k->handler = (s == 14 || s == 11 || s == 7 || s == 4 || s == 8 || s == 5 || below(2)) ? (uint32_t)handler : 1;
            k->flags = (rnd() & ~(0x80000000u | 0x08000000u | 0x04000000u)) | 4; /* no RESETHAND, ONSTACK, RESTORER */
            k->mask[0] = rnd(); k->mask[1] = rnd();
            if (c->nr == __NR_sigaction) { uint32_t *o = (uint32_t *)k; uint32_t f = k->flags; o[1] = rnd(); o[2] = f; o[3] = 0; }
            a[1] = (uint32_t)k;
        }
        break;
    }
    case __NR_signal: a[1] = below(4) ? 1 : 0x3ffffff0u; break; /* signal() is SA_RESETHAND: SIG_IGN, or EFAULT-free junk */
    case __NR_sigaltstack: break;
    case __NR_brk: if (a[0] >= (uint32_t)__executable_start && a[0] < initial_brk) a[0] = initial_brk + below(0x100000); break;
    case __NR_munmap: case __NR_mprotect: case __NR_madvise: case __NR_mremap: case __NR_pkey_mprotect:
    case __NR_munlock: case __NR_msync: case __NR_mincore: case __NR_remap_file_pages:
        if (hits_us(a[0], a[1])) a[0] = (uint32_t)UNMAPPED + 4096 * below(16);
        if (hits_us(a[0], a[1])) a[1] &= 0xffff;
        if (c->nr == __NR_madvise && (a[2] == 100 || a[2] == 101)) a[2] = 0;     /* HWPOISON, SOFT_OFFLINE */
        if (c->nr == __NR_madvise && (a[2] == 22 || a[2] == 23)) a[1] &= 0xfffff; /* POPULATE: at most 1 MiB */
        if (c->nr == __NR_mremap && (a[3] & 2) && hits_us(a[4], a[2])) a[4] = (uint32_t)UNMAPPED + 4096 * below(16);
        if (c->nr == __NR_mremap && (a[3] & 2) && hits_us(a[4], a[2])) a[2] &= 0xffff;
        break;
    case __NR_mmap2: case __NR_mmap:
        if (c->nr == __NR_mmap) { /* old_mmap takes a struct */
            uint32_t *s = (uint32_t *)(ARENA + 0x1200);
            for (int i = 0; i < 6; i++) s[i] = arg();
            if (hits_us(s[0], s[1])) s[0] = (uint32_t)UNMAPPED;
            if (hits_us(s[0], s[1])) s[1] &= 0xffff;
            s[3] &= ~(0x8000u | 0x2000u);
            a[0] = (uint32_t)s;
        } else {
            if (hits_us(a[0], a[1])) a[0] = (uint32_t)UNMAPPED + 4096 * below(16);
            if (hits_us(a[0], a[1])) a[1] &= 0xffff;
            a[3] &= ~(0x8000u | 0x2000u); /* no MAP_POPULATE / MAP_LOCKED: memory is committed only when touched */
        }
        break;
    case __NR_shmat: a[1] = below(2) ? 0 : (uint32_t)UNMAPPED; break;
    case __NR_shmctl: case __NR_msgctl: case __NR_semctl: case __NR_msgsnd: case __NR_msgrcv:
    case __NR_semtimedop_time64:
        a[0] = below(3) ? ipc_ids[below(4)] : a[0] | 0x40000000u; break;
    case __NR_shmget: case __NR_msgget: case __NR_semget: a[0] = 0; if (c->nr == __NR_shmget) a[1] &= 0xfffff; break;
    case __NR_ipc: {
        uint32_t call = a[0] & 0xffff;
        if (call == 21) a[4] = 0;  /* SHMAT: anywhere the kernel chooses */
        else if (call == 2 || call == 13 || call == 23) a[1] = 0;  /* *GET: IPC_PRIVATE */
        else a[1] = below(3) ? ipc_ids[below(4)] : a[1] | 0x40000000u;
        if (call != 21) a[4] = vec_ptr(a[4]);  /* MSGRCV's kludge, SEMCTL's semun hold pointers */
        break;
    }
    case __NR_setitimer: case __NR_alarm: break; /* re-armed after the call */
    case __NR_symlink: case __NR_symlinkat: { static const char *const t[] = { "f0", "d0", "l0", "missing", "d0/f2" };
        const char *p = t[below(5)]; memcpy(ARENA + 0x1500, p, strlen(p) + 1); a[0] = (uint32_t)ARENA + 0x1500; break; }
    case __NR_mknod: case __NR_mknodat: { /* no device nodes: a block device named in scratch would reach the host's disk */
        uint32_t *m = &a[c->nr == __NR_mknod ? 1 : 2];
        if ((*m & 0xf000) == 0x2000 || (*m & 0xf000) == 0x6000) *m = (*m & ~0xf000u) | 0x1000;
        break; }
    case __NR_mlock: case __NR_mlock2: a[1] &= 0xfffff; break;
    case __NR_timer_create:
        if (a[1]) { uint32_t *e = (uint32_t *)(ARENA + 0x1300); e[0] = rnd(); e[1] = safe_sig(rnd()); e[2] = below(2) ? 0 : below(5); e[3] = my_pid; a[1] = (uint32_t)e; }
        break;
    case __NR_prctl:
        if (a[0] == 22 || a[0] == 35 || a[0] == 1 /* PDEATHSIG */) a[0] = 16; /* SECCOMP, SET_MM: GET_KEEPCAPS instead */
        break;
    case __NR_fallocate: a[4] &= 0xfffff; a[5] = 0; break;
    case __NR_socketcall: case __NR_socket: case __NR_socketpair: {
        uint32_t fam = c->nr == __NR_socketcall ? 0 : a[0];
        if (c->nr != __NR_socketcall && (fam == 16 || fam == 17 || fam == 10 + 0x100)) a[0] = 1; /* no NETLINK, PACKET */
        if (c->nr == __NR_socketcall) c->nr = __NR_socketpair, a[0] = 1;
        break;
    }
    case __NR_connect: case __NR_bind: case __NR_sendto: case __NR_sendmsg: case __NR_sendmmsg: {
        /* an address we pass is AF_UNIX with a relative name, or loopback */
        uint8_t *sa = ARENA + 0x1400;
        if (below(2)) { sa[0] = 1; sa[1] = 0; memcpy(sa + 2, below(2) ? "s0" : "\0abstract-c32", 14); }
        else { sa[0] = 2; sa[1] = 0; sa[2] = rnd(); sa[3] = rnd(); sa[4] = 127; sa[5] = 0; sa[6] = 0; sa[7] = 1; }
        if (c->nr == __NR_connect || c->nr == __NR_bind) { a[1] = (uint32_t)sa; }
        else if (c->nr == __NR_sendto) { a[4] = below(2) ? 0 : (uint32_t)sa; }
        else a[1] = 0; /* sendmsg/sendmmsg: no message (EFAULT), names inside would be random */
        break;
    }
    case __NR_select: a[0] = vec_ptr(a[0]); break;
    case __NR_readv: case __NR_preadv: case __NR_preadv2: case __NR_recvmsg: case __NR_recvmmsg:
    case __NR_recvmmsg_time64: case __NR_vmsplice: a[1] = vec_ptr(a[1]); break;
    case __NR_io_submit: a[2] = vec_ptr(a[2]); break;
    case __NR_close_range: if (a[1] >= PROBE_R) a[1] = below(50); if (a[0] > a[1]) a[0] = a[1]; break;
    case __NR_dup2: case __NR_dup3: if (a[1] >= PROBE_R && a[1] <= SCRATCH) a[1] = 7; break;
    case __NR_fcntl: case __NR_fcntl64: if ((a[1] == 0 || a[1] == 1030) && a[2] >= PROBE_R - 2 && a[2] <= SCRATCH) a[2] = 0; break;
    case __NR_chdir: case __NR_fchdir: break; /* we go back after the call */
    case __NR_ioctl:
        if (a[1] == 0x5412 /* TIOCSTI */ || a[1] == 0x540e /* TIOCSCTTY */) a[1] = 0x541b;
        if ((a[1] & 0xffff) == 0x6602 || (a[1] & 0xffff) == 0x5820) a[1] = 0x80046601; /* FS_IOC_SETFLAGS, FSSETXATTR */
        if ((a[1] & 0xff00) == 0x8900) a[1] = 0x8912; /* socket ioctls that set interfaces and routes: SIOCGIFCONF */
        break;
    case __NR_rt_sigprocmask: case __NR_sigprocmask: case __NR_ssetmask: break; /* mask cleared after */
    case __NR_io_pgetevents: case __NR_io_pgetevents_time64: a[5] = 0; break;
    case __NR_io_uring_setup: a[0] &= 0xff; break;
    case __NR_personality: break;
    case __NR_setuid: case __NR_setuid32: case __NR_setreuid: case __NR_setreuid32: case __NR_setresuid: case __NR_setresuid32:
    case __NR_setgid: case __NR_setgid32: case __NR_setregid: case __NR_setregid32: case __NR_setresgid: case __NR_setresgid32:
    case __NR_setfsuid: case __NR_setfsuid32: case __NR_setfsgid: case __NR_setfsgid32: case __NR_setgroups: case __NR_setgroups32:
        break;
    case __NR_nanosleep: case __NR_clock_nanosleep: case __NR_clock_nanosleep_time64: case __NR_pause:
    break; /* the 50 ms timer ends them */
    case __NR_set_tid_address: case __NR_set_robust_list: break;
    case __NR_sync: case __NR_syncfs: break;
    }
    for (int i = 0; i < 6; i++) if (path_escapes(a[i])) a[i] = (uint32_t)ARENA + 256 * below(16);
    /* a mask used while waiting never blocks SIGALRM, whose 50 ms timer ends every wait; set after the loop above,
       which took the random words of such a mask for an escaping path and put path text in its place (seed
       7400000058: rt_sigsuspend then slept with SIGALRM blocked, on the host kernel as on compat32) */
    switch (c->nr) {
    case __NR_sigsuspend: a[2] &= ~(1u << 13); break;
    case __NR_rt_sigsuspend: a[0] = no_alrm_mask(a[0]); break;
    case __NR_ppoll: case __NR_ppoll_time64: a[3] = no_alrm_mask(a[3]); break;
    case __NR_epoll_pwait: case __NR_epoll_pwait2: a[4] = no_alrm_mask(a[4]); break;
    case __NR_pselect6: case __NR_pselect6_time64: if (a[5]) { uint32_t *ps = (uint32_t *)(ARENA + 0x1600);
        ps[0] = no_alrm_mask(1); ps[1] = below(4) ? 8 : rnd(); a[5] = (uint32_t)ps; } break;
    }
    /* a siginfo pointer the loop above moved to a path slot gets its negative si_code again */
    if (c->nr == __NR_rt_sigqueueinfo) a[2] = queued_info(a[2]);
    if (c->nr == __NR_rt_tgsigqueueinfo) a[3] = queued_info(a[3]);
}

/* results with a fixed contract: 0, a descriptor, at most / exactly an argument */
enum { R_ANY, R_ZERO, R_FD, R_LE1, R_LE2, R_EQ1, R_PAGE, R_VALUE };
static int contract(uint32_t nr)
{
    switch (nr) {
    /* any 32-bit value is a valid result (an id, a persona, a mask, a time, an address) */
    case __NR_personality: case __NR_getuid: case __NR_getgid: case __NR_geteuid: case __NR_getegid: case __NR_getuid32:
    case __NR_getgid32: case __NR_geteuid32: case __NR_getegid32: case __NR_setfsuid: case __NR_setfsgid:
    case __NR_setfsuid32: case __NR_setfsgid32: case __NR_sgetmask: case __NR_ssetmask: case __NR_time: case __NR_times:
    case __NR_alarm: case __NR_brk:
        return R_VALUE;
    case __NR_mremap: case __NR_shmat: return R_PAGE;
    case __NR_close: case __NR_mkdir: case __NR_rmdir: case __NR_unlink: case __NR_rename: case __NR_link: case __NR_symlink:
    case __NR_chmod: case __NR_fchmod: case __NR_access: case __NR_truncate: case __NR_ftruncate: case __NR_fsync:
    case __NR_fdatasync: case __NR_chdir: case __NR_fchdir: case __NR_pipe: case __NR_pipe2: case __NR_mkdirat:
    case __NR_unlinkat: case __NR_renameat: case __NR_renameat2: case __NR_linkat: case __NR_symlinkat: case __NR_faccessat:
    case __NR_fchmodat: case __NR_stat64: case __NR_lstat64: case __NR_fstat64: case __NR_fstatat64: case __NR_statx:
    case __NR_munmap: case __NR_mprotect: case __NR_madvise: case __NR_sched_yield: case __NR_nanosleep:
    case __NR_rt_sigaction: case __NR_rt_sigprocmask: case __NR_uname: case __NR_sysinfo: case __NR_socketpair:
    case __NR_setitimer: case __NR_getitimer: case __NR_clock_gettime: case __NR_gettimeofday: case __NR_ftruncate64:
    case __NR_truncate64: case __NR_statfs: case __NR_fstatfs: case __NR_statfs64: case __NR_fstatfs64: case __NR_utimensat:
    case __NR_flock: case __NR_sigaltstack: case __NR_getrusage: case __NR_ugetrlimit: case __NR_prlimit64:
        return R_ZERO;
    case __NR_open: case __NR_openat: case __NR_creat: case __NR_dup: case __NR_socket: case __NR_eventfd: case __NR_eventfd2:
    case __NR_epoll_create: case __NR_epoll_create1: case __NR_inotify_init: case __NR_inotify_init1: case __NR_memfd_create:
    case __NR_timerfd_create: case __NR_signalfd: case __NR_signalfd4: case __NR_openat2: case __NR_pidfd_open:
        return R_FD;
    case __NR_read: case __NR_write: case __NR_pread64: case __NR_pwrite64: case __NR_readlink: case __NR_getdents:
    case __NR_getdents64: return R_LE2;
    case __NR_getrandom: return R_LE1;
    case __NR_readlinkat: return R_LE2 + 10; /* arg 3 */
    case __NR_dup2: case __NR_dup3: return R_EQ1;
    case __NR_mmap2: case __NR_mmap: return R_PAGE;
    }
    return R_ANY;
}

static void check(struct call *c, int32_t r)
{
    if (c->out[0] != c->a[0] || c->out[1] != c->a[1] || c->out[2] != c->a[2] || c->out[3] != c->a[3] ||
        c->out[4] != c->a[4] || c->out[5] != c->a[5])
        fail("registers-not-preserved", c, r);
    int k = contract(c->nr);
    if (k == R_VALUE) return;
    if (k == R_PAGE) {
        if ((uint32_t)r >= 0xfffff001u) { if (-r > 133) fail("bad-errno", c, r); }
        else if (r & 0xfff) fail("unaligned-mapping", c, r);
        return;
    }
    if (r < 0 && r >= -4095) { if (-r > 133) fail("bad-errno", c, r); return; }
    if (r < 0 && k != R_ANY) fail("negative-result", c, r);
    switch (k) {
    case R_ZERO: if (r != 0 && c->nr != __NR_sigaltstack) fail("nonzero-success", c, r); break;
    case R_FD: if (r >= (1 << 20)) fail("bad-descriptor", c, r); break;
    case R_LE1: if ((uint32_t)r > c->a[1]) fail("more-than-asked", c, r); break;
    case R_LE2: if ((uint32_t)r > c->a[2]) fail("more-than-asked", c, r); break;
    case R_LE2 + 10: if ((uint32_t)r > c->a[3]) fail("more-than-asked", c, r); break;
    case R_EQ1: if ((uint32_t)r != c->a[1]) fail("wrong-descriptor", c, r); break;
    }
}

static int nondeterministic(uint32_t nr)
{
    switch (nr) {
    case __NR_getpid: case __NR_getppid: case __NR_gettid: case __NR_getpgrp: case __NR_getpgid: case __NR_getsid:
    case __NR_setsid: case __NR_fork: case __NR_vfork: case __NR_clone: case __NR_clone3: case __NR_wait4: case __NR_waitpid:
    case __NR_waitid: case __NR_set_tid_address: case __NR_time: case __NR_times: case __NR_alarm: case __NR_brk:
    case __NR_mmap: case __NR_mmap2: case __NR_mremap: case __NR_shmat: case __NR_ipc: case __NR_shmget: case __NR_msgget:
    case __NR_semget: case __NR_getrandom: case __NR_sched_getaffinity: case __NR_personality: case __NR_getcpu:
    case __NR_uname: case __NR_olduname: case __NR_oldolduname: case __NR_lseek: case __NR__llseek: case __NR_read:
    case __NR_readv: case __NR_pread64: case __NR_preadv: case __NR_preadv2: case __NR_getdents: case __NR_getdents64:
    case __NR_readdir: case __NR_poll: case __NR_ppoll: case __NR_select: case __NR__newselect: case __NR_pselect6:
    case __NR_epoll_wait: case __NR_epoll_pwait: case __NR_nanosleep: case __NR_clock_nanosleep: case __NR_pause:
    case __NR_rt_sigsuspend: case __NR_sigsuspend: case __NR_rt_sigtimedwait: case __NR_futex: case __NR_getitimer:
    case __NR_setitimer: case __NR_timer_gettime: case __NR_timer_settime: case __NR_getrusage: case __NR_sysinfo:
    case __NR_rt_sigpending: case __NR_sigpending: case __NR_getcwd: case __NR_readlink: case __NR_readlinkat:
    case __NR_io_setup: case __NR_io_uring_setup: case __NR_pidfd_open: case __NR_kcmp: case __NR_ioctl: case __NR_fcntl64:
    case __NR_fcntl: case __NR_getpriority: case __NR_sched_getscheduler: case __NR_sched_rr_get_interval:
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint32_t stack_can[64];
    for (int i = 0; i < 64; i++) stack_can[i] = can_val(i + 7);
    if (argc < 3) return 2;
    uint64_t seed = 0; for (const char *p = argv[1]; *p; p++) seed = seed * 10 + (*p - '0');
    uint32_t count = 0; for (const char *p = argv[2]; *p; p++) count = count * 10 + (*p - '0');
    const char *flags = argc > 3 ? argv[3] : "";
    int only = -1, diff = 0;
    for (const char *p = flags; *p; p++) { if (*p == 'i') only = 0; if (*p == 'v') only = 1; if (*p == 'd') diff = 1; }
    rs = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull; if (!rs) rs = 1;

    raw(__NR_dup2, 1, REPORT, 0, 0, 0);
    raw(__NR_fcntl64, REPORT, 2 /* F_SETFD */, 1, 0, 0);
    /* nothing inherited stays reachable (a directory descriptor would lead out of the scratch directory) */
    for (int fd = 3; fd < 1024; fd++) if (fd != REPORT) raw(__NR_close, fd, 0, 0, 0, 0);
    /* a fresh scratch directory of our own, inside the current one */
    if (raw(__NR_mkdir, (uint32_t)"sysfuzz-scratch", 0777, 0, 0, 0) != 0 || raw(__NR_chdir, (uint32_t)"sysfuzz-scratch", 0, 0, 0, 0) != 0) {
        puts_("cannot make a fresh ./sysfuzz-scratch\n"); flush(); return 2;
    }
    int pp[2];
    if (raw(__NR_pipe, (uint32_t)pp, 0, 0, 0, 0) != 0) return 2;
    raw(__NR_dup2, pp[0], PROBE_R, 0, 0, 0); raw(__NR_dup2, pp[1], PROBE_W, 0, 0, 0);
    raw(__NR_close, pp[0], 0, 0, 0, 0); raw(__NR_close, pp[1], 0, 0, 0, 0);
    int dot = raw(__NR_open, (uint32_t)".", 0x10000 /* O_DIRECTORY */, 0, 0, 0);
    raw(__NR_dup2, dot, SCRATCH, 0, 0, 0); raw(__NR_close, dot, 0, 0, 0, 0);
    int nul = raw(__NR_open, (uint32_t)"/dev/null", 2, 0, 0, 0);
    for (int fd = 0; fd < 3; fd++) raw(__NR_dup2, nul, fd, 0, 0, 0);
    if (nul > 2) raw(__NR_close, nul, 0, 0, 0, 0);
    raw(__NR_setsid, 0, 0, 0, 0, 0);
    raw(__NR_setpgid, 0, 0, 0, 0, 0);
    my_pid = main_tid = raw(__NR_getpid, 0, 0, 0, 0, 0);
    /* files stay small (EFBIG past 16 MiB) */
    uint32_t fl[2] = { 16u << 20, 16u << 20 };
    raw(__NR_setrlimit, 1 /* RLIMIT_FSIZE */, (uint32_t)fl, 0, 0, 0);

    vsys_addr = getauxval(AT_SYSINFO);
    vdso_lo = getauxval(AT_SYSINFO_EHDR); vdso_hi = vdso_lo + 0x4000; vdso_lo -= 0x8000;
    if (!vsys_addr) only = 0;
    initial_brk = raw(__NR_brk, 0, 0, 0, 0, 0);
    stack_hi = 0xffffe000u; stack_lo = ((uint32_t)stack_can & ~0xfffu) - 0x100000;
    for (int i = 0; i < CAN; i++) { data_can[i] = can_val(i); bss_can[i] = can_val(i) ^ 0xffffffffu; }
    for (int i = 0; i < 4096; i++) ro_copy[i] = (uint8_t)(i * 7 + 3) | 0x80;
    map_arena();
    for (int i = 0; i < 8; i++) recent_fds[i] = 3 + i;
    for (int i = 0; i < 4; i++) ipc_ids[i] = 0x3fffffff;
    text_sum = sum_text();
    for (int s = 1; s <= 64; s++) if (s != 9 && s != 19) install(s);
    arm_timer();

    struct call c;
    uint32_t nenosys = 0;
    for (calls_done = 0; calls_done < count; calls_done++) {
        uint32_t nr;
        do nr = below(3) ? below(450) : below(200); while (excluded(nr));
        c.nr = nr;
        for (int i = 0; i < 6; i++) c.a[i] = arg();
        c.method = only >= 0 ? (uint32_t)only : below(2);
        fill_arena();
        sanitize(&c);
        cur_nr = c.nr;
        int32_t r = do_call(&c);
        if (faulted) return 4;
        check(&c, r);
        if (r == -38) nenosys++;
        if (diff) {
            putu(calls_done); puts_(" "); putu(c.nr); puts_(" ");
            if (nondeterministic(c.nr)) puts_(r < 0 && r > -4096 && r != -4 ? "err" : "-"); else putd(r);
            puts_("\n");
        }
        /* undo what would blind us */
        switch (c.nr) {
        case __NR_chdir: case __NR_fchdir: raw(__NR_fchdir, SCRATCH, 0, 0, 0, 0); break;
        case __NR_setitimer: case __NR_alarm: arm_timer(); break;
        case __NR_rt_sigprocmask: case __NR_sigprocmask: case __NR_ssetmask: case __NR_rt_sigsuspend: case __NR_sigsuspend:
        case __NR_rt_sigtimedwait: { uint32_t z[2] = {0, 0}; raw(__NR_rt_sigprocmask, 2, (uint32_t)z, 0, 8, 0); break; }
        case __NR_rt_sigaction: case __NR_sigaction: case __NR_signal:
            if (c.a[1] && c.a[0] >= 1 && c.a[0] <= 64 && c.a[0] != 9 && c.a[0] != 19 && (c.nr == __NR_signal || c.a[0] == 14 || c.a[0] == 11 || c.a[0] == 7 || c.a[0] == 4 || c.a[0] == 8 || c.a[0] == 5))
                install(c.a[0]);
            break;
        case __NR_munmap: case __NR_mprotect: case __NR_mremap: case __NR_mmap: case __NR_mmap2: case __NR_madvise:
        case __NR_remap_file_pages: case __NR_shmat: case __NR_ipc: case __NR_brk: case __NR_shmdt: case __NR_pkey_mprotect:
       
            map_arena(); break;
        case __NR_wait4: case __NR_waitpid: case __NR_waitid: break;
        }
        if (r >= 0 && r < 64 && contract(c.nr) == R_FD) recent_fds[below(8)] = r;
        if (r >= 0 && (c.nr == __NR_shmget || c.nr == __NR_msgget || c.nr == __NR_semget)) ipc_ids[below(4)] = r;
        if (fork_like) while (raw(__NR_wait4, -1, 0, 1 /* WNOHANG */ | 0x40000000 /* __WALL */, 0, 0) > 0) {}
        /* integrity */
        for (int i = 0; i < 64; i++) if (stack_can[i] != can_val(i + 7)) fail("stack-canary", &c, r);
        for (int i = (calls_done & 15) * 64, e = i + 64; i < e; i++)
            if (data_can[i] != can_val(i) || bss_can[i] != (can_val(i) ^ 0xffffffffu)) fail("data-canary", &c, r);
        if (memcmp(ARENA_RO, ro_copy, 4096) != 0) fail("read-only-page-written", &c, r);
        if ((calls_done & 255) == 255 && sum_text() != text_sum) fail("text-changed", &c, r);
    }
    if (sum_text() != text_sum) fail("text-changed", &c, 0);
    for (int i = 0; i < 4; i++) { raw(__NR_shmctl, ipc_ids[i], 0 /* IPC_RMID */, 0, 0, 0); raw(__NR_msgctl, ipc_ids[i], 0, 0, 0, 0); raw(__NR_semctl, ipc_ids[i], 0, 0, 0, 0); }
    puts_("ok "); putu(calls_done); puts_(" enosys "); putu(nenosys); puts_("\n"); flush();
    /* not libc's exit: 20000 random calls may have left its locks and atexit state in any shape (seed 7400000058
       then blocked in the exit path on the host kernel and on compat32 alike) */
    raw(__NR_exit_group, 0, 0, 0, 0, 0);
    return 0;
}
