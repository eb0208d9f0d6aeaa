using Compat32.Cpu;
using Compat32.Cpu.X87;
using Compat32.Memory;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.X87;

/// <summary>Executor tests: small instruction sequences run on a Processor, expectations from the SDM and from
/// SoftFloat80 (itself checked bit-exactly against the host x87 in SoftFloat80HardwareTests).</summary>
public unsafe class X87UnitTests
{
    const uint Code = 0x10000, Data = 0x20000;

    sealed class Machine : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor Cpu;
        public uint EndEip;
        public Machine(Action<Assembler> build)
        {
            Mem.Map(Code, 0x1000, Prot.Read | Prot.Exec);
            Mem.Map(Data, 0x1000, Prot.Read | Prot.Write);
            var a = new Assembler(32);
            build(a);
            a.int3();
            var ms = new MemoryStream();
            a.Assemble(new StreamCodeWriter(ms), Code);
            var bytes = ms.ToArray();
            for (int i = 0; i < bytes.Length; i++) Mem.Ptr(Code)[i] = bytes[i];
            Cpu = new Processor(CpuModel.IntelModel, Mem);
            Cpu.S.Eip = Code;
            Cpu.S.R[CpuState.ESP] = Data + 0x800;
        }
        public CpuExit Run() { var e = Cpu.Run(10000); EndEip = Cpu.S.Eip; return e; }
        public X87State F => Cpu.S.Fpu;
        public uint U32(uint a) => *(uint*)Mem.Ptr(a);
        public ulong U64(uint a) => *(ulong*)Mem.Ptr(a);
        public ushort U16(uint a) => *(ushort*)Mem.Ptr(a);
        public void Put32(uint a, uint v) => *(uint*)Mem.Ptr(a) = v;
        public void Put64(uint a, ulong v) => *(ulong*)Mem.Ptr(a) = v;
        public Float80 F80(uint a) => new(U16(a + 8), U64(a));
        public void Dispose() => Mem.Dispose();
    }

    static void AssertBreak(Machine m, CpuExit e)
    {
        Assert.Equal(CpuExit.Exception, e);
        Assert.Equal(Vec.BP, m.Cpu.Vector);
    }

    [Fact]
    public void DivisionChainMatchesSoftFloat()
    {
        using var m = new Machine(a =>
        {
            a.fld1();
            a.fld(__dword_ptr[Data]);
            a.fdivp(st1, st0);
            a.fld(__qword_ptr[Data + 8]);
            a.fmul(st0, st1);
            a.fstp(__tword_ptr[Data + 0x40]);
            a.fstp(__qword_ptr[Data + 0x50]);
        });
        m.Put32(Data, BitConverter.SingleToUInt32Bits(3f));
        m.Put64(Data + 8, BitConverter.DoubleToUInt64Bits(7.25));
        AssertBreak(m, m.Run());
        var c = new X87Context(0, 3);
        var third = SoftFloat80.Div(ref c, Float80.One, SoftFloat80.FromInt64(3));
        var prod = SoftFloat80.Mul(ref c, SoftFloat80.FromFloat64(ref c, BitConverter.DoubleToUInt64Bits(7.25)), third);
        Assert.Equal(prod, m.F80(Data + 0x40));
        Assert.Equal(1.0 / 3, BitConverter.UInt64BitsToDouble(m.U64(Data + 0x50)));
        Assert.Equal(0xFF, m.F.Empty);
        Assert.Equal(0x20, m.F.Status & 0x3F); // PE only
    }

    [Fact]
    public void IntegerAndBcdRoundTrip()
    {
        using var m = new Machine(a =>
        {
            a.fild(__dword_ptr[Data]);
            a.fistp(__word_ptr[Data + 0x10]);
            a.fild(__qword_ptr[Data + 8]);
            a.fbstp(__tword_ptr[Data + 0x20]);
            a.fbld(__tword_ptr[Data + 0x20]);
            a.fistp(__qword_ptr[Data + 0x30]);
            a.fild(__dword_ptr[Data]);
            a.fistp(__word_ptr[Data + 0x12]); // fits
            a.fld(__qword_ptr[Data + 0x40]);
            a.fistp(__word_ptr[Data + 0x14]); // 1e6 overflows int16: indefinite
        });
        m.Put32(Data, unchecked((uint)-1234));
        m.Put64(Data + 8, 123456789012345678UL);
        m.Put64(Data + 0x40, BitConverter.DoubleToUInt64Bits(1e6));
        AssertBreak(m, m.Run());
        Assert.Equal(unchecked((ushort)-1234), m.U16(Data + 0x10));
        Assert.Equal(0x3456789012345678UL, m.U64(Data + 0x20));
        Assert.Equal(0x0012, m.U16(Data + 0x28));
        Assert.Equal(123456789012345678UL, m.U64(Data + 0x30));
        Assert.Equal(0x8000, m.U16(Data + 0x14));
        Assert.Equal(1, m.F.Status & 1);
    }

    [Fact]
    public void FcomiSetsEflagsAndPops()
    {
        using var m = new Machine(a =>
        {
            a.fld1();
            a.fldz();
            a.fcomip(st0, st1);   // 0 < 1: CF=1, ZF=PF=0
        });
        AssertBreak(m, m.Run());
        Assert.Equal(Flags.CF, m.Cpu.S.EFlags & Flags.Arith);
        Assert.Equal(Float80.One, m.F.St(0));
        Assert.Equal(0x7F, m.F.Empty);

        using var u = new Machine(a =>
        {
            a.fld1();
            a.fldz();
            a.fdiv(st0, st0);     // 0/0: masked invalid, indefinite
            a.fucomi(st0, st1);   // unordered: ZF PF CF
        });
        AssertBreak(u, u.Run());
        Assert.Equal(Flags.ZF | Flags.PF | Flags.CF, u.Cpu.S.EFlags & Flags.Arith);
        Assert.Equal(Float80.DefaultNaN, u.F.St(0));
        Assert.Equal(1, u.F.Status & 1);
    }

    [Fact]
    public void StackOverflowAndUnderflow()
    {
        using var m = new Machine(a =>
        {
            for (int i = 0; i < 9; i++) a.fld1();
        });
        AssertBreak(m, m.Run());
        Assert.Equal(0x41, m.F.Status & 0x7F);        // IE + SF
        Assert.Equal(0x200, m.F.Status & 0x200);      // C1 = 1: overflow
        Assert.Equal(Float80.DefaultNaN, m.F.St(0));
        Assert.Equal(0, m.F.Empty);

        using var u = new Machine(a => { a.fninit(); a.fadd(st0, st1); });
        AssertBreak(u, u.Run());
        Assert.Equal(0x41, u.F.Status & 0x7F);
        Assert.Equal(0, u.F.Status & 0x200);          // C1 = 0: underflow
        Assert.Equal(Float80.DefaultNaN, u.F.St(0));
    }

    [Fact]
    public void UnmaskedZeroDivideRaisesMfOnNextWaitingInstruction()
    {
        uint fwaitAt = 0;
        using var m = new Machine(a =>
        {
            a.fldcw(__word_ptr[Data]);
            a.fld1();
            a.fldz();
            a.fdivp(st1, st0);
            a.nop();
            var l = a.CreateLabel();
            a.Label(ref l);
            a.wait();
        });
        m.Put32(Data, 0x037B); // ZM clear
        var e = m.Run();
        Assert.Equal(CpuExit.Exception, e);
        Assert.Equal(Vec.MF, m.Cpu.Vector);
        fwaitAt = m.Cpu.S.Eip;
        Assert.Equal(0x9Bu, (uint)*m.Mem.Ptr(fwaitAt));
        Assert.Equal(0x8084, m.F.Status & 0x80FF);    // B, ES, ZE
        Assert.Equal(Float80.One, m.F.St(1));         // destination untouched
        Assert.Equal(Float80.Zero, m.F.St(0));        // and no pop
    }

    [Fact]
    public void EnvironmentAndSaveImages()
    {
        using var m = new Machine(a =>
        {
            a.fninit();
            a.fld1();
            a.fldz();
            a.fld(__dword_ptr[Data + 0x300]);
            a.fnstenv(__dword_ptr[Data]);
            a.fnsave(__dword_ptr[Data + 0x40]);
            a.frstor(__dword_ptr[Data + 0x40]);
            a.fxsave(__dword_ptr[Data + 0x200 - 0x200 + 0x400]);
        });
        m.Put32(Data + 0x300, 0x7F800000); // +inf
        AssertBreak(m, m.Run());
        Assert.Equal(0xFFFF037Fu, m.U32(Data));          // control word, reserved high half as 1s
        Assert.Equal(0xFFFF2800u, m.U32(Data + 4) & 0xFFFFFFFFu); // TOP = 5
        // tags: R7 = 1.0 valid(00), R6 = 0 zero(01), R5 = inf special(10), others empty(11)
        Assert.Equal(0xFFFF0000u | 0x1BFF, m.U32(Data + 8));
        uint fldAt = m.U32(Data + 12);
        Assert.Equal(0xD9u, (uint)*m.Mem.Ptr(fldAt));    // FIP = the FLD m32
        Assert.Equal(0x105u, m.U32(Data + 16) >> 16);    // FOP = D9 05 (disp32 form)
        Assert.Equal(Data + 0x300, m.U32(Data + 20));    // FDP
        Assert.Equal(Float80.Infinity, m.F80(Data + 0x40 + 28));
        Assert.Equal(Float80.One, m.F80(Data + 0x40 + 48));
        // after FRSTOR the stack is back; FXSAVE abridged tag has R5..R7 valid
        Assert.Equal(0xE0, *m.Mem.Ptr(Data + 0x400 + 4));
        Assert.Equal(0x1F80u, m.U32(Data + 0x400 + 24));
        Assert.Equal(Float80.Infinity, m.F.St(0));
    }

    [Fact]
    public void TrigOutOfRangeAndFprem()
    {
        using var m = new Machine(a =>
        {
            a.fld(__tword_ptr[Data]);
            a.fsin();
            a.fnstsw(ax);
            a.mov(__dword_ptr[Data + 0x20], eax);
            a.fstp(__tword_ptr[Data + 0x30]);
            a.fld(__qword_ptr[Data + 0x40]); // divisor
            a.fld(__qword_ptr[Data + 0x48]); // dividend
            for (int i = 0; i < 40; i++) a.fprem(); // partial steps; a complete FPREM is idempotent here
            a.fnstsw(ax);
            a.mov(__dword_ptr[Data + 0x24], eax);
            a.fstp(__qword_ptr[Data + 0x50]);
            a.fxam();
            a.fnstsw(ax);
            a.mov(__dword_ptr[Data + 0x28], eax);
        });
        var big = new Float80(0x403F, 0x8000000000000000UL); // 2^64
        *(ulong*)m.Mem.Ptr(Data) = big.Signif; *(ushort*)m.Mem.Ptr(Data + 8) = big.SignExp;
        m.Put64(Data + 0x40, BitConverter.DoubleToUInt64Bits(3.0));
        m.Put64(Data + 0x48, BitConverter.DoubleToUInt64Bits(1e300));
        AssertBreak(m, m.Run());
        Assert.Equal(0x400u, m.U32(Data + 0x20) & 0x400);   // C2: out of range
        Assert.Equal(big, m.F80(Data + 0x30));              // operand unchanged
        Assert.Equal(0u, m.U32(Data + 0x24) & 0x400);       // reduction complete
        Assert.Equal(Math.IEEERemainder(1e300, 3) is var r && r < 0 ? r + 3 : r, BitConverter.UInt64BitsToDouble(m.U64(Data + 0x50)));
        Assert.Equal(0x400u, m.U32(Data + 0x28) & 0x4700);  // FXAM: 3.0 is normal (C2)
    }
}
