using System.Runtime.InteropServices;
using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Net;

/// <summary>
/// A datagram the kernel itself queues on a guest's netlink socket (netlink_attachskb + netlink_sendskb), as
/// mq_notify's SIGEV_THREAD does with its cookie. A guest netlink socket is a host one, so compat32 sends the
/// bytes from a netlink socket of its own to the guest socket's port id; the guest then receives them as it
/// would the kernel's. Unicast between user ports of NETLINK_ROUTE needs CAP_NET_ADMIN on the host
/// (netlink_sendmsg's netlink_allowed check), so without it the datagram is lost (Send returns -EPERM).
/// </summary>
public static unsafe class NetlinkSkb
{
    static readonly object gate = new();
    static readonly Dictionary<int, int> senders = new(); // gate: protocol -> compat32's own host socket

    /// <summary>The socket's port id, autobinding it first if it has none (netlink_autobind picks the tgid, then
    /// ids from -4096 down, so any nonzero 32-bit value), or -errno.</summary>
    public static long PortOf(SocketFile s)
    {
        byte* a = stackalloc byte[12];
        int len = 12;
        int r = HostNet.GetSockName(s.HostFd, a, &len);
        if (r < 0) return r;
        uint pid = *(uint*)(a + 4);
        if (pid != 0) return pid;
        new Span<byte>(a, 12).Clear();
        *(ushort*)a = SockAddr.AF_NETLINK;
        r = HostNet.Bind(s.HostFd, a, 12);
        if (r < 0 && r != -Errno.EINVAL) return r; // EINVAL: another thread bound it meanwhile
        len = 12;
        r = HostNet.GetSockName(s.HostFd, a, &len);
        return r < 0 ? r : *(uint*)(a + 4);
    }

    /// <summary>Queue data on the netlink socket with this port id and protocol; bytes sent or -errno.</summary>
    public static long Send(int protocol, uint port, ReadOnlySpan<byte> data)
    {
        int fd;
        lock (gate)
        {
            if (!senders.TryGetValue(protocol, out fd))
            {
                fd = HostNet.Socket(SockAddr.AF_NETLINK, 3 /* SOCK_RAW */ | LibC.O_CLOEXEC, protocol);
                if (fd < 0) return fd;
                senders[protocol] = fd;
            }
        }
        byte* a = stackalloc byte[12];
        new Span<byte>(a, 12).Clear();
        *(ushort*)a = SockAddr.AF_NETLINK;
        *(uint*)(a + 4) = port;
        fixed (byte* d = data)
        {
            var iov = new HostIoVec { Base = d, Len = (nuint)data.Length };
            var m = new HostMsgHdr { Name = a, NameLen = 12, Iov = &iov, IovLen = 1 };
            return HostNet.SendMsg(fd, &m, 0x40 /* MSG_DONTWAIT */);
        }
    }
}
