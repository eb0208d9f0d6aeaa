using System.Buffers.Binary;
using Iced.Intel;

namespace Compat32.Vdso;

/// <summary>The kernel's x86_nops tables (arch/x86/include/asm/nops.h): which one is compiled in depends on
/// CONFIG_64BIT, not on the CPU; a 64-bit kernel uses long NOPs (0f 1f ...), a 32-bit kernel the lea/mov forms
/// that every i386-class CPU executes.</summary>
public static class Nops
{
    public const int MaxLen = 8; // ASM_NOP_MAX

    private static readonly byte[][] Nops32 =
    [
        [], [0x90], [0x89, 0xf6], [0x8d, 0x76, 0x00], [0x8d, 0x74, 0x26, 0x00], [0x3e, 0x8d, 0x74, 0x26, 0x00],
        [0x8d, 0xb6, 0, 0, 0, 0], [0x8d, 0xb4, 0x26, 0, 0, 0, 0], [0x3e, 0x8d, 0xb4, 0x26, 0, 0, 0, 0],
    ];

    private static readonly byte[][] Nops64 =
    [
        [], [0x90], [0x66, 0x90], [0x0f, 0x1f, 0x00], [0x0f, 0x1f, 0x40, 0x00], [0x0f, 0x1f, 0x44, 0x00, 0x00],
        [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00], [0x0f, 0x1f, 0x80, 0, 0, 0, 0], [0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0],
    ];

    public static ReadOnlySpan<byte> Get(int len, bool longNops64) => (longNops64 ? Nops64 : Nops32)[len];

    /// <summary>add_nops (alternative.c): fill with the longest NOPs first.</summary>
    public static void Fill(Span<byte> dst, bool longNops64)
    {
        while (dst.Length > 0)
        {
            int n = Math.Min(dst.Length, MaxLen);
            Get(n, longNops64).CopyTo(dst);
            dst = dst[n..];
        }
    }
}

/// <summary>One decoded <c>struct alt_instr</c> (alternative.h), with offsets resolved to image offsets.</summary>
public readonly record struct AltInstr(int EntryOffset, int InstrOffset, int ReplOffset, ushort CpuId, byte InstrLen, byte ReplLen)
{
    public const int Size = 12;
    public const ushort FlagInv = 1 << 15; // ALTINSTR_FLAG_INV
    public int Feature => CpuId & ~FlagInv;
    public bool Inverted => (CpuId & FlagInv) != 0;
}

/// <summary>Boot-time patching of the vDSO image, as init_vdso_image → apply_alternatives (arch/x86/kernel/alternative.c, 6.1).</summary>
public static class Alternatives
{
    private const int MaxPatchLen = 255; // MAX_PATCH_LEN

    /// <summary>Parses the image's .altinstructions table (vdso2c's alt/alt_len).</summary>
    public static IReadOnlyList<AltInstr> Read(ReadOnlySpan<byte> image, VdsoImage rec)
    {
        if (rec.AltLength % AltInstr.Size != 0 || rec.AltOffset < 0 || rec.AltLength < 0 || (long)rec.AltOffset + rec.AltLength > image.Length)
            throw new VdsoFormatException($".altinstructions [{rec.AltOffset:#x}+{rec.AltLength:#x}] is not a whole table inside the image");
        var list = new List<AltInstr>();
        for (int e = rec.AltOffset; e < rec.AltOffset + rec.AltLength; e += AltInstr.Size)
        {
            var s = image.Slice(e, AltInstr.Size);
            long instr = e + (long)BinaryPrimitives.ReadInt32LittleEndian(s);          // relative to the field
            long repl = e + 4 + (long)BinaryPrimitives.ReadInt32LittleEndian(s[4..]);
            var a = new AltInstr(e, (int)instr, (int)repl, BinaryPrimitives.ReadUInt16LittleEndian(s[8..]), s[10], s[11]);
            if (instr < 0 || instr + a.InstrLen > image.Length || repl < 0 || repl + a.ReplLen > image.Length)
                throw new VdsoFormatException($"alt_instr at {e:#x} points outside the image");
            if (a.ReplLen > a.InstrLen)
                throw new VdsoFormatException($"alt_instr at {e:#x}: replacement ({a.ReplLen}) longer than the site ({a.InstrLen})");
            list.Add(a);
        }
        return list;
    }

    /// <summary>
    /// apply_alternatives: entries in table order; a matching entry copies its replacement (CALL rel32 fixed up,
    /// rest 0x90), a later match overwrites an earlier one; every site, matched or not, then goes through
    /// optimize_nops, which turns runs of 0x90 into the kernel's NOP table (<paramref name="longNops64"/>:
    /// CONFIG_64BIT's long NOPs, else the 32-bit table).
    /// </summary>
    public static void Apply(Span<byte> image, VdsoImage rec, Func<int, bool> hasFeature, bool longNops64)
    {
        ArgumentNullException.ThrowIfNull(rec);
        ArgumentNullException.ThrowIfNull(hasFeature);
        Span<byte> buf = stackalloc byte[MaxPatchLen];
        foreach (var a in Read(image, rec))
        {
            var instr = image.Slice(a.InstrOffset, a.InstrLen);
            // Patch if the feature is present, or absent with ALTINSTR_FLAG_INV.
            if (hasFeature(a.Feature) != a.Inverted)
            {
                var repl = image.Slice(a.ReplOffset, a.ReplLen);
                repl.CopyTo(buf);
                if (a.ReplLen == 5 && buf[0] == 0xe8) // CALL rel32: keep the target when moving the insn
                    BinaryPrimitives.WriteInt32LittleEndian(buf[1..],
                        BinaryPrimitives.ReadInt32LittleEndian(buf[1..]) + (a.ReplOffset - a.InstrOffset));
                if (a.ReplLen > 0 && (repl[0] == 0xeb || repl[0] == 0xe9))
                    RecomputeJump(a, buf, longNops64);
                buf[a.ReplLen..a.InstrLen].Fill(0x90);
                buf[..a.InstrLen].CopyTo(instr);
            }
            OptimizeNops(image, a.InstrOffset, a.InstrLen, longNops64);
        }
    }

    /// <summary>recompute_jump: a JMP in the replacement is retargeted from its new place (5-byte form only).</summary>
    private static void RecomputeJump(AltInstr a, Span<byte> buf, bool longNops64)
    {
        if (a.ReplLen != 5) return;
        int o = BinaryPrimitives.ReadInt32LittleEndian(buf[1..]);
        long tgt = a.ReplOffset + a.ReplLen + (long)o;
        long n = tgt - a.InstrOffset;
        bool two = n >= 0 ? n - 2 <= 127 : ((n - 2) & 0xff) == (n - 2);
        if (two)
        {
            buf[0] = 0xeb; buf[1] = (byte)(sbyte)(n - 2);
            Nops.Get(3, longNops64).CopyTo(buf[2..]);
        }
        else
        {
            buf[0] = 0xe9;
            BinaryPrimitives.WriteInt32LittleEndian(buf[1..], (int)(n - 5));
        }
    }

    /// <summary>optimize_nops: walk the site instruction by instruction (decoding in the kernel's own mode) and
    /// replace each run of two or more 0x90 with add_nops.</summary>
    public static void OptimizeNops(Span<byte> image, int off, int len, bool longNops64)
    {
        var bytes = image.ToArray();
        int i = 0;
        while (i < len)
        {
            var dec = Decoder.Create(longNops64 ? 64 : 32, new ByteArrayCodeReader(bytes, off + i, bytes.Length - (off + i)));
            var ins = dec.Decode();
            if (ins.IsInvalid) return; // insn_decode_kernel failed
            if (ins.Length == 1 && bytes[off + i] == 0x90)
            {
                int j = i;
                while (j < len && bytes[off + j] == 0x90) j++;
                if (j - i > 1) Nops.Fill(image.Slice(off + i, j - i), longNops64);
                i = j;
            }
            else i += ins.Length;
        }
    }
}
