using System.Text;
using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Net;

/// <summary>--strace lines for the socket calls as strace prints them: socketcall shows the call it carries, addresses
/// are decoded (`connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16)`),
/// output arguments are shown after the call.</summary>
public static class NetTrace
{
    public static void Register(SyscallTable s)
    {
        void D(int nr, int call) => s.Decoders[nr] = (t, a, ret) => Format(t, call, a, ret);
        D(Nr.socket, SocketCalls.SYS_SOCKET); D(Nr.socketpair, SocketCalls.SYS_SOCKETPAIR);
        D(Nr.bind, SocketCalls.SYS_BIND); D(Nr.connect, SocketCalls.SYS_CONNECT); D(Nr.listen, SocketCalls.SYS_LISTEN);
        D(Nr.accept4, SocketCalls.SYS_ACCEPT4); D(Nr.getsockopt, SocketCalls.SYS_GETSOCKOPT);
        D(Nr.setsockopt, SocketCalls.SYS_SETSOCKOPT); D(Nr.getsockname, SocketCalls.SYS_GETSOCKNAME);
        D(Nr.getpeername, SocketCalls.SYS_GETPEERNAME); D(Nr.sendto, SocketCalls.SYS_SENDTO);
        D(Nr.recvfrom, SocketCalls.SYS_RECVFROM); D(Nr.sendmsg, SocketCalls.SYS_SENDMSG);
        D(Nr.recvmsg, SocketCalls.SYS_RECVMSG); D(Nr.shutdown, SocketCalls.SYS_SHUTDOWN);
        D(Nr.sendmmsg, SocketCalls.SYS_SENDMMSG); D(Nr.recvmmsg, SocketCalls.SYS_RECVMMSG);
        s.Decoders[Nr.socketcall] = (t, a, ret) =>
        {
            int call = (int)a[0];
            if (call < 1 || call > 20) return $"socketcall({call}, 0x{a[1]:x})";
            var b = new byte[24];
            int n = new byte[] { 0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4, 5, 4 }[call];
            if (!t.Mem.CopyFromUser(a[1], b.AsSpan(0, n * 4))) return $"socketcall({call}, 0x{a[1]:x})";
            var args = new uint[6];
            for (int i = 0; i < 6; i++) args[i] = U.R32(b, i * 4);
            return Format(t, call, args, ret);
        };
    }

    static readonly string[] Names = { "", "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername",
        "socketpair", "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt", "getsockopt", "sendmsg", "recvmsg",
        "accept4", "recvmmsg", "sendmmsg" };

    static string Format(Task t, int call, uint[] a, int ret)
    {
        var sb = new StringBuilder(Names[call]).Append('(');
        string fd = ((int)a[0]).ToString();
        bool ok = ret >= 0;
        switch (call)
        {
            case SocketCalls.SYS_SOCKET:
                sb.Append(SockAddr.FamilyName((int)a[0])).Append(", ").Append(Type((int)a[1])).Append(", ").Append(Proto((int)a[0], (int)a[2]));
                break;
            case SocketCalls.SYS_SOCKETPAIR:
                sb.Append(SockAddr.FamilyName((int)a[0])).Append(", ").Append(Type((int)a[1])).Append(", ").Append((int)a[2]).Append(", ");
                if (ok && t.Mem.ReadU32(a[3], out uint x) && t.Mem.ReadU32(a[3] + 4, out uint y)) sb.Append('[').Append((int)x).Append(", ").Append((int)y).Append(']');
                else sb.Append(Ptr(a[3]));
                break;
            case SocketCalls.SYS_BIND: case SocketCalls.SYS_CONNECT:
                sb.Append(fd).Append(", ").Append(Addr(t, a[1], (int)a[2])).Append(", ").Append((int)a[2]);
                break;
            case SocketCalls.SYS_LISTEN:
                sb.Append(fd).Append(", ").Append((int)a[1]);
                break;
            case SocketCalls.SYS_ACCEPT: case SocketCalls.SYS_ACCEPT4: case SocketCalls.SYS_GETSOCKNAME: case SocketCalls.SYS_GETPEERNAME:
                sb.Append(fd).Append(", ").Append(OutAddr(t, a[1], a[2], ok));
                if (call == SocketCalls.SYS_ACCEPT4) sb.Append(", ").Append(SockFlags((int)a[3]));
                break;
            case SocketCalls.SYS_SEND: case SocketCalls.SYS_SENDTO:
                sb.Append(fd).Append(", ").Append(Buf(t, a[1], a[2])).Append(", ").Append(a[2]).Append(", ").Append(MsgFlags((int)a[3]));
                if (call == SocketCalls.SYS_SENDTO) sb.Append(", ").Append(Addr(t, a[4], (int)a[5])).Append(", ").Append((int)a[5]);
                break;
            case SocketCalls.SYS_RECV: case SocketCalls.SYS_RECVFROM:
                sb.Append(fd).Append(", ").Append(ok ? Buf(t, a[1], (uint)ret) : Ptr(a[1])).Append(", ").Append(a[2]).Append(", ").Append(MsgFlags((int)a[3]));
                if (call == SocketCalls.SYS_RECVFROM) sb.Append(", ").Append(OutAddr(t, a[4], a[5], ok));
                break;
            case SocketCalls.SYS_SHUTDOWN:
                sb.Append(fd).Append(", ").Append((int)a[1] switch { 0 => "SHUT_RD", 1 => "SHUT_WR", 2 => "SHUT_RDWR", var v => v.ToString() });
                break;
            case SocketCalls.SYS_SETSOCKOPT:
                sb.Append(fd).Append(", ").Append(Level((int)a[1])).Append(", ").Append(Opt((int)a[1], (int)a[2])).Append(", ")
                  .Append(OptVal(t, a[3], (int)a[4])).Append(", ").Append((int)a[4]);
                break;
            case SocketCalls.SYS_GETSOCKOPT:
            {
                sb.Append(fd).Append(", ").Append(Level((int)a[1])).Append(", ").Append(Opt((int)a[1], (int)a[2])).Append(", ");
                if (ok && t.Mem.ReadU32(a[4], out uint l)) sb.Append(OptVal(t, a[3], (int)l)).Append(", [").Append(l).Append(']');
                else sb.Append(Ptr(a[3])).Append(", ").Append(Ptr(a[4]));
                break;
            }
            case SocketCalls.SYS_SENDMSG: case SocketCalls.SYS_RECVMSG:
                sb.Append(fd).Append(", ").Append(Msg(t, a[1], call == SocketCalls.SYS_SENDMSG || ok, call == SocketCalls.SYS_RECVMSG ? ret : -1))
                  .Append(", ").Append(MsgFlags((int)a[2]));
                break;
            default: // sendmmsg / recvmmsg
                sb.Append(fd).Append(", ").Append(Ptr(a[1])).Append(", ").Append(a[2]).Append(", ").Append(MsgFlags((int)a[3]));
                if (call == SocketCalls.SYS_RECVMMSG) sb.Append(", ").Append(Ptr(a[4]));
                break;
        }
        return sb.Append(')').ToString();
    }

    static string Ptr(uint p) => p == 0 ? "NULL" : "0x" + p.ToString("x");

    static string Buf(Task t, uint p, uint len)
    {
        uint n = Math.Min(len, 32u);
        var b = new byte[n];
        if (!t.Mem.CopyFromUser(p, b)) return Ptr(p);
        return SyscallTable.Quote(b, 32) + (len > 32 ? "..." : "");
    }

    static string Addr(Task t, uint p, int len)
    {
        if (p == 0) return "NULL";
        if (len <= 0 || len > SockAddr.MaxLen) return Ptr(p);
        var b = new byte[len];
        return t.Mem.CopyFromUser(p, b) ? SockAddr.Format(b) : Ptr(p);
    }

    static string OutAddr(Task t, uint p, uint lenp, bool ok)
    {
        if (p == 0) return "NULL, " + Ptr(lenp);
        if (!ok || !t.Mem.ReadU32(lenp, out uint l)) return Ptr(p) + ", " + Ptr(lenp);
        return Addr(t, p, (int)Math.Min(l, (uint)SockAddr.MaxLen)) + ", [" + l + "]";
    }

    static string OptVal(Task t, uint p, int len)
    {
        if (p == 0) return "NULL";
        if (len == 4 && t.Mem.ReadU32(p, out uint v)) return "[" + (int)v + "]";
        if (len == 8 && t.Mem.ReadU32(p, out uint x) && t.Mem.ReadU32(p + 4, out uint y)) return "{" + (int)x + ", " + (int)y + "}";
        return Ptr(p);
    }

    static string Msg(Task t, uint p, bool show, int ret)
    {
        var m = new byte[28];
        if (!show || !t.Mem.CopyFromUser(p, m)) return Ptr(p);
        uint name = U.R32(m, 0), iov = U.R32(m, 8), iovlen = U.R32(m, 12), ctl = U.R32(m, 16);
        int namelen = (int)U.R32(m, 4);
        var sb = new StringBuilder("{msg_name=").Append(name == 0 ? "NULL" : Addr(t, name, namelen)).Append(", msg_namelen=").Append(namelen)
            .Append(", msg_iov=[");
        long left = ret < 0 ? long.MaxValue : ret;
        for (uint i = 0; i < Math.Min(iovlen, 8u); i++)
        {
            if (!t.Mem.ReadU32(iov + i * 8, out uint b) || !t.Mem.ReadU32(iov + i * 8 + 4, out uint l)) break;
            if (i > 0) sb.Append(", ");
            uint shown = (uint)Math.Min(l, left);
            sb.Append("{iov_base=").Append(Buf(t, b, shown)).Append(", iov_len=").Append(l).Append('}');
            left -= shown;
        }
        sb.Append("], msg_iovlen=").Append(iovlen);
        if (ctl != 0) sb.Append(", msg_control=").Append(Ptr(ctl)).Append(", msg_controllen=").Append(U.R32(m, 20));
        else sb.Append(", msg_controllen=").Append(U.R32(m, 20));
        sb.Append(", msg_flags=").Append(MsgFlags((int)U.R32(m, 24))).Append('}');
        return sb.ToString();
    }

    static string Type(int v)
    {
        string b = (v & 0xF) switch { 1 => "SOCK_STREAM", 2 => "SOCK_DGRAM", 3 => "SOCK_RAW", 4 => "SOCK_RDM", 5 => "SOCK_SEQPACKET", 10 => "SOCK_PACKET", var x => x.ToString() };
        if ((v & SocketCalls.SOCK_CLOEXEC) != 0) b += "|SOCK_CLOEXEC";
        if ((v & SocketCalls.SOCK_NONBLOCK) != 0) b += "|SOCK_NONBLOCK";
        int rest = v & ~0xF & ~(SocketCalls.SOCK_CLOEXEC | SocketCalls.SOCK_NONBLOCK);
        return rest != 0 ? b + "|0x" + rest.ToString("x") : b;
    }

    static string SockFlags(int v)
    {
        if (v == 0) return "0";
        var p = new List<string>();
        if ((v & SocketCalls.SOCK_CLOEXEC) != 0) p.Add("SOCK_CLOEXEC");
        if ((v & SocketCalls.SOCK_NONBLOCK) != 0) p.Add("SOCK_NONBLOCK");
        int rest = v & ~(SocketCalls.SOCK_CLOEXEC | SocketCalls.SOCK_NONBLOCK);
        if (rest != 0) p.Add("0x" + rest.ToString("x"));
        return string.Join("|", p);
    }

    static string Proto(int fam, int p) => fam is SockAddr.AF_INET or SockAddr.AF_INET6 ? p switch
    {
        0 => "IPPROTO_IP", 6 => "IPPROTO_TCP", 17 => "IPPROTO_UDP", 1 => "IPPROTO_ICMP", 58 => "IPPROTO_ICMPV6", _ => p.ToString(),
    } : fam == SockAddr.AF_NETLINK ? p switch { 0 => "NETLINK_ROUTE", 15 => "NETLINK_KOBJECT_UEVENT", 16 => "NETLINK_GENERIC", 4 => "NETLINK_SOCK_DIAG", _ => p.ToString() }
      : p.ToString();

    static readonly (int bit, string name)[] MsgBits =
    {
        (1, "MSG_OOB"), (2, "MSG_PEEK"), (4, "MSG_DONTROUTE"), (8, "MSG_CTRUNC"), (0x10, "MSG_PROXY"), (0x20, "MSG_TRUNC"),
        (0x40, "MSG_DONTWAIT"), (0x80, "MSG_EOR"), (0x100, "MSG_WAITALL"), (0x200, "MSG_FIN"), (0x400, "MSG_SYN"),
        (0x800, "MSG_CONFIRM"), (0x1000, "MSG_RST"), (0x2000, "MSG_ERRQUEUE"), (0x4000, "MSG_NOSIGNAL"), (0x8000, "MSG_MORE"),
        (0x10000, "MSG_WAITFORONE"), (0x40000, "MSG_BATCH"), (0x4000000, "MSG_ZEROCOPY"), (0x20000000, "MSG_FASTOPEN"),
        (0x40000000, "MSG_CMSG_CLOEXEC"),
    };

    static string MsgFlags(int v)
    {
        if (v == 0) return "0";
        var p = new List<string>();
        foreach (var (bit, name) in MsgBits) if ((v & bit) != 0) { p.Add(name); v &= ~bit; }
        if (v != 0) p.Add("0x" + ((uint)v).ToString("x"));
        return string.Join("|", p);
    }

    static string Level(int l) => l switch { 1 => "SOL_SOCKET", 0 => "SOL_IP", 6 => "SOL_TCP", 17 => "SOL_UDP", 41 => "SOL_IPV6", _ => l.ToString() };

    static string Opt(int level, int o) => level switch
    {
        1 => o switch
        {
            1 => "SO_DEBUG", 2 => "SO_REUSEADDR", 3 => "SO_TYPE", 4 => "SO_ERROR", 5 => "SO_DONTROUTE", 6 => "SO_BROADCAST",
            7 => "SO_SNDBUF", 8 => "SO_RCVBUF", 9 => "SO_KEEPALIVE", 10 => "SO_OOBINLINE", 12 => "SO_PRIORITY", 13 => "SO_LINGER",
            15 => "SO_REUSEPORT", 16 => "SO_PASSCRED", 17 => "SO_PEERCRED", 18 => "SO_RCVLOWAT", 19 => "SO_SNDLOWAT",
            20 => "SO_RCVTIMEO_OLD", 21 => "SO_SNDTIMEO_OLD", 29 => "SO_TIMESTAMP_OLD", 38 => "SO_PROTOCOL", 39 => "SO_DOMAIN",
            66 => "SO_RCVTIMEO_NEW", 67 => "SO_SNDTIMEO_NEW", _ => o.ToString(),
        },
        6 => o switch { 1 => "TCP_NODELAY", 2 => "TCP_MAXSEG", 3 => "TCP_CORK", 4 => "TCP_KEEPIDLE", 5 => "TCP_KEEPINTVL", 6 => "TCP_KEEPCNT", 11 => "TCP_INFO", _ => o.ToString() },
        0 => o switch { 1 => "IP_TOS", 2 => "IP_TTL", 32 => "IP_MULTICAST_IF", 33 => "IP_MULTICAST_TTL", 34 => "IP_MULTICAST_LOOP", 35 => "IP_ADD_MEMBERSHIP", 36 => "IP_DROP_MEMBERSHIP", _ => o.ToString() },
        41 => o switch { 26 => "IPV6_V6ONLY", 16 => "IPV6_UNICAST_HOPS", _ => o.ToString() },
        _ => o.ToString(),
    };
}
