using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Ipc;

/// <summary>struct sem_array. Every field is guarded by the namespace's Lock.</summary>
public sealed class SemArray : IpcObject
{
    public required short[] Val;
    public required int[] Pid;
    public long Otime;
    /// <summary>struct sem's pending_alter / pending_const: the sleeping single-operation semops on each
    /// semaphore, oldest first.</summary>
    public required List<SemQueue>[] SemAlter, SemConst;
    /// <summary>sem_array's pending_alter / pending_const: the sleeping multi-operation semops (and, while one
    /// of those sleeps, every altering one: merge_queues), oldest first.</summary>
    public readonly List<SemQueue> PendingAlter = new(), PendingConst = new();
    /// <summary>Sleeping semops with more than one operation.</summary>
    public int ComplexCount;

    public static SemArray New(int nsems)
    {
        static List<SemQueue>[] Lists(int n) { var l = new List<SemQueue>[n]; for (int i = 0; i < n; i++) l[i] = new(); return l; }
        return new SemArray { Val = new short[nsems], Pid = new int[nsems], SemAlter = Lists(nsems), SemConst = Lists(nsems) };
    }
}

/// <summary>struct sem_queue: one sleeping semop. The operations are performed by whoever makes them possible
/// (update_queue), under the namespace's Lock, which also guards List and Blocking; Status is written under the
/// lock and read by the sleeper without it.</summary>
public sealed class SemQueue
{
    public required Task Sleeper;
    public required int Pid;
    public required int[] Num;
    public required short[] Op, Flg;
    public SemUndo? Undo;
    public bool Alter;
    /// <summary>The operation it would block on (q->blocking), for GETNCNT/GETZCNT.</summary>
    public int Blocking;
    /// <summary>The list it is queued on.</summary>
    public List<SemQueue>? List;
    /// <summary>-EINTR while it sleeps; then the semop's result.</summary>
    public int Status = -Errno.EINTR;
}

/// <summary>struct sem_undo: one process's adjustments for one set, applied when the process exits.</summary>
public sealed class SemUndo
{
    public required SemArray Set;
    public required short[] Adj;
}

/// <summary>
/// System V semaphores (ipc/sem.c): semget, semop/semtimedop with SEM_UNDO, semctl. An operation list is applied
/// all or nothing (perform_atomic_semop). One that would block is queued as Linux queues it (per-semaphore
/// lists for single operations, the array's lists for complex ones, altering and wait-for-zero apart), and the
/// task that changes the set performs the queued operations in Linux's order (do_smart_update, update_queue,
/// wake_const_ops), so sleepers complete in the same order as on Linux.
/// </summary>
public static class Sem
{
    const int SEMMSL = 32000, SEMMNI = 32000, SEMOPM = 500, SEMVMX = 32767, SEMAEM = SEMVMX;
    const long SEMMNS = (long)SEMMNI * SEMMSL;
    const int SEM_UNDO = 0x1000;
    const int GETPID = 11, GETVAL = 12, GETALL = 13, GETNCNT = 14, GETZCNT = 15, SETVAL = 16, SETALL = 17,
        SEM_STAT = 18, SEM_INFO = 19, SEM_STAT_ANY = 20;

    static long UsedSems(IpcNamespace ns) { long n = 0; foreach (var kv in ns.Sem.All) n += kv.Value.Val.Length; return n; }

    /// <summary>ksys_semget.</summary>
    public static int Get(Task t, int key, int nsems, int flg)
    {
        var ns = IpcNamespace.Of(t);
        if (nsems < 0 || nsems > SEMMSL) return -Errno.EINVAL;
        return ns.Get(t, ns.Sem, key, flg, () =>
        {
            // newary
            if (nsems == 0) return -Errno.EINVAL;
            if (UsedSems(ns) + nsems > SEMMNS) return -Errno.ENOSPC;
            var s = SemArray.New(nsems);
            IpcNamespace.InitPerm(t, s.Perm, key, flg);
            s.Ctime = IpcNamespace.Now();
            return ns.Sem.Add(s, SEMMNI);
        }, s => nsems > s.Val.Length ? -Errno.EINVAL : 0);
    }

    /// <summary>__do_semtimedop. timeout: (sec, nsec) or null. sops are struct sembuf {u16 num; s16 op; s16 flg}.</summary>
    public static int TimedOp(Task t, int semid, uint tsops, uint nsops, (long sec, long nsec)? timeout)
    {
        if (nsops < 1 || semid < 0) return -Errno.EINVAL;
        if (nsops > SEMOPM) return -Errno.E2BIG;
        var raw = new byte[nsops * 6];
        if (U.Get(t, tsops, raw) != 0) return -Errno.EFAULT;
        var num = new int[nsops]; var op = new short[nsops]; var flg = new short[nsops];
        int max = 0; bool undos = false, alter = false;
        for (int i = 0; i < nsops; i++)
        {
            num[i] = U.R16(raw, i * 6); op[i] = (short)U.R16(raw, i * 6 + 2); flg[i] = (short)U.R16(raw, i * 6 + 4);
            max = Math.Max(max, num[i]);
            if ((flg[i] & SEM_UNDO) != 0) undos = true;
            if (op[i] != 0) alter = true;
        }
        long timeoutNs = -1;
        if (timeout is { } to)
        {
            if (to.sec < 0 || to.nsec < 0 || to.nsec >= 1_000_000_000) return -Errno.EINVAL;
            timeoutNs = to.sec > long.MaxValue / 2_000_000_000 ? long.MaxValue / 2 : to.sec * 1_000_000_000 + to.nsec;
        }
        long deadline = timeoutNs < 0 || timeoutNs > 1_000_000_000_000_000L ? long.MaxValue
            : System.Diagnostics.Stopwatch.GetTimestamp() + (long)(timeoutNs / 1e9 * System.Diagnostics.Stopwatch.Frequency);
        var ns = IpcNamespace.Of(t);
        var wake = new List<Task>();
        SemArray? s;
        SemQueue q;
        int now;
        lock (ns.Lock)
        {
            s = ns.Sem.Find(semid);
            if (s == null) return -Errno.EINVAL;
            if (max >= s.Val.Length) return -Errno.EFBIG;
            if (!IpcNamespace.Permitted(t, s.Perm, alter ? 0x92 : 0x124)) return -Errno.EACCES;
            q = new SemQueue { Sleeper = t, Pid = t.Tgid, Num = num, Op = op, Flg = flg, Alter = alter,
                Undo = undos ? UndoFor(ns, t.Group, s) : null };
            now = Attempt(s, q);
            if (now == 0)
            {
                if (alter) SmartUpdate(s, num, op, true, wake);
                else s.Otime = IpcNamespace.Now();
                Unmerge(s);
            }
            // Sleep: queue the operation where Linux queues it.
            else if (now < 0) { }
            else if (nsops == 1)
                Enqueue(s, q, !alter ? s.SemConst[num[0]] : s.ComplexCount > 0 ? s.PendingAlter : s.SemAlter[num[0]]);
            else
            {
                if (s.ComplexCount == 0) Merge(s);
                Enqueue(s, q, alter ? s.PendingAlter : s.PendingConst);
                s.ComplexCount++;
            }
        }
        if (now <= 0) { IpcNamespace.WakeAll(wake); return now; }
        var why = t.Block(() => Volatile.Read(ref q.Status) != -Errno.EINTR, deadline);
        lock (ns.Lock)
        {
            // Performed (or failed) by a waker, or the set went away, while we were waking up.
            if (q.Status != -Errno.EINTR) return q.Status;
            if (s.Perm.Deleted) return -Errno.EIDRM;
            Unlink(s, q);
            Unmerge(s);
            return why == WakeReason.Timeout ? -Errno.EAGAIN : -Errno.EINTR;
        }
    }

    static void Enqueue(SemArray s, SemQueue q, List<SemQueue> l) { l.Add(q); q.List = l; }

    /// <summary>unlink_queue.</summary>
    static void Unlink(SemArray s, SemQueue q)
    {
        q.List?.Remove(q);
        q.List = null;
        if (q.Num.Length > 1) s.ComplexCount--;
    }

    /// <summary>merge_queues: a complex operation is about to sleep, so the per-semaphore altering sleepers
    /// move to the array's list to keep FIFO order with it.</summary>
    static void Merge(SemArray s)
    {
        foreach (var l in s.SemAlter)
        {
            foreach (var q in l) Enqueue(s, q, s.PendingAlter);
            l.Clear();
        }
    }

    /// <summary>unmerge_queues (complexmode_tryleave, when the lock is let go): no complex operation sleeps any
    /// more, so the array's altering sleepers go back to their semaphores' lists.</summary>
    static void Unmerge(SemArray s)
    {
        if (s.ComplexCount != 0 || s.PendingAlter.Count == 0) return;
        foreach (var q in s.PendingAlter) Enqueue(s, q, s.SemAlter[q.Num[0]]);
        s.PendingAlter.Clear();
    }

    /// <summary>wake_up_sem_queue_prepare.</summary>
    static void Done(SemQueue q, int error, List<Task> wake)
    {
        Volatile.Write(ref q.Status, error);
        wake.Add(q.Sleeper);
    }

    /// <summary>wake_const_ops: perform the wait-for-zero operations that can complete now.</summary>
    static bool WakeConstOps(SemArray s, int semnum, List<Task> wake)
    {
        var l = semnum == -1 ? s.PendingConst : s.SemConst[semnum];
        bool completed = false;
        for (int i = 0; i < l.Count;)
        {
            var q = l[i];
            int error = Attempt(s, q);
            if (error > 0) { i++; continue; }
            Unlink(s, q);
            Done(q, error, wake);
            if (error == 0) completed = true;
        }
        return completed;
    }

    /// <summary>do_smart_wakeup_zero: the wait-for-zero queues of the semaphores that became 0 (all of them
    /// when num is null), then the array's.</summary>
    static bool SmartWakeupZero(SemArray s, int[]? num, List<Task> wake)
    {
        bool completed = false, gotZero = false;
        int n = num?.Length ?? s.Val.Length;
        for (int i = 0; i < n; i++)
        {
            int k = num?[i] ?? i;
            if (s.Val[k] != 0) continue;
            gotZero = true;
            completed |= WakeConstOps(s, k, wake);
        }
        if (gotZero) completed |= WakeConstOps(s, -1, wake);
        return completed;
    }

    /// <summary>update_queue: perform the altering sleepers of one semaphore's list (-1: the array's) that can
    /// complete now, oldest first.</summary>
    static bool UpdateQueue(SemArray s, int semnum, List<Task> wake)
    {
        var l = semnum == -1 ? s.PendingAlter : s.SemAlter[semnum];
        bool completed = false;
    again:
        for (int i = 0; i < l.Count;)
        {
            // single decrements cannot succeed on a semaphore that is 0
            if (semnum != -1 && s.Val[semnum] == 0) break;
            var q = l[i];
            int error = Attempt(s, q);
            if (error > 0) { i++; continue; }
            Unlink(s, q);
            bool restart = false;
            if (error == 0)
            {
                completed = true;
                SmartWakeupZero(s, q.Num, wake);
                restart = s.PendingAlter.Count > 0 || q.Num.Length > 1; // check_restart
            }
            Done(q, error, wake);
            if (restart) goto again;
        }
        return completed;
    }

    /// <summary>do_smart_update: after the set changed (num/op: the operations performed, null: unknown).</summary>
    static void SmartUpdate(SemArray s, int[]? num, short[]? op, bool otime, List<Task> wake)
    {
        otime |= SmartWakeupZero(s, num, wake);
        if (s.PendingAlter.Count > 0) otime |= UpdateQueue(s, -1, wake);
        else if (num == null) for (int i = 0; i < s.Val.Length; i++) otime |= UpdateQueue(s, i, wake);
        else for (int i = 0; i < num.Length; i++) if (op![i] > 0) otime |= UpdateQueue(s, num[i], wake);
        if (otime) s.Otime = IpcNamespace.Now();
    }

    /// <summary>count_semcnt: sleepers on semnum (the per-semaphore list, then the complex ones whose blocking
    /// operation is on semnum).</summary>
    static int CountSemcnt(SemArray s, int semnum, bool zero)
    {
        int n = (zero ? s.SemConst : s.SemAlter)[semnum].Count;
        foreach (var q in s.PendingAlter) n += CheckQop(q, semnum, zero);
        if (zero) foreach (var q in s.PendingConst) n += CheckQop(q, semnum, zero);
        return n;
    }

    static int CheckQop(SemQueue q, int semnum, bool zero) =>
        q.Num[q.Blocking] == semnum && (zero ? q.Op[q.Blocking] == 0 : q.Op[q.Blocking] < 0) ? 1 : 0;

    /// <summary>perform_atomic_semop(_slow): 0 done, 1 would block (q.Blocking: the operation), or -errno.</summary>
    static int Attempt(SemArray s, SemQueue q)
    {
        int[] num = q.Num; short[] op = q.Op, flg = q.Flg;
        var un = q.Undo;
        var val = (short[])s.Val.Clone();
        var adj = un != null ? (short[])un.Adj.Clone() : null;
        for (int i = 0; i < num.Length; i++)
        {
            int cur = val[num[i]];
            if (op[i] == 0 && cur != 0 || cur + op[i] < 0)
            {
                q.Blocking = i;
                return (flg[i] & IpcNamespace.IPC_NOWAIT) != 0 ? -Errno.EAGAIN : 1;
            }
            int result = cur + op[i];
            if (result > SEMVMX) return -Errno.ERANGE;
            if ((flg[i] & SEM_UNDO) != 0)
            {
                int undo = adj![num[i]] - op[i];
                if (undo < -SEMAEM - 1 || undo > SEMAEM) return -Errno.ERANGE;
                adj[num[i]] = (short)undo;
            }
            val[num[i]] = (short)result;
        }
        for (int i = 0; i < num.Length; i++) s.Pid[num[i]] = q.Pid;
        Array.Copy(val, s.Val, val.Length);
        if (un != null) Array.Copy(adj!, un.Adj, adj!.Length);
        return 0;
    }

    static SemUndo UndoFor(IpcNamespace ns, ThreadGroup g, SemArray s)
    {
        if (!ns.Undo.TryGetValue(g, out var l)) ns.Undo[g] = l = new List<SemUndo>();
        foreach (var u in l) if (u.Set == s) return u;
        var n = new SemUndo { Set = s, Adj = new short[s.Val.Length] };
        l.Add(n);
        return n;
    }

    /// <summary>exit_sem: the process's last thread is leaving; apply its adjustments (clamped to [0, SEMVMX]).</summary>
    public static void ExitSem(Task t)
    {
        var ns = IpcNamespace.Of(t);
        var wake = new List<Task>();
        lock (ns.Lock)
        {
            if (!ns.Undo.Remove(t.Group, out var l)) return;
            foreach (var u in l)
            {
                var s = u.Set;
                if (s.Perm.Deleted) continue;
                bool any = false;
                for (int i = 0; i < s.Val.Length; i++)
                {
                    if (u.Adj[i] == 0) continue;
                    int v = s.Val[i] + u.Adj[i];
                    s.Val[i] = (short)Math.Clamp(v, 0, SEMVMX);
                    s.Pid[i] = t.Tgid;
                    any = true;
                }
                if (any) { SmartUpdate(s, null, null, true, wake); Unmerge(s); }
            }
        }
        IpcNamespace.WakeAll(wake);
    }

    /// <summary>freeary: waiters get -EIDRM; every process's undo entries for the set go.</summary>
    static void FreeAry(IpcNamespace ns, SemArray s, List<Task> wake)
    {
        ns.Sem.Remove(s);
        foreach (var l in ns.Undo.Values) l.RemoveAll(u => u.Set == s);
        foreach (var l in s.SemAlter.Concat(s.SemConst).Append(s.PendingAlter).Append(s.PendingConst).ToArray())
            foreach (var q in l.ToArray()) { Unlink(s, q); Done(q, -Errno.EIDRM, wake); }
    }

    /// <summary>compat_ksys_semctl: version is IPC_64 for the direct call, the cmd's IPC_64 bit through ipc(2).</summary>
    public static int Ctl(Task t, int semid, int semnum, int cmd, uint arg, bool v64)
    {
        if (semid < 0) return -Errno.EINVAL;
        var ns = IpcNamespace.Of(t);
        int c = cmd & ~IpcNamespace.IPC_64;
        return ns.Locked(wake =>
        {
            switch (c)
            {
                case IpcNamespace.IPC_INFO: case SEM_INFO: return Info(t, ns, c, arg);
                case IpcNamespace.IPC_STAT: case SEM_STAT: case SEM_STAT_ANY: return Stat(t, ns, semid, c, arg, v64);
            }
            var s = ns.Sem.Find(semid);
            switch (c)
            {
                case GETVAL: case GETPID: case GETNCNT: case GETZCNT: case GETALL: case SETALL: case SETVAL:
                {
                    if (s == null) return -Errno.EINVAL;
                    bool write = c is SETVAL or SETALL;
                    if (!IpcNamespace.Permitted(t, s.Perm, write ? 0x92 : 0x124)) return -Errno.EACCES;
                    if (c == GETALL)
                    {
                        var b = new byte[s.Val.Length * 2];
                        for (int i = 0; i < s.Val.Length; i++) U.W16(b, i * 2, (ushort)s.Val[i]);
                        return U.Put(t, arg, b);
                    }
                    if (c == SETALL)
                    {
                        var b = new byte[s.Val.Length * 2];
                        if (U.Get(t, arg, b) != 0) return -Errno.EFAULT;
                        for (int i = 0; i < s.Val.Length; i++) if (U.R16(b, i * 2) > SEMVMX) return -Errno.ERANGE;
                        for (int i = 0; i < s.Val.Length; i++) { s.Val[i] = (short)U.R16(b, i * 2); s.Pid[i] = t.Tgid; }
                        foreach (var l in ns.Undo.Values) foreach (var u in l) if (u.Set == s) Array.Clear(u.Adj);
                        s.Ctime = IpcNamespace.Now();
                        SmartUpdate(s, null, null, false, wake);
                        Unmerge(s);
                        return 0;
                    }
                    if (semnum < 0 || semnum >= s.Val.Length) return -Errno.EINVAL;
                    switch (c)
                    {
                        case GETVAL: return s.Val[semnum];
                        case GETPID: return s.Pid[semnum];
                        case GETNCNT: return CountSemcnt(s, semnum, false);
                        case GETZCNT: return CountSemcnt(s, semnum, true);
                    }
                    // SETVAL: the value is the argument itself
                    int v = (int)arg;
                    if (v > SEMVMX || v < 0) return -Errno.ERANGE;
                    foreach (var l in ns.Undo.Values) foreach (var u in l) if (u.Set == s) u.Adj[semnum] = 0;
                    s.Val[semnum] = (short)v;
                    s.Pid[semnum] = t.Tgid;
                    s.Ctime = IpcNamespace.Now();
                    SmartUpdate(s, null, null, false, wake);
                    Unmerge(s);
                    return 0;
                }
                case IpcNamespace.IPC_SET: case IpcNamespace.IPC_RMID:
                {
                    (uint, uint, int) perm = default;
                    if (c == IpcNamespace.IPC_SET)
                    {
                        var b = new byte[v64 ? 64 : 44];
                        if (U.Get(t, arg, b) != 0) return -Errno.EFAULT;
                        perm = IpcNamespace.GetPerm(b, v64);
                    }
                    if (s == null) return -Errno.EINVAL;
                    if (!IpcNamespace.IsOwner(t, s.Perm)) return -Errno.EPERM;
                    if (c == IpcNamespace.IPC_RMID) { FreeAry(ns, s, wake); return 0; }
                    IpcNamespace.SetPerm(s.Perm, perm);
                    s.Ctime = IpcNamespace.Now();
                    return 0;
                }
                default: return -Errno.EINVAL;
            }
        });
    }

    /// <summary>semctl_stat + copy_compat_semid_to_user (semid64_ds 64 bytes, old semid_ds 44).</summary>
    static int Stat(Task t, IpcNamespace ns, int id, int cmd, uint arg, bool v64)
    {
        SemArray? s = cmd == IpcNamespace.IPC_STAT ? ns.Sem.Find(id) : ns.Sem.ByIndex(id);
        if (s == null) return -Errno.EINVAL;
        if (cmd != SEM_STAT_ANY && !IpcNamespace.Permitted(t, s.Perm, 0x124)) return -Errno.EACCES;
        var b = new byte[v64 ? 64 : 44];
        IpcNamespace.PutPerm(b, s.Perm, v64);
        if (v64)
        {
            U.W32(b, 36, (uint)s.Otime); U.W32(b, 40, (uint)(s.Otime >> 32));
            U.W32(b, 44, (uint)s.Ctime); U.W32(b, 48, (uint)(s.Ctime >> 32));
            U.W32(b, 52, s.Val.Length);
        }
        else { U.W32(b, 16, (int)s.Otime); U.W32(b, 20, (int)s.Ctime); U.W16(b, 40, (ushort)s.Val.Length); }
        if (U.Put(t, arg, b) != 0) return -Errno.EFAULT;
        return cmd == IpcNamespace.IPC_STAT ? 0 : s.Perm.Id;
    }

    /// <summary>semctl_info: struct seminfo (ten ints); returns the highest index in use.</summary>
    static int Info(Task t, IpcNamespace ns, int cmd, uint arg)
    {
        var b = new byte[40];
        // semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem
        int[] v = { (int)SEMMNS, SEMMNI, (int)SEMMNS, (int)SEMMNS, SEMMSL, SEMOPM, SEMOPM, 20, SEMVMX, SEMAEM };
        if (cmd == SEM_INFO) { v[7] = ns.Sem.Count; v[9] = (int)UsedSems(ns); }
        for (int i = 0; i < 10; i++) U.W32(b, i * 4, v[i]);
        if (U.Put(t, arg, b) != 0) return -Errno.EFAULT;
        return Math.Max(ns.Sem.MaxIdx, 0);
    }
}
