using System.Collections.Concurrent;
using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Net;

/// <summary>The data path: send/recv, sendmsg/recvmsg with the compat msghdr and cmsg layouts (net/compat.c),
/// sendmmsg/recvmmsg, and read/write/readv/writev on sockets (sock_read_iter / sock_write_iter).</summary>
public static unsafe partial class SocketCalls
{
    public const int SOL_SOCKET = 1, SCM_RIGHTS = 1, SCM_CREDENTIALS = 2, SO_ERROR = 4, SO_PEERCRED = 17, SO_PROTOCOL = 38,
        SO_DOMAIN = 39, SO_TYPE = 3;
    const int SO_TIMESTAMP_OLD = 29, SO_TIMESTAMPNS_OLD = 35, SO_TIMESTAMPING_OLD = 37;
    const int SCM_MAX_FD = 253;

    /// <summary>Guest O_NONBLOCK of sockets passed through SCM_RIGHTS, by host inode, for a receiver that finds the
    /// sender's socket already closed (its host description, always O_NONBLOCK on the host, lives on in flight).</summary>
    static readonly ConcurrentDictionary<ulong, int> inFlightFlags = new();

    // ------------------------------------------------------------ iovecs

    /// <summary>A guest compat_iovec array as host iovecs into guest memory (import_iovec): -EINVAL for a negative
    /// length, -EFAULT for an unreadable array or an inaccessible buffer; the total is capped at MAX_RW_COUNT.</summary>
    static int ImportIov(Task t, uint iovp, uint cnt, bool toGuest, out HostIoVec[] v, out long total) =>
        ImportIov(t, iovp, cnt, toGuest, out v, out total, out _);

    /// <summary>Receive buffers the guest cannot write are received into host memory and copied afterwards, so
    /// the protocol's own errors come first (access_ok passes any i386 address) and a fault is -EFAULT at the copy,
    /// as skb_copy_datagram_msg's.</summary>
    sealed class Bounce : IDisposable
    {
        readonly List<(int index, uint guest, nint host)> parts = new();
        public void Add(int index, uint guest, nint host) => parts.Add((index, guest, host));
        public bool CopyOut(Task t, HostIoVec[] iov, long n)
        {
            bool ok = true;
            long off = 0;
            int p = 0;
            for (int i = 0; i < iov.Length && off < n; i++)
            {
                long take = Math.Min((long)iov[i].Len, n - off);
                if (p < parts.Count && parts[p].index == i)
                {
                    if (!t.Mem.CopyToUser(parts[p].guest, new ReadOnlySpan<byte>((void*)parts[p].host, (int)take))) ok = false;
                    p++;
                }
                off += take;
            }
            return ok;
        }
        public void Dispose() { foreach (var x in parts) System.Runtime.InteropServices.NativeMemory.Free((void*)x.host); parts.Clear(); }
    }

    static long Finish(Task t, Bounce? b, HostIoVec[] iov, long n)
    {
        if (b == null) return n;
        using (b) return n > 0 && !b.CopyOut(t, iov, n) ? -Errno.EFAULT : n;
    }

    static int ImportIov(Task t, uint iovp, uint cnt, bool toGuest, out HostIoVec[] v, out long total, out Bounce? bounce)
    {
        v = Array.Empty<HostIoVec>();
        total = 0;
        bounce = null;
        if (cnt == 0) return 0;
        var raw = new byte[cnt * 8];
        if (U.Get(t, iovp, raw) != 0) return -Errno.EFAULT;
        v = new HostIoVec[cnt];
        for (int i = 0; i < cnt; i++)
        {
            uint b = U.R32(raw, i * 8);
            int len = (int)U.R32(raw, i * 8 + 4);
            if (len < 0) return -Errno.EINVAL;
            if (len > MaxRw - total) len = (int)(MaxRw - total);
            byte* hp = t.Mem.Ptr(b);
            if (len > 0)
            {
                if (toGuest && !t.Mem.CanWrite(b, (uint)len))
                {
                    bounce ??= new Bounce();
                    hp = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)len);
                    bounce.Add(i, b, (nint)hp);
                }
                else if (!toGuest && !t.Mem.CanRead(b, (uint)len)) { bounce?.Dispose(); return -Errno.EFAULT; }
                else if (toGuest) t.Mem.NoteWrite(b, (uint)len);
            }
            v[i] = new HostIoVec { Base = hp, Len = (nuint)len };
            total += len;
        }
        return 0;
    }

    /// <summary>Vectors up to this many are copied on the stack by SendCore/RecvCore.</summary>
    const int SmallIov = 8;
    /// <summary>A poll that took longer than this (about 3 µs) slept: the peer was not ahead of us.</summary>
    static readonly long SleptTicks = Math.Max(1, System.Diagnostics.Stopwatch.Frequency / 330_000);

    static int SingleIov(Task t, uint buf, uint len, bool toGuest, out HostIoVec[] v, out long total) =>
        SingleIov(t, buf, len, toGuest, out v, out total, out _);

    static int SingleIov(Task t, uint buf, uint len, bool toGuest, out HostIoVec[] v, out long total, out Bounce? bounce)
    {
        bounce = null;
        if (len > MaxRw) len = MaxRw;
        v = new[] { new HostIoVec { Base = t.Mem.Ptr(buf), Len = len } };
        total = len;
        if (len == 0) return 0;
        if (toGuest && !t.Mem.CanWrite(buf, len))
        {
            bounce = new Bounce();
            v[0].Base = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc(len);
            bounce.Add(0, buf, (nint)v[0].Base);
            return 0;
        }
        if (!toGuest && !t.Mem.CanRead(buf, len)) return -Errno.EFAULT;
        if (toGuest) t.Mem.NoteWrite(buf, len);
        return 0;
    }

    /// <summary>Drop the first n bytes from a host iovec array (after a partial transfer).</summary>
    static void Advance(HostMsgHdr* m, long n)
    {
        while (n > 0 && m->IovLen > 0)
        {
            var v = m->Iov;
            if ((long)v->Len > n) { v->Base += n; v->Len -= (nuint)n; return; }
            n -= (long)v->Len;
            m->Iov++;
            m->IovLen--;
        }
    }

    // ------------------------------------------------------------ send

    /// <summary>sock_sendmsg for one message. A blocking stream send sends everything (sk_stream_wait_memory between
    /// parts) and returns the count so far when a signal or the timeout stops it; EPIPE on a stream raises SIGPIPE
    /// unless MSG_NOSIGNAL.</summary>
    static long SendCore(Task t, SocketFile s, ReadOnlySpan<HostIoVec> iov, long total, byte[]? name, byte[]? control, int flags, Cred? cred)
    {
        bool nonblock = NonBlocking(s, flags), stream = s.Type == SOCK_STREAM;
        long timeo = Volatile.Read(ref s.SndTimeoNs);
        long deadline = nonblock || timeo == 0 ? HostWait.Never : ProcessTimers.Now() + timeo;
        int hf = (flags & ~(MSG_CMSG_COMPAT | MSG_CMSG_CLOEXEC)) | MSG_DONTWAIT | MSG_NOSIGNAL;
        if (s.Family == SockAddr.AF_UNIX) NoteSender(t, s, name, cred);
        long done = 0;
        // A copy the partial-send loop may advance (on the stack for the common few vectors: no allocation per call).
        Span<HostIoVec> iovCopy = iov.Length <= SmallIov ? stackalloc HostIoVec[SmallIov] : new HostIoVec[iov.Length];
        iov.CopyTo(iovCopy);
        fixed (HostIoVec* pv = iovCopy)
        fixed (byte* pn = name)
        fixed (byte* pc = control)
        {
            HostMsgHdr m = default;
            m.Name = name is { Length: > 0 } ? pn : null;
            m.NameLen = (uint)(name?.Length ?? 0);
            m.Iov = pv;
            m.IovLen = (nuint)iov.Length;
            m.Control = control is { Length: > 0 } ? pc : null;
            m.ControlLen = (nuint)(control?.Length ?? 0);
            // Without a timeout, a send that must wait sleeps in the host call itself (sk_stream_wait_memory).
            bool block = !nonblock && timeo == 0 && BlockingHost(s);
            while (true)
            {
                long r = SendOnce(t, s, &m, block ? hf & ~MSG_DONTWAIT : hf, block);
                int sig = 0;
                if (r == -Errno.EINTR && block)
                {
                    sig = HostWait.Interrupted(t, -Errno.ERESTARTSYS);
                    if (sig == 0) continue; // a wake-up for nothing we wait for
                    // A signal stops only a send that has to wait: room already there is still used.
                    r = SendOnce(t, s, &m, hf, false);
                    if (r == -Errno.EAGAIN) return done > 0 ? done : sig;
                }
                if (r >= 0)
                {
                    done += r;
                    if (!stream || done >= total || nonblock) return done;
                    // A blocking host send stops short only for a signal, a kill or a wake-up for nothing.
                    if (block && (sig != 0 || HostWait.Interrupted(t, -Errno.ERESTARTSYS) != 0)) return done;
                    Advance(&m, r);
                    m.Control = null; m.ControlLen = 0; // ancillary data goes with the first part only
                    continue;
                }
                if (r == -Errno.EPIPE && stream && done == 0 && (flags & MSG_NOSIGNAL) == 0)
                    t.Kernel.Signals.Send(t, Signals.Sig.SIGPIPE);
                if (r != -Errno.EAGAIN || nonblock || sig != 0) return done > 0 ? done : r;
                block = false; // made non-blocking again under us (listen, connect, SCM_RIGHTS): poll from here
                int w = WaitFor(t, s, HostWait.POLLOUT, deadline, timeo != 0);
                if (w != 0) return done > 0 ? done : w;
            }
        }
    }

    /// <summary>One host send of m: send(2) for a plain buffer, else sendmsg(2); blocking ones through
    /// InterruptibleCall (-EINTR: woken).</summary>
    static long SendOnce(Task t, SocketFile s, HostMsgHdr* m, int hf, bool block)
    {
        bool plain = m->Name == null && m->Control == null && m->IovLen == 1;
        if (!block) return plain ? HostNet.Send(s.HostFd, m->Iov->Base, m->Iov->Len, hf) : HostNet.SendMsg(s.HostFd, m, hf);
        return plain ? InterruptibleCall.Call(t, InterruptibleCall.NR_sendto, s.HostFd, (long)m->Iov->Base, (long)m->Iov->Len, hf)
                     : InterruptibleCall.Call(t, InterruptibleCall.NR_sendmsg, s.HostFd, (long)m, hf, 0);
    }

    /// <summary>One host receive into m: recv(2) when plain, else recvmsg(2); blocking ones through
    /// InterruptibleCall (-EINTR: woken).</summary>
    static long RecvOnce(Task t, SocketFile s, HostMsgHdr* m, int hf, bool plain, bool block)
    {
        plain = plain && m->IovLen == 1;
        if (!block) return plain ? HostNet.Recv(s.HostFd, m->Iov->Base, m->Iov->Len, hf) : HostNet.RecvMsg(s.HostFd, m, hf);
        return plain ? InterruptibleCall.Call(t, InterruptibleCall.NR_recvfrom, s.HostFd, (long)m->Iov->Base, (long)m->Iov->Len, hf)
                     : InterruptibleCall.Call(t, InterruptibleCall.NR_recvmsg, s.HostFd, (long)m, hf, 0);
    }

    /// <summary>Who the receiver's SCM_CREDENTIALS will name: the guest socket this message goes to remembers its
    /// last guest sender (the host sees one process for every guest).</summary>
    static void NoteSender(Task t, SocketFile s, byte[]? hostName, Cred? explicitCred)
    {
        SocketFile? to = hostName is { Length: > 2 } ? UnixNames.Find(UnixNames.Identity(hostName))?.Live : s.PeerSocket;
        if (to != null) to.Incoming = new CredRef(explicitCred ?? Cred.ScmOf(t));
    }

    static int SendTo(Task t, int fd, uint buf, uint len, int flags, uint addr, int addrLen)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        r = SingleIov(t, buf, len, false, out var iov, out long total);
        if (r < 0) return r;
        byte[]? name = null;
        int tmp = -1;
        if (addr != 0)
        {
            r = SockAddr.FromUser(t, addr, addrLen, out var g);
            if (r < 0) return r;
            r = HostAddr(t, s, g, out name, out tmp);
            if (r < 0) return r;
        }
        try { return (int)SendCore(t, s, iov, total, name, null, flags, null); }
        finally { if (tmp >= 0) LibC.Close(tmp); }
    }

    /// <summary>A destination address for the host: AF_UNIX names resolved as guest paths.</summary>
    static int HostAddr(Task t, SocketFile s, byte[] g, out byte[] host, out int tmp)
    {
        host = g;
        tmp = -1;
        if (s.Family != SockAddr.AF_UNIX || g.Length < 2) return 0;
        return SockAddr.UnixToHost(t, g, out host, out _, out tmp);
    }

    static int SendMsg(Task t, int fd, uint msgp, int flags)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        return (int)SendMsgOne(t, s, msgp, flags);
    }

    /// <summary>get_compat_msghdr: the seven fields of a compat_msghdr (namelen 0 when there is no name).</summary>
    static int GetMsgHdr(Task t, uint msgp, out uint namep, out int namelen, out uint iovp, out uint iovlen, out uint ctl, out uint ctllen)
    {
        Span<byte> mh = stackalloc byte[28];
        namep = iovp = iovlen = ctl = ctllen = 0; namelen = 0;
        if (U.Get(t, msgp, mh) != 0) return -Errno.EFAULT;
        namep = U.R32(mh, 0); iovp = U.R32(mh, 8); iovlen = U.R32(mh, 12); ctl = U.R32(mh, 16); ctllen = U.R32(mh, 20);
        namelen = namep == 0 ? 0 : (int)U.R32(mh, 4);
        return namelen < 0 ? -Errno.EINVAL : 0;
    }

    /// <summary>___sys_sendmsg with a compat_msghdr {name, namelen, iov, iovlen, control, controllen, flags}.</summary>
    static long SendMsgOne(Task t, SocketFile s, uint msgp, int flags)
    {
        int r = GetMsgHdr(t, msgp, out uint namep, out int namelen, out uint iovp, out uint iovlen, out uint ctl, out uint ctllen);
        if (r < 0) return r;
        if (namelen > SockAddr.MaxLen) namelen = SockAddr.MaxLen;
        byte[]? g = null;
        if (namep != 0 && namelen > 0) { g = new byte[namelen]; if (U.Get(t, namep, g) != 0) return -Errno.EFAULT; }
        if (iovlen > UIO_MAXIOV) return -Errno.EMSGSIZE;
        r = ImportIov(t, iovp, iovlen, false, out var iov, out long total);
        if (r < 0) return r;
        if (ctllen > int.MaxValue) return -Errno.ENOBUFS;
        byte[]? control = null;
        Cred? cred = null;
        if (ctllen > 0)
        {
            r = ControlFromGuest(t, ctl, ctllen, out control);
            if (r < 0) return r;
            if (s.Family == SockAddr.AF_UNIX) { r = ScmSend(t, control, out cred); if (r < 0) return r; }
        }
        byte[]? name = null;
        int tmp = -1;
        if (g != null) { r = HostAddr(t, s, g, out name, out tmp); if (r < 0) return r; }
        try { return SendCore(t, s, iov, total, name, control, flags, cred); }
        finally { if (tmp >= 0) LibC.Close(tmp); }
    }

    /// <summary>cmsghdr_from_user_compat_to_kern: 12-byte compat headers, 4-byte alignment, into host cmsghdrs
    /// (16 bytes, 8-byte alignment); -EINVAL for a header that does not fit, or for no header at all.</summary>
    static int ControlFromGuest(Task t, uint ctl, uint clen, out byte[] host)
    {
        host = Array.Empty<byte>();
        if (clen < 12) return -Errno.EINVAL;
        uint take = Math.Min(clen, 1u << 20);
        var g = new byte[take];
        if (U.Get(t, ctl, g) != 0) return -Errno.EFAULT;
        long kcmlen = 0;
        var items = new List<(int off, int len)>();
        long off = 0;
        while (true)
        {
            if (off + 4 > take) return -Errno.EINVAL;
            uint ucmlen = U.R32(g, (int)off);
            if (ucmlen < 12 || ucmlen > clen - off) return -Errno.EINVAL; // CMSG_COMPAT_OK
            if (off + ucmlen > take) return -Errno.ENOBUFS;
            items.Add(((int)off, (int)ucmlen));
            kcmlen += (ucmlen - 12 + 16 + 7) & ~7L;
            off += (ucmlen + 3) & ~3u;
            if (off + 1 > clen) break; // cmsg_compat_nxthdr
        }
        host = new byte[kcmlen];
        int k = 0;
        foreach (var (o, len) in items)
        {
            int data = len - 12;
            U.W64(host, k, (ulong)(data + 16));
            U.W32(host, k + 8, U.R32(g, o + 4));
            U.W32(host, k + 12, U.R32(g, o + 8));
            Array.Copy(g, o + 12, host, k + 16, data);
            k += (data + 16 + 7) & ~7;
        }
        return 0;
    }

    /// <summary>__scm_send for AF_UNIX: SCM_RIGHTS guest descriptors become host descriptors (-EBADF for one that is
    /// not open, -EINVAL past SCM_MAX_FD); SCM_CREDENTIALS are checked against the guest's credentials
    /// (scm_check_creds, -EPERM) and sent as the host process's own, the guest's values kept for the receiver.</summary>
    static int ScmSend(Task t, byte[] host, out Cred? cred)
    {
        cred = null;
        int fds = 0;
        for (int k = 0; k + 16 <= host.Length;)
        {
            int len = (int)U.R64(host, k);
            int level = (int)U.R32(host, k + 8), type = (int)U.R32(host, k + 12);
            if (level == SOL_SOCKET && type == SCM_RIGHTS)
            {
                int n = (len - 16) / 4;
                if (n > 0)
                {
                    if (fds + n > SCM_MAX_FD) return -Errno.EINVAL;
                    fds += n;
                    for (int i = 0; i < n; i++)
                    {
                        var f = t.Files.Get((int)U.R32(host, k + 16 + i * 4));
                        if (f == null || f.HostFd < 0) return -Errno.EBADF;
                        if (f is SocketFile sf)
                        {
                            // The receiver may be a host process: the description goes as compat32 made it.
                            NonBlockingHost(sf, forever: true);
                            if (sf.Ino != 0) inFlightFlags[sf.Ino] = sf.Flags;
                        }
                        U.W32(host, k + 16 + i * 4, f.HostFd);
                    }
                }
            }
            else if (level == SOL_SOCKET && type == SCM_CREDENTIALS)
            {
                if (len != 16 + 12) return -Errno.EINVAL;
                int pid = (int)U.R32(host, k + 16);
                uint uid = U.R32(host, k + 20), gid = U.R32(host, k + 24);
                var c = t.Group.Creds;
                const int CAP_SETGID = 6, CAP_SETUID = 7, CAP_SYS_ADMIN = 21;
                bool cap(int n) => (c.CapEff & (1UL << n)) != 0;
                if (!((pid == t.Tgid || cap(CAP_SYS_ADMIN)) &&
                      (uid == c.Uid || uid == c.Euid || uid == c.Suid || cap(CAP_SETUID)) &&
                      (gid == c.Gid || gid == c.Egid || gid == c.Sgid || cap(CAP_SETGID))))
                    return -Errno.EPERM;
                cred = new Cred(pid, uid, gid);
                U.W32(host, k + 16, HostPid);
                U.W32(host, k + 20, LibC.getuid());
                U.W32(host, k + 24, LibC.getgid());
            }
            k += (len + 7) & ~7;
        }
        return 0;
    }

    static int SendMmsg(Task t, int fd, uint vec, uint vlen, int flags)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        if (vlen > UIO_MAXIOV) vlen = UIO_MAXIOV;
        int n = 0;
        long err = 0;
        while (n < vlen)
        {
            err = SendMsgOne(t, s, vec + (uint)n * 32, flags);
            if (err < 0) break;
            if (!t.Mem.WriteU32(vec + (uint)n * 32 + 28, (uint)err)) { err = -Errno.EFAULT; break; }
            n++;
        }
        return n != 0 ? n : (int)err;
    }

    // ------------------------------------------------------------ receive

    /// <summary>sock_recvmsg: non-blocking host attempts with interruptible waits between them (sk_wait_data);
    /// MSG_WAITALL on a stream keeps reading until the buffer is full, EOF, a signal or the timeout.</summary>
    static long RecvCore(Task t, SocketFile s, HostMsgHdr* m, int flags, long total, bool wantFlags = true)
    {
        bool nonblock = NonBlocking(s, flags) || (flags & MSG_ERRQUEUE) != 0;
        bool waitall = (flags & (MSG_WAITALL | MSG_PEEK)) == MSG_WAITALL && s.Type == SOCK_STREAM && !nonblock;
        long timeo = Volatile.Read(ref s.RcvTimeoNs);
        long deadline = nonblock || timeo == 0 ? HostWait.Never : ProcessTimers.Now() + timeo;
        int hf = (flags & ~(MSG_CMSG_COMPAT | MSG_WAITALL | MSG_CMSG_CLOEXEC)) | MSG_DONTWAIT | MSG_CMSG_CLOEXEC;
        long done = 0;
        var iov0 = m->Iov;
        var n0 = m->IovLen;
        Span<HostIoVec> iovCopy = n0 <= SmallIov ? stackalloc HostIoVec[SmallIov] : new HostIoVec[(int)n0];
        new ReadOnlySpan<HostIoVec>(iov0, (int)n0).CopyTo(iovCopy);
        // Without a timeout, a receive that must wait sleeps in the host call itself (sk_wait_data).
        bool block = !nonblock && timeo == 0 && BlockingHost(s);
        if (!nonblock && !block && s.RecvWaits)
        {
            // The last blocking receive here had to sleep (a request/response peer): sleep in poll first instead of
            // paying for a receive that would only say EAGAIN. A poll that did not really sleep ends the habit.
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            int w = WaitFor(t, s, HostWait.POLLIN, deadline, timeo != 0);
            if (w != 0) return w;
            if (System.Diagnostics.Stopwatch.GetTimestamp() - t0 < SleptTicks) s.RecvWaits = false;
        }
        fixed (HostIoVec* pv = iovCopy)
        {
            m->Iov = pv;
            try
            {
                // Without a name, ancillary data or msg_flags to report, recv(2) does the same work.
                bool plain = !wantFlags && m->Name == null && m->Control == null;
                while (true)
                {
                    long r = RecvOnce(t, s, m, block ? hf & ~MSG_DONTWAIT : hf, plain, block);
                    if (r == -Errno.EINTR && block)
                    {
                        int sig = HostWait.Interrupted(t, -Errno.ERESTARTSYS);
                        if (sig == 0) continue; // a wake-up for nothing we wait for
                        // sk_wait_data looks for a signal only when it has to sleep: data already queued is returned.
                        r = RecvOnce(t, s, m, hf, plain, false);
                        if (r == -Errno.EAGAIN) return done > 0 ? done : sig;
                        return r >= 0 ? done + r : done > 0 ? done : r;
                    }
                    if (r == -Errno.EAGAIN && block && !nonblock) { block = false; continue; } // made non-blocking under us
                    if (r > 0 && waitall && done + r < total)
                    {
                        done += r;
                        Advance(m, r);
                        m->Name = null; m->NameLen = 0;
                        m->Control = null; m->ControlLen = 0;
                        continue;
                    }
                    if (r >= 0) return done + r;
                    if (r != -Errno.EAGAIN || nonblock) return done > 0 ? done : r;
                    s.RecvWaits = true;
                    int w = WaitFor(t, s, HostWait.POLLIN, deadline, timeo != 0);
                    if (w != 0) return done > 0 ? done : w;
                }
            }
            finally { m->Iov = iov0; m->IovLen = n0; }
        }
    }

    static int RecvFrom(Task t, int fd, uint buf, uint len, int flags, uint addr, uint addrLenp)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        r = SingleIov(t, buf, len, true, out var iov, out long total, out var bounce);
        if (r < 0) return r;
        byte* nb = stackalloc byte[SockAddr.MaxLen];
        long n;
        HostMsgHdr m = default;
        fixed (HostIoVec* pv = iov)
        {
            m.Iov = pv; m.IovLen = 1;
            m.Name = nb; m.NameLen = SockAddr.MaxLen;
            n = RecvCore(t, s, &m, flags, total);
        }
        n = Finish(t, bounce, iov, n);
        if (n < 0) return (int)n;
        if (addr != 0)
        {
            var k = new ReadOnlySpan<byte>(nb, (int)Math.Min(m.NameLen, SockAddr.MaxLen));
            r = SockAddr.ToUser(t, s.Family == SockAddr.AF_UNIX ? SockAddr.ToGuest(t, k) : k, addr, addrLenp);
            if (r < 0) return r;
        }
        return (int)n;
    }

    static int RecvMsg(Task t, int fd, uint msgp, int flags)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        return (int)RecvMsgOne(t, s, msgp, flags);
    }

    /// <summary>___sys_recvmsg with a compat_msghdr; the control buffer comes back in compat form (put_cmsg_compat,
    /// scm_detach_fds_compat), msg_controllen = the bytes used, msg_flags as the host set them plus MSG_CTRUNC.</summary>
    static long RecvMsgOne(Task t, SocketFile s, uint msgp, int flags)
    {
        int r = GetMsgHdr(t, msgp, out uint namep, out int namelen, out uint iovp, out uint iovlen, out uint ctl, out uint ctllen);
        if (r < 0) return r;
        if (iovlen > UIO_MAXIOV) return -Errno.EMSGSIZE;
        r = ImportIov(t, iovp, iovlen, true, out var iov, out long total, out var bounce);
        if (r < 0) return r;
        int hostCtl = ctllen == 0 ? 0 : (int)Math.Min((long)ctllen * 2 + 64, 1 << 16);
        var control = new byte[hostCtl];
        byte* nb = stackalloc byte[SockAddr.MaxLen];
        long n;
        HostMsgHdr m = default;
        fixed (HostIoVec* pv = iov)
        fixed (byte* pc = control)
        {
            m.Iov = pv; m.IovLen = (nuint)iov.Length;
            m.Name = nb; m.NameLen = SockAddr.MaxLen;
            m.Control = hostCtl > 0 ? pc : null; m.ControlLen = (nuint)hostCtl;
            n = RecvCore(t, s, &m, flags, total);
        }
        n = Finish(t, bounce, iov, n);
        if (n < 0) { if (m.ControlLen > 0) CloseReceivedFds(control, (int)m.ControlLen); return n; }
        // ____sys_recvmsg starts msg_flags from the caller's MSG_CMSG_CLOEXEC (we always ask the host for it).
        int outFlags = (m.Flags & ~(MSG_CMSG_COMPAT | MSG_CMSG_CLOEXEC)) | (flags & MSG_CMSG_CLOEXEC);
        if (namep != 0)
        {
            var k = new ReadOnlySpan<byte>(nb, (int)Math.Min(m.NameLen, SockAddr.MaxLen));
            var g = s.Family == SockAddr.AF_UNIX && k.Length > 0 ? SockAddr.ToGuest(t, k) : k.ToArray();
            int c = Math.Min(namelen, g.Length);
            if (c > 0 && U.Put(t, namep, g.AsSpan(0, c)) != 0) { CloseReceivedFds(control, (int)m.ControlLen); return -Errno.EFAULT; }
            if (!t.Mem.WriteU32(msgp + 4, (uint)g.Length)) { CloseReceivedFds(control, (int)m.ControlLen); return -Errno.EFAULT; }
        }
        uint used = 0;
        if (m.ControlLen > 0 || ctllen > 0)
        {
            r = ControlToGuest(t, s, control, (int)m.ControlLen, ctl, ctllen, flags, ref outFlags, out used);
            if (r < 0) return r;
        }
        if (!t.Mem.WriteU32(msgp + 20, used) || !t.Mem.WriteU32(msgp + 24, (uint)outFlags)) return -Errno.EFAULT;
        return n;
    }

    static void CloseReceivedFds(byte[] host, int len)
    {
        for (int k = 0; k + 16 <= len;)
        {
            int clen = (int)U.R64(host, k);
            if (clen < 16 || k + clen > len) break;
            if (U.R32(host, k + 8) == SOL_SOCKET && U.R32(host, k + 12) == SCM_RIGHTS)
                for (int i = 0; i < (clen - 16) / 4; i++) LibC.Close((int)U.R32(host, k + 16 + i * 4));
            k += (clen + 7) & ~7;
        }
    }

    /// <summary>The host's cmsgs as put_cmsg_compat writes them for a compat task.</summary>
    static int ControlToGuest(Task t, SocketFile s, byte[] host, int hlen, uint ctl, uint ctllen, int flags, ref int outFlags, out uint used)
    {
        used = 0;
        uint pos = ctl, left = ctllen;
        int err = 0;
        for (int k = 0; k + 16 <= hlen;)
        {
            int clen = (int)U.R64(host, k);
            if (clen < 16 || k + clen > hlen) break;
            int level = (int)U.R32(host, k + 8), type = (int)U.R32(host, k + 12);
            var data = host.AsSpan(k + 16, clen - 16);
            k += (clen + 7) & ~7;
            if (err != 0) { if (level == SOL_SOCKET && type == SCM_RIGHTS) CloseFds(data); continue; }
            if (level == SOL_SOCKET && type == SCM_RIGHTS)
            {
                err = DetachFds(t, data, ref pos, ref left, flags, ref outFlags);
                continue;
            }
            byte[] payload = data.ToArray();
            if (level == SOL_SOCKET && type == SCM_CREDENTIALS && payload.Length >= 12)
            {
                var c = GuestCred(t, s, (int)U.R32(payload, 0), U.R32(payload, 4), U.R32(payload, 8));
                U.W32(payload, 0, c.Pid); U.W32(payload, 4, c.Uid); U.W32(payload, 8, c.Gid);
            }
            else if (level == SOL_SOCKET && type is SO_TIMESTAMP_OLD or SO_TIMESTAMPNS_OLD or SO_TIMESTAMPING_OLD)
            {
                int cnt = payload.Length / 16;
                var p32 = new byte[cnt * 8];
                for (int i = 0; i < cnt; i++)
                {
                    U.W32(p32, i * 8, (int)(long)U.R64(payload, i * 16));
                    U.W32(p32, i * 8 + 4, (int)(long)U.R64(payload, i * 16 + 8));
                }
                payload = p32;
            }
            err = PutCmsgCompat(t, level, type, payload, ref pos, ref left, ref outFlags);
        }
        used = ctllen - left;
        return err;
    }

    static void CloseFds(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i + 4 <= data.Length; i += 4) LibC.Close((int)U.R32(data, i));
    }

    static int PutCmsgCompat(Task t, int level, int type, byte[] data, ref uint pos, ref uint left, ref int outFlags)
    {
        if (pos == 0 || left < 12) { outFlags |= MSG_CTRUNC; return 0; }
        uint cmlen = 12 + (uint)data.Length;
        if (left < cmlen) { outFlags |= MSG_CTRUNC; cmlen = left; }
        var b = new byte[cmlen];
        U.W32(b, 0, cmlen);
        U.W32(b, 4, level);
        U.W32(b, 8, type);
        Array.Copy(data, 0, b, 12, (int)cmlen - 12);
        if (U.Put(t, pos, b) != 0) return -Errno.EFAULT;
        uint space = 12 + (((uint)data.Length + 3) & ~3u);
        if (left < space) space = left;
        pos += space;
        left -= space;
        return 0;
    }

    /// <summary>scm_detach_fds_compat: as many descriptors as the buffer holds are installed, the rest closed
    /// (MSG_CTRUNC). Guest sockets come back as the same description; other files as new guest files of the host
    /// descriptor (the host description is the shared one).</summary>
    static int DetachFds(Task t, ReadOnlySpan<byte> data, ref uint pos, ref uint left, int flags, ref int outFlags)
    {
        int count = data.Length / 4;
        int fdmax = left <= 12 || pos == 0 ? 0 : (int)Math.Min((left - 12) / 4, (uint)count);
        int i = 0;
        bool cloexec = (flags & MSG_CMSG_CLOEXEC) != 0;
        var got = new List<int>();
        for (; i < fdmax; i++)
        {
            var f = WrapReceived(t, (int)U.R32(data, i * 4));
            int fd = t.Files.Install(f, cloexec);
            if (fd < 0) { f.Release(); break; }
            got.Add(fd);
        }
        for (int j = i + (i < fdmax ? 1 : 0); j < count; j++) LibC.Close((int)U.R32(data, j * 4));
        if (i > 0)
        {
            var b = new byte[12 + 4 * i];
            U.W32(b, 0, (uint)(12 + 4 * i));
            U.W32(b, 4, SOL_SOCKET);
            U.W32(b, 8, SCM_RIGHTS);
            for (int j = 0; j < i; j++) U.W32(b, 12 + 4 * j, got[j]);
            if (U.Put(t, pos, b) != 0) return -Errno.EFAULT;
            uint space = (uint)(12 + 4 * i);
            if (left < space) space = left;
            pos += space;
            left -= space;
        }
        if (i < count) outFlags |= MSG_CTRUNC;
        return 0;
    }

    /// <summary>A descriptor received from the host as a guest file.</summary>
    internal static OpenFile WrapReceived(Task t, int hfd)
    {
        uint mode = SocketFile.ModeOf(hfd);
        int hflags = LibC.Fcntl(hfd, 3 /* F_GETFL */, 0);
        if ((mode & 0xF000) == 0xC000)
        {
            ulong ino = SocketFile.InodeOf(hfd);
            var live = SocketFile.ByInode(ino);
            if (live != null) { LibC.Close(hfd); inFlightFlags.TryRemove(ino, out _); return live.Ref(); }
            int gflags = inFlightFlags.TryRemove(ino, out int fl) ? fl : hflags;
            int fam = HostNet.GetInt(hfd, SOL_SOCKET, SO_DOMAIN), type = HostNet.GetInt(hfd, SOL_SOCKET, SO_TYPE);
            int proto = HostNet.GetInt(hfd, SOL_SOCKET, SO_PROTOCOL);
            return new SocketFile(hfd, fam, type, proto, gflags) { HostMode = -1 }; // host flags stay as they are
        }
        var link = new byte[4096];
        long n;
        fixed (byte* p = link) n = LibC.ReadLinkAt(LibC.AT_FDCWD, LibC.Bytes("/proc/self/fd/" + hfd), p, 4096);
        string path = n > 0 ? System.Text.Encoding.UTF8.GetString(link, 0, (int)n) : "";
        return new OpenFile
        {
            HostFd = hfd, Flags = hflags < 0 ? LibC.O_RDWR : hflags & ~LibC.O_CLOEXEC,
            Path = PathResolver.GuestView(t.Kernel.Options.Sysroot, path),
            Kind = FsCalls.KindOfMode(mode), IsDirectory = (mode & 0xF000) == 0x4000,
        };
    }

    /// <summary>SCM_CREDENTIALS as the guest sees them: a message from this host process came from a guest, the
    /// one that last sent to this socket (or its peer as it connected); a host process's credentials pass as they are.</summary>
    static Cred GuestCred(Task t, SocketFile s, int pid, uint uid, uint gid)
    {
        if (pid != HostPid) return new Cred(pid, uid, gid);
        var inc = s.Incoming;
        if (inc != null) return inc.Value;
        Cred? pc;
        lock (s.Lock) pc = s.PeerCred;
        return pc ?? Cred.ScmOf(t);
    }

    // ------------------------------------------------------------ mmsg

    static int RecvMmsg(Task t, int fd, uint vec, uint vlen, int flags, uint tsp, bool wide)
    {
        int r = Lookup(t, fd, out var s);
        if (r < 0) return r;
        long end = 0;
        if (tsp != 0)
        {
            long sec, nsec;
            if (wide) { if (!t.Mem.ReadU64(tsp, out ulong a) || !t.Mem.ReadU64(tsp + 8, out ulong b)) return -Errno.EFAULT; sec = (long)a; nsec = (long)b; }
            else { if (!t.Mem.ReadU32(tsp, out uint a) || !t.Mem.ReadU32(tsp + 4, out uint b)) return -Errno.EFAULT; sec = (int)a; nsec = (int)b; }
            if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL; // poll_select_set_timeout
            end = ProcessTimers.Now() + Math.Min(sec, 1L << 32) * 1_000_000_000 + nsec;
        }
        if (vlen > UIO_MAXIOV) vlen = UIO_MAXIOV;
        int n = 0;
        long err = 0;
        while (n < vlen)
        {
            err = RecvMsgOne(t, s, vec + (uint)n * 32, flags & ~MSG_WAITFORONE);
            if (err < 0) break;
            if (!t.Mem.WriteU32(vec + (uint)n * 32 + 28, (uint)err)) { err = -Errno.EFAULT; break; }
            err = 0;
            n++;
            if ((flags & MSG_WAITFORONE) != 0) flags |= MSG_DONTWAIT;
            if (tsp != 0)
            {
                long left = end - ProcessTimers.Now();
                if (left <= 0) break;
            }
        }
        if (tsp != 0)
        {
            long left = Math.Max(0, end - ProcessTimers.Now());
            bool ok = wide ? t.Mem.WriteU64(tsp, (ulong)(left / 1_000_000_000)) && t.Mem.WriteU64(tsp + 8, (ulong)(left % 1_000_000_000))
                           : t.Mem.WriteU32(tsp, (uint)(left / 1_000_000_000)) && t.Mem.WriteU32(tsp + 4, (uint)(left % 1_000_000_000));
            if (!ok && n == 0) return -Errno.EFAULT;
        }
        if (err == 0) return n;
        return n == 0 ? (int)err : n;
    }

    // ------------------------------------------------------------ read/write on a socket

    /// <summary>read/write on a socket descriptor: sock_read_iter / sock_write_iter (recvmsg/sendmsg, no flags).
    /// A buffer the guest can reach goes straight to the host call with one iovec on the stack.</summary>
    public static int ReadWrite(Task t, SocketFile s, uint buf, uint count, bool write)
    {
        if (count > MaxRw) count = MaxRw;
        if (count != 0 && (write ? t.Mem.CanRead(buf, count) : t.Mem.CanWrite(buf, count)))
        {
            var v = new HostIoVec { Base = t.Mem.Ptr(buf), Len = count };
            if (write) return (int)SendCore(t, s, new ReadOnlySpan<HostIoVec>(&v, 1), count, null, null, 0, null);
            t.Mem.NoteWrite(buf, count);
            HostMsgHdr m = default;
            m.Iov = &v; m.IovLen = 1;
            return (int)RecvCore(t, s, &m, 0, count, wantFlags: false);
        }
        int r = SingleIov(t, buf, count, !write, out var iov, out long total, out var bounce);
        return r < 0 ? r : Transfer(t, s, iov, total, bounce, write);
    }

    /// <summary>One message, without flags, over the imported vectors.</summary>
    static int Transfer(Task t, SocketFile s, HostIoVec[] iov, long total, Bounce? bounce, bool write)
    {
        if (write) return (int)SendCore(t, s, iov, total, null, null, 0, null);
        if (total == 0) return 0;
        HostMsgHdr m = default;
        long n;
        fixed (HostIoVec* pv = iov)
        {
            m.Iov = pv; m.IovLen = (nuint)iov.Length;
            n = RecvCore(t, s, &m, 0, total);
        }
        return (int)Finish(t, bounce, iov, n);
    }

    /// <summary>readv/writev on a socket: one message over all the vectors.</summary>
    public static int ReadWriteV(Task t, SocketFile s, uint iovp, int cnt, bool write)
    {
        if (cnt < 0 || cnt > UIO_MAXIOV) return -Errno.EINVAL;
        int r = ImportIov(t, iovp, (uint)cnt, !write, out var iov, out long total, out var bounce);
        return r < 0 ? r : Transfer(t, s, iov, total, bounce, write);
    }
}
