using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Ipc;

/// <summary>struct msg_queue. Every field is guarded by the namespace's Lock.</summary>
public sealed class MsgQueue : IpcObject
{
    public readonly LinkedList<(int Type, byte[] Text)> Messages = new();
    public long Stime, Rtime;
    public int Lspid, Lrpid;
    public int Cbytes;
    public int Qbytes = Msg.MSGMNB;
}

/// <summary>
/// System V message queues (ipc/msg.c): msgget, msgsnd, msgrcv (with MSG_EXCEPT, MSG_NOERROR and the type
/// rules), msgctl. A compat struct msgbuf is {s32 mtype; char mtext[]}. Blocked senders and receivers sleep
/// until the queue changes (-ERESTARTNOHAND on a signal, -EIDRM when it is removed).
/// </summary>
public static class Msg
{
    public const int MSGMNI = 32000, MSGMAX = 8192, MSGMNB = 16384;
    const int MSG_NOERROR = 0x1000, MSG_EXCEPT = 0x2000, MSG_COPY = 0x4000;
    const int MSG_STAT = 11, MSG_INFO = 12, MSG_STAT_ANY = 13;

    public static int Get(Task t, int key, int flg)
    {
        var ns = IpcNamespace.Of(t);
        return ns.Get(t, ns.Msg, key, flg, () =>
        {
            var q = new MsgQueue();
            IpcNamespace.InitPerm(t, q.Perm, key, flg);
            q.Ctime = IpcNamespace.Now();
            return ns.Msg.Add(q, MSGMNI);
        }, _ => 0);
    }

    /// <summary>do_msgsnd.</summary>
    public static int Snd(Task t, int msqid, uint msgp, int msgsz, int msgflg)
    {
        if (!t.Mem.ReadU32(msgp, out uint mt)) return -Errno.EFAULT; // compat_ksys_msgsnd reads mtype first
        if (msgsz > MSGMAX || msgsz < 0 || msqid < 0) return -Errno.EINVAL;
        int mtype = (int)mt;
        if (mtype < 1) return -Errno.EINVAL;
        var text = new byte[msgsz];
        if (U.Get(t, msgp + 4, text) != 0) return -Errno.EFAULT;
        var ns = IpcNamespace.Of(t);
        return ns.Retry(t, ns.Msg, msqid, 0x92, -Errno.ERESTARTNOHAND, (q, wake) =>
        {
            if (msgsz + q.Cbytes > q.Qbytes || 1 + q.Messages.Count > q.Qbytes)
                return (msgflg & IpcNamespace.IPC_NOWAIT) != 0 ? -Errno.EAGAIN : null;
            q.Messages.AddLast((mtype, text));
            q.Cbytes += msgsz;
            q.Lspid = t.Tgid;
            q.Stime = IpcNamespace.Now();
            IpcNamespace.Changed(q, wake);
            return 0;
        });
    }

    /// <summary>find_msg's rules: 0 the first message; &gt; 0 the first of that type (or, with MSG_EXCEPT, of
    /// another type); &lt; 0 the lowest type not above -msgtyp.</summary>
    static LinkedListNode<(int Type, byte[] Text)>? Find(MsgQueue q, int msgtyp, int flg)
    {
        LinkedListNode<(int, byte[])>? best = null;
        for (var n = q.Messages.First; n != null; n = n.Next)
        {
            int ty = n.Value.Type;
            if (msgtyp == 0) return n;
            if (msgtyp > 0)
            {
                if ((flg & MSG_EXCEPT) != 0 ? ty != msgtyp : ty == msgtyp) return n;
            }
            else if (ty <= -(long)msgtyp && (best == null || ty < best.Value.Item1)) best = n;
        }
        return best;
    }

    /// <summary>do_msgrcv. MSG_COPY (CONFIG_CHECKPOINT_RESTORE, as Debian's kernels have it) copies the message
    /// at index msgtyp without taking it off the queue.</summary>
    public static int Rcv(Task t, int msqid, uint msgp, int bufsz, int msgtyp, int msgflg)
    {
        if (msqid < 0 || bufsz < 0) return -Errno.EINVAL;
        if ((msgflg & MSG_COPY) != 0) return RcvCopy(t, msqid, msgp, bufsz, msgtyp, msgflg);
        var ns = IpcNamespace.Of(t);
        return ns.Retry(t, ns.Msg, msqid, 0x124, -Errno.ERESTARTNOHAND, (q, wake) =>
        {
            var n = Find(q, msgtyp, msgflg);
            if (n == null) return (msgflg & IpcNamespace.IPC_NOWAIT) != 0 ? -Errno.ENOMSG : null;
            var (ty, text) = n.Value;
            if (bufsz < text.Length && (msgflg & MSG_NOERROR) == 0) return -Errno.E2BIG;
            int len = Math.Min(bufsz, text.Length);
            // store_msg: the message leaves the queue before the copy; a fault loses it (-EFAULT).
            q.Messages.Remove(n);
            q.Cbytes -= text.Length;
            q.Lrpid = t.Tgid;
            q.Rtime = IpcNamespace.Now();
            IpcNamespace.Changed(q, wake);
            Span<byte> h = stackalloc byte[4];
            U.W32(h, 0, ty);
            if (U.Put(t, msgp, h) != 0 || U.Put(t, msgp + 4, text.AsSpan(0, len)) != 0) return -Errno.EFAULT;
            return len;
        });
    }

    /// <summary>do_msgrcv with MSG_COPY: only with IPC_NOWAIT and without MSG_EXCEPT; prepare_copy first loads
    /// min(bufsz, msgmax) bytes from the buffer (so an unreadable one fails with EFAULT); find_msg's SEARCH_NUMBER
    /// takes the msgtyp-th message (from 0); copy_msg refuses one longer than that copy (EINVAL, which is what
    /// MSG_NOERROR with a short buffer gets); the queue and its times are left as they were.</summary>
    static int RcvCopy(Task t, int msqid, uint msgp, int bufsz, int msgtyp, int msgflg)
    {
        if ((msgflg & MSG_EXCEPT) != 0 || (msgflg & IpcNamespace.IPC_NOWAIT) == 0) return -Errno.EINVAL;
        int copyLen = Math.Min(bufsz, MSGMAX);
        var probe = new byte[copyLen];
        if (U.Get(t, msgp, probe) != 0) return -Errno.EFAULT;
        var ns = IpcNamespace.Of(t);
        int ty;
        byte[] text;
        lock (ns.Lock)
        {
            var q = ns.Msg.Find(msqid);
            if (q == null) return -Errno.EINVAL;
            if (!IpcNamespace.Permitted(t, q.Perm, 0x124)) return -Errno.EACCES;
            var n = msgtyp < 0 ? null : q.Messages.First;
            for (int i = 0; n != null && i < msgtyp; i++) n = n.Next;
            if (n == null) return -Errno.ENOMSG;
            (ty, text) = n.Value;
            if (bufsz < text.Length && (msgflg & MSG_NOERROR) == 0) return -Errno.E2BIG;
            if (text.Length > copyLen) return -Errno.EINVAL;
        }
        Span<byte> h = stackalloc byte[4];
        U.W32(h, 0, ty);
        if (U.Put(t, msgp, h) != 0 || U.Put(t, msgp + 4, text) != 0) return -Errno.EFAULT;
        return text.Length;
    }

    /// <summary>compat_ksys_msgctl: msqid64_ds (88 bytes) with IPC_64, the old msqid_ds (56) without.</summary>
    public static int Ctl(Task t, int msqid, int cmd, uint buf, bool v64)
    {
        if (msqid < 0 || cmd < 0) return -Errno.EINVAL;
        var ns = IpcNamespace.Of(t);
        int c = cmd & ~IpcNamespace.IPC_64;
        return ns.Locked(wake =>
        {
            switch (c)
            {
                case IpcNamespace.IPC_INFO: case MSG_INFO:
                {
                    // msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql, msgseg (u16)
                    var b = new byte[32];
                    int msgs = 0, bytes = 0;
                    foreach (var kv in ns.Msg.All) { msgs += kv.Value.Messages.Count; bytes += kv.Value.Cbytes; }
                    int[] v = { MSGMNI * MSGMNB / 1024, MSGMNB, MSGMAX, MSGMNB, MSGMNI, 16, MSGMNB };
                    if (c == MSG_INFO) { v[0] = ns.Msg.Count; v[1] = msgs; v[6] = bytes; }
                    for (int i = 0; i < 7; i++) U.W32(b, i * 4, v[i]);
                    U.W16(b, 28, 0xFFFF);
                    if (U.Put(t, buf, b) != 0) return -Errno.EFAULT;
                    return Math.Max(ns.Msg.MaxIdx, 0);
                }
                case IpcNamespace.IPC_STAT: case MSG_STAT: case MSG_STAT_ANY:
                {
                    var q = c == IpcNamespace.IPC_STAT ? ns.Msg.Find(msqid) : ns.Msg.ByIndex(msqid);
                    if (q == null) return -Errno.EINVAL;
                    if (c != MSG_STAT_ANY && !IpcNamespace.Permitted(t, q.Perm, 0x124)) return -Errno.EACCES;
                    var b = new byte[v64 ? 88 : 56];
                    IpcNamespace.PutPerm(b, q.Perm, v64);
                    if (v64)
                    {
                        U.W32(b, 36, (uint)q.Stime); U.W32(b, 40, (uint)(q.Stime >> 32));
                        U.W32(b, 44, (uint)q.Rtime); U.W32(b, 48, (uint)(q.Rtime >> 32));
                        U.W32(b, 52, (uint)q.Ctime); U.W32(b, 56, (uint)(q.Ctime >> 32));
                        U.W32(b, 60, q.Cbytes); U.W32(b, 64, q.Messages.Count); U.W32(b, 68, q.Qbytes);
                        U.W32(b, 72, q.Lspid); U.W32(b, 76, q.Lrpid);
                    }
                    else
                    {
                        U.W32(b, 24, (int)q.Stime); U.W32(b, 28, (int)q.Rtime); U.W32(b, 32, (int)q.Ctime);
                        U.W32(b, 36, q.Cbytes); U.W32(b, 40, q.Qbytes);
                        U.W16(b, 44, (ushort)Math.Min(q.Cbytes, 0xFFFF)); U.W16(b, 46, (ushort)Math.Min(q.Messages.Count, 0xFFFF));
                        U.W16(b, 48, (ushort)Math.Min(q.Qbytes, 0xFFFF)); U.W16(b, 50, (ushort)q.Lspid); U.W16(b, 52, (ushort)q.Lrpid);
                    }
                    if (U.Put(t, buf, b) != 0) return -Errno.EFAULT;
                    return c == IpcNamespace.IPC_STAT ? 0 : q.Perm.Id;
                }
                case IpcNamespace.IPC_SET: case IpcNamespace.IPC_RMID:
                {
                    (uint, uint, int) perm = default;
                    int qbytes = 0;
                    if (c == IpcNamespace.IPC_SET)
                    {
                        var b = new byte[v64 ? 88 : 56];
                        if (U.Get(t, buf, b) != 0) return -Errno.EFAULT;
                        perm = IpcNamespace.GetPerm(b, v64);
                        qbytes = v64 ? (int)U.R32(b, 68) : U.R16(b, 48);
                    }
                    var q = ns.Msg.Find(msqid);
                    if (q == null) return -Errno.EINVAL;
                    if (!IpcNamespace.IsOwner(t, q.Perm)) return -Errno.EPERM;
                    if (c == IpcNamespace.IPC_RMID)
                    {
                        ns.Msg.Remove(q);
                        IpcNamespace.Changed(q, wake);
                        return 0;
                    }
                    // msgctl_down: raising the limit past msg_ctlmnb needs CAP_SYS_RESOURCE
                    if (qbytes > MSGMNB && (t.Group.Creds.CapEff & (1UL << 24)) == 0) return -Errno.EPERM;
                    IpcNamespace.SetPerm(q.Perm, perm);
                    q.Qbytes = qbytes;
                    q.Ctime = IpcNamespace.Now();
                    IpcNamespace.Changed(q, wake); // senders may fit now
                    return 0;
                }
                default: return -Errno.EINVAL;
            }
        });
    }
}
