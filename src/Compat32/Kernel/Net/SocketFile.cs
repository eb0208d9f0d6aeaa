using System.Collections.Concurrent;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel.Net;

/// <summary>Credentials as a socket reports them (struct ucred: a guest pid and ids).</summary>
public readonly record struct Cred(int Pid, uint Uid, uint Gid)
{
    /// <summary>SO_PEERCRED's view of a task (init_peercred: tgid, euid, egid).</summary>
    public static Cred PeerOf(Task t) { var c = t.Group.Creds; return new(t.Tgid, c.Euid, c.Egid); }
    /// <summary>scm_send's default credentials (task_tgid, current_uid, current_gid: the real ids).</summary>
    public static Cred ScmOf(Task t) { var c = t.Group.Creds; return new(t.Tgid, c.Uid, c.Gid); }
}

/// <summary>A Cred behind a reference, so it can be swapped atomically.</summary>
public sealed record CredRef(Cred Value);

/// <summary>
/// A guest socket (struct socket + its struct file): a host socket does the protocol work. Host descriptors of
/// sockets compat32 creates are always O_NONBLOCK on the host; the guest's O_NONBLOCK lives in Flags, and every
/// blocking call waits interruptibly (HostWait) between non-blocking host attempts. Sockets received from host
/// processes keep their host flags (MSG_DONTWAIT does the per-call work).
/// </summary>
public sealed class SocketFile : OpenFile
{
    public readonly int Family, Type, Protocol; // fixed at creation
    /// <summary>Host inode (sockfs): identifies this socket when its descriptor comes back through SCM_RIGHTS.</summary>
    public readonly ulong Ino;
    public readonly object Lock = new();
    /// <summary>AF_UNIX: the guest address bind() gave (returned by getsockname), and the identity of the name
    /// (UnixNames.Identity).</summary>
    public byte[]? GuestName;   // Lock
    public string? NameId;      // Lock
    /// <summary>SO_RCVTIMEO / SO_SNDTIMEO in ns, 0 = wait forever (sk_rcvtimeo / sk_sndtimeo). Volatile.</summary>
    public long RcvTimeoNs, SndTimeoNs;
    /// <summary>AF_UNIX between guests: SO_PEERCRED of the peer (sk_peer_pid/cred), the creds this socket
    /// had at connect() (handed to the accepting side), at listen(), and the guest that last sent to it.</summary>
    public Cred? PeerCred, ConnectCred, ListenCred; // Lock
    public volatile CredRef? Incoming; // last writer wins (one reference store)
    /// <summary>The last blocking receive found nothing and slept: the next one polls before it receives. A hint
    /// any receiving thread sets and clears (a stale value costs one host call, never a wrong result).</summary>
    public volatile bool RecvWaits;
    /// <summary>The host description's mode for compat32's blocking calls (SocketCalls.BlockingHost): 0 O_NONBLOCK
    /// as created (a wait polls between non-blocking attempts); 1 made blocking by us, so a wait is one blocking
    /// host call (InterruptibleCall; the guest's O_NONBLOCK and MSG_DONTWAIT become MSG_DONTWAIT per call); 2 found
    /// blocking (a host program shares it), used the same way but never changed back; -1 never made blocking (the
    /// socket passed through SCM_RIGHTS, to or from another process). Written under Lock, read lock-free.</summary>
    public volatile int HostMode;
    /// <summary>The guest socket at the other end of a connected AF_UNIX pair, when it is a guest socket.</summary>
    public WeakReference<SocketFile>? Peer; // Lock

    static readonly ConcurrentDictionary<ulong, WeakReference<SocketFile>> byIno = new();

    public SocketFile(int hostFd, int family, int type, int protocol, int guestFlags)
    {
        HostFd = hostFd;
        Family = family;
        Type = type;
        Protocol = protocol;
        Flags = LibC.O_RDWR | (guestFlags & LibC.O_NONBLOCK);
        Kind = FileKind.Socket;
        Ino = InodeOf(hostFd);
        Path = "socket:[" + Ino + "]";
        if (Ino != 0) byIno[Ino] = new WeakReference<SocketFile>(this);
    }

    protected override void OnLastClose()
    {
        if (Ino != 0 && byIno.TryGetValue(Ino, out var w) && w.TryGetTarget(out var s) && ReferenceEquals(s, this))
            byIno.TryRemove(new KeyValuePair<ulong, WeakReference<SocketFile>>(Ino, w));
        base.OnLastClose();
    }

    /// <summary>The live guest socket with this host inode (a socket has exactly one file, so one description).</summary>
    public static SocketFile? ByInode(ulong ino) =>
        ino != 0 && byIno.TryGetValue(ino, out var w) && w.TryGetTarget(out var s) && s.HostFd >= 0 ? s : null;

    public SocketFile? PeerSocket { get { lock (Lock) return Peer != null && Peer.TryGetTarget(out var p) ? p : null; } }

    public bool IsStream => Type == SocketCalls.SOCK_STREAM;

    public static unsafe ulong InodeOf(int hostFd)
    {
        byte* sx = stackalloc byte[256];
        return LibC.Statx(hostFd, Array.Empty<byte>(), LibC.AT_EMPTY_PATH, 0x100 /* STATX_INO */, sx) == 0 ? *(ulong*)(sx + 32) : 0;
    }

    public static unsafe uint ModeOf(int hostFd)
    {
        byte* sx = stackalloc byte[256];
        return LibC.Statx(hostFd, Array.Empty<byte>(), LibC.AT_EMPTY_PATH, 0x1 /* STATX_TYPE */, sx) == 0 ? *(ushort*)(sx + 28) : 0u;
    }
}

/// <summary>
/// Names bound by guest AF_UNIX sockets: by the sun_path the host kernel stores (what getpeername/accept/recvfrom
/// return; it may be a sysroot path or a /proc/self/fd/N/base alias) for turning it back into the guest's name,
/// and by identity (the socket file's device and inode, or the abstract name) for finding the guest socket a
/// connect reaches, however the path was spelled. An entry holds the owner and the guest connections not yet
/// accepted (the listener's accept queue is FIFO; the host queues connections in the same order, since a connect
/// to a guest listener enqueues under this lock). One lock guards both tables and every entry.
/// </summary>
public static class UnixNames
{
    public sealed class Bound
    {
        public byte[] GuestAddr = Array.Empty<byte>();
        public WeakReference<SocketFile>? Owner;
        public readonly Queue<SocketFile> Pending = new();
        public SocketFile? Live => Owner != null && Owner.TryGetTarget(out var s) && s.HostFd >= 0 ? s : null;
    }

    public static readonly object Lock = new();
    static readonly Dictionary<string, Bound> names = new(); // Lock: by host sun_path
    static readonly Dictionary<string, Bound> ids = new();   // Lock: by identity

    public static string Key(ReadOnlySpan<byte> hostSunPath) => System.Text.Encoding.Latin1.GetString(hostSunPath);

    public static void Register(string key, string? id, byte[] guestAddr, SocketFile owner)
    {
        var b = new Bound { GuestAddr = guestAddr, Owner = new WeakReference<SocketFile>(owner) };
        lock (Lock) { names[key] = b; if (id != null) ids[id] = b; }
    }

    public static Bound? Find(string? id) { if (id == null) return null; lock (Lock) return ids.TryGetValue(id, out var b) ? b : null; }

    public static byte[]? GuestAddr(string key) { lock (Lock) return names.TryGetValue(key, out var b) ? b.GuestAddr : null; }

    /// <summary>What a host AF_UNIX address names: "a:" and the abstract name, or "i:" and the device and inode of
    /// the socket file (null when there is none).</summary>
    public static unsafe string? Identity(ReadOnlySpan<byte> host)
    {
        if (host.Length <= 2) return null;
        if (host[2] == 0) return "a:" + Key(host[2..]);
        var p = host[2..];
        int z = p.IndexOf((byte)0);
        if (z >= 0) p = p[..z];
        byte* sx = stackalloc byte[256];
        if (LibC.Statx(LibC.AT_FDCWD, p.ToArray(), 0, 0x100 /* STATX_INO */, sx) != 0) return null;
        return "i:" + *(uint*)(sx + 136) + ":" + *(uint*)(sx + 140) + ":" + *(ulong*)(sx + 32);
    }
}
