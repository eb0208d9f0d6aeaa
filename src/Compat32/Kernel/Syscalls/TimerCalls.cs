using System.Diagnostics;
using System.Runtime.CompilerServices;
using Compat32.Kernel.Signals;

namespace Compat32.Kernel.Syscalls;

/// <summary>
/// A process's timers (struct signal_struct: real_timer, it[CPUCLOCK_PROF/VIRT], posix_timers) driven by one host
/// thread that sends the signals; the guest's CPU is asked to stop so the exit path delivers them
/// (kernel/time/itimer.c, kernel/time/posix-timers.c).
/// ITIMER_VIRTUAL and ITIMER_PROF count wall time while the process exists (an approximation of its CPU time:
/// the guest runs on one host thread and is CPU-bound when these matter).
/// </summary>
public sealed class ProcessTimers : IDisposable
{
    static readonly ConditionalWeakTable<ThreadGroup, ProcessTimers> table = new();

    public static ProcessTimers Of(Task t) => table.GetValue(t.Group, _ => new ProcessTimers(t));
    public static ProcessTimers? Existing(ThreadGroup g) => table.TryGetValue(g, out var p) ? p : null;

    public sealed class Timer
    {
        public bool Armed;
        public long Expires, Interval; // host monotonic ns
        public int Signo;
        public KSigInfo Info;
        public bool Posix;
        public int Id, Clock, Notify, Overrun, LastOverrun;
        public uint Value;
        /// <summary>SIGEV_THREAD_ID: the thread its signal goes to (its private set); null: the process (shared set).</summary>
        public Task? ThreadTarget;
    }

    readonly object lk = new();
    readonly Task owner;
    Thread? thread;
    bool disposed;
    /// <summary>ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF.</summary>
    public readonly Timer[] ITimers = { new() { Signo = Sig.SIGALRM }, new() { Signo = Sig.SIGVTALRM }, new() { Signo = Sig.SIGPROF } };
    public readonly SortedDictionary<int, Timer> Posix = new();

    ProcessTimers(Task t) { owner = t; }

    public static long Now() => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    public object Lock => lk;

    /// <summary>Arm (value &gt; 0) or disarm a timer; wakes the timer thread.</summary>
    public void Arm(Timer tm, long expires, long interval)
    {
        lock (lk)
        {
            tm.Armed = expires > 0;
            tm.Expires = expires;
            tm.Interval = interval;
            tm.Overrun = 0;
            if (tm.Armed && thread == null && !disposed)
            {
                thread = new Thread(Loop) { IsBackground = true, Name = "compat32-timers", Priority = ThreadPriority.AboveNormal };
                thread.Start();
            }
            Monitor.PulseAll(lk);
        }
    }

    IEnumerable<Timer> All() { foreach (var x in ITimers) yield return x; foreach (var x in Posix.Values) yield return x; }

    void Loop()
    {
        lock (lk)
        {
            while (!disposed && !owner.Group.Exiting)
            {
                long now = Now(), next = long.MaxValue;
                foreach (var tm in All())
                {
                    if (!tm.Armed) continue;
                    if (tm.Expires <= now)
                    {
                        long missed = 0;
                        if (tm.Interval > 0)
                        {
                            // hrtimer_forward: the next expiry stays on the period grid; missed periods are overruns.
                            missed = (now - tm.Expires) / tm.Interval;
                            tm.Expires += (missed + 1) * tm.Interval;
                        }
                        else tm.Armed = false;
                        Fire(tm, (int)missed);
                    }
                    if (tm.Armed) next = Math.Min(next, tm.Expires);
                }
                if (next == long.MaxValue) { Monitor.Wait(lk, 1000); continue; }
                long waitNs = next - Now();
                // Monitor.Wait has millisecond resolution: round up (a shorter wait would spin), fire late rather than early.
                if (waitNs > 0) Monitor.Wait(lk, (int)Math.Min(1000, Math.Max(1, (waitNs + 999_999) / 1_000_000)));
            }
        }
    }

    void Fire(Timer tm, int missed)
    {
        var sm = owner.Kernel.Signals;
        if (!tm.Posix)
        {
            // it_real_fn / the CPU itimers: kill_pid_info(SIG, SEND_SIG_PRIV) → SI_KERNEL.
            sm.SendToGroup(owner, new KSigInfo { Signo = tm.Signo, Code = KSigInfo.SI_KERNEL, Layout = SigInfoLayout.Kill });
            return;
        }
        if (tm.Notify == 1) return; // SIGEV_NONE
        // posix_timer_event / send_sigqueue: while the previous signal is still queued, count an overrun instead.
        tm.Overrun += missed;
        if (sm.BumpTimerOverrun(owner, tm.Id, tm.Signo, 1 + missed)) return;
        var info = new KSigInfo { Signo = tm.Signo, Code = KSigInfo.SI_TIMER, Layout = SigInfoLayout.Timer, Pid = tm.Id,
            Uid = (uint)missed, Value = tm.Value };
        tm.LastOverrun = missed;
        // posix_timer_event: PIDTYPE_PID for SIGEV_THREAD_ID, PIDTYPE_TGID otherwise.
        if (tm.ThreadTarget is { } th) sm.Send(th, info); else sm.SendToGroup(owner, info);
    }

    public void Dispose()
    {
        lock (lk) { disposed = true; Monitor.PulseAll(lk); }
    }
}

/// <summary>alarm, setitimer/getitimer, POSIX timers, nanosleep with restart_syscall (kernel/time/*.c).</summary>
public static class TimerCalls
{
    const int TIMER_ABSTIME = 1;
    const int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2, SIGEV_THREAD_ID = 4;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.alarm, "u", (t, a, _, _, _, _, _) => Alarm(t, a));
        s.Add(Nr.setitimer, "dpp", (t, a, b, c, _, _, _) => SetItimer(t, (int)a, b, c));
        s.Add(Nr.getitimer, "dp", (t, a, b, _, _, _, _) => GetItimer(t, (int)a, b));
        s.Add(Nr.timer_create, "dpp", (t, a, b, c, _, _, _) => TimerCreate(t, (int)a, b, c));
        s.Add(Nr.timer_settime, "ddpp", (t, a, b, c, d, _, _) => TimerSettime(t, (int)a, (int)b, c, d, false));
        s.Add(Nr.timer_settime64, "ddpp", (t, a, b, c, d, _, _) => TimerSettime(t, (int)a, (int)b, c, d, true));
        s.Add(Nr.timer_gettime, "dp", (t, a, b, _, _, _, _) => TimerGettime(t, (int)a, b, false));
        s.Add(Nr.timer_gettime64, "dp", (t, a, b, _, _, _, _) => TimerGettime(t, (int)a, b, true));
        s.Add(Nr.timer_getoverrun, "d", (t, a, _, _, _, _, _) => TimerGetoverrun(t, (int)a));
        s.Add(Nr.timer_delete, "d", (t, a, _, _, _, _, _) => TimerDelete(t, (int)a));
        s.Add(Nr.restart_syscall, "", (t, _, _, _, _, _, _) => RestartSyscall(t));
        s.Add(Nr.nanosleep, "pp", (t, a, b, _, _, _, _) => Nanosleep(t, TimeCalls.CLOCK_MONOTONIC, 0, a, b, wide: false));
        s.Add(Nr.clock_nanosleep, "ddpp", (t, a, b, c, d, _, _) => Nanosleep(t, (int)a, (int)b, c, d, wide: false));
        s.Add(Nr.clock_nanosleep_time64, "ddpp", (t, a, b, c, d, _, _) => Nanosleep(t, (int)a, (int)b, c, d, wide: true));
    }

    /// <summary>sys_restart_syscall: current->restart_block.fn (do_no_restart_syscall → -EINTR).</summary>
    static int RestartSyscall(Task t)
    {
        var fn = t.SigState.RestartFn;
        t.SigState.RestartFn = null;
        return fn != null ? fn(t) : -Errno.EINTR;
    }

    // ------------------------------------------------------------------ itimers

    static long RemainingNs(ProcessTimers.Timer tm)
    {
        if (!tm.Armed) return 0;
        long r = tm.Expires - ProcessTimers.Now();
        return r <= 0 ? 1000 : r; // itimer_get_remtime: an expired-but-pending timer reports 1 µs
    }

    /// <summary>alarm_setitimer: returns the old remaining seconds, rounded as the kernel rounds them.</summary>
    static int Alarm(Task t, uint seconds)
    {
        var pt = ProcessTimers.Of(t);
        var tm = pt.ITimers[0];
        long oldNs;
        lock (pt.Lock) oldNs = RemainingNs(tm);
        pt.Arm(tm, seconds == 0 ? 0 : ProcessTimers.Now() + seconds * 1_000_000_000L, 0);
        long sec = oldNs / 1_000_000_000, usec = oldNs % 1_000_000_000 / 1000;
        if ((sec == 0 && usec != 0) || usec >= 500_000) sec++;
        return (int)sec;
    }

    static int PutItimerval(Task t, uint p, long intervalNs, long valueNs)
    {
        Span<byte> b = stackalloc byte[16];
        // ns_to_timeval rounds down; a pending timer never reports 0 (see RemainingNs).
        U.W32(b, 0, (int)(intervalNs / 1_000_000_000)); U.W32(b, 4, (int)(intervalNs % 1_000_000_000 / 1000));
        U.W32(b, 8, (int)(valueNs / 1_000_000_000)); U.W32(b, 12, (int)(valueNs % 1_000_000_000 / 1000));
        return U.Put(t, p, b);
    }

    static int GetItimer(Task t, int which, uint p)
    {
        if (which is < 0 or > 2) return -Errno.EINVAL;
        var pt = ProcessTimers.Of(t);
        var tm = pt.ITimers[which];
        long iv, val;
        lock (pt.Lock) { iv = tm.Interval; val = RemainingNs(tm); }
        return PutItimerval(t, p, iv, val);
    }

    static int SetItimer(Task t, int which, uint pnew, uint pold)
    {
        if (which is < 0 or > 2) return -Errno.EINVAL;
        long iv = 0, val = 0;
        if (pnew != 0)
        {
            Span<byte> b = stackalloc byte[16];
            if (U.Get(t, pnew, b) != 0) return -Errno.EFAULT;
            int isec = (int)U.R32(b, 0), iusec = (int)U.R32(b, 4), vsec = (int)U.R32(b, 8), vusec = (int)U.R32(b, 12);
            if (isec < 0 || vsec < 0 || iusec is < 0 or >= 1_000_000 || vusec is < 0 or >= 1_000_000) return -Errno.EINVAL;
            iv = isec * 1_000_000_000L + iusec * 1000L;
            val = vsec * 1_000_000_000L + vusec * 1000L;
        }
        var pt = ProcessTimers.Of(t);
        var tm = pt.ITimers[which];
        long oiv, oval;
        lock (pt.Lock) { oiv = tm.Interval; oval = RemainingNs(tm); }
        if (pold != 0 && PutItimerval(t, pold, oiv, oval) != 0) return -Errno.EFAULT;
        pt.Arm(tm, val == 0 ? 0 : ProcessTimers.Now() + val, val == 0 ? 0 : iv);
        return 0;
    }

    // ------------------------------------------------------------------ POSIX timers

    static bool ValidTimerClock(int clk) => clk is TimeCalls.CLOCK_REALTIME or TimeCalls.CLOCK_MONOTONIC or TimeCalls.CLOCK_BOOTTIME
        or TimeCalls.CLOCK_PROCESS_CPUTIME_ID or TimeCalls.CLOCK_THREAD_CPUTIME_ID;

    static int TimerCreate(Task t, int clk, uint sevp, uint idp)
    {
        if (!ValidTimerClock(clk)) return -Errno.EINVAL;
        var tm = new ProcessTimers.Timer { Posix = true, Clock = clk, Signo = Sig.SIGALRM, Notify = SIGEV_SIGNAL };
        bool haveEvent = false;
        if (sevp != 0)
        {
            // struct compat_sigevent: sigev_value, sigev_signo, sigev_notify, _tid
            Span<byte> b = stackalloc byte[16];
            if (U.Get(t, sevp, b) != 0) return -Errno.EFAULT;
            tm.Value = U.R32(b, 0); tm.Signo = (int)U.R32(b, 4); tm.Notify = (int)U.R32(b, 8);
            int tid = (int)U.R32(b, 12);
            haveEvent = true;
            // good_sigevent
            int kind = tm.Notify & ~SIGEV_THREAD_ID;
            if ((tm.Notify & SIGEV_THREAD_ID) != 0 && tid != t.Tid) return -Errno.EINVAL;
            if (kind is not (SIGEV_SIGNAL or SIGEV_NONE) || (kind == SIGEV_SIGNAL && (tm.Signo <= 0 || tm.Signo > 64)))
                return -Errno.EINVAL;
            if (tm.Notify == SIGEV_THREAD) return -Errno.EINVAL;
            if ((tm.Notify & SIGEV_THREAD_ID) != 0) tm.ThreadTarget = t;
            tm.Notify = kind;
        }
        var pt = ProcessTimers.Of(t);
        int id;
        lock (pt.Lock)
        {
            id = 0;
            while (pt.Posix.ContainsKey(id)) id++;
            tm.Id = id;
            if (!haveEvent) tm.Value = (uint)id; // sigev_value.sival_int = timer id
            pt.Posix[id] = tm;
        }
        if (!t.Mem.WriteU32(idp, (uint)id)) { lock (pt.Lock) pt.Posix.Remove(id); return -Errno.EFAULT; }
        return 0;
    }

    static ProcessTimers.Timer? Find(Task t, int id, out ProcessTimers pt)
    {
        pt = ProcessTimers.Of(t);
        lock (pt.Lock) return pt.Posix.TryGetValue(id, out var tm) ? tm : null;
    }

    static bool GetTs(Task t, uint p, bool wide, out long ns, int off = 0)
    {
        ns = 0;
        Span<byte> b = stackalloc byte[16];
        long sec, nsec;
        if (wide) { if (U.Get(t, p + (uint)off * 2, b) != 0) return false; sec = (long)U.R64(b, 0); nsec = (long)U.R64(b, 8); }
        else { if (U.Get(t, p + (uint)off, b[..8]) != 0) return false; sec = (int)U.R32(b, 0); nsec = (int)U.R32(b, 4); }
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) { ns = -1; return true; }
        ns = sec * 1_000_000_000 + nsec;
        return true;
    }

    static int PutItimerspec(Task t, uint p, long iv, long val, bool wide)
    {
        Span<byte> b = stackalloc byte[32];
        if (wide)
        {
            U.W64(b, 0, iv / 1_000_000_000); U.W64(b, 8, iv % 1_000_000_000);
            U.W64(b, 16, val / 1_000_000_000); U.W64(b, 24, val % 1_000_000_000);
            return U.Put(t, p, b);
        }
        U.W32(b, 0, (int)(iv / 1_000_000_000)); U.W32(b, 4, (int)(iv % 1_000_000_000));
        U.W32(b, 8, (int)(val / 1_000_000_000)); U.W32(b, 12, (int)(val % 1_000_000_000));
        return U.Put(t, p, b[..16]);
    }

    static long PosixRemaining(ProcessTimers.Timer tm)
    {
        if (!tm.Armed) return 0;
        long r = tm.Expires - ProcessTimers.Now();
        return r <= 0 ? 1 : r;
    }

    static int TimerSettime(Task t, int id, int flags, uint pnew, uint pold, bool wide)
    {
        // timer_settime (kernel/time/posix-timers.c): no new setting -EINVAL, its copy -EFAULT, its values -EINVAL, then
        // the timer id (-EINVAL); the old setting is copied out after the change (a bad pointer still arms the timer)
        if (pnew == 0) return -Errno.EINVAL;
        int sz = wide ? 16 : 8;
        if (!GetTs(t, pnew, wide, out long iv) || !GetTs(t, pnew + (uint)sz, wide, out long val)) return -Errno.EFAULT;
        if (iv < 0 || val < 0) return -Errno.EINVAL;
        var tm = Find(t, id, out var pt);
        if (tm == null) return -Errno.EINVAL;
        long oiv = 0, oval = 0;
        if (pold != 0) lock (pt.Lock) { oiv = tm.Interval; oval = PosixRemaining(tm); }
        long expires = 0;
        if (val != 0)
        {
            long now = ProcessTimers.Now();
            if ((flags & TIMER_ABSTIME) != 0)
            {
                TimeCalls.Now(tm.Clock is TimeCalls.CLOCK_REALTIME ? TimeCalls.CLOCK_REALTIME : TimeCalls.CLOCK_MONOTONIC, out long cs, out long cns);
                long rel = val - (cs * 1_000_000_000 + cns);
                expires = now + Math.Max(rel, 0);
            }
            else expires = now + val;
            if (expires <= 0) expires = 1;
        }
        pt.Arm(tm, expires, val == 0 ? 0 : iv);
        return pold != 0 && PutItimerspec(t, pold, oiv, oval, wide) != 0 ? -Errno.EFAULT : 0;
    }

    static int TimerGettime(Task t, int id, uint p, bool wide)
    {
        var tm = Find(t, id, out var pt);
        if (tm == null) return -Errno.EINVAL;
        long iv, val;
        lock (pt.Lock) { iv = tm.Interval; val = PosixRemaining(tm); }
        return PutItimerspec(t, p, iv, val, wide);
    }

    static int TimerGetoverrun(Task t, int id)
    {
        var tm = Find(t, id, out _);
        return tm == null ? -Errno.EINVAL : tm.LastOverrun;
    }

    static int TimerDelete(Task t, int id)
    {
        var tm = Find(t, id, out var pt);
        if (tm == null) return -Errno.EINVAL;
        pt.Arm(tm, 0, 0);
        lock (pt.Lock) pt.Posix.Remove(id);
        return 0;
    }

    // ------------------------------------------------------------------ sleeping

    /// <summary>hrtimer_nanosleep / common_nsleep: relative sleeps report the remaining time and restart through
    /// restart_syscall (-ERESTART_RESTARTBLOCK); absolute ones restart as they are (-ERESTARTNOHAND).</summary>
    static int Nanosleep(Task t, int clk, int flags, uint req, uint rem, bool wide)
    {
        // clock_nanosleep (kernel/time/posix-timers.c): clockid_to_kclock (no clock -EINVAL; a negative id is a CPU
        // clock, or a dynamic one when its low bits are CLOCKFD), a clock without nsleep -EOPNOTSUPP (thread CPU,
        // MONOTONIC_RAW, the COARSE ones, dynamic), then the copy (-EFAULT) and the timespec (-EINVAL) before the clock's
        // own nsleep. Sleeping on a CPU clock (process_cpu_nsleep, posix_cpu_nsleep) or an alarm clock is not modelled:
        // -EINVAL for another task's CPU clock (validate_clock_permissions finds no such pid here), -EOPNOTSUPP else.
        bool wall = clk is TimeCalls.CLOCK_REALTIME or TimeCalls.CLOCK_MONOTONIC or TimeCalls.CLOCK_BOOTTIME or TimeCalls.CLOCK_TAI;
        if (!wall)
        {
            if (clk < 0 ? (clk & 7) == 3 : clk is 3 or 4 or 5 or 6) return -Errno.EOPNOTSUPP;
            if (clk is 10 or > 11) return -Errno.EINVAL;
        }
        if (!GetTs(t, req, wide, out long ns)) return -Errno.EFAULT;
        if (ns < 0) return -Errno.EINVAL;
        if (!wall) return clk < 0 ? -Errno.EINVAL : -Errno.EOPNOTSUPP;
        bool abs = (flags & TIMER_ABSTIME) != 0;
        long deadline;
        if (abs)
        {
            TimeCalls.Now(clk, out long cs, out long cns);
            deadline = ProcessTimers.Now() + (ns - (cs * 1_000_000_000 + cns));
        }
        else deadline = ProcessTimers.Now() + ns;
        // nanosleep(2) without TIMER_ABSTIME only reports rem for clock_nanosleep's relative mode and nanosleep.
        return DoNanosleep(t, deadline, abs, rem, wide);
    }

    static int DoNanosleep(Task t, long deadline, bool abs, uint rem, bool wide)
    {
        long now = ProcessTimers.Now();
        if (deadline > now && t.Kernel.Sleep(t, deadline))
        {
            long left = deadline - ProcessTimers.Now();
            if (left <= 0) return 0; // the timer expired as the signal came
            if (abs) return -Errno.ERESTARTNOHAND;
            if (rem != 0)
            {
                Span<byte> b = stackalloc byte[16];
                int r;
                if (wide) { U.W64(b, 0, left / 1_000_000_000); U.W64(b, 8, left % 1_000_000_000); r = U.Put(t, rem, b); }
                else { U.W32(b, 0, (int)(left / 1_000_000_000)); U.W32(b, 4, (int)(left % 1_000_000_000)); r = U.Put(t, rem, b[..8]); }
                if (r != 0) return -Errno.EFAULT;
            }
            // restart_block: hrtimer_nanosleep_restart with the same absolute expiry.
            t.SigState.RestartFn = tt => DoNanosleep(tt, deadline, false, rem, wide);
            return -Errno.ERESTART_RESTARTBLOCK;
        }
        return 0;
    }
}
