using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Syscalls;

/// <summary>Extended attributes (fs/xattr.c) on the host's files: getxattr, setxattr, listxattr, removexattr with
/// their l (no follow) and f (descriptor) forms. Names are at most XATTR_NAME_MAX (255) bytes, values and lists at
/// most XATTR_SIZE_MAX (64 KiB); a relative path resolves against the caller's cwd.</summary>
public static unsafe class XattrCalls
{
    const int XATTR_NAME_MAX = 255, XATTR_SIZE_MAX = 65536, XATTR_CREATE = 1, XATTR_REPLACE = 2;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.getxattr, "sspu", (t, a, b, c, d, _, _) => Get(t, a, ByPath, true, b, c, d));
        s.Add(Nr.lgetxattr, "sspu", (t, a, b, c, d, _, _) => Get(t, a, ByPath, false, b, c, d));
        s.Add(Nr.fgetxattr, "dspu", (t, a, b, c, d, _, _) => Get(t, 0, (int)a, false, b, c, d));
        s.Add(Nr.listxattr, "spu", (t, a, b, c, _, _, _) => List(t, a, ByPath, true, b, c));
        s.Add(Nr.llistxattr, "spu", (t, a, b, c, _, _, _) => List(t, a, ByPath, false, b, c));
        s.Add(Nr.flistxattr, "dpu", (t, a, b, c, _, _, _) => List(t, 0, (int)a, false, b, c));
        s.Add(Nr.setxattr, "sspux", (t, a, b, c, d, e, _) => Set(t, a, ByPath, true, b, c, d, (int)e));
        s.Add(Nr.lsetxattr, "sspux", (t, a, b, c, d, e, _) => Set(t, a, ByPath, false, b, c, d, (int)e));
        s.Add(Nr.fsetxattr, "dspux", (t, a, b, c, d, e, _) => Set(t, 0, (int)a, false, b, c, d, (int)e));
        s.Add(Nr.removexattr, "ss", (t, a, b, _, _, _, _) => Remove(t, a, ByPath, true, b));
        s.Add(Nr.lremovexattr, "ss", (t, a, b, _, _, _, _) => Remove(t, a, ByPath, false, b));
        s.Add(Nr.fremovexattr, "ds", (t, a, b, _, _, _, _) => Remove(t, 0, (int)a, false, b));
    }

    /// <summary>The host path of a guest path (cwd-relative through /proc/self/fd), or the host fd of a guest fd.</summary>
    /// <summary>The fd argument of the path forms (getxattr, listxattr ...): an f* call's negative fd is -EBADF, not a
    /// path.</summary>
    const int ByPath = int.MinValue;

    static int Target(Task t, uint pathPtr, int fd, out byte[]? path, out int hostFd)
    {
        path = null; hostFd = -1;
        if (fd != ByPath)
        {
            var f = t.Files.Get(fd);
            if (f == null) return -Errno.EBADF;
            if (f.HostFd < 0) return -Errno.EOPNOTSUPP;
            hostFd = f.HostFd;
            return 0;
        }
        int r = PathResolver.ReadPath(t, pathPtr, out var p);
        if (r < 0) return r;
        r = PathResolver.Resolve(t, LibC.AT_FDCWD, p, out var hp);
        if (r < 0) return r;
        path = hp.DirFd == LibC.AT_FDCWD || hp.Path.Length > 0 && hp.Path[0] == '/'
            ? Z(hp.Path) : Z(LibC.Bytes("/proc/self/fd/" + hp.DirFd + "/" + System.Text.Encoding.UTF8.GetString(hp.Path)));
        return 0;
    }

    static byte[] Z(byte[] s) { var b = new byte[s.Length + 1]; s.CopyTo(b, 0); return b; }

    /// <summary>strncpy_from_user of the name: -ERANGE when empty or longer than XATTR_NAME_MAX.</summary>
    static int Name(Task t, uint namePtr, out byte[] name)
    {
        name = Array.Empty<byte>();
        var b = t.Mem.ReadCStringBytes(namePtr, XATTR_NAME_MAX + 1);
        if (b == null) return t.Mem.CanRead(namePtr, 1) ? -Errno.ERANGE : -Errno.EFAULT;
        if (b.Length == 0) return -Errno.ERANGE;
        name = Z(b);
        return 0;
    }

    static int Get(Task t, uint pathPtr, int fd, bool follow, uint namePtr, uint value, uint size)
    {
        int r = Target(t, pathPtr, fd, out var path, out int hfd);
        if (r < 0) return r;
        r = Name(t, namePtr, out var name);
        if (r < 0) return r;
        uint n = Math.Min(size, (uint)XATTR_SIZE_MAX);
        var buf = new byte[Math.Max(n, 1u)];
        long got;
        fixed (byte* pp = path) fixed (byte* np = name) fixed (byte* bp = buf)
            got = LibC.GetXattr(pp, hfd, follow, np, size == 0 ? null : bp, size == 0 ? 0 : n);
        if (got < 0) return (int)got;
        if (size != 0 && got > 0 && U.Put(t, value, buf.AsSpan(0, (int)got)) != 0) return -Errno.EFAULT;
        return (int)got;
    }

    static int List(Task t, uint pathPtr, int fd, bool follow, uint list, uint size)
    {
        int r = Target(t, pathPtr, fd, out var path, out int hfd);
        if (r < 0) return r;
        uint n = Math.Min(size, (uint)XATTR_SIZE_MAX);
        var buf = new byte[Math.Max(n, 1u)];
        long got;
        fixed (byte* pp = path) fixed (byte* bp = buf)
            got = LibC.ListXattr(pp, hfd, follow, size == 0 ? null : bp, size == 0 ? 0 : n);
        if (got < 0) return (int)got;
        if (size != 0 && got > 0 && U.Put(t, list, buf.AsSpan(0, (int)got)) != 0) return -Errno.EFAULT;
        return (int)got;
    }

    static int Set(Task t, uint pathPtr, int fd, bool follow, uint namePtr, uint value, uint size, int flags)
    {
        if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) return -Errno.EINVAL;
        if (size > XATTR_SIZE_MAX) return -Errno.E2BIG;
        int r = Target(t, pathPtr, fd, out var path, out int hfd);
        if (r < 0) return r;
        r = Name(t, namePtr, out var name);
        if (r < 0) return r;
        var buf = new byte[Math.Max(size, 1u)];
        if (size > 0 && U.Get(t, value, buf.AsSpan(0, (int)size)) != 0) return -Errno.EFAULT;
        fixed (byte* pp = path) fixed (byte* np = name) fixed (byte* bp = buf)
            return LibC.SetXattr(pp, hfd, follow, np, bp, size, flags);
    }

    static int Remove(Task t, uint pathPtr, int fd, bool follow, uint namePtr)
    {
        int r = Target(t, pathPtr, fd, out var path, out int hfd);
        if (r < 0) return r;
        r = Name(t, namePtr, out var name);
        if (r < 0) return r;
        fixed (byte* pp = path) fixed (byte* np = name)
            return LibC.RemoveXattr(pp, hfd, follow, np);
    }
}
