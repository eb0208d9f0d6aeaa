using System.Numerics;
using System.Runtime.CompilerServices;

namespace Compat32.Cpu.Simd;

/// <summary>
/// IEEE binary32/binary64 arithmetic as SSE performs it (SDM vol. 1 ch. 4 and 11.5), in integers only so the
/// interpreter is the same on every host: MXCSR rounding control, DAZ (denormal sources read as zero, no #D),
/// FTZ (tiny results become zero with #U and #P when #U is masked), tininess detected after rounding, the first
/// source's NaN wins (quieted), invalid operations give the default QNaN (sign set). Values travel as raw bits
/// in a ulong (d: binary64, else binary32); exception flags are ORed into fl (MXCSR bit order).
/// </summary>
public static class SoftFp
{
    public const int IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32;
    public const uint DAZ = 1 << 6, FTZ = 1 << 15;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] static int Fb(bool d) => d ? 52 : 23;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] static int Emax(bool d) => d ? 0x7FF : 0xFF;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] static int Bias(bool d) => d ? 1023 : 127;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static ulong SignBit(bool d) => d ? 1UL << 63 : 1UL << 31;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] static ulong FracMask(bool d) => d ? (1UL << 52) - 1 : (1UL << 23) - 1;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] static int ExpOf(ulong x, bool d) => (int)(x >> Fb(d)) & Emax(d);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Sign(ulong x, bool d) => (x & SignBit(d)) != 0;

    public static bool IsNaN(ulong x, bool d) => ExpOf(x, d) == Emax(d) && (x & FracMask(d)) != 0;
    public static bool IsSNaN(ulong x, bool d) => IsNaN(x, d) && (x & QuietBit(d)) == 0;
    public static bool IsInf(ulong x, bool d) => ExpOf(x, d) == Emax(d) && (x & FracMask(d)) == 0;
    public static bool IsZero(ulong x, bool d) => (x & ~SignBit(d) & Mask(d)) == 0;
    public static bool IsDenormal(ulong x, bool d) => ExpOf(x, d) == 0 && (x & FracMask(d)) != 0;
    static ulong QuietBit(bool d) => d ? 1UL << 51 : 1UL << 22;
    static ulong Mask(bool d) => d ? ulong.MaxValue : 0xFFFFFFFFUL;
    public static ulong DefaultNaN(bool d) => d ? 0xFFF8000000000000UL : 0xFFC00000UL;
    static ulong Inf(bool s, bool d) => (s ? SignBit(d) : 0) | ((ulong)Emax(d) << Fb(d));
    static ulong Zero(bool s, bool d) => s ? SignBit(d) : 0;
    static ulong MaxFinite(bool s, bool d) => (s ? SignBit(d) : 0) | (((ulong)Emax(d) - 1) << Fb(d)) | FracMask(d);

    static int Rc(uint mx) => (int)(mx >> 13) & 3; // 0 nearest, 1 down, 2 up, 3 toward zero

    /// <summary>A source operand as the arithmetic sees it: a denormal is zero under DAZ, else it raises #D.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Src(ulong x, bool d, uint mx, ref int fl)
    {
        if (ExpOf(x, d) == 0 && (x & FracMask(d)) != 0)
        {
            if ((mx & DAZ) != 0) return x & SignBit(d);
            fl |= DE;
        }
        return x;
    }

    /// <summary>DAZ without #D (operations whose exception list has no Denormal: conversions to integer, ROUNDxx).</summary>
    static ulong SrcNoDe(ulong x, bool d, uint mx)
    {
        if ((mx & DAZ) != 0 && ExpOf(x, d) == 0) return x & SignBit(d);
        return x;
    }

    /// <summary>Two-source NaN rule (SDM table 11-1... 4-7): SNaN raises #I; the first source's NaN, quieted,
    /// else the second's.</summary>
    static bool NaN2(ulong a, ulong b, bool d, ref int fl, out ulong r)
    {
        bool na = IsNaN(a, d), nb = IsNaN(b, d);
        if (!na && !nb) { r = 0; return false; }
        if (IsSNaN(a, d) || IsSNaN(b, d)) fl |= IE;
        r = (na ? a : b) | QuietBit(d);
        return true;
    }

    /// <summary>value = m · 2^e for a finite non-zero operand (m holds the implicit bit).</summary>
    static void Unpack(ulong x, bool d, out ulong m, out int e)
    {
        int ex = ExpOf(x, d);
        m = x & FracMask(d);
        if (ex == 0) e = 1 - Bias(d) - Fb(d);
        else { m |= 1UL << Fb(d); e = ex - Bias(d) - Fb(d); }
    }

    /// <summary>Rounds sig · 2^exp to the format under MXCSR; sets #P, #U, #O as SSE does.</summary>
    public static ulong Round(bool sign, UInt128 sig, int exp, bool d, uint mx, ref int fl)
    {
        if (sig == 0) return Zero(sign, d);
        int lz = (int)UInt128.LeadingZeroCount(sig);
        sig <<= lz; exp -= lz;
        int fb = Fb(d), prec = fb + 1;
        int be = exp + 127 + Bias(d); // biased exponent of the leading bit
        int rc = Rc(mx);
        bool tiny = be < 1;
        if (be == 0)
        {
            // Tininess after rounding: a value that rounds (at full precision) up to 2^emin is not tiny.
            UInt128 q0 = sig >> (128 - prec);
            UInt128 r0 = sig & ((UInt128.One << (128 - prec)) - 1);
            if (q0 == (UInt128.One << prec) - 1 && Increments(rc, sign, r0, 128 - prec, true)) tiny = false;
        }
        int shift = tiny ? 128 - prec + (1 - be) : 128 - prec;
        UInt128 q, rem;
        bool inc;
        if (shift >= 128)
        {
            q = 0; rem = sig;
            // below half an ulp (shift > 128) or exactly at/above half (shift == 128)
            inc = shift == 128 ? Increments(rc, sign, rem, 128, false) : (rc == 1 && sign) || (rc == 2 && !sign);
        }
        else
        {
            q = sig >> shift; rem = sig & ((UInt128.One << shift) - 1);
            inc = Increments(rc, sign, rem, shift, ((ulong)q & 1) != 0);
        }
        bool inexact = rem != 0;
        if (tiny && (mx & FTZ) != 0 && (mx & (UE << 7)) != 0)
        {
            fl |= UE | PE;
            return Zero(sign, d);
        }
        if (inc) q++;
        ulong bits;
        if (!tiny)
        {
            if ((q >> prec) != 0) { q >>= 1; be++; }
            if (be >= Emax(d))
            {
                fl |= OE | PE;
                bool toInf = rc == 0 || (rc == 1 && sign) || (rc == 2 && !sign);
                return toInf ? Inf(sign, d) : MaxFinite(sign, d);
            }
            bits = ((ulong)be << fb) | ((ulong)q & FracMask(d));
        }
        else bits = (ulong)q; // a carry into bit fb is the smallest normal
        if (inexact) fl |= PE;
        if (tiny && (inexact || (mx & (UE << 7)) == 0)) fl |= UE;
        return bits | Zero(sign, d);
    }

    static bool Increments(int rc, bool sign, UInt128 rem, int shift, bool odd)
    {
        if (rem == 0) return false;
        switch (rc)
        {
            case 0:
            {
                UInt128 half = UInt128.One << (shift - 1);
                return rem > half || (rem == half && odd);
            }
            case 1: return sign;
            case 2: return !sign;
            default: return false;
        }
    }

    // ---------------------------------------------------------------- arithmetic

    public static ulong Add(ulong a, ulong b, bool d, uint mx, ref int fl) => AddSub(a, b, false, d, mx, ref fl);
    public static ulong Sub(ulong a, ulong b, bool d, uint mx, ref int fl) => AddSub(a, b, true, d, mx, ref fl);

    static ulong AddSub(ulong a, ulong b, bool neg, bool d, uint mx, ref int fl)
    {
        if (NaN2(a, b, d, ref fl, out ulong n)) return n;
        a = Src(a, d, mx, ref fl); b = Src(b, d, mx, ref fl);
        bool sa = Sign(a, d), sb = Sign(b, d) ^ neg;
        bool ia = IsInf(a, d), ib = IsInf(b, d);
        if (ia || ib)
        {
            if (ia && ib && sa != sb) { fl |= IE; return DefaultNaN(d); }
            return ia ? Inf(sa, d) : Inf(sb, d);
        }
        bool za = IsZero(a, d), zb = IsZero(b, d);
        if (za && zb) return Zero(sa == sb ? sa : Rc(mx) == 1, d);
        if (za) { Unpack(b, d, out ulong mb0, out int eb0); return Round(sb, mb0, eb0, d, mx, ref fl); }
        if (zb) { Unpack(a, d, out ulong ma0, out int ea0); return Round(sa, ma0, ea0, d, mx, ref fl); }
        Unpack(a, d, out ulong ma, out int ea);
        Unpack(b, d, out ulong mb, out int eb);
        UInt128 xa = (UInt128)ma << 64, xb = (UInt128)mb << 64;
        int e = Math.Max(ea, eb);
        xa = ShrJam(xa, e - ea); xb = ShrJam(xb, e - eb);
        UInt128 r; bool s;
        if (sa == sb) { r = xa + xb; s = sa; }
        else if (xa >= xb) { r = xa - xb; s = sa; }
        else { r = xb - xa; s = sb; }
        if (r == 0) return Zero(Rc(mx) == 1, d);
        return Round(s, r, e - 64, d, mx, ref fl);
    }

    static UInt128 ShrJam(UInt128 x, int n)
    {
        if (n <= 0) return x;
        if (n >= 127) return x != 0 ? UInt128.One : UInt128.Zero;
        UInt128 r = x >> n;
        if ((x << (128 - n)) != 0) r |= 1;
        return r;
    }

    public static ulong Mul(ulong a, ulong b, bool d, uint mx, ref int fl)
    {
        if (NaN2(a, b, d, ref fl, out ulong n)) return n;
        a = Src(a, d, mx, ref fl); b = Src(b, d, mx, ref fl);
        bool s = Sign(a, d) ^ Sign(b, d);
        bool ia = IsInf(a, d), ib = IsInf(b, d), za = IsZero(a, d), zb = IsZero(b, d);
        if (ia || ib)
        {
            if (za || zb) { fl |= IE; return DefaultNaN(d); }
            return Inf(s, d);
        }
        if (za || zb) return Zero(s, d);
        Unpack(a, d, out ulong ma, out int ea);
        Unpack(b, d, out ulong mb, out int eb);
        return Round(s, (UInt128)ma * mb, ea + eb, d, mx, ref fl);
    }

    public static ulong Div(ulong a, ulong b, bool d, uint mx, ref int fl)
    {
        if (NaN2(a, b, d, ref fl, out ulong n)) return n;
        bool s = Sign(a, d) ^ Sign(b, d);
        // A zero divisor is found before a denormal dividend is reported (measured: x/0 with x denormal is #Z only).
        if (IsZero(SrcNoDe(b, d, mx), d) && !IsZero(SrcNoDe(a, d, mx), d) && !IsInf(a, d)) { fl |= ZE; return Inf(s, d); }
        a = Src(a, d, mx, ref fl); b = Src(b, d, mx, ref fl);
        bool ia = IsInf(a, d), ib = IsInf(b, d), za = IsZero(a, d), zb = IsZero(b, d);
        if (ia) { if (ib) { fl |= IE; return DefaultNaN(d); } return Inf(s, d); }
        if (ib) return Zero(s, d);
        if (zb) { if (za) { fl |= IE; return DefaultNaN(d); } fl |= ZE; return Inf(s, d); }
        if (za) return Zero(s, d);
        Unpack(a, d, out ulong ma, out int ea);
        Unpack(b, d, out ulong mb, out int eb);
        int la = BitOperations.LeadingZeroCount(ma), lb = BitOperations.LeadingZeroCount(mb);
        ma <<= la; ea -= la; mb <<= lb; eb -= lb;
        UInt128 num = (UInt128)ma << 64;
        UInt128 q = num / mb;
        if (num - q * mb != 0) q |= 1; // q has >= 64 significant bits: the jam bit is below the rounding point
        return Round(s, q, ea - eb - 64, d, mx, ref fl);
    }

    public static ulong Sqrt(ulong a, bool d, uint mx, ref int fl)
    {
        if (IsNaN(a, d)) { if (IsSNaN(a, d)) fl |= IE; return a | QuietBit(d); }
        if (Sign(a, d) && !IsZero(SrcNoDe(a, d, mx), d)) { fl |= IE; return DefaultNaN(d); } // #I before #D
        a = Src(a, d, mx, ref fl);
        if (IsZero(a, d)) return a;
        if (IsInf(a, d)) return a;
        Unpack(a, d, out ulong m, out int e);
        UInt128 M = m;
        if ((e & 1) != 0) { M <<= 1; e--; }
        int lz = (int)UInt128.LeadingZeroCount(M);
        int k = (lz - 2) / 2; // M << 2k stays below 2^126
        M <<= 2 * k; e -= 2 * k;
        UInt128 r = ISqrt(M);
        if (r * r != M) r = (r << 1) | 1; else r <<= 1; // one more bit, jammed when inexact
        return Round(false, r, e / 2 - 1, d, mx, ref fl);
    }

    static UInt128 ISqrt(UInt128 x)
    {
        UInt128 res = 0, bit = UInt128.One << 126;
        while (bit > x) bit >>= 2;
        while (bit != 0)
        {
            if (x >= res + bit) { x -= res + bit; res = (res >> 1) + bit; }
            else res >>= 1;
            bit >>= 2;
        }
        return res;
    }

    // ---------------------------------------------------------------- comparisons

    /// <summary>-1, 0, 1 or 2 (unordered) of two post-DAZ operands.</summary>
    static int Cmp(ulong a, ulong b, bool d)
    {
        if (IsNaN(a, d) || IsNaN(b, d)) return 2;
        if (IsZero(a, d) && IsZero(b, d)) return 0;
        bool sa = Sign(a, d), sb = Sign(b, d);
        if (sa != sb) return sa ? -1 : 1;
        ulong ma = a & ~SignBit(d) & Mask(d), mb = b & ~SignBit(d) & Mask(d);
        if (ma == mb) return 0;
        return (ma < mb) ^ sa ? -1 : 1;
    }

    /// <summary>CMPPS/CMPSS predicate 0-7 (EQ LT LE UNORD NEQ NLT NLE ORD); LT/LE/NLT/NLE signal on any NaN.</summary>
    public static bool Compare(ulong a, ulong b, int pred, bool d, uint mx, ref int fl)
    {
        bool nan = IsNaN(a, d) || IsNaN(b, d);
        if (nan)
        {
            if (IsSNaN(a, d) || IsSNaN(b, d) || (pred & 3) is 1 or 2) fl |= IE;
        }
        else { a = Src(a, d, mx, ref fl); b = Src(b, d, mx, ref fl); }
        int c = Cmp(a, b, d);
        return (pred & 7) switch
        {
            0 => c == 0, 1 => c == -1, 2 => c is -1 or 0, 3 => c == 2,
            4 => c != 0, 5 => c is not -1, 6 => c is not (-1 or 0), _ => c != 2,
        };
    }

    /// <summary>COMISS/UCOMISS: ZF PF CF (SDM table 3-?); COMI signals #I on QNaN too. Returns the flag bits.</summary>
    public static uint Comi(ulong a, ulong b, bool d, bool signalQuiet, uint mx, ref int fl)
    {
        bool nan = IsNaN(a, d) || IsNaN(b, d);
        if (nan)
        {
            if (signalQuiet || IsSNaN(a, d) || IsSNaN(b, d)) fl |= IE;
            return Flags.ZF | Flags.PF | Flags.CF;
        }
        a = Src(a, d, mx, ref fl); b = Src(b, d, mx, ref fl);
        return Cmp(a, b, d) switch { 0 => Flags.ZF, -1 => Flags.CF, _ => 0u };
    }

    /// <summary>MINSS/MAXSS: dest &lt; src ? dest : src (MAX: &gt;); a NaN in either, or two zeros, return the
    /// second source as it is (SDM MINSS). Any NaN raises #I.</summary>
    public static ulong MinMax(ulong a, ulong b, bool max, bool d, uint mx, ref int fl)
    {
        if (IsNaN(a, d) || IsNaN(b, d)) { fl |= IE; return SrcNoDe(b, d, mx); } // measured: DAZ applies to the returned source
        ulong a1 = Src(a, d, mx, ref fl), b1 = Src(b, d, mx, ref fl);
        int c = Cmp(a1, b1, d);
        if (max ? c == 1 : c == -1) return a1;
        return b1;
    }

    // ---------------------------------------------------------------- conversions

    /// <summary>CVTSS2SD / CVTPS2PD: exact; SNaN → #I, NaN payload kept; denormals raise #D.</summary>
    public static ulong F32ToF64(uint x, uint mx, ref int fl)
    {
        if (IsNaN(x, false))
        {
            if (IsSNaN(x, false)) fl |= IE;
            return ((ulong)(x >> 31) << 63) | 0x7FF8000000000000UL | ((ulong)(x & 0x3FFFFF) << 29);
        }
        ulong v = Src(x, false, mx, ref fl);
        bool s = (v & 0x80000000) != 0;
        if (IsInf(v, false)) return Inf(s, true);
        if (IsZero(v, false)) return Zero(s, true);
        Unpack(v, false, out ulong m, out int e);
        int ign = 0;
        return Round(s, m, e, true, 0, ref ign);
    }

    /// <summary>CVTSD2SS / CVTPD2PS: rounds under MXCSR; NaN payload truncated.</summary>
    public static uint F64ToF32(ulong x, uint mx, ref int fl)
    {
        if (IsNaN(x, true))
        {
            if (IsSNaN(x, true)) fl |= IE;
            return (uint)((x >> 63) << 31) | 0x7FC00000u | (uint)((x >> 29) & 0x3FFFFF);
        }
        ulong v = Src(x, true, mx, ref fl);
        bool s = (long)v < 0;
        if (IsInf(v, true)) return (uint)Inf(s, false);
        if (IsZero(v, true)) return (uint)Zero(s, false);
        Unpack(v, true, out ulong m, out int e);
        return (uint)Round(s, m, e, false, mx, ref fl);
    }

    /// <summary>CVTSI2SS/SD, CVTDQ2PS/PD, CVTPI2PS/PD.</summary>
    public static ulong FromInt(long v, bool d, uint mx, ref int fl)
    {
        if (v == 0) return 0;
        bool s = v < 0;
        ulong m = s ? (ulong)(-v) : (ulong)v;
        return Round(s, m, 0, d, mx, ref fl);
    }

    /// <summary>CVT(T)SS2SI / CVT(T)PS2DQ ...: the integer indefinite (0x80000000) with #I on NaN or overflow;
    /// #P when inexact. Conversions to integer raise no #D (DAZ still applies).</summary>
    public static int ToInt32(ulong x, bool d, bool truncate, uint mx, ref int fl)
    {
        long r = ToInt(x, d, truncate ? 3 : Rc(mx), mx, 32, ref fl);
        return (int)r;
    }

    static long ToInt(ulong x, bool d, int rc, uint mx, int bits, ref int fl)
    {
        long indefinite = bits == 32 ? int.MinValue : long.MinValue;
        if (IsNaN(x, d) || IsInf(x, d)) { fl |= IE; return indefinite; }
        x = SrcNoDe(x, d, mx);
        if (IsZero(x, d)) return 0;
        bool s = Sign(x, d);
        Unpack(x, d, out ulong m, out int e);
        UInt128 q; bool inexact;
        if (e >= 0)
        {
            if (e > 64) { fl |= IE; return indefinite; }
            q = (UInt128)m << e; inexact = false;
        }
        else
        {
            int sh = -e;
            UInt128 mm = m;
            if (sh >= 120) { q = 0; inexact = true; bool inc0 = rc == 1 ? s : rc == 2 && !s; if (inc0) q = 1; goto done; }
            q = mm >> sh;
            UInt128 rem = mm & ((UInt128.One << sh) - 1);
            inexact = rem != 0;
            if (Increments(rc, s, rem, sh, ((ulong)q & 1) != 0)) q++;
        }
        done:
        UInt128 lim = UInt128.One << (bits - 1);
        if (s ? q > lim : q >= lim) { fl |= IE; return indefinite; }
        if (inexact) fl |= PE;
        long r = (long)(ulong)q;
        return s ? -r : r;
    }

    /// <summary>ROUNDSS/SD/PS/PD: imm bits 1:0 the mode unless bit 2 (MXCSR.RC); bit 3 suppresses #P. SNaN → #I.</summary>
    public static ulong RoundInt(ulong x, bool d, int imm, uint mx, ref int fl)
    {
        if (IsNaN(x, d)) { if (IsSNaN(x, d)) fl |= IE; return x | QuietBit(d); }
        int rc = (imm & 4) != 0 ? Rc(mx) : imm & 3;
        x = SrcNoDe(x, d, mx);
        if (IsInf(x, d) || IsZero(x, d)) return x;
        bool s = Sign(x, d);
        Unpack(x, d, out ulong m, out int e);
        if (e >= 0) return x;
        int sh = -e;
        ulong q; bool inexact;
        if (sh >= 64) { q = 0; inexact = true; if (rc == 1 ? s : rc == 2 && !s) q = 1; }
        else
        {
            q = m >> sh;
            ulong rem = m & ((1UL << sh) - 1);
            inexact = rem != 0;
            if (Increments(rc, s, rem, sh, (q & 1) != 0)) q++;
        }
        if (inexact && (imm & 8) == 0) fl |= PE;
        if (q == 0) return Zero(s, d);
        int ign = 0;
        return Round(s, q, 0, d, 0, ref ign);
    }
}
