using Compat32.Cpu;
using Compat32.Memory;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Cpu;

/// <summary>Processor-level tests (no kernel): self-modifying code, restartable faults mid-REP, exception
/// vectors and the EIP/CR2/error code each leaves (SDM vol. 3 ch. 6 and 4.7), and CPUID against CpuModel.</summary>
public unsafe class ProcessorTests
{
    const uint Code = 0x10000, Src = 0x20000, Dst = 0x30000, Stack = 0x40000;

    sealed class M : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor Cpu;
        public M(byte[] code, Prot codeProt = Prot.Read | Prot.Exec, CpuModel? model = null)
        {
            Mem.Map(Code, 0x1000, Prot.Read | Prot.Write | Prot.Exec);
            for (int i = 0; i < code.Length; i++) Mem.Ptr(Code)[i] = code[i];
            Mem.Protect(Code, 0x1000, codeProt);
            Mem.Map(Src, 0x1000, Prot.Read | Prot.Write);
            Mem.Map(Dst, 0x1000, Prot.Read | Prot.Write);
            Mem.Map(Stack, 0x1000, Prot.Read | Prot.Write);
            Cpu = new Processor(model ?? CpuModel.IntelModel, Mem);
            Cpu.S.Eip = Code;
            Cpu.S.R[CpuState.ESP] = Stack + 0x800;
        }
        public CpuExit Run() => Cpu.Run(100_000);
        public uint R(int r) => Cpu.S.R[r];
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

    static void AssertException(M m, CpuExit e, int vector, uint eip)
    {
        Assert.Equal(CpuExit.Exception, e);
        Assert.Equal(vector, m.Cpu.Vector);
        Assert.Equal(eip, m.Cpu.S.Eip);
    }

    // ---------------------------------------------------------------- self-modifying code

    [Fact]
    public void StoreIntoTheNextInstructionIsSeen()
    {
        // The store patches the immediate of the very next instruction, already in the decoded block.
        byte[] code =
        [
            0xC6, 0x05, 0x08, 0x00, 0x01, 0x00, 0x2A, // mov byte [0x10008], 42
            0xBB, 0x07, 0x00, 0x00, 0x00,             // 0x10007: mov ebx, 7   (imm32 at 0x10008)
            0xCC,                                     // int3
        ];
        using var m = new M(code, Prot.Read | Prot.Write | Prot.Exec);
        AssertException(m, m.Run(), Vec.BP, Code + 13);
        Assert.Equal(42u, m.R(CpuState.EBX));
    }

    [Fact]
    public void PatchedLoopBodyIsRedecoded()
    {
        byte[] code =
        [
            0xB9, 0x02, 0x00, 0x00, 0x00,             // mov ecx, 2
            0xBB, 0x07, 0x00, 0x00, 0x00,             // 0x10005: mov ebx, 7 (imm at 0x10006)
            0x01, 0xD8,                               // add eax, ebx
            0xC6, 0x05, 0x06, 0x00, 0x01, 0x00, 0x2A, // mov byte [0x10006], 42
            0xE2, 0xF0,                               // loop 0x10005
            0xCC,
        ];
        using var m = new M(code, Prot.Read | Prot.Write | Prot.Exec);
        AssertException(m, m.Run(), Vec.BP, Code + (uint)code.Length);
        Assert.Equal(7u + 42u, m.R(CpuState.EAX));
        Assert.True(m.Cpu.Cache.Invalidations >= 1);
    }

    [Fact]
    public void SuccessorPatchedOnItsOwnPageIsDecodedAgain()
    {
        // A jumps to B on the next page; C, back on A's page, adds 10 to B's immediate each pass. A and C stay
        // decoded, and whatever remembers B for them (the processor's L1) holds a block C's store dropped: running
        // it would add the previous pass's value again.
        byte[] code =
        [
            0xB9, 0x04, 0x00, 0x00, 0x00,             // 0x10000: mov ecx, 4
            0xE9, 0xF6, 0x0F, 0x00, 0x00,             // 0x10005: jmp 0x11000 (B)
            0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC,
            0x80, 0x05, 0x01, 0x10, 0x01, 0x00, 0x0A, // 0x10010 (C): add byte [0x11001], 10
            0x49,                                     // dec ecx
            0x75, 0xEB,                               // jnz 0x10005
            0xCC,                                     // 0x1001A: int3
        ];
        byte[] b =
        [
            0xBB, 0x07, 0x00, 0x00, 0x00,             // 0x11000 (B): mov ebx, 7 (imm at 0x11001)
            0x01, 0xD8,                               // add eax, ebx
            0xE9, 0x04, 0xF0, 0xFF, 0xFF,             // jmp 0x10010 (C)
        ];
        using var m = new M(code);
        m.Mem.Map(Code + 0x1000, 0x1000, Prot.Read | Prot.Write | Prot.Exec);
        for (int i = 0; i < b.Length; i++) m.Mem.Ptr(Code + 0x1000)[i] = b[i];
        AssertException(m, m.Run(), Vec.BP, Code + 0x1B);
        Assert.Equal(7u + 17u + 27u + 37u, m.R(CpuState.EAX));
        Assert.True(m.Cpu.Cache.Invalidations >= 4);
    }

    [Fact]
    public void RepStosOverCodeIsExecuted()
    {
        // rep stosb fills the following bytes with NOPs (0x90), replacing a "mov eax, 1": EAX keeps 5.
        var code = Asm(a =>
        {
            a.mov(eax, 0x90);
            a.mov(edi, Code + 0x20);
            a.mov(ecx, 5);
            a.rep.stosb();
            a.mov(eax, 5);
        });
        Assert.True(code.Length <= 0x20);
        var full = new byte[0x26];
        code.CopyTo(full, 0);
        for (int i = code.Length; i < 0x20; i++) full[i] = 0x90;
        full[0x20] = 0xB8; full[0x21] = 1; full[0x22] = 0; full[0x23] = 0; full[0x24] = 0; // mov eax, 1
        full[0x25] = 0xCC;
        using var m = new M(full, Prot.Read | Prot.Write | Prot.Exec);
        AssertException(m, m.Run(), Vec.BP, Code + 0x26);
        Assert.Equal(5u, m.R(CpuState.EAX));
    }

    // ---------------------------------------------------------------- restartable faults in string ops

    [Fact]
    public void PageFaultMidRepMovsLeavesRegistersAtTheFaultingElement()
    {
        var code = Asm(a => { a.rep.movsd(); a.int3(); });
        using var m = new M(code);
        for (uint i = 0; i < 64; i++) m.Mem.Ptr(Src)[i] = (byte)(i + 1);
        m.Cpu.S.R[CpuState.ESI] = Src;
        m.Cpu.S.R[CpuState.EDI] = Dst + 0xFF8; // two dwords fit before the unmapped page at Dst+0x1000
        m.Cpu.S.R[CpuState.ECX] = 10;
        var e = m.Run();
        AssertException(m, e, Vec.PF, Code);
        Assert.Equal(Dst + 0x1000u, m.Cpu.Cr2);
        Assert.Equal(PfErr.Write | PfErr.User, m.Cpu.ErrorCode);
        Assert.Equal(8u, m.R(CpuState.ECX));
        Assert.Equal(Src + 8u, m.R(CpuState.ESI));
        Assert.Equal(Dst + 0x1000u, m.R(CpuState.EDI));
        Assert.Equal(0x08070605_04030201ul, *(ulong*)m.Mem.Ptr(Dst + 0xFF8));

        // Map the page and restart: the instruction resumes where it stopped.
        m.Mem.Map(Dst + 0x1000, 0x1000, Prot.Read | Prot.Write);
        AssertException(m, m.Run(), Vec.BP, Code + (uint)code.Length);
        Assert.Equal(0u, m.R(CpuState.ECX));
        Assert.Equal(Src + 40u, m.R(CpuState.ESI));
        for (uint i = 0; i < 40; i++) Assert.Equal((byte)(i + 1), m.Mem.Ptr(Dst + 0xFF8)[i]);
    }

    [Fact]
    public void PageFaultMidRepMovsBackwardsAndStraddling()
    {
        var code = Asm(a => { a.std(); a.rep.movsd(); a.int3(); });
        using var m = new M(code);
        m.Cpu.S.R[CpuState.ESI] = Src + 0x100;
        m.Cpu.S.R[CpuState.EDI] = Dst + 8;
        m.Cpu.S.R[CpuState.ECX] = 10;
        AssertException(m, m.Run(), Vec.PF, Code + 1);
        Assert.Equal(Dst - 4, m.Cpu.Cr2);
        Assert.Equal(7u, m.R(CpuState.ECX));
        Assert.Equal(Src + 0x100 - 12, m.R(CpuState.ESI));
        Assert.Equal(Dst - 4, m.R(CpuState.EDI));

        // A dword straddling into the unmapped page: CR2 is the first inaccessible byte, nothing is written.
        using var m2 = new M(Asm(a => { a.movsd(); a.int3(); }));
        m2.Cpu.S.R[CpuState.ESI] = Src;
        m2.Cpu.S.R[CpuState.EDI] = Dst + 0xFFE;
        *(uint*)m2.Mem.Ptr(Src) = 0xAABBCCDD;
        AssertException(m2, m2.Run(), Vec.PF, Code);
        Assert.Equal(Dst + 0x1000u, m2.Cpu.Cr2);
        Assert.Equal(0, *(ushort*)m2.Mem.Ptr(Dst + 0xFFE));
        Assert.Equal(Dst + 0xFFEu, m2.R(CpuState.EDI));
    }

    [Fact]
    public void PageFaultMidRepStosAndRepeCmps()
    {
        using var m = new M(Asm(a => { a.rep.stosb(); a.int3(); }));
        m.Cpu.S.R[CpuState.EAX] = 0x5A;
        m.Cpu.S.R[CpuState.EDI] = Dst + 0xFF0;
        m.Cpu.S.R[CpuState.ECX] = 100;
        AssertException(m, m.Run(), Vec.PF, Code);
        Assert.Equal(84u, m.R(CpuState.ECX));
        Assert.Equal(Dst + 0x1000u, m.R(CpuState.EDI));
        Assert.Equal(0x5A, m.Mem.Ptr(Dst)[0xFFF]);

        using var m2 = new M(Asm(a => { a.repe.cmpsb(); a.int3(); }));
        m2.Cpu.S.R[CpuState.ESI] = Src + 0xFF0; // Src+0x1000 is unmapped; both buffers are zero
        m2.Cpu.S.R[CpuState.EDI] = Dst;
        m2.Cpu.S.R[CpuState.ECX] = 100;
        AssertException(m2, m2.Run(), Vec.PF, Code);
        Assert.Equal(Src + 0x1000u, m2.Cpu.Cr2);
        Assert.Equal(PfErr.User, m2.Cpu.ErrorCode);
        Assert.Equal(84u, m2.R(CpuState.ECX));
        Assert.Equal(Dst + 16u, m2.R(CpuState.EDI));
    }

    // ---------------------------------------------------------------- exception vectors

    [Fact]
    public void DivideErrorIsAFaultAtTheDiv()
    {
        var code = Asm(a => { a.mov(eax, 10); a.xor(ecx, ecx); a.div(ecx); a.int3(); });
        using var m = new M(code);
        AssertException(m, m.Run(), Vec.DE, Code + 7);
        Assert.Equal(10u, m.R(CpuState.EAX));

        // Quotient overflow is #DE too (SDM DIV), and IDIV of INT_MIN by -1.
        using var m2 = new M(Asm(a => { a.mov(edx, 1); a.mov(eax, 0); a.mov(ecx, 1); a.div(ecx); }));
        AssertException(m2, m2.Run(), Vec.DE, Code + 15);
        using var m3 = new M(Asm(a => { a.mov(edx, -1); a.mov(eax, 0x80000000); a.mov(ecx, -1); a.idiv(ecx); }));
        AssertException(m3, m3.Run(), Vec.DE, Code + 15);
        using var m4 = new M(Asm(a => { a.mov(eax, 0x1234); a.aam(0); }));
        AssertException(m4, m4.Run(), Vec.DE, Code + 5);
    }

    [Fact]
    public void InvalidOpcodeIsAFault()
    {
        using var m = new M(Asm(a => { a.nop(); a.ud2(); }));
        AssertException(m, m.Run(), Vec.UD, Code + 1);
        // SSE on a model whose CPUID lacks it (the i686 baseline): #UD.
        using var m2 = new M([0x90, 0x0F, 0x28, 0xC1], model: CpuModel.IntelModel.WithFeatures(CpuFeatures.I686)); // movaps xmm0, xmm1
        AssertException(m2, m2.Run(), Vec.UD, Code + 1);
        // LOCK on a non-lockable instruction (SDM: #UD).
        using var m3 = new M([0xF0, 0x89, 0xC0]); // lock mov eax, eax
        AssertException(m3, m3.Run(), Vec.UD, Code);
    }

    [Fact]
    public void PrivilegedInstructionsAndIntNRaiseGP()
    {
        using var m = new M(Asm(a => { a.nop(); a.cli(); }));
        AssertException(m, m.Run(), Vec.GP, Code + 1);
        Assert.Equal(0u, m.Cpu.ErrorCode);
        using var m2 = new M(Asm(a => { a.hlt(); }));
        AssertException(m2, m2.Run(), Vec.GP, Code);
        // INT n through a DPL-0 gate: #GP with the IDT error code (vector*8+2), EIP at the INT.
        using var m3 = new M(Asm(a => { a.nop(); a.@int(0x81); }));
        AssertException(m3, m3.Run(), Vec.GP, Code + 1);
        Assert.Equal(0x81u * 8 + 2, m3.Cpu.ErrorCode);
        // INT3 and INTO are traps: EIP after the instruction.
        using var m4 = new M(Asm(a => { a.int3(); }));
        AssertException(m4, m4.Run(), Vec.BP, Code + 1);
        using var m5 = new M(Asm(a => { a.mov(eax, 0x7FFFFFFF); a.inc(eax); a.into(); }));
        AssertException(m5, m5.Run(), Vec.OF, Code + 7);
        // INT 0x80 is a software interrupt event, EIP after it.
        using var m6 = new M(Asm(a => { a.@int(0x80); }));
        Assert.Equal(CpuExit.SoftInt, m6.Run());
        Assert.Equal(Code + 2, m6.Cpu.S.Eip);
    }

    [Fact]
    public void PageFaultsReportAddressAndErrorCode()
    {
        // Read of an unmapped page: not-present, user, read.
        using var m = new M(Asm(a => { a.nop(); a.mov(eax, __dword_ptr[0x50000]); }));
        AssertException(m, m.Run(), Vec.PF, Code + 1);
        Assert.Equal(0x50000u, m.Cpu.Cr2);
        Assert.Equal(PfErr.User, m.Cpu.ErrorCode);
        // Write to a read-only page: present, write, user; the destination register is untouched.
        using var m2 = new M(Asm(a => { a.mov(ebx, 77); a.add(__dword_ptr[Code], ebx); }));
        AssertException(m2, m2.Run(), Vec.PF, Code + 5);
        Assert.Equal(Code, m2.Cpu.Cr2);
        Assert.Equal(PfErr.Present | PfErr.Write | PfErr.User, m2.Cpu.ErrorCode);
        // Fetch from an unmapped page: EIP and CR2 are the target, error code has I/D.
        using var m3 = new M(Asm(a => { a.mov(eax, 0x60000); a.jmp(eax); }));
        AssertException(m3, m3.Run(), Vec.PF, 0x60000);
        Assert.Equal(0x60000u, m3.Cpu.Cr2);
        Assert.Equal(PfErr.User | PfErr.Fetch, m3.Cpu.ErrorCode);
        // Fetch from a readable, non-executable page: present.
        using var m4 = new M(Asm(a => { a.mov(eax, Src); a.jmp(eax); }));
        AssertException(m4, m4.Run(), Vec.PF, Src);
        Assert.Equal(PfErr.Present | PfErr.User | PfErr.Fetch, m4.Cpu.ErrorCode);
        // An instruction straddling into an unmapped page: CR2 is the first byte there, EIP the instruction.
        using var m5 = new M([0xE9, 0xF8, 0x0F, 0x00, 0x00]); // jmp Code+0xFFD
        m5.Mem.Ptr(Code)[0xFFD] = 0xB8; m5.Mem.Ptr(Code)[0xFFE] = 1; m5.Mem.Ptr(Code)[0xFFF] = 2; // mov eax, imm32 cut
        AssertException(m5, m5.Run(), Vec.PF, Code + 0xFFD);
        Assert.Equal(Code + 0x1000u, m5.Cpu.Cr2);
        // A push onto an unmapped stack leaves ESP unchanged.
        using var m6 = new M(Asm(a => { a.mov(esp, 0x70000); a.push(eax); }));
        AssertException(m6, m6.Run(), Vec.PF, Code + 5);
        Assert.Equal(0x70000u, m6.R(CpuState.ESP));
        Assert.Equal(0x6FFFCu, m6.Cpu.Cr2);
    }

    // ---------------------------------------------------------------- hot path

    /// <summary>House rule: the CPU hot path allocates nothing per instruction. Once the blocks are decoded,
    /// re-running a loop of ALU, memory, stack, flag-consuming and control-transfer instructions allocates 0 bytes.</summary>
    [Fact]
    public void HotPathDoesNotAllocate()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var skip = a.CreateLabel(); var fn = a.CreateLabel(); var done = a.CreateLabel();
            a.mov(ecx, 100_000);
            a.Label(ref loop);
            a.add(eax, ecx);
            a.mov(__dword_ptr[Dst], eax);
            a.mov(ebx, __dword_ptr[Dst]);
            a.imul(ebx, ebx);
            a.push(ebx);
            a.pop(edx);
            a.movzx(edi, dl);
            a.shl(edi, 3);
            a.cmp(eax, edx);
            a.jne(skip);
            a.inc(esi);
            a.Label(ref skip);
            a.call(fn);
            a.setg(dl);
            a.cmovl(edi, edx);
            a.dec(ecx);
            a.jnz(loop);
            a.jmp(done);
            a.Label(ref fn);
            a.xor(__dword_ptr[Dst + 4], eax);
            a.ret();
            a.Label(ref done);
            a.int3();
        });
        using var m = new M(code);
        AssertException(m, m.Cpu.Run(10_000_000), Vec.BP, Code + (uint)code.Length); // decodes every block
        m.Cpu.S.Eip = Code;
        m.Cpu.S.R[CpuState.ESP] = Stack + 0x800;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = m.Cpu.Run(10_000_000);
        long after = GC.GetAllocatedBytesForCurrentThread();
        AssertException(m, e, Vec.BP, Code + (uint)code.Length);
        Assert.Equal(0, after - before);
    }

    // ---------------------------------------------------------------- CPUID

    public static IEnumerable<object[]> Models() => new[] { "intel", "amd", "nosep", "i386" }.Select(n => new object[] { n });

    static (uint a, uint b, uint c, uint d) Cpuid(CpuModel model, uint leaf)
    {
        using var m = new M(Asm(a => { a.cpuid(); a.int3(); }), model: model);
        m.Cpu.S.R[CpuState.EAX] = leaf;
        m.Run();
        return (m.R(CpuState.EAX), m.R(CpuState.EBX), m.R(CpuState.ECX), m.R(CpuState.EDX));
    }

    static string Str(params uint[] w) => string.Concat(w.Select(x => System.Text.Encoding.ASCII.GetString(BitConverter.GetBytes(x))));

    [Theory]
    [MemberData(nameof(Models))]
    public void CpuidReportsTheModel(string name)
    {
        var model = CpuModel.ByName(name)!;
        var l0 = Cpuid(model, 0);
        Assert.Equal(model.VendorString, Str(l0.b, l0.d, l0.c));
        Assert.True(l0.a >= 1);
        var l1 = Cpuid(model, 1);
        Assert.Equal(model.Cpuid1Edx, l1.d);
        Assert.Equal(model.Cpuid1Ecx, l1.c);
        Assert.Equal(model.Sep, (l1.d & (1u << 11)) != 0);
        var x0 = Cpuid(model, 0x80000000);
        Assert.True(x0.a >= 0x80000001);
        var x1 = Cpuid(model, 0x80000001);
        Assert.Equal(model.Kernel64, (x1.d & (1u << 29)) != 0); // LM
        Assert.Equal(model.Kernel64, (x1.d & (1u << 11)) != 0); // SYSCALL
    }

    /// <summary>The i686 baseline: every CPUID.1:EDX feature it reports has its instructions implemented, and
    /// MMX, SSE, SSE2, CLFLUSH are neither reported nor executed (Simd/SimdModelTests covers the SIMD models).</summary>
    [Fact]
    public void CpuidReportsOnlyImplementedFeatures()
    {
        var i686 = CpuModel.IntelModel.WithFeatures(CpuFeatures.I686);
        uint edx = i686.Cpuid1Edx;
        var probes = new Dictionary<int, byte[]>
        {
            [0] = Asm(a => { a.fld1(); a.fstp(st0); }),                    // FPU
            [4] = Asm(a => { a.rdtsc(); }),                                // TSC
            [8] = Asm(a => { a.mov(esi, Dst); a.cmpxchg8b(__qword_ptr[esi]); }), // CX8
            [11] = Asm(a => { a.nop(); }),                                 // SEP (SYSENTER tested by the entry layer)
            [15] = Asm(a => { a.cmovne(eax, ebx); }),                      // CMOV
            [24] = Asm(a => { a.mov(esi, Dst); a.fxsave(__[esi]); a.fxrstor(__[esi]); }), // FXSR
        };
        for (int bit = 0; bit < 32; bit++)
        {
            if ((edx & (1u << bit)) == 0) continue;
            Assert.True(probes.ContainsKey(bit), $"CPUID.1:EDX bit {bit} is reported but has no implementation probe");
            var code = probes[bit].Append((byte)0xCC).ToArray();
            using var m = new M(code, model: i686);
            AssertException(m, m.Run(), Vec.BP, Code + (uint)code.Length);
        }
        foreach (int bit in new[] { 19, 23, 25, 26 }) Assert.Equal(0u, edx & (1u << bit)); // CLFSH MMX SSE SSE2
        using var mmx = new M(Asm(a => a.emms()), model: i686);
        AssertException(mmx, mmx.Run(), Vec.UD, Code);
    }
}
