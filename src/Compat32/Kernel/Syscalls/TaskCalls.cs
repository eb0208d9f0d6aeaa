using Compat32.Kernel.Signals;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Syscalls;

/// <summary>The syscall doors into kernel/fork.c, kernel/exit.c, fs/exec.c, kernel/futex/syscalls.c, kernel/pid.c
/// and kernel/sys.c's process-group calls; the work is done in Kernel/Tasks.</summary>
public static class TaskCalls
{
    public static void Register(SyscallTable s)
    {
        s.Add(Nr.fork, "", (t, _, _, _, _, _, _) => Fork.Clone(t, new CloneArgs { ExitSignal = Sig.SIGCHLD }));
        s.Add(Nr.vfork, "", (t, _, _, _, _, _, _) =>
            Fork.Clone(t, new CloneArgs { Flags = Fork.CLONE_VFORK | Fork.CLONE_VM, ExitSignal = Sig.SIGCHLD }));
        // i386 is CONFIG_CLONE_BACKWARDS: clone(flags, newsp, parent_tidptr, tls, child_tidptr).
        s.Add(Nr.clone, "xpppp", (t, a, b, c, d, e, _) => Clone(t, a, b, c, d, e));
        s.Add(Nr.clone3, "pu", (t, a, b, _, _, _, _) => Clone3(t, a, b));
        s.Add(Nr.exit, "d", (t, a, _, _, _, _, _) => Exit.ExitThread(t, (int)a));
        s.Add(Nr.exit_group, "d", (t, a, _, _, _, _, _) => { Exit.GroupExit(t, (int)a, signal: false); return 0; });
        s.Add(Nr.wait4, "dpxp", (t, a, b, c, d, _, _) => Wait4(t, (int)a, b, (int)c, d));
        s.Add(Nr.waitpid, "dpx", (t, a, b, c, _, _, _) => Wait4(t, (int)a, b, (int)c, 0));
        s.Add(Nr.waitid, "ddpxp", (t, a, b, c, d, e, _) => Waitid(t, (int)a, (int)b, c, (int)d, e));
        s.Add(Nr.execve, "spp", (t, a, b, c, _, _, _) => Execve(t, LibC.AT_FDCWD, a, b, c, 0));
        s.Add(Nr.execveat, "fsppx", (t, a, b, c, d, e, _) => Execve(t, (int)a, b, c, d, (int)e));
        s.Add(Nr.futex, "pxxppx", (t, a, b, c, d, e, f) => FutexCall(t, a, (int)b, c, d, e, f, wide: false));
        s.Add(Nr.futex_time64, "pxxppx", (t, a, b, c, d, e, f) => FutexCall(t, a, (int)b, c, d, e, f, wide: true));
        s.Add(Nr.set_robust_list, "pu", (t, a, b, _, _, _, _) => { if (b != 12) return -Errno.EINVAL; t.RobustList = a; t.RobustListLen = b; return 0; });
        s.Add(Nr.get_robust_list, "dpp", (t, a, b, c, _, _, _) => GetRobust(t, (int)a, b, c));
        s.Add(Nr.getppid, "", (t, _, _, _, _, _, _) => { lock (t.Kernel.TaskSet.Lock) return t.Group.Ppid; });
        s.Add(Nr.getpgrp, "", (t, _, _, _, _, _, _) => { lock (t.Kernel.TaskSet.Lock) return t.Group.Pgid; });
        s.Add(Nr.getpgid, "d", (t, a, _, _, _, _, _) => GetId(t, (int)a, sid: false));
        s.Add(Nr.getsid, "d", (t, a, _, _, _, _, _) => GetId(t, (int)a, sid: true));
        s.Add(Nr.setpgid, "dd", (t, a, b, _, _, _, _) => SetPgid(t, (int)a, (int)b));
        s.Add(Nr.setsid, "", (t, _, _, _, _, _, _) => SetSid(t));
        s.Add(Nr.pidfd_open, "dx", (t, a, b, _, _, _, _) => PidfdOpen(t, (int)a, b));
        s.Add(Nr.pidfd_send_signal, "ddpx", (t, a, b, c, d, _, _) => PidfdSendSignal(t, (int)a, (int)b, c, d));
        s.Add(Nr.getrusage, "dp", (t, a, b, _, _, _, _) => GetRusage(t, (int)a, b));
    }

    static int Clone(Task t, uint flags, uint sp, uint ptid, uint tls, uint ctid)
    {
        var args = new CloneArgs
        {
            Flags = flags & ~Fork.CSIGNAL, ExitSignal = (int)(flags & Fork.CSIGNAL), Stack = sp, ParentTid = ptid,
            Tls = tls, ChildTid = ctid, PidFd = ptid,
        };
        // clone(2) cannot carry the newer flags (CLONE_CLEAR_SIGHAND and up live above bit 31).
        if (args.ExitSignal > 64) return -Errno.EINVAL;
        // CLONE_DETACHED is ignored by clone(2) unless with CLONE_PIDFD (legacy).
        if ((args.Flags & Fork.CLONE_PIDFD) == 0) args.Flags &= ~Fork.CLONE_DETACHED;
        return Fork.Clone(t, args);
    }

    /// <summary>clone3: struct clone_args (all u64), at least CLONE_ARGS_SIZE_VER0 = 64 bytes; a larger struct's
    /// extra bytes must be zero (copy_struct_from_user: -E2BIG).</summary>
    static int Clone3(Task t, uint uargs, uint size)
    {
        const uint Ver0 = 64, Ver2 = 88;
        if (size < Ver0) return -Errno.EINVAL;
        if (size > 4096) return -Errno.E2BIG;
        var b = new byte[size];
        if (U.Get(t, uargs, b) != 0) return -Errno.EFAULT;
        for (uint i = Ver2; i < size; i++) if (b[i] != 0) return -Errno.E2BIG;
        ulong flags = U.R64(b, 0), pidfd = U.R64(b, 8), childTid = U.R64(b, 16), parentTid = U.R64(b, 24);
        ulong exitSignal = U.R64(b, 32), stack = U.R64(b, 40), stackSize = U.R64(b, 48), tls = U.R64(b, 56);
        ulong setTidSize = size >= 80 ? U.R64(b, 72) : 0;
        ulong cgroup = size >= Ver2 ? U.R64(b, 80) : 0;
        // copy_clone_args_from_user / clone3_args_valid
        if (setTidSize > 32) return -Errno.EINVAL;
        if (setTidSize != 0) return -Errno.EPERM; // choosing pids needs CAP_SYS_ADMIN over the pid namespace
        if ((exitSignal & ~Fork.CSIGNAL) != 0 || exitSignal > 64) return -Errno.EINVAL;
        if ((flags & Fork.CSIGNAL) != 0) return -Errno.EINVAL;
        if ((flags & ~(0x3FFFFFFFFUL & ~Fork.CSIGNAL)) != 0) return -Errno.EINVAL;
        if ((flags & Fork.CLONE_INTO_CGROUP) != 0 || cgroup != 0) return -Errno.EINVAL;
        if ((flags & (Fork.CLONE_THREAD | Fork.CLONE_PARENT)) != 0 && exitSignal != 0) return -Errno.EINVAL;
        if ((stack == 0) != (stackSize == 0)) return -Errno.EINVAL;
        if (stack + stackSize > 0x1_0000_0000UL || (stack | pidfd | childTid | parentTid | tls) > uint.MaxValue) return -Errno.EINVAL;
        var args = new CloneArgs
        {
            Flags = flags, ExitSignal = (int)exitSignal, Stack = (uint)stack, StackSize = (uint)stackSize,
            Tls = (uint)tls, ParentTid = (uint)parentTid, ChildTid = (uint)childTid, PidFd = (uint)pidfd,
        };
        return Fork.Clone(t, args);
    }

    // ---- wait

    /// <summary>compat wait4: status word, struct compat_rusage.</summary>
    static int Wait4(Task t, int pid, uint status, int options, uint ru)
    {
        if ((options & ~(Exit.WNOHANG | Exit.WUNTRACED | Exit.WCONTINUED | Exit.__WNOTHREAD | Exit.__WCLONE | Exit.__WALL)) != 0)
            return -Errno.EINVAL;
        int type, id;
        if (pid == -1) { type = Exit.P_ALL; id = 0; }
        else if (pid < 0) { if (pid == int.MinValue) return -Errno.ESRCH; type = Exit.P_PGID; id = -pid; }
        else if (pid == 0) { type = Exit.P_PGID; lock (t.Kernel.TaskSet.Lock) id = t.Group.Pgid; }
        else { type = Exit.P_PID; id = pid; }
        int r = Exit.DoWait(t, type, id, options | Exit.WEXITED, out var res);
        if (r <= 0) return r;
        if (status != 0 && !t.Mem.WriteU32(status, (uint)res.Status)) return -Errno.EFAULT;
        if (ru != 0 && PutRusage(t, ru, res.Usage) != 0) return -Errno.EFAULT;
        return r;
    }

    /// <summary>compat waitid: a compat siginfo for the child (or zeroes with WNOHANG and nothing to report).</summary>
    static int Waitid(Task t, int which, int upid, uint infop, int options, uint ru)
    {
        if ((options & ~(Exit.WNOHANG | Exit.WNOWAIT | Exit.WEXITED | Exit.WSTOPPED | Exit.WCONTINUED | Exit.__WNOTHREAD | Exit.__WCLONE | Exit.__WALL)) != 0)
            return -Errno.EINVAL;
        if ((options & (Exit.WEXITED | Exit.WSTOPPED | Exit.WCONTINUED)) == 0) return -Errno.EINVAL;
        int type, id = upid;
        switch (which)
        {
            case Exit.P_ALL: type = Exit.P_ALL; break;
            case Exit.P_PID: if (upid <= 0) return -Errno.EINVAL; type = Exit.P_PID; break;
            case Exit.P_PGID:
                if (upid < 0) return -Errno.EINVAL;
                type = Exit.P_PGID;
                if (upid == 0) lock (t.Kernel.TaskSet.Lock) id = t.Group.Pgid;
                break;
            case Exit.P_PIDFD:
                if (upid < 0) return -Errno.EINVAL;
                if (t.Files.Get(upid) is not PidFile pf) return -Errno.EBADF;
                type = Exit.P_PID; id = pf.Group.Tgid;
                if ((pf.Flags & LibC.O_NONBLOCK) != 0) options |= Exit.WNOHANG;
                break;
            default: return -Errno.EINVAL;
        }
        int r = Exit.DoWait(t, type, id, options, out var res);
        if (r < 0) return r;
        if (ru != 0 && PutRusage(t, ru, res.Usage) != 0) return -Errno.EFAULT;
        if (infop == 0) return 0;
        Span<byte> b = stackalloc byte[28];
        if (r > 0)
        {
            U.W32(b, 0, Sig.SIGCHLD); U.W32(b, 8, res.Code); U.W32(b, 12, res.Pid); U.W32(b, 16, res.Uid);
            U.W32(b, 20, res.SigStatus);
            U.W32(b, 24, (uint)(res.Usage.UtimeNs / 10_000_000));
        }
        return U.Put(t, infop, b[..24]) == 0 ? 0 : -Errno.EFAULT;
    }

    /// <summary>put_compat_rusage: two compat_timevals then 14 compat_longs (72 bytes).</summary>
    static int PutRusage(Task t, uint p, in Rusage u)
    {
        Span<byte> b = stackalloc byte[72];
        b.Clear();
        U.W32(b, 0, (int)(u.UtimeNs / 1_000_000_000)); U.W32(b, 4, (int)(u.UtimeNs % 1_000_000_000 / 1000));
        U.W32(b, 8, (int)(u.StimeNs / 1_000_000_000)); U.W32(b, 12, (int)(u.StimeNs % 1_000_000_000 / 1000));
        U.W32(b, 16, (int)Math.Min(u.MaxRssKb, int.MaxValue));
        U.W32(b, 32, (int)u.MinFlt); U.W32(b, 36, (int)u.MajFlt);
        U.W32(b, 64, (int)u.Nvcsw); U.W32(b, 68, (int)u.Nivcsw);
        return U.Put(t, p, b);
    }

    /// <summary>thread_group_cputime: the group's dead threads' usage plus its live threads' CPU time so far.</summary>
    internal static Rusage SelfUsage(Task t)
    {
        Rusage u;
        lock (t.Kernel.TaskSet.Lock) u = t.Group.DeadThreadsUsage;
        lock (t.Group.Threads) foreach (var th in t.Group.Threads) u.UtimeNs += th.CpuNs();
        return u;
    }

    /// <summary>signal->cutime and friends: what the group's reaped children (and theirs) used.</summary>
    internal static Rusage ChildrenUsage(Task t) { lock (t.Kernel.TaskSet.Lock) return t.Group.ChildrenUsage; }

    /// <summary>getrusage: RUSAGE_SELF (0), RUSAGE_CHILDREN (-1), RUSAGE_THREAD (1).</summary>
    static int GetRusage(Task t, int who, uint p)
    {
        Rusage u;
        switch (who)
        {
            case 0:
                u = SelfUsage(t);
                u.MaxRssKb = Math.Max(u.MaxRssKb, Exit.HostMaxRssKb());
                break;
            case -1: u = ChildrenUsage(t); break;
            case 1: u = new Rusage { UtimeNs = t.CpuNs() }; break;
            default: return -Errno.EINVAL;
        }
        return PutRusage(t, p, u);
    }

    // ---- exec

    static int Execve(Task t, int dirfd, uint path, uint argv, uint envp, int flags)
    {
        int r = PathResolver.ReadPath(t, path, out var p);
        if (r < 0 && !(r == -Errno.ENOENT)) return r;
        var av = new List<byte[]>();
        var ev = new List<byte[]>();
        long total = 0;
        r = Exec.ReadStrings(t, argv, av, ref total);
        if (r < 0) return r;
        r = Exec.ReadStrings(t, envp, ev, ref total);
        if (r < 0) return r;
        return Exec.Execve(t, dirfd, p, av, ev, flags);
    }

    // ---- futex

    /// <summary>do_futex: the op word's command, FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME; the timeout is an
    /// old_timespec32 (futex) or __kernel_timespec (futex_time64); for the requeue and wake-op commands the fourth
    /// argument is a count (val2) instead. The PI commands (LOCK_PI, LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI,
    /// CMP_REQUEUE_PI) take absolute timeouts.</summary>
    static int FutexCall(Task t, uint uaddr, int op, uint val, uint utime, uint uaddr2, uint val3, bool wide)
    {
        int cmd = op & Futex.FUTEX_CMD_MASK;
        bool priv = (op & Futex.FUTEX_PRIVATE_FLAG) != 0;
        bool realtime = (op & Futex.FUTEX_CLOCK_REALTIME) != 0;
        if (realtime && cmd != Futex.FUTEX_WAIT_BITSET && cmd != Futex.FUTEX_WAIT_REQUEUE_PI && cmd != Futex.FUTEX_LOCK_PI2)
            return -Errno.ENOSYS;
        var fx = t.Kernel.Futexes;
        switch (cmd)
        {
            case Futex.FUTEX_WAIT:
            case Futex.FUTEX_WAIT_BITSET:
            {
                long ns = -1;
                if (utime != 0)
                {
                    int r = ReadTimespec(t, utime, wide, out ns);
                    if (r < 0) return r;
                }
                bool abs = cmd == Futex.FUTEX_WAIT_BITSET;
                uint bitset = cmd == Futex.FUTEX_WAIT ? Futex.FUTEX_BITSET_MATCH_ANY : val3;
                long deadline = Futex.Deadline(ns, abs, realtime);
                int res = fx.Wait(t, uaddr, priv, val, bitset, deadline);
                if (res == -Errno.ERESTARTSYS && utime != 0)
                {
                    // futex_wait_restart: a timed wait restarts with its absolute deadline kept.
                    t.SigState.RestartFn = tt =>
                    {
                        int rr = tt.Kernel.Futexes.Wait(tt, uaddr, priv, val, bitset, deadline);
                        return rr == -Errno.ERESTARTSYS ? -Errno.ERESTART_RESTARTBLOCK : rr;
                    };
                    return -Errno.ERESTART_RESTARTBLOCK;
                }
                return res;
            }
            case Futex.FUTEX_WAKE: return fx.Wake(t, uaddr, priv, (int)Math.Min(val, int.MaxValue), Futex.FUTEX_BITSET_MATCH_ANY);
            case Futex.FUTEX_WAKE_BITSET: return fx.Wake(t, uaddr, priv, (int)Math.Min(val, int.MaxValue), val3);
            case Futex.FUTEX_REQUEUE: return fx.Requeue(t, uaddr, uaddr2, priv, (int)val, (int)utime, null);
            case Futex.FUTEX_CMP_REQUEUE: return fx.Requeue(t, uaddr, uaddr2, priv, (int)val, (int)utime, val3);
            case Futex.FUTEX_WAKE_OP: return fx.WakeOp(t, uaddr, uaddr2, priv, (int)val, (int)utime, val3);
            case Futex.FUTEX_LOCK_PI:
            case Futex.FUTEX_LOCK_PI2:
            {
                // Absolute: FUTEX_LOCK_PI on CLOCK_REALTIME, FUTEX_LOCK_PI2 on the clock FUTEX_CLOCK_REALTIME picks.
                long ns = -1;
                if (utime != 0)
                {
                    int r = ReadTimespec(t, utime, wide, out ns);
                    if (r < 0) return r;
                }
                long deadline = Futex.Deadline(ns, absolute: true, realtime: cmd == Futex.FUTEX_LOCK_PI || realtime);
                return fx.LockPi(t, uaddr, priv, deadline, trylock: false);
            }
            case Futex.FUTEX_TRYLOCK_PI: return fx.LockPi(t, uaddr, priv, long.MaxValue, trylock: true);
            case Futex.FUTEX_UNLOCK_PI: return fx.UnlockPi(t, uaddr, priv);
            case Futex.FUTEX_WAIT_REQUEUE_PI:
            {
                long ns = -1;
                if (utime != 0)
                {
                    int r = ReadTimespec(t, utime, wide, out ns);
                    if (r < 0) return r;
                }
                return fx.WaitRequeuePi(t, uaddr, priv, val, Futex.Deadline(ns, absolute: true, realtime), uaddr2);
            }
            case Futex.FUTEX_CMP_REQUEUE_PI: return fx.RequeuePi(t, uaddr, uaddr2, priv, (int)val, (int)utime, val3);
            default: return -Errno.ENOSYS; // FUTEX_FD is gone since 2.6.26
        }
    }

    /// <summary>get_old_timespec32 / get_timespec64 (compat: the upper half of tv_nsec is ignored); -EINVAL for
    /// a negative or unnormalised value.</summary>
    public static int ReadTimespec(Task t, uint p, bool wide, out long ns)
    {
        ns = -1;
        Span<byte> b = stackalloc byte[16];
        if (U.Get(t, p, b[..(wide ? 16 : 8)]) != 0) return -Errno.EFAULT;
        long sec = wide ? (long)U.R64(b, 0) : (int)U.R32(b, 0);
        long nsec = wide ? (int)U.R32(b, 8) : (int)U.R32(b, 4);
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
        ns = sec > long.MaxValue / 1_000_000_000 - 1 ? long.MaxValue : sec * 1_000_000_000 + nsec;
        return 0;
    }

    static int GetRobust(Task t, int pid, uint headPtr, uint lenPtr)
    {
        Task? x = pid == 0 ? t : t.Kernel.TaskSet.FindTask(pid);
        if (x == null) return -Errno.ESRCH;
        if (!t.Mem.WriteU32(headPtr, x.RobustList) || !t.Mem.WriteU32(lenPtr, 12)) return -Errno.EFAULT;
        return 0;
    }

    // ---- process groups and sessions (kernel/sys.c)

    static int GetId(Task t, int pid, bool sid)
    {
        lock (t.Kernel.TaskSet.Lock)
        {
            var g = pid == 0 ? t.Group : t.Kernel.TaskSet.FindGroupLocked(pid);
            if (g == null || g.State == GroupState.Dead) return -Errno.ESRCH;
            return sid ? g.Sid : g.Pgid;
        }
    }

    /// <summary>setpgid: a process may move itself or a child that has not exec'd, within its session, into an
    /// existing group of that session or a new one named after the process.</summary>
    static int SetPgid(Task t, int pid, int pgid)
    {
        if (pgid < 0) return -Errno.EINVAL;
        var ts = t.Kernel.TaskSet;
        lock (ts.Lock)
        {
            var me = t.Group;
            var g = pid == 0 ? me : ts.FindGroupLocked(pid);
            if (g == null) return -Errno.ESRCH;
            if (pgid == 0) pgid = g.Tgid;
            if (g != me)
            {
                if (g.Parent != me) return -Errno.ESRCH;
                if (g.Execed) return -Errno.EACCES;
                if (g.Sid != me.Sid) return -Errno.EPERM;
            }
            if (g.Sid == g.Tgid) return -Errno.EPERM; // a session leader stays where it is
            if (pgid != g.Tgid)
            {
                bool exists = false;
                foreach (var x in ts.GroupsLocked) if (x.Pgid == pgid && x.Sid == me.Sid && x.State != GroupState.Dead) { exists = true; break; }
                if (!exists) return -Errno.EPERM;
            }
            g.Pgid = pgid;
            return 0;
        }
    }

    static int SetSid(Task t)
    {
        var ts = t.Kernel.TaskSet;
        lock (ts.Lock)
        {
            var g = t.Group;
            // A process-group leader cannot start a session (its group would be split).
            foreach (var x in ts.GroupsLocked) if (x.Pgid == g.Tgid && x.State != GroupState.Dead) return -Errno.EPERM;
            g.Sid = g.Pgid = g.Tgid;
            g.Tty = null;
            return g.Tgid;
        }
    }

    // ---- pidfd (kernel/pid.c)

    /// <summary>A pidfd: an open file naming a process; readable (poll) once the process has exited — its host fd
    /// is an eventfd the exit signals.</summary>
    public sealed class PidFile : OpenFile
    {
        public ThreadGroup Group = null!;
    }

    public static int PidfdCreate(Task t, ThreadGroup g, bool cloexec)
    {
        int h = LibC.EventFd(0, 0x80000 | 0x800); // EFD_CLOEXEC | EFD_NONBLOCK on the host side
        if (h < 0) return h;
        var f = new PidFile { HostFd = h, Flags = LibC.O_RDWR, Path = "anon_inode:[pidfd]", Group = g, Kind = FileKind.Other };
        g.OnEnded(() => LibC.EventFdSignal(h));
        int fd = t.Files.Install(f, cloexec);
        if (fd < 0) f.Release();
        return fd;
    }

    static int PidfdOpen(Task t, int pid, uint flags)
    {
        if ((flags & ~(uint)LibC.O_NONBLOCK) != 0 || pid <= 0) return -Errno.EINVAL;
        ThreadGroup? g;
        lock (t.Kernel.TaskSet.Lock)
        {
            var task = t.Kernel.TaskSet.FindTaskLocked(pid);
            g = task?.Group;
            if (g == null || g.Tgid != pid) return g == null ? -Errno.ESRCH : -Errno.EINVAL; // must name a leader
        }
        int fd = PidfdCreate(t, g, cloexec: true);
        if (fd >= 0 && (flags & LibC.O_NONBLOCK) != 0) t.Files.Get(fd)!.Flags |= LibC.O_NONBLOCK;
        return fd;
    }

    static int PidfdSendSignal(Task t, int pidfd, int sig, uint uinfo, uint flags)
    {
        if (flags != 0) return -Errno.EINVAL;
        if (t.Files.Get(pidfd) is not PidFile pf) return -Errno.EBADF;
        if (sig < 0 || sig > 64) return -Errno.EINVAL;
        var g = pf.Group;
        if (g.State != GroupState.Running || g.Leader == null) return -Errno.ESRCH;
        if (sig == 0) return 0;
        KSigInfo info;
        if (uinfo != 0)
        {
            Span<byte> b = stackalloc byte[128];
            if (U.Get(t, uinfo, b) != 0) return -Errno.EFAULT;
            if ((int)U.R32(b, 0) != sig) return -Errno.EINVAL;
            int code = (int)U.R32(b, 8);
            if (g != t.Group && (code >= 0 || code == KSigInfo.SI_TKILL)) return -Errno.EPERM;
            info = new KSigInfo { Signo = sig, Errno = (int)U.R32(b, 4), Code = code, Layout = SigInfoLayout.Rt,
                Pid = (int)U.R32(b, 12), Uid = U.R32(b, 16), Value = U.R32(b, 20) };
        }
        else info = new KSigInfo { Signo = sig, Code = KSigInfo.SI_USER, Layout = SigInfoLayout.Kill, Pid = t.Tgid, Uid = t.Group.Creds.Uid };
        t.Kernel.Signals.SendToGroup(g.Leader!, info);
        return 0;
    }
}
