using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>String instructions with REP/REPE/REPNE (SDM vol. 2, REP prefix). A fault mid-way leaves
/// ECX/ESI/EDI at the faulting iteration and EIP at the instruction, so a restart resumes it.</summary>
public sealed unsafe partial class Processor
{
    int StrSize(in Instruction ins) => ins.Mnemonic switch
    {
        Mnemonic.Movsb or Mnemonic.Stosb or Mnemonic.Lodsb or Mnemonic.Cmpsb or Mnemonic.Scasb => 1,
        Mnemonic.Movsw or Mnemonic.Stosw or Mnemonic.Lodsw or Mnemonic.Cmpsw or Mnemonic.Scasw => 2,
        _ => 4,
    };

    /// <summary>A REPE/REPNE CMPS/SCAS that faults after some iterations: the intel models keep EFLAGS as they were
    /// before the instruction (the Intel host; found by the instruction fuzzer), the amd model the flags of the
    /// last comparison it completed (the AMD host: tests/guests/fuzz/rep_fault_flags.c).</summary>
    void FaultFlags(bool rep, uint before)
    {
        if (rep && Model.Vendor == CpuVendor.Intel) S.Flags.Set(before);
    }

    /// <summary>An element this close to 4 GiB may run past it (the amd model's limit fault, LimitWraps): the
    /// generic loop, whose StrAddr checks. Only the first element can: the ones after it reach the top page or
    /// page 0, never mapped, before they could wrap.</summary>
    bool NearTop(int reg) => S.R[reg] > 0xFFFFFFFCu;

    /// <summary>A 16-bit address size (67 prefix in 32-bit code, or 16-bit code): SI/DI/CX, wrapping at 64 KiB.</summary>
    static bool Addr16Str(in Instruction ins) =>
        ins.Op0Kind is OpKind.MemorySegSI or OpKind.MemorySegDI or OpKind.MemoryESDI || ins.Op1Kind is OpKind.MemorySegSI or OpKind.MemoryESDI;

    /// <summary>The fast loops below add bases without checks: a null source segment (FS/GS) goes to the generic
    /// loop, whose StrAddr faults on it.</summary>
    bool SrcUnusable(in Instruction ins) => (S.SegAttr[SegIndex(ins.MemorySegment)] & AttrP) == 0;

    void ExecMovs(in Instruction ins)
    {
        int sz = StrSize(ins);
        int step = (S.Flags.Bits & Flags.DF) != 0 ? -sz : sz;
        uint srcBase = SegBaseOf(ins.MemorySegment);
        uint dstBase = S.SegBase[CpuState.ES];
        bool rep = ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix;
        if (Addr16Str(ins) || stepOne || segmented || SrcUnusable(ins) || NearTop(CpuState.ESI) || NearTop(CpuState.EDI)) { ExecStrGeneric(ins, sz, step); return; }
        if (!rep)
        {
            uint v = ReadMem(S.R[CpuState.ESI] + srcBase, sz);
            if (Faulted) return;
            WriteMem(S.R[CpuState.EDI] + dstBase, sz, v);
            if (Faulted) return;
            S.R[CpuState.ESI] += (uint)step; S.R[CpuState.EDI] += (uint)step;
            return;
        }
        // Fast path: forward byte/dword copies within single pages go through spans.
        while (S.R[CpuState.ECX] != 0)
        {
            uint si = S.R[CpuState.ESI], di = S.R[CpuState.EDI];
            if (step > 0 && srcBase == 0 && dstBase == 0)
            {
                uint n = S.R[CpuState.ECX];
                uint room = Math.Min(0x1000 - (si & 0xFFF), 0x1000 - (di & 0xFFF)) / (uint)sz;
                if (room > 1 && (perm[si >> 12] & R) != 0 && (perm[di >> 12] & WC) == W)
                {
                    uint k = Math.Min(n, room);
                    uint bytes = k * (uint)sz;
                    // Forward element copies equal memmove unless the destination overlaps just above the source.
                    if (di - si >= bytes)
                    {
                        Buffer.MemoryCopy(mb + si, mb + di, bytes, bytes);
                        S.R[CpuState.ESI] = si + bytes; S.R[CpuState.EDI] = di + bytes; S.R[CpuState.ECX] = n - k;
                        continue;
                    }
                }
            }
            uint v = ReadMem(si + srcBase, sz);
            if (Faulted) return;
            WriteMem(di + dstBase, sz, v);
            if (Faulted) return;
            S.R[CpuState.ESI] = si + (uint)step; S.R[CpuState.EDI] = di + (uint)step;
            S.R[CpuState.ECX]--;
        }
    }

    void ExecStos(in Instruction ins)
    {
        int sz = StrSize(ins);
        int step = (S.Flags.Bits & Flags.DF) != 0 ? -sz : sz;
        uint dstBase = S.SegBase[CpuState.ES];
        uint v = S.R[0] & MaskOf(sz);
        bool rep = ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix;
        if (Addr16Str(ins) || stepOne || segmented || NearTop(CpuState.EDI)) { ExecStrGeneric(ins, sz, step); return; }
        if (!rep)
        {
            WriteMem(S.R[CpuState.EDI] + dstBase, sz, v);
            if (!Faulted) S.R[CpuState.EDI] += (uint)step;
            return;
        }
        while (S.R[CpuState.ECX] != 0)
        {
            uint di = S.R[CpuState.EDI];
            if (step > 0 && dstBase == 0 && sz == 1)
            {
                uint n = S.R[CpuState.ECX];
                uint room = 0x1000 - (di & 0xFFF);
                if (room > 1 && (perm[di >> 12] & WC) == W)
                {
                    uint k = Math.Min(n, room);
                    new Span<byte>(mb + di, (int)k).Fill((byte)v);
                    S.R[CpuState.EDI] = di + k; S.R[CpuState.ECX] = n - k;
                    continue;
                }
            }
            else if (step > 0 && dstBase == 0 && sz == 4 && (di & 3) == 0)
            {
                uint n = S.R[CpuState.ECX];
                uint room = (0x1000 - (di & 0xFFF)) / 4;
                if (room > 1 && (perm[di >> 12] & WC) == W)
                {
                    uint k = Math.Min(n, room);
                    new Span<uint>(mb + di, (int)k).Fill(v);
                    S.R[CpuState.EDI] = di + k * 4; S.R[CpuState.ECX] = n - k;
                    continue;
                }
            }
            WriteMem(di + dstBase, sz, v);
            if (Faulted) return;
            S.R[CpuState.EDI] = di + (uint)step;
            S.R[CpuState.ECX]--;
        }
    }

    void ExecLods(in Instruction ins)
    {
        int sz = StrSize(ins);
        int step = (S.Flags.Bits & Flags.DF) != 0 ? -sz : sz;
        uint srcBase = SegBaseOf(ins.MemorySegment);
        bool rep = ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix;
        if (Addr16Str(ins) || stepOne || segmented || SrcUnusable(ins) || NearTop(CpuState.ESI)) { ExecStrGeneric(ins, sz, step); return; }
        do
        {
            if (rep && S.R[CpuState.ECX] == 0) return;
            uint v = ReadMem(S.R[CpuState.ESI] + srcBase, sz);
            if (Faulted) return;
            SetReg(sz == 1 ? Register.AL : sz == 2 ? Register.AX : Register.EAX, v);
            S.R[CpuState.ESI] += (uint)step;
            if (rep) S.R[CpuState.ECX]--;
        } while (rep);
    }

    void ExecCmps(in Instruction ins)
    {
        int sz = StrSize(ins);
        int step = (S.Flags.Bits & Flags.DF) != 0 ? -sz : sz;
        uint srcBase = SegBaseOf(ins.MemorySegment);
        uint dstBase = S.SegBase[CpuState.ES];
        bool repe = ins.HasRepePrefix, repne = ins.HasRepnePrefix;
        if (Addr16Str(ins) || stepOne || segmented || SrcUnusable(ins) || NearTop(CpuState.ESI) || NearTop(CpuState.EDI)) { ExecStrGeneric(ins, sz, step); return; }
        uint m = MaskOf(sz);
        // ECX/ESI/EDI where the iterations got to, and EFLAGS by the vendor (FaultFlags)
        uint flagsBefore = repe || repne ? S.Flags.Get() : 0;
        while (true)
        {
            if ((repe || repne) && S.R[CpuState.ECX] == 0) return;
            uint b = ReadMem(S.R[CpuState.EDI] + dstBase, sz); // ES:EDI first, as the host CPU (see ExecStrGeneric)
            if (Faulted) { FaultFlags(repe || repne, flagsBefore); return; }
            uint a = ReadMem(S.R[CpuState.ESI] + srcBase, sz);
            if (Faulted) { FaultFlags(repe || repne, flagsBefore); return; }
            S.R[CpuState.ESI] += (uint)step; S.R[CpuState.EDI] += (uint)step;
            S.Flags.SetLazy(CcOp.Sub, sz, (a - b) & m, a, b);
            if (!(repe || repne)) return;
            S.R[CpuState.ECX]--;
            if (repe && a != b) return;
            if (repne && a == b) return;
        }
    }

    void ExecScas(in Instruction ins)
    {
        int sz = StrSize(ins);
        int step = (S.Flags.Bits & Flags.DF) != 0 ? -sz : sz;
        uint dstBase = S.SegBase[CpuState.ES];
        bool repe = ins.HasRepePrefix, repne = ins.HasRepnePrefix;
        if (Addr16Str(ins) || stepOne || segmented || NearTop(CpuState.EDI)) { ExecStrGeneric(ins, sz, step); return; }
        uint m = MaskOf(sz);
        uint acc = S.R[0] & m;
        uint flagsBefore = repe || repne ? S.Flags.Get() : 0; // see ExecCmps
        while (true)
        {
            if ((repe || repne) && S.R[CpuState.ECX] == 0) return;
            uint b = ReadMem(S.R[CpuState.EDI] + dstBase, sz);
            if (Faulted) { FaultFlags(repe || repne, flagsBefore); return; }
            S.R[CpuState.EDI] += (uint)step;
            S.Flags.SetLazy(CcOp.Sub, sz, (acc - b) & m, acc, b);
            if (!(repe || repne)) return;
            S.R[CpuState.ECX]--;
            if (repe && acc != b) return;
            if (repne && acc == b) return;
        }
    }

    /// <summary>String instructions the fast loops above leave alone: 16-bit address size (SI/DI/CX wrap at 64 KiB),
    /// the checked path (segment limits and types on every element) and TF set (one iteration per step: EIP stays
    /// on the instruction while iterations remain, so the single-step trap follows each one, SDM vol. 2 REP).</summary>
    void ExecStrGeneric(in Instruction ins, int sz, int step)
    {
        bool rep = ins.HasRepPrefix || ins.HasRepePrefix || ins.HasRepnePrefix;
        uint am = Addr16Str(ins) ? 0xFFFFu : ~0u;
        int srcSeg = SegIndex(ins.MemorySegment);
        uint m = MaskOf(sz);
        bool repCmp = ins.HasRepePrefix || ins.HasRepnePrefix;
        uint flagsBefore = repCmp ? S.Flags.Get() : 0; // see FaultFlags
        while (true)
        {
            if (rep && (S.R[1] & am) == 0) return;
            uint si = S.R[CpuState.ESI] & am, di = S.R[CpuState.EDI] & am;
            bool cmp = false; uint a = 0, b = 0;
            switch (ins.Mnemonic)
            {
                case Mnemonic.Movsb: case Mnemonic.Movsw: case Mnemonic.Movsd:
                {
                    uint v = ReadMem(StrAddr(srcSeg, si, sz, false), sz); if (Faulted) return;
                    uint d = StrAddr(CpuState.ES, di, sz, true); if (Faulted) return;
                    WriteMem(d, sz, v); if (Faulted) return;
                    si += (uint)step; di += (uint)step; break;
                }
                case Mnemonic.Stosb: case Mnemonic.Stosw: case Mnemonic.Stosd:
                {
                    uint d = StrAddr(CpuState.ES, di, sz, true); if (Faulted) return;
                    WriteMem(d, sz, S.R[0] & m); if (Faulted) return; di += (uint)step; break;
                }
                case Mnemonic.Lodsb: case Mnemonic.Lodsw: case Mnemonic.Lodsd:
                { uint v = ReadMem(StrAddr(srcSeg, si, sz, false), sz); if (Faulted) return; SetReg(sz == 1 ? Register.AL : sz == 2 ? Register.AX : Register.EAX, v); si += (uint)step; break; }
                case Mnemonic.Cmpsb: case Mnemonic.Cmpsw: case Mnemonic.Cmpsd:
                    // Which operand is read first is not architectural; the Intel host reads ES:(E)DI first, so a
                    // fault names that address when both would fault (tests/guests/cpu/sysinsn.c, part a16).
                    b = ReadMem(StrAddr(CpuState.ES, di, sz, false), sz); if (Faulted) { FaultFlags(repCmp, flagsBefore); return; }
                    a = ReadMem(StrAddr(srcSeg, si, sz, false), sz); if (Faulted) { FaultFlags(repCmp, flagsBefore); return; }
                    si += (uint)step; di += (uint)step; cmp = true; break;
                default:
                    a = S.R[0] & m; b = ReadMem(StrAddr(CpuState.ES, di, sz, false), sz); if (Faulted) { FaultFlags(repCmp, flagsBefore); return; }
                    di += (uint)step; cmp = true; break;
            }
            S.R[CpuState.ESI] = (S.R[CpuState.ESI] & ~am) | (si & am);
            S.R[CpuState.EDI] = (S.R[CpuState.EDI] & ~am) | (di & am);
            if (cmp) S.Flags.SetLazy(CcOp.Sub, sz, (a - b) & m, a, b);
            if (!rep) return;
            S.R[1] = (S.R[1] & ~am) | ((S.R[1] - 1) & am);
            if (cmp && ins.HasRepePrefix && a != b) return;
            if (cmp && ins.HasRepnePrefix && a == b) return;
            if ((S.R[1] & am) == 0) return;
            if (stepOne) { S.Eip = (uint)ins.IP; return; } // more to do: the trap comes first, then this again
        }
    }

    /// <summary>seg:off of one string element, with the segment checks on the checked path.</summary>
    uint StrAddr(int seg, uint off, int size, bool write)
    {
        if (!segmented)
        {
            if (off > 0xFFFFFFFCu && LimitWraps(off, size, seg == CpuState.SS)) return 0;
            return (S.SegAttr[seg] & AttrP) != 0 ? off + S.SegBase[seg] : NullAccess();
        }
        if (!SegCheck(seg, off, size, write)) return 0;
        return S.SegBase[seg] + off;
    }
}
