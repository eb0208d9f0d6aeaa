using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>eventfd (fs/eventfd.c) on a host eventfd: the counter, EFD_SEMAPHORE and readiness are the host's,
/// so the fd sits in host poll and epoll sets as it is; blocking reads and writes sleep here, interruptibly.</summary>
public sealed class EventFdFile : KernelFile
{
    const int EFD_SEMAPHORE = 1, EFD_CLOEXEC = LibC.O_CLOEXEC, EFD_NONBLOCK = LibC.O_NONBLOCK;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.eventfd, "u", (t, a, _, _, _, _, _) => Create(t, a, 0));
        s.Add(Nr.eventfd2, "ux", (t, a, b, _, _, _, _) => Create(t, a, (int)b));
    }

    /// <summary>do_eventfd.</summary>
    static int Create(Task t, uint count, int flags)
    {
        if ((flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK)) != 0) return -Errno.EINVAL;
        int h = LibC.EventFd(count, (flags & EFD_SEMAPHORE) | LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (h < 0) return h;
        var f = new EventFdFile { HostFd = h, Flags = LibC.O_RDWR | (flags & EFD_NONBLOCK), Path = "anon_inode:[eventfd]", Kind = FileKind.Other };
        int fd = t.Files.Install(f, (flags & EFD_CLOEXEC) != 0);
        if (fd < 0) f.Release();
        return fd;
    }

    /// <summary>eventfd_read: fewer than 8 bytes is -EINVAL; a zero counter blocks (or -EAGAIN).</summary>
    public override int Read(Task t, uint buf, uint count) => count < 8 ? -Errno.EINVAL : HostRead(t, buf, 8, 8);

    /// <summary>eventfd_write: the value is read from the caller first; a write that would pass ULLONG_MAX-1
    /// blocks until a read makes room.</summary>
    public override unsafe int Write(Task t, uint buf, uint count)
    {
        if (count < 8) return -Errno.EINVAL;
        ulong v;
        if (!t.Mem.CopyFromUser(buf, new Span<byte>(&v, 8))) return -Errno.EFAULT;
        while (true)
        {
            long r = LibC.Write(HostFd, (byte*)&v, 8);
            if (r != -Errno.EAGAIN || NonBlocking) return (int)r;
            int w = HostWait.WaitFd(t, HostFd, HostWait.POLLOUT, -Errno.ERESTARTSYS);
            if (w != 0) return w;
        }
    }
}
