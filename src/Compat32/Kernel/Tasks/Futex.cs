using System.Diagnostics;

namespace Compat32.Kernel;

/// <summary>
/// Fast user-space mutexes (kernel/futex/: core.c, waitwake.c, requeue.c). Waiters queue on hashed buckets keyed
/// by (address space, address) for private futexes and by (backing object, offset) for shared ones, so a futex
/// in MAP_SHARED memory works across processes. Each bucket's lock guards its queue and every Waiter on it;
/// the value check of a wait happens under that lock, as futex_wait_setup does, so no wake-up is lost.
/// PI futexes (pi.c, requeue.c) keep their state (PiState) under the lock of the bucket their key hashes to.
/// Lock order: bucket locks (two in address order of double_lock_hb), then TaskSet.Lock, then a task's SigState.Lock.
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

    /// <summary>struct futex_q. Key, Bitset, Bucket, PiState, RtWaiter and Requeue change only under the
    /// bucket lock (requeue moves them).</summary>
    sealed class Waiter
    {
        public readonly Task Task;
        public Key Key;
        public uint Bitset;
        public Bucket Bucket;
        /// <summary>Set (under the bucket lock) by the waker that removed this waiter from its queue.</summary>
        public volatile bool Woken;
        /// <summary>q->pi_state: the PI state this waiter refers to (LOCK_PI, or requeued by CMP_REQUEUE_PI).</summary>
        public PiState? PiState;
        /// <summary>q->rt_waiter != NULL: a LOCK_PI waiter or a FUTEX_WAIT_REQUEUE_PI waiter not yet woken.</summary>
        public bool RtWaiter;
        /// <summary>q->requeue_pi_key: the uaddr2 a FUTEX_WAIT_REQUEUE_PI waiter named.</summary>
        public Key? RequeuePiKey;
        /// <summary>q->requeue_state: None, Done (now an rt_mutex waiter on uaddr2) or Locked (got uaddr2).</summary>
        public volatile RequeueState Requeue;
        /// <summary>This waiter was made the rt_mutex owner (the lock was handed to it). Set under the bucket lock.</summary>
        public volatile bool Acquired;
        /// <summary>() => Woken, made once per waiter (Block's condition; no allocation per wait).</summary>
        public readonly Func<bool> IsWoken;
        public Waiter(Task t, Key key, uint bitset, Bucket b) { Task = t; Key = key; Bitset = bitset; Bucket = b; IsWoken = () => Woken; }

        /// <summary>The task's own waiter for a plain futex_wait, reset for this wait (the previous one left every
        /// queue before its Wait returned, so only this task refers to it).</summary>
        public static Waiter For(Task t, Key key, uint bitset, Bucket b)
        {
            if (t.FutexWaiter is not Waiter w) return (Waiter)(t.FutexWaiter = new Waiter(t, key, bitset, b));
            w.Key = key; w.Bitset = bitset; w.Bucket = b; w.Woken = false; w.PiState = null; w.RtWaiter = false;
            w.RequeuePiKey = null; w.Requeue = RequeueState.None; w.Acquired = false;
            return w;
        }
    }

    enum RequeueState { None, Done, Locked }

    /// <summary>
    /// struct futex_pi_state with its rt_mutex. Owner is pi_state->owner; MutexOwner and Waiters model the
    /// rt_mutex (owner and FIFO wait list: every guest task has the same priority, and host threads cannot be
    /// boosted, so priority inheritance itself is not modelled, only the ownership protocol). A PiState lives
    /// while queued waiters refer to it (the kernel's refcount); all its fields are guarded by the lock of the
    /// bucket its Key hashes to.
    /// </summary>
    sealed class PiState
    {
        public readonly Key Key;
        public Task? Owner, MutexOwner;
        public readonly List<Waiter> Waiters = new();
        public PiState(Key key, Task? owner) { Key = key; Owner = owner; MutexOwner = owner; }
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
            w = Waiter.For(t, key, bitset, b);
            b.Queue.Add(w);
        }
        var why = t.Block(w.IsWoken, deadline);
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
        // futex_wake tests "++ret >= nr_wake" after waking: a count of 0 (or less) still wakes one waiter (the
        // ldt_gdt selftest wakes with 0).
        return WakeKey(key, Math.Max(n, 1), bitset);
    }

    int WakeKey(in Key key, int n, uint bitset)
    {
        if (n <= 0) return 0;
        var b = BucketOf(key);
        Task? first = null; // the common single wake allocates nothing
        List<Task>? more = null;
        int r = 0, count = 0;
        lock (b)
        {
            for (int i = 0; i < b.Queue.Count && count < n; i++)
            {
                var w = b.Queue[i];
                if (!w.Key.Equals(key)) continue;
                if (w.PiState != null || w.RtWaiter) { r = -Errno.EINVAL; break; } // a PI waiter: not ours to wake
                if ((w.Bitset & bitset) == 0) continue;
                b.Queue.RemoveAt(i--);
                w.Woken = true;
                if (count++ == 0) first = w.Task; else (more ??= new()).Add(w.Task);
            }
        }
        first?.Wake();
        if (more != null) foreach (var t in more) t.Wake();
        return r < 0 ? r : count;
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
                if (w.RtWaiter || w.PiState != null) { r = -Errno.EINVAL; break; }
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
        return r < 0 ? r : woken.Count + moved;
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
        t.Mem.PrepareWrite(uaddr2, 4);
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
        if (n < 0 || !pass) return n;
        int n2 = WakeKey(k2, nrWake2, FUTEX_BITSET_MATCH_ANY);
        return n2 < 0 ? n2 : n + n2;
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

    // ---- PI futexes (kernel/futex/pi.c, requeue.c). Priority inheritance proper (boosting the owner) cannot be
    // done to host threads; what is modelled is the ownership protocol on the user word and the hand-over order.

    const int FUTEX_STATE_OK = 0, FUTEX_STATE_EXITING = 1, FUTEX_STATE_DEAD = 2;

    /// <summary>task->futex_state.</summary>
    sealed class ExitState { public volatile int State; }

    /// <summary>futex_state per task (thread-safe table). The exiting task writes EXITING before it releases its
    /// PI states (taking every bucket lock) and DEAD after; attach_to_pi_owner reads it under a bucket lock.</summary>
    readonly System.Runtime.CompilerServices.ConditionalWeakTable<Task, ExitState> exitStates = new();

    int FutexState(Task p) => exitStates.TryGetValue(p, out var s) ? s.State : FUTEX_STATE_OK;

    /// <summary>futex_top_waiter. Caller holds b's lock.</summary>
    static Waiter? TopWaiter(Bucket b, in Key key)
    {
        foreach (var w in b.Queue) if (w.Key.Equals(key)) return w;
        return null;
    }

    /// <summary>futex_cmpxchg_value_locked: 0 or -EFAULT (not writable); cur gets the value found.</summary>
    static int CmpXchg(Task t, uint uaddr, uint old, uint nv, out uint cur)
    {
        cur = 0;
        if ((uaddr & 3) != 0 || !t.Mem.CanWrite(uaddr, 4)) return -Errno.EFAULT;
        t.Mem.PrepareWrite(uaddr, 4);
        cur = (uint)Interlocked.CompareExchange(ref *(int*)t.Mem.Ptr(uaddr), (int)nv, (int)old);
        if (cur == old) t.Mem.NoteWrite(uaddr, 4);
        return 0;
    }

    /// <summary>lock_pi_update_atomic.</summary>
    static int LockPiUpdateAtomic(Task t, uint uaddr, uint uval, uint nv)
    {
        int r = CmpXchg(t, uaddr, uval, nv, out uint cur);
        return r < 0 ? r : cur != uval ? -Errno.EAGAIN : 0;
    }

    /// <summary>attach_to_pi_state: the word must agree with the existing PI state's owner.</summary>
    static int AttachToPiState(Task t, uint uaddr, uint uval, PiState? ps)
    {
        if (ps == null) return -Errno.EINVAL;
        if (ReadWord(t, uaddr, out uint uval2) < 0) return -Errno.EFAULT;
        if (uval != uval2) return -Errno.EAGAIN;
        uint pid = uval & FUTEX_TID_MASK;
        if ((uval & FUTEX_OWNER_DIED) != 0)
        {
            if (ps.Owner == null) return pid != 0 ? -Errno.EINVAL : 0;
            if (pid == 0) return 0;
        }
        else if (ps.Owner == null) return -Errno.EINVAL;
        return pid != (uint)ps.Owner.Tid ? -Errno.EINVAL : 0;
    }

    /// <summary>handle_exit_race: -EBUSY while the owner is still exiting, -EAGAIN if the word changed, else -ESRCH.</summary>
    int HandleExitRace(Task t, uint uaddr, uint uval, Task? owner)
    {
        if (owner != null && FutexState(owner) != FUTEX_STATE_DEAD) return -Errno.EBUSY;
        if (ReadWord(t, uaddr, out uint uval2) < 0) return -Errno.EFAULT;
        return uval2 != uval ? -Errno.EAGAIN : -Errno.ESRCH;
    }

    /// <summary>attach_to_pi_owner: a new PI state owned by the task the word names (-ESRCH if none).</summary>
    int AttachToPiOwner(Task t, uint uaddr, uint uval, in Key key, out PiState? ps, out Task? exiting)
    {
        ps = null; exiting = null;
        uint pid = uval & FUTEX_TID_MASK;
        if (pid == 0) return -Errno.EAGAIN;
        var p = k.TaskSet.FindTask((int)pid); // lock order: bucket lock, then TaskSet.Lock
        if (p == null) return HandleExitRace(t, uaddr, uval, null);
        if (FutexState(p) != FUTEX_STATE_OK)
        {
            int r = HandleExitRace(t, uaddr, uval, p);
            if (r == -Errno.EBUSY) exiting = p;
            return r;
        }
        ps = new PiState(key, p);
        return 0;
    }

    /// <summary>futex_lock_pi_atomic: 1 if task took the lock, 0 if it must wait (ps is the state to wait on),
    /// or an error. t's address space holds the word; task is the would-be owner. Caller holds b's lock.</summary>
    int LockPiAtomic(Task t, uint uaddr, Bucket b, in Key key, Task task, bool setWaiters, out PiState? ps, out Task? exiting)
    {
        ps = null; exiting = null;
        if (ReadWord(t, uaddr, out uint uval) < 0) return -Errno.EFAULT;
        uint vpid = (uint)task.Tid;
        if ((uval & FUTEX_TID_MASK) == vpid) return -Errno.EDEADLK;
        var top = TopWaiter(b, key);
        if (top != null)
        {
            int ra = AttachToPiState(t, uaddr, uval, top.PiState);
            if (ra == 0) ps = top.PiState;
            return ra;
        }
        int r;
        if ((uval & FUTEX_TID_MASK) == 0)
        {
            // No owner: take it, keeping OWNER_DIED.
            uint nv = (uval & FUTEX_OWNER_DIED) | vpid | (setWaiters ? FUTEX_WAITERS : 0);
            r = LockPiUpdateAtomic(t, uaddr, uval, nv);
            if (r < 0) return r;
            if (setWaiters) ps = new PiState(key, task);
            return 1;
        }
        r = LockPiUpdateAtomic(t, uaddr, uval, uval | FUTEX_WAITERS);
        if (r < 0) return r;
        return AttachToPiOwner(t, uaddr, uval | FUTEX_WAITERS, key, out ps, out exiting);
    }

    /// <summary>wait_for_owner_exiting: until the owner's futex exit is done.</summary>
    void WaitForOwnerExiting(Task? exiting)
    {
        if (exiting == null) { Thread.Yield(); return; }
        for (int i = 0; i < 10_000 && FutexState(exiting) == FUTEX_STATE_EXITING; i++) Thread.Sleep(1);
    }

    /// <summary>rt_mutex_futex_unlock: the rt_mutex goes to its first waiter (FIFO: no priorities here), who
    /// is woken by the caller after the bucket lock is dropped. Caller holds the bucket lock.</summary>
    static void RtMutexUnlock(PiState ps, List<Task> wake)
    {
        if (ps.Waiters.Count == 0) { ps.MutexOwner = null; return; }
        var nw = ps.Waiters[0];
        ps.Waiters.RemoveAt(0);
        ps.MutexOwner = nw.Task;
        nw.Acquired = true;
        wake.Add(nw.Task);
    }

    /// <summary>__fixup_pi_state_owner: make the word and pi_state->owner name newOwner; OWNER_DIED is kept,
    /// and set when the old owner died (pi_state->owner NULL). 1 if newOwner is t, 0 if not, or -EFAULT.</summary>
    static int FixupPiStateOwner(Task t, uint uaddr, PiState ps, Task newOwner)
    {
        uint newtid = (uint)newOwner.Tid | FUTEX_WAITERS;
        if (ps.Owner == null) newtid |= FUTEX_OWNER_DIED;
        if (ReadWord(t, uaddr, out uint uval) < 0) { ps.Owner = ps.MutexOwner; return -Errno.EFAULT; }
        for (int n = 0; ; n++)
        {
            uint nv = (uval & FUTEX_OWNER_DIED) | newtid;
            if (CmpXchg(t, uaddr, uval, nv, out uint cur) < 0 || n > 1_000_000) { ps.Owner = ps.MutexOwner; return -Errno.EFAULT; }
            if (cur == uval) break;
            uval = cur;
        }
        ps.Owner = newOwner;
        return newOwner == t ? 1 : 0;
    }

    /// <summary>fixup_pi_owner: after a PI wait, make pi_state->owner and the word agree with who holds the
    /// rt_mutex. Caller holds the bucket lock.</summary>
    static int FixupPiOwner(Task t, uint uaddr, Waiter w, bool locked)
    {
        var ps = w.PiState!;
        if (locked) return ps.Owner != t ? FixupPiStateOwner(t, uaddr, ps, t) : 1;
        if (ps.Owner == t)
        {
            if (ps.MutexOwner == null) { ps.MutexOwner = t; return 1; } // __rt_mutex_futex_trylock
            return FixupPiStateOwner(t, uaddr, ps, ps.MutexOwner);
        }
        if (ps.MutexOwner == t) return FixupPiStateOwner(t, uaddr, ps, t);
        return 0;
    }

    /// <summary>futex_lock_pi (FUTEX_LOCK_PI, FUTEX_LOCK_PI2, FUTEX_TRYLOCK_PI): take the lock or sleep on its
    /// PI state until the owner hands it over, the absolute deadline passes (-ETIMEDOUT) or a signal comes
    /// (-ERESTARTNOINTR: the call is always restarted).</summary>
    public int LockPi(Task t, uint uaddr, bool priv, long deadline, bool trylock)
    {
        while (true)
        {
            int r = GetKey(t, uaddr, priv, out var key);
            if (r < 0) return r;
            var b = BucketOf(key);
            Waiter w;
            PiState ps;
            Task? exiting;
            lock (b)
            {
                r = LockPiAtomic(t, uaddr, b, key, t, setWaiters: false, out var got, out exiting);
                if (r == 1) return 0;
                if (r < 0 && r != -Errno.EAGAIN && r != -Errno.EBUSY) return r;
                if (r == 0)
                {
                    ps = got!;
                    w = new Waiter(t, key, FUTEX_BITSET_MATCH_ANY, b) { PiState = ps, RtWaiter = true };
                    b.Queue.Add(w); // __futex_queue
                    if (trylock)
                    {
                        // rt_mutex_futex_trylock: only a free rt_mutex (its owner died with nobody waiting).
                        bool ok = ps.MutexOwner == null && ps.Waiters.Count == 0;
                        if (ok) ps.MutexOwner = t;
                        r = ok ? 0 : -Errno.EWOULDBLOCK;
                        int res = FixupPiOwner(t, uaddr, w, ok);
                        if (res != 0) r = res < 0 ? res : 0;
                        b.Queue.Remove(w); // futex_unqueue_pi
                        return r;
                    }
                    // __rt_mutex_start_proxy_lock
                    if (ps.MutexOwner == t) { b.Queue.Remove(w); return -Errno.EDEADLK; }
                    if (ps.MutexOwner == null) { ps.MutexOwner = t; w.Acquired = true; }
                    else ps.Waiters.Add(w);
                    goto queued;
                }
            }
            if (t.Exited) return -Errno.EINTR; // a guest flipping the word must not keep a dying task here
            WaitForOwnerExiting(exiting); // -EAGAIN / -EBUSY: retry
            continue;

        queued:
            var why = t.Block(() => w.Acquired, deadline);
            lock (b) // a LOCK_PI waiter never changes bucket
            {
                int ret = 0;
                if (!w.Acquired)
                {
                    ps.Waiters.Remove(w); // rt_mutex_cleanup_proxy_lock
                    ret = why == WakeReason.Timeout ? -Errno.ETIMEDOUT : -Errno.EINTR;
                }
                int res = FixupPiOwner(t, uaddr, w, ret == 0);
                if (res != 0) ret = res < 0 ? res : 0;
                b.Queue.Remove(w);
                return ret == -Errno.EINTR ? -Errno.ERESTARTNOINTR : ret;
            }
        }
    }

    /// <summary>futex_unlock_pi: the owner hands the lock to the first waiter (word = its tid | WAITERS,
    /// wake_futex_pi) or, with nobody waiting, sets it to 0. -EPERM unless the word names the caller.</summary>
    public int UnlockPi(Task t, uint uaddr, bool priv)
    {
        for (int tries = 0; ; tries++)
        {
            if (tries > 0) { if (t.Exited) return -Errno.EINTR; Thread.Yield(); }
            if (ReadWord(t, uaddr, out uint uval) < 0) return -Errno.EFAULT;
            if ((uval & FUTEX_TID_MASK) != (uint)t.Tid) return -Errno.EPERM;
            int r = GetKey(t, uaddr, priv, out var key);
            if (r < 0) return r;
            var b = BucketOf(key);
            var wake = new List<Task>();
            lock (b)
            {
                var top = TopWaiter(b, key);
                if (top != null)
                {
                    var ps = top.PiState;
                    if (ps == null || ps.Owner != t) return -Errno.EINVAL;
                    // wake_futex_pi
                    if (ps.Waiters.Count == 0) continue; // -EAGAIN: retry
                    var nw = ps.Waiters[0];
                    uint nv = FUTEX_WAITERS | (uint)nw.Task.Tid;
                    r = CmpXchg(t, uaddr, uval, nv, out uint cur);
                    if (r < 0) return r;
                    if (cur != uval)
                    {
                        if ((cur & FUTEX_TID_MASK) == uval) continue;
                        return -Errno.EINVAL;
                    }
                    ps.Owner = nw.Task; // pi_state_update_owner
                    RtMutexUnlock(ps, wake);
                }
                else
                {
                    r = CmpXchg(t, uaddr, uval, 0, out uint cur);
                    if (r < 0) return r;
                    if (cur != uval) return -Errno.EAGAIN;
                }
            }
            foreach (var x in wake) x.Wake();
            return 0;
        }
    }

    /// <summary>requeue_pi_wake_futex: the waiter got uaddr2 during the requeue; it leaves the queue and is
    /// woken (by the caller) owning the lock. Caller holds both bucket locks.</summary>
    static void RequeuePiWakeFutex(Waiter w, in Key key2, Bucket b2)
    {
        w.Key = key2;
        w.Bucket.Queue.Remove(w);
        w.RtWaiter = false;
        w.Bucket = b2;
        w.Requeue = RequeueState.Locked;
    }

    /// <summary>futex_wait_requeue_pi: wait on uaddr (a condition) to be requeued to the PI lock uaddr2 by
    /// FUTEX_CMP_REQUEUE_PI and return owning it. Early wake-ups: -ETIMEDOUT, -ERESTARTNOINTR (signal); a signal
    /// after the requeue gives -EWOULDBLOCK.</summary>
    public int WaitRequeuePi(Task t, uint uaddr, bool priv, uint val, long deadline, uint uaddr2)
    {
        if (uaddr == uaddr2) return -Errno.EINVAL;
        int r = GetKey(t, uaddr2, priv, out var key2);
        if (r < 0) return r;
        r = GetKey(t, uaddr, priv, out var key);
        if (r < 0) return r;
        var b = BucketOf(key);
        Waiter w;
        lock (b)
        {
            // futex_wait_setup
            r = ReadWord(t, uaddr, out uint cur);
            if (r < 0) return r;
            if (cur != val) return -Errno.EAGAIN;
            if (key.Equals(key2)) return -Errno.EINVAL;
            w = new Waiter(t, key, FUTEX_BITSET_MATCH_ANY, b) { RtWaiter = true, RequeuePiKey = key2 };
            b.Queue.Add(w);
        }
        var why = t.Block(() => w.Acquired || w.Requeue == RequeueState.Locked, deadline);
        while (true)
        {
            var bb = w.Bucket;
            lock (bb)
            {
                if (w.Bucket != bb) continue; // requeued meanwhile: follow it
                switch (w.Requeue)
                {
                    case RequeueState.None: // handle_early_requeue_pi_wakeup
                        bb.Queue.Remove(w);
                        return why switch
                        {
                            WakeReason.Timeout => -Errno.ETIMEDOUT,
                            WakeReason.Signal => -Errno.ERESTARTNOINTR,
                            WakeReason.Killed => -Errno.EINTR,
                            _ => -Errno.EWOULDBLOCK,
                        };
                    case RequeueState.Locked:
                        if (w.PiState != null && w.PiState.Owner != t)
                        {
                            int res = FixupPiOwner(t, uaddr2, w, true);
                            return res < 0 ? res : 0;
                        }
                        return 0;
                    default: // Done: an rt_mutex waiter on uaddr2
                    {
                        int ret = 0;
                        if (!w.Acquired)
                        {
                            w.PiState!.Waiters.Remove(w); // rt_mutex_cleanup_proxy_lock
                            ret = why == WakeReason.Timeout ? -Errno.ETIMEDOUT : -Errno.EINTR;
                        }
                        int res = FixupPiOwner(t, uaddr2, w, ret == 0);
                        if (res != 0) ret = res < 0 ? res : 0;
                        bb.Queue.Remove(w); // futex_unqueue_pi
                        return ret == -Errno.EINTR ? -Errno.EWOULDBLOCK : ret;
                    }
                }
            }
        }
    }

    /// <summary>futex_proxy_trylock_atomic: try to give uaddr2 to the top FUTEX_WAIT_REQUEUE_PI waiter of
    /// uaddr1. 1 if it got the lock (then it is woken), 0 if none or it must wait, or an error. Caller holds
    /// both bucket locks.</summary>
    int ProxyTrylockAtomic(Task t, uint uaddr2, Bucket b1, Bucket b2, in Key k1, in Key k2, bool setWaiters,
        out PiState? ps, out Task? exiting, out Waiter? woken)
    {
        ps = null; exiting = null; woken = null;
        if (ReadWord(t, uaddr2, out _) < 0) return -Errno.EFAULT;
        var top = TopWaiter(b1, k1);
        if (top == null) return 0;
        if (!top.RtWaiter || top.PiState != null) return -Errno.EINVAL;
        if (!top.RequeuePiKey.Equals(k2)) return -Errno.EINVAL;
        int r = LockPiAtomic(t, uaddr2, b2, k2, top.Task, setWaiters, out ps, out exiting);
        if (r == 1) { RequeuePiWakeFutex(top, k2, b2); woken = top; }
        return r;
    }

    /// <summary>futex_requeue with requeue_pi (FUTEX_CMP_REQUEUE_PI): if *uaddr1 == cmpval, give the PI lock
    /// uaddr2 to the first waiter if it is free, and make up to nrRequeue others wait on it. Returns how many
    /// were woken or requeued; -EINVAL for uaddr1 == uaddr2, nrWake != 1, or a waiter that is not a
    /// FUTEX_WAIT_REQUEUE_PI waiter for this uaddr2.</summary>
    public int RequeuePi(Task t, uint uaddr1, uint uaddr2, bool priv, int nrWake, int nrRequeue, uint cmpval)
    {
        if (nrWake < 0 || nrRequeue < 0) return -Errno.EINVAL;
        if (uaddr1 == uaddr2 || nrWake != 1) return -Errno.EINVAL;
        while (true)
        {
            int r = GetKey(t, uaddr1, priv, out var k1);
            if (r < 0) return r;
            r = GetKey(t, uaddr2, priv, out var k2);
            if (r < 0) return r;
            if (k1.Equals(k2)) return -Errno.EINVAL;
            var b1 = BucketOf(k1); var b2 = BucketOf(k2);
            var first = System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(b1) <= System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(b2) ? b1 : b2;
            var second = first == b1 ? b2 : b1;
            var wake = new List<Task>();
            int taskCount = 0;
            Task? exiting;
            lock (first)
            lock (second)
            {
                r = ReadWord(t, uaddr1, out uint cur);
                if (r < 0) return r;
                if (cur != cmpval) return -Errno.EAGAIN;
                r = ProxyTrylockAtomic(t, uaddr2, b1, b2, k1, k2, nrRequeue > 0, out var ps, out exiting, out var top);
                if (r == 1) { taskCount++; r = 0; wake.Add(top!.Task); }
                if (r == 0)
                {
                    for (int i = 0; i < b1.Queue.Count; i++)
                    {
                        if (taskCount - nrWake >= nrRequeue) break;
                        var w = b1.Queue[i];
                        if (!w.Key.Equals(k1)) continue;
                        if (!w.RtWaiter || w.PiState != null || !w.RequeuePiKey.Equals(k2)) { r = -Errno.EINVAL; break; }
                        if (ps == null) break;
                        // rt_mutex_start_proxy_lock on the waiter's behalf
                        if (ps.MutexOwner == w.Task) { r = -Errno.EDEADLK; break; }
                        w.PiState = ps;
                        taskCount++;
                        if (ps.MutexOwner == null)
                        {
                            ps.MutexOwner = w.Task;
                            RequeuePiWakeFutex(w, k2, b2);
                            i--;
                            wake.Add(w.Task);
                            continue;
                        }
                        // requeue_futex: now an rt_mutex waiter on uaddr2, still asleep
                        ps.Waiters.Add(w);
                        w.Key = k2;
                        w.Requeue = RequeueState.Done;
                        if (b1 != b2) { b1.Queue.RemoveAt(i--); w.Bucket = b2; b2.Queue.Add(w); }
                    }
                }
            }
            foreach (var x in wake) x.Wake();
            if ((r == -Errno.EAGAIN || r == -Errno.EBUSY) && !t.Exited) { WaitForOwnerExiting(exiting); continue; }
            return r < 0 ? r : taskCount;
        }
    }

    /// <summary>exit_pi_state_list: every PI lock the dying task owns loses its owner (a waiter taking it
    /// over gets OWNER_DIED in the word) and goes to its first waiter.</summary>
    void ExitPiStateList(Task t)
    {
        foreach (var b in buckets)
        {
            var wake = new List<Task>();
            lock (b)
            {
                foreach (var w in b.Queue)
                {
                    var ps = w.PiState;
                    if (ps == null || ps.Owner != t) continue;
                    ps.Owner = null;
                    if (ps.MutexOwner == t) RtMutexUnlock(ps, wake);
                }
            }
            foreach (var x in wake) x.Wake();
        }
    }

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

    /// <summary>futex_exit_release / futex_cleanup at thread exit: the robust list, then the PI locks still
    /// held (exit_pi_state_list), with futex_state EXITING meanwhile and DEAD after.</summary>
    public void ExitRobustList(Task t) => Cleanup(t, FUTEX_STATE_DEAD);

    /// <summary>futex_exec_release: the same cleanup for a task that execs, in its old address space; it goes on
    /// living, so its futex state returns to OK.</summary>
    public void ExecRelease(Task t) => Cleanup(t, FUTEX_STATE_OK);

    void Cleanup(Task t, int after)
    {
        var st = exitStates.GetValue(t, _ => new ExitState());
        st.State = FUTEX_STATE_EXITING;
        try { WalkRobustList(t); }
        finally
        {
            ExitPiStateList(t);
            st.State = after;
        }
    }

    /// <summary>exit_robust_list (kernel/futex/core.c) for a compat task: struct compat_robust_list_head
    /// { u32 list.next; s32 futex_offset; u32 list_op_pending }. Each held lock gets FUTEX_OWNER_DIED and one waiter
    /// is woken; at most ROBUST_LIST_LIMIT entries are walked, so a circular list cannot hang us.</summary>
    void WalkRobustList(Task t)
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
    /// wake a waiter (PI waiters are handed the lock by exit_pi_state_list instead). A pending op on an unowned
    /// non-PI word wakes a waiter too (it may have missed the unlock).</summary>
    void HandleFutexDeath(Task t, uint uaddr, bool pi, bool pendingOp)
    {
        if ((uaddr & 3) != 0 || !t.Mem.CanWrite(uaddr, 4)) return;
        t.Mem.PrepareWrite(uaddr, 4);
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
            return;
        }
    }
}
