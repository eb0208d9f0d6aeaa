using System.Runtime.InteropServices;

namespace Compat32.Kernel.Syscalls;

/// <summary>Clocks and sleeping (kernel/time/posix-timers.c, kernel/time/time.c, hrtimer.c).</summary>
public static partial class TimeCalls
{
    public const int CLOCK_REALTIME = 0, CLOCK_MONOTONIC = 1, CLOCK_PROCESS_CPUTIME_ID = 2, CLOCK_THREAD_CPUTIME_ID = 3,
        CLOCK_MONOTONIC_RAW = 4, CLOCK_REALTIME_COARSE = 5, CLOCK_MONOTONIC_COARSE = 6, CLOCK_BOOTTIME = 7,
        CLOCK_REALTIME_ALARM = 8, CLOCK_BOOTTIME_ALARM = 9, CLOCK_TAI = 11;
    const int TIMER_ABSTIME = 1;

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int clock_gettime(int clk, out HostTimespec ts);
    [LibraryImport("libc", EntryPoint = "clock_getres", SetLastError = true)]
    private static partial int clock_getres(int clk, out HostTimespec ts);

    [StructLayout(LayoutKind.Sequential)]
    struct HostTimespec { public long Sec; public long Nsec; }

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.clock_gettime, "dp", (t, a, b, _, _, _, _) => ClockGettime(t, (int)a, b, wide: false));
        s.Add(Nr.clock_gettime64, "dp", (t, a, b, _, _, _, _) => ClockGettime(t, (int)a, b, wide: true));
        s.Add(Nr.clock_getres, "dp", (t, a, b, _, _, _, _) => ClockGetres(t, (int)a, b, wide: false));
        s.Add(Nr.clock_getres_time64, "dp", (t, a, b, _, _, _, _) => ClockGetres(t, (int)a, b, wide: true));
        s.Add(Nr.gettimeofday, "pp", (t, a, b, _, _, _, _) => GetTimeOfDay(t, a, b));
        s.Add(Nr.time, "p", (t, a, _, _, _, _, _) => Time(t, a));
        s.Add(Nr.nanosleep, "pp", (t, a, b, _, _, _, _) => Nanosleep(t, CLOCK_MONOTONIC, 0, a, b, wide: false));
        s.Add(Nr.clock_nanosleep, "ddpp", (t, a, b, c, d, _, _) => Nanosleep(t, (int)a, (int)b, c, d, wide: false));
        s.Add(Nr.clock_nanosleep_time64, "ddpp", (t, a, b, c, d, _, _) => Nanosleep(t, (int)a, (int)b, c, d, wide: true));
        s.Add(Nr.times, "p", (t, a, _, _, _, _, _) => Times(t, a));
    }

    static bool ValidClock(int clk) => clk is >= 0 and <= 11 and not 10 && clk != 8 && clk != 9 || clk is 8 or 9;

    /// <summary>The guest's clocks are the host's (the vvar page is fed from the same source).</summary>
    public static bool Now(int clk, out long sec, out long nsec)
    {
        // One timekeeper feeds both the syscalls and the vvar page, so vDSO and syscall agree.
        return Timekeeper.Instance.Now(clk, out sec, out nsec);
    }

    static int PutTs(Task t, uint p, long sec, long nsec, bool wide)
    {
        Span<byte> b = stackalloc byte[16];
        if (wide) { U.W64(b, 0, sec); U.W64(b, 8, nsec); return U.Put(t, p, b); }
        if (sec > int.MaxValue) return -Errno.EOVERFLOW;
        U.W32(b, 0, (int)sec); U.W32(b, 4, (int)nsec);
        return U.Put(t, p, b[..8]);
    }

    static int ClockGettime(Task t, int clk, uint p, bool wide)
    {
        if (!Now(clk, out long s, out long ns)) return -Errno.EINVAL;
        return PutTs(t, p, s, ns, wide);
    }

    static int ClockGetres(Task t, int clk, uint p, bool wide)
    {
        if (clk < 0 || clk == 10 || clk > 11) return -Errno.EINVAL;
        if (p == 0) return 0;
        if (clock_getres(clk, out var ts) != 0) return -Errno.EINVAL;
        return PutTs(t, p, ts.Sec, ts.Nsec, wide);
    }

    static int GetTimeOfDay(Task t, uint tv, uint tz)
    {
        if (tv != 0)
        {
            Now(CLOCK_REALTIME, out long s, out long ns);
            Span<byte> b = stackalloc byte[8];
            U.W32(b, 0, (int)s); U.W32(b, 4, (int)(ns / 1000));
            if (U.Put(t, tv, b) != 0) return -Errno.EFAULT;
        }
        if (tz != 0 && U.Put(t, tz, stackalloc byte[8]) != 0) return -Errno.EFAULT; // sys_tz: UTC, no DST
        return 0;
    }

    static int Time(Task t, uint p)
    {
        Now(CLOCK_REALTIME, out long s, out _);
        if (p != 0 && !t.Mem.WriteU32(p, (uint)s)) return -Errno.EFAULT;
        return (int)s;
    }

    static int Nanosleep(Task t, int clk, int flags, uint req, uint rem, bool wide)
    {
        if (clk is not (CLOCK_REALTIME or CLOCK_MONOTONIC or CLOCK_BOOTTIME or CLOCK_TAI))
            return clk is CLOCK_THREAD_CPUTIME_ID ? -Errno.EINVAL : clk is CLOCK_PROCESS_CPUTIME_ID ? -Errno.EOPNOTSUPP : -Errno.EINVAL;
        Span<byte> b = stackalloc byte[16];
        long sec, nsec;
        if (wide) { if (U.Get(t, req, b) != 0) return -Errno.EFAULT; sec = (long)U.R64(b, 0); nsec = (long)U.R64(b, 8); }
        else { if (U.Get(t, req, b[..8]) != 0) return -Errno.EFAULT; sec = (int)U.R32(b, 0); nsec = (int)U.R32(b, 4); }
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
        long totalNs;
        if ((flags & TIMER_ABSTIME) != 0)
        {
            Now(clk, out long cs, out long cns);
            totalNs = (sec - cs) * 1_000_000_000 + (nsec - cns);
        }
        else totalNs = sec * 1_000_000_000 + nsec;
        if (totalNs > 0) t.Kernel.Sleep(t, TimeSpan.FromTicks(totalNs / 100));
        return 0;
    }

    static int Times(Task t, uint p)
    {
        // do_sys_times: struct compat_tms in USER_HZ (100) ticks: this process's user and system time
        // (thread_group_cputime_adjusted), then its waited-for children's (signal->cutime, cstime).
        if (p != 0)
        {
            var self = TaskCalls.SelfUsage(t);
            var kids = TaskCalls.ChildrenUsage(t);
            Span<byte> b = stackalloc byte[16];
            U.W32(b, 0, (int)(self.UtimeNs / 10_000_000)); U.W32(b, 4, (int)(self.StimeNs / 10_000_000));
            U.W32(b, 8, (int)(kids.UtimeNs / 10_000_000)); U.W32(b, 12, (int)(kids.StimeNs / 10_000_000));
            if (U.Put(t, p, b) != 0) return -Errno.EFAULT;
        }
        Now(CLOCK_BOOTTIME, out long s, out long ns);
        return (int)(s * 100 + ns / 10_000_000);
    }
}
