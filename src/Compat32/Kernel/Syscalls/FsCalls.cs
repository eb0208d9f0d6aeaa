using System.Text;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Syscalls;

/// <summary>
/// File system syscalls (fs/read_write.c, fs/open.c, fs/stat.c, fs/namei.c, fs/readdir.c, fs/ioctl.c,
/// fs/fcntl.c, arch/x86/kernel/sys_ia32.c). Host files pass through; structs are converted to i386 layouts.
/// </summary>
public static unsafe partial class FsCalls
{
    const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000, AT_EACCESS = 0x200;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.read, "dBu", (t, a, b, c, _, _, _) => Read(t, (int)a, b, c));
        s.Add(Nr.write, "dbu", (t, a, b, c, _, _, _) => Write(t, (int)a, b, c));
        s.Add(Nr.pread64, "dBuuu", (t, a, b, c, d, e, _) => PRead(t, (int)a, b, c, (long)((ulong)e << 32 | d)));
        s.Add(Nr.pwrite64, "dbuuu", (t, a, b, c, d, e, _) => PWrite(t, (int)a, b, c, (long)((ulong)e << 32 | d)));
        s.Add(Nr.readv, "dpd", (t, a, b, c, _, _, _) => Vec(t, (int)a, b, (int)c, write: false, -1));
        s.Add(Nr.writev, "dpd", (t, a, b, c, _, _, _) => Vec(t, (int)a, b, (int)c, write: true, -1));
        s.Add(Nr.preadv, "dpduu", (t, a, b, c, d, e, _) => Vec(t, (int)a, b, (int)c, write: false, (long)((ulong)e << 32 | d)));
        s.Add(Nr.pwritev, "dpduu", (t, a, b, c, d, e, _) => Vec(t, (int)a, b, (int)c, write: true, (long)((ulong)e << 32 | d)));
        s.Add(Nr.open, "sOo", (t, a, b, c, _, _, _) => OpenAt(t, AT_FDCWD, a, (int)b, (int)c));
        s.Add(Nr.openat, "fsOo", (t, a, b, c, d, _, _) => OpenAt(t, (int)a, b, (int)c, (int)d));
        s.Add(Nr.creat, "so", (t, a, b, _, _, _, _) => OpenAt(t, AT_FDCWD, a, LibC.O_CREAT | LibC.O_WRONLY | LibC.O_TRUNC, (int)b));
        s.Add(Nr.close, "d", (t, a, _, _, _, _, _) => t.Files.Close((int)a));
        s.Add(Nr.lseek, "ddd", (t, a, b, c, _, _, _) => Lseek(t, (int)a, (int)b, (int)c));
        s.Add(Nr._llseek, "duupd", (t, a, b, c, d, e, _) => Llseek(t, (int)a, b, c, d, (int)e));
        s.Add(Nr.stat64, "sp", (t, a, b, _, _, _, _) => StatAt(t, AT_FDCWD, a, b, 0, Layout.Stat64));
        s.Add(Nr.lstat64, "sp", (t, a, b, _, _, _, _) => StatAt(t, AT_FDCWD, a, b, AT_SYMLINK_NOFOLLOW, Layout.Stat64));
        s.Add(Nr.fstat64, "dp", (t, a, b, _, _, _, _) => Fstat(t, (int)a, b, Layout.Stat64));
        s.Add(Nr.fstatat64, "fspx", (t, a, b, c, d, _, _) => StatAt(t, (int)a, b, c, (int)d, Layout.Stat64));
        s.Add(Nr.stat, "sp", (t, a, b, _, _, _, _) => StatAt(t, AT_FDCWD, a, b, 0, Layout.Stat));
        s.Add(Nr.lstat, "sp", (t, a, b, _, _, _, _) => StatAt(t, AT_FDCWD, a, b, AT_SYMLINK_NOFOLLOW, Layout.Stat));
        s.Add(Nr.fstat, "dp", (t, a, b, _, _, _, _) => Fstat(t, (int)a, b, Layout.Stat));
        s.Add(Nr.statx, "fsxxp", (t, a, b, c, d, e, _) => Statx(t, (int)a, b, (int)c, d, e));
        s.Add(Nr.getdents64, "dpu", (t, a, b, c, _, _, _) => GetDents(t, (int)a, b, c, wide: true));
        s.Add(Nr.getdents, "dpu", (t, a, b, c, _, _, _) => GetDents(t, (int)a, b, c, wide: false));
        s.Add(Nr.ioctl, "dxx", (t, a, b, c, _, _, _) => Ioctl(t, (int)a, b, c));
        s.Add(Nr.fcntl64, "ddx", (t, a, b, c, _, _, _) => Fcntl(t, (int)a, (int)b, c, wide: true));
        s.Add(Nr.fcntl, "ddx", (t, a, b, c, _, _, _) => Fcntl(t, (int)a, (int)b, c, wide: false));
        s.Add(Nr.dup, "d", (t, a, _, _, _, _, _) => Dup(t, (int)a));
        s.Add(Nr.dup2, "dd", (t, a, b, _, _, _, _) => Dup3(t, (int)a, (int)b, 0, dup2: true));
        s.Add(Nr.dup3, "ddx", (t, a, b, c, _, _, _) => Dup3(t, (int)a, (int)b, (int)c, dup2: false));
        s.Add(Nr.pipe, "p", (t, a, _, _, _, _, _) => Pipe(t, a, 0));
        s.Add(Nr.pipe2, "px", (t, a, b, _, _, _, _) => Pipe(t, a, (int)b));
        s.Add(Nr.access, "so", (t, a, b, _, _, _, _) => FaccessAt(t, AT_FDCWD, a, (int)b, 0));
        s.Add(Nr.faccessat, "fso", (t, a, b, c, _, _, _) => FaccessAt(t, (int)a, b, (int)c, 0));
        s.Add(Nr.faccessat2, "fsox", (t, a, b, c, d, _, _) => FaccessAt(t, (int)a, b, (int)c, (int)d));
        s.Add(Nr.getcwd, "pu", (t, a, b, _, _, _, _) => GetCwd(t, a, b));
        s.Add(Nr.chdir, "s", (t, a, _, _, _, _, _) => Chdir(t, a));
        s.Add(Nr.fchdir, "d", (t, a, _, _, _, _, _) => Fchdir(t, (int)a));
        s.Add(Nr.mkdir, "so", (t, a, b, _, _, _, _) => PathOp(t, AT_FDCWD, a, (d, p) => LibC.MkdirAt(d, p, (int)b & ~t.Fs.Umask)));
        s.Add(Nr.mkdirat, "fso", (t, a, b, c, _, _, _) => PathOp(t, (int)a, b, (d, p) => LibC.MkdirAt(d, p, (int)c & ~t.Fs.Umask)));
        s.Add(Nr.rmdir, "s", (t, a, _, _, _, _, _) => PathOp(t, AT_FDCWD, a, (d, p) => LibC.UnlinkAt(d, p, AT_REMOVEDIR)));
        s.Add(Nr.unlink, "s", (t, a, _, _, _, _, _) => PathOp(t, AT_FDCWD, a, (d, p) => LibC.UnlinkAt(d, p, 0)));
        s.Add(Nr.unlinkat, "fsx", (t, a, b, c, _, _, _) => (c & ~(uint)AT_REMOVEDIR) != 0 ? -Errno.EINVAL : PathOp(t, (int)a, b, (d, p) => LibC.UnlinkAt(d, p, (int)c)));
        s.Add(Nr.rename, "ss", (t, a, b, _, _, _, _) => Path2(t, AT_FDCWD, a, AT_FDCWD, b, (d1, p1, d2, p2) => LibC.RenameAt2(d1, p1, d2, p2, 0)));
        s.Add(Nr.renameat, "fsfs", (t, a, b, c, d, _, _) => Path2(t, (int)a, b, (int)c, d, (d1, p1, d2, p2) => LibC.RenameAt2(d1, p1, d2, p2, 0)));
        s.Add(Nr.renameat2, "fsfsx", (t, a, b, c, d, e, _) => RenameFlags(t, e) is int bad and < 0 ? bad : Path2(t, (int)a, b, (int)c, d, (d1, p1, d2, p2) => LibC.RenameAt2(d1, p1, d2, p2, e)));
        s.Add(Nr.link, "ss", (t, a, b, _, _, _, _) => Path2(t, AT_FDCWD, a, AT_FDCWD, b, (d1, p1, d2, p2) => LibC.LinkAt(d1, p1, d2, p2, 0)));
        s.Add(Nr.linkat, "fsfsx", (t, a, b, c, d, e, _) => LinkAt(t, (int)a, b, (int)c, d, (int)e));
        s.Add(Nr.symlink, "ss", (t, a, b, _, _, _, _) => Symlink(t, a, AT_FDCWD, b));
        s.Add(Nr.symlinkat, "sfs", (t, a, b, c, _, _, _) => Symlink(t, a, (int)b, c));
        s.Add(Nr.readlink, "spu", (t, a, b, c, _, _, _) => ReadlinkAt(t, AT_FDCWD, a, b, c));
        s.Add(Nr.readlinkat, "fspu", (t, a, b, c, d, _, _) => ReadlinkAt(t, (int)a, b, c, d));
        s.Add(Nr.chmod, "so", (t, a, b, _, _, _, _) => PathOp(t, AT_FDCWD, a, (d, p) => LibC.FchmodAt(d, p, (int)b, 0)));
        s.Add(Nr.fchmodat, "fso", (t, a, b, c, _, _, _) => PathOp(t, (int)a, b, (d, p) => LibC.FchmodAt(d, p, (int)c, 0)));
        s.Add(Nr.fchmod, "do", (t, a, b, _, _, _, _) => WithFd(t, (int)a, fd => LibC.Fchmod(fd, (int)b)));
        s.Add(Nr.chown32, "sdd", (t, a, b, c, _, _, _) => PathOp(t, AT_FDCWD, a, (d, p) => LibC.FchownAt(d, p, (int)b, (int)c, 0)));
        s.Add(Nr.lchown32, "sdd", (t, a, b, c, _, _, _) => PathOp(t, AT_FDCWD, a, (d, p) => LibC.FchownAt(d, p, (int)b, (int)c, AT_SYMLINK_NOFOLLOW)));
        s.Add(Nr.fchown32, "ddd", (t, a, b, c, _, _, _) => WithFd(t, (int)a, fd => LibC.Fchown(fd, (int)b, (int)c)));
        // do_fchownat: the flags before the name (-EINVAL ahead of -EFAULT)
        s.Add(Nr.fchownat, "fsddx", (t, a, b, c, d, e, _) => (e & ~(uint)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) != 0 ? -Errno.EINVAL
            : PathOp(t, (int)a, b, (dd, p) => LibC.FchownAt(dd, p, (int)c, (int)d, (int)e)));
        s.Add(Nr.utimensat, "fspx", (t, a, b, c, d, _, _) => Utimensat(t, (int)a, b, c, (int)d, wide: false));
        s.Add(Nr.utimensat_time64, "fspx", (t, a, b, c, d, _, _) => Utimensat(t, (int)a, b, c, (int)d, wide: true));
        s.Add(Nr.truncate64, "suu", (t, a, b, c, _, _, _) => (long)((ulong)c << 32 | b) < 0 ? -Errno.EINVAL
            : PathOp(t, AT_FDCWD, a, (d, p) => TruncatePath(d, p, (long)((ulong)c << 32 | b))));
        s.Add(Nr.ftruncate64, "duu", (t, a, b, c, _, _, _) => WithFd(t, (int)a, fd => LibC.Ftruncate(fd, (long)((ulong)c << 32 | b))));
        // do_sys_truncate: a negative length is -EINVAL before the name is looked at
        s.Add(Nr.truncate, "sd", (t, a, b, _, _, _, _) => (int)b < 0 ? -Errno.EINVAL : PathOp(t, AT_FDCWD, a, (d, p) => TruncatePath(d, p, (int)b)));
        s.Add(Nr.ftruncate, "dd", (t, a, b, _, _, _, _) => WithFd(t, (int)a, fd => LibC.Ftruncate(fd, (int)b)));
        s.Add(Nr.fsync, "d", (t, a, _, _, _, _, _) => WithFd(t, (int)a, fd => LibC.Fsync(fd)));
        s.Add(Nr.fdatasync, "d", (t, a, _, _, _, _, _) => WithFd(t, (int)a, fd => LibC.Fdatasync(fd)));
        s.Add(Nr.sync, "", (t, _, _, _, _, _, _) => 0);
        s.Add(Nr.umask, "o", (t, a, _, _, _, _, _) => { int old = t.Fs.Umask; t.Fs.Umask = (int)a & 0x1FF; return old; }, 'o');
        s.Add(Nr.poll, "pud", (t, a, b, c, _, _, _) => Poll(t, a, b, (int)c));
        s.Add(Nr._newselect, "dpppp", (t, a, b, c, d, e, _) => Select(t, (int)a, b, c, d, e));
        s.Add(Nr.select, "p", (t, a, _, _, _, _, _) => OldSelect(t, a));
        s.Add(Nr.pselect6, "dppppp", (t, a, b, c, d, e, f) => PSelect(t, (int)a, b, c, d, e, f, wide: false));
        s.Add(Nr.pselect6_time64, "dppppp", (t, a, b, c, d, e, f) => PSelect(t, (int)a, b, c, d, e, f, wide: true));
        s.Add(Nr.ppoll, "puppu", (t, a, b, c, d, e, _) => PPoll(t, a, b, c, d, e, wide: false));
        s.Add(Nr.ppoll_time64, "puppu", (t, a, b, c, d, e, _) => PPoll(t, a, b, c, d, e, wide: true));
        s.Add(Nr.statfs64, "sup", (t, a, b, c, _, _, _) => StatFs(t, a, -1, b, c));
        s.Add(Nr.fstatfs64, "dup", (t, a, b, c, _, _, _) => StatFs(t, 0, (int)a, b, c));
        s.Add(Nr.fadvise64_64, "duuuud", (t, a, _, _, _, _, _) => t.Files.Get((int)a) == null ? -Errno.EBADF : 0);
        s.Add(Nr.fadvise64, "duuud", (t, a, _, _, _, _, _) => t.Files.Get((int)a) == null ? -Errno.EBADF : 0);
        s.Add(Nr.fallocate, "dduuuu", (t, a, _, _, _, _, _) => t.Files.Get((int)a) == null ? -Errno.EBADF : -Errno.EOPNOTSUPP);
        s.Add(Nr.flock, "dx", (t, a, b, _, _, _, _) => Flock(t, (int)a, b));
        s.Add(Nr.mknod, "sox", (t, a, b, c, _, _, _) => Mknod(t, AT_FDCWD, a, b, c));
        s.Add(Nr.mknodat, "fsox", (t, a, b, c, d, _, _) => Mknod(t, (int)a, b, c, d));
    }

    // ---------------------------------------------------------------- helpers

    static int WithFd(Task t, int fd, Func<int, int> op)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (f.HostFd < 0) return -Errno.EINVAL;
        return op(f.HostFd);
    }

    static int PathOp(Task t, int dirfd, uint pathPtr, Func<int, byte[], int> op)
    {
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        r = PathResolver.Resolve(t, dirfd, path, out var hp);
        if (r < 0) return r;
        return op(hp.DirFd, hp.Path);
    }

    /// <summary>Two names, in the kernel's order (do_renameat2, do_linkat): the first name's copy and dirfd count
    /// before the second name's (getname's error surfaces at that name's lookup).</summary>
    static int Path2(Task t, int d1, uint p1, int d2, uint p2, Func<int, byte[], int, byte[], int> op)
    {
        int r = PathResolver.ReadPath(t, p1, out var a);
        if (r < 0) return r;
        r = PathResolver.Resolve(t, d1, a, out var ha);
        if (r < 0) return r;
        r = PathResolver.ReadPath(t, p2, out var b);
        if (r < 0) return r;
        r = PathResolver.Resolve(t, d2, b, out var hb);
        if (r < 0) return r;
        return op(ha.DirFd, ha.Path, hb.DirFd, hb.Path);
    }

    /// <summary>do_renameat2's flag checks, before either name: unknown bits or EXCHANGE with NOREPLACE/WHITEOUT
    /// -EINVAL, WHITEOUT without CAP_MKNOD -EPERM.</summary>
    static int RenameFlags(Task t, uint flags)
    {
        const uint NOREPLACE = 1, EXCHANGE = 2, WHITEOUT = 4;
        if ((flags & ~(NOREPLACE | EXCHANGE | WHITEOUT)) != 0) return -Errno.EINVAL;
        if ((flags & (NOREPLACE | WHITEOUT)) != 0 && (flags & EXCHANGE) != 0) return -Errno.EINVAL;
        if ((flags & WHITEOUT) != 0 && (t.Group.Creds.CapEff & (1UL << 27)) == 0) return -Errno.EPERM;
        return 0;
    }

    /// <summary>linkat (fs/namei.c do_linkat): the flags first (-EINVAL beyond AT_SYMLINK_FOLLOW | AT_EMPTY_PATH;
    /// AT_EMPTY_PATH without CAP_DAC_READ_SEARCH -ENOENT), then the old name is copied and looked up (-EFAULT, its
    /// dirfd, its existence) before the new name's copy and dirfd count.</summary>
    static int LinkAt(Task t, int d1, uint p1, int d2, uint p2, int flags)
    {
        const int AT_SYMLINK_FOLLOW = 0x400, AT_EMPTY_PATH = 0x1000;
        if ((flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        if ((flags & AT_EMPTY_PATH) != 0 && (t.Group.Creds.CapEff & (1UL << 2)) == 0) return -Errno.ENOENT;
        int r = PathResolver.ReadPath(t, p1, out var a);
        if (r < 0) return r;
        PathResolver.HostPath ha;
        if (a.Length == 0 && (flags & AT_EMPTY_PATH) != 0 && d1 != AT_FDCWD)
        {
            var f = t.Files.Get(d1);
            if (f == null) return -Errno.EBADF;
            if (f.HostFd < 0) return -Errno.ENOENT;
            ha = new PathResolver.HostPath(f.HostFd, a);
        }
        else
        {
            r = PathResolver.Resolve(t, d1, a, out ha);
            if (r < 0) return r;
            Span<byte> sx = stackalloc byte[256];
            fixed (byte* sp = sx)
                r = LibC.Statx(ha.DirFd, ha.Path, (flags & AT_SYMLINK_FOLLOW) != 0 ? 0 : LibC.AT_SYMLINK_NOFOLLOW, 0, sp);
            if (r < 0) return r;
        }
        r = PathResolver.ReadPath(t, p2, out var b);
        if (r < 0) return r;
        r = PathResolver.Resolve(t, d2, b, out var hb);
        if (r < 0) return r;
        return LibC.LinkAt(ha.DirFd, ha.Path, hb.DirFd, hb.Path, flags);
    }

    /// <summary>do_sys_truncate + vfs_truncate: a negative length is -EINVAL, a directory -EISDIR and anything else
    /// that is not a regular file -EINVAL, before any open (an open of a FIFO for writing would wait for a reader:
    /// the syscall fuzzer hung there, deaf to signals).</summary>
    static int TruncatePath(int dirfd, byte[] path, long len)
    {
        if (len < 0) return -Errno.EINVAL;
        Span<byte> sx = stackalloc byte[256];
        fixed (byte* p = sx)
        {
            int sr = LibC.Statx(dirfd, path, 0, 1 /* STATX_TYPE */, p);
            if (sr < 0) return sr;
        }
        int type = U.R16(sx, 28) & 0xF000;
        if (type == 0x4000) return -Errno.EISDIR;
        if (type != 0x8000) return -Errno.EINVAL;
        // O_NONBLOCK: should the name have become a FIFO since, the open fails rather than waits
        int fd = LibC.OpenAt(dirfd, path, LibC.O_WRONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
        if (fd < 0) return fd;
        int r = LibC.Ftruncate(fd, len);
        LibC.Close(fd);
        return r;
    }

    // ---------------------------------------------------------------- read / write

    const uint MaxRw = 0x7FFFF000; // MAX_RW_COUNT

    static int Read(Task t, int fd, uint buf, uint count)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if ((f.Flags & 3) == LibC.O_WRONLY) return -Errno.EBADF;
        if (f.IsDirectory) return -Errno.EISDIR;
        count = Math.Min(count, MaxRw);
        if (f is KernelFile kf) return kf.Read(t, buf, count);
        if (count == 0) return 0;
        if (f is Net.SocketFile so) return Net.SocketCalls.ReadWrite(t, so, buf, count, write: false);
        if (!t.Mem.CanWrite(buf, count)) return ReadBounce(t, f, buf, count);
        if (f.Synthetic != null) return ReadSynthetic(t, f, buf, count);
        if (f.Kind == FileKind.Terminal) { int j = JobControl.CheckRead(t, f); if (j != 0) return j; }
        int w = WaitReadable(t, f);
        if (w != 0) return w;
        t.Mem.NoteWrite(buf, count);
        long r = LibC.Read(f.HostFd, t.Mem.Ptr(buf), count);
        return (int)r;
    }

    /// <summary>A read that would block on a pipe, terminal or socket sleeps interruptibly (pipe_read's
    /// wait_event_interruptible): a signal that can be delivered ends the wait with -ERESTARTSYS, which becomes
    /// a restart (SA_RESTART) or -EINTR on the way out. Regular files never block.</summary>
    static int WaitReadable(Task t, OpenFile f)
    {
        if (f.HostFd < 0 || (f.Flags & LibC.O_NONBLOCK) != 0 || f.Kind == FileKind.Regular) return 0;
        return HostWait.WaitFd(t, f.HostFd, POLLIN, -Errno.ERESTARTSYS);
    }

    /// <summary>Partly unwritable buffer: read what fits before the first bad page, like copy_to_user would.</summary>
    static int ReadBounce(Task t, OpenFile f, uint buf, uint count)
    {
        uint ok = 0;
        while (ok < count && t.Mem.CanWrite(buf + ok, 1)) ok = Math.Min(count, ((buf + ok) & ~0xFFFu) + 0x1000 - buf);
        if (ok == 0) return -Errno.EFAULT;
        if (f.Synthetic != null) return ReadSynthetic(t, f, buf, ok);
        // pipe_read waits for data before it copies: the wait stays interruptible whatever the buffer.
        int w = WaitReadable(t, f);
        if (w != 0) return w;
        if (f.Kind == FileKind.Pipe)
        {
            // pipe_read: a copy that falls short fails with -EFAULT and leaves the data in the pipe; only what fits
            // before the bad page is a complete read.
            int avail = 0;
            if (LibC.Ioctl(f.HostFd, 0x541B /* FIONREAD */, (byte*)&avail) == 0 && avail > ok) return -Errno.EFAULT;
        }
        t.Mem.NoteWrite(buf, ok);
        return (int)LibC.Read(f.HostFd, t.Mem.Ptr(buf), ok);
    }

    static int ReadSynthetic(Task t, OpenFile f, uint buf, uint count)
    {
        var data = f.Synthetic!;
        long avail = Math.Max(0, data.Length - f.SyntheticPos);
        int n = (int)Math.Min(avail, count);
        if (n > 0 && !t.Mem.CopyToUser(buf, data.AsSpan((int)f.SyntheticPos, n))) return -Errno.EFAULT;
        f.SyntheticPos += n;
        return n;
    }

    static int Write(Task t, int fd, uint buf, uint count)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if ((f.Flags & 3) == LibC.O_RDONLY) return -Errno.EBADF;
        count = Math.Min(count, MaxRw);
        if (f is KernelFile kf) return kf.Write(t, buf, count);
        if (f is Net.SocketFile so) return Net.SocketCalls.ReadWrite(t, so, buf, count, write: true);
        if (f is ProcFile { CommOf: not null } pf)
        {
            var cb = new byte[Math.Min(count, 15u)];
            if (U.Get(t, buf, cb) != 0) return -Errno.EFAULT;
            return ProcFs.WriteComm(t, pf, cb, (int)count);
        }
        if (f.Synthetic != null || f.HostFd < 0) return -Errno.EBADF;
        if (count == 0) return 0;
        if (!t.Mem.CanRead(buf, count)) return -Errno.EFAULT;
        bool blocking = (f.Flags & LibC.O_NONBLOCK) == 0;
        if (blocking && f.Kind == FileKind.Unknown && f.HostFd >= 0) f.Kind = HostKind(f.HostFd); // inherited stdio
        if (blocking && f.Kind == FileKind.Pipe) return PipeWrite(t, f, buf, count);
        if (blocking && f.Kind is FileKind.Terminal or FileKind.Socket)
        {
            int w = HostWait.WaitFd(t, f.HostFd, POLLOUT, -Errno.ERESTARTSYS);
            if (w != 0) return w;
        }
        long r = LibC.Write(f.HostFd, t.Mem.Ptr(buf), count);
        if (r == -Errno.EPIPE) t.Kernel.Signals.Send(t, Signals.Sig.SIGPIPE);
        return (int)r;
    }

    /// <summary>
    /// pipe_write for a blocking writer. The bytes go through a non-blocking alias of the pipe (the shared host
    /// description keeps its flags), so a full pipe sleeps here, interruptibly: -ERESTARTSYS when nothing was
    /// written yet, else the count so far. Writes of at most PIPE_BUF stay atomic (the host's own guarantee).
    /// No reader: SIGPIPE and -EPIPE (or the count so far).
    /// </summary>
    static int PipeWrite(Task t, OpenFile f, uint buf, uint count)
    {
        int nb = f.NonBlockingWriter();
        long done = 0;
        while (true)
        {
            // Without an alias (no reader yet, or not reopenable) the host write cannot block for long: EPIPE.
            long r = LibC.Write(nb >= 0 ? nb : f.HostFd, t.Mem.Ptr(buf + (uint)done), count - (uint)done);
            if (r > 0) { done += r; if (done == count) return (int)done; continue; }
            if (r == -Errno.EPIPE) t.Kernel.Signals.Send(t, Signals.Sig.SIGPIPE);
            if (r != -Errno.EAGAIN || nb < 0) return done > 0 ? (int)done : (int)r;
            int w = HostWait.WaitFd(t, nb, POLLOUT, -Errno.ERESTARTSYS);
            if (w != 0) return done > 0 ? (int)done : w;
        }
    }

    static int PRead(Task t, int fd, uint buf, uint count, long off)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (off < 0) return -Errno.EINVAL;
        if (f.IsDirectory) return -Errno.EISDIR;
        if (!t.Mem.CanWrite(buf, count)) return -Errno.EFAULT;
        if (f.Synthetic != null) { var save = f.SyntheticPos; f.SyntheticPos = off; int n = ReadSynthetic(t, f, buf, count); f.SyntheticPos = save; return n; }
        t.Mem.NoteWrite(buf, count);
        return (int)LibC.PRead(f.HostFd, t.Mem.Ptr(buf), Math.Min(count, MaxRw), off);
    }

    static int PWrite(Task t, int fd, uint buf, uint count, long off)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (off < 0) return -Errno.EINVAL;
        if (!t.Mem.CanRead(buf, count)) return -Errno.EFAULT;
        return (int)LibC.PWrite(f.HostFd, t.Mem.Ptr(buf), Math.Min(count, MaxRw), off);
    }

    /// <summary>readv/writev: struct compat_iovec {u32 base, u32 len}; stops at the first short transfer.</summary>
    static int Vec(Task t, int fd, uint iov, int cnt, bool write, long off)
    {
        var f = t.Files.Get(fd); // do_readv/do_writev: fdget_pos before import_iovec's count check
        if (f == null) return -Errno.EBADF;
        if (cnt < 0 || cnt > 1024) return -Errno.EINVAL;
        if (f is Net.SocketFile so && off < 0) return Net.SocketCalls.ReadWriteV(t, so, iov, cnt, write);
        var b = new byte[cnt * 8];
        if (U.Get(t, iov, b) != 0) return -Errno.EFAULT;
        long total = 0;
        for (int i = 0; i < cnt; i++)
        {
            uint p = U.R32(b, i * 8), len = U.R32(b, i * 8 + 4);
            if ((int)len < 0) return -Errno.EINVAL;
            if (len == 0) continue;
            int r = write ? (off >= 0 ? PWrite(t, fd, p, len, off + total) : Write(t, fd, p, len))
                          : (off >= 0 ? PRead(t, fd, p, len, off + total) : Read(t, fd, p, len));
            if (r < 0) return total > 0 ? (int)total : r;
            total += r;
            if ((uint)r < len) break;
        }
        return (int)total;
    }

    // ---------------------------------------------------------------- open / close / seek

    static int OpenAt(Task t, int dirfd, uint pathPtr, int flags, int mode)
    {
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        ProcRelative(t, ref dirfd, ref path);
        var special = ProcFs.TryOpen(t, path, flags);
        if (special != null)
        {
            if (special is int err) return err;
            return t.Files.Install((OpenFile)special, (flags & LibC.O_CLOEXEC) != 0);
        }
        r = PathResolver.Resolve(t, dirfd, path, out var hp);
        if (r < 0) return r;
        if ((flags & LibC.O_CREAT) != 0 || (flags & 0x410000) == 0x410000) mode &= ~t.Fs.Umask;
        int hfd = (flags & (LibC.O_NONBLOCK | LibC.O_PATH)) == 0 && (flags & 3) != LibC.O_RDWR && IsFifo(hp, flags)
            ? HostWait.OpenFifo(t, hp.DirFd, hp.Path, flags, mode)
            : LibC.OpenAt(hp.DirFd, hp.Path, flags | LibC.O_CLOEXEC, mode);
        if (hfd < 0) return hfd;
        var st = new byte[256];
        bool isDir = false;
        fixed (byte* sp = st)
            if (LibC.Statx(hfd, Array.Empty<byte>(), AT_EMPTY_PATH, 0x7FF, sp) == 0) isDir = (U.R16(st, 28) & 0xF000) == 0x4000;
        var kind = KindOfMode(U.R16(st, 28));
        var of = new OpenFile { HostFd = hfd, Flags = flags & ~LibC.O_CLOEXEC, Path = Encoding.UTF8.GetString(hp.Path), IsDirectory = isDir, Kind = kind };
        int fd = t.Files.Install(of, (flags & LibC.O_CLOEXEC) != 0);
        if (fd < 0) of.Release();
        return fd;
    }

    /// <summary>The kind of an already open host fd (Other when it cannot be told, which never waits).</summary>
    static FileKind HostKind(int hfd)
    {
        Span<byte> sx = stackalloc byte[256];
        fixed (byte* p = sx) if (LibC.Statx(hfd, Array.Empty<byte>(), AT_EMPTY_PATH, 1, p) != 0) return FileKind.Other;
        var k = KindOfMode(U.R16(sx, 28));
        return k == FileKind.Unknown ? FileKind.Other : k;
    }

    /// <summary>Whether an open would reach a FIFO (whose blocking open waits for the other end).</summary>
    static bool IsFifo(PathResolver.HostPath hp, int flags)
    {
        Span<byte> sx = stackalloc byte[256];
        int follow = (flags & LibC.O_NOFOLLOW) != 0 ? AT_SYMLINK_NOFOLLOW : 0;
        fixed (byte* p = sx) if (LibC.Statx(hp.DirFd, hp.Path, follow | 0x4000 /* AT_STATX_DONT_SYNC */, 1 /* STATX_TYPE */, p) != 0) return false;
        return (U.R16(sx, 28) & 0xF000) == 0x1000;
    }

    /// <summary>S_IFMT of a mode → the kind of file (include/uapi/linux/stat.h).</summary>
    public static FileKind KindOfMode(uint mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular, 0x4000 => FileKind.Directory, 0x1000 => FileKind.Pipe,
        0x2000 => FileKind.Terminal, 0xC000 => FileKind.Socket, 0 => FileKind.Unknown, _ => FileKind.Other,
    };

    static int Lseek(Task t, int fd, int off, int whence)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        long r = SeekFile(f, off, whence);
        if (r < 0) return (int)r;
        if (r > int.MaxValue) return -Errno.EOVERFLOW;
        return (int)r;
    }

    static long SeekFile(OpenFile f, long off, int whence)
    {
        if (whence < 0 || whence > 4) return -Errno.EINVAL;
        if (f.Synthetic != null || f is ProcDir)
        {
            long len = f is ProcDir d ? d.Entries.Count : f.Synthetic!.Length;
            long np = whence switch { 0 => off, 1 => f.SyntheticPos + off, 2 => len + off, _ => -1 };
            if (np < 0) return -Errno.EINVAL;
            f.SyntheticPos = np;
            return np;
        }
        return LibC.LSeek(f.HostFd, off, whence);
    }

    static int Llseek(Task t, int fd, uint hi, uint lo, uint result, int whence)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        long r = SeekFile(f, (long)(((ulong)hi << 32) | lo), whence);
        if (r < 0) return (int)r;
        Span<byte> b = stackalloc byte[8];
        U.W64(b, 0, r);
        return U.Put(t, result, b);
    }

    // ---------------------------------------------------------------- stat

    public enum Layout { Stat64, Stat }

    static uint NewEncodeDev(uint major, uint minor) => (minor & 0xFF) | (major << 8) | ((minor & ~0xFFu) << 12);

    /// <summary>cp_stat64 (arch/x86/kernel/sys_ia32.c) / cp_new_stat (fs/stat.c) from a host statx buffer.</summary>
    static int PutStat(Task t, uint ptr, ReadOnlySpan<byte> sx, Layout layout)
    {
        uint mode = U.R16(sx, 28), nlink = U.R32(sx, 16), uid = U.R32(sx, 20), gid = U.R32(sx, 24);
        ulong ino = U.R64(sx, 32), size = U.R64(sx, 40), blocks = U.R64(sx, 48);
        uint blksize = U.R32(sx, 4);
        long at = (long)U.R64(sx, 64), mt = (long)U.R64(sx, 112), ct = (long)U.R64(sx, 96);
        uint atn = U.R32(sx, 72), mtn = U.R32(sx, 120), ctn = U.R32(sx, 104);
        uint dev = NewEncodeDev(U.R32(sx, 136), U.R32(sx, 140)), rdev = NewEncodeDev(U.R32(sx, 128), U.R32(sx, 132));
        if (layout == Layout.Stat64)
        {
            var b = new byte[96];
            U.W64(b, 0, (ulong)dev);
            U.W32(b, 12, (uint)ino);
            U.W32(b, 16, mode);
            U.W32(b, 20, nlink);
            U.W32(b, 24, uid);
            U.W32(b, 28, gid);
            U.W64(b, 32, (ulong)rdev);
            U.W64(b, 44, size);
            U.W32(b, 52, blksize);
            U.W64(b, 56, blocks);
            U.W32(b, 64, (uint)at); U.W32(b, 68, atn);
            U.W32(b, 72, (uint)mt); U.W32(b, 76, mtn);
            U.W32(b, 80, (uint)ct); U.W32(b, 84, ctn);
            U.W64(b, 88, ino);
            return U.Put(t, ptr, b);
        }
        // struct stat (i386): 16-bit mode/nlink/uid/gid; EOVERFLOW when values do not fit (cp_new_stat).
        if (ino > uint.MaxValue || size > int.MaxValue || nlink > 0xFFFF) return -Errno.EOVERFLOW;
        var s = new byte[64];
        U.W32(s, 0, dev);
        U.W32(s, 4, (uint)ino);
        U.W16(s, 8, (ushort)mode);
        U.W16(s, 10, (ushort)nlink);
        U.W16(s, 12, (ushort)(uid > 0xFFFF ? 65534 : uid));
        U.W16(s, 14, (ushort)(gid > 0xFFFF ? 65534 : gid));
        U.W32(s, 16, rdev);
        U.W32(s, 20, (uint)size);
        U.W32(s, 24, blksize);
        U.W32(s, 28, (uint)blocks);
        U.W32(s, 32, (uint)at); U.W32(s, 36, atn);
        U.W32(s, 40, (uint)mt); U.W32(s, 44, mtn);
        U.W32(s, 48, (uint)ct); U.W32(s, 52, ctn);
        return U.Put(t, ptr, s);
    }

    /// <summary>vfs_fstatat: vfs_statx checks the flags (AT_STATX_SYNC_TYPE among the allowed ones) before the
    /// name's copy counts.</summary>
    static int StatAt(Task t, int dirfd, uint pathPtr, uint buf, int flags, Layout layout)
    {
        if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000)) != 0) return -Errno.EINVAL;
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        if (path.Length == 0 && (flags & AT_EMPTY_PATH) != 0) return dirfd == AT_FDCWD ? StatHost(t, t.Fs.CwdFd, Array.Empty<byte>(), AT_EMPTY_PATH, buf, layout) : Fstat(t, dirfd, buf, layout);
        ProcRelative(t, ref dirfd, ref path);
        var pe = ProcFs.Resolve(t, Encoding.UTF8.GetString(path), follow: (flags & AT_SYMLINK_NOFOLLOW) == 0);
        if (pe != null) return StatProc(t, pe, flags, buf, layout);
        r = PathResolver.Resolve(t, dirfd, path, out var hp);
        if (r < 0) return r;
        return StatHost(t, hp.DirFd, hp.Path, flags, buf, layout);
    }

    static int StatHost(Task t, int dirfd, byte[] path, int flags, uint buf, Layout layout)
    {
        var sx = new byte[256];
        int r;
        fixed (byte* p = sx) r = LibC.Statx(dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), 0x7FF, p);
        if (r < 0) return r;
        return PutStat(t, buf, sx, layout);
    }

    /// <summary>A /proc entry's stat (proc_pid_make_inode: size 0, the owner's ids; directories 0555, links 0777).</summary>
    static int StatSynthetic(Task t, uint mode, uint nlink, uint uid, uint gid, ulong size, string name, uint buf, Layout layout) =>
        PutStat(t, buf, SyntheticStatx(mode, nlink, uid, gid, size, name), layout);

    /// <summary>A struct statx for a /proc entry (STATX_BASIC_STATS).</summary>
    static byte[] SyntheticStatx(uint mode, uint nlink, uint uid, uint gid, ulong size, string name)
    {
        var sx = new byte[256];
        U.W32(sx, 0, 0x7FF);
        U.W16(sx, 28, (ushort)mode);
        U.W32(sx, 16, nlink);
        U.W32(sx, 20, uid);
        U.W32(sx, 24, gid);
        U.W32(sx, 4, 1024);
        U.W64(sx, 32, (ulong)(uint)StableHash(name) | 0x1000); // some nonzero inode number
        U.W64(sx, 40, size);
        U.W32(sx, 136, 0); U.W32(sx, 140, 22); // proc's anonymous device (0:22 in a typical boot)
        return sx;
    }

    /// <summary>The statx image of a resolved /proc entry (null for a host path or an error).</summary>
    static byte[]? ProcStatx(ProcEntry e) => e.Type switch
    {
        ProcType.Link => SyntheticStatx(0xA1FF, 1, e.Uid, e.Gid, (ulong)Encoding.UTF8.GetByteCount(e.Target!), e.Target!),
        ProcType.Dir => SyntheticStatx(0x416D, 2, e.Uid, e.Gid, 0, string.Join('/', e.Entries!.Select(x => x.Name))),
        ProcType.File => SyntheticStatx(0x8000 | (uint)e.Mode, 1, e.Uid, e.Gid, 0, "f"),
        _ => null,
    };

    /// <summary>The statx image of an open synthetic file, or null for a host-backed one.</summary>
    static byte[]? OpenSyntheticStatx(OpenFile f) =>
        f is ProcDir d ? SyntheticStatx(0x416D, 2, d.Uid, d.Gid, 0, d.Path)
        : f.Synthetic != null ? SyntheticStatx(0x8000 | (f is ProcFile { CommOf: not null } ? 0x1A4u : 0x124u), 1, 0, 0, 0, f.Path)
        : null;

    static int StableHash(string s) { int h = 17; foreach (char c in s) h = h * 31 + c; return h & 0x7FFFFFFF; }

    static int StatProc(Task t, ProcEntry e, int flags, uint buf, Layout layout) => e.Type switch
    {
        ProcType.Error => e.Error,
        ProcType.Host => StatHost(t, AT_FDCWD, LibC.Bytes(e.Target!), flags & ~AT_EMPTY_PATH, buf, layout),
        _ => PutStat(t, buf, ProcStatx(e)!, layout),
    };

    /// <summary>A path relative to an open /proc directory becomes absolute (the directory has no host fd).</summary>
    static void ProcRelative(Task t, ref int dirfd, ref byte[] path)
    {
        if (path.Length == 0 || path[0] == (byte)'/') return;
        string dir;
        if (dirfd == AT_FDCWD)
        {
            // a working directory under /proc (the guest's, or the host's below it) resolves by name
            lock (t.Fs.Lock) dir = t.Fs.Cwd;
            if (dir != "/proc" && !dir.StartsWith("/proc/", StringComparison.Ordinal)) return;
        }
        else if (t.Files.Get(dirfd) is ProcDir d) dir = d.Path;
        else return;
        path = Encoding.UTF8.GetBytes(dir + "/" + Encoding.UTF8.GetString(path));
        dirfd = AT_FDCWD;
    }

    /// <summary>set_fs_pwd: the new working directory (a host O_PATH fd and the guest's name for it).</summary>
    static void SetCwd(Task t, int fd, string cwd)
    {
        int old;
        lock (t.Fs.Lock) { old = t.Fs.CwdFd; t.Fs.CwdFd = fd; t.Fs.Cwd = cwd; }
        LibC.Close(old);
    }

    /// <summary>chdir into a /proc directory of ours: the name is kept (relative paths resolve by it, see
    /// ProcRelative); the host fd is /proc's, for calls that take it as is.</summary>
    static int ChdirProc(Task t, ProcEntry e)
    {
        if (e.Type == ProcType.Error) return e.Error;
        if (e.Type != ProcType.Dir) return -Errno.ENOTDIR;
        int fd = LibC.OpenAt(AT_FDCWD, LibC.Bytes("/proc"), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        if (fd < 0) return fd;
        SetCwd(t, fd, e.Canonical);
        return 0;
    }

    static int Fstat(Task t, int fd, uint buf, Layout layout)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (OpenSyntheticStatx(f) is { } ssx) return PutStat(t, buf, ssx, layout);
        if (f is KernelFile kf && kf.Statx() is { } ksx) return PutStat(t, buf, ksx, layout);
        return StatHost(t, f.HostFd, Array.Empty<byte>(), AT_EMPTY_PATH, buf, layout);
    }

    /// <summary>do_statx: STATX__RESERVED in the mask, both AT_STATX_SYNC bits, then vfs_statx's flag check, all
    /// before the name's copy counts.</summary>
    static int Statx(Task t, int dirfd, uint pathPtr, int flags, uint mask, uint buf)
    {
        if ((mask & 0x80000000u) != 0 || (flags & 0x6000) == 0x6000) return -Errno.EINVAL;
        if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000)) != 0) return -Errno.EINVAL;
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        int hdir; byte[] hpath;
        if (path.Length == 0 && (flags & AT_EMPTY_PATH) != 0)
        {
            if (dirfd == AT_FDCWD) hdir = t.Fs.CwdFd;
            else
            {
                var f = t.Files.Get(dirfd);
                if (f == null) return -Errno.EBADF;
                if (OpenSyntheticStatx(f) is { } ssx) return U.Put(t, buf, ssx);
                if (f is KernelFile kf && kf.Statx() is { } ksx) return U.Put(t, buf, ksx);
                hdir = f.HostFd;
            }
            hpath = Array.Empty<byte>();
        }
        else
        {
            ProcRelative(t, ref dirfd, ref path);
            var pe = ProcFs.Resolve(t, Encoding.UTF8.GetString(path), follow: (flags & AT_SYMLINK_NOFOLLOW) == 0);
            if (pe?.Type == ProcType.Error) return pe.Error;
            if (pe != null && ProcStatx(pe) is { } psx) return U.Put(t, buf, psx);
            if (pe?.Type == ProcType.Host) { path = LibC.Bytes(pe.Target!); dirfd = AT_FDCWD; }
            r = PathResolver.Resolve(t, dirfd, path, out var hp);
            if (r < 0) return r;
            hdir = hp.DirFd; hpath = hp.Path;
        }
        var sx = new byte[256];
        fixed (byte* p = sx) r = LibC.Statx(hdir, hpath, flags, mask, p);
        if (r < 0) return r;
        return U.Put(t, buf, sx); // struct statx is the same on every architecture
    }

    // ---------------------------------------------------------------- directories

    static int GetDents(Task t, int fd, uint buf, uint count, bool wide)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (!f.IsDirectory) return -Errno.ENOTDIR;
        if (!t.Mem.CanWrite(buf, Math.Min(count, 1))) return -Errno.EFAULT;
        count = Math.Min(count, 1 << 20);
        // Ask the host for no more than what could fit after conversion (old dirents are never larger).
        var tmp = new byte[count];
        long n, startPos = f.SyntheticPos;
        if (f is ProcDir pd) n = ProcDents(pd, tmp);
        else fixed (byte* p = tmp) n = LibC.GetDents64(f.HostFd, p, count);
        if (n < 0) return (int)n;
        if (wide) return U.Put(t, buf, tmp.AsSpan(0, (int)n)) == 0 ? (int)n : -Errno.EFAULT;
        // struct linux_dirent (compat): u32 d_ino, u32 d_off, u16 d_reclen, name, NUL, pad, d_type in the last byte.
        var outb = new byte[count];
        int o = 0, i = 0;
        long lastOff = -1;
        while (i < n)
        {
            ulong ino = U.R64(tmp, i);
            long off = (long)U.R64(tmp, i + 8);
            int reclen = U.R16(tmp, i + 16);
            byte type = tmp[i + 18];
            int nameLen = Array.IndexOf(tmp, (byte)0, i + 19) - (i + 19);
            int rl = (10 + nameLen + 2 + 3) & ~3;
            if (o + rl > count)
            {
                if (o == 0) { if (f is ProcDir) f.SyntheticPos = startPos; return -Errno.EINVAL; }
                SeekFile(f, lastOff, 0); // give back the entries that did not fit
                break;
            }
            if (ino > uint.MaxValue) return o > 0 ? o : -Errno.EOVERFLOW;
            U.W32(outb, o, (uint)ino);
            U.W32(outb, o + 4, (uint)off);
            U.W16(outb, o + 8, (ushort)rl);
            Array.Copy(tmp, i + 19, outb, o + 10, nameLen);
            outb[o + 10 + nameLen] = 0;
            outb[o + rl - 1] = type;
            o += rl;
            lastOff = off;
            i += reclen;
        }
        return U.Put(t, buf, outb.AsSpan(0, o)) == 0 ? o : -Errno.EFAULT;
    }

    /// <summary>linux_dirent64 records of a /proc listing from its position on (d_off: the next index).</summary>
    static long ProcDents(ProcDir d, byte[] buf)
    {
        int o = 0;
        while (d.SyntheticPos < d.Entries.Count)
        {
            var (name, type) = d.Entries[(int)d.SyntheticPos];
            var nb = Encoding.UTF8.GetBytes(name);
            int rl = (19 + nb.Length + 1 + 7) & ~7;
            if (o + rl > buf.Length) { if (o == 0) return -Errno.EINVAL; break; }
            Array.Clear(buf, o, rl);
            U.W64(buf, o, (ulong)(uint)StableHash(d.Path + "/" + name) | 0x1000);
            U.W64(buf, o + 8, d.SyntheticPos + 1);
            U.W16(buf, o + 16, (ushort)rl);
            buf[o + 18] = type;
            nb.CopyTo(buf, o + 19);
            o += rl;
            d.SyntheticPos++;
        }
        return o;
    }

    static int GetCwd(Task t, uint buf, uint size)
    {
        var b = Encoding.UTF8.GetBytes(t.Fs.Cwd + "\0");
        if (b.Length > size) return -Errno.ERANGE;
        return U.Put(t, buf, b) == 0 ? b.Length : -Errno.EFAULT;
    }

    static int Chdir(Task t, uint pathPtr)
    {
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        int dirfd = AT_FDCWD;
        ProcRelative(t, ref dirfd, ref path);
        var pe = ProcFs.Resolve(t, Encoding.UTF8.GetString(path), follow: true);
        if (pe != null && pe.Type != ProcType.Host) return ChdirProc(t, pe);
        if (pe != null) path = LibC.Bytes(pe.Target!);
        r = PathResolver.Resolve(t, AT_FDCWD, path, out var hp);
        if (r < 0) return r;
        int fd = LibC.OpenAt(hp.DirFd, hp.Path, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        if (fd < 0) return fd;
        SetCwd(t, fd, CanonicalCwd(t, fd, Encoding.UTF8.GetString(path)));
        return 0;
    }

    static int Fchdir(Task t, int dfd)
    {
        var f = t.Files.Get(dfd);
        if (f == null) return -Errno.EBADF;
        if (!f.IsDirectory) return -Errno.ENOTDIR;
        if (f is ProcDir d) return ChdirProc(t, new ProcEntry { Type = ProcType.Dir, Canonical = d.Path });
        int fd = LibC.Dup(f.HostFd);
        if (fd < 0) return fd;
        SetCwd(t, fd, CanonicalCwd(t, fd, f.Path));
        return 0;
    }

    /// <summary>The guest sees its working directory as a path inside the sysroot when it is one.</summary>
    static string CanonicalCwd(Task t, int fd, string fallback)
    {
        var buf = new byte[4096];
        long n;
        fixed (byte* p = buf) n = LibC.ReadLinkAt(LibC.AT_FDCWD, LibC.Bytes("/proc/self/fd/" + fd), p, 4096);
        return PathResolver.GuestView(t.Kernel.Options.Sysroot, n > 0 ? Encoding.UTF8.GetString(buf, 0, (int)n) : fallback);
    }

    static int FaccessAt(Task t, int dirfd, uint pathPtr, int mode, int flags)
    {
        if ((mode & ~7) != 0) return -Errno.EINVAL;
        if ((flags & ~(AT_SYMLINK_NOFOLLOW | AT_EACCESS | AT_EMPTY_PATH)) != 0) return -Errno.EINVAL;
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        ProcRelative(t, ref dirfd, ref path);
        var pe = ProcFs.Resolve(t, Encoding.UTF8.GetString(path), follow: (flags & AT_SYMLINK_NOFOLLOW) == 0);
        if (pe != null)
            return pe.Type switch
            {
                ProcType.Error => pe.Error,
                ProcType.Host => LibC.FaccessAt(AT_FDCWD, LibC.Bytes(pe.Target!), mode, flags),
                ProcType.Dir => (mode & 2) != 0 ? -Errno.EACCES : 0,
                ProcType.Link => 0,
                _ => (mode & 1) != 0 || ((mode & 2) != 0 && (pe.Mode & 0x80) == 0) ? -Errno.EACCES : 0,
            };
        r = PathResolver.Resolve(t, dirfd, path, out var hp);
        if (r < 0) return r;
        return LibC.FaccessAt(hp.DirFd, hp.Path, mode, flags);
    }

    static int Symlink(Task t, uint targetPtr, int dirfd, uint linkPtr)
    {
        int r = PathResolver.ReadPath(t, targetPtr, out var target);
        if (r < 0) return r;
        return PathOp(t, dirfd, linkPtr, (d, p) => LibC.SymlinkAt(target, d, p));
    }

    static int ReadlinkAt(Task t, int dirfd, uint pathPtr, uint buf, uint size)
    {
        if ((int)size <= 0) return -Errno.EINVAL;
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        ProcRelative(t, ref dirfd, ref path);
        var link = ProcFs.ReadLink(t, path);
        if (link != null)
        {
            var lb = Encoding.UTF8.GetBytes(link);
            int n = Math.Min(lb.Length, (int)size);
            return U.Put(t, buf, lb.AsSpan(0, n)) == 0 ? n : -Errno.EFAULT;
        }
        r = PathResolver.Resolve(t, dirfd, path, out var hp);
        if (r < 0) return r;
        var tmp = new byte[Math.Min(size, 65536u)];
        long got;
        fixed (byte* p = tmp) got = LibC.ReadLinkAt(hp.DirFd, hp.Path, p, (uint)tmp.Length);
        if (got < 0) return (int)got;
        return U.Put(t, buf, tmp.AsSpan(0, (int)got)) == 0 ? (int)got : -Errno.EFAULT;
    }

    static int Utimensat(Task t, int dirfd, uint pathPtr, uint times, int flags, bool wide)
    {
        long* ts = stackalloc long[4];
        long* tp = null;
        if (times != 0)
        {
            Span<byte> b = stackalloc byte[32];
            int sz = wide ? 32 : 16;
            if (U.Get(t, times, b[..sz]) != 0) return -Errno.EFAULT;
            for (int i = 0; i < 2; i++)
            {
                ts[i * 2] = wide ? (long)U.R64(b, i * 16) : (int)U.R32(b, i * 8);
                ts[i * 2 + 1] = wide ? (long)U.R64(b, i * 16 + 8) : (int)U.R32(b, i * 8 + 4);
            }
            tp = ts;
        }
        if (pathPtr == 0)
        {
            // utimensat(fd, NULL, ...) acts on the fd itself (do_utimes with a NULL name).
            if (dirfd == AT_FDCWD) return -Errno.EFAULT;
            var f = t.Files.Get(dirfd);
            if (f == null) return -Errno.EBADF;
            if (flags != 0) return -Errno.EINVAL;
            return LibC.Futimens(f.HostFd, tp);
        }
        int r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        r = PathResolver.Resolve(t, dirfd, path, out var hp);
        if (r < 0) return r;
        return LibC.UtimensAt(hp.DirFd, hp.Path, tp, flags);
    }

    // ---------------------------------------------------------------- descriptors

    static int Dup(Task t, int fd)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        int n = t.Files.Install(f.Ref(), false);
        if (n < 0) f.Release();
        return n;
    }

    /// <summary>ksys_dup3 (fs/file.c): dup3's flags and oldfd == newfd -EINVAL, a newfd at or past RLIMIT_NOFILE
    /// -EBADF, and only then oldfd (-EBADF); ksys_dup2 returns newfd when oldfd == newfd is open.</summary>
    static int Dup3(Task t, int oldfd, int newfd, int flags, bool dup2)
    {
        if (dup2 && oldfd == newfd) return t.Files.Get(oldfd) == null ? -Errno.EBADF : newfd;
        if (!dup2 && ((flags & ~LibC.O_CLOEXEC) != 0 || oldfd == newfd)) return -Errno.EINVAL;
        if ((uint)newfd >= (uint)t.Files.Limit) return -Errno.EBADF;
        var f = t.Files.Get(oldfd);
        if (f == null) return -Errno.EBADF;
        return t.Files.InstallAt(newfd, f.Ref(), (flags & LibC.O_CLOEXEC) != 0);
    }

    static int Pipe(Task t, uint fdsPtr, int flags)
    {
        if ((flags & ~(LibC.O_CLOEXEC | LibC.O_NONBLOCK | 0x4000)) != 0) return -Errno.EINVAL;
        if (!t.Mem.CanWrite(fdsPtr, 8)) return -Errno.EFAULT;
        int* h = stackalloc int[2];
        int r = LibC.Pipe2(h, (flags & ~LibC.O_CLOEXEC) | LibC.O_CLOEXEC);
        if (r < 0) return r;
        var rf = new OpenFile { HostFd = h[0], Flags = LibC.O_RDONLY | (flags & LibC.O_NONBLOCK), Path = "pipe:", Kind = FileKind.Pipe };
        var wf = new OpenFile { HostFd = h[1], Flags = LibC.O_WRONLY | (flags & LibC.O_NONBLOCK), Path = "pipe:", Kind = FileKind.Pipe };
        bool ce = (flags & LibC.O_CLOEXEC) != 0;
        int a = t.Files.Install(rf, ce);
        if (a < 0) { rf.Release(); wf.Release(); return a; }
        int b = t.Files.Install(wf, ce);
        if (b < 0) { t.Files.Close(a); wf.Release(); return b; }
        t.Mem.WriteU32(fdsPtr, (uint)a);
        t.Mem.WriteU32(fdsPtr + 4, (uint)b);
        return 0;
    }

    const int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7,
        F_SETOWN = 8, F_GETOWN = 9, F_GETLK64 = 12, F_SETLK64 = 13, F_SETLKW64 = 14, F_DUPFD_CLOEXEC = 1030,
        F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38, F_GETPIPE_SZ = 1032, F_SETPIPE_SZ = 1031;

    static int Fcntl(Task t, int fd, int cmd, uint arg, bool wide)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        switch (cmd)
        {
            case F_DUPFD: case F_DUPFD_CLOEXEC:
            {
                if ((int)arg < 0 || arg >= FdTable.Max) return -Errno.EINVAL;
                int n = t.Files.Install(f.Ref(), cmd == F_DUPFD_CLOEXEC, (int)arg);
                if (n < 0) f.Release();
                return n;
            }
            case F_GETFD: return t.Files.CloseOnExec(fd) ? 1 : 0;
            case F_SETFD: t.Files.SetCloseOnExec(fd, (arg & 1) != 0); return 0;
            case F_GETFL:
            {
                if (f.HostFd < 0 || f is KernelFile) return f.Flags;
                if (f is Net.SocketFile) return f.Flags; // a socket's O_NONBLOCK is the guest's alone
                int hf = LibC.Fcntl(f.HostFd, F_GETFL, 0);
                if (hf < 0) return hf;
                return (hf & ~LibC.O_CLOEXEC) | 0x8000; // a 64-bit kernel forces O_LARGEFILE
            }
            case F_SETFL:
            {
                const int settable = LibC.O_APPEND | LibC.O_NONBLOCK | 0x2000 | 0x4000 | 0x40000;
                if (f.HostFd >= 0 && f is not KernelFile && f is not Net.SocketFile)
                {
                    int hf = LibC.Fcntl(f.HostFd, F_GETFL, 0);
                    if (hf < 0) return hf;
                    int r = LibC.Fcntl(f.HostFd, F_SETFL, (hf & ~settable) | ((int)arg & settable));
                    if (r < 0) return r;
                }
                f.Flags = (f.Flags & ~settable) | ((int)arg & settable);
                return 0;
            }
            case F_GETLK: case F_SETLK: case F_SETLKW:
                return Lock(t, f, cmd, arg, wide64: false);
            case F_GETLK64: case F_SETLK64: case F_SETLKW64:
                if (!wide) return -Errno.EINVAL;
                return Lock(t, f, cmd - 7, arg, wide64: true);
            case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
                return Lock(t, f, cmd, arg, wide64: wide);
            case F_SETOWN: return 0;
            case F_GETOWN: return 0;
            case F_GETPIPE_SZ: case F_SETPIPE_SZ:
                return f.HostFd >= 0 ? LibC.Fcntl(f.HostFd, cmd, arg) : -Errno.EBADF;
            default: return -Errno.EINVAL;
        }
    }

    /// <summary>Record locks: i386 struct flock {s16 type, s16 whence, s32 start, s32 len, s32 pid} and
    /// flock64 {s16, s16, s64 start, s64 len, s32 pid} (packed to 4); the host's struct flock is 32 bytes.</summary>
    static int Lock(Task t, OpenFile f, int cmd, uint arg, bool wide64)
    {
        if (f.HostFd < 0) return -Errno.EBADF;
        int sz = wide64 ? 24 : 16;
        var g = new byte[24];
        if (U.Get(t, arg, g.AsSpan(0, sz)) != 0) return -Errno.EFAULT;
        var h = new byte[32];
        U.W16(h, 0, U.R16(g, 0));
        U.W16(h, 2, U.R16(g, 2));
        U.W64(h, 8, wide64 ? (long)U.R64(g, 4) : (int)U.R32(g, 4));
        U.W64(h, 16, wide64 ? (long)U.R64(g, 12) : (int)U.R32(g, 8));
        U.W32(h, 24, U.R32(g, wide64 ? 20 : 12)); // l_pid: the OFD commands want 0 (-EINVAL otherwise)
        int r;
        if (cmd is F_GETLK or F_SETLK or F_SETLKW && f.Kind == FileKind.Regular)
        {
            short type = (short)U.R16(h, 0);
            int whence = U.R16(h, 2);
            if (cmd != F_GETLK && (type == 0 && (f.Flags & 3) == LibC.O_WRONLY || type == 1 && (f.Flags & 3) == LibC.O_RDONLY))
                return -Errno.EBADF; // fcntl_setlk: the descriptor must allow the lock's kind
            if (whence == 1)
            {
                // SEEK_CUR is this descriptor's offset, not the lock description's
                long pos = LibC.LSeek(f.HostFd, 0, 1);
                if (pos < 0) return (int)pos;
                U.W16(h, 2, 0);
                U.W64(h, 8, (long)U.R64(h, 8) + pos);
            }
            r = PosixLocks.Fcntl(t, f, cmd, h, wait: cmd == F_SETLKW);
            if (r < 0 || cmd != F_GETLK) return r;
        }
        else if (cmd is F_SETLKW or F_OFD_SETLKW)
        {
            // fcntl_setlk's wait (wait_event_interruptible: -ERESTARTSYS) as non-blocking attempts
            int nb = cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK, hfd = f.HostFd;
            return HostWait.Retry(t, () => { fixed (byte* p = h) return LibC.Fcntl(hfd, nb, (long)p); }, -Errno.EAGAIN, -Errno.ERESTARTSYS);
        }
        else
        {
            fixed (byte* p = h) r = LibC.Fcntl(f.HostFd, cmd, (long)p);
            if (r < 0) return r;
        }
        if (cmd is F_GETLK or F_OFD_GETLK)
        {
            U.W16(g, 0, U.R16(h, 0));
            U.W16(g, 2, U.R16(h, 2));
            long start = (long)U.R64(h, 8), len = (long)U.R64(h, 16);
            int pid = (int)U.R32(h, 24);
            if (wide64) { U.W64(g, 4, start); U.W64(g, 12, len); U.W32(g, 20, pid); }
            else
            {
                if (start > int.MaxValue || len > int.MaxValue) return -Errno.EOVERFLOW;
                U.W32(g, 4, (int)start); U.W32(g, 8, (int)len); U.W32(g, 12, pid);
            }
            return U.Put(t, arg, g.AsSpan(0, sz));
        }
        return 0;
    }

    /// <summary>sys_flock. flock locks belong to the open file description, as the host's do, so the host
    /// description's lock is the guest's (shared across fork and dup, separate per open). A blocking request is
    /// retried as LOCK_NB (locks_lock_file_wait: -ERESTARTSYS on a signal).</summary>
    static int Flock(Task t, int fd, uint cmd)
    {
        const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8, LOCK_MAND = 32;
        if ((cmd & LOCK_MAND) != 0) return 0; // ignored since 5.15
        int op = (int)cmd & ~LOCK_NB;
        if (op is not (LOCK_SH or LOCK_EX or LOCK_UN)) return -Errno.EINVAL; // flock_translate_cmd
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (op != LOCK_UN && (f.Flags & LibC.O_PATH) != 0) return -Errno.EBADF; // neither FMODE_READ nor FMODE_WRITE
        if (f.HostFd < 0) return 0; // synthetic files: nobody else can hold this description
        int hfd = f.HostFd;
        if ((cmd & LOCK_NB) != 0 || op == LOCK_UN) return LibC.Flock(hfd, (int)cmd);
        return HostWait.Retry(t, () => LibC.Flock(hfd, op | LOCK_NB), -Errno.EWOULDBLOCK, -Errno.ERESTARTSYS);
    }

    /// <summary>mknod / mknodat (do_mknodat): S_IFREG (or 0), S_IFIFO and S_IFSOCK pass to the host; devices too
    /// (the host decides on CAP_MKNOD), their dev_t decoded from the compat encoding (new_decode_dev).</summary>
    static int Mknod(Task t, int dirfd, uint pathPtr, uint mode, uint dev)
    {
        uint type = mode & 0xF000;
        if (type == 0x4000) return -Errno.EPERM; // may_mknod
        if (type == 0) mode |= 0x8000;
        else if (type is not (0x8000 or 0x1000 or 0xC000 or 0x2000 or 0x6000)) return -Errno.EINVAL;
        uint major = (dev & 0xFFF00) >> 8, minor = (dev & 0xFF) | ((dev >> 12) & 0xFFF00);
        // glibc's makedev for the host
        ulong hdev = ((ulong)(major & 0xFFF) << 8) | ((ulong)(major & ~0xFFFu) << 32) | (minor & 0xFF) | ((ulong)(minor & ~0xFFu) << 12);
        return PathOp(t, dirfd, pathPtr, (d, p) => LibC.MknodAt(d, p, mode & ~(uint)t.Fs.Umask, hdev));
    }

    // ---------------------------------------------------------------- ioctl

    const uint TCGETS = 0x5401, TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TCSBRK = 0x5409, TCXONC = 0x540A,
        TCFLSH = 0x540B, TIOCSCTTY = 0x540E, TIOCGPGRP = 0x540F, TIOCSPGRP = 0x5410, TIOCOUTQ = 0x5411,
        TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, FIONREAD = 0x541B, FIONBIO = 0x5421, TIOCNOTTY = 0x5422,
        TIOCGSID = 0x5429, FIONCLEX = 0x5450, FIOCLEX = 0x5451, FIOASYNC = 0x5452, TIOCGPTN = 0x80045430;

    /// <summary>Terminal ioctls are answered by the host terminal: struct termios and winsize have the same
    /// layout for i386 and the 64-bit host (asm-generic termbits), so the bytes pass through.</summary>
    static int Ioctl(Task t, int fd, uint req, uint arg)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (f is Net.SocketFile so && Net.NetIoctl.Ioctl(t, so, req, arg) is int sr) return sr;
        if (JobControl.Ioctl(t, f, req, arg, out int jc)) return jc;
        switch (req)
        {
            case FIOCLEX: t.Files.SetCloseOnExec(fd, true); return 0;
            case FIONCLEX: t.Files.SetCloseOnExec(fd, false); return 0;
            case FIONBIO:
            {
                if (!t.Mem.ReadU32(arg, out uint on)) return -Errno.EFAULT;
                if (f is KernelFile) { f.Flags = on != 0 ? f.Flags | LibC.O_NONBLOCK : f.Flags & ~LibC.O_NONBLOCK; return 0; }
                int hf = LibC.Fcntl(f.HostFd, F_GETFL, 0);
                if (hf < 0) return hf;
                int r = LibC.Fcntl(f.HostFd, F_SETFL, on != 0 ? hf | LibC.O_NONBLOCK : hf & ~LibC.O_NONBLOCK);
                if (r == 0) f.Flags = on != 0 ? f.Flags | LibC.O_NONBLOCK : f.Flags & ~LibC.O_NONBLOCK;
                return r;
            }
        }
        if (f.HostFd < 0) return -Errno.ENOTTY;
        int size = req switch
        {
            TCGETS or TCSETS or TCSETSW or TCSETSF => 36,
            TIOCGWINSZ or TIOCSWINSZ => 8,
            FIONREAD or TIOCGPGRP or TIOCSPGRP or TIOCOUTQ or TIOCGSID => 4,
            TCSBRK or TCXONC or TCFLSH or TIOCSCTTY or TIOCNOTTY => -1, // integer argument by value
            _ => -2,
        };
        if (size == -2) return -Errno.ENOTTY;
        if (size == -1)
        {
            return LibC.Ioctl(f.HostFd, req, (byte*)(nint)arg);
        }
        var b = new byte[64];
        bool input = req is TCSETS or TCSETSW or TCSETSF or TIOCSWINSZ or TIOCSPGRP;
        if (input && U.Get(t, arg, b.AsSpan(0, size)) != 0) return -Errno.EFAULT;
        if (!input && !t.Mem.CanWrite(arg, (uint)size)) return -Errno.EFAULT;
        int res;
        fixed (byte* p = b) res = LibC.Ioctl(f.HostFd, req, p);
        if (res < 0) return res;
        if (!input && U.Put(t, arg, b.AsSpan(0, size)) != 0) return -Errno.EFAULT;
        return res;
    }

    // ---------------------------------------------------------------- poll / select

    const short POLLIN = HostWait.POLLIN, POLLPRI = HostWait.POLLPRI, POLLOUT = HostWait.POLLOUT, POLLERR = HostWait.POLLERR,
        POLLHUP = HostWait.POLLHUP, POLLNVAL = HostWait.POLLNVAL;
    /// <summary>DEFAULT_POLLMASK: what a file without a poll method (our synthetic /proc files) always reports.</summary>
    const short DefaultPollMask = POLLIN | POLLOUT | 0x40 | 0x100;
    const uint STICKY_TIMEOUTS = 0x4000000;

    /// <summary>sys_poll. Interrupted with no handler to run, it restarts through restart_syscall with the same end
    /// time (do_restart_poll); with a handler it fails with -EINTR, SA_RESTART or not.</summary>
    static int Poll(Task t, uint fds, uint n, int timeoutMs)
    {
        long end = HostWait.Never;
        if (timeoutMs >= 0) SetTimeout(t, timeoutMs / 1000, timeoutMs % 1000 * 1_000_000L, out end);
        return RestartablePoll(t, fds, n, end);
    }

    static int RestartablePoll(Task t, uint fds, uint n, long end)
    {
        int r = DoSysPoll(t, fds, n, end);
        if (r != -Errno.ERESTARTNOHAND) return r;
        t.SigState.RestartFn = tt => RestartablePoll(tt, fds, n, end);
        return -Errno.ERESTART_RESTARTBLOCK;
    }

    /// <summary>do_sys_poll: struct pollfd {s32 fd; s16 events, revents} is the same on i386 and the host. Closed
    /// descriptors report POLLNVAL, negative ones nothing, synthetic files DEFAULT_POLLMASK; the rest wait on the
    /// host (interruptibly). revents are written back even when the wait was interrupted.</summary>
    static int DoSysPoll(Task t, uint fds, uint n, long end)
    {
        if (n > t.Files.Limit) return -Errno.EINVAL; // nfds > RLIMIT_NOFILE
        var g = new byte[n * 8];
        if (U.Get(t, fds, g) != 0) return -Errno.EFAULT;
        var h = new byte[n * 8];
        var local = new short[n]; // revents decided here rather than by the host
        var model = new KernelFile?[n]; // files whose readiness the model decides (PollWait)
        int early = 0;
        for (int i = 0; i < n; i++)
        {
            int fd = (int)U.R32(g, i * 8);
            short ev = (short)U.R16(g, i * 8 + 4);
            int host = -1;
            if (fd >= 0)
            {
                var f = t.Files.Get(fd);
                if (f == null) local[i] = POLLNVAL;
                else if (f is KernelFile { ModelPoll: true } kf) model[i] = kf;
                else if (f.HostFd < 0) local[i] = (short)(DefaultPollMask & (ev | POLLERR | POLLHUP));
                else host = f.HostFd;
            }
            if (local[i] != 0) early++;
            U.W32(h, i * 8, host);
            U.W16(h, i * 8 + 4, (ushort)ev);
        }
        int r = PollWait.Wait(t, h, (int)n, model, local, early, end);
        if (r < 0 && r != -Errno.ERESTARTNOHAND) return r;
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            ushort rev = local[i] != 0 ? (ushort)local[i] : r > 0 ? U.R16(h, i * 8 + 6) : (ushort)0;
            if (rev != 0) count++;
            U.W16(g, i * 8 + 6, rev);
            if (U.Put(t, fds + (uint)i * 8 + 6, g.AsSpan(i * 8 + 6, 2)) != 0) return -Errno.EFAULT;
        }
        return r < 0 ? r : count;
    }

    /// <summary>poll_select_set_timeout: -EINVAL unless the time is valid; end is 0 for a zero timeout (no sleep, and
    /// no time-left write-back), else now + the time (saturating).</summary>
    static int SetTimeout(Task t, long sec, long nsec, out long end)
    {
        end = 0;
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL; // timespec64_valid
        if (sec == 0 && nsec == 0) return 0;
        long now = ProcessTimers.Now();
        end = sec >= (HostWait.Never - 1 - now) / 1_000_000_000 ? HostWait.Never - 1 : now + sec * 1_000_000_000 + nsec;
        return 0;
    }

    enum TimeKind { OldTimeval, OldTimespec, Timespec }

    /// <summary>poll_select_finish: restore the saved sigmask unless interrupted, then write back the time left
    /// (not for a zero timeout, nor with STICKY_TIMEOUTS); a failed write-back turns a restart into -EINTR.</summary>
    static int PollSelectFinish(Task t, long end, uint p, TimeKind kind, int ret)
    {
        if (ret != -Errno.ERESTARTNOHAND) RestoreSavedSigmask(t);
        if (p == 0) return ret;
        if ((t.Group.Personality & STICKY_TIMEOUTS) == 0)
        {
            if (end == 0) return ret;
            long left = Math.Max(0, end - ProcessTimers.Now());
            long sec = left / 1_000_000_000, ns = left % 1_000_000_000;
            Span<byte> b = stackalloc byte[16];
            int size = 8;
            switch (kind)
            {
                case TimeKind.OldTimeval: U.W32(b, 0, (int)sec); U.W32(b, 4, (int)(ns / 1000)); break;
                case TimeKind.OldTimespec: U.W32(b, 0, (int)sec); U.W32(b, 4, (int)ns); break;
                default: U.W64(b, 0, sec); U.W64(b, 8, ns); size = 16; break;
            }
            if (U.Put(t, p, b[..size]) == 0) return ret;
        }
        return ret == -Errno.ERESTARTNOHAND ? -Errno.EINTR : ret;
    }

    /// <summary>set_compat_user_sigmask: install the caller's mask for the wait; the old one is saved and comes back
    /// at poll_select_finish, or after the handler frame took it (TIF_RESTORE_SIGMASK), as sigsuspend does.</summary>
    internal static int SetUserSigmask(Task t, uint sigp, uint size)
    {
        if (sigp == 0) return 0;
        if (size != 8) return -Errno.EINVAL;
        Span<byte> m = stackalloc byte[8];
        if (U.Get(t, sigp, m) != 0) return -Errno.EFAULT;
        var st = t.SigState;
        st.SavedMask = t.Blocked;
        st.RestoreSigmask = true;
        t.Kernel.Signals.SetBlocked(t, U.R64(m, 0));
        return 0;
    }

    /// <summary>restore_saved_sigmask.</summary>
    internal static void RestoreSavedSigmask(Task t)
    {
        var st = t.SigState;
        if (!st.RestoreSigmask) return;
        st.RestoreSigmask = false;
        t.Kernel.Signals.SetBlocked(t, st.SavedMask);
    }

    /// <summary>_newselect: do_compat_select with a struct old_timeval32.</summary>
    static int Select(Task t, int n, uint rp, uint wp, uint ep, uint tvp)
    {
        long end = HostWait.Never;
        if (tvp != 0)
        {
            if (!t.Mem.ReadU32(tvp, out uint s) || !t.Mem.ReadU32(tvp + 4, out uint us)) return -Errno.EFAULT;
            // tv_sec + tv_usec / USEC_PER_SEC, (tv_usec % USEC_PER_SEC) * NSEC_PER_USEC, in the compat ints
            int e = SetTimeout(t, unchecked((int)s + (int)us / 1_000_000), (int)us % 1_000_000 * 1000L, out end);
            if (e != 0) return e;
        }
        int r = CoreSysSelect(t, n, rp, wp, ep, end);
        return PollSelectFinish(t, end, tvp, TimeKind.OldTimeval, r);
    }

    /// <summary>old select (nr 82): compat_sys_old_select, one pointer to struct sel_arg_struct { n, inp, outp, exp, tvp }.</summary>
    static int OldSelect(Task t, uint argp)
    {
        var b = new byte[20];
        if (U.Get(t, argp, b) != 0) return -Errno.EFAULT;
        return Select(t, (int)U.R32(b, 0), U.R32(b, 4), U.R32(b, 8), U.R32(b, 12), U.R32(b, 16));
    }

    /// <summary>Reads an old_timespec32 (wide=false) or __kernel_timespec (wide=true) and sets the end time.</summary>
    static int ReadTimeout(Task t, uint tsp, bool wide, out long end)
    {
        end = HostWait.Never;
        if (tsp == 0) return 0;
        var b = new byte[wide ? 16 : 8];
        if (U.Get(t, tsp, b) != 0) return -Errno.EFAULT;
        long sec = wide ? (long)U.R64(b, 0) : (int)U.R32(b, 0);
        // get_timespec64: in compat mode the upper half of tv_nsec is ignored
        long nsec = wide ? (long)U.R32(b, 8) : (int)U.R32(b, 4);
        return SetTimeout(t, sec, nsec, out end);
    }

    /// <summary>pselect6 / pselect6_time64 (do_compat_pselect): the sixth argument points to
    /// { compat_uptr_t ss; compat_size_t ss_len }, read first.</summary>
    static int PSelect(Task t, int n, uint rp, uint wp, uint ep, uint tsp, uint sigArg, bool wide)
    {
        uint sigp = 0, sigsz = 0;
        if (sigArg != 0)
        {
            Span<byte> b = stackalloc byte[8];
            if (U.Get(t, sigArg, b) != 0) return -Errno.EFAULT;
            sigp = U.R32(b, 0); sigsz = U.R32(b, 4);
        }
        int e = ReadTimeout(t, tsp, wide, out long end);
        if (e != 0) return e;
        if ((e = SetUserSigmask(t, sigp, sigsz)) != 0) return e;
        int r = CoreSysSelect(t, n, rp, wp, ep, end);
        return PollSelectFinish(t, end, tsp, wide ? TimeKind.Timespec : TimeKind.OldTimespec, r);
    }

    /// <summary>ppoll / ppoll_time64: a timespec timeout and a temporary sigmask; never restarted by a handler.</summary>
    static int PPoll(Task t, uint fds, uint n, uint tsp, uint sigp, uint sigsize, bool wide)
    {
        int e = ReadTimeout(t, tsp, wide, out long end);
        if (e != 0) return e;
        if ((e = SetUserSigmask(t, sigp, sigsize)) != 0) return e;
        int r = DoSysPoll(t, fds, n, end);
        return PollSelectFinish(t, end, tsp, wide ? TimeKind.Timespec : TimeKind.OldTimespec, r);
    }

    /// <summary>compat_core_sys_select + do_select over host poll; fd_set is an array of 32-bit words on i386. Open
    /// descriptors only (-EBADF otherwise); nothing is written back when a signal ends the wait.</summary>
    static int CoreSysSelect(Task t, int n, uint rp, uint wp, uint ep, long end)
    {
        if (n < 0) return -Errno.EINVAL;
        if (n > FdTable.Max) n = FdTable.Max; // clamped to max_fds
        int words = (n + 31) / 32;
        var sets = new uint[3][];
        uint[] ptrs = { rp, wp, ep };
        for (int k = 0; k < 3; k++)
        {
            sets[k] = new uint[words];
            if (ptrs[k] == 0) continue;
            for (int w = 0; w < words; w++) if (!t.Mem.ReadU32(ptrs[k] + (uint)w * 4, out sets[k][w])) return -Errno.EFAULT;
        }
        var list = new List<(int fd, int host, short ev, KernelFile? model)>();
        for (int fd = 0; fd < n; fd++)
        {
            short ev = 0;
            uint bit = 1u << (fd % 32);
            if ((sets[0][fd / 32] & bit) != 0) ev |= POLLIN;
            if ((sets[1][fd / 32] & bit) != 0) ev |= POLLOUT;
            if ((sets[2][fd / 32] & bit) != 0) ev |= POLLPRI;
            if (ev == 0) continue;
            var f = t.Files.Get(fd);
            if (f == null) return -Errno.EBADF;
            list.Add(f is KernelFile { ModelPoll: true } kf ? (fd, -1, ev, kf) : (fd, f.HostFd, ev, null));
        }
        var h = new byte[list.Count * 8];
        var local = new short[list.Count];
        int early = 0;
        for (int i = 0; i < list.Count; i++)
        {
            U.W32(h, i * 8, list[i].host);
            U.W16(h, i * 8 + 4, (ushort)list[i].ev);
            if (list[i].host < 0 && list[i].model == null) { local[i] = DefaultPollMask; early++; }
        }
        int r = PollWait.Wait(t, h, list.Count, list.ConvertAll(x => x.model).ToArray(), local, early, end);
        if (r < 0) return r; // -ERESTARTNOHAND: the sets stay as they were
        var outs = new uint[3][];
        for (int k = 0; k < 3; k++) outs[k] = new uint[words];
        int count = 0;
        for (int i = 0; i < list.Count; i++)
        {
            int fd = list[i].fd;
            int rev = local[i] != 0 ? local[i] : U.R16(h, i * 8 + 6);
            uint bit = 1u << (fd % 32);
            // POLLIN_SET, POLLOUT_SET, POLLEX_SET of fs/select.c
            if ((sets[0][fd / 32] & bit) != 0 && (rev & (POLLIN | 0x40 | 0x80 | POLLHUP | POLLERR)) != 0) { outs[0][fd / 32] |= bit; count++; }
            if ((sets[1][fd / 32] & bit) != 0 && (rev & (POLLOUT | 0x100 | 0x200 | POLLERR)) != 0) { outs[1][fd / 32] |= bit; count++; }
            if ((sets[2][fd / 32] & bit) != 0 && (rev & POLLPRI) != 0) { outs[2][fd / 32] |= bit; count++; }
        }
        for (int k = 0; k < 3; k++)
        {
            if (ptrs[k] == 0) continue;
            for (int w = 0; w < words; w++) if (!t.Mem.WriteU32(ptrs[k] + (uint)w * 4, outs[k][w])) return -Errno.EFAULT;
        }
        return count;
    }

    static int StatFs(Task t, uint pathPtr, int fd, uint size, uint buf)
    {
        if (size != 84 && size != 88) return -Errno.EINVAL;
        int hfd;
        bool close = false;
        if (fd >= 0)
        {
            var f = t.Files.Get(fd);
            if (f == null) return -Errno.EBADF;
            hfd = f.HostFd;
        }
        else
        {
            int r = PathResolver.ReadPath(t, pathPtr, out var path);
            if (r < 0) return r;
            r = PathResolver.Resolve(t, AT_FDCWD, path, out var hp);
            if (r < 0) return r;
            hfd = LibC.OpenAt(hp.DirFd, hp.Path, LibC.O_PATH | LibC.O_CLOEXEC, 0);
            if (hfd < 0) return hfd;
            close = true;
        }
        var h = new byte[120];
        int res;
        fixed (byte* p = h) res = LibC.Fstatfs(hfd, p);
        if (close) LibC.Close(hfd);
        if (res < 0) return res;
        // host struct statfs (64-bit): long type, bsize; u64 blocks, bfree, bavail, files, ffree; fsid(8); long namelen, frsize, flags, spare[4]
        // i386 struct statfs64: u32 type, bsize; u64 blocks, bfree, bavail, files, ffree; fsid(8); u32 namelen, frsize, flags, spare[4]
        var g = new byte[88];
        U.W32(g, 0, (uint)U.R64(h, 0));
        U.W32(g, 4, (uint)U.R64(h, 8));
        for (int i = 0; i < 5; i++) U.W64(g, 8 + i * 8, U.R64(h, 16 + i * 8));
        U.W64(g, 48, U.R64(h, 56));
        U.W32(g, 56, (uint)U.R64(h, 64));
        U.W32(g, 60, (uint)U.R64(h, 72));
        U.W32(g, 64, (uint)U.R64(h, 80));
        return U.Put(t, buf, g.AsSpan(0, (int)size));
    }
}
