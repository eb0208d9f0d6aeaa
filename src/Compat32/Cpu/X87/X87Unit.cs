using System.Runtime.CompilerServices;
using Iced.Intel;

namespace Compat32.Cpu.X87;

/// <summary>
/// Executes x87 instructions (plus FWAIT, FXSAVE, FXRSTOR) on a Processor. Exceptions follow the SDM: masked ones
/// produce the default responses; an unmasked one sets ES/B, suppresses the result for #IA/#Z/#D, and the next
/// waiting x87 instruction faults with #MF (Linux turns it into SIGFPE). Nothing is allocated per instruction.
/// </summary>
public static partial class X87Unit
{
    const int IE = 1, DE = 2, ZE = 4, SF = 0x40;
    const ushort C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;

#pragma warning disable CA2255 // the x87 unit plugs itself into the processor when the assembly loads
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install() => Processor.X87Hook = Execute;

    public static bool Execute(Processor cpu, in Instruction ins)
    {
        var m = ins.Mnemonic;
        if (!IsX87(m)) return false;
        var f = cpu.S.Fpu;
        if (IsWaiting(m) && (f.Status & 0x80) != 0)
        {
            // A pending unmasked exception is delivered before the next waiting instruction (SDM 8.6).
            cpu.RaiseFault(Vec.MF);
            return true;
        }
        if (m == Mnemonic.Wait) return true;
        if (ExecControl(cpu, f, ins, m)) return true;
        ExecNumeric(cpu, f, ins, m);
        return true;
    }

    static readonly bool[] X87Mnemonic = BuildTable();

    /// <summary>The mnemonics named F*: Iced lists them in name order from F2XM1 to FYL2XP1, and the few it added
    /// later (387SL, Cyrix) after the rest. IcedCountsTests checks this against the names; reading every name at
    /// start-up cost milliseconds.</summary>
    internal static bool[] BuildTable()
    {
        var t = new bool[IcedCounts.Mnemonic + 1];
        for (var m = Mnemonic.F2xm1; m <= Mnemonic.Fyl2xp1; m++)
            if (m is not (Mnemonic.Femms or Mnemonic.Fxsave64 or Mnemonic.Fxrstor64)) t[(int)m] = true;
        foreach (var m in new[] { Mnemonic.Fnstdw, Mnemonic.Fnstsg, Mnemonic.Ftstp, Mnemonic.Frint2, Mnemonic.Frichop, Mnemonic.Frinear })
            t[(int)m] = true;
        t[(int)Mnemonic.Wait] = true;
        return t;
    }

    static bool IsX87(Mnemonic m) => (uint)m < (uint)X87Mnemonic.Length && X87Mnemonic[(int)m];

    /// <summary>No-wait forms and FXSAVE/FXRSTOR do not check for pending exceptions.</summary>
    static bool IsWaiting(Mnemonic m) => m switch
    {
        Mnemonic.Fninit or Mnemonic.Fnclex or Mnemonic.Fnstcw or Mnemonic.Fnstsw or Mnemonic.Fnstenv or Mnemonic.Fnsave
            or Mnemonic.Fndisi or Mnemonic.Fneni or Mnemonic.Fnsetpm or Mnemonic.Fxsave or Mnemonic.Fxrstor => false,
        _ => true,
    };

    // ------------------------------------------------------------------ control instructions

    static bool ExecControl(Processor cpu, X87State f, in Instruction ins, Mnemonic m)
    {
        switch (m)
        {
            case Mnemonic.Fninit: case Mnemonic.Finit: f.Reset(); return true;
            case Mnemonic.Fnclex: case Mnemonic.Fclex: f.Status &= 0x7F00; return true;
            case Mnemonic.Fnstcw: case Mnemonic.Fstcw: cpu.WriteU16(cpu.EffectiveAddress(ins), f.Control); return true;
            case Mnemonic.Fldcw:
            {
                ushort cw = cpu.ReadU16(cpu.EffectiveAddress(ins));
                if (cpu.Faulted) return true;
                f.Control = X87State.LoadableControl(cw);
                f.UpdateSummary();
                return true;
            }
            case Mnemonic.Fnstsw: case Mnemonic.Fstsw:
                if (ins.Op0Kind == OpKind.Register) cpu.S.R[CpuState.EAX] = (cpu.S.R[CpuState.EAX] & 0xFFFF0000u) | f.Status;
                else cpu.WriteU16(cpu.EffectiveAddress(ins), f.Status);
                return true;
            case Mnemonic.Fnstenv: case Mnemonic.Fstenv:
            {
                // A 16-bit operand size (66 prefix) selects the 14-byte image (Iced: FpuEnv14).
                bool o16 = ins.MemorySize == MemorySize.FpuEnv14;
                Span<byte> b = stackalloc byte[o16 ? 14 : 28];
                if (o16) f.SaveEnv16(b); else f.SaveEnv(b);
                if (!WriteBlock(cpu, cpu.EffectiveAddress(ins), b)) return true;
                f.Control |= 0x3F; // FSTENV masks all exceptions afterwards
                f.UpdateSummary();
                return true;
            }
            case Mnemonic.Fldenv:
            {
                bool o16 = ins.MemorySize == MemorySize.FpuEnv14;
                Span<byte> b = stackalloc byte[o16 ? 14 : 28];
                if (!ReadBlock(cpu, cpu.EffectiveAddress(ins), b)) return true;
                if (o16) f.LoadEnv16(b); else f.LoadEnv(b);
                return true;
            }
            case Mnemonic.Fnsave: case Mnemonic.Fsave:
            {
                bool o16 = ins.MemorySize == MemorySize.FpuState94;
                Span<byte> b = stackalloc byte[o16 ? 94 : 108];
                if (o16) f.SaveFull16(b); else f.SaveFull(b);
                if (!WriteBlock(cpu, cpu.EffectiveAddress(ins), b)) return true;
                f.Reset();
                return true;
            }
            case Mnemonic.Frstor:
            {
                bool o16 = ins.MemorySize == MemorySize.FpuState94;
                Span<byte> b = stackalloc byte[o16 ? 94 : 108];
                if (!ReadBlock(cpu, cpu.EffectiveAddress(ins), b)) return true;
                if (o16) f.LoadFull16(b); else f.LoadFull(b);
                return true;
            }
            case Mnemonic.Fxsave:
            {
                uint a = cpu.EffectiveAddress(ins);
                if ((a & 15) != 0) { cpu.RaiseGP(); return true; }
                Span<byte> b = stackalloc byte[288];
                Simd.FxArea.Save(cpu.S, b);
                WriteBlock(cpu, a, b);
                return true;
            }
            case Mnemonic.Fxrstor:
            {
                uint a = cpu.EffectiveAddress(ins);
                if ((a & 15) != 0) { cpu.RaiseGP(); return true; }
                Span<byte> b = stackalloc byte[288];
                if (!ReadBlock(cpu, a, b)) return true;
                if (!Simd.FxArea.MxcsrValid(Simd.FxArea.Mxcsr(b))) { cpu.RaiseGP(); return true; }
                Simd.FxArea.Restore(cpu.S, b);
                return true;
            }
            case Mnemonic.Fndisi: case Mnemonic.Fneni: case Mnemonic.Fnsetpm: case Mnemonic.Fdisi: case Mnemonic.Feni:
            case Mnemonic.Fsetpm: case Mnemonic.Fnop:
                return true; // 8087/287 controls are no-ops on the 387 and later
        }
        return false;
    }

    static bool WriteBlock(Processor cpu, uint a, ReadOnlySpan<byte> b)
    {
        if (!cpu.ProbeWrite(a, b.Length)) return false;
        for (int i = 0; i < b.Length; i++) cpu.WriteU8(a + (uint)i, b[i]);
        return !cpu.Faulted;
    }

    static bool ReadBlock(Processor cpu, uint a, Span<byte> b)
    {
        if (!cpu.ProbeRead(a, b.Length)) return false;
        for (int i = 0; i < b.Length; i++) b[i] = cpu.ReadU8(a + (uint)i);
        return !cpu.Faulted;
    }

    // ------------------------------------------------------------------ helpers

    static int StIndex(in Instruction ins, int op) => ins.GetOpRegister(op) - Register.ST0;

    /// <summary>Folds an instruction's exceptions into FSW. Returns false when an unmasked #IA/#Z/#D suppresses the result.</summary>
    static bool Commit(X87State f, in X87Context c)
    {
        int fl = (int)c.Flags & 0x7F;
        int sw = (f.Status & ~C1) | fl | (c.C1 ? C1 : 0);
        int unmasked = fl & ~f.Control & 0x3F;
        if (unmasked != 0) sw |= 0x8080;
        f.Status = (ushort)sw;
        return (unmasked & (IE | ZE | DE)) == 0;
    }

    static bool Masked(X87State f, int flag) => (f.Control & flag) != 0;

    static void Underflow(ref X87Context c) { c.Flags |= X87Flags.Invalid | X87Flags.StackFault; c.C1 = false; }

    static void NotePointers(Processor cpu, X87State f, in Instruction ins, bool mem, uint ea)
    {
        f.Fip = (uint)ins.IP;
        f.Fcs = cpu.S.Sel[CpuState.CS];
        f.Fop = ReadFop(cpu, (uint)ins.IP);
        if (mem)
        {
            f.Fdp = ea;
            f.Fds = cpu.S.Sel[ins.MemorySegment switch
            {
                Register.ES => CpuState.ES, Register.CS => CpuState.CS, Register.SS => CpuState.SS,
                Register.FS => CpuState.FS, Register.GS => CpuState.GS, _ => CpuState.DS,
            }];
        }
    }

    /// <summary>FOP: low 3 bits of the D8-DF escape byte and the ModRM byte (SDM 8.1.9).</summary>
    static ushort ReadFop(Processor cpu, uint a)
    {
        for (int k = 0; k < 15; k++, a++)
        {
            byte b = cpu.ReadU8(a);
            if (b >= 0xD8 && b <= 0xDF) return (ushort)((b & 7) << 8 | cpu.ReadU8(a + 1));
            if (b == 0x0F) return 0; // FXSAVE/FXRSTOR are not x87 escapes
        }
        return 0;
    }

    /// <summary>Reads a memory operand as an 80-bit value (FLD/arith source forms).</summary>
    static Float80 ReadMemOperand(Processor cpu, in Instruction ins, uint ea, ref X87Context c)
    {
        switch (ins.MemorySize)
        {
            case MemorySize.Float32: return SoftFloat80.FromFloat32(ref c, cpu.ReadU32(ea));
            case MemorySize.Float64: return SoftFloat80.FromFloat64(ref c, cpu.ReadU64(ea));
            case MemorySize.Float80:
            {
                ulong s = cpu.ReadU64(ea);
                ushort se = cpu.ReadU16(ea + 8);
                return new Float80(se, s);
            }
            case MemorySize.Int16: return SoftFloat80.FromInt64((short)cpu.ReadU16(ea));
            case MemorySize.Int32: return SoftFloat80.FromInt64((int)cpu.ReadU32(ea));
            case MemorySize.Int64: return SoftFloat80.FromInt64((long)cpu.ReadU64(ea));
            case MemorySize.Bcd:
            {
                Span<byte> b = stackalloc byte[10];
                for (int i = 0; i < 10; i++) b[i] = cpu.ReadU8(ea + (uint)i);
                return SoftFloat80.FromBcd(b);
            }
        }
        throw new InvalidOperationException("x87 memory size " + ins.MemorySize);
    }
}
