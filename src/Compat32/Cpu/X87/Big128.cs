using System;
using System.Numerics;

namespace Compat32.Cpu.X87;

/// <summary>
/// Internal 128-bit-significand float used for transcendental evaluation: value = ±M·2^(E−127), M normalized
/// (bit 127 set) or zero, unbounded int exponent. Operations truncate; ~2^-125 relative error each.
/// </summary>
internal struct Big
{
    public UInt128 M;
    public int E;
    public bool S;

    public Big(bool s, int e, UInt128 m) { S = s; E = e; M = m; Normalize(); }

    public readonly bool IsZero => M == 0;

    void Normalize()
    {
        if (M == 0) { E = 0; return; }
        int lz = (int)UInt128.LeadingZeroCount(M);
        M <<= lz; E -= lz;
    }

    public static Big FromFloat80(Float80 a)
    {
        if (a.IsZero) return default;
        SoftFloat80.Norm(a, out int e, out ulong m);
        return new Big(a.Sign, e - SoftFloat80.Bias, (UInt128)m << 64);
    }

    public static Big FromInt(long v) => new(v < 0, 127, (UInt128)(v < 0 ? (ulong)-v : (ulong)v));

    /// <summary>Constant from its 128-bit normalized significand and unbiased exponent.</summary>
    public static Big Const(ulong hi, ulong lo, int e) => new(false, e, new UInt128(hi, lo));

    public readonly Big Neg() { var r = this; r.S = !r.S; return r; }
    public readonly Big AbsV() { var r = this; r.S = false; return r; }

    public static Big Mul(Big a, Big b)
    {
        if (a.M == 0 || b.M == 0) return default;
        ulong ah = (ulong)(a.M >> 64), al = (ulong)a.M, bh = (ulong)(b.M >> 64), bl = (ulong)b.M;
        UInt128 hh = (UInt128)ah * bh, hl = (UInt128)ah * bl, lh = (UInt128)al * bh, ll = (UInt128)al * bl;
        UInt128 mid = (hl & ulong.MaxValue) + (lh & ulong.MaxValue) + (ll >> 64);
        UInt128 hi = hh + (hl >> 64) + (lh >> 64) + (mid >> 64);
        ulong lo = (ulong)mid;
        int e = a.E + b.E + 1;
        if ((hi >> 127) == 0) { hi = (hi << 1) | (lo >> 63); e--; }
        return new Big { S = a.S ^ b.S, E = e, M = hi };
    }

    public static Big Add(Big a, Big b)
    {
        if (a.M == 0) return b;
        if (b.M == 0) return a;
        if (a.E < b.E || (a.E == b.E && a.M < b.M)) (a, b) = (b, a);
        int d = a.E - b.E;
        UInt128 bm = d >= 128 ? 0 : b.M >> d;
        if (a.S == b.S)
        {
            UInt128 s = a.M + bm;
            if (s < a.M) return new Big { S = a.S, E = a.E + 1, M = (s >> 1) | (UInt128.One << 127) };
            return new Big { S = a.S, E = a.E, M = s };
        }
        return new Big(a.S, a.E, a.M - bm);
    }

    public static Big Sub(Big a, Big b) => Add(a, b.Neg());

    public static Big Div(Big a, Big b)
    {
        if (a.M == 0) return default;
        // Restoring division; 'top' is the 129th remainder bit.
        UInt128 r = a.M, d = b.M, q = 0;
        bool top = false;
        for (int i = 0; i < 128; i++)
        {
            q <<= 1;
            if (top || r >= d) { r -= d; q |= 1; }
            top = (r >> 127) != 0;
            r <<= 1;
        }
        return new Big(a.S ^ b.S, a.E - b.E, q);
    }

    public static Big DivSmall(Big a, uint k)
    {
        if (a.M == 0) return default;
        UInt128 q = a.M / k, rem = a.M % k;
        ulong q2 = (ulong)((rem << 64) / k);
        int lz = (int)UInt128.LeadingZeroCount(q);
        UInt128 m = lz == 0 ? q : (q << lz) | (q2 >> (64 - lz));
        return new Big { S = a.S, E = a.E - lz, M = m };
    }

    /// <summary>Rounds to an 80-bit value with 64-bit precision; the sticky bit marks the value as inexact.</summary>
    public readonly Float80 ToFloat80(ref X87Context c)
    {
        if (M == 0) return Float80.SignedZero(S);
        return SoftFloat80.RoundPack(ref c, S, E + SoftFloat80.Bias, M | 1, 64);
    }
}
