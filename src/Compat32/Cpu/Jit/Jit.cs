using System.Runtime.InteropServices;
using Compat32.Memory;

namespace Compat32.Cpu;

/// <summary>
/// The block translator's per-processor runtime: the native state block host code runs against (r13), the
/// instruction budget and stop flag, the counters. The translated code, its lookup table and the translator are
/// the address space's (JitCode, shared by its threads). Guest i386 code is translated to host x86-64 code
/// (Translator) once a block has run Threshold times; everything the translator does not handle, and every
/// memory access that is not a plain hit on an accessible page, goes back to the interpreter, which owns the
/// architectural rules (faults, self-modifying code, TF/RF). Only on x86-64 Linux hosts; COMPAT32_JIT=0 turns it off.
/// </summary>
public sealed unsafe class Jit
{
    // ---- layout of the native state block (r13 points at it while host code runs)
    internal const int OffR = 0;            // uint[8] guest EAX..EDI
    internal const int OffEip = 32;         // uint: guest EIP at exit
    internal const int OffAsync = 36;       // int: nonzero asks the host code to leave at the next block end
    internal const int OffFlags = 40;       // ushort: guest OF (byte 0: 0 or 1), SF ZF AF PF CF as LAHF has them (byte 1)
    internal const int OffDf = 42;          // byte: guest DF (CLD/STD run in host code; the host's DF stays 0)
    internal const int OffStrChunks = 44;   // int: page chunks REP string instructions may still run this entry
    internal const int OffStrFlags = 120;   // ushort: REPE/REPNE CMPS/SCAS's flags so far, as OffFlags (scratch)
    internal const int OffBudget = 48;      // long: instructions left (r11 while running)
    internal const int OffTarget = 56;      // ulong: host address to enter at
    internal const int OffMemBase = 64;     // ulong: host address of guest address 0
    internal const int OffPermBase = 72;    // ulong: the page permission bytes
    internal const int OffSegES = 80, OffSegFS = 84, OffSegGS = 88;
    // x87: the guest FPU runs on the host's x87 while host code runs (loaded by FRSTOR at the first x87
    // instruction, stored by FNSAVE at exit), only while the guest masks every x87 exception.
    internal const int OffX87Loaded = 96;   // byte: the image is in the host FPU
    internal const int OffX87Ok = 97;       // byte: the guest's control word masks all exceptions
    internal const int OffSegNull = 116;    // byte: bit 0 FS, bit 1 GS is null (a memory access through it is #GP)
    internal const int OffX87Fip = 100;     // uint: guest EIP of the last numeric x87 instruction
    internal const int OffX87Fop = 104;     // uint: its FOP, bit 31 = recorded
    internal const int OffX87Fdp = 108;     // uint: linear address of the last x87 memory operand
    internal const int OffX87Fds = 112;     // uint: its segment register index, bit 31 = recorded
    internal const int OffX87Img = 128;     // 108 bytes: FNSAVE/FRSTOR image (32-bit protected-mode layout)
    // SSE: the guest XMM0-7 and MXCSR run in the host's while host code runs (loaded at the first SSE
    // instruction, stored at exit, the host's MXCSR saved and put back), only while the guest masks every SIMD
    // exception: an unmasked one is the interpreter's (#XM), as a host trap would be fatal here.
    internal const int OffSimdLoaded = 98;  // byte: guest XMM/MXCSR are in the host registers
    internal const int OffSimdOk = 99;      // byte: the guest's MXCSR masks all exceptions (and the host has its bits)
    internal const int OffMxcsr = 240;      // uint: guest MXCSR
    internal const int OffHostMxcsr = 244;  // uint: the host's MXCSR while the guest's is loaded
    internal const int OffXmm = 256;        // 8 x 16 bytes: guest XMM0-7
    // MMX: MMi runs in host XMM(8+i) while host code runs (loaded from the FNSAVE image at the first MMX
    // instruction, its significands stored back at exit); the image then stands for the guest FPU, which takes it
    // back (FpuBack) like the host FPU's. The x87 and MMX states are never both loaded: each gate stores the other.
    internal const int OffMmxLoaded = 117;  // byte: MM0-7 are in host XMM8-15
    internal const int OffMmxOk = 118;      // byte: the image was filled at this entry (MMX code may use it)
    internal const int OffImgDirty = 119;   // byte: the image holds changes the guest FPU must take back
    internal const int OffMmSpill = 248;    // ulong: a host XMM8-15 lent as scratch for one instruction
    // A read in host code whose test was left out faulted (HostFaults): the handler stores its host RIP, the fault
    // stub the host flags as they were (OffFlags' format).
    internal const int OffFaultFlags = 122; // ushort
    // A REPE/REPNE CMPS/SCAS that leaves mid-way (a fault ahead) leaves the flags of its last comparison: the amd
    // model's rule (Processor.FaultFlags; the intel models keep those of before the instruction). Set once.
    internal const int OffStrKeepFlags = 124; // byte
    internal const int OffFaultRip = 384;   // ulong
    const int StateSize = 448;
    internal const uint NoTag = 0xFFFFFFFF; // no block starts there (translation refuses that address)

    /// <summary>Exit reasons the host code returns (in r10d at the exit stub).</summary>
    internal const int ExitDispatch = 1, ExitInterpret = 2;
    /// <summary>A check hoisted to block entry failed: the interpreter runs the block's first instruction.</summary>
    internal const int ExitHoist = 3;
    /// <summary>A read whose test was left out faulted in the host (HostFaults): Run turns it into ExitInterpret at
    /// its guest instruction.</summary>
    internal const int ExitFault = 4;

    /// <summary>Most instructions one entry into host code may run. Entries skip the GC transition
    /// (SuppressGCTransition: a GC waits until they return, and a thread looping between them in Processor.Run
    /// rarely stops at a safe point), so each is bounded, and once MaxPerEntry instructions ran that way the next
    /// entry takes the transition: a GC never waits for more than about that much host work (well under 1 ms).</summary>
    internal const long MaxPerEntry = 1 << 16;
    long sinceSafe;

    /// <summary>Page-sized chunks of REP MOVS/STOS/LODS one entry may run (TranslatorString): a REP counts as one
    /// instruction against the budget, as in the interpreter, so this bounds the host time of an entry instead
    /// (256 chunks, at most 1 MiB, tens of microseconds); the instruction then leaves mid-way with its registers
    /// at the completed elements (SDM vol. 2 REP: interruptible between iterations) and resumes.</summary>
    internal const int StrChunksPerEntry = 256;

    /// <summary>The host can run translated code (x86-64 Linux).</summary>
    public static readonly bool HostSupported =
        RuntimeInformation.ProcessArchitecture == Architecture.X64 && OperatingSystem.IsLinux();

    /// <summary>Default threshold: executions of a block before it is translated. Translating one costs about as
    /// much as interpreting it fifty to a hundred times, so short-lived processes (a shell's children) come out
    /// ahead interpreting; a hot loop reaches it at once. 64, not 128, since host page faults stopped dominating a
    /// large program's translations (huge code pages): cc1 of gcc-12 (113 K blocks, most lukewarm) 2,650 -> 2,349
    /// ms CPU, bash running 40 coreutils 860 -> 770 ms, python3.11 -S and gawk unchanged; at 32 and 16 no
    /// better. COMPAT32_JIT=0 (or --jit off) turns translation off; COMPAT32_JIT_THRESHOLD=1 translates every
    /// block at its first run.</summary>
    public static readonly int DefaultThreshold =
        Environment.GetEnvironmentVariable("COMPAT32_JIT") == "0" ? 0
        : int.TryParse(Environment.GetEnvironmentVariable("COMPAT32_JIT_THRESHOLD"), out int t) && t > 0 ? t : 64;

    public readonly int Threshold;

    /// <summary>The guest model's CPUID features: an SSE instruction it lacks stays the interpreter's (#UD).</summary>
    internal readonly CpuFeature GuestFeatures;

    internal static readonly bool Debug = Environment.GetEnvironmentVariable("COMPAT32_JITDEBUG") is { Length: > 0 };
    /// <summary>COMPAT32_JITDEBUG=2 also lists each block's host code (to read a profile's hot addresses).</summary>
    internal static readonly bool DebugHost = Environment.GetEnvironmentVariable("COMPAT32_JITDEBUG") == "2";

    internal readonly byte* State;
    CodeSpace space;
    /// <summary>The space's translated code, looked up when first needed: a short-lived process that never
    /// translates a block never pays for the code region (its table alone is 512 KiB to initialise).</summary>
    JitCode? code;

    /// <summary>Odd while this processor may be inside host code (or about to enter it): a flush of the shared
    /// code waits until it is even or has moved on.</summary>
    internal int HostSeq;

    /// <summary>Counters for --stats, this processor's share (summing over processors gives the totals): blocks it
    /// translated, entries into host code, instructions retired there, exits that hand one instruction to the
    /// interpreter, code-buffer flushes it ran, blocks the assembler refused.</summary>
    public long Translated, Entries, Instructions, InterpretExits, Flushes, TranslateFailures;
    /// <summary>Entries whose hoisted checks failed, and blocks translated again without hoisting for that.</summary>
    public long HoistExits, Unhoisted;
    /// <summary>Blocks whose code was copied from another address space's translation (JitCode.Template).</summary>
    public long Copied;
    /// <summary>Lookup slots set on entry from the interpreter: a block's first entry, and each time host code
    /// missed it in the table after another block took its slot (a high count against Translated means thrashing).</summary>
    public long Links;
    /// <summary>MMX instructions translated to host code (a block translated again counts again).</summary>
    public long MmxTranslated;
    /// <summary>Self-loops translated with their budget and stop tests inside the pass (Translator.EmitPassTest),
    /// copies of another space's translation included.</summary>
    public long PassTested;
    /// <summary>Calls to a PIC thunk translated as the thunk's effect (Translator.PcThunk).</summary>
    public long InlinedThunks;

    Jit(byte* state, CodeSpace space, int threshold, CpuFeature features)
    {
        Threshold = threshold;
        GuestFeatures = features;
        State = state;
        this.space = space;
    }

    /// <summary>A translator for this host, or null (not x86-64, turned off, or no executable memory).</summary>
    public static Jit? Create(CodeSpace space, int threshold, CpuFeature features = CpuFeatures.I686, bool compareFlagsKept = false)
    {
        if (!HostSupported || threshold <= 0) return null;
        byte* s = (byte*)NativeMemory.AlignedAlloc(StateSize, 64);
        NativeMemory.Clear(s, StateSize);
        var j = new Jit(s, space, threshold, features);
        s[OffStrKeepFlags] = compareFlagsKept ? (byte)1 : (byte)0;
        j.SetMemory(space.Mem);
        return j;
    }

    ~Jit() => NativeMemory.AlignedFree(State);

    /// <summary>Whether this space's code region is below 4 GiB (null before it has one): templates made in a low
    /// region fit only low regions, and the other way round (tests).</summary>
    internal bool? LowCode => (code ?? space.CodeIfAny)?.LowCode;

    /// <summary>Another address space (execve): its shared code, looked up when first needed.</summary>
    internal bool SetSpace(CodeSpace space)
    {
        this.space = space;
        code = null;
        SetMemory(space.Mem);
        return true;
    }

    void SetMemory(AddressSpace mem)
    {
        *(ulong*)(State + OffMemBase) = (ulong)mem.Base;
        *(ulong*)(State + OffPermBase) = (ulong)mem.PermPtr;
    }

    /// <summary>Drop every translation of this address space (the blocks keep their decoded form). Any thread
    /// not itself inside this space's host code may call it; it returns once no processor can run the old code.</summary>
    public void Flush()
    {
        (code ??= space.CodeIfAny)?.Flush();
        Interlocked.Increment(ref Flushes); // any thread may flush
    }

    /// <summary>Translate blk; false if its first instructions are not worth translating (it stays interpreted).</summary>
    public bool Translate(Block blk)
    {
        var c = code ??= space.Code();
        if (c == null) return false; // no executable memory on this host: the block stays interpreted
        int r = c.Translate(blk, this);
        if (r < 0) TranslateFailures++;
        if (r > 0) Translated++;
        return r > 0;
    }

    /// <summary>At the end of a run, for the code cache: translate the blocks of this processor's address space that
    /// ran at least minHits times but never reached the threshold, so the program's next start copies them too
    /// instead of interpreting them (nothing runs in the space any more). Only from a program's second run on (its
    /// file existed): a program run once does not pay for a next start that may never come. Returns how many.</summary>
    public int TranslateForCodeCache(int minHits)
    {
        if (space.Store is not { Loaded: not null } || (code ??= space.Code()) is not { } c) return 0;
        List<Block> l;
        lock (space.Lock) l = space.Cache.Lukewarm(minHits);
        int n = 0;
        foreach (var b in l) if (c.Translate(b, this) > 0) n++;
        return n;
    }

    internal void TranslateWithoutHoisting(Block blk)
    {
        Unhoisted++;
        (code ??= space.Code())?.TranslateWithoutHoisting(blk, this);
    }

    /// <summary>
    /// Run host code from blk with the processor's state; returns the exit reason. Budget is decremented by the
    /// instructions retired in host code; the guest state (registers, EIP, arithmetic flags) is written back.
    /// </summary>
    internal int Run(CpuState s, Block blk, ref long budget, ref bool asyncStop)
    {
        byte* st = State;
        nint native = blk.Native;
        if (native == 0) return ExitDispatch;
        // Host code exists, so the space's code does (another thread of the process may have translated it).
        var code = this.code ??= space.CodeIfAny;
        if (code == null) return ExitDispatch;
        if (code.Link(blk, native)) Links++; // may take the lock: before we count as inside host code
        // Published before the block's host address is read again: a flush that clears it then waits for us.
        Volatile.Write(ref HostSeq, HostSeq + 1);
        // A stale request whose flag was consumed already must not keep kicking the host code out. Clear first,
        // then look at the processor's flag: a requester sets that flag before this one, so a request racing
        // with the clear is either seen here or sets this flag again afterwards. The exchange is a full fence:
        // the reads below (the stop flag, the block's host address and validity) are not done before it.
        Interlocked.Exchange(ref *(int*)(st + OffAsync), 0);
        if (Volatile.Read(ref asyncStop)) Volatile.Write(ref *(int*)(st + OffAsync), 1);
        // Flushed or invalidated since the lookup: interpret (a writer's stop request is set or still to come).
        if (blk.Native != native || !blk.Valid) { Volatile.Write(ref HostSeq, HostSeq + 1); return ExitDispatch; }
        uint* r = (uint*)(st + OffR);
        var R = s.R;
        r[0] = R[0]; r[1] = R[1]; r[2] = R[2]; r[3] = R[3]; r[4] = R[4]; r[5] = R[5]; r[6] = R[6]; r[7] = R[7];
        *(uint*)(st + OffSegES) = s.SegBase[CpuState.ES];
        *(uint*)(st + OffSegFS) = s.SegBase[CpuState.FS];
        *(uint*)(st + OffSegGS) = s.SegBase[CpuState.GS];
        st[OffSegNull] = (byte)(((s.SegAttr[CpuState.FS] & Processor.AttrP) == 0 ? 1 : 0) | ((s.SegAttr[CpuState.GS] & Processor.AttrP) == 0 ? 2 : 0));
        var fpu = s.Fpu;
        // Every gate byte is written at each entry, whatever the flags say: another thread may translate an x87,
        // MMX or SSE block of this space while this one runs, and its gate must then find "not loaded, not ok".
        bool x87 = code.HasX87, mmx = code.HasMmx;
        st[OffX87Loaded] = 0; st[OffX87Ok] = 0; st[OffMmxLoaded] = 0; st[OffMmxOk] = 0; st[OffImgDirty] = 0;
        st[OffSimdLoaded] = 0; st[OffSimdOk] = 0;
        if (x87 || mmx)
        {
            *(uint*)(st + OffX87Fop) = 0;
            *(uint*)(st + OffX87Fds) = 0;
            bool ok = x87 && (fpu.Control & 0x3F) == 0x3F;
            st[OffX87Ok] = ok ? (byte)1 : (byte)0;
            // MMX needs the image whatever the control word says (it raises no x87 exception, only #MF on ES).
            if (ok || mmx) fpu.SaveFull(new Span<byte>(st + OffX87Img, 108));
            st[OffMmxOk] = mmx ? (byte)1 : (byte)0;
        }
        bool simd = code.HasSimd;
        if (simd)
        {
            uint mx = s.Simd.Mxcsr;
            bool ok = (mx & 0x1F80) == 0x1F80 && ((mx & 0x40) == 0 || HostDaz);
            st[OffSimdOk] = ok ? (byte)1 : (byte)0;
            if (ok)
            {
                *(uint*)(st + OffMxcsr) = mx;
                var regs = s.Simd.Regs;
                for (int i = 0; i < 8; i++) *(Simd.X128*)(st + OffXmm + 16 * i) = regs[i].Low;
            }
        }
        var f = s.Flags;
        f.Materialize();
        st[OffFlags] = (byte)((f.Bits >> 11) & 1);
        st[OffFlags + 1] = (byte)((f.Bits & 0xD5) | 2);
        st[OffDf] = (f.Bits & Flags.DF) != 0 ? (byte)1 : (byte)0;
        *(int*)(st + OffStrChunks) = StrChunksPerEntry;
        // The GC waits for host code to return (SuppressGCTransition): a bounded run per entry.
        long run = budget < MaxPerEntry ? budget : MaxPerEntry;
        *(long*)(st + OffBudget) = run;
        *(ulong*)(st + OffTarget) = (ulong)native;
        Entries++;
        int reason;
        if (sinceSafe < MaxPerEntry) reason = code.Enter(st);
        else { sinceSafe = 0; reason = code.EnterSafe(st); }
        // A fault's site is looked up while this processor still counts as in host code: an eviction of its
        // range waits for that before it forgets the range's sites.
        if (reason == ExitFault) reason = FromFault(code);
        Volatile.Write(ref HostSeq, HostSeq + 1);
        R[0] = r[0]; R[1] = r[1]; R[2] = r[2]; R[3] = r[3]; R[4] = r[4]; R[5] = r[5]; R[6] = r[6]; R[7] = r[7];
        s.Eip = *(uint*)(st + OffEip);
        f.Bits = (f.Bits & ~(Flags.Arith | Flags.DF)) | (st[OffFlags + 1] & 0xD5u) | (st[OffFlags] & 1u) << 11
            | (st[OffDf] != 0 ? Flags.DF : 0);
        long done = run - *(long*)(st + OffBudget);
        Instructions += done;
        sinceSafe += done;
        // A long REP string instruction used up this entry's chunks: the next entry takes the GC transition.
        if (*(int*)(st + OffStrChunks) <= 0) sinceSafe = MaxPerEntry;
        budget -= done;
        if ((x87 || mmx) && (st[OffX87Loaded] != 0 || st[OffImgDirty] != 0)) FpuBack(s, fpu);
        if (simd && st[OffSimdLoaded] != 0)
        {
            s.Simd.Mxcsr = *(uint*)(st + OffMxcsr);
            var regs = s.Simd.Regs;
            for (int i = 0; i < 8; i++) regs[i].Low = *(Simd.X128*)(st + OffXmm + 16 * i);
        }
        if (reason is ExitInterpret or ExitHoist) InterpretExits++;
        if (reason == ExitHoist) HoistExits++;
        return reason;
    }

    /// <summary>Host code left through the fault stub: the state block gets what the site's slow exit would have
    /// stored (its guest EIP, the budget charged for the instructions before it, the flags if they were in the host
    /// there), and the interpreter runs the instruction (raising the #PF, or reading a page mapped since).</summary>
    int FromFault(JitCode code)
    {
        byte* st = State;
        ulong rip = *(ulong*)(st + OffFaultRip);
        if (!code.FindSite(rip, out uint eip, out var site))
            throw new InvalidOperationException($"host fault at {rip:x} in translated code that has no record of it");
        *(uint*)(st + OffEip) = eip;
        *(long*)(st + OffBudget) -= site.Index;
        if (site.Host) *(ushort*)(st + OffFlags) = *(ushort*)(st + OffFaultFlags);
        if (site.Fip != 0)
        {
            // The x87 pointer the block had not stored yet (Translator.StoreX87Ptr's stores, done here).
            *(uint*)(st + OffX87Fip) = site.Fip;
            *(uint*)(st + OffX87Fop) = site.Fop;
            if (site.Fds != 0) *(uint*)(st + OffX87Fds) = site.Fds;
        }
        FaultExits++;
        return ExitInterpret;
    }

    /// <summary>Exits through the fault stub (reads that faulted in the host; --stats).</summary>
    public long FaultExits;

    /// <summary>The FNSAVE image back into the guest FPU; the instruction and operand pointers are the guest's
    /// (the host recorded its own), as the interpreter's NotePointers sets them.</summary>
    void FpuBack(CpuState s, X87.X87State fpu)
    {
        byte* st = State;
        uint fip = fpu.Fip, fdp = fpu.Fdp; ushort fcs = fpu.Fcs, fds = fpu.Fds, fop = fpu.Fop;
        uint rop = *(uint*)(st + OffX87Fop), rds = *(uint*)(st + OffX87Fds);
        if ((rop & 0x80000000) != 0) { fip = *(uint*)(st + OffX87Fip); fop = (ushort)(rop & 0x7FF); fcs = s.Sel[CpuState.CS]; }
        if ((rds & 0x80000000) != 0) { fdp = *(uint*)(st + OffX87Fdp); fds = s.Sel[(int)(rds & 7)]; }
        fpu.LoadFull(new ReadOnlySpan<byte>(st + OffX87Img, 108));
        fpu.Fip = fip; fpu.Fdp = fdp; fpu.Fcs = fcs; fpu.Fds = fds; fpu.Fop = fop;
    }

    /// <summary>DAZ in the host's MXCSR: every SSE3 CPU has it (only early Pentium 4s lack it, SDM 11.6.3); a
    /// guest MXCSR with DAZ on a host without it stays with the interpreter (LDMXCSR would #GP here).</summary>
    static readonly bool HostDaz = System.Runtime.Intrinsics.X86.X86Base.IsSupported
        && (System.Runtime.Intrinsics.X86.X86Base.CpuId(1, 0).Ecx & 1) != 0;

    /// <summary>Translated code: the most one address space held at once, all that was written (machine-wide), and
    /// the bound per address space (JitCode).</summary>
    public static long PeakCodeBytes => Volatile.Read(ref JitCode.PeakCodeBytes);
    public static long TotalCodeBytes => Interlocked.Read(ref JitCode.TotalCodeBytes);
    public const long CodeLimitBytes = JitCode.CodeLimit;
    /// <summary>Code segments evicted to make room (machine-wide; JitCode's ring).</summary>
    public static long Evictions => Interlocked.Read(ref JitCode.Evictions);

    /// <summary>Direct block links (JitCode.Links): made and reset machine-wide (--stats), and in this processor's
    /// space (tests).</summary>
    public static long BlockLinks => Interlocked.Read(ref JitCode.LinksMade);
    public static long BlockLinksReset => Interlocked.Read(ref JitCode.LinksReset);
    public static long ThunksInlined => Interlocked.Read(ref JitCode.ThunksInlined);
    internal (long Made, long Reset) LinkCounts => (code ?? space.CodeIfAny)?.LinkCounts ?? default;

    /// <summary>Ask running host code to leave at its next block end (thread-safe).</summary>
    public void RequestStop() => Volatile.Write(ref *(int*)(State + OffAsync), 1);
}
