using Compat32.Entry;

namespace Compat32.Kernel.Signals;

/// <summary>Signal numbers and sigaction flags (include/uapi/asm-generic/signal.h, arch/x86 uapi signal.h).</summary>
public static class Sig
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8,
        SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGSTKFLT = 16,
        SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGURG = 23, SIGXCPU = 24,
        SIGXFSZ = 25, SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28, SIGIO = 29, SIGPWR = 30, SIGSYS = 31, SIGRTMIN = 32;
    public const uint SA_NOCLDSTOP = 1, SA_NOCLDWAIT = 2, SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000,
        SA_NODEFER = 0x40000000, SA_RESETHAND = 0x80000000, SA_RESTORER = 0x04000000;
    public const uint SIG_DFL = 0, SIG_IGN = 1;

    static readonly string[] names =
    {
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
        "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
        "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    };
    public static string Name(int s) => s > 0 && s < names.Length ? names[s] : s >= 32 && s <= 64 ? "SIGRT" + (s - 32) : "SIG" + s;

    public enum Default { Term, Core, Ignore, Stop, Cont }

    /// <summary>Default actions (kernel/signal.c, sig_kernel_* masks).</summary>
    public static Default DefaultAction(int s) => s switch
    {
        SIGQUIT or SIGILL or SIGTRAP or SIGABRT or SIGBUS or SIGFPE or SIGSEGV or SIGXCPU or SIGXFSZ or SIGSYS => Default.Core,
        SIGCHLD or SIGURG or SIGWINCH => Default.Ignore,
        SIGCONT => Default.Cont,
        SIGSTOP or SIGTSTP or SIGTTIN or SIGTTOU => Default.Stop,
        _ => Default.Term,
    };

    public static ulong Bit(int s) => 1UL << (s - 1);
}

/// <summary>Per-thread signal state (the parts of task_struct / thread_struct signals use).</summary>
public sealed class TaskSignalState
{
    /// <summary>Held by Task.Block and WaitFor around their checks (the sleep protocol). Signal state itself is
    /// guarded by the group's SigLock.</summary>
    public readonly object Lock = new();
    /// <summary>What the task sleeps on in Task.Block and WaitFor; senders and wakers signal it (lock-free).</summary>
    public readonly HostEvent Sleep = new();
    /// <summary>task->pending: thread-directed signals (tkill, faults, SIGPIPE). Group.SigLock.</summary>
    public readonly SigPending Private = new();
    /// <summary>task->real_blocked: the mask rt_sigtimedwait replaced while it sleeps (0 otherwise). Group.SigLock.</summary>
    public ulong RealBlocked;
    /// <summary>TIF_SIGPENDING's say over the shared set: complete_signal chose this thread (signal_wake_up) or
    /// recalc_sigpending found a shared signal it does not block. Only such a thread's sleeps are interrupted by a
    /// shared signal (another thread sleeps on while the chosen one takes it). Written under Group.SigLock, read
    /// lock-free (HasDeliverable).</summary>
    public bool SharedWoken;
    /// <summary>saved_sigmask with TIF_RESTORE_SIGMASK (sigsuspend, ppoll ...). Own thread.</summary>
    public ulong SavedMask;
    public bool RestoreSigmask;
    /// <summary>thread.trap_nr, thread.error_code, thread.cr2: copied into every sigcontext.</summary>
    public int TrapNr;
    public uint ErrorCode, Cr2;
    /// <summary>restart_block.fn for -ERESTART_RESTARTBLOCK (null = do_no_restart_syscall).</summary>
    public Func<Task, int>? RestartFn;
    /// <summary>Handler frames built (for tests and --stats).</summary>
    public long Delivered;
    /// <summary>Handler runs per signal number.</summary>
    public readonly long[] DeliveredBySig = new long[65];
}

/// <summary>
/// Signal generation and the exit-to-user-mode work (kernel/signal.c get_signal, arch/x86/kernel/signal.c
/// arch_do_signal_or_restart / handle_signal): queueing with siginfo, dequeue order, default actions, syscall
/// restart; frames are built by SignalFrames (arch/x86/ia32/ia32_signal.c).
/// Pending signals live in two sets as in Linux: each thread's private one (thread-directed: tkill, faults,
/// SIGPIPE) and its group's shared one (process-directed: kill, sigqueue to a pid, SIGCHLD, itimers, timers
/// with SIGEV_SIGNAL, mq_notify); complete_signal picks the thread that takes a shared one.
/// </summary>
public sealed class SignalModel
{
    readonly KernelModel k;
    public SignalModel(KernelModel k) { this.k = k; }

    public const int SI_KERNEL = 0x80, ILL_ILLOPN = 2, FPE_INTDIV = 1, SEGV_MAPERR = 1, SEGV_ACCERR = 2, BUS_ADRERR = 2,
        BUS_ADRALN = 1, TRAP_BRKPT = 1, TRAP_TRACE = 2;
    const ulong Unblockable = (1UL << (Sig.SIGKILL - 1)) | (1UL << (Sig.SIGSTOP - 1));
    const ulong StopMask = (1UL << (Sig.SIGSTOP - 1)) | (1UL << (Sig.SIGTSTP - 1)) | (1UL << (Sig.SIGTTIN - 1)) | (1UL << (Sig.SIGTTOU - 1));

    /// <summary>Plain kill-style send (SI_KERNEL info, as send_sig(sig, t, 1) gives, e.g. SIGPIPE).</summary>
    public void Send(Task t, int sig) => Send(t, new KSigInfo { Signo = sig, Code = KSigInfo.SI_KERNEL, Layout = SigInfoLayout.Kill });

    /// <summary>sig_ignored: a signal that would be ignored and is not blocked (nor waited for by rt_sigtimedwait,
    /// real_blocked) is dropped at generation. Caller holds SigLock.</summary>
    static bool Ignored(Task t, int sig)
    {
        if (((t.Blocked | t.SigState.RealBlocked) & Sig.Bit(sig)) != 0) return false;
        var h = t.Sig.Actions[sig].Handler;
        return h == Sig.SIG_IGN || (h == Sig.SIG_DFL && Sig.DefaultAction(sig) == Sig.Default.Ignore);
    }

    /// <summary>send_signal_locked with PIDTYPE_PID (tkill, faults, SIGPIPE): the thread's private set. Thread-safe.</summary>
    public bool Send(Task t, KSigInfo info)
    {
        int sig = info.Signo;
        if (sig <= 0 || sig > 64 || t.Exited) return false;
        Prepare(t.Group, sig);
        var g = t.Group;
        lock (g.SigLock)
        {
            if (Ignored(t, sig)) return false;
            var pending = t.SigState.Private;
            if (pending.LegacyQueued(sig)) return false;
            pending.Add(info);
        }
        // complete_signal(PIDTYPE_PID): only this thread may take it; a needless wake only rechecks.
        SignalfdNotify(t);
        SignalWakeUp(t);
        return true;
    }

    /// <summary>send_signal_locked with PIDTYPE_TGID (kill, sigqueue to a pid, SIGCHLD, itimers, POSIX timers with
    /// SIGEV_SIGNAL, mq_notify): prepare_signal, queue on the group's shared set, then complete_signal picks a
    /// thread to wake. p is the task the sender named (the group leader for a pid). Thread-safe.</summary>
    public bool SendToGroup(Task p, KSigInfo info)
    {
        int sig = info.Signo;
        if (sig <= 0 || sig > 64) return false;
        var g = p.Group;
        if (g.Exiting) return false;
        Prepare(g, sig);
        Task? target = null;
        List<Task>? killAll = null;
        lock (g.Threads)
        lock (g.SigLock)
        {
            if (Ignored(p, sig)) return false;
            var shared = g.Shared;
            if (shared.LegacyQueued(sig)) return false;
            ulong before = shared.Signal;
            shared.Add(info);
            target = CompleteSignal(sig, p, g, before);
            if (target != null) target.SigState.SharedWoken = true; // signal_wake_up sets TIF_SIGPENDING
            if (target != null && sig == Sig.SIGKILL)
            {
                // complete_signal's fatal case: SIGKILL goes into every thread's private set, and all are woken,
                // so that uninterruptible sleeps (a stopped group) see it too. Other fatal signals are taken by the
                // chosen thread, whose get_signal starts the group exit with the signal's own number.
                killAll = new List<Task>(g.Threads);
                foreach (var th in killAll) th.SigState.Private.Signal |= Sig.Bit(Sig.SIGKILL);
            }
        }
        SignalfdNotify(p);
        if (killAll != null) foreach (var th in killAll) SignalWakeUp(th);
        else if (target != null) SignalWakeUp(target);
        return true;
    }

    /// <summary>complete_signal: the main thread (p) gets the first crack; otherwise the round-robin search from
    /// signal->curr_target for a thread that wants_signal. Null when nobody needs waking: an eligible thread sees
    /// the signal in the shared set before it returns to user mode. Caller holds Threads and SigLock.</summary>
    static Task? CompleteSignal(int sig, Task p, ThreadGroup g, ulong sharedBefore)
    {
        if (WantsSignal(sig, p, g, sharedBefore)) return p;
        var threads = g.Threads;
        int n = threads.Count;
        if (n <= 1) return null; // thread_group_empty: it will dequeue unblocked signals before it runs again
        int start = g.CurrTarget is { } c ? threads.IndexOf(c) : -1;
        if (start < 0) start = 0; // __exit_signal moved curr_target on; we find it gone
        for (int i = 0; i < n; i++)
        {
            var t = threads[(start + i) % n];
            if (!WantsSignal(sig, t, g, sharedBefore)) continue;
            g.CurrTarget = t;
            return t;
        }
        return null;
    }

    /// <summary>wants_signal: not blocked, not exiting; SIGKILL always; not in a stopped group; and no signal
    /// already pending for it (task_sigpending, as HasDeliverable sees it before this signal; task_curr is not
    /// known here, so a running thread with a pending signal is passed over too). Caller holds SigLock.</summary>
    static bool WantsSignal(int sig, Task t, ThreadGroup g, ulong sharedBefore)
    {
        if ((t.Blocked & Sig.Bit(sig)) != 0) return false;
        if (t.Exited) return false;
        if (sig == Sig.SIGKILL) return true;
        if (Volatile.Read(ref g.Stopped)) return false;
        ulong deliverable = ~t.Blocked | Unblockable;
        bool sigpending = (t.SigState.Private.Signal & deliverable) != 0
                       || (t.SigState.SharedWoken && (sharedBefore & deliverable) != 0);
        return !sigpending;
    }

    /// <summary>recalc_sigpending for t's share of the shared set. Caller holds SigLock.</summary>
    static void RecalcLocked(Task t) =>
        t.SigState.SharedWoken = (t.Group.Shared.Signal & (~t.Blocked | Unblockable)) != 0;

    /// <summary>recalc_sigpending under the lock.</summary>
    void Recalc(Task t) { lock (t.Group.SigLock) RecalcLocked(t); }

    /// <summary>signalfd_notify: wake the signalfd readers and pollers of the target's sighand.</summary>
    static void SignalfdNotify(Task t)
    {
        if (t.Sig.SignalfdWqh.Active) t.Sig.SignalfdWqh.Wake();
    }

    /// <summary>signal_wake_up: wake the task from its interruptible sleep and make its CPU leave the run loop.</summary>
    static void SignalWakeUp(Task t)
    {
        t.SigState.Sleep.Signal();
        Kick(t);
    }

    /// <summary>signal_wake_up: make the CPU leave its run loop at the next block so exit work runs.</summary>
    public static void Kick(Task t) => t.Cpu.RequestAsyncStop();

    /// <summary>force_sig_info_to_task: a synchronous signal is unblocked, and a blocked or ignored one gets SIG_DFL.</summary>
    public void ForceFault(Task t, KSigInfo info)
    {
        lock (t.Group.SigLock)
        {
            ref var act = ref t.Sig.Actions[info.Signo];
            bool blocked = (t.Blocked & Sig.Bit(info.Signo)) != 0;
            if (act.Handler == Sig.SIG_IGN || blocked)
            {
                act.Handler = Sig.SIG_DFL;
                t.Blocked &= ~Sig.Bit(info.Signo);
            }
            if (!t.SigState.Private.LegacyQueued(info.Signo)) t.SigState.Private.Add(info);
        }
    }

    /// <summary>force_sigsegv: a frame could not be written. SIGSEGV itself falls back to the default action.</summary>
    public void ForceSigsegv(Task t, int sig)
    {
        if (sig == Sig.SIGSEGV) t.Sig.Actions[Sig.SIGSEGV].Handler = Sig.SIG_DFL;
        ForceFault(t, new KSigInfo { Signo = Sig.SIGSEGV, Code = SI_KERNEL, Layout = SigInfoLayout.Kill });
    }

    /// <summary>signal_pending(): a private signal this thread does not block, or a shared one when this thread
    /// was chosen for it (SharedWoken). Lock-free, as signal_pending() reads TIF_SIGPENDING: a sender changes the
    /// sets before it wakes the thread.</summary>
    public bool HasDeliverable(Task t)
    {
        ulong deliverable = ~Volatile.Read(ref t.Blocked) | Unblockable;
        if ((Volatile.Read(ref t.SigState.Private.Signal) & deliverable) != 0) return true;
        return Volatile.Read(ref t.SigState.SharedWoken) && (Volatile.Read(ref t.Group.Shared.Signal) & deliverable) != 0;
    }

    /// <summary>Pending signals of mask in the thread's private or its group's shared set (signalfd_poll's
    /// next_signal on both). Lock-free, as HasDeliverable.</summary>
    public static ulong PendingIn(Task t, ulong mask) =>
        (Volatile.Read(ref t.SigState.Private.Signal) | Volatile.Read(ref t.Group.Shared.Signal)) & mask;

    /// <summary>do_sigpending: the blocked signals pending in the private or the shared set.</summary>
    public static ulong SigPendingSet(Task t)
    {
        lock (t.Group.SigLock) return (t.SigState.Private.Signal | t.Group.Shared.Signal) & t.Blocked;
    }

    /// <summary>dequeue_signal with an explicit mask of acceptable signals: the private set first ("we only
    /// dequeue private signals from ourselves"), then the shared one; in each, synchronous ones first.</summary>
    public int Dequeue(Task t, ulong allowed, out KSigInfo info)
    {
        lock (t.Group.SigLock)
        {
            int sig = t.SigState.Private.Dequeue(allowed, out info);
            if (sig == 0) sig = t.Group.Shared.Dequeue(allowed, out info);
            RecalcLocked(t);
            return sig;
        }
    }

    /// <summary>send_sigqueue on a still-queued POSIX timer signal: bump its si_overrun instead of queueing again.
    /// A SIGEV_SIGNAL timer's signal sits in the shared set; one of a thread's (SIGEV_THREAD_ID) in its private one.</summary>
    public bool BumpTimerOverrun(Task owner, int timerId, int sig, int by)
    {
        var g = owner.Group;
        lock (g.Threads)
        lock (g.SigLock)
        {
            if (g.Shared.BumpTimerOverrun(timerId, sig, by)) return true;
            foreach (var th in g.Threads) if (th.SigState.Private.BumpTimerOverrun(timerId, sig, by)) return true;
        }
        return false;
    }

    /// <summary>do_sigaction on a signal that is now ignored, and prepare_signal's job-control flushes: every
    /// pending instance of mask leaves the shared set and every thread's private set.</summary>
    public void FlushGroup(ThreadGroup g, ulong mask)
    {
        lock (g.Threads)
        lock (g.SigLock)
        {
            g.Shared.FlushMask(mask);
            foreach (var th in g.Threads) th.SigState.Private.FlushMask(mask);
        }
    }

    /// <summary>set_current_blocked / __set_task_blocked (SIGKILL/SIGSTOP can never be blocked): shared signals
    /// this thread now blocks are retargeted to threads that do not (retarget_shared_pending).</summary>
    public void SetBlocked(Task t, ulong mask)
    {
        mask &= ~Unblockable;
        var g = t.Group;
        ulong newlyBlocked;
        lock (g.SigLock)
        {
            newlyBlocked = mask & ~t.Blocked & g.Shared.Signal;
            t.Blocked = mask;
            RecalcLocked(t); // __set_task_blocked → recalc_sigpending
        }
        if (newlyBlocked != 0) RetargetSharedPending(t, newlyBlocked);
        if (HasDeliverable(t)) Kick(t);
    }

    /// <summary>retarget_shared_pending: the shared signals of which that tsk will not take (it blocks them now, or
    /// it exits) wake other threads that do not block them, each taking away what it can handle.</summary>
    void RetargetSharedPending(Task tsk, ulong which)
    {
        var g = tsk.Group;
        List<Task>? wake = null;
        lock (g.Threads)
        lock (g.SigLock)
        {
            ulong retarget = g.Shared.Signal & which;
            if (retarget == 0) return;
            var threads = g.Threads;
            int me = threads.IndexOf(tsk), n = threads.Count;
            for (int i = 1; i <= n && retarget != 0; i++) // while_each_thread: the threads after tsk, in order
            {
                var t = threads[((me < 0 ? 0 : me) + i) % n];
                if (t == tsk || t.Exited) continue;
                if ((retarget & ~t.Blocked) == 0) continue;
                retarget &= t.Blocked; // remove the signals this thread can handle
                t.SigState.SharedWoken = true; // signal_wake_up
                (wake ??= new()).Add(t);
            }
        }
        if (wake != null) foreach (var t in wake) SignalWakeUp(t);
    }

    /// <summary>exit_signals (do_exit): a thread leaving a live group hands the shared signals it could have
    /// taken to the others. Its private set dies with it (__exit_signal's flush_sigqueue).</summary>
    public void ExitSignals(Task t)
    {
        var g = t.Group;
        if (g.Exiting) return;
        lock (g.Threads) if (g.Threads.Count <= 1) return;
        ulong unblocked;
        lock (g.SigLock) unblocked = ~t.Blocked;
        RetargetSharedPending(t, unblocked);
    }

    /// <summary>do_sigtimedwait's sleep: while the caller waits, the signals it waits for are unblocked
    /// (real_blocked keeps the old mask) so complete_signal may pick this thread for a shared one; the old mask is
    /// restored after (__set_task_blocked). True if a signal is there.</summary>
    public bool SigTimedWaitSleep(Task t, ulong these, long deadlineTicks)
    {
        var g = t.Group;
        ulong real;
        lock (g.SigLock)
        {
            real = t.Blocked;
            t.SigState.RealBlocked = real;
            t.Blocked = real & ~these;
        }
        bool woke = WaitFor(t, these, deadlineTicks);
        lock (g.SigLock) t.SigState.RealBlocked = 0;
        SetBlocked(t, real);
        return woke;
    }

    /// <summary>Block until a signal is pending that this thread can take (signal_pending) or that is in take (a
    /// signal it will dequeue itself, private or shared), or until the deadline (Stopwatch ticks, long.MaxValue =
    /// none) passes. True if a signal is there.</summary>
    public bool WaitFor(Task t, ulong take, long deadlineTicks)
    {
        var st = t.SigState;
        while (true)
        {
            int seen = st.Sleep.Read();
            long waitNs = long.MaxValue;
            lock (st.Lock)
            {
                if (PendingIn(t, take) != 0 || HasDeliverable(t)) return true;
                if (t.Exited || t.Group.Exiting) return false;
                if (deadlineTicks != long.MaxValue)
                {
                    long now = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (now >= deadlineTicks) return false;
                    waitNs = Task.TicksToNs(deadlineTicks - now);
                }
            }
            st.Sleep.Wait(seen, waitNs);
        }
    }

    /// <summary>arch_do_signal_or_restart: deliver one signal or restart the interrupted syscall.</summary>
    public void ExitToUserMode(Task t, ref PtRegs regs, ref ExitNote note)
    {
        if (t.IpChangedBy != IretReason.None) { note.IpChangedBy = t.IpChangedBy; t.IpChangedBy = IretReason.None; }
        if (t.Group.Stopped)
        {
            WaitWhileStopped(t);
            Recalc(t); // get_signal goes on dequeueing after the stop, whatever TIF_SIGPENDING said
        }
        while (HasDeliverable(t) && !t.Exited)
        {
            int sig = Dequeue(t, ~t.Blocked | Unblockable, out var info);
            if (sig == 0) break;
            var act = t.Sig.Actions[sig];
            if (sig != Sig.SIGKILL && sig != Sig.SIGSTOP && act.Handler == Sig.SIG_IGN) continue;
            if (sig != Sig.SIGKILL && sig != Sig.SIGSTOP && act.Handler != Sig.SIG_DFL)
            {
                // get_signal: SA_ONESHOT resets the handler as the signal is taken.
                if ((act.Flags & Sig.SA_RESETHAND) != 0) t.Sig.Actions[sig].Handler = Sig.SIG_DFL;
                // handle_signal: fix up the interrupted syscall first.
                if (IsSyscallEntry(regs))
                {
                    switch (-(int)(uint)regs.ax)
                    {
                        case Errno.ERESTART_RESTARTBLOCK: case Errno.ERESTARTNOHAND:
                            regs.ax = unchecked((ulong)(long)-Errno.EINTR); break;
                        case Errno.ERESTARTSYS:
                            if ((act.Flags & Sig.SA_RESTART) == 0) { regs.ax = unchecked((ulong)(long)-Errno.EINTR); break; }
                            regs.ax = regs.orig_ax; regs.ip -= 2; break;
                        case Errno.ERESTARTNOINTR:
                            regs.ax = regs.orig_ax; regs.ip -= 2; break;
                    }
                }
                // sigmask_to_save: the mask sigsuspend replaced, else the current one.
                ulong saved = t.SigState.RestoreSigmask ? t.SigState.SavedMask : t.Blocked;
                if (SignalFrames.Setup(t, sig, info, act, saved, ref regs))
                {
                    // Clear DF (ABI), RF and TF (no recursive SIGTRAP) for the handler.
                    regs.flags &= ~(ulong)(Cpu.Flags.DF | Cpu.Flags.RF | Cpu.Flags.TF);
                    SignalFrames.ClearFpu(t);
                    // signal_delivered: clear_restore_sigmask, block sa_mask (+ sig unless SA_NODEFER).
                    t.SigState.RestoreSigmask = false;
                    // signal_delivered: current->blocked (the temporary mask of sigsuspend/ppoll, if any) plus sa_mask;
                    // the frame holds the mask to restore on sigreturn.
                    ulong block = act.Mask | ((act.Flags & Sig.SA_NODEFER) == 0 ? Sig.Bit(sig) : 0);
                    SetBlocked(t, t.Blocked | block);
                    t.SigState.Delivered++;
                    t.SigState.DeliveredBySig[sig]++;
                    note.IpChangedBy = IretReason.SignalDelivery;
                    // exit_to_user_mode_loop runs again while TIF_SIGPENDING: another deliverable signal gets its
                    // frame on top of this one, and its handler runs first.
                    continue;
                }
                // signal_setup_done(failed): force_sigsegv, then keep going (the SIGSEGV is next).
                ForceSigsegv(t, sig);
                continue;
            }
            switch (Sig.DefaultAction(sig))
            {
                case Sig.Default.Ignore: case Sig.Default.Cont: continue;
                case Sig.Default.Stop: DoSignalStop(t, sig); Recalc(t); continue;
                default: Terminate(t, sig, info); return;
            }
        }
        if (note.IpChangedBy == IretReason.SignalDelivery) return;
        // No handler ran: restart the interrupted system call (spec §4, the no-handler cases).
        if (IsSyscallEntry(regs))
        {
            int err = -(int)(uint)regs.ax;
            if (err is Errno.ERESTARTNOHAND or Errno.ERESTARTSYS or Errno.ERESTARTNOINTR)
            {
                regs.ax = regs.orig_ax; regs.ip -= 2; note.IpChangedBy = IretReason.Restart;
            }
            else if (err == Errno.ERESTART_RESTARTBLOCK)
            {
                regs.ax = Nr.restart_syscall; regs.ip -= 2; note.IpChangedBy = IretReason.Restart;
            }
        }
        // restore_saved_sigmask
        if (t.SigState.RestoreSigmask) { t.SigState.RestoreSigmask = false; SetBlocked(t, t.SigState.SavedMask); }
    }

    /// <summary>The user-mode exception handlers of arch/x86/kernel/traps.c and fault.c: which signal, code and
    /// address each vector produces; thread.trap_nr / error_code / cr2 as they record them.</summary>
    public void Trap(Task t, ref PtRegs regs, int vector, uint err, uint cr2, bool singleStep)
    {
        // exc_general_protection: with UMIP, fixup_umip_exception may emulate the instruction first.
        if (vector == Cpu.Vec.GP && t.Cpu.S.Cr4Umip && Umip.Fixup(t, ref regs, this)) return;
        uint ip = (uint)regs.ip;
        var fi = new KSigInfo { Layout = SigInfoLayout.Fault };
        var st = t.SigState;
        st.TrapNr = vector; st.ErrorCode = err;
        switch (vector)
        {
            case Cpu.Vec.DE: fi.Signo = Sig.SIGFPE; fi.Code = FPE_INTDIV; fi.Addr = ip; break;
            case Cpu.Vec.DB: // send_sigtrap: error_code 0, si_addr = ip
                fi.Signo = Sig.SIGTRAP; fi.Code = singleStep ? TRAP_TRACE : TRAP_BRKPT; fi.Addr = ip; st.ErrorCode = 0; break;
            case Cpu.Vec.BP: fi.Signo = Sig.SIGTRAP; fi.Code = SI_KERNEL; fi.Layout = SigInfoLayout.Kill; break;
            case Cpu.Vec.OF: case Cpu.Vec.BR: fi.Signo = Sig.SIGSEGV; fi.Code = SI_KERNEL; fi.Layout = SigInfoLayout.Kill; break;
            case Cpu.Vec.UD:
                fi.Signo = Sig.SIGILL; fi.Code = ILL_ILLOPN; fi.Addr = ip;
                if (t.Cpu.Unsupported64) Report64(t, ref regs);
                break;
            case Entry.SyscallEntry.X86_TRAP_IRET: // do_iret_error (32-bit kernel): SIGILL, ILL_BADSTK, no address
                fi.Signo = Sig.SIGILL; fi.Code = ILL_BADSTK; fi.Addr = 0; st.ErrorCode = 0; break;
            case Cpu.Vec.NP: case Cpu.Vec.SS: fi.Signo = Sig.SIGBUS; fi.Code = SI_KERNEL; fi.Layout = SigInfoLayout.Kill; break;
            case Cpu.Vec.GP: fi.Signo = Sig.SIGSEGV; fi.Code = SI_KERNEL; fi.Layout = SigInfoLayout.Kill; break;
            case Cpu.Vec.PF:
                // do_user_addr_fault → set_signal_archinfo: error_code | X86_PF_USER, cr2 = address.
                fi.Signo = Sig.SIGSEGV; fi.Code = (err & Cpu.PfErr.Present) != 0 ? SEGV_ACCERR : SEGV_MAPERR; fi.Addr = cr2;
                st.ErrorCode = err | Cpu.PfErr.User; st.Cr2 = cr2;
                break;
            case Cpu.Vec.MF: case Cpu.Vec.XM: // math_error: error_code 0
                fi.Signo = Sig.SIGFPE; fi.Addr = ip; st.ErrorCode = 0;
                fi.Code = vector == Cpu.Vec.MF ? FpuExceptionCode(t.Cpu.S.Fpu.Control, t.Cpu.S.Fpu.Status) : SimdExceptionCode(t.Cpu.S.Simd.Mxcsr);
                break;
            case Cpu.Vec.AC: fi.Signo = Sig.SIGBUS; fi.Code = BUS_ADRALN; fi.Addr = ip; break;
            default: fi.Signo = Sig.SIGSEGV; fi.Code = SI_KERNEL; fi.Layout = SigInfoLayout.Kill; break;
        }
        fi.Errno = 0;
        ForceFault(t, fi);
    }

    public const int ILL_BADSTK = 8;

    /// <summary>An instruction in 64-bit mode that the CPU does not emulate yet (the program switched to the 64-bit
    /// code segment 0x33): the #UD becomes SIGILL as for any invalid instruction; --strace says why, --stats
    /// counts it.</summary>
    void Report64(Task t, ref PtRegs regs)
    {
        t.Cpu.Unsupported64 = false;
        Interlocked.Increment(ref k.Mode64Unsupported);
        if (k.Options.Strace)
            k.Options.StraceOut.WriteLine($"--- 64-bit mode at {regs.cs:x4}:{(uint)regs.ip:x8}: instruction not emulated (64-bit execution is not implemented), SIGILL ---");
    }

    public const int FPE_FLTDIV = 3, FPE_FLTOVF = 4, FPE_FLTUND = 5, FPE_FLTRES = 6, FPE_FLTINV = 7;

    /// <summary>fpu__exception_code (arch/x86/kernel/fpu/core.c) for #MF: the unmasked pending exceptions
    /// (swd &amp; ~cwd), tested in the kernel's order; 0 for a spurious trap.</summary>
    public static int FpuExceptionCode(ushort cwd, ushort swd)
    {
        int err = swd & ~cwd;
        if ((err & 0x001) != 0) return FPE_FLTINV;      // invalid operation (and stack fault)
        if ((err & 0x004) != 0) return FPE_FLTDIV;      // divide by zero
        if ((err & 0x008) != 0) return FPE_FLTOVF;      // overflow
        if ((err & 0x012) != 0) return FPE_FLTUND;      // denormal, underflow
        if ((err & 0x020) != 0) return FPE_FLTRES;      // precision
        return 0;
    }

    /// <summary>fpu__exception_code for #XM: the flags (bits 0-5) whose mask bits (7-12) are clear, in the same order.</summary>
    public static int SimdExceptionCode(uint mxcsr)
    {
        int err = (int)(~(mxcsr >> 7) & mxcsr) & 0xFFFF;
        if ((err & 0x001) != 0) return FPE_FLTINV;
        if ((err & 0x004) != 0) return FPE_FLTDIV;
        if ((err & 0x008) != 0) return FPE_FLTOVF;
        if ((err & 0x012) != 0) return FPE_FLTUND;
        if ((err & 0x020) != 0) return FPE_FLTRES;
        return 0;
    }

    /// <summary>syscall_get_nr(regs) != -1.</summary>
    static bool IsSyscallEntry(in PtRegs regs) => (int)(uint)regs.orig_ax != -1;

    /// <summary>What execve does to signal state (fs/exec.c: flush_signal_handlers, sas_ss_reset, exit_itimers):
    /// handlers back to SIG_DFL (ignored ones stay ignored, flags cleared), no alternate stack, POSIX timers
    /// deleted; the mask, pending signals (private and shared) and itimers are kept.</summary>
    public void OnExec(Task t)
    {
        var acts = t.Sig.Actions;
        for (int i = 1; i < acts.Length; i++)
            acts[i] = new SigAction { Handler = acts[i].Handler == Sig.SIG_IGN ? Sig.SIG_IGN : Sig.SIG_DFL };
        t.SigAltStackSp = 0; t.SigAltStackSize = 0; t.SigAltStackFlags = 2; // SS_DISABLE
        t.SigState.RestartFn = null;
        var pt = Syscalls.ProcessTimers.Existing(t.Group);
        if (pt != null) lock (pt.Lock) { foreach (var tm in pt.Posix.Values) tm.Armed = false; pt.Posix.Clear(); }
        // flush_itimer_signals: queued SI_TIMER signals of the deleted timers go from both sets.
        lock (t.Group.SigLock) { t.SigState.Private.FlushTimers(); t.Group.Shared.FlushTimers(); }
    }

    /// <summary>do_group_exit for a fatal signal: the wait status carries the signal (and the core flag).</summary>
    public void Terminate(Task t, int sig, KSigInfo? info)
    {
        bool core = Sig.DefaultAction(sig) == Sig.Default.Core;
        Exit.GroupExit(t, sig, signal: true, info is { Layout: SigInfoLayout.Fault } fi ? fi.Addr : null, core);
    }

    // ---- job control: group stop and continue

    /// <summary>prepare_signal's job-control half, at generation time: SIGCONT removes every stop signal from the
    /// shared and each thread's private set and resumes a stopped group; a stop signal removes SIGCONT from them.
    /// (SIGKILL reaches every thread through complete_signal.)</summary>
    void Prepare(ThreadGroup g, int sig)
    {
        if (sig == Sig.SIGCONT)
        {
            List<Task> threads;
            var wake = new List<Task>();
            lock (k.TaskSet.Lock)
            {
                FlushGroup(g, StopMask);
                lock (g.Threads) threads = new List<Task>(g.Threads);
                if (g.Stopped)
                {
                    g.Stopped = false;
                    g.StopReport = false;
                    g.ContReport = true;
                    NotifyParentStopLocked(g, Exit.CLD_CONTINUED, Sig.SIGCONT, wake);
                }
            }
            foreach (var th in threads) th.Wake();
            foreach (var w in wake) w.Wake();
        }
        else if ((Sig.Bit(sig) & StopMask) != 0) FlushGroup(g, Sig.Bit(Sig.SIGCONT));
    }

    /// <summary>do_notify_parent_cldstop: SIGCHLD with CLD_STOPPED/CLD_CONTINUED unless the parent set SA_NOCLDSTOP;
    /// the parent's waiters always look. Caller holds TaskSet.Lock.</summary>
    void NotifyParentStopLocked(ThreadGroup g, int code, int status, List<Task> wake)
    {
        var p = g.Parent;
        if (p == null) return;
        var leader = p.Leader;
        if (leader == null) return;
        Exit.WakeWaitersLocked(p, wake);
        var act = leader.Sig.Actions[Sig.SIGCHLD];
        if ((act.Flags & Sig.SA_NOCLDSTOP) != 0) return;
        SendToGroup(leader, new KSigInfo { Signo = Sig.SIGCHLD, Code = code, Layout = SigInfoLayout.Chld, Pid = g.Tgid, Uid = g.Creds.Uid, Value = (uint)status });
    }

    /// <summary>do_signal_stop: the first thread to take a stop signal stops the group and tells the parent; every
    /// thread then sleeps (uninterruptibly, but SIGKILL and SIGCONT end it) until the group continues.</summary>
    void DoSignalStop(Task t, int sig)
    {
        var g = t.Group;
        var wake = new List<Task>();
        List<Task> threads;
        lock (k.TaskSet.Lock)
        {
            if (!g.Stopped && !g.Exiting)
            {
                g.Stopped = true;
                g.StopSignal = sig;
                g.StopReport = true;
                g.ContReport = false;
                NotifyParentStopLocked(g, Exit.CLD_STOPPED, sig, wake);
            }
            lock (g.Threads) threads = new List<Task>(g.Threads);
        }
        foreach (var w in wake) w.Wake();
        foreach (var th in threads) if (th != t) th.Cpu.RequestAsyncStop();
        if (g == k.TaskSet.Init && g.Stopped) JobControl.OnInitStopped(k);
        WaitWhileStopped(t);
    }

    /// <summary>A thread of a stopped group sleeps here on its way to user mode.</summary>
    public void WaitWhileStopped(Task t)
    {
        var g = t.Group;
        while (g.Stopped && !t.Exited && !g.Exiting)
            if (t.Block(() => !g.Stopped, interruptible: false) == WakeReason.Killed) break;
    }
}
