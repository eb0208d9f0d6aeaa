using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Cpu;

/// <summary>
/// Guest i386 block → host x86-64 code, with Iced's assembler. While host code runs, guest EAX ECX EDX EBX EBP
/// ESI EDI live in the host registers of the same names and guest ESP in r12 (so MUL/DIV/CDQ/shifts by CL
/// keep their implicit operands); r13 = the state block, r14 = guest address 0, r15 = page permissions,
/// r11 = instruction budget, r8-r10 are scratch. Most integer instructions are the guest instruction itself,
/// re-encoded with its memory operand turned into [r14+r8] after r8d = the 32-bit linear address and a check of
/// the page permission bytes (the interpreter's fast-path test: readable, or writable and not holding decoded
/// code, and not crossing a page). A failing check leaves the block before the instruction changed anything and
/// the interpreter executes it: page faults, self-modifying code and page-crossing accesses all take that path.
/// Guest arithmetic flags are the host's own RFLAGS from the instruction that produced them; they are stored
/// (PUSHFQ) before anything clobbers them and at every block end, so at any exit the state block holds them.
/// </summary>
internal sealed partial class Translator
{
    readonly JitCode jit;

    const RflagsBits ArithBits = RflagsBits.OF | RflagsBits.SF | RflagsBits.ZF | RflagsBits.AF | RflagsBits.CF | RflagsBits.PF;
    /// <summary>Smallest prefix of a block worth translating when the block does not translate whole.</summary>
    const int MinPrefix = 3;

    public Translator(JitCode jit) { this.jit = jit; }

    /// <summary>What the last Translate produced: its code's length and whether it runs x87, SSE or MMX code on
    /// the host (what a template of it must carry).</summary>
    public int LastLength;
    public bool UsesX87, UsesSimd, UsesMmx;
    /// <summary>The last translation was of a self-loop with its pass test (EmitPassTest).</summary>
    public bool LastPassTested;

    /// <summary>Accesses of the block without a test (HostFaults), as the assembler list has them (Off: the
    /// instruction's index in that list), and after assembly as LastSites (Off: its offset in the block's code).</summary>
    readonly List<HostSite> siteIns = new();
    internal readonly List<HostSite> LastSites = new();

    /// <summary>Block ends with a known successor that jump through a link cell (DispatchConst), while emitting; after
    /// assembly as LastLinks (offsets in the block's code).</summary>
    readonly List<(Label Cell, Label Lookup, uint Target)> linkSites = new();
    internal readonly List<LinkSite> LastLinks = new();
    /// <summary>COMPAT32_JIT_LINK=0: block ends look their successor up in the table every time (to compare).</summary>
    internal static readonly bool LinkOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_LINK") != "0";

    enum K : byte { None, Generic, X87, Simd, Mmx, Lea, Nop, Div, PushR, PushI, PushM, PopR, Leave, Jcc, Jmp, JmpInd, Call, CallInd, Ret, Str }

    /// <summary>Where the guest flags are: in the state block (Saved), or in host RFLAGS, unchanged since they were
    /// loaded from the state block (HostClean) or produced by a translated instruction (HostDirty).</summary>
    enum FLoc : byte { Saved, HostClean, HostDirty }

    // ------------------------------------------------------------------ entry and exit stubs

    /// <summary>The entry and exit stubs, assembled at rip: position-independent (they reach everything through
    /// r13 and jump only within themselves), so one assembly serves every region (JitCode.Stubs).</summary>
    public static (byte[] Code, int EnterOffset, int ExitOffset, int ExactOffset, int FaultOffset) BuildStubs(ulong rip)
    {
        var a = new Assembler(64);
        var exit = a.CreateLabel("exit");
        var exact = a.CreateLabel("exact");
        var enterL = a.CreateLabel("enter");
        a.Label(ref enterL);
        a.push(rbx); a.push(rbp); a.push(r12); a.push(r13); a.push(r14); a.push(r15);
        a.sub(rsp, 8);
        a.mov(r13, rdi);
        a.mov(r14, __qword_ptr[r13 + Jit.OffMemBase]);
        a.mov(r15, __qword_ptr[r13 + Jit.OffPermBase]);
        a.mov(r11, __qword_ptr[r13 + Jit.OffBudget]);
        a.mov(eax, __dword_ptr[r13 + 0]); a.mov(ecx, __dword_ptr[r13 + 4]); a.mov(edx, __dword_ptr[r13 + 8]);
        a.mov(ebx, __dword_ptr[r13 + 12]); a.mov(r12d, __dword_ptr[r13 + 16]); a.mov(ebp, __dword_ptr[r13 + 20]);
        a.mov(esi, __dword_ptr[r13 + 24]); a.mov(edi, __dword_ptr[r13 + 28]);
        a.jmp(__qword_ptr[r13 + Jit.OffTarget]);
        a.int3();
        a.Label(ref exit);
        var noFpu = a.CreateLabel();
        a.cmp(__byte_ptr[r13 + Jit.OffX87Loaded], 0);
        a.je(noFpu);
        a.fnsave(__[r13 + Jit.OffX87Img]); // also leaves the host FPU initialised, as the ABI wants it
        a.Label(ref noFpu);
        var noMmx = a.CreateLabel();
        a.cmp(__byte_ptr[r13 + Jit.OffMmxLoaded], 0);
        a.je(noMmx);
        StoreMm(a);
        a.Label(ref noMmx);
        var noSimd = a.CreateLabel();
        a.cmp(__byte_ptr[r13 + Jit.OffSimdLoaded], 0);
        a.je(noSimd);
        a.stmxcsr(__dword_ptr[r13 + Jit.OffMxcsr]);
        a.ldmxcsr(__dword_ptr[r13 + Jit.OffHostMxcsr]); // the host's rounding and masks back before .NET runs
        for (int k = 0; k < 8; k++) a.movaps(__xmmword_ptr[r13 + (Jit.OffXmm + 16 * k)], Xmm(k));
        a.Label(ref noSimd);
        a.mov(__dword_ptr[r13 + 0], eax); a.mov(__dword_ptr[r13 + 4], ecx); a.mov(__dword_ptr[r13 + 8], edx);
        a.mov(__dword_ptr[r13 + 12], ebx); a.mov(__dword_ptr[r13 + 16], r12d); a.mov(__dword_ptr[r13 + 20], ebp);
        a.mov(__dword_ptr[r13 + 24], esi); a.mov(__dword_ptr[r13 + 28], edi);
        a.mov(__qword_ptr[r13 + Jit.OffBudget], r11);
        a.mov(eax, r10d);
        a.add(rsp, 8);
        a.pop(r15); a.pop(r14); a.pop(r13); a.pop(r12); a.pop(rbp); a.pop(rbx);
        a.ret();
        // The exact test behind Check's pair test, shared by every access (called from a block's cold path, which
        // costs 4 instructions instead of 9): r8d the guest address, r9d = 0x1000 - size, plus 0x10000 for a write.
        // ZF=1 when [r8d, r8d+size) is on one page that allows the access; r9 is clobbered, nothing else.
        var write = a.CreateLabel(); var tested = a.CreateLabel(); var fail = a.CreateLabel();
        a.Label(ref exact);
        a.push(rax);
        a.mov(eax, r8d);
        a.shr(eax, 12);
        a.bt(r9d, 16);
        a.jc(write);
        a.test(__byte_ptr[r15 + rax], (byte)Memory.Prot.Read);
        a.jmp(tested);
        a.Label(ref write);
        a.test(__byte_ptr[r15 + rax], Memory.AddressSpace.WriteOk);
        a.Label(ref tested);
        a.jz(fail);
        a.mov(eax, r8d);
        a.and(eax, 0xFFF);
        a.movzx(r9d, r9w);
        a.cmp(eax, r9d);
        a.ja(fail);
        a.pop(rax);
        a.cmp(eax, eax); // ZF=1
        a.ret();
        a.Label(ref fail);
        a.pop(rax);
        a.or(r9d, 1); // ZF=0
        a.ret();
        // The fault stub (HostFaults): a read whose test was left out faulted; the handler moved the thread here with
        // every register as it was before the read, RFLAGS included. The flags go to OffFaultFlags (Jit.FromFault
        // takes them when the site had them in the host), then out.
        var fault = a.CreateLabel();
        a.Label(ref fault);
        StoreFlags(a, Jit.OffFaultFlags);
        a.mov(r10d, Jit.ExitFault);
        a.jmp(exit);
        var w = new BytesWriter();
        var res = a.Assemble(w, rip, BlockEncoderOptions.ReturnNewInstructionOffsets);
        return (w.Bytes.ToArray(), (int)(res.GetLabelRIP(enterL) - rip), (int)(res.GetLabelRIP(exit) - rip),
            (int)(res.GetLabelRIP(exact) - rip), (int)(res.GetLabelRIP(fault) - rip));
    }

    // ------------------------------------------------------------------ classification

    static bool Gpr(Register r) => r.IsGPR8() || r.IsGPR16() || r.IsGPR32();
    static bool High8(Register r) => r is Register.AH or Register.CH or Register.DH or Register.BH;

    static bool Addr32(in Instruction ins) =>
        ins.MemoryDisplSize != 2
        && (ins.MemoryBase == Register.None || ins.MemoryBase.IsGPR32())
        && (ins.MemoryIndex == Register.None || ins.MemoryIndex.IsGPR32());

    static int MemOp(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
            if (ins.GetOpKind(i) == OpKind.Memory) return i;
        return -1;
    }

    static bool OperandsOk(in Instruction ins)
    {
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register: if (!Gpr(ins.GetOpRegister(i))) return false; break;
                case OpKind.Memory: if (!Addr32(ins)) return false; break;
                case OpKind.Immediate8: case OpKind.Immediate16: case OpKind.Immediate32:
                case OpKind.Immediate8to16: case OpKind.Immediate8to32: case OpKind.NearBranch32: break;
                default: return false;
            }
        }
        return true;
    }

    /// <summary>x87 instructions that run on the host FPU: loads, stores, arithmetic, compares, FCMOV, constants,
    /// FSQRT/FRNDINT and the control-word/status-word moves. The transcendentals, FPREM/FSCALE/FXTRACT, BCD and
    /// the environment and state images stay with the interpreter.</summary>
    static bool HostX87(Mnemonic m) => m switch
    {
        Mnemonic.Fld or Mnemonic.Fst or Mnemonic.Fstp or Mnemonic.Fild or Mnemonic.Fist or Mnemonic.Fistp
            or Mnemonic.Fadd or Mnemonic.Faddp or Mnemonic.Fiadd or Mnemonic.Fsub or Mnemonic.Fsubp or Mnemonic.Fisub
            or Mnemonic.Fsubr or Mnemonic.Fsubrp or Mnemonic.Fisubr or Mnemonic.Fmul or Mnemonic.Fmulp or Mnemonic.Fimul
            or Mnemonic.Fdiv or Mnemonic.Fdivp or Mnemonic.Fidiv or Mnemonic.Fdivr or Mnemonic.Fdivrp or Mnemonic.Fidivr
            or Mnemonic.Fchs or Mnemonic.Fabs or Mnemonic.Fxch
            or Mnemonic.Fcom or Mnemonic.Fcomp or Mnemonic.Fcompp or Mnemonic.Fucom or Mnemonic.Fucomp or Mnemonic.Fucompp
            or Mnemonic.Ficom or Mnemonic.Ficomp or Mnemonic.Fcomi or Mnemonic.Fcomip or Mnemonic.Fucomi or Mnemonic.Fucomip
            or Mnemonic.Ftst or Mnemonic.Fxam
            or Mnemonic.Fld1 or Mnemonic.Fldz or Mnemonic.Fldpi or Mnemonic.Fldl2e or Mnemonic.Fldl2t or Mnemonic.Fldlg2 or Mnemonic.Fldln2
            or Mnemonic.Fsqrt or Mnemonic.Frndint
            or Mnemonic.Fcmovb or Mnemonic.Fcmove or Mnemonic.Fcmovbe or Mnemonic.Fcmovu
            or Mnemonic.Fcmovnb or Mnemonic.Fcmovne or Mnemonic.Fcmovnbe or Mnemonic.Fcmovnu
            or Mnemonic.Ffree or Mnemonic.Fincstp or Mnemonic.Fdecstp
            or Mnemonic.Fnstcw or Mnemonic.Fldcw or Mnemonic.Fnstsw or Mnemonic.Fnclex => true,
        _ => false,
    };

    /// <summary>Control instructions do not update the instruction/operand pointers (SDM 8.1.8).</summary>
    static bool X87Control(Mnemonic m) => m is Mnemonic.Fnstcw or Mnemonic.Fldcw or Mnemonic.Fnstsw or Mnemonic.Fnclex;

    static K ClassifyX87(in Instruction ins)
    {
        if (!HostX87(ins.Mnemonic) || ins.HasLockPrefix || ins.HasRepePrefix || ins.HasRepnePrefix) return K.None;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    var r = ins.GetOpRegister(i);
                    if (!(r >= Register.ST0 && r <= Register.ST7) && r != Register.AX) return K.None;
                    break;
                case OpKind.Memory: if (!Addr32(ins)) return K.None; break;
                default: return K.None;
            }
        }
        return K.X87;
    }

    // ------------------------------------------------------------------ SSE on the host

    static AssemblerRegisterXMM Xmm(int k) => k switch
    {
        0 => xmm0, 1 => xmm1, 2 => xmm2, 3 => xmm3, 4 => xmm4, 5 => xmm5, 6 => xmm6, 7 => xmm7,
        8 => xmm8, 9 => xmm9, 10 => xmm10, 11 => xmm11, 12 => xmm12, 13 => xmm13, 14 => xmm14, _ => xmm15,
    };

    /// <summary>Features whose instructions may run as themselves on the host (MMX aliases the x87 registers and
    /// stays the interpreter's, as do the features no model offers).</summary>
    const CpuFeature Hostable = CpuFeature.Sse | CpuFeature.Sse2 | CpuFeature.Sse3 | CpuFeature.Ssse3 | CpuFeature.Sse41
        | CpuFeature.Sse42 | CpuFeature.Aes | CpuFeature.Pclmulqdq | CpuFeature.Popcnt | CpuFeature.Movbe;

    /// <summary>COMPAT32_JIT_SIMD=0 leaves every SSE instruction to the interpreter (for measurements and bisecting).</summary>
    static readonly bool SimdOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_SIMD") != "0";

    /// <summary>What the host CPU itself executes (CPUID.1:ECX; SSE and SSE2 are x86-64's baseline).</summary>
    static readonly CpuFeature HostHas = HostFeatures();
    /// <summary>The host features translations may use (TranslationStore keys its files by them).</summary>
    internal static CpuFeature HostFeatureSet => HostHas;

    static CpuFeature HostFeatures()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported) return 0;
        uint c = (uint)System.Runtime.Intrinsics.X86.X86Base.CpuId(1, 0).Ecx;
        var f = CpuFeature.Sse | CpuFeature.Sse2;
        if ((c & 1u << 0) != 0) f |= CpuFeature.Sse3;
        if ((c & 1u << 1) != 0) f |= CpuFeature.Pclmulqdq;
        if ((c & 1u << 9) != 0) f |= CpuFeature.Ssse3;
        if ((c & 1u << 19) != 0) f |= CpuFeature.Sse41;
        if ((c & 1u << 20) != 0) f |= CpuFeature.Sse42;
        if ((c & 1u << 22) != 0) f |= CpuFeature.Movbe;
        if ((c & 1u << 23) != 0) f |= CpuFeature.Popcnt;
        if ((c & 1u << 25) != 0) f |= CpuFeature.Aes;
        return f;
    }

    /// <summary>An SSE-generation instruction the guest model and the host both have: K.Simd when it touches XMM
    /// state (MXCSR, the registers), K.Generic for the scalar ones (POPCNT, MOVBE, CRC32, the fences).
    /// MXCSR loads, MMX-state conversions, MASKMOVDQU (implicit EDI store), CLFLUSH, LZCNT/TZCNT
    /// (their undefined flags), RCP/RSQRT and anything with an MMX register stay the interpreter's.</summary>
    static K ClassifySimd(in Instruction ins, CpuFeature need, CpuFeature guest)
    {
        if (!SimdOn) return K.None;
        if ((need & ~Hostable) != 0 || (need & ~guest) != 0 || (need & ~HostHas) != 0) return K.None;
        if (ins.Encoding != EncodingKind.Legacy || ins.HasLockPrefix) return K.None;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Ldmxcsr: case Mnemonic.Stmxcsr: case Mnemonic.Maskmovdqu:
            case Mnemonic.Cvtpi2ps: case Mnemonic.Cvtpi2pd: case Mnemonic.Cvtps2pi: case Mnemonic.Cvtpd2pi:
            case Mnemonic.Cvttps2pi: case Mnemonic.Cvttpd2pi: case Mnemonic.Movq2dq: case Mnemonic.Movdq2q:
            case Mnemonic.Clflush: case Mnemonic.Lzcnt: case Mnemonic.Tzcnt: case Mnemonic.Pause:
            // approximations: each vendor's tables differ from the interpreter's (the definition), so a result
            // must not depend on whether its block was translated
            case Mnemonic.Rcpps: case Mnemonic.Rcpss: case Mnemonic.Rsqrtps: case Mnemonic.Rsqrtss:
                return K.None;
        }
        // A prefetch is a hint that never faults (SDM PREFETCHh): nothing to run (glibc's large-copy loops start with one).
        if (ins.Mnemonic is Mnemonic.Prefetchnta or Mnemonic.Prefetcht0 or Mnemonic.Prefetcht1 or Mnemonic.Prefetcht2) return K.Nop;
        bool xmm = false;
        for (int i = 0; i < ins.OpCount; i++)
        {
            switch (ins.GetOpKind(i))
            {
                case OpKind.Register:
                    var r = ins.GetOpRegister(i);
                    if (r >= Register.XMM0 && r <= Register.XMM7) xmm = true;
                    else if (!Gpr(r)) return K.None;
                    break;
                case OpKind.Memory: if (!Addr32(ins)) return K.None; break;
                case OpKind.Immediate8: break;
                default: return K.None;
            }
        }
        // Only these leave XMM and MXCSR alone; CVTTSS2SI r32, m32 and the like have no XMM operand but round by MXCSR.
        bool scalar = ins.Mnemonic is Mnemonic.Popcnt or Mnemonic.Movbe or Mnemonic.Crc32 or Mnemonic.Movnti
            or Mnemonic.Lfence or Mnemonic.Mfence or Mnemonic.Sfence;
        return scalar && !xmm ? K.Generic : K.Simd;
    }

    bool simdGated;

    /// <summary>An SSE instruction as itself on the host's XMM registers and MXCSR: the first one of a block loads
    /// the guest's (unless this entry did already) or leaves for the interpreter when the guest unmasks a SIMD
    /// exception; a memory operand is checked as for integer instructions, and a 16-byte one that must be aligned
    /// and is not leaves too (the interpreter raises the #GP).</summary>
    void EmitSimd(in Instruction ins, int i)
    {
        SimdGate(i);
        if (MemOp(ins) < 0) { EmitPlain(ins); return; }
        int size = ins.MemorySize.GetSize();
        bool site = ins.Op0Kind != OpKind.Memory ? ReadSite(i, ins.MemorySegment) : WriteSite(i, ins.MemorySegment);
        var h = HostForm(ins);
        // A 16-byte operand that must be aligned: at a site the host's same legacy instruction (with the guest's
        // MXCSR, so no misaligned-SSE mode) raises the #GP itself, which HostFaults treats as the site's fault;
        // else a test. With neither a check nor a test the flags may stay in the host across it.
        bool alignTest = size == 16 && !Processor.AlignmentFree(ins.Mnemonic) && !(site && h.Code == ins.Code);
        if (!site || alignTest) SaveIfDirty();
        Address(ins, i);
        if (!site) Check(size, ins.Op0Kind == OpKind.Memory, i);
        if (alignTest)
        {
            a.test(r8d, 15);
            a.jnz(SlowLabelAt(i));
        }
        BeforeExecute(ins);
        if (site) MarkSite(i);
        a.AddInstruction(h);
        AfterExecute(ins);
    }

    /// <summary>The first SSE (or XMM-using MMX) instruction of a block loads the guest's XMM and MXCSR unless this
    /// entry did already, or leaves for the interpreter when the guest unmasks a SIMD exception.</summary>
    void SimdGate(int i) { if (!simdGated) OpenSimd(i); }

    Label OpenSimd(int i)
    {
        var loaded = GateHead(Jit.OffSimdLoaded, Jit.OffSimdOk, i);
        a.stmxcsr(__dword_ptr[r13 + Jit.OffHostMxcsr]);
        a.ldmxcsr(__dword_ptr[r13 + Jit.OffMxcsr]);
        for (int k = 0; k < 8; k++) a.movaps(Xmm(k), __xmmword_ptr[r13 + (Jit.OffXmm + 16 * k)]);
        a.mov(__byte_ptr[r13 + Jit.OffSimdLoaded], 1);
        a.Label(ref loaded);
        simdGated = true;
        UsesSimd = jit.HasSimd = true;
        return loaded;
    }

    CpuFeature guest;

    K Classify(in Instruction ins)
    {
        if (ins.IsInvalid) return K.None;
        if (ins.SegmentPrefix == Register.CS) return K.None; // a write through CS faults: the interpreter's
        // No model has BMI1, so TZCNT is BSF (the F3 prefix ignored, SDM TZCNT), as LZCNT is BSR without ABM: the
        // interpreter's ExecBitScan either way (HostForm encodes the BSF/BSR).
        if (ins.Mnemonic == Mnemonic.Tzcnt || ins.Mnemonic == Mnemonic.Lzcnt && (guest & CpuFeature.Abm) == 0)
            return OperandsOk(ins) && !ins.HasLockPrefix ? K.Generic : K.None;
        if (Processor.SimdNeed[(int)ins.Code] is var need && need != 0)
            return MmxForm(ins) ? ClassifyMmx(ins, need, guest) : ClassifySimd(ins, need, guest);
        if (ins.Mnemonic >= Mnemonic.F2xm1 && ins.Mnemonic <= Mnemonic.Fyl2xp1)
            return ClassifyX87(ins);
        if (StringOrDf(ins)) return ClassifyString(ins);
        if (!OperandsOk(ins)) return K.None;
        int mem = MemOp(ins);
        switch (ins.Mnemonic)
        {
            case Mnemonic.Nop: return K.Nop;
            case Mnemonic.Lea: return ins.HasLockPrefix || ins.Op0Register.IsGPR8() ? K.None : K.Lea;
            case Mnemonic.Jo: case Mnemonic.Jno: case Mnemonic.Jb: case Mnemonic.Jae: case Mnemonic.Je: case Mnemonic.Jne:
            case Mnemonic.Jbe: case Mnemonic.Ja: case Mnemonic.Js: case Mnemonic.Jns: case Mnemonic.Jp: case Mnemonic.Jnp:
            case Mnemonic.Jl: case Mnemonic.Jge: case Mnemonic.Jle: case Mnemonic.Jg:
                return ins.Op0Kind == OpKind.NearBranch32 ? K.Jcc : K.None;
            case Mnemonic.Jmp:
                if (ins.Op0Kind == OpKind.NearBranch32) return K.Jmp;
                return (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsGPR32())
                    || (ins.Op0Kind == OpKind.Memory && ins.MemorySize is MemorySize.UInt32 or MemorySize.DwordOffset && Addr32(ins)) ? K.JmpInd : K.None;
            case Mnemonic.Call:
                if (ins.Op0Kind == OpKind.NearBranch32) return K.Call;
                return (ins.Op0Kind == OpKind.Register && ins.Op0Register.IsGPR32())
                    || (ins.Op0Kind == OpKind.Memory && ins.MemorySize is MemorySize.UInt32 or MemorySize.DwordOffset && Addr32(ins)) ? K.CallInd : K.None;
            case Mnemonic.Ret:
                return ins.Code is Code.Retnd or Code.Retnd_imm16 ? K.Ret : K.None;
            case Mnemonic.Push:
                if (ins.Code == Code.Push_r32) return K.PushR;
                if (ins.Code is Code.Pushd_imm32 or Code.Pushd_imm8) return K.PushI;
                if (ins.Code == Code.Push_rm32) return ins.Op0Kind == OpKind.Register ? K.PushR : K.PushM;
                return K.None;
            case Mnemonic.Pop:
                return ins.Code == Code.Pop_r32 || (ins.Code == Code.Pop_rm32 && ins.Op0Kind == OpKind.Register) ? K.PopR : K.None;
            case Mnemonic.Leave:
                return ins.Code == Code.Leaved ? K.Leave : K.None;
            case Mnemonic.Div: case Mnemonic.Idiv:
                if (ins.Op0Kind == OpKind.Register && High8(ins.Op0Register)) return K.None;
                return K.Div;
            case Mnemonic.Bt: case Mnemonic.Bts: case Mnemonic.Btr: case Mnemonic.Btc:
                // With a register bit offset the memory form addresses outside its operand: the interpreter's.
                if (mem >= 0 && ins.Op1Kind == OpKind.Register) return K.None;
                break;
            case Mnemonic.Mov: case Mnemonic.Movzx: case Mnemonic.Movsx:
            case Mnemonic.Add: case Mnemonic.Or: case Mnemonic.Adc: case Mnemonic.Sbb:
            case Mnemonic.And: case Mnemonic.Sub: case Mnemonic.Xor: case Mnemonic.Cmp: case Mnemonic.Test:
            case Mnemonic.Inc: case Mnemonic.Dec: case Mnemonic.Neg: case Mnemonic.Not:
            case Mnemonic.Shl: case Mnemonic.Sal: case Mnemonic.Shr: case Mnemonic.Sar:
            case Mnemonic.Rol: case Mnemonic.Ror: case Mnemonic.Rcl: case Mnemonic.Rcr:
            case Mnemonic.Shld: case Mnemonic.Shrd:
            case Mnemonic.Mul: case Mnemonic.Imul:
            case Mnemonic.Seto: case Mnemonic.Setno: case Mnemonic.Setb: case Mnemonic.Setae:
            case Mnemonic.Sete: case Mnemonic.Setne: case Mnemonic.Setbe: case Mnemonic.Seta:
            case Mnemonic.Sets: case Mnemonic.Setns: case Mnemonic.Setp: case Mnemonic.Setnp:
            case Mnemonic.Setl: case Mnemonic.Setge: case Mnemonic.Setle: case Mnemonic.Setg:
            case Mnemonic.Cmovo: case Mnemonic.Cmovno: case Mnemonic.Cmovb: case Mnemonic.Cmovae:
            case Mnemonic.Cmove: case Mnemonic.Cmovne: case Mnemonic.Cmovbe: case Mnemonic.Cmova:
            case Mnemonic.Cmovs: case Mnemonic.Cmovns: case Mnemonic.Cmovp: case Mnemonic.Cmovnp:
            case Mnemonic.Cmovl: case Mnemonic.Cmovge: case Mnemonic.Cmovle: case Mnemonic.Cmovg:
            case Mnemonic.Xchg: case Mnemonic.Xadd: case Mnemonic.Cmpxchg: case Mnemonic.Cmpxchg8b:
            case Mnemonic.Bswap: case Mnemonic.Bsf: case Mnemonic.Bsr:
            case Mnemonic.Cbw: case Mnemonic.Cwde: case Mnemonic.Cwd: case Mnemonic.Cdq:
            case Mnemonic.Clc: case Mnemonic.Stc: case Mnemonic.Cmc:
                break;
            default:
                return K.None;
        }
        if (ins.HasLockPrefix)
        {
            // Only the lockable read-modify-write forms with a memory destination (else #UD: the interpreter's).
            if (ins.Op0Kind != OpKind.Memory) return K.None;
            if (ins.Mnemonic is not (Mnemonic.Add or Mnemonic.Or or Mnemonic.Adc or Mnemonic.Sbb or Mnemonic.And
                or Mnemonic.Sub or Mnemonic.Xor or Mnemonic.Inc or Mnemonic.Dec or Mnemonic.Neg or Mnemonic.Not
                or Mnemonic.Xchg or Mnemonic.Xadd or Mnemonic.Cmpxchg or Mnemonic.Cmpxchg8b
                or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc)) return K.None;
        }
        return K.Generic;
    }

    static bool IsTerminator(K k) => k is K.Jcc or K.Jmp or K.JmpInd or K.Call or K.CallInd or K.Ret;

    // ------------------------------------------------------------------ register mapping

    static Register Host(Register g) => g switch
    {
        Register.ESP => Register.R12D,
        Register.SP => Register.R12W,
        _ => g,
    };

    static Register Host64(Register g32) => g32 switch
    {
        Register.None => Register.None,
        Register.EAX => Register.RAX, Register.ECX => Register.RCX, Register.EDX => Register.RDX,
        Register.EBX => Register.RBX, Register.ESP => Register.R12, Register.EBP => Register.RBP,
        Register.ESI => Register.RSI, Register.EDI => Register.RDI,
        _ => throw new InvalidOperationException("not a 32-bit GPR: " + g32),
    };

    /// <summary>The host form of a generic instruction: registers mapped, memory operand [r14+r8].</summary>
    static Instruction HostForm(in Instruction ins, bool direct = false)
    {
        var h = ins;
        switch (ins.Code)
        {
            // moffs forms have no ModRM: use the ModRM forms (same semantics).
            case Code.Mov_AL_moffs8: return Instruction.Create(Code.Mov_r8_rm8, Register.AL, R14R8);
            case Code.Mov_AX_moffs16: return Instruction.Create(Code.Mov_r16_rm16, Register.AX, R14R8);
            case Code.Mov_EAX_moffs32: return Instruction.Create(Code.Mov_r32_rm32, Register.EAX, R14R8);
            case Code.Mov_moffs8_AL: return Instruction.Create(Code.Mov_rm8_r8, R14R8, Register.AL);
            case Code.Mov_moffs16_AX: return Instruction.Create(Code.Mov_rm16_r16, R14R8, Register.AX);
            case Code.Mov_moffs32_EAX: return Instruction.Create(Code.Mov_rm32_r32, R14R8, Register.EAX);
            // 40+r/48+r are REX prefixes in 64-bit mode.
            case Code.Inc_r16: h.Code = Code.Inc_rm16; break;
            case Code.Inc_r32: h.Code = Code.Inc_rm32; break;
            case Code.Dec_r16: h.Code = Code.Dec_rm16; break;
            case Code.Dec_r32: h.Code = Code.Dec_rm32; break;
            // (Classify lets these through only where the guest runs them as BSF/BSR)
            case Code.Tzcnt_r16_rm16: h.Code = Code.Bsf_r16_rm16; break;
            case Code.Tzcnt_r32_rm32: h.Code = Code.Bsf_r32_rm32; break;
            case Code.Lzcnt_r16_rm16: h.Code = Code.Bsr_r16_rm16; break;
            case Code.Lzcnt_r32_rm32: h.Code = Code.Bsr_r32_rm32; break;
        }
        for (int i = 0; i < h.OpCount; i++)
            if (h.GetOpKind(i) == OpKind.Register) h.SetOpRegister(i, Host(h.GetOpRegister(i)));
        // AH/CH/DH/BH cannot be encoded with the REX prefix [r14+r8] needs: a read-only one is read from R10B,
        // which EmitMem fills with RORX (no flag changes).
        if (High8Source(ins) is var hi && hi != Register.None)
            for (int i = 0; i < h.OpCount; i++)
                if (h.GetOpKind(i) == OpKind.Register && h.GetOpRegister(i) == hi) h.SetOpRegister(i, Register.R10L);
        if (MemOp(ins) >= 0)
        {
            if (ins.Mnemonic == Mnemonic.Lea)
            {
                h.MemoryBase = Host64(ins.MemoryBase);
                h.MemoryIndex = Host64(ins.MemoryIndex);
                h.MemoryDisplacement64 = (ulong)(long)(int)ins.MemoryDisplacement32;
                h.MemoryDisplSize = ins.MemoryDisplacement32 == 0 && ins.MemoryBase != Register.None ? 0 : 8;
            }
            else if (direct)
            {
                // [r14 + base + disp]: the guest's base as the index (R12, ESP's home, can be one; RSP could not).
                h.MemoryBase = Register.R14;
                h.MemoryIndex = Host64(ins.MemoryBase);
                h.MemoryIndexScale = 1;
                h.MemoryDisplacement64 = (ulong)(long)(int)ins.MemoryDisplacement32;
                h.MemoryDisplSize = ins.MemoryDisplacement32 == 0 ? 0 : 8;
            }
            else
            {
                h.MemoryBase = Register.R14;
                h.MemoryIndex = Register.R8;
                h.MemoryIndexScale = 1;
                h.MemoryDisplacement64 = 0;
                h.MemoryDisplSize = 0;
            }
            h.SegmentPrefix = Register.None;
        }
        h.HasRepePrefix = false;
        h.HasRepnePrefix = false;
        h.IP = 0; // the assembler reads an instruction's IP as the id of the label on it: never the guest's EIP
        return h;
    }

    static MemoryOperand R14R8 => new(Register.R14, Register.R8, 1, 0, 0);

    /// <summary>CPUID.(EAX=7,ECX=0):EBX.BMI2[bit 8] (RORX), asked directly as HostFeatures does.</summary>
    static readonly bool HostBmi2 = System.Runtime.Intrinsics.X86.X86Base.IsSupported
        && (System.Runtime.Intrinsics.X86.X86Base.CpuId(0, 0).Eax >= 7)
        && (System.Runtime.Intrinsics.X86.X86Base.CpuId(7, 0).Ebx & 1 << 8) != 0;

    /// <summary>The high-byte register a memory form only reads (glibc's i386 strlen: CMP [EAX], DH), or None.
    /// Forms that write it (MOV DH, [m], XCHG, XADD, CMPXCHG) stay the interpreter's.</summary>
    static Register High8Source(in Instruction ins)
    {
        if (!HostBmi2 || MemOp(ins) < 0 || ins.Mnemonic == Mnemonic.Lea) return Register.None;
        if (ins.Op0Kind == OpKind.Memory && ins.OpCount == 2 && ins.Op1Kind == OpKind.Register && High8(ins.Op1Register)
            && ins.Mnemonic is Mnemonic.Mov or Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Add or Mnemonic.Or or Mnemonic.Adc
                or Mnemonic.Sbb or Mnemonic.And or Mnemonic.Sub or Mnemonic.Xor)
            return ins.Op1Register;
        if (ins.Op0Kind == OpKind.Register && High8(ins.Op0Register) && ins.OpCount == 2 && ins.Op1Kind == OpKind.Memory
            && ins.Mnemonic is Mnemonic.Cmp or Mnemonic.Test)
            return ins.Op0Register;
        return Register.None;
    }

    sealed class NullWriter : CodeWriter { public override void WriteByte(byte value) { } }
    readonly Encoder probe = Encoder.Create(64, new NullWriter());

    bool Encodable(in Instruction ins)
    {
        return probe.TryEncode(HostForm(ins), 0x100000, out _, out _);
    }

    // ------------------------------------------------------------------ translation

    readonly Assembler a = new(64);
    readonly BytesWriter output = new();
    readonly HostAssembler hostAsm = new();
    /// <summary>The HostAssembler that encoded the last block (its list of outside references), or null when
    /// Iced's BlockEncoder did.</summary>
    public HostAssembler? LastEncoded;
    FLoc loc;
    readonly List<(Label label, uint eip, int index)> slow = new();
    /// <summary>Per slow exit: the x87 pointer still pending there (FIP, FOP, FDS; 0 none), stored by its stub.</summary>
    readonly List<(uint fip, uint fop, uint fds)> slowX87 = new();
    readonly Dictionary<uint, Label> exits = new();
    /// <summary>Taken sides of mid-block conditional branches: their stub label, target, instructions retired by
    /// then, whether the flags are the host's own there (to be stored), and the x87 pointer pending there.</summary>
    readonly List<(Label label, uint target, int retired, bool dirty, (uint fip, uint fop, uint fds) x87)> midExits = new();

    /// <summary>Host code for blk's leading translatable instructions, or 0. With hoist, the memory checks whose
    /// address is known at block entry run there (PlanChecks).</summary>
    public nint Translate(Block blk, CpuFeature guestFeatures, out bool failed, bool hoist = true)
    {
        failed = false;
        guest = guestFeatures;
        var insns = redecoder.All(blk);
        int n = blk.Count;
        if (blk.Start == Jit.NoTag) return 0;
        var kinds = new K[n];
        int p = 0;
        while (p < n)
        {
            var k = Classify(insns[p]);
            if (k is K.Generic or K.Simd && !Encodable(insns[p])) k = K.None;
            if (k == K.None) break;
            kinds[p++] = k;
            if (IsTerminator(k) && !(k == K.Jcc && p < n)) break; // a Jcc mid-block leaves only when taken
        }
        if (p == 0 || (p < MinPrefix && p < n))
        {
            if (Jit.Debug) Console.Error.WriteLine($"jit: no {blk.Start:x} p={p} n={n} {insns[p]}");
            return 0;
        }

        a.Reset(); // one assembler and one output buffer per translator: a fresh pair per block was ~10% of a cold start's allocation
        UsesX87 = UsesSimd = UsesMmx = false;
        fpuGated = false;
        simdGated = false;
        mmxGated = false;
        MmxCount = 0;
        LastThunks.Clear();
        currentBlock = blk;
        currentInsns = insns;
        curSlowIndex = -1;
        slow.Clear();
        slowX87.Clear();
        siteIns.Clear();
        LastSites.Clear();
        linkSites.Clear();
        LastLinks.Clear();
        exactChecks.Clear();
        stops.Clear();
        exits.Clear();
        midExits.Clear();
        loc = FLoc.Saved;
        blockEntry = a.CreateLabel();
        a.Label(ref blockEntry);
        LoopGates(insns, kinds, p);
        PlanChecks(insns, kinds, p, hoist);
        PlanFlags(insns, kinds, p);
        EmitEntryChecks();
        if (hoistUsed) { afterChecks = a.CreateLabel(); a.Label(ref afterChecks); }
        else afterChecks = bodyEntry; // (one label per instruction)
        if (holding == groups.Count && !lockedChecks) loopEntry = afterChecks; // every check still holds
        curKinds = kinds;
        passTest = -1;
        lastPass = false;
        loopFlags = null;
        if (holding == groups.Count && !lockedChecks)
        {
            passTest = PassTestAt(insns, kinds, p);
            if (passTest < 0) loopFlags = LoopFlagsWriter(insns, kinds, p);
            if (passTest >= 0 || loopFlags != null)
            {
                // The loop keeps the guest flags in host RFLAGS across its back edge (EmitPassTest, else LoopBack):
                // they are loaded once per entry, and the body runs as after a flag write (every exit stores them).
                FlagsInHost();
                loopEntry = a.CreateLabel();
                a.Label(ref loopEntry);
                loc = FLoc.HostDirty;
            }
        }
        if (joins.Length < p) joins = new Join[p * 2];
        else Array.Clear(joins, 0, p);
        forwards.Clear();
        x87Fip = x87Fds = 0;
        for (int i = 0; i < p; i++)
        {
            // A join is reached with the pointer stored on the taken side (the branch flushed it).
            if (joins[i].Pending) { FlushX87Ptr(); MergeAt(i); }
            // A mid-block Jcc that leaves when taken stores the pointer in its exit stub instead (midExits).
            if (kinds[i] != K.X87 && !StaysInBlock(insns[i], kinds[i])
                && !(kinds[i] == K.Jcc && i < p - 1 && ForwardTarget(insns[i], i, p) <= 0)) FlushX87Ptr();
            if (i == passTest) EmitPassTest(p);
            EmitOne(insns[i], kinds[i], i, p);
        }
        if (passTest >= 0) EmitLastPass(insns, kinds, p);
        if (!IsTerminator(kinds[p - 1]))
        {
            FlushX87Ptr();
            SaveIfDirty();
            DispatchConst((uint)insns[p - 1].NextIP, p);
        }
        foreach (var (label, join, skipped) in forwards)
        {
            // The taken side of a branch to a later instruction of the block: the instructions it skips were counted
            // by every exit after them, so give them back.
            var l = label;
            a.Label(ref l);
            a.lea(r11, __[r11 + skipped]);
            a.jmp(joins[join].Label);
        }
        loopEntry = blockEntry; // a mid-block exit's registers are not the block end's
        foreach (var (label, target, retired, dirty, x87) in midExits)
        {
            var l = label;
            a.Label(ref l);
            StoreX87Ptr(x87.fip, x87.fop, x87.fds);
            loc = dirty ? FLoc.HostDirty : FLoc.HostClean;
            SaveIfDirty();
            DispatchConst(target, retired);
        }
        EmitExactChecks();
        EmitExits(slow, Jit.ExitInterpret, slowX87);
        EmitExits(stops, Jit.ExitDispatch);
        if (hoistUsed)
        {
            a.Label(ref hoistFail);
            a.mov(__dword_ptr[r13 + Jit.OffEip], blk.Start);
            a.mov(r10d, Jit.ExitHoist);
            a.jmp(jit.ExitAddr);
        }
        foreach (var (eip, label) in exits)
        {
            var l = label;
            a.Label(ref l);
            a.mov(__dword_ptr[r13 + Jit.OffEip], eip);
            a.mov(r10d, Jit.ExitDispatch);
            a.jmp(jit.ExitAddr);
        }
        // The link cells, after the code (JitCode fills them: the lookup path's address, or the successor's code).
        int cellsFrom = a.Instructions.Count;
        foreach (var (cell, _, _) in linkSites)
        {
            var l = cell;
            a.Label(ref l);
            a.dq(0UL);
        }
        ulong rip = jit.CodeCursor;
        var w = output;
        w.Bytes.Clear();
        LastEncoded = null;
        if (!HostAssembler.Off && hostAsm.TryAssemble(a.Instructions, rip, w.Bytes, cellsFrom))
        {
            LastEncoded = hostAsm;
            foreach (var st in siteIns) LastSites.Add(st with { Off = hostAsm.OffsetOf(st.Off) });
            foreach (var (cell, lookup, target) in linkSites)
                LastLinks.Add(new LinkSite(hostAsm.OffsetOfLabel(cell.Id), hostAsm.OffsetOfLabel(lookup.Id), target));
        }
        else
        {
            if (!HostAssembler.Off) Interlocked.Increment(ref HostAssembler.Fallbacks);
            w.Bytes.Clear();
            try
            {
                var res = a.Assemble(w, rip, siteIns.Count + linkSites.Count > 0 ? BlockEncoderOptions.ReturnNewInstructionOffsets : BlockEncoderOptions.None);
                var offs = siteIns.Count + linkSites.Count > 0 ? res.Result[0].NewInstructionOffsets : null;
                foreach (var st in siteIns) LastSites.Add(st with { Off = (int)offs![st.Off] });
                // (the BlockEncoder cannot align the cells: JitCode leaves a misaligned one on its lookup path)
                foreach (var (cell, lookup, target) in linkSites)
                    LastLinks.Add(new LinkSite((int)offs![IndexOfLabel(cell)], (int)offs[IndexOfLabel(lookup)], target));
            }
            catch (Exception e) { failed = true; if (Jit.Debug) Console.Error.WriteLine($"jit: {blk.Start:x}: {e.Message}"); return 0; }
        }
        var bytes = w.Bytes;
        if ((ulong)bytes.Count > jit.CodeLeft) return 0;
        var dst = jit.CodeAt(rip, bytes.Count);
        for (int i = 0; i < bytes.Count; i++) dst[i] = bytes[i];
        jit.Commit(bytes.Count);
        LastLength = bytes.Count;
        LastPassTested = passTest >= 0;
        if (Jit.Debug)
        {
            Console.Error.WriteLine($"jit: block {jit.TranslatedCount} at {blk.Start:x8} ({p} of {n}) -> {rip:x}");
            for (int i = 0; i < p; i++) Console.Error.WriteLine($"jit:   {insns[i].IP:x8} {insns[i]}");
            if (Jit.DebugHost)
            {
                var d = Decoder.Create(64, new ByteArrayCodeReader(bytes.ToArray()), rip);
                while (d.IP < rip + (ulong)bytes.Count) { var h = d.Decode(); Console.Error.WriteLine($"jit:     {h.IP:x} {h}"); }
            }
        }
        return (nint)rip;
    }

    /// <summary>The index in the assembler's list of the instruction a label marks (its IP is the label's id).</summary>
    int IndexOfLabel(Label l)
    {
        var list = a.Instructions;
        for (int i = 0; i < list.Count; i++) if (list[i].IP == l.Id) return i;
        throw new InvalidOperationException("label not placed");
    }

    int cur;

    /// <summary>The last numeric x87 instruction's FIP, FOP and FDS not yet in the state block (0: none). They are
    /// only read once the block is left (the interpreter, a signal frame, FNSTENV), so a run of x87 instructions
    /// stores them once, before whatever may leave the block, instead of at each instruction: four stores per x87
    /// instruction were 40% of dmath.c's x87 time. FDP is stored at its instruction (r8d holds it only there).</summary>
    uint x87Fip, x87Fop, x87Fds; // x87Fds: 0 none (a recorded one has bit 31 set)

    /// <summary>Store the pending x87 instruction pointer (called before anything that may leave the block).</summary>
    void FlushX87Ptr()
    {
        StoreX87Ptr(x87Fip, x87Fop, x87Fds);
        x87Fip = x87Fds = 0;
    }

    /// <summary>FIP, FOP and FDS (if recorded) into the state block; nothing when no pointer is pending (fip 0).</summary>
    void StoreX87Ptr(uint fip, uint fop, uint fds)
    {
        if (fip == 0) return;
        a.mov(__dword_ptr[r13 + Jit.OffX87Fip], fip);
        a.mov(__dword_ptr[r13 + Jit.OffX87Fop], (int)fop);
        if (fds != 0) a.mov(__dword_ptr[r13 + Jit.OffX87Fds], (int)fds);
    }

    /// <summary>Instruction i cannot leave the block nor fault: a pending x87 pointer may wait past it.</summary>
    bool StaysInBlock(in Instruction ins, K k) => k is K.Nop or K.Lea || (k == K.Generic && MemOp(ins) < 0);

    /// <summary>Exits at an instruction: EIP stored, the budget charged for the instructions before it, reason.</summary>
    void EmitExits(List<(Label label, uint eip, int index)> list, int reason, List<(uint fip, uint fop, uint fds)>? x87 = null)
    {
        for (int k = 0; k < list.Count; k++)
        {
            var (label, eip, index) = list[k];
            var l = label;
            a.Label(ref l);
            if (x87 != null) StoreX87Ptr(x87[k].fip, x87[k].fop, x87[k].fds);
            a.mov(__dword_ptr[r13 + Jit.OffEip], eip);
            if (index > 0) a.lea(r11, __[r11 - index]);
            a.mov(r10d, reason);
            a.jmp(jit.ExitAddr);
        }
    }

    void EmitOne(in Instruction ins, K k, int i, int count)
    {
        cur = i;
        switch (k)
        {
            case K.Nop: return;
            case K.Lea: EmitPlain(ins); return;
            case K.Generic:
                if (MemOp(ins) < 0) EmitPlain(ins);
                else EmitMem(ins, i);
                return;
            case K.Div: EmitDiv(ins, i); return;
            case K.X87: EmitX87(ins, i); return;
            case K.Simd: EmitSimd(ins, i); return;
            case K.Mmx: EmitMmx(ins, i); return;
            case K.Str: EmitString(ins, i); return;
            case K.PushR:
            {
                bool ws = WriteSite(i, Register.SS);
                if (!ws && !AllHoisted(i)) SaveIfDirty();
                a.lea(r8d, __[r12 - 4]);
                if (ws) MarkSite(i);
                else Check(4, true, i);
                a.AddInstruction(Instruction.Create(Code.Mov_rm32_r32, new MemoryOperand(Register.R14, Register.R8), Host(ins.Op0Register)));
                a.mov(r12d, r8d);
                return;
            }
            case K.PushI:
            {
                bool ws = WriteSite(i, Register.SS);
                if (!ws && !AllHoisted(i)) SaveIfDirty();
                a.lea(r8d, __[r12 - 4]);
                if (ws) MarkSite(i);
                else Check(4, true, i);
                a.mov(__dword_ptr[r14 + r8], (int)(long)ins.GetImmediate(0));
                a.mov(r12d, r8d);
                return;
            }
            case K.PushM:
            {
                // Two accesses, each a site or checked: whichever faults, nothing of the instruction has happened yet.
                int c0 = accNext[i];
                bool rs = SiteAt(i, c0, ins.MemorySegment, false), ws = SiteAt(i, c0 + 1, Register.SS, true);
                if (!(rs && ws) && !AllHoisted(i)) SaveIfDirty();
                Address(ins, i);
                if (rs) { accNext[i]++; MarkSite(i); }
                else Check(4, false, i);
                a.mov(r10d, __dword_ptr[r14 + r8]);
                a.lea(r8d, __[r12 - 4]);
                if (ws) { accNext[i]++; MarkSite(i); }
                else Check(4, true, i);
                a.mov(__dword_ptr[r14 + r8], r10d);
                a.mov(r12d, r8d);
                return;
            }
            case K.PopR: Pop(Register.R12D, Host(ins.Op0Register), i); return;
            case K.Leave: Pop(Register.EBP, Register.EBP, i); return; // ESP = EBP, then POP EBP
            case K.Jcc when i < count - 1:
            {
                // Mid-block (DecodeCache runs blocks through conditional branches): the fall-through goes on with the
                // flags still in host RFLAGS. The taken side of a branch to a later instruction of this block (an if
                // without else) jumps to that instruction's code, flags unsaved (MergeAt), no dispatch and no budget
                // test (it only goes forward); any other leaves through a stub after the block's code, which stores
                // the flags if they are the host's own.
                FlagsInHost();
                var taken = a.CreateLabel();
                BranchIf(ins.ConditionCode, taken);
                if (ForwardTarget(ins, i, count) is var j && j > 0)
                {
                    ref var jn = ref joins[j];
                    if (!jn.Pending) { jn.Pending = true; jn.Label = a.CreateLabel(); }
                    jn.Dirty |= loc == FLoc.HostDirty;
                    forwards.Add((taken, j, j - i - 1));
                }
                else midExits.Add((taken, ins.NearBranch32, i + 1, loc == FLoc.HostDirty, (x87Fip, x87Fop, x87Fds)));
                return;
            }
            case K.Jcc when passTest >= 0:
            {
                // The back edge of a loop whose pass was tested at passTest. Main pass: charge the pass (LEA leaves
                // RFLAGS alone) and branch straight to loopEntry on the guest's own flags, unsaved; the way out needs
                // no budget test (the pass test saw this pass fit). Last pass: charge it and leave at the loop's start.
                FlagsInHost();
                if (!lastPass)
                {
                    a.lea(r11, __[r11 - count]);
                    BranchIf(ins.ConditionCode, loopEntry);
                    SaveIfDirty();
                    DispatchConst((uint)ins.NextIP, 0, charged: true);
                    return;
                }
                SaveIfDirty();
                var back = a.CreateLabel();
                BranchIf(ins.ConditionCode, back);
                DispatchConst((uint)ins.NextIP, count);
                a.Label(ref back);
                a.lea(r11, __[r11 - count]);
                a.jmp(ExitTo(ins.NearBranch32));
                return;
            }
            case K.Jcc when loopFlags is { } w && ins.NearBranch32 == currentBlock!.Start:
            {
                // Every back edge of such a block comes here (loopEntry expects the flags in the host): they are the
                // CMP's, in the host unless something after it stored them (then loaded again).
                FlagsInHost();
                var back = a.CreateLabel();
                BranchIf(ins.ConditionCode, back);
                SaveIfDirty();
                DispatchConst((uint)ins.NextIP, count);
                a.Label(ref back);
                LoopBack(w, count);
                return;
            }
            case K.Jcc:
            {
                FlagsInHost();
                SaveIfDirty();
                var taken = a.CreateLabel();
                BranchIf(ins.ConditionCode, taken);
                DispatchConst((uint)ins.NextIP, count);
                a.Label(ref taken);
                DispatchConst(ins.NearBranch32, count);
                return;
            }
            case K.Jmp:
                SaveIfDirty();
                DispatchConst(ins.NearBranch32, count);
                return;
            case K.Call:
                SaveIfDirty();
                a.lea(r8d, __[r12 - 4]);
                if (WriteSite(i, Register.SS)) MarkSite(i);
                else Check(4, true, i);
                a.mov(__dword_ptr[r14 + r8], (int)(uint)ins.NextIP);
                a.mov(r12d, r8d);
                if (PcThunk(ins.NearBranch32) is int reg)
                {
                    // The thunk runs here: the call's block is charged and may stop at the thunk, as the
                    // interpreter would after it; then the thunk's two instructions (its read of the slot just
                    // written cannot fault: a writable page is readable), charged as its own block.
                    var thunk = ExitTo(ins.NearBranch32);
                    LeaveIfSpent(thunk, count);
                    a.AddInstruction(Instruction.Create(Code.Mov_r32_rm32, Host(Register.EAX + reg), new MemoryOperand(Register.R14, Register.R12, 1)));
                    a.lea(r12d, __[r12 + 4]);
                    LastThunks.Add((ins.NearBranch32, reg));
                    DispatchConst((uint)ins.NextIP, 2);
                    return;
                }
                DispatchConst(ins.NearBranch32, count);
                return;
            case K.JmpInd: case K.CallInd:
                SaveIfDirty();
                if (ins.Op0Kind == OpKind.Memory)
                {
                    // The pointer's read is the instruction's first effect: a site when the host may check it (a PLT
                    // or IFUNC slot's JMP [abs]: ten instructions of entry check before).
                    bool rs = ReadSite(i, ins.MemorySegment);
                    Address(ins, i);
                    if (rs) MarkSite(i);
                    else Check(4, false, i);
                    a.mov(r10d, __dword_ptr[r14 + r8]);
                }
                else a.AddInstruction(Instruction.Create(Code.Mov_r32_rm32, Register.R10D, Host(ins.Op0Register)));
                if (k == K.CallInd)
                {
                    a.lea(r8d, __[r12 - 4]);
                    if (WriteSite(i, Register.SS)) MarkSite(i);
                    else Check(4, true, i);
                    a.mov(__dword_ptr[r14 + r8], (int)(uint)ins.NextIP);
                    a.mov(r12d, r8d);
                }
                DispatchIndirect(count);
                return;
            case K.Ret:
                SaveIfDirty();
                a.mov(r8d, r12d);
                if (ReadSite(i, Register.SS)) MarkSite(i);
                else Check(4, false, i);
                a.mov(r10d, __dword_ptr[r14 + r8]);
                a.lea(r12d, __[r12 + (4 + (ins.Code == Code.Retnd_imm16 ? ins.Immediate16 : 0))]);
                DispatchIndirect(count);
                return;
        }
        throw new InvalidOperationException("unhandled kind " + k);
    }

    /// <summary>COMPAT32_JIT_THUNKS=0: calls to PIC thunks go to them (to compare).</summary>
    static readonly bool ThunksOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_THUNKS") != "0";

    /// <summary>The PIC thunks the last translation ran in place (target, register): its code depends on those bytes
    /// outside the block, which a copy of it into another address space checks there first (JitCode.FromTemplate).</summary>
    internal readonly List<(uint Target, int Reg)> LastThunks = new();

    /// <summary>The register a call's target loads if the target is an i386 PIC thunk, `mov reg, [esp]; ret`
    /// (8B /r with SIB 24, then C3: GCC's __x86.get_pc_thunk.reg, which every position-independent function calls
    /// to learn its address, and whose RET, returning to a different caller each time, is an indirect jump the host
    /// predicts badly); else null.</summary>
    int? PcThunk(uint target) => ThunksOn && ThunkAt(jit.Space, currentBlock!, target) is int r and >= 0 ? r : null;

    /// <summary>The register of the PIC thunk at target in space, with blk made to depend on it, or -1. The target's
    /// page is marked as code before its bytes are read and blk is listed under it (DecodeCache.DependOn), so a write
    /// or unmap there drops blk's translation; the bytes are read again after the listing (a store between the mark
    /// and the listing changed them or cleared the mark). Under CodeSpace.Lock.</summary>
    internal static unsafe int ThunkAt(CodeSpace space, Block blk, uint target)
    {
        if ((target & 0xFFF) > 0xFFC) return -1;
        var mem = space.Mem;
        uint page = target >> 12;
        const byte RX = (byte)(Memory.Prot.Read | Memory.Prot.Exec);
        if ((Volatile.Read(ref mem.PermPtr[page]) & RX) != RX) return -1;
        mem.MarkCode(page);
        Interlocked.MemoryBarrier();
        int reg = ThunkReg(mem.Base + target);
        if (reg < 0) return -1;
        space.Cache.DependOn(blk, page);
        Interlocked.MemoryBarrier();
        if ((Volatile.Read(ref mem.PermPtr[page]) & (Memory.AddressSpace.CodeBit | RX)) != (Memory.AddressSpace.CodeBit | RX)) return -1;
        return ThunkReg(mem.Base + target) == reg ? reg : -1;
    }

    static unsafe int ThunkReg(byte* p)
    {
        byte b0 = Volatile.Read(ref p[0]), b1 = Volatile.Read(ref p[1]), b2 = Volatile.Read(ref p[2]), b3 = Volatile.Read(ref p[3]);
        if (b0 != 0x8B || (b1 & 0xC7) != 0x04 || b2 != 0x24 || b3 != 0xC3) return -1;
        int reg = (b1 >> 3) & 7;
        return reg == 4 ? -1 : reg; // (mov esp, [esp] is no thunk)
    }

    /// <summary>Flags this instruction needs in host RFLAGS before it runs: those it reads, and those it leaves
    /// alone when it writes some (so they survive). Shifts and rotates by CL or by a count that masks to 0 may
    /// change no flag at all, so they need all six (NeedIn with every flag live, for an instruction that touches any).</summary>
    static bool NeedsFlagsIn(in Instruction ins) =>
        ((ins.RflagsRead | ins.RflagsModified) & ArithBits) != 0 && NeedIn(ins, ArithBits) != 0;

    static bool WritesFlags(in Instruction ins) => (ins.RflagsModified & ArithBits) != 0;

    void BeforeExecute(in Instruction ins)
    {
        // Flags the instruction keeps but nothing reads before they are overwritten need no restore: the host's
        // garbage in them is dead (PlanFlags makes every flag live before any possible exit).
        if (loc == FLoc.Saved && NeedsFlagsIn(ins) && NeedIn(ins, liveAfter[cur]) != 0) { RestoreFlags(); loc = FLoc.HostClean; }
    }

    void AfterExecute(in Instruction ins)
    {
        if (WritesFlags(ins)) loc = FLoc.HostDirty;
    }

    void EmitPlain(in Instruction ins)
    {
        var h = HostForm(ins);
        if (ins.Mnemonic != Mnemonic.Lea) BeforeExecute(ins);
        a.AddInstruction(h);
        if (ins.Mnemonic != Mnemonic.Lea) AfterExecute(ins);
    }

    void EmitMem(in Instruction ins, int i)
    {
        bool direct = !lastPass && accCount[i] == 1 && accs[accFirst[i]].Direct; // [r14+base+disp]: checked at entry, no r8d (or a site)
        bool site = false;
        if (direct) accNext[i]++;
        else
        {
            int size = ins.MemorySize.GetSize();
            bool write = ins.Op0Kind == OpKind.Memory && ins.Mnemonic is not (Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Bt);
            // Locked forms (and XCHG with memory, locked without the prefix) keep their LOCK in the host form, atomic
            // as on the guest (SDM vol. 3 8.1.2); one crossing a cache line is a split lock, the interpreter's (its bus lock).
            bool locked = ins.HasLockPrefix || ins.Mnemonic == Mnemonic.Xchg;
            // A plain read: no test, and the flags may stay in the host across it.
            site = !locked && (write ? WriteSite(i, ins.MemorySegment) : ReadSite(i, ins.MemorySegment));
            if (site)
            {
                // [base + disp] with 0 <= disp < the guard: addressed as [r14 + base + disp] with no LEA. A sum past
                // 4 GiB (the guest's would wrap) lands in the guard past the reservation and faults like any site.
                if (DirectOn && ins.MemoryBase.IsGPR32() && ins.MemoryIndex == Register.None
                    && (ulong)ins.MemoryDisplacement32 + (ulong)size <= HostFaults.Guard) direct = true;
                else Address(ins, i);
            }
            else
            {
                if (!AllHoisted(i)) SaveIfDirty();
                Address(ins, i);
                Check(size, write, i, locked ? 64 : 0x1000);
            }
        }
        var h = HostForm(ins, direct);
        BeforeExecute(ins); // (a flag restore uses R9/R10: the RORX comes after it)
        var hi = High8Source(ins);
        if (hi != Register.None)
            a.AddInstruction(Instruction.Create(Code.VEX_Rorx_r32_rm32_imm8, Register.R10D, hi.GetFullRegister32(), 8));
        if (site) MarkSite(i);
        a.AddInstruction(h);
        AfterExecute(ins);
    }

    bool fpuGated;
    readonly InstructionInfoFactory infoFactory = new();

    /// <summary>The test every gate (x87, SSE, MMX) starts with: the flags stored (the tests clobber them), on to the
    /// returned label if this entry has the state loaded already, to the interpreter at i if it may not load it.</summary>
    Label GateHead(int loadedOff, int okOff, int i)
    {
        SaveIfDirty();
        var loaded = a.CreateLabel();
        a.cmp(__byte_ptr[r13 + loadedOff], 0);
        a.jne(loaded);
        a.cmp(__byte_ptr[r13 + okOff], 0);
        a.je(SlowLabelAt(i));
        return loaded;
    }

    /// <summary>Before the block's first x87 instruction (i): load the guest FPU into the host's unless this run did
    /// already; with an unmasked exception enabled, leave for the interpreter at i (a host trap would be fatal here).</summary>
    Label X87Gate(int i)
    {
        var loaded = GateHead(Jit.OffX87Loaded, Jit.OffX87Ok, i);
        // MMX state in XMM8-15: its significands go to the image first (the exponents and tags are there).
        var noMmx = a.CreateLabel();
        a.cmp(__byte_ptr[r13 + Jit.OffMmxLoaded], 0);
        a.je(noMmx);
        StoreMm(a);
        a.mov(__byte_ptr[r13 + Jit.OffMmxLoaded], 0);
        a.Label(ref noMmx);
        a.frstor(__[r13 + Jit.OffX87Img]);
        a.mov(__byte_ptr[r13 + Jit.OffX87Loaded], 1);
        a.Label(ref loaded);
        fpuGated = true;
        mmxGated = false;
        UsesX87 = jit.HasX87 = true;
        return loaded;
    }

    /// <summary>COMPAT32_JIT_LOOPGATES=0: a self-loop opens its FPU and SSE gates in the pass, as other blocks do.</summary>
    static readonly bool LoopGatesOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_LOOPGATES") != "0";

    /// <summary>A block that jumps back to its own start opens its x87 and SSE gates once, at entry, before the
    /// entry checks and before every back edge's target, instead of testing them (and storing the flags the
    /// gate's test clobbers) on every pass. A gate that cannot open leaves at the block's first instruction, which
    /// the interpreter then runs as it would have the instructions up to the gate. Not with MMX in the block (its
    /// gate closes the FPU's). Sets bodyEntry to where the last gate ends (its label is the next instruction's).</summary>
    void LoopGates(Instruction[] insns, K[] kinds, int p)
    {
        bodyEntry = blockEntry;
        if (!LoopGatesOn || kinds[p - 1] is not (K.Jcc or K.Jmp) || insns[p - 1].NearBranch32 != currentBlock!.Start) return;
        bool x87 = false, simd = false;
        for (int i = 0; i < p; i++)
        {
            if (kinds[i] == K.Mmx) return;
            x87 |= kinds[i] == K.X87;
            simd |= kinds[i] == K.Simd;
        }
        if (x87) bodyEntry = X87Gate(0);
        if (simd) bodyEntry = OpenSimd(0);
    }

    void EmitX87(in Instruction ins, int i)
    {
        var m = ins.Mnemonic;
        int mem = MemOp(ins);
        // The gate (an MMX instruction before may have closed it) and a control instruction (FLDCW's test, FNINIT, ...)
        // see the pointer stored; a failing check at the operand leaves through its slow stub, which stores it.
        if (!fpuGated || X87Control(m)) FlushX87Ptr();
        if (!fpuGated) X87Gate(i);
        bool site = false;
        if (mem >= 0)
        {
            bool write = X87Writes(ins);
            // A numeric instruction's access faults before it changes anything (the stack, the status word, memory),
            // so the host's page protections may check it (ReadSite, WriteSite) and a fault re-runs it whole. Not a
            // 10-byte store: the host does it as two, and an Intel host's first may land before the second faults.
            site = X87Site(ins) && (write ? WriteSite(i, ins.MemorySegment) : ReadSite(i, ins.MemorySegment));
            if (!site) SaveIfDirty();
            Address(ins, i);
            if (!site) Check(ins.MemorySize.GetSize(), write, i);
            if (m == Mnemonic.Fldcw)
            {
                // A control word that unmasks an exception: the interpreter loads it (and keeps the FPU).
                a.movzx(r10d, __word_ptr[r14 + r8]);
                a.and(r10d, 0x3F);
                a.cmp(r10d, 0x3F);
                a.jne(SlowLabelAt(i));
            }
        }
        // A fault at the site is the instruction before this one's to record (FromFault stores it).
        uint pFip = x87Fip, pFop = x87Fop, pFds = x87Fds;
        if (!X87Control(m))
        {
            x87Fip = (uint)ins.IP;
            x87Fop = 0x80000000u | Fop(ins);
            if (mem >= 0)
            {
                // FDP after the access at a site (a fault there must leave the previous one's), before it otherwise.
                if (!site) a.mov(__dword_ptr[r13 + Jit.OffX87Fdp], r8d);
                int seg = ins.MemorySegment switch
                {
                    Register.ES => CpuState.ES, Register.CS => CpuState.CS, Register.SS => CpuState.SS,
                    Register.FS => CpuState.FS, Register.GS => CpuState.GS, _ => CpuState.DS,
                };
                x87Fds = 0x80000000u | (uint)seg;
            }
        }
        var h = HostForm(ins);
        BeforeExecute(ins);
        if (site) MarkSite(i, pFip, pFop, pFds);
        a.AddInstruction(h);
        if (site) a.mov(__dword_ptr[r13 + Jit.OffX87Fdp], r8d);
        AfterExecute(ins);
    }

    /// <summary>The x87 instruction's access may be left to the host's page protections (EmitX87).</summary>
    bool X87Site(in Instruction ins) => !X87Control(ins.Mnemonic) && !(ins.MemorySize.GetSize() == 10 && X87Writes(ins));

    /// <summary>The x87 instruction's memory operand is written (FST, FIST, FNSTCW, ...).</summary>
    bool X87Writes(in Instruction ins) =>
        infoFactory.GetInfo(ins).GetUsedMemory().FirstOrDefault().Access is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite;

    /// <summary>FOP: low 3 bits of the D8-DF escape byte and the ModRM byte (SDM 8.1.9), from the guest's bytes.</summary>
    uint Fop(in Instruction ins)
    {
        // The bytes the block was decoded from, not guest memory, which may have changed since (the block is then
        // being dropped, but its code must still say what it was decoded from).
        var b = currentBlock.Run.Bytes;
        int at = (int)((uint)ins.IP - currentBlock.Start);
        for (int k = 0; k + 1 < ins.Length && at + k + 1 < b.Length; k++)
            if (b[at + k] >= 0xD8 && b[at + k] <= 0xDF) return (uint)((b[at + k] & 7) << 8 | b[at + k + 1]);
        return 0;
    }

    /// <summary>ESP = from + 4 and dst = the dword at from (dst written last, so POP ESP loads ESP).</summary>
    void Pop(Register from, Register dst, int i)
    {
        bool site = ReadSite(i, Register.SS);
        if (!site && !AllHoisted(i)) SaveIfDirty();
        a.AddInstruction(Instruction.Create(Code.Mov_r32_rm32, Register.R8D, from));
        if (site) MarkSite(i);
        else Check(4, false, i);
        a.mov(r10d, __dword_ptr[r14 + r8]);
        a.lea(r12d, __[r8 + 4]);
        a.AddInstruction(Instruction.Create(Code.Mov_r32_rm32, dst, Register.R10D));
    }

    void EmitDiv(in Instruction ins, int i)
    {
        SaveIfDirty();
        int size = ins.Op0Kind == OpKind.Memory ? ins.MemorySize.GetSize() : Processor.RegisterSize(ins.Op0Register);
        bool signed = ins.Mnemonic == Mnemonic.Idiv; // the divisor sign-extended into r10d
        if (ins.Op0Kind == OpKind.Memory)
        {
            Address(ins, i);
            if (ReadSite(i, ins.MemorySegment)) MarkSite(i);
            else Check(size, false, i);
            if (size == 4) a.mov(r10d, __dword_ptr[r14 + r8]);
            else if (size == 2) { if (signed) a.movsx(r10d, __word_ptr[r14 + r8]); else a.movzx(r10d, __word_ptr[r14 + r8]); }
            else if (signed) a.movsx(r10d, __byte_ptr[r14 + r8]);
            else a.movzx(r10d, __byte_ptr[r14 + r8]);
        }
        else
        {
            var src = Host(ins.Op0Register);
            a.AddInstruction(size == 4 ? Instruction.Create(Code.Mov_r32_rm32, Register.R10D, src)
                : Instruction.Create(size == 2 ? (signed ? Code.Movsx_r32_rm16 : Code.Movzx_r32_rm16)
                    : signed ? Code.Movsx_r32_rm8 : Code.Movzx_r32_rm8, Register.R10D, src));
        }
        var slow = SlowLabelAt(i);
        if (!signed)
        {
            // #DE (divisor 0, or a quotient that does not fit) is the interpreter's: high half >= divisor catches both.
            if (size == 4) a.cmp(edx, r10d);
            else if (size == 2) { a.movzx(r9d, dx); a.cmp(r9d, r10d); }
            else { a.movzx(r9d, ax); a.shr(r9d, 8); a.cmp(r9d, r10d); }
            a.jae(slow);
            if (size == 4) a.div(r10d); else if (size == 2) a.div(r10w); else a.div(r10b);
        }
        else
        {
            // The host runs IDIV only where it cannot raise #DE: the dividend's high half is its low half's sign
            // (after CDQ/CWD/CBW: the quotient fits unless MIN / -1), the divisor not 0, and not MIN / -1. Wider
            // dividends go to the interpreter, which decides between a quotient and #DE (SDM IDIV).
            if (size == 4) { a.mov(r9d, eax); a.sar(r9d, 31); a.cmp(r9d, edx); }
            else if (size == 2) { a.movsx(r9d, ax); a.sar(r9d, 16); a.cmp(r9w, dx); }
            else { a.movsx(r9d, al); a.cmp(r9w, ax); }
            a.jne(slow);
            a.test(r10d, r10d);
            a.je(slow);
            var ok = a.CreateLabel();
            a.cmp(r10d, -1);
            a.jne(ok);
            if (size == 4) a.cmp(eax, int.MinValue); else if (size == 2) a.cmp(ax, short.MinValue); else a.cmp(al, sbyte.MinValue);
            a.je(slow);
            a.Label(ref ok);
            if (size == 4) a.idiv(r10d); else if (size == 2) a.idiv(r10w); else a.idiv(r10b);
        }
        loc = FLoc.HostDirty;
    }

    // ------------------------------------------------------------------ checks hoisted to block entry

    /// <summary>One page check an emitter makes (in the order it calls Check): the address as the block-entry
    /// value of Base + Index*Scale + Disp (ESP's pushes and pops folded into Disp), and whether it runs at entry.</summary>
    struct Acc
    {
        public Register Base, Index, Seg;
        public int Scale, Size;
        public long Disp;
        public bool Write, Locked, Hoisted;
        /// <summary>Hoisted, one base register still as it was at entry, no index, no segment base, a displacement
        /// from 0: the instruction addresses [r14 + base + disp] itself (no LEA into r8d), its group's entry check
        /// having shown that base + disp does not pass 4 GiB (so the host sum is the 32-bit guest address).</summary>
        public bool Direct;
        /// <summary>The host's page protections check it (a ReadSite or WriteSite when not hoisted): hoisted only to
        /// be direct, so it leaves the entry checks if it does not stay direct.</summary>
        public bool HostChecked;
        /// <summary>Its entry-check group (PlanChecks), when hoisted.</summary>
        public int Group;
    }

    /// <summary>Hoisted checks with the same address registers, segment and access merged into one byte range
    /// (at most a page long, so its first and last bytes' pages cover it).</summary>
    struct Group
    {
        public Register Base, Index, Seg;
        public int Scale;
        public long Lo, Hi;
        public bool Write, Direct;
        /// <summary>No register of its address moved by the block's end: a loop onto the block need not check it again.</summary>
        public bool Holds;
    }

    readonly List<Acc> accs = new();
    readonly List<Group> groups = new();
    int[] accFirst = Array.Empty<int>(), accCount = Array.Empty<int>(), accNext = Array.Empty<int>();
    RflagsBits[] liveAfter = Array.Empty<RflagsBits>();
    Label blockEntry, afterChecks, hoistFail;
    /// <summary>Where a loop onto the block's own start re-enters: past the entry checks that still hold at its last
    /// instruction (Group.Holds; all of them: afterChecks). Their pages cannot have lost the access meanwhile without
    /// this processor being asked to stop (CodeSpace.PermissionsReduced), which the loop's edge tests before it jumps.</summary>
    Label loopEntry;
    /// <summary>Past the gates LoopGates opened at block entry (else blockEntry).</summary>
    Label bodyEntry;
    int holding;
    bool lockedChecks;
    /// <summary>COMPAT32_JIT_LOOPCHECKS=1: a loop onto itself runs its entry checks again each time (to compare).</summary>
    static readonly bool LoopSkipOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_LOOPCHECKS") != "1";
    bool hoistUsed;

    /// <summary>COMPAT32_JIT_HOIST=0 keeps every check at its instruction (for measurements and bisecting).</summary>
    static readonly bool HoistOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_HOIST") != "0";
    /// <summary>COMPAT32_JIT_TABLES=0: a lookup by a bounded index is checked at its instruction (to compare).</summary>
    static readonly bool BoundOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_TABLES") != "0";
    /// <summary>COMPAT32_JIT_STACKHOIST=0: no access is hoisted past a mid-block branch (to compare).</summary>
    static readonly bool StackPastBranchOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_STACKHOIST") != "0";
    readonly int[] bound = new int[8];
    /// <summary>COMPAT32_JIT_DIRECT=0: every access computes its address into r8d (Acc.Direct off; to compare).</summary>
    static readonly bool DirectOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_DIRECT") != "0";

    /// <summary>Instruction i's access c was checked at block entry (never in a loop's last pass: EmitLastPass).</summary>
    bool HoistedAcc(int i, int c) => !lastPass && c < accCount[i] && accs[accFirst[i] + c].Hoisted;

    bool AllHoisted(int i)
    {
        for (int c = 0; c < accCount[i]; c++) if (!HoistedAcc(i, c)) return false;
        return true;
    }

    static int GprIndex(Register r) => r switch
    {
        Register.EAX => 0, Register.ECX => 1, Register.EDX => 2, Register.EBX => 3,
        Register.ESP => 4, Register.EBP => 5, Register.ESI => 6, Register.EDI => 7, _ => -1,
    };

    /// <summary>Which checks can run at block entry: a check whose address registers no earlier instruction of the
    /// block writes (ESP moved only by pushes, pops and ADD/SUB ESP,imm is tracked). Failing at entry sends the whole
    /// block to the interpreter, which then faults at the right instruction; a block that keeps failing there is
    /// translated again without hoisting (Jit.NoteHoistFail). Between entry and the access nothing of this thread
    /// can change a page's permission or mark it as code: no system call or decode happens inside a block.</summary>
    void PlanChecks(Instruction[] insns, K[] kinds, int p, bool hoist)
    {
        accs.Clear();
        groups.Clear();
        hoistUsed = false;
        if (accFirst.Length < p) { accFirst = new int[p * 2]; accCount = new int[p * 2]; accNext = new int[p * 2]; }
        Array.Clear(accNext, 0, p);
        int modified = 0;          // bit per GPR written so far (ESP's bit: moved by an untracked amount)
        Array.Fill(bound, -1);     // per GPR: the largest value its last write in this block can leave, or -1
        bool branched = false;     // past a mid-block conditional branch: later accesses may not run at all
        long esp = 0;              // ESP - ESP at entry, while ESP's bit is clear
        long espAtBranch = 0;      // esp at the first mid-block branch
        hoist &= HoistOn;
        for (int i = 0; i < p; i++)
        {
            ref readonly var ins = ref insns[i];
            var k = kinds[i];
            accFirst[i] = accs.Count;
            // Numeric x87 accesses may be host-checked too (EmitX87); the control instructions' and 10-byte stores'
            // keep their tests.
            bool x87Site = k == K.X87 && MemOp(ins) >= 0 && X87Site(ins);
            void Mem(in Instruction x, int size, bool write, bool locked)
            {
                // A table lookup by an index this block bounded (MOVZX from a byte, AND with a constant): the whole
                // table range, from the base's entry value, is checked at entry (crc32's [EDI+ECX*4] after MOVZX ECX,CL).
                int xi = x.MemoryIndex.IsGPR32() ? GprIndex(x.MemoryIndex) : -1;
                if (xi >= 0 && (modified & 1 << xi) != 0 && bound[xi] >= 0 && !locked && BoundOn
                    && (long)bound[xi] * x.MemoryIndexScale + size <= 0x1000)
                    Add(x.MemoryBase, Register.None, 1, (int)x.MemoryDisplacement32, bound[xi] * x.MemoryIndexScale + size, write, false, x.MemorySegment, table: true);
                else Add(x.MemoryBase, x.MemoryIndex, x.MemoryIndexScale, (int)x.MemoryDisplacement32, size, write, locked, x.MemorySegment);
            }
            void Stack(int off, bool write) => Add(Register.ESP, Register.None, 1, off, 4, write, false, Register.SS);
            void Add(Register b, Register x, int scale, long disp, int size, bool write, bool locked, Register seg, bool table = false)
            {
                // Past a mid-block branch an access may not run at all: only the stack's are still hoisted (the frame
                // around ESP is mapped whichever way the block goes; if not, the hoist failure's fallback applies).
                bool ok = hoist && (!branched || (b == Register.ESP && x == Register.None && StackPastBranchOn))
                    && (x == Register.None || (modified & 1 << GprIndex(x)) == 0);
                // What EmitMem addresses as [r14+base+disp] at a site with no test at all (the sum cannot pass the guard).
                bool siteDirect = DirectOn && SitesDirectOn && k == K.Generic && x == Register.None && b.IsGPR32() && disp >= 0
                    && disp + size <= (long)HostFaults.Guard;
                if (b == Register.ESP) { ok &= (modified & 1 << 4) == 0; disp += esp; }
                else if (b != Register.None) ok &= (modified & 1 << GprIndex(b)) == 0;
                ok &= seg is Register.DS or Register.SS or Register.ES or Register.FS or Register.GS;
                bool direct = ok && DirectOn && !table && k == K.Generic && x == Register.None && b != Register.None
                    && (b != Register.ESP || esp == 0) && disp >= 0 && seg is Register.DS or Register.SS;
                // A read the host's protections check (ReadSite) needs no check at entry either, unless it addresses
                // [r14+base+disp] itself (that sum may pass the guard: its entry test keeps it below 4 GiB).
                bool hostChecked = !write && !locked && jit.Elide && ReadSitesUnhoisted && seg is Register.DS or Register.SS
                    && (k is K.Generic or K.PopR or K.Ret or K.Leave or K.Simd or K.JmpInd or K.CallInd || x87Site);
                // The same for a write the host's protections check (WriteSite).
                hostChecked |= write && !locked && jit.ElideWrites && WriteSitesUnhoisted && seg is Register.DS or Register.SS
                    && (k is K.Generic or K.PushR or K.PushI or K.PushM or K.Call or K.CallInd or K.Simd || x87Site);
                // Such an access is a site, not an entry check, unless the entry test buys it [r14+base+disp] (a
                // displacement past the guard); one at [r14+base+disp] as a site needs no entry test at all.
                if (ok && hostChecked && (!direct || siteDirect)) ok = direct = false;
                accs.Add(new Acc { Base = b, Index = x, Scale = x == Register.None ? 1 : scale, Disp = disp, Size = size,
                    Write = write, Locked = locked, Seg = seg, Hoisted = ok, Direct = direct, HostChecked = hostChecked });
            }
            switch (k)
            {
                case K.Generic:
                    if (MemOp(ins) >= 0)
                        Mem(ins, ins.MemorySize.GetSize(), ins.Op0Kind == OpKind.Memory && ins.Mnemonic is not (Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Bt),
                            ins.HasLockPrefix || ins.Mnemonic == Mnemonic.Xchg);
                    break;
                case K.PushR: case K.PushI: case K.Call: Stack(-4, true); break;
                case K.PushM: Mem(ins, 4, false, false); Stack(-4, true); break;
                case K.PopR: case K.Ret: Stack(0, false); break;
                case K.Leave: Add(Register.EBP, Register.None, 1, 0, 4, false, false, Register.SS); break;
                case K.JmpInd: case K.CallInd:
                    if (ins.Op0Kind == OpKind.Memory) Mem(ins, 4, false, false);
                    if (k == K.CallInd) Stack(-4, true);
                    break;
                case K.X87:
                    if (MemOp(ins) >= 0) Mem(ins, ins.MemorySize.GetSize(), X87Writes(ins), false);
                    break;
                case K.Simd:
                    if (MemOp(ins) >= 0) Mem(ins, ins.MemorySize.GetSize(), ins.Op0Kind == OpKind.Memory, false);
                    break;
                case K.Mmx:
                    if (ins.Mnemonic == Mnemonic.Maskmovq)
                    {
                        // DS:EDI, an implicit operand: checked at the instruction (8 bytes, as the host's store)
                        Add(Register.EDI, Register.None, 1, 0, 8, true, false, ins.MemorySegment);
                        CollectionsMarshal.AsSpan(accs)[^1].Hoisted = false;
                    }
                    else if (MemOp(ins) >= 0) Mem(ins, ins.MemorySize.GetSize(), ins.Op0Kind == OpKind.Memory, false);
                    break;
                case K.Div:
                    if (ins.Op0Kind == OpKind.Memory) { Mem(ins, ins.MemorySize.GetSize(), false, false); CollectionsMarshal.AsSpan(accs)[^1].Hoisted = false; }
                    break;
            }
            accCount[i] = accs.Count - accFirst[i];
            if (k == K.Jcc && !branched) { branched = true; espAtBranch = esp; }
            // What this instruction does to the registers later addresses use.
            int writes = 0;
            switch (k)
            {
                case K.PushR: case K.PushI: case K.PushM: case K.Call: esp -= 4; break;
                case K.PopR:
                    esp += 4;
                    if (GprIndex(ins.Op0Register) is var d && d >= 0) writes |= 1 << d;
                    break;
                case K.Leave: writes |= 1 << 4 | 1 << 5; break;
                case K.Str: if (!DfOnly(ins)) writes |= 1 << 0 | 1 << 1 | 1 << 6 | 1 << 7; break; // EAX (LODS) ECX ESI EDI
                default:
                    foreach (var u in infoFactory.GetInfo(ins).GetUsedRegisters())
                    {
                        if (u.Access is not (OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite)) continue;
                        var full = u.Register.GetFullRegister32();
                        int g = GprIndex(full);
                        if (g < 0) continue;
                        if (g == 4 && ins.Code is Code.Add_rm32_imm8 or Code.Add_rm32_imm32 or Code.Sub_rm32_imm8 or Code.Sub_rm32_imm32
                            && ins.Op0Kind == OpKind.Register)
                            esp += ins.Mnemonic == Mnemonic.Add ? (int)ins.Immediate32 : -(long)(int)ins.Immediate32;
                        else writes |= 1 << g;
                    }
                    break;
            }
            modified |= writes;
            for (int g = 0; g < 8; g++) if ((writes & 1 << g) != 0) bound[g] = -1;
            // Writes that leave a register's value bounded: MOVZX r32 from a byte (0..255), AND r32 with a constant.
            if (k == K.Generic && ins.Op0Kind == OpKind.Register && GprIndex(ins.Op0Register) is var bg && bg >= 0)
            {
                if (ins.Code == Code.Movzx_r32_rm8) bound[bg] = 0xFF;
                else if (ins.Code is Code.And_rm32_imm8 or Code.And_rm32_imm32 or Code.And_EAX_imm32 && (int)ins.GetImmediate(1) is var m && m >= 0)
                    bound[bg] = m;
            }
            if (esp is > 1 << 20 or < -(1 << 20)) modified |= 1 << 4;
            // A forward branch may skip an ESP move: past a branch, ESP's offset would depend on the path taken.
            if (branched && esp != espAtBranch) modified |= 1 << 4;
        }
        var span = CollectionsMarshal.AsSpan(accs);
        MergeGroups(span);
        // A group's no-wrap test costs three instructions at entry: worth it from two direct accesses (one saves one).
        // A lone direct access the host checks anyway then needs no entry check at all (crc32's loop read its byte
        // through one on every pass).
        Span<int> directs = stackalloc int[groups.Count];
        foreach (var c in span) if (c.Hoisted && c.Direct) directs[c.Group]++;
        bool regroup = false;
        foreach (ref var c in span)
            if (c.Hoisted && c.Direct && directs[c.Group] < 2 && c.HostChecked) { c.Hoisted = c.Direct = false; regroup = true; }
        if (regroup)
        {
            MergeGroups(span); // groups renumbered: count again
            directs = stackalloc int[groups.Count];
            foreach (var c in span) if (c.Hoisted && c.Direct) directs[c.Group]++;
        }
        // A group's check holds again at the block end if no register it uses moved (ESP back where it was).
        var gs = CollectionsMarshal.AsSpan(groups);
        holding = 0;
        for (int g = 0; g < gs.Length; g++)
        {
            ref var G = ref gs[g];
            G.Holds = LoopSkipOn && (G.Base == Register.None || ((modified & 1 << GprIndex(G.Base)) == 0 && (G.Base != Register.ESP || esp == 0)))
                && (G.Index == Register.None || (modified & 1 << GprIndex(G.Index)) == 0);
            if (G.Holds) holding++;
        }
        lockedChecks = false;
        foreach (var c in span) if (c.Hoisted && c.Locked && c.Size > 1) lockedChecks = true;
        for (int j = 0; j < span.Length; j++)
        {
            ref var c = ref span[j];
            if (!c.Hoisted || !c.Direct) continue;
            if (directs[c.Group] < 2) c.Direct = false;
            else { var G = groups[c.Group]; G.Direct = true; groups[c.Group] = G; }
        }
    }

    /// <summary>Merge the hoisted accesses into groups: one range per address expression, segment and access, up to
    /// a page long.</summary>
    void MergeGroups(Span<Acc> span)
    {
        groups.Clear();
        hoistUsed = false;
        for (int j = 0; j < span.Length; j++)
        {
            ref var c = ref span[j];
            if (!c.Hoisted) continue;
            int gi = -1;
            for (int g = 0; g < groups.Count; g++)
            {
                var G = groups[g];
                if (G.Base == c.Base && G.Index == c.Index && G.Scale == c.Scale && G.Seg == c.Seg && G.Write == c.Write
                    && Math.Max(G.Hi, c.Disp + c.Size) - Math.Min(G.Lo, c.Disp) <= 0x1000) { gi = g; break; }
            }
            if (gi < 0) { gi = groups.Count; groups.Add(new Group { Base = c.Base, Index = c.Index, Scale = c.Scale, Seg = c.Seg, Write = c.Write, Lo = c.Disp, Hi = c.Disp + c.Size }); }
            else
            {
                var G = groups[gi];
                G.Lo = Math.Min(G.Lo, c.Disp); G.Hi = Math.Max(G.Hi, c.Disp + c.Size);
                groups[gi] = G;
            }
            c.Group = gi;
            hoistUsed = true;
        }
    }

    /// <summary>r8d = the entry value of an address (segment base added; a null FS/GS fails).</summary>
    void EntryAddress(Register b, Register x, int scale, long disp, Register seg)
    {
        int d = (int)disp;
        if (b == Register.None && x == Register.None) a.mov(r8d, d);
        else
            a.AddInstruction(Instruction.Create(Code.Lea_r32_m, Register.R8D,
                new MemoryOperand(Host64(b), Host64(x), x == Register.None ? 1 : scale, d, d == 0 && b != Register.None ? 0 : 8)));
        switch (seg)
        {
            case Register.FS: a.test(__byte_ptr[r13 + Jit.OffSegNull], 1); a.jnz(hoistFail); a.add(r8d, __dword_ptr[r13 + Jit.OffSegFS]); break;
            case Register.GS: a.test(__byte_ptr[r13 + Jit.OffSegNull], 2); a.jnz(hoistFail); a.add(r8d, __dword_ptr[r13 + Jit.OffSegGS]); break;
            case Register.ES: a.add(r8d, __dword_ptr[r13 + Jit.OffSegES]); break;
        }
    }

    /// <summary>Leave for fail unless the page holding guest address r9d allows the access (the interpreter's
    /// fast-path test: readable; or readable and writable with no decoded code on the page, its WC test).</summary>
    void PageOk(bool write, Label fail)
    {
        a.shr(r9d, 12);
        if (!write)
        {
            a.test(__byte_ptr[r15 + r9], (byte)Memory.Prot.Read);
            a.jz(fail);
        }
        else
        {
            a.test(__byte_ptr[r15 + r9], Memory.AddressSpace.WriteOk); // readable, writable, no decoded code
            a.jz(fail);
        }
    }

    /// <summary>The hoisted checks, at block entry (guest flags are in the state block there, so these may clobber
    /// host RFLAGS). The pages of each range's first and last byte; a locked access also inside one cache line.</summary>
    void EmitEntryChecks()
    {
        loopEntry = bodyEntry;
        if (!hoistUsed) return;
        hoistFail = a.CreateLabel();
        // The checks that hold across the block first: a loop onto the block enters after them (loopEntry).
        foreach (var g in groups) if (g.Holds) EmitGroupCheck(g);
        if (holding > 0 && (holding < groups.Count || lockedChecks)) { loopEntry = a.CreateLabel(); a.Label(ref loopEntry); }
        foreach (var g in groups) if (!g.Holds) EmitGroupCheck(g);
        foreach (var c in accs)
        {
            if (!c.Hoisted || !c.Locked || c.Size == 1) continue;
            EntryAddress(c.Base, c.Index, c.Scale, c.Disp, c.Seg);
            a.and(r8d, 63);
            a.cmp(r8d, 64 - c.Size);
            a.ja(hoistFail);
        }
    }

    void EmitGroupCheck(in Group g)
    {
        if (g.Direct)
        {
            // The direct accesses' base + disp (disp >= 0) stays below 4 GiB: the 64-bit sum's top half is 0.
            a.AddInstruction(Instruction.Create(Code.Lea_r64_m, Register.R9, new MemoryOperand(Host64(g.Base), (long)(g.Hi - 1), 8)));
            a.shr(r9, 32);
            a.jnz(hoistFail);
        }
        EntryAddress(g.Base, g.Index, g.Scale, g.Lo, g.Seg);
        a.mov(r9d, r8d);
        PageOk(g.Write, hoistFail);
        if (g.Hi - g.Lo > 1)
        {
            a.lea(r9d, __[r8 + (int)(g.Hi - g.Lo - 1)]);
            // A range that wraps past 4 GiB is the interpreter's (the host would read past the reservation).
            a.cmp(r9d, r8d);
            a.jb(hoistFail);
            PageOk(g.Write, hoistFail);
        }
    }

    /// <summary>Flags live after each instruction: all at the block end and before anything that may leave the
    /// block mid-way (a check still at its instruction, DIV's test, the x87/SSE gates), else what the next
    /// instructions read before writing.</summary>
    void PlanFlags(Instruction[] insns, K[] kinds, int p)
    {
        if (liveAfter.Length < p) liveAfter = new RflagsBits[p * 2];
        var live = ArithBits;
        for (int i = p - 1; i >= 0; i--)
        {
            liveAfter[i] = live;
            var k = kinds[i];
            bool exitBefore = k switch
            {
                K.Nop or K.Lea => false,
                K.Generic => MemOp(insns[i]) >= 0 && !AllHoisted(i),
                K.PushR or K.PushI or K.PushM or K.PopR or K.Leave => !AllHoisted(i),
                K.Str => !DfOnly(insns[i]),
                _ => true,
            };
            live = exitBefore ? ArithBits : k is K.Nop or K.Lea or K.PushR or K.PushI or K.PushM or K.PopR or K.Leave ? live : NeedIn(insns[i], live);
        }
    }

    /// <summary>Flags that must hold the guest's values when ins starts: those it reads and the live ones it may
    /// leave alone (all of them for a shift or rotate whose count can be 0).</summary>
    static RflagsBits NeedIn(in Instruction ins, RflagsBits liveOut)
    {
        var read = ins.RflagsRead & ArithBits;
        var mod = ins.RflagsModified & ArithBits;
        if (ins.Mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Rol or Mnemonic.Ror
            or Mnemonic.Rcl or Mnemonic.Rcr or Mnemonic.Shld or Mnemonic.Shrd)
        {
            int cop = ins.OpCount - 1;
            if (ins.GetOpKind(cop) == OpKind.Register || (ins.GetImmediate(cop) & 31) == 0) mod = 0;
        }
        return read | (liveOut & ~mod);
    }

    // ------------------------------------------------------------------ pieces

    /// <summary>r8d = linear address of the memory operand (32-bit wrap; FS/GS/ES bases as the interpreter adds them).</summary>
    void Address(in Instruction ins, int i)
    {
        var b = ins.MemoryBase; var x = ins.MemoryIndex;
        int disp = (int)ins.MemoryDisplacement32;
        if (b == Register.None && x == Register.None) a.mov(r8d, disp);
        else
            a.AddInstruction(Instruction.Create(Code.Lea_r32_m, Register.R8D,
                new MemoryOperand(Host64(b), Host64(x), x == Register.None ? 1 : ins.MemoryIndexScale, disp, disp == 0 && b != Register.None ? 0 : 8)));
        if (AllHoisted(i))
        {
            // The null-segment test ran at block entry; LEA adds the base without touching the guest's flags.
            int off = ins.MemorySegment switch { Register.FS => Jit.OffSegFS, Register.GS => Jit.OffSegGS, Register.ES => Jit.OffSegES, _ => -1 };
            if (off >= 0) { a.mov(r9d, __dword_ptr[r13 + off]); a.lea(r8d, __[r8 + r9]); }
            return;
        }
        switch (ins.MemorySegment)
        {
            // A null FS/GS: the interpreter raises the #GP (flags are already saved: the ADD clobbers them too).
            case Register.FS: a.test(__byte_ptr[r13 + Jit.OffSegNull], 1); a.jnz(SlowLabelAt(i)); a.add(r8d, __dword_ptr[r13 + Jit.OffSegFS]); break;
            case Register.GS: a.test(__byte_ptr[r13 + Jit.OffSegNull], 2); a.jnz(SlowLabelAt(i)); a.add(r8d, __dword_ptr[r13 + Jit.OffSegGS]); break;
            case Register.ES: a.add(r8d, __dword_ptr[r13 + Jit.OffSegES]); break;
        }
    }

    /// <summary>COMPAT32_JIT_READHOIST=1: reads the host checks are still checked at block entry where they can be (to compare).</summary>
    static readonly bool ReadSitesUnhoisted = Environment.GetEnvironmentVariable("COMPAT32_JIT_READHOIST") != "1";
    /// <summary>COMPAT32_JIT_SITEDIRECT=0: host-checked [base+disp] accesses are still grouped into entry checks when
    /// two or more share a base (their permission test at entry, as before session 18), to compare.</summary>
    static readonly bool SitesDirectOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_SITEDIRECT") != "0";

    /// <summary>Instruction i's next access is a read the host's page protections may check (HostFaults): no segment
    /// base to add (that ADD would clobber the flags), not checked at block entry. Then it takes no test (the access
    /// counts as done) and its host instruction must be marked with MarkSite.</summary>
    bool ReadSite(int i, Register seg)
    {
        if (!SiteAt(i, accNext[i], seg, false)) return false;
        accNext[i]++;
        return true;
    }

    /// <summary>Instruction i's access c may go without a test (ReadSite, WriteSite; nothing consumed). Never in a
    /// loop's last pass (EmitLastPass): a page this thread's checked-at-entry access faulted on while its protection
    /// was being reduced stays open in the host until HostFaults.Drain, so only the permission bytes are sure there.</summary>
    bool SiteAt(int i, int c, Register seg, bool write) =>
        !lastPass && (write ? jit.ElideWrites : jit.Elide) && seg is Register.DS or Register.SS && !HoistedAcc(i, c);

    /// <summary>COMPAT32_JIT_WRITEHOIST=1: writes the host checks are still checked at block entry where they can be.</summary>
    static readonly bool WriteSitesUnhoisted = Environment.GetEnvironmentVariable("COMPAT32_JIT_WRITEHOIST") != "1";

    /// <summary>Instruction i's next access is a write the host's page protections check (AddressSpace.HostWrites:
    /// the host write-protects every page the guest may not write and every page holding decoded code), under
    /// ReadSite's conditions. The write must be the instruction's first effect: a fault there re-runs it whole.</summary>
    bool WriteSite(int i, Register seg)
    {
        if (!SiteAt(i, accNext[i], seg, true)) return false;
        accNext[i]++;
        return true;
    }

    /// <summary>The next host instruction is an access without a test: a fault there is instruction i's, with the
    /// flags where they are now and the x87 pointer pending now (an x87 instruction passes the one before its own).</summary>
    void MarkSite(int i) => MarkSite(i, x87Fip, x87Fop, x87Fds);

    void MarkSite(int i, uint fip, uint fop, uint fds) =>
        siteIns.Add(new HostSite(a.Instructions.Count, i, loc != FLoc.Saved, fip, fop, fds));

    /// <summary>Leave for the interpreter unless [r8d, r8d+size) is on one page that allows the access (and, for a
    /// locked access, inside one span-byte line).</summary>
    void Check(int size, bool write, int i, int span = 0x1000)
    {
        int c = accNext[i]++;
        if (HoistedAcc(i, c)) return; // checked at block entry
        var l = SlowLabelAt(i);
        if (size == 1 || span != 0x1000) { ExactCheck(size, write, span, l); return; }
        // One test: the page of the last byte and the one below allow the access (AddressSpace's pair bits), so it
        // may cross. Else the exact test, out of line: the access is on one page that allows it (a mapping's first
        // page, whose lower neighbour is unmapped or holds code), or the interpreter takes it.
        var exact = a.CreateLabel();
        var back = a.CreateLabel();
        a.lea(r9d, __[r8 + (size - 1)]);
        a.shr(r9d, 12);
        a.test(__byte_ptr[r15 + r9], write ? Memory.AddressSpace.WritePair : Memory.AddressSpace.ReadPair);
        a.jz(exact);
        a.Label(ref back);
        exactChecks.Add((exact, back, l, size, write));
    }

    /// <summary>Leave for l unless [r8d, r8d+size) is on one page that allows the access and inside one span-byte line.</summary>
    void ExactCheck(int size, bool write, int span, Label l)
    {
        a.mov(r9d, r8d);
        PageOk(write, l);
        if (size > 1) InLine(size, span, l);
    }

    /// <summary>Leave for l unless [r8d, r8d+size) is inside one span-byte line.</summary>
    void InLine(int size, int span, Label l)
    {
        a.mov(r9d, r8d);
        a.and(r9d, span - 1);
        a.cmp(r9d, span - size);
        a.ja(l);
    }

    /// <summary>The out-of-line halves of Check's pair tests: the access's own page and no crossing, then back.</summary>
    readonly List<(Label exact, Label back, Label slow, int size, bool write)> exactChecks = new();

    void EmitExactChecks()
    {
        foreach (var (exact, back, slowL, size, write) in exactChecks)
        {
            var e = exact;
            a.Label(ref e);
            a.mov(r9d, (write ? 0x10000 : 0) | (0x1000 - size));
            a.call(jit.ExactAddr);
            a.je(back);
            a.jmp(slowL);
        }
    }

    int curSlowIndex = -1;
    Label curSlow;


    /// <summary>A forward branch's join: the label of the instruction it reaches, and whether the flags are the host's
    /// own (unsaved) on some branch arriving there.</summary>
    struct Join { public bool Pending, Dirty; public Label Label; }
    Join[] joins = Array.Empty<Join>();
    /// <summary>Taken sides of forward branches inside the block: stub label, join index, instructions skipped.</summary>
    readonly List<(Label label, int join, int skipped)> forwards = new();
    K[] curKinds = Array.Empty<K>();

    /// <summary>The index of the later instruction of this block a mid-block Jcc at i branches to, if the instructions
    /// it skips keep no state of their own in the translator: no x87, SSE or MMX gate (loaded on one path only) and
    /// no string instruction; else 0.</summary>
    int ForwardTarget(in Instruction ins, int i, int count)
    {
        if (NoForward) return 0;
        uint t = ins.NearBranch32;
        var insns = currentInsns;
        if (t <= (uint)ins.IP) return 0;
        for (int j = i + 1; j < count; j++)
        {
            if ((uint)insns[j].IP == t) return j;
            if ((uint)insns[j].IP > t) return 0;
            if (curKinds[j] is K.X87 or K.Simd or K.Mmx or K.Str) return 0;
        }
        return 0;
    }

    /// <summary>COMPAT32_JIT_FORWARD=0: every taken branch leaves the block (to compare).</summary>
    static readonly bool NoForward = Environment.GetEnvironmentVariable("COMPAT32_JIT_FORWARD") == "0";

    /// <summary>Instruction i is reached by forward branches and by the instruction before it: the flags must be in
    /// host RFLAGS on every path (the fall-through restores them if it had them only saved), and they count as
    /// unsaved if they are on any path.</summary>
    void MergeAt(int i)
    {
        FlagsInHost();
        ref var jn = ref joins[i];
        a.Label(ref jn.Label);
        if (jn.Dirty) loc = FLoc.HostDirty;
    }

    /// <summary>The guest flags into host RFLAGS if they are only in the state block (a branch reads them there).</summary>
    void FlagsInHost()
    {
        if (loc == FLoc.Saved) { RestoreFlags(); loc = FLoc.HostClean; }
    }

    Label SlowLabelAt(int i)
    {
        if (curSlowIndex == i && slow.Count > 0 && slow[^1].index == i) return curSlow;
        curSlow = a.CreateLabel();
        curSlowIndex = i;
        slow.Add((curSlow, currentBlock!.IpAt(i), i));
        slowX87.Add((x87Fip, x87Fop, x87Fds));
        return curSlow;
    }

    Block? currentBlock;
    Instruction[] currentInsns = Array.Empty<Instruction>();
    readonly Redecoder redecoder = new();

    void SaveIfDirty()
    {
        if (loc == FLoc.HostDirty) StoreFlags(Jit.OffFlags);
        loc = FLoc.Saved;
    }

    /// <summary>The guest flags in host RFLAGS to a flags image at r13+off (Jit.OffFlags): byte 0 = OF (0 or 1),
    /// byte 1 = SF ZF AF PF CF as LAHF has them, so SETO AL / LAHF leave AX as the image is. LAHF/SETO rather than
    /// PUSHFQ: PUSHFQ waits for an earlier locked instruction to complete (about 20 ns on this project's Xeon host,
    /// at every block end of a mutex loop); swapping AL and AH before the store cost about 0.5 ns more per save
    /// (a partial-register merge), most of what sha256.c's blocks spent on their flags. Host RFLAGS stays as it
    /// was: a Jcc may follow.</summary>
    void StoreFlags(int off) => StoreFlags(a, off);

    static void StoreFlags(Assembler a, int off)
    {
        if (SahfInLongMode)
        {
            a.mov(r9, rax);
            a.lahf();
            a.seto(al);
            a.mov(__word_ptr[r13 + off], ax);
            a.mov(rax, r9);
        }
        else
        {
            a.pushfq();
            a.pushfq();
            a.pop(r9);
            a.mov(__byte_ptr[r13 + off + 1], r9b);
            a.shr(r9d, 11);
            a.and(r9d, 1);
            a.mov(__byte_ptr[r13 + off], r9b);
            a.popfq();
        }
    }

    /// <summary>Host RFLAGS = the saved guest flags. SAHF for SF ZF AF PF CF and an ADD that overflows exactly when
    /// OF was set (POPFQ does the same in one instruction, but costs several times more).</summary>
    void RestoreFlags()
    {
        if (!SahfInLongMode)
        {
            a.movzx(r9d, __byte_ptr[r13 + Jit.OffFlags + 1]);
            a.movzx(r10d, __byte_ptr[r13 + Jit.OffFlags]);
            a.shl(r10d, 11);
            a.or(r9d, r10d);
            a.push(r9);
            a.popfq();
            return;
        }
        a.mov(r9, rax);
        a.movzx(eax, __word_ptr[r13 + Jit.OffFlags]); // AL = OF: 0 or 1 (every writer of the image keeps it so)
        a.add(al, 0x7F);
        a.sahf();
        a.mov(rax, r9);
    }

    /// <summary>CPUID.80000001H:ECX.LAHF-SAHF: early x86-64 CPUs lack LAHF/SAHF in 64-bit mode.</summary>
    static readonly bool SahfInLongMode =
        System.Runtime.Intrinsics.X86.X86Base.IsSupported && (System.Runtime.Intrinsics.X86.X86Base.CpuId(unchecked((int)0x80000001), 0).Ecx & 1) != 0;

    Label ExitTo(uint eip)
    {
        if (!exits.TryGetValue(eip, out var l)) exits[eip] = l = a.CreateLabel();
        return l;
    }

    /// <summary>A block end's tests: charge count instructions to the budget, and go to exit if that spent it or a
    /// stop was requested (another thread's signal, an invalidation).</summary>
    void LeaveIfSpent(Label exit, int count)
    {
        a.sub(r11, count);
        a.jle(exit);
        LeaveIfStopped(exit);
    }

    void LeaveIfStopped(Label exit)
    {
        a.cmp(__dword_ptr[r13 + Jit.OffAsync], 0);
        a.jne(exit);
    }

    /// <summary>Block end with a known successor: count the block, then jump to the successor's host code through
    /// the block's link cell for it (JitCode.Links), whose lookup path reads the shared table (one load, tag and
    /// code address together, RIP-relative), or leave (budget spent, a stop requested, successor not translated).</summary>
    void DispatchConst(uint target, int count, bool charged = false)
    {
        var exit = ExitTo(target);
        if (charged) LeaveIfStopped(exit);
        else LeaveIfSpent(exit, count);
        if (target == currentBlock!.Start)
        {
            // A loop onto itself: straight back to this code. An invalidation of the block requests a stop,
            // which the test above sees, so stale code is never re-entered this way.
            a.jmp(loopEntry);
            return;
        }
        if (LinkOn)
        {
            // Through the block's link cell for this successor: the lookup below until the successor is translated,
            // then its code (JitCode.LinkTo; reset to the lookup when that code is dropped).
            var cell = a.CreateLabel();
            var lookup = a.CreateLabel();
            a.jmp(__qword_ptr[cell]);
            a.Label(ref lookup);
            linkSites.Add((cell, lookup, target));
        }
        // The target's set: two slots, each checked by its tag (JitCode: two-way associative). A hit in the first
        // falls through to its jump (no taken branch on the common path).
        ulong slot = jit.TableAddr + JitCode.SlotIndex(target) * 8UL;
        var second = a.CreateLabel();
        a.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, Register.R9, new MemoryOperand(Register.RIP, (long)slot)));
        a.cmp(r9d, (int)target);
        a.jne(second);
        JumpToSlotCode();
        a.Label(ref second);
        a.AddInstruction(Instruction.Create(Code.Mov_r64_rm64, Register.R9, new MemoryOperand(Register.RIP, (long)slot + 8)));
        a.cmp(r9d, (int)target);
        a.jne(exit);
        JumpToSlotCode();
    }

    /// <summary>r9 = a table slot matching its target: jump to its code (the high half: the address when the code
    /// is below 4 GiB, else the offset from the table).</summary>
    void JumpToSlotCode()
    {
        a.shr(r9, 32);
        if (!jit.LowCode)
        {
            a.AddInstruction(Instruction.Create(Code.Lea_r64_m, Register.R8, new MemoryOperand(Register.RIP, (long)jit.TableAddr)));
            a.add(r9, r8);
        }
        a.jmp(r9);
    }

    /// <summary>Where a loop onto its own start tests its budget and stop flag (EmitPassTest), or -1: right before an
    /// instruction that writes all six arithmetic flags and reads none, with no memory operand (so it cannot fault
    /// and nothing sees what the test did to RFLAGS): ADD, SUB, CMP, AND, OR, XOR, TEST, NEG of registers and
    /// immediates (the logic ones clear AF on the host, as the interpreter has it). The last such instruction, so
    /// the part written twice (the last pass's copy, EmitLastPass) is short; only plain instructions after it (no
    /// branch, no x87/SSE/MMX gate, no string loop), and no forward branch from before it may land after it (that
    /// path would skip the test).</summary>
    int PassTestAt(Instruction[] insns, K[] kinds, int p)
    {
        if (!PassTestOn || p < 2 || kinds[p - 1] != K.Jcc || insns[p - 1].NearBranch32 != (uint)insns[0].IP) return -1;
        // No access before it may rely on the entry checks (loopEntry skips them): a stop request (a page that lost
        // an access) is seen at the test, and only the pass under way when it came may use them after it.
        int h = 0;
        while (h < p && !AnyHoisted(h)) h++;
        int j = -1;
        for (int i = p - 2; i >= 0 && p - 1 - i <= MaxLastPass; i--)
        {
            ref readonly var w = ref insns[i];
            if (i <= h && kinds[i] == K.Generic && MemOp(w) < 0 && NeedIn(w, ArithBits) == 0
                && w.Mnemonic is Mnemonic.Add or Mnemonic.Sub or Mnemonic.Cmp or Mnemonic.And or Mnemonic.Or or Mnemonic.Xor
                    or Mnemonic.Test or Mnemonic.Neg) { j = i; break; }
            if (kinds[i] is not (K.Generic or K.Lea or K.Nop)) return -1;
        }
        if (j < 0) return -1;
        for (int i = 0; i < j; i++)
            if (kinds[i] == K.Jcc && ForwardTarget(insns[i], i, p) > j) return -1;
        return j;
    }

    bool AnyHoisted(int i)
    {
        for (int c = 0; c < accCount[i]; c++) if (accs[accFirst[i] + c].Hoisted) return true;
        return false;
    }

    /// <summary>Longest tail a loop's last pass repeats (EmitLastPass).</summary>
    const int MaxLastPass = 32;
    /// <summary>COMPAT32_JIT_PASSTEST=0: self-loops store their flags and test at the back edge (to compare).</summary>
    static readonly bool PassTestOn = Environment.GetEnvironmentVariable("COMPAT32_JIT_PASSTEST") != "0";

    /// <summary>The instruction a loop's pass test stands before (PassTestAt), or -1; and whether the last pass's
    /// copy is being written.</summary>
    int passTest;
    bool lastPass;
    Label lastPassLabel;
    int[] passAccNext = Array.Empty<int>();

    /// <summary>A self-loop's budget and stop tests, inside the pass where the guest flags are dead (the next
    /// instruction writes them all, reads none and cannot fault), instead of at the back edge where they are live
    /// and would have to be stored (a fifth of a tight loop's instructions). They decide whether this pass is the
    /// last: if so, the rest of it runs from a second copy (EmitLastPass) that ends as any block does, leaving at the
    /// same instruction as the interpreter (budgets are charged per pass, the same count, at the back edge, by LEA).
    /// A stop request is seen one partial pass later than at the edge: the processor leaves at the end of that
    /// pass, before re-entering its code.</summary>
    void EmitPassTest(int count)
    {
        FlushX87Ptr();
        lastPassLabel = a.CreateLabel();
        a.cmp(r11, count);
        a.jle(lastPassLabel);
        LeaveIfStopped(lastPassLabel);
        loc = FLoc.Saved; // (not so, but dead: the next instruction writes every flag, and cannot leave before)
        if (passAccNext.Length < count) passAccNext = new int[count * 2];
        Array.Copy(accNext, passAccNext, count);
    }

    /// <summary>The last pass's copy of the loop from its pass test on: the same instructions, each access checked at
    /// its instruction against the permission bytes (not by the entry checks nor by the host: the stop request may be
    /// a page's lost access, SiteAt), the flags' liveness planned again for those exits, ending with the back edge to
    /// the loop's start as an exit.</summary>
    void EmitLastPass(Instruction[] insns, K[] kinds, int p)
    {
        lastPass = true;
        PlanFlags(insns, kinds, p);
        var l = lastPassLabel;
        a.Label(ref l);
        loc = FLoc.Saved;
        curSlowIndex = -1;
        Array.Copy(passAccNext, accNext, p);
        for (int i = passTest; i < p; i++) EmitOne(insns[i], kinds[i], i, p);
        lastPass = false;
    }

    /// <summary>The CMP or TEST of registers and immediates whose flags a block-ending Jcc back to the block's start
    /// tests, or null. Between the two there may be instructions that write no flag and none of its registers (a
    /// store, an x87 load: sha256's `cmp edi,40h; mov [esp+10h],edx; jne`). Its flags are then all the loop carries
    /// across its back edge, and running it again on the same registers gives them again, bit for bit (AF after
    /// TEST too: the same host instruction on the same operands).</summary>
    Instruction? LoopFlagsWriter(Instruction[] insns, K[] kinds, int p)
    {
        if (p < 2 || kinds[p - 1] != K.Jcc || insns[p - 1].NearBranch32 != (uint)insns[0].IP) return null;
        for (int w = p - 2; w >= 0 && w >= p - 10; w--)
        {
            var x = insns[w];
            if (kinds[w] == K.Generic && x.Mnemonic is Mnemonic.Cmp or Mnemonic.Test)
            {
                for (int k = 0; k < x.OpCount; k++)
                {
                    var kind = x.GetOpKind(k);
                    if (kind == OpKind.Register)
                    {
                        var r = x.GetOpRegister(k);
                        if (!(r.IsGPR32() || r.IsGPR16() || (r.IsGPR8() && !High8(r)))) return null;
                        for (int b = w + 1; b < p - 1; b++)
                            if (WritesRegister(insns[b], r.GetFullRegister32())) return null;
                    }
                    else if (kind is not (OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate8to16 or OpKind.Immediate8to32))
                        return null;
                }
                return x;
            }
            if (kinds[w] is not (K.Generic or K.Lea or K.Nop or K.X87) || (x.RflagsModified & ArithBits) != 0) return null;
        }
        return null;
    }

    /// <summary>The instruction writes the 32-bit register r or part of it (explicitly or not).</summary>
    bool WritesRegister(in Instruction ins, Register r)
    {
        foreach (var u in infoFactory.GetInfo(ins).GetUsedRegisters())
            if (u.Access is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite
                && u.Register.IsGPR() && u.Register.GetFullRegister32() == r)
                return true;
        return false;
    }

    /// <summary>Set for a block whose loop carries its flags in the host (LoopFlagsWriter's instruction).</summary>
    Instruction? loopFlags;

    /// <summary>A self-loop's back edge with the guest flags in host RFLAGS (not stored: the store was a fifth of a
    /// tight loop's instructions, and intloop- and sieve-like loops are throughput-bound). The budget and stop tests
    /// clobber RFLAGS, so the loop's CMP/TEST runs again before the jump back, and before the flags are stored on
    /// the way out.</summary>
    void LoopBack(in Instruction w, int count)
    {
        var stop = a.CreateLabel();
        LeaveIfSpent(stop, count);
        a.AddInstruction(HostForm(w));
        a.jmp(loopEntry);
        a.Label(ref stop);
        a.AddInstruction(HostForm(w));
        StoreFlags(Jit.OffFlags);
        a.jmp(ExitTo(currentBlock!.Start));
    }

    /// <summary>Block end with the successor in r10d (RET, indirect JMP/CALL).</summary>
    void DispatchIndirect(int count)
    {
        var exit = a.CreateLabel();
        LeaveIfSpent(exit, count);
        var second = a.CreateLabel();
        // The set (JitCode.SlotIndex): its first slot at table + 16 * set, read as [r8 + set * 8] with r8 = table +
        // set * 8; the second way computes the set again (r9 holds the first slot by then).
        SetOfR10();
        a.AddInstruction(Instruction.Create(Code.Lea_r64_m, Register.R8, new MemoryOperand(Register.RIP, (long)jit.TableAddr)));
        a.lea(r8, __[r8 + r9 * 8]);
        a.mov(r9, __qword_ptr[r8 + r9 * 8]);
        a.cmp(r9d, r10d);
        a.jne(second);
        JumpToSlotCode();
        a.Label(ref second);
        SetOfR10();
        a.mov(r9, __qword_ptr[r8 + r9 * 8 + 8]);
        a.cmp(r9d, r10d);
        a.jne(exit);
        JumpToSlotCode();
        a.Label(ref exit);
        a.mov(__dword_ptr[r13 + Jit.OffEip], r10d);
        a.mov(r10d, Jit.ExitDispatch);
        a.jmp(jit.ExitAddr);
    }

    void SetOfR10()
    {
        if (JitCode.SetMask == 0xFFFF) a.movzx(r9d, r10w);
        else { a.mov(r9d, r10d); a.and(r9d, JitCode.SetMask); }
    }

    void BranchIf(ConditionCode cc, Label l)
    {
        switch (cc)
        {
            case ConditionCode.o: a.jo(l); break;
            case ConditionCode.no: a.jno(l); break;
            case ConditionCode.b: a.jb(l); break;
            case ConditionCode.ae: a.jae(l); break;
            case ConditionCode.e: a.je(l); break;
            case ConditionCode.ne: a.jne(l); break;
            case ConditionCode.be: a.jbe(l); break;
            case ConditionCode.a: a.ja(l); break;
            case ConditionCode.s: a.js(l); break;
            case ConditionCode.ns: a.jns(l); break;
            case ConditionCode.p: a.jp(l); break;
            case ConditionCode.np: a.jnp(l); break;
            case ConditionCode.l: a.jl(l); break;
            case ConditionCode.ge: a.jge(l); break;
            case ConditionCode.le: a.jle(l); break;
            case ConditionCode.g: a.jg(l); break;
            default: throw new InvalidOperationException("condition " + cc);
        }
    }

    sealed class BytesWriter : CodeWriter
    {
        public readonly List<byte> Bytes = new(1024);
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
