using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>Fast-path handler of a decoded instruction (Generic: the full Execute switch).</summary>
public enum UopKind : byte
{
    Generic,
    MovRR, MovRM, MovMR, MovRI, MovMI,
    AluRR, AluRM, AluMR, AluRI, AluMI,
    TestRR, TestRI, TestMR, TestMI,
    IncR, DecR,
    Jcc, Jmp, CallRel, Ret,
    Lea, PushR, PushI, PopR,
    MovzxR, MovzxM, MovsxR, MovsxM,
}

/// <summary>
/// Operand information of one decoded instruction, precomputed once when its block is decoded so the hot
/// path does not re-derive it from Iced's packed Instruction on every execution. Register codes: bits 0-2 the
/// register number (for 8-bit registers the 32-bit register holding it), bit 3 set for AH/CH/DH/BH.
/// Memory operands: linear address = Disp + R[Base] + (R[Index] &lt;&lt; Scale) + SegBase[Seg] (0xFF = absent).
/// Only 32-bit addressing is fast-pathed; everything unusual stays Generic.
/// </summary>
public struct Uop
{
    public UopKind Kind;
    public byte Size;   // operand size in bytes
    public byte Op;     // ALU operation (Add Or Adc Sbb And Sub Xor Cmp), condition code, or destination size
    public byte Rd, Rs;
    public byte Base, Index, Scale, Seg;
    /// <summary>The memory operand is SS-relative (its limit fault is #SS: Processor.LimitWraps).</summary>
    public bool Ss;
    /// <summary>Imm of a Generic uop: its instruction's index in Block.Generic.</summary>
    public uint Disp, Imm;
    /// <summary>A direct branch's target, kept in Disp (a branch has no memory operand): 24 bytes per uop, not 28.</summary>
    public uint Target { readonly get => Disp; set => Disp = value; }
    /// <summary>Address of the next instruction (the EIP the instruction executes with).</summary>
    public uint Next;
}

public sealed unsafe partial class Processor
{
    const byte NoReg = 0xFF;

    static byte RegCode(Register r)
    {
        int i = (int)r;
        return RegSize[i] == 1 && RegHigh8[i] ? (byte)(RegNum[i] | 8) : (byte)RegNum[i];
    }

    static bool IsGpr(Register r) => r != Register.None && RegNum[(int)r] >= 0 && RegSize[(int)r] != 0 && !r.IsSegmentRegister();

    /// <summary>COMPAT32_NOFAST=1 turns the fast path off (to measure it, and to cross-check it in tests).</summary>
    public static readonly bool FastPathDisabled = Environment.GetEnvironmentVariable("COMPAT32_NOFAST") == "1";

    /// <summary>Precompute the fast-path form of an instruction (Generic when it has none).</summary>
    internal static Uop BuildUop(in Instruction ins)
    {
        var u = new Uop { Kind = UopKind.Generic, Base = NoReg, Index = NoReg, Seg = NoReg, Next = (uint)ins.NextIP };
        if (ins.IsInvalid || ins.HasLockPrefix || FastPathDisabled) return u;
        // A CS override: a write through it faults (EffectiveAddress), a read is as rare; both run generic.
        if (ins.SegmentPrefix == Register.CS) return u;
        int ops = ins.OpCount;
        bool memOk = false;
        if (ins.Op0Kind == OpKind.Memory || (ops > 1 && ins.Op1Kind == OpKind.Memory))
        {
            var b = ins.MemoryBase; var x = ins.MemoryIndex;
            if (ins.MemoryDisplSize == 2) return u;
            if (b != Register.None && !(b.IsGPR32())) return u;
            if (x != Register.None && !(x.IsGPR32())) return u;
            u.Base = b == Register.None ? NoReg : (byte)RegNum[(int)b];
            u.Index = x == Register.None ? NoReg : (byte)RegNum[(int)x];
            u.Scale = (byte)System.Numerics.BitOperations.Log2((uint)ins.MemoryIndexScale);
            u.Disp = ins.MemoryDisplacement32;
            u.Seg = ins.MemorySegment switch { Register.FS => CpuState.FS, Register.GS => CpuState.GS, Register.ES => CpuState.ES, _ => NoReg };
            u.Ss = ins.MemorySegment == Register.SS;
            memOk = true;
        }
        var mn = ins.Mnemonic;
        switch (mn)
        {
            case Mnemonic.Mov:
            {
                if (ops != 2) return u;
                var k0 = ins.Op0Kind; var k1 = ins.Op1Kind;
                if (k0 == OpKind.Register)
                {
                    var r0 = ins.Op0Register;
                    if (!IsGpr(r0)) return u;
                    u.Rd = RegCode(r0); u.Size = (byte)RegSize[(int)r0];
                    if (k1 == OpKind.Register) { if (!IsGpr(ins.Op1Register)) return u; u.Rs = RegCode(ins.Op1Register); u.Kind = UopKind.MovRR; }
                    else if (k1 == OpKind.Memory) { if (!memOk) return u; u.Kind = UopKind.MovRM; }
                    else { u.Imm = (uint)ins.GetImmediate(1) & MaskOf(u.Size); u.Kind = UopKind.MovRI; }
                    return u;
                }
                if (k0 != OpKind.Memory || !memOk) return u;
                u.Size = (byte)ins.MemorySize.GetSize();
                if (u.Size is not (1 or 2 or 4)) { u.Kind = UopKind.Generic; return u; }
                if (k1 == OpKind.Register) { if (!IsGpr(ins.Op1Register)) return u; u.Rs = RegCode(ins.Op1Register); u.Kind = UopKind.MovMR; }
                else { u.Imm = (uint)ins.GetImmediate(1) & MaskOf(u.Size); u.Kind = UopKind.MovMI; }
                return u;
            }
            case Mnemonic.Add: case Mnemonic.Or: case Mnemonic.Adc: case Mnemonic.Sbb:
            case Mnemonic.And: case Mnemonic.Sub: case Mnemonic.Xor: case Mnemonic.Cmp:
            case Mnemonic.Test:
            {
                bool test = mn == Mnemonic.Test;
                u.Op = mn switch
                {
                    Mnemonic.Add => 0, Mnemonic.Or => 1, Mnemonic.Adc => 2, Mnemonic.Sbb => 3,
                    Mnemonic.And => 4, Mnemonic.Sub => 5, Mnemonic.Xor => 6, _ => 7,
                };
                var k0 = ins.Op0Kind; var k1 = ins.Op1Kind;
                if (k0 == OpKind.Register)
                {
                    if (!IsGpr(ins.Op0Register)) return u;
                    u.Rd = RegCode(ins.Op0Register); u.Size = (byte)RegSize[(int)ins.Op0Register];
                    if (k1 == OpKind.Register) { u.Rs = RegCode(ins.Op1Register); u.Kind = test ? UopKind.TestRR : UopKind.AluRR; }
                    else if (k1 == OpKind.Memory) { if (!memOk || test) return u; u.Kind = UopKind.AluRM; }
                    else { u.Imm = (uint)ins.GetImmediate(1) & MaskOf(u.Size); u.Kind = test ? UopKind.TestRI : UopKind.AluRI; }
                    return u;
                }
                if (k0 != OpKind.Memory || !memOk) return u;
                u.Size = (byte)ins.MemorySize.GetSize();
                if (u.Size is not (1 or 2 or 4)) return u;
                if (k1 == OpKind.Register) { u.Rs = RegCode(ins.Op1Register); u.Kind = test ? UopKind.TestMR : UopKind.AluMR; }
                else { u.Imm = (uint)ins.GetImmediate(1) & MaskOf(u.Size); u.Kind = test ? UopKind.TestMI : UopKind.AluMI; }
                return u;
            }
            case Mnemonic.Inc: case Mnemonic.Dec:
                if (ins.Op0Kind != OpKind.Register) return u;
                u.Rd = RegCode(ins.Op0Register); u.Size = (byte)RegSize[(int)ins.Op0Register];
                u.Kind = mn == Mnemonic.Inc ? UopKind.IncR : UopKind.DecR;
                return u;
            case Mnemonic.Jo: case Mnemonic.Jno: case Mnemonic.Jb: case Mnemonic.Jae:
            case Mnemonic.Je: case Mnemonic.Jne: case Mnemonic.Jbe: case Mnemonic.Ja:
            case Mnemonic.Js: case Mnemonic.Jns: case Mnemonic.Jp: case Mnemonic.Jnp:
            case Mnemonic.Jl: case Mnemonic.Jge: case Mnemonic.Jle: case Mnemonic.Jg:
                if (ins.Op0Kind != OpKind.NearBranch32) return u;
                u.Op = (byte)((int)ins.ConditionCode - 1); u.Target = ins.NearBranch32; u.Kind = UopKind.Jcc;
                return u;
            case Mnemonic.Jmp:
                if (ins.Op0Kind != OpKind.NearBranch32) return u;
                u.Target = ins.NearBranch32; u.Kind = UopKind.Jmp;
                return u;
            case Mnemonic.Call:
                if (ins.Op0Kind != OpKind.NearBranch32) return u;
                u.Target = ins.NearBranch32; u.Kind = UopKind.CallRel;
                return u;
            case Mnemonic.Ret:
                if (ins.Code is not (Code.Retnd or Code.Retnd_imm16)) return u;
                u.Imm = ins.OpCount > 0 ? ins.Immediate16 : 0u; u.Kind = UopKind.Ret;
                return u;
            case Mnemonic.Lea:
                if (!memOk || RegSize[(int)ins.Op0Register] != 4) return u;
                u.Rd = RegCode(ins.Op0Register); u.Seg = NoReg; u.Kind = UopKind.Lea;
                return u;
            case Mnemonic.Push:
                if (ins.StackPointerIncrement != -4) return u;
                if (ins.Op0Kind == OpKind.Register) { if (!IsGpr(ins.Op0Register)) return u; u.Rs = RegCode(ins.Op0Register); u.Kind = UopKind.PushR; }
                else if (ins.Op0Kind is OpKind.Immediate32 or OpKind.Immediate8to32) { u.Imm = (uint)ins.GetImmediate(0); u.Kind = UopKind.PushI; }
                return u;
            case Mnemonic.Pop:
                if (ins.StackPointerIncrement != 4 || ins.Op0Kind != OpKind.Register || !IsGpr(ins.Op0Register)) return u;
                u.Rd = RegCode(ins.Op0Register); u.Kind = UopKind.PopR;
                return u;
            case Mnemonic.Movzx: case Mnemonic.Movsx:
            {
                u.Rd = RegCode(ins.Op0Register); u.Op = (byte)RegSize[(int)ins.Op0Register];
                bool zx = mn == Mnemonic.Movzx;
                if (ins.Op1Kind == OpKind.Register)
                {
                    u.Rs = RegCode(ins.Op1Register); u.Size = (byte)RegSize[(int)ins.Op1Register];
                    u.Kind = zx ? UopKind.MovzxR : UopKind.MovsxR;
                }
                else if (memOk)
                {
                    u.Size = (byte)ins.MemorySize.GetSize();
                    u.Kind = zx ? UopKind.MovzxM : UopKind.MovsxM;
                }
                return u;
            }
        }
        return u;
    }

    // ------------------------------------------------------------------ fast operand access

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint RdReg(byte code, int size)
    {
        // Register codes are built from Iced's register numbers (0-7), so the bounds check can go.
        ref uint r0 = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(S.R);
        if (size == 4) return Unsafe.Add(ref r0, code);
        if (size == 2) return Unsafe.Add(ref r0, code) & 0xFFFF;
        return (Unsafe.Add(ref r0, code & 7) >> (code & 8)) & 0xFF;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WrReg(byte code, int size, uint v)
    {
        ref uint r0 = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(S.R);
        if (size == 4) Unsafe.Add(ref r0, code) = v;
        else if (size == 2) { ref uint r = ref Unsafe.Add(ref r0, code); r = (r & 0xFFFF0000u) | (v & 0xFFFF); }
        else
        {
            int sh = code & 8;
            ref uint r = ref Unsafe.Add(ref r0, code & 7);
            r = (r & ~(0xFFu << sh)) | ((v & 0xFF) << sh);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint Ea(ref Uop u)
    {
        uint a = u.Disp;
        ref uint r0 = ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(S.R);
        if (u.Base != NoReg) a += Unsafe.Add(ref r0, u.Base);
        if (u.Index != NoReg) a += Unsafe.Add(ref r0, u.Index) << u.Scale;
        if (a > 0xFFFFFFFCu && LimitWraps(a, u.Size, u.Ss)) return 0;
        if (u.Seg != NoReg) a = (S.SegAttr[u.Seg] & AttrP) != 0 ? a + S.SegBase[u.Seg] : NullAccess();
        return a;
    }

    /// <summary>ALU result and lazy flags, exactly as ExecAlu2 computes them; returns false for CMP (no write).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint AluCompute(Flags f, int op, uint a, uint b, uint m, out CcOp cc, out uint cin)
    {
        cin = 0;
        switch (op)
        {
            case 0: cc = CcOp.Add; return (a + b) & m;
            case 1: cc = CcOp.Logic; return a | b;
            case 2: cin = f.CFv ? 1u : 0u; cc = CcOp.Adc; return (a + b + cin) & m;
            case 3: cin = f.CFv ? 1u : 0u; cc = CcOp.Sbb; return (a - b - cin) & m;
            case 4: cc = CcOp.Logic; return a & b;
            case 5: cc = CcOp.Sub; return (a - b) & m;
            case 6: cc = CcOp.Logic; return a ^ b;
            default: cc = CcOp.Sub; return (a - b) & m;
        }
    }

    /// <summary>ExecFast as a call, for the run loop's single-step path (the common path inlines it).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    void ExecFastOne(ref Uop u) => ExecFast(ref u);

    /// <summary>Execute a fast-path instruction (same semantics as the Generic path for these forms).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void ExecFast(ref Uop u)
    {
        var f = S.Flags;
        int sz = u.Size;
        switch (u.Kind)
        {
            case UopKind.MovRR: WrReg(u.Rd, sz, RdReg(u.Rs, sz)); return;
            case UopKind.MovRI: WrReg(u.Rd, sz, u.Imm); return;
            case UopKind.MovRM: { uint v = ReadMem(Ea(ref u), sz); if (!Faulted) WrReg(u.Rd, sz, v); return; }
            case UopKind.MovMR: WriteMem(Ea(ref u), sz, RdReg(u.Rs, sz)); return;
            case UopKind.MovMI: WriteMem(Ea(ref u), sz, u.Imm); return;

            case UopKind.AluRR: case UopKind.AluRI: case UopKind.AluRM:
            {
                uint m = MaskOf(sz);
                uint a = RdReg(u.Rd, sz);
                uint b = u.Kind == UopKind.AluRR ? RdReg(u.Rs, sz) : u.Kind == UopKind.AluRI ? u.Imm : ReadMem(Ea(ref u), sz);
                if (Faulted) return;
                uint r = AluCompute(f, u.Op, a, b, m, out var cc, out var cin);
                if (u.Op != 7) WrReg(u.Rd, sz, r);
                f.CarryIn = cin;
                f.SetLazy(cc, sz, r, a, b);
                return;
            }
            case UopKind.AluMR: case UopKind.AluMI:
            {
                uint m = MaskOf(sz);
                uint addr = Ea(ref u);
                uint a = ReadMem(addr, sz);
                if (Faulted) return;
                uint b = u.Kind == UopKind.AluMR ? RdReg(u.Rs, sz) : u.Imm;
                uint r = AluCompute(f, u.Op, a, b, m, out var cc, out var cin);
                if (u.Op != 7) { WriteMem(addr, sz, r); if (Faulted) return; }
                f.CarryIn = cin;
                f.SetLazy(cc, sz, r, a, b);
                return;
            }
            case UopKind.TestRR: f.SetLazy(CcOp.Logic, sz, RdReg(u.Rd, sz) & RdReg(u.Rs, sz), 0, 0); return;
            case UopKind.TestRI: f.SetLazy(CcOp.Logic, sz, RdReg(u.Rd, sz) & u.Imm, 0, 0); return;
            case UopKind.TestMR: { uint a = ReadMem(Ea(ref u), sz); if (!Faulted) f.SetLazy(CcOp.Logic, sz, a & RdReg(u.Rs, sz), 0, 0); return; }
            case UopKind.TestMI: { uint a = ReadMem(Ea(ref u), sz); if (!Faulted) f.SetLazy(CcOp.Logic, sz, a & u.Imm, 0, 0); return; }

            case UopKind.IncR: case UopKind.DecR:
            {
                uint a = RdReg(u.Rd, sz);
                bool inc = u.Kind == UopKind.IncR;
                uint r = (inc ? a + 1 : a - 1) & MaskOf(sz);
                WrReg(u.Rd, sz, r);
                f.KeepCarry(); // INC/DEC leave CF alone
                f.SetLazy(inc ? CcOp.Inc : CcOp.Dec, sz, r, a, 1);
                return;
            }

            case UopKind.Jcc: if (f.Cond(u.Op)) S.Eip = u.Target; return;
            case UopKind.Jmp: S.Eip = u.Target; return;
            case UopKind.CallRel: Push32(S.Eip); if (!Faulted) S.Eip = u.Target; return;
            case UopKind.Ret:
            {
                uint t = Pop32();
                if (Faulted) return;
                S.R[CpuState.ESP] += u.Imm;
                S.Eip = t;
                return;
            }
            case UopKind.Lea:
            {
                uint a = u.Disp;
                if (u.Base != NoReg) a += S.R[u.Base];
                if (u.Index != NoReg) a += S.R[u.Index] << u.Scale;
                S.R[u.Rd] = a;
                return;
            }
            case UopKind.PushR: Push32(S.R[u.Rs]); return;
            case UopKind.PushI: Push32(u.Imm); return;
            case UopKind.PopR:
            {
                uint sp = S.R[CpuState.ESP];
                if (sp > 0xFFFFFFFCu && LimitWraps(sp, 4, true)) return;
                uint v = ReadU32(sp + S.SegBase[CpuState.SS]);
                if (Faulted) return;
                S.R[CpuState.ESP] = sp + 4;
                S.R[u.Rd] = v; // pop %esp loads the popped value
                return;
            }
            case UopKind.MovzxR: WrReg(u.Rd, u.Op, RdReg(u.Rs, sz)); return;
            case UopKind.MovsxR: { uint v = RdReg(u.Rs, sz); WrReg(u.Rd, u.Op, sz == 1 ? (uint)(sbyte)v : (uint)(short)v); return; }
            case UopKind.MovzxM: { uint v = ReadMem(Ea(ref u), sz); if (!Faulted) WrReg(u.Rd, u.Op, v); return; }
            case UopKind.MovsxM: { uint v = ReadMem(Ea(ref u), sz); if (!Faulted) WrReg(u.Rd, u.Op, sz == 1 ? (uint)(sbyte)v : (uint)(short)v); return; }
        }
    }
}
