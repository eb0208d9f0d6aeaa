using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Cpu;

/// <summary>
/// MMX on the host: guest MMi lives in host XMM(8+i) (its low 64 bits; the high half is don't-care) while the
/// MMX state is loaded, and each MMX instruction becomes the SSE2/SSSE3 instruction that computes the same low 64
/// bits (a few need a step more: PACK*, PUNPCKH*, PHADD*/PHSUB*, PSHUFB, PALIGNR). The x87 aliasing is the
/// interpreter's (SDM vol. 1 9.5.1): MMi is physical register i's significand, in the FNSAVE image the state block
/// holds (ST(i) is Ri there, as the gate requires TOP = 0); every MMX instruction but EMMS tags all registers valid,
/// a write sets the register's sign and exponent to all ones, EMMS tags all empty; with ES set (#MF pending) or TOP
/// not 0 the interpreter runs the instruction. Host MMX and x87 state is never touched by MMX code.
/// </summary>
internal sealed partial class Translator
{
    /// <summary>COMPAT32_JIT_MMX=0 leaves every MMX instruction to the interpreter (for measurements and bisecting).</summary>
    static readonly bool MmxOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_MMX") != "0";

    /// <summary>MMX instructions in the block just translated.</summary>
    public int MmxCount;

    bool mmxGated, ftwValid;
    int expDone;

    static bool IsMm(Register r) => r >= Register.MM0 && r <= Register.MM7;
    static Register HX(Register mm) => Register.XMM8 + (mm - Register.MM0);
    static Register HostX(Register r) => IsMm(r) ? HX(r) : r;

    const int ImgRegs = Jit.OffX87Img + 28; // ST(0)..ST(7), 10 bytes each (significand, then sign and exponent)

    /// <summary>Guest MMX codes whose XMM form computes the same low 64 bits lane by lane (the high lanes' garbage
    /// stays there), and the unary ones and immediate shifts the same way.</summary>
    static Dictionary<Code, Code>? laneForm;
    /// <summary>Built at the first MMX instruction (it reads Iced's code names: milliseconds, not for every start).</summary>
    static Dictionary<Code, Code> LaneForm => laneForm ??= BuildLaneForms();

    static Dictionary<Code, Code> BuildLaneForms()
    {
        var lane = new HashSet<Mnemonic>
        {
            Mnemonic.Paddb, Mnemonic.Paddw, Mnemonic.Paddd, Mnemonic.Paddq, Mnemonic.Paddsb, Mnemonic.Paddsw,
            Mnemonic.Paddusb, Mnemonic.Paddusw, Mnemonic.Psubb, Mnemonic.Psubw, Mnemonic.Psubd, Mnemonic.Psubq,
            Mnemonic.Psubsb, Mnemonic.Psubsw, Mnemonic.Psubusb, Mnemonic.Psubusw,
            Mnemonic.Pmullw, Mnemonic.Pmulhw, Mnemonic.Pmulhuw, Mnemonic.Pmuludq, Mnemonic.Pmaddwd, Mnemonic.Pmaddubsw,
            Mnemonic.Pmulhrsw, Mnemonic.Pand, Mnemonic.Pandn, Mnemonic.Por, Mnemonic.Pxor,
            Mnemonic.Pcmpeqb, Mnemonic.Pcmpeqw, Mnemonic.Pcmpeqd, Mnemonic.Pcmpgtb, Mnemonic.Pcmpgtw, Mnemonic.Pcmpgtd,
            Mnemonic.Pminub, Mnemonic.Pmaxub, Mnemonic.Pminsw, Mnemonic.Pmaxsw, Mnemonic.Pavgb, Mnemonic.Pavgw,
            Mnemonic.Psadbw, Mnemonic.Psignb, Mnemonic.Psignw, Mnemonic.Psignd,
            Mnemonic.Psllw, Mnemonic.Pslld, Mnemonic.Psllq, Mnemonic.Psrlw, Mnemonic.Psrld, Mnemonic.Psrlq,
            Mnemonic.Psraw, Mnemonic.Psrad, Mnemonic.Punpcklbw, Mnemonic.Punpcklwd, Mnemonic.Punpckldq,
            Mnemonic.Pabsb, Mnemonic.Pabsw, Mnemonic.Pabsd,
            // not lane-wise, but their XMM forms are the second step of the two-step translations below
            Mnemonic.Packsswb, Mnemonic.Packssdw, Mnemonic.Packuswb, Mnemonic.Phaddw, Mnemonic.Phaddd,
            Mnemonic.Phaddsw, Mnemonic.Phsubw, Mnemonic.Phsubd, Mnemonic.Phsubsw,
        };
        var d = new Dictionary<Code, Code>();
        for (int ci = 0; ci < IcedCounts.Code; ci++)
        {
            var c = (Code)ci;
            if (!lane.Contains(c.Mnemonic())) continue;
            string n = c.ToString();
            string? x = n.EndsWith("_mm_mmm64", StringComparison.Ordinal) ? n[..^"_mm_mmm64".Length] + "_xmm_xmmm128"
                : n.EndsWith("_mm_mmm32", StringComparison.Ordinal) ? n[..^"_mm_mmm32".Length] + "_xmm_xmmm128"
                : n.EndsWith("_mm_imm8", StringComparison.Ordinal) ? n[..^"_mm_imm8".Length] + "_xmm_imm8" : null;
            if (x != null && Enum.TryParse<Code>(x, out var h)) d[c] = h;
        }
        return d;
    }

    /// <summary>An instruction of the MMX state (an mm operand, EMMS), MASKMOVQ, or CVTPI2PS/PD (whose memory form
    /// uses no mm register and, as in the interpreter, leaves the x87 state alone).</summary>
    static bool MmxForm(in Instruction ins)
    {
        if (ins.Mnemonic is Mnemonic.Emms or Mnemonic.Maskmovq or Mnemonic.Cvtpi2ps or Mnemonic.Cvtpi2pd) return true;
        for (int i = 0; i < ins.OpCount; i++)
            if (ins.GetOpKind(i) == OpKind.Register && IsMm(ins.GetOpRegister(i))) return true;
        return false;
    }

    static bool MmxHandled(in Instruction ins) => LaneForm.ContainsKey(ins.Code) || ins.Mnemonic switch
    {
        Mnemonic.Emms or Mnemonic.Pshufw or Mnemonic.Punpckhbw or Mnemonic.Punpckhwd or Mnemonic.Punpckhdq
            or Mnemonic.Pshufb or Mnemonic.Palignr or Mnemonic.Pextrw or Mnemonic.Pinsrw or Mnemonic.Pmovmskb
            or Mnemonic.Movd or Mnemonic.Movq or Mnemonic.Movntq or Mnemonic.Maskmovq or Mnemonic.Movq2dq or Mnemonic.Movdq2q
            or Mnemonic.Cvtpi2ps or Mnemonic.Cvtpi2pd or Mnemonic.Cvtps2pi or Mnemonic.Cvttps2pi
            or Mnemonic.Cvtpd2pi or Mnemonic.Cvttpd2pi => true,
        _ => false,
    };

    static K ClassifyMmx(in Instruction ins, CpuFeature need, CpuFeature guest)
    {
        if (!SimdOn || !MmxOn) return K.None;
        const CpuFeature ok = Hostable | CpuFeature.Mmx;
        if ((need & ~ok) != 0 || (need & ~guest) != 0 || (need & ~(HostHas | CpuFeature.Mmx)) != 0) return K.None;
        if (ins.Encoding != EncodingKind.Legacy || ins.HasLockPrefix || !MmxHandled(ins)) return K.None;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    var r = ins.GetOpRegister(i);
                    if (!IsMm(r) && !(r >= Register.XMM0 && r <= Register.XMM7) && !r.IsGPR32()) return K.None;
                    break;
                case OpKind.Memory: if (!Addr32(ins)) return K.None; break;
                case OpKind.Immediate8: break;
                // MASKMOVQ's DS:EDI (not DI, not through FS/GS)
                case OpKind.MemorySegEDI: if (ins.MemorySegment is not (Register.DS or Register.SS or Register.ES)) return K.None; break;
                default: return K.None;
            }
        }
        return K.Mmx;
    }

    /// <summary>MM0-7 (host XMM8-15) into the image's significands.</summary>
    static void StoreMm(Assembler a)
    {
        for (int k = 0; k < 8; k++) a.movq(__qword_ptr[r13 + (ImgRegs + 10 * k)], Xmm(8 + k));
    }

    /// <summary>The first MMX instruction of a block (or the first after an x87 one) makes the MMX state current
    /// unless this entry did already: the host FPU's state goes to the image (FNSAVE) if it is there; with ES or TOP
    /// set the interpreter runs the instruction (#MF, or a TOP := 0 the image's ST order cannot take); then MM0-7
    /// come from the image's significands.</summary>
    void MmxGate(int i)
    {
        if (mmxGated) return;
        var loaded = GateHead(Jit.OffMmxLoaded, Jit.OffMmxOk, i);
        var noFpu = a.CreateLabel();
        a.cmp(__byte_ptr[r13 + Jit.OffX87Loaded], 0);
        a.je(noFpu);
        a.fnsave(__[r13 + Jit.OffX87Img]);
        a.mov(__byte_ptr[r13 + Jit.OffX87Loaded], 0);
        a.mov(__byte_ptr[r13 + Jit.OffImgDirty], 1);
        a.Label(ref noFpu);
        a.test(__word_ptr[r13 + (Jit.OffX87Img + 4)], 0x3880); // ES, TOP
        a.jnz(SlowLabelAt(i));
        for (int k = 0; k < 8; k++) a.movq(Xmm(8 + k), __qword_ptr[r13 + (ImgRegs + 10 * k)]);
        a.mov(__byte_ptr[r13 + Jit.OffImgDirty], 1);
        a.mov(__byte_ptr[r13 + Jit.OffMmxLoaded], 1);
        a.Label(ref loaded);
        mmxGated = true;
        fpuGated = false; // an x87 instruction after this one must take the MMX state back to the image first
        ftwValid = false;
        expDone = 0;
        UsesMmx = jit.HasMmx = true;
    }

    int borrowed = -1;

    /// <summary>A host XMM8-15 the instruction does not use, its value kept in the state block until GiveBack.</summary>
    Register Borrow(int mmBits)
    {
        int k = 7;
        while (((mmBits >> k) & 1) != 0) k--;
        a.movq(__qword_ptr[r13 + Jit.OffMmSpill], Xmm(8 + k));
        borrowed = k;
        return Register.XMM8 + k;
    }

    void GiveBack()
    {
        if (borrowed < 0) return;
        a.movq(Xmm(8 + borrowed), __qword_ptr[r13 + Jit.OffMmSpill]);
        borrowed = -1;
    }

    void H(Code c, Register d, Register s) => a.AddInstruction(Instruction.Create(c, d, s));
    void H(Code c, Register d, Register s, int imm) => a.AddInstruction(Instruction.Create(c, d, s, imm));

    /// <summary>The memory operand (at [r14+r8], checked) into x: 4 bytes (MOVD) or 8 (MOVQ), the rest zeroed.</summary>
    void LoadMem(Register x, int size) =>
        a.AddInstruction(Instruction.Create(size == 4 ? Code.Movd_xmm_rm32 : Code.Movq_xmm_xmmm64, x, R14R8));

    /// <summary>Operand op as a host XMM: its register, or the memory operand in a borrowed one.</summary>
    Register SrcX(in Instruction ins, int op, int mmBits)
    {
        if (ins.GetOpKind(op) == OpKind.Register) return HostX(ins.GetOpRegister(op));
        var x = Borrow(mmBits);
        LoadMem(x, ins.MemorySize.GetSize());
        return x;
    }

    void EmitMmx(in Instruction ins, int i)
    {
        MmxCount++;
        var m = ins.Mnemonic;
        int mmBits = 0;
        bool xmm = false;
        for (int o = 0; o < ins.OpCount; o++)
        {
            if (ins.GetOpKind(o) != OpKind.Register) continue;
            var r = ins.GetOpRegister(o);
            if (IsMm(r)) mmBits |= 1 << (r - Register.MM0);
            else if (r >= Register.XMM0 && r <= Register.XMM7) xmm = true;
        }
        if (xmm) SimdGate(i);
        if (mmBits != 0 || m == Mnemonic.Emms) MmxGate(i);
        if (m == Mnemonic.Emms)
        {
            a.mov(__word_ptr[r13 + (Jit.OffX87Img + 8)], unchecked((short)0xFFFF));
            ftwValid = false;
            return;
        }
        if (mmBits != 0 && !ftwValid)
        {
            // TOP is 0 (the gate's test) and stays so; every register valid, before the instruction can fault,
            // as MmxEnter does
            a.mov(__word_ptr[r13 + (Jit.OffX87Img + 8)], 0);
            ftwValid = true;
        }
        if (m == Mnemonic.Maskmovq)
        {
            SaveIfDirty();
            a.mov(r8d, edi);
            if (ins.MemorySegment == Register.ES) a.add(r8d, __dword_ptr[r13 + Jit.OffSegES]);
            Check(8, true, i);
        }
        else if (MemOp(ins) >= 0)
        {
            SaveIfDirty();
            Address(ins, i);
            int size = ins.MemorySize.GetSize();
            Check(size, ins.Op0Kind == OpKind.Memory, i);
            if (size == 16)
            {
                a.test(r8d, 15); // CVTPD2PI m128: misaligned is #GP, the interpreter's
                a.jnz(SlowLabelAt(i));
            }
        }
        bool mem1 = ins.OpCount > 1 && ins.Op1Kind == OpKind.Memory;
        Register d = ins.Op0Kind == OpKind.Register ? HostX(ins.Op0Register) : Register.None;
        if (LaneForm.TryGetValue(ins.Code, out var hc))
        {
            switch (m)
            {
                case Mnemonic.Packsswb: case Mnemonic.Packssdw: case Mnemonic.Packuswb:
                case Mnemonic.Phaddw: case Mnemonic.Phaddd: case Mnemonic.Phaddsw:
                case Mnemonic.Phsubw: case Mnemonic.Phsubd: case Mnemonic.Phsubsw:
                {
                    // dst.lo:src.lo side by side, then the XMM form on that register: its low 64 bits are the
                    // MMX result (dst's lanes, then src's)
                    var s = SrcX(ins, 1, mmBits);
                    H(Code.Punpcklqdq_xmm_xmmm128, d, s);
                    GiveBack();
                    H(hc, d, d);
                    break;
                }
                case Mnemonic.Pabsb: case Mnemonic.Pabsw: case Mnemonic.Pabsd:
                    if (mem1) { LoadMem(d, 8); H(hc, d, d); }
                    else H(hc, d, HX(ins.Op1Register));
                    break;
                default:
                    if (ins.Op1Kind == OpKind.Immediate8) a.AddInstruction(Instruction.Create(hc, d, (int)ins.Immediate8));
                    else
                    {
                        var s = SrcX(ins, 1, mmBits);
                        H(hc, d, s);
                        GiveBack();
                    }
                    break;
            }
        }
        else
        {
            switch (m)
            {
                case Mnemonic.Pshufw:
                    if (mem1) { LoadMem(d, 8); H(Code.Pshuflw_xmm_xmmm128_imm8, d, d, ins.Immediate8); }
                    else H(Code.Pshuflw_xmm_xmmm128_imm8, d, HX(ins.Op1Register), ins.Immediate8);
                    break;
                case Mnemonic.Punpckhbw: case Mnemonic.Punpckhwd: case Mnemonic.Punpckhdq:
                {
                    // the low halves' interleave holds the MMX high halves' in its upper 64 bits
                    var s = SrcX(ins, 1, mmBits);
                    H(m == Mnemonic.Punpckhbw ? Code.Punpcklbw_xmm_xmmm128 : m == Mnemonic.Punpckhwd ? Code.Punpcklwd_xmm_xmmm128 : Code.Punpckldq_xmm_xmmm128, d, s);
                    GiveBack();
                    H(Code.Pshufd_xmm_xmmm128_imm8, d, d, 0xEE);
                    break;
                }
                case Mnemonic.Pshufb:
                {
                    // dst in both halves: index & 15 then picks byte index & 7, as the MMX form does
                    var s = SrcX(ins, 1, mmBits);
                    H(Code.Punpcklqdq_xmm_xmmm128, d, d);
                    H(Code.Pshufb_xmm_xmmm128, d, s);
                    GiveBack();
                    break;
                }
                case Mnemonic.Palignr:
                {
                    var x = Borrow(mmBits);
                    if (mem1) LoadMem(x, 8); else H(Code.Movq_xmm_xmmm64, x, HX(ins.Op1Register));
                    H(Code.Punpcklqdq_xmm_xmmm128, x, d);          // dst:src, 128 bits
                    a.AddInstruction(Instruction.Create(Code.Psrldq_xmm_imm8, x, (int)ins.Immediate8)); // > 15: zero, as MMX's
                    H(Code.Movaps_xmm_xmmm128, d, x);
                    GiveBack();
                    break;
                }
                case Mnemonic.Pextrw:
                    H(Code.Pextrw_r32_xmm_imm8, Host(ins.Op0Register), HX(ins.Op1Register), ins.Immediate8 & 3);
                    break;
                case Mnemonic.Pinsrw:
                    if (mem1) a.AddInstruction(Instruction.Create(Code.Pinsrw_xmm_r32m16_imm8, d, R14R8, ins.Immediate8 & 3));
                    else H(Code.Pinsrw_xmm_r32m16_imm8, d, Host(ins.Op1Register), ins.Immediate8 & 3);
                    break;
                case Mnemonic.Pmovmskb:
                {
                    var s = HX(ins.Op1Register);
                    H(Code.Movq_xmm_xmmm64, s, s); // the high half zero: 8 mask bits
                    H(Code.Pmovmskb_r32_xmm, Host(ins.Op0Register), s);
                    break;
                }
                case Mnemonic.Movd:
                    if (ins.Code == Code.Movd_mm_rm32)
                    {
                        if (mem1) LoadMem(d, 4);
                        else H(Code.Movd_xmm_rm32, d, Host(ins.Op1Register));
                    }
                    else if (ins.Op0Kind == OpKind.Memory) a.AddInstruction(Instruction.Create(Code.Movd_rm32_xmm, R14R8, HX(ins.Op1Register)));
                    else H(Code.Movd_rm32_xmm, Host(ins.Op0Register), HX(ins.Op1Register));
                    break;
                case Mnemonic.Movq: case Mnemonic.Movntq: case Mnemonic.Movq2dq: case Mnemonic.Movdq2q:
                    if (ins.Op0Kind == OpKind.Memory) a.AddInstruction(Instruction.Create(Code.Movq_xmmm64_xmm, R14R8, HostX(ins.Op1Register)));
                    else if (mem1) LoadMem(d, 8);
                    else H(Code.Movq_xmm_xmmm64, d, HostX(ins.Op1Register));
                    break;
                case Mnemonic.Maskmovq:
                {
                    // the host's MASKMOVDQU through RDI = the checked address; mask bytes 8-15 zero
                    var x = Borrow(mmBits);
                    H(Code.Movq_xmm_xmmm64, x, HX(ins.Op2Register));
                    a.mov(r9, rdi);
                    a.lea(rdi, __[r14 + r8]);
                    a.AddInstruction(Instruction.CreateMaskmovdqu(64, HX(ins.Op1Register), x));
                    a.mov(rdi, r9);
                    GiveBack();
                    break;
                }
                case Mnemonic.Cvtpi2ps:
                {
                    // two floats into the low half, the high half kept; the zero lanes raise no flag
                    var x = Borrow(mmBits);
                    if (mem1) LoadMem(x, 8); else H(Code.Movq_xmm_xmmm64, x, HX(ins.Op1Register));
                    H(Code.Cvtdq2ps_xmm_xmmm128, x, x);
                    H(Code.Movsd_xmm_xmmm64, ins.Op0Register, x);
                    GiveBack();
                    break;
                }
                case Mnemonic.Cvtpi2pd:
                    if (mem1) a.AddInstruction(Instruction.Create(Code.Cvtdq2pd_xmm_xmmm64, ins.Op0Register, R14R8));
                    else H(Code.Cvtdq2pd_xmm_xmmm64, ins.Op0Register, HX(ins.Op1Register));
                    break;
                case Mnemonic.Cvtps2pi: case Mnemonic.Cvttps2pi:
                {
                    // the two floats alone (zero lanes above raise no flag), converted in the destination
                    if (mem1) LoadMem(d, 8); else H(Code.Movq_xmm_xmmm64, d, ins.Op1Register);
                    H(m == Mnemonic.Cvtps2pi ? Code.Cvtps2dq_xmm_xmmm128 : Code.Cvttps2dq_xmm_xmmm128, d, d);
                    break;
                }
                case Mnemonic.Cvtpd2pi: case Mnemonic.Cvttpd2pi:
                {
                    var c = m == Mnemonic.Cvtpd2pi ? Code.Cvtpd2dq_xmm_xmmm128 : Code.Cvttpd2dq_xmm_xmmm128;
                    if (mem1) a.AddInstruction(Instruction.Create(c, d, R14R8));
                    else H(c, d, ins.Op1Register);
                    break;
                }
                default: throw new InvalidOperationException("MMX form " + ins.Code);
            }
        }
        // A write sets the register's sign and exponent to all ones (once per register and gate in a block).
        if (ins.Op0Kind == OpKind.Register && IsMm(ins.Op0Register))
        {
            int r = ins.Op0Register - Register.MM0;
            if ((expDone & 1 << r) == 0)
            {
                a.mov(__word_ptr[r13 + (ImgRegs + 10 * r + 8)], unchecked((short)0xFFFF));
                expDone |= 1 << r;
            }
        }
    }
}
