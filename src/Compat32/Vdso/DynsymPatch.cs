using System.Buffers.Binary;
using System.Text;

namespace Compat32.Vdso;

/// <summary>
/// Boot-time edits of a vDSO's dynamic symbol table for the auxv and pointer-table designs (seed email): point a
/// symbol at the chosen entry stub, or remove it so that a caller that looks it up falls back to int $0x80.
/// </summary>
public static class DynsymPatch
{
    /// <summary>File offset of the .dynsym entry named <paramref name="name"/>, or -1 (what our vdso2c step
    /// records as the "function pointer" slot to rewrite).</summary>
    public static int EntryOffset(ReadOnlySpan<byte> so, string name)
    {
        uint shoff = BinaryPrimitives.ReadUInt32LittleEndian(so[32..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(so[48..]);
        for (int i = 0; i < shnum; i++)
        {
            var sh = so.Slice((int)shoff + 40 * i, 40);
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != 11) continue; // SHT_DYNSYM
            uint off = BinaryPrimitives.ReadUInt32LittleEndian(sh[16..]), size = BinaryPrimitives.ReadUInt32LittleEndian(sh[20..]);
            uint link = BinaryPrimitives.ReadUInt32LittleEndian(sh[24..]);
            var str = so.Slice((int)shoff + 40 * (int)link, 40);
            uint strOff = BinaryPrimitives.ReadUInt32LittleEndian(str[16..]);
            var want = Encoding.ASCII.GetBytes(name + "\0");
            for (uint e = off + 16; e + 16 <= off + size; e += 16)
            {
                uint n = BinaryPrimitives.ReadUInt32LittleEndian(so[(int)e..]);
                if (so.Slice((int)(strOff + n), want.Length).SequenceEqual(want)) return (int)e;
            }
        }
        return -1;
    }

    /// <summary>st_value = <paramref name="value"/> (and st_size), leaving name, binding and version.</summary>
    public static bool Repoint(Span<byte> so, string name, uint value, uint size)
    {
        int e = EntryOffset(so, name);
        if (e < 0) return false;
        BinaryPrimitives.WriteUInt32LittleEndian(so[(e + 4)..], value);
        BinaryPrimitives.WriteUInt32LittleEndian(so[(e + 8)..], size);
        return true;
    }

    /// <summary>Removes the definition: st_shndx = SHN_UNDEF, st_value = 0. Loaders and parse_vdso.c skip
    /// undefined entries, so a lookup by name fails.</summary>
    public static bool Remove(Span<byte> so, string name)
    {
        int e = EntryOffset(so, name);
        if (e < 0) return false;
        BinaryPrimitives.WriteUInt32LittleEndian(so[(e + 4)..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(so[(e + 8)..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(so[(e + 14)..], 0);
        return true;
    }
}
