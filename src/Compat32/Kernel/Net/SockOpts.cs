using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Net;

/// <summary>setsockopt/getsockopt: the host's options, with the compat layouts Linux converts for i386 callers
/// (sock_set_timeout/sock_get_timeout's old_timeval32, copy_bpf_fprog_from_user's compat_sock_fprog,
/// compat_group_req / compat_group_source_req) and SO_PEERCRED naming guest pids.</summary>
public static unsafe partial class SocketCalls
{
    const int SO_RCVTIMEO_OLD = 20, SO_SNDTIMEO_OLD = 21, SO_ATTACH_FILTER = 26, SO_ATTACH_REUSEPORT_CBPF = 51,
        SO_RCVTIMEO_NEW = 66, SO_SNDTIMEO_NEW = 67;
    const int IPPROTO_IP = 0, IPPROTO_IPV6 = 41, MCAST_JOIN_GROUP = 42, MCAST_BLOCK_SOURCE = 43,
        MCAST_UNBLOCK_SOURCE = 44, MCAST_LEAVE_GROUP = 45, MCAST_JOIN_SOURCE_GROUP = 46, MCAST_LEAVE_SOURCE_GROUP = 47;
    const int MaxOpt = 1 << 16;

    static int SetSockOpt(Task t, int fd, int level, int name, uint val, int len)
    {
        if (len < 0) return -Errno.EINVAL;
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        if (len > MaxOpt) return -Errno.ENOBUFS;
        var g = new byte[len];
        if (len > 0 && U.Get(t, val, g) != 0) return -Errno.EFAULT;
        if (level == SOL_SOCKET && name is SO_RCVTIMEO_OLD or SO_SNDTIMEO_OLD)
        {
            if (len < 8) return -Errno.EINVAL;
            long* tv = stackalloc long[2];
            tv[0] = (int)U.R32(g, 0);
            tv[1] = (int)U.R32(g, 4);
            r = HostNet.SetSockOpt(s.HostFd, level, name, (byte*)tv, 16);
            if (r == 0) CacheTimeout(s, name == SO_RCVTIMEO_OLD);
            return r;
        }
        if (level == SOL_SOCKET && name is SO_ATTACH_FILTER or SO_ATTACH_REUSEPORT_CBPF)
        {
            if (len != 8) return -Errno.EINVAL;
            ushort n = U.R16(g, 0);
            uint filt = U.R32(g, 4);
            if (n > 0 && !t.Mem.CanRead(filt, (uint)n * 8)) return -Errno.EFAULT;
            byte* fp = stackalloc byte[16];
            *(ulong*)fp = 0;
            *(ushort*)fp = n;
            *(byte**)(fp + 8) = n > 0 ? t.Mem.Ptr(filt) : null;
            return HostNet.SetSockOpt(s.HostFd, level, name, fp, 16);
        }
        if (level is IPPROTO_IP or IPPROTO_IPV6 && name is >= MCAST_JOIN_GROUP and <= MCAST_LEAVE_SOURCE_GROUP)
        {
            // compat_group_req / compat_group_source_req: the sockaddr_storage members follow the u32 without the
            // padding the host's 8-byte alignment puts there.
            bool source = name is MCAST_BLOCK_SOURCE or MCAST_UNBLOCK_SOURCE or MCAST_JOIN_SOURCE_GROUP or MCAST_LEAVE_SOURCE_GROUP;
            int need = source ? 260 : 132;
            if (len < need) return -Errno.EINVAL;
            var h = new byte[need + 4];
            Array.Copy(g, 0, h, 0, 4);
            Array.Copy(g, 4, h, 8, need - 4);
            fixed (byte* p = h) return HostNet.SetSockOpt(s.HostFd, level, name, p, h.Length);
        }
        fixed (byte* p = g) r = HostNet.SetSockOpt(s.HostFd, level, name, len > 0 ? p : null, len);
        if (r == 0 && level == SOL_SOCKET && name is SO_RCVTIMEO_NEW or SO_SNDTIMEO_NEW) CacheTimeout(s, name == SO_RCVTIMEO_NEW);
        return r;
    }

    /// <summary>Keep the host's own rounding of the timeout (jiffies) as the wait bound.</summary>
    static void CacheTimeout(SocketFile s, bool rcv)
    {
        long* tv = stackalloc long[2];
        int len = 16;
        if (HostNet.GetSockOpt(s.HostFd, SOL_SOCKET, rcv ? SO_RCVTIMEO_NEW : SO_SNDTIMEO_NEW, (byte*)tv, &len) < 0) return;
        long ns = tv[0] * 1_000_000_000 + tv[1] * 1000;
        if (rcv) Volatile.Write(ref s.RcvTimeoNs, ns); else Volatile.Write(ref s.SndTimeoNs, ns);
    }

    static int GetSockOpt(Task t, int fd, int level, int name, uint val, uint lenp)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        if (!t.Mem.ReadU32(lenp, out uint ul)) return -Errno.EFAULT;
        int len = (int)ul;
        if (len < 0) return -Errno.EINVAL;
        if (level == SOL_SOCKET && name is SO_RCVTIMEO_OLD or SO_SNDTIMEO_OLD)
        {
            long* tv = stackalloc long[2];
            int hl = 16;
            r = HostNet.GetSockOpt(s.HostFd, level, name, (byte*)tv, &hl);
            if (r < 0) return r;
            Span<byte> b = stackalloc byte[8];
            U.W32(b, 0, (int)tv[0]);
            U.W32(b, 4, (int)tv[1]);
            return PutOpt(t, b, len, val, lenp);
        }
        if (level == SOL_SOCKET && name == SO_PEERCRED)
        {
            int* u = stackalloc int[3];
            int hl = 12;
            r = HostNet.GetSockOpt(s.HostFd, level, name, (byte*)u, &hl);
            if (r < 0) return r;
            Cred? pc;
            lock (s.Lock) pc = s.PeerCred;
            var c = u[0] == HostPid && pc != null ? pc.Value : new Cred(u[0], (uint)u[1], (uint)u[2]);
            Span<byte> b = stackalloc byte[12];
            U.W32(b, 0, c.Pid); U.W32(b, 4, c.Uid); U.W32(b, 8, c.Gid);
            return PutOpt(t, b, len, val, lenp);
        }
        int take = Math.Min(len, MaxOpt);
        var h = new byte[Math.Max(take, 4)];
        int got = take;
        fixed (byte* p = h) r = HostNet.GetSockOpt(s.HostFd, level, name, p, &got);
        if (r < 0) return r;
        got = Math.Clamp(got, 0, h.Length);
        if (got > 0 && U.Put(t, val, h.AsSpan(0, got)) != 0) return -Errno.EFAULT;
        return t.Mem.WriteU32(lenp, (uint)got) ? 0 : -Errno.EFAULT;
    }

    /// <summary>sock_getsockopt's tail: min(len, size) bytes, and that length stored back.</summary>
    static int PutOpt(Task t, ReadOnlySpan<byte> v, int len, uint val, uint lenp)
    {
        if (len > v.Length) len = v.Length;
        if (len > 0 && U.Put(t, val, v[..len]) != 0) return -Errno.EFAULT;
        return t.Mem.WriteU32(lenp, (uint)len) ? 0 : -Errno.EFAULT;
    }
}
