using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Compat32.Memory;

[Flags]
public enum Prot : byte { None = 0, Read = 1, Write = 2, Exec = 4 }

/// <summary>
/// The identity of a file's pages across every process of this run (the kernel's struct inode): one object per
/// (device, inode) while any mapping holds it, so futex keys and shared mappings of the same file compare equal.
/// </summary>
public sealed class FileIdentity
{
    public ulong Dev { get; }
    public ulong Ino { get; }
    FileIdentity(ulong dev, ulong ino) { Dev = dev; Ino = ino; }

    static readonly Dictionary<(ulong, ulong), WeakReference<FileIdentity>> table = new(); // guarded by itself
    static int pruneAt = 64;

    public static FileIdentity Of(ulong dev, ulong ino)
    {
        lock (table)
        {
            if (table.TryGetValue((dev, ino), out var w) && w.TryGetTarget(out var id)) return id;
            if (table.Count >= pruneAt)
            {
                foreach (var k in table.Where(kv => !kv.Value.TryGetTarget(out _)).Select(kv => kv.Key).ToList()) table.Remove(k);
                pruneAt = Math.Max(64, table.Count * 2);
            }
            id = new FileIdentity(dev, ino);
            table[(dev, ino)] = new WeakReference<FileIdentity>(id);
            return id;
        }
    }
}

/// <summary>
/// The host descriptor behind a shared mapping (vma->vm_file): kept open so fork (dup_mmap) and mremap can map
/// the same pages again after the guest closed its descriptor. A MAP_SHARED anonymous mapping gets a memfd of
/// its own (shmem_zero_setup) and is its own identity; a file mapping gets a dup of the guest's host fd.
/// Closed by its SafeHandle once no VMA refers to it.
/// </summary>
public sealed class HostFile
{
    readonly SafeFileHandle handle;
    /// <summary>VM_MAYWRITE: the descriptor is open for writing, so the host pages are mapped writable.</summary>
    public bool Writable { get; }
    /// <summary>What futex keys compare: this object for shmem, the inode's <see cref="FileIdentity"/> for files.</summary>
    public object Identity { get; }
    public ulong Inode { get; }
    long limit; // Interlocked: bytes of the object that have pages (page-rounded EOF at mmap time, or shmem size)

    HostFile(int fd, bool writable, object? identity, ulong inode, ulong limit)
    {
        handle = new SafeFileHandle(fd, ownsHandle: true);
        Writable = writable; Identity = identity ?? this; Inode = inode; this.limit = (long)limit;
    }

    /// <summary>Host pages exist below this offset; mapping past it would SIGBUS the host, so those guest pages
    /// are private zero pages instead (Linux: SIGBUS to the guest).</summary>
    public ulong Limit => (ulong)Interlocked.Read(ref limit);
    public bool IsShmem => ReferenceEquals(Identity, this);

    /// <summary>A fresh shmem object of <paramref name="size"/> bytes; null with -errno in err.</summary>
    public static HostFile? Shmem(ulong size, out int err)
    {
        int fd = Retry(() => HostMem.Memfd("compat32-shmem", size));
        if (fd < 0) { err = fd; return null; }
        HostMem.Stat(fd, out _, out _, out ulong ino, out _, out _);
        err = 0;
        return new HostFile(fd, true, null, ino, size);
    }

    /// <summary>A regular host file for MAP_SHARED (dup'd); null with -errno (ENODEV for what is not a regular file).</summary>
    public static HostFile? OfFile(int hostFd, bool writable, out int err)
    {
        err = HostMem.Stat(hostFd, out uint mode, out ulong dev, out ulong ino, out ulong size, out _);
        if (err != 0) return null;
        if ((mode & 0xF000) != 0x8000) { err = -19; return null; } // S_ISREG else -ENODEV
        int fd = Retry(() => HostMem.Dup(hostFd));
        if (fd < 0) { err = fd; return null; }
        return new HostFile(fd, writable, FileIdentity.Of(dev, ino), ino, (size + AddressSpace.PageMask) & ~(ulong)AddressSpace.PageMask);
    }

    /// <summary>A sealed snapshot of a program file's bytes: the pages exec's PT_LOAD segments map copy-on-write
    /// (elf_map's MAP_PRIVATE file mapping), shared by every process running the same program and by a fork's
    /// child until one of them writes. Null with -errno.</summary>
    public static HostFile? Snapshot(ReadOnlySpan<byte> data, out int err)
    {
        int fd = HostMem.MemfdOf("compat32-image", data);
        if (fd < 0) { err = fd; return null; }
        err = 0;
        return new HostFile(fd, false, null, 0, ((ulong)data.Length + AddressSpace.PageMask) & ~(ulong)AddressSpace.PageMask);
    }

    /// <summary>Snapshot of [0, size) of the regular file open as srcFd, copied by the host kernel; null with -errno
    /// (-ESTALE when the file shrank while it was copied).</summary>
    public static HostFile? SnapshotOf(int srcFd, ulong size, out int err)
    {
        int fd = Retry(() => HostMem.MemfdCopyOf("compat32-image", srcFd, size));
        if (fd < 0) { err = fd; return null; }
        err = 0;
        return new HostFile(fd, false, null, 0, (size + AddressSpace.PageMask) & ~(ulong)AddressSpace.PageMask);
    }

    /// <summary>A view of this object's first len bytes in host memory, read-only unless asked (null on failure); the
    /// caller unmaps it.</summary>
    internal unsafe byte* MapView(ulong len, bool writable = false)
    {
        nint p = 0;
        WithFd(fd => { p = (nint)HostMem.MapView(fd, len, writable); return 0; });
        return (byte*)p;
    }

    /// <summary>Descriptors of unmapped objects close when the GC finds them; out of descriptors, make it look now.</summary>
    static int Retry(Func<int> open)
    {
        int fd = open();
        if (fd != -24 /* -EMFILE */ && fd != -23 /* -ENFILE */) return fd;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return open();
    }

    /// <summary>Grow a shmem object so [0, size) has pages (mremap growing a shared anonymous mapping).</summary>
    internal int GrowTo(ulong size)
    {
        lock (handle)
        {
            if (size <= Limit) return 0;
            int r = WithFd(fd => HostMem.Truncate(fd, size));
            if (r == 0) Interlocked.Exchange(ref limit, (long)size);
            return r;
        }
    }

    /// <summary>Map [off, off+len) of this object over host memory at p.</summary>
    internal unsafe int MapAt(byte* p, ulong len, ulong off) => WithFd(fd => HostMem.MapShared(p, len, fd, off, Writable));

    /// <summary>Map [off, off+len) of this object copy-on-write over host memory at p.</summary>
    internal unsafe int MapPrivateAt(byte* p, ulong len, ulong off) => WithFd(fd => HostMem.MapPrivate(p, len, fd, off));

    internal int WithFd(Func<int, int> f)
    {
        bool added = false;
        try { handle.DangerousAddRef(ref added); return f((int)handle.DangerousGetHandle()); }
        finally { if (added) handle.DangerousRelease(); }
    }
}

/// <summary>A mapping, as /proc/self/maps shows it (the kernel's vm_area_struct, reduced).</summary>
public sealed class Vma
{
    public uint Start, End; // [Start, End), page aligned; End == 0 means 4 GiB
    public Prot Prot;
    public string Name = "";
    public bool Shared;
    /// <summary>Byte offset of Start in the file or shmem object (vm_pgoff &lt;&lt; PAGE_SHIFT).</summary>
    public ulong Offset;
    public ulong Inode;
    /// <summary>The host pages of a shared mapping (null: private memory of this space).</summary>
    public HostFile? File;
    /// <summary>A private mapping whose untouched pages are still a program snapshot's (HostFile.Snapshot), mapped
    /// copy-on-write from Offset; pages written since are this space's own. Null: private anonymous memory.</summary>
    public HostFile? Image;
    /// <summary>Stable identity of the shared backing (futex keys, /proc); null for private mappings.</summary>
    public object? Backing => File?.Identity;
    /// <summary>VM_DONTCOPY (MADV_DONTFORK) and VM_WIPEONFORK.</summary>
    public bool DontFork, WipeOnFork;
    public ulong Length => (End == 0 ? 0x1_0000_0000UL : End) - Start;
    internal ulong EndL => End == 0 ? AddressSpace.Size : End;

    /// <summary>The part [s, e) of this VMA as a new one (split_vma).</summary>
    internal Vma Slice(ulong s, ulong e) => new()
    {
        Start = (uint)s, End = (uint)e, Prot = Prot, Name = Name, Shared = Shared, Offset = Offset + (s - Start),
        Inode = Inode, File = File, Image = Image, DontFork = DontFork, WipeOnFork = WipeOnFork,
    };

    /// <summary>Would Linux have merged b after this one (is_mergeable_vma, with the offsets contiguous)?</summary>
    internal bool Continues(Vma b) =>
        b.Start == EndL && b.Prot == Prot && b.Shared == Shared && b.File == File && b.Name == Name &&
        b.DontFork == DontFork && b.WipeOnFork == WipeOnFork && b.Image == Image &&
        (File == null && Image == null || b.Offset == Offset + Length);
}

/// <summary>What mprotect found wrong (mprotect_fixup): a hole (-ENOMEM) or write on a read-only shared file (-EACCES).</summary>
public enum ProtectResult { Ok, NotMapped, NotWritable }

/// <summary>
/// The 32-bit guest address space: one host reservation addressed by guest address, a permission byte per
/// page, and the list of mappings. Accesses that fail return false here and become #PF in the CPU.
/// Host memory invariant: every guest page is private anonymous host memory (zero while unmapped) except the
/// pages of shared VMAs below their object's Limit, which are the object's pages mapped MAP_SHARED|MAP_FIXED,
/// and the pages of image VMAs below their snapshot's Limit, mapped MAP_PRIVATE|MAP_FIXED from it (copy on write).
/// Changes between the two use MAP_FIXED replacement, so the reservation never has a hole another thread could
/// fault on.
/// </summary>
public sealed unsafe class AddressSpace : IDisposable
{
    public const int PageShift = 12;
    public const uint PageSize = 4096, PageMask = 4095;
    public const ulong Size = 1UL << 32;
    /// <summary>Page is cached in the decoder: writes take the slow path so the cache can drop it.</summary>
    public const byte CodeBit = 0x80;

    /// <summary>mmap_lock. Guards vmas, Brk, BrkStart, MmapBase, the protection bits of Perm (writers only) and
    /// which host pages are shared. Reentrant (Monitor): syscalls hold it across several calls below, each of
    /// which also takes it. Lock order: MmLock, then VvarLock; never held while running guest code.</summary>
    public readonly object MmLock = new();

    /// <summary>Immutable after construction.</summary>
    public readonly byte* Base;
    /// <summary>Per page: Prot bits, Present (bit 3), CodeBit, and bits derived from them (WriteOk, ReadPair,
    /// WritePair: UpdatePerm keeps them). Read lock-free by every thread (a byte read; the
    /// CPU's hot path); protection bits written under MmLock; CodeBit set and cleared by the CPU's code tracking.</summary>
    public byte PermOf(uint page) => page < PermSize ? PermPtr[page] : (byte)0;
    /// <summary>The table itself, host memory outside the GC heap (a fork or exec must not cost a 1 MiB managed
    /// allocation and its collection; untouched parts stay unbacked zero pages). The CPU's hot path reads it.</summary>
    public readonly byte* PermPtr;
    const int PermSize = 1 << 20;
    readonly List<Vma> vmas = new(); // sorted by Start; guarded by MmLock

    /// <summary>A snapshot of the mappings (copies; /proc reads it while threads change the space).</summary>
    public IReadOnlyList<Vma> Vmas { get { lock (MmLock) return vmas.Select(v => v.Slice(v.Start, v.EndL)).ToArray(); } }

    /// <summary>Called with a page number when a write hits a page holding decoded code.</summary>
    public Action<uint>? CodeWritten;

    /// <summary>Called after a page lost read or write access, or became one that holds decoded code, while other
    /// threads may be running translated code whose checks at block entry passed on it (the TLB shootdown's part:
    /// CodeSpace asks them to leave at their next block end, where a loop would otherwise skip its checks).</summary>
    public Action? PermissionsReduced;

    /// <summary>Where the kernel keeps a vvar data page current (0: none). Cleared under VvarLock whenever that
    /// page is unmapped or replaced, so the timekeeper's thread never writes into a page the guest reused.</summary>
    public uint VvarPage;
    public readonly object VvarLock = new();

    /// <summary>Guarded by MmLock.</summary>
    public uint Brk, BrkStart;
    /// <summary>mmap_base for top-down allocation (arch/x86/mm/mmap.c for a compat task). Guarded by MmLock.</summary>
    public uint MmapBase = 0xF7FFF000;

    public AddressSpace()
    {
        Base = HostMem.Reserve(Size + Cpu.HostFaults.Guard);
        PermPtr = HostMem.Reserve(PermSize);
        // Nothing is mapped yet: every page and the guard past 4 GiB unreadable in the host too (HostFaults).
        bool closed = Cpu.HostFaults.Active && HostMem.CanOverlay(Base) && HostMem.Protect(Base, Size + Cpu.HostFaults.Guard, false);
        HostProtected = closed && Cpu.HostFaults.AddGuest((ulong)Base, (ulong)Base + Size);
        if (closed && !HostProtected) HostMem.Protect(Base, Size + Cpu.HostFaults.Guard, true); // the handler's table is full
        HostWrites = HostProtected && Cpu.HostFaults.WritesOn;
        if (HostProtected) lock (live) live.Add(new WeakReference<AddressSpace>(this));
    }

    /// <summary>The host also write-protects every page the guest cannot write or that holds decoded code, so
    /// translated code may write without a test (HostFaults). Set once, at construction.</summary>
    public readonly bool HostWrites;

    /// <summary>Guards the host protections of this space's pages: whoever changes them computes them from the
    /// permission bytes under it (SyncHost, ProtectPage, Window), so the last change wins with the latest bytes.
    /// Innermost lock: nothing is called back while it is held.</summary>
    readonly object hostLock = new();

    /// <summary>Spaces whose pages the host protects, for HostFaults.Drain (weak: a space dies with its last task).</summary>
    static readonly List<WeakReference<AddressSpace>> live = new();

    /// <summary>HostFaults.Drain: the page at host address p (or, with p = 0, every page of every space) gets its
    /// protection back and loses its decoded code (Reopened). A space leaves the list before Free releases
    /// anything (a freed space's reservation and table may already be another space's), and Reopened does nothing
    /// once Free began (both under MmLock).</summary>
    public static void ReopenAt(ulong p)
    {
        var found = new List<AddressSpace>();
        lock (live)
        {
            live.RemoveAll(w => !w.TryGetTarget(out _));
            foreach (var w in live)
                if (w.TryGetTarget(out var s) && (p == 0 || p >= (ulong)s.Base && p < (ulong)s.Base + Size)) found.Add(s);
        }
        // Outside the list's lock: Reopened takes MmLock, and a fork holding MmLock creates a space (the list's lock).
        foreach (var s in found)
            if (p == 0) s.ReopenedAll();
            else s.Reopened((uint)((p - (ulong)s.Base) >> PageShift));
    }

    /// <summary>The host protects every page of this space the guest cannot read (SyncHost), so translated code
    /// may read without testing the permission byte (HostFaults). Set once, at construction.</summary>
    public readonly bool HostProtected;

    public void Dispose() { Free(); GC.SuppressFinalize(this); }
    ~AddressSpace() => Free();

    int freed;
    void Free()
    {
        if (Interlocked.Exchange(ref freed, 1) != 0) return;
        if (HostProtected)
        {
            lock (live) live.RemoveAll(w => !w.TryGetTarget(out var s) || s == this);
            lock (MmLock) { } // a Reopened under way ends first; later ones see freed
        }
        if (HostProtected) Cpu.HostFaults.RemoveGuest((ulong)Base);
        HostMem.Release(Base, Size + Cpu.HostFaults.Guard);
        HostMem.Release(PermPtr, PermSize);
    }

    /// <summary>The host protections of [addr, end) as the guest's mappings say (under MmLock): a page the guest cannot
    /// read is PROT_NONE; one it can read is readable, and writable too unless HostWrites and the guest cannot write
    /// it or it holds decoded code (HostAccess; read-only anyway where it maps a read-only file). Called after
    /// every change of mappings or permissions (the permission bytes first), and after a host mapping call that
    /// left a range readable.</summary>
    void SyncHost(ulong addr, ulong end)
    {
        if (!HostProtected || end <= addr) return;
        lock (hostLock)
        {
            ulong at = addr;
            foreach (var v in vmas)
            {
                if (v.EndL <= at) continue;
                if (v.Start >= end) break;
                if (v.Start > at) HostMem.Protect(Base + at, v.Start - at, false);
                ulong s = Math.Max(at, v.Start), e = Math.Min(end, v.EndL);
                if (HostWrites) ProtectRuns(s, e);
                else
                {
                    bool read = (v.Prot & Prot.Read) != 0;
                    ulong ro = read && v.File is { Writable: false } ? Math.Min(e, Math.Max(s, v.Start + SharedPart(v))) : s;
                    if (ro > s) HostMem.Protect(Base + s, ro - s, true); // (Protect falls back to read-only there)
                    HostMem.Protect(Base + ro, e - ro, read);
                }
                at = e;
            }
            if (at < end) HostMem.Protect(Base + at, end - at, false);
        }
    }

    /// <summary>What the host allows on a page with permission byte b (HostWrites): what the guest may do there, less
    /// writing where decoded code is (a write must leave translated code, which drops that code first).</summary>
    static HostMem.Access HostAccess(byte b) =>
        (b & (byte)Prot.Read) == 0 ? HostMem.Access.None
        : (b & ((byte)Prot.Write | CodeBit)) == (byte)Prot.Write ? HostMem.Access.ReadWrite : HostMem.Access.Read;

    /// <summary>Each page of [s, e) (inside one mapping) as its permission byte says, a run of equal pages per call
    /// (under hostLock).</summary>
    void ProtectRuns(ulong s, ulong e)
    {
        ulong run = s;
        var want = HostAccess(PermPtr[s >> PageShift]);
        for (ulong a = s + PageSize; ; a += PageSize)
        {
            var w = a < e ? HostAccess(PermPtr[a >> PageShift]) : (HostMem.Access)(-1);
            if (w == want) continue;
            HostMem.Protect(Base + run, a - run, want);
            if (a >= e) return;
            run = a; want = w;
        }
    }

    /// <summary>One page's host protection from its permission byte now (HostWrites: its code bit changed).</summary>
    void ProtectPage(uint page)
    {
        lock (hostLock) HostMem.Protect(Base + ((ulong)page << PageShift), PageSize, HostAccess(Volatile.Read(ref PermPtr[page])));
    }

    /// <summary>A host access the SIGSEGV handler let through by opening a page (HostFaults.Drain, on some thread's way
    /// into the kernel): the access may have been a write into decoded code, so that code goes, and the page gets
    /// the protection its permission byte says back.</summary>
    void Reopened(uint page)
    {
        lock (MmLock)
        {
            if (Volatile.Read(ref freed) != 0) return;
            DropCode((ulong)page << PageShift, ((ulong)page + 1) << PageShift);
            ProtectPage(page);
        }
    }

    /// <summary>Every page back to its protection and all its decoded code dropped (HostFaults.Drain after its table
    /// of opened pages overflowed).</summary>
    void ReopenedAll()
    {
        lock (MmLock)
        {
            if (Volatile.Read(ref freed) != 0) return;
            foreach (var v in vmas.ToArray()) DropCode(v.Start, v.EndL);
            SyncHost(0, Size);
        }
    }

    /// <summary>Before a store by the kernel or the interpreter into [addr, addr+len), checked writable: decoded code
    /// there goes first, so the host lets the store through (HostWrites; NoteWrite after the store as always).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrepareWrite(uint addr, uint len)
    {
        if (HostWrites && len != 0) DropCode(addr, (ulong)addr + len);
    }

    /// <summary>A kernel write into pages the guest may not write (the loader, the vvar page, a private file
    /// mapping being filled): the range is writable in the host until Dispose, which puts the protections back.
    /// Holds hostLock meanwhile (no mark of a code page can close it under the writer).</summary>
    public ref struct Window
    {
        readonly AddressSpace? s;
        readonly ulong lo, hi;
        internal Window(AddressSpace s, ulong lo, ulong hi)
        {
            this.s = s; this.lo = lo; this.hi = hi;
            Monitor.Enter(s.hostLock);
            HostMem.Protect(s.Base + lo, hi - lo, true);
        }
        public void Dispose()
        {
            if (s == null) return;
            s.ProtectRuns(lo, hi); // (unmapped pages: byte 0, PROT_NONE)
            Monitor.Exit(s.hostLock);
        }
    }

    /// <summary>Open [addr, addr+len) for a kernel write (see Window); a no-op window where the host writes anyway.</summary>
    public Window OpenForKernel(uint addr, ulong len)
    {
        if (!HostWrites || len == 0) return default;
        ulong lo = addr & ~(ulong)PageMask, hi = Math.Min(Size, ((ulong)addr + len + PageMask) & ~(ulong)PageMask);
        bool open = true;
        for (ulong p = lo >> PageShift; p < hi >> PageShift && open; p++) open = HostAccess(PermPtr[p]) == HostMem.Access.ReadWrite;
        return open ? default : new Window(this, lo, hi);
    }

    /// <summary>Make [addr, end) readable and writable in the host for a copy by the kernel (fork, mremap); SyncHost
    /// puts the guest's protections back.</summary>
    void HostOpen(ulong addr, ulong end)
    {
        if (HostProtected && end > addr) HostMem.Protect(Base + addr, end - addr, true);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Ptr(uint addr) => Base + addr;

    public bool IsMapped(uint addr) => (PermPtr[addr >> PageShift] & 7) != 0 || FindVma(addr) != null;

    /// <summary>find_vma: the mapping containing addr. The object is live: hold MmLock while using it.</summary>
    public Vma? FindVma(uint addr)
    {
        lock (MmLock)
        {
            int i = IndexAt(addr);
            return i >= 0 ? vmas[i] : null;
        }
    }

    int IndexAt(ulong addr)
    {
        int lo = 0, hi = vmas.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            var v = vmas[mid];
            if (addr < v.Start) hi = mid - 1;
            else if (addr >= v.EndL) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    static uint PageUp(ulong x) => (uint)((x + PageMask) & ~(ulong)PageMask);

    /// <summary>Map [addr, addr+len) fresh (zeroed) private memory, replacing anything there (MAP_FIXED semantics).</summary>
    public void Map(uint addr, uint len, Prot prot, string name = "", bool zero = true)
    {
        lock (MmLock)
        {
            ulong end = (ulong)addr + PageUp(len);
            Unmap(addr, (uint)(end - addr), keepData: !zero);
            Insert(new Vma { Start = addr, End = (uint)end, Prot = prot, Name = name });
            SetPerm(addr, end, prot);
        }
    }

    /// <summary>Map [offset, offset+len) of a shared object at addr, replacing anything there; 0 or -errno.
    /// Pages at or past the object's Limit stay private zero pages (see HostFile.Limit).</summary>
    public int MapShared(uint addr, uint len, Prot prot, string name, HostFile file, ulong offset)
    {
        if ((offset & PageMask) != 0) return -22; // -EINVAL: the kernel has only whole pages to give
        if (!HostMem.CanOverlay(Base)) return -19; // -ENODEV
        lock (MmLock)
        {
            ulong end = (ulong)addr + PageUp(len);
            Unmap(addr, (uint)(end - addr));
            var v = new Vma { Start = addr, End = (uint)end, Prot = prot, Name = name, Shared = true, Offset = offset, Inode = file.Inode, File = file };
            int r = Overlay(this, v);
            if (r != 0) { HostMem.MapAnon(Base + addr, end - addr); SyncHost(addr, end); return r; }
            Insert(v);
            SetPerm(addr, end, prot);
            return 0;
        }
    }

    /// <summary>elf_map: [offset, offset+len) of a program snapshot at addr, private and copy-on-write, replacing
    /// anything there. False (nothing mapped) when the host cannot: the caller then copies the bytes in.</summary>
    public bool MapImage(uint addr, uint len, Prot prot, string name, HostFile image, ulong offset)
    {
        if ((offset & PageMask) != 0 || !HostMem.CanOverlay(Base)) return false;
        lock (MmLock)
        {
            ulong end = (ulong)addr + PageUp(len);
            Unmap(addr, (uint)(end - addr));
            var v = new Vma { Start = addr, End = (uint)end, Prot = prot, Name = name, Offset = offset, Image = image };
            if (OverlayImage(this, v) != 0) { HostMem.MapAnon(Base + addr, end - addr); SyncHost(addr, end); return false; }
            Insert(v);
            SetPerm(addr, end, prot);
            return true;
        }
    }

    /// <summary>Put v's snapshot pages copy-on-write over its range in s's host memory (the part below the Limit).</summary>
    static int OverlayImage(AddressSpace s, Vma v)
    {
        ulong n = ImagePart(v);
        return n == 0 ? 0 : v.Image!.MapPrivateAt(s.Base + v.Start, n, v.Offset);
    }

    /// <summary>Host bytes of v (from its start) mapped from its snapshot rather than anonymous memory.</summary>
    static ulong ImagePart(Vma v) => v.Image == null || v.Offset >= v.Image.Limit ? 0 : Math.Min(v.Length, v.Image.Limit - v.Offset);

    /// <summary>Copy v's private data, from src (v's pages) to dst, for len bytes from v's start: of its snapshot
    /// part the pages written since (when the destination maps the snapshot too, else all of it), and the
    /// anonymous pages that hold data. Shared object pages are not copied.</summary>
    static void CopyPrivate(Vma v, byte* src, byte* dst, ulong len, bool dstMapsImage)
    {
        ulong img = Math.Min(ImagePart(v), len), from = Math.Max(img, SharedPart(v));
        if (img > 0 && dstMapsImage) CopyPopulated(src, dst, img, anonOnly: true);
        else if (img > 0) Buffer.MemoryCopy(src, dst, img, img); // the destination is anonymous: every page
        if (len > from) CopyPopulated(src + from, dst + from, len - from);
    }

    /// <summary>Put v's object pages over its range in s's host memory (the part below the object's Limit).</summary>
    static int Overlay(AddressSpace s, Vma v)
    {
        ulong lim = v.File!.Limit;
        if (v.Offset >= lim) return 0;
        return v.File.MapAt(s.Base + v.Start, Math.Min(v.Length, lim - v.Offset), v.Offset);
    }

    /// <summary>Host bytes of v (from its start) that are object pages rather than private memory.</summary>
    static ulong SharedPart(Vma v) => v.File == null || v.Offset >= v.File.Limit ? 0 : Math.Min(v.Length, v.File.Limit - v.Offset);

    void Insert(Vma v)
    {
        int i = 0;
        while (i < vmas.Count && vmas[i].Start < v.Start) i++;
        vmas.Insert(i, v);
    }

    void SetPerm(uint addr, ulong end, Prot prot)
    {
        byte lost = 0;
        for (ulong a = addr; a < end; a += PageSize)
        {
            uint p = (uint)(a >> PageShift);
            lost |= (byte)(UpdatePerm(p, CodeBit, (byte)((byte)prot | 8)) & ~(byte)prot); // bit 3: present; the code bit is the decoder's
        }
        SyncHost(addr, end);
        if ((lost & (byte)(Prot.Read | Prot.Write)) != 0) PermissionsReduced?.Invoke();
    }

    public const byte Present = 8;

    /// <summary>split_vma at addr if a mapping straddles it; returns the index of the first VMA at or after addr.</summary>
    int SplitAt(ulong addr)
    {
        int i = 0;
        while (i < vmas.Count && vmas[i].EndL <= addr) i++;
        if (i < vmas.Count && vmas[i].Start < addr)
        {
            var v = vmas[i];
            vmas[i] = v.Slice(v.Start, addr);
            vmas.Insert(i + 1, v.Slice(addr, v.EndL));
            i++;
        }
        return i;
    }

    /// <summary>Remove mappings in the range, splitting the edges (do_munmap). Shared pages go back to private
    /// anonymous host memory; private pages are zeroed (kept when keepData).</summary>
    public void Unmap(uint addr, uint len, bool keepData = false)
    {
        if (len == 0) return;
        lock (MmLock)
        {
            ulong end = Math.Min(Size, (ulong)addr + PageUp(len));
            if (VvarPage != 0 && VvarPage >= addr && VvarPage < end)
                lock (VvarLock) VvarPage = 0;
            int i = SplitAt(addr);
            SplitAt(end);
            byte lost = 0;
            for (ulong a = addr; a < end; a += PageSize)
            {
                uint p = (uint)(a >> PageShift);
                // Unmapped first, then the code dropped: a decoder marking the page after this cannot fetch from it.
                byte old = UpdatePerm(p, 0, 0);
                lost |= old;
                if ((old & CodeBit) != 0) CodeWritten?.Invoke(p);
            }
            if ((lost & (byte)(Prot.Read | Prot.Write)) != 0) PermissionsReduced?.Invoke();
            while (i < vmas.Count && vmas[i].Start < end)
            {
                var v = vmas[i];
                ulong shared = SharedPart(v), img = ImagePart(v);
                if (img != 0 && keepData)
                {
                    // The data stays, as anonymous memory of its own (nothing may read the snapshot through it).
                    var keep = new ReadOnlySpan<byte>(Base + v.Start, (int)img).ToArray();
                    HostMem.MapAnon(Base + v.Start, img);
                    keep.CopyTo(new Span<byte>(Base + v.Start, keep.Length));
                }
                else if (shared != 0 || img != 0) HostMem.MapAnon(Base + v.Start, Math.Max(shared, img)); // fresh zero pages; the file stays as written
                vmas.RemoveAt(i);
            }
            if (!keepData && hugeRanges.Count > 0) DropHuge(addr, end, fresh: true);
            if (!keepData) HostMem.Zero(Base + addr, end - addr);
            SyncHost(addr, end);
        }
    }

    /// <summary>Guest ranges whose host memory is advised MADV_HUGEPAGE (AdviseHuge), 2 MiB-aligned in the host,
    /// sorted, disjoint. Guarded by MmLock.</summary>
    readonly List<(uint Start, uint End)> hugeRanges = new();

    /// <summary>Back a fresh private anonymous mapping with transparent huge pages where the host offers them to
    /// madvise callers: its whole 2 MiB host pages are advised MADV_HUGEPAGE (a pointer chase over a 16 MiB array took
    /// TLB misses on every step; one fault per 2 MiB instead of 512). The guest sees nothing of it (its addresses
    /// are Linux's; only the host's page size under them changes). Unmap gives the range fresh memory of the
    /// default kind again, so a later small mapping there (a thread's stack) does not get huge pages.</summary>
    public void AdviseHuge(uint addr, uint len)
    {
        if (!HugeOn || !HostMem.CanOverlay(Base)) return;
        lock (MmLock)
        {
            ulong huge = Thp.PmdSize;
            ulong lo = (((ulong)Base + addr + huge - 1) & ~(huge - 1)) - (ulong)Base;
            ulong hi = (((ulong)Base + addr + len) & ~(huge - 1)) - (ulong)Base;
            if (hi <= lo || hi >= Size) return;
            if (HostMem.Advise(Base + lo, hi - lo, Thp.MADV_HUGEPAGE) != 0) return;
            // The guest may advise again what a mapping already had advised: one record, counted once.
            ulong had = 0;
            Carve(lo, hi, (a, b) => had += b - a);
            int i = 0;
            while (i < hugeRanges.Count && hugeRanges[i].Start < lo) i++;
            hugeRanges.Insert(i, ((uint)lo, (uint)hi));
            HugeAdvised += (long)(hi - lo - had);
        }
    }

    /// <summary>Bytes advised MADV_HUGEPAGE so far (AdviseHuge; tests).</summary>
    public long HugeAdvised;

    /// <summary>COMPAT32_GUEST_THP=0: no guest mapping is advised (to compare).</summary>
    static readonly bool HugeOn = Environment.GetEnvironmentVariable("COMPAT32_GUEST_THP") != "0"
        && Thp.ForMadvise;

    /// <summary>The guest's MADV_NOHUGEPAGE: the advised parts of [addr, end) are advised back (their data stays; the
    /// host then treats them as it treats unadvised memory where THP is for madvise callers only).</summary>
    public void NoHuge(ulong addr, ulong end)
    {
        lock (MmLock) DropHuge(addr, end, fresh: false);
    }

    /// <summary>The advised parts of [addr, end) stop being so: fresh default host memory over them (MAP_FIXED, one
    /// step: the range is being unmapped), or advised MADV_NOHUGEPAGE (data kept); the records keep what is left.
    /// Under MmLock (Unmap's SyncHost follows a fresh mapping).</summary>
    void DropHuge(ulong addr, ulong end, bool fresh) =>
        Carve(addr, end, (lo, hi) =>
        {
            if (fresh) HostMem.MapAnon(Base + lo, hi - lo);
            else HostMem.Advise(Base + lo, hi - lo, Thp.MADV_NOHUGEPAGE);
        });

    /// <summary>Take [addr, end) out of the records, handing each recorded part in it to part (under MmLock).</summary>
    void Carve(ulong addr, ulong end, Action<ulong, ulong> part)
    {
        for (int i = hugeRanges.Count - 1; i >= 0; i--) // backwards: the pieces left go in at i, in order
        {
            var (s, e) = hugeRanges[i];
            ulong lo = Math.Max(s, addr), hi = Math.Min(e, end);
            if (lo >= hi) continue;
            part(lo, hi);
            hugeRanges.RemoveAt(i);
            if (hi < e) hugeRanges.Insert(i, ((uint)hi, e));
            if (s < lo) hugeRanges.Insert(i, (s, (uint)lo));
        }
    }

    /// <summary>mprotect: every page must be mapped, else -ENOMEM; write access to a shared file opened read-only
    /// is -EACCES (mprotect_fixup's VM_MAYWRITE check).</summary>
    public ProtectResult Protect(uint addr, uint len, Prot prot)
    {
        lock (MmLock)
        {
            ulong end = (ulong)addr + PageUp(len);
            for (ulong a = addr; a < end; a += PageSize)
                if ((PermPtr[a >> PageShift] & Present) == 0) return ProtectResult.NotMapped;
            if ((prot & Prot.Write) != 0)
                foreach (var v in vmas)
                    if (v.EndL > addr && v.Start < end && v.File != null && !v.File.Writable) return ProtectResult.NotWritable;
            int i = SplitAt(addr);
            SplitAt(end);
            for (; i < vmas.Count && vmas[i].Start < end; i++) vmas[i].Prot = prot;
            // Decoded (and translated) code on a page that loses PROT_EXEC must go: the next fetch faults. The
            // permission first: a thread decoding the page concurrently either fails its fetch or is dropped here.
            SetPerm(addr, end, prot);
            if ((prot & Prot.Exec) == 0) DropCode(addr, end);
            return ProtectResult.Ok;
        }
    }

    /// <summary>Top-down search for a free range below MmapBase (arch_get_unmapped_area_topdown).</summary>
    public uint FindFree(uint len, uint hint = 0)
    {
        len = PageUp(len);
        if (len == 0) return 0;
        lock (MmLock)
        {
            if (hint != 0 && (ulong)hint + len <= 0xFFFFE000 && RangeFree(hint, len)) return hint;
            ulong top = MmapBase;
            for (int i = vmas.Count - 1; i >= -1; i--)
            {
                ulong lo = i >= 0 ? vmas[i].EndL : 0x10000;
                if (lo > top) continue;
                if (top - lo >= len) return (uint)(top - len);
                if (i >= 0) top = Math.Min(top, vmas[i].Start);
            }
            // Bottom-up above the brk as a last resort (legacy layout).
            return 0;
        }
    }

    public bool RangeFree(uint addr, uint len)
    {
        ulong end = (ulong)addr + len;
        lock (MmLock)
            foreach (var v in vmas)
                if (v.EndL > addr && v.Start < end) return false;
        return true;
    }

    /// <summary>
    /// The end of the mapping at addr as Linux would see it: we do not merge VMAs, so follow the run of
    /// neighbours Linux would have merged (vma_merge) — mremap's one-VMA rules apply to that run.
    /// </summary>
    public ulong MergedEnd(uint addr)
    {
        lock (MmLock)
        {
            int i = IndexAt(addr);
            if (i < 0) return addr;
            while (i + 1 < vmas.Count && vmas[i].Continues(vmas[i + 1])) i++;
            return vmas[i].EndL;
        }
    }

    /// <summary>
    /// move_vma (mm/mremap.c): the mapping [oldAddr, oldAddr+oldLen) appears at newAddr with newLen bytes.
    /// Private pages are copied (only the ones that hold data), shared ones re-mapped from their object, so a
    /// moved shared mapping keeps its backing; growth continues the last VMA (its object's next pages, or zero).
    /// The old range is unmapped, or with dontUnmap (MREMAP_DONTUNMAP) stays mapped with its private pages
    /// emptied. oldLen 0 duplicates a shared mapping. Caller checks the rules and that newAddr's range is free.
    /// </summary>
    public int Move(uint oldAddr, uint oldLen, uint newAddr, uint newLen, bool dontUnmap = false)
    {
        oldLen = PageUp(oldLen); newLen = PageUp(newLen);
        lock (MmLock)
        {
            var first = FindVma(oldAddr);
            if (first == null) return -14; // -EFAULT
            Unmap(newAddr, newLen);
            ulong oldEnd = (ulong)oldAddr + Math.Min(oldLen, newLen);
            var parts = new List<Vma>();
            foreach (var v in vmas)
                if (v.EndL > oldAddr && v.Start < oldEnd) parts.Add(v.Slice(Math.Max(v.Start, oldAddr), Math.Min(v.EndL, oldEnd)));
            var tmpl = parts.Count > 0 ? parts[^1] : first.Slice(oldAddr, first.EndL);
            if (newLen > oldEnd - oldAddr)
            {
                ulong grow = newLen - (oldEnd - oldAddr);
                var ext = tmpl.Slice(tmpl.Start, tmpl.EndL);
                ext.Offset = tmpl.Offset + (oldEnd - tmpl.Start);
                ext.Start = (uint)oldEnd; ext.End = (uint)(oldEnd + grow); // shifted to newAddr below
                if (ext.File is { IsShmem: true } f)
                {
                    int r = f.GrowTo(ext.Offset + grow);
                    if (r != 0) return r;
                }
                parts.Add(ext);
            }
            var placed = new List<Vma>();
            foreach (var p in parts)
            {
                var nv = p.Slice(p.Start, p.EndL);
                nv.Start = (uint)(p.Start - (ulong)oldAddr + newAddr);
                nv.End = (uint)(nv.Start + p.Length);
                if (nv.Image != null && OverlayImage(this, nv) != 0) { nv.Image = null; HostMem.MapAnon(Base + nv.Start, nv.Length); }
                if (nv.File != null)
                {
                    int r = Overlay(this, nv);
                    if (r != 0)
                    {
                        // Not inserted yet: undo their host overlays by hand (mmap failing MAP_FIXED may leave a hole).
                        foreach (var q in placed) if (SharedPart(q) is var sp && sp != 0) HostMem.MapAnon(Base + q.Start, sp);
                        HostMem.MapAnon(Base + nv.Start, nv.Length);
                        SyncHost(newAddr, (ulong)newAddr + newLen);
                        return r;
                    }
                }
                placed.Add(nv);
            }
            // Copy private data (including a shared VMA's private tail past its object's end) while the old
            // pages still hold it (both ranges open in the host for the copy: SetPerm and Unmap or SyncHost close them).
            HostOpen(newAddr, (ulong)newAddr + newLen);
            HostOpen(oldAddr, oldEnd);
            foreach (var nv in placed)
            {
                ulong src = nv.Start - (ulong)newAddr + oldAddr;
                if (src >= oldEnd) continue; // growth: fresh pages
                var from = parts.FirstOrDefault(q => q.Start == src) ?? nv;
                CopyPrivate(from, Base + src, Base + nv.Start, Math.Min(nv.Length, oldEnd - src), dstMapsImage: nv.Image != null);
            }
            foreach (var nv in placed) { Insert(nv); SetPerm(nv.Start, nv.EndL, nv.Prot); }
            SyncHost(newAddr, (ulong)newAddr + newLen);
            if (oldLen != 0 && !dontUnmap) Unmap(oldAddr, oldLen);
            else if (oldLen != 0) DropPrivate(oldAddr, (ulong)oldAddr + oldLen);
            SyncHost(oldAddr, oldEnd);
            return (int)newAddr;
        }
    }

    /// <summary>Grow the mapping ending at addr+oldLen in place by newLen-oldLen bytes (mremap's vma_expandable
    /// path); the caller checked that the range after it is free.</summary>
    public int Expand(uint addr, uint oldLen, uint newLen)
    {
        lock (MmLock)
        {
            var last = FindVma(addr + oldLen - 1);
            if (last == null) return -14;
            ulong s = (ulong)addr + oldLen, e = (ulong)addr + newLen;
            var ext = last.Slice(last.Start, last.EndL);
            ext.Offset = last.Offset + (s - last.Start);
            ext.Start = (uint)s; ext.End = (uint)e;
            OverlayImage(this, ext); // failing, the growth stays zero pages
            if (ext.File != null)
            {
                if (ext.File.IsShmem) { int g = ext.File.GrowTo(ext.Offset + (e - s)); if (g != 0) return g; }
                int r = Overlay(this, ext);
                if (r != 0) { HostMem.MapAnon(Base + s, e - s); SyncHost(s, e); return r; }
            }
            Insert(ext);
            SetPerm(ext.Start, e, ext.Prot);
            return (int)addr;
        }
    }

    /// <summary>Empty the private pages of [addr, end): the next read sees zeros. Shared pages keep their contents
    /// (zap_page_range: they fault back in from the object).</summary>
    void DropPrivate(ulong addr, ulong end)
    {
        foreach (var v in vmas)
        {
            if (v.EndL <= addr || v.Start >= end) continue;
            ulong s = Math.Max(v.Start, addr), e = Math.Min(v.EndL, end);
            ulong sharedEnd = v.Start + SharedPart(v);
            if (sharedEnd > s) s = Math.Min(e, sharedEnd);
            if (e <= s) continue;
            NoteWrite((uint)s, (uint)(e - s));
            HostMem.Zero(Base + s, e - s);
        }
    }

    /// <summary>madvise(MADV_DONTNEED) over the mapped parts of [addr, end): false when part is unmapped (-ENOMEM;
    /// the mapped parts are still done, as madvise_walk_vmas does).</summary>
    public bool DontNeed(uint addr, ulong end)
    {
        lock (MmLock)
        {
            DropPrivate(addr, end);
            return Covered(addr, end) == end;
        }
    }

    /// <summary>The end of the run of mappings without a hole starting at addr (addr itself when unmapped).</summary>
    public ulong Covered(ulong addr, ulong end)
    {
        lock (MmLock)
        {
            ulong at = addr;
            foreach (var v in vmas)
            {
                if (v.EndL <= at) continue;
                if (v.Start > at) break;
                at = v.EndL;
                if (at >= end) return end;
            }
            return Math.Min(at, end);
        }
    }

    /// <summary>Apply f to each VMA inside [addr, end) after splitting at the edges (madvise_update_vma);
    /// stops at the first non-zero result.</summary>
    public int ForEachVma(uint addr, ulong end, Func<Vma, int> f)
    {
        lock (MmLock)
        {
            int i = SplitAt(addr);
            SplitAt(end);
            for (; i < vmas.Count && vmas[i].Start < end; i++)
            {
                int r = f(vmas[i]);
                if (r != 0) return r;
            }
            return 0;
        }
    }

    /// <summary>Apply host advice to the object pages of shared mappings in [addr, end) (MADV_REMOVE).</summary>
    public int AdviseShared(uint addr, ulong end, int advice)
    {
        lock (MmLock)
            foreach (var v in vmas)
            {
                if (v.EndL <= addr || v.Start >= end) continue;
                ulong s = Math.Max(v.Start, addr), e = Math.Min(Math.Min(v.EndL, end), v.Start + SharedPart(v));
                if (e <= s) continue;
                int r = HostMem.Advise(Base + s, e - s, advice);
                if (r != 0) return r;
            }
        return 0;
    }

    /// <summary>msync's walk (mm/msync.c): host msync with the guest's flags on the object pages of shared
    /// mappings; -ENOMEM for holes (MS_ASYNC alone stops at the first).</summary>
    public int Sync(uint addr, ulong end, int flags)
    {
        const int MS_ASYNC = 1;
        lock (MmLock)
        {
            int unmapped = 0;
            ulong at = addr;
            foreach (var v in vmas)
            {
                if (v.EndL <= at) continue;
                if (v.Start >= end) break;
                if (v.Start > at)
                {
                    if (flags == MS_ASYNC) return -12;
                    unmapped = -12;
                }
                ulong s = Math.Max(v.Start, at), e = Math.Min(v.EndL, end);
                ulong se = Math.Min(e, v.Start + SharedPart(v));
                if (se > s)
                {
                    int r = HostMem.Msync(Base + s, se - s, flags);
                    if (r != 0) return r;
                }
                at = e;
                if (at >= end) return unmapped;
            }
            return -12; // -ENOMEM: the range runs past the last mapping
        }
    }

    /// <summary>mincore over [addr, addr+pages pages): fills vec (1 resident, 0 not) for the mapped prefix and
    /// returns how many pages that prefix has (do_mincore stops at a hole).</summary>
    public uint Residency(uint addr, uint pages, Span<byte> vec)
    {
        lock (MmLock)
        {
            ulong end = (ulong)addr + ((ulong)pages << PageShift);
            uint n = (uint)((Covered(addr, end) - addr) >> PageShift);
            if (n > 0 && !HostMem.Resident(Base + addr, (ulong)n << PageShift, vec[..(int)n])) vec[..(int)n].Clear();
            for (int i = 0; i < n; i++) vec[i] &= 1;
            return n;
        }
    }

    /// <summary>
    /// The key a non-private futex at addr uses (get_futex_key): the shared object and the byte offset of addr in
    /// it. False for private mappings and unmapped addresses (then the key is (mm, address)).
    /// </summary>
    public bool SharedKey(uint addr, out object backing, out ulong offset)
    {
        lock (MmLock)
        {
            int i = IndexAt(addr);
            if (i >= 0 && vmas[i].File is { } f)
            {
                backing = f.Identity;
                offset = vmas[i].Offset + (addr - vmas[i].Start);
                return true;
            }
        }
        backing = null!; offset = 0;
        return false;
    }

    // ---- Kernel-side accessors (copy_from_user / copy_to_user): false means -EFAULT. ----

    public bool CanRead(uint addr, uint len)
    {
        if (len == 0) return true;
        ulong end = (ulong)addr + len;
        if (end > Size) return false;
        for (ulong p = addr >> PageShift; p <= (end - 1) >> PageShift; p++)
            if ((PermPtr[p] & (byte)Prot.Read) == 0) return false;
        return true;
    }

    public bool CanWrite(uint addr, uint len)
    {
        if (len == 0) return true;
        ulong end = (ulong)addr + len;
        if (end > Size) return false;
        for (ulong p = addr >> PageShift; p <= (end - 1) >> PageShift; p++)
            if ((PermPtr[p] & (byte)Prot.Write) == 0) return false;
        return true;
    }

    /// <summary>Kernel write into guest memory; invalidates decoded code it overwrites.</summary>
    public bool CopyToUser(uint addr, ReadOnlySpan<byte> data)
    {
        if (!CanWrite(addr, (uint)data.Length)) return false;
        PrepareWrite(addr, (uint)data.Length);
        data.CopyTo(new Span<byte>(Base + addr, data.Length));
        NoteWrite(addr, (uint)data.Length);
        return true;
    }

    public bool CopyFromUser(uint addr, Span<byte> dst)
    {
        if (!CanRead(addr, (uint)dst.Length)) return false;
        new ReadOnlySpan<byte>(Base + addr, dst.Length).CopyTo(dst);
        return true;
    }

    /// <summary>Write ignoring protections (the loader and the kernel filling read-only pages).</summary>
    public void Poke(uint addr, ReadOnlySpan<byte> data)
    {
        PrepareWrite(addr, (uint)data.Length);
        using (OpenForKernel(addr, (ulong)data.Length)) data.CopyTo(new Span<byte>(Base + addr, data.Length));
        NoteWrite(addr, (uint)data.Length);
    }

    /// <summary>A write to [addr, addr+len) has been stored: drop decoded code there. After the store, not before:
    /// a thread decoding the page in between read either the new bytes or marked the page first (seen here).</summary>
    public void NoteWrite(uint addr, uint len)
    {
        if (len == 0) return;
        Interlocked.MemoryBarrier(); // the store is visible before the code bits are read
        DropCode(addr, (ulong)addr + len);
    }

    /// <summary>Tell the decoder to forget the code on the pages of [addr, end) that hold some.</summary>
    void DropCode(ulong addr, ulong end)
    {
        if (CodeWritten == null) return;
        for (ulong p = addr >> PageShift; p <= (end - 1) >> PageShift && p < (1 << 20); p++)
            if ((PermPtr[p] & CodeBit) != 0 && (UpdatePerm((uint)p, unchecked((byte)~CodeBit), 0) & CodeBit) != 0)
            {
                CodeWritten((uint)p);
                // The code is gone: writes may go straight through again (after the blocks went, so a thread that
                // writes there next has nothing stale to run).
                if (HostWrites && (PermPtr[p] & (byte)Prot.Write) != 0) ProtectPage((uint)p);
            }
    }

    /// <summary>The decoder holds code from this page (atomic: other threads change the permission bits). With
    /// HostWrites the host write-protects the page before the decoder reads a byte of it: a translated write that
    /// lands after that faults and leaves, so none goes unseen.</summary>
    public void MarkCode(uint page)
    {
        if ((PermPtr[page] & CodeBit) == 0 && (UpdatePerm(page, 0xFF, CodeBit) & (CodeBit | WriteOk)) == WriteOk)
        {
            if (HostWrites) ProtectPage(page);
            PermissionsReduced?.Invoke(); // a write there is no longer a plain one
        }
    }

    /// <summary>PermPtr[page] = (PermPtr[page] &amp; keep) | set, atomically (threads of the process mark code pages while
    /// another maps or protects); returns the old value. The derived bits (WriteOk, ReadPair, WritePair) of the page
    /// and of the page below it follow.</summary>
    byte UpdatePerm(uint page, byte keep, byte set)
    {
        ref byte b = ref PermPtr[page];
        byte old = Volatile.Read(ref b);
        while (true)
        {
            byte seen = Interlocked.CompareExchange(ref b, WithDerived(page, (byte)((old & keep & ~Derived) | set)), old);
            if (seen == old) break;
            old = seen;
        }
        if (page + 1 < PermSize) FixDerived(page + 1);
        return old;
    }

    /// <summary>Bits the translated code tests instead of the protection bits: one test per access, page crossing
    /// included. Derived from the page's own bits and its upper neighbour's; never set by a caller.</summary>
    public const byte WriteOk = 0x40, ReadPair = 0x10, WritePair = 0x20;
    const byte Derived = WriteOk | ReadPair | WritePair;

    static bool OwnWriteOk(byte v) => (v & ((byte)Prot.Read | (byte)Prot.Write | CodeBit)) == ((byte)Prot.Read | (byte)Prot.Write);

    /// <summary>v (without derived bits) with the derived bits for page: WriteOk = readable, writable, no decoded
    /// code (a write needs no check for code); ReadPair / WritePair = that holds for reads / writes of this page
    /// and of the one below too, so an access that ends here may have started there. Page 0 pairs with nothing.
    /// (The page below, not above: a stack's hot top page has no mapped page above it.)</summary>
    byte WithDerived(uint page, byte v)
    {
        byte next = page > 0 ? Volatile.Read(ref PermPtr[page - 1]) : (byte)0;
        if (OwnWriteOk(v)) v |= (byte)(WriteOk | (OwnWriteOk(next) ? WritePair : 0));
        if ((v & next & (byte)Prot.Read) != 0) v |= ReadPair;
        return v;
    }

    /// <summary>Page's pair bits after its lower neighbour changed (that change is visible: called after its CAS).
    /// A racing update of page itself either sees the neighbour's new value or fails its CAS against ours and
    /// computes again, so the last writer of either byte leaves the pair bits right.</summary>
    void FixDerived(uint page)
    {
        ref byte b = ref PermPtr[page];
        byte old = Volatile.Read(ref b);
        while (true)
        {
            byte want = WithDerived(page, (byte)(old & ~Derived));
            if (want == old) return;
            byte seen = Interlocked.CompareExchange(ref b, want, old);
            if (seen == old) return;
            old = seen;
        }
    }

    public bool ReadU32(uint addr, out uint v)
    {
        v = 0;
        if (!CanRead(addr, 4)) return false;
        v = Unsafe.ReadUnaligned<uint>(Base + addr);
        return true;
    }
    public bool WriteU32(uint addr, uint v) => Store(addr, v);

    /// <summary>put_user: one host store (as atomic as the guest's of that size), code there dropped before and after.</summary>
    bool Store<T>(uint addr, T v) where T : unmanaged
    {
        uint n = (uint)sizeof(T);
        if (!CanWrite(addr, n)) return false;
        PrepareWrite(addr, n);
        Unsafe.WriteUnaligned(Base + addr, v);
        NoteWrite(addr, n);
        return true;
    }
    public bool ReadU16(uint addr, out ushort v)
    {
        v = 0;
        if (!CanRead(addr, 2)) return false;
        v = Unsafe.ReadUnaligned<ushort>(Base + addr);
        return true;
    }
    public bool WriteU16(uint addr, ushort v) => Store(addr, v);
    public bool ReadU64(uint addr, out ulong v)
    {
        v = 0;
        if (!CanRead(addr, 8)) return false;
        v = Unsafe.ReadUnaligned<ulong>(Base + addr);
        return true;
    }
    public bool WriteU64(uint addr, ulong v) => Store(addr, v);

    /// <summary>strncpy_from_user: null on fault or when no NUL within max bytes.</summary>
    public string? ReadCString(uint addr, int max = 4096)
    {
        var sb = new List<byte>();
        for (int i = 0; i < max; i++)
        {
            ulong a = (ulong)addr + (ulong)i;
            if (a >= Size || (PermPtr[a >> PageShift] & (byte)Prot.Read) == 0) return null;
            byte b = Base[a];
            if (b == 0) return System.Text.Encoding.UTF8.GetString(sb.ToArray());
            sb.Add(b);
        }
        return null;
    }

    public byte[]? ReadCStringBytes(uint addr, int max = 4096)
    {
        var sb = new List<byte>();
        for (int i = 0; i < max; i++)
        {
            ulong a = (ulong)addr + (ulong)i;
            if (a >= Size || (PermPtr[a >> PageShift] & (byte)Prot.Read) == 0) return null;
            byte b = Base[a];
            if (b == 0) return sb.ToArray();
            sb.Add(b);
        }
        return null;
    }

    /// <summary>mmput: every mapping goes (pages returned to the host, permissions cleared), but the host
    /// reservation stays until the object is collected, so a late reader sees unmapped memory, not freed memory.</summary>
    public void Teardown()
    {
        lock (MmLock)
        {
            lock (VvarLock) VvarPage = 0;
            // mmput's last user: no thread runs here and the code cache is retired with the space, so nothing
            // needs dropping page by page. One fresh mapping over the whole reservation lets every page and file
            // mapping go, one madvise the permission bytes (0: not present).
            if (HostMem.MapAnon(Base, Size))
            {
                HostMem.Zero(PermPtr, PermSize);
                vmas.Clear();
                SyncHost(0, Size);
                return;
            }
            // Mapping by mapping: walking all 2^20 permission bytes cost more than the whole exec.
            foreach (var (start, end) in vmas.Select(v => (v.Start, v.EndL)).ToArray())
                for (ulong a = start; a < end; a += 0x80000000UL)
                    Unmap((uint)a, (uint)Math.Min(end - a, 0x80000000UL));
        }
    }

    /// <summary>
    /// fork's dup_mm (kernel/fork.c dup_mmap): VMA metadata copied; private pages copied, but only those that
    /// hold data, so a sparse 8 MiB stack or a big untouched reservation costs nothing; shared VMAs map the same
    /// object pages in the child. MADV_DONTFORK mappings are left out, MADV_WIPEONFORK ones start empty.
    /// Brk, BrkStart, MmapBase and VvarPage carry over (the kernel must still register the child's vvar page
    /// with the timekeeper). Throws OutOfMemoryException when the host refuses a mapping (fork: -ENOMEM).
    /// Other threads of this space may keep running: a page they write during the copy may reach the child
    /// either way, as with any write racing fork.
    /// </summary>
    public AddressSpace Clone()
    {
        lock (MmLock)
        {
            var c = new AddressSpace { Brk = Brk, BrkStart = BrkStart, MmapBase = MmapBase, VvarPage = VvarPage };
            c.HostOpen(0, Size); // the copies below write the child's pages; SyncHost closes them after
            try
            {
                foreach (var v in vmas)
                {
                    if (v.DontFork) continue;
                    var nv = v.Slice(v.Start, v.EndL);
                    if (v.File != null && Overlay(c, nv) != 0) throw new OutOfMemoryException("dup_mmap: the host refused a shared mapping");
                    if (v.WipeOnFork) nv.Image = null;
                    else
                    {
                        // The child maps the snapshot's pages too, and only the pages the parent wrote are copied.
                        if (OverlayImage(c, nv) != 0) throw new OutOfMemoryException("dup_mmap: the host refused a private file mapping");
                        bool closed = (v.Prot & Prot.Read) == 0; // its data is still there to copy: open it for the copy
                        if (closed) HostOpen(v.Start, v.EndL);
                        CopyPrivate(v, Base + v.Start, c.Base + v.Start, v.Length, dstMapsImage: true);
                        if (closed) SyncHost(v.Start, v.EndL);
                    }
                    c.vmas.Add(nv);
                    for (ulong p = v.Start >> PageShift; p < v.EndL >> PageShift; p++) c.PermPtr[p] = (byte)(PermPtr[p] & ~(CodeBit | Derived));
                }
                // The child's derived bits: no code pages, and neighbours left out (MADV_DONTFORK) pair with nothing.
                foreach (var v in c.vmas)
                    for (ulong p = v.Start >> PageShift; p <= Math.Min(v.EndL >> PageShift, PermSize - 1); p++)
                        c.PermPtr[p] = c.WithDerived((uint)p, (byte)(c.PermPtr[p] & ~Derived));
                if (c.VvarPage != 0 && c.FindVma(c.VvarPage) == null) c.VvarPage = 0;
                c.SyncHost(0, Size);
            }
            catch { c.Dispose(); throw; }
            return c;
        }
    }

    /// <summary>Copy the pages of [src, src+len) that hold data to dst (non-overlapping, page aligned).</summary>
    static void CopyPopulated(byte* src, byte* dst, ulong len, bool anonOnly = false)
    {
        const int Chunk = 8192; // pages per query
        Span<byte> vec = stackalloc byte[Chunk];
        for (ulong off = 0; off < len; off += (ulong)Chunk << PageShift)
        {
            ulong n = Math.Min((ulong)Chunk, (len - off) >> PageShift);
            if (!HostMem.Populated(src + off, n, vec, anonOnly)) vec[..(int)n].Fill(1);
            for (ulong i = 0; i < n;)
            {
                if (vec[(int)i] == 0) { i++; continue; }
                ulong j = i;
                while (j < n && vec[(int)j] != 0) j++;
                ulong b = off + (i << PageShift), l = (j - i) << PageShift;
                // One host call populates the run (a third of the time of faulting page by page); old hosts
                // refuse the advice and fault as usual.
                if (j - i >= 16) HostMem.Advise(dst + b, l, 23 /* MADV_POPULATE_WRITE */);
                Buffer.MemoryCopy(src + b, dst + b, l, l);
                i = j;
            }
        }
    }
}
