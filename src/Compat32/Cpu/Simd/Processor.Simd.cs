using System.Runtime.CompilerServices;
using Compat32.Cpu.Simd;
using Compat32.Cpu.X87;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// MMX, SSE .. SSE4.2, AES-NI, PCLMULQDQ and the scalar extras (POPCNT, LZCNT, MOVBE, CRC32): operand access,
/// feature checks (#UD when the model's CPUID lacks the instruction's feature), 16-byte alignment (#GP), MXCSR
/// exceptions (#XM when unmasked, no result written) and the MMX/x87 aliasing. Nothing allocates per instruction.
/// </summary>
public sealed unsafe partial class Processor
{
    CpuFeature feat;
    bool featInit;

    CpuFeature Features
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!featInit) { feat = Model.Effective; featInit = true; }
            return feat;
        }
    }

    internal const CpuFeature Unsupported = (CpuFeature)(1UL << 63);

    /// <summary>The feature each Code needs, from Iced's CPUID table; features no model has map to Unsupported.</summary>
    internal static readonly CpuFeature[] SimdNeed = BuildNeed();

    static CpuFeature[] BuildNeed()
    {
        var t = new CpuFeature[IcedCounts.Code + 1];
        for (int ci = 0; ci < IcedCounts.Code; ci++)
        {
            var c = (Code)ci;
            CpuFeature need = 0;
            foreach (var f in c.CpuidFeatures())
            {
                need |= f switch
                {
                    CpuidFeature.MMX => CpuFeature.Mmx,
                    CpuidFeature.SSE => CpuFeature.Sse,
                    CpuidFeature.SSE2 => CpuFeature.Sse2,
                    CpuidFeature.SSE3 => CpuFeature.Sse3,
                    CpuidFeature.SSSE3 => CpuFeature.Ssse3,
                    CpuidFeature.SSE4_1 => CpuFeature.Sse41,
                    CpuidFeature.SSE4_2 => CpuFeature.Sse42,
                    CpuidFeature.POPCNT => CpuFeature.Popcnt,
                    CpuidFeature.MOVBE => CpuFeature.Movbe,
                    CpuidFeature.AES => CpuFeature.Aes,
                    CpuidFeature.PCLMULQDQ => CpuFeature.Pclmulqdq,
                    CpuidFeature.LZCNT => CpuFeature.Abm,
                    CpuidFeature.CLFSH => CpuFeature.Clflush,
                    CpuidFeature.FXSR => CpuFeature.Fxsr,
                    CpuidFeature.INTEL8086 or CpuidFeature.INTEL186 or CpuidFeature.INTEL286 or CpuidFeature.INTEL386
                        or CpuidFeature.INTEL486 or CpuidFeature.FPU or CpuidFeature.FPU287 or CpuidFeature.FPU387
                        or CpuidFeature.CMOV or CpuidFeature.CX8 or CpuidFeature.TSC or CpuidFeature.PAUSE
                        or CpuidFeature.MULTIBYTENOP => 0,
                    _ => Unsupported,
                };
            }
            t[(int)c] = need;
        }
        return t;
    }

    // ------------------------------------------------------------------ register access

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IsXmm(Register r) => r >= Register.XMM0 && r <= Register.XMM7;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IsMm(Register r) => r >= Register.MM0 && r <= Register.MM7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    ref X128 Xr(Register r) => ref S.Simd.Xmm(r - Register.XMM0);

    ulong GetMm(Register r) => S.Fpu.Regs[r - Register.MM0].Signif;

    /// <summary>An MMX write: the significand, exponent and sign all ones (SDM 9.5.1).</summary>
    void SetMm(Register r, ulong v) => S.Fpu.Regs[r - Register.MM0] = new Float80(0xFFFF, v);

    /// <summary>Every MMX instruction but EMMS: #MF when an x87 exception is pending, then TOP = 0 and every tag
    /// valid (SDM 9.5.1, table 9-2).</summary>
    bool MmxEnter()
    {
        var f = S.Fpu;
        if ((f.Status & 0x80) != 0) { RaiseFault(Vec.MF); return false; }
        f.Top = 0;
        f.Empty = 0;
        return true;
    }

    static bool UsesMm(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
            if (ins.GetOpKind(i) == OpKind.Register && IsMm(ins.GetOpRegister(i))) return true;
        return false;
    }

    /// <summary>Legacy-SSE 16-byte memory operands must be 16-byte aligned except for these (SDM 11.6.8, 12.10.3).</summary>
    internal static bool AlignmentFree(Mnemonic m) => m is Mnemonic.Movups or Mnemonic.Movupd or Mnemonic.Movdqu or Mnemonic.Lddqu
        or Mnemonic.Pcmpestri or Mnemonic.Pcmpestrm or Mnemonic.Pcmpistri or Mnemonic.Pcmpistrm;

    /// <summary>Operand op as a value zero-extended to 128 bits (xmm, mm, r32 or memory of the decoded size).
    /// False after a fault (#GP for misalignment, #PF).</summary>
    bool ReadV(in Instruction ins, int op, out X128 v)
    {
        v = default;
        switch (ins.GetOpKind(op))
        {
            case OpKind.Register:
            {
                var r = ins.GetOpRegister(op);
                if (IsXmm(r)) v = Xr(r);
                else if (IsMm(r)) v.Lo = GetMm(r);
                else v.Lo = GetReg(r);
                return true;
            }
            case OpKind.Memory:
            {
                uint a = EffectiveAddress(ins);
                int sz = ins.MemorySize.GetSize();
                switch (sz)
                {
                    case 16:
                        if ((a & 15) != 0 && !AlignmentFree(ins.Mnemonic)) { RaiseGP(); return false; }
                        if (!ProbeRead(a, 16)) return false;
                        v.Lo = ReadU64(a); v.Hi = ReadU64(a + 8);
                        break;
                    case 8: v.Lo = ReadU64(a); break;
                    case 4: v.Lo = ReadU32(a); break;
                    case 2: v.Lo = ReadU16(a); break;
                    default: v.Lo = ReadU8(a); break;
                }
                return !Faulted;
            }
            default:
                v.Lo = (ulong)ins.GetImmediate(op);
                return true;
        }
    }

    /// <summary>Writes v to operand op: an xmm gets all 128 bits, an mm 64, a GPR 32, memory its decoded size.</summary>
    void WriteV(in Instruction ins, int op, in X128 v)
    {
        if (ins.GetOpKind(op) == OpKind.Register)
        {
            var r = ins.GetOpRegister(op);
            if (IsXmm(r)) Xr(r) = v;
            else if (IsMm(r)) SetMm(r, v.Lo);
            else SetReg(r, (uint)v.Lo);
            return;
        }
        uint a = EffectiveAddress(ins);
        int sz = ins.MemorySize.GetSize();
        switch (sz)
        {
            case 16:
                if ((a & 15) != 0 && !AlignmentFree(ins.Mnemonic)) { RaiseGP(); return; }
                if (!ProbeWrite(a, 16)) return;
                WriteU64(a, v.Lo); WriteU64(a + 8, v.Hi);
                break;
            case 8: WriteU64(a, v.Lo); break;
            case 4: WriteU32(a, (uint)v.Lo); break;
            case 2: WriteU16(a, (ushort)v.Lo); break;
            default: WriteU8(a, (byte)v.Lo); break;
        }
    }

    /// <summary>Folds an instruction's SIMD exceptions into MXCSR. An unmasked one raises #XM and the result is not
    /// written (SDM 11.5.1): with an unmasked pre-computation exception (#I #D #Z) only those flags are set.</summary>
    bool CommitMx(int fl)
    {
        if (fl == 0) return true;
        uint mx = S.Simd.Mxcsr;
        int unmasked = fl & ~(int)(mx >> 7) & 0x3F;
        if (unmasked != 0)
        {
            if ((unmasked & (SoftFp.IE | SoftFp.DE | SoftFp.ZE)) != 0) fl &= SoftFp.IE | SoftFp.DE | SoftFp.ZE;
            S.Simd.Mxcsr = mx | (uint)fl;
            RaiseFault(Vec.XM);
            return false;
        }
        S.Simd.Mxcsr = mx | (uint)fl;
        return true;
    }

    void SetArithFlags(uint f)
    {
        uint v = S.Flags.Get() & ~Flags.Arith;
        S.Flags.Set(v | f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ref T L<T>(ref X128 x, int i) where T : unmanaged => ref X128.Lane<T>(ref x, i);

    // ------------------------------------------------------------------ dispatch

    /// <summary>Executes a SIMD or scalar-extension instruction; false when ins is none of them.</summary>
    bool ExecSimd(ref Instruction ins)
    {
        var m = ins.Mnemonic;
        if (m is Mnemonic.Tzcnt or Mnemonic.Lzcnt) return ExecSimdOther(ref ins, m); // BSF/BSR without the feature
        var need = SimdNeed[(int)ins.Code];
        if (need == 0) return false;
        if ((need & Unsupported) != 0 || (Features & need) != need) { RaiseUD(); return true; }
        if (UsesMm(ins) && !MmxEnter()) return true;
        if (ExecSimdMove(ref ins, m)) return true;
        if (ExecSimdFloat(ref ins, m)) return true;
        if (ExecSimdInt(ref ins, m)) return true;
        if (ExecSimdOther(ref ins, m)) return true;
        RaiseUD();
        return true;
    }

    // ------------------------------------------------------------------ moves

    bool ExecSimdMove(ref Instruction ins, Mnemonic m)
    {
        switch (m)
        {
            case Mnemonic.Movaps: case Mnemonic.Movups: case Mnemonic.Movapd: case Mnemonic.Movupd:
            case Mnemonic.Movdqa: case Mnemonic.Movdqu: case Mnemonic.Lddqu:
            case Mnemonic.Movntps: case Mnemonic.Movntpd: case Mnemonic.Movntdq: case Mnemonic.Movntdqa:
            case Mnemonic.Movnti: case Mnemonic.Movntq:
            {
                if (!ReadV(ins, 1, out var v)) return true;
                WriteV(ins, 0, v);
                return true;
            }
            case Mnemonic.Movd:
            {
                if (!ReadV(ins, 1, out var v)) return true;
                v.Lo = (uint)v.Lo; v.Hi = 0;
                WriteV(ins, 0, v);
                return true;
            }
            case Mnemonic.Movq:
            {
                if (!ReadV(ins, 1, out var v)) return true;
                v.Hi = 0; // a register destination is zero-extended (F3 0F 7E, 66 0F D6)
                WriteV(ins, 0, v);
                return true;
            }
            case Mnemonic.Movq2dq:
            {
                Xr(ins.Op0Register) = new X128 { Lo = GetMm(ins.Op1Register) };
                return true;
            }
            case Mnemonic.Movdq2q:
                SetMm(ins.Op0Register, Xr(ins.Op1Register).Lo);
                return true;
            case Mnemonic.Movss: case Mnemonic.Movsd:
            {
                bool d = m == Mnemonic.Movsd;
                if (!ReadV(ins, 1, out var v)) return true;
                if (ins.Op0Kind == OpKind.Memory) { WriteV(ins, 0, v); return true; }
                ref X128 dst = ref Xr(ins.Op0Register);
                if (ins.Op1Kind == OpKind.Memory) { dst = v; return true; } // loads zero the rest
                if (d) dst.Lo = v.Lo;
                else L<uint>(ref dst, 0) = (uint)v.Lo;
                return true;
            }
            case Mnemonic.Movlps: case Mnemonic.Movlpd: case Mnemonic.Movhps: case Mnemonic.Movhpd:
            {
                bool high = m is Mnemonic.Movhps or Mnemonic.Movhpd;
                if (ins.Op0Kind == OpKind.Memory)
                {
                    ref X128 s = ref Xr(ins.Op1Register);
                    WriteU64(EffectiveAddress(ins), high ? s.Hi : s.Lo);
                    return true;
                }
                if (!ReadV(ins, 1, out var v)) return true;
                ref X128 dst = ref Xr(ins.Op0Register);
                if (high) dst.Hi = v.Lo; else dst.Lo = v.Lo;
                return true;
            }
            case Mnemonic.Movhlps: { ref X128 d = ref Xr(ins.Op0Register); d.Lo = Xr(ins.Op1Register).Hi; return true; }
            case Mnemonic.Movlhps: { ref X128 d = ref Xr(ins.Op0Register); d.Hi = Xr(ins.Op1Register).Lo; return true; }
            case Mnemonic.Movddup:
            {
                if (!ReadV(ins, 1, out var v)) return true;
                Xr(ins.Op0Register) = new X128 { Lo = v.Lo, Hi = v.Lo };
                return true;
            }
            case Mnemonic.Movshdup: case Mnemonic.Movsldup:
            {
                if (!ReadV(ins, 1, out var v)) return true;
                int o = m == Mnemonic.Movshdup ? 1 : 0;
                X128 r = default;
                L<uint>(ref r, 0) = L<uint>(ref v, o); L<uint>(ref r, 1) = L<uint>(ref v, o);
                L<uint>(ref r, 2) = L<uint>(ref v, 2 + o); L<uint>(ref r, 3) = L<uint>(ref v, 2 + o);
                Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Movmskps: case Mnemonic.Movmskpd:
            {
                ref X128 s = ref Xr(ins.Op1Register);
                uint r = m == Mnemonic.Movmskps
                    ? (L<uint>(ref s, 0) >> 31) | (L<uint>(ref s, 1) >> 31 << 1) | (L<uint>(ref s, 2) >> 31 << 2) | (L<uint>(ref s, 3) >> 31 << 3)
                    : (uint)(s.Lo >> 63) | (uint)(s.Hi >> 63 << 1);
                SetReg(ins.Op0Register, r);
                return true;
            }
            case Mnemonic.Pmovmskb:
            {
                if (!ReadV(ins, 1, out var v)) return true;
                int n = IsMm(ins.Op1Register) ? 8 : 16;
                uint r = 0;
                for (int i = 0; i < n; i++) r |= (uint)(L<byte>(ref v, i) >> 7) << i;
                SetReg(ins.Op0Register, r);
                return true;
            }
            case Mnemonic.Maskmovq: case Mnemonic.Maskmovdqu:
            {
                // Stores the bytes of op1 selected by op2's byte sign bits at DS:EDI (segment overridable).
                if (!ReadV(ins, 1, out var v) || !ReadV(ins, 2, out var mask)) return true;
                int n = m == Mnemonic.Maskmovq ? 8 : 16;
                // DS:(E)DI with the segment's checks (a null FS/GS override faults; 67 prefix: DI).
                uint a = StrAddr(SegIndex(ins.MemorySegment), ins.Op0Kind == OpKind.MemorySegDI ? S.R[CpuState.EDI] & 0xFFFF : S.R[CpuState.EDI], n, true);
                if (Faulted) return true;
                for (int i = 0; i < n; i++)
                    if ((L<byte>(ref mask, i) & 0x80) != 0 && !ProbeWrite(a + (uint)i, 1)) return true;
                for (int i = 0; i < n; i++)
                    if ((L<byte>(ref mask, i) & 0x80) != 0) WriteU8(a + (uint)i, L<byte>(ref v, i));
                return true;
            }
            case Mnemonic.Ldmxcsr:
            {
                uint v = ReadU32(EffectiveAddress(ins));
                if (Faulted) return true;
                if (!FxArea.MxcsrValid(v)) { RaiseGP(); return true; }
                S.Simd.Mxcsr = v;
                return true;
            }
            case Mnemonic.Stmxcsr: WriteU32(EffectiveAddress(ins), S.Simd.Mxcsr); return true;
            case Mnemonic.Emms:
                if ((S.Fpu.Status & 0x80) != 0) { RaiseFault(Vec.MF); return true; }
                S.Fpu.Empty = 0xFF;
                return true;
            case Mnemonic.Lfence: case Mnemonic.Sfence: case Mnemonic.Mfence:
                Thread.MemoryBarrier();
                return true;
            case Mnemonic.Clflush:
                // A valid address is all it needs from us (no caches to write back); it faults like a byte load.
                ReadU8(EffectiveAddress(ins));
                return true;
        }
        return false;
    }

    // ------------------------------------------------------------------ floating point

    const int FAdd = 0, FSub = 1, FMul = 2, FDiv = 3, FMin = 4, FMax = 5, FSqrt = 6;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong GetF(ref X128 x, int i, bool d) => d ? L<ulong>(ref x, i) : L<uint>(ref x, i);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void SetF(ref X128 x, int i, bool d, ulong v) { if (d) L<ulong>(ref x, i) = v; else L<uint>(ref x, i) = (uint)v; }

    static ulong FOp(int op, ulong a, ulong b, bool d, uint mx, ref int fl) => op switch
    {
        FAdd => SoftFp.Add(a, b, d, mx, ref fl),
        FSub => SoftFp.Sub(a, b, d, mx, ref fl),
        FMul => SoftFp.Mul(a, b, d, mx, ref fl),
        FDiv => SoftFp.Div(a, b, d, mx, ref fl),
        FMin => SoftFp.MinMax(a, b, false, d, mx, ref fl),
        FMax => SoftFp.MinMax(a, b, true, d, mx, ref fl),
        _ => SoftFp.Sqrt(b, d, mx, ref fl),
    };

    /// <summary>Packed or scalar arithmetic: op0 = op0 OP op1 lane by lane (scalar: lane 0, the rest kept).</summary>
    void FpArith(in Instruction ins, int op, bool d, bool scalar)
    {
        if (!ReadV(ins, 1, out var b)) return;
        var a = Xr(ins.Op0Register);
        var r = a;
        uint mx = S.Simd.Mxcsr;
        int fl = 0;
        int n = scalar ? 1 : d ? 2 : 4;
        for (int i = 0; i < n; i++) SetF(ref r, i, d, FOp(op, GetF(ref a, i, d), GetF(ref b, i, d), d, mx, ref fl));
        if (CommitMx(fl)) Xr(ins.Op0Register) = r;
    }

    bool ExecSimdFloat(ref Instruction ins, Mnemonic m)
    {
        switch (m)
        {
            case Mnemonic.Addps: FpArith(ins, FAdd, false, false); return true;
            case Mnemonic.Addss: FpArith(ins, FAdd, false, true); return true;
            case Mnemonic.Addpd: FpArith(ins, FAdd, true, false); return true;
            case Mnemonic.Addsd: FpArith(ins, FAdd, true, true); return true;
            case Mnemonic.Subps: FpArith(ins, FSub, false, false); return true;
            case Mnemonic.Subss: FpArith(ins, FSub, false, true); return true;
            case Mnemonic.Subpd: FpArith(ins, FSub, true, false); return true;
            case Mnemonic.Subsd: FpArith(ins, FSub, true, true); return true;
            case Mnemonic.Mulps: FpArith(ins, FMul, false, false); return true;
            case Mnemonic.Mulss: FpArith(ins, FMul, false, true); return true;
            case Mnemonic.Mulpd: FpArith(ins, FMul, true, false); return true;
            case Mnemonic.Mulsd: FpArith(ins, FMul, true, true); return true;
            case Mnemonic.Divps: FpArith(ins, FDiv, false, false); return true;
            case Mnemonic.Divss: FpArith(ins, FDiv, false, true); return true;
            case Mnemonic.Divpd: FpArith(ins, FDiv, true, false); return true;
            case Mnemonic.Divsd: FpArith(ins, FDiv, true, true); return true;
            case Mnemonic.Minps: FpArith(ins, FMin, false, false); return true;
            case Mnemonic.Minss: FpArith(ins, FMin, false, true); return true;
            case Mnemonic.Minpd: FpArith(ins, FMin, true, false); return true;
            case Mnemonic.Minsd: FpArith(ins, FMin, true, true); return true;
            case Mnemonic.Maxps: FpArith(ins, FMax, false, false); return true;
            case Mnemonic.Maxss: FpArith(ins, FMax, false, true); return true;
            case Mnemonic.Maxpd: FpArith(ins, FMax, true, false); return true;
            case Mnemonic.Maxsd: FpArith(ins, FMax, true, true); return true;
            case Mnemonic.Sqrtps: FpArith(ins, FSqrt, false, false); return true;
            case Mnemonic.Sqrtss: FpArith(ins, FSqrt, false, true); return true;
            case Mnemonic.Sqrtpd: FpArith(ins, FSqrt, true, false); return true;
            case Mnemonic.Sqrtsd: FpArith(ins, FSqrt, true, true); return true;
            case Mnemonic.Rcpps: case Mnemonic.Rcpss: case Mnemonic.Rsqrtps: case Mnemonic.Rsqrtss:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                var r = Xr(ins.Op0Register);
                int n = m is Mnemonic.Rcpss or Mnemonic.Rsqrtss ? 1 : 4;
                bool rsq = m is Mnemonic.Rsqrtps or Mnemonic.Rsqrtss;
                for (int i = 0; i < n; i++) L<uint>(ref r, i) = SimdApprox.Compute(L<uint>(ref b, i), rsq);
                Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Andps: case Mnemonic.Andpd: case Mnemonic.Andnps: case Mnemonic.Andnpd:
            case Mnemonic.Orps: case Mnemonic.Orpd: case Mnemonic.Xorps: case Mnemonic.Xorpd:
                return false; // bitwise: the integer group
            case Mnemonic.Cmpps: case Mnemonic.Cmpss: case Mnemonic.Cmppd: case Mnemonic.Cmpsd:
            {
                bool d = m is Mnemonic.Cmppd or Mnemonic.Cmpsd;
                int n = m is Mnemonic.Cmpss or Mnemonic.Cmpsd ? 1 : d ? 2 : 4;
                if (!ReadV(ins, 1, out var b)) return true;
                var a = Xr(ins.Op0Register);
                var r = a;
                int pred = ins.Immediate8 & 7;
                uint mx = S.Simd.Mxcsr;
                int fl = 0;
                for (int i = 0; i < n; i++)
                    SetF(ref r, i, d, SoftFp.Compare(GetF(ref a, i, d), GetF(ref b, i, d), pred, d, mx, ref fl) ? ulong.MaxValue : 0);
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Comiss: case Mnemonic.Ucomiss: case Mnemonic.Comisd: case Mnemonic.Ucomisd:
            {
                bool d = m is Mnemonic.Comisd or Mnemonic.Ucomisd;
                if (!ReadV(ins, 1, out var b)) return true;
                var a = Xr(ins.Op0Register);
                int fl = 0;
                uint f = SoftFp.Comi(GetF(ref a, 0, d), GetF(ref b, 0, d), d, m is Mnemonic.Comiss or Mnemonic.Comisd, S.Simd.Mxcsr, ref fl);
                if (CommitMx(fl)) SetArithFlags(f);
                return true;
            }
            case Mnemonic.Addsubps: case Mnemonic.Addsubpd:
            {
                bool d = m == Mnemonic.Addsubpd;
                if (!ReadV(ins, 1, out var b)) return true;
                var a = Xr(ins.Op0Register);
                var r = a;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                for (int i = 0; i < (d ? 2 : 4); i++)
                    SetF(ref r, i, d, FOp((i & 1) == 0 ? FSub : FAdd, GetF(ref a, i, d), GetF(ref b, i, d), d, mx, ref fl));
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Haddps: case Mnemonic.Haddpd: case Mnemonic.Hsubps: case Mnemonic.Hsubpd:
            {
                bool d = m is Mnemonic.Haddpd or Mnemonic.Hsubpd;
                int op = m is Mnemonic.Haddps or Mnemonic.Haddpd ? FAdd : FSub;
                if (!ReadV(ins, 1, out var b)) return true;
                var a = Xr(ins.Op0Register);
                X128 r = default;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                int half = d ? 1 : 2;
                for (int i = 0; i < half; i++)
                {
                    SetF(ref r, i, d, FOp(op, GetF(ref a, 2 * i, d), GetF(ref a, 2 * i + 1, d), d, mx, ref fl));
                    SetF(ref r, i + half, d, FOp(op, GetF(ref b, 2 * i, d), GetF(ref b, 2 * i + 1, d), d, mx, ref fl));
                }
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Dpps: case Mnemonic.Dppd:
            {
                bool d = m == Mnemonic.Dppd;
                if (!ReadV(ins, 1, out var b)) return true;
                var a = Xr(ins.Op0Register);
                int imm = ins.Immediate8;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                int n = d ? 2 : 4;
                Span<ulong> t = stackalloc ulong[4];
                for (int i = 0; i < n; i++)
                    t[i] = (imm & (0x10 << i)) != 0 ? SoftFp.Mul(GetF(ref a, i, d), GetF(ref b, i, d), d, mx, ref fl) : 0;
                // The order of the additions decides which NaN a lane gets, and the vendors differ (measured). Intel
                // (a Xeon): per destination lane, DPPD lane j p[j] + p[j^1], DPPS lane j (p[j^1] + p[j]) + (p[j^3] +
                // p[j^2]). AMD (an EPYC): one order for every lane, p[0] + p[1] and (p[0] + p[1]) + (p[2] + p[3]), which
                // is Intel's order for lane 0 (DPPD) or lane 1 (DPPS). Translated code runs the host's instruction, so
                // the interpreter follows the host (Intel's off x86).
                X128 r = default;
                for (int i = 0; i < n; i++)
                {
                    int f2 = i == 0 ? fl : 0;
                    int j = !CpuModel.HostIsAmd ? i : d ? 0 : 1;
                    ulong sum = d ? SoftFp.Add(t[j], t[j ^ 1], true, mx, ref f2)
                        : SoftFp.Add(SoftFp.Add(t[j ^ 1], t[j], false, mx, ref f2), SoftFp.Add(t[j ^ 3], t[j ^ 2], false, mx, ref f2), false, mx, ref f2);
                    if (i == 0) fl = f2;
                    SetF(ref r, i, d, (imm & (1 << i)) != 0 ? sum : 0);
                }
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Roundps: case Mnemonic.Roundpd: case Mnemonic.Roundss: case Mnemonic.Roundsd:
            {
                bool d = m is Mnemonic.Roundpd or Mnemonic.Roundsd;
                int n = m is Mnemonic.Roundss or Mnemonic.Roundsd ? 1 : d ? 2 : 4;
                if (!ReadV(ins, 1, out var b)) return true;
                var r = n == 1 ? Xr(ins.Op0Register) : default;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                for (int i = 0; i < n; i++) SetF(ref r, i, d, SoftFp.RoundInt(GetF(ref b, i, d), d, ins.Immediate8, mx, ref fl));
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            // ---- conversions
            case Mnemonic.Cvtsi2ss: case Mnemonic.Cvtsi2sd:
            {
                bool d = m == Mnemonic.Cvtsi2sd;
                if (!ReadV(ins, 1, out var b)) return true;
                var r = Xr(ins.Op0Register);
                int fl = 0;
                SetF(ref r, 0, d, SoftFp.FromInt((int)(uint)b.Lo, d, S.Simd.Mxcsr, ref fl));
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Cvtss2si: case Mnemonic.Cvttss2si: case Mnemonic.Cvtsd2si: case Mnemonic.Cvttsd2si:
            {
                bool d = m is Mnemonic.Cvtsd2si or Mnemonic.Cvttsd2si;
                if (!ReadV(ins, 1, out var b)) return true;
                int fl = 0;
                int v = SoftFp.ToInt32(GetF(ref b, 0, d), d, m is Mnemonic.Cvttss2si or Mnemonic.Cvttsd2si, S.Simd.Mxcsr, ref fl);
                if (CommitMx(fl)) SetReg(ins.Op0Register, (uint)v);
                return true;
            }
            case Mnemonic.Cvtpi2ps: case Mnemonic.Cvtdq2ps: case Mnemonic.Cvtpi2pd: case Mnemonic.Cvtdq2pd:
            {
                bool d = m is Mnemonic.Cvtpi2pd or Mnemonic.Cvtdq2pd;
                int n = m == Mnemonic.Cvtdq2ps ? 4 : 2;
                if (!ReadV(ins, 1, out var b)) return true;
                // CVTPI2PS keeps the destination's upper half.
                var r = m == Mnemonic.Cvtpi2ps ? Xr(ins.Op0Register) : default;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                for (int i = 0; i < n; i++) SetF(ref r, i, d, SoftFp.FromInt(L<int>(ref b, i), d, mx, ref fl));
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Cvtps2pi: case Mnemonic.Cvttps2pi: case Mnemonic.Cvtps2dq: case Mnemonic.Cvttps2dq:
            case Mnemonic.Cvtpd2pi: case Mnemonic.Cvttpd2pi: case Mnemonic.Cvtpd2dq: case Mnemonic.Cvttpd2dq:
            {
                bool d = m is Mnemonic.Cvtpd2pi or Mnemonic.Cvttpd2pi or Mnemonic.Cvtpd2dq or Mnemonic.Cvttpd2dq;
                bool t = m is Mnemonic.Cvttps2pi or Mnemonic.Cvttps2dq or Mnemonic.Cvttpd2pi or Mnemonic.Cvttpd2dq;
                int n = m is Mnemonic.Cvtps2dq or Mnemonic.Cvttps2dq ? 4 : 2;
                if (!ReadV(ins, 1, out var b)) return true;
                X128 r = default;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                for (int i = 0; i < n; i++) L<int>(ref r, i) = SoftFp.ToInt32(GetF(ref b, i, d), d, t, mx, ref fl);
                if (CommitMx(fl)) WriteV(ins, 0, r);
                return true;
            }
            case Mnemonic.Cvtps2pd: case Mnemonic.Cvtss2sd:
            {
                int n = m == Mnemonic.Cvtps2pd ? 2 : 1;
                if (!ReadV(ins, 1, out var b)) return true;
                var r = n == 1 ? Xr(ins.Op0Register) : default;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                for (int i = 0; i < n; i++) L<ulong>(ref r, i) = SoftFp.F32ToF64(L<uint>(ref b, i), mx, ref fl);
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Cvtpd2ps: case Mnemonic.Cvtsd2ss:
            {
                int n = m == Mnemonic.Cvtpd2ps ? 2 : 1;
                if (!ReadV(ins, 1, out var b)) return true;
                var r = n == 1 ? Xr(ins.Op0Register) : default;
                uint mx = S.Simd.Mxcsr; int fl = 0;
                for (int i = 0; i < n; i++) L<uint>(ref r, i) = SoftFp.F64ToF32(L<ulong>(ref b, i), mx, ref fl);
                if (CommitMx(fl)) Xr(ins.Op0Register) = r;
                return true;
            }
        }
        return false;
    }
}
