using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>Integer arithmetic, logic, shifts and bit operations (SDM vol. 2 per instruction).</summary>
public sealed unsafe partial class Processor
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static uint MaskOf(int size) => size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static uint SignOf(int size) => size == 4 ? 0x80000000u : size == 2 ? 0x8000u : 0x80u;

    void ExecMov(in Instruction ins)
    {
        var k0 = ins.Op0Kind;
        if (k0 == OpKind.Register)
        {
            var r0 = ins.Op0Register;
            if (r0.IsSegmentRegister()) { uint sel = ReadOp(ins, 1, 2); if (!Faulted) LoadSegment(r0, (ushort)sel); return; }
            if (r0.IsCR() || r0.IsDR() || r0.IsTR()) { RaiseGP(); return; }
            var k1 = ins.Op1Kind;
            if (k1 == OpKind.Register)
            {
                var r1 = ins.Op1Register;
                if (r1.IsSegmentRegister()) { uint sv = S.Sel[r1.GetNumber()]; SetReg(r0, RegSize[(int)r0] == 4 ? sv : sv); return; }
                if (r1.IsCR() || r1.IsDR() || r1.IsTR()) { RaiseGP(); return; }
                SetReg(r0, GetReg(r1));
                return;
            }
            int sz = RegSize[(int)r0];
            uint v = k1 == OpKind.Memory ? ReadMem(EffectiveAddress(ins), sz) : (uint)ins.GetImmediate(1);
            if (!Faulted) SetReg(r0, v);
            return;
        }
        // memory destination
        if (ins.Op1Kind == OpKind.Register && ins.Op1Register.IsSegmentRegister())
        {
            WriteU16(EffectiveAddress(ins), S.Sel[ins.Op1Register.GetNumber()]);
            return;
        }
        int size = ins.MemorySize.GetSize();
        uint val = ins.Op1Kind == OpKind.Register ? GetReg(ins.Op1Register) : (uint)ins.GetImmediate(1);
        WriteMem(EffectiveAddress(ins), size, val);
    }

    void ExecXchg(in Instruction ins)
    {
        int sz = Size0(ins);
        if (ins.Op0Kind == OpKind.Register && ins.Op1Kind == OpKind.Register)
        {
            uint a = GetReg(ins.Op0Register), b = GetReg(ins.Op1Register);
            SetReg(ins.Op0Register, b);
            SetReg(ins.Op1Register, a);
            return;
        }
        // One side is memory: locked, with or without the prefix (Locked.cs).
        XchgMemory(ins, ins.Op0Kind == OpKind.Register ? ins.Op0Register : ins.Op1Register, sz);
    }

    void ExecAlu2(in Instruction ins)
    {
        int sz = Size0(ins);
        uint a, addr = 0;
        bool mem = ins.Op0Kind == OpKind.Memory;
        if (mem) { addr = EffectiveAddress(ins); a = ReadMem(addr, sz); }
        else a = GetReg(ins.Op0Register);
        uint b = ins.Op1Kind switch
        {
            OpKind.Register => GetReg(ins.Op1Register),
            OpKind.Memory => ReadMem(EffectiveAddress(ins), sz),
            _ => (uint)ins.GetImmediate(1),
        };
        if (Faulted) return;
        uint r, m = MaskOf(sz);
        CcOp op;
        uint cin = 0;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Add: r = a + b; op = CcOp.Add; break;
            case Mnemonic.Or: r = a | b; op = CcOp.Logic; break;
            case Mnemonic.Adc: cin = S.Flags.CFv ? 1u : 0u; r = a + b + cin; op = CcOp.Adc; break;
            case Mnemonic.Sbb: cin = S.Flags.CFv ? 1u : 0u; r = a - b - cin; op = CcOp.Sbb; break;
            case Mnemonic.And: r = a & b; op = CcOp.Logic; break;
            case Mnemonic.Sub: r = a - b; op = CcOp.Sub; break;
            case Mnemonic.Xor: r = a ^ b; op = CcOp.Logic; break;
            default: // Cmp
                S.Flags.SetLazy(CcOp.Sub, sz, (a - b) & m, a & m, b & m);
                return;
        }
        r &= m;
        if (mem) { WriteMem(addr, sz, r); if (Faulted) return; }
        else SetReg(ins.Op0Register, r);
        var f = S.Flags;
        f.CarryIn = cin;
        f.SetLazy(op, sz, r, a & m, b & m);
    }

    void ExecIncDec(in Instruction ins)
    {
        int sz = Size0(ins);
        uint a = ReadOp(ins, 0, sz);
        if (Faulted) return;
        bool inc = ins.Mnemonic == Mnemonic.Inc;
        uint r = (inc ? a + 1 : a - 1) & MaskOf(sz);
        WriteOp0(ins, sz, r);
        if (Faulted) return;
        var f = S.Flags;
        f.KeepCarry(); // INC/DEC leave CF alone
        f.SetLazy(inc ? CcOp.Inc : CcOp.Dec, sz, r, a, 1);
    }

    /// <summary>Set the six arithmetic flags explicitly (eager path for multiply, shifts, BCD).</summary>
    void SetArith(bool cf, bool pf, bool af, bool zf, bool sf, bool of)
    {
        var f = S.Flags;
        f.Materialize();
        uint b = f.Bits & ~Flags.Arith;
        if (cf) b |= Flags.CF;
        if (pf) b |= Flags.PF;
        if (af) b |= Flags.AF;
        if (zf) b |= Flags.ZF;
        if (sf) b |= Flags.SF;
        if (of) b |= Flags.OF;
        f.Bits = b;
    }

    /// <summary>SF/ZF/PF from a result; CF/OF given (MUL/IMUL leave SF ZF AF PF undefined: we follow hardware's
    /// usual result-based values, matching what qemu computes).</summary>
    void SetResultFlags(uint r, int sz, bool cf, bool of, bool af = false)
    {
        uint m = MaskOf(sz);
        SetArith(cf, Flags.ParityOf(r), af, (r & m) == 0, (r & SignOf(sz)) != 0, of);
    }

    void ExecMul(in Instruction ins)
    {
        int sz = Size0(ins);
        uint b = ReadOp(ins, 0, sz);
        if (Faulted) return;
        switch (sz)
        {
            case 1:
            {
                uint r = (S.R[0] & 0xFF) * b;
                SetReg(Register.AX, r);
                bool hi = (r & 0xFF00) != 0;
                SetResultFlags(r & 0xFF, 1, hi, hi);
                break;
            }
            case 2:
            {
                uint r = (S.R[0] & 0xFFFF) * b;
                SetReg(Register.AX, r); SetReg(Register.DX, r >> 16);
                bool hi = (r >> 16) != 0;
                SetResultFlags(r & 0xFFFF, 2, hi, hi);
                break;
            }
            default:
            {
                ulong r = (ulong)S.R[0] * b;
                S.R[0] = (uint)r; S.R[2] = (uint)(r >> 32);
                bool hi = (r >> 32) != 0;
                SetResultFlags((uint)r, 4, hi, hi);
                break;
            }
        }
    }

    void ExecImul(in Instruction ins)
    {
        int ops = ins.OpCount;
        int sz = Size0(ins);
        if (ops == 1)
        {
            uint b = ReadOp(ins, 0, sz);
            if (Faulted) return;
            switch (sz)
            {
                case 1:
                {
                    int r = (sbyte)S.R[0] * (sbyte)b;
                    SetReg(Register.AX, (uint)r);
                    bool ov = r != (sbyte)r;
                    SetResultFlags((uint)r & 0xFF, 1, ov, ov);
                    break;
                }
                case 2:
                {
                    int r = (short)S.R[0] * (short)b;
                    SetReg(Register.AX, (uint)r); SetReg(Register.DX, (uint)r >> 16);
                    bool ov = r != (short)r;
                    SetResultFlags((uint)r & 0xFFFF, 2, ov, ov);
                    break;
                }
                default:
                {
                    long r = (long)(int)S.R[0] * (int)b;
                    S.R[0] = (uint)r; S.R[2] = (uint)((ulong)r >> 32);
                    bool ov = r != (int)r;
                    SetResultFlags((uint)r, 4, ov, ov);
                    break;
                }
            }
            return;
        }
        uint x = ops == 2 ? GetReg(ins.Op0Register) : ReadOp(ins, 1, sz);
        uint y = ops == 2 ? ReadOp(ins, 1, sz) : (uint)ins.GetImmediate(2);
        if (Faulted) return;
        if (sz == 2)
        {
            int r = (short)x * (short)y;
            SetReg(ins.Op0Register, (uint)r);
            bool ov = r != (short)r;
            SetResultFlags((uint)r & 0xFFFF, 2, ov, ov);
        }
        else
        {
            long r = (long)(int)x * (int)y;
            SetReg(ins.Op0Register, (uint)r);
            bool ov = r != (int)r;
            SetResultFlags((uint)r, 4, ov, ov);
        }
    }

    void ExecDiv(in Instruction ins)
    {
        int sz = Size0(ins);
        uint d = ReadOp(ins, 0, sz);
        if (Faulted) return;
        if (d == 0) { RaiseFault(Vec.DE); return; }
        switch (sz)
        {
            case 1:
            {
                uint n = S.R[0] & 0xFFFF;
                uint q = n / d;
                if (q > 0xFF) { RaiseFault(Vec.DE); return; }
                SetReg(Register.AX, (q & 0xFF) | ((n % d) << 8));
                break;
            }
            case 2:
            {
                uint n = ((S.R[2] & 0xFFFF) << 16) | (S.R[0] & 0xFFFF);
                uint q = n / d;
                if (q > 0xFFFF) { RaiseFault(Vec.DE); return; }
                SetReg(Register.AX, q); SetReg(Register.DX, n % d);
                break;
            }
            default:
            {
                ulong n = ((ulong)S.R[2] << 32) | S.R[0];
                ulong q = n / d;
                if (q > 0xFFFFFFFF) { RaiseFault(Vec.DE); return; }
                S.R[0] = (uint)q; S.R[2] = (uint)(n % d);
                break;
            }
        }
    }

    void ExecIdiv(in Instruction ins)
    {
        int sz = Size0(ins);
        uint dv = ReadOp(ins, 0, sz);
        if (Faulted) return;
        switch (sz)
        {
            case 1:
            {
                int d = (sbyte)dv;
                if (d == 0) { RaiseFault(Vec.DE); return; }
                int n = (short)S.R[0];
                int q = n / d;
                if (q != (sbyte)q) { RaiseFault(Vec.DE); return; }
                SetReg(Register.AX, ((uint)q & 0xFF) | (((uint)(n % d) & 0xFF) << 8));
                break;
            }
            case 2:
            {
                int d = (short)dv;
                if (d == 0) { RaiseFault(Vec.DE); return; }
                int n = (int)(((S.R[2] & 0xFFFF) << 16) | (S.R[0] & 0xFFFF));
                long q = (long)n / d;
                if (q != (short)q) { RaiseFault(Vec.DE); return; }
                SetReg(Register.AX, (uint)q); SetReg(Register.DX, (uint)(n % d));
                break;
            }
            default:
            {
                long d = (int)dv;
                if (d == 0) { RaiseFault(Vec.DE); return; }
                long n = (long)(((ulong)S.R[2] << 32) | S.R[0]);
                if (n == long.MinValue && d == -1) { RaiseFault(Vec.DE); return; }
                long q = n / d;
                if (q != (int)q) { RaiseFault(Vec.DE); return; }
                S.R[0] = (uint)q; S.R[2] = (uint)(n % d);
                break;
            }
        }
    }

    void ExecShift(in Instruction ins)
    {
        int sz = Size0(ins);
        uint addr = 0;
        bool mem = ins.Op0Kind == OpKind.Memory;
        uint v;
        if (mem) { addr = EffectiveAddress(ins); v = ReadMem(addr, sz); } else v = GetReg(ins.Op0Register);
        // the write cycle is checked before anything changes: a read-only page faults even for a count of 0, and a
        // faulting write leaves the flags as they were (host CPU; SDM 6.5 "faults ... restore the state")
        if (Faulted || mem && !ProbeWrite(addr, sz)) return;
        uint cnt = (ins.Op1Kind == OpKind.Register ? S.R[1] : (uint)ins.GetImmediate(1)) & 0x1F;
        int bits = sz * 8;
        uint m = MaskOf(sz), sign = SignOf(sz);
        var mn = ins.Mnemonic;
        if (mn is Mnemonic.Rcl or Mnemonic.Rcr)
        {
            cnt = sz == 4 ? cnt : cnt % (uint)(bits + 1);
            if (cnt == 0) { if (mem && ins.HasLockPrefix) { } return; }
        }
        else if (cnt == 0) return; // count 0: nothing changes, flags included
        uint r;
        bool cf, of;
        var f = S.Flags;
        switch (mn)
        {
            case Mnemonic.Rol:
            {
                int c = (int)(cnt % (uint)bits);
                r = c == 0 ? v : ((v << c) | (v >> (bits - c))) & m;
                cf = (r & 1) != 0;
                of = ((r & sign) != 0) ^ cf;
                f.Materialize();
                f.Bits = (f.Bits & ~(Flags.CF | Flags.OF)) | (cf ? Flags.CF : 0) | (of ? Flags.OF : 0);
                break;
            }
            case Mnemonic.Ror:
            {
                int c = (int)(cnt % (uint)bits);
                r = c == 0 ? v : ((v >> c) | (v << (bits - c))) & m;
                cf = (r & sign) != 0;
                of = ((r & sign) != 0) ^ ((r & (sign >> 1)) != 0);
                f.Materialize();
                f.Bits = (f.Bits & ~(Flags.CF | Flags.OF)) | (cf ? Flags.CF : 0) | (of ? Flags.OF : 0);
                break;
            }
            case Mnemonic.Rcl:
            {
                ulong x = ((ulong)(f.CFv ? 1u : 0u) << bits) | v; // bits+1 wide
                int w = bits + 1;
                ulong wm = (1UL << w) - 1;
                x = ((x << (int)cnt) | (x >> (w - (int)cnt))) & wm;
                r = (uint)(x & m);
                cf = ((x >> bits) & 1) != 0;
                of = ((v ^ r) & sign) != 0;
                f.Materialize();
                f.Bits = (f.Bits & ~(Flags.CF | Flags.OF)) | (cf ? Flags.CF : 0) | (of ? Flags.OF : 0);
                break;
            }
            case Mnemonic.Rcr:
            {
                bool oldcf = f.CFv;
                ulong x = ((ulong)(oldcf ? 1u : 0u) << bits) | v;
                int w = bits + 1;
                ulong wm = (1UL << w) - 1;
                x = ((x >> (int)cnt) | (x << (w - (int)cnt))) & wm;
                r = (uint)(x & m);
                cf = ((x >> bits) & 1) != 0;
                of = ((v ^ r) & sign) != 0;
                f.Materialize();
                f.Bits = (f.Bits & ~(Flags.CF | Flags.OF)) | (cf ? Flags.CF : 0) | (of ? Flags.OF : 0);
                break;
            }
            case Mnemonic.Shl: case Mnemonic.Sal:
            {
                ulong x = (ulong)v << (int)cnt;
                r = (uint)x & m;
                cf = cnt <= (uint)bits && ((x >> bits) & 1) != 0;
                of = ((r & sign) != 0) ^ cf;
                SetArith(cf, Flags.ParityOf(r), (cnt & 0) != 0, r == 0, (r & sign) != 0, of);
                break;
            }
            case Mnemonic.Shr:
            {
                cf = cnt <= (uint)bits && ((v >> ((int)cnt - 1)) & 1) != 0;
                r = cnt >= (uint)bits ? 0 : (v >> (int)cnt) & m;
                of = (((v >> ((int)cnt - 1)) ^ r) & sign) != 0; // MSB of the original for count 1; qemu's rule beyond
                SetArith(cf, Flags.ParityOf(r), false, r == 0, (r & sign) != 0, of);
                break;
            }
            default: // Sar
            {
                int sv = sz == 4 ? (int)v : sz == 2 ? (short)v : (sbyte)v;
                int c = (int)Math.Min(cnt, (uint)bits - 1 + 1);
                long shifted = (long)sv >> Math.Min(c, 63);
                cf = ((sv >> Math.Min((int)cnt - 1, 31)) & 1) != 0;
                r = (uint)shifted & m;
                SetArith(cf, Flags.ParityOf(r), false, r == 0, (r & sign) != 0, false);
                break;
            }
        }
        if (mem) WriteMem(addr, sz, r); else SetReg(ins.Op0Register, r);
    }

    void ExecShiftDouble(in Instruction ins)
    {
        int sz = Size0(ins);
        bool mem = ins.Op0Kind == OpKind.Memory;
        uint addr = 0, dst;
        if (mem) { addr = EffectiveAddress(ins); dst = ReadMem(addr, sz); } else dst = GetReg(ins.Op0Register);
        if (Faulted || mem && !ProbeWrite(addr, sz)) return; // as ExecShift
        uint src = GetReg(ins.Op1Register);
        uint cnt = (ins.Op2Kind == OpKind.Register ? S.R[1] : (uint)ins.GetImmediate(2)) & 0x1F;
        if (cnt == 0) return;
        int bits = sz * 8;
        uint m = MaskOf(sz), sign = SignOf(sz);
        uint r;
        bool cf;
        if (ins.Mnemonic == Mnemonic.Shld)
        {
            // For 16-bit counts > 16 the result is undefined; model it as a 32-bit (dst:src:dst) rotate, as Intel does.
            ulong x = sz == 4 ? ((ulong)dst << 32) | src : ((ulong)dst << 48) | ((ulong)src << 32) | ((ulong)dst << 16);
            int shift = (int)cnt;
            ulong y = x << shift;
            r = (uint)(y >> (64 - bits)) & m;
            cf = ((x >> (64 - shift)) & 1) != 0;
        }
        else
        {
            ulong x = sz == 4 ? ((ulong)src << 32) | dst : ((ulong)dst << 32) | ((ulong)src << 16) | dst;
            int shift = (int)cnt;
            r = (uint)(x >> shift) & m;
            cf = ((x >> (shift - 1)) & 1) != 0;
        }
        bool of = ((r ^ dst) & sign) != 0;
        SetArith(cf, Flags.ParityOf(r), false, r == 0, (r & sign) != 0, of);
        if (mem) WriteMem(addr, sz, r); else SetReg(ins.Op0Register, r);
    }

    void ExecBt(in Instruction ins)
    {
        int sz = Size0(ins);
        int bits = sz * 8;
        uint offset = ins.Op1Kind == OpKind.Register ? GetReg(ins.Op1Register) : (uint)ins.GetImmediate(1);
        uint v, addr = 0;
        int bit;
        bool mem = ins.Op0Kind == OpKind.Memory;
        if (mem)
        {
            addr = EffectiveAddress(ins);
            if (ins.Op1Kind == OpKind.Register)
            {
                // Register bit offsets address memory beyond the operand (signed, SDM BT).
                int off = sz == 4 ? (int)offset : (short)offset;
                addr = BitOperandAddress(ins, addr, (off >> (sz == 4 ? 5 : 4)) * sz);
                bit = off & (bits - 1);
            }
            else bit = (int)(offset & (uint)(bits - 1));
            v = ReadMem(addr, sz);
        }
        else { v = GetReg(ins.Op0Register); bit = (int)(offset & (uint)(bits - 1)); }
        if (Faulted) return;
        bool cf = ((v >> bit) & 1) != 0;
        uint r = ins.Mnemonic switch
        {
            Mnemonic.Bts => v | (1u << bit),
            Mnemonic.Btr => v & ~(1u << bit),
            Mnemonic.Btc => v ^ (1u << bit),
            _ => v,
        };
        if (ins.Mnemonic != Mnemonic.Bt)
        {
            if (mem) { WriteMem(addr, sz, r); if (Faulted) return; } else SetReg(ins.Op0Register, r);
        }
        S.Flags.SetBit(Flags.CF, cf);
    }

    /// <summary>BT/BTS/BTR/BTC with a register bit offset: the operand's address moved by the offset's whole units
    /// (SDM BT); with 16-bit addressing the sum wraps at 64 KiB as the rest of the effective address does (host
    /// CPU; found by the instruction fuzzer).</summary>
    uint BitOperandAddress(in Instruction ins, uint addr, int byteDelta)
    {
        if (ins.MemoryDisplSize != 2 && RegSize[(int)ins.MemoryBase] != 2 && RegSize[(int)ins.MemoryIndex] != 2)
            return addr + (uint)byteDelta;
        uint off = Addr16(ins);
        return addr - off + ((off + (uint)byteDelta) & 0xFFFF);
    }

    void ExecBitScan(in Instruction ins)
    {
        int sz = Size0(ins);
        uint v = ReadOp(ins, 1, sz);
        if (Faulted) return;
        var f = S.Flags;
        f.Materialize();
        if (v == 0) { f.Bits |= Flags.ZF; return; } // destination unchanged (what Intel and AMD do)
        f.Bits &= ~Flags.ZF;
        uint idx = ins.Mnemonic is Mnemonic.Bsf or Mnemonic.Tzcnt ? (uint)System.Numerics.BitOperations.TrailingZeroCount(v)
                                                : (uint)(31 - System.Numerics.BitOperations.LeadingZeroCount(v));
        SetReg(ins.Op0Register, idx);
    }

    void ExecXadd(in Instruction ins)
    {
        int sz = Size0(ins);
        uint m = MaskOf(sz);
        uint src = GetReg(ins.Op1Register);
        if (ins.Op0Kind == OpKind.Register)
        {
            uint d = GetReg(ins.Op0Register);
            uint r = (d + src) & m;
            SetReg(ins.Op1Register, d);
            SetReg(ins.Op0Register, r);
            S.Flags.SetLazy(CcOp.Add, sz, r, d, src & m);
            return;
        }
        uint addr = EffectiveAddress(ins);
        uint dv = ReadMem(addr, sz);
        if (Faulted) return;
        uint res = (dv + src) & m;
        WriteMem(addr, sz, res);
        if (Faulted) return;
        SetReg(ins.Op1Register, dv);
        S.Flags.SetLazy(CcOp.Add, sz, res, dv, src & m);
    }

    void ExecCmpxchg(in Instruction ins)
    {
        int sz = Size0(ins);
        uint m = MaskOf(sz);
        uint acc = S.R[0] & m;
        bool mem = ins.Op0Kind == OpKind.Memory;
        uint addr = 0, d;
        if (mem) { addr = EffectiveAddress(ins); d = ReadMem(addr, sz); } else d = GetReg(ins.Op0Register);
        if (Faulted) return;
        if (acc == d)
        {
            uint src = GetReg(ins.Op1Register);
            if (mem) { WriteMem(addr, sz, src); if (Faulted) return; } else SetReg(ins.Op0Register, src);
        }
        else
        {
            // The destination is written back with its own value (a locked RMW always writes).
            if (mem) { WriteMem(addr, sz, d); if (Faulted) return; }
            SetReg(sz == 1 ? Register.AL : sz == 2 ? Register.AX : Register.EAX, d);
        }
        S.Flags.SetLazy(CcOp.Sub, sz, (acc - d) & m, acc, d);
    }

    void ExecCmpxchg8b(in Instruction ins)
    {
        if (ins.Op0Kind != OpKind.Memory) { RaiseUD(); return; }
        uint addr = EffectiveAddress(ins);
        ulong d = ReadU64(addr);
        if (Faulted) return;
        ulong edxeax = ((ulong)S.R[2] << 32) | S.R[0];
        if (d == edxeax)
        {
            WriteU64(addr, ((ulong)S.R[1] << 32) | S.R[3]);
            if (Faulted) return;
            S.Flags.SetBit(Flags.ZF, true);
        }
        else
        {
            WriteU64(addr, d);
            if (Faulted) return;
            S.R[0] = (uint)d; S.R[2] = (uint)(d >> 32);
            S.Flags.SetBit(Flags.ZF, false);
        }
    }

    void ExecBcd(in Instruction ins)
    {
        uint al = S.R[0] & 0xFF, ah = (S.R[0] >> 8) & 0xFF;
        var f = S.Flags;
        bool cf = f.CFv, af = f.AFv;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Daa:
            {
                uint oldAl = al; bool oldCf = cf;
                cf = false;
                if ((al & 0xF) > 9 || af) { al = (al + 6) & 0xFF; cf = oldCf || oldAl > 0xF9; af = true; } else af = false;
                if (oldAl > 0x99 || oldCf) { al = (al + 0x60) & 0xFF; cf = true; } else cf = false;
                SetArith(cf, Flags.ParityOf(al), af, al == 0, (al & 0x80) != 0, false);
                S.R[0] = (S.R[0] & 0xFFFFFF00) | al;
                break;
            }
            case Mnemonic.Das:
            {
                uint oldAl = al; bool oldCf = cf;
                cf = false;
                if ((al & 0xF) > 9 || af) { cf = oldCf || al < 6; al = (al - 6) & 0xFF; af = true; } else af = false;
                if (oldAl > 0x99 || oldCf) { al = (al - 0x60) & 0xFF; cf = true; }
                SetArith(cf, Flags.ParityOf(al), af, al == 0, (al & 0x80) != 0, false);
                S.R[0] = (S.R[0] & 0xFFFFFF00) | al;
                break;
            }
            case Mnemonic.Aaa: case Mnemonic.Aas:
            {
                bool adj = (al & 0xF) > 9 || af;
                uint ax = S.R[0] & 0xFFFF;
                if (adj)
                {
                    if (ins.Mnemonic == Mnemonic.Aaa) { ax = (ax + 0x106) & 0xFFFF; }
                    else { ax = (ax - 6) & 0xFFFF; ax = (ax & 0xFF) | ((((ax >> 8) - 1) & 0xFF) << 8); }
                }
                ax &= 0xFF0F;
                SetReg(Register.AX, ax);
                uint r = ax & 0xFF;
                SetArith(adj, Flags.ParityOf(r), adj, r == 0, false, false);
                break;
            }
            case Mnemonic.Aam:
            {
                uint b = ins.Immediate8;
                if (b == 0) { RaiseFault(Vec.DE); return; }
                ah = al / b; al %= b;
                SetReg(Register.AX, (ah << 8) | al);
                SetArith(false, Flags.ParityOf(al), false, al == 0, (al & 0x80) != 0, false);
                break;
            }
            default: // Aad
            {
                uint b = ins.Immediate8;
                al = (al + ah * b) & 0xFF;
                SetReg(Register.AX, al);
                SetArith(false, Flags.ParityOf(al), false, al == 0, (al & 0x80) != 0, false);
                break;
            }
        }
    }
}
