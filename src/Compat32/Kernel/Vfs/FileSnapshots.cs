using Compat32.Memory;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// The page cache's part in private file mappings (mm/filemap.c behind do_mmap's MAP_PRIVATE file case): a
/// regular file that guests map privately (ld.so mapping libc.so, python mapping its extension modules) is copied
/// once into a sealed memfd, and every mapping of it, in every process, maps that copy-on-write. A process then
/// pays a host mmap instead of reading the library, and fork copies only the pages it wrote. A snapshot is valid
/// while the file's identity, size and change times are the ones it was taken with (a rewritten file gets a new
/// one; existing mappings keep theirs, as a Linux private mapping keeps the pages it already copied). Bounded:
/// files above MaxFile are read into the mapping as before, and least recently used snapshots leave the table
/// when the total passes Budget (mappings that hold one keep it alive).
/// </summary>
public static unsafe class FileSnapshots
{
    const long Budget = 256L << 20;
    const long MaxFile = 64L << 20;

    sealed class Entry { public required FileVersion Key; public required HostFile File; public long Used; }

    static readonly object Lock = new();
    static readonly Dictionary<(ulong Dev, ulong Ino), Entry> entries = new(); // Lock
    static long total, clock;                                                   // Lock

    /// <summary>The snapshot of the regular file open as hostFd, or null (not regular, too large, unreadable,
    /// or the host cannot make one: the caller reads the file into anonymous memory then).</summary>
    /// <summary>COMPAT32_SNAPSHOTS: "all" (the default) maps programs (exec) and privately mapped files from
    /// snapshots, "exec" only programs; "0" copies the bytes into anonymous memory (the old path, kept to compare).
    /// </summary>
    internal static readonly string Mode = Environment.GetEnvironmentVariable("COMPAT32_SNAPSHOTS") ?? "all";

    public static HostFile? Of(int hostFd)
    {
        if (Mode != "all") return null;
        byte* sx = stackalloc byte[256];
        if (LibC.Statx(hostFd, [0], 0x1000 /* AT_EMPTY_PATH */, 0x7FF, sx) < 0) return null;
        if ((*(ushort*)(sx + 28) & 0xF000) != 0x8000) return null; // S_ISREG
        var key = FileVersion.FromStatx(sx);
        if (key.Size == 0 || key.Size > MaxFile) return null;
        lock (Lock)
            if (entries.TryGetValue((key.Dev, key.Ino), out var e) && e.Key == key) { e.Used = ++clock; return e.File; }
        // Copied by the host kernel; null when it fails or the file shrank while it was copied (no snapshot of a
        // moving file).
        var f = HostFile.SnapshotOf(hostFd, key.Size, out _);
        if (f == null) return null;
        lock (Lock)
        {
            if (entries.Remove((key.Dev, key.Ino), out var old)) total -= (long)old.Key.Size;
            entries[(key.Dev, key.Ino)] = new Entry { Key = key, File = f, Used = ++clock };
            total += (long)key.Size;
            while (total > Budget && entries.Count > 1)
            {
                var lru = entries.MinBy(kv => kv.Value.Used);
                entries.Remove(lru.Key);
                total -= (long)lru.Value.Key.Size;
            }
        }
        return f;
    }
}
