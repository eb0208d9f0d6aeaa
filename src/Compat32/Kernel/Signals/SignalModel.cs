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

/// <summary>Fault details for a synchronous signal (what siginfo will carry).</summary>
public struct FaultInfo
{
    public int Signo, Code, Trapno;
    public uint Addr, Err;
}

/// <summary>
/// Signal generation and the exit-to-user-mode work (arch_do_signal_or_restart in arch/x86/kernel/signal.c):
/// dequeue, default actions, syscall restart. Frame building for handlers lives in SignalFrames.
/// </summary>
public sealed class SignalModel
{
    readonly KernelModel k;
    public SignalModel(KernelModel k) { this.k = k; }

    /// <summary>Optional handler-frame builder (Kernel/Signals/SignalFrames): returns false if it could not deliver.</summary>
    public Func<Task, int, FaultInfo?, PtRegsRef, bool>? DeliverToHandler;

    public delegate void PtRegsRefAction(ref PtRegs r);
    public sealed class PtRegsRef { public PtRegs Regs; }

    /// <summary>Fault info of the last synchronous signal per task.</summary>
    readonly Dictionary<int, FaultInfo> faults = new();

    public void Send(Task t, int sig)
    {
        if (sig <= 0 || sig > 64) return;
        t.Pending |= Sig.Bit(sig);
    }

    /// <summary>force_sig_fault: unblock and un-ignore, as the kernel does for synchronous faults.</summary>
    public void ForceFault(Task t, FaultInfo info)
    {
        ref var act = ref t.Sig.Actions[info.Signo];
        bool blocked = (t.Blocked & Sig.Bit(info.Signo)) != 0;
        if (act.Handler == Sig.SIG_IGN || blocked)
        {
            act.Handler = Sig.SIG_DFL;
            t.Blocked &= ~Sig.Bit(info.Signo);
        }
        faults[t.Tid] = info;
        t.Pending |= Sig.Bit(info.Signo);
    }

    public bool HasDeliverable(Task t) => (t.Pending & ~t.Blocked) != 0 || (t.Pending & (Sig.Bit(Sig.SIGKILL) | Sig.Bit(Sig.SIGSTOP))) != 0;

    /// <summary>arch_do_signal_or_restart: deliver one signal or restart the interrupted syscall.</summary>
    public void ExitToUserMode(Task t, ref PtRegs regs, ref ExitNote note)
    {
        if (t.IpChangedBy != IretReason.None) { note.IpChangedBy = t.IpChangedBy; t.IpChangedBy = IretReason.None; }
        while (HasDeliverable(t) && !t.Exited)
        {
            int sig = Dequeue(t);
            if (sig == 0) break;
            faults.Remove(t.Tid, out var fi);
            FaultInfo? info = fi.Signo == sig ? fi : null;
            var act = t.Sig.Actions[sig];
            if (sig != Sig.SIGKILL && sig != Sig.SIGSTOP && act.Handler == Sig.SIG_IGN) continue;
            if (sig != Sig.SIGKILL && sig != Sig.SIGSTOP && act.Handler != Sig.SIG_DFL)
            {
                // A handler runs: fix up the interrupted syscall first (handle_signal).
                if ((long)regs.orig_ax >= 0 && IsSyscallEntry(regs))
                {
                    int err = -(int)(uint)regs.ax;
                    switch (err)
                    {
                        case Errno.ERESTART_RESTARTBLOCK: case Errno.ERESTARTNOHAND:
                            regs.ax = unchecked((ulong)-Errno.EINTR); break;
                        case Errno.ERESTARTSYS:
                            if ((act.Flags & Sig.SA_RESTART) == 0) { regs.ax = unchecked((ulong)-Errno.EINTR); break; }
                            goto case Errno.ERESTARTNOINTR;
                        case Errno.ERESTARTNOINTR:
                            regs.ax = regs.orig_ax; regs.ip -= 2; break;
                    }
                }
                var box = new PtRegsRef { Regs = regs };
                if (DeliverToHandler != null && DeliverToHandler(t, sig, info, box))
                {
                    regs = box.Regs;
                    note.IpChangedBy = IretReason.SignalDelivery;
                    return;
                }
                // No frame builder yet or the frame could not be written: the kernel forces SIGSEGV.
                Terminate(t, sig == Sig.SIGSEGV ? Sig.SIGSEGV : sig, info);
                return;
            }
            switch (Sig.DefaultAction(sig))
            {
                case Sig.Default.Ignore: case Sig.Default.Cont: continue;
                case Sig.Default.Stop: continue; // job control comes with processes
                default: Terminate(t, sig, info); return;
            }
        }
        // No handler ran: restart the interrupted system call (spec §4, the no-handler cases).
        if ((long)(int)(uint)regs.orig_ax >= 0 && IsSyscallEntry(regs))
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
    }

    public const int SI_KERNEL = 0x80, ILL_ILLOPN = 2, FPE_INTDIV = 1, SEGV_MAPERR = 1, SEGV_ACCERR = 2, BUS_ADRERR = 2,
        BUS_ADRALN = 1, TRAP_BRKPT = 1, TRAP_TRACE = 2;

    /// <summary>The user-mode exception handlers of arch/x86/kernel/traps.c and fault.c: which signal, code and
    /// address each vector produces.</summary>
    public void Trap(Task t, ref PtRegs regs, int vector, uint err, uint cr2, bool singleStep)
    {
        uint ip = (uint)regs.ip;
        var fi = new FaultInfo { Trapno = vector, Err = err };
        switch (vector)
        {
            case Cpu.Vec.DE: fi.Signo = Sig.SIGFPE; fi.Code = FPE_INTDIV; fi.Addr = ip; break;
            case Cpu.Vec.DB: fi.Signo = Sig.SIGTRAP; fi.Code = singleStep ? TRAP_TRACE : TRAP_BRKPT; fi.Addr = ip; break;
            case Cpu.Vec.BP: fi.Signo = Sig.SIGTRAP; fi.Code = SI_KERNEL; break;
            case Cpu.Vec.OF: case Cpu.Vec.BR: fi.Signo = Sig.SIGSEGV; fi.Code = SI_KERNEL; break;
            case Cpu.Vec.UD: fi.Signo = Sig.SIGILL; fi.Code = ILL_ILLOPN; fi.Addr = ip; break;
            case Cpu.Vec.NP: case Cpu.Vec.SS: fi.Signo = Sig.SIGBUS; fi.Code = SI_KERNEL; break;
            case Cpu.Vec.GP: fi.Signo = Sig.SIGSEGV; fi.Code = SI_KERNEL; break;
            case Cpu.Vec.PF:
                fi.Signo = Sig.SIGSEGV; fi.Code = (err & Cpu.PfErr.Present) != 0 ? SEGV_ACCERR : SEGV_MAPERR; fi.Addr = cr2;
                break;
            case Cpu.Vec.MF: case Cpu.Vec.XM:
                fi.Signo = Sig.SIGFPE; fi.Code = FpeCode?.Invoke(t) ?? 0; fi.Addr = ip; break;
            case Cpu.Vec.AC: fi.Signo = Sig.SIGBUS; fi.Code = BUS_ADRALN; fi.Addr = ip; break;
            default: fi.Signo = Sig.SIGSEGV; fi.Code = SI_KERNEL; break;
        }
        ForceFault(t, fi);
    }

    /// <summary>si_code for an x87/SIMD exception from the FPU state (fpu__exception_code), set by the x87 unit.</summary>
    public Func<Task, int>? FpeCode;

    static bool IsSyscallEntry(in PtRegs regs) => (long)regs.orig_ax != -1 && regs.orig_ax != ulong.MaxValue;

    int Dequeue(Task t)
    {
        ulong ready = t.Pending & ~t.Blocked;
        ready |= t.Pending & (Sig.Bit(Sig.SIGKILL) | Sig.Bit(Sig.SIGSTOP));
        if (ready == 0) return 0;
        // Synchronous signals first (SYNCHRONOUS_MASK), then lowest number.
        const ulong sync = (1UL << (Sig.SIGSEGV - 1)) | (1UL << (Sig.SIGBUS - 1)) | (1UL << (Sig.SIGILL - 1))
                         | (1UL << (Sig.SIGTRAP - 1)) | (1UL << (Sig.SIGFPE - 1)) | (1UL << (Sig.SIGSYS - 1));
        ulong pick = (ready & sync) != 0 ? ready & sync : ready;
        int sig = System.Numerics.BitOperations.TrailingZeroCount(pick) + 1;
        t.Pending &= ~Sig.Bit(sig);
        return sig;
    }

    /// <summary>do_group_exit for a fatal signal: the wait status carries the signal (and the core flag).</summary>
    public void Terminate(Task t, int sig, FaultInfo? info)
    {
        bool core = Sig.DefaultAction(sig) == Sig.Default.Core;
        t.Group.ExitCode = (sig & 0x7F) | (core ? 0x80 : 0);
        t.Group.Exiting = true;
        t.Group.FatalSignal = sig;
        t.Group.FatalAddr = info?.Addr;
        foreach (var th in t.Group.Threads) th.Exited = true;
        t.Exited = true;
    }
}
