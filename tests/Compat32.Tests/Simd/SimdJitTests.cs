using Compat32.Cpu;
using Compat32.Memory;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Simd;

/// <summary>
/// SSE code through the block translator (host XMM registers, the guest's MXCSR in the host's) against the
/// interpreter, in-process, with memory operands: every program runs interpreted and with each block translated
/// at its first run, and registers, flags, XMM0-7, MXCSR, memory, EIP, the retired count and the event (#GP for a
/// misaligned MOVAPS/MOVDQA, #XM for an unmasked exception, #PF at the end of the mapping) must agree.
/// </summary>
public sealed unsafe class SimdJitTests
{
    const uint Code = 0x10000, Data = 0x20000, Stack = 0x40000;

    sealed class M : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor Cpu;
        public M(byte[] code, int jit)
        {
            Mem.Map(Code, 0x2000, Prot.Read | Prot.Write | Prot.Exec);
            for (int i = 0; i < code.Length; i++) Mem.Ptr(Code)[i] = code[i];
            Mem.Protect(Code, 0x2000, Prot.Read | Prot.Exec);
            Mem.Map(Data, 0x3000, Prot.Read | Prot.Write); // Data+0x3000 is unmapped
            Mem.Map(Stack, 0x1000, Prot.Read | Prot.Write);
            uint x = 99;
            for (uint a = Data; a < Data + 0x3000; a++) { x = x * 1103515245 + 12345; Mem.Ptr(a)[0] = (byte)(x >> 16 | 1); }
            for (uint a = Data + 0x2F80; a < Data + 0x2F90; a++) Mem.Ptr(a)[0] = 0; // a NUL for the string scan
            Cpu = new Processor(CpuModel.IntelModel, Mem, jitThreshold: jit);
            Cpu.S.Eip = Code;
            Cpu.S.R[CpuState.ESP] = Stack + 0x800;
        }
        public uint Word(uint a) { Mem.ReadU32(a, out uint v); return v; }
        public void Dispose() => Mem.Dispose();
    }

    static byte[] Asm(Action<Assembler> build)
    {
        var a = new Assembler(32);
        build(a);
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), Code);
        return ms.ToArray();
    }

    static M Both(byte[] code, long budget = 5_000_000)
    {
        using var i = new M(code, 0);
        var j = new M(code, 1);
        var ei = i.Cpu.Run(budget);
        var ej = j.Cpu.Run(budget);
        Assert.Equal(ei, ej);
        Assert.Equal(i.Cpu.S.Eip.ToString("x8"), j.Cpu.S.Eip.ToString("x8"));
        if (ei == CpuExit.Exception) { Assert.Equal(i.Cpu.Vector, j.Cpu.Vector); Assert.Equal(i.Cpu.Cr2, j.Cpu.Cr2); }
        for (int r = 0; r < 8; r++) Assert.True(i.Cpu.S.R[r] == j.Cpu.S.R[r], $"register {r}: interpreter {i.Cpu.S.R[r]:x8}, translated {j.Cpu.S.R[r]:x8}");
        Assert.Equal((i.Cpu.S.Flags.Get() & Flags.Arith).ToString("x"), (j.Cpu.S.Flags.Get() & Flags.Arith).ToString("x"));
        for (int x = 0; x < 8; x++)
        {
            var a = i.Cpu.S.Simd.Xmm(x); var b = j.Cpu.S.Simd.Xmm(x);
            Assert.True(a.Lo == b.Lo && a.Hi == b.Hi, $"xmm{x}: interpreter {a.Hi:x16}{a.Lo:x16}, translated {b.Hi:x16}{b.Lo:x16}");
        }
        Assert.Equal(i.Cpu.S.Simd.Mxcsr.ToString("x"), j.Cpu.S.Simd.Mxcsr.ToString("x"));
        for (uint a = Data; a < Data + 0x3000; a += 4) Assert.True(i.Word(a) == j.Word(a), $"memory at {a:x8}");
        Assert.Equal(i.Cpu.Retired, j.Cpu.Retired);
        Assert.True(j.Cpu.Jit!.Translated > 0, "nothing was translated");
        return j;
    }

    static void Check(M j, long minHost)
    {
        if (Jit.HostSupported) Assert.True(j.Cpu.Jit!.Instructions >= minHost, $"only {j.Cpu.Jit.Instructions} instructions ran as host code");
        j.Dispose();
    }

    [Fact]
    public void StringScanLoopAsGlibcsSse2RoutinesDo()
    {
        // strlen/memchr's shape: aligned 16-byte loads, PCMPEQB against zero, PMINUB/POR folding, PMOVMSKB and BSF;
        // then an unaligned MOVDQU walk that runs off the mapping (#PF at the page end).
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var found = a.CreateLabel(); var walk = a.CreateLabel();
            a.mov(esi, Data);
            a.pxor(xmm0, xmm0);
            a.Label(ref loop);
            a.movdqa(xmm1, __xmmword_ptr[esi]);
            a.movdqa(xmm2, __xmmword_ptr[esi + 16]);
            a.pminub(xmm2, xmm1);
            a.pcmpeqb(xmm2, xmm0);
            a.pmovmskb(eax, xmm2);
            a.paddb(xmm3, xmm1);
            a.psadbw(xmm4, xmm1);
            a.add(esi, 32);
            a.test(eax, eax);
            a.jz(loop);
            a.Label(ref found);
            a.bsf(ecx, eax);
            a.pshufd(xmm5, xmm3, 0x1B);
            a.punpcklbw(xmm5, xmm0);
            a.movdqa(__xmmword_ptr[Data + 0x100], xmm5);
            a.movdqu(__xmmword_ptr[Data + 0x203], xmm4);
            a.mov(edi, Data + 0x2003);
            a.Label(ref walk);
            a.movdqu(xmm6, __xmmword_ptr[edi]);
            a.por(xmm7, xmm6);
            a.pcmpeqd(xmm6, xmm7);
            a.add(edi, 7);
            a.jmp(walk);
        });
        var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Check(j, 3000);
    }

    [Fact]
    public void MisalignedMovapsIsGpAfterTranslatedWork()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 200);
            a.mov(esi, Data);
            a.Label(ref loop);
            a.movaps(xmm0, __xmmword_ptr[esi]);
            a.addps(xmm1, xmm0);
            a.movups(__xmmword_ptr[esi + 0x1001], xmm1);
            a.add(esi, 16);
            a.dec(ecx);
            a.jnz(loop);
            a.movapd(xmm2, __xmmword_ptr[esi + 8]); // misaligned: #GP(0)
            a.nop();
        });
        var j = Both(code);
        Assert.Equal(Vec.GP, j.Cpu.Vector);
        Check(j, 500);
    }

    /// <summary>A MOVDQA the host's protections check (a site) needs no alignment test either: the host's own MOVDQA
    /// raises the #GP on a misaligned pointer, which HostFaults takes as the site's fault. Here the 100th pointer of a
    /// hot loop is misaligned while the ADD's flags are live across the load (ADC reads them): #GP at the MOVDQA
    /// with the flags, registers and XMM state the interpreter has, and the fault came from the host.</summary>
    [Fact]
    public void MisalignedMovdqaInAHotLoopIsTheHostsGp()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var fill = a.CreateLabel();
            // the pointers: Data + 16 k, but the 100th Data + 8
            a.mov(edi, Data + 0x1000);
            a.mov(eax, Data);
            a.mov(edx, 200);
            a.Label(ref fill);
            a.mov(__dword_ptr[edi], eax);
            a.add(eax, 16);
            a.add(edi, 4);
            a.dec(edx);
            a.jnz(fill);
            a.mov(__dword_ptr[Data + 0x1000 + 99 * 4], Data + 8);
            a.mov(edi, Data + 0x1000);
            a.xor(ebx, ebx);
            a.xor(ecx, ecx);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.add(edi, 4);
            a.add(ebx, 0x7FFFFFF0);
            a.movdqa(xmm0, __xmmword_ptr[esi]);
            a.adc(ecx, 0);
            a.paddd(xmm1, xmm0);
            a.jmp(loop);
        });
        var j = Both(code);
        Assert.Equal(Vec.GP, j.Cpu.Vector);
        Check(j, 0);
        if (HostFaults.Active) Assert.True(j.Cpu.Jit!.FaultExits > 0, "the misaligned MOVDQA was tested, not left to the host");
    }

    [Fact]
    public void DoubleMathUnderEveryRoundingModeKeepsMxcsrFlags()
    {
        // cvtsi2sd/addsd/mulsd/divsd/sqrtsd/cvtsd2ss/cvttsd2si/ucomisd in a loop under each rounding mode, with FTZ
        // and DAZ; results stored, the sticky flags compared at the end.
        var code = Asm(a =>
        {
            var outer = a.CreateLabel(); var loop = a.CreateLabel(); var skip = a.CreateLabel();
            a.mov(ebx, 0);
            a.Label(ref outer);
            a.mov(eax, ebx);
            a.shl(eax, 13);
            a.or(eax, 0x9FC0); // all masked, FTZ, DAZ, RC from ebx
            a.mov(__dword_ptr[Data + 0x2000], eax);
            a.ldmxcsr(__dword_ptr[Data + 0x2000]);
            a.mov(ecx, 300);
            a.mov(esi, Data);
            a.Label(ref loop);
            a.cvtsi2sd(xmm0, ecx);
            a.movsd(xmm1, __qword_ptr[esi]);
            a.addsd(xmm1, xmm0);
            a.mulsd(xmm1, xmm1);
            a.divsd(xmm1, __qword_ptr[esi + 8]);
            a.sqrtsd(xmm2, xmm1);
            a.cvtsd2ss(xmm3, xmm2);
            a.mulss(xmm3, __dword_ptr[esi + 16]);
            a.cvttsd2si(edx, xmm2);
            a.cvtsd2si(edi, xmm1);
            a.add(__dword_ptr[ebx * 4 + (int)(Data + 0x1800)], edx);
            a.xor(__dword_ptr[ebx * 4 + (int)(Data + 0x1840)], edi);
            a.ucomisd(xmm2, xmm1);
            a.jbe(skip);
            a.subsd(xmm4, xmm2);
            a.Label(ref skip);
            a.minsd(xmm5, xmm1);
            a.maxps(xmm6, xmm3);
            a.movsd(__qword_ptr[esi + 0x2000 - 0x1000], xmm4);
            a.add(esi, 24);
            a.dec(ecx);
            a.jnz(loop);
            a.stmxcsr(__dword_ptr[ebx * 4 + (int)(Data + 0x1900)]);
            a.inc(ebx);
            a.cmp(ebx, 4);
            a.jb(outer);
            a.int3();
        });
        var j = Both(code);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Check(j, 4 * 300 * 15);
    }

    [Fact]
    public void UnmaskedExceptionIsXmFromTheInterpreter()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 100);
            a.Label(ref loop);
            a.cvtsi2sd(xmm0, ecx);
            a.divsd(xmm1, xmm0);
            a.addsd(xmm2, xmm0);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(__dword_ptr[Data], 0x1F80 & ~0x200); // #Z unmasked
            a.ldmxcsr(__dword_ptr[Data]);
            a.xorpd(xmm3, xmm3);
            a.addsd(xmm2, xmm2);
            a.mulsd(xmm2, xmm2);
            a.divsd(xmm2, xmm3); // #XM
            a.nop();
        });
        var j = Both(code);
        Assert.Equal(Vec.XM, j.Cpu.Vector);
        Check(j, 300);
    }

    /// <summary>CVTTSS2SI r32, m32 has no XMM operand but is MXCSR's: an unmasked #I is #XM here too.</summary>
    [Fact]
    public void ConversionFromMemoryWithInvalidUnmaskedIsXm()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 50);
            a.mov(__dword_ptr[Data], 0x7FC00000); // QNaN
            a.mov(__dword_ptr[Data + 4], 0x4F000000); // 2^31: out of range
            a.Label(ref loop);
            a.cvttss2si(edx, __dword_ptr[Data + 4]);
            a.cvtss2si(ebx, __dword_ptr[Data]);
            a.add(edi, edx);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(__dword_ptr[Data + 8], 0x1F80 & ~0x80); // #I unmasked
            a.ldmxcsr(__dword_ptr[Data + 8]);
            a.mov(ecx, 3);
            a.add(ecx, ecx);
            a.cvttss2si(edx, __dword_ptr[Data]); // #XM
            a.nop();
        });
        var j = Both(code);
        Assert.Equal(Vec.XM, j.Cpu.Vector);
        Check(j, 100);
    }

    [Fact]
    public void PageCrossingAndSsse3Sse41Forms()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(__dword_ptr[Data + 0x2F00], 60);
            a.mov(esi, Data + 0xFF0);
            a.Label(ref loop);
            a.movdqu(xmm0, __xmmword_ptr[esi]);            // crosses the page for some esi
            a.pshufb(xmm0, __xmmword_ptr[Data + 0x40]);
            a.palignr(xmm1, xmm0, 5);
            a.pmaxud(xmm2, xmm0);
            a.pmovzxbw(xmm3, __qword_ptr[esi + 3]);
            a.pmulld(xmm3, xmm1);
            a.pextrd(__dword_ptr[esi + 0x1000], xmm3, 2);
            a.pinsrb(xmm4, __byte_ptr[esi + 1], 7);
            a.ptest(xmm4, xmm2);
            a.setc(al);
            a.add(edx, eax);
            a.pcmpistri(xmm4, __xmmword_ptr[Data + 0x80], 0x0C);
            a.add(ebx, ecx);
            a.crc32(edi, __dword_ptr[esi]);
            a.popcnt(ebp, edi);
            a.add(esi, 3);
            a.dec(__dword_ptr[Data + 0x2F00]);
            a.jnz(loop);
            a.aesenc(xmm5, xmm0);
            a.pclmulqdq(xmm5, xmm1, 0x11);
            a.int3();
        });
        var j = Both(code);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Check(j, 200);
    }
}
