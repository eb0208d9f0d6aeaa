using System.Buffers.Binary;
using System.Text;

namespace Compat32.Vdso;

/// <summary>A vDSO ELF that cannot be used; the message is one line.</summary>
public sealed class VdsoFormatException : Exception
{
    public VdsoFormatException(string message) : base(message) { }
}

/// <summary>
/// What vdso2c emits (struct vdso_image in arch/x86/include/asm/vdso.h): the raw image padded to pages, the
/// .altinstructions location and the symbol offsets the kernel needs (relative to the vDSO base).
/// </summary>
public sealed class VdsoImage
{
    public byte[] Data { get; }
    /// <summary>Mapping size: the image rounded up to pages (vdso2c's mapping_size).</summary>
    public int Size { get; }
    public int AltOffset { get; }
    public int AltLength { get; }
    public int SymVvarStart { get; }
    public int SymVvarPage { get; }
    public int SymPvclockPage { get; }
    public int SymHvclockPage { get; }
    public int SymTimensPage { get; }
    public int SymKernelVsyscall { get; private set; }
    public int SymKernelSigreturn { get; }
    public int SymKernelRtSigreturn { get; }
    public int SymInt80LandingPad { get; private set; }
    public int SymVdso32SigreturnLandingPad { get; }
    public int SymVdso32RtSigreturnLandingPad { get; }
    /// <summary>Exported dynamic symbols (name → offset), without version suffix.</summary>
    public IReadOnlyDictionary<string, int> Symbols { get; }
    /// <summary>Dynamic symbol → version name (LINUX_2.5 / LINUX_2.6).</summary>
    public IReadOnlyDictionary<string, string> SymbolVersions { get; }
    /// <summary>Where the internal symbols came from: ".dbg .symtab", ".symtab" or a derived fallback.</summary>
    public string SymbolSource { get; }
    /// <summary>Non-fatal notes, e.g. values derived without a .dbg symbol table.</summary>
    public IReadOnlyList<string> Warnings { get; }
    /// <summary>Every named symbol of the .symtab (or .dbg) the record was made from, locals included: the design
    /// lab's images name one landing pad per stub there.</summary>
    public IReadOnlyDictionary<string, int> AllSymbols { get; private set; } = new Dictionary<string, int>();

    /// <summary>The same record with another entry stub chosen at boot (AT_SYSINFO) and its landing pad: what
    /// the auxv and pointer-table designs do instead of patching alternatives.</summary>
    public VdsoImage WithEntry(int kernelVsyscall, int landingPad)
    {
        var c = (VdsoImage)MemberwiseClone();
        c.SymKernelVsyscall = kernelVsyscall;
        c.SymInt80LandingPad = landingPad;
        return c;
    }

    private VdsoImage(byte[] data, int size, int alt, int altLen, Dictionary<string, int> s,
        Dictionary<string, int> dyn, Dictionary<string, string> vers, string source, List<string> warnings)
    {
        Data = data; Size = size; AltOffset = alt; AltLength = altLen;
        SymVvarStart = s["vvar_start"]; SymVvarPage = s["vvar_page"]; SymPvclockPage = s["pvclock_page"];
        SymHvclockPage = s["hvclock_page"]; SymTimensPage = s["timens_page"];
        SymKernelVsyscall = s["__kernel_vsyscall"]; SymKernelSigreturn = s["__kernel_sigreturn"];
        SymKernelRtSigreturn = s["__kernel_rt_sigreturn"]; SymInt80LandingPad = s["int80_landing_pad"];
        SymVdso32SigreturnLandingPad = s["vdso32_sigreturn_landing_pad"];
        SymVdso32RtSigreturnLandingPad = s["vdso32_rt_sigreturn_landing_pad"];
        Symbols = dyn; SymbolVersions = vers; SymbolSource = source; Warnings = warnings;
    }

    /// <summary>
    /// vdso2c for an image linked elsewhere (e.g. the kernel's vdso32.so): checks the shape vdso2c insists on,
    /// takes .altinstructions from the section table and the symbols from <paramref name="dbg"/>'s .symtab when
    /// given (vdso2c reads vdso32.so.dbg), else from the image's own .symtab, else derives the landing pads by
    /// decoding (the `int $0x80` inside each entry) and assumes the 6.1 vvar layout; see <see cref="Warnings"/>.
    /// </summary>
    public static VdsoImage FromElf(byte[] so, byte[]? dbg = null)
    {
        ArgumentNullException.ThrowIfNull(so);
        try { return Parse(so, dbg); }
        catch (VdsoFormatException) { throw; }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or OverflowException or InvalidOperationException)
        {
            throw new VdsoFormatException("malformed vDSO ELF: " + e.Message.Split('\n')[0]);
        }
    }

    private sealed class Elf
    {
        public readonly byte[] B;
        public readonly string What;
        public readonly List<(string Name, uint Type, uint Addr, uint Off, uint Size, uint Link, uint Ent)> Sections = [];
        public readonly List<(uint Type, uint Off, uint Vaddr, uint Filesz, uint Memsz)> Phdrs = [];
        public uint Entry;

        public Elf(byte[] b, string what)
        {
            B = b; What = what;
            if (b.Length < 52 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') Fail("not an ELF file");
            if (b[4] != 1) Fail("not ELFCLASS32");
            if (b[5] != 1) Fail("not little-endian");
            if (U16(16) != 3) Fail("not ET_DYN");
            if (U16(18) != 3) Fail("not EM_386");
            Entry = U32(24);
            uint phoff = U32(28), shoff = U32(32);
            int phent = U16(42), phnum = U16(44), shent = U16(46), shnum = U16(48), shstrndx = U16(50);
            if (phnum > 0)
            {
                if (phent != 32) Fail("bad e_phentsize");
                Range(phoff, (ulong)phnum * 32, "program headers");
                for (int i = 0; i < phnum; i++)
                {
                    uint o = phoff + (uint)i * 32;
                    Phdrs.Add((U32(o), U32(o + 4), U32(o + 8), U32(o + 16), U32(o + 20)));
                }
            }
            if (shnum == 0) Fail("no section table");
            if (shent != 40) Fail("bad e_shentsize");
            Range(shoff, (ulong)shnum * 40, "section headers");
            if (shstrndx >= shnum) Fail("bad e_shstrndx");
            var raw = new List<(uint Name, uint Type, uint Addr, uint Off, uint Size, uint Link, uint Ent)>();
            for (int i = 0; i < shnum; i++)
            {
                uint o = shoff + (uint)i * 40;
                raw.Add((U32(o), U32(o + 4), U32(o + 12), U32(o + 16), U32(o + 20), U32(o + 24), U32(o + 36)));
                if (raw[i].Type != 8 /* NOBITS */ && raw[i].Type != 0) Range(raw[i].Off, raw[i].Size, $"section {i}");
            }
            var shstr = raw[shstrndx];
            foreach (var s in raw) Sections.Add((Str(shstr.Off, shstr.Size, s.Name), s.Type, s.Addr, s.Off, s.Size, s.Link, s.Ent));
        }

        public ushort U16(uint o) { Range(o, 2, "field"); return BinaryPrimitives.ReadUInt16LittleEndian(B.AsSpan((int)o)); }
        public uint U32(uint o) { Range(o, 4, "field"); return BinaryPrimitives.ReadUInt32LittleEndian(B.AsSpan((int)o)); }
        public void Range(ulong off, ulong len, string what) { if (off + len > (ulong)B.Length) Fail($"{what} outside the file"); }
        public void Fail(string m) => throw new VdsoFormatException($"{What}: {m}");

        public string Str(uint tabOff, uint tabSize, uint idx)
        {
            if (idx >= tabSize) Fail("string index outside its table");
            int start = (int)(tabOff + idx), end = start;
            int lim = (int)(tabOff + tabSize);
            while (end < lim && B[end] != 0) end++;
            if (end >= lim) Fail("unterminated string");
            return Encoding.ASCII.GetString(B, start, end - start);
        }

        /// <summary>(name, value, info, shndx, index) of every symbol in the first section of the given type.</summary>
        public List<(string Name, uint Value, byte Info, ushort Shndx)>? Symbols(uint type)
        {
            int i = Sections.FindIndex(s => s.Type == type);
            if (i < 0) return null;
            var s = Sections[i];
            if (s.Ent != 16 || s.Size % 16 != 0) Fail("bad symbol table entry size");
            if (s.Link >= Sections.Count) Fail("symbol table links to no string table");
            var st = Sections[(int)s.Link];
            var list = new List<(string, uint, byte, ushort)>();
            for (uint o = s.Off; o < s.Off + s.Size; o += 16)
                list.Add((Str(st.Off, st.Size, U32(o)), U32(o + 4), B[o + 12], U16(o + 14)));
            return list;
        }
    }

    private static readonly string[] Required =
    [
        "vvar_start", "vvar_page", "pvclock_page", "hvclock_page", "timens_page", "__kernel_vsyscall",
        "__kernel_sigreturn", "__kernel_rt_sigreturn", "int80_landing_pad", "vdso32_rt_sigreturn_landing_pad",
        "vdso32_sigreturn_landing_pad",
    ];

    private static VdsoImage Parse(byte[] so, byte[]? dbg)
    {
        var e = new Elf(so, "vDSO image");
        var warnings = new List<string>();
        // vdso2c.h: exactly one PT_LOAD at offset 0 / vaddr 0 with filesz == memsz, PT_DYNAMIC inside it.
        var loads = e.Phdrs.Where(p => p.Type == 1).ToList();
        if (loads.Count != 1) e.Fail(loads.Count == 0 ? "no PT_LOAD" : "multiple PT_LOAD segs");
        if (loads[0].Off != 0 || loads[0].Vaddr != 0) e.Fail("PT_LOAD in wrong place");
        if (loads[0].Filesz != loads[0].Memsz) e.Fail("cannot handle memsz != filesz");
        if (loads[0].Filesz > so.Length) e.Fail("PT_LOAD extends past the file");
        var dynPh = e.Phdrs.Where(p => p.Type == 2).ToList();
        if (dynPh.Count != 1) e.Fail("need exactly one PT_DYNAMIC");
        if ((ulong)dynPh[0].Off + dynPh[0].Filesz > loads[0].Filesz) e.Fail("dynamic section not in PT_LOAD");
        for (uint o = dynPh[0].Off; o + 8 <= dynPh[0].Off + dynPh[0].Filesz; o += 8)
        {
            uint tag = e.U32(o);
            if (tag == 0) break;
            if (tag is 7 or 17 or 36 /* DT_RELA, DT_REL, DT_RELR */) e.Fail("vdso image contains dynamic relocations");
        }
        if (e.Entry >= loads[0].Filesz) e.Fail("entry point outside PT_LOAD");

        int alt = 0, altLen = 0;
        var altSec = e.Sections.FindIndex(s => s.Name == ".altinstructions");
        if (altSec >= 0) { alt = (int)e.Sections[altSec].Off; altLen = (int)e.Sections[altSec].Size; }
        else warnings.Add("no .altinstructions: nothing to patch");
        if (altLen % AltInstr.Size != 0) e.Fail(".altinstructions is not a whole number of alt_instr");

        // Exported dynamic symbols with their versions.
        var dynsyms = e.Symbols(11) ?? throw new VdsoFormatException("vDSO image: no .dynsym");
        var dyn = new Dictionary<string, int>();
        var vers = new Dictionary<string, string>();
        var versym = e.Sections.FindIndex(s => s.Type == 0x6fffffff);
        var verNames = VersionNames(e);
        for (int i = 1; i < dynsyms.Count; i++)
        {
            var s = dynsyms[i];
            if ((s.Info >> 4) == 0 || s.Shndx == 0 || (s.Info & 0xf) != 2 /* STT_FUNC */) continue;
            dyn[s.Name] = (int)s.Value;
            if (versym >= 0)
            {
                ushort v = (ushort)(e.U16(e.Sections[versym].Off + 2 * (uint)i) & 0x7fff);
                if (verNames.TryGetValue(v, out var vn)) vers[s.Name] = vn;
            }
        }

        // Internal symbols: the .dbg's .symtab as vdso2c, else our own .symtab, else derive.
        var syms = new Dictionary<string, int>();
        string source;
        List<(string Name, uint Value, byte Info, ushort Shndx)>? table = null;
        if (dbg != null)
        {
            var d = new Elf(dbg, "vDSO .dbg");
            if (d.Entry != e.Entry) d.Fail("entry point differs from the image: not its .dbg");
            table = d.Symbols(2) ?? throw new VdsoFormatException("vDSO .dbg: no .symtab");
            source = ".dbg .symtab";
        }
        else if ((table = e.Symbols(2)) != null) source = ".symtab";
        else source = ".dynsym + derived";
        var all = new Dictionary<string, int>();
        if (table != null)
            foreach (var s in table)
            {
                if (Required.Contains(s.Name) && !syms.ContainsKey(s.Name)) syms[s.Name] = (int)s.Value;
                if (s.Name.Length > 0) all.TryAdd(s.Name, (int)s.Value);
            }
        foreach (var n in new[] { "__kernel_vsyscall", "__kernel_sigreturn", "__kernel_rt_sigreturn" })
            if (!syms.ContainsKey(n) && dyn.TryGetValue(n, out var v)) syms[n] = v;
        if (!syms.ContainsKey("vvar_start"))
        {
            syms["vvar_start"] = VvarLayout.VvarStart;
            warnings.Add("vvar_start not in a symbol table: assuming the 6.1 layout (4 pages below the image)");
        }
        syms.TryAdd("vvar_page", syms["vvar_start"]);
        syms.TryAdd("pvclock_page", syms["vvar_start"] + VvarLayout.PageSize);
        syms.TryAdd("hvclock_page", syms["vvar_start"] + 2 * VvarLayout.PageSize);
        syms.TryAdd("timens_page", syms["vvar_start"] + 3 * VvarLayout.PageSize);
        foreach (var (pad, fn) in new[] { ("int80_landing_pad", "__kernel_vsyscall"),
                     ("vdso32_sigreturn_landing_pad", "__kernel_sigreturn"), ("vdso32_rt_sigreturn_landing_pad", "__kernel_rt_sigreturn") })
        {
            if (syms.ContainsKey(pad) || !syms.TryGetValue(fn, out var start)) continue;
            syms[pad] = FindAfterInt80(e, start, loads[0].Filesz) ?? throw new VdsoFormatException($"vDSO image: cannot locate {pad}");
            warnings.Add($"{pad} derived from the int $0x80 in {fn} (no symbol table carries it; pass the .dbg)");
        }
        foreach (var r in Required)
            if (!syms.ContainsKey(r)) throw new VdsoFormatException($"vDSO image: missing required symbol {r}");
        foreach (var r in Required.Where(r => !r.Contains("page") && r != "vvar_start"))
            if (syms[r] < 0 || syms[r] >= loads[0].Filesz) e.Fail($"{r} outside PT_LOAD");

        int size = (so.Length + VvarLayout.PageSize - 1) / VvarLayout.PageSize * VvarLayout.PageSize;
        if (size == 0) e.Fail("empty image");
        var data = new byte[size];
        so.CopyTo(data, 0);
        return new VdsoImage(data, size, alt, altLen, syms, dyn, vers, source, warnings) { AllSymbols = all };
    }

    private static Dictionary<ushort, string> VersionNames(Elf e)
    {
        var r = new Dictionary<ushort, string>();
        int i = e.Sections.FindIndex(s => s.Type == 0x6ffffffd);
        if (i < 0) return r;
        var vd = e.Sections[i];
        if (vd.Link >= e.Sections.Count) return r;
        var str = e.Sections[(int)vd.Link];
        uint o = vd.Off;
        for (int n = 0; n < 64; n++)
        {
            ushort ndx = e.U16(o + 4);
            uint aux = e.U32(o + 12), next = e.U32(o + 16);
            r[ndx] = e.Str(str.Off, str.Size, e.U32(o + aux));
            if (next == 0) break;
            o += next;
        }
        return r;
    }

    /// <summary>Walks instructions from <paramref name="start"/> and returns the offset just past the first
    /// `int $0x80` — where the kernel's landing-pad labels sit in system_call.S and sigreturn.S.</summary>
    private static int? FindAfterInt80(Elf e, int start, uint limit)
    {
        var dec = Iced.Intel.Decoder.Create(32, new Iced.Intel.ByteArrayCodeReader(e.B, start, (int)limit - start));
        dec.IP = (ulong)start;
        for (int n = 0; n < 32 && dec.IP < limit; n++)
        {
            var ins = dec.Decode();
            if (ins.IsInvalid) return null;
            if (ins.Code == Iced.Intel.Code.Int_imm8 && ins.Immediate8 == 0x80) return (int)ins.NextIP;
        }
        return null;
    }
}
