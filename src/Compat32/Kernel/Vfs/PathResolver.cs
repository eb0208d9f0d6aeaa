namespace Compat32.Kernel.Vfs;

/// <summary>
/// Turns a guest path (plus dirfd) into a host (dirfd, path) pair. Absolute paths are looked up under the
/// sysroot first and fall back to the host path when absent there (what qemu-user's -L does).
/// </summary>
public static class PathResolver
{
    public readonly record struct HostPath(int DirFd, byte[] Path);

    public static int Resolve(Task t, int dirfd, byte[] path, out HostPath hp)
    {
        hp = default;
        if (path.Length == 0) return -Errno.ENOENT;
        if (path[0] == (byte)'/')
        {
            hp = new HostPath(LibC.AT_FDCWD, UnderSysroot(t.Kernel.Options.Sysroot, path));
            return 0;
        }
        if (dirfd == LibC.AT_FDCWD) { hp = new HostPath(t.Fs.CwdFd, path); return 0; }
        var f = t.Files.Get(dirfd);
        if (f == null) return -Errno.EBADF;
        if (f.HostFd < 0) return -Errno.ENOTDIR;
        hp = new HostPath(f.HostFd, path);
        return 0;
    }

    /// <summary>The --sysroot rule for an absolute path: ROOT/path when it exists there (a dangling symlink counts),
    /// else the host's path.</summary>
    public static byte[] UnderSysroot(string? root, byte[] path)
    {
        if (root == null || path.Length == 0 || path[0] != (byte)'/') return path;
        var cand = Concat(LibC.Bytes(root.TrimEnd('/')), path);
        return LibC.FaccessAt(LibC.AT_FDCWD, cand, 0, LibC.AT_SYMLINK_NOFOLLOW) == 0 ? cand : path;
    }

    public static string UnderSysroot(string? root, string path) =>
        System.Text.Encoding.UTF8.GetString(UnderSysroot(root, LibC.Bytes(path)));

    /// <summary>A host path as the guest names it: inside the sysroot, relative to it.</summary>
    public static string GuestView(string? root, string hostPath)
    {
        root = root?.TrimEnd('/');
        if (string.IsNullOrEmpty(root)) return hostPath;
        if (hostPath == root) return "/";
        return hostPath.StartsWith(root + "/", StringComparison.Ordinal) ? hostPath[root.Length..] : hostPath;
    }

    static byte[] Concat(byte[] a, byte[] b)
    {
        var r = new byte[a.Length + b.Length];
        a.CopyTo(r, 0);
        b.CopyTo(r, a.Length);
        return r;
    }

    /// <summary>Guest path bytes from user memory: -EFAULT on a bad pointer, -ENAMETOOLONG past PATH_MAX.</summary>
    public static int ReadPath(Task t, uint ptr, out byte[] path)
    {
        path = Array.Empty<byte>();
        var b = t.Mem.ReadCStringBytes(ptr, 4096);
        if (b == null)
        {
            // Distinguish a fault from an over-long name the way strncpy_from_user does.
            return t.Mem.CanRead(ptr, 1) ? -Errno.ENAMETOOLONG : -Errno.EFAULT;
        }
        path = b;
        return 0;
    }
}
