using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel.Signals;
using Compat32.Kernel.Vfs;
using Compat32.Memory;

namespace Compat32.Kernel;

/// <summary>What a process's threads share: the address space and its bookkeeping (struct mm_struct).</summary>
public sealed class Mm
{
    public AddressSpace Space;
    /// <summary>context.vdso: where [vdso] is mapped (0 when none).</summary>
    public uint VdsoBase;
    public uint StartStack, ArgStart, ArgEnd, EnvStart, EnvEnd, StartCode, EndCode, StartData, EndData;
    public string ExePath = "";
    public Mm(AddressSpace s) { Space = s; }
}

/// <summary>Signal dispositions shared by the threads of a process (struct sighand_struct).</summary>
public sealed class SigHand
{
    public readonly SigAction[] Actions = new SigAction[65];
    public SigHand Clone() { var s = new SigHand(); Array.Copy(Actions, s.Actions, Actions.Length); return s; }
}

public struct SigAction
{
    public uint Handler, Flags, Restorer;
    public ulong Mask;
}

/// <summary>The process (thread group): pid, parent, exit state.</summary>
public sealed class ThreadGroup
{
    public int Tgid;
    public int Ppid;
    public int ExitCode;        // wait status encoding
    public bool Exiting;
    public readonly List<Task> Threads = new();
    public ulong SharedPending;
    /// <summary>The signal that killed the group (0 for a normal exit) and its fault address, for the report.</summary>
    public int FatalSignal;
    public uint? FatalAddr;
}

/// <summary>
/// One task (a thread): a CPU context and the kernel state it points at. Threads share Mm, Files, SigHand and
/// ThreadGroup; processes get copies. Implements the entry layer's view of "current".
/// </summary>
public sealed class Task : ISyscallKernel
{
    public readonly KernelModel Kernel;
    public readonly int Tid;
    public ThreadGroup Group;
    public Mm Mm;
    public FdTable Files;
    public SigHand Sig;
    public FsContext Fs;
    public readonly Processor Cpu;
    public readonly SyscallEntry Entry;

    public string Comm = "";
    /// <summary>The auxiliary vector as built at exec (for /proc/self/auxv).</summary>
    public byte[] Auxv = Array.Empty<byte>();
    /// <summary>CPU affinity mask (sched_setaffinity); every online CPU at start.</summary>
    public ulong Affinity = ulong.MaxValue;
    public ulong Blocked;       // signal mask
    public ulong Pending;
    public uint ClearChildTid, RobustList;
    public bool Exited { get; set; }
    public uint SigAltStackSp, SigAltStackSize, SigAltStackFlags;

    /// <summary>Set by a syscall that moved ip on purpose (sigreturn, execve), for the exit statistics.</summary>
    public IretReason IpChangedBy;

    public Task(KernelModel k, int tid, ThreadGroup g, Mm mm, FdTable files, SigHand sig, FsContext fs, Processor cpu)
    {
        Kernel = k; Tid = tid; Group = g; Mm = mm; Files = files; Sig = sig; Fs = fs; Cpu = cpu;
        Entry = new SyscallEntry(cpu, this, k.Stats);
    }

    public AddressSpace Mem => Mm.Space;
    public int Tgid => Group.Tgid;

    // ---- ISyscallKernel

    public uint? Int80LandingPad => Mm.VdsoBase != 0 && Kernel.Vdso != null ? Mm.VdsoBase + (uint)Kernel.Vdso.SymInt80LandingPad : null;

    /// <summary>Signal state of this thread: queued siginfo, saved mask, thread.trap_nr/error_code/cr2, restart_block.</summary>
    public readonly TaskSignalState SigState = new();
    /// <summary>current_pt_regs() for the running syscall: sigreturn rewrites it (SysRegsChanged), the rest read it.</summary>
    public PtRegs SysRegs;
    public bool SysRegsChanged;

    public void Syscall(ref PtRegs regs, EntryMethod how)
    {
        SysRegs = regs;
        SysRegsChanged = false;
        Kernel.Syscalls.Dispatch(this, ref regs, how);
        if (SysRegsChanged) { ulong ax = regs.ax; regs = SysRegs; regs.ax = ax; SysRegsChanged = false; }
    }

    public void ExitToUserMode(ref PtRegs regs, ref ExitNote note)
    {
        Kernel.Signals.ExitToUserMode(this, ref regs, ref note);
    }

    public void Trap(ref PtRegs regs, int vector, uint errorCode, uint cr2, bool singleStep) =>
        Kernel.Signals.Trap(this, ref regs, vector, errorCode, cr2, singleStep);

    public bool GetUser32(uint addr, out uint value) => Mem.ReadU32(addr, out value);
}

/// <summary>Working directory and root (struct fs_struct), as host directory fds.</summary>
public sealed class FsContext
{
    /// <summary>Host fd (O_PATH|O_DIRECTORY) of the working directory; relative paths resolve against it.</summary>
    public int CwdFd;
    public string Cwd;
    public int Umask = 0x12; // 022
    int refs = 1;

    public FsContext(int cwdFd, string cwd) { CwdFd = cwdFd; Cwd = cwd; }
    public FsContext Clone() => new(LibC.Dup(CwdFd), Cwd) { Umask = Umask };
    public FsContext Ref() { refs++; return this; }
}
