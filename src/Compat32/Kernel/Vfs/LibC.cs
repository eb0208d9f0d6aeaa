using System.Runtime.InteropServices;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// The host's C library: file operations pass through to the host kernel, so their errors are the host
/// kernel's own (Linux errno values are the same on every architecture the host may be).
/// Negative return = -errno.
/// </summary>
internal static unsafe partial class LibC
{
    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_NOCTTY = 0x100,
        O_TRUNC = 0x200, O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000,
        O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_LARGEFILE_HOST = 0; // host is 64-bit: O_LARGEFILE implied

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int openat_(int dirfd, byte* path, int flags, int mode);
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close_(int fd);
    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime_(int clk, long* ts);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int eventfd_(uint initval, int flags);
    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int gettid_();

    public static int EventFd(uint init, int flags) => R(eventfd_(init, flags));
    /// <summary>Add 1 to an eventfd (it becomes readable).</summary>
    public static void EventFdSignal(int fd) { ulong one = 1; write_(fd, (byte*)&one, 8); }
    public static int GetTid() => gettid_();

    [LibraryImport("libc", EntryPoint = "socketpair", SetLastError = true)]
    private static partial int socketpair_(int domain, int type, int proto, int* sv);
    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int shutdown_(int fd, int how);
    public static int SocketPair(int domain, int type, int proto, int* sv) => R(socketpair_(domain, type, proto, sv));
    public static int Shutdown(int fd, int how) => R(shutdown_(fd, how));

    [LibraryImport("libc", EntryPoint = "getgroups")]
    private static partial int getgroups_(int size, uint* list);
    [LibraryImport("libc", EntryPoint = "prlimit64")]
    private static partial int prlimit_(int pid, int res, ulong* newLim, ulong* oldLim);

    /// <summary>The host process's supplementary groups.</summary>
    public static uint[] GetGroups()
    {
        int n = getgroups_(0, null);
        if (n <= 0) return Array.Empty<uint>();
        var g = new uint[n];
        fixed (uint* p = g) n = getgroups_(n, p);
        return n < 0 ? Array.Empty<uint>() : g[..n];
    }

    /// <summary>The host process's limit for resource r (soft, hard), or null.</summary>
    public static (ulong, ulong)? GetRlimit(int r)
    {
        ulong* old = stackalloc ulong[2];
        return prlimit_(0, r, null, old) == 0 ? (old[0], old[1]) : null;
    }

    /// <summary>CPU time of another host thread of this process (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)).</summary>
    public static long ThreadCpuNs(int hostTid)
    {
        if (hostTid <= 0) return 0;
        long* ts = stackalloc long[2];
        return clock_gettime_(((~hostTid) << 3) | 6, ts) == 0 ? ts[0] * 1_000_000_000 + ts[1] : 0;
    }

    /// <summary>CPU time of the calling host thread in ns (CLOCK_THREAD_CPUTIME_ID).</summary>
    public static long ThreadCpuNs()
    {
        long* ts = stackalloc long[2];
        return clock_gettime_(3, ts) == 0 ? ts[0] * 1_000_000_000 + ts[1] : 0;
    }
    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint read_(int fd, byte* buf, nuint n);
    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write_(int fd, byte* buf, nuint n);
    [LibraryImport("libc", EntryPoint = "pread64", SetLastError = true)]
    private static partial nint pread_(int fd, byte* buf, nuint n, long off);
    [LibraryImport("libc", EntryPoint = "pwrite64", SetLastError = true)]
    private static partial nint pwrite_(int fd, byte* buf, nuint n, long off);
    [LibraryImport("libc", EntryPoint = "lseek64", SetLastError = true)]
    private static partial long lseek_(int fd, long off, int whence);
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int statx_(int dirfd, byte* path, int flags, uint mask, byte* buf);
    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall4(long nr, long a, long b, long c);
    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true)]
    private static partial nint readlinkat_(int dirfd, byte* path, byte* buf, nuint n);
    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    private static partial int mkdirat_(int dirfd, byte* path, int mode);
    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    private static partial int unlinkat_(int dirfd, byte* path, int flags);
    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static partial int renameat2_(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);
    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true)]
    private static partial int symlinkat_(byte* target, int newdirfd, byte* linkpath);
    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true)]
    private static partial int linkat_(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);
    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true)]
    private static partial int fchmodat_(int dirfd, byte* path, int mode, int flags);
    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int fchmod_(int fd, int mode);
    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true)]
    private static partial int fchownat_(int dirfd, byte* path, int uid, int gid, int flags);
    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int fchown_(int fd, int uid, int gid);
    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int futimens_(int fd, long* times);
    public static int Futimens(int fd, long* times) => R(futimens_(fd, times));
    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true)]
    private static partial nint lgetxattr_(byte* path, byte* name, byte* value, nuint size);
    [LibraryImport("libc", EntryPoint = "getxattr", SetLastError = true)]
    private static partial nint getxattr_(byte* path, byte* name, byte* value, nuint size);
    [LibraryImport("libc", EntryPoint = "fgetxattr", SetLastError = true)]
    private static partial nint fgetxattr_(int fd, byte* name, byte* value, nuint size);
    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true)]
    private static partial nint llistxattr_(byte* path, byte* list, nuint size);
    [LibraryImport("libc", EntryPoint = "listxattr", SetLastError = true)]
    private static partial nint listxattr_(byte* path, byte* list, nuint size);
    [LibraryImport("libc", EntryPoint = "flistxattr", SetLastError = true)]
    private static partial nint flistxattr_(int fd, byte* list, nuint size);
    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true)]
    private static partial int lsetxattr_(byte* path, byte* name, byte* value, nuint size, int flags);
    [LibraryImport("libc", EntryPoint = "setxattr", SetLastError = true)]
    private static partial int setxattr_(byte* path, byte* name, byte* value, nuint size, int flags);
    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true)]
    private static partial int fsetxattr_(int fd, byte* name, byte* value, nuint size, int flags);
    [LibraryImport("libc", EntryPoint = "lremovexattr", SetLastError = true)]
    private static partial int lremovexattr_(byte* path, byte* name);
    [LibraryImport("libc", EntryPoint = "removexattr", SetLastError = true)]
    private static partial int removexattr_(byte* path, byte* name);
    [LibraryImport("libc", EntryPoint = "fremovexattr", SetLastError = true)]
    private static partial int fremovexattr_(int fd, byte* name);

    static long RL(nint r) => r < 0 ? Err() : r;
    public static long GetXattr(byte* path, int fd, bool follow, byte* name, byte* value, nuint size) =>
        RL(fd >= 0 ? fgetxattr_(fd, name, value, size) : follow ? getxattr_(path, name, value, size) : lgetxattr_(path, name, value, size));
    public static long ListXattr(byte* path, int fd, bool follow, byte* list, nuint size) =>
        RL(fd >= 0 ? flistxattr_(fd, list, size) : follow ? listxattr_(path, list, size) : llistxattr_(path, list, size));
    public static int SetXattr(byte* path, int fd, bool follow, byte* name, byte* value, nuint size, int flags) =>
        R(fd >= 0 ? fsetxattr_(fd, name, value, size, flags) : follow ? setxattr_(path, name, value, size, flags) : lsetxattr_(path, name, value, size, flags));
    public static int RemoveXattr(byte* path, int fd, bool follow, byte* name) =>
        R(fd >= 0 ? fremovexattr_(fd, name) : follow ? removexattr_(path, name) : lremovexattr_(path, name));

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true)]
    private static partial int utimensat_(int dirfd, byte* path, long* times, int flags);
    [LibraryImport("libc", EntryPoint = "ftruncate64", SetLastError = true)]
    private static partial int ftruncate_(int fd, long len);
    [LibraryImport("libc", EntryPoint = "truncate64", SetLastError = true)]
    private static partial int truncate_(byte* path, long len);
    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int fsync_(int fd);
    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int fdatasync_(int fd);
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl_(int fd, ulong req, byte* arg);
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl_(int fd, int cmd, long arg);
    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int dup_(int fd);
    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int pipe2_(int* fds, int flags);
    [LibraryImport("libc", EntryPoint = "faccessat", SetLastError = true)]
    private static partial int faccessat_(int dirfd, byte* path, int mode, int flags);
    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int poll_(byte* fds, ulong n, int timeout);
    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int flock_(int fd, int op);
    [LibraryImport("libc", EntryPoint = "mknodat", SetLastError = true)]
    private static partial int mknodat_(int dirfd, byte* path, uint mode, ulong dev);
    [LibraryImport("libc", EntryPoint = "fstatfs64", SetLastError = true)]
    private static partial int fstatfs_(int fd, byte* buf);
    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial int umask_(int mask);
    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int isatty_(int fd);
    [LibraryImport("libc", EntryPoint = "getuid")] public static partial uint getuid();
    [LibraryImport("libc", EntryPoint = "geteuid")] public static partial uint geteuid();
    [LibraryImport("libc", EntryPoint = "getgid")] public static partial uint getgid();
    [LibraryImport("libc", EntryPoint = "getegid")] public static partial uint getegid();
    [LibraryImport("libc", EntryPoint = "getpid")] public static partial int getpid();
    [LibraryImport("libc", EntryPoint = "getppid")] public static partial int getppid();

    static int Err() => -Marshal.GetLastPInvokeError();
    static int R(int r) => r < 0 ? Err() : r;
    static long R(long r) => r < 0 ? Err() : r;

    sealed class Utf8Path
    {
        public static byte[] Of(string s) { var b = new byte[System.Text.Encoding.UTF8.GetByteCount(s) + 1]; System.Text.Encoding.UTF8.GetBytes(s, b); return b; }
    }

    public static int OpenAt(int dirfd, byte[] path, int flags, int mode) { fixed (byte* p = Z(path)) return R(openat_(dirfd, p, flags, mode)); }
    public static int Close(int fd) => R(close_(fd));
    public static long Read(int fd, byte* buf, uint n) => R((long)read_(fd, buf, n));
    public static long Write(int fd, byte* buf, uint n) => R((long)write_(fd, buf, n));
    public static long PRead(int fd, byte* buf, uint n, long off) => R((long)pread_(fd, buf, n, off));
    public static long PWrite(int fd, byte* buf, uint n, long off) => R((long)pwrite_(fd, buf, n, off));
    public static long LSeek(int fd, long off, int whence) => R(lseek_(fd, off, whence));
    public static int Statx(int dirfd, byte[] path, int flags, uint mask, byte* buf) { fixed (byte* p = Z(path)) return R(statx_(dirfd, p, flags, mask, buf)); }
    /// <summary>getdents64 (SYS_getdents64 = 217 on x86-64, 61 on arm64/riscv64 generic table).</summary>
    public static long GetDents64(int fd, byte* buf, uint n)
    {
        long nr = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 217 : 61;
        return R(syscall4(nr, fd, (long)buf, n));
    }
    public static long ReadLinkAt(int dirfd, byte[] path, byte* buf, uint n) { fixed (byte* p = Z(path)) return R((long)readlinkat_(dirfd, p, buf, n)); }
    public static int MkdirAt(int dirfd, byte[] path, int mode) { fixed (byte* p = Z(path)) return R(mkdirat_(dirfd, p, mode)); }
    public static int UnlinkAt(int dirfd, byte[] path, int flags) { fixed (byte* p = Z(path)) return R(unlinkat_(dirfd, p, flags)); }
    public static int RenameAt2(int od, byte[] op, int nd, byte[] np, uint flags) { fixed (byte* a = Z(op)) fixed (byte* b = Z(np)) return R(renameat2_(od, a, nd, b, flags)); }
    public static int SymlinkAt(byte[] target, int nd, byte[] np) { fixed (byte* a = Z(target)) fixed (byte* b = Z(np)) return R(symlinkat_(a, nd, b)); }
    public static int LinkAt(int od, byte[] op, int nd, byte[] np, int flags) { fixed (byte* a = Z(op)) fixed (byte* b = Z(np)) return R(linkat_(od, a, nd, b, flags)); }
    public static int FchmodAt(int dirfd, byte[] path, int mode, int flags) { fixed (byte* p = Z(path)) return R(fchmodat_(dirfd, p, mode, flags)); }
    public static int Fchmod(int fd, int mode) => R(fchmod_(fd, mode));
    public static int FchownAt(int dirfd, byte[] path, int uid, int gid, int flags) { fixed (byte* p = Z(path)) return R(fchownat_(dirfd, p, uid, gid, flags)); }
    public static int Fchown(int fd, int uid, int gid) => R(fchown_(fd, uid, gid));
    public static int UtimensAt(int dirfd, byte[]? path, long* times, int flags)
    {
        if (path == null) return R(utimensat_(dirfd, null, times, flags));
        fixed (byte* p = Z(path)) return R(utimensat_(dirfd, p, times, flags));
    }
    public static int Ftruncate(int fd, long len) => R(ftruncate_(fd, len));
    public static int Truncate(byte[] path, long len) { fixed (byte* p = Z(path)) return R(truncate_(p, len)); }
    public static int Fsync(int fd) => R(fsync_(fd));
    public static int Fdatasync(int fd) => R(fdatasync_(fd));
    public static int Ioctl(int fd, ulong req, byte* arg) => R(ioctl_(fd, req, arg));
    public static int Fcntl(int fd, int cmd, long arg) => R(fcntl_(fd, cmd, arg));
    public static int Dup(int fd) => R(dup_(fd));
    public static int Pipe2(int* fds, int flags) => R(pipe2_(fds, flags));
    public static int FaccessAt(int dirfd, byte[] path, int mode, int flags) { fixed (byte* p = Z(path)) return R(faccessat_(dirfd, p, mode, flags)); }
    public static int Poll(byte* fds, uint n, int timeout) => R(poll_(fds, n, timeout));
    public static int Flock(int fd, int op) => R(flock_(fd, op));
    public static int MknodAt(int dirfd, byte[] path, uint mode, ulong dev) { fixed (byte* p = Z(path)) return R(mknodat_(dirfd, p, mode, dev)); }
    public static int Fstatfs(int fd, byte* buf) => R(fstatfs_(fd, buf));
    public static int Umask(int mask) => umask_(mask);
    public static bool IsATty(int fd) => isatty_(fd) == 1;

    /// <summary>NUL-terminated copy of a path.</summary>
    static byte[] Z(byte[] s)
    {
        if (s.Length > 0 && s[^1] == 0) return s;
        var b = new byte[s.Length + 1];
        s.CopyTo(b, 0);
        return b;
    }
    public static byte[] Bytes(string s) => System.Text.Encoding.UTF8.GetBytes(s);
}
