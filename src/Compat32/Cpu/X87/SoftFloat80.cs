using System;
using System.Numerics;

namespace Compat32.Cpu.X87;

/// <summary>
/// Software x87 double-extended arithmetic. Every operation takes the rounding/precision context by ref,
/// ORs exception flags into it and sets C1 when the result was rounded up. No heap allocation.
/// </summary>
public static partial class SoftFloat80
{
    public const int Bias = 16383;
    const X87Flags IE = X87Flags.Invalid, DE = X87Flags.Denormal, ZE = X87Flags.ZeroDivide,
        OE = X87Flags.Overflow, UE = X87Flags.Underflow, PE = X87Flags.Precision;

    // ---------------- helpers ----------------

    /// <summary>Normalized significand (bit 63 set) and unbounded biased exponent of a finite non-zero value.</summary>
    internal static void Norm(Float80 a, out int exp, out ulong sig)
    {
        exp = a.Exp; sig = a.Signif;
        if (exp == 0)
        {
            // Denormals and pseudo-denormals both use the minimum exponent 1 (SDM 8.2.2).
            int lz = BitOperations.LeadingZeroCount(sig);
            sig <<= lz; exp = 1 - lz;
        }
    }

    internal static UInt128 ShrJam(UInt128 x, int n)
    {
        if (n <= 0) return x;
        if (n >= 128) return x != 0 ? UInt128.One : UInt128.Zero;
        UInt128 r = x >> n;
        if ((x << (128 - n)) != 0) r |= 1;
        return r;
    }

    /// <summary>Rounds sig·2^(e−127) (e unbiased) to prec bits within [emin, emax].</summary>
    /// <remarks>The x87 detects tininess after rounding (measured: a result that rounds up to the smallest
    /// normal at the working precision does not raise #U).</remarks>
    /// <returns>false on overflow (flags already raised).</returns>
    internal static bool RoundCore(ref X87Context c, bool sign, ref int e, ref UInt128 sig, int prec, int emin, int emax)
    {
        int lz = (int)UInt128.LeadingZeroCount(sig);
        sig <<= lz; e -= lz;
        int sh = 128 - prec;
        UInt128 unit = UInt128.One << sh, mask = unit - 1;
        bool tiny = false;
        if (e < emin)
        {
            tiny = true;
            if (e == emin - 1 && (sig >> sh) == (UInt128.MaxValue >> sh) && Increments(c.Rounding, sign, sig & mask, unit, true))
                tiny = false; // rounds up to exactly 2^emin
            sig = ShrJam(sig, emin - e); e = emin;
        }
        UInt128 rem = sig & mask;
        c.C1 = false;
        if (rem != 0)
        {
            c.Flags |= PE;
            if (tiny) c.Flags |= UE;
            bool inc = Increments(c.Rounding, sign, rem, unit, (sig & unit) != 0);
            sig &= ~mask;
            if (inc)
            {
                c.C1 = true;
                sig += unit;
                if (sig == 0) { sig = UInt128.One << 127; e++; }
            }
        }
        if (e > emax)
        {
            c.Flags |= OE | PE;
            c.C1 = OverflowToInf(c.Rounding, sign);
            return false;
        }
        return true;
    }

    static bool Increments(int rc, bool sign, UInt128 rem, UInt128 unit, bool lsb)
    {
        if (rem == 0) return false;
        return rc switch
        {
            0 => rem > (unit >> 1) || (rem == (unit >> 1) && lsb),
            1 => sign,
            2 => !sign,
            _ => false,
        };
    }

    static bool OverflowToInf(int rc, bool sign) => rc == 0 || (rc == 1 && sign) || (rc == 2 && !sign);

    /// <summary>Rounds sig·2^(exp−Bias−127) to an 80-bit value with prec significant bits.</summary>
    internal static Float80 RoundPack(ref X87Context c, bool sign, int exp, UInt128 sig, int prec)
    {
        if (sig == 0) { c.C1 = false; return Float80.SignedZero(sign); }
        int e = exp - Bias;
        if (!RoundCore(ref c, sign, ref e, ref sig, prec, 1 - Bias, Bias))
        {
            if (c.C1) return Float80.SignedInf(sign);
            return new Float80((ushort)((sign ? 0x8000 : 0) | 0x7FFE), ulong.MaxValue << (64 - prec));
        }
        ulong s = (ulong)(sig >> 64);
        int field = (s & Float80.IntBit) != 0 ? e + Bias : 0;
        return new Float80((ushort)((sign ? 0x8000 : 0) | field), s);
    }

    internal static Float80 RoundPack64(ref X87Context c, bool sign, int exp, UInt128 sig) => RoundPack(ref c, sign, exp, sig, 64);

    /// <summary>x87 NaN selection (SDM Table 4-7): SNaN+QNaN gives the QNaN, two alike give the larger significand.</summary>
    internal static Float80 PropagateNaN(ref X87Context c, Float80 a, Float80 b)
    {
        bool an = a.IsNaN, bn = b.IsNaN;
        if (a.IsSNaN || b.IsSNaN) c.Flags |= IE;
        if (an && bn)
        {
            if (a.IsSNaN && b.IsQNaN) return b;
            if (a.IsQNaN && b.IsSNaN) return a;
            ulong ma = a.Signif | Float80.QuietBit, mb = b.Signif | Float80.QuietBit;
            if (ma != mb) return (ma > mb ? a : b).Quieted();
            return (!a.Sign ? a : b).Quieted();
        }
        return (an ? a : b).Quieted();
    }

    internal static Float80 PropagateNaN(ref X87Context c, Float80 a)
    {
        if (a.IsSNaN) c.Flags |= IE;
        return a.Quieted();
    }

    /// <summary>Handles unsupported encodings and NaNs of a two-operand arithmetic operation.</summary>
    static bool Special2(ref X87Context c, Float80 a, Float80 b, out Float80 r)
    {
        if (a.IsUnsupported || b.IsUnsupported) { c.Flags |= IE; r = Float80.DefaultNaN; return true; }
        if (a.IsNaN || b.IsNaN) { r = PropagateNaN(ref c, a, b); return true; }
        r = default;
        return false;
    }

    static bool Special1(ref X87Context c, Float80 a, out Float80 r)
    {
        if (a.IsUnsupported) { c.Flags |= IE; r = Float80.DefaultNaN; return true; }
        if (a.IsNaN) { r = PropagateNaN(ref c, a); return true; }
        r = default;
        return false;
    }

    /// <summary>#D is reported only once no #IA/#Z/NaN result has been chosen (measured on hardware).</summary>
    static void Den(ref X87Context c, Float80 a, Float80 b)
    {
        if (a.IsDenormal || b.IsDenormal) c.Flags |= DE;
    }

    static void Den(ref X87Context c, Float80 a)
    {
        if (a.IsDenormal) c.Flags |= DE;
    }

    static Float80 Invalid(ref X87Context c) { c.Flags |= IE; return Float80.DefaultNaN; }

    // ---------------- arithmetic ----------------

    public static Float80 Add(ref X87Context c, Float80 a, Float80 b) => AddSub(ref c, a, b, false);
    public static Float80 Sub(ref X87Context c, Float80 a, Float80 b) => AddSub(ref c, a, b, true);

    static Float80 AddSub(ref X87Context c, Float80 a, Float80 b, bool negB)
    {
        c.C1 = false;
        if (Special2(ref c, a, b, out var r)) return r;
        bool sa = a.Sign, sb = b.Sign ^ negB;
        if (a.IsInf || b.IsInf)
        {
            if (a.IsInf && b.IsInf && sa != sb) return Invalid(ref c);
            Den(ref c, a, b);
            return Float80.SignedInf(a.IsInf ? sa : sb);
        }
        Den(ref c, a, b);
        int prec = c.PrecisionBits;
        if (a.IsZero && b.IsZero) return Float80.SignedZero(sa == sb ? sa : c.Rounding == 1);
        if (b.IsZero) { Norm(a, out int e0, out ulong s0); return RoundPack(ref c, sa, e0, (UInt128)s0 << 64, prec); }
        if (a.IsZero) { Norm(b, out int e0, out ulong s0); return RoundPack(ref c, sb, e0, (UInt128)s0 << 64, prec); }
        Norm(a, out int ea, out ulong ma);
        Norm(b, out int eb, out ulong mb);
        if (ea < eb || (ea == eb && ma < mb))
        {
            (ea, eb) = (eb, ea); (ma, mb) = (mb, ma); (sa, sb) = (sb, sa);
        }
        UInt128 A = (UInt128)ma << 63, B = ShrJam((UInt128)mb << 63, ea - eb);
        UInt128 S;
        if (sa == sb) S = A + B;
        else
        {
            S = A - B;
            if (S == 0) return Float80.SignedZero(c.Rounding == 1);
        }
        return RoundPack(ref c, sa, ea + 1, S, prec);
    }

    public static Float80 Mul(ref X87Context c, Float80 a, Float80 b)
    {
        c.C1 = false;
        if (Special2(ref c, a, b, out var r)) return r;
        bool s = a.Sign ^ b.Sign;
        if (a.IsInf || b.IsInf)
        {
            if (a.IsZero || b.IsZero) return Invalid(ref c);
            Den(ref c, a, b);
            return Float80.SignedInf(s);
        }
        Den(ref c, a, b);
        if (a.IsZero || b.IsZero) return Float80.SignedZero(s);
        Norm(a, out int ea, out ulong ma);
        Norm(b, out int eb, out ulong mb);
        UInt128 p = (UInt128)ma * mb;
        return RoundPack(ref c, s, ea + eb - Bias + 1, p, c.PrecisionBits);
    }

    public static Float80 Div(ref X87Context c, Float80 a, Float80 b)
    {
        c.C1 = false;
        if (Special2(ref c, a, b, out var r)) return r;
        bool s = a.Sign ^ b.Sign;
        if (a.IsInf && b.IsInf) return Invalid(ref c);
        if (b.IsZero)
        {
            if (a.IsZero) return Invalid(ref c);
            if (!a.IsInf) { c.Flags |= ZE; return Float80.SignedInf(s); }
        }
        Den(ref c, a, b);
        if (a.IsInf) return Float80.SignedInf(s);
        if (b.IsInf) return Float80.SignedZero(s);
        if (a.IsZero) return Float80.SignedZero(s);
        Norm(a, out int ea, out ulong ma);
        Norm(b, out int eb, out ulong mb);
        UInt128 n = (UInt128)ma << 64;
        UInt128 q1 = n / mb;
        ulong r1 = (ulong)(n - q1 * mb);
        UInt128 n2 = (UInt128)r1 << 64;
        ulong q2 = (ulong)(n2 / mb);
        bool sticky = (n2 - (UInt128)q2 * mb) != 0;
        int exp = ea - eb + Bias - 1;
        UInt128 q;
        if ((q1 >> 64) != 0)
        {
            q = (q1 << 63) | (q2 >> 1);
            if ((q2 & 1) != 0) sticky = true;
            exp++;
        }
        else q = (q1 << 64) | q2;
        if (sticky) q |= 1;
        return RoundPack(ref c, s, exp, q, c.PrecisionBits);
    }

    public static Float80 Sqrt(ref X87Context c, Float80 a)
    {
        c.C1 = false;
        if (Special1(ref c, a, out var r)) return r;
        if (a.IsZero) return a;
        if (a.Sign) return Invalid(ref c);
        Den(ref c, a);
        if (a.IsInf) return a;
        Norm(a, out int ea, out ulong ma);
        int k = ea - Bias - 63;
        UInt128 n = ma;
        if ((k & 1) != 0) { n <<= 1; k--; }
        // Digit-by-digit root of n·2^96 (81 root bits), remainder gives the sticky bit.
        UInt128 root = 0, rem = 0;
        for (int p = 160; p >= 0; p -= 2)
        {
            uint pair = p >= 96 ? (uint)(n >> (p - 96)) & 3 : 0;
            rem = (rem << 2) | pair;
            UInt128 trial = (root << 2) | 1;
            root <<= 1;
            if (rem >= trial) { rem -= trial; root |= 1; }
        }
        if (rem != 0) root = (root << 1) | 1; else root <<= 1;
        return RoundPack(ref c, false, k / 2 - 49 + Bias + 127, root, c.PrecisionBits);
    }

    // ---------------- comparison / classification ----------------

    /// <summary>FCOM (quiet=false: any NaN is invalid) / FUCOM (quiet=true: only SNaN is invalid).</summary>
    public static X87Compare Compare(ref X87Context c, Float80 a, Float80 b, bool quiet)
    {
        if (a.IsUnsupported || b.IsUnsupported) { c.Flags |= IE; return X87Compare.Unordered; }
        if (a.IsNaN || b.IsNaN)
        {
            if (!quiet || a.IsSNaN || b.IsSNaN) c.Flags |= IE;
            return X87Compare.Unordered;
        }
        Den(ref c, a, b);
        if (a.IsZero && b.IsZero) return X87Compare.Equal;
        if (a.Sign != b.Sign) return a.Sign ? X87Compare.Less : X87Compare.Greater;
        int m = CompareMagnitude(a, b);
        if (m == 0) return X87Compare.Equal;
        return (m < 0) ^ a.Sign ? X87Compare.Less : X87Compare.Greater;
    }

    /// <summary>|a| vs |b| for finite or infinite supported values.</summary>
    internal static int CompareMagnitude(Float80 a, Float80 b)
    {
        if (a.IsZero) return b.IsZero ? 0 : -1;
        if (b.IsZero) return 1;
        Norm(a, out int ea, out ulong ma);
        Norm(b, out int eb, out ulong mb);
        if (ea != eb) return ea < eb ? -1 : 1;
        return ma.CompareTo(mb);
    }

    /// <summary>FXAM class in C3,C2,C0 bit order (C3=4, C2=2, C0=1); C1 (sign) is the caller's.</summary>
    public static int Examine(Float80 a)
    {
        int e = a.Exp;
        bool ib = (a.Signif & Float80.IntBit) != 0;
        if (e == 0x7FFF)
        {
            if (!ib) return 0;                       // unsupported
            return (a.Signif << 1) == 0 ? 0b011 : 0b001; // infinity : NaN
        }
        if (e == 0) return a.Signif == 0 ? 0b100 : 0b110; // zero : denormal
        return ib ? 0b010 : 0b000;                   // normal : unnormal
    }

    // ---------------- integral rounding, remainder, scale, extract ----------------

    /// <summary>FRNDINT: round to an integral value under RC.</summary>
    public static Float80 RoundToInt(ref X87Context c, Float80 a)
    {
        c.C1 = false;
        if (Special1(ref c, a, out var r)) return r;
        Den(ref c, a);
        if (a.IsZero || a.IsInf) return a;
        Norm(a, out int ea, out ulong ma);
        int e = ea - Bias;
        if (e >= 63) return a;
        bool s = a.Sign;
        UInt128 v = RoundIntMag(ref c, s, ea, ma, false);
        if (v == 0) return Float80.SignedZero(s);
        int lz = (int)UInt128.LeadingZeroCount(v);
        ulong sig = (ulong)((v << lz) >> 64);
        return new Float80((ushort)((s ? 0x8000 : 0) | (Bias + 127 - lz)), sig);
    }

    /// <summary>Integer magnitude of a finite non-zero value rounded per RC (or truncated); sets PE and C1.</summary>
    internal static UInt128 RoundIntMag(ref X87Context c, bool s, int ea, ulong ma, bool truncate)
    {
        int e = ea - Bias;
        if (e >= 63) return e >= 127 ? UInt128.MaxValue : (UInt128)ma << (e - 63);
        int fb = 63 - e; // fraction bits
        UInt128 m = ma;
        UInt128 ip, rem, half, unit;
        if (fb >= 66) { ip = 0; rem = 1; unit = UInt128.One << 66; half = unit >> 1; }
        else { unit = UInt128.One << fb; ip = m >> fb; rem = m & (unit - 1); half = unit >> 1; }
        if (rem == 0) return ip;
        c.Flags |= PE;
        int rc = truncate ? 3 : c.Rounding;
        bool inc = rc switch
        {
            0 => rem > half || (rem == half && (ip & 1) != 0),
            1 => s,
            2 => !s,
            _ => false,
        };
        if (inc) { ip++; c.C1 = true; }
        return ip;
    }

    /// <summary>
    /// FPREM (ieee=false, truncated quotient) / FPREM1 (ieee=true, nearest quotient). quotient gets Q2..Q0,
    /// incomplete is C2: with exponent difference ≥ 64 only a partial reduction by 32 + (D mod 32) bits is done,
    /// the AMD-documented choice Intel parts follow, and C0/C1/C3 are cleared.
    /// </summary>
    public static Float80 Remainder(ref X87Context c, Float80 a, Float80 b, bool ieee, out int quotient, out bool incomplete)
    {
        quotient = 0; incomplete = false; c.C1 = false;
        if (Special2(ref c, a, b, out var r)) return r;
        if (a.IsInf || b.IsZero) return Invalid(ref c);
        Den(ref c, a, b);
        if (a.IsZero) return a;
        // x rem ∞ = x, pseudo-denormals come back in canonical form (measured)
        if (b.IsInf) return a.Exp == 0 && (a.Signif & Float80.IntBit) != 0 ? new Float80((ushort)(a.SignExp | 1), a.Signif) : a;
        Norm(a, out int ea, out ulong ma);
        Norm(b, out int eb, out ulong mb);
        bool s = a.Sign;
        int d = ea - eb;
        if (d >= 64)
        {
            incomplete = true;
            int n = 32 + d % 32;
            UInt128 A = (UInt128)ma << n;
            UInt128 rr = A % mb;
            // value = rr·2^(ea−n−Bias−63)
            return RoundPack(ref c, s, ea - n + 64, rr, 64);
        }
        if (d < -1 || (d == -1 && !ieee)) return RoundPack(ref c, s, ea, (UInt128)ma << 64, 64);
        {
            UInt128 A = (UInt128)ma << (d + 1), B = (UInt128)mb << 1;
            UInt128 q = A / B, rr = A - q * B;
            if (ieee && (rr > (B >> 1) || (rr == (B >> 1) && (q & 1) != 0)))
            {
                q++; rr = B - rr; s = !s;
            }
            quotient = (int)(q & 7);
            if (rr == 0) return Float80.SignedZero(a.Sign);
            // value = rr·2^(eb−Bias−64)
            return RoundPack(ref c, s, eb + 63, rr, 64);
        }
    }

    /// <summary>FSCALE: ST0·2^trunc(ST1).</summary>
    public static Float80 Scale(ref X87Context c, Float80 a, Float80 b)
    {
        c.C1 = false;
        if (Special2(ref c, a, b, out var r)) return r;
        if (b.IsInf && (b.Sign ? a.IsInf : a.IsZero)) return Invalid(ref c);
        Den(ref c, a, b);
        if (b.IsInf) return b.Sign ? Float80.SignedZero(a.Sign) : Float80.SignedInf(a.Sign);
        if (a.IsInf || a.IsZero) return a;
        int n;
        if (b.IsZero) n = 0;
        else
        {
            Norm(b, out int eb, out ulong mb);
            int e = eb - Bias;
            if (e < 0) n = 0;
            else if (e >= 30) n = b.Sign ? -(1 << 30) : (1 << 30);
            else { n = (int)(mb >> (63 - e)); if (b.Sign) n = -n; }
        }
        Norm(a, out int ea, out ulong ma);
        return RoundPack(ref c, a.Sign, ea + n, (UInt128)ma << 64, 64);
    }

    /// <summary>FXTRACT: returns the significand (exponent forced to 0) and the unbiased exponent as a value.</summary>
    public static void Extract(ref X87Context c, Float80 a, out Float80 significand, out Float80 exponent)
    {
        c.C1 = false;
        if (Special1(ref c, a, out var r)) { significand = exponent = r; return; }
        if (a.IsZero)
        {
            c.Flags |= ZE;
            exponent = Float80.NegInfinity; significand = a; return;
        }
        if (a.IsInf) { exponent = Float80.Infinity; significand = a; return; }
        Den(ref c, a);
        Norm(a, out int ea, out ulong ma);
        significand = new Float80((ushort)((a.Sign ? 0x8000 : 0) | Bias), ma);
        exponent = FromInt64(ea - Bias);
    }
}
