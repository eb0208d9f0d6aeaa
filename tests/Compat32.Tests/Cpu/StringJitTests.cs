using Compat32.Cpu;
using Compat32.Memory;
using Compat32.Tests.Harness;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Cpu;

/// <summary>
/// MOVS/STOS/LODS (with and without REP) and CLD/STD in translated code (Translator's TranslatorString) against
/// the interpreter (Execute/String.cs, the definition): every program runs interpreted and with every block
/// translated at its first run, and registers, all six arithmetic flags and DF, EIP, the event (vector, CR2),
/// the instruction count and every byte of the data pages must agree. The data area has a read-only page and an
/// unmapped page in it, so random operands also fault on middle elements.
/// </summary>
public sealed unsafe class StringJitTests
{
    const uint Code = 0x10000, Data = 0x100000, Stack = 0x40000;
    const uint DataPages = 16, ReadOnlyPage = 10, HolePage = 13;
    const uint DataEnd = Data + DataPages * 0x1000;

    sealed class M : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor Cpu;
        public M(byte[] code, int jit, int seed, Prot codeProt = Prot.Read | Prot.Exec)
        {
            Mem.Map(Code, 0x2000, Prot.Read | Prot.Write | Prot.Exec);
            Mem.Poke(Code, code);
            Mem.Protect(Code, 0x2000, codeProt);
            Mem.Map(Data, DataPages * 0x1000, Prot.Read | Prot.Write);
            var rnd = new Random(seed);
            var bytes = new byte[DataPages * 0x1000];
            rnd.NextBytes(bytes);
            Mem.Poke(Data, bytes);
            Mem.Protect(Data + ReadOnlyPage * 0x1000, 0x1000, Prot.Read);
            Mem.Unmap(Data + HolePage * 0x1000, 0x1000);
            Mem.Map(Stack, 0x1000, Prot.Read | Prot.Write);
            Cpu = new Processor(CpuModel.IntelModel, Mem, jitThreshold: jit);
            Cpu.S.Eip = Code;
            Cpu.S.R[CpuState.ESP] = Stack + 0x800;
        }
        public uint R(int r) => Cpu.S.R[r];
        public uint Word(uint a) { Mem.ReadU32(a, out uint v); return v; }
        public void Dispose() => Mem.Dispose();
    }

    static byte[] Asm(Action<Assembler> build, uint at = Code)
    {
        var a = new Assembler(32);
        build(a);
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), at);
        return ms.ToArray();
    }

    /// <summary>Run interpreted and translated with the same setup; assert the same outcome; return the translated run.</summary>
    static M Both(byte[] code, Action<M>? setup = null, int seed = 1, Prot codeProt = Prot.Read | Prot.Exec, string what = "", bool translates = true)
    {
        using var i = new M(code, 0, seed, codeProt);
        var j = new M(code, 1, seed, codeProt);
        setup?.Invoke(i); setup?.Invoke(j);
        long fallbacks = HostAssembler.Fallbacks;
        var ei = i.Cpu.Run(50_000_000);
        var ej = j.Cpu.Run(50_000_000);
        Assert.True(HostAssembler.Fallbacks == fallbacks, $"{what}: a block went to Iced's BlockEncoder ({HostAssembler.LastRefusal})");
        Assert.True(ei == ej, $"{what}: exit {ei} interpreted, {ej} translated");
        Assert.True(i.Cpu.S.Eip == j.Cpu.S.Eip, $"{what}: EIP {i.Cpu.S.Eip:x8} interpreted, {j.Cpu.S.Eip:x8} translated");
        if (ei == CpuExit.Exception)
        {
            Assert.True(i.Cpu.Vector == j.Cpu.Vector, $"{what}: vector {i.Cpu.Vector} / {j.Cpu.Vector}");
            Assert.True(i.Cpu.Cr2 == j.Cpu.Cr2, $"{what}: CR2 {i.Cpu.Cr2:x8} / {j.Cpu.Cr2:x8}");
        }
        for (int r = 0; r < 8; r++) Assert.True(i.R(r) == j.R(r), $"{what}: register {r}: interpreted {i.R(r):x8}, translated {j.R(r):x8}");
        const uint mask = Flags.Arith | Flags.DF;
        Assert.True((i.Cpu.S.Flags.Get() & mask) == (j.Cpu.S.Flags.Get() & mask),
            $"{what}: flags {i.Cpu.S.Flags.Get() & mask:x} interpreted, {j.Cpu.S.Flags.Get() & mask:x} translated");
        for (uint a = Data; a < DataEnd; a += 4)
        {
            bool oi = i.Mem.ReadU32(a, out uint vi), oj = j.Mem.ReadU32(a, out uint vj);
            Assert.True(oi == oj && vi == vj, $"{what}: memory at {a:x8}: {vi:x8} interpreted, {vj:x8} translated");
        }
        Assert.True(i.Cpu.Retired == j.Cpu.Retired, $"{what}: retired {i.Cpu.Retired} / {j.Cpu.Retired}");
        // (a block that starts with an instruction the translator leaves alone, a 16-bit address say, may have none)
        if (translates) Assert.True(j.Cpu.Jit!.Translated > 0, $"{what}: nothing was translated");
        return j;
    }

    enum Op { Movs, Stos, Lods, Cmps, Scas }

    static Instruction StrIns(Op op, int size, RepPrefixKind rep, int addrSize = 32, Register seg = Register.None) => (op, size) switch
    {
        (Op.Movs, 1) => Instruction.CreateMovsb(addrSize, seg, rep),
        (Op.Movs, 2) => Instruction.CreateMovsw(addrSize, seg, rep),
        (Op.Movs, _) => Instruction.CreateMovsd(addrSize, seg, rep),
        (Op.Stos, 1) => Instruction.CreateStosb(addrSize, rep),
        (Op.Stos, 2) => Instruction.CreateStosw(addrSize, rep),
        (Op.Stos, _) => Instruction.CreateStosd(addrSize, rep),
        (Op.Lods, 1) => Instruction.CreateLodsb(addrSize, seg, rep),
        (Op.Lods, 2) => Instruction.CreateLodsw(addrSize, seg, rep),
        (Op.Lods, _) => Instruction.CreateLodsd(addrSize, seg, rep),
        (Op.Cmps, 1) => Instruction.CreateCmpsb(addrSize, seg, rep),
        (Op.Cmps, 2) => Instruction.CreateCmpsw(addrSize, seg, rep),
        (Op.Cmps, _) => Instruction.CreateCmpsd(addrSize, seg, rep),
        (Op.Scas, 1) => Instruction.CreateScasb(addrSize, rep),
        (Op.Scas, 2) => Instruction.CreateScasw(addrSize, rep),
        _ => Instruction.CreateScasd(addrSize, rep),
    };

    /// <summary>add ebx, edx (flags live in host RFLAGS); the string instruction; adc ebp, ebx (reads CF);
    /// ECX = count2; the string instruction again; sbb ebp, 7; int3: flags must survive the string code, and the
    /// second instruction continues where the first left ESI/EDI.</summary>
    static byte[] Program(Instruction str, uint count2, int df = 0) => Asm(a =>
    {
        if (df == 1) a.std();
        if (df == 2) a.cld();
        a.add(ebx, edx);
        a.AddInstruction(str);
        a.adc(ebp, ebx);
        a.mov(ecx, count2);
        a.AddInstruction(str);
        a.sbb(ebp, 7);
        a.int3();
    });

    static Action<M> Regs(uint esi, uint edi, uint ecx, uint eax, uint ebx, uint edx, bool dfSet, uint flags) => m =>
    {
        var R = m.Cpu.S.R;
        R[CpuState.ESI] = esi; R[CpuState.EDI] = edi; R[CpuState.ECX] = ecx; R[CpuState.EAX] = eax;
        R[CpuState.EBX] = ebx; R[CpuState.EDX] = edx; R[CpuState.EBP] = 0x55AA0000;
        m.Cpu.S.Flags.Set((flags & Flags.Arith) | (dfSet ? Flags.DF : 0));
    };

    [Fact]
    public void RandomStringInstructionsMatchTheInterpreter()
    {
        var rnd = new Random(0x5713);
        uint[] counts = { 0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 255, 1023, 1024, 1025, 2047, 4095, 4096, 4097, 8191, 12288 };
        int translatedClean = 0;
        for (int n = 0; n < 240; n++)
        {
            var op = (Op)rnd.Next(5);
            int size = 1 << rnd.Next(3);
            var rep = rnd.Next(8) switch { 0 => RepPrefixKind.None, 1 => RepPrefixKind.Repne, _ => RepPrefixKind.Repe };
            int addr = rnd.Next(40) == 0 ? 16 : 32;
            var seg = rnd.Next(10) == 0 ? Register.SS : Register.None;
            if (op is Op.Stos or Op.Scas) seg = Register.None;
            uint Count() => rnd.Next(3) == 0 ? (uint)rnd.Next(1, 3 * 4096) : counts[rnd.Next(counts.Length)];
            uint c1 = Count(), c2 = Count();
            if (rnd.Next(30) == 0) c1 = 0xFFFFFFFF - (uint)rnd.Next(4); // runs into the hole or the end: #PF
            // Anywhere in the first 10 pages (the read-only page and the hole above them), often overlapping.
            uint src = Data + (uint)rnd.Next(0, 10 * 4096);
            uint dst = rnd.Next(4) switch
            {
                0 => src + (uint)rnd.Next(1, 8),
                1 => src - (uint)rnd.Next(1, 8),
                2 => Data + (uint)rnd.Next(0, 4096) * 4,
                _ => Data + (uint)rnd.Next(0, 16 * 4096),
            };
            if (rnd.Next(10) == 0) dst = Data + (ReadOnlyPage - 1) * 0x1000 + (uint)rnd.Next(0, 4096); // into the read-only page
            if (rnd.Next(10) == 0) src = Data + (HolePage - 1) * 0x1000 + (uint)rnd.Next(0, 4096);      // into the hole
            int df = rnd.Next(6) switch { 0 => 1, 1 => 2, _ => 0 };
            bool dfSet = rnd.Next(6) == 0;
            if (df == 2) dfSet = true; // CLD in the block clears it: translated
            var str = StrIns(op, size, rep, addr, seg);
            string what = $"case {n}: {str} ecx {c1:x}/{c2:x} esi {src:x} edi {dst:x} df {df}/{dfSet}";
            uint eax = (uint)rnd.Next();
            var regs = Regs(src, dst, c1, eax, (uint)rnd.Next(), (uint)rnd.Next(), dfSet, (uint)rnd.Next());
            // Comparisons over random bytes stop at once: make runs of equal (or, for REPNE SCAS, unequal) elements.
            var prep = op is Op.Cmps or Op.Scas && rnd.Next(3) != 0 ? Comparable(op, size, src, dst, eax, rnd) : null;
            using var j = Both(Program(str, c2, df), m => { prep?.Invoke(m); regs(m); },
                seed: n, what: what, translates: addr == 32);
            if (j.Cpu.Jit!.InterpretExits == 0 && j.Cpu.Vector == Vec.BP) translatedClean++;
        }
        // Most cases run entirely in host code (the rest: DF=1, a 67 prefix, faults, an element across the read-only page).
        Assert.True(translatedClean > 100, $"only {translatedClean} of 240 cases ran without leaving host code");
    }

    /// <summary>Memory for a long CMPS/SCAS: the destination a copy of the source (CMPS) or filled with the
    /// accumulator's element (SCAS, REPE) or another value (REPNE), for a random length, then one element that
    /// differs at a random place. Only on the data pages below the hole (Poke writes the host memory directly).</summary>
    static Action<M> Comparable(Op op, int size, uint src, uint dst, uint eax, Random rnd)
    {
        int len = rnd.Next(1, 3 * 4096);
        int diff = rnd.Next(0, len + 64);
        bool same = rnd.Next(2) == 0;
        return m =>
        {
            uint lo = dst, hi = dst + (uint)len + 4;
            if (lo < Data || hi > Data + HolePage * 0x1000) return;
            var b = new byte[len + 4];
            if (op == Op.Cmps)
            {
                if (src < Data || src + b.Length > Data + HolePage * 0x1000) return;
                new ReadOnlySpan<byte>(m.Mem.Ptr(src), b.Length).CopyTo(b);
            }
            else
                for (int k = 0; k < b.Length; k++) b[k] = same ? (byte)(eax >> (8 * (k % size))) : (byte)~(eax >> (8 * (k % size)));
            if (diff < b.Length) b[diff] ^= 0x40;
            m.Mem.Poke(dst, b);
        };
    }

    [Fact]
    public void EdgeCasesMatchTheInterpreter()
    {
        var cases = new List<(string what, Instruction str, uint esi, uint edi, uint ecx, uint c2)>();
        foreach (int size in new[] { 1, 2, 4 })
            foreach (var op in new[] { Op.Movs, Op.Stos, Op.Lods, Op.Cmps, Op.Scas })
            {
                var s = StrIns(op, size, RepPrefixKind.Repe);
                cases.Add(("count 0", s, Data, Data + 0x100, 0, 0));
                cases.Add(("count 1", s, Data + 3, Data + 0x101, 1, 1));
                cases.Add(("a page", s, Data, Data + 0x2000, (uint)(4096 / size), (uint)(4096 / size)));
                cases.Add(("crossing pages unaligned", s, Data + 0xFFF, Data + 0x2FFE, (uint)(3 * 4096 / size), 7));
                for (uint k = 1; k < 8; k++)
                    cases.Add(($"overlap dst = src+{k}", s, Data + 0x10, Data + 0x10 + k, 9000, 33));
                cases.Add(("overlap dst = src-3", s, Data + 0x13, Data + 0x10, 9000, 33));
                cases.Add(("write fault on the read-only page mid-way", s, Data, Data + (ReadOnlyPage - 1) * 0x1000 + 0x802, 0x1000, 1));
                cases.Add(("read fault on the hole mid-way", s, Data + (HolePage - 1) * 0x1000 + 0x7FF, Data, 0x1000, 1));
                cases.Add(("element across the hole", s, Data + HolePage * 0x1000 - 1, Data, 3, 1));
                cases.Add(("ECX near 2^32", s, Data + 0x100, Data + 0x4000, 0xFFFFFFFE, 2));
                cases.Add(("non-REP", StrIns(op, size, RepPrefixKind.None), Data + 0xFFE, Data + 0x1FFF, 5, 5));
                cases.Add(("REPNE", StrIns(op, size, RepPrefixKind.Repne), Data + 0x444, Data + 0x1234, 999, 5));
            }
        foreach (var (what, str, esi, edi, ecx, c2) in cases)
            foreach (bool dfSet in new[] { false, true })
            {
                using var j = Both(Program(str, c2), Regs(esi, edi, ecx, 0x8899AABB, 0xF0000000, 0x10000001, dfSet, Flags.ZF | Flags.OF),
                    what: $"{str} {what} DF={dfSet}");
            }
    }

    [Fact]
    public void LongComparisonsRunIntoAFaultOrFinish()
    {
        // Equal runs several pages long: REPE CMPS over two copies and REPNE SCAS over bytes without the accumulator's,
        // running into the hole (#PF after several host chunks: the flags of before the instruction, ECX/ESI/EDI at
        // the faulting element), or stopping on a planted difference, or on ECX.
        uint a0 = Data + 0x123, b0 = Data + 0x6001; // (CMPS: the two overlap from 0x6001 on, so the copy differs there)
        foreach (int size in new[] { 1, 2, 4 })
            foreach (var (ecx, plant) in new[] { (0x9000u, -1), (0x9000u, 0x2345), (0x1800u, -1) })
                foreach (var rep in new[] { RepPrefixKind.Repe, RepPrefixKind.Repne })
                {
                    foreach (var op in new[] { Op.Cmps, Op.Scas })
                    {
                        uint esi = a0, edi = op == Op.Cmps ? b0 : Data + 0x8003;
                        var s = StrIns(op, size, rep);
                        using var j = Both(Program(s, 3), m =>
                        {
                            uint end = Data + HolePage * 0x1000;
                            var bytes = new byte[end - edi];
                            if (op == Op.Cmps && rep == RepPrefixKind.Repe) new ReadOnlySpan<byte>(m.Mem.Ptr(esi), bytes.Length).CopyTo(bytes);
                            else if (op == Op.Cmps) for (int k = 0; k < bytes.Length; k++) bytes[k] = (byte)~*m.Mem.Ptr(esi + (uint)k);
                            else Array.Fill(bytes, rep == RepPrefixKind.Repe ? (byte)0x3C : (byte)0x77);
                            if (plant >= 0) bytes[plant] ^= 0xFF;
                            m.Mem.Protect(Data + ReadOnlyPage * 0x1000, 0x1000, Prot.Read | Prot.Write);
                            m.Mem.Poke(edi, bytes);
                            m.Mem.Protect(Data + ReadOnlyPage * 0x1000, 0x1000, Prot.Read);
                            Regs(esi, edi, ecx, 0x3C3C3C3C, 0x80000000, 0x80000000, false, 0)(m); // ADD sets CF/OF/ZF
                        }, what: $"{s} ecx {ecx:x} plant {plant}");
                        if (op == Op.Scas && plant < 0 && ecx > 0x8000) { Assert.Equal(Vec.PF, j.Cpu.Vector); Assert.Equal(Data + HolePage * 0x1000, j.Cpu.Cr2); }
                    }
                }
    }

    [Fact]
    public void HighByteRegistersWithMemoryOperands()
    {
        // glibc's i386 strlen compares bytes with CMP [EAX], DH: forms that only read AH/CH/DH/BH run in host code
        // (the byte through R10B). The loop starts with ADC [ESI], DH, so the carry is restored at the block's entry
        // before the register's byte is fetched.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, Data + 0x100);
            a.mov(ebp, 500);
            a.mov(eax, 0x12345678); a.mov(ebx, 0x9ABCDEF0); a.mov(ecx, 0x0F1E2D3C); a.mov(edx, 0x4B5A6978);
            a.stc();
            a.Label(ref loop);
            a.adc(__byte_ptr[esi], dh);
            a.add(__byte_ptr[esi + 1], ch);
            a.cmp(bh, __byte_ptr[esi + 2]);
            a.setb(__byte_ptr[esi + 3]);
            a.test(__byte_ptr[esi + 4], ah);
            a.sete(__byte_ptr[esi + 5]);
            a.mov(__byte_ptr[esi + 6], bh);
            a.sub(__byte_ptr[esi + 7], ah);
            a.xor(__byte_ptr[esi + 8], ch);
            a.or(__byte_ptr[esi + 9], dh);
            a.and(__byte_ptr[esi + 10], bh);
            a.cmp(__byte_ptr[esi + 11], ah);
            a.sbb(__byte_ptr[esi + 12], dh);
            a.@lock.add(__byte_ptr[esi + 13], ch);
            a.test(__byte_ptr[esi + 14], bh);
            a.rol(edx, 3); a.add(ecx, ebx); a.imul(eax, eax, 0x01000193); a.xor(ebx, eax);
            a.add(esi, 7);
            a.dec(ebp);
            a.jnz(loop);
            a.int3();
        });
        using var j = Both(code);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.Equal(0, j.Cpu.Jit!.InterpretExits);
        Assert.True(j.Cpu.Jit.Instructions > 500 * 20, $"{j.Cpu.Jit.Instructions} instructions in host code");
    }

    [Fact]
    public void CleanCopiesAndFillsStayInHostCode()
    {
        // memcpy/memset shapes (glibc's i386 memcpy: REP MOVSB head, REP MOVSD body with a misaligned source) never
        // leave host code, and CLD/STD no longer end the block.
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ebp, 200);
            a.Label(ref loop);
            a.cld();
            a.mov(esi, Data + 0x3);
            a.mov(edi, Data + 0x6000);
            a.mov(ecx, 5);
            a.rep.movsb();
            a.mov(ecx, 3000);
            a.rep.movsd();                 // 12000 bytes from a misaligned source: elements across pages
            a.mov(edi, Data + 0x5000 + 2);
            a.mov(eax, ebp);
            a.mov(ecx, 777);
            a.rep.stosw();
            a.stosb();
            a.std();
            a.cld();
            a.lodsd();
            a.add(ebx, eax);
            a.dec(ebp);
            a.jnz(loop);
            a.int3();
        });
        using var j = Both(code, m => { });
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.Equal(0, j.Cpu.Jit!.InterpretExits);
        Assert.True(j.Cpu.Jit.Instructions > 200 * 15, $"{j.Cpu.Jit.Instructions} instructions in host code");
    }

    [Fact]
    public void RepStosIntoTranslatedCodeIsSeen()
    {
        // f (mov eax, imm32; ret) on the second code page is translated at its first call; each pass patches its
        // immediate with a REP STOSB (and a plain STOSD every other pass): the stores go through the interpreter's
        // self-modifying-code path and the next call runs the new bytes.
        uint f = Code + 0x1800;
        var code = Asm(a =>
        {
            var loop = a.CreateLabel(); var skip = a.CreateLabel();
            a.xor(ebx, ebx);
            a.mov(ebp, 60);
            a.Label(ref loop);
            a.mov(eax, f);
            a.call(eax);
            a.add(ebx, eax);
            a.mov(edi, f + 1);
            a.mov(ecx, 4);
            a.lea(eax, __[ebp + 1]);
            a.rep.stosb();
            a.test(ebp, 1);
            a.jz(skip);
            a.mov(edi, f + 1);
            a.mov(eax, ebp);
            a.stosd();
            a.Label(ref skip);
            a.dec(ebp);
            a.jnz(loop);
            a.int3();
        });
        var fn = Asm(a => { a.mov(eax, 0x11111111); a.ret(); }, f);
        var all = new byte[0x1800 + fn.Length];
        code.CopyTo(all, 0);
        fn.CopyTo(all, 0x1800);
        using var j = Both(all, codeProt: Prot.Read | Prot.Write | Prot.Exec);
        Assert.Equal(Vec.BP, j.Cpu.Vector);
        Assert.True(j.Cpu.Cache.Invalidations >= 60, $"{j.Cpu.Cache.Invalidations} invalidations");
    }

    [Fact]
    public void TopOfTheAddressSpace()
    {
        // The last page a 32-bit task can map ends at 0xFFFFE000 (TASK_SIZE of a compat task); the copy runs into
        // the unmappable top and faults there, with ESI/EDI/ECX at the faulting element.
        foreach (int size in new[] { 1, 4 })
            foreach (var op in new[] { Op.Movs, Op.Stos, Op.Lods })
            {
                var s = StrIns(op, size, RepPrefixKind.Repe);
                using var j = Both(Program(s, 1), m =>
                {
                    m.Mem.Map(0xFFFFC000, 0x2000, Prot.Read | Prot.Write);
                    Regs(0xFFFFC010, 0xFFFFC800, 0x100000, 7, 1, 2, false, 0)(m);
                }, what: $"{s} at the top");
                Assert.Equal(Vec.PF, j.Cpu.Vector);
                Assert.Equal(0xFFFFE000u, j.Cpu.Cr2);
            }
    }

    [Fact]
    public void StopRequestsInterruptAHugeRep()
    {
        // Passes of a 32 MiB REP STOSD while another thread keeps asking for stops (a signal becoming pending):
        // each is seen within the REP, which leaves at the instruction with ECX/EDI at the completed elements
        // (SDM: interruptible between iterations) and resumes from there. After a few stops inside the REP the
        // test makes the current pass the last (EBP = 1), so a loaded machine only takes longer.
        const uint Big = 0x1000000, Len = 32u << 20, Passes = 5000;
        var code = Asm(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ebp, Passes);
            a.Label(ref loop);
            a.mov(edi, Big);
            a.mov(ecx, Len / 4);
            a.mov(eax, ebp);
            a.rep.stosd();
            a.add(ebx, __dword_ptr[Big + Len - 4]);
            a.dec(ebp);
            a.jnz(loop);
            a.int3();
        });
        using var m = new M(code, 1, 1);
        m.Mem.Map(Big, Len, Prot.Read | Prot.Write);
        uint rep = Code + 5 + 5 + 5 + 2; // mov ebp; mov edi; mov ecx; mov eax, ebp
        bool done = false;
        var t = new Thread(() => { while (!Volatile.Read(ref done)) { m.Cpu.RequestAsyncStop(); Thread.Sleep(1); } });
        t.Start();
        int stops = 0, midRep = 0;
        uint lastPass = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        CpuExit e;
        try
        {
            while ((e = m.Cpu.Run(1_000_000_000)) is CpuExit.Stop or CpuExit.Budget && sw.ElapsedMilliseconds < 120_000)
            {
                if (e != CpuExit.Stop) continue;
                stops++;
                if (m.Cpu.S.Eip != rep) continue;
                uint ecx = m.R(CpuState.ECX), edi = m.R(CpuState.EDI);
                Assert.True(ecx + (edi - Big) / 4 == Len / 4, $"stopped at ECX {ecx:x}, EDI {edi:x8}");
                if (ecx != 0 && ecx != Len / 4 && ++midRep == 3) { lastPass = m.R(CpuState.EAX); m.Cpu.S.R[CpuState.EBP] = 1; }
            }
        }
        finally { Volatile.Write(ref done, true); t.Join(); }
        Assert.Equal(CpuExit.Exception, e);
        Assert.Equal(Vec.BP, m.Cpu.Vector);
        Assert.True(midRep >= 3, $"{stops} stops, {midRep} inside the REP");
        Assert.Equal((Passes + lastPass) * (Passes - lastPass + 1) / 2, m.R(CpuState.EBX)); // lastPass..Passes
        Assert.Equal(lastPass, m.Word(Big + Len - 4));
        Assert.Equal(lastPass, m.Word(Big));
        Assert.True(m.Cpu.Jit!.Translated > 0);
    }

    // ---- a guest program: glibc's string functions and hand-written REP code, faults on middle elements

    static string Guest() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "cpu", "strjit.c"), "-w");

    /// <summary>tests/guests/cpu/strjit.c under qemu-i386 and under compat32, interpreted and with every block
    /// translated at its first run: the same hashes, and the same fault addresses and ESI/EDI/ECX in the SIGSEGV
    /// frames of REP MOVS/STOS/LODS stopped on a read-only or PROT_NONE page.</summary>
    [Theory]
    [InlineData("off")]
    [InlineData("1")]
    public void GuestStringCodeMatchesQemu(string jit) =>
        Differential.AssertSame(Guest(), [], new() { Compat32Options = ["--jit", jit] });

    [NativeI386Fact]
    public void GuestStringCodeMatchesTheHostKernel() =>
        NativeI386.AssertSame(Guest(), [], new() { Compat32Options = ["--jit", "1"] });
}
