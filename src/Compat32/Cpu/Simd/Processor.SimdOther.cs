using System.Numerics;
using Compat32.Cpu.Simd;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>SSE4.2 string compares, CRC32, POPCNT, LZCNT/TZCNT, MOVBE, AES-NI and PCLMULQDQ.</summary>
public sealed unsafe partial class Processor
{
    bool ExecSimdOther(ref Instruction ins, Mnemonic m)
    {
        switch (m)
        {
            case Mnemonic.Popcnt:
            {
                int sz = Size0(ins);
                uint v = ReadOp(ins, 1, sz);
                if (Faulted) return true;
                SetReg(ins.Op0Register, (uint)BitOperations.PopCount(v));
                SetArithFlags(v == 0 ? Flags.ZF : 0);
                return true;
            }
            case Mnemonic.Lzcnt: case Mnemonic.Tzcnt:
            {
                // Without ABM (LZCNT) / BMI1 (TZCNT) the F3 prefix is ignored: BSR / BSF (SDM LZCNT, TZCNT).
                bool have = m == Mnemonic.Lzcnt && (Features & CpuFeature.Abm) != 0;
                if (!have) { ExecBitScan(ins); return true; }
                int sz = Size0(ins);
                uint v = ReadOp(ins, 1, sz);
                if (Faulted) return true;
                int bits = sz * 8;
                uint r = v == 0 ? (uint)bits : (uint)(BitOperations.LeadingZeroCount(v) - (32 - bits));
                SetReg(ins.Op0Register, r);
                uint f = S.Flags.Get() & ~(Flags.CF | Flags.ZF);
                if (v == 0) f |= Flags.CF;
                if (r == 0) f |= Flags.ZF;
                // OF SF PF AF are undefined; the hardware we compare with leaves them as computed by the last op
                S.Flags.Set(f);
                return true;
            }
            case Mnemonic.Movbe:
            {
                int sz = Size0(ins);
                uint v = ReadOp(ins, 1, sz);
                if (Faulted) return true;
                v = sz == 2 ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)v) : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
                WriteOp0(ins, sz, v);
                return true;
            }
            case Mnemonic.Crc32:
            {
                int sz = OpSize(ins, 1);
                uint v = ReadOp(ins, 1, sz);
                if (Faulted) return true;
                uint crc = S.R[RegNum[(int)ins.Op0Register]];
                for (int i = 0; i < sz; i++)
                {
                    crc ^= (v >> (8 * i)) & 0xFF;
                    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
                }
                SetReg(ins.Op0Register, crc);
                return true;
            }
            case Mnemonic.Pclmulqdq:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                ref X128 a = ref Xr(ins.Op0Register);
                int imm = ins.Immediate8;
                ulong x = (imm & 1) != 0 ? a.Hi : a.Lo, y = (imm & 0x10) != 0 ? b.Hi : b.Lo;
                ulong lo = 0, hi = 0;
                for (int i = 0; i < 64; i++)
                    if (((y >> i) & 1) != 0) { lo ^= x << i; if (i != 0) hi ^= x >> (64 - i); }
                a = new X128 { Lo = lo, Hi = hi };
                return true;
            }
            case Mnemonic.Aesenc: case Mnemonic.Aesenclast: case Mnemonic.Aesdec: case Mnemonic.Aesdeclast:
            {
                if (!ReadV(ins, 1, out var key)) return true;
                ref X128 st = ref Xr(ins.Op0Register);
                X128 s = st;
                bool dec = m is Mnemonic.Aesdec or Mnemonic.Aesdeclast;
                bool last = m is Mnemonic.Aesenclast or Mnemonic.Aesdeclast;
                s = dec ? Aes.InvShiftSub(s) : Aes.ShiftSub(s);
                if (!last) s = dec ? Aes.InvMixColumns(s) : Aes.MixColumns(s);
                s.Lo ^= key.Lo; s.Hi ^= key.Hi;
                st = s;
                return true;
            }
            case Mnemonic.Aesimc:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                Xr(ins.Op0Register) = Aes.InvMixColumns(b);
                return true;
            }
            case Mnemonic.Aeskeygenassist:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                uint rcon = ins.Immediate8;
                uint x1 = Aes.SubWord(L<uint>(ref b, 1)), x3 = Aes.SubWord(L<uint>(ref b, 3));
                X128 r = default;
                L<uint>(ref r, 0) = x1;
                L<uint>(ref r, 1) = BitOperations.RotateRight(x1, 8) ^ rcon;
                L<uint>(ref r, 2) = x3;
                L<uint>(ref r, 3) = BitOperations.RotateRight(x3, 8) ^ rcon;
                Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Pcmpestri: case Mnemonic.Pcmpestrm: case Mnemonic.Pcmpistri: case Mnemonic.Pcmpistrm:
                ExecPcmpstr(ins, m);
                return true;
        }
        return false;
    }

    /// <summary>PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM (SDM vol. 2 4.1): source data format, aggregation,
    /// polarity and output selection from imm8; lengths explicit (EAX, EDX) or implicit (first null).</summary>
    void ExecPcmpstr(in Instruction ins, Mnemonic m)
    {
        if (!ReadV(ins, 1, out var b)) return;
        X128 a = Xr(ins.Op0Register);
        int imm = ins.Immediate8;
        bool words = (imm & 1) != 0, signed = (imm & 2) != 0;
        int n = words ? 8 : 16;
        bool expl = m is Mnemonic.Pcmpestri or Mnemonic.Pcmpestrm;
        int la, lb;
        if (expl)
        {
            la = Len(S.R[CpuState.EAX], n); lb = Len(S.R[CpuState.EDX], n);
        }
        else
        {
            la = n; lb = n;
            for (int i = 0; i < n; i++) if (Elem(ref a, i, words, false) == 0) { la = i; break; }
            for (int i = 0; i < n; i++) if (Elem(ref b, i, words, false) == 0) { lb = i; break; }
        }
        int agg = (imm >> 2) & 3;
        uint res1 = 0;
        for (int j = 0; j < n; j++)
        {
            bool r;
            switch (agg)
            {
                case 0: // equal any: b[j] in the set a
                    r = false;
                    if (j < lb)
                        for (int i = 0; i < la && !r; i++) r = Elem(ref a, i, words, signed) == Elem(ref b, j, words, signed);
                    break;
                case 1: // ranges: a holds pairs (low, high)
                    r = false;
                    if (j < lb)
                        for (int i = 0; i + 1 < la && !r; i += 2)
                        {
                            int v = Elem(ref b, j, words, signed);
                            r = Elem(ref a, i, words, signed) <= v && v <= Elem(ref a, i + 1, words, signed);
                        }
                    break;
                case 2: // equal each
                    if (j >= la && j >= lb) r = true;
                    else if (j >= la || j >= lb) r = false;
                    else r = Elem(ref a, j, words, signed) == Elem(ref b, j, words, signed);
                    break;
                default: // equal ordered: a (the needle) starts at b[j]
                    r = true;
                    for (int i = 0; i < n - j && r; i++)
                    {
                        if (i >= la) break;
                        if (j + i >= lb) { r = false; break; }
                        r = Elem(ref a, i, words, signed) == Elem(ref b, j + i, words, signed);
                    }
                    break;
            }
            if (r) res1 |= 1u << j;
        }
        uint all = (1u << n) - 1, res2 = res1;
        switch ((imm >> 4) & 3)
        {
            case 1: res2 = ~res1 & all; break;
            case 3: res2 = res1 ^ ((1u << lb) - 1); break;
        }
        uint f = 0;
        if (res2 != 0) f |= Flags.CF;
        if (lb < n) f |= Flags.ZF;
        if (la < n) f |= Flags.SF;
        if ((res2 & 1) != 0) f |= Flags.OF;
        SetArithFlags(f);
        if (m is Mnemonic.Pcmpestri or Mnemonic.Pcmpistri)
        {
            uint idx = res2 == 0 ? (uint)n : (imm & 0x40) != 0 ? (uint)(31 - BitOperations.LeadingZeroCount(res2)) : (uint)BitOperations.TrailingZeroCount(res2);
            S.R[CpuState.ECX] = idx;
        }
        else
        {
            X128 r = default;
            if ((imm & 0x40) == 0) r.Lo = res2;
            else
                for (int i = 0; i < n; i++)
                    if (((res2 >> i) & 1) != 0)
                    {
                        if (words) L<ushort>(ref r, i) = 0xFFFF; else L<byte>(ref r, i) = 0xFF;
                    }
            S.Simd.Xmm(0) = r;
        }
    }

    static int Len(uint reg, int n)
    {
        long v = Math.Abs((long)(int)reg);
        return (int)Math.Min(v, n);
    }

    static int Elem(ref X128 x, int i, bool words, bool signed) =>
        words ? (signed ? L<short>(ref x, i) : L<ushort>(ref x, i)) : (signed ? (sbyte)L<byte>(ref x, i) : L<byte>(ref x, i));
}

/// <summary>AES round primitives on the 16-byte state as AES-NI holds it (FIPS-197; byte i = row i%4, column i/4).</summary>
static class Aes
{
    static readonly byte[] Sbox = new byte[256], InvSbox = new byte[256];

    static Aes()
    {
        // S-box from the multiplicative inverse in GF(2^8) and the affine map (FIPS-197 5.1.1).
        for (int x = 0; x < 256; x++)
        {
            byte inv = x == 0 ? (byte)0 : Inverse((byte)x);
            int s = inv ^ Rotl8(inv, 1) ^ Rotl8(inv, 2) ^ Rotl8(inv, 3) ^ Rotl8(inv, 4) ^ 0x63;
            Sbox[x] = (byte)s;
            InvSbox[(byte)s] = (byte)x;
        }
    }

    static int Rotl8(int v, int n) => ((v << n) | (v >> (8 - n))) & 0xFF;

    static byte Mul(byte a, byte b)
    {
        int r = 0, x = a;
        for (int i = 0; i < 8; i++)
        {
            if ((b & (1 << i)) != 0) r ^= x;
            x <<= 1;
            if ((x & 0x100) != 0) x ^= 0x11B;
        }
        return (byte)r;
    }

    static byte Inverse(byte a)
    {
        // a^254
        byte r = 1, p = a;
        for (int e = 254; e != 0; e >>= 1)
        {
            if ((e & 1) != 0) r = Mul(r, p);
            p = Mul(p, p);
        }
        return r;
    }

    public static uint SubWord(uint w) =>
        Sbox[w & 0xFF] | (uint)Sbox[(w >> 8) & 0xFF] << 8 | (uint)Sbox[(w >> 16) & 0xFF] << 16 | (uint)Sbox[w >> 24] << 24;

    public static X128 ShiftSub(X128 s)
    {
        X128 r = default;
        for (int row = 0; row < 4; row++)
            for (int c = 0; c < 4; c++)
                X128.Lane<byte>(ref r, row + 4 * c) = Sbox[X128.Lane<byte>(ref s, row + 4 * ((c + row) & 3))];
        return r;
    }

    public static X128 InvShiftSub(X128 s)
    {
        X128 r = default;
        for (int row = 0; row < 4; row++)
            for (int c = 0; c < 4; c++)
                X128.Lane<byte>(ref r, row + 4 * ((c + row) & 3)) = InvSbox[X128.Lane<byte>(ref s, row + 4 * c)];
        return r;
    }

    public static X128 MixColumns(X128 s) => Mix(s, 2, 3, 1, 1);
    public static X128 InvMixColumns(X128 s) => Mix(s, 14, 11, 13, 9);

    static X128 Mix(X128 s, byte c0, byte c1, byte c2, byte c3)
    {
        X128 r = default;
        for (int c = 0; c < 4; c++)
        {
            byte a0 = X128.Lane<byte>(ref s, 4 * c), a1 = X128.Lane<byte>(ref s, 4 * c + 1),
                 a2 = X128.Lane<byte>(ref s, 4 * c + 2), a3 = X128.Lane<byte>(ref s, 4 * c + 3);
            X128.Lane<byte>(ref r, 4 * c) = (byte)(Mul(a0, c0) ^ Mul(a1, c1) ^ Mul(a2, c2) ^ Mul(a3, c3));
            X128.Lane<byte>(ref r, 4 * c + 1) = (byte)(Mul(a0, c3) ^ Mul(a1, c0) ^ Mul(a2, c1) ^ Mul(a3, c2));
            X128.Lane<byte>(ref r, 4 * c + 2) = (byte)(Mul(a0, c2) ^ Mul(a1, c3) ^ Mul(a2, c0) ^ Mul(a3, c1));
            X128.Lane<byte>(ref r, 4 * c + 3) = (byte)(Mul(a0, c1) ^ Mul(a1, c2) ^ Mul(a2, c3) ^ Mul(a3, c0));
        }
        return r;
    }
}

/// <summary>RCPPS/RSQRTPS: the SDM fixes only the error bound (|relative error| ≤ 1.5·2^-12) and every vendor
/// has its own tables. We return the correctly rounded value truncated to 12 fraction bits, inside the bound;
/// special operands as the SDM lists them (±0 → ±∞, ∞ → 0, negative → QNaN for RSQRT, NaN → QNaN, and
/// denormal inputs/outputs flushed as on Intel parts).</summary>
static class SimdApprox
{
    public static uint Compute(uint x, bool rsqrt)
    {
        bool s = (x >> 31) != 0;
        int e = (int)(x >> 23) & 0xFF;
        uint f = x & 0x7FFFFF;
        if (e == 0xFF && f != 0) return x | 0x400000;
        if (e == 0) return rsqrt ? (s ? 0xFF800000u : 0x7F800000u) : (s ? 0xFF800000u : 0x7F800000u);
        if (e == 0xFF) return s && rsqrt ? 0xFFC00000u : (s ? 0x80000000u : 0u);
        if (rsqrt && s) return 0xFFC00000u;
        float v = BitConverter.Int32BitsToSingle((int)x);
        double r = rsqrt ? 1.0 / Math.Sqrt(v) : 1.0 / v;
        float rf = (float)r;
        uint bits = (uint)BitConverter.SingleToInt32Bits(rf);
        if (((bits >> 23) & 0xFF) == 0) return bits & 0x80000000u; // a denormal result is flushed
        return bits & 0xFFFFF800u;
    }
}
