namespace Compat32.Elf;

/// <summary>Writes a minimal static i386 ET_EXEC with one RWX PT_LOAD: for programs we assemble ourselves
/// (the demo, test guests).</summary>
public static class ElfWriter
{
    public const uint DefaultBase = 0x08048000;
    public const int HeaderSize = 52 + 32;

    /// <summary>code is placed at base + HeaderSize; entry is an absolute address.</summary>
    public static byte[] StaticExecutable(byte[] code, uint entry, uint bssSize = 0, uint baseAddr = DefaultBase)
    {
        var f = new byte[HeaderSize + code.Length];
        void W16(int o, int v) => BitConverter.TryWriteBytes(f.AsSpan(o), (ushort)v);
        void W32(int o, uint v) => BitConverter.TryWriteBytes(f.AsSpan(o), v);
        f[0] = 0x7F; f[1] = (byte)'E'; f[2] = (byte)'L'; f[3] = (byte)'F';
        f[4] = 1; f[5] = 1; f[6] = 1; f[7] = 0; // ELFCLASS32, little endian, version 1, SYSV ABI
        W16(16, Elf32.ET_EXEC); W16(18, Elf32.EM_386); W32(20, 1);
        W32(24, entry); W32(28, 52); W32(32, 0); W32(36, 0);
        W16(40, 52); W16(42, 32); W16(44, 1); W16(46, 40); W16(48, 0); W16(50, 0);
        int p = 52;
        W32(p, Elf32.PT_LOAD); W32(p + 4, 0); W32(p + 8, baseAddr); W32(p + 12, baseAddr);
        W32(p + 16, (uint)f.Length); W32(p + 20, (uint)f.Length + bssSize);
        W32(p + 24, Elf32.PF_R | Elf32.PF_W | Elf32.PF_X); W32(p + 28, 0x1000);
        code.CopyTo(f, HeaderSize);
        return f;
    }
}
