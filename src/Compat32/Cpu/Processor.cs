using System.Runtime.CompilerServices;
using Compat32.Memory;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// An IA-32 processor running user code (CPL 3) in compat mode or on a 32-bit kernel. It knows nothing of
/// Linux: it executes until an architectural event (exception, INT n, SYSENTER, SYSCALL) and returns it.
/// </summary>
public sealed unsafe partial class Processor
{
    public CpuState S;
    public readonly CpuModel Model;
    public AddressSpace Mem { get; private set; }
    byte* mb;
    byte* perm;

    /// <summary>The decoded blocks of this address space (shared with its other processors).</summary>
    public DecodeCache Cache { get; private set; }
    /// <summary>What this processor shares with the others on its address space (CodeSpace).</summary>
    public CodeSpace Space { get; private set; }
    /// <summary>This processor's lock-free cache in front of the shared one (blocks by hashed EIP). Small at first (a
    /// thousand threads each have one), grown four times each time it has missed twice its size, up to L1Max: a
    /// program with much code (gcc's cc1: 113 K blocks) otherwise misses it often, and each miss probes the shared
    /// table and reads a Block that is a cache miss (~230 ns on this project's VM). cc1 -O2: 3,050 ms of CPU with
    /// 4096 slots, 2,930 with 32768; later (threshold 64) 399 K misses with 32768 (after 16 times 4096 and 16384),
    /// 258 K with this rule and 131072 (1 MiB), CPU 2,430 -> 2,260 ms (medians of 9).</summary>
    Block?[] l1 = new Block?[L1Min];
    const int L1Min = 4096, L1Max = 131072;
    int l1Misses;
    /// <summary>The processor running on this host thread (the one a store into code must stop).</summary>
    [ThreadStatic] static Processor? current;

    // The pending event of the current instruction (set by faults, INT n, SYSENTER ...).
    public CpuExit Exit;
    public int Vector;
    public uint ErrorCode;
    public uint Cr2;
    /// <summary>Set by a failing memory access; an instruction must not commit state after it.</summary>
    public bool Faulted;
    /// <summary>Break out of the current decoded block after this instruction (SMC, TF, events).</summary>
    bool stopBlock;

    /// <summary>Segment descriptor tables, raw 8-byte descriptors (the kernel fills TLS entries).</summary>
    public ulong[] Gdt = new ulong[32];
    public ulong[]? Ldt;

    public long Retired;
    /// <summary>The block translator (null: interpreter only, e.g. not an x86-64 host or COMPAT32_JIT=0).</summary>
    public Jit? Jit { get; private set; }
    /// <summary>The next instruction must go through the interpreter (translated code left at it).</summary>
    bool interpretOne;
    /// <summary>Called on SYSRETL/SYSEXIT/IRET execution counting by the debug layer, if wanted.</summary>
    public Func<ulong>? TscSource;

    /// <param name="jitThreshold">Executions of a block before it is translated to host code; 0: interpret
    /// only; null: Jit.DefaultThreshold (from COMPAT32_JIT / COMPAT32_JIT_THRESHOLD).</param>
    public Processor(CpuModel model, AddressSpace mem, CpuState? state = null, int? jitThreshold = null)
    {
        Model = model;
        S = state ?? new CpuState();
        Mem = mem;
        mb = mem.Base;
        perm = mem.PermPtr;
        Space = CodeSpace.Of(mem);
        Cache = Space.Cache;
        Space.Attach(this);
        Jit = Jit.Create(Space, jitThreshold ?? Jit.DefaultThreshold, model.Effective, compareFlagsKept: model.Vendor == CpuVendor.Amd);
    }

    /// <summary>Switch to another address space (execve).</summary>
    public void SetAddressSpace(AddressSpace mem)
    {
        Space.Detach(this);
        l1 = new Block?[L1Min]; // a new program starts small again
        l1Misses = 0;
        Mem = mem;
        mb = mem.Base;
        perm = mem.PermPtr;
        Space = CodeSpace.Of(mem);
        Cache = Space.Cache;
        Space.Attach(this);
        if (Jit != null && !Jit.SetSpace(Space)) Jit = null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    Block? GetBlock(uint eip)
    {
        var c = l1;
        int h = L1Index(eip, c.Length);
        var b = c[h];
        if (b != null && b.Start == eip && b.Valid) return b;
        return GetBlockSlow(eip, h);
    }

    Block? GetBlockSlow(uint eip, int h)
    {
        var b = Cache.Lookup(eip, out uint fault);
        if (b == null) { FetchFault(fault); return null; }
        if (++l1Misses > l1.Length * 2 && l1.Length < L1Max)
        {
            l1 = new Block?[Math.Min(l1.Length * 4, L1Max)];
            l1Misses = 0;
            h = L1Index(eip, l1.Length);
        }
        l1[h] = b;
        return b;
    }

    static int L1Index(uint eip, int length) => (int)((eip ^ (eip >> 12)) & (uint)(length - 1));

    /// <summary>A store into a page of decoded code on this thread (by its processor, or by the kernel on its
    /// behalf) ends the running block, so the next instruction is decoded from the new bytes.</summary>
    internal static void StopCurrentBlock(CodeSpace space)
    {
        var p = current;
        if (p != null && p.Space == space) p.stopBlock = true;
    }

    // ------------------------------------------------------------------ run loop

    /// <summary>Odd while Run executes guest code (entered, not yet returned): what must take effect before this
    /// processor runs another guest instruction (flush_ldt's IPI) waits for it to change (WaitOutOfGuest).</summary>
    int runSeq;

    /// <summary>Execute until an event or until budget instructions retire.</summary>
    public CpuExit Run(long budget)
    {
        // Pages the host fault handler opened for a racing access get their protections back before guest code runs.
        if (HostFaults.Pending) HostFaults.Drain();
        Interlocked.Increment(ref runSeq);
        try { return RunBlocks(budget); }
        finally { Interlocked.Increment(ref runSeq); }
    }

    /// <summary>Called by another thread after RequestAsyncStop: returns once this processor, if it was inside Run,
    /// has left it (it leaves at its next block boundary or translated dispatch), so it runs no further guest
    /// instruction before its kernel side has seen the change (on_each_cpu_mm's wait for the IPI).</summary>
    public void WaitOutOfGuest()
    {
        Interlocked.MemoryBarrier(); // the stop request before the read (Run's increment is a full fence too)
        int s = Volatile.Read(ref runSeq);
        if ((s & 1) == 0) return;
        var sw = new SpinWait();
        while (Volatile.Read(ref runSeq) == s) sw.SpinOnce();
    }

    CpuExit RunBlocks(long budget)
    {
        Exit = CpuExit.None;
        Faulted = false;
        current = this;
        UpdateSegMode(); // the kernel may have changed segment registers or tables since the last run
        while (budget > 0)
        {
            // An asynchronous event (a signal sent from a timer or another thread) is taken between blocks, like
            // an interrupt at an instruction boundary; the kernel then runs its exit work (signal delivery).
            if (asyncStop) { asyncStop = false; return CpuExit.Stop; }
            if (segmented)
            {
                // A segment is not flat: one checked instruction at a time (Segments.cs).
                var e = StepSegmented(ref budget);
                if (e != CpuExit.None) return e;
                continue;
            }
            uint eip = S.Eip;
            var blk = GetBlock(eip);
            if (blk == null) return Exit; // fetch fault recorded by the cache
            var whole = blk.Generic;
            var uops = blk.Uops;
            int n = blk.Count;
            // TF can only change through POPF/IRET/SYSEXIT-style instructions, which end the block: test it once.
            // With TF set, the single-step trap follows the first instruction (SDM 17.3.1.4).
            bool tf = (S.Flags.Bits & Flags.TF) != 0;
            // RF (set by IRET/sigreturn) lasts for one instruction: it is cleared once that one completes (SDM 17.3.1.1).
            bool rf = (S.Flags.Bits & Flags.RF) != 0;
            if (tf | rf) n = 1;
            else if (interpretOne) { n = 1; interpretOne = false; }
            else if (Jit != null)
            {
                if (blk.Native == 0 && !blk.NoJit && ++blk.Hits >= Jit.Threshold) Jit.Translate(blk);
                if (blk.Native != 0)
                {
                    long before = budget;
#pragma warning disable CS0420 // read with Volatile.Read inside
                    int why = Jit.Run(S, blk, ref budget, ref asyncStop);
#pragma warning restore CS0420
                    Retired += before - budget;
                    if (why == Jit.ExitInterpret) interpretOne = true;
                    else if (why == Jit.ExitHoist)
                    {
                        interpretOne = true;
                        // A block whose entry checks keep failing is translated with each check at its instruction.
                        if (GetBlock(S.Eip) is { } hb && ++hb.HoistFails == 8) Jit.TranslateWithoutHoisting(hb);
                    }
                    continue;
                }
            }
            if (!(tf | rf))
            {
                // The common case, without the single-step and resume-flag work: the fast forms' switch is inlined
                // here, so an instruction costs no call, no spill of the loop's registers and no prologue.
                for (int i = 0; i < n; i++)
                {
                    ref Uop u = ref uops[i];
                    uint next = u.Next;
                    S.Eip = next;
                    if (u.Kind != UopKind.Generic) ExecFast(ref u);
                    else Execute(ref whole[u.Imm]);
                    if (stopBlock)
                    {
                        budget -= i + 1;
                        Retired += i + 1;
                        stopBlock = false;
                        if (Exit == CpuExit.None) goto nextBlock;
                        if (Exit == CpuExit.Exception && IsFault(Vector)) S.Eip = blk.IpAt(i);
                        return Exit;
                    }
                    if (S.Eip != next) { budget -= i + 1; Retired += i + 1; goto nextBlock; }
                }
                budget -= n;
                Retired += n;
                continue;
            }
            for (int i = 0; i < n; i++)
            {
                ref Uop u = ref uops[i];
                uint next = u.Next;
                S.Eip = next;
                stepOne = tf;
                if (u.Kind != UopKind.Generic) ExecFastOne(ref u);
                else Execute(ref whole[u.Imm]);
                stepOne = false;
                if (rf && !Faulted && !(u.Kind == UopKind.Generic && whole[u.Imm].Mnemonic is Mnemonic.Iret or Mnemonic.Iretd)) S.Flags.Bits &= ~Flags.RF;
                if (stopBlock | tf)
                {
                    budget -= i + 1;
                    Retired += i + 1;
                    stopBlock = false;
                    if (Exit != CpuExit.None)
                    {
                        if (Exit == CpuExit.Exception && IsFault(Vector)) S.Eip = blk.IpAt(i);
                        // A trap-flag single step is reported after the instruction that had TF set
                        // (SDM 17.3.1.4); events raised by the instruction itself take priority.
                        return Exit;
                    }
                    // MOV SS / POP SS: debug exceptions are held until after the next instruction (SDM 6.8.3).
                    if (tf && u.Kind == UopKind.Generic && whole[u.Imm].Op0Register == Register.SS && whole[u.Imm].Mnemonic is Mnemonic.Mov or Mnemonic.Pop)
                        goto nextBlock;
                    if (tf)
                    {
                        // TF set when the instruction began: single-step trap after it (SDM 17.3.1.4).
                        RaiseTrap(Vec.DB, 0);
                        SingleStep = true;
                        return Exit;
                    }
                    goto nextBlock;
                }
                if (S.Eip != next) { budget -= i + 1; Retired += i + 1; goto nextBlock; }
            }
            budget -= n;
            Retired += n;
        nextBlock:;
        }
        return CpuExit.Budget;
    }

    /// <summary>The last #DB was a single-step trap (DR6.BS).</summary>
    public bool SingleStep;

    static bool IsFault(int v) => v != Vec.DB && v != Vec.BP && v != Vec.OF;

    /// <summary>Single-step debug trap pending after an event return (used by the entry layer's IRET).</summary>
    public void RequestStop() => stopBlock = true;

    volatile bool asyncStop;
    /// <summary>Thread-safe: make Run return CpuExit.Stop at the next block boundary (a pending signal).</summary>
    public void RequestAsyncStop()
    {
        asyncStop = true;
        Jit?.RequestStop();
    }

    // ------------------------------------------------------------------ events

    public void RaiseFault(int vector, uint err = 0)
    {
        if (Exit != CpuExit.None) return;
        Exit = CpuExit.Exception; Vector = vector; ErrorCode = err; Faulted = true; stopBlock = true;
    }

    public void RaiseTrap(int vector, uint err = 0)
    {
        if (Exit != CpuExit.None) return;
        Exit = CpuExit.Exception; Vector = vector; ErrorCode = err; stopBlock = true;
    }

    public void RaiseUD() => RaiseFault(Vec.UD);
    public void RaiseGP(uint err = 0) => RaiseFault(Vec.GP, err);

    void PageFault(uint addr, uint err)
    {
        if (Exit != CpuExit.None) return;
        Cr2 = addr;
        RaiseFault(Vec.PF, err | PfErr.User);
    }

    // ------------------------------------------------------------------ memory (linear addresses)

    const byte R = (byte)Prot.Read, W = (byte)Prot.Write, X = (byte)Prot.Exec;
    const byte WC = W | AddressSpace.CodeBit;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte ReadU8(uint a)
    {
        if ((perm[a >> 12] & R) != 0) return mb[a];
        return (byte)ReadSlow(a, 1);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort ReadU16(uint a)
    {
        if ((a & 0xFFF) <= 0xFFE && (perm[a >> 12] & R) != 0) return Unsafe.ReadUnaligned<ushort>(mb + a);
        return (ushort)ReadSlow(a, 2);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadU32(uint a)
    {
        if ((a & 0xFFF) <= 0xFFC && (perm[a >> 12] & R) != 0) return Unsafe.ReadUnaligned<uint>(mb + a);
        return (uint)ReadSlow(a, 4);
    }
    public ulong ReadU64(uint a)
    {
        if ((a & 0xFFF) <= 0xFF8 && (perm[a >> 12] & R) != 0) return Unsafe.ReadUnaligned<ulong>(mb + a);
        return ReadSlow(a, 8);
    }

    ulong ReadSlow(uint a, int size)
    {
        ulong v = 0;
        for (int i = 0; i < size; i++)
        {
            uint x = a + (uint)i;
            byte p = perm[x >> 12];
            if ((p & R) == 0) { PageFault(x, (p & AddressSpace.Present) != 0 ? PfErr.Present : 0); return 0; }
        }
        for (int i = 0; i < size; i++) v |= (ulong)mb[(uint)(a + i)] << (8 * i);
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteU8(uint a, byte v)
    {
        if ((perm[a >> 12] & WC) == W) { mb[a] = v; return; }
        WriteSlow(a, v, 1);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteU16(uint a, ushort v)
    {
        if ((a & 0xFFF) <= 0xFFE && (perm[a >> 12] & WC) == W) { Unsafe.WriteUnaligned(mb + a, v); return; }
        WriteSlow(a, v, 2);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteU32(uint a, uint v)
    {
        if ((a & 0xFFF) <= 0xFFC && (perm[a >> 12] & WC) == W) { Unsafe.WriteUnaligned(mb + a, v); return; }
        WriteSlow(a, v, 4);
    }
    public void WriteU64(uint a, ulong v)
    {
        if ((a & 0xFFF) <= 0xFF8 && (perm[a >> 12] & WC) == W) { Unsafe.WriteUnaligned(mb + a, v); return; }
        WriteSlow(a, v, 8);
    }

    void WriteSlow(uint a, ulong v, int size)
    {
        if (Faulted) return;
        if (!ProbeWrite(a, size)) return;
        // One host store when on one page: aligned, it is as atomic as the guest's (SDM vol. 3 8.1.1), also for
        // another thread decoding these bytes.
        if ((a & 0xFFF) + (uint)size <= 0x1000)
        {
            byte* p = mb + a;
            if (size == 4) Unsafe.WriteUnaligned(p, (uint)v);
            else if (size == 2) Unsafe.WriteUnaligned(p, (ushort)v);
            else if (size == 8) Unsafe.WriteUnaligned(p, v);
            else *p = (byte)v;
        }
        else for (int i = 0; i < size; i++) mb[(uint)(a + i)] = (byte)(v >> (8 * i));
        // After the store: a block decoded from the old bytes by another thread meanwhile is dropped too.
        Mem.NoteWrite(a, (uint)size);
    }

    /// <summary>Check that [a, a+len) is writable; raises #PF and returns false if not.</summary>
    public bool ProbeWrite(uint a, int len)
    {
        if (Faulted) return false;
        uint last = a + (uint)len - 1;
        byte seen = 0;
        for (uint pg = a >> 12; ; pg = (pg + 1) & 0xFFFFF)
        {
            byte p = perm[pg];
            if ((p & W) == 0)
            {
                uint at = pg == a >> 12 ? a : pg << 12;
                PageFault(at, PfErr.Write | ((p & AddressSpace.Present) != 0 ? PfErr.Present : 0));
                return false;
            }
            seen |= p;
            if (pg == last >> 12) break;
        }
        // A store into decoded code follows: the code goes first, so the host lets the store through.
        if ((seen & AddressSpace.CodeBit) != 0) Mem.PrepareWrite(a, (uint)len);
        return true;
    }

    public bool ProbeRead(uint a, int len)
    {
        if (Faulted) return false;
        uint last = a + (uint)len - 1;
        for (uint pg = a >> 12; ; pg = (pg + 1) & 0xFFFFF)
        {
            byte p = perm[pg];
            if ((p & R) == 0)
            {
                uint at = pg == a >> 12 ? a : pg << 12;
                PageFault(at, (p & AddressSpace.Present) != 0 ? PfErr.Present : 0);
                return false;
            }
            if (pg == last >> 12) break;
        }
        return true;
    }

    void FetchFault(uint a)
    {
        byte p = perm[a >> 12];
        Exit = CpuExit.None;
        PageFault(a, PfErr.Fetch | ((p & AddressSpace.Present) != 0 ? PfErr.Present : 0));
    }

    // ------------------------------------------------------------------ registers and operands

    static readonly sbyte[] RegNum = new sbyte[256];
    static readonly byte[] RegSize = new byte[256];
    static readonly bool[] RegHigh8 = new bool[256];

    static Processor()
    {
        for (int r = 0; r < 256 && r < IcedCounts.Register; r++)
        {
            var reg = (Register)r;
            RegNum[r] = -1;
            if (reg == Register.None) continue;
            try
            {
                if (reg.IsGPR8()) { int num = reg.GetNumber(); if (num < 8) { RegSize[r] = 1; RegNum[r] = (sbyte)(num & 3); RegHigh8[r] = num >= 4; } }
                else if (reg.IsGPR16()) { RegSize[r] = 2; RegNum[r] = (sbyte)reg.GetNumber(); }
                else if (reg.IsGPR32()) { RegSize[r] = 4; RegNum[r] = (sbyte)reg.GetNumber(); }
                else if (reg.IsSegmentRegister()) { RegSize[r] = 2; RegNum[r] = (sbyte)reg.GetNumber(); }
            }
            catch { }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint GetReg(Register r)
    {
        int i = (int)r;
        int n = RegNum[i];
        switch (RegSize[i])
        {
            case 4: return S.R[n];
            case 2: return S.R[n] & 0xFFFF;
            default: return RegHigh8[i] ? (S.R[n] >> 8) & 0xFF : S.R[n] & 0xFF;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetReg(Register r, uint v)
    {
        int i = (int)r;
        int n = RegNum[i];
        switch (RegSize[i])
        {
            case 4: S.R[n] = v; break;
            case 2: S.R[n] = (S.R[n] & 0xFFFF0000u) | (v & 0xFFFF); break;
            default:
                if (RegHigh8[i]) S.R[n] = (S.R[n] & 0xFFFF00FFu) | ((v & 0xFF) << 8);
                else S.R[n] = (S.R[n] & 0xFFFFFF00u) | (v & 0xFF);
                break;
        }
    }

    public static int RegisterSize(Register r) => RegSize[(int)r];

    /// <summary>Linear address of the instruction's memory operand (segment base included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint EffectiveAddress(in Instruction ins)
    {
        uint a = ins.MemoryDisplacement32;
        var b = ins.MemoryBase;
        var x = ins.MemoryIndex;
        if (b != Register.None) a += S.R[RegNum[(int)b]];
        if (x != Register.None) a += S.R[RegNum[(int)x]] * (uint)ins.MemoryIndexScale;
        if (ins.MemoryDisplSize == 2 || RegSize[(int)b] == 2 || RegSize[(int)x] == 2) a = Addr16(ins);
        if (segmented) return SegAddress(ins, a);
        if (a > 0xFFFFFFF0u && OperandWraps(ins, a)) return 0;
        var seg = ins.MemorySegment;
        if (seg == Register.FS) a = FlatFsGs(CpuState.FS, a);
        else if (seg == Register.GS) a = FlatFsGs(CpuState.GS, a);
        else if (seg == Register.ES) a += S.SegBase[CpuState.ES];
        else if (seg == Register.CS && WritesMemory(ins)) return NullAccess(); // CS is never writable (#GP(0))
        return a;
    }

    /// <summary>FS/GS-relative address while every segment is flat: a null FS/GS (unusable) faults #GP(0) when
    /// used for memory (SDM vol. 3 5.4.1); the program starts with both null and glibc loads GS for TLS.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint FlatFsGs(int n, uint off) => (S.SegAttr[n] & AttrP) != 0 ? off + S.SegBase[n] : NullAccess();

    /// <summary>#GP(0) for a segment check that failed on the flat path; the access then hits nothing (0: page 0 is
    /// never mapped, and the fault recorded first wins).</summary>
    uint NullAccess() { RaiseGP(0); return 0; }

    uint Addr16(in Instruction ins)
    {
        uint a = ins.MemoryDisplacement32;
        if (ins.MemoryBase != Register.None) a += GetReg(ins.MemoryBase);
        if (ins.MemoryIndex != Register.None) a += GetReg(ins.MemoryIndex);
        return a & 0xFFFF;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int OpSize(in Instruction ins, int op)
    {
        var k = ins.GetOpKind(op);
        if (k == OpKind.Register) return RegSize[(int)ins.GetOpRegister(op)];
        if (k == OpKind.Memory) return ins.MemorySize.GetSize();
        return 4;
    }

    /// <summary>Size of the destination (operand 0), which sets the width of most integer instructions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Size0(in Instruction ins) => OpSize(ins, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint ReadMem(uint a, int size) => size switch { 4 => ReadU32(a), 2 => ReadU16(a), _ => ReadU8(a) };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WriteMem(uint a, int size, uint v)
    {
        if (size == 4) WriteU32(a, v);
        else if (size == 2) WriteU16(a, (ushort)v);
        else WriteU8(a, (byte)v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint ReadOp(in Instruction ins, int op, int size)
    {
        switch (ins.GetOpKind(op))
        {
            case OpKind.Register: return GetReg(ins.GetOpRegister(op));
            case OpKind.Memory: return ReadMem(EffectiveAddress(ins), size);
            default: return (uint)ins.GetImmediate(op);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WriteOp0(in Instruction ins, int size, uint v)
    {
        if (ins.Op0Kind == OpKind.Register) SetReg(ins.Op0Register, v);
        else WriteMem(EffectiveAddress(ins), size, v);
    }

    // ------------------------------------------------------------------ stack

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Push32(uint v)
    {
        if (segmented) { PushSeg(v, 4); return; }
        uint sp = S.R[CpuState.ESP] - 4;
        if (sp > 0xFFFFFFFCu && LimitWraps(sp, 4, true)) return;
        WriteU32(sp + S.SegBase[CpuState.SS], v);
        if (!Faulted) S.R[CpuState.ESP] = sp;
    }
    void Push16(ushort v)
    {
        if (segmented) { PushSeg(v, 2); return; }
        uint sp = S.R[CpuState.ESP] - 2;
        if (sp == 0xFFFFFFFFu && LimitWraps(sp, 2, true)) return;
        WriteU16(sp + S.SegBase[CpuState.SS], v);
        if (!Faulted) S.R[CpuState.ESP] = sp;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint Pop32()
    {
        if (segmented) return PopSeg(4);
        if (S.R[CpuState.ESP] > 0xFFFFFFFCu && LimitWraps(S.R[CpuState.ESP], 4, true)) return 0;
        uint v = ReadU32(S.R[CpuState.ESP] + S.SegBase[CpuState.SS]);
        if (!Faulted) S.R[CpuState.ESP] += 4;
        return v;
    }
    ushort Pop16()
    {
        if (segmented) return (ushort)PopSeg(2);
        if (S.R[CpuState.ESP] == 0xFFFFFFFFu && LimitWraps(S.R[CpuState.ESP], 2, true)) return 0;
        ushort v = ReadU16(S.R[CpuState.ESP] + S.SegBase[CpuState.SS]);
        if (!Faulted) S.R[CpuState.ESP] += 2;
        return v;
    }

    /// <summary>Public stack helpers for the kernel model (signal frames use copy_to_user instead).</summary>
    public uint Esp { get => S.R[CpuState.ESP]; set => S.R[CpuState.ESP] = value; }
}
