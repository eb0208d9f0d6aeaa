using System;
using System.Numerics;

namespace Compat32.Cpu.X87;

/// <summary>80-bit x87 double-extended value in register/memory layout (explicit integer bit 63).</summary>
public struct Float80 : IEquatable<Float80>
{
    public ulong Signif;
    public ushort SignExp;

    public const ulong IntBit = 0x8000_0000_0000_0000UL;
    public const ulong QuietBit = 0x4000_0000_0000_0000UL;

    public Float80(ushort signExp, ulong signif) { SignExp = signExp; Signif = signif; }

    public readonly int Exp => SignExp & 0x7FFF;
    public readonly bool Sign => (SignExp & 0x8000) != 0;

    /// <summary>NaN with the integer bit set (pseudo-NaNs count as unsupported, not NaN).</summary>
    public readonly bool IsNaN => Exp == 0x7FFF && (Signif & IntBit) != 0 && (Signif << 1) != 0;
    public readonly bool IsSNaN => IsNaN && (Signif & QuietBit) == 0;
    public readonly bool IsQNaN => IsNaN && (Signif & QuietBit) != 0;
    public readonly bool IsInf => Exp == 0x7FFF && Signif == IntBit;
    public readonly bool IsZero => Exp == 0 && Signif == 0;
    /// <summary>Denormal or pseudo-denormal (exponent field 0, significand non-zero).</summary>
    public readonly bool IsDenormal => Exp == 0 && Signif != 0;
    /// <summary>Unnormal, pseudo-NaN, pseudo-infinity: formats the 387+ reject with #IA (SDM 8.2.2).</summary>
    public readonly bool IsUnsupported => Exp != 0 && (Signif & IntBit) == 0;
    public readonly bool IsFiniteNonZero => Exp != 0x7FFF && !IsZero;

    public readonly Float80 Negate() => new((ushort)(SignExp ^ 0x8000), Signif);
    public readonly Float80 Abs() => new((ushort)(SignExp & 0x7FFF), Signif);
    public readonly Float80 Quieted() => new(SignExp, Signif | QuietBit);

    public static Float80 Zero => new(0, 0);
    public static Float80 NegZero => new(0x8000, 0);
    public static Float80 One => new(0x3FFF, IntBit);
    public static Float80 Infinity => new(0x7FFF, IntBit);
    public static Float80 NegInfinity => new(0xFFFF, IntBit);
    /// <summary>Real indefinite: the QNaN every masked invalid operation produces.</summary>
    public static Float80 DefaultNaN => new(0xFFFF, 0xC000_0000_0000_0000UL);
    public static Float80 Pi => new(0x4000, 0xC90FDAA22168C235UL);
    public static Float80 Log2E => new(0x3FFF, 0xB8AA3B295C17F0BCUL);
    public static Float80 Log2Ten => new(0x4000, 0xD49A784BCD1B8AFEUL);
    public static Float80 Ln2 => new(0x3FFE, 0xB17217F7D1CF79ACUL);
    public static Float80 Lg2 => new(0x3FFD, 0x9A209A84FBCFF799UL);

    public static Float80 SignedZero(bool neg) => new(neg ? (ushort)0x8000 : (ushort)0, 0);
    public static Float80 SignedInf(bool neg) => new(neg ? (ushort)0xFFFF : (ushort)0x7FFF, IntBit);

    public readonly bool Equals(Float80 o) => Signif == o.Signif && SignExp == o.SignExp;
    public override readonly bool Equals(object? obj) => obj is Float80 f && Equals(f);
    public override readonly int GetHashCode() => HashCode.Combine(Signif, SignExp);
    public static bool operator ==(Float80 a, Float80 b) => a.Equals(b);
    public static bool operator !=(Float80 a, Float80 b) => !a.Equals(b);
    public override readonly string ToString() => $"{SignExp:X4}:{Signif:X16}";

    /// <summary>Approximate value, for diagnostics only.</summary>
    public readonly double ToDoubleApprox()
    {
        if (IsNaN || IsUnsupported) return double.NaN;
        if (IsInf) return Sign ? double.NegativeInfinity : double.PositiveInfinity;
        double m = Signif / 18446744073709551616.0 * 2;
        double v = Math.ScaleB(m, Exp == 0 ? -16382 : Exp - 16383);
        return Sign ? -v : v;
    }
}

/// <summary>x87 status-word exception bits (same positions as FSW).</summary>
[Flags]
public enum X87Flags : ushort
{
    None = 0, Invalid = 1, Denormal = 2, ZeroDivide = 4, Overflow = 8, Underflow = 0x10, Precision = 0x20,
    StackFault = 0x40,
}

/// <summary>Result of an x87 comparison, encoded as (C3,C2,C0) in the usual order.</summary>
public enum X87Compare { Less, Equal, Greater, Unordered }

/// <summary>Rounding/precision control plus sticky exception flags and C1 of one operation sequence.</summary>
public struct X87Context
{
    /// <summary>RC field: 0 nearest-even, 1 down, 2 up, 3 toward zero.</summary>
    public int Rounding;
    /// <summary>PC field: 0 single (24), 2 double (53), 3 extended (64); 1 is reserved and acts as 64.</summary>
    public int Precision;
    public X87Flags Flags;
    /// <summary>C1: set when the last rounding increased the magnitude.</summary>
    public bool C1;

    public X87Context(int rounding, int precision) { Rounding = rounding; Precision = precision; Flags = 0; C1 = false; }

    public readonly int PrecisionBits => Precision switch { 0 => 24, 2 => 53, _ => 64 };

    public static X87Context FromControlWord(ushort cw) => new((cw >> 10) & 3, (cw >> 8) & 3);
}
