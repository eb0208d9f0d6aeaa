using Compat32.Kernel.Signals;

namespace Compat32.Kernel.Syscalls;

/// <summary>Signal dispositions, masks and sending (kernel/signal.c, compat variants).</summary>
public static class SignalCalls
{
    const int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2;
    static readonly ulong Unblockable = Sig.Bit(Sig.SIGKILL) | Sig.Bit(Sig.SIGSTOP);

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.rt_sigaction, "dppu", (t, a, b, c, d, _, _) => RtSigaction(t, (int)a, b, c, d));
        s.Add(Nr.sigaction, "dpp", (t, a, b, c, _, _, _) => OldSigaction(t, (int)a, b, c));
        s.Add(Nr.rt_sigprocmask, "dppu", (t, a, b, c, d, _, _) => d != 8 ? -Errno.EINVAL : SigProcMask(t, (int)a, b, c, 8));
        s.Add(Nr.sigprocmask, "dpp", (t, a, b, c, _, _, _) => SigProcMask(t, (int)a, b, c, 4));
        s.Add(Nr.rt_sigpending, "pu", (t, a, b, _, _, _, _) => b > 8 ? -Errno.EINVAL : Put(t, a, t.Pending & t.Blocked, (int)b));
        s.Add(Nr.sigpending, "p", (t, a, _, _, _, _, _) => Put(t, a, t.Pending & t.Blocked, 4));
        s.Add(Nr.kill, "dd", (t, a, b, _, _, _, _) => Kill(t, (int)a, (int)b));
        s.Add(Nr.tkill, "dd", (t, a, b, _, _, _, _) => Kill(t, (int)a, (int)b));
        s.Add(Nr.tgkill, "ddd", (t, a, b, c, _, _, _) => Kill(t, (int)b, (int)c));
    }

    static int Put(Task t, uint p, ulong v, int size)
    {
        Span<byte> b = stackalloc byte[8];
        U.W64(b, 0, v);
        return U.Put(t, p, b[..size]);
    }

    static bool ValidSig(int s) => s >= 1 && s <= 64;

    static int RtSigaction(Task t, int sig, uint act, uint oact, uint size)
    {
        if (size != 8) return -Errno.EINVAL;
        if (!ValidSig(sig)) return -Errno.EINVAL;
        SigAction n = default;
        if (act != 0)
        {
            // struct sigaction (compat): handler, flags, restorer, mask[2]
            Span<byte> b = stackalloc byte[20];
            if (U.Get(t, act, b) != 0) return -Errno.EFAULT;
            n.Handler = U.R32(b, 0); n.Flags = U.R32(b, 4); n.Restorer = U.R32(b, 8); n.Mask = U.R64(b, 12);
            if (sig == Sig.SIGKILL || sig == Sig.SIGSTOP) return -Errno.EINVAL;
        }
        var old = t.Sig.Actions[sig];
        if (oact != 0)
        {
            Span<byte> b = stackalloc byte[20];
            U.W32(b, 0, old.Handler); U.W32(b, 4, old.Flags); U.W32(b, 8, old.Restorer); U.W64(b, 12, old.Mask);
            if (U.Put(t, oact, b) != 0) return -Errno.EFAULT;
        }
        if (act != 0)
        {
            n.Mask &= ~Unblockable;
            t.Sig.Actions[sig] = n;
            // Setting SIG_IGN (or SIG_DFL for an ignore-by-default signal) discards pending instances.
            if (n.Handler == Sig.SIG_IGN || (n.Handler == Sig.SIG_DFL && Sig.DefaultAction(sig) == Sig.Default.Ignore))
                t.Pending &= ~Sig.Bit(sig);
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
        if (oact != 0)
        {
            Span<byte> b = stackalloc byte[16];
            U.W32(b, 0, old.Handler); U.W32(b, 4, (uint)old.Mask); U.W32(b, 8, old.Flags); U.W32(b, 12, old.Restorer);
            if (U.Put(t, oact, b) != 0) return -Errno.EFAULT;
        }
        if (act != 0) { n.Mask &= ~Unblockable; t.Sig.Actions[sig] = n; }
        return 0;
    }

    static int SigProcMask(Task t, int how, uint set, uint oset, int size)
    {
        ulong old = t.Blocked;
        if (set != 0)
        {
            Span<byte> b = stackalloc byte[8];
            if (U.Get(t, set, b[..size]) != 0) return -Errno.EFAULT;
            ulong v = size == 8 ? U.R64(b, 0) : U.R32(b, 0);
            if (size == 4) v |= old & 0xFFFFFFFF00000000UL & (how == SIG_SETMASK ? ulong.MaxValue : 0);
            switch (how)
            {
                case SIG_BLOCK: t.Blocked |= v; break;
                case SIG_UNBLOCK: t.Blocked &= ~v; break;
                case SIG_SETMASK: t.Blocked = size == 8 ? v : (old & 0xFFFFFFFF00000000UL) | (v & 0xFFFFFFFF); break;
                default: return -Errno.EINVAL;
            }
            t.Blocked &= ~Unblockable;
        }
        if (oset != 0 && Put(t, oset, old, size) != 0) return -Errno.EFAULT;
        return 0;
    }

    static int Kill(Task t, int pid, int sig)
    {
        if (sig < 0 || sig > 64) return -Errno.EINVAL;
        Task? target = null;
        foreach (var x in t.Kernel.Tasks) if (x.Tid == pid || (pid <= 0 || pid == x.Tgid) && x.Tgid == t.Tgid) { target = x; break; }
        if (pid == -1 || pid == 0) target = t;
        if (target == null) return -Errno.ESRCH;
        if (sig == 0) return 0;
        t.Kernel.Signals.Send(target, sig);
        return 0;
    }
}
