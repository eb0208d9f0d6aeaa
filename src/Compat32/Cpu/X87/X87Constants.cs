namespace Compat32.Cpu.X87;

public enum X87Constant { One, Zero, Pi, Log2E, Log2Ten, Lg2, Ln2 }

/// <summary>FLD1/FLDZ/FLDPI/FLDL2E/FLDL2T/FLDLG2/FLDLN2: the irrational ones are rounded per RC, without #P (SDM 8.3.5).</summary>
public static class X87Constants
{
    public static Float80 Load(X87Constant k, int rounding)
    {
        (ushort se, ulong hi, ulong lo) = k switch
        {
            X87Constant.One => ((ushort)0x3FFF, 0x8000000000000000UL, 0UL),
            X87Constant.Zero => ((ushort)0, 0UL, 0UL),
            X87Constant.Pi => ((ushort)0x4000, 0xC90FDAA22168C234UL, 0xC4C6628B80DC1CD1UL),
            X87Constant.Log2E => ((ushort)0x3FFF, 0xB8AA3B295C17F0BBUL, 0xBE87FED0691D3E88UL),
            X87Constant.Log2Ten => ((ushort)0x4000, 0xD49A784BCD1B8AFEUL, 0x492BF6FF4DAFDB4CUL),
            X87Constant.Lg2 => ((ushort)0x3FFD, 0x9A209A84FBCFF798UL, 0x8F8959AC0B7C9178UL),
            _ => ((ushort)0x3FFE, 0xB17217F7D1CF79ABUL, 0xC9E3B39803F2F6AFUL),
        };
        // All constants are positive: round up for nearest (when the dropped half exceeds 1/2) or RC=up.
        bool up = rounding switch { 0 => lo > 0x8000000000000000UL, 2 => lo != 0, _ => false };
        return new Float80(se, up ? hi + 1 : hi);
    }
}
