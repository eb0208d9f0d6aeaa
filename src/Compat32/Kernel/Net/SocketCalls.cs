using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Net;

/// <summary>
/// net/socket.c and net/compat.c for i386 tasks: the socketcall(2) multiplexer and the direct socket syscalls.
/// The protocols are the host kernel's (every guest socket is a host socket, so poll/select/epoll see it as is);
/// this layer validates what the guest passes in the order Linux does, converts the compat layouts, resolves
/// AF_UNIX path names as guest paths, keeps every blocking call interruptible (sock_intr_errno: -ERESTARTSYS
/// without a timeout, -EINTR with one), and reports guest pids in SO_PEERCRED and SCM_CREDENTIALS.
/// </summary>
public static unsafe partial class SocketCalls
{
    public const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_RDM = 4, SOCK_SEQPACKET = 5, SOCK_PACKET = 10,
        SOCK_MAX = 11, SOCK_TYPE_MASK = 0xF, SOCK_CLOEXEC = 0x80000, SOCK_NONBLOCK = 0x800;
    public const int MSG_OOB = 1, MSG_PEEK = 2, MSG_CTRUNC = 8, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_EOR = 0x80,
        MSG_WAITALL = 0x100, MSG_ERRQUEUE = 0x2000, MSG_NOSIGNAL = 0x4000, MSG_WAITFORONE = 0x10000,
        MSG_CMSG_CLOEXEC = 0x40000000, MSG_CMSG_COMPAT = unchecked((int)0x80000000);
    const int NETLINK_XFRM = 6;
    const uint MaxRw = 0x7FFFF000; // MAX_RW_COUNT
    const int UIO_MAXIOV = 1024;

    public const int SYS_SOCKET = 1, SYS_BIND = 2, SYS_CONNECT = 3, SYS_LISTEN = 4, SYS_ACCEPT = 5, SYS_GETSOCKNAME = 6,
        SYS_GETPEERNAME = 7, SYS_SOCKETPAIR = 8, SYS_SEND = 9, SYS_RECV = 10, SYS_SENDTO = 11, SYS_RECVFROM = 12,
        SYS_SHUTDOWN = 13, SYS_SETSOCKOPT = 14, SYS_GETSOCKOPT = 15, SYS_SENDMSG = 16, SYS_RECVMSG = 17,
        SYS_ACCEPT4 = 18, SYS_RECVMMSG = 19, SYS_SENDMMSG = 20;
    /// <summary>compat nas[]: argument words per socketcall.</summary>
    static readonly byte[] Nas = { 0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4, 5, 4 };

    static readonly int HostPid = LibC.getpid();

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.socket, "ddd", (t, a, b, c, _, _, _) => Socket(t, (int)a, (int)b, (int)c));
        s.Add(Nr.socketpair, "dddp", (t, a, b, c, d, _, _) => SocketPair(t, (int)a, (int)b, (int)c, d));
        s.Add(Nr.bind, "dpd", (t, a, b, c, _, _, _) => Bind(t, (int)a, b, (int)c));
        s.Add(Nr.connect, "dpd", (t, a, b, c, _, _, _) => Connect(t, (int)a, b, (int)c));
        s.Add(Nr.listen, "dd", (t, a, b, _, _, _, _) => Listen(t, (int)a, (int)b));
        s.Add(Nr.accept4, "dppx", (t, a, b, c, d, _, _) => Accept(t, (int)a, b, c, (int)d));
        s.Add(Nr.getsockopt, "dddpp", (t, a, b, c, d, e, _) => GetSockOpt(t, (int)a, (int)b, (int)c, d, e));
        s.Add(Nr.setsockopt, "dddpd", (t, a, b, c, d, e, _) => SetSockOpt(t, (int)a, (int)b, (int)c, d, (int)e));
        s.Add(Nr.getsockname, "dpp", (t, a, b, c, _, _, _) => Name(t, (int)a, b, c, peer: false));
        s.Add(Nr.getpeername, "dpp", (t, a, b, c, _, _, _) => Name(t, (int)a, b, c, peer: true));
        s.Add(Nr.sendto, "dpuxpd", (t, a, b, c, d, e, f) => SendTo(t, (int)a, b, c, (int)d, e, (int)f));
        s.Add(Nr.recvfrom, "dpuxpp", (t, a, b, c, d, e, f) => RecvFrom(t, (int)a, b, c, (int)d, e, f));
        s.Add(Nr.sendmsg, "dpx", (t, a, b, c, _, _, _) => SendMsg(t, (int)a, b, (int)c));
        s.Add(Nr.recvmsg, "dpx", (t, a, b, c, _, _, _) => RecvMsg(t, (int)a, b, (int)c));
        s.Add(Nr.sendmmsg, "dpux", (t, a, b, c, d, _, _) => SendMmsg(t, (int)a, b, c, (int)d));
        s.Add(Nr.recvmmsg, "dpuxp", (t, a, b, c, d, e, _) => RecvMmsg(t, (int)a, b, c, (int)d, e, wide: false));
        s.Add(Nr.recvmmsg_time64, "dpuxp", (t, a, b, c, d, e, _) => RecvMmsg(t, (int)a, b, c, (int)d, e, wide: true));
        s.Add(Nr.shutdown, "dd", (t, a, b, _, _, _, _) => Shutdown(t, (int)a, (int)b));
        s.Add(Nr.socketcall, "dp", (t, a, b, _, _, _, _) => SocketCall(t, (int)a, b));
        NetTrace.Register(s);
    }

    /// <summary>compat_sys_socketcall.</summary>
    static int SocketCall(Task t, int call, uint args)
    {
        if (call < SYS_SOCKET || call > SYS_SENDMMSG) return -Errno.EINVAL;
        Span<byte> b = stackalloc byte[24];
        if (U.Get(t, args, b[..(Nas[call] * 4)]) != 0) return -Errno.EFAULT;
        uint a0 = U.R32(b, 0), a1 = U.R32(b, 4), a2 = U.R32(b, 8), a3 = U.R32(b, 12), a4 = U.R32(b, 16), a5 = U.R32(b, 20);
        return call switch
        {
            SYS_SOCKET => Socket(t, (int)a0, (int)a1, (int)a2),
            SYS_BIND => Bind(t, (int)a0, a1, (int)a2),
            SYS_CONNECT => Connect(t, (int)a0, a1, (int)a2),
            SYS_LISTEN => Listen(t, (int)a0, (int)a1),
            SYS_ACCEPT => Accept(t, (int)a0, a1, a2, 0),
            SYS_GETSOCKNAME => Name(t, (int)a0, a1, a2, peer: false),
            SYS_GETPEERNAME => Name(t, (int)a0, a1, a2, peer: true),
            SYS_SOCKETPAIR => SocketPair(t, (int)a0, (int)a1, (int)a2, a3),
            SYS_SEND => SendTo(t, (int)a0, a1, a2, (int)a3, 0, 0),
            SYS_RECV => RecvFrom(t, (int)a0, a1, a2, (int)a3, 0, 0),
            SYS_SENDTO => SendTo(t, (int)a0, a1, a2, (int)a3, a4, (int)a5),
            SYS_RECVFROM => RecvFrom(t, (int)a0, a1, a2, (int)a3, a4, a5),
            SYS_SHUTDOWN => Shutdown(t, (int)a0, (int)a1),
            SYS_SETSOCKOPT => SetSockOpt(t, (int)a0, (int)a1, (int)a2, a3, (int)a4),
            SYS_GETSOCKOPT => GetSockOpt(t, (int)a0, (int)a1, (int)a2, a3, a4),
            SYS_SENDMSG => SendMsg(t, (int)a0, a1, (int)a2),
            SYS_RECVMSG => RecvMsg(t, (int)a0, a1, (int)a2),
            SYS_ACCEPT4 => Accept(t, (int)a0, a1, a2, (int)a3),
            SYS_RECVMMSG => RecvMmsg(t, (int)a0, a1, a2, (int)a3, a4, wide: false),
            _ => SendMmsg(t, (int)a0, a1, a2, (int)a3),
        };
    }

    /// <summary>sockfd_lookup_light: -EBADF, or -ENOTSOCK for a descriptor that is not a socket.</summary>
    internal static int Lookup(Task t, int fd, out SocketFile s)
    {
        s = null!;
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (f is not SocketFile sf) return -Errno.ENOTSOCK;
        s = sf;
        return 0;
    }

    static bool NonBlocking(SocketFile s, int msgFlags) => (s.Flags & LibC.O_NONBLOCK) != 0 || (msgFlags & MSG_DONTWAIT) != 0;

    /// <summary>Whether a blocking send or receive on s may sleep in the host call itself (InterruptibleCall):
    /// the first time, the host description is made blocking (compat32's non-blocking calls pass MSG_DONTWAIT).</summary>
    static bool BlockingHost(SocketFile s)
    {
        int mode = s.HostMode;
        if (mode != 0) return mode > 0;
        if (!InterruptibleCall.Available) return false;
        lock (s.Lock)
        {
            if (s.HostMode != 0) return s.HostMode > 0;
            int fl = LibC.Fcntl(s.HostFd, 3 /* F_GETFL */, 0);
            if (fl < 0) s.HostMode = -1;
            else if ((fl & LibC.O_NONBLOCK) == 0) s.HostMode = 2;
            else s.HostMode = LibC.Fcntl(s.HostFd, 4 /* F_SETFL */, fl & ~LibC.O_NONBLOCK) == 0 ? 1 : -1;
            return s.HostMode > 0;
        }
    }

    /// <summary>Give s its O_NONBLOCK host description back before a call that has no per-call MSG_DONTWAIT
    /// (connect, listen, accept) or before it leaves for another process (forever: never blocking again).</summary>
    internal static void NonBlockingHost(SocketFile s, bool forever)
    {
        if (s.HostMode == 0 && !forever) return;
        lock (s.Lock)
        {
            if (s.HostMode == 1 && LibC.Fcntl(s.HostFd, 3 /* F_GETFL */, 0) is int fl and >= 0)
                LibC.Fcntl(s.HostFd, 4 /* F_SETFL */, fl | LibC.O_NONBLOCK);
            if (forever) s.HostMode = -1;
            else if (s.HostMode == 1) s.HostMode = 0;
        }
    }

    // ------------------------------------------------------------ create

    /// <summary>The flag bits, the family range (-EAFNOSUPPORT) and the type range (-EINVAL) as __sys_socket and
    /// __sys_socketpair check them, and the families compat32 passes to the host.</summary>
    static int CheckFamilyType(int family, int type, out int flags, out int kind)
    {
        flags = type & ~SOCK_TYPE_MASK; kind = type & SOCK_TYPE_MASK;
        if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return -Errno.EINVAL;
        if (family < 0 || family >= 46) return -Errno.EAFNOSUPPORT;
        if (kind >= SOCK_MAX) return -Errno.EINVAL;
        if (family is not (SockAddr.AF_UNIX or SockAddr.AF_INET or SockAddr.AF_INET6 or SockAddr.AF_NETLINK or SockAddr.AF_PACKET))
            return -Errno.EAFNOSUPPORT;
        return 0;
    }

    /// <summary>__sys_socket / __sock_create: the flag bits, the family range (-EAFNOSUPPORT) and the type range
    /// (-EINVAL) as Linux checks them; the host decides the protocol.</summary>
    static int Socket(Task t, int family, int type, int protocol)
    {
        int r0 = CheckFamilyType(family, type, out int flags, out int kind);
        if (r0 < 0) return r0;
        // NETLINK_XFRM carries structures the kernel translates for compat tasks (xfrm_compat): not passed through.
        if (family == SockAddr.AF_NETLINK && protocol == NETLINK_XFRM) return -Errno.EPROTONOSUPPORT;
        int h = HostNet.Socket(family, kind | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
        if (h < 0) return h;
        int proto = HostNet.GetInt(h, SOL_SOCKET, SO_PROTOCOL);
        var s = new SocketFile(h, family, kind, proto < 0 ? protocol : proto, flags);
        int fd = t.Files.Install(s, (flags & SOCK_CLOEXEC) != 0);
        if (fd < 0) s.Release();
        return fd;
    }

    /// <summary>__sys_socketpair: AF_UNIX is the only family with pairs; both ends report the creator (init_peercred).
    /// Linux checks the flag bits, reserves two descriptors (-EMFILE) and stores their numbers in sv (-EFAULT) before it
    /// looks at the family and type: a bad family with a bad sv is -EFAULT, and a good sv holds the two numbers even
    /// when the call fails later.</summary>
    static int SocketPair(Task t, int family, int type, int protocol, uint sv)
    {
        if (((type & ~SOCK_TYPE_MASK) & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return -Errno.EINVAL;
        int f1 = FreeFd(t, 0), f2 = f1 < 0 ? f1 : FreeFd(t, f1 + 1);
        if (f2 < 0) return f2;
        if (!t.Mem.WriteU32(sv, (uint)f1) || !t.Mem.WriteU32(sv + 4, (uint)f2)) return -Errno.EFAULT;
        int r0 = CheckFamilyType(family, type, out int flags, out int kind);
        if (r0 < 0) return r0;
        int* h = stackalloc int[2];
        int r = LibC.SocketPair(family, kind | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol, h);
        if (r < 0) return r;
        if (!t.Mem.CanWrite(sv, 8)) { LibC.Close(h[0]); LibC.Close(h[1]); return -Errno.EFAULT; }
        var a = new SocketFile(h[0], family, kind, 0, flags);
        var b = new SocketFile(h[1], family, kind, 0, flags);
        var me = Cred.PeerOf(t);
        a.PeerCred = b.PeerCred = me;
        a.Peer = new WeakReference<SocketFile>(b);
        b.Peer = new WeakReference<SocketFile>(a);
        bool ce = (flags & SOCK_CLOEXEC) != 0;
        int fa = t.Files.Install(a, ce);
        if (fa < 0) { a.Release(); b.Release(); return fa; }
        int fb = t.Files.Install(b, ce);
        if (fb < 0) { t.Files.Close(fa); b.Release(); return fb; }
        t.Mem.WriteU32(sv, (uint)fa);
        t.Mem.WriteU32(sv + 4, (uint)fb);
        return 0;
    }

    /// <summary>The descriptor get_unused_fd_flags would reserve (the lowest free one from min below the limit), or
    /// -EMFILE; the pair is installed later, and then its real numbers are stored.</summary>
    static int FreeFd(Task t, int min)
    {
        for (int fd = min; fd < t.Files.Limit; fd++) if (t.Files.Get(fd) == null) return fd;
        return -Errno.EMFILE;
    }

    // ------------------------------------------------------------ names

    static int Bind(Task t, int fd, uint addr, int len)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        r = SockAddr.FromUser(t, addr, len, out var g);
        if (r < 0) return r;
        if (s.Family != SockAddr.AF_UNIX) { fixed (byte* p = g) return HostNet.Bind(s.HostFd, p, g.Length); }
        r = SockAddr.UnixToHost(t, g, out var host, out var norm, out int tmp);
        string? id;
        byte[] bound;
        try
        {
            if (r < 0) return r;
            fixed (byte* p = host) r = HostNet.Bind(s.HostFd, p, host.Length);
            if (r < 0) return r;
            bound = HostName(s.HostFd, peer: false);
            id = UnixNames.Identity(bound);
        }
        finally { if (tmp >= 0) LibC.Close(tmp); }
        byte[] guest = g.Length > 2 && g[2] != 0 ? norm : bound; // abstract and autobound names are the host's own
        lock (s.Lock) { s.GuestName = guest; s.NameId = id; }
        UnixNames.Register(SockAddr.HostKey(bound), id, guest, s);
        return 0;
    }

    static byte[] HostName(int hfd, bool peer)
    {
        byte* b = stackalloc byte[SockAddr.MaxLen];
        int len = SockAddr.MaxLen;
        int r = peer ? HostNet.GetPeerName(hfd, b, &len) : HostNet.GetSockName(hfd, b, &len);
        if (r < 0) return Array.Empty<byte>();
        return new ReadOnlySpan<byte>(b, Math.Min(len, SockAddr.MaxLen)).ToArray();
    }

    /// <summary>getsockname / getpeername (sock->ops->getname, then move_addr_to_user).</summary>
    static int Name(Task t, int fd, uint addr, uint lenp, bool peer)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        byte* b = stackalloc byte[SockAddr.MaxLen];
        int len = SockAddr.MaxLen;
        r = peer ? HostNet.GetPeerName(s.HostFd, b, &len) : HostNet.GetSockName(s.HostFd, b, &len);
        if (r < 0) return r;
        var k = new ReadOnlySpan<byte>(b, Math.Min(len, SockAddr.MaxLen));
        byte[] g;
        if (s.Family == SockAddr.AF_UNIX && !peer) { lock (s.Lock) g = s.GuestName ?? SockAddr.ToGuest(t, k); }
        else g = s.Family == SockAddr.AF_UNIX ? SockAddr.ToGuest(t, k) : k.ToArray();
        return SockAddr.ToUser(t, g, addr, lenp);
    }

    static int Listen(Task t, int fd, int backlog)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        NonBlockingHost(s, false);
        r = HostNet.Listen(s.HostFd, backlog);
        if (r == 0) lock (s.Lock) s.ListenCred = Cred.PeerOf(t);
        return r;
    }

    // ------------------------------------------------------------ connect / accept

    static int Connect(Task t, int fd, uint addr, int len)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        r = SockAddr.FromUser(t, addr, len, out var g);
        if (r < 0) return r;
        byte[] host = g;
        int tmp = -1;
        UnixNames.Bound? target = null;
        if (s.Family == SockAddr.AF_UNIX && g.Length >= 2 && BitConverter.ToUInt16(g, 0) == SockAddr.AF_UNIX)
        {
            if (g.Length == 2) return -Errno.EINVAL; // unix_validate_addr: no name to connect to
            r = SockAddr.UnixToHost(t, g, out host, out _, out tmp);
            if (r < 0) return r;
            target = UnixNames.Find(UnixNames.Identity(host));
        }
        try { return ConnectHost(t, s, host, target); }
        finally { if (tmp >= 0) LibC.Close(tmp); }
    }

    static int ConnectHost(Task t, SocketFile s, byte[] host, UnixNames.Bound? target)
    {
        bool unix = s.Family == SockAddr.AF_UNIX, nonblock = (s.Flags & LibC.O_NONBLOCK) != 0;
        NonBlockingHost(s, false);
        long timeo = Volatile.Read(ref s.SndTimeoNs);
        long deadline = timeo == 0 ? HostWait.Never : ProcessTimers.Now() + timeo;
        while (true)
        {
            int r;
            var listener = target?.Live;
            if (unix && s.Type != SOCK_DGRAM && listener != null)
            {
                // The host's accept queue and ours stay in the same order: connect and enqueue under one lock.
                lock (UnixNames.Lock)
                {
                    fixed (byte* p = host) r = HostNet.Connect(s.HostFd, p, host.Length);
                    if (r == 0) { lock (s.Lock) s.ConnectCred = Cred.PeerOf(t); target!.Pending.Enqueue(s); }
                }
                if (r == 0) { lock (s.Lock) { lock (listener.Lock) s.PeerCred = listener.ListenCred; } }
            }
            else
            {
                fixed (byte* p = host) r = HostNet.Connect(s.HostFd, p, host.Length);
                if (r == 0 && unix && listener != null) lock (s.Lock) s.Peer = new WeakReference<SocketFile>(listener);
            }
            if (r == 0 || nonblock) return r;
            if (unix && r == -Errno.EAGAIN)
            {
                // unix_wait_for_peer: the listener's backlog is full; wait for room.
                int w = SleepUntil(t, deadline, timeo != 0, 2);
                if (w != 0) return w == -Errno.EAGAIN ? -Errno.EAGAIN : w;
                continue;
            }
            if (r is -Errno.EINPROGRESS or -Errno.EALREADY)
            {
                // inet_wait_for_connect, then the socket's error (sock_error).
                int w = WaitFor(t, s, HostWait.POLLOUT, deadline, timeo != 0);
                if (w == -Errno.EAGAIN) return -Errno.EINPROGRESS;
                if (w != 0) return w;
                int e = HostNet.GetInt(s.HostFd, SOL_SOCKET, SO_ERROR);
                return e > 0 ? -e : e;
            }
            return r;
        }
    }

    static int Accept(Task t, int fd, uint addr, uint lenp, int flags)
    {
        // __sys_accept4: fdget (-EBADF), then the flags (-EINVAL), then sock_from_file (-ENOTSOCK)
        if (t.Files.Get(fd) == null) return -Errno.EBADF;
        if ((flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return -Errno.EINVAL;
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        NonBlockingHost(s, false);
        long timeo = Volatile.Read(ref s.RcvTimeoNs);
        long deadline = timeo == 0 ? HostWait.Never : ProcessTimers.Now() + timeo;
        byte* b = stackalloc byte[SockAddr.MaxLen];
        int len, h;
        while (true)
        {
            len = SockAddr.MaxLen;
            h = HostNet.Accept4(s.HostFd, b, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (h >= 0) break;
            if (h != -Errno.EAGAIN || (s.Flags & LibC.O_NONBLOCK) != 0) return h;
            int w = WaitFor(t, s, HostWait.POLLIN, deadline, timeo != 0);
            if (w != 0) return w;
        }
        var n = new SocketFile(h, s.Family, s.Type, s.Protocol, flags);
        if (s.Family == SockAddr.AF_UNIX) MatchAccepted(s, n);
        if (addr != 0)
        {
            var k = new ReadOnlySpan<byte>(b, Math.Min(len, SockAddr.MaxLen));
            byte[] g = s.Family == SockAddr.AF_UNIX ? SockAddr.ToGuest(t, k) : k.ToArray();
            r = SockAddr.ToUser(t, g, addr, lenp);
            if (r < 0) { n.Release(); return r; }
        }
        int nfd = t.Files.Install(n, (flags & SOCK_CLOEXEC) != 0);
        if (nfd < 0) n.Release();
        return nfd;
    }

    /// <summary>An accepted AF_UNIX connection from a guest: the oldest guest connect still queued on the name is
    /// this one (a host client's connection carries the host's credentials instead).</summary>
    static void MatchAccepted(SocketFile listener, SocketFile n)
    {
        string? key;
        lock (listener.Lock) key = listener.NameId;
        if (key == null) return;
        var pc = PeerCredHost(n.HostFd);
        if (pc == null || pc.Value.Pid != HostPid) return;
        SocketFile? c = null;
        lock (UnixNames.Lock)
        {
            var b = UnixNames.Find(key);
            if (b != null && b.Pending.Count > 0) c = b.Pending.Dequeue();
        }
        if (c == null) return;
        Cred? cc;
        lock (c.Lock) { cc = c.ConnectCred; c.Peer = new WeakReference<SocketFile>(n); }
        lock (n.Lock) { n.PeerCred = cc; n.Peer = new WeakReference<SocketFile>(c); }
    }

    static Cred? PeerCredHost(int hfd)
    {
        int* u = stackalloc int[3];
        int len = 12;
        if (HostNet.GetSockOpt(hfd, SOL_SOCKET, SO_PEERCRED, (byte*)u, &len) < 0) return null;
        return new Cred(u[0], (uint)u[1], (uint)u[2]);
    }

    static int Shutdown(Task t, int fd, int how)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        return LibC.Shutdown(s.HostFd, how);
    }

    // ------------------------------------------------------------ waiting

    /// <summary>sk_wait_event for one host socket: 0 when ready, -EAGAIN at the deadline, and on a signal
    /// sock_intr_errno: -ERESTARTSYS when the wait had no timeout, -EINTR when it had one.</summary>
    internal static int WaitFor(Task t, SocketFile s, short events, long deadline, bool timed)
    {
        byte* pfd = stackalloc byte[8];
        while (true)
        {
            int ms = HostWait.SliceMs;
            if (deadline != HostWait.Never)
            {
                long left = deadline - ProcessTimers.Now();
                if (left <= 0) return -Errno.EAGAIN;
                ms = (int)Math.Min(ms, (left + 999_999) / 1_000_000);
            }
            *(int*)pfd = s.HostFd;
            *(short*)(pfd + 4) = events;
            *(short*)(pfd + 6) = 0;
            int r = LibC.Poll(pfd, 1, ms);
            if (r > 0) return 0;
            int i = HostWait.Interrupted(t, timed ? -Errno.EINTR : -Errno.ERESTARTSYS);
            if (i != 0) return i;
        }
    }

    static int SleepUntil(Task t, long deadline, bool timed, int ms)
    {
        if (deadline != HostWait.Never && ProcessTimers.Now() >= deadline) return -Errno.EAGAIN;
        int i = HostWait.Interrupted(t, timed ? -Errno.EINTR : -Errno.ERESTARTSYS);
        if (i != 0) return i;
        t.Kernel.Sleep(t, ProcessTimers.Now() + ms * 1_000_000L);
        return 0;
    }
}
