using System.Buffers.Binary;
using Compat32.Vdso;
using Iced.Intel;
using Xunit;

namespace Compat32.Tests.Vdso;

/// <summary>Just enough of an i386 interpreter to run the vDSO's time functions against a VvarData page.</summary>
internal sealed class MiniCpu
{
    public const uint Base = 0x4000_0000, StackTop = 0x5000_0000, Buf = 0x6000_0000, Halt = 0xdead_0000;
    private readonly byte[] _img, _vvar = new byte[VvarLayout.Size], _stack = new byte[0x1000], _buf = new byte[0x100];
    public readonly uint[] R = new uint[8];
    public bool CF, ZF, SF;
    public ulong Tsc;
    public readonly List<(uint Nr, uint Ebx, uint Ecx)> Syscalls = [];
    public Func<uint, uint, uint, uint> OnSyscall = (_, _, _) => unchecked((uint)-38);
    public Action? OnPause;
    public int Steps;

    public MiniCpu(byte[] image) { _img = image; }
    public Span<byte> Vvar => _vvar;
    public Span<byte> Out => _buf;

    private (byte[] A, int Off) Map(uint a)
    {
        if (a >= Base && a < Base + _img.Length) return (_img, (int)(a - Base));
        if (a >= Base - VvarLayout.Size && a < Base) return (_vvar, (int)(a - (Base - VvarLayout.Size)));
        if (a >= StackTop - 0x1000 && a < StackTop) return (_stack, (int)(a - (StackTop - 0x1000)));
        if (a >= Buf && a < Buf + 0x100) return (_buf, (int)(a - Buf));
        throw new Xunit.Sdk.XunitException($"guest access to unmapped 0x{a:x}");
    }
    public uint Rd(uint a) { var (m, o) = Map(a); return BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(o)); }
    public void Wr(uint a, uint v)
    {
        if (a >= Base - VvarLayout.Size && a < Base + _img.Length) throw new Xunit.Sdk.XunitException($"guest wrote to read-only 0x{a:x}");
        var (m, o) = Map(a); BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(o), v);
    }

    /// <summary>cdecl call of an exported symbol; returns EAX.</summary>
    public uint Call(int sym, params uint[] args)
    {
        uint sp = StackTop - 0x100;
        for (int i = args.Length - 1; i >= 0; i--) { sp -= 4; Wr(sp, args[i]); }
        sp -= 4; Wr(sp, Halt);
        R[4] = sp;
        var saved = new[] { R[3], R[5], R[6], R[7] } ;
        uint eip = Base + (uint)sym;
        while (eip != Halt)
        {
            if (++Steps > 100_000) throw new Xunit.Sdk.XunitException("runaway guest");
            Assert.True(eip >= Base && eip < Base + _img.Length - 16, $"guest jumped to 0x{eip:x}");
            var dec = Decoder.Create(32, new ByteArrayCodeReader(_img, (int)(eip - Base), 16));
            dec.IP = eip;
            var ins = dec.Decode();
            eip = Exec(ins, eip + (uint)ins.Length);
        }
        Assert.Equal(sp + 4, R[4]);
        Assert.Equal(saved, new[] { R[3], R[5], R[6], R[7] }); // callee-saved registers (i386 psABI)
        return R[0];
    }

    private static int Ix(Register r) => r - Register.EAX;
    private uint Ea(in Instruction i)
    {
        uint a = (uint)i.MemoryDisplacement64;
        if (i.MemoryBase != Register.None) a += R[Ix(i.MemoryBase)];
        if (i.MemoryIndex != Register.None) a += R[Ix(i.MemoryIndex)] * (uint)i.MemoryIndexScale;
        return a;
    }
    private uint Get(in Instruction i, int n) => i.GetOpKind(n) switch
    {
        OpKind.Register when i.GetOpRegister(n) == Register.CL => R[1] & 0xff,
        OpKind.Register => R[Ix(i.GetOpRegister(n))],
        OpKind.Memory => Rd(Ea(i)),
        _ => (uint)i.GetImmediate(n),
    };
    private void Set(in Instruction i, int n, uint v)
    {
        if (i.GetOpKind(n) == OpKind.Register) R[Ix(i.GetOpRegister(n))] = v; else Wr(Ea(i), v);
    }
    private void Flags(uint r) { ZF = r == 0; SF = (int)r < 0; }

    private uint Exec(in Instruction i, uint next)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Push: R[4] -= 4; Wr(R[4], Get(i, 0)); break;
            case Mnemonic.Pop: Set(i, 0, Rd(R[4])); R[4] += 4; break;
            case Mnemonic.Mov: Set(i, 0, Get(i, 1)); break;
            case Mnemonic.Lea: Set(i, 0, Ea(i)); break;
            case Mnemonic.Xchg: { uint a = Get(i, 0), b = Get(i, 1); Set(i, 0, b); Set(i, 1, a); break; }
            case Mnemonic.Call: R[4] -= 4; Wr(R[4], next); return (uint)i.NearBranchTarget;
            case Mnemonic.Ret: { uint t = Rd(R[4]); R[4] += 4; return t; }
            case Mnemonic.Jmp: return (uint)i.NearBranchTarget;
            case Mnemonic.Jae: return !CF ? (uint)i.NearBranchTarget : next;
            case Mnemonic.Jb: return CF ? (uint)i.NearBranchTarget : next;
            case Mnemonic.Je: return ZF ? (uint)i.NearBranchTarget : next;
            case Mnemonic.Jne: return !ZF ? (uint)i.NearBranchTarget : next;
            case Mnemonic.Js: return SF ? (uint)i.NearBranchTarget : next;
            case Mnemonic.Cmp: { uint a = Get(i, 0), b = Get(i, 1); CF = a < b; Flags(a - b); break; }
            case Mnemonic.Test: { uint r = Get(i, 0) & Get(i, 1); CF = false; ZF = r == 0; SF = i.Op0Register == Register.CL ? (r & 0x80) != 0 : (int)r < 0; break; }
            case Mnemonic.Sub: { uint a = Get(i, 0), b = Get(i, 1); CF = a < b; Set(i, 0, a - b); Flags(a - b); break; }
            case Mnemonic.Sbb: { ulong a = Get(i, 0), b = (ulong)Get(i, 1) + (CF ? 1u : 0u); CF = a < b; uint r = (uint)(a - b); Set(i, 0, r); Flags(r); break; }
            case Mnemonic.Add: { ulong r = (ulong)Get(i, 0) + Get(i, 1); CF = r > uint.MaxValue; Set(i, 0, (uint)r); Flags((uint)r); break; }
            case Mnemonic.Adc: { ulong r = (ulong)Get(i, 0) + Get(i, 1) + (CF ? 1u : 0u); CF = r > uint.MaxValue; Set(i, 0, (uint)r); Flags((uint)r); break; }
            case Mnemonic.And: { uint r = Get(i, 0) & Get(i, 1); CF = false; Set(i, 0, r); Flags(r); break; }
            case Mnemonic.Xor: { uint r = Get(i, 0) ^ Get(i, 1); CF = false; Set(i, 0, r); Flags(r); break; }
            case Mnemonic.Shl: { int c = (int)(Get(i, 1) & 31); uint r = Get(i, 0) << c; Set(i, 0, r); if (c != 0) Flags(r); break; }
            case Mnemonic.Shr: { int c = (int)(Get(i, 1) & 31); uint r = Get(i, 0) >> c; Set(i, 0, r); if (c != 0) Flags(r); break; }
            case Mnemonic.Shrd: { int c = (int)(Get(i, 2) & 31); if (c != 0) { uint r = (uint)((((ulong)Get(i, 1) << 32) | Get(i, 0)) >> c); Set(i, 0, r); Flags(r); } break; }
            case Mnemonic.Mul: { ulong r = (ulong)R[0] * Get(i, 0); R[0] = (uint)r; R[2] = (uint)(r >> 32); CF = R[2] != 0; break; }
            case Mnemonic.Imul: { uint r = unchecked((uint)((int)Get(i, 0) * (int)Get(i, 1))); Set(i, 0, r); break; }
            case Mnemonic.Div:
                {
                    ulong n = ((ulong)R[2] << 32) | R[0]; uint d = Get(i, 0);
                    Assert.True(d != 0 && n / d <= uint.MaxValue, "#DE in guest");
                    R[0] = (uint)(n / d); R[2] = (uint)(n % d); break;
                }
            case Mnemonic.Rdtsc: R[0] = (uint)Tsc; R[2] = (uint)(Tsc >> 32); break;
            case Mnemonic.Stc: CF = true; break;
            case Mnemonic.Clc: CF = false; break;
            case Mnemonic.Pause: OnPause?.Invoke(); break;
            case Mnemonic.Nop: break;
            case Mnemonic.Int:
                Syscalls.Add((R[0], R[3], R[1]));
                R[0] = OnSyscall(R[0], R[3], R[1]);
                break;
            default: throw new Xunit.Sdk.XunitException($"MiniCpu: unsupported {i}");
        }
        return next;
    }
}

public class TimeFunctionTests
{
    private const int Shift = 20; private const uint Mult = 1u << Shift; // 1 ns per cycle
    private const ulong Last = 1_000_000, Delta = 7_700_000_123;

    private static (MiniCpu Cpu, VdsoImage Img) Setup(int clockMode = VvarLayout.ClockModeTsc)
    {
        var img = VdsoTestUtil.Image64;
        var cpu = new MiniCpu((byte[])img.Data.Clone()) { Tsc = Last + Delta };
        var v = new VvarData(cpu.Vvar);
        v.BeginWrite();
        Assert.Equal(1u, v.Seq() & 1);
        v.SetClockMode(clockMode);
        for (int cs = 0; cs < VvarLayout.CsBases; cs++) v.SetCycles(cs, Last, ulong.MaxValue, Mult, (uint)Shift);
        v.SetBasetime(0, VvarLayout.ClockRealtime, 1_700_000_000, 500_000_000UL << (int)Shift);
        v.SetBasetime(0, VvarLayout.ClockMonotonic, 100, 500_000_000UL << (int)Shift);
        v.SetBasetime(0, VvarLayout.ClockBoottime, 200, 0);
        v.SetBasetime(0, VvarLayout.ClockTai, 1_700_000_037, 500_000_000UL << (int)Shift);
        v.SetBasetime(0, VvarLayout.ClockRealtimeCoarse, 1_700_000_000, 123_456_789);
        v.SetBasetime(0, VvarLayout.ClockMonotonicCoarse, 100, 987_654_321);
        v.SetBasetime(1, VvarLayout.ClockMonotonicRaw, 50, 0);
        v.SetTimezone(-60, 1);
        v.SetHrtimerRes(1);
        v.EndWrite();
        Assert.Equal(2u, v.Seq());
        return (cpu, img);
    }

    private static uint U(MiniCpu c, int o) => BinaryPrimitives.ReadUInt32LittleEndian(c.Out[o..]);

    [Theory]
    [InlineData(VvarLayout.ClockRealtime, 1_700_000_008u, 200_000_123u)]
    [InlineData(VvarLayout.ClockMonotonic, 108u, 200_000_123u)]
    [InlineData(VvarLayout.ClockBoottime, 207u, 700_000_123u)]
    [InlineData(VvarLayout.ClockTai, 1_700_000_045u, 200_000_123u)]
    [InlineData(VvarLayout.ClockMonotonicRaw, 57u, 700_000_123u)]
    [InlineData(VvarLayout.ClockRealtimeCoarse, 1_700_000_000u, 123_456_789u)]
    [InlineData(VvarLayout.ClockMonotonicCoarse, 100u, 987_654_321u)]
    public void ClockGettimeReadsVvar(int clock, uint sec, uint nsec)
    {
        var (cpu, img) = Setup();
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_clock_gettime"], (uint)clock, MiniCpu.Buf));
        Assert.Equal((sec, nsec), (U(cpu, 0), U(cpu, 4)));
        cpu.Out.Clear();
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_clock_gettime64"], (uint)clock, MiniCpu.Buf));
        Assert.Equal((sec, 0u, nsec, 0u), (U(cpu, 0), U(cpu, 4), U(cpu, 8), U(cpu, 12)));
        Assert.Empty(cpu.Syscalls);
    }

    [Fact]
    public void TscBehindCycleLastGivesNoDelta()
    {
        var (cpu, img) = Setup();
        cpu.Tsc = Last - 5; // vdso_calc_delta: cycles <= last → 0
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_clock_gettime"], VvarLayout.ClockMonotonic, MiniCpu.Buf));
        Assert.Equal((100u, 500_000_000u), (U(cpu, 0), U(cpu, 4)));
    }

    [Fact]
    public void GettimeofdayTimeAndGetres()
    {
        var (cpu, img) = Setup();
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_gettimeofday"], MiniCpu.Buf, MiniCpu.Buf + 16));
        Assert.Equal((1_700_000_008u, 200_000u, unchecked((uint)-60), 1u), (U(cpu, 0), U(cpu, 4), U(cpu, 16), U(cpu, 20)));
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_gettimeofday"], 0, 0));
        Assert.Equal(1_700_000_000u, cpu.Call(img.Symbols["__vdso_time"], MiniCpu.Buf + 32));
        Assert.Equal(1_700_000_000u, U(cpu, 32));
        Assert.Equal(1_700_000_000u, cpu.Call(img.Symbols["__vdso_time"], 0));
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_clock_getres"], VvarLayout.ClockMonotonic, MiniCpu.Buf + 40));
        Assert.Equal((0u, 1u), (U(cpu, 40), U(cpu, 44)));
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_clock_getres"], VvarLayout.ClockRealtimeCoarse, MiniCpu.Buf + 40));
        Assert.Equal((0u, VvarLayout.LowResNsec), (U(cpu, 40), U(cpu, 44)));
        Assert.Empty(cpu.Syscalls);
    }

    [Fact]
    public void ClockModeNoneAndOtherClocksFallBackToTheSyscall()
    {
        var (cpu, img) = Setup(VvarLayout.ClockModeNone);
        cpu.OnSyscall = (nr, b, c) => 0;
        cpu.Call(img.Symbols["__vdso_clock_gettime"], VvarLayout.ClockMonotonic, MiniCpu.Buf);
        cpu.Call(img.Symbols["__vdso_clock_gettime64"], VvarLayout.ClockRealtime, MiniCpu.Buf);
        cpu.Call(img.Symbols["__vdso_gettimeofday"], MiniCpu.Buf, MiniCpu.Buf + 16);
        // COARSE needs no clocksource: no syscall even with clock_mode NONE.
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_clock_gettime"], VvarLayout.ClockRealtimeCoarse, MiniCpu.Buf));
        cpu.OnSyscall = (nr, b, c) => unchecked((uint)-22);
        Assert.Equal(unchecked((uint)-22), cpu.Call(img.Symbols["__vdso_clock_gettime"], 2, MiniCpu.Buf)); // CPUTIME: not in the vDSO
        Assert.Equal(unchecked((uint)-22), cpu.Call(img.Symbols["__vdso_clock_getres"], 99, MiniCpu.Buf));
        Assert.Equal(new[] { (265u, 1u, MiniCpu.Buf), (403u, 0u, MiniCpu.Buf), (78u, MiniCpu.Buf, MiniCpu.Buf + 16), (265u, 2u, MiniCpu.Buf), (266u, 99u, MiniCpu.Buf) },
            cpu.Syscalls);
    }

    [Fact]
    public void OddSeqMakesReadersWait()
    {
        var (cpu, img) = Setup();
        var v = new VvarData(cpu.Vvar);
        v.BeginWrite();
        int pauses = 0;
        cpu.OnPause = () => { if (++pauses == 3) new VvarData(cpu.Vvar).EndWrite(); };
        Assert.Equal(0u, cpu.Call(img.Symbols["__vdso_clock_gettime"], VvarLayout.ClockMonotonic, MiniCpu.Buf));
        Assert.Equal(3, pauses);
        Assert.Equal(108u, U(cpu, 0));
    }

    [Fact]
    public void VvarOffsetsMatchDatapageH()
    {
        Assert.Equal(240, VvarLayout.VdsoDataSize);
        Assert.Equal(224, VvarLayout.TzMinuteswest);
        Assert.Equal(232, VvarLayout.HrtimerRes);
        Assert.Equal(-16384 + 128, VvarLayout.VdsoDataAddress());
        Assert.Equal(4_000_000u, VvarLayout.LowResNsec);
        var (m, s) = VvarData.CalcMultShift(1_000_000_000, 1_000_000_000, 600);
        Assert.Equal(1_000_000_000UL, ((ulong)1_000_000_000 * m) >> (int)s);
    }
}
