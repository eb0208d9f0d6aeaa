using System.Diagnostics;

namespace Compat32.Kernel;

/// <summary>
/// Fast user-space mutexes (kernel/futex/: core.c, waitwake.c, requeue.c). Waiters queue on hashed buckets keyed
/// by (address space, address) for private futexes and by (backing object, offset) for shared ones, so a futex
/// in MAP_SHARED memory works across processes. Each bucket's lock guards its queue and every Waiter on it;
/// the value check of a wait happens under that lock, as futex_wait_setup does, so no wake-up is lost.
/// </summary>
public sealed unsafe class Futex
{
    public const int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_FD = 2, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4,
        FUTEX_WAKE_OP = 5, FUTEX_LOCK_PI = 6, FUTEX_UNLOCK_PI = 7, FUTEX_TRYLOCK_PI = 8, FUTEX_WAIT_BITSET = 9,
        FUTEX_WAKE_BITSET = 10, FUTEX_WAIT_REQUEUE_PI = 11, FUTEX_CMP_REQUEUE_PI = 12, FUTEX_LOCK_PI2 = 13;
    public const int FUTEX_PRIVATE_FLAG = 128, FUTEX_CLOCK_REALTIME = 256, FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    public const uint FUTEX_BITSET_MATCH_ANY = 0xFFFFFFFF;
    public const uint FUTEX_WAITERS = 0x80000000, FUTEX_OWNER_DIED = 0x40000000, FUTEX_TID_MASK = 0x3FFFFFFF;

    readonly KernelModel k;
    const int NBuckets = 256;
    readonly Bucket[] buckets = new Bucket[NBuckets];

    public Futex(KernelModel k)
    {
        this.k = k;
        for (int i = 0; i < buckets.Length; i++) buckets[i] = new Bucket();
    }

    /// <summary>union futex_key: what a futex word is, independent of where a process maps it.</summary>
    public readonly record struct Key(object Owner, ulong Offset);

    sealed class Bucket
    {
        /// <summary>Waiters in FIFO order (futex_q on hb->chain). Guarded by lock(this).</summary>
        public readonly List<Waiter> Queue = new();
    }

    /// <summary>struct futex_q. Key, Bitset and Bucket change only under the bucket lock (requeue moves them).</summary>
    sealed class Waiter
    {
        public readonly Task Task;
        public Key Key;
        public uint Bitset;
        public Bucket Bucket;
        /// <summary>Set (under the bucket lock) by the waker that removed this waiter from its queue.</summary>
        public volatile bool Woken;
        public Waiter(Task t, Key key, uint bitset, Bucket b) { Task = t; Key = key; Bitset = bitset; Bucket = b; }
    }

    Bucket BucketOf(in Key key) =>
        buckets[(int)((uint)(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Owner) * 31 + key.Offset.GetHashCode()) % NBuckets)];

    /// <summary>get_futex_key: the word must be 4-aligned; a shared futex in shared memory is keyed by what backs
    /// it, everything else by the address space.</summary>
    public int GetKey(Task t, uint uaddr, bool priv, out Key key)
    {
        key = default;
        if ((uaddr & 3) != 0) return -Errno.EINVAL;
        if (!priv && t.Mem.SharedKey(uaddr, out var owner, out ulong off)) { key = new Key(owner, off); return 0; }
        key = new Key(t.Mem, uaddr);
        return 0;
    }

    /// <summary>get_futex_value_locked: the current value, or -EFAULT.</summary>
    static int ReadWord(Task t, uint uaddr, out uint v) => t.Mem.ReadU32(uaddr, out v) ? 0 : -Errno.EFAULT;

    /// <summary>futex_wait: sleep while *uaddr == val, until woken (with a matching bitset), a signal, or the
    /// deadline (Stopwatch ticks; long.MaxValue: none).</summary>
    public int Wait(Task t, uint uaddr, bool priv, uint val, uint bitset, long deadline)
    {
        if (bitset == 0) return -Errno.EINVAL;
        int r = GetKey(t, uaddr, priv, out var key);
        if (r < 0) return r;
        var b = BucketOf(key);
        Waiter w;
        lock (b)
        {
            r = ReadWord(t, uaddr, out uint cur);
            if (r < 0) return r;
            if (cur != val) return -Errno.EAGAIN;
            w = new Waiter(t, key, bitset, b);
            b.Queue.Add(w);
        }
        var why = t.Block(() => w.Woken, deadline);
        if (Unqueue(w)) return 0; // woken after all, whatever ended the sleep
        return why switch
        {
            WakeReason.Timeout => -Errno.ETIMEDOUT,
            WakeReason.Signal => -Errno.ERESTARTSYS,
            _ => -Errno.EINTR,
        };
    }

    /// <summary>unqueue_me: true if a waker already took w off its queue (it was woken).</summary>
    static bool Unqueue(Waiter w)
    {
        while (true)
        {
            var b = w.Bucket;
            lock (b)
            {
                if (w.Bucket != b) continue; // requeued meanwhile: follow it
                if (w.Woken) return true;
                b.Queue.Remove(w);
                return false;
            }
        }
    }

    /// <summary>futex_wake: wake up to n waiters on uaddr whose bitset intersects bitset.</summary>
    public int Wake(Task t, uint uaddr, bool priv, int n, uint bitset)
    {
        if (bitset == 0) return -Errno.EINVAL;
        int r = GetKey(t, uaddr, priv, out var key);
        if (r < 0) return r;
        return WakeKey(key, n, bitset);
    }

    int WakeKey(in Key key, int n, uint bitset)
    {
        if (n <= 0) return 0;
        var b = BucketOf(key);
        List<Task>? woken = null;
        lock (b)
        {
            for (int i = 0; i < b.Queue.Count && (woken?.Count ?? 0) < n; i++)
            {
                var w = b.Queue[i];
                if (!w.Key.Equals(key) || (w.Bitset & bitset) == 0) continue;
                b.Queue.RemoveAt(i--);
                w.Woken = true;
                (woken ??= new()).Add(w.Task);
            }
        }
        if (woken == null) return 0;
        foreach (var t in woken) t.Wake();
        return woken.Count;
    }

    /// <summary>futex_requeue (non-PI): wake nrWake waiters on uaddr1, move up to nrRequeue of the rest to uaddr2;
    /// with cmp, only if *uaddr1 == cmpval (else -EAGAIN).</summary>
    public int Requeue(Task t, uint uaddr1, uint uaddr2, bool priv, int nrWake, int nrRequeue, uint? cmpval)
    {
        if (nrWake < 0 || nrRequeue < 0) return -Errno.EINVAL;
        int r = GetKey(t, uaddr1, priv, out var k1);
        if (r < 0) return r;
        r = GetKey(t, uaddr2, priv, out var k2);
        if (r < 0) return r;
        var b1 = BucketOf(k1); var b2 = BucketOf(k2);
        // double_lock_hb: a fixed order between two buckets.
        var first = System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(b1) <= System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(b2) ? b1 : b2;
        var second = first == b1 ? b2 : b1;
        var woken = new List<Task>();
        int moved = 0;
        lock (first)
        lock (second)
        {
            if (cmpval is uint cv)
            {
                r = ReadWord(t, uaddr1, out uint cur);
                if (r < 0) return r;
                if (cur != cv) return -Errno.EAGAIN;
            }
            for (int i = 0; i < b1.Queue.Count; i++)
            {
                var w = b1.Queue[i];
                if (!w.Key.Equals(k1)) continue;
                if (woken.Count < nrWake)
                {
                    b1.Queue.RemoveAt(i--);
                    w.Woken = true;
                    woken.Add(w.Task);
                }
                else if (moved < nrRequeue)
                {
                    moved++;
                    w.Key = k2;
                    if (b1 != b2) { b1.Queue.RemoveAt(i--); w.Bucket = b2; b2.Queue.Add(w); }
                }
                else break;
            }
        }
        foreach (var x in woken) x.Wake();
        return woken.Count + moved;
    }

    /// <summary>futex_wake_op: atomically apply the encoded operation to *uaddr2, wake nrWake on uaddr1 and, if
    /// the old value of *uaddr2 passes the encoded comparison, nrWake2 on uaddr2.</summary>
    public int WakeOp(Task t, uint uaddr1, uint uaddr2, bool priv, int nrWake, int nrWake2, uint encoded)
    {
        int r = GetKey(t, uaddr1, priv, out var k1);
        if (r < 0) return r;
        r = GetKey(t, uaddr2, priv, out var k2);
        if (r < 0) return r;
        // arch_futex_atomic_op_inuser: op = (encoded >> 28) & 7, FUTEX_OP_OPARG_SHIFT = 8.
        int op = (int)(encoded >> 28) & 7, cmp = (int)(encoded >> 24) & 15;
        int oparg = (int)(encoded << 8) >> 20, cmparg = (int)(encoded << 20) >> 20;
        if ((encoded & 0x80000000) != 0)
        {
            if ((uint)oparg > 31) return -Errno.EINVAL; // warns once, then masks in 6.1; reject as older kernels did
            oparg = 1 << oparg;
        }
        if (!t.Mem.CanWrite(uaddr2, 4)) return -Errno.EFAULT;
        int* p = (int*)t.Mem.Ptr(uaddr2);
        int old, nv;
        do
        {
            old = Volatile.Read(ref *p);
            nv = op switch
            {
                0 => oparg,          // FUTEX_OP_SET
                1 => old + oparg,    // FUTEX_OP_ADD
                2 => old | oparg,    // FUTEX_OP_OR
                3 => old & ~oparg,   // FUTEX_OP_ANDN
                4 => old ^ oparg,    // FUTEX_OP_XOR
                _ => int.MinValue,
            };
            if (op > 4) return -Errno.ENOSYS;
        } while (Interlocked.CompareExchange(ref *p, nv, old) != old);
        t.Mem.NoteWrite(uaddr2, 4);
        bool pass = cmp switch
        {
            0 => old == cmparg, 1 => old != cmparg, 2 => old < cmparg, 3 => old <= cmparg, 4 => old > cmparg, 5 => old >= cmparg,
            _ => false,
        };
        if (cmp > 5) return -Errno.ENOSYS;
        int n = WakeKey(k1, nrWake, FUTEX_BITSET_MATCH_ANY);
        if (pass) n += WakeKey(k2, nrWake2, FUTEX_BITSET_MATCH_ANY);
        return n;
    }

    /// <summary>Deadline in Stopwatch ticks for a timeout in ns: relative on CLOCK_MONOTONIC, or absolute on
    /// CLOCK_MONOTONIC / CLOCK_REALTIME (FUTEX_WAIT_BITSET); long.MaxValue for none.</summary>
    public static long Deadline(long ns, bool absolute, bool realtime)
    {
        if (ns < 0) return long.MaxValue;
        long nowTicks = Stopwatch.GetTimestamp();
        long rel;
        if (!absolute) rel = ns;
        else if (realtime) rel = ns - (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        else rel = ns - Syscalls.ProcessTimers.Now();
        if (rel <= 0) return nowTicks;
        double ticks = rel * (Stopwatch.Frequency / 1e9);
        return ticks >= long.MaxValue - nowTicks ? long.MaxValue : nowTicks + (long)ticks;
    }

    /// <summary>The commands not handled above (PI futexes, FUTEX_FD): -ENOSYS for now.</summary>
    public int Other(Task t, int cmd, uint uaddr, bool priv, bool realtime, uint val, uint utime, uint uaddr2, uint val3, bool wide)
        => -Errno.ENOSYS;

    // ---- thread exit (mm_release): the robust list and clear_child_tid

    /// <summary>CLONE_CHILD_CLEARTID / set_tid_address: at exit, write 0 to the word and wake one waiter
    /// (pthread_join sleeps on it). Only while other tasks still share the address space.</summary>
    public void ClearChildTid(Task t)
    {
        uint a = t.ClearChildTid;
        t.ClearChildTid = 0;
        if (a == 0) return;
        if (t.Mem.WriteU32(a, 0)) Wake(t, a, priv: false, 1, FUTEX_BITSET_MATCH_ANY);
    }

    /// <summary>exit_robust_list (kernel/futex/core.c) for a compat task: struct compat_robust_list_head
    /// { u32 list.next; s32 futex_offset; u32 list_op_pending }. Each held lock gets FUTEX_OWNER_DIED and one waiter
    /// is woken; at most ROBUST_LIST_LIMIT entries are walked, so a circular list cannot hang us.</summary>
    public void ExitRobustList(Task t)
    {
        uint head = t.RobustList;
        t.RobustList = 0;
        if (head == 0) return;
        var mem = t.Mem;
        if (!mem.ReadU32(head, out uint entry) || !mem.ReadU32(head + 4, out uint offU) || !mem.ReadU32(head + 8, out uint pending)) return;
        int off = (int)offU;
        const int ROBUST_LIST_LIMIT = 2048;
        for (int n = 0; entry != head && n < ROBUST_LIST_LIMIT; n++)
        {
            // fetch_robust_entry: bit 0 marks a PI futex.
            bool pi = (entry & 1) != 0;
            uint e = entry & ~1u;
            if (!mem.ReadU32(e, out uint next)) return;
            if (e != (pending & ~1u)) HandleFutexDeath(t, (uint)(e + off), pi, pendingOp: false);
            entry = next;
        }
        if (pending != 0) HandleFutexDeath(t, (uint)((pending & ~1u) + off), (pending & 1) != 0, pendingOp: true);
    }

    /// <summary>handle_futex_death: if the dying task owns the lock word, set OWNER_DIED (keeping WAITERS) and
    /// wake a waiter. A pending op on an unowned word wakes a waiter too (it may have missed the unlock).</summary>
    void HandleFutexDeath(Task t, uint uaddr, bool pi, bool pendingOp)
    {
        if ((uaddr & 3) != 0 || !t.Mem.CanWrite(uaddr, 4)) return;
        int* p = (int*)t.Mem.Ptr(uaddr);
        while (true)
        {
            uint v = (uint)Volatile.Read(ref *p);
            if (pendingOp && !pi && v == 0) { Wake(t, uaddr, priv: false, 1, FUTEX_BITSET_MATCH_ANY); return; }
            if ((v & FUTEX_TID_MASK) != (uint)t.Tid) return;
            uint nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
            if (Interlocked.CompareExchange(ref *p, (int)nv, (int)v) != (int)v) continue;
            t.Mem.NoteWrite(uaddr, 4);
            if (!pi && (v & FUTEX_WAITERS) != 0) Wake(t, uaddr, priv: false, 1, FUTEX_BITSET_MATCH_ANY);
            else if (pi) Wake(t, uaddr, priv: false, 1, FUTEX_BITSET_MATCH_ANY);
            return;
        }
    }
}
