using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// Protected-mode segmentation at CPL 3 (SDM vol. 3 ch. 3 and 5; vol. 2 MOV/POP/Lxx, JMP/CALL/RET far, IRET,
/// LAR/LSL/VERR/VERW). The descriptor tables are CPU state the kernel fills (Gdt, Ldt). While every segment is
/// flat the processor runs its fast paths (decoded blocks, uops, translated code); once any is not (a base, a
/// limit, expand-down, a 16-bit or 64-bit code segment, a 16-bit stack, a null DS/ES), it decodes and checks
/// every instruction here instead.
/// </summary>
public sealed unsafe partial class Processor
{
    // Access-rights bits, as LAR reports them (descriptor high dword).
    public const uint AttrA = 1u << 8, AttrRW = 1u << 9, AttrEC = 1u << 10, AttrCode = 1u << 11, AttrS = 1u << 12,
        AttrP = 1u << 15, AttrAvl = 1u << 20, AttrL = 1u << 21, AttrDB = 1u << 22, AttrG = 1u << 23;

    /// <summary>Some segment is not flat: every instruction takes the checked path (StepSegmented).</summary>
    bool segmented;
    /// <summary>The code segment's mode: 16 (D=0), 32, or 64 (L=1 on a 64-bit kernel's CPU: IA-32e 64-bit mode).</summary>
    int codeBits = 32;
    /// <summary>CPU mode of the current code segment (16, 32, 64), for the kernel's reports.</summary>
    public int CodeBits => codeBits;
    /// <summary>Set with the #UD raised for a 64-bit-mode instruction outside the subset executed (see Allowed64).</summary>
    public bool Unsupported64;
    /// <summary>Number of instructions run in 64-bit mode (--stats).</summary>
    public long Retired64;

    public static uint DescBase(ulong d) => (uint)(((d >> 16) & 0xFFFFFF) | (((d >> 56) & 0xFF) << 24));
    public static uint DescAttr(ulong d) => (uint)(d >> 32) & 0x00F0FF00;
    public static uint DescLimit(ulong d)
    {
        uint l = (uint)(d & 0xFFFF) | ((uint)(d >> 32) & 0xF0000);
        return (d & (1UL << 55)) != 0 ? (l << 12) | 0xFFF : l;
    }

    /// <summary>Recompute the mode after a segment register changed (CPU or kernel).</summary>
    public void UpdateSegMode()
    {
        uint csA = S.SegAttr[CpuState.CS];
        codeBits = Model.Kernel64 && (csA & AttrL) != 0 && (csA & AttrDB) == 0 ? 64 : (csA & AttrDB) != 0 ? 32 : 16;
        bool flat = codeBits == 32 && S.SegBase[CpuState.CS] == 0 && S.SegLimit[CpuState.CS] == ~0u && (csA & AttrRW) != 0;
        flat &= FlatData(CpuState.SS) && (S.SegAttr[CpuState.SS] & AttrDB) != 0;
        flat &= FlatData(CpuState.DS) && FlatData(CpuState.ES);
        // FS/GS: any base (the fast paths add it); a limit or a read-only or expand-down type needs the checks.
        flat &= FlatLimit(CpuState.FS) && FlatLimit(CpuState.GS);
        segmented = !flat;
    }

    // Usability is the descriptor cache's P bit: a null selector load leaves it clear (SDM 3.4.3, 5.4.1).
    bool FlatData(int n) => (S.SegAttr[n] & AttrP) != 0 && S.SegBase[n] == 0 && FlatLimit(n);
    bool FlatLimit(int n)
    {
        if ((S.SegAttr[n] & AttrP) == 0) return true; // an unusable FS/GS: only its use faults (checked path only)
        uint a = S.SegAttr[n];
        return S.SegLimit[n] == ~0u && (a & (AttrCode | AttrEC | AttrRW | AttrP)) == (AttrRW | AttrP);
    }

    static int SegIndex(Register seg) => seg switch
    {
        Register.ES => CpuState.ES, Register.CS => CpuState.CS, Register.SS => CpuState.SS,
        Register.FS => CpuState.FS, Register.GS => CpuState.GS, _ => CpuState.DS,
    };

    // ------------------------------------------------------------------ checked addressing

    /// <summary>The segment checks of a data access (SDM vol. 3 5.3, 5.4.1): a null selector, the type (write to a
    /// read-only or code segment, read of an execute-only one) and the limit (expand-down: above it, up to 64 KiB or
    /// 4 GiB by B). Violations: #SS(0) for SS, #GP(0) otherwise.</summary>
    bool SegCheck(int n, uint off, int size, bool write)
    {
        if (Faulted) return false;
        if (codeBits == 64) return true; // 64-bit mode: no limits (and no memory operands run there)
        uint attr = S.SegAttr[n];
        int vec = n == CpuState.SS ? Vec.SS : Vec.GP;
        if (n != CpuState.CS && (attr & AttrP) == 0) { RaiseFault(Vec.GP, 0); return false; }
        bool code = (attr & AttrCode) != 0;
        if (write ? code || (attr & AttrRW) == 0 : code && (attr & AttrRW) == 0) { RaiseFault(Vec.GP, 0); return false; }
        uint last = off + (uint)(size > 0 ? size - 1 : 0);
        uint limit = S.SegLimit[n];
        if (!code && (attr & AttrEC) != 0)
        {
            uint upper = (attr & AttrDB) != 0 ? ~0u : 0xFFFFu;
            if (off <= limit || last > upper || last < off) { RaiseFault(vec, 0); return false; }
        }
        else if (last > limit || last < off) { RaiseFault(vec, 0); return false; }
        return true;
    }

    /// <summary>The flat path's one limit check, amd model only: an access whose offsets run past 0xFFFFFFFF exceeds
    /// the flat segment's 4 GiB limit, #SS(0) through SS and #GP(0) otherwise (SDM vol. 3A 5.3 leaves such accesses
    /// to the implementation: the Intel host wrapped to offset 0, the AMD host faults before paging). Callers test
    /// off first (the last 16 bytes). True when it raised the fault; the access then hits nothing.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    bool LimitWraps(uint off, int size, bool stack)
    {
        if (Model.Vendor != CpuVendor.Amd || size <= 1 || off + (uint)(size - 1) >= off) return false;
        RaiseFault(stack ? Vec.SS : Vec.GP, 0);
        return true;
    }

    /// <summary>LimitWraps for an explicit memory operand. A split access counts by its first piece (the AMD host:
    /// FLD/FSTP m80 and FBLD/FBSTP 8 bytes then 2; far pointers, BOUND and x87 environments field by field): the
    /// pieces after it lie on the top page, never mapped, so the first one's #PF comes before any limit.</summary>
    bool OperandWraps(in Instruction ins, uint off)
    {
        int piece = ins.MemorySize switch
        {
            MemorySize.Float80 or MemorySize.Bcd => 8,
            MemorySize.SegPtr16 or MemorySize.Bound16_WordWord or MemorySize.FpuEnv14 or MemorySize.FpuState94 => 2,
            MemorySize.SegPtr32 or MemorySize.Bound32_DwordDword => 4,
            var m when m.GetSize() > 16 => 4,
            var m => m.GetSize(),
        };
        return LimitWraps(off, piece, ins.MemorySegment == Register.SS);
    }

    /// <summary>EffectiveAddress's checked half: offset → linear address after SegCheck (0 after a fault, which
    /// the caller sees as Faulted; the access then hits nothing: page 0 is never mapped).</summary>
    uint SegAddress(in Instruction ins, uint off)
    {
        var seg = ins.MemorySegment;
        int n = SegIndex(seg);
        if (codeBits == 64) return n is CpuState.FS or CpuState.GS ? off + S.SegBase[n] : off;
        int size = ins.MemorySize.GetSize();
        if (!SegCheck(n, off, size, WritesMemory(ins))) return 0;
        return S.SegBase[n] + off;
    }

    /// <summary>Per instruction code: does its explicit memory operand get written (Iced's operand access)?</summary>
    static readonly byte[] memWrite = new byte[IcedCounts.Code];
    static readonly InstructionInfoFactory infoFactory = new();
    static readonly object infoLock = new();

    static bool WritesMemory(in Instruction ins)
    {
        byte w = memWrite[(int)ins.Code];
        if (w == 0)
        {
            lock (infoLock)
            {
                var info = infoFactory.GetInfo(ins);
                w = 1;
                for (int i = 0; i < ins.OpCount; i++)
                    if (ins.GetOpKind(i) == OpKind.Memory)
                    {
                        var acc = info.GetOpAccess(i);
                        if (acc is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite) w = 2;
                    }
                memWrite[(int)ins.Code] = w;
            }
        }
        return w == 2;
    }

    /// <summary>SS:[sp] as a linear address for an access of size bytes (16-bit offsets when SS.B = 0).</summary>
    uint StackAddr(uint sp, int size, bool write)
    {
        if (!segmented) return sp > 0xFFFFFFFCu && LimitWraps(sp, size, true) ? 0 : sp + S.SegBase[CpuState.SS];
        if (codeBits == 64) return sp;
        uint off = (S.SegAttr[CpuState.SS] & AttrDB) != 0 ? sp : sp & 0xFFFF;
        if (!SegCheck(CpuState.SS, off, size, write)) return 0;
        return S.SegBase[CpuState.SS] + off;
    }

    /// <summary>The part of ESP a stack operation uses: SP with a 16-bit stack segment (SDM 6.2.3).</summary>
    uint SpMask => segmented && codeBits != 64 && (S.SegAttr[CpuState.SS] & AttrDB) == 0 ? 0xFFFFu : ~0u;
    void SetSp(uint v) { uint m = SpMask; S.R[CpuState.ESP] = (S.R[CpuState.ESP] & ~m) | (v & m); }

    void PushSeg(uint v, int size)
    {
        uint sp = S.R[CpuState.ESP] - (uint)size;
        uint a = StackAddr(sp, size, true);
        if (Faulted) return;
        if (size == 4) WriteU32(a, v); else WriteU16(a, (ushort)v);
        if (!Faulted) SetSp(sp);
    }

    uint PopSeg(int size)
    {
        uint sp = S.R[CpuState.ESP];
        uint a = StackAddr(sp, size, false);
        if (Faulted) return 0;
        uint v = size == 4 ? ReadU32(a) : ReadU16(a);
        if (!Faulted) SetSp(sp + (uint)size);
        return v;
    }

    // ------------------------------------------------------------------ descriptors and segment loads

    /// <summary>The descriptor a selector names; false (with #GP(sel) raised unless quiet) when it lies outside
    /// its table or is the GDT's null entry.</summary>
    bool GetDescriptor(ushort sel, out ulong desc, bool quiet = false)
    {
        desc = 0;
        int idx = sel >> 3;
        var table = (sel & 4) != 0 ? Ldt : Gdt;
        if (table == null || idx >= table.Length || ((sel & 4) == 0 && idx == 0))
        {
            if (!quiet) RaiseGP((uint)sel & 0xFFFC);
            return false;
        }
        desc = table[idx];
        return true;
    }

    void SetCache(int n, ushort sel, ulong d)
    {
        S.Sel[n] = sel;
        S.SegBase[n] = DescBase(d);
        S.SegLimit[n] = DescLimit(d);
        S.SegAttr[n] = DescAttr(d);
    }

    /// <summary>MOV/POP/Lxx to a data or stack segment register (SDM MOV, "IF SS is loaded" / "IF DS, ES, FS, or
    /// GS is loaded with non-NULL selector"). A null selector makes DS/ES/FS/GS unusable; SS may not be null.</summary>
    public void LoadSegment(Register sreg, ushort sel)
    {
        int n = sreg.GetNumber();
        if (sreg == Register.CS) { RaiseUD(); return; }
        if ((sel & 0xFFFC) == 0)
        {
            if (sreg == Register.SS) { RaiseGP(0); return; }
            // Unusable; the cache keeps the DPL of the level that loaded it (see IretToUser).
            S.Sel[n] = sel; S.SegBase[n] = 0; S.SegLimit[n] = 0; S.SegAttr[n] = (uint)S.Cpl << 13;
            SegmentsChanged();
            return;
        }
        if (!GetDescriptor(sel, out ulong d)) return;
        uint attr = DescAttr(d);
        int dpl = (int)(attr >> 13) & 3;
        bool code = (attr & AttrCode) != 0;
        int rpl = sel & 3;
        if ((attr & AttrS) == 0) { RaiseGP((uint)sel & 0xFFFC); return; }
        if (sreg == Register.SS)
        {
            if (code || (attr & AttrRW) == 0 || rpl != S.Cpl || dpl != S.Cpl) { RaiseGP((uint)sel & 0xFFFC); return; }
            if ((attr & AttrP) == 0) { RaiseFault(Vec.SS, (uint)sel & 0xFFFC); return; }
        }
        else
        {
            if (code && (attr & AttrRW) == 0) { RaiseGP((uint)sel & 0xFFFC); return; }
            bool conforming = code && (attr & AttrEC) != 0;
            if (!conforming && (rpl > dpl || S.Cpl > dpl)) { RaiseGP((uint)sel & 0xFFFC); return; }
            if ((attr & AttrP) == 0) { RaiseFault(Vec.NP, (uint)sel & 0xFFFC); return; }
        }
        SetCache(n, sel, d);
        SegmentsChanged();
    }

    void SegmentsChanged()
    {
        UpdateSegMode();
        stopBlock = true; // the next instruction may need the checked path
    }

    /// <summary>loadsegment() as the kernel does it: the load, or the null selector when it faults (the
    /// exception-table fixup). Never raises an event. Returns false when it fell back to null.</summary>
    public bool KernelLoadSegment(int n, ushort sel)
    {
        var exit = Exit; var faulted = Faulted; int vec = Vector; uint err = ErrorCode;
        Exit = CpuExit.None; Faulted = false;
        int cpl = S.Cpl;
        S.Cpl = 0; // the kernel's load: a null selector is cached with DPL 0
        LoadSegment(Register.ES + n, sel);
        S.Cpl = cpl;
        bool ok = Exit == CpuExit.None;
        if (!ok) { S.Sel[n] = 0; S.SegBase[n] = 0; S.SegLimit[n] = 0; S.SegAttr[n] = 0; }
        Exit = exit; Faulted = faulted; Vector = vec; ErrorCode = err;
        UpdateSegMode();
        return ok;
    }

    /// <summary>SYSRET/SYSEXIT: CS and SS get fixed flat descriptors, not the GDT's (SDM SYSRET, SYSEXIT).</summary>
    public void LoadFlatUserCsSs(ushort cs, ushort ss)
    {
        S.Sel[CpuState.CS] = cs; S.SegBase[CpuState.CS] = 0; S.SegLimit[CpuState.CS] = ~0u; S.SegAttr[CpuState.CS] = CpuState.FlatCode;
        S.Sel[CpuState.SS] = ss; S.SegBase[CpuState.SS] = 0; S.SegLimit[CpuState.SS] = ~0u; S.SegAttr[CpuState.SS] = CpuState.FlatData;
        S.Cpl = 3;
        UpdateSegMode();
    }

    /// <summary>The CS checks of IRET and far RET to CPL 3 and of a far JMP/CALL to a code segment (SDM IRET
    /// "RETURN-TO-OUTER/SAME-PRIVILEGE-LEVEL", RET, JMP/CALL "conforming/nonconforming code segment"). 0 when
    /// loadable; otherwise the vector, with err the error code.</summary>
    int CheckCodeSelector(ushort sel, int cpl, bool isReturn, out ulong d, out uint err)
    {
        err = (uint)sel & 0xFFFC;
        d = 0;
        if ((sel & 0xFFFC) == 0) { err = 0; return Vec.GP; }
        int idx = sel >> 3;
        var table = (sel & 4) != 0 ? Ldt : Gdt;
        if (table == null || idx >= table.Length || ((sel & 4) == 0 && idx == 0)) return Vec.GP;
        d = table[idx];
        uint attr = DescAttr(d);
        if ((attr & (AttrS | AttrCode)) != (AttrS | AttrCode)) return Vec.GP; // system descriptors (gates) too
        int dpl = (int)(attr >> 13) & 3, rpl = sel & 3;
        bool conforming = (attr & AttrEC) != 0;
        if (isReturn)
        {
            if (rpl != cpl) return Vec.GP;
            if (conforming ? dpl > rpl : dpl != rpl) return Vec.GP;
        }
        else if (conforming ? dpl > cpl : rpl > cpl || dpl != cpl) return Vec.GP;
        if ((attr & AttrP) == 0) return Vec.NP;
        if (Model.Kernel64 && (attr & AttrL) != 0 && (attr & AttrDB) != 0) return Vec.GP; // L and D both set
        return 0;
    }

    /// <summary>The SS checks of IRET to an outer level (SDM IRET): null → #GP(0); RPL ≠ CS.RPL, not a writable
    /// data segment, DPL ≠ CS.RPL → #GP(sel); not present → #SS(sel).</summary>
    int CheckStackSelector(ushort sel, int rpl, out ulong d, out uint err)
    {
        err = (uint)sel & 0xFFFC;
        d = 0;
        if ((sel & 0xFFFC) == 0) { err = 0; return Vec.GP; }
        int idx = sel >> 3;
        var table = (sel & 4) != 0 ? Ldt : Gdt;
        if (table == null || idx >= table.Length || ((sel & 4) == 0 && idx == 0)) return Vec.GP;
        d = table[idx];
        uint attr = DescAttr(d);
        if ((sel & 3) != rpl) return Vec.GP;
        if ((attr & (AttrS | AttrCode | AttrRW)) != (AttrS | AttrRW)) return Vec.GP;
        if (((attr >> 13) & 3) != rpl) return Vec.GP;
        if ((attr & AttrP) == 0) return Vec.SS;
        return 0;
    }

    /// <summary>The kernel's IRET to user mode (CPL 0 → 3): CS and SS from the frame with IRET's checks. false with
    /// the exception IRET raised (vector, err): nothing has been loaded then.</summary>
    public bool IretToUser(ushort cs, ushort ss, out int vector, out uint err)
    {
        vector = CheckCodeSelector(cs, 3, isReturn: true, out ulong cd, out err);
        if (vector != 0) return false;
        vector = CheckStackSelector(ss, 3, out ulong sd, out err);
        if (vector != 0) return false;
        S.Cpl = 3;
        SetCache(CpuState.CS, cs, cd);
        SetCache(CpuState.SS, ss, sd);
        // IRET to an outer level: DS, ES, FS, GS holding a data or non-conforming code segment with DPL < CPL
        // become null; a null selector the kernel loaded (cached with DPL 0) reads back as 0 afterwards, as on
        // Intel parts (the sigreturn selftest's DS = ES = 0 case).
        for (int n = 0; n < 6; n++)
        {
            if (n is CpuState.CS or CpuState.SS) continue;
            uint a = S.SegAttr[n];
            bool conformingCode = (a & (AttrS | AttrCode | AttrEC)) == (AttrS | AttrCode | AttrEC);
            if (!conformingCode && ((a >> 13) & 3) < 3) { S.Sel[n] = 0; S.SegBase[n] = 0; S.SegLimit[n] = 0; S.SegAttr[n] = 0; }
        }
        UpdateSegMode();
        return true;
    }

    // ------------------------------------------------------------------ far transfers

    void FarTransfer(in Instruction ins, bool call)
    {
        uint a = EffectiveAddress(ins);
        if (Faulted) return;
        bool wide = ins.MemorySize == MemorySize.SegPtr32;
        uint off = wide ? ReadU32(a) : ReadU16(a);
        ushort sel = ReadU16(a + (wide ? 4u : 2u));
        if (Faulted) return;
        FarJump(sel, off, call, S.Eip, wide ? 4 : 2);
    }

    /// <summary>Far JMP/CALL to a code segment at CPL 3 (SDM JMP/CALL, protected mode). A call gate, TSS or task
    /// gate would be a system descriptor: Linux gives user space none, so those are #GP(sel). CALL pushes CS and
    /// the return offset in the operand size (CS in a 4-byte slot for 32 bits).</summary>
    void FarJump(ushort sel, uint off, bool call, uint ret, int opSize)
    {
        int v = CheckCodeSelector(sel, S.Cpl, isReturn: false, out ulong d, out uint err);
        if (v != 0) { RaiseFault(v, err); return; }
        if (opSize == 2) off &= 0xFFFF;
        bool to64 = Model.Kernel64 && (DescAttr(d) & AttrL) != 0;
        if (!to64 && off > DescLimit(d)) { RaiseGP(0); return; }
        if (call)
        {
            uint sp = S.R[CpuState.ESP];
            uint cs = S.Sel[CpuState.CS];
            if (codeBits == 64) { RaiseUD(); Unsupported64 = true; return; }
            uint a1 = StackAddr(sp - (uint)opSize, opSize, true);
            uint a2 = StackAddr(sp - 2 * (uint)opSize, opSize, true);
            if (Faulted) return;
            if (opSize == 4) { WriteU16(a1, (ushort)cs); WriteU32(a2, ret); }
            else { WriteU16(a1, (ushort)cs); WriteU16(a2, (ushort)ret); }
            if (Faulted) return;
            SetSp(sp - 2 * (uint)opSize);
        }
        SetCache(CpuState.CS, (ushort)((sel & 0xFFFC) | S.Cpl), d);
        S.Eip = off;
        SegmentsChanged();
    }

    /// <summary>Far RET (imm16) to the same level (SDM RET, "RETURN-TO-SAME-PRIVILEGE-LEVEL"); a CS with RPL 3 at
    /// CPL 3 never leads to an outer level.</summary>
    void FarReturn(in Instruction ins)
    {
        int size = ins.Code is Code.Retfd or Code.Retfd_imm16 ? 4 : 2;
        if (codeBits == 64) { RaiseUD(); Unsupported64 = true; return; }
        uint sp = S.R[CpuState.ESP];
        uint a1 = StackAddr(sp, size, false);
        uint a2 = StackAddr(sp + (uint)size, 2, false);
        if (Faulted) return;
        uint eip = size == 4 ? ReadU32(a1) : ReadU16(a1);
        ushort cs = ReadU16(a2);
        if (Faulted) return;
        int v = CheckCodeSelector(cs, S.Cpl, isReturn: true, out ulong d, out uint err);
        if (v != 0) { RaiseFault(v, err); return; }
        bool to64 = Model.Kernel64 && (DescAttr(d) & AttrL) != 0;
        if (!to64 && eip > DescLimit(d)) { RaiseGP(0); return; }
        SetSp(sp + 2 * (uint)size + (ins.OpCount > 0 ? (uint)ins.Immediate16 : 0));
        SetCache(CpuState.CS, cs, d);
        S.Eip = eip;
        SegmentsChanged();
    }

    /// <summary>IRET at CPL 3 with IOPL 0 (SDM IRET, protected mode): EIP, CS, EFLAGS (and ESP, SS when the CS
    /// RPL is outer, impossible at CPL 3); IF and IOPL are kept.</summary>
    void ExecIret(int size)
    {
        if (codeBits == 64) { RaiseUD(); Unsupported64 = true; return; }
        uint sp = S.R[CpuState.ESP];
        uint a0 = StackAddr(sp, size, false), a1 = StackAddr(sp + (uint)size, 2, false), a2 = StackAddr(sp + 2 * (uint)size, size, false);
        if (Faulted) return;
        uint eip = size == 4 ? ReadU32(a0) : ReadU16(a0);
        ushort cs = ReadU16(a1);
        uint fl = size == 4 ? ReadU32(a2) : ReadU16(a2);
        if (Faulted) return;
        if ((S.Flags.Get() & Flags.NT) != 0) { RaiseGP(0); return; } // a task return: no TSS for user code
        int v = CheckCodeSelector(cs, S.Cpl, isReturn: true, out ulong d, out uint err);
        if (v != 0) { RaiseFault(v, err); return; }
        bool to64 = Model.Kernel64 && (DescAttr(d) & AttrL) != 0;
        if (!to64 && eip > DescLimit(d)) { RaiseGP(0); return; }
        const uint changeable = Flags.CF | Flags.PF | Flags.AF | Flags.ZF | Flags.SF | Flags.TF | Flags.DF | Flags.OF
                              | Flags.NT | Flags.AC | Flags.ID | Flags.RF;
        uint mask = size == 2 ? changeable & 0xFFFF : changeable;
        S.Flags.Set((S.Flags.Get() & ~mask) | (fl & mask));
        SetSp(sp + 3 * (uint)size);
        if (cs != S.Sel[CpuState.CS] || S.SegAttr[CpuState.CS] != DescAttr(d)) SetCache(CpuState.CS, cs, d);
        S.Eip = eip;
        SegmentsChanged();
    }

    // ------------------------------------------------------------------ LAR, LSL, VERR, VERW

    /// <summary>LAR/LSL/VERR/VERW (SDM vol. 2): ZF = 1 and the result when the descriptor is visible at CPL 3
    /// with the selector's RPL and of a type the instruction accepts; ZF = 0 and nothing written otherwise.</summary>
    void ExecSegInfo(in Instruction ins)
    {
        var mn = ins.Mnemonic;
        int srcOp = mn is Mnemonic.Lar or Mnemonic.Lsl ? 1 : 0;
        ushort sel = (ushort)ReadOp(ins, srcOp, 2);
        if (Faulted) return;
        bool ok = (sel & 0xFFFC) != 0 && GetDescriptor(sel, out ulong d, quiet: true);
        uint attr = 0;
        if (ok)
        {
            d = ((sel & 4) != 0 ? Ldt! : Gdt)[sel >> 3];
            attr = DescAttr(d);
            bool sys = (attr & AttrS) == 0;
            int type = (int)(attr >> 8) & 0xF;
            bool code = !sys && (attr & AttrCode) != 0;
            bool conforming = code && (attr & AttrEC) != 0;
            int dpl = (int)(attr >> 13) & 3, rpl = sel & 3;
            if (!conforming && (dpl < S.Cpl || dpl < rpl)) ok = false;
            else if (sys)
                // LAR: LDT, TSS (16/32, available/busy), call and task gates; LSL: LDT and TSS only.
                ok = mn == Mnemonic.Lar ? type is 1 or 2 or 3 or 4 or 5 or 9 or 0xB or 0xC
                   : mn == Mnemonic.Lsl && type is 1 or 2 or 3 or 9 or 0xB;
            else if (mn == Mnemonic.Verr) ok = !code || (attr & AttrRW) != 0;
            else if (mn == Mnemonic.Verw) ok = !code && (attr & AttrRW) != 0;
            if (ok && mn == Mnemonic.Lar)
            {
                uint r = (uint)(d >> 32) & 0x00FFFF00;
                SetReg(ins.Op0Register, Processor.RegisterSize(ins.Op0Register) == 2 ? r & 0xFF00 : r);
            }
            else if (ok && mn == Mnemonic.Lsl) SetReg(ins.Op0Register, DescLimit(d));
        }
        S.Flags.SetBit(Flags.ZF, ok);
    }

    // ------------------------------------------------------------------ the checked execution path

    sealed class FetchReader : CodeReader
    {
        public readonly byte[] Buf = new byte[16];
        public int Len, Pos;
        public override int ReadByte() => Pos < Len ? Buf[Pos++] : -1;
    }
    FetchReader? fetch;
    Decoder? dec16, dec32, dec64;
    Instruction segIns;

    /// <summary>One instruction through the checked path: fetch at CS.base + EIP within CS's limit, decode for
    /// the code segment's mode, execute, then the single-step rules the block loop applies (Run).</summary>
    CpuExit StepSegmented(ref long budget)
    {
        fetch ??= new FetchReader();
        uint eip = S.Eip;
        uint lin = codeBits == 64 ? eip : S.SegBase[CpuState.CS] + eip;
        uint limit = S.SegLimit[CpuState.CS];
        int n = 0;
        bool pageFault = false, limitFault = false;
        for (; n < 15; n++)
        {
            uint a = lin + (uint)n;
            if (codeBits != 64 && eip + (uint)n > limit) { limitFault = true; break; }
            if ((perm[a >> 12] & (R | X)) != (R | X)) { pageFault = true; break; }
            fetch.Buf[n] = mb[a];
        }
        fetch.Len = n; fetch.Pos = 0;
        var dec = codeBits switch
        {
            16 => dec16 ??= Decoder.Create(16, fetch),
            64 => dec64 ??= Decoder.Create(64, fetch),
            _ => dec32 ??= Decoder.Create(32, fetch),
        };
        dec.IP = eip;
        dec.Decode(out segIns);
        if (dec.LastError == DecoderError.NoMoreBytes)
        {
            if (pageFault && !limitFault) PageFault(lin + (uint)n, PfErr.Fetch | ((perm[(lin + (uint)n) >> 12] & Memory.AddressSpace.Present) != 0 ? PfErr.Present : 0));
            else RaiseGP(0);
            return Exit;
        }
        bool tf = (S.Flags.Bits & Flags.TF) != 0;
        bool rf = (S.Flags.Bits & Flags.RF) != 0;
        uint next = eip + (uint)segIns.Length;
        if (codeBits == 16) next &= 0xFFFF;
        S.Eip = next;
        stepOne = tf;
        if (codeBits == 64)
        {
            Retired64++;
            if (Allowed64(segIns)) Execute(ref segIns);
            else { Unsupported64 = true; RaiseUD(); }
        }
        else Execute(ref segIns);
        stepOne = false;
        budget--; Retired++;
        if (rf && !Faulted && segIns.Mnemonic is not (Mnemonic.Iret or Mnemonic.Iretd)) S.Flags.Bits &= ~Flags.RF;
        stopBlock = false;
        if (Exit != CpuExit.None)
        {
            if (Exit == CpuExit.Exception && IsFault(Vector)) S.Eip = eip;
            return Exit;
        }
        if (tf && !(segIns.Op0Register == Register.SS && segIns.Mnemonic is Mnemonic.Mov or Mnemonic.Pop))
        {
            RaiseTrap(Vec.DB, 0);
            SingleStep = true;
            return Exit;
        }
        return CpuExit.None;
    }

    /// <summary>64-bit mode is entered (a far transfer or IRET to the 64-bit user code segment, 0x33) but not
    /// emulated yet: only instructions whose 64-bit meaning equals the 32-bit one on this register file run there
    /// (no REX, no memory operand, no stack or control transfer): register MOV/ALU, MOV from a segment register,
    /// NOP, INT3. Anything else is #UD with Unsupported64 set, which the kernel reports (never a wrong result).</summary>
    static bool Allowed64(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            var k = ins.GetOpKind(i);
            if (k == OpKind.Register)
            {
                var r = ins.GetOpRegister(i);
                if (r.IsSegmentRegister()) continue;
                if (!(r.IsGPR32() || r.IsGPR16() || r.IsGPR8()) || r.GetNumber() >= 8 || r is Register.SPL or Register.BPL or Register.SIL or Register.DIL) return false;
            }
            else if (k is not (OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate8to16 or OpKind.Immediate8to32)) return false;
        }
        return ins.Mnemonic switch
        {
            Mnemonic.Mov => !ins.Op0Register.IsSegmentRegister(),
            Mnemonic.Add or Mnemonic.Or or Mnemonic.Adc or Mnemonic.Sbb or Mnemonic.And or Mnemonic.Sub or Mnemonic.Xor
                or Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Not or Mnemonic.Neg => true,
            Mnemonic.Nop or Mnemonic.Int3 => true,
            _ => false,
        };
    }

    /// <summary>The run loop's TF state for string instructions: with TF set, a REP string instruction does one
    /// iteration and leaves EIP on itself while iterations remain, so the trap follows each one (SDM vol. 2, REP:
    /// "the single-step trap is taken after each iteration").</summary>
    bool stepOne;
}
