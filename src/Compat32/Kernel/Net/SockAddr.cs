using System.Text;
using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Net;

/// <summary>
/// Socket addresses between the guest and the host. Every family's sockaddr has the same layout on i386 and on the
/// 64-bit host (sockaddr_in 16, sockaddr_in6 28, sockaddr_nl 12, sockaddr_un 110 bytes), so only AF_UNIX path names
/// change: they are guest paths, resolved like every other (the sysroot, the guest's cwd), and come back as the
/// guest named them.
/// </summary>
public static class SockAddr
{
    public const int AF_UNSPEC = 0, AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_PACKET = 17;
    public const int MaxLen = 128; // sizeof(struct sockaddr_storage)
    const int SunPathMax = 108;

    /// <summary>move_addr_to_kernel: -EINVAL for a length outside 0..128, -EFAULT for a bad pointer.</summary>
    public static int FromUser(Task t, uint addr, int len, out byte[] a)
    {
        a = Array.Empty<byte>();
        if (len < 0 || len > MaxLen) return -Errno.EINVAL;
        if (len == 0) return 0;
        a = new byte[len];
        return U.Get(t, addr, a);
    }

    /// <summary>move_addr_to_user: copies min(*ulen, klen) bytes and stores klen; -EINVAL for a negative *ulen.</summary>
    public static int ToUser(Task t, ReadOnlySpan<byte> k, uint uaddr, uint ulenp)
    {
        if (!t.Mem.ReadU32(ulenp, out uint ul)) return -Errno.EFAULT;
        int len = (int)ul;
        if (len < 0) return -Errno.EINVAL;
        if (len > k.Length) len = k.Length;
        if (len > 0 && U.Put(t, uaddr, k[..len]) != 0) return -Errno.EFAULT;
        return t.Mem.WriteU32(ulenp, (uint)k.Length) ? 0 : -Errno.EFAULT;
    }

    /// <summary>
    /// An AF_UNIX guest address for the host (unix_validate_addr + unix_mkname_bsd): -EINVAL for a bad length or
    /// family. A path name is resolved as a guest path; too long for sun_path, it is reached through
    /// /proc/self/fd/N/base with N a directory descriptor the caller closes (tmpFd). guestNorm is the name as
    /// Linux stores it (the path up to its NUL, plus the NUL).
    /// </summary>
    public static int UnixToHost(Task t, byte[] g, out byte[] host, out byte[] guestNorm, out int tmpFd)
    {
        host = guestNorm = Array.Empty<byte>();
        tmpFd = -1;
        if (g.Length < 2 || g.Length > 110 || BitConverter.ToUInt16(g, 0) != AF_UNIX) return -Errno.EINVAL;
        if (g.Length == 2 || g[2] == 0) { host = guestNorm = g; return 0; } // autobind or abstract: as is
        int end = 2;
        while (end < g.Length && g[end] != 0) end++;
        var path = g[2..end];
        guestNorm = new byte[end + 1];
        Array.Copy(g, guestNorm, end);
        int r = PathResolver.Resolve(t, LibC.AT_FDCWD, path, out var hp);
        if (r < 0) return r;
        byte[] hpath = hp.DirFd == LibC.AT_FDCWD ? hp.Path
            : Concat(Encoding.ASCII.GetBytes("/proc/self/fd/" + hp.DirFd + "/"), hp.Path);
        if (hpath.Length >= SunPathMax)
        {
            int slash = Array.LastIndexOf(hpath, (byte)'/');
            byte[] dir = slash <= 0 ? (slash == 0 ? "/"u8.ToArray() : "."u8.ToArray()) : hpath[..slash];
            byte[] name = hpath[(slash + 1)..];
            tmpFd = LibC.OpenAt(LibC.AT_FDCWD, dir, LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
            if (tmpFd < 0) { int e = tmpFd; tmpFd = -1; return e; }
            hpath = Concat(Encoding.ASCII.GetBytes("/proc/self/fd/" + tmpFd + "/"), name);
            if (hpath.Length >= SunPathMax) return -Errno.ENAMETOOLONG;
        }
        host = new byte[2 + hpath.Length + 1];
        host[0] = AF_UNIX;
        hpath.CopyTo(host, 2);
        return 0;
    }

    /// <summary>The host sun_path key of a host AF_UNIX address (empty for unnamed).</summary>
    public static string HostKey(ReadOnlySpan<byte> host)
    {
        if (host.Length <= 2) return "";
        var p = host[2..];
        if (p[0] != 0) { int z = p.IndexOf((byte)0); if (z >= 0) p = p[..z]; }
        return UnixNames.Key(p);
    }

    /// <summary>A host address as the guest sees it: AF_UNIX names bound by guests come back as the guest gave
    /// them; other host paths leave the sysroot prefix behind.</summary>
    public static byte[] ToGuest(Task t, ReadOnlySpan<byte> host)
    {
        if (host.Length < 2 || BitConverter.ToUInt16(host[..2]) != AF_UNIX || host.Length == 2) return host.ToArray();
        string key = HostKey(host);
        var g = UnixNames.GuestAddr(key);
        if (g != null) return g;
        if (host[2] == 0) return host.ToArray();
        var hp = Encoding.UTF8.GetString(host[2..].ToArray().TakeWhile(b => b != 0).ToArray());
        var gp = Encoding.UTF8.GetBytes(PathResolver.GuestView(t.Kernel.Options.Sysroot, hp));
        var r = new byte[2 + gp.Length + 1];
        r[0] = AF_UNIX;
        gp.CopyTo(r, 2);
        return r;
    }

    static byte[] Concat(byte[] a, byte[] b) { var r = new byte[a.Length + b.Length]; a.CopyTo(r, 0); b.CopyTo(r, a.Length); return r; }

    // ------------------------------------------------------------ strace

    /// <summary>A sockaddr as strace prints it.</summary>
    public static string Format(ReadOnlySpan<byte> a)
    {
        if (a.Length < 2) return a.Length == 0 ? "{}" : "{sa_family=???}";
        int fam = BitConverter.ToUInt16(a[..2]);
        var sb = new StringBuilder("{sa_family=").Append(FamilyName(fam));
        switch (fam)
        {
            case AF_UNIX:
                if (a.Length > 2)
                {
                    var p = a[2..];
                    bool abs = p[0] == 0;
                    if (abs) p = p[1..];
                    else { int z = p.IndexOf((byte)0); if (z >= 0) p = p[..z]; }
                    sb.Append(", sun_path=").Append(abs ? "@" : "").Append(SyscallTable.Quote(p, 108));
                }
                break;
            case AF_INET when a.Length >= 8:
                sb.Append(", sin_port=htons(").Append(a[2] << 8 | a[3]).Append("), sin_addr=inet_addr(\"")
                  .Append(a[4]).Append('.').Append(a[5]).Append('.').Append(a[6]).Append('.').Append(a[7]).Append("\")");
                break;
            case AF_INET6 when a.Length >= 24:
                sb.Append(", sin6_port=htons(").Append(a[2] << 8 | a[3]).Append("), sin6_flowinfo=htonl(")
                  .Append((uint)(a[4] << 24 | a[5] << 16 | a[6] << 8 | a[7])).Append("), inet_pton(AF_INET6, \"")
                  .Append(new System.Net.IPAddress(a.Slice(8, 16)).ToString()).Append("\", &sin6_addr)");
                if (a.Length >= 28) sb.Append(", sin6_scope_id=").Append(BitConverter.ToUInt32(a.Slice(24, 4)));
                break;
            case AF_NETLINK when a.Length >= 12:
                sb.Append(", nl_pid=").Append(BitConverter.ToUInt32(a.Slice(4, 4)))
                  .Append(", nl_groups=").Append(BitConverter.ToUInt32(a.Slice(8, 4)).ToString("x8"));
                break;
            default:
                if (a.Length > 2) sb.Append(", sa_data=").Append(SyscallTable.Quote(a[2..], 14));
                break;
        }
        return sb.Append('}').ToString();
    }

    public static string FamilyName(int f) => f switch
    {
        AF_UNSPEC => "AF_UNSPEC", AF_UNIX => "AF_UNIX", AF_INET => "AF_INET", AF_INET6 => "AF_INET6",
        AF_NETLINK => "AF_NETLINK", AF_PACKET => "AF_PACKET", _ => f.ToString(),
    };
}
