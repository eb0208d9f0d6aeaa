using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Net;

/// <summary>
/// Socket and interface ioctls (sock_ioctl, compat_sock_ioctl, dev_ioctl). struct ifreq is 32 bytes for i386 and
/// 40 on the host (its union holds a struct ifmap of unsigned longs), but the name and the first 16 bytes of the
/// union mean the same, so most requests bounce through a host ifreq; SIOCGIFCONF's array (dev_ifconf with
/// sizeof(struct compat_ifreq)) and SIOCGIFMAP's compat_ifmap are converted.
/// </summary>
public static unsafe class NetIoctl
{
    const uint FIONREAD = 0x541B, TIOCOUTQ = 0x5411, FIONBIO = 0x5421, FIOSETOWN = 0x8901, SIOCSPGRP = 0x8902,
        FIOGETOWN = 0x8903, SIOCGPGRP = 0x8904, SIOCATMARK = 0x8905, SIOCGSTAMP_OLD = 0x8906, SIOCGSTAMPNS_OLD = 0x8907,
        SIOCGIFCONF = 0x8912, SIOCGIFMAP = 0x8970, SIOCSIFMAP = 0x8971, SIOCOUTQNSD = 0x894B;
    const int HostIfreq = 40, CompatIfreq = 32;

    static bool IsIfreq(uint req) => req is 0x8910 /* SIOCGIFNAME */ or 0x8913 or 0x8914 /* SIOCG/SIFFLAGS */
        or 0x8915 or 0x8916 /* ADDR */ or 0x8917 or 0x8918 /* DSTADDR */ or 0x8919 or 0x891a /* BRDADDR */
        or 0x891b or 0x891c /* NETMASK */ or 0x891d or 0x891e /* METRIC */ or 0x8921 or 0x8922 /* MTU */
        or 0x8923 /* SIOCSIFNAME */ or 0x8924 /* SIOCSIFHWADDR */ or 0x8927 /* SIOCGIFHWADDR */
        or 0x8933 /* SIOCGIFINDEX */ or 0x8942 or 0x8943 /* TXQLEN */;

    /// <summary>A socket's ioctl; null when it is not one of these (the caller's generic path answers).</summary>
    public static int? Ioctl(Task t, SocketFile s, uint req, uint arg)
    {
        switch (req)
        {
            case FIONBIO:
            {
                // The guest's O_NONBLOCK; the host descriptor stays non-blocking.
                if (!t.Mem.ReadU32(arg, out uint on)) return -Errno.EFAULT;
                lock (s.Lock) s.Flags = on != 0 ? s.Flags | LibC.O_NONBLOCK : s.Flags & ~LibC.O_NONBLOCK;
                return 0;
            }
            case FIONREAD: case TIOCOUTQ: case SIOCATMARK: case SIOCOUTQNSD:
            {
                int v = 0;
                int r = LibC.Ioctl(s.HostFd, req, (byte*)&v);
                if (r < 0) return r;
                return t.Mem.WriteU32(arg, (uint)v) ? 0 : -Errno.EFAULT;
            }
            case FIOSETOWN: case SIOCSPGRP:
                return t.Mem.ReadU32(arg, out _) ? 0 : -Errno.EFAULT;
            case FIOGETOWN: case SIOCGPGRP:
                return t.Mem.WriteU32(arg, 0) ? 0 : -Errno.EFAULT;
            case SIOCGSTAMP_OLD: case SIOCGSTAMPNS_OLD:
            {
                long* ts = stackalloc long[2];
                int r = LibC.Ioctl(s.HostFd, req, (byte*)ts);
                if (r < 0) return r;
                return t.Mem.WriteU32(arg, (uint)(int)ts[0]) && t.Mem.WriteU32(arg + 4, (uint)(int)ts[1]) ? 0 : -Errno.EFAULT;
            }
            case SIOCGIFCONF: return IfConf(t, s, arg);
            case SIOCGIFMAP: case SIOCSIFMAP: return IfMap(t, s, req, arg);
        }
        if (!IsIfreq(req)) return null;
        byte* h = stackalloc byte[HostIfreq];
        new Span<byte>(h, HostIfreq).Clear();
        if (!t.Mem.CopyFromUser(arg, new Span<byte>(h, CompatIfreq))) return -Errno.EFAULT;
        int res = LibC.Ioctl(s.HostFd, req, h);
        if (res < 0) return res;
        bool get = req is 0x8910 or 0x8913 or 0x8915 or 0x8917 or 0x8919 or 0x891b or 0x891d or 0x8921 or 0x8927 or 0x8933 or 0x8942;
        if (get && !t.Mem.CopyToUser(arg, new ReadOnlySpan<byte>(h, CompatIfreq))) return -Errno.EFAULT;
        return res;
    }

    /// <summary>dev_ifconf for a compat caller: struct compat_ifconf {s32 len; u32 buf}, entries of 32 bytes.</summary>
    static int IfConf(Task t, SocketFile s, uint arg)
    {
        if (!t.Mem.ReadU32(arg, out uint ulen) || !t.Mem.ReadU32(arg + 4, out uint buf)) return -Errno.EFAULT;
        int len = (int)ulen;
        int n = buf == 0 ? 0 : Math.Max(0, len) / CompatIfreq;
        var hb = new byte[Math.Max(1, n) * HostIfreq];
        long* ifc = stackalloc long[2];
        fixed (byte* p = hb)
        {
            ifc[0] = buf == 0 ? 0 : n * HostIfreq;
            ifc[1] = buf == 0 ? 0 : (long)p;
            int r = LibC.Ioctl(s.HostFd, SIOCGIFCONF, (byte*)ifc);
            if (r < 0) return r;
        }
        int count = (int)ifc[0] / HostIfreq;
        if (buf != 0)
        {
            for (int i = 0; i < count; i++)
                if (!t.Mem.CopyToUser(buf + (uint)(i * CompatIfreq), hb.AsSpan(i * HostIfreq, CompatIfreq))) return -Errno.EFAULT;
        }
        return t.Mem.WriteU32(arg, (uint)(count * CompatIfreq)) ? 0 : -Errno.EFAULT;
    }

    /// <summary>SIOCGIFMAP/SIOCSIFMAP with struct compat_ifmap {u32 mem_start, mem_end; u16 base_addr; u8 irq, dma, port}.</summary>
    static int IfMap(Task t, SocketFile s, uint req, uint arg)
    {
        var g = new byte[CompatIfreq];
        if (U.Get(t, arg, g) != 0) return -Errno.EFAULT;
        byte* h = stackalloc byte[HostIfreq];
        new Span<byte>(h, HostIfreq).Clear();
        g.AsSpan(0, 16).CopyTo(new Span<byte>(h, 16));
        *(ulong*)(h + 16) = U.R32(g, 16);
        *(ulong*)(h + 24) = U.R32(g, 20);
        *(ushort*)(h + 32) = U.R16(g, 24);
        h[34] = g[26]; h[35] = g[27]; h[36] = g[28];
        int r = LibC.Ioctl(s.HostFd, req, h);
        if (r < 0 || req == SIOCSIFMAP) return r;
        U.W32(g, 16, (uint)*(ulong*)(h + 16));
        U.W32(g, 20, (uint)*(ulong*)(h + 24));
        U.W16(g, 24, *(ushort*)(h + 32));
        g[26] = h[34]; g[27] = h[35]; g[28] = h[36];
        return U.Put(t, arg, g);
    }
}
