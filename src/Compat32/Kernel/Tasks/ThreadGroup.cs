using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel;

/// <summary>Where a process is in its life (task->exit_state for the group as wait sees it).</summary>
public enum GroupState { Running, Zombie, Dead }

/// <summary>Resource usage totals (struct rusage, the parts we measure).</summary>
public struct Rusage
{
    public long UtimeNs, StimeNs;
    public long MaxRssKb;
    public long MinFlt, MajFlt, Nvcsw, Nivcsw;
    public void Add(in Rusage o)
    {
        UtimeNs += o.UtimeNs; StimeNs += o.StimeNs; MaxRssKb = Math.Max(MaxRssKb, o.MaxRssKb);
        MinFlt += o.MinFlt; MajFlt += o.MajFlt; Nvcsw += o.Nvcsw; Nivcsw += o.Nivcsw;
    }
}

/// <summary>
/// The process (thread group): Linux's signal_struct plus the process-tree links of task_struct.
/// Lock notes: "TaskSet" = KernelModel.TaskSet.Lock (the tasklist_lock of this kernel); "own" = written only by
/// the group's own threads under the lock named.
/// </summary>
public sealed class ThreadGroup
{
    public readonly int Tgid;
    /// <summary>Live threads (TaskSet). The leader is Threads[0] until it exits.</summary>
    public readonly List<Task> Threads = new();
    /// <summary>The parent process (TaskSet); null for the first guest process (its parent is the host).</summary>
    public ThreadGroup? Parent;
    /// <summary>The parent as the host sees it (getppid of the first process).</summary>
    public int HostPpid;
    /// <summary>Child processes not yet reaped (TaskSet).</summary>
    public readonly List<ThreadGroup> Children = new();
    /// <summary>Process group and session ids (TaskSet).</summary>
    public int Pgid, Sid;
    /// <summary>Signal sent to the parent when this process dies (clone's exit signal; SIGCHLD for fork). TaskSet.</summary>
    public int ExitSignal = Signals.Sig.SIGCHLD;
    /// <summary>PR_SET_CHILD_SUBREAPER (TaskSet).</summary>
    public bool IsSubreaper;

    /// <summary>Wait status encoding of the exit (TaskSet once Exiting).</summary>
    public int ExitCode;
    /// <summary>SIGNAL_GROUP_EXIT: exit_group or a fatal signal is killing every thread. Set under TaskSet.</summary>
    public volatile bool Exiting;
    /// <summary>Running → Zombie (last thread gone, parent not yet told by wait) → Dead (reaped). TaskSet.</summary>
    public GroupState State;
    /// <summary>The signal that killed the group (0 for a normal exit) and its fault address, for the report.</summary>
    public int FatalSignal;
    public bool FatalCore;
    public uint? FatalAddr;
    /// <summary>Set when the group is Dead or Zombie: waiters on the first process (Machine.Run) watch it.</summary>
    public readonly ManualResetEventSlim Ended = new(false);

    // ---- group stop and continue (job control); TaskSet
    /// <summary>The group is stopped (SIGNAL_STOP_STOPPED) and the stop signal that did it.</summary>
    public bool Stopped;
    public int StopSignal;
    /// <summary>A stop or continue the parent has not yet collected through wait (WUNTRACED / WCONTINUED).</summary>
    public bool StopReport, ContReport;

    /// <summary>The process has called execve (setpgid on it by its parent is then -EACCES). Own.</summary>
    public bool Execed;
    /// <summary>The controlling terminal of the session this process leads or belongs to (TaskSet).</summary>
    public object? Tty;

    /// <summary>Run action once the process is a zombie or gone (at once if it already is).</summary>
    public void OnEnded(Action action)
    {
        System.Threading.ThreadPool.RegisterWaitForSingleObject(Ended.WaitHandle, (_, _) => action(), null, -1, true);
    }

    /// <summary>Bumped (TaskSet) whenever a child changes state; wait sleeps until it moves.</summary>
    public long ChildEvents;

    /// <summary>sighand->siglock for the signal state of this group's threads: Shared, CurrTarget and each
    /// thread's Blocked, SigState.Private and SigState.RealBlocked. A leaf: nothing else is taken under it
    /// (order: TaskSet.Lock → Threads → Task.SigState.Lock → SigLock).</summary>
    public readonly object SigLock = new();
    /// <summary>signal->shared_pending: process-directed signals (kill, sigqueue to a pid, SIGCHLD, timers). SigLock.</summary>
    public readonly Signals.SigPending Shared = new();
    /// <summary>signal->curr_target: where complete_signal's round-robin search starts. SigLock.</summary>
    public Task? CurrTarget;

    /// <summary>Credentials and limits (struct cred / signal->rlim): copied at fork. Own.</summary>
    public Creds Creds;
    public Rlimits Limits;
    public uint Personality;

    /// <summary>CPU time of exited threads, and of reaped children (cutime, cstime). TaskSet.</summary>
    public Rusage DeadThreadsUsage, ChildrenUsage;
    /// <summary>Monotonic ns of the group's start.</summary>
    public readonly long StartNs = Syscalls.ProcessTimers.Now();

    public ThreadGroup(int tgid, Creds creds, Rlimits limits)
    {
        Tgid = tgid; Pgid = tgid; Sid = tgid; Creds = creds; Limits = limits;
    }

    /// <summary>The group leader (the thread whose tid is the tgid) or any live thread.</summary>
    public Task? Leader { get { lock (Threads) return Threads.Count > 0 ? Threads[0] : null; } }

    public int Ppid => Parent?.Tgid ?? HostPpid;
}
