namespace Compat32.Kernel;

/// <summary>
/// Every task and process of the machine and the pid namespace (kernel/pid.c, gVisor's TaskSet). Lock is this
/// kernel's tasklist_lock: it guards the tables below and the process tree (ThreadGroup.Parent, Children, Pgid,
/// Sid, State, stop/continue reports). Lock order: TaskSet.Lock → ThreadGroup.Threads → Task.SigState.Lock → ThreadGroup.SigLock.
/// </summary>
public sealed class TaskSet
{
    public readonly object Lock = new();
    readonly Dictionary<int, Task> tasks = new();          // by tid (live tasks)
    readonly Dictionary<int, ThreadGroup> groups = new();  // by tgid (running and zombie processes)
    /// <summary>Last pid handed out (alloc_pid: cyclic above 300 after wrapping at pid_max, like Linux).</summary>
    int lastPid;
    public const int PidMax = 4194304, FirstPid = 1000;
    /// <summary>The first guest process (the one compat32 started); its exit ends compat32's wait.</summary>
    public ThreadGroup? Init;
    /// <summary>Every task that ever ran, counted (for --stats and /proc/loadavg's last pid).</summary>
    public long Forks;

    public TaskSet() { lastPid = FirstPid - 1; }

    /// <summary>alloc_pid: the next free number after the last one, wrapping at pid_max. Caller holds Lock.</summary>
    public int AllocPidLocked()
    {
        for (int n = 0; n < PidMax; n++)
        {
            int p = lastPid + 1;
            if (p >= PidMax) p = 300;
            lastPid = p;
            if (!tasks.ContainsKey(p) && !groups.ContainsKey(p) && !IsPgidOrSidInUse(p)) return p;
        }
        return -Errno.EAGAIN;
    }

    bool IsPgidOrSidInUse(int p)
    {
        foreach (var g in groups.Values) if (g.Pgid == p || g.Sid == p) return true;
        return false;
    }

    public int AllocPid() { lock (Lock) return AllocPidLocked(); }

    /// <summary>Add a task (and its group, if new). Caller holds Lock.</summary>
    public void AddLocked(Task t)
    {
        tasks[t.Tid] = t;
        groups[t.Tgid] = t.Group;
        lock (t.Group.Threads) if (!t.Group.Threads.Contains(t)) t.Group.Threads.Add(t);
        Forks++;
    }

    public void RemoveTaskLocked(Task t) { if (tasks.TryGetValue(t.Tid, out var x) && x == t) tasks.Remove(t.Tid); }
    public void RemoveGroupLocked(ThreadGroup g) { if (groups.TryGetValue(g.Tgid, out var x) && x == g) groups.Remove(g.Tgid); }
    /// <summary>de_thread: the exec'ing thread takes the leader's pid. Caller holds Lock.</summary>
    public void RenumberLocked(Task t, int newTid)
    {
        RemoveTaskLocked(t);
        t.Tid = newTid;
        tasks[newTid] = t;
    }

    public Task? FindTask(int tid) { lock (Lock) return tasks.TryGetValue(tid, out var t) ? t : null; }
    public ThreadGroup? FindGroup(int tgid) { lock (Lock) return groups.TryGetValue(tgid, out var g) ? g : null; }
    public Task? FindTaskLocked(int tid) => tasks.TryGetValue(tid, out var t) ? t : null;
    public ThreadGroup? FindGroupLocked(int tgid) => groups.TryGetValue(tgid, out var g) ? g : null;

    /// <summary>A snapshot of the live tasks / processes (for kill -1, /proc, --stats).</summary>
    public List<Task> Tasks() { lock (Lock) return new List<Task>(tasks.Values); }
    public List<ThreadGroup> Groups() { lock (Lock) return new List<ThreadGroup>(groups.Values); }
    public int TaskCount { get { lock (Lock) return tasks.Count; } }
    public IEnumerable<ThreadGroup> GroupsLocked => groups.Values;
    public int LastPid { get { lock (Lock) return lastPid; } }
}
