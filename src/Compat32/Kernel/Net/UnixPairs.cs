using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Syscalls;

/// <summary>
/// The part of net/ that processes need before the sockets issue brings the rest: socketpair(AF_UNIX) (through the
/// direct syscall and socketcall's SYS_SOCKETPAIR), backed by a host socketpair so that reads, writes, poll and
/// inheritance across fork behave as the kernel's; shutdown; getsockname/getpeername answering -ENOTSOCK for
/// anything that is not a socket (bash takes -ENOSYS there for a network connection). Every other socket call is
/// still -ENOSYS.
/// </summary>
public static unsafe class UnixPairs
{
    const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5, SOCK_TYPE_MASK = 0xF;
    const int SOCK_CLOEXEC = 0x80000, SOCK_NONBLOCK = 0x800;
    const int SYS_GETSOCKNAME = 6, SYS_GETPEERNAME = 7, SYS_SOCKETPAIR = 8, SYS_SHUTDOWN = 13;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.socketpair, "dddp", (t, a, b, c, d, _, _) => SocketPair(t, (int)a, (int)b, (int)c, d));
        s.Add(Nr.shutdown, "dd", (t, a, b, _, _, _, _) => Shutdown(t, (int)a, (int)b));
        s.Add(Nr.getsockname, "dpp", (t, a, b, c, _, _, _) => Name(t, (int)a, b, c));
        s.Add(Nr.getpeername, "dpp", (t, a, b, c, _, _, _) => Name(t, (int)a, b, c));
        s.Add(Nr.socketcall, "dp", (t, a, b, _, _, _, _) => SocketCall(t, (int)a, b));
    }

    /// <summary>compat_sys_socketcall: the call number and a pointer to its arguments (nas[] words each).</summary>
    static int SocketCall(Task t, int call, uint args)
    {
        var b = new byte[16];
        int n = call switch { SYS_SOCKETPAIR => 4, SYS_GETSOCKNAME or SYS_GETPEERNAME => 3, SYS_SHUTDOWN => 2, _ => 0 };
        if (call < 1 || call > 20) return -Errno.EINVAL;
        if (n == 0) return -Errno.ENOSYS;
        if (U.Get(t, args, b.AsSpan(0, n * 4)) != 0) return -Errno.EFAULT;
        uint A(int i) => U.R32(b, i * 4);
        return call switch
        {
            SYS_SOCKETPAIR => SocketPair(t, (int)A(0), (int)A(1), (int)A(2), A(3)),
            SYS_SHUTDOWN => Shutdown(t, (int)A(0), (int)A(1)),
            _ => Name(t, (int)A(0), A(1), A(2)),
        };
    }

    /// <summary>__sys_socketpair: AF_UNIX only here; SOCK_CLOEXEC/SOCK_NONBLOCK in the type.</summary>
    static int SocketPair(Task t, int family, int type, int protocol, uint sv)
    {
        if ((type & ~(SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK)) != 0) return -Errno.EINVAL;
        if (family != AF_UNIX) return family is < 0 or >= 46 ? -Errno.EAFNOSUPPORT : -Errno.EOPNOTSUPP;
        int kind = type & SOCK_TYPE_MASK;
        if (kind is not (SOCK_STREAM or SOCK_DGRAM or SOCK_SEQPACKET)) return -Errno.ESOCKTNOSUPPORT;
        if (protocol != 0) return -Errno.EPROTONOSUPPORT;
        if (!t.Mem.CanWrite(sv, 8)) return -Errno.EFAULT;
        int* h = stackalloc int[2];
        int r = LibC.SocketPair(AF_UNIX, kind | SOCK_CLOEXEC | (type & SOCK_NONBLOCK), 0, h);
        if (r < 0) return r;
        int fl = LibC.O_RDWR | ((type & SOCK_NONBLOCK) != 0 ? LibC.O_NONBLOCK : 0);
        var fa = new OpenFile { HostFd = h[0], Flags = fl, Path = "socket:", Kind = FileKind.Socket };
        var fb = new OpenFile { HostFd = h[1], Flags = fl, Path = "socket:", Kind = FileKind.Socket };
        bool ce = (type & SOCK_CLOEXEC) != 0;
        int a = t.Files.Install(fa, ce);
        if (a < 0) { fa.Release(); fb.Release(); return a; }
        int b2 = t.Files.Install(fb, ce);
        if (b2 < 0) { t.Files.Close(a); fb.Release(); return b2; }
        t.Mem.WriteU32(sv, (uint)a);
        t.Mem.WriteU32(sv + 4, (uint)b2);
        return 0;
    }

    static int Shutdown(Task t, int fd, int how)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (f.Kind != FileKind.Socket) return -Errno.ENOTSOCK;
        if (how is < 0 or > 2) return -Errno.EINVAL;
        return LibC.Shutdown(f.HostFd, how);
    }

    /// <summary>getsockname/getpeername: an unnamed AF_UNIX address for our pairs (the peer of a pair is unnamed
    /// too), -ENOTSOCK for anything else.</summary>
    static int Name(Task t, int fd, uint addr, uint lenp)
    {
        var f = t.Files.Get(fd);
        if (f == null) return -Errno.EBADF;
        if (f.Kind != FileKind.Socket) return -Errno.ENOTSOCK;
        if (!t.Mem.ReadU32(lenp, out uint len)) return -Errno.EFAULT;
        if ((int)len < 0) return -Errno.EINVAL;
        Span<byte> sa = stackalloc byte[2];
        U.W16(sa, 0, AF_UNIX);
        if (len > 0 && U.Put(t, addr, sa[..(int)Math.Min(len, 2u)]) != 0) return -Errno.EFAULT;
        return t.Mem.WriteU32(lenp, 2) ? 0 : -Errno.EFAULT;
    }
}
