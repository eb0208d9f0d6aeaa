using System.Runtime.CompilerServices;

namespace Compat32.Cpu;

public enum CcOp : byte { None, Add, Adc, Sub, Sbb, Logic, Inc, Dec }

/// <summary>
/// EFLAGS with lazily computed arithmetic flags: ALU instructions record operands and result, and
/// CF/PF/AF/ZF/SF/OF are only derived when something reads them (Jcc, PUSHF, ...).
/// </summary>
public sealed class Flags
{
    public const uint CF = 1u << 0, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6, SF = 1u << 7, TF = 1u << 8,
        IF = 1u << 9, DF = 1u << 10, OF = 1u << 11, IOPL = 3u << 12, NT = 1u << 14, RF = 1u << 16, VM = 1u << 17,
        AC = 1u << 18, VIF = 1u << 19, VIP = 1u << 20, ID = 1u << 21, Fixed1 = 1u << 1;
    public const uint Arith = CF | PF | AF | ZF | SF | OF;

    /// <summary>All bits; the Arith bits are only valid when Op == None.</summary>
    public uint Bits = 0x202;
    public CcOp Op;
    public byte Size;          // 1, 2 or 4
    public uint Res, Src1, Src2, CarryIn;

    static readonly byte[] Parity = BuildParity();
    static byte[] BuildParity()
    {
        var p = new byte[256];
        for (int i = 0; i < 256; i++) p[i] = (byte)((System.Numerics.BitOperations.PopCount((uint)i) & 1) == 0 ? 1 : 0);
        return p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetLazy(CcOp op, int size, uint res, uint s1, uint s2)
    {
        Op = op; Size = (byte)size; Res = res; Src1 = s1; Src2 = s2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint Mask(int size) => size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint Sign(int size) => size == 4 ? 0x80000000u : size == 2 ? 0x8000u : 0x80u;

    public bool CFv
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            uint m = Mask(Size);
            switch (Op)
            {
                case CcOp.None: return (Bits & CF) != 0;
                case CcOp.Add: return (Res & m) < (Src1 & m);
                case CcOp.Adc: return CarryIn != 0 ? (Res & m) <= (Src1 & m) : (Res & m) < (Src1 & m);
                case CcOp.Sub: return (Src1 & m) < (Src2 & m);
                case CcOp.Sbb: return CarryIn != 0 ? (Src1 & m) <= (Src2 & m) : (Src1 & m) < (Src2 & m);
                case CcOp.Logic: return false;
                default: return (Bits & CF) != 0; // Inc/Dec keep CF in Bits
            }
        }
    }
    public bool ZFv
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Op == CcOp.None ? (Bits & ZF) != 0 : (Res & Mask(Size)) == 0;
    }
    public bool SFv
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Op == CcOp.None ? (Bits & SF) != 0 : (Res & Sign(Size)) != 0;
    }
    public bool OFv
    {
        get
        {
            uint s = Sign(Size);
            switch (Op)
            {
                case CcOp.None: return (Bits & OF) != 0;
                case CcOp.Add: case CcOp.Adc: return ((Src1 ^ Res) & (Src2 ^ Res) & s) != 0;
                case CcOp.Sub: case CcOp.Sbb: return ((Src1 ^ Src2) & (Src1 ^ Res) & s) != 0;
                case CcOp.Inc: return (Res & Mask(Size)) == s;
                case CcOp.Dec: return (Res & Mask(Size)) == s - 1;
                default: return false;
            }
        }
    }
    public bool PFv => Op == CcOp.None ? (Bits & PF) != 0 : Parity[Res & 0xFF] != 0;
    public bool AFv
    {
        get
        {
            switch (Op)
            {
                case CcOp.None: return (Bits & AF) != 0;
                case CcOp.Logic: return false;
                case CcOp.Inc: return (Res & 0xF) == 0;
                case CcOp.Dec: return (Res & 0xF) == 0xF;
                default: return ((Src1 ^ Src2 ^ Res) & 0x10) != 0;
            }
        }
    }

    /// <summary>Before an INC/DEC: move the current CF into Bits, the only flag the Inc/Dec lazy ops take from
    /// Bits (the other five are derived from the result), so no full materialisation is needed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void KeepCarry()
    {
        if (Op == CcOp.None || Op == CcOp.Inc || Op == CcOp.Dec) return;
        bool cf = CFv;
        Bits = cf ? Bits | CF : Bits & ~CF;
    }

    public static bool ParityOf(uint v) => Parity[v & 0xFF] != 0;

    /// <summary>Materialise the arithmetic flags into Bits.</summary>
    public void Materialize()
    {
        if (Op == CcOp.None) return;
        uint f = Bits & ~Arith;
        if (CFv) f |= CF;
        if (PFv) f |= PF;
        if (AFv) f |= AF;
        if (ZFv) f |= ZF;
        if (SFv) f |= SF;
        if (OFv) f |= OF;
        Bits = f;
        Op = CcOp.None;
    }

    public uint Get() { Materialize(); return Bits | Fixed1; }
    public void Set(uint v) { Bits = (v & 0x003F7FD5u) | Fixed1; Op = CcOp.None; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetBit(uint bit, bool on) { Materialize(); if (on) Bits |= bit; else Bits &= ~bit; }

    /// <summary>Evaluate condition code cc (the low nibble of Jcc/SETcc/CMOVcc opcodes).</summary>
    public bool Cond(int cc)
    {
        bool r;
        // The common producers (CMP/SUB, TEST/AND/OR/XOR) answer directly from the recorded operands.
        if (Op == CcOp.Sub)
        {
            int sh = 32 - 8 * Size;
            uint a = Src1, b = Src2; // masked to the operand size by every Sub producer
            switch (cc >> 1)
            {
                case 1: r = a < b; break;
                case 2: r = a == b; break;
                case 3: r = a <= b; break;
                case 6: r = (int)(a << sh) < (int)(b << sh); break;
                case 7: r = (int)(a << sh) <= (int)(b << sh); break;
                default: goto general;
            }
            return (cc & 1) != 0 ? !r : r;
        }
        if (Op == CcOp.Logic)
        {
            uint m = Mask(Size), res = Res & m;
            bool sf = (res & Sign(Size)) != 0;
            switch (cc >> 1)
            {
                case 0: case 1: r = false; break;
                case 2: case 3: r = res == 0; break;
                case 4: case 6: r = sf; break;
                case 7: r = res == 0 || sf; break;
                default: goto general;
            }
            return (cc & 1) != 0 ? !r : r;
        }
    general:
        switch (cc >> 1)
        {
            case 0: r = OFv; break;
            case 1: r = CFv; break;
            case 2: r = ZFv; break;
            case 3: r = CFv || ZFv; break;
            case 4: r = SFv; break;
            case 5: r = PFv; break;
            case 6: r = SFv != OFv; break;
            default: r = ZFv || (SFv != OFv); break;
        }
        return (cc & 1) != 0 ? !r : r;
    }
}
