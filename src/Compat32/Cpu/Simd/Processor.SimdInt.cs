using System.Numerics;
using Compat32.Cpu.Simd;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>Packed integer, logical, shuffle, pack/unpack and insert/extract instructions on MMX (64-bit) and
/// XMM (128-bit) registers: one implementation over n bytes.</summary>
public sealed unsafe partial class Processor
{
    /// <summary>op0 (xmm or mm register), op1 (register, memory or immediate) and the width in bytes.</summary>
    bool Bin(in Instruction ins, out X128 a, out X128 b, out int n)
    {
        var r0 = ins.Op0Register;
        a = default;
        n = IsMm(r0) ? 8 : 16;
        if (n == 8) a.Lo = GetMm(r0); else a = Xr(r0);
        return ReadV(ins, 1, out b);
    }

    void Put(in Instruction ins, in X128 v)
    {
        var r0 = ins.Op0Register;
        if (IsMm(r0)) SetMm(r0, v.Lo); else Xr(r0) = v;
    }

    static sbyte SatB(int v) => (sbyte)Math.Clamp(v, sbyte.MinValue, sbyte.MaxValue);
    static byte SatUB(int v) => (byte)Math.Clamp(v, 0, 255);
    static short SatW(int v) => (short)Math.Clamp(v, short.MinValue, short.MaxValue);
    static ushort SatUW(int v) => (ushort)Math.Clamp(v, 0, 65535);

    bool ExecSimdInt(ref Instruction ins, Mnemonic m)
    {
        switch (m)
        {
            // ---- logic
            case Mnemonic.Pand: case Mnemonic.Andps: case Mnemonic.Andpd:
            { if (!Bin(ins, out var a, out var b, out _)) return true; a.Lo &= b.Lo; a.Hi &= b.Hi; Put(ins, a); return true; }
            case Mnemonic.Pandn: case Mnemonic.Andnps: case Mnemonic.Andnpd:
            { if (!Bin(ins, out var a, out var b, out int n)) return true; a.Lo = ~a.Lo & b.Lo; a.Hi = n == 8 ? 0 : ~a.Hi & b.Hi; Put(ins, a); return true; }
            case Mnemonic.Por: case Mnemonic.Orps: case Mnemonic.Orpd:
            { if (!Bin(ins, out var a, out var b, out _)) return true; a.Lo |= b.Lo; a.Hi |= b.Hi; Put(ins, a); return true; }
            case Mnemonic.Pxor: case Mnemonic.Xorps: case Mnemonic.Xorpd:
            { if (!Bin(ins, out var a, out var b, out _)) return true; a.Lo ^= b.Lo; a.Hi ^= b.Hi; Put(ins, a); return true; }

            // ---- add / subtract
            case Mnemonic.Paddb: case Mnemonic.Psubb: case Mnemonic.Paddsb: case Mnemonic.Psubsb:
            case Mnemonic.Paddusb: case Mnemonic.Psubusb: case Mnemonic.Pavgb:
            case Mnemonic.Pminub: case Mnemonic.Pmaxub: case Mnemonic.Pminsb: case Mnemonic.Pmaxsb:
            case Mnemonic.Pcmpeqb: case Mnemonic.Pcmpgtb: case Mnemonic.Psignb:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                for (int i = 0; i < n; i++)
                {
                    ref byte x = ref L<byte>(ref a, i);
                    byte y = L<byte>(ref b, i);
                    x = m switch
                    {
                        Mnemonic.Paddb => (byte)(x + y),
                        Mnemonic.Psubb => (byte)(x - y),
                        Mnemonic.Paddsb => (byte)SatB((sbyte)x + (sbyte)y),
                        Mnemonic.Psubsb => (byte)SatB((sbyte)x - (sbyte)y),
                        Mnemonic.Paddusb => SatUB(x + y),
                        Mnemonic.Psubusb => SatUB(x - y),
                        Mnemonic.Pavgb => (byte)((x + y + 1) >> 1),
                        Mnemonic.Pminub => Math.Min(x, y),
                        Mnemonic.Pmaxub => Math.Max(x, y),
                        Mnemonic.Pminsb => (byte)Math.Min((sbyte)x, (sbyte)y),
                        Mnemonic.Pmaxsb => (byte)Math.Max((sbyte)x, (sbyte)y),
                        Mnemonic.Pcmpeqb => x == y ? (byte)0xFF : (byte)0,
                        Mnemonic.Pcmpgtb => (sbyte)x > (sbyte)y ? (byte)0xFF : (byte)0,
                        _ => (sbyte)y < 0 ? (byte)-x : y == 0 ? (byte)0 : x, // psignb
                    };
                }
                Put(ins, a);
                return true;
            }
            case Mnemonic.Paddw: case Mnemonic.Psubw: case Mnemonic.Paddsw: case Mnemonic.Psubsw:
            case Mnemonic.Paddusw: case Mnemonic.Psubusw: case Mnemonic.Pavgw:
            case Mnemonic.Pminsw: case Mnemonic.Pmaxsw: case Mnemonic.Pminuw: case Mnemonic.Pmaxuw:
            case Mnemonic.Pcmpeqw: case Mnemonic.Pcmpgtw: case Mnemonic.Psignw:
            case Mnemonic.Pmullw: case Mnemonic.Pmulhw: case Mnemonic.Pmulhuw: case Mnemonic.Pmulhrsw:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                for (int i = 0; i < n / 2; i++)
                {
                    ref ushort x = ref L<ushort>(ref a, i);
                    ushort y = L<ushort>(ref b, i);
                    x = m switch
                    {
                        Mnemonic.Paddw => (ushort)(x + y),
                        Mnemonic.Psubw => (ushort)(x - y),
                        Mnemonic.Paddsw => (ushort)SatW((short)x + (short)y),
                        Mnemonic.Psubsw => (ushort)SatW((short)x - (short)y),
                        Mnemonic.Paddusw => SatUW(x + y),
                        Mnemonic.Psubusw => SatUW(x - y),
                        Mnemonic.Pavgw => (ushort)((x + y + 1) >> 1),
                        Mnemonic.Pminsw => (ushort)Math.Min((short)x, (short)y),
                        Mnemonic.Pmaxsw => (ushort)Math.Max((short)x, (short)y),
                        Mnemonic.Pminuw => Math.Min(x, y),
                        Mnemonic.Pmaxuw => Math.Max(x, y),
                        Mnemonic.Pcmpeqw => x == y ? (ushort)0xFFFF : (ushort)0,
                        Mnemonic.Pcmpgtw => (short)x > (short)y ? (ushort)0xFFFF : (ushort)0,
                        Mnemonic.Pmullw => (ushort)((short)x * (short)y),
                        Mnemonic.Pmulhw => (ushort)(((short)x * (short)y) >> 16),
                        Mnemonic.Pmulhuw => (ushort)((x * y) >> 16),
                        Mnemonic.Pmulhrsw => (ushort)((((short)x * (short)y >> 14) + 1) >> 1),
                        _ => (short)y < 0 ? (ushort)-x : y == 0 ? (ushort)0 : x, // psignw
                    };
                }
                Put(ins, a);
                return true;
            }
            case Mnemonic.Paddd: case Mnemonic.Psubd: case Mnemonic.Pcmpeqd: case Mnemonic.Pcmpgtd:
            case Mnemonic.Pminsd: case Mnemonic.Pmaxsd: case Mnemonic.Pminud: case Mnemonic.Pmaxud:
            case Mnemonic.Pmulld: case Mnemonic.Psignd:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                for (int i = 0; i < n / 4; i++)
                {
                    ref uint x = ref L<uint>(ref a, i);
                    uint y = L<uint>(ref b, i);
                    x = m switch
                    {
                        Mnemonic.Paddd => x + y,
                        Mnemonic.Psubd => x - y,
                        Mnemonic.Pcmpeqd => x == y ? uint.MaxValue : 0,
                        Mnemonic.Pcmpgtd => (int)x > (int)y ? uint.MaxValue : 0,
                        Mnemonic.Pminsd => (uint)Math.Min((int)x, (int)y),
                        Mnemonic.Pmaxsd => (uint)Math.Max((int)x, (int)y),
                        Mnemonic.Pminud => Math.Min(x, y),
                        Mnemonic.Pmaxud => Math.Max(x, y),
                        Mnemonic.Pmulld => x * y,
                        _ => (int)y < 0 ? (uint)-(int)x : y == 0 ? 0 : x, // psignd
                    };
                }
                Put(ins, a);
                return true;
            }
            case Mnemonic.Paddq: case Mnemonic.Psubq: case Mnemonic.Pcmpeqq: case Mnemonic.Pcmpgtq:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                for (int i = 0; i < n / 8; i++)
                {
                    ref ulong x = ref L<ulong>(ref a, i);
                    ulong y = L<ulong>(ref b, i);
                    x = m switch
                    {
                        Mnemonic.Paddq => x + y,
                        Mnemonic.Psubq => x - y,
                        Mnemonic.Pcmpeqq => x == y ? ulong.MaxValue : 0,
                        _ => (long)x > (long)y ? ulong.MaxValue : 0,
                    };
                }
                Put(ins, a);
                return true;
            }
            case Mnemonic.Pmuludq: case Mnemonic.Pmuldq:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                for (int i = 0; i < n / 8; i++)
                {
                    uint x = L<uint>(ref a, 2 * i), y = L<uint>(ref b, 2 * i);
                    L<ulong>(ref a, i) = m == Mnemonic.Pmuludq ? (ulong)x * y : (ulong)((long)(int)x * (int)y);
                }
                Put(ins, a);
                return true;
            }
            case Mnemonic.Pmaddwd:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                for (int i = 0; i < n / 4; i++)
                {
                    int s = (short)L<ushort>(ref a, 2 * i) * (short)L<ushort>(ref b, 2 * i)
                          + (short)L<ushort>(ref a, 2 * i + 1) * (short)L<ushort>(ref b, 2 * i + 1); // wraps at 0x80000000 as hardware
                    L<int>(ref r, i) = s;
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Pmaddubsw:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                for (int i = 0; i < n / 2; i++)
                    L<short>(ref r, i) = SatW(L<byte>(ref a, 2 * i) * (sbyte)L<byte>(ref b, 2 * i) + L<byte>(ref a, 2 * i + 1) * (sbyte)L<byte>(ref b, 2 * i + 1));
                Put(ins, r);
                return true;
            }
            case Mnemonic.Psadbw:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                for (int q = 0; q < n / 8; q++)
                {
                    int s = 0;
                    for (int i = 0; i < 8; i++) s += Math.Abs(L<byte>(ref a, 8 * q + i) - L<byte>(ref b, 8 * q + i));
                    L<ulong>(ref r, q) = (ulong)s;
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Pabsb: case Mnemonic.Pabsw: case Mnemonic.Pabsd:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                if (m == Mnemonic.Pabsb) for (int i = 0; i < n; i++) L<byte>(ref a, i) = (byte)Math.Abs((int)(sbyte)L<byte>(ref b, i));
                else if (m == Mnemonic.Pabsw) for (int i = 0; i < n / 2; i++) L<ushort>(ref a, i) = (ushort)Math.Abs((int)(short)L<ushort>(ref b, i));
                else for (int i = 0; i < n / 4; i++) { int v = L<int>(ref b, i); L<uint>(ref a, i) = v < 0 ? (uint)-(long)v : (uint)v; }
                Put(ins, a);
                return true;
            }
            case Mnemonic.Phaddw: case Mnemonic.Phsubw: case Mnemonic.Phaddsw: case Mnemonic.Phsubsw:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                int h = n / 4; // pairs per source
                for (int i = 0; i < h; i++)
                {
                    r = HPairW(r, i, a, i, m);
                    r = HPairW(r, i + h, b, i, m);
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Phaddd: case Mnemonic.Phsubd:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                int h = n / 8;
                for (int i = 0; i < h; i++)
                {
                    int x0 = L<int>(ref a, 2 * i), x1 = L<int>(ref a, 2 * i + 1), y0 = L<int>(ref b, 2 * i), y1 = L<int>(ref b, 2 * i + 1);
                    L<int>(ref r, i) = m == Mnemonic.Phaddd ? x0 + x1 : x0 - x1;
                    L<int>(ref r, i + h) = m == Mnemonic.Phaddd ? y0 + y1 : y0 - y1;
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Phminposuw:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                int best = 0;
                for (int i = 1; i < 8; i++) if (L<ushort>(ref b, i) < L<ushort>(ref b, best)) best = i;
                Xr(ins.Op0Register) = new X128 { Lo = L<ushort>(ref b, best) | ((ulong)best << 16) };
                return true;
            }
            case Mnemonic.Mpsadbw:
            {
                if (!Bin(ins, out var a, out var b, out _)) return true;
                int imm = ins.Immediate8, ao = (imm & 4) != 0 ? 4 : 0, bo = (imm & 3) * 4;
                X128 r = default;
                for (int i = 0; i < 8; i++)
                {
                    int s = 0;
                    for (int k = 0; k < 4; k++) s += Math.Abs(L<byte>(ref a, ao + i + k) - L<byte>(ref b, bo + k));
                    L<ushort>(ref r, i) = (ushort)s;
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Ptest:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                ref X128 a = ref Xr(ins.Op0Register);
                uint f = 0;
                if (((a.Lo & b.Lo) | (a.Hi & b.Hi)) == 0) f |= Flags.ZF;
                if (((~a.Lo & b.Lo) | (~a.Hi & b.Hi)) == 0) f |= Flags.CF;
                SetArithFlags(f);
                return true;
            }

            // ---- shifts
            case Mnemonic.Psllw: case Mnemonic.Psrlw: case Mnemonic.Psraw:
            case Mnemonic.Pslld: case Mnemonic.Psrld: case Mnemonic.Psrad:
            case Mnemonic.Psllq: case Mnemonic.Psrlq:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                ulong cnt = b.Lo; // the whole low quadword counts (SDM PSLLW: count > 15 clears)
                int w = m is Mnemonic.Psllw or Mnemonic.Psrlw or Mnemonic.Psraw ? 2 : m is Mnemonic.Pslld or Mnemonic.Psrld or Mnemonic.Psrad ? 4 : 8;
                int bits = w * 8;
                for (int i = 0; i < n / w; i++)
                {
                    switch (w)
                    {
                        case 2:
                        {
                            ref ushort x = ref L<ushort>(ref a, i);
                            if (m == Mnemonic.Psraw) x = (ushort)((short)x >> (int)Math.Min(cnt, 15UL));
                            else if (cnt >= (ulong)bits) x = 0;
                            else x = m == Mnemonic.Psllw ? (ushort)(x << (int)cnt) : (ushort)(x >> (int)cnt);
                            break;
                        }
                        case 4:
                        {
                            ref uint x = ref L<uint>(ref a, i);
                            if (m == Mnemonic.Psrad) x = (uint)((int)x >> (int)Math.Min(cnt, 31UL));
                            else if (cnt >= (ulong)bits) x = 0;
                            else x = m == Mnemonic.Pslld ? x << (int)cnt : x >> (int)cnt;
                            break;
                        }
                        default:
                        {
                            ref ulong x = ref L<ulong>(ref a, i);
                            if (cnt >= 64) x = 0;
                            else x = m == Mnemonic.Psllq ? x << (int)cnt : x >> (int)cnt;
                            break;
                        }
                    }
                }
                Put(ins, a);
                return true;
            }
            case Mnemonic.Pslldq: case Mnemonic.Psrldq:
            {
                ref X128 a = ref Xr(ins.Op0Register);
                int c = ins.Immediate8;
                var src = a;
                X128 r = default;
                for (int i = 0; i < 16; i++)
                {
                    int j = m == Mnemonic.Pslldq ? i - c : i + c;
                    L<byte>(ref r, i) = j >= 0 && j < 16 ? L<byte>(ref src, j) : (byte)0;
                }
                a = r;
                return true;
            }
            case Mnemonic.Palignr:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                int c = ins.Immediate8;
                X128 r = default;
                for (int i = 0; i < n; i++)
                {
                    int j = i + c; // into the 2n-byte value a:b (b low)
                    L<byte>(ref r, i) = j < n ? L<byte>(ref b, j) : j < 2 * n ? L<byte>(ref a, j - n) : (byte)0;
                }
                Put(ins, r);
                return true;
            }

            // ---- pack / unpack
            case Mnemonic.Packsswb: case Mnemonic.Packuswb:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                int h = n / 2;
                for (int i = 0; i < h; i++)
                {
                    short x = L<short>(ref a, i), y = L<short>(ref b, i);
                    L<byte>(ref r, i) = m == Mnemonic.Packsswb ? (byte)SatB(x) : SatUB(x);
                    L<byte>(ref r, i + h) = m == Mnemonic.Packsswb ? (byte)SatB(y) : SatUB(y);
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Packssdw: case Mnemonic.Packusdw:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                int h = n / 4;
                for (int i = 0; i < h; i++)
                {
                    int x = L<int>(ref a, i), y = L<int>(ref b, i);
                    L<ushort>(ref r, i) = m == Mnemonic.Packssdw ? (ushort)SatW(x) : SatUW(x);
                    L<ushort>(ref r, i + h) = m == Mnemonic.Packssdw ? (ushort)SatW(y) : SatUW(y);
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Punpcklbw: case Mnemonic.Punpckhbw: case Mnemonic.Punpcklwd: case Mnemonic.Punpckhwd:
            case Mnemonic.Punpckldq: case Mnemonic.Punpckhdq: case Mnemonic.Punpcklqdq: case Mnemonic.Punpckhqdq:
            case Mnemonic.Unpcklps: case Mnemonic.Unpckhps: case Mnemonic.Unpcklpd: case Mnemonic.Unpckhpd:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                int w = m switch
                {
                    Mnemonic.Punpcklbw or Mnemonic.Punpckhbw => 1,
                    Mnemonic.Punpcklwd or Mnemonic.Punpckhwd => 2,
                    Mnemonic.Punpckldq or Mnemonic.Punpckhdq or Mnemonic.Unpcklps or Mnemonic.Unpckhps => 4,
                    _ => 8,
                };
                bool high = m is Mnemonic.Punpckhbw or Mnemonic.Punpckhwd or Mnemonic.Punpckhdq or Mnemonic.Punpckhqdq
                    or Mnemonic.Unpckhps or Mnemonic.Unpckhpd;
                X128 r = default;
                int cnt = n / w / 2, start = high ? cnt : 0;
                for (int i = 0; i < cnt; i++)
                    for (int k = 0; k < w; k++)
                    {
                        L<byte>(ref r, 2 * i * w + k) = L<byte>(ref a, (start + i) * w + k);
                        L<byte>(ref r, (2 * i + 1) * w + k) = L<byte>(ref b, (start + i) * w + k);
                    }
                Put(ins, r);
                return true;
            }

            // ---- shuffles
            case Mnemonic.Pshufd:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                int imm = ins.Immediate8;
                X128 r = default;
                for (int i = 0; i < 4; i++) L<uint>(ref r, i) = L<uint>(ref b, (imm >> (2 * i)) & 3);
                Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Pshufhw: case Mnemonic.Pshuflw:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                int imm = ins.Immediate8, o = m == Mnemonic.Pshufhw ? 4 : 0;
                X128 r = b;
                for (int i = 0; i < 4; i++) L<ushort>(ref r, o + i) = L<ushort>(ref b, o + ((imm >> (2 * i)) & 3));
                Xr(ins.Op0Register) = r;
                return true;
            }
            case Mnemonic.Pshufw:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                int imm = ins.Immediate8;
                X128 r = default;
                for (int i = 0; i < 4; i++) L<ushort>(ref r, i) = L<ushort>(ref b, (imm >> (2 * i)) & 3);
                SetMm(ins.Op0Register, r.Lo);
                return true;
            }
            case Mnemonic.Pshufb:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                X128 r = default;
                for (int i = 0; i < n; i++)
                {
                    byte s = L<byte>(ref b, i);
                    L<byte>(ref r, i) = (s & 0x80) != 0 ? (byte)0 : L<byte>(ref a, s & (n - 1));
                }
                Put(ins, r);
                return true;
            }
            case Mnemonic.Shufps:
            {
                if (!Bin(ins, out var a, out var b, out _)) return true;
                int imm = ins.Immediate8;
                X128 r = default;
                L<uint>(ref r, 0) = L<uint>(ref a, imm & 3);
                L<uint>(ref r, 1) = L<uint>(ref a, (imm >> 2) & 3);
                L<uint>(ref r, 2) = L<uint>(ref b, (imm >> 4) & 3);
                L<uint>(ref r, 3) = L<uint>(ref b, (imm >> 6) & 3);
                Put(ins, r);
                return true;
            }
            case Mnemonic.Shufpd:
            {
                if (!Bin(ins, out var a, out var b, out _)) return true;
                int imm = ins.Immediate8;
                Put(ins, new X128 { Lo = L<ulong>(ref a, imm & 1), Hi = L<ulong>(ref b, (imm >> 1) & 1) });
                return true;
            }
            case Mnemonic.Blendps: case Mnemonic.Blendpd: case Mnemonic.Pblendw:
            case Mnemonic.Blendvps: case Mnemonic.Blendvpd: case Mnemonic.Pblendvb:
            {
                if (!Bin(ins, out var a, out var b, out _)) return true;
                int w = m is Mnemonic.Blendps or Mnemonic.Blendvps ? 4 : m is Mnemonic.Blendpd or Mnemonic.Blendvpd ? 8 : m == Mnemonic.Pblendw ? 2 : 1;
                bool v = m is Mnemonic.Blendvps or Mnemonic.Blendvpd or Mnemonic.Pblendvb;
                ref X128 mask = ref S.Simd.Xmm(0);
                int imm = v ? 0 : ins.Immediate8;
                for (int i = 0; i < 16 / w; i++)
                {
                    bool sel = v ? (L<byte>(ref mask, i * w + w - 1) & 0x80) != 0 : ((imm >> i) & 1) != 0;
                    if (sel) for (int k = 0; k < w; k++) L<byte>(ref a, i * w + k) = L<byte>(ref b, i * w + k);
                }
                Put(ins, a);
                return true;
            }

            // ---- insert / extract
            case Mnemonic.Pextrb: case Mnemonic.Pextrw: case Mnemonic.Pextrd: case Mnemonic.Extractps:
            {
                if (!ReadV(ins, 1, out var s)) return true;
                int imm = ins.Immediate8;
                uint v = m switch
                {
                    Mnemonic.Pextrb => L<byte>(ref s, imm & 15),
                    Mnemonic.Pextrw => L<ushort>(ref s, imm & (IsMm(ins.Op1Register) ? 3 : 7)),
                    _ => L<uint>(ref s, imm & 3),
                };
                WriteV(ins, 0, new X128 { Lo = v });
                return true;
            }
            case Mnemonic.Pinsrb: case Mnemonic.Pinsrw: case Mnemonic.Pinsrd:
            {
                if (!Bin(ins, out var a, out var b, out int n)) return true;
                int imm = ins.Immediate8;
                if (m == Mnemonic.Pinsrb) L<byte>(ref a, imm & 15) = (byte)b.Lo;
                else if (m == Mnemonic.Pinsrw) L<ushort>(ref a, imm & (n / 2 - 1)) = (ushort)b.Lo;
                else L<uint>(ref a, imm & 3) = (uint)b.Lo;
                Put(ins, a);
                return true;
            }
            case Mnemonic.Insertps:
            {
                if (!Bin(ins, out var a, out var b, out _)) return true;
                int imm = ins.Immediate8;
                uint v = ins.Op1Kind == OpKind.Memory ? (uint)b.Lo : L<uint>(ref b, (imm >> 6) & 3);
                L<uint>(ref a, (imm >> 4) & 3) = v;
                for (int i = 0; i < 4; i++) if ((imm & (1 << i)) != 0) L<uint>(ref a, i) = 0;
                Put(ins, a);
                return true;
            }
            case Mnemonic.Pmovsxbw: case Mnemonic.Pmovsxbd: case Mnemonic.Pmovsxbq: case Mnemonic.Pmovsxwd:
            case Mnemonic.Pmovsxwq: case Mnemonic.Pmovsxdq: case Mnemonic.Pmovzxbw: case Mnemonic.Pmovzxbd:
            case Mnemonic.Pmovzxbq: case Mnemonic.Pmovzxwd: case Mnemonic.Pmovzxwq: case Mnemonic.Pmovzxdq:
            {
                if (!ReadV(ins, 1, out var b)) return true;
                (int from, int to) = m switch
                {
                    Mnemonic.Pmovsxbw or Mnemonic.Pmovzxbw => (1, 2), Mnemonic.Pmovsxbd or Mnemonic.Pmovzxbd => (1, 4),
                    Mnemonic.Pmovsxbq or Mnemonic.Pmovzxbq => (1, 8), Mnemonic.Pmovsxwd or Mnemonic.Pmovzxwd => (2, 4),
                    Mnemonic.Pmovsxwq or Mnemonic.Pmovzxwq => (2, 8), _ => (4, 8),
                };
                bool sx = m is Mnemonic.Pmovsxbw or Mnemonic.Pmovsxbd or Mnemonic.Pmovsxbq or Mnemonic.Pmovsxwd or Mnemonic.Pmovsxwq or Mnemonic.Pmovsxdq;
                X128 r = default;
                for (int i = 0; i < 16 / to; i++)
                {
                    long v = from switch
                    {
                        1 => sx ? (sbyte)L<byte>(ref b, i) : L<byte>(ref b, i),
                        2 => sx ? (short)L<ushort>(ref b, i) : L<ushort>(ref b, i),
                        _ => sx ? L<int>(ref b, i) : L<uint>(ref b, i),
                    };
                    if (to == 2) L<ushort>(ref r, i) = (ushort)v;
                    else if (to == 4) L<uint>(ref r, i) = (uint)v;
                    else L<ulong>(ref r, i) = (ulong)v;
                }
                Xr(ins.Op0Register) = r;
                return true;
            }
        }
        return false;
    }

    static X128 HPairW(X128 r, int at, X128 s, int pair, Mnemonic m)
    {
        short x0 = L<short>(ref s, 2 * pair), x1 = L<short>(ref s, 2 * pair + 1);
        L<short>(ref r, at) = m switch
        {
            Mnemonic.Phaddw => (short)(x0 + x1),
            Mnemonic.Phsubw => (short)(x0 - x1),
            Mnemonic.Phaddsw => SatW(x0 + x1),
            _ => SatW(x0 - x1),
        };
        return r;
    }
}
