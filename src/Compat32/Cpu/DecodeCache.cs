using Compat32.Memory;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>A straight-line run of decoded instructions ending at a control transfer or a page edge.</summary>
public sealed class Block
{
    public uint Start, End;
    /// <summary>Precomputed operand information, one per instruction (Processor.BuildUop).</summary>
    public Uop[] Uops = Array.Empty<Uop>();
    /// <summary>The instructions with no fast-path form, in order (a Generic uop's Imm is its index here): the only
    /// ones the interpreter needs whole. Keeping every Iced Instruction (40 bytes) doubled the decoded blocks' memory,
    /// and on a host where first-touching a page costs ~12 µs that was ~7% of python3.11 -S's start-up.</summary>
    public Instruction[] Generic = Array.Empty<Instruction>();
    public int Count;
    /// <summary>Cleared (once, under CodeSpace.Lock) when its page is written or unmapped; read lock-free.</summary>
    public volatile bool Valid = true;
    /// <summary>Host code of the translated form (Jit), 0 if none; NoJit: its head is not worth translating.
    /// Written under CodeSpace.Lock, read lock-free.</summary>
    public volatile nint Native;
    public bool NoJit;
    /// <summary>Executions before translation (a heuristic: racing increments may lose a few).</summary>
    public int Hits;
    /// <summary>Entries whose hoisted checks failed (a heuristic, racy like Hits); NoHoist: translated again with
    /// every check at its instruction (written under CodeSpace.Lock).</summary>
    public int HoistFails;
    public bool NoHoist;
    /// <summary>The machine-wide decoded run this block's instructions are; its translation templates let another
    /// process skip translating the same code (JitCode.Translate), its bytes give every instruction again.</summary>
    internal DecodePool.Run Run = null!;

    /// <summary>The guest address of instruction i.</summary>
    public uint IpAt(int i) => i == 0 ? Start : Uops[i - 1].Next;

}

/// <summary>
/// Decodes a block's instructions again from the bytes it was decoded from (the translator's input; a block keeps
/// only its Generic ones). The same bytes at the same address decode the same; an instruction that does not end
/// where the first decode's did (only an invalid one could: it may have looked past its end) is left INVALID.
/// One per translator: its decoder and buffer are reused, so a translation allocates nothing here.
/// </summary>
internal sealed class Redecoder : CodeReader
{
    readonly Decoder decoder;
    readonly Instruction[] buffer = new Instruction[DecodeCache.MaxInsns];
    byte[] bytes = Array.Empty<byte>();
    int pos;

    public Redecoder() => decoder = Decoder.Create(32, this, DecoderOptions.None);

    public override int ReadByte() => pos < bytes.Length ? bytes[pos++] : -1;

    /// <summary>blk's instructions, valid until the next call.</summary>
    public Instruction[] All(Block blk)
    {
        bytes = blk.Run.Bytes;
        pos = 0;
        decoder.IP = blk.Start;
        int i = 0;
        for (; i < blk.Count; i++)
        {
            decoder.Decode(out buffer[i]);
            if ((uint)buffer[i].NextIP != blk.Uops[i].Next || (uint)buffer[i].IP != blk.IpAt(i)) break;
        }
        for (; i < blk.Count; i++) buffer[i] = default; // nothing of an earlier block's is left past a mismatch
        return buffer;
    }
}

/// <summary>
/// Decoded blocks by start address, shared by the processors of one address space (CodeSpace); every method runs
/// under CodeSpace.Lock (each processor keeps its own lock-free L1 in front of it). Each instruction is decoded
/// once; a write to a page holding decoded code (the page's CodeBit) drops every block on that page, so
/// self-modifying and cross-modifying code work.
/// </summary>
public sealed unsafe class DecodeCache
{
    internal const int MaxInsns = 64;
    /// <summary>Conditional branches a block runs through (its fall-through continues it): the translator keeps the
    /// flags in host RFLAGS across them and leaves only on the taken side, where a block ending at each one paid a
    /// flags store, a dispatch and a flags load. The interpreter leaves a block wherever EIP departs from the
    /// fall-through. COMPAT32_BLOCK_JCC=N (default 3; 0: blocks end at every branch, as before).</summary>
    static readonly int MaxJcc = int.TryParse(Environment.GetEnvironmentVariable("COMPAT32_BLOCK_JCC"), out int j) && j >= 0 ? j : 3;
    readonly CodeSpace space;
    /// <summary>Read without the lock (a processor's L1 miss), changed under it.</summary>
    readonly BlockTable blocks = new();
    readonly Dictionary<uint, List<Block>> byPage = new();
    readonly GuestCodeReader reader;
    readonly Decoder decoder;
    readonly List<Instruction> list = new(MaxInsns);

    public long Decoded, Invalidations;

    internal DecodeCache(CodeSpace space)
    {
        this.space = space;
        reader = new GuestCodeReader(space.Mem);
        decoder = Decoder.Create(32, reader, DecoderOptions.None);
    }

    /// <summary>The block at eip, decoded if needed; null with the address that cannot be fetched.</summary>
    internal Block? Lookup(uint eip, out uint faultAddr)
    {
        faultAddr = 0;
        // Invalid but still listed: its invalidation is under way (the lock waits for it).
        var b = blocks.Get(eip);
        if (b != null && b.Valid) return b;
        lock (space.Lock)
        {
            b = blocks.Get(eip);
            if (b != null) return b;
            while (true)
            {
                b = DecodeBlock(eip, out faultAddr);
                if (b == null) return null;
                // Listed only once its bytes are still in memory: a store that checked the page before we marked
                // it may have landed during the decode (a later one sees the mark and drops the block). And only
                // while its pages are still marked: a store that dropped the page's code after our mark (one that
                // clears the mark before it stores: AddressSpace.PrepareWrite) would otherwise find no mark to drop
                // this block by; the mark's clearing is followed by the drop, which waits for this lock.
                if (reader.Unchanged(b.Start, b.End) && StillMarked(b.Start, b.End)) break;
            }
            blocks.Add(b);
            uint lastPage = (b.End - 1) >> 12;
            for (uint p = eip >> 12; ; p++)
            {
                if (!byPage.TryGetValue(p, out var l)) byPage[p] = l = new List<Block>();
                l.Add(b);
                if (p == lastPage) break;
            }
            Decoded += b.Count;
            return b;
        }
    }

    bool StillMarked(uint from, uint to)
    {
        var perm = space.Mem.PermPtr;
        for (uint p = from >> 12; p <= (to - 1) >> 12; p++)
            if ((Volatile.Read(ref perm[p]) & AddressSpace.CodeBit) == 0) return false;
        return true;
    }

    /// <summary>Hits of a block whose bytes already have a translation (another process's, or a stored one): its
    /// first run copies it (JitCode.FromTemplate costs a copy, not a translation) instead of interpreting it until
    /// it is hot.</summary>
    const int Warm = 1 << 30;

    Block? DecodeBlock(uint eip, out uint faultAddr)
    {
        faultAddr = 0;
        int way = 0;
        for (var run = DecodePool.At(eip); run != null && way < DecodePool.Ways; run = run.Next, way++)
            if (reader.Matches(run.Start, run.End, run.Bytes))
                return new Block { Start = eip, End = run.End, Generic = run.Generic, Uops = run.Uops, Count = run.Count, Run = run, Hits = Volatile.Read(ref run.Templates) != null ? Warm : 0 };
        list.Clear();
        uint ip = eip;
        int jcc = 0;
        reader.Begin(eip);
        while (list.Count < MaxInsns)
        {
            reader.Reset(ip);
            decoder.IP = ip;
            decoder.Decode(out var ins);
            if (reader.Fault)
            {
                if (list.Count > 0) break; // end the block before the unfetchable instruction
                faultAddr = reader.FaultAddr;
                return null;
            }
            list.Add(ins);
            ip = (uint)ins.NextIP;
            if (ins.IsInvalid) break;
            // A loop's back edge to the block's own start ends it: what follows is the loop's exit, and carrying it
            // would put its work (its memory checks at entry, say) on every iteration.
            if (ins.FlowControl != FlowControl.Next && !(ins.FlowControl == FlowControl.ConditionalBranch
                && ins.NearBranchTarget != eip && ++jcc <= MaxJcc)) break;
            // Stop at page edges so a block never outlives a remapping of the next page.
            if ((ip & 0xFFF) < 16 && ((ip - 1) >> 12) != (eip >> 12)) break;
        }
        int count = list.Count, generic = 0;
        var uops = new Uop[count];
        for (int i = 0; i < count; i++)
            if ((uops[i] = Processor.BuildUop(list[i])).Kind == UopKind.Generic) uops[i].Imm = (uint)generic++;
        var whole = generic == 0 ? Array.Empty<Instruction>() : new Instruction[generic];
        for (int i = 0; i < count; i++)
            if (uops[i].Kind == UopKind.Generic) whole[uops[i].Imm] = list[i];
        var fresh = new DecodePool.Run { Start = eip, End = ip, Count = count, Bytes = reader.Seen(eip, ip), Generic = whole, Uops = uops };
        if (TranslationStore.Active) fresh.Templates = TranslationStore.Find(eip, fresh.Bytes, count);
        DecodePool.Add(fresh);
        return new Block { Start = eip, End = ip, Generic = whole, Uops = uops, Count = count, Run = fresh, Hits = fresh.Templates != null ? Warm : 0 };
    }

    /// <summary>blk's translation relies on code outside its own bytes (a PIC thunk it runs in place of a call to it:
    /// Translator.PcThunk): it is listed under that page too, so a write or unmap there drops it as a change of its
    /// own bytes would (under CodeSpace.Lock; the caller marks the page as code first).</summary>
    internal void DependOn(Block b, uint page)
    {
        if (!byPage.TryGetValue(page, out var l)) byPage[page] = l = new List<Block>();
        if (!l.Contains(b)) l.Add(b);
    }

    /// <summary>Blocks still valid, without host code, that ran at least minHits times (under CodeSpace.Lock).</summary>
    internal List<Block> Lukewarm(int minHits)
    {
        var l = new List<Block>();
        blocks.ForEach(b => { if (b.Valid && b.Native == 0 && !b.NoJit && b.Hits >= minHits) l.Add(b); });
        return l;
    }

    /// <summary>The block listed at eip, or null (under CodeSpace.Lock).</summary>
    internal Block? Listed(uint eip) => blocks.Get(eip);

    /// <summary>Drop the blocks of a page (under CodeSpace.Lock); false if it had none.</summary>
    internal bool InvalidatePage(uint page)
    {
        if (!byPage.Remove(page, out var l)) return false;
        var jit = space.CodeIfAny;
        foreach (var b in l)
        {
            b.Valid = false;
            jit?.Unlink(b);
            // A block spanning two pages is listed under both; only the current entry goes.
            blocks.Remove(b);
        }
        Invalidations++;
        return true;
    }

    /// <summary>The translator dropped its code: no block has host code any more (under CodeSpace.Lock).</summary>
    internal void ForgetNative()
    {
        blocks.ForEach(static b => { b.Native = 0; b.NoJit = false; b.Hits = 0; });
    }

    /// <summary>The blocks whose host code lies in [lo, hi) lose it (JitCode's eviction of one segment; under the lock).</summary>
    internal void ForgetNativeIn(nint lo, nint hi)
    {
        blocks.ForEach(b => { if (b.Native >= lo && b.Native < hi) { b.Native = 0; b.NoJit = false; b.Hits = 0; } });
    }

    /// <summary>
    /// Feeds Iced from guest memory, stopping (not throwing) at an unfetchable byte. Each page is marked as holding
    /// code (CodeBit, atomically) before its first byte is read, so a store that checks the page afterwards takes
    /// the slow path and drops the block; the bytes read are kept so the block can be checked against memory before
    /// it is listed (a store that checked the page before it was marked). Left open: such a store whose thread is
    /// held between its check and its write for the whole decode lands unseen; the block then stays stale until
    /// the next store into the page.
    /// </summary>
    sealed class GuestCodeReader : CodeReader
    {
        readonly AddressSpace mem;
        readonly byte* mb, perm;
        uint ip, start, marked = 0xFFFFFFFF;
        int count;
        public bool Fault;
        public uint FaultAddr;
        readonly byte[] seen = new byte[MaxInsns * 15 + 16];
        public GuestCodeReader(AddressSpace mem) { this.mem = mem; mb = mem.Base; perm = mem.PermPtr; }
        public void Begin(uint at) { start = at; marked = 0xFFFFFFFF; matched = null; }
        public void Reset(uint at) { ip = at; count = 0; Fault = false; }
        public override int ReadByte()
        {
            if (count >= 15) return -1;
            uint page = ip >> 12;
            if (page != marked) { mem.MarkCode(page); marked = page; }
            if ((perm[page] & (byte)(Prot.Read | Prot.Exec)) != (byte)(Prot.Read | Prot.Exec))
            {
                if (!Fault) { Fault = true; FaultAddr = ip; }
                return -1;
            }
            count++;
            byte v = mb[ip];
            uint off = ip - start;
            if (off < (uint)seen.Length) seen[off] = v;
            ip++;
            return v;
        }
        /// <summary>The bytes of [from, to) as read by this decode (a block's are all kept: at most MaxInsns
        /// instructions of at most 15 bytes).</summary>
        public byte[] Seen(uint from, uint to)
        {
            uint n = to - from;
            if (from != start || n > (uint)seen.Length) throw new InvalidOperationException($"decode of {from:x8}-{to:x8} outgrew its byte record");
            return seen.AsSpan(0, (int)n).ToArray();
        }

        /// <summary>Guest memory at [from, to) is fetchable code holding exactly these bytes. Each page is marked as
        /// holding code before it is compared, as a decode would (a store after the mark drops the block); the
        /// bytes become this decode's, so Unchanged checks them again before the block is listed.</summary>
        public bool Matches(uint from, uint to, byte[] bytes)
        {
            uint n = to - from;
            if (n == 0 || n != (uint)bytes.Length || n > (uint)seen.Length || to < from) return false;
            for (uint page = from >> 12; page <= (to - 1) >> 12; page++)
            {
                mem.MarkCode(page);
                if ((perm[page] & (byte)(Prot.Read | Prot.Exec)) != (byte)(Prot.Read | Prot.Exec)) return false;
            }
            Interlocked.MemoryBarrier(); // marks before the reads
            if (!new ReadOnlySpan<byte>(mb + from, (int)n).SequenceEqual(bytes)) return false;
            start = from;
            matched = bytes;
            return true;
        }

        /// <summary>The pooled bytes the last Matches accepted (null after a decode): Unchanged compares with them.</summary>
        byte[]? matched;

        /// <summary>Guest memory still holds the bytes the block was decoded from.</summary>
        public bool Unchanged(uint from, uint to)
        {
            Interlocked.MemoryBarrier();
            uint n = to - from;
            var was = matched is { } m ? m.AsSpan() : seen.AsSpan();
            return n <= (uint)was.Length && new ReadOnlySpan<byte>(mb + from, (int)n).SequenceEqual(was[..(int)n]);
        }
    }
}

/// <summary>
/// Blocks by start address for one DecodeCache: open addressing with linear probing, read without a lock and
/// changed only under CodeSpace.Lock. A reader compares Start, so it never takes a wrong block; it may miss one
/// that a removal is moving (it then looks again under the lock). Kept at most half full, so every probe ends at
/// an empty slot. Cheaper than a ConcurrentDictionary, whose node per entry and table growth were a tenth of a
/// short process's CPU.
/// </summary>
internal sealed class BlockTable
{
    /// <summary>A slot: the block's start beside it, so a probe compares starts in the array and reads no Block it
    /// does not return (each is a cache miss in a program with much code: gcc's cc1 spent a tenth of its run in
    /// these probes, 6.8% after). Written whole under the lock; a reader may see a slot half-written (the struct is two words),
    /// so it returns a block only if the block's own start is the one asked for, and treats anything else as a
    /// miss, which the caller settles under the lock.</summary>
    struct Slot { public uint Start; public Block? Blk; }

    Slot[] slots = new Slot[1024]; // a program's start-up decodes ~1000 blocks (busybox true: 1112); replaced whole when it grows (CodeSpace.Lock); readers take a snapshot
    int count;                     // CodeSpace.Lock

    static int Index(uint start, int length) =>
        (int)(((ulong)start * 0x9E3779B97F4A7C15UL) >> (64 - System.Numerics.BitOperations.Log2((uint)length)));

    public Block? Get(uint start)
    {
        var s = Volatile.Read(ref slots);
        int mask = s.Length - 1;
        for (int i = Index(start, s.Length); ; i = (i + 1) & mask)
        {
            ref Slot e = ref s[i];
            var b = Volatile.Read(ref e.Blk);
            if (b == null) return null;
            if (e.Start == start) return b.Start == start ? b : null;
        }
    }

    /// <summary>Under the lock, for a start not in the table.</summary>
    public void Add(Block b)
    {
        if ((count + 1) * 2 > slots.Length) Grow();
        Put(slots, b);
        count++;
    }

    static void Put(Slot[] s, Block b)
    {
        int mask = s.Length - 1, i = Index(b.Start, s.Length);
        while (s[i].Blk != null) i = (i + 1) & mask;
        s[i].Start = b.Start;
        Volatile.Write(ref s[i].Blk, b);
    }

    void Grow()
    {
        var n = new Slot[slots.Length * 2];
        foreach (var e in slots) if (e.Blk != null) Put(n, e.Blk);
        Volatile.Write(ref slots, n);
    }

    /// <summary>Under the lock: take b out if it is the entry for its start (backward-shift deletion).</summary>
    public void Remove(Block b)
    {
        var s = slots;
        int mask = s.Length - 1, i = Index(b.Start, s.Length);
        while (true)
        {
            var c = s[i].Blk;
            if (c == null) return;
            if (c == b) break;
            i = (i + 1) & mask;
        }
        count--;
        for (int j = i; ;)
        {
            j = (j + 1) & mask;
            var c = s[j].Blk;
            if (c == null) break;
            int home = Index(c.Start, s.Length);
            // c may fill the hole at i unless its home lies cyclically in (i, j].
            if (i <= j ? home > i && home <= j : home > i || home <= j) continue;
            // (a reader between these two stores sees c's start with the old block: a miss, settled under the lock)
            s[i].Start = c.Start;
            Volatile.Write(ref s[i].Blk, c);
            i = j;
        }
        Volatile.Write(ref s[i].Blk, null);
    }

    public void ForEach(Action<Block> f)
    {
        foreach (var e in slots) if (e.Blk != null) f(e.Blk);
    }
}
