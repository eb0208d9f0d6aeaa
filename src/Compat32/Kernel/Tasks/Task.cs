using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel.Signals;
using Compat32.Kernel.Vfs;
using Compat32.Memory;

namespace Compat32.Kernel;

/// <summary>What a process's threads share: the address space and its bookkeeping (struct mm_struct). Shared by
/// CLONE_VM; fork gets a copy (dup_mm), execve a new one.</summary>
public sealed class Mm
{
    /// <summary>Immutable after construction: a new address space means a new Mm.</summary>
    public readonly AddressSpace Space;
    // The fields below are written by execve (a single thread by then: de_thread ran) and read by /proc.
    /// <summary>context.vdso: where [vdso] is mapped (0 when none).</summary>
    public uint VdsoBase;
    public uint StartStack, ArgStart, ArgEnd, EnvStart, EnvEnd, StartCode, EndCode, StartData, EndData;
    public string ExePath = "";
    /// <summary>mm_users: tasks using this address space (CLONE_VM shares). Interlocked.</summary>
    public int Users = 1;
    /// <summary>context.ldt: the LDT's descriptors (null: none). Replaced whole under LdtLock (ldt_usr_sem), never
    /// changed in place; each processor of the mm holds the same reference (its LDTR).</summary>
    public ulong[]? Ldt;
    public readonly object LdtLock = new();
    public Mm(AddressSpace s) { Space = s; }
}

/// <summary>Signal dispositions (struct sighand_struct), shared by CLONE_SIGHAND. Lock guards Actions.</summary>
public sealed class SigHand
{
    public readonly object Lock = new();
    public readonly SigAction[] Actions = new SigAction[65];
    /// <summary>signalfd_wqh: signalfd pollers of these threads; woken by every signal sent to one of them.</summary>
    public readonly WaitQueue SignalfdWqh = new();
    public SigHand Clone() { var s = new SigHand(); lock (Lock) Array.Copy(Actions, s.Actions, Actions.Length); return s; }
}

public struct SigAction
{
    public uint Handler, Flags, Restorer;
    public ulong Mask;
}

/// <summary>How a blocking wait ended (Task.Block).</summary>
public enum WakeReason { Ready, Signal, Timeout, Killed }

/// <summary>
/// One task (a thread): a CPU context and the kernel state it points at. Threads share Mm, Files, SigHand and
/// ThreadGroup; processes get copies. Implements the entry layer's view of "current".
/// Ownership: fields without a note are owned by the task's own host thread (touched by others only while the
/// task is stopped or gone).
/// </summary>
public sealed class Task : ISyscallKernel
{
    public readonly KernelModel Kernel;
    /// <summary>The pid of this thread. Changes only in de_thread (a non-leader execve takes the leader's pid),
    /// under TaskSet.Lock.</summary>
    public int Tid;
    /// <summary>The thread group (process). Guarded by TaskSet.Lock for writers; fixed for the task's life.</summary>
    public ThreadGroup Group;
    /// <summary>Replaced by execve (own thread). Others read it only for /proc and futex keys.</summary>
    public Mm Mm;
    /// <summary>struct files_struct (CLONE_FILES shares). execve unshares it.</summary>
    public FdTable Files;
    /// <summary>struct sighand_struct (CLONE_SIGHAND shares); execve unshares it.</summary>
    public SigHand Sig;
    /// <summary>struct fs_struct (CLONE_FS shares).</summary>
    public FsContext Fs;
    public readonly Processor Cpu;
    public readonly SyscallEntry Entry;

    /// <summary>comm (PR_SET_NAME, exec); read by /proc from other threads: a string swap is atomic.</summary>
    public volatile string Comm = "";
    /// <summary>The auxiliary vector as built at exec (for /proc/self/auxv).</summary>
    public byte[] Auxv = Array.Empty<byte>();
    /// <summary>CPU affinity mask (sched_setaffinity); every online CPU at start.</summary>
    public ulong Affinity = ulong.MaxValue;
    /// <summary>Signal mask: written by the task itself under Group.SigLock (siglock), read by senders under it;
    /// the task's own wake-up checks read it lock-free.</summary>
    public ulong Blocked;
    /// <summary>Private pending signals (task->pending.signal); SigState.Private, guarded by Group.SigLock.</summary>
    public ulong Pending => Volatile.Read(ref SigState.Private.Signal);
    /// <summary>set_tid_address / CLONE_CHILD_CLEARTID and set_robust_list (own thread).</summary>
    public uint ClearChildTid, RobustList, RobustListLen;
    /// <summary>prctl(PR_SET_PDEATHSIG): the signal this task gets when its parent dies (0: none).</summary>
    public int PdeathSignal;
    /// <summary>The task has left user mode for good (exit, exit_group, fatal signal, de_thread). Set by any
    /// thread (group exit), read by the task's loop and its waits.</summary>
    public bool Exited { get => exited; set { exited = value; } }
    volatile bool exited;
    public uint SigAltStackSp, SigAltStackSize, SigAltStackFlags;

    /// <summary>Set by a syscall that moved ip on purpose (sigreturn, execve), for the exit statistics.</summary>
    public IretReason IpChangedBy;

    /// <summary>The host thread running this task (null for a task that never ran) and its host tid. Host threads
    /// are reused (TaskThreads): once Finished is set, these name whatever that thread runs next.</summary>
    public Thread? HostThread;
    public volatile int HostTid;
    /// <summary>The host thread's CPU time when it began running this task (set by that thread before HostTid).</summary>
    public long CpuBaseNs;
    /// <summary>Set by the task's host thread after do_exit, when it no longer touches the task (de_thread waits on it).</summary>
    public readonly ManualResetEventSlim Finished = new(false);

    /// <summary>CPU time this task's thread has used (the calling thread's own clock when it is this task's).</summary>
    public long CpuNs() => HostThread == Thread.CurrentThread
        ? Vfs.LibC.ThreadCpuNs() - CpuBaseNs
        : Math.Max(0, Vfs.LibC.ThreadCpuNs(HostTid) - CpuBaseNs);
    /// <summary>vfork: set when this child execs or exits, releasing the parent (complete_vfork_done).</summary>
    public ManualResetEventSlim? VforkDone;
    /// <summary>Monotonic ns of the task's start (/proc stat starttime).</summary>
    public readonly long StartNs = Syscalls.ProcessTimers.Now();

    public Task(KernelModel k, int tid, ThreadGroup g, Mm mm, FdTable files, SigHand sig, FsContext fs, Processor cpu)
    {
        Kernel = k; Tid = tid; Group = g; Mm = mm; Files = files; Sig = sig; Fs = fs; Cpu = cpu;
        Entry = new SyscallEntry(cpu, this, new EntryStats()) { Design = k.Options.Design, Observer = k.Options.SyscallObserver, Traced = k.Options.Strace };
    }

    public AddressSpace Mem => Mm.Space;
    /// <summary>Futex.Wait's reusable waiter (Futex.Waiter); used only by this task's own futex_wait.</summary>
    internal object? FutexWaiter;
    public int Tgid => Group.Tgid;

    // ---- sleeping and waking (TASK_INTERRUPTIBLE waits)

    /// <summary>
    /// Sleep until ready() holds, a signal this task can take arrives (not blocked, or SIGKILL), the task is
    /// killed, or deadlineTicks (Stopwatch ticks; long.MaxValue: none) passes. ready() runs under this task's
    /// SigState.Lock; a waker makes its condition true first and then calls Wake(), so no wake-up is lost.
    /// </summary>
    public WakeReason Block(Func<bool> ready, long deadlineTicks = long.MaxValue, bool interruptible = true)
    {
        Sleeping++;
        try { return BlockLoop(ready, deadlineTicks, interruptible); }
        finally { Sleeping--; }
    }

    /// <summary>Nonzero while this task waits in the kernel (Block, HostWait): /proc shows it 'S' (sleeping) then,
    /// whatever its host thread is doing at that instant (spinning before a host sleep, between poll slices).
    /// Written by the task's own thread, read by any.</summary>
    public volatile int Sleeping;

    WakeReason BlockLoop(Func<bool> ready, long deadlineTicks, bool interruptible)
    {
        var st = SigState;
        while (true)
        {
            int seen = st.Sleep.Read(); // before the checks: a wake after them changes it
            long waitNs = long.MaxValue;
            lock (st.Lock)
            {
                if (ready()) return WakeReason.Ready;
                if (exited || Group.Exiting) return WakeReason.Killed;
                if (interruptible && Kernel.Signals.HasDeliverable(this)) return WakeReason.Signal;
                if ((Pending & Signals.Sig.Bit(Signals.Sig.SIGKILL)) != 0) return WakeReason.Killed;
                if (deadlineTicks != long.MaxValue)
                {
                    long now = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (now >= deadlineTicks) return WakeReason.Timeout;
                    waitNs = TicksToNs(deadlineTicks - now);
                }
            }
            st.Sleep.Wait(seen, waitNs);
        }
    }

    /// <summary>Stopwatch ticks as nanoseconds (rounded up: a sleep never ends before its deadline).</summary>
    public static long TicksToNs(long ticks) =>
        (long)Int128.Min(long.MaxValue, ((Int128)ticks * 1_000_000_000 + System.Diagnostics.Stopwatch.Frequency - 1) / System.Diagnostics.Stopwatch.Frequency);

    /// <summary>Wake this task from Block (its condition, or a signal, changed). Thread-safe, lock-free.</summary>
    public void Wake() => SigState.Sleep.Signal();

    // ---- ISyscallKernel

    public uint? Int80LandingPad => Mm.VdsoBase != 0 && Kernel.Vdso != null ? Mm.VdsoBase + (uint)Kernel.Vdso.SymInt80LandingPad : null;

    /// <summary>Signal state of this thread: queued siginfo, saved mask, thread.trap_nr/error_code/cr2, restart_block.</summary>
    public readonly TaskSignalState SigState = new();
    /// <summary>current_pt_regs() for the running syscall: sigreturn rewrites it (SysRegsChanged), the rest read it.</summary>
    public PtRegs SysRegs;
    public bool SysRegsChanged;
    /// <summary>Another thread installed a new LDT for our mm (flush_ldt's IPI): at the next stop, DS/ES are
    /// refreshed and the return to user mode checks CS/SS again. Set by any thread, cleared by this one.</summary>
    public volatile bool LdtChanged;

    public void Syscall(ref PtRegs regs, EntryMethod how)
    {
        if (Compat32.Cpu.HostFaults.Pending) Compat32.Cpu.HostFaults.Drain();
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

    public override string ToString() => $"task {Tid} ({Comm})";
}

/// <summary>Working directory, root and umask (struct fs_struct), shared by CLONE_FS. Lock guards the fields;
/// the cwd is a host directory fd that relative paths resolve against.</summary>
public sealed class FsContext
{
    public readonly object Lock = new();
    /// <summary>Host fd (O_PATH|O_DIRECTORY) of the working directory; relative paths resolve against it.</summary>
    public int CwdFd;
    public string Cwd;
    public int Umask = 0x12; // 022
    /// <summary>Tasks sharing this context (CLONE_FS); the last one closes CwdFd. Interlocked.</summary>
    int users = 1;

    public FsContext(int cwdFd, string cwd) { CwdFd = cwdFd; Cwd = cwd; }
    public FsContext Clone() { lock (Lock) return new(LibC.Dup(CwdFd), Cwd) { Umask = Umask }; }
    public FsContext Ref() { Interlocked.Increment(ref users); return this; }
    public void Release()
    {
        if (Interlocked.Decrement(ref users) != 0) return;
        lock (Lock) { if (CwdFd >= 0) LibC.Close(CwdFd); CwdFd = -1; }
    }
}
