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
/// A program file's bytes as exec reads them (kernel_read in prepare_binprm and load_elf_binary): a read-only view
/// of its sealed snapshot, the same host object exec's PT_LOAD segments map copy-on-write (the page cache's role in
/// elf_map), so 500 execs of one program and every fork of them share its pages, and reading a program costs the
/// host kernel's copy into the snapshot and faults on the pages the loader reads, not a copy of the whole file
/// into an array. Where the host cannot make a snapshot (COMPAT32_SNAPSHOTS=0, no memfd) the bytes are in an
/// array and the loader copies them in. The view is unmapped when the image is collected: code that holds a span
/// of it keeps the image alive (GC.KeepAlive) until it is done with the span.
/// </summary>
public sealed unsafe class ProgramImage
{
    /// <summary>The sealed snapshot exec maps, or null (the bytes are in an array).</summary>
    public readonly Memory.HostFile? Snapshot;
    readonly byte* view;
    readonly ulong viewLen;
    readonly byte[]? bytes;
    public int Length { get; }

    public ReadOnlySpan<byte> Span => bytes ?? new ReadOnlySpan<byte>(view, Length);

    ProgramImage(Memory.HostFile snap, byte* view, ulong viewLen, int length) { Snapshot = snap; this.view = view; this.viewLen = viewLen; Length = length; }
    ProgramImage(byte[] bytes) { this.bytes = bytes; Length = bytes.Length; }

    /// <summary>An image of bytes already in memory (no snapshot: the loader copies them in).</summary>
    public static ProgramImage OfBytes(byte[] bytes) => new(bytes);

    /// <summary>The snapshot of [0, size) of the regular file fd with a view of it, or null (the caller reads).</summary>
    internal static ProgramImage? Snap(int fd, ulong size, out int err)
    {
        err = 0;
        if (size == 0 || FileSnapshots.Mode is not ("all" or "exec")) return null;
        var snap = Memory.HostFile.SnapshotOf(fd, size, out err);
        if (snap == null) return null;
        ulong len = (size + 4095) & ~4095UL;
        byte* v = snap.MapView(len);
        if (v == null) return null;
        return new ProgramImage(snap, v, len, (int)size);
    }

    ~ProgramImage() { if (view != null) Memory.HostMem.Unmap(view, viewLen); }
}

/// <summary>
/// Stands in for the page cache that exec reads programs and interpreters through (kernel_read in
/// prepare_binprm and load_elf_binary): a shell that execs the same program 500 times reads it once.
/// An entry is valid while the file's identity and change times are the ones it was read with (statx on the
/// opened file, so a replaced or rewritten file is read afresh); the images are shared and never written.
/// Bounded: least recently used entries leave when the total passes Budget.
/// </summary>
public static unsafe class ProgramCache
{
    const long Budget = 256L << 20;
    /// <summary>Larger files are read but not kept.</summary>
    const long MaxEntry = 64L << 20;
    /// <summary>No program is this large (and an array could not hold it).</summary>
    const long MaxFile = 1L << 30;

    sealed class Entry { public required FileVersion Key; public required ProgramImage Image; public long Used; }

    static readonly object Lock = new();
    static readonly Dictionary<(ulong Dev, ulong Ino), Entry> entries = new(); // Lock
    static long total, clock;                                                   // Lock

    /// <summary>The whole file at hostPath: 0, or -errno (-EACCES for what is not a regular file).</summary>
    public static int Read(string hostPath, out ProgramImage image)
    {
        image = ProgramImage.OfBytes(Array.Empty<byte>());
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
                if (entries.TryGetValue((key.Dev, key.Ino), out var e) && e.Key == key) { e.Used = ++clock; image = e.Image; return 0; }
            }
            // A snapshot, or (none possible, or the file shrank while it was copied) what a read finds there.
            bool whole = true;
            if (ProgramImage.Snap(fd, key.Size, out _) is { } snap) image = snap;
            else if (!ReadAll(fd, (int)key.Size, out image, out whole, out r)) return r;
            if (!whole || image.Length > MaxEntry) return 0;
            lock (Lock)
            {
                if (entries.Remove((key.Dev, key.Ino), out var old)) total -= old.Image.Length;
                entries[(key.Dev, key.Ino)] = new Entry { Key = key, Image = image, Used = ++clock };
                total += image.Length;
                while (total > Budget && entries.Count > 1)
                {
                    var lru = entries.MinBy(kv => kv.Value.Used);
                    entries.Remove(lru.Key);
                    total -= lru.Value.Image.Length;
                }
            }
            return 0;
        }
        finally { LibC.Close(fd); }
    }

    /// <summary>kernel_read into an array: what is there (whole = false when the file shrank while we read).</summary>
    static bool ReadAll(int fd, int size, out ProgramImage image, out bool whole, out int err)
    {
        image = ProgramImage.OfBytes(Array.Empty<byte>());
        whole = false; err = 0;
        var buf = GC.AllocateUninitializedArray<byte>(size);
        long done = 0;
        fixed (byte* p = buf)
            while (done < buf.Length)
            {
                long n = LibC.PRead(fd, p + done, (uint)Math.Min(buf.Length - done, 1 << 30), done);
                if (n == -Errno.EINTR) continue;
                if (n < 0) { err = (int)n; return false; }
                if (n == 0) break; // shrank while we read: what was there
                done += n;
            }
        whole = done == buf.Length;
        image = ProgramImage.OfBytes(whole ? buf : buf.AsSpan(0, (int)done).ToArray());
        return true;
    }
}
