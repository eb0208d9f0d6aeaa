using System.Runtime.CompilerServices;
using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Ipc;

/// <summary>struct kern_ipc_perm. Guarded by the namespace's Lock.</summary>
public sealed class KernIpcPerm
{
    public int Key, Id;
    public uint Uid, Gid, Cuid, Cgid;
    public int Mode;
    public ushort Seq;
    /// <summary>ipc_rmid happened (waiters see -EIDRM).</summary>
    public bool Deleted;
}

/// <summary>A System V IPC object (semaphore set, message queue, shared memory segment).</summary>
public abstract class IpcObject
{
    public readonly KernIpcPerm Perm = new();
    /// <summary>Changed (ctime) in seconds; guarded by the namespace's Lock.</summary>
    public long Ctime;
    /// <summary>Bumped under the namespace's Lock on every change a sleeper may wait for; read without it.</summary>
    public int Gen;
    /// <summary>Tasks sleeping on this object (their Wake is called after the lock is dropped).</summary>
    public readonly List<Task> Sleepers = new();
}

/// <summary>struct ipc_ids: ids are (seq &lt;&lt; IPCMNI_SHIFT) + index, indexes handed out cyclically.</summary>
public sealed class IpcIds<T> where T : IpcObject
{
    public const int IpcmniShift = 15, Ipcmni = 1 << IpcmniShift, SeqMax = int.MaxValue >> IpcmniShift;
    readonly SortedDictionary<int, T> byIdx = new();
    int seq, nextIdx;
    public int Count => byIdx.Count;
    public IEnumerable<KeyValuePair<int, T>> All => byIdx;
    public int MaxIdx => byIdx.Count == 0 ? -1 : byIdx.Keys.Max();

    public T? Find(int id)
    {
        if (id < 0 || !byIdx.TryGetValue(id & (Ipcmni - 1), out var o)) return null;
        return o.Perm.Seq == (ushort)(id >> IpcmniShift) ? o : null; // ipc_checkid
    }

    public T? ByIndex(int idx) => byIdx.TryGetValue(idx, out var o) ? o : null;

    public T? FindKey(int key)
    {
        foreach (var o in byIdx.Values) if (o.Perm.Key == key && key != 0) return o;
        return null;
    }

    /// <summary>ipc_addid: -ENOSPC when limit objects exist.</summary>
    public int Add(T o, int limit)
    {
        if (byIdx.Count >= limit) return -Errno.ENOSPC;
        int idx = nextIdx;
        for (int n = 0; n < limit && byIdx.ContainsKey(idx); n++) idx = (idx + 1) % limit;
        nextIdx = (idx + 1) % limit;
        o.Perm.Seq = (ushort)seq;
        if (++seq > SeqMax) seq = 0;
        o.Perm.Id = (o.Perm.Seq << IpcmniShift) + idx;
        byIdx[idx] = o;
        return o.Perm.Id;
    }

    public void Remove(T o)
    {
        byIdx.Remove(o.Perm.Id & (Ipcmni - 1));
        o.Perm.Deleted = true;
    }
}

/// <summary>
/// struct ipc_namespace: the System V objects and POSIX message queues every guest process of one machine sees.
/// One lock guards every object in it; sleepers wait on Task.Block for an object's Gen to move and are woken
/// after the lock is dropped (so no lock is held across a task's own signal lock).
/// </summary>
public sealed class IpcNamespace
{
    public const int IPC_PRIVATE = 0, IPC_CREAT = 0x200, IPC_EXCL = 0x400, IPC_NOWAIT = 0x800;
    public const int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3, IPC_64 = 0x100;
    public readonly object Lock = new();
    public readonly IpcIds<SemArray> Sem = new();
    public readonly IpcIds<MsgQueue> Msg = new();
    public readonly IpcIds<ShmSegment> Shm = new();
    /// <summary>sem_undo_list per process (CLONE_SYSVSEM shares it between the threads of a process). Lock.</summary>
    public readonly Dictionary<ThreadGroup, List<SemUndo>> Undo = new();
    public readonly Dictionary<string, MqInode> Mqueues = new(); // Lock

    static readonly ConditionalWeakTable<KernelModel, IpcNamespace> all = new();
    public static IpcNamespace Of(Task t) => all.GetValue(t.Kernel, _ => new IpcNamespace());

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>Mark obj changed and collect its sleepers to wake once the lock is dropped. Caller holds Lock.</summary>
    public static void Changed(IpcObject obj, List<Task> wake)
    {
        obj.Gen++;
        wake.AddRange(obj.Sleepers);
    }

    public static void WakeAll(List<Task> wake) { foreach (var t in wake) t.Wake(); }

    /// <summary>The loop of msgsnd and msgrcv: under Lock, find the object (-EINVAL) and check access (-EACCES),
    /// then attempt(obj, wake) gives the result, or null to sleep until the object changes and try again; the
    /// tasks attempt collected are woken once the lock is let go.</summary>
    public int Retry<T>(Task t, IpcIds<T> ids, int id, int access, int interrupted, Func<T, List<Task>, int?> attempt) where T : IpcObject
    {
        while (true)
        {
            var wake = new List<Task>();
            T? o;
            int? r;
            int gen = 0;
            lock (Lock)
            {
                o = ids.Find(id);
                if (o == null) return -Errno.EINVAL;
                if (!Permitted(t, o.Perm, access)) return -Errno.EACCES;
                r = attempt(o, wake);
                if (r == null) gen = Enlist(t, o);
            }
            if (r is int done) { WakeAll(wake); return done; }
            int s = SleepOn(t, o, gen, interrupted);
            if (s != 0) return s;
        }
    }

    /// <summary>ipc_ctl-style calls: body runs under Lock with a list of tasks to wake once it is let go.</summary>
    public int Locked(Func<List<Task>, int> body)
    {
        var wake = new List<Task>();
        try { lock (Lock) return body(wake); }
        finally { WakeAll(wake); }
    }

    /// <summary>Queue t on obj's sleepers and note its Gen (caller holds Lock), for SleepOn once the lock is let go.</summary>
    public static int Enlist(Task t, IpcObject obj) { obj.Sleepers.Add(t); return obj.Gen; }

    /// <summary>The sleeping half of the "try under the lock, else sleep until the object changes" loops of
    /// msgsnd, msgrcv, mq_timedsend and mq_timedreceive: t was Enlisted with gen; sleep until obj changes, is
    /// removed, a signal comes or the deadline passes, then leave the sleepers (running leave under the lock).
    /// Returns -EIDRM if a System V obj was removed (an unlinked POSIX queue lives on: mqueue false), interrupted
    /// for a signal, -ETIMEDOUT at the deadline, 0 to try again.</summary>
    public int SleepOn(Task t, IpcObject obj, int gen, int interrupted, long deadline = long.MaxValue, Action? leave = null, bool mqueue = false)
    {
        var why = t.Block(() => Volatile.Read(ref obj.Gen) != gen || !mqueue && obj.Perm.Deleted, deadline);
        lock (Lock)
        {
            obj.Sleepers.Remove(t);
            leave?.Invoke();
            if (!mqueue && obj.Perm.Deleted) return -Errno.EIDRM;
        }
        return why switch
        {
            WakeReason.Signal or WakeReason.Killed => interrupted,
            WakeReason.Timeout => -Errno.ETIMEDOUT,
            _ => 0,
        };
    }

    /// <summary>ipcperms: the owner's, group's or others' bits of the mode; CAP_IPC_OWNER overrides.</summary>
    public static bool Permitted(Task t, KernIpcPerm p, int flag)
    {
        var c = t.Group.Creds;
        int requested = (flag >> 6) | (flag >> 3) | flag;
        int granted = p.Mode;
        if (c.Euid == p.Cuid || c.Euid == p.Uid) granted >>= 6;
        else if (InGroup(c, p.Cgid) || InGroup(c, p.Gid)) granted >>= 3;
        return (requested & ~granted & 7) == 0 || (c.CapEff & (1UL << 15)) != 0;
    }

    static bool InGroup(Creds c, uint g) => c.Egid == g || Array.IndexOf(c.Groups, g) >= 0;

    /// <summary>Owner or creator, or CAP_SYS_ADMIN (ipcctl_obtain_check for IPC_SET and IPC_RMID).</summary>
    public static bool IsOwner(Task t, KernIpcPerm p)
    {
        var c = t.Group.Creds;
        return c.Euid == p.Cuid || c.Euid == p.Uid || (c.CapEff & (1UL << 21)) != 0;
    }

    public static void InitPerm(Task t, KernIpcPerm p, int key, int flg)
    {
        var c = t.Group.Creds;
        p.Key = key; p.Mode = flg & 0x1FF; p.Uid = p.Cuid = c.Euid; p.Gid = p.Cgid = c.Egid;
    }

    /// <summary>ipcget: IPC_PRIVATE always makes a new object; otherwise find the key (IPC_CREAT makes it,
    /// IPC_EXCL refuses an existing one), then the type's more_checks and the permission check.</summary>
    public int Get<T>(Task t, IpcIds<T> ids, int key, int flg, Func<int> create, Func<T, int> moreChecks) where T : IpcObject
    {
        lock (Lock)
        {
            if (key == IPC_PRIVATE) return create();
            var o = ids.FindKey(key);
            if (o == null) return (flg & IPC_CREAT) == 0 ? -Errno.ENOENT : create();
            if ((flg & IPC_CREAT) != 0 && (flg & IPC_EXCL) != 0) return -Errno.EEXIST;
            int r = moreChecks(o);
            if (r != 0) return r;
            if (!Permitted(t, o.Perm, flg)) return -Errno.EACCES;
            return o.Perm.Id;
        }
    }

    /// <summary>to_compat_ipc64_perm (36 bytes) or to_compat_ipc_perm (16 bytes, 16-bit ids).</summary>
    public static void PutPerm(Span<byte> b, KernIpcPerm p, bool v64)
    {
        if (v64)
        {
            U.W32(b, 0, p.Key); U.W32(b, 4, p.Uid); U.W32(b, 8, p.Gid); U.W32(b, 12, p.Cuid); U.W32(b, 16, p.Cgid);
            U.W16(b, 20, (ushort)p.Mode); U.W16(b, 24, p.Seq);
        }
        else
        {
            U.W32(b, 0, p.Key); U.W16(b, 4, High(p.Uid)); U.W16(b, 6, High(p.Gid)); U.W16(b, 8, High(p.Cuid));
            U.W16(b, 10, High(p.Cgid)); U.W16(b, 12, (ushort)p.Mode); U.W16(b, 14, p.Seq);
        }
    }

    /// <summary>SET_UID: ids above 16 bits show as the overflow id.</summary>
    static ushort High(uint id) => id > 0xFFFF ? (ushort)65534 : (ushort)id;

    /// <summary>get_compat_ipc64_perm / get_compat_ipc_perm: the uid, gid and mode IPC_SET takes.</summary>
    public static (uint uid, uint gid, int mode) GetPerm(ReadOnlySpan<byte> b, bool v64) =>
        v64 ? (U.R32(b, 4), U.R32(b, 8), U.R16(b, 20)) : (U.R16(b, 4), U.R16(b, 6), U.R16(b, 12));

    /// <summary>ipc_update_perm for IPC_SET.</summary>
    public static void SetPerm(KernIpcPerm p, (uint uid, uint gid, int mode) v)
    {
        p.Uid = v.uid; p.Gid = v.gid; p.Mode = (p.Mode & ~0x1FF) | (v.mode & 0x1FF);
    }
}
