using System.Buffers.Binary;

namespace Compat32.Elf;

/// <summary>A file we cannot run: the message is one line for the user (binfmt_elf's -ENOEXEC cases).</summary>
public sealed class ElfFormatException(string message) : Exception(message);

public struct ProgramHeader
{
    public uint Type, Offset, VAddr, PAddr, FileSize, MemSize, Flags, Align;
}

/// <summary>An ELF32 image as the kernel's loader checks it (include/uapi/linux/elf.h layouts).</summary>
public sealed class Elf32
{
    public const ushort ET_EXEC = 2, ET_DYN = 3, EM_386 = 3;
    public const uint PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4, PT_PHDR = 6, PT_TLS = 7,
        PT_GNU_EH_FRAME = 0x6474e550, PT_GNU_STACK = 0x6474e551, PT_GNU_RELRO = 0x6474e552, PT_GNU_PROPERTY = 0x6474e553;
    public const uint PF_X = 1, PF_W = 2, PF_R = 4;

    public ushort Type, Machine;
    public uint Entry, PhOff, ShOff;
    public ushort PhEntSize, PhNum, ShEntSize, ShNum, ShStrNdx;
    public ProgramHeader[] Phdrs = Array.Empty<ProgramHeader>();
    public string? Interp;
    public bool ExecStack;

    Elf32() { }

    public static Elf32 Parse(byte[] d, string name = "file") => Parse(new ReadOnlySpan<byte>(d), name);

    /// <summary>The program's header checks; the image stays alive while its bytes are read.</summary>
    public static Elf32 Parse(Kernel.Vfs.ProgramImage img, string name = "file")
    {
        try { return Parse(img.Span, name); }
        finally { GC.KeepAlive(img); }
    }

    public static Elf32 Parse(ReadOnlySpan<byte> d, string name = "file")
    {
        if (d.Length < 4 || d[0] != 0x7F || d[1] != (byte)'E' || d[2] != (byte)'L' || d[3] != (byte)'F')
            throw new ElfFormatException("not an ELF file");
        if (d.Length < 52) throw new ElfFormatException("truncated ELF header");
        if (d[4] == 2) throw new ElfFormatException("64-bit ELF (ELFCLASS64); compat32 runs 32-bit i386 programs");
        if (d[4] != 1) throw new ElfFormatException($"unsupported ELF class {d[4]}");
        if (d[5] != 1) throw new ElfFormatException("not a little-endian ELF file");
        if (d[6] != 1) throw new ElfFormatException($"unsupported ELF version {d[6]}");
        var e = new Elf32
        {
            Type = U16(d, 16), Machine = U16(d, 18), Entry = U32(d, 24), PhOff = U32(d, 28), ShOff = U32(d, 32),
            PhEntSize = U16(d, 42), PhNum = U16(d, 44), ShEntSize = U16(d, 46), ShNum = U16(d, 48), ShStrNdx = U16(d, 50),
        };
        if (e.Machine != EM_386) throw new ElfFormatException($"ELF for machine {e.Machine} ({MachineName(e.Machine)}), not i386");
        if (e.Type != ET_EXEC && e.Type != ET_DYN) throw new ElfFormatException($"ELF type {e.Type} is not an executable or shared object");
        // elf_read_phdrs: e_phentsize must match, the table must fit in 64 KiB and in the file.
        if (e.PhEntSize != 32) throw new ElfFormatException($"bad program header entry size {e.PhEntSize}");
        if (e.PhNum < 1 || e.PhNum > 65536 / 32) throw new ElfFormatException($"bad program header count {e.PhNum}");
        if ((ulong)e.PhOff + (ulong)e.PhNum * 32 > (ulong)d.Length) throw new ElfFormatException("program headers beyond end of file (truncated?)");
        e.Phdrs = new ProgramHeader[e.PhNum];
        for (int i = 0; i < e.PhNum; i++)
        {
            int o = (int)e.PhOff + i * 32;
            e.Phdrs[i] = new ProgramHeader
            {
                Type = U32(d, o), Offset = U32(d, o + 4), VAddr = U32(d, o + 8), PAddr = U32(d, o + 12),
                FileSize = U32(d, o + 16), MemSize = U32(d, o + 20), Flags = U32(d, o + 24), Align = U32(d, o + 28),
            };
        }
        bool anyLoad = false;
        foreach (var p in e.Phdrs)
        {
            switch (p.Type)
            {
                case PT_LOAD:
                    anyLoad = true;
                    if (p.FileSize > p.MemSize) throw new ElfFormatException("PT_LOAD with p_filesz > p_memsz");
                    if ((ulong)p.Offset + p.FileSize > (ulong)d.Length) throw new ElfFormatException("PT_LOAD segment beyond end of file (truncated?)");
                    if ((ulong)p.VAddr + p.MemSize > 0xFFFFE000UL) throw new ElfFormatException("PT_LOAD segment beyond the 32-bit user address space");
                    if (((p.VAddr - p.Offset) & 0xFFF) != 0) throw new ElfFormatException("PT_LOAD segment offset and address disagree modulo the page size");
                    break;
                case PT_INTERP:
                    if (p.FileSize < 2 || p.FileSize > 4096 || (ulong)p.Offset + p.FileSize > (ulong)d.Length)
                        throw new ElfFormatException("bad PT_INTERP");
                    if (d[(int)(p.Offset + p.FileSize - 1)] != 0) throw new ElfFormatException("PT_INTERP not NUL-terminated");
                    // open_exec takes the name as a C string: it ends at the first NUL, wherever p_filesz ends
                    int len = d.Slice((int)p.Offset, (int)p.FileSize).IndexOf((byte)0);
                    e.Interp = System.Text.Encoding.UTF8.GetString(d.Slice((int)p.Offset, len));
                    break;
                case PT_GNU_STACK:
                    e.ExecStack = (p.Flags & PF_X) != 0;
                    break;
            }
        }
        if (!anyLoad) throw new ElfFormatException("no PT_LOAD segments");
        return e;
    }

    static string MachineName(ushort m) => m switch
    {
        62 => "x86-64", 40 => "ARM", 183 => "AArch64", 243 => "RISC-V", 8 => "MIPS", 20 => "PowerPC", 21 => "PowerPC64", 2 => "SPARC",
        _ => "unknown",
    };

    public static ushort U16(ReadOnlySpan<byte> d, int o) => BinaryPrimitives.ReadUInt16LittleEndian(d[o..]);
    public static uint U32(ReadOnlySpan<byte> d, int o) => BinaryPrimitives.ReadUInt32LittleEndian(d[o..]);
}
