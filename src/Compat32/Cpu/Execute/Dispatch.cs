using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Compat32.Cpu;

public sealed unsafe partial class Processor
{
    /// <summary>Execute one decoded instruction; EIP already points past it.</summary>
    void Execute(ref Instruction ins)
    {
        if (ins.HasLockPrefix && ExecLocked(ins)) return;
        switch (ins.Mnemonic)
        {
            // ---- data movement
            case Mnemonic.Mov: ExecMov(ins); break;
            case Mnemonic.Movzx:
            {
                int ss = OpSize(ins, 1);
                uint v = ReadOp(ins, 1, ss);
                if (!Faulted) SetReg(ins.Op0Register, v);
                break;
            }
            case Mnemonic.Movsx:
            {
                int ss = OpSize(ins, 1);
                uint v = ReadOp(ins, 1, ss);
                if (Faulted) break;
                v = ss == 1 ? (uint)(sbyte)v : (uint)(short)v;
                SetReg(ins.Op0Register, v);
                break;
            }
            case Mnemonic.Lea:
            {
                uint a = ins.MemoryDisplacement32;
                if (ins.MemoryBase != Register.None) a += GetReg(ins.MemoryBase);
                if (ins.MemoryIndex != Register.None) a += GetReg(ins.MemoryIndex) * (uint)ins.MemoryIndexScale;
                if (ins.MemoryDisplSize == 2 || RegSize[(int)ins.MemoryBase] == 2 || RegSize[(int)ins.MemoryIndex] == 2) a &= 0xFFFF;
                SetReg(ins.Op0Register, a);
                break;
            }
            case Mnemonic.Xchg: ExecXchg(ins); break;
            case Mnemonic.Push: ExecPush(ins); break;
            case Mnemonic.Pop: ExecPop(ins); break;
            case Mnemonic.Pushad: ExecPusha(4); break;
            case Mnemonic.Pusha: ExecPusha(2); break;
            case Mnemonic.Popad: ExecPopa(4); break;
            case Mnemonic.Popa: ExecPopa(2); break;
            case Mnemonic.Pushfd: Push32(S.Flags.Get() & ~(Flags.VM | Flags.RF)); break;
            case Mnemonic.Pushf: Push16((ushort)S.Flags.Get()); break;
            case Mnemonic.Popfd: { uint v = Pop32(); if (!Faulted) WriteFlagsPopf(v, 4); break; }
            case Mnemonic.Popf: { uint v = Pop16(); if (!Faulted) WriteFlagsPopf(v, 2); break; }
            case Mnemonic.Cbw: SetReg(Register.AX, (uint)(sbyte)S.R[0]); break;
            case Mnemonic.Cwde: S.R[0] = (uint)(short)S.R[0]; break;
            case Mnemonic.Cwd: SetReg(Register.DX, (S.R[0] & 0x8000) != 0 ? 0xFFFFu : 0); break;
            case Mnemonic.Cdq: S.R[2] = (S.R[0] & 0x80000000) != 0 ? 0xFFFFFFFFu : 0; break;
            case Mnemonic.Lahf: S.R[0] = (S.R[0] & 0xFFFF00FF) | ((S.Flags.Get() & 0xFF) << 8); break;
            case Mnemonic.Sahf:
            {
                uint f = S.Flags.Get();
                const uint m = Flags.SF | Flags.ZF | Flags.AF | Flags.PF | Flags.CF;
                S.Flags.Set((f & ~m) | ((S.R[0] >> 8) & m));
                break;
            }
            case Mnemonic.Bswap:
            {
                uint v = GetReg(ins.Op0Register);
                if (RegSize[(int)ins.Op0Register] == 4) SetReg(ins.Op0Register, System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v));
                else SetReg(ins.Op0Register, 0); // BSWAP r16 is undefined; hardware gives 0
                break;
            }
            case Mnemonic.Xlatb:
            {
                uint off = S.R[CpuState.EBX] + (S.R[0] & 0xFF);
                if (ins.MemoryBase == Register.BX) off &= 0xFFFF; // 67 prefix: BX + AL
                byte v = ReadU8(StrAddr(SegIndex(ins.MemorySegment), off, 1, false));
                if (!Faulted) S.R[0] = (S.R[0] & 0xFFFFFF00) | v;
                break;
            }
            case Mnemonic.Cmovo: case Mnemonic.Cmovno: case Mnemonic.Cmovb: case Mnemonic.Cmovae:
            case Mnemonic.Cmove: case Mnemonic.Cmovne: case Mnemonic.Cmovbe: case Mnemonic.Cmova:
            case Mnemonic.Cmovs: case Mnemonic.Cmovns: case Mnemonic.Cmovp: case Mnemonic.Cmovnp:
            case Mnemonic.Cmovl: case Mnemonic.Cmovge: case Mnemonic.Cmovle: case Mnemonic.Cmovg:
            {
                int sz = Size0(ins);
                uint v = ReadOp(ins, 1, sz); // the source is read (and may fault) even if false
                if (Faulted) break;
                if (S.Flags.Cond((int)ins.ConditionCode - 1)) SetReg(ins.Op0Register, v);
                else if (sz == 4) SetReg(ins.Op0Register, GetReg(ins.Op0Register));
                break;
            }
            case Mnemonic.Seto: case Mnemonic.Setno: case Mnemonic.Setb: case Mnemonic.Setae:
            case Mnemonic.Sete: case Mnemonic.Setne: case Mnemonic.Setbe: case Mnemonic.Seta:
            case Mnemonic.Sets: case Mnemonic.Setns: case Mnemonic.Setp: case Mnemonic.Setnp:
            case Mnemonic.Setl: case Mnemonic.Setge: case Mnemonic.Setle: case Mnemonic.Setg:
                WriteOp0(ins, 1, S.Flags.Cond((int)ins.ConditionCode - 1) ? 1u : 0u);
                break;

            // ---- arithmetic
            case Mnemonic.Add: case Mnemonic.Or: case Mnemonic.Adc: case Mnemonic.Sbb:
            case Mnemonic.And: case Mnemonic.Sub: case Mnemonic.Xor: case Mnemonic.Cmp:
                ExecAlu2(ins);
                break;
            case Mnemonic.Test:
            {
                int sz = Size0(ins);
                uint a = ReadOp(ins, 0, sz), b = ReadOp(ins, 1, sz);
                if (Faulted) break;
                S.Flags.SetLazy(CcOp.Logic, sz, a & b, 0, 0);
                break;
            }
            case Mnemonic.Inc: case Mnemonic.Dec: ExecIncDec(ins); break;
            case Mnemonic.Neg:
            {
                int sz = Size0(ins);
                uint a = ReadOp(ins, 0, sz);
                if (Faulted) break;
                uint r = 0 - a;
                WriteOp0(ins, sz, r);
                if (!Faulted) S.Flags.SetLazy(CcOp.Sub, sz, r, 0, a);
                break;
            }
            case Mnemonic.Not:
            {
                int sz = Size0(ins);
                uint a = ReadOp(ins, 0, sz);
                if (!Faulted) WriteOp0(ins, sz, ~a);
                break;
            }
            case Mnemonic.Mul: ExecMul(ins); break;
            case Mnemonic.Imul: ExecImul(ins); break;
            case Mnemonic.Div: ExecDiv(ins); break;
            case Mnemonic.Idiv: ExecIdiv(ins); break;
            case Mnemonic.Rol: case Mnemonic.Ror: case Mnemonic.Rcl: case Mnemonic.Rcr:
            case Mnemonic.Shl: case Mnemonic.Sal: case Mnemonic.Shr: case Mnemonic.Sar:
                ExecShift(ins);
                break;
            case Mnemonic.Shld: case Mnemonic.Shrd: ExecShiftDouble(ins); break;
            case Mnemonic.Bt: case Mnemonic.Bts: case Mnemonic.Btr: case Mnemonic.Btc: ExecBt(ins); break;
            case Mnemonic.Bsf: case Mnemonic.Bsr: ExecBitScan(ins); break;
            case Mnemonic.Tzcnt: case Mnemonic.Lzcnt: ExecSimd(ref ins); break; // BSF/BSR where the model lacks BMI1/ABM
            case Mnemonic.Xadd: ExecXadd(ins); break;
            case Mnemonic.Cmpxchg: ExecCmpxchg(ins); break;
            case Mnemonic.Cmpxchg8b: ExecCmpxchg8b(ins); break;
            case Mnemonic.Daa: case Mnemonic.Das: case Mnemonic.Aaa: case Mnemonic.Aas:
            case Mnemonic.Aam: case Mnemonic.Aad:
                ExecBcd(ins);
                break;
            case Mnemonic.Salc: S.R[0] = (S.R[0] & 0xFFFFFF00) | (S.Flags.CFv ? 0xFFu : 0u); break;

            // ---- flags
            case Mnemonic.Clc: S.Flags.SetBit(Flags.CF, false); break;
            case Mnemonic.Stc: S.Flags.SetBit(Flags.CF, true); break;
            case Mnemonic.Cmc: S.Flags.SetBit(Flags.CF, !S.Flags.CFv); break;
            case Mnemonic.Cld: S.Flags.Bits &= ~Flags.DF; break;
            case Mnemonic.Std: S.Flags.Bits |= Flags.DF; break;
            case Mnemonic.Cli: case Mnemonic.Sti:
                // IOPL is 0 for user processes: #GP (SDM CLI/STI, protected mode, CPL > IOPL).
                RaiseGP();
                break;

            // ---- strings
            case Mnemonic.Movsb: case Mnemonic.Movsw: case Mnemonic.Movsd:
                if (ins.Code is Code.Movsb_m8_m8 or Code.Movsw_m16_m16 or Code.Movsd_m32_m32) ExecMovs(ins);
                else if (!ExecSimd(ref ins)) RaiseUD(); // SSE2 MOVSD
                break;
            case Mnemonic.Stosb: case Mnemonic.Stosw: case Mnemonic.Stosd: ExecStos(ins); break;
            case Mnemonic.Lodsb: case Mnemonic.Lodsw: case Mnemonic.Lodsd: ExecLods(ins); break;
            case Mnemonic.Cmpsb: case Mnemonic.Cmpsw: case Mnemonic.Cmpsd:
                if (ins.Code is Code.Cmpsb_m8_m8 or Code.Cmpsw_m16_m16 or Code.Cmpsd_m32_m32) ExecCmps(ins);
                else if (!ExecSimd(ref ins)) RaiseUD(); // SSE2 CMPSD
                break;
            case Mnemonic.Scasb: case Mnemonic.Scasw: case Mnemonic.Scasd: ExecScas(ins); break;

            // ---- control transfer
            case Mnemonic.Jmp: ExecJmp(ins); break;
            case Mnemonic.Jo: case Mnemonic.Jno: case Mnemonic.Jb: case Mnemonic.Jae:
            case Mnemonic.Je: case Mnemonic.Jne: case Mnemonic.Jbe: case Mnemonic.Ja:
            case Mnemonic.Js: case Mnemonic.Jns: case Mnemonic.Jp: case Mnemonic.Jnp:
            case Mnemonic.Jl: case Mnemonic.Jge: case Mnemonic.Jle: case Mnemonic.Jg:
                if (S.Flags.Cond((int)ins.ConditionCode - 1)) Branch(ins.NearBranch32, ins);
                break;
            case Mnemonic.Jecxz: if (S.R[1] == 0) Branch(ins.NearBranch32, ins); break;
            case Mnemonic.Jcxz: if ((S.R[1] & 0xFFFF) == 0) Branch(ins.NearBranch32, ins); break;
            case Mnemonic.Loop: case Mnemonic.Loope: case Mnemonic.Loopne: ExecLoop(ins); break;
            case Mnemonic.Call: ExecCall(ins); break;
            case Mnemonic.Ret: ExecRet(ins); break;
            case Mnemonic.Retf: FarReturn(ins); break;
            case Mnemonic.Enter: ExecEnter(ins); break;
            case Mnemonic.Leave: ExecLeave(ins); break; // a 66 prefix pops BP (found by the instruction fuzzer too)
            case Mnemonic.Int: ExecInt((byte)ins.Immediate8); break;
            case Mnemonic.Int3: RaiseTrap(Vec.BP); break;
            case Mnemonic.Into: if (S.Flags.OFv) RaiseTrap(Vec.OF); break;
            case Mnemonic.Int1: RaiseTrap(Vec.DB); break;
            case Mnemonic.Iretd: case Mnemonic.Iret: ExecIret(ins.Mnemonic == Mnemonic.Iretd ? 4 : 2); break;
            case Mnemonic.Bound: ExecBound(ins); break;

            // ---- system
            case Mnemonic.Nop: case Mnemonic.Pause: case Mnemonic.Endbr32: case Mnemonic.Endbr64:
            case Mnemonic.Prefetchnta: case Mnemonic.Prefetcht0: case Mnemonic.Prefetcht1: case Mnemonic.Prefetcht2:
            case Mnemonic.Prefetchw:
                break;
            case Mnemonic.Cpuid: ExecCpuid(); break;
            case Mnemonic.Rdtsc: { ulong t = ReadTsc(); S.R[0] = (uint)t; S.R[2] = (uint)(t >> 32); break; }
            case Mnemonic.Sysenter: ExecSysenter(); break;
            case Mnemonic.Syscall: ExecSyscall(); break;
            case Mnemonic.Sysexit: case Mnemonic.Sysret: case Mnemonic.Hlt:
            case Mnemonic.Lgdt: case Mnemonic.Lidt: case Mnemonic.Lldt: case Mnemonic.Ltr:
            case Mnemonic.Invd: case Mnemonic.Wbinvd: case Mnemonic.Rdmsr: case Mnemonic.Wrmsr:
            case Mnemonic.In: case Mnemonic.Out: case Mnemonic.Insb: case Mnemonic.Insw: case Mnemonic.Insd:
            case Mnemonic.Outsb: case Mnemonic.Outsw: case Mnemonic.Outsd: case Mnemonic.Clts: case Mnemonic.Invlpg:
            case Mnemonic.Lmsw:
                // Privileged (or IOPL-sensitive with IOPL 0): #GP(0) at CPL 3.
                RaiseGP();
                break;
            case Mnemonic.Ud0: case Mnemonic.Ud1: case Mnemonic.Ud2: RaiseUD(); break;
            case Mnemonic.Smsw: case Mnemonic.Sgdt: case Mnemonic.Sidt: case Mnemonic.Sldt: case Mnemonic.Str:
                // With CR4.UMIP they fault at CPL 3 (the kernel may emulate them); else they store the registers.
                if (S.Cr4Umip && S.Cpl > 0) RaiseGP();
                else ExecDescriptorStore(ins);
                break;
            case Mnemonic.Arpl: ExecArpl(ins); break;

            // ---- segments
            case Mnemonic.Lar: case Mnemonic.Lsl: case Mnemonic.Verr: case Mnemonic.Verw: ExecSegInfo(ins); break;
            case Mnemonic.Lfs: case Mnemonic.Lgs: case Mnemonic.Les: case Mnemonic.Lds: case Mnemonic.Lss: ExecLoadFarPointer(ins); break;

            default:
                if (ins.IsInvalid) { RaiseUD(); break; }
                if (IsHintNop(ins))
                {
                    if (PrefetchRegisterUD(ins)) RaiseUD();
                    break;
                }
                if (!ExecuteExtended(ref ins)) RaiseUD();
                break;
        }
    }

    /// <summary>The hint-NOP space 0F 0D and 0F 18-0F 1F (SDM vol. 2 "NOP", "PREFETCHh", "Reserved NOP"; APM vol. 3
    /// PREFETCH): with any prefix, register or memory operand, these do nothing and touch no memory on the parts
    /// modelled (their MPX, CET, CLDEMOTE meanings are NOPs while those are off or absent). Checked natively on an
    /// Intel host: every form runs; on AMD all but 0F 0D with a register operand (PrefetchRegisterUD). Iced names every
    /// form there (but NOP, ENDBR and the prefetches the switch takes first) one of these mnemonics: IcedCountsTests
    /// checks that against Iced's opcode tables, which take about 2 MB and milliseconds to build at run time.</summary>
    internal static bool IsHintNop(in Instruction ins) => ins.Mnemonic is Mnemonic.Reservednop or Mnemonic.Prefetch
        or Mnemonic.Prefetchwt1 or Mnemonic.Prefetchit0 or Mnemonic.Prefetchit1 or Mnemonic.Cldemote
        or Mnemonic.Rdsspd or Mnemonic.Rdsspq or Mnemonic.Bndldx or Mnemonic.Bndstx or Mnemonic.Bndmov
        or Mnemonic.Bndcl or Mnemonic.Bndcu or Mnemonic.Bndcn or Mnemonic.Bndmk;

    /// <summary>0F 0D (the PREFETCH/PREFETCHW group) with a register operand on the amd model: AMD defines only the
    /// memory form ("use of the register form results in an invalid opcode exception", 3DNow! Technology Manual,
    /// PREFETCH/PREFETCHW), and the AMD host raises #UD for every /r with any prefix; the Intel host runs it as a NOP.</summary>
    bool PrefetchRegisterUD(in Instruction ins) => Model.Vendor == CpuVendor.Amd && ins.Op0Kind == OpKind.Register
        && ins.Code is Code.Reservednop_rm16_r16_0F0D or Code.Reservednop_rm32_r32_0F0D;

    /// <summary>Groups that live in other files (x87, Simd). Returns false for an unimplemented op (#UD).</summary>
    bool ExecuteExtended(ref Instruction ins)
    {
        if (X87Hook != null && X87Hook(this, ins)) return true;
        return ExecSimd(ref ins);
    }

    /// <summary>The x87 unit plugs in here (Cpu/X87): true when it executed the instruction.</summary>
    public static X87Executor? X87Hook;
    public delegate bool X87Executor(Processor cpu, in Instruction ins);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint SegBaseOf(Register seg) => seg switch
    {
        Register.FS => S.SegBase[CpuState.FS],
        Register.GS => S.SegBase[CpuState.GS],
        Register.ES => S.SegBase[CpuState.ES],
        Register.CS => S.SegBase[CpuState.CS],
        Register.SS => S.SegBase[CpuState.SS],
        _ => S.SegBase[CpuState.DS],
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Branch(uint target, in Instruction ins)
    {
        if (ins.CodeSize == CodeSize.Code32 && ins.Op0Kind == OpKind.NearBranch16) target &= 0xFFFF;
        S.Eip = target;
    }

    public ulong ReadTsc() => TscSource != null ? TscSource() : (ulong)System.Diagnostics.Stopwatch.GetTimestamp();
}
