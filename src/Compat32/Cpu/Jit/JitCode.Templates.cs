using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// Translations shared across address spaces. Every region has the same layout (table, then stubs of fixed
/// bytes), and translated code refers to nothing outside itself but the region's table (RIP-relative loads) and
/// its exit stub (rel32 jumps); guest memory, permissions and state are reached through registers. So a block's
/// host code, made once, is valid in any region at any offset once those rel32 fields are moved by the
/// difference of offsets: a shell's children that exec the same program (DecodePool gives them the same runs)
/// copy the code of its start-up loops instead of translating them again, as QEMU's user mode cannot across
/// processes.
/// </summary>
internal sealed unsafe partial class JitCode
{
    /// <summary>A block's host code as one region made it (immutable once published on its run).</summary>
    internal sealed class Template
    {
        public required CpuFeature Features;
        public required bool Hoist, LowCode, Elide, ElideWrites;
        /// <summary>Its reads without a test (Translator.LastSites): offset in Code, guest instruction, flags in the host.</summary>
        public required HostSite[] Sites;
        /// <summary>Its link cells (Translator.LastLinks): a copy fills them for its own region (AddLinks).</summary>
        public required LinkSite[] Links;
        /// <summary>(A stored template's lies in its file's image: TranslationStore.Image.)</summary>
        public required ReadOnlyMemory<byte> Code;
        /// <summary>Offsets in Code of the rel32 fields that point outside the block (into the table or stubs).</summary>
        public required int[] Relocs;
        /// <summary>The code's offset from its region's start when it was made.</summary>
        public required long Origin;
        public required bool X87, Simd, Mmx;
        /// <summary>MMX instructions in it (Jit.MmxTranslated counts copies too).</summary>
        public required int MmxCount;
        /// <summary>A self-loop with its pass test (Jit.PassTested counts copies too).</summary>
        public required bool PassTested;
        /// <summary>The PIC thunks it runs in place (Translator.LastThunks): a copy is made only where the same
        /// thunks are at those addresses, and depends on them there.</summary>
        public required (uint Target, int Reg)[] Thunks;
        /// <summary>Read from the code cache on disk (TranslationStore): its copies count there.</summary>
        public bool Stored;
    }

    /// <summary>Calls to a PIC thunk translated as the thunk's effect, machine-wide (--stats).</summary>
    internal static long ThunksInlined;

    /// <summary>COMPAT32_JIT_SHARE=0 translates every block in every address space (to compare).</summary>
    static readonly bool Share = Environment.GetEnvironmentVariable("COMPAT32_JIT_SHARE") != "0";

    /// <summary>Host code for blk (under the lock): a copy of another space's translation when one fits, else the
    /// translator's, published as a template. 0 when neither.</summary>
    nint Produce(Block blk, Jit by, bool hoist, out bool failed)
    {
        failed = false;
        nint host = FromTemplate(blk, by.GuestFeatures, hoist, out int mmx, out var tsites, out bool passTested, out var tlinks, out int thunks);
        if (host != 0) { AddSites((ulong)host, blk, tsites); AddLinks(host, tlinks); by.Copied++; by.MmxTranslated += mmx; CountThunks(by, thunks); if (passTested) by.PassTested++; PerfMap.Add(host, (long)(CodeCursor - (ulong)host), blk.Start); return host; }
        host = translator.Translate(blk, by.GuestFeatures, out failed, hoist);
        if (host == 0) return 0;
        var made = MakeTemplate(blk, host, by.GuestFeatures, hoist);
        AddSites((ulong)host, blk, made?.Sites ?? (translator.LastSites.Count == 0 ? [] : [.. translator.LastSites]));
        PerfMap.Add(host, (long)(CodeCursor - (ulong)host), blk.Start);
        by.MmxTranslated += translator.MmxCount;
        CountThunks(by, translator.LastThunks.Count);
        if (translator.LastPassTested) by.PassTested++;
        AddLinks(host, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(translator.LastLinks)); // (after: the template's cells are filled per copy)
        return host;
    }

    /// <summary>Each thunk the template runs in place is the same thunk here (and blk now depends on it).</summary>
    bool SameThunks(Block blk, (uint Target, int Reg)[] thunks)
    {
        foreach (var (target, reg) in thunks)
            if (Translator.ThunkAt(space, blk, target) != reg) return false;
        return true;
    }

    static void CountThunks(Jit by, int n)
    {
        if (n == 0) return;
        by.InlinedThunks += n;
        Interlocked.Add(ref ThunksInlined, n);
    }

    /// <summary>Copy blk's template into this region if a variant matches (under the lock): its address, or 0.</summary>
    nint FromTemplate(Block blk, CpuFeature features, bool hoist, out int mmxCount, out HostSite[] sitesOf, out bool passTested, out LinkSite[] linksOf, out int thunks)
    {
        mmxCount = 0;
        thunks = 0;
        passTested = false;
        sitesOf = [];
        linksOf = [];
        if (!Share || blk.Run is not { } run || Volatile.Read(ref run.Templates) is not { } ts) return 0;
        foreach (var t in ts)
        {
            if (t.Features != features || t.Hoist != hoist || t.LowCode != LowCode || t.Elide != Elide || t.ElideWrites != ElideWrites) continue;
            if ((ulong)t.Code.Length > CodeLeft) return 0;
            if (!SameThunks(blk, t.Thunks)) continue;
            ulong rip = CodeCursor;
            var dst = CodeAt(rip, t.Code.Length);
            t.Code.Span.CopyTo(dst);
            long shift = (long)(rip - (ulong)region) - t.Origin;
            fixed (byte* d = dst)
                foreach (int r in t.Relocs) *(int*)(d + r) = checked((int)(*(int*)(d + r) - shift));
            Commit(t.Code.Length);
            if (t.X87) HasX87 = true;
            if (t.Simd) HasSimd = true;
            if (t.Mmx) HasMmx = true;
            mmxCount = t.MmxCount;
            passTested = t.PassTested;
            thunks = t.Thunks.Length;
            if (t.Stored) Interlocked.Increment(ref TranslationStore.Used);
            sitesOf = t.Sites;
            linksOf = t.Links;
            return (nint)rip;
        }
        return 0;
    }

    /// <summary>Publish the code just translated for blk at host as a template on its run, if every reference it
    /// makes outside itself is one Relocate can move (a rel32 into the table or the stubs); else keep it private.
    /// Returns the template published (null: none), before AddLinks fills the code's link cells.</summary>
    Template? MakeTemplate(Block blk, nint host, CpuFeature features, bool hoist)
    {
        int length = translator.LastLength;
        var store = space.Store;
        if (!Share || blk.Run is not { } run || !(CodeSpace.Several || store != null)) return null;
        var bytes = new ReadOnlySpan<byte>((void*)host, length).ToArray();
        ulong start = (ulong)host, end = start + (ulong)length;
        ulong regionEnd = (ulong)code + stubsEnd; // the table and the stubs: the same in every region
        var relocs = new List<int>();
        if (translator.LastEncoded is { } enc)
        {
            // The encoder listed what points outside the block: no need to decode the code again.
            if (enc.ShortOutside) return null; // a rel8 out of the block cannot be moved
            foreach (ulong imm in enc.Imm64)
                if (imm >= (ulong)region && imm < (ulong)region + RegionSize) return null; // an absolute address in the region
            foreach (var (field, target) in enc.Outside)
            {
                if (target >= start && target < end) continue;
                if (target < (ulong)region || target >= regionEnd) return null;
                relocs.Add(field);
            }
            var t = Published(run);
            // On disk only code with no 64-bit immediate at all: any could be a host address of this run.
            if (store != null && enc.Imm64.Count == 0) store.Add(run.Start, run.Bytes, t);
            return t;
        }
        var dec = Decoder.Create(64, new ByteArrayCodeReader(bytes), start);
        while (dec.IP < end)
        {
            ulong ip = dec.IP;
            dec.Decode(out var ins);
            if (ins.IsInvalid) return null;
            int at = (int)(ip - start);
            ulong target;
            int field;
            if (ins.IsIPRelativeMemoryOperand)
            {
                target = ins.IPRelativeMemoryAddress;
                field = at + dec.GetConstantOffsets(ins).DisplacementOffset;
            }
            else if (ins.Op0Kind == OpKind.NearBranch64 && ins.OpCount == 1)
            {
                target = ins.NearBranch64;
                field = at + ins.Length - 4;
                if (target >= start && target < end) continue;
                if (ins.Length < 5) return null; // a rel8 out of the block cannot be moved
            }
            else
            {
                for (int i = 0; i < ins.OpCount; i++)
                    if (ins.GetOpKind(i) == OpKind.Immediate64 && ins.Immediate64 >= (ulong)region && ins.Immediate64 < (ulong)region + RegionSize)
                        return null; // an absolute address in the region: not movable
                continue;
            }
            if (target >= start && target < end) continue;
            if (target < (ulong)region || target >= regionEnd) return null;
            // The field must be what it names: target = next instruction + rel32.
            if ((ulong)((long)ins.NextIP + *(int*)((byte*)host + field)) != target) return null;
            relocs.Add(field);
        }
        return Published(run);

        // (the one template both paths publish)
        Template Published(DecodePool.Run run)
        {
            var t = new Template
            {
                Features = features, Hoist = hoist, LowCode = LowCode, Elide = Elide, ElideWrites = ElideWrites, Sites = translator.LastSites.ToArray(), Links = translator.LastLinks.ToArray(), Code = bytes, Relocs = relocs.ToArray(),
                Origin = (long)(start - (ulong)region), X87 = translator.UsesX87, Simd = translator.UsesSimd,
                Mmx = translator.UsesMmx, MmxCount = translator.MmxCount, PassTested = translator.LastPassTested, Thunks = [.. translator.LastThunks],
            };
            Publish(run, t);
            return t;
        }
    }

    static void Publish(DecodePool.Run run, Template t)
    {
        while (true)
        {
            var old = Volatile.Read(ref run.Templates);
            if (old != null && old.Length >= 4) return; // a few variants (models, hoisting) per run at most
            Template[] n = old == null ? [t] : [.. old, t];
            if (Interlocked.CompareExchange(ref run.Templates, n, old) == old) return;
        }
    }
}
