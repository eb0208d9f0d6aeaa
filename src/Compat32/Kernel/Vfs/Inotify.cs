using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>inotify (fs/notify/inotify/inotify_user.c) on a host inotify instance: watches are added by the
/// host path a guest path resolves to (through the sysroot), and the events carry only names relative to the
/// watched directory, in the same struct inotify_event layout on i386 and the host.</summary>
public sealed class InotifyFile : KernelFile
{
    const int IN_CLOEXEC = LibC.O_CLOEXEC, IN_NONBLOCK = LibC.O_NONBLOCK;
    const uint IN_ALL_EVENTS = 0xFFF, IN_ONLYDIR = 0x01000000, IN_DONT_FOLLOW = 0x02000000, IN_EXCL_UNLINK = 0x04000000,
        IN_MASK_CREATE = 0x10000000, IN_MASK_ADD = 0x20000000, IN_ISDIR = 0x40000000, IN_ONESHOT = 0x80000000;
    /// <summary>ALL_INOTIFY_BITS.</summary>
    const uint AllBits = IN_ALL_EVENTS | 0x2000 | 0x4000 | 0x8000 | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK |
        IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.inotify_init, "", (t, _, _, _, _, _, _) => Init(t, 0));
        s.Add(Nr.inotify_init1, "x", (t, a, _, _, _, _, _) => Init(t, (int)a));
        s.Add(Nr.inotify_add_watch, "dsx", (t, a, b, c, _, _, _) => AddWatch(t, (int)a, b, c));
        s.Add(Nr.inotify_rm_watch, "dd", (t, a, b, _, _, _, _) => RmWatch(t, (int)a, (int)b));
    }

    static int Init(Task t, int flags)
    {
        if ((flags & ~(IN_CLOEXEC | IN_NONBLOCK)) != 0) return -Errno.EINVAL;
        int h = LibC.InotifyInit1(LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (h < 0) return h;
        var f = new InotifyFile { HostFd = h, Flags = LibC.O_RDONLY | (flags & IN_NONBLOCK), Path = "anon_inode:inotify", Kind = FileKind.Other };
        int fd = t.Files.Install(f, (flags & IN_CLOEXEC) != 0);
        if (fd < 0) f.Release();
        return fd;
    }

    static int Get(Task t, int fd, out InotifyFile? f)
    {
        var o = t.Files.Get(fd);
        f = o as InotifyFile;
        return o == null ? -Errno.EBADF : f == null ? -Errno.EINVAL : 0;
    }

    /// <summary>inotify_add_watch: the mask checks, the fd, then the path (the host sees it through
    /// /proc/self/fd of the resolved directory, so the last component follows IN_DONT_FOLLOW as on Linux).</summary>
    static int AddWatch(Task t, int fd, uint pathPtr, uint mask)
    {
        if ((mask & AllBits) == 0) return -Errno.EINVAL;
        if ((mask & IN_MASK_ADD) != 0 && (mask & IN_MASK_CREATE) != 0) return -Errno.EINVAL;
        int r = Get(t, fd, out var f);
        if (r != 0) return r;
        r = PathResolver.ReadPath(t, pathPtr, out var path);
        if (r < 0) return r;
        r = PathResolver.Resolve(t, LibC.AT_FDCWD, path, out var hp);
        if (r < 0) return r;
        byte[] host = hp.DirFd == LibC.AT_FDCWD || (hp.Path.Length > 0 && hp.Path[0] == '/') ? hp.Path
            : [.. LibC.Bytes("/proc/self/fd/" + hp.DirFd + "/"), .. hp.Path];
        return LibC.InotifyAddWatch(f!.HostFd, host, mask);
    }

    static int RmWatch(Task t, int fd, int wd)
    {
        int r = Get(t, fd, out var f);
        return r != 0 ? r : LibC.InotifyRmWatch(f!.HostFd, wd);
    }

    /// <summary>inotify_read: whole events only (a buffer too small for the next one is -EINVAL, from the host).</summary>
    public override int Read(Task t, uint buf, uint count) => HostRead(t, buf, count, 65536);
}
