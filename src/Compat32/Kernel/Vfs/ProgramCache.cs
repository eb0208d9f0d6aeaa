namespace Compat32.Kernel.Vfs;

/// <summary>Which version of a file a cache entry holds: its identity, size and change times, from a statx
/// buffer (an entry is valid while a new statx gives the same).</summary>
internal readonly record struct FileVersion(ulong Dev, ulong Ino, ulong Size, long MSec, uint MNsec, long CSec, uint CNsec)
{
    public static unsafe FileVersion FromStatx(byte* sx) => new(
        ((ulong)*(uint*)(sx + 136) << 32) | *(uint*)(sx + 140), *(ulong*)(sx + 32), *(ulong*)(sx + 40),
        *(long*)(sx + 112), *(uint*)(sx + 120), *(long*)(sx + 96), *(uint*)(sx + 104));
}

/// <summary>
/// Stands in for the page cache that exec reads programs and interpreters through (kernel_read in
/// prepare_binprm and load_elf_binary): a shell that execs the same program 500 times reads and allocates it once.
/// An entry is valid while the file's identity and change times are the ones it was read with (statx on the
/// opened file, so a replaced or rewritten file is read afresh); the arrays are shared and never written.
/// Bounded: least recently used entries leave when the total passes Budget.
/// </summary>
public static unsafe class ProgramCache
{
    const long Budget = 256L << 20;
    /// <summary>Larger files are read but not kept.</summary>
    const long MaxEntry = 64L << 20;
    /// <summary>No program is this large (and an array could not hold it).</summary>
    const long MaxFile = 1L << 30;

    sealed class Entry { public required FileVersion Key; public required byte[] Data; public long Used; }

    static readonly object Lock = new();
    static readonly Dictionary<(ulong Dev, ulong Ino), Entry> entries = new(); // Lock
    static long total, clock;                                                   // Lock

    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<byte[], Memory.HostFile> images = new();

    /// <summary>The program's bytes as a sealed host snapshot that exec maps copy-on-write (the page cache's
    /// role in elf_map): made once per program array, so 500 execs of one program and every fork of them share
    /// its pages. Null when the host cannot make one (the loader then copies the bytes in).</summary>
    public static Memory.HostFile? ImageOf(byte[] data)
    {
        if (data.Length == 0 || FileSnapshots.Mode is not ("all" or "exec")) return null;
        if (images.TryGetValue(data, out var f)) return f;
        lock (images)
        {
            if (images.TryGetValue(data, out f)) return f;
            f = Memory.HostFile.Snapshot(data, out _);
            if (f != null) images.Add(data, f);
            return f;
        }
    }

    /// <summary>The whole file at hostPath: 0, or -errno (-EACCES for what is not a regular file).</summary>
    public static int Read(string hostPath, out byte[] data)
    {
        data = Array.Empty<byte>();
        int fd = LibC.OpenAt(LibC.AT_FDCWD, LibC.Bytes(hostPath), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) return fd;
        try
        {
            byte* sx = stackalloc byte[256];
            byte empty = 0;
            int r = LibC.Statx(fd, [empty], 0x1000 /* AT_EMPTY_PATH */, 0x7FF, sx);
            if (r < 0) return r;
            if ((*(ushort*)(sx + 28) & 0xF000) != 0x8000) return -Errno.EACCES; // open_exec: S_ISREG
            var key = FileVersion.FromStatx(sx);
            if (key.Size > MaxFile) return -Errno.EFBIG;
            lock (Lock)
            {
                if (entries.TryGetValue((key.Dev, key.Ino), out var e) && e.Key == key) { e.Used = ++clock; data = e.Data; return 0; }
            }
            var buf = GC.AllocateUninitializedArray<byte>((int)key.Size);
            long done = 0;
            fixed (byte* p = buf)
                while (done < buf.Length)
                {
                    long n = LibC.PRead(fd, p + done, (uint)Math.Min(buf.Length - done, 1 << 30), done);
                    if (n == -Errno.EINTR) continue;
                    if (n < 0) return (int)n;
                    if (n == 0) break; // shrank while we read: what was there
                    done += n;
                }
            data = done == buf.Length ? buf : buf.AsSpan(0, (int)done).ToArray();
            if (done != buf.Length || buf.Length > MaxEntry) return 0;
            lock (Lock)
            {
                if (entries.Remove((key.Dev, key.Ino), out var old)) total -= old.Data.Length;
                entries[(key.Dev, key.Ino)] = new Entry { Key = key, Data = data, Used = ++clock };
                total += data.Length;
                while (total > Budget && entries.Count > 1)
                {
                    var lru = entries.MinBy(kv => kv.Value.Used);
                    entries.Remove(lru.Key);
                    total -= lru.Value.Data.Length;
                }
            }
            return 0;
        }
        finally { LibC.Close(fd); }
    }
}
