using Iced.Intel;

namespace Compat32.Cpu.X87;

public static partial class X87Unit
{
    enum Arith { Add, Sub, SubR, Mul, Div, DivR }

    static void ExecNumeric(Processor cpu, X87State f, in Instruction ins, Mnemonic m)
    {
        var c = X87Context.FromControlWord(f.Control);
        bool mem = false;
        uint ea = 0;
        for (int i = 0; i < ins.OpCount; i++)
            if (ins.GetOpKind(i) == OpKind.Memory) { mem = true; ea = cpu.EffectiveAddress(ins); }

        switch (m)
        {
            // ---- arithmetic
            case Mnemonic.Fadd: case Mnemonic.Faddp: case Mnemonic.Fiadd: ArithOp(cpu, f, ins, ref c, Arith.Add, m == Mnemonic.Faddp, mem, ea); break;
            case Mnemonic.Fsub: case Mnemonic.Fsubp: case Mnemonic.Fisub: ArithOp(cpu, f, ins, ref c, Arith.Sub, m == Mnemonic.Fsubp, mem, ea); break;
            case Mnemonic.Fsubr: case Mnemonic.Fsubrp: case Mnemonic.Fisubr: ArithOp(cpu, f, ins, ref c, Arith.SubR, m == Mnemonic.Fsubrp, mem, ea); break;
            case Mnemonic.Fmul: case Mnemonic.Fmulp: case Mnemonic.Fimul: ArithOp(cpu, f, ins, ref c, Arith.Mul, m == Mnemonic.Fmulp, mem, ea); break;
            case Mnemonic.Fdiv: case Mnemonic.Fdivp: case Mnemonic.Fidiv: ArithOp(cpu, f, ins, ref c, Arith.Div, m == Mnemonic.Fdivp, mem, ea); break;
            case Mnemonic.Fdivr: case Mnemonic.Fdivrp: case Mnemonic.Fidivr: ArithOp(cpu, f, ins, ref c, Arith.DivR, m == Mnemonic.Fdivrp, mem, ea); break;

            // ---- loads
            case Mnemonic.Fld: case Mnemonic.Fild: case Mnemonic.Fbld:
            {
                Float80 v;
                if (mem)
                {
                    v = ReadMemOperand(cpu, ins, ea, ref c);
                    if (cpu.Faulted) return;
                }
                else
                {
                    int i = StIndex(ins, 0);
                    if (f.IsEmpty(i)) { Underflow(ref c); v = Float80.DefaultNaN; } else v = f.St(i);
                }
                PushChecked(f, ref c, v);
                break;
            }
            case Mnemonic.Fld1: PushChecked(f, ref c, Float80.One); break;
            case Mnemonic.Fldz: PushChecked(f, ref c, Float80.Zero); break;
            case Mnemonic.Fldpi: PushChecked(f, ref c, X87Constants.Load(X87Constant.Pi, c.Rounding)); break;
            case Mnemonic.Fldl2e: PushChecked(f, ref c, X87Constants.Load(X87Constant.Log2E, c.Rounding)); break;
            case Mnemonic.Fldl2t: PushChecked(f, ref c, X87Constants.Load(X87Constant.Log2Ten, c.Rounding)); break;
            case Mnemonic.Fldlg2: PushChecked(f, ref c, X87Constants.Load(X87Constant.Lg2, c.Rounding)); break;
            case Mnemonic.Fldln2: PushChecked(f, ref c, X87Constants.Load(X87Constant.Ln2, c.Rounding)); break;

            // ---- stores
            case Mnemonic.Fst: case Mnemonic.Fstp: case Mnemonic.Fist: case Mnemonic.Fistp: case Mnemonic.Fisttp: case Mnemonic.Fbstp:
            case Mnemonic.Fstpnce:
                if (!Store(cpu, f, ins, ref c, m, mem, ea)) return;
                break;

            case Mnemonic.Fxch:
            {
                int i = StIndex(ins, ins.OpCount - 1);
                Float80 a = f.St(0), b = f.St(i);
                if (f.IsEmpty(0) || f.IsEmpty(i))
                {
                    Underflow(ref c);
                    if (f.IsEmpty(0)) a = Float80.DefaultNaN;
                    if (f.IsEmpty(i)) b = Float80.DefaultNaN;
                }
                if (!Commit(f, c)) break;
                f.SetSt(0, b); f.SetSt(i, a);
                break;
            }
            case Mnemonic.Fcmovb: case Mnemonic.Fcmove: case Mnemonic.Fcmovbe: case Mnemonic.Fcmovu:
            case Mnemonic.Fcmovnb: case Mnemonic.Fcmovne: case Mnemonic.Fcmovnbe: case Mnemonic.Fcmovnu:
            {
                uint fl = cpu.S.EFlags;
                bool cf = (fl & Flags.CF) != 0, zf = (fl & Flags.ZF) != 0, pf = (fl & Flags.PF) != 0;
                bool cond = m switch
                {
                    Mnemonic.Fcmovb => cf, Mnemonic.Fcmove => zf, Mnemonic.Fcmovbe => cf || zf, Mnemonic.Fcmovu => pf,
                    Mnemonic.Fcmovnb => !cf, Mnemonic.Fcmovne => !zf, Mnemonic.Fcmovnbe => !cf && !zf, _ => !pf,
                };
                int i = StIndex(ins, 1);
                c.C1 = false;
                if (f.IsEmpty(0) || f.IsEmpty(i))
                {
                    Underflow(ref c);
                    if (Commit(f, c)) f.SetSt(0, Float80.DefaultNaN);
                    break;
                }
                Commit(f, c);
                if (cond) f.SetSt(0, f.St(i));
                break;
            }

            // ---- comparisons
            case Mnemonic.Fcom: case Mnemonic.Fcomp: case Mnemonic.Fucom: case Mnemonic.Fucomp:
            case Mnemonic.Ficom: case Mnemonic.Ficomp: case Mnemonic.Fcompp: case Mnemonic.Fucompp: case Mnemonic.Ftst:
            {
                bool quiet = m is Mnemonic.Fucom or Mnemonic.Fucomp or Mnemonic.Fucompp;
                int pops = m is Mnemonic.Fcompp or Mnemonic.Fucompp ? 2 : m is Mnemonic.Fcomp or Mnemonic.Fucomp or Mnemonic.Ficomp ? 1 : 0;
                Float80 b;
                bool empty = f.IsEmpty(0);
                if (m == Mnemonic.Ftst) b = Float80.Zero;
                else if (mem)
                {
                    var before = c.Flags;
                    b = ReadMemOperand(cpu, ins, ea, ref c);
                    if (cpu.Faulted) return;
                    if (empty) c.Flags = before; // the stack fault comes first: no #D from the operand (host CPU)
                    // a NaN in ST(0) comes before the operand's #D, as in ArithOp (insn fuzzer seed 8600001515: FCOMP
                    // of the QNaN indefinite with a denormal m32; the host CPU reports IE without DE)
                    else if ((c.Flags & ~before & X87Flags.Denormal) != 0 && f.St(0).IsNaN) c.Flags &= ~X87Flags.Denormal | before;
                }
                else
                {
                    int i = m is Mnemonic.Fcompp or Mnemonic.Fucompp ? 1 : ins.OpCount == 2 ? StIndex(ins, 1) : StIndex(ins, 0);
                    if (ins.OpCount == 0) i = 1;
                    empty |= f.IsEmpty(i);
                    b = f.St(i);
                }
                X87Compare r;
                if (empty) { Underflow(ref c); r = X87Compare.Unordered; }
                else r = SoftFloat80.Compare(ref c, f.St(0), b, quiet);
                c.C1 = false;
                if (!Commit(f, c))
                {
                    // an unmasked stack underflow still reports "unordered" (the host CPU does; no pop)
                    if (empty) f.Status = (ushort)((f.Status & ~(C0 | C2 | C3)) | CompareCodes(r));
                    break;
                }
                f.Status = (ushort)((f.Status & ~(C0 | C2 | C3)) | CompareCodes(r));
                for (int k = 0; k < pops; k++) f.Pop();
                break;
            }
            case Mnemonic.Fcomi: case Mnemonic.Fcomip: case Mnemonic.Fucomi: case Mnemonic.Fucomip:
            {
                int i = StIndex(ins, 1);
                X87Compare r;
                // C1 stays as it was unless the stack underflows (Underflow clears it): the host CPU keeps the C1 of a
                // rounded-up FADD across FCOMI and FUCOMI (insn fuzzer seed 8600001519), where the SDM says "set to 0"
                c.C1 = (f.Status & C1) != 0;
                if (f.IsEmpty(0) || f.IsEmpty(i)) { Underflow(ref c); r = X87Compare.Unordered; }
                else r = SoftFloat80.Compare(ref c, f.St(0), f.St(i), m is Mnemonic.Fucomi or Mnemonic.Fucomip);
                bool committed = Commit(f, c);
                // ZF PF CF from the comparison; OF SF AF cleared (SDM FCOMI: the CASE sets "unordered" before the #IA
                // check), also when #IA is unmasked: the host CPU writes 111 then too, and only the pop is skipped
                uint bits = r switch { X87Compare.Less => Flags.CF, X87Compare.Equal => Flags.ZF, X87Compare.Greater => 0u, _ => Flags.ZF | Flags.PF | Flags.CF };
                cpu.S.EFlags = (cpu.S.EFlags & ~Flags.Arith) | bits;
                if (committed && m is Mnemonic.Fcomip or Mnemonic.Fucomip) f.Pop();
                break;
            }
            case Mnemonic.Fxam:
            {
                int k = f.IsEmpty(0) ? 0b101 : SoftFloat80.Examine(f.St(0));
                int sw = f.Status & ~(C0 | C1 | C2 | C3);
                if ((k & 4) != 0) sw |= C3;
                if ((k & 2) != 0) sw |= C2;
                if ((k & 1) != 0) sw |= C0;
                if (f.St(0).Sign) sw |= C1;
                f.Status = (ushort)sw;
                break;
            }

            // ---- stack management
            case Mnemonic.Fincstp: f.Top = f.Top + 1; f.Status &= unchecked((ushort)~C1); break;
            case Mnemonic.Fdecstp: f.Top = f.Top - 1; f.Status &= unchecked((ushort)~C1); break;
            // FFREE/FFREEP: the SDM leaves C0..C3 undefined; the host CPU clears C1 and keeps C0 C2 C3, as FINCSTP
            // does (insn fuzzer seed 8600005173, tests/guests/fuzz/x87_ffree_c1.c)
            case Mnemonic.Ffree: f.Empty |= (byte)(1 << f.Phys(StIndex(ins, 0))); f.Status &= unchecked((ushort)~C1); break;
            case Mnemonic.Ffreep: f.Empty |= (byte)(1 << f.Phys(StIndex(ins, 0))); f.Pop(); f.Status &= unchecked((ushort)~C1); break;

            // ---- one-operand ST0 ops
            case Mnemonic.Fchs: case Mnemonic.Fabs:
                Unary(f, ref c, m, static (ref X87Context cc, Float80 a, Mnemonic mm) => mm == Mnemonic.Fchs ? a.Negate() : a.Abs());
                break;
            case Mnemonic.Fsqrt: Unary(f, ref c, m, static (ref X87Context cc, Float80 a, Mnemonic mm) => SoftFloat80.Sqrt(ref cc, a)); break;
            case Mnemonic.Frndint: Unary(f, ref c, m, static (ref X87Context cc, Float80 a, Mnemonic mm) => SoftFloat80.RoundToInt(ref cc, a)); break;
            case Mnemonic.F2xm1: Unary(f, ref c, m, static (ref X87Context cc, Float80 a, Mnemonic mm) => SoftFloat80.Exp2m1(ref cc, a)); break;

            case Mnemonic.Fsin: case Mnemonic.Fcos:
            {
                if (f.IsEmpty(0)) { Underflow(ref c); if (Commit(f, c)) f.SetSt(0, Float80.DefaultNaN); break; }
                Float80 r;
                bool ok = m == Mnemonic.Fsin ? SoftFloat80.Sin(ref c, f.St(0), out r) : SoftFloat80.Cos(ref c, f.St(0), out r);
                if (!Commit(f, c)) break;
                SetC2(f, !ok);
                if (ok) f.SetSt(0, r);
                break;
            }
            case Mnemonic.Fptan: case Mnemonic.Fsincos:
            {
                if (f.IsEmpty(0) || !f.IsEmpty(-1))
                {
                    // underflow of the source or overflow of the second slot: both results are the indefinite
                    if (f.IsEmpty(0)) Underflow(ref c); else { c.Flags |= X87Flags.Invalid | X87Flags.StackFault; c.C1 = true; }
                    if (Commit(f, c)) { f.SetSt(0, Float80.DefaultNaN); f.Push(Float80.DefaultNaN); }
                    break;
                }
                Float80 r1, r2;
                bool ok;
                if (m == Mnemonic.Fptan)
                {
                    ok = SoftFloat80.Tan(ref c, f.St(0), out r1);
                    r2 = r1.IsNaN ? r1 : Float80.One; // a NaN result is pushed again instead of 1.0 (measured)
                }
                else ok = SoftFloat80.SinCos(ref c, f.St(0), out r1, out r2);
                if (!Commit(f, c)) break;
                SetC2(f, !ok);
                if (ok) { f.SetSt(0, r1); f.Push(r2); }
                break;
            }
            case Mnemonic.Fpatan: case Mnemonic.Fyl2x: case Mnemonic.Fyl2xp1: case Mnemonic.Fscale:
            case Mnemonic.Fprem: case Mnemonic.Fprem1:
            {
                Float80 r;
                int q = 0; bool incomplete = false;
                if (f.IsEmpty(0) || f.IsEmpty(1)) { Underflow(ref c); r = Float80.DefaultNaN; }
                else
                {
                    Float80 x = f.St(0), y = f.St(1);
                    r = m switch
                    {
                        Mnemonic.Fpatan => SoftFloat80.Atan2(ref c, y, x),
                        Mnemonic.Fyl2x => SoftFloat80.Yl2x(ref c, y, x),
                        Mnemonic.Fyl2xp1 => SoftFloat80.Yl2xp1(ref c, y, x),
                        Mnemonic.Fscale => SoftFloat80.Scale(ref c, x, y),
                        _ => SoftFloat80.Remainder(ref c, x, y, m == Mnemonic.Fprem1, out q, out incomplete),
                    };
                }
                if (m is Mnemonic.Fprem or Mnemonic.Fprem1)
                {
                    // Q0 → C1, Q1 → C3, Q2 → C0, C2 = incomplete (SDM FPREM). No quotient when the result is a NaN (an
                    // empty register, a NaN operand, #IA): C1 and C2 are cleared and C0 C3 left as they were, masked or
                    // not (host CPU; the SDM does not say)
                    bool noQuotient = r.IsNaN;
                    c.C1 = !noQuotient && (q & 1) != 0;
                    bool committed = Commit(f, c);
                    if (noQuotient)
                    {
                        f.Status = (ushort)(f.Status & ~C2);
                        if (committed) f.SetSt(0, r);
                        break;
                    }
                    if (!committed) break;
                    f.Status = (ushort)((f.Status & ~(C0 | C2 | C3)) | ((q & 2) != 0 ? C3 : 0) | ((q & 4) != 0 ? C0 : 0) | (incomplete ? C2 : 0));
                    f.SetSt(0, r);
                    break;
                }
                if (!Commit(f, c)) break;
                if (m == Mnemonic.Fscale) f.SetSt(0, r);
                else { f.SetSt(1, r); f.Pop(); }
                break;
            }
            case Mnemonic.Fxtract:
            {
                Float80 sig, exp;
                if (f.IsEmpty(0) || !f.IsEmpty(-1))
                {
                    if (f.IsEmpty(0)) Underflow(ref c); else { c.Flags |= X87Flags.Invalid | X87Flags.StackFault; c.C1 = true; }
                    sig = exp = Float80.DefaultNaN;
                }
                else SoftFloat80.Extract(ref c, f.St(0), out sig, out exp);
                if (!Commit(f, c)) break;
                f.SetSt(0, exp); f.Push(sig);
                break;
            }
            default:
                cpu.RaiseUD();
                return;
        }
        if (!cpu.Faulted) NotePointers(cpu, f, ins, mem, ea);
    }

    static void SetC2(X87State f, bool on) => f.Status = (ushort)(on ? f.Status | C2 : f.Status & ~C2);

    static int CompareCodes(X87Compare r) => r switch
    {
        X87Compare.Less => C0,
        X87Compare.Equal => C3,
        X87Compare.Greater => 0,
        _ => C0 | C2 | C3,
    };

    delegate Float80 UnaryFn(ref X87Context c, Float80 a, Mnemonic m);

    static void Unary(X87State f, ref X87Context c, Mnemonic m, UnaryFn fn)
    {
        Float80 r;
        if (f.IsEmpty(0)) { Underflow(ref c); r = Float80.DefaultNaN; }
        else { c.C1 = false; r = fn(ref c, f.St(0), m); }
        if (Commit(f, c)) f.SetSt(0, r);
    }

    /// <summary>Push with the stack-overflow check (SDM 8.5.1.1): C1=1, IE+SF, indefinite when masked.</summary>
    static void PushChecked(X87State f, ref X87Context c, Float80 v)
    {
        if (!f.IsEmpty(-1))
        {
            c.Flags |= X87Flags.Invalid | X87Flags.StackFault;
            c.C1 = true;
            v = Float80.DefaultNaN;
        }
        else if ((c.Flags & X87Flags.StackFault) == 0) c.C1 = false;
        if (Commit(f, c)) f.Push(v);
    }

    static void ArithOp(Processor cpu, X87State f, in Instruction ins, ref X87Context c, Arith op, bool pop, bool mem, uint ea)
    {
        int dst, srcIdx;
        Float80 a, b;
        bool empty;
        if (mem)
        {
            var before = c.Flags;
            b = ReadMemOperand(cpu, ins, ea, ref c);
            if (cpu.Faulted) return;
            dst = 0; srcIdx = -1;
            a = f.St(0);
            empty = f.IsEmpty(0);
            if (empty) c.Flags = before; // the stack fault comes first: no #D from the operand (host CPU)
            else
            {
                // The operand came in as an 80-bit value: an SNaN quieted (noting #IA), a denormal normalised
                // (noting #D). NaN selection must still see the SNaN (SDM Table 4-7: SNaN and QNaN give the QNaN),
                // and a NaN in ST(0) is handled before #D (SDM 4.9.2 precedence), as the host CPU does.
                var conv = c.Flags & ~before;
                if ((conv & X87Flags.Invalid) != 0 && b.IsNaN) b = new Float80(b.SignExp, b.Signif & ~Float80.QuietBit);
                if ((conv & X87Flags.Denormal) != 0 && a.IsNaN) c.Flags &= ~X87Flags.Denormal | before;
            }
        }
        else
        {
            dst = StIndex(ins, 0);
            srcIdx = ins.OpCount > 1 ? StIndex(ins, 1) : 0;
            a = f.St(dst); b = f.St(srcIdx);
            empty = f.IsEmpty(dst) || f.IsEmpty(srcIdx);
        }
        Float80 r;
        if (empty) { Underflow(ref c); r = Float80.DefaultNaN; }
        else
        {
            r = op switch
            {
                Arith.Add => SoftFloat80.Add(ref c, a, b),
                Arith.Sub => SoftFloat80.Sub(ref c, a, b),
                Arith.SubR => SoftFloat80.Sub(ref c, b, a),
                Arith.Mul => SoftFloat80.Mul(ref c, a, b),
                Arith.Div => SoftFloat80.Div(ref c, a, b),
                _ => SoftFloat80.Div(ref c, b, a),
            };
        }
        if (!Commit(f, c)) return;
        f.SetSt(dst, r);
        if (pop) f.Pop();
    }

    /// <summary>FST/FSTP/FIST/FISTP/FISTTP/FBSTP. Returns false if a fault stopped the instruction.</summary>
    static bool Store(Processor cpu, X87State f, in Instruction ins, ref X87Context c, Mnemonic m, bool mem, uint ea)
    {
        bool pop = m is Mnemonic.Fstp or Mnemonic.Fistp or Mnemonic.Fisttp or Mnemonic.Fbstp or Mnemonic.Fstpnce;
        bool empty = f.IsEmpty(0);
        Float80 v = empty ? Float80.DefaultNaN : f.St(0);
        if (!mem)
        {
            int i = StIndex(ins, 0);
            c.C1 = false;
            if (m == Mnemonic.Fstpnce)
            {
                // D9 D8+i, FSTP1 / "FSTP no check exceptions": ST(0) is copied with its tag; an empty ST(0) is not
                // copied at all (ST(i) keeps its value and tag) and raises no stack fault; then the pop (host CPU)
                if (!empty) f.CopySt(0, i);
                Commit(f, c);
                f.Pop();
                return true;
            }
            if (empty) Underflow(ref c);
            if (!Commit(f, c)) return true;
            f.SetSt(i, v);
            if (pop) f.Pop();
            return true;
        }
        if (empty) Underflow(ref c);
        var save = c;
        int size = ins.MemorySize.GetSize();
        ulong bits = 0;
        Span<byte> bcd = stackalloc byte[10];
        switch (ins.MemorySize)
        {
            case MemorySize.Float32: bits = empty ? 0xFFC00000u : SoftFloat80.ToFloat32(ref c, v); break;
            case MemorySize.Float64: bits = empty ? 0xFFF8000000000000UL : SoftFloat80.ToFloat64(ref c, v); break;
            case MemorySize.Float80: break;
            case MemorySize.Int16: case MemorySize.Int32: case MemorySize.Int64:
                bits = empty ? 1UL << (size * 8 - 1) : (ulong)SoftFloat80.ToInt(ref c, v, size * 8, m == Mnemonic.Fisttp);
                break;
            case MemorySize.Bcd:
                if (empty) { bcd.Clear(); bcd[7] = 0xC0; bcd[8] = 0xFF; bcd[9] = 0xFF; }
                else SoftFloat80.ToBcd(ref c, v, bcd);
                break;
            default: cpu.RaiseUD(); return false;
        }
        if (empty) c.C1 = save.C1;
        // Unmasked #IA/#D suppress the store; unmasked #O/#U on a memory destination also store nothing (SDM 4.9.2).
        int unmasked = (int)c.Flags & ~f.Control & 0x3F;
        if ((unmasked & (IE | DE | 8 | 0x10)) == 0)
        {
            // a 10-byte store on the intel models is two, the low 8 bytes and then the top 2 (the Intel host: when only
            // the top 2 cross into a page it cannot write, the low 8 are written before the fault; insn fuzzer seed
            // 8700001479, m80_split.c); the AMD host writes nothing unless all 10 bytes can be
            bool whole = size != 10 || cpu.Model.Vendor == CpuVendor.Amd;
            if (!cpu.ProbeWrite(ea, whole ? size : 8)) return false;
            switch (ins.MemorySize)
            {
                case MemorySize.Float80:
                    cpu.WriteU64(ea, v.Signif);
                    if (!cpu.ProbeWrite(ea + 8, 2)) return false;
                    cpu.WriteU16(ea + 8, v.SignExp);
                    break;
                case MemorySize.Bcd:
                    for (int k = 0; k < 8; k++) cpu.WriteU8(ea + (uint)k, bcd[k]);
                    if (!cpu.ProbeWrite(ea + 8, 2)) return false;
                    cpu.WriteU8(ea + 8, bcd[8]); cpu.WriteU8(ea + 9, bcd[9]);
                    break;
                case MemorySize.Float64: case MemorySize.Int64: cpu.WriteU64(ea, bits); break;
                case MemorySize.Float32: case MemorySize.Int32: cpu.WriteU32(ea, (uint)bits); break;
                default: cpu.WriteU16(ea, (ushort)bits); break;
            }
            if (cpu.Faulted) return false;
        }
        bool ok = Commit(f, c);
        if (ok && (unmasked & (8 | 0x10)) == 0 && pop) f.Pop();
        return true;
    }
}
