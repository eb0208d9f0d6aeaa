using Compat32.Cpu;
using Compat32.Memory;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Simd;

/// <summary>
/// MMX through the block translator (MMi in host XMM(8+i), the x87 aliasing kept in the state block's FNSAVE image)
/// against the interpreter, which is the definition, in-process: each program runs interpreted and with every block
/// translated at its first run, and the GPRs, flags, XMM0-7, MXCSR, the whole x87 state (control, status with TOP,
/// tag word, the eight registers' sign/exponent and significand, the instruction and operand pointers), memory, EIP,
/// the retired count and the event (#PF with its address, #MF, #GP) must agree; Jit.MmxTranslated and the
/// instructions run as host code show that the MMX code did run translated. The register forms are also checked
/// against the host CPU by SimdHardwareTests (which runs them translated too).
/// </summary>
public sealed unsafe class MmxJitTests(ITestOutputHelper log)
{
    const uint Code = 0x10000, Data = 0x20000, Stack = 0x40000;
    const uint Out = Data + 0x2000;

    static readonly CpuModel Model = CpuModel.IntelModel.WithFeatures(CpuFeatures.Goldmont);

    sealed class M : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor Cpu;
        public M(byte[] code, int jit, int seed)
        {
            Mem.Map(Code, 0x4000, Prot.Read | Prot.Write | Prot.Exec);
            for (int i = 0; i < code.Length; i++) Mem.Ptr(Code)[i] = code[i];
            Mem.Protect(Code, 0x4000, Prot.Read | Prot.Exec);
            Mem.Map(Data, 0x3000, Prot.Read | Prot.Write); // Data+0x3000 is unmapped
            Mem.Map(Stack, 0x1000, Prot.Read | Prot.Write);
            var r = new Random(seed);
            for (uint a = Data; a < Data + 0x2000; a += 8) *(ulong*)Mem.Ptr(a) = Value(r);
            Cpu = new Processor(Model, Mem, jitThreshold: jit);
            Cpu.S.Eip = Code;
            Cpu.S.R[CpuState.ESP] = Stack + 0x800;
        }
        public uint Word(uint a) { Mem.ReadU32(a, out uint v); return v; }
        public void Dispose() => Mem.Dispose();
    }

    /// <summary>Random 64-bit values with the edges packed instructions care about: zero, all ones, the signed and
    /// unsigned limits per lane, small shift counts, and float bit patterns (NaN, infinity, denormal, 2^31).</summary>
    static ulong Value(Random r)
    {
        ulong U() => (ulong)r.NextInt64() ^ (ulong)r.Next() << 33;
        return r.Next(14) switch
        {
            0 => 0,
            1 => ulong.MaxValue,
            2 => 0x8000800080008000UL,
            3 => 0x7FFF7FFF7FFF7FFFUL,
            4 => 0x8080808080808080UL ^ (U() & 0x0101010101010101UL),
            5 => 0x7F7F7F7F7F7F7F7FUL,
            6 => (ulong)r.Next(70),
            7 => 0x8000000080000000UL | (U() & 0x0000FFFF0000FFFFUL),
            8 => 0x7FC000004F000000UL,                         // QNaN, 2^31
            9 => 0x7F80000000000001UL | (ulong)r.Next(2) << 63, // SNaN/denormal
            10 => (ulong)BitConverter.SingleToInt32Bits(r.Next(-70000, 70000) * 0.75f) << (32 * r.Next(2)),
            11 => (ulong)BitConverter.DoubleToInt64Bits(r.NextDouble() * 6e9 - 3e9),
            _ => U(),
        };
    }

    static byte[] Asm(Action<Assembler> build)
    {
        var a = new Assembler(32);
        build(a);
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), Code);
        return ms.ToArray();
    }

    /// <summary>Runs code interpreted and translated (threshold 1); everything must agree. Returns the translated machine.</summary>
    static M Both(byte[] code, int seed = 7, long budget = 5_000_000, string what = "")
    {
        using var i = new M(code, 0, seed);
        var j = new M(code, 1, seed);
        var ei = i.Cpu.Run(budget);
        var ej = j.Cpu.Run(budget);
        string w = what.Length > 0 ? what + ": " : "";
        Assert.True(ei == ej, $"{w}exit: interpreter {ei} (vector {i.Cpu.Vector}), translated {ej} (vector {j.Cpu.Vector})");
        Assert.True(i.Cpu.S.Eip == j.Cpu.S.Eip, $"{w}EIP: interpreter {i.Cpu.S.Eip:x8}, translated {j.Cpu.S.Eip:x8}");
        if (ei == CpuExit.Exception) { Assert.Equal(i.Cpu.Vector, j.Cpu.Vector); Assert.Equal(i.Cpu.Cr2.ToString("x8"), j.Cpu.Cr2.ToString("x8")); }
        for (int r = 0; r < 8; r++) Assert.True(i.Cpu.S.R[r] == j.Cpu.S.R[r], $"{w}register {r}: interpreter {i.Cpu.S.R[r]:x8}, translated {j.Cpu.S.R[r]:x8}");
        Assert.Equal((i.Cpu.S.Flags.Get() & Flags.Arith).ToString("x"), (j.Cpu.S.Flags.Get() & Flags.Arith).ToString("x"));
        for (int x = 0; x < 8; x++)
        {
            var a = i.Cpu.S.Simd.Xmm(x); var b = j.Cpu.S.Simd.Xmm(x);
            Assert.True(a.Lo == b.Lo && a.Hi == b.Hi, $"{w}xmm{x}: interpreter {a.Hi:x16}{a.Lo:x16}, translated {b.Hi:x16}{b.Lo:x16}");
        }
        Assert.Equal(i.Cpu.S.Simd.Mxcsr.ToString("x"), j.Cpu.S.Simd.Mxcsr.ToString("x"));
        Assert.Equal(Fpu(i.Cpu.S.Fpu), Fpu(j.Cpu.S.Fpu));
        for (uint a = Data; a < Data + 0x3000; a += 4) Assert.True(i.Word(a) == j.Word(a), $"{w}memory at {a:x8}: interpreter {i.Word(a):x8}, translated {j.Word(a):x8}");
        Assert.Equal(i.Cpu.Retired, j.Cpu.Retired);
        Assert.True(j.Cpu.Jit!.Translated > 0, "nothing was translated");
        return j;
    }

    /// <summary>The whole x87 state as text: what FSAVE/FXSAVE and a signal frame are made of.</summary>
    static string Fpu(Compat32.Cpu.X87.X87State f)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append($"cw {f.Control:x4} sw {f.Status:x4} tag {f.Tag:x4} empty {f.Empty:x2} fip {f.Fip:x8} fcs {f.Fcs:x4} fop {f.Fop:x3} fdp {f.Fdp:x8} fds {f.Fds:x4}\n");
        for (int r = 0; r < 8; r++) sb.Append($"R{r} {f.Regs[r].Exp:x4}:{f.Regs[r].Signif:x16}\n");
        return sb.ToString();
    }

    /// <summary>The MMX instructions in j ran as host code.</summary>
    static void Translated(M j, long minHost)
    {
        if (!Jit.HostSupported) { j.Dispose(); return; }
        Assert.True(j.Cpu.Jit!.MmxTranslated > 0, "no MMX instruction was translated");
        Assert.True(j.Cpu.Jit.Instructions >= minHost, $"only {j.Cpu.Jit.Instructions} instructions ran as host code");
        j.Dispose();
    }

    // ---------------------------------------------------------------- every form

    /// <summary>Every legacy Code with an mm operand the SIMD models have (MMX, SSE, SSE2, SSSE3), plus CVTPI2PS/PD
    /// and MASKMOVQ; 3DNow! and Cyrix's extensions are no model's.</summary>
    static List<Iced.Intel.Code> MmxCodes()
    {
        var l = new List<Iced.Intel.Code>();
        foreach (var c in Enum.GetValues<Iced.Intel.Code>())
        {
            var oc = c.ToOpCode();
            if (!oc.IsInstruction || oc.Encoding != EncodingKind.Legacy || !oc.Mode32 || c == Iced.Intel.Code.Emms) continue;
            bool mm = c.Mnemonic() is Mnemonic.Cvtpi2ps or Mnemonic.Cvtpi2pd;
            for (int k = 0; k < oc.OpCount; k++) mm |= oc.GetOpKind(k).ToString().StartsWith("mm");
            if (!mm) continue;
            bool ok = true;
            foreach (var f in c.CpuidFeatures())
                ok &= f is CpuidFeature.MMX or CpuidFeature.SSE or CpuidFeature.SSE2 or CpuidFeature.SSSE3;
            if (ok) l.Add(c);
        }
        return l;
    }

    /// <summary>The form with op0 = mm0/xmm0/eax, op1 = mm1/xmm1/ecx (or [esi+64] when mem), op2 = mm2, and imm.</summary>
    static Instruction? Make(Iced.Intel.Code c, bool mem, int imm)
    {
        var oc = c.ToOpCode();
        if (c.Mnemonic() == Mnemonic.Maskmovq) return mem ? null : Instruction.CreateMaskmovq(32, Register.MM1, Register.MM2);
        var ops = new object[oc.OpCount];
        bool hasMem = false;
        for (int k = 0; k < oc.OpCount; k++)
        {
            string kind = oc.GetOpKind(k).ToString();
            Register R() => kind.StartsWith("mm") ? Register.MM0 + k : kind.StartsWith("xmm") ? Register.XMM0 + k : k == 0 ? Register.EAX : Register.ECX;
            if (kind == "imm8") ops[k] = imm;
            else if (kind == "mem" || (mem && kind.EndsWith("_or_mem"))) { ops[k] = new MemoryOperand(Register.ESI, Register.None, 1, 64, 1); hasMem = true; }
            else if (kind.EndsWith("_or_mem") || kind.EndsWith("_reg") || kind.EndsWith("_rm")) ops[k] = R();
            else throw new NotSupportedException(c + " " + kind);
        }
        if (mem != hasMem) return null;
        return ops switch
        {
            [Register a, Register b] => Instruction.Create(c, a, b),
            [Register a, MemoryOperand b] => Instruction.Create(c, a, b),
            [MemoryOperand a, Register b] => Instruction.Create(c, a, b),
            [Register a, int b] => Instruction.Create(c, a, b),
            [Register a, Register b, int i] => Instruction.Create(c, a, b, i),
            [Register a, MemoryOperand b, int i] => Instruction.Create(c, a, b, i),
            _ => throw new NotSupportedException(c.ToString()),
        };
    }

    /// <summary>Each MMX form (register and memory variants, three immediates where it takes one) in a loop over
    /// 40 records of random and edge values, under a rounding mode, FTZ and DAZ picked per form: the operands are
    /// loaded from the record, the results stored to another; interpreted and translated must agree.</summary>
    [Theory]
    [InlineData(0, 3)]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    public void EveryFormWithRandomAndEdgeValues(int part, int parts)
    {
        var codes = MmxCodes();
        int forms = 0, n = 0, variants = 0;
        long mmx = 0;
        foreach (var c in codes)
        {
            if (n++ % parts != part) continue;
            var rnd = new Random((int)c);
            var imms = new[] { rnd.Next(256), 0xFF, rnd.Next(2) == 0 ? 0x1B : 9 };
            var insns = new List<Instruction>();
            for (int v = 0; v < 3; v++)
                foreach (bool mem in new[] { false, true })
                    if ((v == 0 || HasImm(c)) && Make(c, mem, imms[v]) is { } ins) insns.Add(ins);
            if (insns.Count == 0) continue;
            forms++;
            variants += insns.Count;
            uint mx = 0x1F80u | (uint)(n % 4) << 13 | (n % 3 == 0 ? 0x8040u : 0);
            var code = Asm(a =>
            {
                var loop = a.CreateLabel();
                a.mov(__dword_ptr[Out + 0xFF0], (int)mx);
                a.ldmxcsr(__dword_ptr[Out + 0xFF0]);
                a.mov(esi, Data); a.mov(edi, Out); a.mov(ebx, 40);
                a.Label(ref loop);
                a.movq(mm0, __qword_ptr[esi]); a.movq(mm1, __qword_ptr[esi + 8]); a.movq(mm2, __qword_ptr[esi + 16]);
                a.movdqu(xmm0, __xmmword_ptr[esi + 24]); a.movdqu(xmm1, __xmmword_ptr[esi + 40]);
                a.mov(eax, __dword_ptr[esi + 56]); a.mov(ecx, __dword_ptr[esi + 60]);
                foreach (var ins in insns) a.AddInstruction(ins);
                a.movq(__qword_ptr[edi + 8], mm0); a.movq(__qword_ptr[edi + 16], mm1);
                a.movdqu(__xmmword_ptr[edi + 24], xmm0); a.mov(__dword_ptr[edi + 40], eax); a.mov(__dword_ptr[edi + 44], ecx);
                a.add(esi, 80); a.add(edi, 48);
                a.dec(ebx);
                a.jnz(loop);
                a.stmxcsr(__dword_ptr[Out + 0xFF4]);
                a.int3();
            });
            var j = Both(code, seed: (int)c, what: string.Join("; ", insns));
            Assert.Equal(Vec.BP, j.Cpu.Vector);
            if (Jit.HostSupported)
            {
                // the loop block whole: its 5 MMX loads/stores and every variant of the form
                Assert.True(j.Cpu.Jit!.MmxTranslated >= insns.Count + 5, $"{c}: {j.Cpu.Jit.MmxTranslated} MMX instructions translated");
                Assert.True(j.Cpu.Jit.Instructions >= 40 * (insns.Count + 10), $"{c}: only {j.Cpu.Jit.Instructions} instructions ran as host code");
            }
            mmx += j.Cpu.Jit!.MmxTranslated;
            j.Dispose();
        }
        log.WriteLine($"part {part}: {forms} forms, {variants} instructions, 40 records each; {mmx} MMX instructions translated");
        if (Jit.HostSupported) Assert.True(mmx >= variants, $"{mmx} MMX instructions translated for {variants} forms");
    }

    static bool HasImm(Iced.Intel.Code c)
    {
        var oc = c.ToOpCode();
        for (int k = 0; k < oc.OpCount; k++) if (oc.GetOpKind(k) == OpCodeOperandKind.imm8) return true;
        return false;
    }

    // ---------------------------------------------------------------- x87 aliasing

    /// <summary>x87 code (on the host FPU) and MMX code (host XMM8-15) alternating in one block and across blocks,
    /// with FNSTENV, FNSAVE/FRSTOR and FXSAVE (the interpreter's) between them, EMMS, a push onto the full stack
    /// MMX leaves without EMMS, and TOP left at 7 by the x87 code when an MMX instruction comes.</summary>
    /// <summary>A JMP to the next instruction: a new block starts there (a block translates only up to its first
    /// instruction the translator leaves to the interpreter).</summary>
    static void Split(Assembler a) { var l = a.CreateLabel(); a.jmp(l); a.Label(ref l); }

    [Fact]
    public void X87AndMmxInterleavedWithStateImages()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.fninit();
            a.mov(esi, Data); a.mov(edi, Out); a.mov(ebx, 60);
            a.Label(ref loop);
            a.fild(__dword_ptr[esi]);
            a.fmul(__qword_ptr[esi + 8]);
            a.fld(st0);
            a.faddp(st1, st0);
            a.fstp(__qword_ptr[edi]);            // TOP back to 0
            a.movq(mm0, __qword_ptr[esi + 8]);  // MMX after x87 in the same block
            a.paddw(mm0, __qword_ptr[esi + 16]);
            a.pmaddwd(mm0, mm1);
            a.movq(mm1, mm0);
            a.movq(__qword_ptr[edi + 8], mm0);
            a.fnstenv(__[edi + 16]); Split(a);
            a.fnsave(__[edi + 48]); Split(a);    // reinitialises: every tag empty
            a.frstor(__[edi + 48]); Split(a);
            a.fxsave(__[edi + 256]); Split(a);
            a.emms();
            a.fld1();                            // x87 after EMMS
            a.fadd(__qword_ptr[edi]);
            a.fistp(__dword_ptr[edi + 4]);
            a.movd(mm2, eax);                   // MMX after x87
            a.psllq(mm2, 3);
            a.paddd(mm2, mm1);
            a.movd(ecx, mm2);
            a.fld(__qword_ptr[edi]);             // x87 onto the full stack MMX left: masked stack overflow
            a.fstp(st0);
            a.fld(__dword_ptr[esi + 4]);         // TOP = 7 when the MMX instruction below comes
            a.pxor(mm3, mm2);                    // the interpreter's (TOP := 0 rotates the image)
            Split(a);
            a.fnsave(__[edi + 800]); Split(a);
            a.frstor(__[edi + 800]); Split(a);
            a.psubusb(mm3, mm0);
            a.movq(__qword_ptr[edi + 920], mm3);
            a.add(eax, ecx);
            a.add(esi, 24);
            a.dec(ebx);
            a.jnz(loop);
            a.fnstenv(__[Out + 0xF00]);
            a.int3();
        });
        var j = Both(code);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Translated(j, 60 * 20);
    }

    /// <summary>MMX state left in place across a block end and an interpreter exit, then FXSAVE, FNSAVE and FNSTENV
    /// (the abridged and the full tag words, TOP, the 0xFFFF exponents) taken right after translated MMX writes.</summary>
    [Fact]
    public void MmxWritesSeenByFxsaveFnsaveAndFnstenv()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var skip = a.CreateLabel();
            a.fninit();
            a.fldz(); a.fld1(); a.fldpi();        // x87 values in R5-R7 (exponents and tags to keep or overwrite)
            a.fstp(st0); a.fstp(st0); a.fstp(st0);
            a.mov(esi, Data); a.mov(ecx, 100);
            a.Label(ref loop);
            a.movq(mm5, __qword_ptr[esi]);
            a.punpckhbw(mm5, __qword_ptr[esi + 8]);
            a.packsswb(mm5, mm6);
            a.pshufw(mm4, mm5, 0x4E);
            a.test(ecx, 1);
            a.jz(skip);
            a.pavgb(mm2, mm4);                   // only on odd iterations: a second block
            a.Label(ref skip);
            a.add(esi, 16);
            a.dec(ecx);
            a.jnz(loop);
            a.fxsave(__[Out]);
            a.fnstenv(__[Out + 0x200]);
            a.fnsave(__[Out + 0x240]);            // empties every tag
            a.movq(mm7, mm5);                     // tags valid again, TOP 0
            a.fnsave(__[Out + 0x300]);
            a.emms();
            a.fxsave(__[Out + 0x400]);
            a.int3();
        });
        var j = Both(code);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Translated(j, 100 * 6);
    }

    /// <summary>An unmasked x87 exception pending (ES set) makes the next MMX instruction #MF (SDM 9.5.1), after
    /// the same MMX code ran translated; EMMS is #MF then too.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PendingX87ExceptionIsMfAtTheNextMmxInstruction(bool emms)
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data); a.mov(ecx, 50);
            a.Label(ref loop);
            if (emms) a.emms();
            a.movq(mm0, __qword_ptr[esi]);
            a.paddsb(mm0, mm1);
            a.pcmpgtw(mm1, mm0);
            a.add(esi, 8);
            a.dec(ecx);
            a.jnz(loop);
            a.emms();                             // an empty stack for the x87 code
            a.mov(__word_ptr[Out], 0x037B);       // #Z unmasked
            a.fldcw(__word_ptr[Out]);
            a.fldz();
            a.fld1();
            a.fdivrp(st1, st0);                   // 1/0: ZE, ES set, pending
            a.mov(ecx, 1);
            a.jmp(loop);
        });
        var j = Both(code);
        Assert.True(j.Cpu.Vector == Vec.MF, $"vector {j.Cpu.Vector} at {j.Cpu.S.Eip:x8} (cr2 {j.Cpu.Cr2:x8}), fpu {Fpu(j.Cpu.S.Fpu)}");
        Translated(j, 50 * 4);
    }

    // ---------------------------------------------------------------- faults in translated MMX instructions

    /// <summary>MMX memory operands walking off the end of the mapping: the #PF (address, EIP, and the x87 state
    /// the interpreter leaves: TOP 0, tags valid, the destination untouched) is the same.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void FaultInsideTranslatedMmxInstruction(int which)
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.fninit();
            a.fld1();                              // TOP 7 at the start: the first MMX instruction is the interpreter's
            a.mov(esi, Data + 0x2000); a.mov(edi, Data + 0x1000);
            a.Label(ref loop);
            a.movq(mm1, __qword_ptr[edi]);
            a.movq(mm2, __qword_ptr[edi + 8]);
            switch (which)
            {
                case 0: a.paddusb(mm1, __qword_ptr[esi + 3]); break;        // read crosses into the unmapped page
                case 1: a.pinsrw(mm1, __word_ptr[esi + 6], 2); break;       // m16 at the very end
                case 2: a.punpcklbw(mm1, __dword_ptr[esi + 5]); break;      // m32
                case 3: a.movq(__qword_ptr[esi + 1], mm1); break;           // write fault
                case 4: a.pmaddwd(mm2, __qword_ptr[esi]); break;
            }
            a.pxor(mm2, mm1);
            a.movq(__qword_ptr[edi + 0x800], mm2);
            a.add(esi, 8); a.add(edi, 4);
            a.jmp(loop);
        });
        var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Translated(j, 500);
    }

    /// <summary>MASKMOVQ stores the selected bytes at DS:EDI; a store into the read-only code pages faults unless
    /// the mask selects nothing (then nothing is written and nothing faults, as the interpreter has it).</summary>
    [Fact]
    public void MaskmovqStoresSelectedBytesAndFaultsLikeTheInterpreter()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var loop2 = a.CreateLabel();
            a.mov(esi, Data); a.mov(edi, Out); a.mov(ecx, 200);
            a.Label(ref loop);
            a.movq(mm0, __qword_ptr[esi]);
            a.movq(mm1, __qword_ptr[esi + 8]);
            a.maskmovq(mm0, mm1);
            a.add(esi, 16); a.add(edi, 5);
            a.dec(ecx);
            a.jnz(loop);
            a.pxor(mm1, mm1);
            a.mov(edi, Code + 0x100);
            a.mov(ecx, 20);
            a.Label(ref loop2);
            a.maskmovq(mm0, mm1);                 // zero mask onto a read-only page: no fault
            a.pcmpeqb(mm1, mm1);
            a.psrlq(mm1, 56);                      // then one byte selected: #PF (write)
            a.dec(ecx);
            a.jnz(loop2);
            a.int3();
        });
        var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Translated(j, 200 * 5);
    }
}
