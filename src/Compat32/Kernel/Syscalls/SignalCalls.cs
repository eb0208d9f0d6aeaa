using Compat32.Kernel.Signals;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Syscalls;

/// <summary>Signal dispositions, masks, waiting and sending (kernel/signal.c, compat variants; ia32_signal.c for
/// sigreturn; fs/signalfd.c).</summary>
public static class SignalCalls
{
    const int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    const int SS_ONSTACK = 1, SS_DISABLE = 2;
    const uint SS_AUTODISARM = 1u << 31, SS_FLAG_BITS = SS_AUTODISARM;
    static readonly ulong Unblockable = Sig.Bit(Sig.SIGKILL) | Sig.Bit(Sig.SIGSTOP);

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.rt_sigaction, "dppu", (t, a, b, c, d, _, _) => RtSigaction(t, (int)a, b, c, d));
        s.Add(Nr.sigaction, "dpp", (t, a, b, c, _, _, _) => OldSigaction(t, (int)a, b, c));
        s.Add(Nr.signal, "dx", (t, a, b, _, _, _, _) => Signal(t, (int)a, b), 'x');
        s.Add(Nr.rt_sigprocmask, "dppu", (t, a, b, c, d, _, _) => d != 8 ? -Errno.EINVAL : SigProcMask(t, (int)a, b, c, 8));
        s.Add(Nr.sigprocmask, "dpp", (t, a, b, c, _, _, _) => SigProcMask(t, (int)a, b, c, 4));
        s.Add(Nr.sgetmask, "", (t, _, _, _, _, _, _) => (int)(uint)t.Blocked);
        s.Add(Nr.ssetmask, "x", (t, a, _, _, _, _, _) => { int old = (int)(uint)t.Blocked; t.Kernel.Signals.SetBlocked(t, (t.Blocked & ~0xFFFFFFFFUL) | a); return old; });
        s.Add(Nr.rt_sigpending, "pu", (t, a, b, _, _, _, _) => b > 8 ? -Errno.EINVAL : Put(t, a, SignalModel.SigPendingSet(t), (int)b));
        s.Add(Nr.sigpending, "p", (t, a, _, _, _, _, _) => Put(t, a, SignalModel.SigPendingSet(t), 4));
        s.Add(Nr.kill, "dd", (t, a, b, _, _, _, _) => Kill(t, (int)a, (int)b));
        s.Add(Nr.tkill, "dd", (t, a, b, _, _, _, _) => TKill(t, 0, (int)a, (int)b));
        s.Add(Nr.tgkill, "ddd", (t, a, b, c, _, _, _) => TKill(t, (int)a, (int)b, (int)c));
        s.Add(Nr.rt_sigqueueinfo, "ddp", (t, a, b, c, _, _, _) => SigQueueInfo(t, (int)a, 0, (int)b, c));
        s.Add(Nr.rt_tgsigqueueinfo, "dddp", (t, a, b, c, d, _, _) => SigQueueInfo(t, (int)a, (int)b, (int)c, d));
        s.Add(Nr.sigreturn, "", (t, _, _, _, _, _, _) => SignalFrames.Sigreturn(t));
        s.Add(Nr.rt_sigreturn, "", (t, _, _, _, _, _, _) => SignalFrames.RtSigreturn(t));
        s.Add(Nr.sigaltstack, "pp", (t, a, b, _, _, _, _) => Sigaltstack(t, a, b));
        s.Add(Nr.pause, "", (t, _, _, _, _, _, _) => Pause(t));
        s.Add(Nr.sigsuspend, "ddx", (t, _, _, c, _, _, _) => Suspend(t, (t.Blocked & ~0xFFFFFFFFUL) | c));
        s.Add(Nr.rt_sigsuspend, "pu", (t, a, b, _, _, _, _) => RtSigsuspend(t, a, b));
        s.Add(Nr.rt_sigtimedwait, "pppu", (t, a, b, c, d, _, _) => SigTimedWait(t, a, b, c, d, wide: false));
        s.Add(Nr.rt_sigtimedwait_time64, "pppu", (t, a, b, c, d, _, _) => SigTimedWait(t, a, b, c, d, wide: true));
        s.Add(Nr.signalfd, "dpu", (t, a, b, c, _, _, _) => SignalFdCreate(t, (int)a, b, c, 0));
        s.Add(Nr.signalfd4, "dpux", (t, a, b, c, d, _, _) => SignalFdCreate(t, (int)a, b, c, (int)d));
    }

    static int Put(Task t, uint p, ulong v, int size)
    {
        Span<byte> b = stackalloc byte[8];
        U.W64(b, 0, v);
        return U.Put(t, p, b[..size]);
    }

    static bool ValidSig(int s) => s >= 1 && s <= 64;

    /// <summary>do_sigaction's side effect: a newly ignored signal is flushed from the shared set and every
    /// thread's private one.</summary>
    static void SetAction(Task t, int sig, SigAction n)
    {
        n.Mask &= ~Unblockable;
        t.Sig.Actions[sig] = n;
        if (n.Handler == Sig.SIG_IGN || (n.Handler == Sig.SIG_DFL && Sig.DefaultAction(sig) == Sig.Default.Ignore))
            t.Kernel.Signals.FlushGroup(t.Group, Sig.Bit(sig));
    }

    static int RtSigaction(Task t, int sig, uint act, uint oact, uint size)
    {
        if (size != 8) return -Errno.EINVAL;
        if (!ValidSig(sig)) return -Errno.EINVAL;
        SigAction n = default;
        if (act != 0)
        {
            // struct compat_sigaction: handler, flags, restorer, mask[2]
            Span<byte> b = stackalloc byte[20];
            if (U.Get(t, act, b) != 0) return -Errno.EFAULT;
            n.Handler = U.R32(b, 0); n.Flags = U.R32(b, 4); n.Restorer = U.R32(b, 8); n.Mask = U.R64(b, 12);
            if (sig == Sig.SIGKILL || sig == Sig.SIGSTOP) return -Errno.EINVAL;
        }
        var old = t.Sig.Actions[sig];
        if (act != 0) SetAction(t, sig, n);
        if (oact != 0)
        {
            Span<byte> b = stackalloc byte[20];
            U.W32(b, 0, old.Handler); U.W32(b, 4, old.Flags); U.W32(b, 8, old.Restorer); U.W64(b, 12, old.Mask);
            if (U.Put(t, oact, b) != 0) return -Errno.EFAULT;
        }
        return 0;
    }

    /// <summary>sigaction (nr 67): struct old_sigaction {handler, mask (u32), flags, restorer}.</summary>
    static int OldSigaction(Task t, int sig, uint act, uint oact)
    {
        if (!ValidSig(sig)) return -Errno.EINVAL;
        SigAction n = default;
        if (act != 0)
        {
            Span<byte> b = stackalloc byte[16];
            if (U.Get(t, act, b) != 0) return -Errno.EFAULT;
            n.Handler = U.R32(b, 0); n.Mask = U.R32(b, 4); n.Flags = U.R32(b, 8); n.Restorer = U.R32(b, 12);
            if (sig == Sig.SIGKILL || sig == Sig.SIGSTOP) return -Errno.EINVAL;
        }
        var old = t.Sig.Actions[sig];
        if (act != 0) SetAction(t, sig, n);
        if (oact != 0)
        {
            Span<byte> b = stackalloc byte[16];
            U.W32(b, 0, old.Handler); U.W32(b, 4, (uint)old.Mask); U.W32(b, 8, old.Flags); U.W32(b, 12, old.Restorer);
            if (U.Put(t, oact, b) != 0) return -Errno.EFAULT;
        }
        return 0;
    }

    /// <summary>signal(2): SA_ONESHOT | SA_NOMASK (= RESETHAND | NODEFER), returns the old handler.</summary>
    static int Signal(Task t, int sig, uint handler)
    {
        if (!ValidSig(sig) || sig == Sig.SIGKILL || sig == Sig.SIGSTOP) return -Errno.EINVAL;
        var old = t.Sig.Actions[sig];
        SetAction(t, sig, new SigAction { Handler = handler, Flags = Sig.SA_RESETHAND | Sig.SA_NODEFER });
        return (int)old.Handler;
    }

    static int SigProcMask(Task t, int how, uint set, uint oset, int size)
    {
        ulong old = t.Blocked;
        if (set != 0)
        {
            Span<byte> b = stackalloc byte[8];
            if (U.Get(t, set, b[..size]) != 0) return -Errno.EFAULT;
            ulong v = size == 8 ? U.R64(b, 0) : U.R32(b, 0);
            ulong n;
            switch (how)
            {
                case SIG_BLOCK: n = old | v; break;
                case SIG_UNBLOCK: n = old & ~v; break;
                case SIG_SETMASK: n = size == 8 ? v : (old & 0xFFFFFFFF00000000UL) | v; break;
                default: return -Errno.EINVAL;
            }
            t.Kernel.Signals.SetBlocked(t, n);
        }
        else if (how is < 0 or > 2 && size == 8) return -Errno.EINVAL;
        if (oset != 0 && Put(t, oset, old, size) != 0) return -Errno.EFAULT;
        return 0;
    }

    static KSigInfo UserInfo(Task t, int sig, int code) => new()
    {
        Signo = sig, Code = code, Layout = SigInfoLayout.Kill, Pid = t.Tgid, Uid = (uint)t.Group.Creds.Uid,
    };

    /// <summary>kill(2) (kill_something_info): pid &gt; 0 a process, 0 the caller's process group, -1 every process
    /// but the caller, &lt; -1 the process group -pid. Signal 0 only checks that a target exists.</summary>
    static int Kill(Task t, int pid, int sig)
    {
        if (sig < 0 || sig > 64) return -Errno.EINVAL;
        if (pid == int.MinValue) return -Errno.ESRCH;
        var ts = t.Kernel.TaskSet;
        var targets = new List<ThreadGroup>();
        lock (ts.Lock)
        {
            if (pid > 0) { if (ts.FindGroupLocked(pid) is { State: GroupState.Running } g) targets.Add(g); }
            else
            {
                int pgid = pid == 0 ? t.Group.Pgid : -pid;
                foreach (var g in ts.GroupsLocked)
                {
                    if (g.State != GroupState.Running) continue;
                    if (pid == -1 ? g != t.Group : g.Pgid == pgid) targets.Add(g);
                }
            }
        }
        if (targets.Count == 0) return -Errno.ESRCH;
        if (sig == 0) return 0;
        foreach (var g in targets)
            if (g.Leader is { } leader) t.Kernel.Signals.SendToGroup(leader, UserInfo(t, sig, KSigInfo.SI_USER));
        return 0;
    }

    /// <summary>tkill/tgkill (do_tkill): SI_TKILL, thread-directed.</summary>
    static int TKill(Task t, int tgid, int tid, int sig)
    {
        if (tid <= 0 || (tgid != 0 && tgid <= 0)) return -Errno.EINVAL;
        if (sig < 0 || sig > 64) return -Errno.EINVAL;
        var target = t.Kernel.TaskSet.FindTask(tid);
        if (target == null || target.Exited || (tgid != 0 && target.Tgid != tgid)) return -Errno.ESRCH;
        if (sig == 0) return 0;
        t.Kernel.Signals.Send(target, UserInfo(t, sig, KSigInfo.SI_TKILL));
        return 0;
    }

    /// <summary>rt_sigqueueinfo / rt_tgsigqueueinfo: user-supplied siginfo; si_code must be negative (not SI_TKILL)
    /// when sent to another process — to ourselves anything goes.</summary>
    static int SigQueueInfo(Task t, int pid, int tid, int sig, uint uinfo)
    {
        Span<byte> b = stackalloc byte[128];
        if (U.Get(t, uinfo, b) != 0) return -Errno.EFAULT;
        if (!ValidSig(sig)) return -Errno.EINVAL;
        var info = new KSigInfo { Signo = sig, Errno = (int)U.R32(b, 4), Code = (int)U.R32(b, 8), Layout = SigInfoLayout.Rt,
            Pid = (int)U.R32(b, 12), Uid = U.R32(b, 16), Value = U.R32(b, 20) };
        Task? target;
        if (tid != 0)
        {
            if (pid <= 0 || tid <= 0) return -Errno.EINVAL;
            target = t.Kernel.TaskSet.FindTask(tid);
            if (target == null || target.Tgid != pid) return -Errno.ESRCH;
        }
        else target = t.Kernel.TaskSet.FindGroup(pid)?.Leader;
        if (target == null) return -Errno.ESRCH;
        // Only the kernel may forge SI_USER/SI_KERNEL-style codes for another process.
        if (target.Group != t.Group && (info.Code >= 0 || info.Code == KSigInfo.SI_TKILL)) return -Errno.EPERM;
        if (sig == 0) return 0;
        if (tid != 0) t.Kernel.Signals.Send(target, info); else t.Kernel.Signals.SendToGroup(target, info);
        return 0;
    }

    /// <summary>do_sigaltstack (kernel/signal.c). Returns 0 or -errno; the old stack is reported through oss.</summary>
    public static int DoSigaltstack(Task t, uint ssSp, int ssFlags, uint ssSize, uint sp, out (uint sp, int flags, uint size) old)
    {
        old = (t.SigAltStackSp, SignalFrames.SasSsFlags(t, sp) | (int)(t.SigAltStackFlags & SS_FLAG_BITS), t.SigAltStackSize);
        if (SignalFrames.OnSigStack(t, sp)) return -Errno.EPERM;
        int mode = (int)((uint)ssFlags & ~SS_FLAG_BITS);
        if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0) return -Errno.EINVAL;
        if (mode == SS_DISABLE) { ssSize = 0; ssSp = 0; }
        else if (ssSize < 2048) return -Errno.ENOMEM; // MINSIGSTKSZ (uapi asm/signal.h); sigaltstack_size_valid passes without dynamic FPU state
        t.SigAltStackSp = ssSp;
        t.SigAltStackSize = ssSize;
        t.SigAltStackFlags = (uint)ssFlags & SS_FLAG_BITS;
        if (mode == SS_DISABLE) t.SigAltStackFlags |= SS_DISABLE;
        return 0;
    }

    static int Sigaltstack(Task t, uint uss, uint uoss)
    {
        uint sp = (uint)t.SysRegs.sp;
        var old = (t.SigAltStackSp, SignalFrames.SasSsFlags(t, sp) | (int)(t.SigAltStackFlags & SS_FLAG_BITS), t.SigAltStackSize);
        if (uss != 0)
        {
            Span<byte> b = stackalloc byte[12];
            if (U.Get(t, uss, b) != 0) return -Errno.EFAULT;
            int r = DoSigaltstack(t, U.R32(b, 0), (int)U.R32(b, 4), U.R32(b, 8), sp, out _);
            if (r != 0) return r;
        }
        if (uoss != 0)
        {
            Span<byte> b = stackalloc byte[12];
            U.W32(b, 0, old.Item1); U.W32(b, 4, old.Item2); U.W32(b, 8, old.Item3);
            if (U.Put(t, uoss, b) != 0) return -Errno.EFAULT;
        }
        return 0;
    }

    /// <summary>sys_pause: sleep until a signal is delivered; -ERESTARTNOHAND.</summary>
    static int Pause(Task t)
    {
        var sm = t.Kernel.Signals;
        sm.WaitFor(t, 0, long.MaxValue);
        return -Errno.ERESTARTNOHAND;
    }

    /// <summary>sigsuspend: install the mask, sleep until a signal, and have the exit path restore the old mask
    /// after the handler frame captured it (TIF_RESTORE_SIGMASK).</summary>
    static int Suspend(Task t, ulong mask)
    {
        var st = t.SigState;
        st.SavedMask = t.Blocked;
        st.RestoreSigmask = true;
        var sm = t.Kernel.Signals;
        sm.SetBlocked(t, mask);
        sm.WaitFor(t, 0, long.MaxValue);
        return -Errno.ERESTARTNOHAND;
    }

    static int RtSigsuspend(Task t, uint uset, uint size)
    {
        if (size != 8) return -Errno.EINVAL;
        Span<byte> b = stackalloc byte[8];
        if (U.Get(t, uset, b) != 0) return -Errno.EFAULT;
        return Suspend(t, U.R64(b, 0));
    }

    /// <summary>do_sigtimedwait: dequeue one of 'these'; while waiting, those are unblocked (real_blocked).</summary>
    static int SigTimedWait(Task t, uint uthese, uint uinfo, uint uts, uint size, bool wide)
    {
        if (size != 8) return -Errno.EINVAL;
        Span<byte> b = stackalloc byte[16];
        if (U.Get(t, uthese, b[..8]) != 0) return -Errno.EFAULT;
        ulong these = U.R64(b, 0) & ~Unblockable;
        long timeoutNs = -1;
        if (uts != 0)
        {
            long sec, nsec;
            if (wide) { if (U.Get(t, uts, b) != 0) return -Errno.EFAULT; sec = (long)U.R64(b, 0); nsec = (long)U.R64(b, 8); }
            else { if (U.Get(t, uts, b[..8]) != 0) return -Errno.EFAULT; sec = (int)U.R32(b, 0); nsec = (int)U.R32(b, 4); }
            if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
            timeoutNs = sec * 1_000_000_000 + nsec;
        }
        var sm = t.Kernel.Signals;
        int sig = sm.Dequeue(t, these, out var info);
        if (sig == 0 && timeoutNs != 0)
        {
            long deadline = timeoutNs < 0 ? long.MaxValue
                : System.Diagnostics.Stopwatch.GetTimestamp() + (long)(timeoutNs / 1e9 * System.Diagnostics.Stopwatch.Frequency);
            bool woke = sm.SigTimedWaitSleep(t, these, deadline);
            sig = sm.Dequeue(t, these, out info);
            if (sig == 0) return woke ? -Errno.EINTR : -Errno.EAGAIN;
        }
        if (sig == 0) return -Errno.EAGAIN;
        if (uinfo != 0)
        {
            Span<byte> ib = stackalloc byte[128];
            info.WriteCompat(ib);
            if (U.Put(t, uinfo, ib) != 0) return -Errno.EFAULT;
        }
        return sig;
    }

    const int SFD_NONBLOCK = 0x800, SFD_CLOEXEC = 0x80000;

    /// <summary>signalfd4 (fs/signalfd.c): a new fd, or an existing signalfd's mask updated.</summary>
    static int SignalFdCreate(Task t, int fd, uint umask, uint size, int flags)
    {
        if ((flags & ~(SFD_NONBLOCK | SFD_CLOEXEC)) != 0) return -Errno.EINVAL;
        if (size != 8) return -Errno.EINVAL;
        Span<byte> b = stackalloc byte[8];
        if (U.Get(t, umask, b) != 0) return -Errno.EFAULT;
        ulong mask = U.R64(b, 0) & ~Unblockable;
        if (fd == -1)
        {
            // The host fd is only for fstat (an anon inode, as Linux's): readiness is SignalFdFile.Poll.
            int h = LibC.EventFd(0, LibC.O_NONBLOCK | LibC.O_CLOEXEC);
            if (h < 0) return h;
            var f = new SignalFdFile { HostFd = h, Mask = mask, Flags = LibC.O_RDWR | (flags & SFD_NONBLOCK), Path = "anon_inode:[signalfd]" };
            return t.Files.Install(f, (flags & SFD_CLOEXEC) != 0);
        }
        if (t.Files.Get(fd) is not SignalFdFile sf) return t.Files.Get(fd) == null ? -Errno.EBADF : -Errno.EINVAL;
        sf.Mask = mask;
        t.Sig.SignalfdWqh.Wake(); // signalfd_ctx's mask changed: pollers look again
        return fd;
    }
}

/// <summary>A signalfd (fs/signalfd.c): read dequeues pending signals of its mask (the reader's private set, then
/// its process's shared one) as signalfd_siginfo records; poll reports EPOLLIN while one of them is pending for the
/// polling task, and sleeps on its sighand's signalfd_wqh, which every signal sent to a thread of that sighand or to
/// its process wakes (signalfd_notify).</summary>
public sealed class SignalFdFile : KernelFile
{
    /// <summary>ctx->sigmask: the signals it reads; replaced by signalfd4 on it (a 64-bit store is atomic on our hosts).</summary>
    public ulong Mask;

    public override bool ModelPoll => true;
    public override WaitQueue? PollQueue(Task t) => t.Sig.SignalfdWqh;

    /// <summary>signalfd_poll: next_signal(&amp;current->pending, mask) || next_signal(&amp;signal->shared_pending, mask).</summary>
    public override uint Poll(Task t) => SignalModel.PendingIn(t, Volatile.Read(ref Mask)) != 0 ? 1u : 0u; // EPOLLIN

    /// <summary>signalfd_read / signalfd_dequeue: dequeue_signal of the mask; with none pending, -EAGAIN for
    /// O_NONBLOCK, else sleep on signalfd_wqh until one is (dequeued first), or until a signal the reader can
    /// take interrupts the wait (-ERESTARTSYS).</summary>
    public override int Read(Task t, uint buf, uint count)
    {
        int n = (int)(count / 128);
        if (n == 0) return -Errno.EINVAL;
        var sm = t.Kernel.Signals;
        Span<byte> rec = stackalloc byte[128];
        int got = 0;
        while (got < n)
        {
            ulong mask = Volatile.Read(ref Mask);
            int sig = sm.Dequeue(t, mask, out var info);
            if (sig == 0)
            {
                if (got > 0) break;
                if ((Flags & LibC.O_NONBLOCK) != 0) return -Errno.EAGAIN;
                var wqh = t.Sig.SignalfdWqh;
                var entry = new WaitEntry(_ => t.Wake());
                wqh.Add(entry);
                WakeReason why;
                try { why = t.Block(() => SignalModel.PendingIn(t, Volatile.Read(ref Mask)) != 0); }
                finally { wqh.Remove(entry); }
                if (why != WakeReason.Ready) return -Errno.ERESTARTSYS;
                continue;
            }
            info.WriteSignalfd(rec);
            if (!t.Mem.CopyToUser(buf + (uint)(got * 128), rec)) return got > 0 ? got * 128 : -Errno.EFAULT;
            got++;
        }
        return got * 128;
    }
}
