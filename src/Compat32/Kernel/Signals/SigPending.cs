namespace Compat32.Kernel.Signals;

/// <summary>
/// struct sigpending (include/linux/signal_types.h): the set of pending signals and their queued siginfo, one per
/// pending legacy signal, a queue for real-time ones. A thread has one (task->pending, private) and its thread
/// group one (signal->shared_pending). Every member is guarded by the owning ThreadGroup.SigLock (siglock).
/// </summary>
public sealed class SigPending
{
    const ulong SynchronousMask = (1UL << (Sig.SIGSEGV - 1)) | (1UL << (Sig.SIGBUS - 1)) | (1UL << (Sig.SIGILL - 1))
                                | (1UL << (Sig.SIGTRAP - 1)) | (1UL << (Sig.SIGFPE - 1)) | (1UL << (Sig.SIGSYS - 1));

    /// <summary>pending->signal. Written under SigLock; read lock-free (Volatile) by the wake-up checks, as
    /// signal_pending() reads TIF_SIGPENDING without the lock.</summary>
    public ulong Signal;
    /// <summary>pending->list. SigLock.</summary>
    public readonly List<KSigInfo> Queue = new();

    /// <summary>legacy_queue: a signal below SIGRTMIN is queued at most once.</summary>
    public bool LegacyQueued(int sig) => sig < Sig.SIGRTMIN && (Signal & Sig.Bit(sig)) != 0;

    /// <summary>The out_set half of __send_signal_locked: queue the siginfo and mark the signal pending.</summary>
    public void Add(in KSigInfo info)
    {
        Queue.Add(info);
        Signal |= Sig.Bit(info.Signo);
    }

    /// <summary>next_signal: of the pending signals in allowed, a synchronous one (SYNCHRONOUS_MASK) first, else
    /// the lowest numbered. 0 when none.</summary>
    public int Next(ulong allowed)
    {
        ulong x = Signal & allowed;
        if (x == 0) return 0;
        if ((x & SynchronousMask) != 0) x &= SynchronousMask;
        return System.Numerics.BitOperations.TrailingZeroCount(x) + 1;
    }

    /// <summary>collect_signal: take the first queued siginfo of sig; the signal stays pending while another is
    /// queued. With none queued the info is SI_USER with no sender, as Linux fills it.</summary>
    public void Collect(int sig, out KSigInfo info)
    {
        int first = -1;
        bool more = false;
        for (int i = 0; i < Queue.Count; i++)
        {
            if (Queue[i].Signo != sig) continue;
            if (first < 0) first = i; else { more = true; break; }
        }
        if (!more) Signal &= ~Sig.Bit(sig);
        if (first >= 0) { info = Queue[first]; Queue.RemoveAt(first); }
        else info = new KSigInfo { Signo = sig, Code = KSigInfo.SI_USER, Layout = SigInfoLayout.Kill };
    }

    /// <summary>__dequeue_signal: next_signal then collect_signal. 0 when nothing in allowed is pending.</summary>
    public int Dequeue(ulong allowed, out KSigInfo info)
    {
        int sig = Next(allowed);
        if (sig != 0) Collect(sig, out info); else info = default;
        return sig;
    }

    /// <summary>flush_sigqueue_mask: forget every pending instance of the signals in mask.</summary>
    public void FlushMask(ulong mask)
    {
        if ((Signal & mask) == 0) return;
        Signal &= ~mask;
        Queue.RemoveAll(q => (Sig.Bit(q.Signo) & mask) != 0);
    }

    /// <summary>__flush_itimer_signals (exec): drop queued SI_TIMER signals; a signal stays pending if another
    /// siginfo of it (not a timer's) is still queued.</summary>
    public void FlushTimers()
    {
        ulong retain = 0, signal = Signal;
        for (int i = Queue.Count - 1; i >= 0; i--)
        {
            var q = Queue[i];
            if (q.Code != KSigInfo.SI_TIMER) retain |= Sig.Bit(q.Signo);
            else { signal &= ~Sig.Bit(q.Signo); Queue.RemoveAt(i); }
        }
        Signal = signal | retain;
    }

    /// <summary>send_sigqueue on a still-queued POSIX timer signal: its si_overrun grows. True if it was queued.</summary>
    public bool BumpTimerOverrun(int timerId, int sig, int by)
    {
        for (int i = 0; i < Queue.Count; i++)
        {
            var q = Queue[i];
            if (q.Signo != sig || q.Layout != SigInfoLayout.Timer || q.Pid != timerId || q.Code != KSigInfo.SI_TIMER) continue;
            q.Uid += (uint)by;
            Queue[i] = q;
            return true;
        }
        return false;
    }
}
