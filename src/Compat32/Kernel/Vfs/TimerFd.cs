using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>timerfd (fs/timerfd.c) on a host timerfd of the same clock: the guest's clocks are the host's
/// (Timekeeper bases them on the host clocks), so absolute expiries mean the same instant. Layouts: struct
/// old_itimerspec32 (four s32) for timerfd_settime/gettime, struct __kernel_itimerspec (four s64) for the
/// _time64 calls.</summary>
public sealed class TimerFdFile : KernelFile
{
    const int TFD_CLOEXEC = LibC.O_CLOEXEC, TFD_NONBLOCK = LibC.O_NONBLOCK;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.timerfd_create, "dx", (t, a, b, _, _, _, _) => Create(t, (int)a, (int)b));
        s.Add(Nr.timerfd_settime, "dxpp", (t, a, b, c, d, _, _) => SetTime(t, (int)a, (int)b, c, d, wide: false));
        s.Add(Nr.timerfd_settime64, "dxpp", (t, a, b, c, d, _, _) => SetTime(t, (int)a, (int)b, c, d, wide: true));
        s.Add(Nr.timerfd_gettime, "dp", (t, a, b, _, _, _, _) => GetTime(t, (int)a, b, wide: false));
        s.Add(Nr.timerfd_gettime64, "dp", (t, a, b, _, _, _, _) => GetTime(t, (int)a, b, wide: true));
    }

    /// <summary>timerfd_create: the host checks the flags and the clock (CLOCK_REALTIME, MONOTONIC, BOOTTIME and
    /// the _ALARM ones, which need CAP_WAKE_ALARM) with the kernel's own code.</summary>
    static int Create(Task t, int clock, int flags)
    {
        if ((flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)) != 0) return -Errno.EINVAL;
        int h = LibC.TimerFdCreate(clock, LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (h < 0) return h;
        var f = new TimerFdFile { HostFd = h, Flags = LibC.O_RDWR | (flags & TFD_NONBLOCK), Path = "anon_inode:[timerfd]", Kind = FileKind.Other };
        int fd = t.Files.Install(f, (flags & TFD_CLOEXEC) != 0);
        if (fd < 0) f.Release();
        return fd;
    }

    /// <summary>timerfd_fget: -EBADF for no file, -EINVAL for another kind of file.</summary>
    static int Get(Task t, int fd, out TimerFdFile? tf)
    {
        var f = t.Files.Get(fd);
        tf = f as TimerFdFile;
        return f == null ? -Errno.EBADF : tf == null ? -Errno.EINVAL : 0;
    }

    /// <summary>get_old_itimerspec32 / get_itimerspec64 into the host's struct itimerspec (four longs). In a compat
    /// syscall the upper half of a 64-bit tv_nsec is ignored (get_timespec64).</summary>
    static unsafe int ReadSpec(Task t, uint p, bool wide, long* h)
    {
        Span<byte> b = stackalloc byte[32];
        int size = wide ? 32 : 16;
        if (U.Get(t, p, b[..size]) != 0) return -Errno.EFAULT;
        for (int i = 0; i < 2; i++)
        {
            h[i * 2] = wide ? (long)U.R64(b, i * 16) : (int)U.R32(b, i * 8);
            h[i * 2 + 1] = wide ? U.R32(b, i * 16 + 8) : (int)U.R32(b, i * 8 + 4);
        }
        return 0;
    }

    /// <summary>put_old_itimerspec32 (seconds truncated to s32) / put_itimerspec64.</summary>
    static unsafe int WriteSpec(Task t, uint p, bool wide, long* h)
    {
        Span<byte> b = stackalloc byte[32];
        for (int i = 0; i < 2; i++)
        {
            if (wide) { U.W64(b, i * 16, h[i * 2]); U.W64(b, i * 16 + 8, h[i * 2 + 1]); }
            else { U.W32(b, i * 8, (int)h[i * 2]); U.W32(b, i * 8 + 4, (int)h[i * 2 + 1]); }
        }
        return U.Put(t, p, b[..(wide ? 32 : 16)]);
    }

    /// <summary>timerfd_settime: the new value is read first (-EFAULT), then the fd is checked; the host validates
    /// the flags and the times and swaps the setting atomically.</summary>
    static unsafe int SetTime(Task t, int fd, int flags, uint nv, uint old, bool wide)
    {
        long* n = stackalloc long[4];
        long* o = stackalloc long[4];
        int r = ReadSpec(t, nv, wide, n);
        if (r != 0) return r;
        // do_timerfd_settime: the flags (TFD_SETTIME_FLAGS) and itimerspec64_valid before the descriptor
        if ((flags & ~3) != 0) return -Errno.EINVAL;
        for (int i = 0; i < 4; i += 2) if (n[i] < 0 || n[i + 1] < 0 || n[i + 1] >= 1_000_000_000) return -Errno.EINVAL;
        if ((r = Get(t, fd, out var tf)) != 0) return r;
        r = LibC.TimerFdSetTime(tf!.HostFd, flags, n, o);
        if (r < 0 || old == 0) return r;
        return WriteSpec(t, old, wide, o);
    }

    static unsafe int GetTime(Task t, int fd, uint cur, bool wide)
    {
        int r = Get(t, fd, out var tf);
        if (r != 0) return r;
        long* c = stackalloc long[4];
        r = LibC.TimerFdGetTime(tf!.HostFd, c);
        return r < 0 ? r : WriteSpec(t, cur, wide, c);
    }

    /// <summary>timerfd_read: the expirations since the last read (u64); blocks until the first.</summary>
    public override int Read(Task t, uint buf, uint count) => count < 8 ? -Errno.EINVAL : HostRead(t, buf, 8, 8);
}
