using System.Runtime.InteropServices;
using Compat32.Memory;

namespace Compat32.Cpu;

/// <summary>
/// The translated code of one address space, shared by its processors (CodeSpace): one host reservation holding
/// the block lookup table, then the entry/exit stubs and the translated blocks. Translation, linking on behalf of
/// a flush and unlinking run under CodeSpace.Lock; host code and Jit.Run read the table without it.
/// The table is two-way set associative: the set is the guest EIP's low 16 bits, and its two slots sit side by
/// side (a direct-mapped table let two hot blocks 64 KiB apart, lua's call into libm and its return, evict each other
/// at every entry: 89% of lua's exits from host code were such misses). A table slot is one 64-bit word, the guest EIP in the low half and the host code in the high half (its address,
/// the region being mapped below 4 GiB when the host allows, else its offset from the table), so a reader never
/// pairs one block's tag with another's code: it is read with one load. Slots change only under the lock, and a
/// slot is set only for a valid block, so once an invalidation returns no slot leads to the dropped code (a thread
/// that read the slot just before runs that block once, as a processor runs an instruction it fetched before a
/// cross-modifying store; the invalidation's stop request makes it leave at the block's end).
/// A flush does not free code another thread may be running: it clears every block's host address, waits until
/// each processor has left host code (Jit.HostSeq), and only then empties the table and reuses the buffer.
/// </summary>
internal sealed unsafe partial class JitCode
{
    internal const int TableSize = 1 << 17;
    /// <summary>Sets of two slots: the set of EIP e is e & SetMask (host code indexes it with the low 16 bits).</summary>
    internal const int Sets = TableSize / 2, SetMask = Sets - 1;
    /// <summary>The first of e's two slots.</summary>
    internal static uint SlotIndex(uint e) => (e & SetMask) * 2;
    const ulong TableBytes = TableSize * 8;
    const ulong CodeSize = 64UL << 20;
    const ulong RegionSize = TableBytes + CodeSize;
    /// <summary>An empty slot is 0, as the fresh mapping already holds, so a new region touches no table page:
    /// tag 0 can only match guest EIP 0, whose set (slots 0 and 1) holds NoTag instead (no block starts at
    /// 0xFFFFFFFF). Every slot's tag differs from what a lookup of its set could ask for until it is set.</summary>
    static ulong EmptySlot(ulong index) => index < 2 ? Jit.NoTag : 0;

    /// <summary>Empty every slot (the region's pages are zero when fresh; a flush writes them).</summary>
    void ClearTable(bool fresh)
    {
        if (!fresh) new Span<ulong>(Table, TableSize).Clear();
        Table[0] = EmptySlot(0);
        Table[1] = EmptySlot(1);
    }

    /// <summary>Debugging aid: translate only the first COMPAT32_JIT_LIMIT blocks (bisects a translation bug).</summary>
    static readonly long Limit = long.TryParse(Environment.GetEnvironmentVariable("COMPAT32_JIT_LIMIT"), out long l) ? l : long.MaxValue;

    readonly CodeSpace space;
    /// <summary>The address space whose code this is (the translator reads call targets: Translator.PcThunk).</summary>
    internal CodeSpace Space => space;
    readonly byte* region;
    internal readonly ulong* Table;
    readonly byte* code;
    ulong used, stubsEnd;
    internal ulong ExitAddr;
    /// <summary>The shared exact page test (Translator.BuildStubs), called from blocks' cold paths.</summary>
    internal ulong ExactAddr;
    readonly delegate* unmanaged[SuppressGCTransition]<byte*, int> enter;
    readonly delegate* unmanaged<byte*, int> enterSafe;
    readonly Translator translator;
    long translated;

    /// <summary>Some translated block runs x87 instructions on the host FPU (set once, never cleared).</summary>
    internal volatile bool HasX87;

    /// <summary>Some translated block runs SSE instructions on the host's XMM registers (set once, never cleared).</summary>
    internal volatile bool HasSimd;

    /// <summary>Some translated block runs MMX instructions on host XMM8-15 (set once, never cleared).</summary>
    internal volatile bool HasMmx;

    /// <summary>The region is below 4 GiB: a slot holds the code's address itself (one instruction less per dispatch).</summary>
    internal readonly bool LowCode;

    /// <summary>The stubs, assembled once (Translator.BuildStubs: position-independent).</summary>
    static readonly (byte[] Code, int EnterOffset, int ExitOffset, int ExactOffset, int FaultOffset) Stubs = Translator.BuildStubs(0x10000);

    /// <summary>Translations may leave the test out of plain reads (HostFaults): the space's host protections mirror
    /// its read permissions and this region is registered with the fault handler.</summary>
    internal readonly bool Elide;
    /// <summary>Writes without a test too (the space write-protects what a write must not reach: AddressSpace.HostWrites).</summary>
    internal readonly bool ElideWrites;
    /// <summary>One bit per code byte: the read there has no test (HostFaults' handler looks); written under the lock.</summary>
    readonly byte* siteBits;
    const ulong SiteBitsSize = CodeSize / 8;
    /// <summary>The blocks that have sites, per segment of the code area, in code order (a segment fills from its
    /// start, and is emptied whole: EvictLocked, FlushLocked), so each list is sorted by offset: a fault finds its
    /// block by binary search and its site in the block's array. One record per block instead of a dictionary entry
    /// per site (the inserts were 5% of a translation, and of a copy from the code cache). Under sitesLock (not the
    /// space's lock: a processor that faulted looks its site up while still counted in host code, which an eviction
    /// holding the space's lock waits for).</summary>
    readonly List<(uint Off, Block Blk, HostSite[] Sites)>[] siteBlocks = [new(), new(), new(), new()];
    readonly object sitesLock = new();

    int SegOf(ulong off) => off < stubsEnd ? -1 : (int)Math.Min((off - stubsEnd) / SegBytes, Segments - 1);

    JitCode(CodeSpace space, byte* region, bool recycled)
    {
        this.space = space;
        this.region = region;
        LowCode = (ulong)region + RegionSize <= 1UL << 32;
        Table = (ulong*)region;
        code = region + TableBytes;
        ClearTable(fresh: true); // a recycled region's table was emptied when it was retired
        translator = new Translator(this);
        var stubs = Stubs.Code;
        if (!recycled) stubs.CopyTo(new Span<byte>(code, stubs.Length));
        enter = (delegate* unmanaged[SuppressGCTransition]<byte*, int>)(code + Stubs.EnterOffset);
        enterSafe = (delegate* unmanaged<byte*, int>)(code + Stubs.EnterOffset);
        ExitAddr = (ulong)code + (ulong)Stubs.ExitOffset;
        ExactAddr = (ulong)code + (ulong)Stubs.ExactOffset;
        used = stubsEnd = (ulong)(stubs.Length + 63) & ~63UL;
        ulong want = space.CodeLimit != 0 ? space.CodeLimit : EnvLimit != 0 ? EnvLimit : CodeSize;
        limit = Math.Clamp(want, stubsEnd + Segments * 16384UL, CodeSize);
        segFilled[0] = true;
        if (HostFaults.Active && space.Mem.HostProtected)
        {
            siteBits = HostMem.Reserve(SiteBitsSize); // untouched pages cost nothing
            Elide = HostFaults.AddCode((ulong)code, (ulong)code + CodeSize, (ulong)siteBits, (ulong)code + (ulong)Stubs.FaultOffset);
            ElideWrites = Elide && space.Mem.HostWrites;
        }
    }

    /// <summary>Record the just-committed block's reads without a test (under the lock; before the block is published).</summary>
    void AddSites(ulong at, Block blk, HostSite[] list)
    {
        if (list.Length == 0) return;
        ulong start = at - (ulong)code;
        lock (sitesLock)
        {
            foreach (var site in list)
            {
                ulong k = start + (ulong)site.Off;
                siteBits[k >> 3] |= (byte)(1 << (int)(k & 7));
            }
            siteBlocks[SegOf(start)].Add(((uint)start, blk, list));
        }
    }

    /// <summary>Forget the sites in [lo, hi) of the code area, whole segments (under the lock; nobody runs that code any more).</summary>
    void DropSites(ulong lo, ulong hi)
    {
        lock (sitesLock)
            for (int g = 0; g < Segments; g++)
            {
                var l = siteBlocks[g];
                if (l.Count == 0 || l[0].Off < lo || l[^1].Off >= hi) continue;
                foreach (var (off, _, list) in l)
                    foreach (var site in list)
                    {
                        ulong k = off + (ulong)site.Off;
                        siteBits[k >> 3] &= (byte)~(1 << (int)(k & 7));
                    }
                l.Clear();
            }
    }

    /// <summary>The guest instruction of the site at host address rip (Jit.FromFault).</summary>
    internal bool FindSite(ulong rip, out uint eip, out HostSite site)
    {
        eip = 0; site = default;
        if (rip < (ulong)code || rip - (ulong)code >= CodeSize) return false;
        ulong k = rip - (ulong)code;
        int g = SegOf(k);
        if (g < 0) return false;
        lock (sitesLock)
        {
            var l = siteBlocks[g];
            int lo = 0, hi = l.Count - 1, at = -1;
            while (lo <= hi) { int mid = (lo + hi) >>> 1; if (l[mid].Off <= k) { at = mid; lo = mid + 1; } else hi = mid - 1; }
            if (at < 0) return false;
            var (off, blk, list) = l[at];
            foreach (var s in list)
                if (off + (ulong)s.Off == k) { eip = blk.IpAt(s.Index); site = s; return true; }
            return false;
        }
    }

    internal static JitCode? Create(CodeSpace space)
    {
        if (!Jit.HostSupported) return null;
        lock (spare)
            if (spare.Count > 0)
            {
                byte* sr = (byte*)spare.Pop();
                Interlocked.Increment(ref Recycled);
                return new JitCode(space, sr, recycled: true) { lowMapped = true };
            }
        bool low = true;
        byte* r = ReserveLow(RegionSize);
        if (r == null) { low = false; r = HostMem.ReserveCode(RegionSize); }
        return r == null ? null : new JitCode(space, r, recycled: false) { lowMapped = low };
    }

    bool lowMapped;

    ~JitCode() => Free();

    /// <summary>Regions of dead address spaces kept for the next ones (a shell's children come and go by the
    /// hundred): their table and code pages are already faulted in and their stubs written, where a fresh
    /// region took a host page fault for each table page and code page it touched.</summary>
    static readonly Stack<nint> spare = new(); // locked on itself; low regions only (see Free)
    const int MaxSpare = 4;
    /// <summary>A region whose code grew past this goes back to the host rather than keep its pages resident.</summary>
    const ulong MaxRecycledCode = 4UL << 20;

    /// <summary>Table slots Link set since the last flush (under the lock): what a retired region must clear.</summary>
    readonly List<uint> linked = new();

    int freed;
    /// <summary>Give the region back (the address space is gone and no processor can run in it any more); the
    /// region below 2 GiB holds only a few dozen of these, so it must not wait for a garbage collection. A small
    /// region goes to the spare list with its table emptied (the slots Link set) instead.</summary>
    internal void Free()
    {
        if (Interlocked.Exchange(ref freed, 1) != 0) return;
        GC.SuppressFinalize(this);
        if (siteBits != null)
        {
            if (Elide) HostFaults.RemoveCode((ulong)code);
            HostMem.Release(siteBits, SiteBitsSize);
        }
        // Only low regions: a spare high one would be handed out while low room is free again, and its code could
        // not be copied to or from the low regions (templates are per kind).
        if (!wrapped && used <= MaxRecycledCode && Recycle && lowMapped)
        {
            lock (space.Lock) foreach (uint i in linked) Table[i] = EmptySlot(i);
            lock (spare)
                if (spare.Count < MaxSpare) { spare.Push((nint)region); return; }
        }
        if (lowMapped) munmap((nint)region, (nuint)RegionSize);
        else HostMem.Release(region, RegionSize);
    }

    /// <summary>COMPAT32_JIT_RECYCLE=0 gives every dead region back to the host (to compare).</summary>
    static readonly bool Recycle = Environment.GetEnvironmentVariable("COMPAT32_JIT_RECYCLE") != "0";

    /// <summary>Regions taken from the spare list (machine-wide; tests).</summary>
    internal static long Recycled;

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial nint mmap(nint addr, nuint len, int prot, int flags, int fd, nint off);
    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int munmap(nint addr, nuint len);

    /// <summary>Read-write-execute memory below 2 GiB (MAP_32BIT, x86-64 Linux), or null.</summary>
    static byte* ReserveLow(ulong size)
    {
        const int RWX = 7, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MAP_32BIT = 0x40, MAP_NORESERVE = 0x4000;
        try
        {
            nint p = mmap(0, (nuint)size, RWX, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT | MAP_NORESERVE, -1, 0);
            if (p != -1 && p != 0) return (byte*)p;
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return null;
    }

    internal ulong CodeCursor => (ulong)code + used;

    /// <summary>Where a block's code starts: a multiple of 32 bytes (COMPAT32_JIT_ALIGN=16/32/64 to compare). A loop
    /// onto the block's start then sits in as few 32-byte fetch windows as its size allows; at 16 the same code ran
    /// a sieve 22% slower or faster depending on where the blocks before it ended (pinned, this AMD EPYC).</summary>
    static readonly ulong BlockAlign = Environment.GetEnvironmentVariable("COMPAT32_JIT_ALIGN") switch { "16" => 16UL, "64" => 64UL, _ => 32UL };
    internal ulong CodeLeft => SegEnd(seg) - used;

    // ---- the code area as a ring of segments: when the one being filled is full, the next one's blocks are evicted
    // (their lookup slots emptied, their blocks interpreted until translated again) and it is filled anew, so steady
    // pressure never throws away all translated code at once (FlushLocked, which a flush request still does).
    const int Segments = 4;
    /// <summary>Bytes of code the ring holds: CodeSize, or less for tests and experiments (CodeSpace.CodeLimit,
    /// COMPAT32_JIT_CODE_KIB).</summary>
    readonly ulong limit;
    int seg;
    /// <summary>The cursor left the first segment once: the region is not worth keeping for another space.</summary>
    bool wrapped;
    readonly bool[] segFilled = new bool[Segments];
    ulong SegBytes => ((limit - stubsEnd) / Segments) & ~63UL;
    ulong SegStart(int k) => stubsEnd + (ulong)k * SegBytes;
    ulong SegEnd(int k) => SegStart(k) + SegBytes;
    /// <summary>Room a translation needs before the segment counts as full (the largest block's code is far smaller).</summary>
    ulong Reserve => Math.Min(1UL << 20, SegBytes / 4);

    static readonly ulong EnvLimit = ulong.TryParse(Environment.GetEnvironmentVariable("COMPAT32_JIT_CODE_KIB"), out ulong kib) && kib >= 64 ? kib << 10 : 0;

    /// <summary>Segments evicted (machine-wide; --stats).</summary>
    internal static long Evictions;

    /// <summary>Make room for a translation (under the lock): evict the next segment once this one is full.</summary>
    void EnsureRoom()
    {
        if (CodeLeft >= Reserve) return;
        int next = (seg + 1) % Segments;
        if (segFilled[next]) EvictLocked(SegStart(next), SegEnd(next));
        seg = next;
        segFilled[next] = true;
        wrapped = true;
        used = SegStart(next);
    }

    /// <summary>Drop the translations in [lo, hi) of the code area (under the lock). Their blocks lose their host
    /// code and their lookup slots first, so no entry and no dispatch can reach the range any more; then every
    /// processor that may still be in host code is waited for; only then may the range be written again.</summary>
    void EvictLocked(ulong lo, ulong hi)
    {
        nint a = (nint)(code + lo), b = (nint)(code + hi);
        space.Cache.ForgetNativeIn(a, b);
        int kept = 0;
        for (int i = 0; i < linked.Count; i++)
        {
            uint idx = linked[i];
            ulong v = Volatile.Read(ref Table[idx]);
            ulong at = (v >> 32) + (LowCode ? 0 : (ulong)Table);
            if (v != EmptySlot(idx) && at >= (ulong)a && at < (ulong)b) Volatile.Write(ref Table[idx], EmptySlot(idx));
            else linked[kept++] = idx;
        }
        linked.RemoveRange(kept, linked.Count - kept);
        EvictLinks((ulong)a, (ulong)b);
        Interlocked.MemoryBarrier();
        WaitOutOfHostCode();
        DropSites(lo, hi); // after the wait: a processor that faulted in the range finds its site before it leaves
        Interlocked.Increment(ref Evictions);
    }
    internal Span<byte> CodeAt(ulong addr, int len) => new((void*)addr, len);
    internal void Commit(int len)
    {
        used = (used + (ulong)len + BlockAlign - 1) & ~(BlockAlign - 1);
        if (!hugeAdvised && used >= HugeAfter) AdviseHuge();
        Interlocked.Add(ref TotalCodeBytes, len);
        long u = (long)(used - stubsEnd), peak;
        while (u > (peak = Volatile.Read(ref PeakCodeBytes)) && Interlocked.CompareExchange(ref PeakCodeBytes, u, peak) != peak) { }
    }

    /// <summary>Code written before the rest of the code area (and its site bits) is advised MADV_HUGEPAGE. A
    /// program that translated this much goes on to translate more (cc1: 11 MiB), and on a host whose 4 KiB page
    /// faults are dear each new code page cost a fault (41% of cc1's remaining faults); a short-lived program stays
    /// below it and never zeroes a 2 MiB page for a few blocks.</summary>
    const ulong HugeAfter = 2UL << 20;
    bool hugeAdvised; // under the lock (as used)

    /// <summary>From the next 2 MiB boundary on, the code area and its site bits come as huge pages where the host
    /// offers them (the pages already touched keep their small pages). Advice only: nothing else changes.</summary>
    void AdviseHuge()
    {
        hugeAdvised = true;
        if (!Compat32.Memory.Thp.ForMadvise) return;
        ulong huge = Compat32.Memory.Thp.PmdSize;
        ulong from = ((ulong)code + used + huge - 1) & ~(huge - 1), end = (ulong)code + CodeSize;
        if (from < end) HostMem.Advise((byte*)from, end - from, Compat32.Memory.Thp.MADV_HUGEPAGE);
        if (siteBits != null)
        {
            ulong sFrom = ((ulong)siteBits + used / 8 + huge - 1) & ~(huge - 1), sEnd = (ulong)siteBits + SiteBitsSize;
            if (sFrom < sEnd) HostMem.Advise((byte*)sFrom, sEnd - sFrom, Compat32.Memory.Thp.MADV_HUGEPAGE);
        }
    }

    /// <summary>Machine-wide, for --stats: the most translated code one address space held at once (its region holds
    /// CodeSize; past that its segments are evicted in turn), and the code written by all of them.</summary>
    internal static long PeakCodeBytes, TotalCodeBytes;

    /// <summary>The size of one address space's code region (the bound on its translated code).</summary>
    internal const long CodeLimit = (long)CodeSize;
    internal long TranslatedCount => translated;
    internal ulong TableAddr => (ulong)Table;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal int Enter(byte* state) => enter(state);

    /// <summary>Enter with the GC transition: host code runs in preemptive mode (a GC need not wait for it: it
    /// touches no managed object, the permission array is pinned), and the return is a GC safe point.</summary>
    internal int EnterSafe(byte* state) => enterSafe(state);

    ulong SlotValue(uint start, nint native) => start | (((ulong)native - (LowCode ? 0 : (ulong)Table)) << 32);

    /// <summary>Translate blk (under the lock): 1 done, 0 not worth it (it stays interpreted), -1 the assembler refused.</summary>
    internal int Translate(Block blk, Jit by)
    {
        lock (space.Lock)
        {
            if (blk.Native != 0) return 0;           // another thread was first
            if (!blk.Valid || blk.NoJit) return 0;
            if (translated >= Limit) { blk.NoJit = true; return 0; }
            EnsureRoom();
            nint host = Produce(blk, by, !blk.NoHoist, out bool failed);
            if (host == 0) { blk.NoJit = true; return failed ? -1 : 0; }
            blk.Native = host;
            LinkIncoming(blk);
            translated++;
            return 1;
        }
    }

    /// <summary>Translate blk again with every check at its instruction: its hoisted checks keep failing at entry
    /// (a page it writes holds code, say), which would send the whole block to the interpreter each time. The old
    /// code stays valid for a thread still in it; lookups find the new code once Link points the slot at it.</summary>
    internal void TranslateWithoutHoisting(Block blk, Jit by)
    {
        lock (space.Lock)
        {
            if (blk.NoHoist || blk.Native == 0 || !blk.Valid) return;
            blk.NoHoist = true;
            EnsureRoom(); // (may evict blk's own code: it is then translated again on its next use)
            if (blk.Native == 0) return;
            nint host = Produce(blk, by, hoist: false, out _);
            Unlink(blk);
            if (host == 0) { blk.Native = 0; blk.NoJit = true; return; }
            blk.Native = host;
            LinkIncoming(blk);
            translated++;
        }
    }

    /// <summary>Point blk's lookup slot at its host code, on entry from the interpreter (not inside host code: a
    /// flush holding the lock may be waiting for this thread). Only for a block still valid with that code.</summary>
    internal bool Link(Block blk, nint native)
    {
        uint i = SlotIndex(blk.Start);
        ulong* set = Table + i;
        ulong v = SlotValue(blk.Start, native);
        if (Volatile.Read(ref set[0]) == v || Volatile.Read(ref set[1]) == v) return false;
        lock (space.Lock)
        {
            if (!blk.Valid || blk.Native != native) return false;
            // The block's own slot if it has one (older code of it), else an empty one, else the older of the
            // two moves to the second way. Each store is one whole slot, so a reader racing with the move sees
            // each way hold some valid block's pair (possibly the same one twice).
            uint tag = blk.Start;
            int w = (uint)set[0] == tag ? 0 : (uint)set[1] == tag ? 1 : set[0] == EmptySlot(i) ? 0 : set[1] == EmptySlot(i + 1) ? 1 : -1;
            if (w < 0)
            {
                Volatile.Write(ref set[1], set[0]); // (both slots are in linked already)
                w = 0;
            }
            // linked lists each slot once while it is set (a slot Unlink emptied may come again: bounded by those)
            if (set[w] == EmptySlot(i + (uint)w)) linked.Add(i + (uint)w);
            Volatile.Write(ref set[w], v);
            return true;
        }
    }

    /// <summary>Take a block's host code out of the lookup table and the link cells (its page was written or
    /// unmapped; under the lock). The code stays until the next flush.</summary>
    internal void Unlink(Block blk)
    {
        nint native = blk.Native;
        if (native == 0) return;
        UnlinkIncoming(blk.Start);
        uint i = SlotIndex(blk.Start);
        ulong v = SlotValue(blk.Start, native);
        for (uint w = 0; w < 2; w++)
            if (Table[i + w] == v) Volatile.Write(ref Table[i + w], EmptySlot(i + w));
    }

    internal void Flush()
    {
        lock (space.Lock) FlushLocked();
    }

    void FlushLocked()
    {
        // 1. No block has host code any more: no new entry can start (Jit.Run re-reads Native after publishing).
        space.Cache.ForgetNative();
        Interlocked.MemoryBarrier();
        // 2. Wait for every processor that may still be in host code (or entering it with an old address) to leave.
        WaitOutOfHostCode();
        // 3. Nobody can reach the old code now: empty the table and reuse the buffer.
        ClearTable(fresh: false);
        DropSites(0, CodeSize);
        ClearLinks();
        linked.Clear();
        used = stubsEnd;
        seg = 0;
        Array.Clear(segFilled);
        segFilled[0] = true;
    }

    /// <summary>Returns once every processor that was in host code (or entering it) has left it since the call.</summary>
    void WaitOutOfHostCode()
    {
        foreach (var w in space.CpuList)
        {
            if (!w.TryGetTarget(out var p) || p.Jit is not { } j) continue;
            int seq = Volatile.Read(ref j.HostSeq);
            if ((seq & 1) == 0) continue;
            j.RequestStop();
            var spin = new SpinWait();
            while (Volatile.Read(ref j.HostSeq) == seq) spin.SpinOnce(); // yields and sleeps: a GC can proceed
        }
    }
}

/// <summary>A host instruction whose guest access has no test (HostFaults): its offset in the block's code, the guest
/// instruction's index in the block, whether the guest flags are in host RFLAGS there, and the x87 pointer the block
/// had not stored yet there (Fip 0: none), which a fault there stores as the instruction's slow exit would.</summary>
internal readonly record struct HostSite(int Off, int Index, bool Host, uint Fip, uint Fop, uint Fds);
