using Compat32.Cpu;
using Compat32.Kernel.Signals;

namespace Compat32.Kernel;

/// <summary>The loop each task's host thread runs (gVisor's task_run.go): CPU until an event, then the kernel
/// entry for it; at the end, do_exit.</summary>
public static class TaskRunner
{
    public static void Run(Task t)
    {
        t.HostThread = Thread.CurrentThread;
        t.CpuBaseNs = Vfs.LibC.ThreadCpuNs();
        t.HostTid = Vfs.LibC.GetTid();
        try
        {
            Loop(t);
        }
        catch (Exception e)
        {
            // A bug of ours must not take the host process down with a stack trace, nor leave the guest hanging:
            // the process dies as if by SIGKILL, with one line saying why.
            try { Console.Error.WriteLine($"compat32: internal error in pid {t.Tid}: {e.GetType().Name}: {e.Message}"); } catch { }
            Exit.GroupExit(t, Sig.SIGKILL, signal: true);
        }
        finally
        {
            Exit.DoExit(t);
        }
    }

    static void Loop(Task t)
    {
        var cpu = t.Cpu;
        while (!t.Exited)
        {
            // A bounded budget: translated code runs without GC safe points, so each run returns often.
            var ev = cpu.Run(1 << 18);
            if (t.Exited) break;
            switch (ev)
            {
                case CpuExit.SoftInt:
                    t.Entry.Int80();
                    break;
                case CpuExit.Sysenter:
                    t.Entry.Sysenter();
                    break;
                case CpuExit.Syscall:
                    t.Entry.Syscall32();
                    break;
                case CpuExit.Exception:
                    t.Entry.Exception(cpu.Vector, cpu.ErrorCode, cpu.Cr2, cpu.SingleStep);
                    cpu.SingleStep = false;
                    break;
                case CpuExit.Budget:
                case CpuExit.Stop: // asked to stop by a timer, a sender or another thread (Processor.RequestAsyncStop)
                    if (t.LdtChanged)
                    {
                        t.LdtChanged = false;
                        Syscalls.LdtCalls.RefreshLdtSegments(t);
                        t.Entry.Interrupt(); // the IPI's return to user mode: IRET checks CS and SS
                    }
                    else if (t.Kernel.Signals.HasDeliverable(t) || t.Group.Stopped) t.Entry.Interrupt();
                    break;
            }
        }
    }
}

/// <summary>Exit and wait (kernel/exit.c): do_exit, do_group_exit, exit_notify, release_task, do_wait.</summary>
public static partial class Exit
{
    /// <summary>exit(2): this thread only. The last thread's code becomes the process's status.</summary>
    public static int ExitThread(Task t, int code)
    {
        lock (t.Kernel.TaskSet.Lock)
            if (!t.Group.Exiting) t.Group.ExitCode = (code & 0xFF) << 8; // kept unless a group exit comes first
        t.Exited = true;
        return 0;
    }

    /// <summary>do_group_exit / zap_other_threads: every thread of the group leaves user mode. status is the exit
    /// code (signal = false) or the killing signal.</summary>
    public static void GroupExit(Task t, int status, bool signal, uint? faultAddr = null, bool core = false)
    {
        var g = t.Group;
        List<Task> others;
        lock (t.Kernel.TaskSet.Lock)
        {
            if (!g.Exiting)
            {
                g.Exiting = true;
                // WCOREDUMP only when a core file was written; we never write one (RLIMIT_CORE is 0 by default
                // too), so a parent's wait sees the plain signal. The report of the first process says the default
                // action (FatalCore), as qemu-i386 does.
                g.ExitCode = signal ? status & 0x7F : (status & 0xFF) << 8;
                g.FatalSignal = signal ? status : 0;
                g.FatalCore = signal && core;
                g.FatalAddr = faultAddr;
            }
            lock (g.Threads) others = new List<Task>(g.Threads);
        }
        t.Exited = true;
        foreach (var o in others)
        {
            if (o == t) continue;
            o.Exited = true;
            o.Cpu.RequestAsyncStop();
            o.Wake();
        }
    }

    /// <summary>do_exit, on the task's own host thread once it left user mode for good.</summary>
    public static void DoExit(Task t)
    {
        var k = t.Kernel;
        t.Exited = true;
        k.Signals.ExitSignals(t); // exit_signals: PF_EXITING (Exited) first, then retarget_shared_pending
        var usage = ThreadUsage(t);
        // mm_release: the robust list, then clear_child_tid while others may still look at the address space.
        try
        {
            k.Futexes.ExitRobustList(t);
            if (Volatile.Read(ref t.Mm.Users) > 1) k.Futexes.ClearChildTid(t);
        }
        catch (Exception) { } // a guest's torn lists must not stop its exit
        t.VforkDone?.Set();
        // exit_mm, exit_files, exit_fs. The first process's last address space stays readable for the embedder
        // (Machine.Init.Mem after Run) until the machine itself is dropped.
        if (t.Group == k.TaskSet.Init) Interlocked.Decrement(ref t.Mm.Users);
        else ReleaseMm(t.Mm);
        t.Files.Release();
        t.Fs.Release();
        k.RetireStats(t);

        var g = t.Group;
        bool alone;
        lock (g.Threads) alone = g.Threads.Count == 1;
        if (alone) Ipc.Sem.ExitSem(t); // exit_sem: SEM_UNDO adjustments, before the parent can see the exit
        bool last;
        var wake = new List<Task>();
        lock (k.TaskSet.Lock)
        {
            k.TaskSet.RemoveTaskLocked(t);
            lock (g.Threads) { g.Threads.Remove(t); last = g.Threads.Count == 0; }
            g.DeadThreadsUsage.Add(usage);
            if (last) ExitNotifyLocked(t, g, wake);
        }
        foreach (var w in wake) w.Wake();
        if (last)
        {
            Syscalls.ProcessTimers.Existing(g)?.Dispose();
            g.Ended.Set();
        }
    }

    static int deadSpaces;

    /// <summary>mmput: the last user of an address space drops its pages (the reservation itself goes with the
    /// object, so late readers see unmapped memory, never freed host memory).</summary>
    public static void ReleaseMm(Mm mm)
    {
        if (Interlocked.Decrement(ref mm.Users) != 0) return;
        mm.Space.Teardown();
        Cpu.CodeSpace.Retire(mm.Space);
        // Each dead address space still holds its 1 MiB permission array and 4 GiB reservation until a full
        // collection: a shell forking thousands of subshells allocates too little else to trigger one.
        if (Interlocked.Increment(ref deadSpaces) % 32 == 0) GC.Collect(2, GCCollectionMode.Optimized, blocking: false);
    }

    /// <summary>exit_notify for the last thread of a group: reparent its children, tell its parent (or reap it
    /// at once when nobody will wait). Caller holds TaskSet.Lock; tasks to wake are added to wake.</summary>
    static void ExitNotifyLocked(Task t, ThreadGroup g, List<Task> wake)
    {
        var k = t.Kernel;
        // forget_original_parent: children go to the nearest subreaper ancestor, else to the first process.
        if (g.Children.Count > 0)
        {
            ThreadGroup? reaper = null;
            for (var a = g.Parent; a != null; a = a.Parent) if (a.IsSubreaper && a.State == GroupState.Running) { reaper = a; break; }
            if (reaper == null && k.TaskSet.Init is { State: GroupState.Running } init && init != g) reaper = init;
            foreach (var c in g.Children.ToArray())
            {
                c.Parent = reaper;
                reaper?.Children.Add(c);
                // PR_SET_PDEATHSIG of the child's threads.
                lock (c.Threads)
                    foreach (var ct in c.Threads)
                        if (ct.PdeathSignal != 0) k.Signals.SendToGroup(ct, new KSigInfo { Signo = ct.PdeathSignal, Code = KSigInfo.SI_USER, Layout = SigInfoLayout.Kill, Pid = g.Tgid });
                if (c.State == GroupState.Zombie)
                {
                    if (reaper == null || !NotifyParentLocked(c, wake)) ReapLocked(k, c);
                }
            }
            g.Children.Clear();
            if (reaper != null) WakeWaitersLocked(reaper, wake);
        }
        g.State = GroupState.Zombie;
        if (g.Parent == null || !NotifyParentLocked(g, wake)) ReapLocked(k, g);
    }

    /// <summary>do_notify_parent: send the exit signal with CLD_* info and wake waiters. False when the parent
    /// does not want zombies (SIGCHLD ignored or SA_NOCLDWAIT): the child is reaped at once.</summary>
    static bool NotifyParentLocked(ThreadGroup g, List<Task> wake)
    {
        var p = g.Parent!;
        var leader = p.Leader;
        if (leader == null) return false;
        var k = leader.Kernel;
        bool autoreap = false;
        int sig = g.ExitSignal;
        if (sig == Sig.SIGCHLD)
        {
            var act = leader.Sig.Actions[Sig.SIGCHLD];
            if (act.Handler == Sig.SIG_IGN || (act.Flags & Sig.SA_NOCLDWAIT) != 0) { autoreap = true; if (act.Handler == Sig.SIG_IGN) sig = 0; }
        }
        if (sig > 0 && sig <= 64) k.Signals.SendToGroup(leader, ChildInfo(g, sig));
        WakeWaitersLocked(p, wake);
        return !autoreap;
    }

    /// <summary>The siginfo of a child's state change (CLD_EXITED, CLD_KILLED, CLD_DUMPED).</summary>
    public static KSigInfo ChildInfo(ThreadGroup g, int sig)
    {
        int code, status;
        if ((g.ExitCode & 0x7F) == 0) { code = CLD_EXITED; status = (g.ExitCode >> 8) & 0xFF; }
        else { code = (g.ExitCode & 0x80) != 0 ? CLD_DUMPED : CLD_KILLED; status = g.ExitCode & 0x7F; }
        return new KSigInfo { Signo = sig, Code = code, Layout = SigInfoLayout.Chld, Pid = g.Tgid, Uid = g.Creds.Uid, Value = (uint)status };
    }

    public const int CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_TRAPPED = 4, CLD_STOPPED = 5, CLD_CONTINUED = 6;

    /// <summary>Every thread of g that may sleep in wait gets a look (__wake_up_parent).</summary>
    public static void WakeWaitersLocked(ThreadGroup g, List<Task> wake)
    {
        g.ChildEvents++;
        lock (g.Threads) wake.AddRange(g.Threads);
    }

    /// <summary>release_task: the zombie is gone; its CPU time goes to its parent's children totals.</summary>
    static void ReapLocked(KernelModel k, ThreadGroup g)
    {
        g.State = GroupState.Dead;
        if (g.Parent != null)
        {
            g.Parent.Children.Remove(g);
            var u = g.DeadThreadsUsage; u.Add(g.ChildrenUsage);
            g.Parent.ChildrenUsage.Add(u);
        }
        k.TaskSet.RemoveGroupLocked(g);
        g.Ended.Set();
    }

    /// <summary>This host thread's CPU time, as the task's utime (we cannot split user from system time).</summary>
    static Rusage ThreadUsage(Task t)
    {
        var u = new Rusage();
        try { u.UtimeNs = t.CpuNs(); } catch { }
        u.MaxRssKb = HostMaxRssKb();
        return u;
    }

    /// <summary>The host process's peak resident set (getrusage's ru_maxrss, KiB): what a guest's ru_maxrss
    /// reports, all tasks living in this one process. One system call; Environment.WorkingSet parsed
    /// /proc/self/status, a tenth of an exit's CPU in a fork+exec loop.</summary>
    internal static unsafe long HostMaxRssKb()
    {
        long* ru = stackalloc long[18]; // struct rusage (x86-64 and the generic layout alike): ru_maxrss at 32
        return getrusage(0 /* RUSAGE_SELF */, ru) == 0 ? ru[4] : 0;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "getrusage")]
    private static unsafe partial int getrusage(int who, long* usage);

    // ---- wait

    public const int WNOHANG = 1, WUNTRACED = 2, WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x01000000,
        __WNOTHREAD = 0x20000000, __WALL = 0x40000000, __WCLONE = unchecked((int)0x80000000);
    public const int P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3;

    /// <summary>What do_wait found.</summary>
    public struct WaitResult
    {
        public int Pid, Status, Code, SigStatus;
        public uint Uid;
        public Rusage Usage;
    }

    /// <summary>do_wait: type P_ALL/P_PID/P_PGID, id; options as wait4/waitid take them. Returns the pid (0 for
    /// WNOHANG with nothing to report) or -errno (-ECHILD, -ERESTARTSYS).</summary>
    public static int DoWait(Task t, int type, int id, int options, out WaitResult res)
    {
        res = default;
        var k = t.Kernel;
        var me = t.Group;
        while (true)
        {
            long seen;
            lock (k.TaskSet.Lock)
            {
                seen = me.ChildEvents;
                bool any = false;
                foreach (var c in me.Children.ToArray())
                {
                    if (!Eligible(c, type, id, options, t)) continue;
                    any = true;
                    if (c.State == GroupState.Zombie && (options & WEXITED) != 0)
                    {
                        res.Pid = c.Tgid; res.Status = c.ExitCode; res.Uid = c.Creds.Uid;
                        res.Usage = c.DeadThreadsUsage; res.Usage.Add(c.ChildrenUsage);
                        var ci = ChildInfo(c, Sig.SIGCHLD); res.Code = ci.Code; res.SigStatus = (int)ci.Value;
                        if ((options & WNOWAIT) == 0) ReapLocked(k, c);
                        return res.Pid;
                    }
                    if (c.StopReport && c.Stopped && (options & WSTOPPED) != 0)
                    {
                        res.Pid = c.Tgid; res.Status = (c.StopSignal << 8) | 0x7F; res.Code = CLD_STOPPED;
                        res.SigStatus = c.StopSignal; res.Uid = c.Creds.Uid;
                        if ((options & WNOWAIT) == 0) c.StopReport = false;
                        return res.Pid;
                    }
                    if (c.ContReport && (options & WCONTINUED) != 0)
                    {
                        res.Pid = c.Tgid; res.Status = 0xFFFF; res.Code = CLD_CONTINUED; res.SigStatus = Sig.SIGCONT; res.Uid = c.Creds.Uid;
                        if ((options & WNOWAIT) == 0) c.ContReport = false;
                        return res.Pid;
                    }
                }
                if (!any) return -Errno.ECHILD;
                if ((options & WNOHANG) != 0) return 0;
            }
            var why = t.Block(() => Volatile.Read(ref me.ChildEvents) != seen);
            if (why == WakeReason.Signal) return -Errno.ERESTARTSYS;
            if (why == WakeReason.Killed) return -Errno.EINTR;
        }
    }

    /// <summary>eligible_pid and eligible_child: the id selects, and __WCLONE/__WALL choose by exit signal.</summary>
    static bool Eligible(ThreadGroup c, int type, int id, int options, Task t)
    {
        switch (type)
        {
            case P_PID: if (c.Tgid != id) return false; break;
            case P_PGID: if (c.Pgid != id) return false; break;
        }
        if ((options & __WALL) != 0) return true;
        bool cloneChild = c.ExitSignal != Sig.SIGCHLD;
        return cloneChild == ((options & __WCLONE) != 0);
    }
}
