using System.Runtime.InteropServices;
using Compat32.Memory;

namespace Compat32.Cpu;

/// <summary>
/// The block translator's runtime, one per processor: the native state block the host code runs against, the
/// code buffer, and the lookup table blocks chain through. Guest i386 code is translated to host x86-64 code
/// (Translator) once a block has run JitThreshold times; everything the translator does not handle, and every
/// memory access that is not a plain hit on an accessible page, goes back to the interpreter, which owns the
/// architectural rules (faults, self-modifying code, TF/RF). Only on x86-64 Linux hosts; COMPAT32_JIT=0 turns it off.
/// </summary>
public sealed unsafe class Jit
{
    // ---- layout of the native state block (r13 points at it while host code runs)
    internal const int OffR = 0;            // uint[8] guest EAX..EDI
    internal const int OffEip = 32;         // uint: guest EIP at exit
    internal const int OffAsync = 36;       // int: nonzero asks the host code to leave at the next block end
    internal const int OffFlags = 40;       // ulong: RFLAGS image holding the guest's arithmetic flags
    internal const int OffBudget = 48;      // long: instructions left (r11 while running)
    internal const int OffTarget = 56;      // ulong: host address to enter at
    internal const int OffMemBase = 64;     // ulong: host address of guest address 0
    internal const int OffPermBase = 72;    // ulong: the page permission bytes
    internal const int OffSegES = 80, OffSegFS = 84, OffSegGS = 88;
    // x87: the guest FPU runs on the host's x87 while host code runs (loaded by FRSTOR at the first x87
    // instruction, stored by FNSAVE at exit), only while the guest masks every x87 exception.
    internal const int OffX87Loaded = 96;   // byte: the image is in the host FPU
    internal const int OffX87Ok = 97;       // byte: the guest's control word masks all exceptions
    internal const int OffX87Fip = 100;     // uint: guest EIP of the last numeric x87 instruction
    internal const int OffX87Fop = 104;     // uint: its FOP, bit 31 = recorded
    internal const int OffX87Fdp = 108;     // uint: linear address of the last x87 memory operand
    internal const int OffX87Fds = 112;     // uint: its segment register index, bit 31 = recorded
    internal const int OffX87Img = 128;     // 108 bytes: FNSAVE/FRSTOR image (32-bit protected-mode layout)
    internal const int OffTags = 256;       // uint[TableSize]: guest EIP of the block in each lookup slot
    internal const int TableSize = 1 << 16;
    internal const int TableMask = TableSize - 1;
    internal const int OffPtrs = OffTags + TableSize * 4; // ulong[TableSize]: its host code
    const int StateSize = OffPtrs + TableSize * 8;
    internal const uint NoTag = 0xFFFFFFFF; // no block starts there (translation refuses that address)

    /// <summary>Exit reasons the host code returns (in r10d at the exit stub).</summary>
    internal const int ExitDispatch = 1, ExitInterpret = 2;

    const ulong CodeSize = 64UL << 20;

    /// <summary>The host can run translated code (x86-64 Linux).</summary>
    public static readonly bool HostSupported =
        RuntimeInformation.ProcessArchitecture == Architecture.X64 && OperatingSystem.IsLinux();

    /// <summary>Default threshold: executions of a block before it is translated. COMPAT32_JIT=0 (or
    /// --jit off) turns translation off; COMPAT32_JIT_THRESHOLD=1 translates every block at its first run.</summary>
    public static readonly int DefaultThreshold =
        Environment.GetEnvironmentVariable("COMPAT32_JIT") == "0" ? 0
        : int.TryParse(Environment.GetEnvironmentVariable("COMPAT32_JIT_THRESHOLD"), out int t) && t > 0 ? t : 16;

    public readonly int Threshold;

    /// <summary>Debugging aid: translate only the first COMPAT32_JIT_LIMIT blocks (bisects a translation bug).</summary>
    static readonly long Limit = long.TryParse(Environment.GetEnvironmentVariable("COMPAT32_JIT_LIMIT"), out long l) ? l : long.MaxValue;
    internal static readonly bool Debug = Environment.GetEnvironmentVariable("COMPAT32_JITDEBUG") is { Length: > 0 };

    internal readonly byte* State;
    readonly byte* code;
    ulong used;
    internal ulong ExitAddr;
    delegate* unmanaged[SuppressGCTransition]<byte*, int> enter;
    readonly Translator translator;

    /// <summary>Counters for --stats: blocks translated, entries into host code, instructions retired there,
    /// exits that hand one instruction to the interpreter, code-buffer flushes, blocks the assembler refused.</summary>
    public long Translated, Entries, Instructions, InterpretExits, Flushes, TranslateFailures;

    Jit(byte* state, byte* code, int threshold)
    {
        Threshold = threshold;
        State = state;
        this.code = code;
        translator = new Translator(this);
        Reset();
    }

    /// <summary>A translator for this host, or null (not x86-64, turned off, or no executable memory).</summary>
    public static Jit? Create(AddressSpace mem, int threshold)
    {
        if (!HostSupported || threshold <= 0) return null;
        byte* c = HostMem.ReserveCode(CodeSize);
        if (c == null) return null;
        byte* s = (byte*)NativeMemory.AlignedAlloc(StateSize, 64);
        NativeMemory.Clear(s, OffTags);
        var j = new Jit(s, c, threshold);
        j.SetMemory(mem);
        return j;
    }

    ~Jit()
    {
        HostMem.Release(code, CodeSize);
        NativeMemory.AlignedFree(State);
    }

    internal void SetMemory(AddressSpace mem)
    {
        *(ulong*)(State + OffMemBase) = (ulong)mem.Base;
        *(ulong*)(State + OffPermBase) = (ulong)mem.PermPtr;
    }

    /// <summary>Forget all host code (code buffer full, or a new address space).</summary>
    void Reset()
    {
        new Span<uint>(State + OffTags, TableSize).Fill(NoTag);
        used = 0;
        var stubs = translator.BuildStubs((ulong)code);
        stubs.CopyTo(new Span<byte>(code, stubs.Length));
        enter = (delegate* unmanaged[SuppressGCTransition]<byte*, int>)(code + translator.EnterOffset);
        ExitAddr = (ulong)code + (ulong)translator.ExitOffset;
        used = (ulong)(stubs.Length + 63) & ~63UL;
    }

    /// <summary>Drop every translation (the blocks keep their decoded form).</summary>
    public void Flush(DecodeCache cache)
    {
        cache.ForgetNative();
        Reset();
        Flushes++;
    }

    internal ulong CodeCursor => (ulong)code + used;
    internal ulong CodeLeft => CodeSize - used;
    internal Span<byte> CodeAt(ulong addr, int len) => new((void*)addr, len);
    internal void Commit(int len) => used = (used + (ulong)len + 15) & ~15UL;

    /// <summary>Translate blk; false if its first instructions are not worth translating (it stays interpreted).</summary>
    public bool Translate(Block blk, DecodeCache cache)
    {
        if (Translated >= Limit) { blk.NoJit = true; return false; }
        if (CodeLeft < 1 << 20) Flush(cache);
        nint host = translator.Translate(blk);
        if (host == 0) { blk.NoJit = true; return false; }
        blk.Native = host;
        Translated++;
        return true;
    }

    /// <summary>Remove a block's host code from the lookup table (its page was written or unmapped).</summary>
    public void Unlink(Block blk)
    {
        if (blk.Native == 0) return;
        int h = (int)(blk.Start & TableMask);
        uint* tags = (uint*)(State + OffTags);
        ulong* ptrs = (ulong*)(State + OffPtrs);
        if (tags[h] == blk.Start && ptrs[h] == (ulong)blk.Native) tags[h] = NoTag;
        blk.Native = 0;
    }

    /// <summary>
    /// Run host code from blk with the processor's state; returns the exit reason. Budget is decremented by the
    /// instructions retired in host code; the guest state (registers, EIP, arithmetic flags) is written back.
    /// </summary>
    internal int Run(CpuState s, Block blk, ref long budget, ref bool asyncStop)
    {
        byte* st = State;
        int h = (int)(blk.Start & TableMask);
        ((uint*)(st + OffTags))[h] = blk.Start;
        ((ulong*)(st + OffPtrs))[h] = (ulong)blk.Native;
        uint* r = (uint*)(st + OffR);
        var R = s.R;
        r[0] = R[0]; r[1] = R[1]; r[2] = R[2]; r[3] = R[3]; r[4] = R[4]; r[5] = R[5]; r[6] = R[6]; r[7] = R[7];
        *(uint*)(st + OffSegES) = s.SegBase[CpuState.ES];
        *(uint*)(st + OffSegFS) = s.SegBase[CpuState.FS];
        *(uint*)(st + OffSegGS) = s.SegBase[CpuState.GS];
        var fpu = s.Fpu;
        bool x87 = HasX87;
        if (x87)
        {
            st[OffX87Loaded] = 0;
            *(uint*)(st + OffX87Fop) = 0;
            *(uint*)(st + OffX87Fds) = 0;
            bool ok = (fpu.Control & 0x3F) == 0x3F;
            st[OffX87Ok] = ok ? (byte)1 : (byte)0;
            if (ok) fpu.SaveFull(new Span<byte>(st + OffX87Img, 108));
        }
        var f = s.Flags;
        f.Materialize();
        *(ulong*)(st + OffFlags) = (f.Bits & Flags.Arith) | 0x202;
        *(long*)(st + OffBudget) = budget;
        *(ulong*)(st + OffTarget) = (ulong)blk.Native;
        // A stale request whose flag was consumed already must not keep kicking the host code out. Clear first,
        // then look at the processor's flag: a requester sets that flag before this one, so a request racing
        // with the clear is either seen here or sets this flag again afterwards.
        Interlocked.Exchange(ref *(int*)(st + OffAsync), 0); // a full fence: the read below is not done before it
        if (Volatile.Read(ref asyncStop)) Volatile.Write(ref *(int*)(st + OffAsync), 1);
        Entries++;
        int reason = enter(st);
        R[0] = r[0]; R[1] = r[1]; R[2] = r[2]; R[3] = r[3]; R[4] = r[4]; R[5] = r[5]; R[6] = r[6]; R[7] = r[7];
        s.Eip = *(uint*)(st + OffEip);
        f.Bits = (f.Bits & ~Flags.Arith) | ((uint)*(ulong*)(st + OffFlags) & Flags.Arith);
        Instructions += budget - *(long*)(st + OffBudget);
        budget = *(long*)(st + OffBudget);
        if (x87 && st[OffX87Loaded] != 0) FpuBack(s, fpu);
        if (reason == ExitInterpret) InterpretExits++;
        return reason;
    }

    /// <summary>Some translated block runs x87 instructions on the host FPU.</summary>
    internal bool HasX87;

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

    /// <summary>Ask running host code to leave at its next block end (thread-safe).</summary>
    public void RequestStop() => Volatile.Write(ref *(int*)(State + OffAsync), 1);
}
