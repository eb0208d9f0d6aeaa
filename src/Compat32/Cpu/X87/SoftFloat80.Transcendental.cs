using System;
namespace Compat32.Cpu.X87;

public static partial class SoftFloat80
{
    // 128-bit significands (bit 127 set) of constants; value = M·2^(e−127).
    static Big PiOver2 => Big.Const(0xC90FDAA22168C234UL, 0xC4C6628B80DC1CD1UL, 0);
    static Big PiOver4 => Big.Const(0xC90FDAA22168C234UL, 0xC4C6628B80DC1CD1UL, -1);
    static Big PiB => Big.Const(0xC90FDAA22168C234UL, 0xC4C6628B80DC1CD1UL, 1);
    static Big Ln2B => Big.Const(0xB17217F7D1CF79ABUL, 0xC9E3B39803F2F6AFUL, -1);
    static Big Log2EB => Big.Const(0xB8AA3B295C17F0BBUL, 0xBE87FED0691D3E88UL, 0);
    static Big OneB => Big.Const(0x8000000000000000UL, 0, 0);
    static Big TwoB => Big.Const(0x8000000000000000UL, 0, 1);

    // 2/π to 448 bits, most significant word first (Payne–Hanek reduction).
    static ReadOnlySpan<ulong> TwoOverPi =>
    [
        0xa2f9836e4e441529UL, 0xfc2757d1f534ddc0UL, 0xdb6295993c439041UL, 0xfe5163abdebbc561UL,
        0xb7246e3a424dd2e0UL, 0x06492eea09d1921cUL, 0xfe1deb1cb129a73eUL,
    ];

    const int SeriesBits = 132;

    /// <summary>
    /// Reduces |x| (finite, below 2^63) to r in [−π/4, π/4] and the quadrant q with |x| = qπ/2 + r, using
    /// 448 bits of 2/π so the remainder keeps full precision even next to multiples of π/2.
    /// </summary>
    static Big ReduceQuadrant(Float80 x, out int q)
    {
        Norm(x, out int ex, out ulong mx);
        int e = ex - Bias;
        var ax = Big.FromFloat80(x.Abs());
        if (e < -1 || Big.Sub(ax, PiOver4).S) { q = 0; return ax; }
        // P = mx · T (512 bits, little-endian words); |x|·2/π = P·2^(e−63−448).
        Span<ulong> p = stackalloc ulong[8];
        ReadOnlySpan<ulong> t = TwoOverPi;
        ulong carry = 0;
        for (int i = 0; i < 7; i++)
        {
            UInt128 prod = (UInt128)mx * t[6 - i] + carry;
            p[i] = (ulong)prod; carry = (ulong)(prod >> 64);
        }
        p[7] = carry;
        int ip = 511 - e; // bit index of the units bit of the product
        q = (int)(GetBit(p, ip) | GetBit(p, ip + 1) << 1);
        UInt128 fh = Bits128(p, ip - 1), fl = Bits128(p, ip - 129);
        bool neg = false;
        if ((fh >> 127) != 0)
        {
            // fraction ≥ 1/2: use f − 1 and the next quadrant.
            fl = ~fl + 1;
            fh = ~fh + (fl == 0 ? UInt128.One : UInt128.Zero);
            neg = true; q = (q + 1) & 3;
        }
        int lz = fh == 0 ? 128 + (int)UInt128.LeadingZeroCount(fl) : (int)UInt128.LeadingZeroCount(fh);
        UInt128 m;
        if (lz == 0) m = fh;
        else if (lz < 128) m = (fh << lz) | (fl >> (128 - lz));
        else m = fl << (lz - 128);
        var f = new Big(neg, -1 - lz, m);
        return Big.Mul(f, PiOver2);
    }

    static ulong GetBit(ReadOnlySpan<ulong> p, int bit) => bit < 0 || bit >= 512 ? 0 : (p[bit >> 6] >> (bit & 63)) & 1;

    /// <summary>128 bits of p whose most significant bit is bit 'top'.</summary>
    static UInt128 Bits128(ReadOnlySpan<ulong> p, int top)
    {
        UInt128 r = 0;
        for (int i = 0; i < 128; i += 64)
        {
            int lo = top - i - 63; // lowest bit of this 64-bit chunk
            ulong w = 0;
            for (int k = 0; k < 64; k++)
            {
                int b = lo + k;
                if (b >= 0 && b < 512) w |= ((p[b >> 6] >> (b & 63)) & 1) << k;
            }
            r = (r << 64) | w;
        }
        return r;
    }

    static Big SinSeries(Big r)
    {
        if (r.IsZero) return r;
        Big r2 = Big.Mul(r, r), term = r, sum = r;
        for (uint k = 1; k < 60; k++)
        {
            term = Big.DivSmall(Big.Mul(term, r2), (2 * k) * (2 * k + 1)).Neg();
            sum = Big.Add(sum, term);
            if (term.IsZero || term.E < sum.E - SeriesBits) break;
        }
        return sum;
    }

    static Big CosSeries(Big r)
    {
        Big one = OneB;
        if (r.IsZero) return one;
        Big r2 = Big.Mul(r, r), term = one, sum = one;
        for (uint k = 1; k < 60; k++)
        {
            term = Big.DivSmall(Big.Mul(term, r2), (2 * k - 1) * (2 * k)).Neg();
            sum = Big.Add(sum, term);
            if (term.IsZero || term.E < sum.E - SeriesBits) break;
        }
        return sum;
    }

    /// <summary>Common prologue of FSIN/FCOS/FSINCOS/FPTAN. Returns 0 = compute, 1 = result set, 2 = out of range (C2).</summary>
    static int TrigPrologue(ref X87Context c, Float80 a, out Float80 r)
    {
        c.C1 = false;
        if (Special1(ref c, a, out r)) return 1;
        if (a.IsInf) { r = Invalid(ref c); return 1; }
        Den(ref c, a);
        if (a.IsZero) { r = a; return 1; }
        if (a.Exp - Bias >= 63) { r = a; return 2; }
        return 0;
    }

    static void SinCosBig(Float80 a, out Big sin, out Big cos)
    {
        Big r = ReduceQuadrant(a, out int q);
        Big s = SinSeries(r), co = CosSeries(r);
        switch (q)
        {
            case 0: sin = s; cos = co; break;
            case 1: sin = co; cos = s.Neg(); break;
            case 2: sin = s.Neg(); cos = co.Neg(); break;
            default: sin = co.Neg(); cos = s; break;
        }
        if (a.Sign) sin = sin.Neg();
    }

    /// <summary>FSIN. false: |x| ≥ 2^63, operand left unchanged and C2 must be set.</summary>
    public static bool Sin(ref X87Context c, Float80 a, out Float80 r)
    {
        int k = TrigPrologue(ref c, a, out r);
        if (k != 0) return k == 1;
        SinCosBig(a, out var s, out _);
        r = s.ToFloat80(ref c);
        return true;
    }

    /// <summary>FCOS.</summary>
    public static bool Cos(ref X87Context c, Float80 a, out Float80 r)
    {
        int k = TrigPrologue(ref c, a, out r);
        if (k == 1 && a.IsZero) { r = Float80.One; return true; }
        if (k != 0) return k == 1;
        SinCosBig(a, out _, out var co);
        r = co.ToFloat80(ref c);
        return true;
    }

    /// <summary>FSINCOS; the caller leaves sin in ST1 and cos in ST0. C1 reflects the cosine rounding.</summary>
    public static bool SinCos(ref X87Context c, Float80 a, out Float80 sin, out Float80 cos)
    {
        int k = TrigPrologue(ref c, a, out sin);
        cos = sin;
        if (k == 1 && a.IsZero) cos = Float80.One;
        if (k != 0) return k == 1;
        SinCosBig(a, out var s, out var co);
        sin = s.ToFloat80(ref c);
        cos = co.ToFloat80(ref c);
        return true;
    }

    /// <summary>FPTAN (the caller pushes +1.0 afterwards).</summary>
    public static bool Tan(ref X87Context c, Float80 a, out Float80 r)
    {
        int k = TrigPrologue(ref c, a, out r);
        if (k != 0) return k == 1;
        SinCosBig(a, out var s, out var co);
        r = Big.Div(s, co).ToFloat80(ref c);
        return true;
    }

    static Big AtanSeries(Big u)
    {
        if (u.IsZero) return u;
        Big u2 = Big.Mul(u, u), pw = u, sum = u;
        for (uint k = 1; k < 200; k++)
        {
            pw = Big.Mul(pw, u2).Neg();
            Big term = Big.DivSmall(pw, 2 * k + 1);
            sum = Big.Add(sum, term);
            if (term.IsZero || term.E < sum.E - SeriesBits) break;
        }
        return sum;
    }

    /// <summary>atan(t) for 0 ≤ t ≤ 1.</summary>
    static Big AtanUnit(Big t)
    {
        // tan(π/8) ≈ 0.41421356: above it use atan t = π/4 + atan((t−1)/(t+1)).
        if (!t.IsZero && t.E >= -2 && Big.Sub(t, Big.Const(0xD413CCCFE7799211UL, 0, -2)).S == false)
        {
            Big u = Big.Div(Big.Sub(t, OneB), Big.Add(t, OneB));
            return Big.Add(PiOver4, AtanSeries(u));
        }
        return AtanSeries(t);
    }

    /// <summary>FPATAN: arctan(ST1/ST0) with the quadrant of (ST0, ST1), like atan2(y, x).</summary>
    public static Float80 Atan2(ref X87Context c, Float80 y, Float80 x)
    {
        c.C1 = false;
        if (Special2(ref c, y, x, out var r)) return r;
        Den(ref c, y, x);
        bool sy = y.Sign, xneg = x.Sign;
        Big res;
        if (y.IsZero)
        {
            if (!xneg) return y;
            res = PiB;
        }
        else if (x.IsZero) res = PiOver2;
        else if (y.IsInf)
        {
            if (x.IsInf) res = xneg ? Big.Add(PiOver2, PiOver4) : PiOver4;
            else res = PiOver2;
        }
        else if (x.IsInf)
        {
            if (!xneg) return Float80.SignedZero(sy);
            res = PiB;
        }
        else
        {
            Big by = Big.FromFloat80(y).AbsV(), bx = Big.FromFloat80(x).AbsV();
            bool swap = CompareMagnitude(y, x) > 0;
            Big t = swap ? Big.Div(bx, by) : Big.Div(by, bx);
            res = AtanUnit(t);
            if (swap) res = Big.Sub(PiOver2, res);
            if (xneg) res = Big.Sub(PiB, res);
        }
        if (sy) res = res.Neg();
        return res.ToFloat80(ref c);
    }

    /// <summary>ln(m) for m in [√½, √2] via 2·atanh((m−1)/(m+1)).</summary>
    static Big LnNear1(Big m)
    {
        Big s = Big.Div(Big.Sub(m, OneB), Big.Add(m, OneB));
        return LnFromS(s);
    }

    static Big LnFromS(Big s)
    {
        if (s.IsZero) return s;
        Big s2 = Big.Mul(s, s), pw = s, sum = s;
        for (uint k = 1; k < 200; k++)
        {
            pw = Big.Mul(pw, s2);
            Big term = Big.DivSmall(pw, 2 * k + 1);
            sum = Big.Add(sum, term);
            if (term.IsZero || term.E < sum.E - SeriesBits) break;
        }
        sum.E++; // ×2
        return sum;
    }

    /// <summary>FYL2X: ST1·log2(ST0).</summary>
    public static Float80 Yl2x(ref X87Context c, Float80 y, Float80 x)
    {
        c.C1 = false;
        if (Special2(ref c, y, x, out var r)) return r;
        if (x.Sign && !x.IsZero) return Invalid(ref c);
        if (x.IsZero)
        {
            if (y.IsZero) return Invalid(ref c);
            if (!y.IsInf) c.Flags |= ZE;
            return Float80.SignedInf(!y.Sign);
        }
        if (x.IsInf)
        {
            if (y.IsZero) return Invalid(ref c);
            Den(ref c, y);
            return Float80.SignedInf(y.Sign);
        }
        int cmp1 = CompareMagnitude(x, Float80.One);
        if (cmp1 == 0)
        {
            if (y.IsInf) return Invalid(ref c);
            Den(ref c, y);
            return Float80.SignedZero(y.Sign);
        }
        Den(ref c, y, x);
        if (y.IsInf) return Float80.SignedInf(y.Sign ^ (cmp1 < 0));
        if (y.IsZero) return Float80.SignedZero(y.Sign ^ (cmp1 < 0));
        Norm(x, out int ex, out ulong mx);
        int e = ex - Bias;
        if (mx == Float80.IntBit)
        {
            // Exact power of two: log2 is the integer e, the product rounds once.
            var cc = new X87Context(c.Rounding, 3);
            var prod = Mul(ref cc, y, FromInt64(e));
            c.Flags |= cc.Flags & ~DE; c.C1 = cc.C1;
            return prod;
        }
        var m = new Big(false, 0, (UInt128)mx << 64);
        if (mx > 0xB504F333F9DE6484UL) { m.E--; e++; } // m > √2: use m/2
        Big l2 = Big.Add(Big.FromInt(e), Big.Mul(LnNear1(m), Log2EB));
        return Big.Mul(Big.FromFloat80(y), l2).ToFloat80(ref c);
    }

    /// <summary>FYL2XP1: ST1·log2(ST0 + 1), defined for |ST0| &lt; 1 − √2/2.</summary>
    public static Float80 Yl2xp1(ref X87Context c, Float80 y, Float80 x)
    {
        c.C1 = false;
        if (Special2(ref c, y, x, out var r)) return r;
        if (x.IsZero)
        {
            if (y.IsInf) return Invalid(ref c);
            Den(ref c, y);
            return Float80.SignedZero(y.Sign ^ x.Sign);
        }
        if (x.IsInf)
        {
            // outside the documented domain; this is what the hardware does
            if (x.Sign || y.IsZero) return Invalid(ref c);
            Den(ref c, y);
            return Float80.SignedInf(y.Sign);
        }
        Den(ref c, y, x);
        if (y.IsZero) return Float80.SignedZero(y.Sign ^ x.Sign);
        if (y.IsInf) return Float80.SignedInf(y.Sign ^ x.Sign);
        Big bx = Big.FromFloat80(x);
        Big onePlus = Big.Add(bx, OneB);
        if (onePlus.IsZero || onePlus.S) return Invalid(ref c);
        Big s = Big.Div(bx, Big.Add(bx, TwoB));
        Big l2 = Big.Mul(LnFromS(s), Log2EB);
        return Big.Mul(Big.FromFloat80(y), l2).ToFloat80(ref c);
    }

    /// <summary>F2XM1: 2^x − 1 for −1 ≤ x ≤ 1.</summary>
    public static Float80 Exp2m1(ref X87Context c, Float80 a)
    {
        c.C1 = false;
        if (Special1(ref c, a, out var r)) return r;
        Den(ref c, a);
        if (a.IsZero) return a;
        if (a.IsInf) return a.Sign ? new Float80(0xBFFF, Float80.IntBit) : a;
        if (a.Exp == Bias && a.Signif == Float80.IntBit) return a.Sign ? new Float80(0xBFFE, Float80.IntBit) : Float80.One;
        Big t = Big.Mul(Big.FromFloat80(a), Ln2B);
        Big term = t, sum = t;
        for (uint k = 2; k < 80; k++)
        {
            term = Big.DivSmall(Big.Mul(term, t), k);
            sum = Big.Add(sum, term);
            if (term.IsZero || term.E < sum.E - SeriesBits) break;
        }
        return sum.ToFloat80(ref c);
    }
}
