using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK, fs/locks.c) on regular files. Linux gives them to the
/// descriptor table (fl_owner = current->files) and drops them all when that table closes any descriptor of the
/// file (locks_remove_posix). Every guest process lives in one host process, whose own POSIX locks never conflict
/// with each other; so each (table, file) pair gets a private host open file description and the locks are OFD
/// locks on it: they conflict between guest processes, and with other host processes' locks, as on Linux.
/// </summary>
public static unsafe class PosixLocks
{
    const int F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2, F_OFD_GETLK = 36, F_OFD_SETLK = 37;

    sealed class Handle
    {
        /// <summary>The host description; -1 once closed. Used and closed under Gate only.</summary>
        public int Fd;
        public ulong Dev, Ino;
        public int Tgid;
        /// <summary>What this owner holds ([start, end), type), kept to name the holder F_GETLK reports. Gate.</summary>
        public readonly List<(long S, long E, short Type)> Held = new();
    }

    static readonly object Gate = new();
    static readonly Dictionary<FdTable, List<Handle>> byTable = new(); // Gate
    /// <summary>Owners sleeping in F_SETLKW and the request each waits with (the blocked_hash). Gate.</summary>
    static readonly Dictionary<FdTable, (ulong Dev, ulong Ino, long S, long E, short Type)> waiting = new();
    const int MaxDeadlkIterations = 10;

    static PosixLocks() { FdTable.Closing += OnClose; }

    static bool Identity(int hostFd, out ulong dev, out ulong ino)
    {
        dev = ino = 0;
        Span<byte> sx = stackalloc byte[256];
        int r;
        fixed (byte* p = sx) r = LibC.Statx(hostFd, Array.Empty<byte>(), LibC.AT_EMPTY_PATH, 0x100 /* STATX_INO */, p);
        if (r != 0) return false;
        ino = U.R64(sx, 32);
        dev = (ulong)U.R32(sx, 136) << 32 | U.R32(sx, 140);
        return true;
    }

    /// <summary>The owner's lock description for f's file, opened on first use (read-write when the host allows,
    /// so one description can take both lock types; the guest descriptor's mode is checked by the caller).</summary>
    static int HandleFor(FdTable files, OpenFile f, int tgid, out Handle? h)
    {
        h = null;
        if (!Identity(f.HostFd, out ulong dev, out ulong ino)) return -Errno.EBADF;
        lock (Gate)
        {
            if (byTable.TryGetValue(files, out var l))
                foreach (var x in l) if (x.Dev == dev && x.Ino == ino) { h = x; return 0; }
            var path = LibC.Bytes("/proc/self/fd/" + f.HostFd);
            int fd = LibC.OpenAt(LibC.AT_FDCWD, path, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NONBLOCK, 0);
            if (fd < 0) fd = LibC.OpenAt(LibC.AT_FDCWD, path, (f.Flags & 3) | LibC.O_CLOEXEC | LibC.O_NONBLOCK, 0);
            if (fd < 0) return fd;
            h = new Handle { Fd = fd, Dev = dev, Ino = ino, Tgid = tgid };
            if (l == null) byTable[files] = l = new List<Handle>();
            l.Add(h);
            return 0;
        }
    }

    /// <summary>[start, end) of an l_start/l_len pair (flock_to_posix_lock: len 0 reaches EOF, negative reaches
    /// back).</summary>
    static (long, long) Range(long start, long len) =>
        len > 0 ? (start, start + len) : len == 0 ? (start, long.MaxValue) : (start + len, start);

    static void Record(Handle h, long start, long len, short type)
    {
        var (s, e) = Range(start, len);
        var kept = new List<(long, long, short)>();
        foreach (var (a, b, ty) in h.Held)
        {
            if (b <= s || a >= e) { kept.Add((a, b, ty)); continue; }
            if (a < s) kept.Add((a, s, ty));
            if (b > e) kept.Add((e, b, ty));
        }
        if (type != F_UNLCK) kept.Add((s, e, type));
        h.Held.Clear();
        h.Held.AddRange(kept);
    }

    /// <summary>
    /// fcntl_setlk / fcntl_getlk for a regular file. hostFlock is the host's struct flock (whence already made
    /// SEEK_SET or SEEK_END), updated in place for F_GETLK. wait: F_SETLKW, retried interruptibly.
    /// </summary>
    public static int Fcntl(Task t, OpenFile f, int cmd, byte[] hostFlock, bool wait)
    {
        int r = HandleFor(t.Files, f, t.Tgid, out var h);
        if (r < 0) return r;
        short type = (short)U.R16(hostFlock, 0);
        long start = (long)U.R64(hostFlock, 8), len = (long)U.R64(hostFlock, 16);
        U.W32(hostFlock, 24, 0); // l_pid must be 0 for OFD requests
        if (cmd == 5) // F_GETLK
        {
            lock (Gate) fixed (byte* p = hostFlock) r = h!.Fd < 0 ? -Errno.EBADF : LibC.Fcntl(h.Fd, F_OFD_GETLK, (long)p);
            if (r < 0 || (short)U.R16(hostFlock, 0) == F_UNLCK) return r;
            // The holder: another guest owner's description (OFD locks report -1), or a host process (its pid).
            if ((int)U.R32(hostFlock, 24) == -1)
            {
                var (s, e) = Range((long)U.R64(hostFlock, 8), (long)U.R64(hostFlock, 16));
                int pid = -1;
                lock (Gate)
                    foreach (var l in byTable.Values)
                        foreach (var o in l)
                            if (o != h && o.Dev == h.Dev && o.Ino == h.Ino && pid < 0)
                                foreach (var (a, b, _) in o.Held) if (a < e && s < b) { pid = o.Tgid; break; }
                U.W32(hostFlock, 24, pid);
            }
            return 0;
        }
        // Each attempt runs under Gate, so a concurrent close of the description cannot reuse its number.
        var files = t.Files;
        var (rs, re) = Range(start, len);
        int Attempt()
        {
            lock (Gate)
            {
                if (h!.Fd < 0) return -Errno.EBADF;
                int rr;
                fixed (byte* p = hostFlock) rr = LibC.Fcntl(h.Fd, F_OFD_SETLK, (long)p);
                if (rr == 0) { Record(h, start, len, type); waiting.Remove(files); }
                else if (rr == -Errno.EAGAIN && wait)
                {
                    // posix_lock_inode: a sleeping request that would close a cycle of waiters fails instead
                    if (Deadlock(files, h.Dev, h.Ino, rs, re, type)) { waiting.Remove(files); return -Errno.EDEADLK; }
                    waiting[files] = (h.Dev, h.Ino, rs, re, type);
                }
                return rr;
            }
        }
        if (!wait) return Attempt();
        try { return HostWait.Retry(t, Attempt, -Errno.EAGAIN, -Errno.ERESTARTSYS); }
        finally { lock (Gate) waiting.Remove(files); }
    }

    /// <summary>The owner of the first lock (in acquisition order per owner) of another owner that conflicts
    /// with the request (posix_locks_conflict: overlapping, and one of them a write lock). Caller holds Gate.</summary>
    static FdTable? Blocker(FdTable self, ulong dev, ulong ino, long s, long e, short type)
    {
        foreach (var (owner, l) in byTable)
        {
            if (owner == self) continue;
            foreach (var o in l)
                if (o.Dev == dev && o.Ino == ino)
                    foreach (var (a, b, ty) in o.Held)
                        if (a < e && s < b && (type == F_WRLCK || ty == F_WRLCK)) return owner;
        }
        return null;
    }

    /// <summary>posix_locks_deadlock: follow what the blocking lock's owner is itself waiting for
    /// (what_owner_is_waiting_for), up to MAX_DEADLK_ITERATIONS, looking for the caller. Caller holds Gate.</summary>
    static bool Deadlock(FdTable caller, ulong dev, ulong ino, long s, long e, short type)
    {
        var owner = Blocker(caller, dev, ino, s, e, type);
        for (int i = 0; owner != null; i++)
        {
            if (i > MaxDeadlkIterations || !waiting.TryGetValue(owner, out var w)) return false;
            var next = Blocker(owner, w.Dev, w.Ino, w.S, w.E, w.Type);
            if (next == caller) return true;
            owner = next;
        }
        return false;
    }

    /// <summary>locks_remove_posix: a table closing any descriptor of a file drops every lock it holds on it.</summary>
    static void OnClose(FdTable files, OpenFile f)
    {
        if (f.HostFd < 0) return;
        lock (Gate) if (!byTable.ContainsKey(files)) return;
        if (!Identity(f.HostFd, out ulong dev, out ulong ino)) return;
        lock (Gate)
        {
            if (!byTable.TryGetValue(files, out var l)) return;
            int i = l.FindIndex(x => x.Dev == dev && x.Ino == ino);
            if (i < 0) return;
            LibC.Close(l[i].Fd);
            l[i].Fd = -1;
            l.RemoveAt(i);
            if (l.Count == 0) byTable.Remove(files);
        }
    }
}
