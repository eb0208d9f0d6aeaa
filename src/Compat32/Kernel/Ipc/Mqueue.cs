using System.Text;
using Compat32.Kernel.Signals;
using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Ipc;

/// <summary>A POSIX message queue (struct mqueue_inode_info). Guarded by the namespace's Lock, except Wq.</summary>
public sealed class MqInode : IpcObject
{
    public required string Name;
    public long MaxMsg, MsgSize;
    public uint Uid, Gid;
    public int QSize;
    /// <summary>Highest priority first, FIFO within a priority.</summary>
    public readonly List<(uint Prio, byte[] Text)> Msgs = new();
    /// <summary>mq_notify's registration: the process to notify (0: none) and what to send.</summary>
    public int NotifyTgid, NotifySigno, NotifyType;
    public uint NotifyValue;
    /// <summary>SIGEV_THREAD: the netlink socket and the NOTIFY_COOKIE_LEN bytes to queue on it (notify_sock,
    /// notify_cookie).</summary>
    public Net.SocketFile? NotifySock;
    public byte[]? NotifyCookie;
    /// <summary>The owner's descriptor table: a close through it is the owner's (mqueue_flush_file).</summary>
    public FdTable? NotifyFiles;
    public int Receivers;
    /// <summary>Pollers and epoll items (poll bits: EPOLLIN when a message is there, EPOLLOUT when there is room).</summary>
    public readonly WaitQueue Wq = new();
}

/// <summary>An open message queue description (mqueue_file_operations): readiness is the queue's.</summary>
public sealed class MqFile : KernelFile
{
    public required MqInode Inode;
    public required IpcNamespace Ns;
    public override bool ModelPoll => true;
    public override WaitQueue? PollQueue(Task t) => Inode.Wq;

    /// <summary>mqueue_poll_file.</summary>
    public override uint Poll(Task t)
    {
        lock (Ns.Lock)
            return (Inode.Msgs.Count > 0 ? 0x41u : 0) | (Inode.Msgs.Count < Inode.MaxMsg ? 0x104u : 0);
    }

    /// <summary>mqueue_read_file: the queue's status line, read from the file position.</summary>
    public override int Read(Task t, uint buf, uint count)
    {
        string s;
        lock (Ns.Lock)
            s = $"QSIZE:{Inode.QSize,-10} NOTIFY:{(Inode.NotifyTgid != 0 ? Inode.NotifyType : 0),-5} SIGNO:{(Inode.NotifyTgid != 0 && Inode.NotifyType == 0 ? Inode.NotifySigno : 0),-5} NOTIFY_PID:{Inode.NotifyTgid,-6}\n";
        var b = Encoding.ASCII.GetBytes(s);
        lock (this)
        {
            if (SyntheticPos >= b.Length) return 0;
            int n = (int)Math.Min(count, b.Length - SyntheticPos);
            if (U.Put(t, buf, b.AsSpan((int)SyntheticPos, n)) != 0) return -Errno.EFAULT;
            SyntheticPos += n;
            return n;
        }
    }

    public override byte[]? Statx()
    {
        var sx = new byte[256];
        U.W32(sx, 0, 0x7FF);
        lock (Ns.Lock)
        {
            U.W16(sx, 28, (ushort)(0x8000 | (Inode.Perm.Mode & 0xFFF)));
            U.W32(sx, 16, Inode.Perm.Deleted ? 0u : 1u);
            U.W32(sx, 20, Inode.Uid); U.W32(sx, 24, Inode.Gid);
            U.W64(sx, 40, (ulong)Inode.QSize);
        }
        U.W32(sx, 4, 4096);
        U.W64(sx, 32, (ulong)(Inode.Name.GetHashCode() & 0x7FFFFFFF));
        return sx;
    }
}

/// <summary>
/// POSIX message queues (ipc/mqueue.c) in the IPC namespace: mq_open (with the host's fs.mqueue limits),
/// mq_timedsend / mq_timedreceive (absolute CLOCK_REALTIME timeouts, old and time64 layouts), mq_notify
/// (SIGEV_NONE, SIGEV_SIGNAL, and SIGEV_THREAD's cookie on a netlink socket), mq_getsetattr (struct compat_mq_attr:
/// eight s32), mq_unlink. Queue descriptors are files: they mix with everything else in poll, select and epoll.
/// </summary>
public static class Mqueue
{
    const int MQ_PRIO_MAX = 32768, SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD = 2;
    static readonly long MsgMax = Sysctl("msg_max", 10), MsgsizeMax = Sysctl("msgsize_max", 8192),
        MsgDefault = Sysctl("msg_default", 10), MsgsizeDefault = Sysctl("msgsize_default", 8192);
    const long HardMsgMax = 65536, HardMsgsizeMax = 16 * 1024 * 1024;

    static long Sysctl(string n, long def)
    {
        try { return long.Parse(File.ReadAllText("/proc/sys/fs/mqueue/" + n).Trim()); } catch { return def; }
    }

    static Mqueue() { FdTable.Closing += Flush; }

    /// <summary>mqueue_flush_file: the owner closing a descriptor of the queue drops its registration. The owner
    /// is told by its descriptor table (shared by its threads; a CLONE_FILES sibling process would count too).</summary>
    static void Flush(FdTable files, OpenFile f)
    {
        if (f is not MqFile mf) return;
        var ino = mf.Inode;
        (Net.SocketFile, byte[])? removed = null;
        lock (mf.Ns.Lock)
        {
            if (ino.NotifyTgid == 0 || !ReferenceEquals(ino.NotifyFiles, files)) return;
            if (ino.NotifyType == SIGEV_THREAD) removed = TakeCookie(ino, NOTIFY_REMOVED);
            ino.NotifyTgid = 0;
            ino.NotifyFiles = null;
        }
        if (removed is { } rm) SendCookie(rm.Item1, rm.Item2);
    }

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.mq_open, "sOop", (t, a, b, c, d, _, _) => Open(t, a, (int)b, (int)c, d));
        s.Add(Nr.mq_unlink, "s", (t, a, _, _, _, _, _) => Unlink(t, a));
        s.Add(Nr.mq_timedsend, "dpuup", (t, a, b, c, d, e, _) => Send(t, (int)a, b, c, d, e, wide: false));
        s.Add(Nr.mq_timedsend_time64, "dpuup", (t, a, b, c, d, e, _) => Send(t, (int)a, b, c, d, e, wide: true));
        s.Add(Nr.mq_timedreceive, "dpupp", (t, a, b, c, d, e, _) => Receive(t, (int)a, b, c, d, e, wide: false));
        s.Add(Nr.mq_timedreceive_time64, "dpupp", (t, a, b, c, d, e, _) => Receive(t, (int)a, b, c, d, e, wide: true));
        s.Add(Nr.mq_notify, "dp", (t, a, b, _, _, _, _) => Notify(t, (int)a, b));
        s.Add(Nr.mq_getsetattr, "dpp", (t, a, b, c, _, _, _) => GetSetAttr(t, (int)a, b, c));
    }

    static bool CapResource(Task t) => (t.Group.Creds.CapEff & (1UL << 24)) != 0;

    /// <summary>The name as lookup_one_len takes it: no '/', not empty, not "." or "..".</summary>
    static int ReadName(Task t, uint p, out string name)
    {
        name = "";
        var b = t.Mem.ReadCStringBytes(p, 4096);
        if (b == null) return -Errno.EFAULT;
        if (b.Length >= 4096) return -Errno.ENAMETOOLONG;
        name = Encoding.UTF8.GetString(b);
        if (name.Length == 0 || name.Contains('/') || name == "." || name == "..") return -Errno.EACCES;
        if (b.Length > 255) return -Errno.ENAMETOOLONG;
        return 0;
    }

    /// <summary>do_mq_open.</summary>
    static int Open(Task t, uint uname, int oflag, int mode, uint uattr)
    {
        long maxmsg = 0, msgsize = 0;
        bool hasAttr = uattr != 0 && (oflag & LibC.O_CREAT) != 0;
        if (hasAttr)
        {
            Span<byte> b = stackalloc byte[32];
            if (U.Get(t, uattr, b) != 0) return -Errno.EFAULT;
            maxmsg = (int)U.R32(b, 4); msgsize = (int)U.R32(b, 8);
        }
        int r = ReadName(t, uname, out var name);
        if (r < 0) return r;
        var ns = IpcNamespace.Of(t);
        MqInode? ino;
        lock (ns.Lock)
        {
            ns.Mqueues.TryGetValue(name, out ino);
            if (ino != null)
            {
                if ((oflag & (LibC.O_CREAT | LibC.O_EXCL)) == (LibC.O_CREAT | LibC.O_EXCL)) return -Errno.EEXIST;
                if ((oflag & 3) == 3) return -Errno.EINVAL;
                int acc = (oflag & 3) switch { LibC.O_RDONLY => 4, LibC.O_WRONLY => 2, _ => 6 };
                var c = t.Group.Creds;
                int granted = c.Euid == ino.Uid ? ino.Perm.Mode >> 6 : c.Egid == ino.Gid || Array.IndexOf(c.Groups, ino.Gid) >= 0 ? ino.Perm.Mode >> 3 : ino.Perm.Mode;
                if ((acc & ~granted & 7) != 0 && (c.CapEff & 3) == 0) return -Errno.EACCES;
            }
            else
            {
                if ((oflag & LibC.O_CREAT) == 0) return -Errno.ENOENT;
                if ((oflag & 3) == 3) return -Errno.EINVAL;
                if (hasAttr)
                {
                    // mq_attr_ok
                    if (maxmsg <= 0 || msgsize <= 0) return -Errno.EINVAL;
                    if (CapResource(t)) { if (maxmsg > HardMsgMax || msgsize > HardMsgsizeMax) return -Errno.EINVAL; }
                    else if (maxmsg > MsgMax || msgsize > MsgsizeMax) return -Errno.EINVAL;
                }
                else { maxmsg = Math.Min(MsgDefault, MsgMax); msgsize = Math.Min(MsgsizeDefault, MsgsizeMax); }
                var c = t.Group.Creds;
                ino = new MqInode { Name = name, MaxMsg = maxmsg, MsgSize = msgsize, Uid = c.Euid, Gid = c.Egid };
                ino.Perm.Mode = mode & ~t.Fs.Umask & 0xFFF;
                ns.Mqueues[name] = ino;
            }
        }
        var f = new MqFile { Inode = ino, Ns = ns, Flags = oflag & (3 | LibC.O_NONBLOCK), Path = "/" + name, Kind = FileKind.Other };
        int fd = t.Files.Install(f, (oflag & LibC.O_CLOEXEC) != 0);
        if (fd < 0) f.Release();
        return fd;
    }

    static int Unlink(Task t, uint uname)
    {
        int r = ReadName(t, uname, out var name);
        if (r < 0) return r;
        var ns = IpcNamespace.Of(t);
        lock (ns.Lock)
        {
            if (!ns.Mqueues.Remove(name, out var ino)) return -Errno.ENOENT;
            ino.Perm.Deleted = true;
        }
        return 0;
    }

    /// <summary>compat_prepare_timeout / prepare_timeout: an absolute CLOCK_REALTIME time as a Stopwatch deadline.</summary>
    static int Deadline(Task t, uint uts, bool wide, out long deadline)
    {
        deadline = long.MaxValue;
        if (uts == 0) return 0;
        Span<byte> b = stackalloc byte[16];
        if (U.Get(t, uts, b[..(wide ? 16 : 8)]) != 0) return -Errno.EFAULT;
        long sec = wide ? (long)U.R64(b, 0) : (int)U.R32(b, 0), nsec = wide ? U.R32(b, 8) : (int)U.R32(b, 4);
        if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
        var now = DateTimeOffset.UtcNow;
        long nowNs = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        double leftNs = sec >= long.MaxValue / 2_000_000_000 ? 1e18 : (double)(sec * 1_000_000_000 + nsec - nowNs);
        if (leftNs > 1e17) return 0;
        deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(Math.Max(0, leftNs) / 1e9 * System.Diagnostics.Stopwatch.Frequency);
        return 0;
    }

    static int GetQueue(Task t, int fd, int mode, out MqFile? mf)
    {
        mf = t.Files.Get(fd) as MqFile;
        if (mf == null) return -Errno.EBADF;
        int acc = mf.Flags & 3;
        if (mode == 1 && acc == LibC.O_RDONLY) return -Errno.EBADF; // FMODE_WRITE
        if (mode == 0 && acc == LibC.O_WRONLY) return -Errno.EBADF; // FMODE_READ
        return 0;
    }

    /// <summary>do_mq_timedsend: a blocked sender sleeps (-ERESTARTSYS on a signal, -ETIMEDOUT at the deadline).</summary>
    static int Send(Task t, int fd, uint msgp, uint len, uint prio, uint uts, bool wide)
    {
        int r = Deadline(t, uts, wide, out long deadline);
        if (r != 0) return r;
        if (prio >= MQ_PRIO_MAX) return -Errno.EINVAL;
        if ((r = GetQueue(t, fd, 1, out var mf)) != 0) return r;
        var ino = mf!.Inode; var ns = mf.Ns;
        if (len > ino.MsgSize) return -Errno.EMSGSIZE;
        var text = new byte[len];
        if (U.Get(t, msgp, text) != 0) return -Errno.EFAULT;
        while (true)
        {
            var wake = new List<Task>();
            int gen;
            (int tgid, KSigInfo info)? notify = null;
            (Net.SocketFile sock, byte[] cookie)? cookie = null;
            lock (ns.Lock)
            {
                if (ino.Msgs.Count < ino.MaxMsg)
                {
                    int i = 0;
                    while (i < ino.Msgs.Count && ino.Msgs[i].Prio >= prio) i++;
                    ino.Msgs.Insert(i, (prio, text));
                    ino.QSize += (int)len;
                    // __do_notify: the first message into an empty queue, when nobody waits to receive it
                    if (ino.Msgs.Count == 1 && ino.NotifyTgid != 0 && ino.Receivers == 0)
                    {
                        if (ino.NotifyType == SIGEV_SIGNAL && ino.NotifySigno != 0) // signo 0 is accepted, and sends nothing
                            notify = (ino.NotifyTgid, new KSigInfo { Signo = ino.NotifySigno, Code = KSigInfo.SI_MESGQ, Layout = SigInfoLayout.Rt,
                                Pid = t.Tgid, Uid = t.Group.Creds.Uid, Value = ino.NotifyValue });
                        else if (ino.NotifyType == SIGEV_THREAD)
                            cookie = TakeCookie(ino, NOTIFY_WOKENUP);
                        ino.NotifyTgid = 0;
                    }
                    IpcNamespace.Changed(ino, wake);
                }
                else
                {
                    if ((mf.Flags & LibC.O_NONBLOCK) != 0) return -Errno.EAGAIN;
                    gen = IpcNamespace.Enlist(t, ino);
                    goto sleep;
                }
            }
            IpcNamespace.WakeAll(wake);
            ino.Wq.Wake(0x41);
            if (notify is { } n && t.Kernel.TaskSet.FindGroup(n.tgid)?.Leader is { } leader) t.Kernel.Signals.SendToGroup(leader, n.info);
            if (cookie is { } ck) SendCookie(ck.sock, ck.cookie);
            return 0;
        sleep:
            int r2 = ns.SleepOn(t, ino, gen, -Errno.ERESTARTSYS, deadline, mqueue: true);
            if (r2 != 0) return r2;
        }
    }

    /// <summary>do_mq_timedreceive: the highest-priority oldest message; the buffer must hold mq_msgsize.</summary>
    static int Receive(Task t, int fd, uint msgp, uint len, uint uprio, uint uts, bool wide)
    {
        int r = Deadline(t, uts, wide, out long deadline);
        if (r != 0) return r;
        if ((r = GetQueue(t, fd, 0, out var mf)) != 0) return r;
        var ino = mf!.Inode; var ns = mf.Ns;
        if (len < ino.MsgSize) return -Errno.EMSGSIZE;
        while (true)
        {
            var wake = new List<Task>();
            int gen;
            (uint Prio, byte[] Text) m;
            lock (ns.Lock)
            {
                if (ino.Msgs.Count > 0)
                {
                    m = ino.Msgs[0];
                    ino.Msgs.RemoveAt(0);
                    ino.QSize -= m.Text.Length;
                    IpcNamespace.Changed(ino, wake);
                }
                else
                {
                    if ((mf.Flags & LibC.O_NONBLOCK) != 0) return -Errno.EAGAIN;
                    gen = IpcNamespace.Enlist(t, ino);
                    ino.Receivers++;
                    goto sleep;
                }
            }
            IpcNamespace.WakeAll(wake);
            ino.Wq.Wake(0x104);
            if (U.Put(t, msgp, m.Text) != 0) return -Errno.EFAULT;
            if (uprio != 0 && !t.Mem.WriteU32(uprio, m.Prio)) return -Errno.EFAULT;
            return m.Text.Length;
        sleep:
            int r2 = ns.SleepOn(t, ino, gen, -Errno.ERESTARTSYS, deadline, () => ino.Receivers--, mqueue: true);
            if (r2 != 0) return r2;
        }
    }

    const int NOTIFY_COOKIE_LEN = 32, NOTIFY_WOKENUP = 1, NOTIFY_REMOVED = 2;

    /// <summary>do_mq_notify with a struct compat_sigevent {sigval; signo; notify; ...}. SIGEV_THREAD (what
    /// glibc's mq_notify asks for, its helper thread reading an unbound AF_NETLINK socket): sigev_value points
    /// at NOTIFY_COOKIE_LEN bytes, sigev_signo is the netlink socket's fd (netlink_getsockbyfilp).</summary>
    static int Notify(Task t, int fd, uint usev)
    {
        int notifyType = -1, signo = 0; uint value = 0;
        byte[]? cookie = null;
        Net.SocketFile? sock = null;
        if (usev != 0)
        {
            Span<byte> b = stackalloc byte[16];
            if (U.Get(t, usev, b) != 0) return -Errno.EFAULT;
            value = U.R32(b, 0); signo = (int)U.R32(b, 4); notifyType = (int)U.R32(b, 8);
            if (notifyType is not (SIGEV_SIGNAL or SIGEV_NONE or SIGEV_THREAD)) return -Errno.EINVAL;
            if (notifyType == SIGEV_SIGNAL && (signo < 0 || signo > 64)) return -Errno.EINVAL; // valid_signal: 0 too
            if (notifyType == SIGEV_THREAD)
            {
                cookie = new byte[NOTIFY_COOKIE_LEN];
                if (U.Get(t, value, cookie) != 0) return -Errno.EFAULT;
                var f = t.Files.Get(signo);
                if (f == null) return -Errno.EBADF;
                if (f is not Net.SocketFile sf) return -Errno.ENOTSOCK;
                if (sf.Family != Net.SockAddr.AF_NETLINK) return -Errno.EINVAL;
                sock = sf;
            }
        }
        if (t.Files.Get(fd) is not MqFile mf) return -Errno.EBADF;
        var ino = mf.Inode;
        (Net.SocketFile, byte[])? removed = null;
        try
        {
            lock (mf.Ns.Lock)
            {
                if (notifyType < 0)
                {
                    if (ino.NotifyTgid == t.Tgid)
                    {
                        // remove_notification: a SIGEV_THREAD owner's helper hears NOTIFY_REMOVED
                        if (ino.NotifyType == SIGEV_THREAD) removed = TakeCookie(ino, NOTIFY_REMOVED);
                        ino.NotifyTgid = 0;
                    }
                    return 0;
                }
                if (ino.NotifyTgid != 0) return -Errno.EBUSY;
                ino.NotifyTgid = t.Tgid; ino.NotifyType = notifyType; ino.NotifySigno = signo; ino.NotifyValue = value;
                ino.NotifySock = sock; ino.NotifyCookie = cookie; ino.NotifyFiles = t.Files;
                return 0;
            }
        }
        finally { if (removed is { } rm) SendCookie(rm.Item1, rm.Item2); }
    }

    /// <summary>set_cookie: the registration's cookie with its last byte set to code, and the socket it goes to
    /// (the registration lets go of both). Caller holds the namespace's Lock.</summary>
    static (Net.SocketFile, byte[])? TakeCookie(MqInode ino, byte code)
    {
        var (sock, cookie) = (ino.NotifySock, ino.NotifyCookie);
        ino.NotifySock = null; ino.NotifyCookie = null;
        if (sock == null || cookie == null) return null;
        cookie[NOTIFY_COOKIE_LEN - 1] = code;
        return (sock, cookie);
    }

    /// <summary>netlink_sendskb of the cookie, outside the lock. A socket closed meanwhile gets nothing.</summary>
    static void SendCookie(Net.SocketFile sock, byte[] cookie)
    {
        if (sock.HostFd < 0) return;
        long port = Net.NetlinkSkb.PortOf(sock);
        if (port > 0) Net.NetlinkSkb.Send(sock.Protocol, (uint)port, cookie);
    }

    /// <summary>compat mq_getsetattr: only O_NONBLOCK may be set.</summary>
    static int GetSetAttr(Task t, int fd, uint unew, uint uold)
    {
        int newFlags = -1;
        if (unew != 0)
        {
            Span<byte> b = stackalloc byte[32];
            if (U.Get(t, unew, b) != 0) return -Errno.EFAULT;
            newFlags = (int)U.R32(b, 0);
            if ((newFlags & ~LibC.O_NONBLOCK) != 0) return -Errno.EINVAL;
        }
        if (t.Files.Get(fd) is not MqFile mf) return -Errno.EBADF;
        Span<byte> o = stackalloc byte[32];
        lock (mf.Ns.Lock)
        {
            U.W32(o, 0, mf.Flags & LibC.O_NONBLOCK);
            U.W32(o, 4, (int)mf.Inode.MaxMsg); U.W32(o, 8, (int)mf.Inode.MsgSize); U.W32(o, 12, mf.Inode.Msgs.Count);
            if (newFlags >= 0) mf.Flags = (mf.Flags & ~LibC.O_NONBLOCK) | newFlags;
        }
        if (uold != 0 && U.Put(t, uold, o) != 0) return -Errno.EFAULT;
        return 0;
    }
}
