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
                    if (size == 4 && Model.Vendor == CpuVendor.Intel)
                    {
                        // Recent Intel cores write only the low 16 bits of the 4-byte slot (SDM PUSH, which allows
                        // either); the AMD host writes the whole slot, the selector zero-extended (Push32 below).
                        uint sp4 = S.R[CpuState.ESP] - 4;
                        uint at = StackAddr(sp4, 4, true);
                        if (Faulted) return;
                        WriteU16(at, (ushort)sel);
                        if (!Faulted) SetSp(sp4);
                    }
                    else if (size == 4) Push32(sel);
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

    /// <summary>PUSHA/PUSHAD: the eight slots, each with the stack segment's checks; a fault leaves ESP as it was
    /// and the slots before it stored (what the host CPU does: tests/guests/cpu/sysinsn.c,
    /// tests/guests/fuzz).</summary>
    void ExecPusha(int size)
    {
        uint m = SpMask;
        uint sp = S.R[CpuState.ESP];
        // As the host CPU does it: slot by slot in push order (EAX first), each written when all of it can be; a
        // fault names the first slot that cannot be written, the slots before it stay written, ESP is unchanged
        // (measured on the host: a misaligned ESP near an unmapped page writes every whole slot above it). Each
        // slot gets the stack segment's checks.
        for (int i = 0; i < 8; i++)
        {
            uint at = StackAddr((sp - (uint)((i + 1) * size)) & m, size, true);
            if (Faulted || !ProbeWrite(at, size)) return;
            uint v = S.R[i];
            if (size == 4) WriteU32(at, v); else WriteU16(at, (ushort)v);
            if (Faulted) return;
        }
        SetSp(sp - (uint)(8 * size));
    }

    /// <summary>POPA/POPAD: EDI, ESI, EBP, (the stored ESP is skipped), EBX, EDX, ECX, EAX, loaded one after
    /// another; a fault (a limit, a page) leaves ESP as it was and the registers before it loaded, as the host CPU
    /// does.</summary>
    void ExecPopa(int size)
    {
        uint m = SpMask;
        uint sp = S.R[CpuState.ESP];
        for (int i = 7; i >= 0; i--)
        {
            if (i == CpuState.ESP) continue;
            uint at = StackAddr((sp + (uint)((7 - i) * size)) & m, size, false);
            if (Faulted) return;
            uint v = size == 4 ? ReadU32(at) : ReadU16(at);
            if (Faulted) return;
            S.R[i] = size == 4 ? v : (S.R[i] & 0xFFFF0000) | v;
        }
        SetSp(sp + (uint)(8 * size));
    }

    /// <summary>LEAVE (SDM vol. 2): (E)SP = (E)BP, then POP (E)BP by the operand size, through SS's checks; a fault
    /// changes nothing.</summary>
    void ExecLeave(in Instruction ins)
    {
        int os = ins.Code == Code.Leavew ? 2 : 4;
        uint m = SpMask;
        uint sp = S.R[CpuState.EBP] & m;
        uint at = StackAddr(sp, os, false);
        if (Faulted) return;
        uint v = os == 4 ? ReadU32(at) : ReadU16(at);
        if (Faulted) return;
        SetSp(sp + (uint)os);
        S.R[CpuState.EBP] = os == 4 ? v : (S.R[CpuState.EBP] & 0xFFFF0000) | v;
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

    /// <summary>ENTER imm16, imm8 (SDM vol. 2) by operand size (16/32) and stack size (SP/ESP): push (E)BP, copy
    /// level-1 frame pointers from [(E)BP - i], push the frame, then reserve imm16 bytes. As the host CPU does, the
    /// pushes are stored as they go and the new top of the stack is then checked for a write (a fault there names
    /// that address); any fault leaves ESP and EBP unchanged.</summary>
    void ExecEnter(in Instruction ins)
    {
        int os = ins.Code == Code.Enterw_imm16_imm8 ? 2 : 4;
        uint size = ins.Immediate16;
        int level = ins.Immediate8_2nd & 31;
        uint m = SpMask;
        uint sp = S.R[CpuState.ESP], bp = S.R[CpuState.EBP];
        if (!EnterPush(ref sp, bp, os, m)) return;
        uint frame = sp & m;
        if (level > 0)
        {
            for (int i = 1; i < level; i++)
            {
                bp -= (uint)os;
                uint at = StackAddr(bp & m, os, false);
                if (Faulted) return;
                uint v = os == 4 ? ReadU32(at) : ReadU16(at);
                if (Faulted || !EnterPush(ref sp, v, os, m)) return;
            }
            if (!EnterPush(ref sp, frame, os, m)) return;
        }
        sp -= size;
        uint top = StackAddr(sp & m, os, true);
        if (Faulted || !ProbeWrite(top, os)) return;
        S.R[CpuState.EBP] = os == 4 ? frame : (S.R[CpuState.EBP] & 0xFFFF0000) | (frame & 0xFFFF);
        SetSp(sp);
    }

    bool EnterPush(ref uint sp, uint v, int os, uint m)
    {
        sp -= (uint)os;
        uint at = StackAddr(sp & m, os, true);
        if (Faulted) return false;
        if (os == 4) WriteU32(at, v); else WriteU16(at, (ushort)v);
        return !Faulted;
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
