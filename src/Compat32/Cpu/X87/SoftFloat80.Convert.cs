using System;
using System.Numerics;

namespace Compat32.Cpu.X87;

public static partial class SoftFloat80
{
    // ---------------- integers ----------------

    /// <summary>FILD: exact.</summary>
    public static Float80 FromInt64(long v)
    {
        if (v == 0) return Float80.Zero;
        bool s = v < 0;
        ulong m = s ? (ulong)-v : (ulong)v; // long.MinValue wraps to 2^63, which is right
        int lz = BitOperations.LeadingZeroCount(m);
        return new Float80((ushort)((s ? 0x8000 : 0) | (Bias + 63 - lz)), m << lz);
    }

    /// <summary>
    /// FIST/FISTP (truncate=false, RC rounding) or FISTTP (truncate=true) to a bits-wide integer.
    /// Out of range, NaN, infinity or unsupported give #IA and the integer indefinite (most negative value).
    /// </summary>
    public static long ToInt(ref X87Context c, Float80 a, int bits, bool truncate)
    {
        c.C1 = false;
        long indefinite = bits == 64 ? long.MinValue : -(1L << (bits - 1));
        if (a.IsUnsupported || a.IsNaN || a.IsInf) { c.Flags |= IE; return indefinite; }
        if (a.IsZero) return 0; // stores do not report #D (measured)
        Norm(a, out int ea, out ulong ma);
        var save = c;
        UInt128 m = RoundIntMag(ref c, a.Sign, ea, ma, truncate);
        UInt128 lim = (UInt128)1 << (bits - 1);
        if (a.Sign ? m > lim : m >= lim)
        {
            c = save; // invalid replaces the precision result (SDM 4.9.1.2)
            c.Flags |= IE;
            return indefinite;
        }
        long v = (long)(ulong)m;
        return a.Sign ? -v : v;
    }

    // ---------------- binary32 / binary64 ----------------

    /// <summary>FLD m32fp: exact; #IA for SNaN (quieted), #D for denormals.</summary>
    public static Float80 FromFloat32(ref X87Context c, uint v)
    {
        bool s = (v >> 31) != 0;
        int e = (int)(v >> 23) & 0xFF;
        ulong f = v & 0x7FFFFF;
        ushort sg = (ushort)(s ? 0x8000 : 0);
        if (e == 0xFF)
        {
            if (f == 0) return Float80.SignedInf(s);
            if ((f & 0x400000) == 0) c.Flags |= IE;
            return new Float80((ushort)(sg | 0x7FFF), Float80.IntBit | Float80.QuietBit | (f << 40));
        }
        if (e == 0)
        {
            if (f == 0) return Float80.SignedZero(s);
            c.Flags |= DE;
            int lz = BitOperations.LeadingZeroCount(f);
            return new Float80((ushort)(sg | (Bias - 126 - (lz - 40))), f << lz);
        }
        return new Float80((ushort)(sg | (e - 127 + Bias)), Float80.IntBit | (f << 40));
    }

    /// <summary>FLD m64fp: exact; #IA for SNaN (quieted), #D for denormals.</summary>
    public static Float80 FromFloat64(ref X87Context c, ulong v)
    {
        bool s = (v >> 63) != 0;
        int e = (int)(v >> 52) & 0x7FF;
        ulong f = v & 0xF_FFFF_FFFF_FFFFUL;
        ushort sg = (ushort)(s ? 0x8000 : 0);
        if (e == 0x7FF)
        {
            if (f == 0) return Float80.SignedInf(s);
            if ((f & 0x8_0000_0000_0000UL) == 0) c.Flags |= IE;
            return new Float80((ushort)(sg | 0x7FFF), Float80.IntBit | Float80.QuietBit | (f << 11));
        }
        if (e == 0)
        {
            if (f == 0) return Float80.SignedZero(s);
            c.Flags |= DE;
            int lz = BitOperations.LeadingZeroCount(f);
            return new Float80((ushort)(sg | (Bias - 1022 - (lz - 11))), f << lz);
        }
        return new Float80((ushort)(sg | (e - 1023 + Bias)), Float80.IntBit | (f << 11));
    }

    public static uint ToFloat32(ref X87Context c, Float80 a)
    {
        c.C1 = false;
        uint sg = a.Sign ? 0x8000_0000u : 0;
        if (a.IsUnsupported) { c.Flags |= IE; return 0xFFC0_0000u; }
        if (a.IsNaN)
        {
            if (a.IsSNaN) c.Flags |= IE;
            return sg | 0x7FC0_0000u | (uint)((a.Signif << 1) >> 41);
        }
        if (a.IsInf) return sg | 0x7F80_0000u;
        if (a.IsZero) return sg;
        Norm(a, out int ea, out ulong ma);
        int e = ea - Bias;
        UInt128 sig = (UInt128)ma << 64;
        if (!RoundCore(ref c, a.Sign, ref e, ref sig, 24, -126, 127))
            return c.C1 ? sg | 0x7F80_0000u : sg | 0x7F7F_FFFFu;
        uint m = (uint)(sig >> 104);
        uint field = (m & 0x80_0000) != 0 ? (uint)(e + 127) : 0;
        return sg | (field << 23) | (m & 0x7F_FFFF);
    }

    public static ulong ToFloat64(ref X87Context c, Float80 a)
    {
        c.C1 = false;
        ulong sg = a.Sign ? 0x8000_0000_0000_0000UL : 0;
        if (a.IsUnsupported) { c.Flags |= IE; return 0xFFF8_0000_0000_0000UL; }
        if (a.IsNaN)
        {
            if (a.IsSNaN) c.Flags |= IE;
            return sg | 0x7FF8_0000_0000_0000UL | ((a.Signif << 1) >> 12);
        }
        if (a.IsInf) return sg | 0x7FF0_0000_0000_0000UL;
        if (a.IsZero) return sg;
        Norm(a, out int ea, out ulong ma);
        int e = ea - Bias;
        UInt128 sig = (UInt128)ma << 64;
        if (!RoundCore(ref c, a.Sign, ref e, ref sig, 53, -1022, 1023))
            return c.C1 ? sg | 0x7FF0_0000_0000_0000UL : sg | 0x7FEF_FFFF_FFFF_FFFFUL;
        ulong m = (ulong)(sig >> 75);
        ulong field = (m & (1UL << 52)) != 0 ? (ulong)(e + 1023) : 0;
        return sg | (field << 52) | (m & 0xF_FFFF_FFFF_FFFFUL);
    }

    /// <summary>FLD/FST between registers with a given RC: rounds an 80-bit value to prec bits (used by constants).</summary>
    public static Float80 RoundToPrecision(ref X87Context c, Float80 a, int prec)
    {
        if (a.IsNaN || a.IsInf || a.IsZero || a.IsUnsupported) return a;
        Norm(a, out int ea, out ulong ma);
        return RoundPack(ref c, a.Sign, ea, (UInt128)ma << 64, prec);
    }

    // ---------------- packed BCD ----------------

    /// <summary>FBLD: 18 BCD digits plus sign byte; exact. Invalid digit nibbles are used as-is (undefined in the SDM).</summary>
    public static Float80 FromBcd(ReadOnlySpan<byte> src)
    {
        ulong v = 0;
        for (int i = 8; i >= 0; i--)
            v = v * 100 + (ulong)(src[i] >> 4) * 10 + (ulong)(src[i] & 15);
        bool s = (src[9] & 0x80) != 0;
        if (v == 0) return Float80.SignedZero(s);
        int lz = BitOperations.LeadingZeroCount(v);
        return new Float80((ushort)((s ? 0x8000 : 0) | (Bias + 63 - lz)), v << lz);
    }

    /// <summary>FBSTP: rounds per RC; out of range / NaN / inf store the BCD indefinite with #IA.</summary>
    public static void ToBcd(ref X87Context c, Float80 a, Span<byte> dst)
    {
        c.C1 = false;
        ulong v = 0;
        bool bad = a.IsUnsupported || a.IsNaN || a.IsInf;
        if (!bad && !a.IsZero)
        {
            Norm(a, out int ea, out ulong ma);
            var save = c;
            UInt128 m = RoundIntMag(ref c, a.Sign, ea, ma, false);
            if (m > 999_999_999_999_999_999UL) { c = save; bad = true; }
            else v = (ulong)m;
        }
        if (bad)
        {
            c.Flags |= IE;
            dst.Slice(0, 7).Clear();
            dst[7] = 0xC0; dst[8] = 0xFF; dst[9] = 0xFF;
            return;
        }
        for (int i = 0; i < 9; i++)
        {
            int lo = (int)(v % 10); v /= 10;
            int hi = (int)(v % 10); v /= 10;
            dst[i] = (byte)(hi << 4 | lo);
        }
        dst[9] = a.Sign ? (byte)0x80 : (byte)0;
    }
}
