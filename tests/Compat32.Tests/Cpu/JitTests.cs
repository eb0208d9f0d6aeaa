using Compat32.Cpu;
using Compat32.Memory;
using Compat32.Tests.Harness;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Cpu;

/// <summary>
/// The block translator against the interpreter, in-process: every program runs twice, once interpreted
/// (jitThreshold 0) and once with every block translated at its first execution (threshold 1), and the
/// architectural outcome must be the same: registers, arithmetic flags, EIP and the event (fault vector, CR2),
/// memory. The programs aim at what the translator hands back to the interpreter mid-block: page faults,
/// stores into code, page-crossing accesses, #DE, a page losing PROT_EXEC, and stop requests from another thread.
/// </summary>
public sealed unsafe class JitTests
{
    const uint Code = 0x10000, Data = 0x20000, Stack = 0x40000;

    sealed class M : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor Cpu;
        public M(byte[] code, int jit, Prot codeProt = Prot.Read | Prot.Exec, uint at = Code)
        {
            Mem.Map(at, 0x2000, Prot.Read | Prot.Write | Prot.Exec);
            for (int i = 0; i < code.Length; i++) Mem.Ptr(at)[i] = code[i];
            Mem.Protect(at, 0x2000, codeProt);
            Mem.Map(Data, 0x2000, Prot.Read | Prot.Write);
            Mem.Map(Stack, 0x1000, Prot.Read | Prot.Write);
            Cpu = new Processor(CpuModel.IntelModel, Mem, jitThreshold: jit);
            Cpu.S.Eip = at;
            Cpu.S.R[CpuState.ESP] = Stack + 0x800;
        }
        public uint R(int r) => Cpu.S.R[r];
        public uint Word(uint a) { Mem.ReadU32(a, out uint v); return v; }
        public void Dispose() => Mem.Dispose();
    }

    static byte[] Asm(Action<Assembler> build) => Asm(a => { build(a); return null; }, out _);

    /// <summary>Assemble at Code; labelAddr = the address of the label build returns (if any).</summary>
    static byte[] Asm(Func<Assembler, Label?> build, out uint labelAddr, uint at = Code)
    {
        var a = new Assembler(32);
        var l = build(a);
        var ms = new MemoryStream();
        var r = a.Assemble(new StreamCodeWriter(ms), at, BlockEncoderOptions.ReturnNewInstructionOffsets);
        labelAddr = l is { } lab ? (uint)r.GetLabelRIP(lab) : 0;
        return ms.ToArray();
    }

    /// <summary>Run the program interpreted and translated; assert the same outcome; return the translated run.</summary>
    static M Both(byte[] code, Prot codeProt = Prot.Read | Prot.Exec, long budget = 50_000_000, Action<M>? setup = null)
    {
        using var i = new M(code, 0, codeProt);
        var j = new M(code, 1, codeProt);
        Assert.Null(i.Cpu.Jit);
        Assert.NotNull(j.Cpu.Jit);
        setup?.Invoke(i); setup?.Invoke(j);
        long fallbacks = HostAssembler.Fallbacks;
        var ei = i.Cpu.Run(budget);
        var ej = j.Cpu.Run(budget);
        Assert.Equal(ei, ej);
        Assert.Equal(i.Cpu.S.Eip.ToString("x8"), j.Cpu.S.Eip.ToString("x8"));
        if (ei == CpuExit.Exception) { Assert.Equal(i.Cpu.Vector, j.Cpu.Vector); Assert.Equal(i.Cpu.Cr2, j.Cpu.Cr2); }
        for (int r = 0; r < 8; r++) Assert.True(i.R(r) == j.R(r), $"register {r}: interpreter {i.R(r):x8}, translated {j.R(r):x8}");
        Assert.Equal((i.Cpu.S.Flags.Get() & Flags.Arith).ToString("x"), (j.Cpu.S.Flags.Get() & Flags.Arith).ToString("x"));
        for (uint a = Data; a < Data + 0x2000; a += 4) Assert.True(i.Word(a) == j.Word(a), $"memory at {a:x8}");
        Assert.Equal(i.Cpu.Retired, j.Cpu.Retired);
        Assert.True(j.Cpu.Jit!.Translated > 0, "nothing was translated");
        Assert.True(HostAssembler.Fallbacks == fallbacks, $"a block went to Iced's BlockEncoder (HostAssembler refused it: {HostAssembler.LastRefusal})");
        return j;
    }

    [Fact]
    public void PageFaultInsideTranslatedLoopKeepsFlagsAndRegisters()
    {
        // A hot loop walks a pointer up to the end of the mapped data; the CMP's flags are live across the
        // faulting load, so the fault must see them (and the registers) exactly as the interpreter has them.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.cmp(eax, 0x1234);
            a.mov(edx, __dword_ptr[esi]);
            a.lea(esi, __dword_ptr[esi + 4]);
            a.adc(eax, edx);
            a.jmp(loop);
        });
        using var j = Both(code);
        Assert.Equal(CpuExit.Exception, j.Cpu.Exit);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
        Assert.True(j.Cpu.Jit!.InterpretExits > 0);
    }

    [Fact]
    public void HoistedChecksFailingAtEntryHandTheBlockToTheInterpreter()
    {
        // Each block's page checks run at its entry (Translator.PlanChecks). Here the third instruction is a locked
        // add across a cache line (a split lock, the interpreter's), so that check fails at every entry: the
        // interpreter must run the block from its start with the same result, and after a few failures the block
        // is translated again with the check at its instruction.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 3000);
            a.mov(esi, Data);
            a.Label(ref loop);
            a.mov(eax, __dword_ptr[esi + 8]);
            a.add(eax, ecx);
            a.@lock.add(__dword_ptr[Data + 0x3E], eax); // bytes 0x3E-0x41: two cache lines
            a.add(__dword_ptr[esi], eax);
            a.dec(ecx);
            a.jnz(loop);
            a.int3();
        });
        using var j = Both(code);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.True(j.Cpu.Jit!.HoistExits >= 8, "no hoisted check failed");
        Assert.True(j.Cpu.Jit.Unhoisted > 0, "the failing block was not translated again");
        Assert.True(j.Cpu.Jit.HoistExits < 100, $"{j.Cpu.Jit.HoistExits} entries failed their hoisted checks");
    }

    // ---- reads without a test: the host's page protections check them (HostFaults)

    [Fact]
    public void ReadsWithoutATestFaultThroughTheHostWithTheFlagsTheyHad()
    {
        Assert.True(HostFaults.Active, "the host fault handler is not installed on this x86-64 Linux host");
        // The ADD's flags are the host's own (not stored) when the load faults at the end of the data: the fault
        // stub must take them from the signal frame, and ADC reads them on every pass. The pointer lives in memory,
        // so the load's address is not known at block entry (no hoisted check: the read itself is the test).
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], Data + 0x100);
            a.mov(eax, 0x7FFFFF00);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.add(eax, 0x3FFFFFFB);
            a.mov(edx, __dword_ptr[esi]);
            a.add(__dword_ptr[edi], 4);
            a.adc(ebx, edx);
            a.jmp(loop);
        });
        using var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
        var jj = j.Cpu.Jit!;
        Assert.True(jj.FaultExits > 0, $"the faulting read was tested, not left to the host (translated {jj.Translated}, copied {jj.Copied}, exits {jj.InterpretExits}, hoist exits {jj.HoistExits}, site faults {HostFaults.SiteFaults}, let through {HostFaults.Unprotected}, protected {j.Mem.HostProtected})");
    }

    [Fact]
    public void AReadCrossingIntoAnUnmappedPageFaultsAtItsSecondPage()
    {
        // A dword read one byte further each pass: the last one that fits, then one that crosses into the unmapped
        // page above the data (#PF with CR2 at that page, as the interpreter raises it).
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], Data + 0x1F00);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.add(ebx, __dword_ptr[esi]);
            a.inc(__dword_ptr[edi]);
            a.jmp(loop);
        });
        using var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
        Assert.Equal(Data + 0x1FFD, j.R(CpuState.ESI));
        Assert.True(j.Cpu.Jit!.FaultExits > 0);
    }

    [Fact]
    public void APopAndAnSseLoadWithoutATestFaultAtTheirInstruction()
    {
        // ESP and the SSE pointer come from memory, so neither access can be checked at block entry: the POP's read
        // and MOVDQU's are left to the host. The POP runs off the top of the stack page (ESP must be the value before
        // the POP), the MOVDQU crosses into the unmapped page above the data; the INC's flags are the host's own.
        var pop = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], Stack + 0xF00);
            a.Label(ref loop);
            a.mov(esp, __dword_ptr[edi]);
            a.inc(ecx);
            a.pop(eax);
            a.adc(ebx, eax);
            a.add(__dword_ptr[edi], 4);
            a.jmp(loop);
        });
        using (var j = Both(pop))
        {
            Assert.Equal(Vec.PF, j.Cpu.Vector);
            Assert.Equal(Stack + 0x1000, j.Cpu.Cr2);
            Assert.Equal(Stack + 0x1000, j.R(CpuState.ESP));
            Assert.True(j.Cpu.Jit!.FaultExits > 0, "the POP's read was tested, not left to the host");
        }
        var sse = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], Data + 0x1F00);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.inc(ecx);
            a.movdqu(xmm0, __xmmword_ptr[esi]);
            a.pmovmskb(eax, xmm0);
            a.adc(ebx, eax);
            a.add(__dword_ptr[edi], 3);
            a.jmp(loop);
        });
        using (var j = Both(sse))
        {
            Assert.Equal(Vec.PF, j.Cpu.Vector);
            Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
            Assert.True(j.Cpu.Jit!.FaultExits > 0, "MOVDQU's read was tested, not left to the host");
        }
    }

    [Fact]
    public void AReadWrappingPast4GiBReadsPageZero()
    {
        // [0xFFFFFFFE] as a dword is the top page's last two bytes and page 0's first two: the host reads into the
        // guard past the reservation, faults, and the interpreter wraps.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 500);
            a.mov(esi, unchecked((int)0xFFFFFFFE));
            a.Label(ref loop);
            a.mov(edx, __dword_ptr[esi]);
            a.add(ebx, edx);
            a.dec(ecx);
            a.jnz(loop);
            a.int3();
        });
        using var j = Both(code, setup: m =>
        {
            m.Mem.Map(0xFFFFF000, 0x1000, Prot.Read | Prot.Write);
            m.Mem.Map(0, 0x1000, Prot.Read | Prot.Write);
            m.Mem.WriteU16(0xFFFFFFFE, 0x3412);
            m.Mem.WriteU16(0, 0x7856);
        });
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.Equal(0x78563412u, j.R(CpuState.EDX));
    }

    [Fact]
    public void ReadsOfAPageProtectedAfterTranslationFault()
    {
        // The block is translated and has run; then the page loses PROT_READ (no retranslation: the host's
        // protection changes), and its next read must fault at once, with the registers of that pass.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data + 0x1000);
            a.mov(__dword_ptr[edi], Data);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.add(ebx, __dword_ptr[esi + 0x100]);
            a.inc(ecx);
            a.jmp(loop);
        });
        using var i = new M(code, 0);
        using var j = new M(code, 1);
        foreach (var m in new[] { i, j })
        {
            Assert.Equal(CpuExit.Budget, m.Cpu.Run(30_000));
            Assert.Equal(ProtectResult.Ok, m.Mem.Protect(Data, 0x1000, Prot.None));
            Assert.Equal(CpuExit.Exception, m.Cpu.Run(30_000));
            Assert.Equal(Vec.PF, m.Cpu.Vector);
            Assert.Equal(Data + 0x100, m.Cpu.Cr2);
        }
        Assert.Equal(i.R(CpuState.ECX), j.R(CpuState.ECX));
        Assert.Equal(i.Cpu.S.Eip, j.Cpu.S.Eip);
        Assert.True(j.Cpu.Jit!.FaultExits > 0);
        // Readable again: the same translated code reads it.
        Assert.Equal(ProtectResult.Ok, j.Mem.Protect(Data, 0x1000, Prot.Read));
        Assert.Equal(CpuExit.Budget, j.Cpu.Run(30_000));
    }

    [Fact]
    public void TranslatedReadsRacingMunmapFaultOrReadAndNeverCrashTheHost()
    {
        // Stress (house rule): a guest loop reads a page in translated code while another thread maps and unmaps it
        // thousands of times, and a third reads it through the kernel's accessors (a system call's copy). Every
        // guest exit must be a #PF at that page or the budget; the host must survive the races the fault handler
        // resolves (a host read of a page unmapped after its test).
        const uint Page = 0x30000;
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Page);
            a.Label(ref loop);
            a.add(ebx, __dword_ptr[esi + 0x10]);
            a.add(ebx, __dword_ptr[esi + 0xFFC]);
            a.inc(ecx);
            a.jmp(loop);
        });
        using var m = new M(code, 1);
        m.Mem.Map(Page, 0x1000, Prot.Read | Prot.Write);
        long faults = 0, runs = 0, reads = 0;
        bool stop = false;
        var mapper = new Thread(() =>
        {
            for (int k = 0; k < 20_000 && !Volatile.Read(ref stop); k++)
            {
                m.Mem.Unmap(Page, 0x1000);
                Thread.SpinWait(50);
                m.Mem.Map(Page, 0x1000, Prot.Read | Prot.Write);
                Thread.SpinWait(50);
            }
            Volatile.Write(ref stop, true);
        });
        var reader = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) { if (m.Mem.ReadU32(Page + 0x20, out _)) reads++; }
        });
        mapper.Start(); reader.Start();
        try
        {
            while (!Volatile.Read(ref stop))
            {
                var e = m.Cpu.Run(20_000);
                runs++;
                if (e == CpuExit.Exception)
                {
                    Assert.Equal(Vec.PF, m.Cpu.Vector);
                    Assert.True(m.Cpu.Cr2 >= Page && m.Cpu.Cr2 < Page + 0x1000, $"#PF at {m.Cpu.Cr2:x8}");
                    faults++;
                    m.Cpu.S.Eip = Code; // start the loop again
                }
                else Assert.Equal(CpuExit.Budget, e);
            }
        }
        finally
        {
            // The space must outlive the threads that use it (a failed assertion above would free it under them).
            Volatile.Write(ref stop, true);
            mapper.Join(); reader.Join();
        }
        Assert.True(faults > 0 && runs > faults, $"{faults} faults in {runs} runs (host-protected {m.Mem.HostProtected})");
        // The mapper left the page mapped: every page the handler opened for a racing kernel read has its protection
        // back (HostFaults.Drain), and the loop runs its budget without a fault.
        m.Cpu.S.Eip = Code;
        Assert.Equal(CpuExit.Budget, m.Cpu.Run(20_000));
        Assert.True(m.Cpu.Jit!.Translated > 0);
    }

    // ---- writes without a test: the host write-protects what the guest may not write and decoded code (HostWrites)

    [Fact]
    public void WritesWithoutATestFaultThroughTheHostWithTheFlagsTheyHad()
    {
        Assert.True(HostFaults.WritesOn, "writes are tested (COMPAT32_HOSTFAULT_WRITES=0, or no host fault handler)");
        // A store walking up into a read-only page, its address from memory (no entry check), the ADD's flags the
        // host's own at the store: #PF (write, present) at the page's first byte, ADC's carry from the last pass.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], Data + 0x100);
            a.mov(eax, 0x7FFFFF00);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.add(eax, 0x3FFFFFFB);
            a.mov(__dword_ptr[esi], ecx);
            a.add(__dword_ptr[edi], 4);
            a.adc(ebx, edx);
            a.inc(ecx);
            a.jmp(loop);
        });
        using var j = Both(code, setup: m => m.Mem.Protect(Data + 0x1000, 0x1000, Prot.Read));
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x1000, j.Cpu.Cr2);
        Assert.Equal(PfErr.Write | PfErr.Present | PfErr.User, j.Cpu.ErrorCode);
        Assert.True(j.Cpu.Jit!.FaultExits > 0, $"the faulting store was tested, not left to the host (site faults {HostFaults.SiteFaults})");
    }

    /// <summary>JMP [mem] and CALL [mem] read their pointer without a test (a site, as a PLT or IFUNC slot's JMP [abs]
    /// is): a loop jumping through a table of pointers that runs off the mapped data takes the #PF at the JMP with the
    /// registers and flags the interpreter has, and the fault came from the host.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnIndirectJumpsPointerIsReadWithoutATest(bool call)
    {
        byte[] Build(uint target, out uint at) => Asm(a =>
        {
            var loop = a.CreateLabel(); var fill = a.CreateLabel(); var back = a.CreateLabel();
            a.mov(edi, Data + 0x1000);
            a.mov(edx, 0x400);
            a.Label(ref fill);                 // the table: every pointer leads to back
            a.mov(__dword_ptr[edi], target);
            a.add(edi, 4);
            a.dec(edx);
            a.jnz(fill);
            a.mov(esi, Data + 0x1000);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.add(ebx, 0x7FFFFFF0);            // flags live across the read: ADC after the jump reads them
            if (call) a.call(__dword_ptr[esi]); else a.jmp(__dword_ptr[esi]);
            a.Label(ref back);
            a.adc(ecx, 0);
            if (call) a.add(esp, 4);
            a.add(esi, 4);
            a.jmp(loop);
            return back;
        }, out at);
        Build(0, out uint backAt);
        var code = Build(backAt, out _);
        using var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
        Assert.True(j.Cpu.Jit!.FaultExits > 0, "the pointer's read was tested, not left to the host");
    }

    [Fact]
    public void TheX87InstructionPointerIsExactWhereverTranslatedCodeLeaves()
    {
        // The translator stores the last x87 instruction's FIP/FOP/FDS only before what may leave the block. Leave it
        // at a site fault (an integer read after register-only x87 work), at an x87 operand's own fault (FIP and FDP
        // still the previous one's: its site records the pointer not yet stored), at an x87 store's fault, at the
        // block's end and on the taken side of a mid-block branch out (its stub stores the pointer): FIP, FOP, FDP
        // and FDS as the interpreter has them.
        foreach (int variant in new[] { 0, 1, 2, 3, 4 })
        {
            var code = Asm(a =>
            {
                var loop = a.CreateLabel();
                a.mov(edi, Data);
                a.mov(esi, Data + 0x2000 - 0x40);
                a.fninit();
                a.Label(ref loop);
                a.fld(__qword_ptr[edi]);
                a.fmul(__qword_ptr[edi + 8]);
                a.fstp(__qword_ptr[edi + 16]);
                if (variant == 0) a.mov(eax, __dword_ptr[esi]);   // a site: faults past the data
                a.fld1();
                a.fstp(st0);
                if (variant == 1) a.fild(__dword_ptr[esi]);       // checked at the instruction: faults past the data
                else a.fild(__dword_ptr[edi + 4]);
                if (variant == 3) a.fistp(__dword_ptr[esi + 4]); // a store site: faults past the data
                else a.fistp(__dword_ptr[edi + 24]);
                a.add(esi, 8);
                if (variant == 2) { a.cmp(esi, Data + 0x2000); a.jne(loop); a.int3(); }
                else if (variant == 4)
                {
                    var done = a.CreateLabel();
                    a.cmp(esi, Data + 0x2000);
                    a.je(done);
                    a.fld1();
                    a.fstp(st0);
                    a.jmp(loop);
                    a.Label(ref done);
                    a.int3();
                }
                else a.jmp(loop);
            });
            using var i = new M(code, 0);
            using var j = new M(code, 1);
            var ei = i.Cpu.Run(1_000_000);
            var ej = j.Cpu.Run(1_000_000);
            Assert.Equal(ei, ej);
            Assert.Equal(variant is 2 or 4 ? Vec.BP : Vec.PF, j.Cpu.Vector);
            Assert.Equal(i.Cpu.S.Eip.ToString("x8"), j.Cpu.S.Eip.ToString("x8"));
            var fi = i.Cpu.S.Fpu; var fj = j.Cpu.S.Fpu;
            Assert.True(fi.Fip == fj.Fip && fi.Fop == fj.Fop && fi.Fdp == fj.Fdp && fi.Fds == fj.Fds && fi.Fcs == fj.Fcs,
                $"variant {variant}: interpreter fip {fi.Fip:x8} fop {fi.Fop:x3} fdp {fi.Fdp:x8} fds {fi.Fds:x4}, translated fip {fj.Fip:x8} fop {fj.Fop:x3} fdp {fj.Fdp:x8} fds {fj.Fds:x4}");
            Assert.NotEqual(0u, fj.Fip);
            Assert.True(j.Cpu.Jit!.Translated > 0, "nothing was translated");
            if (variant is not (2 or 4)) Assert.True(j.Cpu.Jit.FaultExits > 0, $"variant {variant}: the faulting access was tested, not left to the host");
        }
    }

    [Fact]
    public void ABaseAndDisplacementPastFourGiBWrapsWithoutATest()
    {
        // [EBX+0x2000] with EBX from memory: a site addressed [r14+rbx+0x2000] with no LEA. Past 4 GiB the guest's
        // address wraps (to page 0x1000 here), the host's lands in the guard past the reservation and faults; the
        // interpreter then does the wrapped access. The third pointer's read straddles 4 GiB: #PF at its first byte.
        const uint Low = 0x1000;
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], 0xFFFFF010);
            a.mov(__dword_ptr[edi + 4], 0xFFFFFFF0);
            a.mov(__dword_ptr[edi + 8], 0xFFFFDFFE);
            a.xor(esi, esi);
            a.Label(ref loop);
            a.mov(ebx, __dword_ptr[edi + esi * 4]);
            a.mov(eax, __dword_ptr[ebx + 0x2000]);
            a.add(ecx, eax);
            a.mov(__dword_ptr[ebx + 0x2004], ecx);
            a.inc(esi);
            a.jmp(loop);
        });
        void Low2(M m)
        {
            m.Mem.Map(Low, 0x1000, Prot.Read | Prot.Write);
            m.Mem.WriteU32(Low + 0x10, 0x11111111);
            m.Mem.WriteU32(Low + 0xFF0, 0x22222222);
        }
        using var j = Both(code, setup: Low2);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(0xFFFFFFFEu, j.Cpu.Cr2);
        Assert.Equal(0x33333333u, j.R(CpuState.ECX));
        Assert.Equal(0x11111111u, j.Word(Low + 0x14));
        Assert.Equal(0x33333333u, j.Word(Low + 0xFF4));
        Assert.True(j.Cpu.Jit!.FaultExits > 0, "the wrapped accesses were tested, not left to the host");
    }

    [Fact]
    public void APushACallAndAnSseStoreWithoutATestFaultAtTheirInstruction()
    {
        // ESP from memory, so no entry check: the PUSH runs off the bottom of the stack page (ESP must be the value
        // before it), then the CALL; MOVDQU stores across into the read-only page above the data.
        foreach (bool call in new[] { false, true })
        {
            var push = Asm(a =>
            {
                var loop = a.CreateLabel(); var f = a.CreateLabel();
                a.mov(edi, Data);
                a.mov(__dword_ptr[edi], Stack + 0x100);
                a.Label(ref loop);
                a.mov(esp, __dword_ptr[edi]);
                a.inc(ecx);
                if (call) a.call(f); else a.push(eax);
                a.adc(ebx, eax);
                a.sub(__dword_ptr[edi], 4);
                a.jmp(loop);
                a.Label(ref f);
                a.ret();
            });
            using var j = Both(push);
            Assert.Equal(Vec.PF, j.Cpu.Vector);
            Assert.Equal(Stack - 4, j.Cpu.Cr2);
            Assert.Equal(Stack, j.R(CpuState.ESP));
            Assert.True(j.Cpu.Jit!.FaultExits > 0, "the stack store was tested, not left to the host");
        }
        var sse = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], Data + 0xF00);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.inc(ecx);
            a.movdqu(__xmmword_ptr[esi], xmm1);
            a.adc(ebx, ecx);
            a.add(__dword_ptr[edi], 4);
            a.jmp(loop);
        });
        using (var j = Both(sse, setup: m => m.Mem.Protect(Data + 0x1000, 0x1000, Prot.Read)))
        {
            Assert.Equal(Vec.PF, j.Cpu.Vector);
            Assert.Equal(Data + 0x1000, j.Cpu.Cr2);
            Assert.Equal(Data + 0xFF4, j.R(CpuState.ESI));
            Assert.True(j.Cpu.Jit!.FaultExits > 0, "the MOVDQU store was tested, not left to the host");
        }
    }

    [Fact]
    public void AStoreIntoDecodedCodeIsSeenByTheNextCall()
    {
        // Self-modifying code in translated code: each pass stores ECX into the immediate of a MOV the CALL runs
        // next (the store's address from memory, so the store itself is the test). The host write-protects that
        // page while it holds decoded code, so the store leaves translated code, its code is dropped, and the
        // CALL must return the value just stored: EBX ends as the sum of 0..N-1.
        const int N = 3000;
        uint imm = 0;
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var f = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], 0x7EADBEEF); // patched below: the immediate's address
            a.xor(ecx, ecx);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.mov(__dword_ptr[esi], ecx);
            a.call(f);
            a.add(ebx, eax);
            a.inc(ecx);
            a.cmp(ecx, N);
            a.jne(loop);
            a.int3();
            a.Label(ref f);
            a.mov(eax, 0x11111111);
            a.ret();
            return f;
        }, out imm);
        // The MOV's immediate is one byte past its opcode; the first store puts that address into [EDI].
        code = PatchImm(code, imm + 1);
        using var j = Both(code, Prot.Read | Prot.Write | Prot.Exec);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.Equal((uint)((long)N * (N - 1) / 2), j.R(CpuState.EBX));
        Assert.True(j.Cpu.Jit!.Translated > 0);
        if (HostFaults.WritesOn) Assert.True(j.Cpu.Jit.FaultExits > 0, "the store into code was tested, not left to the host");
    }

    /// <summary>Replace the first 32-bit placeholder MOV [EDI], imm32 (C7 07 imm32) of code with value.</summary>
    static byte[] PatchImm(byte[] code, uint value)
    {
        for (int k = 0; k + 6 <= code.Length; k++)
            if (code[k] == 0xC7 && code[k + 1] == 0x07)
            {
                BitConverter.GetBytes(value).CopyTo(code, k + 2);
                return code;
            }
        throw new InvalidOperationException("no MOV [EDI], imm32");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CodeWrittenByAnotherThreadIsNeverRunStaleAfterTheWriterStops(bool direct)
    {
        // Stress (house rule): one processor calls a function in translated code; another thread's processor, on
        // the same space, stores ever larger values into that function's immediate (a store without a test). The
        // caller must see values that never go down, and the value of the last store once the writer has
        // stopped (code left stale by a store the host let through would keep an old value forever). The kernel
        // side writes the same page between rounds (PrepareWrite + NoteWrite), as a read() into it would.
        // direct: a CALL rel32, whose block end jumps through a link cell straight into the callee's code once it
        // is translated: each store must take the cell back to the lookup before the writer goes on.
        const uint Page = Code + 0x1000;
        var callerCode = Asm(a =>
        {
            var loop = a.CreateLabel(); var bad = a.CreateLabel();
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.mov(eax, Page);
            if (direct) a.call(Page);
            else a.call(eax);
            a.cmp(eax, ebx);
            a.jb(bad);
            a.mov(ebx, eax);
            a.inc(ecx);
            a.jmp(loop);
            a.Label(ref bad);
            a.int3();
        });
        using var m = new M(callerCode, 1, Prot.Read | Prot.Write | Prot.Exec);
        // The callee: MOV EAX, imm32; RET, on the code mapping's second page.
        byte[] callee = { 0xB8, 0, 0, 0, 0, 0xC3 };
        Assert.True(m.Mem.CopyToUser(Page, callee));
        var writerCode = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, Data);
            a.mov(__dword_ptr[edi], Page + 1);
            a.mov(ecx, 1);
            a.Label(ref loop);
            a.mov(esi, __dword_ptr[edi]);
            a.mov(__dword_ptr[esi], ecx);
            a.inc(ecx);
            a.cmp(ecx, 0x40000000); // (the caller compares unsigned: no wrap)
            a.jb(loop);
            a.int3();
            return null;
        }, out _, Stack + 0x800);
        Assert.True(m.Mem.CopyToUser(Stack + 0x800, writerCode));
        var writer = new Processor(CpuModel.IntelModel, m.Mem, jitThreshold: 1);
        writer.S.Eip = Stack + 0x800;
        writer.S.R[CpuState.ESP] = Stack + 0x700;
        m.Mem.Protect(Stack, 0x1000, Prot.Read | Prot.Write | Prot.Exec);
        bool stop = false;
        Exception? failed = null;
        var t = new Thread(() =>
        {
            try
            {
                while (!Volatile.Read(ref stop))
                {
                    var e = writer.Run(5_000);
                    if (e == CpuExit.Exception && writer.Vector == Vec.BP) break;
                    if (e != CpuExit.Budget) throw new InvalidOperationException($"writer stopped: {e} vector {writer.Vector} at {writer.S.Eip:x8}");
                }
            }
            catch (Exception x) { failed = x; }
            Volatile.Write(ref stop, true);
        });
        t.Start();
        long runs = 0;
        try
        {
            for (; runs < 2000 && !Volatile.Read(ref stop); runs++)
            {
                var e = m.Cpu.Run(20_000);
                Assert.True(e == CpuExit.Budget, $"caller: {e} vector {m.Cpu.Vector} at {m.Cpu.S.Eip:x8}: EAX {m.R(0):x} after EBX {m.R(CpuState.EBX):x}");
            }
        }
        finally { Volatile.Write(ref stop, true); t.Join(); }
        Assert.Null(failed);
        Assert.True(m.Mem.ReadU32(Page + 1, out uint last));
        Assert.True(last > 1000, $"the writer stored only up to {last}");
        Assert.Equal(CpuExit.Budget, m.Cpu.Run(20_000));
        Assert.Equal(last, m.R(CpuState.EBX));
        // A kernel store into the same code: the next call sees it too.
        Assert.True(m.Mem.WriteU32(Page + 1, last + 7));
        Assert.Equal(CpuExit.Budget, m.Cpu.Run(20_000));
        Assert.Equal(last + 7, m.R(CpuState.EBX));
        Assert.True(runs > 1 && m.Cpu.Jit!.Translated > 0 && writer.Jit!.FaultExits > 0, $"{runs} runs, {m.Cpu.Jit.Translated} translated, writer fault exits {writer.Jit!.FaultExits}");
        if (direct && Translator.LinkOn)
        {
            var (made, reset) = m.Cpu.Jit.LinkCounts;
            Assert.True(made > 1 && reset > 1, $"block links made {made}, reset {reset}: the call was not linked and unlinked");
        }
    }

    /// <summary>A CALL into a mapping that is unmapped and mapped again with other code: a direct call's link cell
    /// into the old callee is reset with the unmap, and an indirect call's (through a register or memory) table
    /// lookup loses the old callee, so the next calls run the new code (a different block shape at the same address
    /// too), never the old translation.</summary>
    [Theory]
    [InlineData("rel32")]
    [InlineData("register")]
    [InlineData("memory")]
    public void CallsFollowCodeMappedAgainAtTheSameAddress(string how)
    {
        const uint Lib = 0x30000, N = 500;
        var caller = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, N);
            a.xor(ebx, ebx);
            a.mov(__dword_ptr[Data], Lib);
            a.Label(ref loop);
            if (how == "rel32") a.call(Lib);
            else if (how == "memory") a.call(__dword_ptr[Data]);
            else { a.mov(edx, Lib); a.call(edx); }
            a.add(ebx, eax);
            a.dec(ecx);
            a.jnz(loop);
            a.int3();
        });
        using var m = new M(caller, 1);
        byte[][] libs =
        {
            new byte[] { 0xB8, 7, 0, 0, 0, 0xC3 },                   // mov eax, 7; ret
            new byte[] { 0xB8, 11, 0, 0, 0, 0xC3 },                  // mov eax, 11; ret
            new byte[] { 0x90, 0x90, 0x31, 0xC0, 0x04, 5, 0xC3 },    // nop; nop; xor eax, eax; add al, 5; ret
            new byte[] { 0xEB, 0x05, 0xB8, 1, 0, 0, 0, 0xB8, 13, 0, 0, 0, 0xC3 }, // jmp over mov eax,1; mov eax,13; ret
        };
        uint[] values = { 7, 11, 5, 13 };
        long lastReset = 0;
        for (int round = 0; round < libs.Length; round++)
        {
            if (round > 0) m.Mem.Unmap(Lib, 0x1000);
            m.Mem.Map(Lib, 0x1000, Prot.Read | Prot.Write);
            Assert.True(m.Mem.CopyToUser(Lib, libs[round]));
            m.Mem.Protect(Lib, 0x1000, Prot.Read | Prot.Exec);
            m.Cpu.S.Eip = Code;
            m.Cpu.S.R[CpuState.ESP] = Stack + 0x800;
            Assert.Equal(CpuExit.Exception, m.Cpu.Run(1_000_000));
            Assert.True(m.Cpu.Vector == Vec.BP, $"round {round}: vector {m.Cpu.Vector} at {m.Cpu.S.Eip:x8} cr2 {m.Cpu.Cr2:x8}");
            Assert.Equal(N * values[round], m.R(CpuState.EBX));
            Assert.True(m.Cpu.Jit!.Translated > round, $"round {round}: nothing translated");
            if (!Translator.LinkOn || how != "rel32") continue;
            var (made, reset) = m.Cpu.Jit!.LinkCounts;
            Assert.True(made > round, $"round {round}: {made} links made");
            if (round > 0) Assert.True(reset > lastReset, $"round {round}: the unmap reset no link ({reset})");
            lastReset = reset;
        }
    }

    [Fact]
    public void StackAccessesPastABranchAreCheckedAtEntry()
    {
        // Past a mid-block branch only accesses relative to ESP are still checked at block entry (Translator.PlanChecks:
        // the frame is mapped whichever way the block goes). Here the load after the JNZ reads above the stack's
        // only page, and the JNZ leaves the block on all but the last pass: its check fails at every entry though
        // the load does not run, so the interpreter takes those entries until the block is translated again with
        // the check at the load, which faults on the last pass as it must. The load is FLDCW's: a plain read (and an
        // x87 operand) is left to the host's protections (no check at all), an x87 control word is still checked.
        var code = Asm(a =>
        {
            var top = a.CreateLabel(); var other = a.CreateLabel();
            a.mov(ecx, 3000);
            a.Label(ref top);
            a.dec(ecx);
            a.jnz(other);
            a.fldcw(__word_ptr[esp + 0x900]); // Stack + 0x1100: unmapped
            a.int3();
            a.Label(ref other);
            a.add(ebx, __dword_ptr[esp + 4]);
            a.jmp(top);
        });
        using var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Stack + 0x1100, j.Cpu.Cr2);
        Assert.True(j.Cpu.Jit!.HoistExits > 0, "the load past the branch was not checked at block entry");
        Assert.True(j.Cpu.Jit.Unhoisted > 0, "the failing block was not translated again");
    }

    [Fact]
    public void StackAccessAfterAPushABranchMaySkipIsCheckedAtItsInstruction()
    {
        // A forward branch inside the block skips a PUSH: at the join ESP depends on the path, so the load there may
        // not be checked at entry with the fall-through's offset ([ESP-4], mapped) when the taken side reads [ESP]
        // (just above the stack's page: the interpreter's #PF, not a read of the host's zero page).
        var code = Asm(a =>
        {
            var join = a.CreateLabel();
            a.xor(ecx, ecx);
            a.inc(ecx);
            a.dec(ecx);
            a.jz(join);                         // taken
            a.push(eax);
            a.Label(ref join);
            a.mov(edx, __dword_ptr[esp]);
            a.int3();
        });
        using var j = Both(code, setup: m => m.Cpu.S.R[CpuState.ESP] = Stack + 0x1000);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Stack + 0x1000, j.Cpu.Cr2);
    }

    /// <summary>Blocks run through conditional branches (DecodeCache): the flags a CMP sets are read after a
    /// not-taken JL by ADC, SETO and a second JG, the taken sides leave with the flags the host holds, one taken side
    /// loops back to the block's own start, and a load after the branches faults with the flags live.</summary>
    [Fact]
    public void ConditionalBranchesInsideABlockKeepFlagsOnBothSides()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var low = a.CreateLabel(); var high = a.CreateLabel(); var join = a.CreateLabel();
            a.mov(ecx, 3000);
            a.mov(eax, 0x7FFFFF00);
            a.xor(ebx, ebx);
            a.xor(edi, edi);
            a.mov(esi, Data);
            a.Label(ref loop);
            a.add(eax, 0x3FFFFFFB);      // CF and OF vary from pass to pass
            a.jo(low);                    // taken with the host's flags (dirty): the stub stores them
            a.adc(ebx, 0);                // reads the ADD's CF on the fall-through
            a.cmp(ecx, 1500);
            a.jl(high);
            a.seto(__byte_ptr[Data + 0x10]);
            a.movzx(edx, __byte_ptr[Data + 0x10]);
            a.add(edi, edx);
            a.dec(ecx);
            a.jnz(loop);                  // mid-block when the block continues past it: back to its own start
            a.jmp(join);
            a.Label(ref low);
            a.adc(edi, 7);                // reads CF stored by the taken side
            a.dec(ecx);
            a.jnz(loop);
            a.jmp(join);
            a.Label(ref high);
            a.sbb(edi, 3);
            a.mov(edx, __dword_ptr[esi]); // walks off the data: #PF with the flags of the CMP/JL live
            a.lea(esi, __dword_ptr[esi + 64]);
            a.dec(ecx);
            a.jnz(loop);
            a.Label(ref join);
            a.int3();
        });
        using var j = Both(code);
        Assert.Equal(CpuExit.Exception, j.Cpu.Exit);
    }

    [Fact]
    public void FlagsKeptByPartialWritersSurviveBlockEnds()
    {
        // INC/DEC keep CF, and ADD sets OF: the translator skips restoring flags nobody reads before they are
        // overwritten and stores them with LAHF/SETO at block ends; every flag must still arrive where it is read.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var next = a.CreateLabel();
            a.mov(ecx, 2000);
            a.mov(eax, 0x7FFFFF00);
            a.xor(ebx, ebx);
            a.xor(edi, edi);
            a.Label(ref loop);
            a.add(eax, 0x3FFFFFFB);  // OF each time EAX passes 0x7FFFFFFF, CF at each wrap
            a.inc(edx);              // keeps CF: live into the next block's ADC
            a.jmp(next);
            a.Label(ref next);
            a.adc(ebx, 0);
            a.seto(__byte_ptr[Data + 0x10]);
            a.movzx(esi, __byte_ptr[Data + 0x10]);
            a.add(edi, esi);
            a.cmp(eax, 0x10);        // overwrites every flag: the INC below needs no restore
            a.dec(ecx);
            a.jnz(loop);
            a.int3();
        });
        using var j = Both(code);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.True(j.R(CpuState.EBX) > 100, "the ADD's carry did not reach the ADC");
    }

    [Fact]
    public void StoresIntoTranslatedCodeAreSeen()
    {
        // The loop body patches the immediate of its own "add ebx, imm32" every 100 iterations.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var skip = a.CreateLabel();
            a.mov(ecx, 1000);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.add(ebx, 1);           // 83 C3 01 (imm8 at patch+2)
            a.mov(eax, ecx);
            a.xor(edx, edx);
            a.mov(edi, 100);
            a.div(edi);
            a.test(edx, edx);
            a.jnz(skip);
            a.inc(__byte_ptr[Code + 2 + 7]); // patch+2: the add is at offset 7 (mov ecx 5 bytes, xor 2)
            a.Label(ref skip);
            a.dec(ecx);
            a.jnz(loop);
            a.int3();
        });
        Assert.Equal(0x83, code[7]);
        using var j = Both(code, Prot.Read | Prot.Write | Prot.Exec);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.True(j.Cpu.Cache.Invalidations >= 9);
    }

    [Fact]
    public void PageCrossingAccessesAndDivideErrorGoThroughTheInterpreter()
    {
        // Unaligned dword stores straddling the two data pages, then a #DE at the DIV once ECX reaches 0.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 200);
            a.Label(ref loop);
            a.mov(eax, ecx);
            a.imul(eax, eax, 0x01010101);
            a.mov(edi, Data + 0x1000 - 2);
            a.mov(__dword_ptr[edi], eax);
            a.add(__dword_ptr[edi + 8], eax);
            a.mov(ebx, __dword_ptr[edi]);
            a.xor(edx, edx);
            a.mov(eax, 1000000);
            a.div(ecx);
            a.add(__dword_ptr[Data + 0x100], eax);
            a.dec(ecx);
            a.jns(loop);
            a.int3();
        });
        using var j = Both(code);
        Assert.Equal(Vec.DE, j.Cpu.Vector);
        Assert.Equal(0u, j.R(CpuState.ECX));
    }

    [Fact]
    public void SignedDivisionAndBitScansMatchTheInterpreter()
    {
        // IDIV runs on the host only where it cannot raise #DE (a CDQ/CWD/CBW dividend, a divisor that is neither
        // 0 nor -1 against MIN); a wider dividend goes to the interpreter, and MIN / -1 ends the run with #DE at its
        // instruction. TZCNT and LZCNT are BSF and BSR on these models (no BMI1, no ABM): destination kept and
        // ZF set for a zero source.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 3000);
            a.Label(ref loop);
            a.mov(eax, ecx); a.imul(eax, eax, unchecked((int)0x9E3779B1)); a.cdq();
            a.mov(ebx, ecx); a.sub(ebx, 1500); a.or(ebx, 1);
            a.idiv(ebx);
            a.add(__dword_ptr[Data], eax); a.add(__dword_ptr[Data + 4], edx);
            a.mov(edx, ecx); a.shr(edx, 4); a.mov(eax, ecx); a.imul(eax, eax, 12345);
            a.mov(esi, ecx); a.add(esi, 0x40000000);
            a.idiv(esi); // EDX is not EAX's sign: the interpreter's
            a.add(__dword_ptr[Data + 8], eax); a.add(__dword_ptr[Data + 12], edx);
            a.mov(eax, ecx); a.imul(eax, eax, 77); a.cwd();
            a.mov(edi, ecx); a.sub(edi, 1500); a.or(edi, 1);
            a.idiv(di);
            a.add(__dword_ptr[Data + 16], eax); a.add(__dword_ptr[Data + 20], edx);
            a.mov(eax, ecx); a.cbw();
            a.idiv(__byte_ptr[Data + 0x100]);
            a.add(__dword_ptr[Data + 24], eax);
            a.mov(eax, ecx); a.neg(eax); a.cdq();
            a.idiv(__dword_ptr[Data + 0x104]);
            a.add(__dword_ptr[Data + 28], eax); a.add(__dword_ptr[Data + 32], edx);
            a.mov(eax, ecx); a.and(eax, 0x30);
            a.mov(edx, 0x55);
            a.tzcnt(edx, eax);
            a.sete(bl); a.movzx(ebx, bl);
            a.add(__dword_ptr[Data + 36], edx); a.add(__dword_ptr[Data + 40], ebx);
            a.mov(edx, 0x66);
            a.lzcnt(edx, eax);
            a.sete(bl); a.movzx(ebx, bl);
            a.add(__dword_ptr[Data + 44], edx); a.add(__dword_ptr[Data + 48], ebx);
            a.tzcnt(dx, __word_ptr[Data + 0x108]);
            a.add(__dword_ptr[Data + 52], edx);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(eax, int.MinValue); a.cdq(); a.mov(ebx, -1);
            a.idiv(ebx); // MIN / -1: #DE
            a.int3();
        });
        using var j = Both(code, setup: m =>
        {
            m.Mem.Ptr(Data + 0x100)[0] = 0xF9; // -7
            *(int*)m.Mem.Ptr(Data + 0x104) = -13;
            *(ushort*)m.Mem.Ptr(Data + 0x108) = 0x0400;
        });
        Assert.Equal(Vec.DE, j.Cpu.Vector);
        // Only the wide dividends leave host code: the other divisions and the scans run translated.
        Assert.InRange(j.Cpu.Jit!.InterpretExits, 2900, 3100);
        uint tz = 0, tzZero = 0, lz = 0;
        for (uint c = 1; c <= 3000; c++)
        {
            uint v = c & 0x30;
            tz += v == 0 ? 0x55 : (uint)System.Numerics.BitOperations.TrailingZeroCount(v);
            lz += v == 0 ? 0x66 : (uint)(31 - System.Numerics.BitOperations.LeadingZeroCount(v));
            if (v == 0) tzZero++;
        }
        Assert.Equal(tz, j.Word(Data + 36));
        Assert.Equal(tzZero, j.Word(Data + 40));
        Assert.Equal(lz, j.Word(Data + 44));
    }

    [Fact]
    public void ForwardBranchesInsideABlockKeepCountsAndFlags()
    {
        // Branches to a later instruction of their own block run there directly (Translator.ForwardTarget). The
        // ADCs after each join read the carry of the CMP (branch taken) or of the skipped ADD (not taken); the
        // walk over the data ends with a page fault right after the first join, where EIP, the retired count (the
        // skipped instructions given back) and the flags (the CMP's, unsaved on the taken side) must be the
        // interpreter's.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var skip1 = a.CreateLabel(); var skip2 = a.CreateLabel(); var skip3 = a.CreateLabel();
            a.mov(esi, Data);
            a.mov(ecx, 0);
            a.Label(ref loop);
            a.mov(eax, __dword_ptr[esi]);
            a.cmp(eax, 0x40000000);
            a.ja(skip1);
            a.add(eax, 0x7FFFFFFF);
            a.mov(__dword_ptr[esi + 4], eax);
            a.Label(ref skip1);
            a.mov(ebp, __dword_ptr[esi + 12]); // the next element: faults past the data with the CMP's or ADD's flags live
            a.adc(ecx, 0);
            a.test(ecx, 1);
            a.jz(skip2);
            a.add(ebx, ecx);
            a.Label(ref skip2);
            a.cmp(eax, 0x20000000);
            a.jb(skip3);
            a.lea(edx, __dword_ptr[edx + eax * 2]);
            a.add(edx, 0x10000000);
            a.Label(ref skip3);
            a.adc(edi, edx);
            a.mov(__dword_ptr[esi + 8], edi);
            a.lea(esi, __dword_ptr[esi + 12]);
            a.jmp(loop);
        });
        using var j = Both(code, setup: m =>
        {
            var r = new Random(7);
            for (uint x = Data; x < Data + 0x2000; x += 4) *(uint*)m.Mem.Ptr(x) = (uint)r.Next() * 3u;
        });
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x2004, j.Cpu.Cr2);
    }

    [Fact]
    public void AccessesToAMappingsFirstPageStayInHostCode()
    {
        // Data's first page has nothing mapped below it, so the pair test fails there and the shared exact test
        // (JitCode's stub) decides: a read and a write inside the page pass it and stay in host code; a dword
        // store straddling into the unmapped page below faults at its instruction.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 10000);
            a.mov(esi, Data);
            a.Label(ref loop);
            a.mov(edi, esi);
            a.add(edi, ebx); // EBX = 0, but the block moved EDI: its accesses are checked where they are
            a.mov(eax, __dword_ptr[edi + 0x10]);
            a.add(eax, ecx);
            a.mov(__dword_ptr[edi + 0x20], eax);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(__dword_ptr[esi - 2], eax);
            a.int3();
        });
        using var j = Both(code);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data - 2, j.Cpu.Cr2);
        Assert.True(j.Cpu.Jit!.InterpretExits < 10, $"{j.Cpu.Jit.InterpretExits} exits to the interpreter");
    }

    [Fact]
    public void BlocksSharingALookupSetDoNotEvictEachOther()
    {
        // The loop's CALL block at 0x10010 and its callee at 0x30010 share the lookup table's set (JitCode: the
        // low 16 bits). With one slot per set each would take the other's at every entry, leaving host code on
        // every call and return; two ways hold both, so each block is linked about once.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var done = a.CreateLabel();
            a.mov(ecx, 20000);
            a.xor(eax, eax);
            while (a.Instructions.Count < 11) a.nop(); // 7 + 9 bytes: the loop at 0x10010
            a.Label(ref loop);
            a.call(0x30010);
            a.add(ebx, eax);
            a.dec(ecx);
            a.jnz(loop);
            a.jmp(done);
            a.Label(ref done);
            a.int3();
        });
        using var j = Both(code, setup: m =>
        {
            m.Mem.Map(0x30000, 0x1000, Prot.Read | Prot.Write);
            byte[] f = [0x01, 0xC8, 0xC3]; // add eax, ecx; ret
            for (int k = 0; k < f.Length; k++) m.Mem.Ptr(0x30010)[k] = f[k];
            m.Mem.Protect(0x30000, 0x1000, Prot.Read | Prot.Exec);
        });
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.Equal(unchecked((uint)(20000L * 20001 / 2)), j.R(CpuState.EAX));
        Assert.True(j.Cpu.Jit!.Links < 20, $"{j.Cpu.Jit.Links} links for 3 hot blocks: they evict each other");
        Assert.True(j.Cpu.Jit.Entries < 100, $"{j.Cpu.Jit.Entries} entries into host code");
    }

    [Fact]
    public void PushPopCallRetAndIndirectJumps()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var f = a.CreateLabel(); var g = a.CreateLabel(); var table = a.CreateLabel();
            var done = a.CreateLabel(); var after = a.CreateLabel();
            a.mov(ecx, 5000);
            a.Label(ref loop);
            a.push(ecx);
            a.push(0x12345678);
            a.push(-1);
            a.call(f);
            a.add(esp, 8);
            a.pop(edx);
            a.mov(eax, ecx);
            a.and(eax, 1);
            a.call(__dword_ptr[eax * 4 + (int)(Data + 0x200)]);
            a.lea(ebx, __dword_ptr[ebx + eax * 2 + 3]);
            a.dec(ecx);
            a.jnz(loop);
            a.jmp(done);
            a.Label(ref f);
            a.push(ebp);
            a.mov(ebp, esp);
            a.mov(eax, __dword_ptr[ebp + 8]);
            a.xor(eax, __dword_ptr[ebp + 12]);
            a.add(__dword_ptr[Data], eax);
            a.leave();
            a.ret();
            a.Label(ref g);
            a.add(__dword_ptr[Data + 4], ecx);
            a.ret(0);
            a.Label(ref table);
            a.nop();
            a.Label(ref done);
            a.int3();
            return g;
        }, out uint gAddr);
        using var j = Both(code, setup: m =>
        {
            // the call table: both entries lead to g
            m.Mem.Poke(Data + 0x200, BitConverter.GetBytes(gAddr));
            m.Mem.Poke(Data + 0x204, BitConverter.GetBytes(gAddr));
        });
        Assert.Equal(Vec.BP, j.Cpu.Vector);
    }

    [Fact]
    public void TranslationsCopiedFromAnotherAddressSpaceRunAtTheirNewPlace()
    {
        // An address no other test uses: the pool keeps a few runs per start address, and the other in-process
        // CPU tests (running in parallel) put theirs at Code. A retry moves on by 16 KiB, where nothing of an
        // earlier attempt's runs and templates can be found.
        uint At = 0x735000;
        // salt: bytes no other test (and no earlier attempt) has; the decode pool and its templates are machine-wide.
        byte[] Build(int salt, out uint mainAddr) => Asm(a =>
        {
            var prefix = a.CreateLabel(); var main = a.CreateLabel(); var loop = a.CreateLabel(); var f = a.CreateLabel();
            var g = a.CreateLabel(); var done = a.CreateLabel();
            // Entered at Code in the second space only: its own hot loop is translated first, so the copied
            // blocks land at other offsets of that space's code region than where they were made.
            a.Label(ref prefix);
            a.mov(ecx, 300);
            var p = a.CreateLabel();
            a.Label(ref p);
            a.add(__dword_ptr[Data + 0x20], ecx);
            a.dec(ecx);
            a.jnz(p);
            a.Label(ref main);
            a.mov(ecx, 3000);
            a.Label(ref loop);
            a.push(ecx);
            a.push(salt);
            a.call(f);                                   // dispatch through the table, a RET through it back
            a.add(esp, 8);
            a.mov(eax, ecx);
            a.and(eax, 1);
            a.call(__dword_ptr[eax * 4 + (int)(Data + 0x200)]);
            a.fild(__dword_ptr[Data + 0x10]);            // x87 on the host FPU: the copy must say so
            a.fiadd(__dword_ptr[Data + 0x14]);
            a.fistp(__dword_ptr[Data + 0x10]);
            a.cmp(ecx, 7);
            a.je(done);                                  // a second exit of the loop block
            a.dec(ecx);
            a.jnz(loop);
            a.Label(ref done);
            a.mov(esi, Data + 0x1ffe);
            a.mov(eax, __dword_ptr[esi]);                // page-crossing: the slow path's exit to the interpreter
            a.mov(edi, __dword_ptr[Data + 0x3000]);      // and a page fault
            a.Label(ref f);
            a.mov(eax, __dword_ptr[esp + 4]);
            a.xor(eax, __dword_ptr[esp + 8]);
            a.add(__dword_ptr[Data], eax);
            a.ret();
            a.Label(ref g);
            a.add(__dword_ptr[Data + 4], ecx);
            a.ret();
            return main;
        }, out mainAddr, At);
        var code = Build(Random.Shared.Next(1, int.MaxValue), out uint mainAddr);
        void Setup(M m, uint start)
        {
            m.Cpu.S.Eip = start;
            m.Mem.Poke(Data + 0x14, BitConverter.GetBytes(3));
        }
        // g is the last RET: its address is the code's end minus 1 (RET) minus 6 (ADD [mem], ECX).
        uint gAddr = At + (uint)code.Length - 7;
        void Table(M m) { m.Mem.Poke(Data + 0x200, BitConverter.GetBytes(gAddr)); m.Mem.Poke(Data + 0x204, BitConverter.GetBytes(gAddr)); }

        // The pool starts again empty when it is full (in-process tests with random code fill it): then the
        // second space has nothing to copy, so try again (a reset twice in a row is still a failure).
        M i = null!, j = null!;
        CpuExit ei, ej;
        int attempt, gen0 = DecodePool.Generation;
        bool? lowFirst = null;
        for (attempt = 0; ; attempt++)
        {
            if (attempt > 0)
            {
                At += 0x4000;
                code = Build(Random.Shared.Next(1, int.MaxValue), out mainAddr);
                gAddr = At + (uint)code.Length - 7;
            }
            int gen = DecodePool.Generation;
            // Regions below 2 GiB are few (about 30) and the other tests' dead spaces give theirs back only when
            // collected; a template made in a low region does not fit a high one (and the other way round).
            FreeDeadRegions();
            // The first space translates the loop from main and leaves templates behind (once there are two).
            using var other = SecondSpace();
            using (var first = new M(code, 1, at: At)) { Setup(first, mainAddr); Table(first); first.Cpu.Run(50_000_000); Assert.Equal(0, first.Cpu.Jit!.Copied); lowFirst = first.Cpu.Jit.LowCode; }
            i?.Dispose(); j?.Dispose();
            i = new M(code, 0, at: At);
            j = new M(code, 1, at: At);
            foreach (var m in new[] { i, j }) { Setup(m, At); Table(m); }
            ei = i.Cpu.Run(50_000_000);
            ej = j.Cpu.Run(50_000_000);
            if ((DecodePool.Generation == gen && j.Cpu.Jit!.LowCode == lowFirst) || attempt == 2) break;
        }
        using var disposeI = i;
        using var disposeJ = j;
        Assert.True(j.Cpu.Jit!.Copied > 0, $"no block was copied from the first space's translation ({attempt + 1} attempts, {DecodePool.Generation - gen0} pool resets, low region {lowFirst} then {j.Cpu.Jit.LowCode})");
        // Only the prefix's two blocks are new to this space. A copy that dropped what its code needs (the host
        // FPU for its x87 instructions) would hand them to the interpreter, which then starts new blocks there.
        Assert.True(j.Cpu.Jit.Translated - j.Cpu.Jit.Copied <= 2, $"{j.Cpu.Jit.Translated} translated, {j.Cpu.Jit.Copied} of them copies");
        Assert.Equal(ei, ej);
        Assert.Equal(CpuExit.Exception, ej);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(i.Cpu.Cr2, j.Cpu.Cr2);
        Assert.Equal(i.Cpu.S.Eip.ToString("x8"), j.Cpu.S.Eip.ToString("x8"));
        for (int r = 0; r < 8; r++) Assert.True(i.R(r) == j.R(r), $"register {r}: interpreter {i.R(r):x8}, copied {j.R(r):x8}");
        for (uint a = Data; a < Data + 0x2000; a += 4) Assert.True(i.Word(a) == j.Word(a), $"memory at {a:x8}");
        Assert.Equal(i.Cpu.Retired, j.Cpu.Retired);
        Assert.Equal(3 * 2994, (int)i.Word(Data + 0x10)); // the x87 sum ran once per pass, ECX 3000 down to 7
    }

    /// <summary>A dead address space's code region is emptied and reused by the next one (JitCode's spare list):
    /// nothing of the old space's translations may be found through the recycled table.</summary>
    [Fact]
    public void RecycledCodeRegionHoldsNothingOfItsLastSpace()
    {
        const uint At = 0x755000;
        // Two programs at the same address: the second must never run the first's host code.
        byte[] Prog(int k) => Asm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.add(eax, k);
            a.dec(ecx);
            a.jnz(loop);
            a.int3();
            return null;
        }, out _, At);
        long before = Interlocked.Read(ref JitCode.Recycled);
        for (int round = 0; round < 6; round++)
        {
            // Only regions below 2 GiB are recycled, and they run out while other tests' dead spaces hold theirs.
            FreeDeadRegions();
            int k = Random.Shared.Next(1, int.MaxValue);
            var m = new M(Prog(k), 1, at: At);
            m.Cpu.S.R[CpuState.ECX] = 500;
            Assert.Equal(CpuExit.Exception, m.Cpu.Run(1_000_000));
            Assert.True(m.Cpu.Jit!.Translated > 0);
            Assert.Equal(unchecked((uint)(k * 500)), m.R(CpuState.EAX));
            CodeSpace.Retire(m.Mem); // what the kernel does when the last task of the process exits
            m.Dispose();
        }
        // Other tests retire spaces too, so the count is a lower bound on ours.
        Assert.True(Interlocked.Read(ref JitCode.Recycled) > before, "no region was taken from the spare list");
    }

    /// <summary>A space besides the test's own: a process makes templates only once it has two (CodeSpace.Several), so a
    /// test of copies run alone needs one.</summary>
    static M SecondSpace() => new(Asm(a => a.hlt()), 0, at: 0x7F00000);

    /// <summary>Let the collector finalize the other tests' dead spaces, whose code regions go back then.</summary>
    static void FreeDeadRegions() { GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect(); }

    /// <summary>A call to a PIC thunk (`mov reg, [esp]; ret` on the code's second page) runs the thunk in place
    /// (Translator.PcThunk): stopped after every instruction count, the registers, flags, the stack slot the call
    /// wrote and the stop point are the interpreter's; halfway the loop rewrites the thunk into `xor reg, reg; ret`,
    /// which must drop the translation that ran the old one (the caller is on another page: DecodeCache.DependOn).</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(6)]
    public void CallsToAPicThunkRunItInPlace(int reg)
    {
        const uint Thunk = Code + 0x1800;
        var g = Register.EAX + reg;
        uint old = 0x8Bu | (uint)(0x04 | reg << 3) << 8 | 0x24u << 16 | 0xC3u << 24;
        uint xor = 0x31u | (uint)(0xC0 | reg << 3 | reg) << 8 | 0xC3u << 16 | 0x90u << 24;
        const Prot Rwx = Prot.Read | Prot.Write | Prot.Exec;
        byte[] Program(bool rewrite, out uint ret)
        {
            var caller = Asm(a =>
            {
                var loop = a.CreateLabel();
                a.mov(esp, Data + 0x1000);
                a.mov(ecx, 120);
                a.xor(edx, edx);
                a.Label(ref loop);
                a.call(Thunk);
                a.AddInstruction(Instruction.Create(Iced.Intel.Code.Add_rm32_r32, Register.EDX, g));
                a.AddInstruction(Instruction.Create(Iced.Intel.Code.Mov_rm32_r32, new MemoryOperand(Register.None, Register.ECX, 4, (long)Data + 0x200, 4), g));
                if (rewrite)
                {
                    // Every pass stores the thunk, with no branch: its old bytes until ECX reaches 60, then the XOR.
                    a.cmp(ecx, 61);
                    a.sbb(edi, edi);
                    a.and(edi, (int)(old ^ xor));
                    a.xor(edi, (int)old);
                    a.mov(__dword_ptr[Thunk], edi);
                }
                a.dec(ecx);
                a.jnz(loop);
                a.hlt();
            });
            ret = ThunkReturn(caller);
            var code = new byte[0x1804];
            Array.Fill(code, (byte)0xCC);
            caller.CopyTo(code, 0);
            BitConverter.GetBytes(old).CopyTo(code, 0x1800);
            return code;
        }
        // Stopped after every instruction count (without the rewrite: a store into code stops the interpreter after
        // it and translated code before it, a difference of its own).
        var plain = Program(false, out uint r);
        for (long budget = 1; budget <= 40; budget++) Both(plain, Rwx, budget).Dispose();
        using (var j = Both(plain, Rwx))
        {
            Assert.Equal(Vec.GP, j.Cpu.Vector); // the HLT
            Assert.Equal(unchecked(120u * r), j.R(CpuState.EDX));
            Assert.True(j.Cpu.Jit!.InlinedThunks > 0, "no call ran its thunk in place");
        }
        using (var j = Both(Program(true, out r), Rwx))
        {
            Assert.Equal(Vec.GP, j.Cpu.Vector);
            Assert.Equal(unchecked(61u * r), j.R(CpuState.EDX)); // passes 120..60 read the address; the rest XOR
            Assert.True(j.Cpu.Jit!.InlinedThunks > 0, "no call ran its thunk in place");
        }
    }

    /// <summary>A translation that runs a PIC thunk in place is shared with another address space only where the same
    /// thunk is at the same address there: a space whose thunk at that address loads another register translates
    /// the caller afresh (a copy would add EBX's old value), one with the same thunk copies it.</summary>
    [Fact]
    public void CopiedTranslationsCheckTheirThunksInTheNewSpace()
    {
        const uint At = 0x7340000, Thunk = At + 0x1800, N = 300;
        byte[] Program(int reg)
        {
            var caller = Asm(a =>
            {
                var loop = a.CreateLabel();
                a.mov(esp, Data + 0x1000);
                a.mov(ecx, N);
                a.xor(edx, edx);
                a.mov(ebx, 5);
                a.Label(ref loop);
                a.call(Thunk);
                a.add(edx, ebx);
                a.dec(ecx);
                a.jnz(loop);
                a.hlt();
                return null;
            }, out _, At);
            var code = new byte[0x1804];
            Array.Fill(code, (byte)0xCC);
            caller.CopyTo(code, 0);
            new byte[] { 0x8B, (byte)(0x04 | reg << 3), 0x24, 0xC3 }.CopyTo(code, 0x1800);
            return code;
        }
        FreeDeadRegions();
        using var other = SecondSpace(); // (templates are made once a process has more than one space)
        int gen = DecodePool.Generation;
        bool? lowFirst;
        uint ret;
        using (var first = new M(Program(3), 1, at: At))
        {
            first.Cpu.Run(10_000_000);
            Assert.True(first.Cpu.Jit!.InlinedThunks > 0, "the first space ran no thunk in place");
            lowFirst = first.Cpu.Jit.LowCode;
            ret = At + 0x16; // after mov esp, mov ecx, xor edx, mov ebx (5 + 5 + 2 + 5) and the call (5)
        }
        foreach (int reg in new[] { 6, 3 })
        {
            using var i = new M(Program(reg), 0, at: At);
            using var j = new M(Program(reg), 1, at: At);
            Assert.Equal(i.Cpu.Run(10_000_000), j.Cpu.Run(10_000_000));
            for (int r = 0; r < 8; r++) Assert.True(i.R(r) == j.R(r), $"thunk of register {reg}: register {r}: interpreter {i.R(r):x8}, translated {j.R(r):x8}");
            Assert.Equal(reg == 3 ? unchecked(N * ret) : N * 5u, j.R(CpuState.EDX));
            if (reg == 3 && DecodePool.Generation == gen && j.Cpu.Jit!.LowCode == lowFirst)
                Assert.True(j.Cpu.Jit.Copied == j.Cpu.Jit.Translated, $"the space with the same thunk copied {j.Cpu.Jit.Copied} of {j.Cpu.Jit.Translated} blocks");
        }
    }

    /// <summary>The return address of the one CALL rel32 in caller (assembled at Code).</summary>
    static uint ThunkReturn(byte[] caller)
    {
        var d = Decoder.Create(32, new ByteArrayCodeReader(caller), Code);
        while (d.IP < Code + (ulong)caller.Length)
        {
            d.Decode(out var ins);
            if (ins.Mnemonic == Mnemonic.Call) return (uint)ins.NextIP;
        }
        throw new InvalidOperationException("no call");
    }

    /// <summary>A loop whose first block ends with an instruction straddling into the next page (its immediate's
    /// high half there: a block is listed under both pages, DecodeCache): the loop itself adds 1 to that half
    /// halfway through (a store into the second page only), and then the second page is unmapped and mapped again
    /// holding other bytes. Each time the block's translation is dropped and the new bytes are what runs, as in the
    /// interpreter.</summary>
    [Fact]
    public void BlocksCrossingIntoTheNextPageFollowIt()
    {
        var code = new byte[0x101B];
        Array.Fill(code, (byte)0xCC);
        void Put(int at, params byte[] b) => b.CopyTo(code, at);
        Put(0x000, 0xB9, 0x2C, 0x01, 0x00, 0x00);          // mov ecx, 300
        Put(0x005, 0x31, 0xC0);                              // xor eax, eax
        Put(0x007, 0xE9, 0xE4, 0x0F, 0x00, 0x00);          // jmp 0x10FF0
        for (int i = 0xFF0; i < 0xFFD; i++) code[i] = 0x90; // the loop: NOPs, then
        Put(0xFFD, 0xBB, 0x01, 0x02, 0x03, 0x04);          // 0x10FFD: mov ebx, 0x04030201 (bytes 03 04 at 0x11000)
        Put(0x1002, 0x01, 0xD8);                             // add eax, ebx
        Put(0x1004, 0x81, 0xF9, 0x96, 0x00, 0x00, 0x00);   // cmp ecx, 150
        Put(0x100A, 0x75, 0x07);                             // jne 0x11013
        Put(0x100C, 0x80, 0x05, 0x00, 0x10, 0x01, 0x00, 0x01); // add byte [0x11000], 1
        Put(0x1013, 0x49);                                   // dec ecx
        Put(0x1014, 0x0F, 0x85, 0xD6, 0xFF, 0xFF, 0xFF);   // jnz 0x10FF0
        Put(0x101A, 0xCC);                                   // int3
        const Prot Rwx = Prot.Read | Prot.Write | Prot.Exec;
        using var j = Both(code, Rwx);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.Equal(unchecked(151 * 0x04030201u + 149 * 0x04040201u), j.R(CpuState.EAX));

        // The second page again, with other immediate bytes and no store: the straddling block must not survive.
        var page = code[0x1000..];
        page[0] = 0x10; page[1] = 0x20;
        for (int i = 0xC; i < 0x13; i++) page[i] = 0x90;
        j.Mem.Unmap(Code + 0x1000, 0x1000);
        j.Mem.Map(Code + 0x1000, 0x1000, Prot.Read | Prot.Write);
        Assert.True(j.Mem.CopyToUser(Code + 0x1000, page));
        j.Mem.Protect(Code + 0x1000, 0x1000, Prot.Read | Prot.Exec);
        j.Cpu.S.Eip = Code;
        Assert.Equal(CpuExit.Exception, j.Cpu.Run(10_000_000));
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.Equal(unchecked(300 * 0x20100201u), j.R(CpuState.EAX));
    }

    [Fact]
    public void PageLosingExecFaultsOnTheNextFetch()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.inc(eax);
            a.cmp(eax, 100_000);
            a.jne(loop);
            a.int3();
        });
        using var m = new M(code, 1);
        Assert.Equal(CpuExit.Exception, m.Cpu.Run(10_000_000));
        Assert.Equal(Vec.BP, m.Cpu.Vector);
        Assert.True(m.Cpu.Jit!.Translated > 0);
        m.Mem.Protect(Code, 0x2000, Prot.Read);
        m.Cpu.S.Eip = Code;
        Assert.Equal(CpuExit.Exception, m.Cpu.Run(10_000_000));
        Assert.Equal(Vec.PF, m.Cpu.Vector);
        Assert.Equal(Code, m.Cpu.Cr2);
    }

    /// <summary>A loop whose back edge follows a CMP or TEST of registers keeps the guest flags in host RFLAGS across
    /// it (Translator.EmitPassTest, before the CMP or TEST): stopped after every number of instructions up to a few passes (the budget runs out
    /// at the loop's head, inside the body, on the way out), the flags, registers and memory are the interpreter's.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoopsCarryingTheirFlagsInTheHostStopExactlyEverywhere(bool test)
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data);
            a.mov(ebx, 0);
            a.mov(ecx, 0x7FFFFFFF);
            a.add(ecx, 1); // OF, SF, AF set at the loop's first entry
            a.Label(ref loop);
            a.mov(edx, __dword_ptr[esi]);     // a read before the body's first flag write
            a.lea(esi, __dword_ptr[esi + 4]);
            a.mov(__dword_ptr[esi + 0x100], ebx);
            a.add(ebx, 0x0F);                 // AF and PF change from pass to pass
            if (test) a.test(ebx, 0x1000); else a.cmp(ebx, 0x2D0);
            if (test) a.je(loop); else a.jne(loop);
            a.hlt();
        });
        for (long budget = 1; budget <= 70; budget++) Both(code, budget: budget).Dispose();
        using var j = Both(code, budget: 1_000);
        Assert.True(j.Cpu.Retired > 100, $"the loop ran {j.Cpu.Retired} instructions");
    }

    /// <summary>A loop whose CMP or TEST (of a 16- or 8-bit register here) is followed by stores, an x87 load and
    /// moves that write no flag and none of its registers before the back edge carries its flags in the host too
    /// (Translator.LoopFlagsWriter, LoopBack): stopped after every instruction count, and at a #PF in the store
    /// between the CMP and the branch (flags live), everything is as the interpreter has it.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoopsWithStoresBetweenTheirCompareAndBranchCarryTheirFlags(bool test)
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data);
            a.xor(ebx, ebx);
            a.xor(edi, edi);
            a.fninit();
            a.Label(ref loop);
            a.add(ebx, 0x0F);
            a.mov(__dword_ptr[esi + 0x100], ebx);
            a.inc(edi);
            if (test) a.test(bl, 0x80); else a.cmp(di, 600);
            a.mov(__dword_ptr[esi + 0x1E00], edi); // past the data after 128 passes: the #PF with the CMP's flags live
            a.fild(__dword_ptr[esi + 0x100]);
            a.fstp(st0);
            a.mov(edx, ebx);
            a.lea(esi, __dword_ptr[esi + 4]);
            if (test) a.je(loop); else a.jne(loop);
            a.hlt();
        });
        for (long budget = 6; budget <= 80; budget++) Both(code, budget: budget).Dispose();
        using var j = Both(code);
        if (test) Assert.Equal(Vec.GP, j.Cpu.Vector); // the HLT after it
        else
        {
            Assert.Equal(Vec.PF, j.Cpu.Vector);
            Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
        }
    }

    /// <summary>The same kind of loop reading past its mapped data: the #PF at its first instruction (no flag written
    /// yet in that pass) sees the flags the previous pass's CMP left, as the interpreter has them.</summary>
    [Fact]
    public void APageFaultAtTheHeadOfALoopCarryingItsFlagsSeesTheLastCompare()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.mov(edx, __dword_ptr[esi]);
            a.lea(esi, __dword_ptr[esi + 4]);
            a.add(eax, edx);
            a.cmp(esi, Data + 0x3000);
            a.jne(loop);
            a.hlt();
        });
        using var j = Both(code);
        Assert.Equal(CpuExit.Exception, j.Cpu.Exit);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
    }

    /// <summary>Self-loops whose budget and stop tests sit inside the pass, before an instruction that writes every
    /// flag (Translator.EmitPassTest), the flags crossing the back edge unsaved in host RFLAGS: stopped after every
    /// number of instructions up to several passes (the last pass runs from its own copy), they end where the
    /// interpreter does, with its flags, registers and memory. Shapes: intloop's (the edge after DEC, whose CF is an
    /// ADD's), a flag reader at the loop's head (ADC of the CF the last pass left), a table read checked at block
    /// entry after the test (the last pass checks it at its instruction), and a forward branch onto the test.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void LoopsTestingTheirPassStopExactlyEverywhere(int shape)
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data);
            a.mov(ecx, 25);
            a.mov(eax, 0x12345678);
            a.mov(edx, 0x9E3779B9);
            a.mov(ebx, 1);
            a.add(eax, 0x7FFFFFFF); // CF, OF, AF set at the loop's first entry
            a.Label(ref loop);
            switch (shape)
            {
                case 0: // intloop.c's loop
                    a.xor(eax, edx); a.add(edx, ebx); a.rol(eax, 5); a.rol(edx, 11); a.add(eax, ecx);
                    a.mov(edi, eax); a.xor(edx, eax); a.shr(edi, 3); a.add(ebx, edi);
                    a.dec(ecx); a.jne(loop);
                    break;
                case 1: // the head reads the CF the previous pass's ADD left (DEC keeps it)
                    a.mov(edi, __dword_ptr[esi]);
                    a.lea(esi, __dword_ptr[esi + 4]);
                    a.adc(eax, edi);
                    a.mov(__dword_ptr[esi + 0x200], eax);
                    a.add(ebx, 0x3FFFFFFF);
                    a.dec(ecx); a.jne(loop);
                    break;
                case 2: // a bounded table read (checked at block entry) after the test
                    a.movzx(edi, al);
                    a.add(eax, 0x01020305);
                    a.mov(edi, __dword_ptr[edi * 4 + Data + 0x400]);
                    a.xor(edx, edi);
                    a.mov(__dword_ptr[esi], edx);
                    a.mov(__dword_ptr[esi + 4], eax);
                    a.dec(ecx); a.jne(loop);
                    break;
                case 3: // a branch over part of the body onto the test
                {
                    var join = a.CreateLabel();
                    a.test(ecx, 1);
                    a.je(join);
                    a.rol(eax, 3);
                    a.mov(__dword_ptr[esi + 8], eax);
                    a.Label(ref join);
                    a.sub(edx, eax);
                    a.inc(ebx);
                    a.dec(ecx); a.jne(loop);
                    break;
                }
            }
            a.hlt();
        });
        void Fill(M m) { for (uint k = 0; k < 0x800; k += 4) m.Mem.Poke(Data + k, BitConverter.GetBytes(k * 0x9E3779B9u)); }
        // A taken forward branch ends the interpreter's block (a budget may stop it there) but not the translated one:
        // the two stop at different, both exact, places, so shape 3 is compared over its whole run only.
        if (shape != 3)
            for (long budget = 1; budget <= 90; budget++) Both(code, budget: budget, setup: Fill).Dispose();
        using var j = Both(code, budget: 10_000, setup: Fill);
        Assert.True(j.Cpu.Retired > 150, $"the loop ran {j.Cpu.Retired} instructions");
        Assert.True(j.Cpu.Jit!.PassTested > 0, "the loop was not translated with its pass test");
    }

    /// <summary>A loop whose reads before its last full flag write rely on its entry checks (two through one register
    /// that does not move, past the host's guard from it: checked once at block entry) cannot test its pass there (a
    /// stop request would come too late for them); it tests at its back edge, after its CMP, which runs again after
    /// the tests (LoopBack). (Reads nearer their register are host-checked sites with no entry check:
    /// HostCheckedReadsThroughOneRegisterNeedNoEntryCheck.)</summary>
    [Fact]
    public void LoopsWhoseEarlyReadsUseEntryChecksTestAtTheirBackEdge()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data - 0x10000);
            a.mov(ecx, 0);
            a.mov(eax, 0x7FFFFFF0);
            a.Label(ref loop);
            a.mov(edx, __dword_ptr[esi + 0x10000]);
            a.mov(ebx, __dword_ptr[esi + 0x10004]);
            a.add(eax, edx);
            a.adc(eax, ebx);
            a.inc(ecx);
            a.cmp(ecx, 30);
            a.jne(loop);
            a.hlt();
        });
        void Fill(M m) { m.Mem.Poke(Data, BitConverter.GetBytes(0x7FFFFFFFu)); m.Mem.Poke(Data + 4, BitConverter.GetBytes(3u)); }
        for (long budget = 1; budget <= 70; budget++) Both(code, budget: budget, setup: Fill).Dispose();
        using var j = Both(code, budget: 10_000, setup: Fill);
        Assert.True(j.Cpu.Retired > 150, $"the loop ran {j.Cpu.Retired} instructions");
        Assert.Equal(0, j.Cpu.Jit!.PassTested);
    }

    /// <summary>Reads and writes through one register at small displacements ([ESP+8], [ESI+4]: what a compiler's
    /// frame and struct accesses are) are sites the host's protections check, addressed as [r14+base+disp] with no
    /// test at all, not an entry check of their range (Translator.PlanChecks: COMPAT32_JIT_SITEDIRECT=0 groups them at
    /// entry as before). The loop over them tests its pass; stopped after every instruction count, and running into
    /// an unreadable page at its second read and into an unwritable one at its store, it ends where the interpreter
    /// does (EIP, registers, flags, CR2).</summary>
    [Theory]
    [InlineData(0u)]        // the first read runs into the unmapped page past Data
    [InlineData(4u)]        // the second read is the first to reach it
    [InlineData(1u)]        // the store runs into the unmapped page past Stack
    public void HostCheckedReadsThroughOneRegisterNeedNoEntryCheck(uint shape)
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data + (shape == 1 ? 0 : shape));
            a.mov(edi, shape == 1 ? Stack + 0x1000 - 0x40 : Data + 0x100);
            a.mov(ecx, 0);
            a.mov(eax, 0x7FFFFFF0);
            a.Label(ref loop);
            a.mov(edx, __dword_ptr[esi + 0x800]);
            a.mov(ebx, __dword_ptr[esi + 0x804]);
            a.add(eax, edx);
            a.adc(eax, ebx);
            a.mov(__dword_ptr[edi + 8], eax);
            a.mov(__dword_ptr[edi + 12], ecx);
            a.add(esi, 8);
            if (shape == 1) a.add(edi, 4);
            a.inc(ecx);
            a.cmp(ecx, 2000);
            a.jne(loop);
            a.hlt();
        });
        for (long budget = 1; budget <= 40; budget++) Both(code, budget: budget).Dispose();
        using var j = Both(code);
        Assert.Equal(CpuExit.Exception, j.Cpu.Exit);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(shape == 1 ? Stack + 0x1000 : Data + 0x2000, j.Cpu.Cr2);
        if (HostFaults.Active && j.Cpu.Jit!.FaultExits == 0) Assert.Fail("the fault was not taken by the host at a site");
        if (HostFaults.Active) Assert.True(j.Cpu.Jit!.PassTested > 0, "the loop did not test its pass");
    }

    /// <summary>A self-loop with x87 and SSE instructions opens both gates once, at block entry (Translator.LoopGates):
    /// stopped after every instruction count it matches the interpreter, and with an x87 exception unmasked (the
    /// FPU gate cannot open) it leaves at its first instruction every time, for the interpreter, with the same sums.</summary>
    [Fact]
    public void LoopsOpenTheirFpuAndSseGatesOnceAtEntry()
    {
        foreach (ushort cw in new ushort[] { 0x37F, 0x37E })
        {
            int n = cw == 0x37F ? 40 : 44;
            var code = Asm(a =>
            {
                var loop = a.CreateLabel();
                a.mov(esi, Data);
                a.xor(ecx, ecx);
                a.fninit();
                a.fldcw(__word_ptr[esi + 16]);
                a.fldz();
                a.xorps(xmm1, xmm1);
                a.Label(ref loop);
                a.fadd(__dword_ptr[esi]);
                a.movss(xmm0, __dword_ptr[esi + 4]);
                a.addss(xmm1, xmm0);
                a.inc(ecx);
                a.cmp(ecx, n); // (another count per variant: the same bytes would be a copy of the first's translation)
                a.jne(loop);
                a.fstp(__dword_ptr[esi + 8]);
                a.movss(__dword_ptr[esi + 12], xmm1);
                a.hlt();
            });
            void Fill(M m)
            {
                m.Mem.Poke(Data, BitConverter.GetBytes(1.5f));
                m.Mem.Poke(Data + 4, BitConverter.GetBytes(0.25f));
                m.Mem.Poke(Data + 16, BitConverter.GetBytes(cw));
            }
            // (from the loop's second pass on: the six instructions before it and its first pass are the interpreter's
            // when the budget ends there; not with the gate closed: each entry then leaves for the interpreter, which
            // stops at its own block ends, so a stop by budget lands elsewhere, as exact)
            using var j = Both(code, setup: Fill);
            for (long budget = 13; budget <= 90 && cw == 0x37F; budget++)
                try { Both(code, budget: budget, setup: Fill).Dispose(); }
                catch (Exception e) { throw new Exception($"budget {budget}: {e.Message}"); }
            Assert.Equal(1.5f * n, BitConverter.Int32BitsToSingle((int)j.Word(Data + 8)));
            Assert.Equal(0.25f * n, BitConverter.Int32BitsToSingle((int)j.Word(Data + 12)));
            if (cw == 0x37E) Assert.True(j.Cpu.Jit!.InterpretExits > 0, "the closed gate did not leave for the interpreter");
        }
    }

    /// <summary>A #PF at the head of a loop testing its pass (its first access, before any flag write in that pass)
    /// sees the flags the previous pass left, CF from its ADD under DEC's others, as the interpreter has them.</summary>
    [Fact]
    public void APageFaultAtTheHeadOfALoopTestingItsPassSeesThePassBefore()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data);
            a.mov(ecx, 0x7FFFFFFF);
            a.mov(ebx, 0);
            a.Label(ref loop);
            a.mov(edx, __dword_ptr[esi]);
            a.lea(esi, __dword_ptr[esi + 4]);
            a.add(ebx, 0x7FFFFF01);
            a.dec(ecx);
            a.jne(loop);
            a.hlt();
        });
        using var j = Both(code);
        Assert.Equal(CpuExit.Exception, j.Cpu.Exit);
        Assert.Equal(Vec.PF, j.Cpu.Vector);
        Assert.Equal(Data + 0x2000, j.Cpu.Cr2);
        Assert.True(j.Cpu.Jit!.PassTested > 0, "the loop was not translated with its pass test");
    }

    /// <summary>Guest CALLs and RETs in translated code, linked (a CALL's cell into its callee) and looked up (every
    /// RET): recursion 6000 deep, a callee that changes its return address, callees that never return, indirect
    /// calls, RET imm16, and a page fault 3000 calls deep: every outcome as the interpreter's, with budgets that end
    /// the run anywhere too. (It was written for a return-stack design that used host CALL/RET, measured 1-7% slower
    /// than the lookup here and dropped: BENCHMARKS.md, session 18.)</summary>
    [Theory]
    [InlineData(50_000_000L)]
    [InlineData(777_777L)]
    [InlineData(123_457L)]
    public void CallsAndReturnsMatchTheInterpreter(long budget)
    {
        const uint Big = 0x100000, BigSize = 0x40000; // 256 KiB of guest stack
        var code = Asm(a =>
        {
            Label rec = a.CreateLabel(), recDone = a.CreateLabel(), skip = a.CreateLabel(), away = a.CreateLabel(), back = a.CreateLabel();
            Label f0 = a.CreateLabel(), f1 = a.CreateLabel(), k8 = a.CreateLabel(), outer = a.CreateLabel(), l2 = a.CreateLabel();
            Label l3 = a.CreateLabel(), l4 = a.CreateLabel(), deep = a.CreateLabel(), deepDone = a.CreateLabel();
            a.xor(eax, eax); a.xor(ebx, ebx);
            a.mov(esi, 3);
            a.Label(ref outer);
            // recursion 6000 deep and back out
            a.mov(ecx, 6000);
            a.call(rec);
            a.add(ebx, eax);
            // a callee that moves its return address past a 5-byte MOV
            a.mov(edx, 200);
            a.Label(ref l2);
            a.call(skip);
            a.mov(ebx, 0xDEAD);          // skipped
            a.add(ebx, 1);
            a.dec(edx);
            a.jnz(l2);
            // callees that never return (they pop their return address)
            a.mov(edx, 5000);
            a.Label(ref back);
            a.call(away);
            a.int3();                    // never reached: away pops its return address
            a.Label(ref l3);
            // indirect calls alternating between two targets, and RET 8
            a.mov(edx, 300);
            a.Label(ref l4);
            a.mov(edi, edx);
            a.and(edi, 1);
            a.mov(edi, __dword_ptr[edi * 4 + (int)(Data + 0x1000)]);
            a.call(edi);
            a.push(edx); a.push(ebx);
            a.call(k8);
            a.mov(ebx, eax);
            a.dec(edx);
            a.jnz(l4);
            a.dec(esi);
            a.jnz(outer);
            // last: a page fault 3000 calls deep
            a.mov(ecx, 3000);
            a.call(deep);
            a.int3();
            a.Label(ref rec);
            a.test(ecx, ecx);
            a.jz(recDone);
            a.dec(ecx);
            a.call(rec);
            a.add(eax, 3);
            a.Label(ref recDone);
            a.ret();
            a.Label(ref skip);
            a.add(__dword_ptr[esp], 5);
            a.ret();
            a.Label(ref away);
            a.pop(edi);                  // its return address, dropped
            a.add(ebx, edx);
            a.dec(edx);
            a.jnz(back);
            a.jmp(l3);
            a.Label(ref f0);
            a.lea(ebx, __[ebx + ebx * 2 + 1]);
            a.ret();
            a.Label(ref f1);
            a.ror(ebx, 5);
            a.ret();
            a.Label(ref k8);
            a.mov(eax, __dword_ptr[esp + 4]);
            a.xor(eax, __dword_ptr[esp + 8]);
            a.ret(8);
            a.Label(ref deep);
            a.dec(ecx);
            a.jz(deepDone);
            a.call(deep);
            a.ret();
            a.Label(ref deepDone);
            a.mov(eax, __dword_ptr[0x7FF0_0000]); // unmapped
            a.ret();
            // the indirect call table, filled by setup
            return f0;
        }, out uint f0Addr);
        uint f1Addr = FindRor(code);
        using var j = Both(code, budget: budget, setup: m =>
        {
            m.Mem.Map(Big, BigSize, Prot.Read | Prot.Write);
            m.Cpu.S.R[CpuState.ESP] = Big + BigSize;
            Assert.True(m.Mem.WriteU32(Data + 0x1000, f0Addr));
            Assert.True(m.Mem.WriteU32(Data + 0x1004, f1Addr));
        });
        if (budget == 50_000_000L)
        {
            Assert.Equal(Vec.PF, j.Cpu.Vector);
            Assert.Equal(0x7FF0_0000u, j.Cpu.Cr2);
        }
    }

    /// <summary>The address of the first ROR EBX,5 (C1 CB 05) in code, assembled at Code.</summary>
    static uint FindRor(byte[] code)
    {
        for (int k = 0; k + 3 <= code.Length; k++)
            if (code[k] == 0xC1 && code[k + 1] == 0xCB && code[k + 2] == 5) return Code + (uint)k;
        throw new InvalidOperationException("no ROR EBX,5");
    }

    [Fact]
    public void BudgetAndStopRequestsReachTranslatedLoops()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.add(eax, 3);
            a.xor(ebx, eax);
            a.jmp(loop);
        });
        using var m = new M(code, 1);
        Assert.Equal(CpuExit.Budget, m.Cpu.Run(1_000_000));
        Assert.InRange(m.Cpu.Retired, 1_000_000, 1_000_003);
        Assert.Equal(m.Cpu.Retired / 3 * 3, (long)m.R(CpuState.EAX));
        // An endless translated loop must return soon after another thread asks (a signal becoming pending), not
        // when its budget runs out. Budgets of ~2 s of this loop, in a loop as Machine.RunTask does: a GC started by
        // another test waits for host code to return, and can hold the requesting thread back until it does.
        var sw = System.Diagnostics.Stopwatch.StartNew();
        long requestedAt = -1;
        var t = new Thread(() => { Thread.Sleep(50); m.Cpu.RequestAsyncStop(); Volatile.Write(ref requestedAt, sw.ElapsedMilliseconds); });
        t.Start();
        CpuExit e;
        do e = m.Cpu.Run(4_000_000_000); while (e == CpuExit.Budget && sw.ElapsedMilliseconds < 60_000);
        long stoppedAt = sw.ElapsedMilliseconds;
        t.Join();
        Assert.Equal(CpuExit.Stop, e);
        Assert.True(stoppedAt - Volatile.Read(ref requestedAt) < 1000, $"stop requested at {requestedAt} ms, seen at {stoppedAt} ms");
        Assert.True(m.Cpu.Jit!.Instructions > 1_000_000);
    }

    /// <summary>An endless loop testing its pass (Translator.EmitPassTest) returns soon after another thread asks,
    /// at the end of a pass, where the interpreter would stop too.</summary>
    [Fact]
    public void StopRequestsReachLoopsTestingTheirPass()
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.Label(ref loop);
            a.add(ebx, 3);
            a.xor(edx, ebx);
            a.or(eax, 1);
            a.jne(loop);
            a.hlt();
        });
        using var m = new M(code, 1);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        long requestedAt = -1;
        var t = new Thread(() => { Thread.Sleep(50); m.Cpu.RequestAsyncStop(); Volatile.Write(ref requestedAt, sw.ElapsedMilliseconds); });
        t.Start();
        CpuExit e;
        do e = m.Cpu.Run(4_000_000_000); while (e == CpuExit.Budget && sw.ElapsedMilliseconds < 60_000);
        long stoppedAt = sw.ElapsedMilliseconds;
        t.Join();
        Assert.Equal(CpuExit.Stop, e);
        Assert.True(stoppedAt - Volatile.Read(ref requestedAt) < 1000, $"stop requested at {requestedAt} ms, seen at {stoppedAt} ms");
        Assert.Equal(Code, m.Cpu.S.Eip); // between passes
        Assert.Equal(0, m.Cpu.Retired % 4);
        Assert.Equal((uint)(m.Cpu.Retired / 4 * 3), m.R(CpuState.EBX));
        Assert.True(m.Cpu.Jit!.PassTested > 0, "the loop was not translated with its pass test");
    }

    // ---- a guest program: page-crossing accesses, a mapping's first page, 4 GiB wrap, a loop whose page is protected

    static string MemGuest() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "cpu", "memjit.c"), "-w", "-pthread");

    /// <summary>tests/guests/cpu/memjit.c under qemu-i386 and under compat32, interpreted and with every block
    /// translated at its first run: accesses that cross into the next page (allowed, PROT_NONE, a write into
    /// PROT_READ, a write into code that ran: the pair test and its exact fallback), a mapping's first page, a
    /// base + displacement past 4 GiB (a direct operand's entry check), and a loop that skips its entry checks
    /// while another thread write-protects or unmaps its page (it must fault within one iteration: fails when
    /// CodeSpace does not stop the loop).</summary>
    [Theory]
    [InlineData("off")]
    [InlineData("1")]
    public void GuestMemoryChecksMatchQemu(string jit) =>
        Differential.AssertSame(MemGuest(), [], new() { Compat32Options = ["--jit", jit] });

    [NativeI386Fact]
    public void GuestMemoryChecksMatchTheHostKernel() =>
        NativeI386.AssertSame(MemGuest(), [], new() { Compat32Options = ["--jit", "1"] });

    // ---- the code area under pressure: segments evicted in turn, never the whole code

    /// <summary>A chain of Blocks small blocks (each adds its own constant to EAX and EAX into one of 64 words at
    /// EBX), run Passes times, then INT3.</summary>
    /// <summary>blocks blocks, each jumping to the next, passes times; with hub, each also calls one shared function
    /// (whose translation is then linked from every block's call and evicted under them).</summary>
    static byte[] Chain(int blocks, int passes, bool hub = false) => Asm(a =>
    {
        var top = a.CreateLabel(); var h = a.CreateLabel();
        a.mov(ecx, passes);
        a.Label(ref top);
        for (int k = 0; k < blocks; k++)
        {
            var next = a.CreateLabel();
            a.add(eax, 0x1000193 * (k + 1));
            a.add(__dword_ptr[ebx + (k % 64) * 4], eax);
            a.rol(eax, 3);
            if (hub) a.call(h);
            a.jmp(next);
            a.Label(ref next);
        }
        a.dec(ecx);
        a.jnz(top);
        a.int3();
        a.Label(ref h);
        a.xor(eax, 0x5BD1E995);
        a.ret();
    });

    static (AddressSpace mem, Processor[] cpus) ChainMachine(byte[] code, int threads, int jit, ulong codeLimit)
    {
        var mem = new AddressSpace();
        mem.Map(Code, 0x40000, Prot.Read | Prot.Write | Prot.Exec);
        for (int i = 0; i < code.Length; i++) mem.Ptr(Code)[i] = code[i];
        mem.Protect(Code, 0x40000, Prot.Read | Prot.Exec);
        mem.Map(Data, 0x10000, Prot.Read | Prot.Write);
        CodeSpace.Of(mem).CodeLimit = codeLimit;
        var cpus = new Processor[threads];
        for (int t = 0; t < threads; t++)
        {
            cpus[t] = new Processor(CpuModel.IntelModel, mem, jitThreshold: jit);
            cpus[t].S.Eip = Code;
            cpus[t].S.R[CpuState.EBX] = Data + (uint)t * 0x400;
            cpus[t].S.R[CpuState.ESP] = Data + 0xF000 - (uint)t * 0x100;
        }
        return (mem, cpus);
    }

    /// <summary>2000 blocks of translated code (about 200 KiB) in an 80 KiB code area, by one processor and then by
    /// four at once on the same address space: segments are evicted while other processors run (and dispatch
    /// through the lookup table) in the others; every processor ends as the interpreter does, and nothing is
    /// flushed whole. Repeated: a race between eviction and a running processor shows as a wrong sum or a crash.
    /// With hub, every block also calls one function, so link cells all over the code lead into its translation, which
    /// eviction drops under them (a cell left pointing there would run whatever code the segment holds next).</summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(4, false)]
    [InlineData(1, true)]
    [InlineData(4, true)]
    public void CodeAreaUnderPressureEvictsSegmentsNotEverything(int threads, bool hub)
    {
        var code = Chain(2000, 6, hub);
        var (refMem, refCpu) = ChainMachine(code, 1, 0, 0);
        Assert.Equal(CpuExit.Exception, refCpu[0].Run(100_000_000));
        uint wantEax = refCpu[0].S.R[CpuState.EAX];
        var want = new uint[64];
        for (int w = 0; w < 64; w++) refMem.ReadU32(Data + (uint)w * 4, out want[w]);
        refMem.Dispose();
        for (int round = 0; round < 3; round++)
        {
            long ev = Compat32.Cpu.Jit.Evictions;
            var (mem, cpus) = ChainMachine(code, threads, 1, 80 << 10);
            var exits = new CpuExit[threads];
            var ts = Enumerable.Range(0, threads).Select(t => new Thread(() => exits[t] = cpus[t].Run(100_000_000))).ToArray();
            foreach (var t in ts) t.Start();
            foreach (var t in ts) t.Join();
            for (int t = 0; t < threads; t++)
            {
                Assert.Equal(CpuExit.Exception, exits[t]);
                Assert.Equal(Vec.BP, cpus[t].Vector);
                Assert.Equal(wantEax, cpus[t].S.R[CpuState.EAX]);
                for (int w = 0; w < 64; w++)
                {
                    mem.ReadU32(Data + (uint)t * 0x400 + (uint)w * 4, out uint got);
                    Assert.True(want[w] == got, $"thread {t} word {w}: {got:x8}, interpreter {want[w]:x8}");
                }
                Assert.Equal(0, cpus[t].Jit!.Flushes);
            }
            Assert.True(cpus.Sum(c => c.Jit!.Translated) > 2000, "blocks were not translated again after eviction");
            // The chain's JMPs run through link cells: eviction reset those leading into the evicted segments.
            var (made, reset) = cpus[0].Jit!.LinkCounts;
            if (Translator.LinkOn) Assert.True(made > 2000 && (reset > 0 || !hub), $"block links made {made}, reset {reset}");
            Assert.True(Compat32.Cpu.Jit.Evictions - ev >= 3, $"{Compat32.Cpu.Jit.Evictions - ev} evictions");
            mem.Dispose();
        }
    }

    /// <summary>Table lookups by an index the block bounded (MOVZX from a byte, AND with a constant) are checked once
    /// at entry over the whole table range. Here the tables end 0x200 and 0x40 bytes into the unmapped page after
    /// Data (the entry check fails: the interpreter must run those blocks), then start inside it only for indices
    /// the loop reaches late (the fault must come at the lookup, with the interpreter's registers, flags and CR2).</summary>
    [Theory]
    [InlineData(0x1E00u, 0u)]   // byte table spans Data+0x1E00..+0x2200: past the mapping from the start
    [InlineData(0x1000u, 0u)]   // whole table inside the mapping: hoisted, no fault until the AND lookup
    [InlineData(0x1000u, 0x1F00u)] // the AND-bounded table reaches past the mapping
    public void BoundedIndexLookupsCheckTheirTableAtEntry(uint byteTable, uint andTable)
    {
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, 0);
            a.mov(edi, Data + byteTable);
            a.mov(ebx, Data + andTable);
            a.mov(edx, 0x12345);
            a.Label(ref loop);
            a.mov(ecx, edx);
            a.shr(ecx, 3);
            a.movzx(ecx, cl);
            a.cmp(esi, 7); // flags the SDM defines at a fault (SHR's OF and AND's AF are undefined)
            a.add(eax, __dword_ptr[edi + ecx * 2]);   // byte-bounded: [edi, edi + 0x1FE + 4)
            a.imul(edx, edx, 1103515245);
            a.add(edx, 12345);
            a.mov(ecx, edx);
            a.and(ecx, 0x1FC);
            a.cmp(esi, 9);
            a.xor(eax, __dword_ptr[ebx + ecx]);      // AND-bounded: [ebx, ebx + 0x1FC + 4)
            a.add(__dword_ptr[edi + 4], eax);        // a write through the byte table's base
            a.inc(esi);
            a.cmp(esi, 20000);
            a.jne(loop);
            a.int3();
        });
        using var j = Both(code);
        Assert.True(j.Cpu.Jit!.Instructions > 0);
    }
}
