using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>Stack, control transfer and flag-register instructions.</summary>
public sealed unsafe partial class Processor
{
    void ExecPush(in Instruction ins)
    {
        int size = -ins.StackPointerIncrement;
        uint v;
        switch (ins.Op0Kind)
        {
            case OpKind.Register:
                if (ins.Op0Register.IsSegmentRegister())
                {
                    uint sel = S.Sel[ins.Op0Register.GetNumber()];
                    if (size == 4)
                    {
                        // Recent Intel cores write only the low 16 bits of the 4-byte slot (SDM PUSH).
                        uint sp4 = S.R[CpuState.ESP] - 4;
                        uint at = StackAddr(sp4, 4, true);
                        if (Faulted) return;
                        WriteU16(at, (ushort)sel);
                        if (!Faulted) SetSp(sp4);
                    }
                    else Push16((ushort)sel);
                    return;
                }
                v = GetReg(ins.Op0Register);
                break;
            case OpKind.Memory:
                v = ReadMem(EffectiveAddress(ins), size);
                if (Faulted) return;
                break;
            default:
                v = (uint)ins.GetImmediate(0);
                break;
        }
        if (size == 4) Push32(v); else Push16((ushort)v);
    }

    void ExecPop(in Instruction ins)
    {
        int size = ins.StackPointerIncrement;
        uint sp = S.R[CpuState.ESP];
        uint sa = StackAddr(sp, size, false);
        uint v = size == 4 ? ReadU32(sa) : ReadU16(sa);
        if (Faulted) return;
        if (segmented)
        {
            // A 16-bit stack moves SP only; POP m computes its address with the stack pointer already moved.
            uint m = SpMask;
            S.R[CpuState.ESP] = (sp & ~m) | ((sp + (uint)size) & m);
            if (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsSegmentRegister()) LoadSegment(ins.Op0Register, (ushort)v);
            else if (ins.Op0Kind == OpKind.Register) SetReg(ins.Op0Register, v);
            else WriteMem(EffectiveAddress(ins), size, v);
            if (Faulted) S.R[CpuState.ESP] = sp;
            return;
        }
        if (ins.Op0Kind == OpKind.Register)
        {
            var r = ins.Op0Register;
            if (r.IsSegmentRegister())
            {
                LoadSegment(r, (ushort)v);
                if (!Faulted) S.R[CpuState.ESP] = sp + (uint)size;
                return;
            }
            S.R[CpuState.ESP] = sp + (uint)size;
            SetReg(r, v); // pop %esp loads the popped value
            return;
        }
        // POP m: the address is computed with ESP already incremented (SDM POP).
        S.R[CpuState.ESP] = sp + (uint)size;
        uint a = EffectiveAddress(ins);
        WriteMem(a, size, v);
        if (Faulted) S.R[CpuState.ESP] = sp;
    }

    void ExecPusha(int size)
    {
        uint sp = S.R[CpuState.ESP];
        uint ss = S.SegBase[CpuState.SS];
        uint n = (uint)(8 * size);
        // As the host CPU does it: the 32 bytes go out as two 16-byte stores, the upper (EAX..EBX) first, each written
        // only when all of it can be; a fault names the first slot in push order that cannot be written (the
        // instruction fuzzer found compat32 naming the lowest one, and writing nothing).
        for (int half = 0; half < 8; half += 4)
        {
            for (int i = half; i < half + 4; i++)
                if (!ProbeWrite(sp - (uint)((i + 1) * size) + ss, size)) return;
            for (int i = half; i < half + 4; i++)
            {
                uint v = S.R[i];
                uint at = sp - (uint)((i + 1) * size) + ss;
                if (size == 4) WriteU32(at, v); else WriteU16(at, (ushort)v);
            }
        }
        S.R[CpuState.ESP] = sp - n;
    }

    void ExecPopa(int size)
    {
        uint sp = S.R[CpuState.ESP];
        uint ss = S.SegBase[CpuState.SS];
        Span<uint> vals = stackalloc uint[8];
        // in pop order (EDI at ESP first), so a fault names the first slot that cannot be read, as on the host CPU
        for (int i = 7; i >= 0; i--)
        {
            uint at = sp + (uint)((7 - i) * size) + ss;
            vals[i] = size == 4 ? ReadU32(at) : ReadU16(at);
            if (Faulted) return;
        }
        for (int i = 0; i < 8; i++)
        {
            if (i == CpuState.ESP) continue; // the stored ESP is discarded
            if (size == 4) S.R[i] = vals[i]; else S.R[i] = (S.R[i] & 0xFFFF0000) | (vals[i] & 0xFFFF);
        }
        S.R[CpuState.ESP] = sp + (uint)(8 * size);
    }

    /// <summary>POPF at CPL 3, IOPL 0: IF and IOPL are silently kept; VM, RF and VIF/VIP unchanged (SDM POPF).</summary>
    void WriteFlagsPopf(uint v, int size)
    {
        const uint changeable = Flags.CF | Flags.PF | Flags.AF | Flags.ZF | Flags.SF | Flags.TF | Flags.DF | Flags.OF
                              | Flags.NT | Flags.AC | Flags.ID;
        uint mask = size == 2 ? changeable & 0xFFFF : changeable;
        uint f = S.Flags.Get();
        S.Flags.Set((f & ~mask) | (v & mask));
        stopBlock = true; // TF may have changed
    }

    void ExecJmp(in Instruction ins)
    {
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch32: case OpKind.NearBranch16: Branch(ins.NearBranch32, ins); break;
            case OpKind.Register: S.Eip = GetReg(ins.Op0Register); break;
            case OpKind.Memory:
                if (ins.IsJmpFarIndirect) { FarTransfer(ins, call: false); break; }
                uint t = ReadMem(EffectiveAddress(ins), ins.MemorySize.GetSize());
                if (!Faulted) S.Eip = t;
                break;
            case OpKind.FarBranch32: case OpKind.FarBranch16:
                FarJump(ins.FarBranchSelector, ins.Op0Kind == OpKind.FarBranch32 ? ins.FarBranch32 : ins.FarBranch16, false, 0, ins.Op0Kind == OpKind.FarBranch32 ? 4 : 2);
                break;
            default: RaiseUD(); break;
        }
    }

    void ExecCall(in Instruction ins)
    {
        uint next = S.Eip;
        switch (ins.Op0Kind)
        {
            case OpKind.NearBranch32: case OpKind.NearBranch16:
                if (ins.Op0Kind == OpKind.NearBranch16) Push16((ushort)next); else Push32(next);
                if (!Faulted) Branch(ins.NearBranch32, ins);
                break;
            case OpKind.Register:
            {
                uint t = GetReg(ins.Op0Register);
                if (ins.StackPointerIncrement == -2) Push16((ushort)next); else Push32(next);
                if (!Faulted) S.Eip = t;
                break;
            }
            case OpKind.Memory:
            {
                if (ins.IsCallFarIndirect) { FarTransfer(ins, call: true); break; }
                uint t = ReadMem(EffectiveAddress(ins), ins.MemorySize.GetSize());
                if (Faulted) break;
                if (ins.StackPointerIncrement == -2) Push16((ushort)next); else Push32(next);
                if (!Faulted) S.Eip = t;
                break;
            }
            case OpKind.FarBranch32: case OpKind.FarBranch16:
                FarJump(ins.FarBranchSelector, ins.Op0Kind == OpKind.FarBranch32 ? ins.FarBranch32 : ins.FarBranch16, true, next, ins.Op0Kind == OpKind.FarBranch32 ? 4 : 2);
                break;
            default: RaiseUD(); break;
        }
    }

    void ExecRet(in Instruction ins)
    {
        if (ins.Code is Code.Retfd or Code.Retfd_imm16 or Code.Retfw or Code.Retfw_imm16) { FarReturn(ins); return; }
        bool w16 = ins.Code is Code.Retnw or Code.Retnw_imm16;
        uint t = w16 ? Pop16() : Pop32();
        if (Faulted) return;
        if (ins.OpCount > 0) S.R[CpuState.ESP] += ins.Immediate16;
        S.Eip = t;
    }

    void ExecEnter(in Instruction ins)
    {
        uint size = ins.Immediate16;
        int level = ins.Immediate8_2nd & 31;
        uint ss = S.SegBase[CpuState.SS];
        uint sp = S.R[CpuState.ESP];
        uint bp = S.R[CpuState.EBP];
        uint need = (uint)(4 * (level + 1));
        if (!ProbeWrite(sp - need + ss, (int)need)) return;
        sp -= 4; WriteU32(sp + ss, bp);
        uint frame = sp;
        if (level > 0)
        {
            for (int i = 1; i < level; i++)
            {
                bp -= 4;
                uint v = ReadU32(bp + ss);
                if (Faulted) return;
                sp -= 4; WriteU32(sp + ss, v);
            }
            sp -= 4; WriteU32(sp + ss, frame);
        }
        S.R[CpuState.EBP] = frame;
        S.R[CpuState.ESP] = sp - size;
    }

    void ExecLoop(in Instruction ins)
    {
        bool a16 = ins.Code is Code.Loop_rel8_16_CX or Code.Loope_rel8_16_CX or Code.Loopne_rel8_16_CX
            or Code.Loop_rel8_32_CX or Code.Loope_rel8_32_CX or Code.Loopne_rel8_32_CX;
        uint c;
        if (a16) { c = (S.R[1] - 1) & 0xFFFF; S.R[1] = (S.R[1] & 0xFFFF0000) | c; }
        else { c = S.R[1] - 1; S.R[1] = c; }
        bool take = c != 0;
        if (ins.Mnemonic == Mnemonic.Loope) take &= S.Flags.ZFv;
        else if (ins.Mnemonic == Mnemonic.Loopne) take &= !S.Flags.ZFv;
        if (take) Branch(ins.NearBranch32, ins);
    }

    /// <summary>INT n from user mode: the IDT gate's DPL decides. Linux makes only #BP (3), #OF (4) and
    /// IA32_SYSCALL_VECTOR (0x80) DPL 3 (arch/x86/kernel/idt.c); other vectors take #GP(vector*8+2).</summary>
    void ExecInt(byte n)
    {
        switch (n)
        {
            case 0x80:
                if (Exit != CpuExit.None) return;
                Exit = CpuExit.SoftInt; Vector = 0x80; stopBlock = true;
                break;
            case 3: RaiseTrap(Vec.BP); break;
            case 4: RaiseTrap(Vec.OF); break;
            default: RaiseGP((uint)n * 8 + 2); break;
        }
    }

    void ExecBound(in Instruction ins)
    {
        int sz = Size0(ins);
        uint a = EffectiveAddress(ins);
        int idx, lo, hi;
        if (sz == 4) { idx = (int)GetReg(ins.Op0Register); lo = (int)ReadU32(a); hi = (int)ReadU32(a + 4); }
        else { idx = (short)GetReg(ins.Op0Register); lo = (short)ReadU16(a); hi = (short)ReadU16(a + 2); }
        if (Faulted) return;
        if (idx < lo || idx > hi) RaiseFault(Vec.BR);
    }
}
