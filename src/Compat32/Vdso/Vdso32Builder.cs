using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Compat32.Vdso;

/// <summary>
/// Links the vDSO source into linux-gate.so.1 the way vdso32.lds.S / vdso-layout.lds.S + ld do, then turns it
/// into the vdso2c record. One PT_LOAD covering headers through .altinstr_replacement; .symtab/.strtab (the
/// .dbg's symbols, so FromElf on our own image needs no separate .dbg), .shstrtab and the section table follow.
/// </summary>
public static class Vdso32Builder
{
    public const string Soname = "linux-gate.so.1";
    /// <summary>LINUX_VERSION_CODE = KERNEL_VERSION(6, 1, 176): Debian's linux-source-6.1 SUBLEVEL.</summary>
    public const uint LinuxVersionCode = (6u << 16) | (1u << 8) | 176u;
    public const int ImagePages = 2;

    private static readonly (string Name, int Version)[] Exports =
    [
        // Version indices in version-script order: LINUX_2.6 = 2, LINUX_2.5 = 3 (vdso32.lds.S).
        ("__kernel_vsyscall", 3), ("__kernel_sigreturn", 3), ("__kernel_rt_sigreturn", 3),
        ("__vdso_clock_gettime", 2), ("__vdso_gettimeofday", 2), ("__vdso_time", 2),
        ("__vdso_clock_getres", 2), ("__vdso_clock_gettime64", 2),
    ];
    private static readonly string[] VersionNames = ["", Soname, "LINUX_2.6", "LINUX_2.5"];

    // ELF constants (elf.h).
    private const int EhdrSize = 52, PhdrSize = 32, ShdrSize = 40, SymSize = 16;
    private const uint SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_HASH = 5, SHT_DYNAMIC = 6, SHT_NOTE = 7,
        SHT_GNU_HASH = 0x6ffffff6, SHT_GNU_verdef = 0x6ffffffd, SHT_GNU_versym = 0x6fffffff;
    private const uint SHF_WRITE = 1, SHF_ALLOC = 2, SHF_EXECINSTR = 4;
    private const uint PT_LOAD = 1, PT_DYNAMIC = 2, PT_NOTE = 4, PT_GNU_EH_FRAME = 0x6474e550;
    private const int DT_NULL = 0, DT_HASH = 4, DT_STRTAB = 5, DT_SYMTAB = 6, DT_STRSZ = 10, DT_SYMENT = 11,
        DT_SONAME = 14, DT_SYMBOLIC = 16, DT_FLAGS = 30, DF_SYMBOLIC = 2, DT_GNU_HASH = 0x6ffffef5,
        DT_VERSYM = 0x6ffffff0, DT_VERDEF = 0x6ffffffc, DT_VERDEFNUM = 0x6ffffffd;
    private const byte STB_LOCAL = 0, STB_GLOBAL = 1, STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2;
    private const ushort SHN_ABS = 0xfff1;

    /// <summary>Builds the 64-bit kernel's image (the one compat tasks get).</summary>
    public static VdsoImage Build() => Build(VdsoTarget.Kernel64);

    public static VdsoImage Build(VdsoTarget target) => Build(target, VdsoVariant.Default);

    /// <summary>Builds one of the design lab's images (Lab/Designs.cs); Default is the image every machine uses.</summary>
    public static VdsoImage Build(VdsoTarget target, VdsoVariant variant)
    {
        var src = new Vdso32Source(target, variant);
        // Sizes of everything before .text do not depend on where .text lands (CFI deltas are relative).
        var probe = src.Assemble(0);
        var lay = new Layout(probe);
        var text = src.Assemble(lay.Text);
        if (text.Code.Length != probe.Code.Length) throw new InvalidOperationException("vDSO text size changed with its address");
        var so = Link(lay, text);
        return FromBuilt(so, text);
    }

    /// <summary>Dynamic symbol order: sorted by GNU hash bucket, as ld does (.gnu.hash needs it).</summary>
    private const int GnuBuckets = 3, SysvBuckets = 3;

    private sealed class Layout
    {
        public readonly List<(string Name, int Version)> Dyn;
        public readonly byte[] DynStr;
        public readonly Dictionary<string, int> DynStrOff = [];
        public readonly uint Hash, GnuHash, DynSym, DynStrA, Versym, Verdef, Dynamic, Rodata, Note, EhHdr, Eh, Text,
            Alt, AltRepl, End;
        public readonly int HashSize, GnuHashSize, DynSymSize, VersymSize, VerdefSize, DynamicSize, NoteSize, EhHdrSize,
            EhSize, AltSize, AltReplSize, TextSize;
        public const int DynamicEntries = 13;

        public Layout(TextResult probe)
        {
            // ld emits the version-definition names as OBJECT ABS symbols too; keep them for fidelity.
            Dyn = [.. Exports.Select(e => (e.Name, e.Version)), ("LINUX_2.5", 3), ("LINUX_2.6", 2)];
            Dyn = [.. Dyn.OrderBy(d => GnuHashOf(d.Name) % GnuBuckets)];
            var s = new List<byte> { 0 };
            foreach (var n in Dyn.Select(d => d.Name).Concat([Soname]).Distinct())
            {
                DynStrOff[n] = s.Count;
                s.AddRange(Encoding.ASCII.GetBytes(n)); s.Add(0);
            }
            DynStr = [.. s];
            int nsym = Dyn.Count + 1;
            uint at = EhdrSize + 4 * PhdrSize;
            uint Place(int size, int align) { at = (uint)((at + align - 1) & ~(align - 1)); uint r = at; at += (uint)size; return r; }
            HashSize = 4 * (2 + SysvBuckets + nsym); Hash = Place(HashSize, 4);
            GnuHashSize = 4 * (4 + 1 + GnuBuckets + Dyn.Count); GnuHash = Place(GnuHashSize, 4);
            DynSymSize = SymSize * nsym; DynSym = Place(DynSymSize, 4);
            DynStrA = Place(DynStr.Length, 1);
            VersymSize = 2 * nsym; Versym = Place(VersymSize, 2);
            VerdefSize = 28 * 3; Verdef = Place(VerdefSize, 4);
            DynamicSize = 8 * DynamicEntries; Dynamic = Place(DynamicSize, 4);
            Rodata = Place(0, 4);
            NoteSize = NoteBytes(new byte[20]).Length; Note = Place(NoteSize, 4);
            EhHdrSize = EhFrameWriter.HdrSize(probe.Cfi.Count); EhHdr = Place(EhHdrSize, 4);
            EhSize = EhFrameWriter.Build(probe.Cfi, 0, out _).Length; Eh = Place(EhSize, 4);
            TextSize = probe.Code.Length; Text = Place(TextSize, 16);
            AltSize = AltInstr.Size * probe.Alts.Sum(a => a.Alts.Count); Alt = Place(AltSize, 1);
            AltReplSize = probe.Alts.Sum(a => a.Alts.Sum(x => x.Repl.Length)); AltRepl = Place(AltReplSize, 1);
            End = at;
        }
    }

    /// <summary>Linux note (note.S), the build-salt note (BUILD_SALT) and the GNU build-id note (ld --build-id).</summary>
    private static byte[] NoteBytes(byte[] buildId)
    {
        var o = new List<byte>();
        void Add(string name, uint type, byte[] desc)
        {
            var n = Encoding.ASCII.GetBytes(name + "\0");
            o.AddRange(BitConverter.GetBytes(n.Length)); o.AddRange(BitConverter.GetBytes(desc.Length));
            o.AddRange(BitConverter.GetBytes(type));
            o.AddRange(n); while (o.Count % 4 != 0) o.Add(0);
            o.AddRange(desc); while (o.Count % 4 != 0) o.Add(0);
        }
        Add("Linux", 0, BitConverter.GetBytes(LinuxVersionCode));
        Add("Linux", 0x100, BitConverter.GetBytes(0));  // LINUX_ELFNOTE_BUILD_SALT, empty salt
        Add("GNU", 3, buildId);                          // NT_GNU_BUILD_ID
        return [.. o];
    }

    public static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (byte c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }

    public static uint GnuHashOf(string name)
    {
        uint h = 5381;
        foreach (byte c in Encoding.ASCII.GetBytes(name)) h = h * 33 + c;
        return h;
    }

    private static byte[] Link(Layout L, TextResult T)
    {
        var img = new byte[ImagePages * VvarLayout.PageSize];
        var span = img.AsSpan();
        void U32(uint off, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(img.AsSpan((int)off), v);
        void U16(uint off, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(img.AsSpan((int)off), v);
        void I32(uint off, int v) => BinaryPrimitives.WriteInt32LittleEndian(img.AsSpan((int)off), v);

        int nsym = L.Dyn.Count + 1;
        uint SymValue(string n) => T.Funcs.TryGetValue(n, out var f) ? f.Addr : 0;

        // .hash (SysV): bucket/chain over dynsym indices.
        {
            U32(L.Hash, SysvBuckets); U32(L.Hash + 4, (uint)nsym);
            var bucket = new uint[SysvBuckets]; var chain = new uint[nsym];
            for (int i = 1; i < nsym; i++)
            {
                uint b = ElfHash(L.Dyn[i - 1].Name) % SysvBuckets;
                chain[i] = bucket[b]; bucket[b] = (uint)i;
            }
            for (int i = 0; i < SysvBuckets; i++) U32(L.Hash + 8 + 4 * (uint)i, bucket[i]);
            for (int i = 0; i < nsym; i++) U32(L.Hash + 8 + 4 * SysvBuckets + 4 * (uint)i, chain[i]);
        }
        // .gnu.hash: symoffset 1, one 32-bit bloom word, shift 5 (ELFCLASS32 words).
        {
            const int shift = 5;
            uint g = L.GnuHash;
            U32(g, GnuBuckets); U32(g + 4, 1); U32(g + 8, 1); U32(g + 12, shift);
            uint bloom = 0;
            var buckets = new uint[GnuBuckets];
            for (int i = 0; i < L.Dyn.Count; i++)
            {
                uint h = GnuHashOf(L.Dyn[i].Name);
                bloom |= (1u << (int)(h % 32)) | (1u << (int)((h >> shift) % 32));
                uint b = h % GnuBuckets;
                if (buckets[b] == 0) buckets[b] = (uint)(i + 1);
                bool last = i + 1 == L.Dyn.Count || GnuHashOf(L.Dyn[i + 1].Name) % GnuBuckets != b;
                U32(g + 16 + 4 + 4 * GnuBuckets + 4 * (uint)i, (h & ~1u) | (last ? 1u : 0u));
            }
            U32(g + 16, bloom);
            for (int i = 0; i < GnuBuckets; i++) U32(g + 20 + 4 * (uint)i, buckets[i]);
        }
        // .dynsym + .gnu.version
        for (int i = 1; i < nsym; i++)
        {
            var (name, ver) = L.Dyn[i - 1];
            uint o = L.DynSym + (uint)(i * SymSize);
            bool isFunc = T.Funcs.ContainsKey(name);
            U32(o, (uint)L.DynStrOff[name]);
            U32(o + 4, SymValue(name));
            U32(o + 8, isFunc ? T.Funcs[name].Size : 0);
            span[(int)o + 12] = (byte)((STB_GLOBAL << 4) | (isFunc ? STT_FUNC : STT_OBJECT));
            U16(o + 14, isFunc ? (ushort)SecText : SHN_ABS);
            U16(L.Versym + 2 * (uint)i, (ushort)ver);
        }
        L.DynStr.CopyTo(span[(int)L.DynStrA..]);
        // .gnu.version_d: base (soname), LINUX_2.6, LINUX_2.5.
        for (int v = 1; v <= 3; v++)
        {
            uint o = L.Verdef + (uint)(28 * (v - 1));
            string n = VersionNames[v];
            U16(o, 1); U16(o + 2, (ushort)(v == 1 ? 1 : 0)); U16(o + 4, (ushort)v); U16(o + 6, 1);
            U32(o + 8, ElfHash(n)); U32(o + 12, 20); U32(o + 16, v == 3 ? 0u : 28u);
            U32(o + 20, (uint)L.DynStrOff[n]); U32(o + 24, 0);
        }
        // .dynamic, in ld's order for this script.
        {
            (int Tag, uint Val)[] dyn =
            [
                (DT_SONAME, (uint)L.DynStrOff[Soname]), (DT_SYMBOLIC, 0), (DT_HASH, L.Hash), (DT_GNU_HASH, L.GnuHash),
                (DT_STRTAB, L.DynStrA), (DT_SYMTAB, L.DynSym), (DT_STRSZ, (uint)L.DynStr.Length), (DT_SYMENT, SymSize),
                (DT_VERDEF, L.Verdef), (DT_VERDEFNUM, 3), (DT_FLAGS, DF_SYMBOLIC), (DT_VERSYM, L.Versym), (DT_NULL, 0),
            ];
            for (int i = 0; i < dyn.Length; i++) { I32(L.Dynamic + 8 * (uint)i, dyn[i].Tag); U32(L.Dynamic + 8 * (uint)i + 4, dyn[i].Val); }
        }
        // .eh_frame_hdr / .eh_frame
        var eh = EhFrameWriter.Build(T.Cfi, L.Eh, out var table);
        if (eh.Length != L.EhSize) throw new InvalidOperationException(".eh_frame size changed");
        eh.CopyTo(span[(int)L.Eh..]);
        EhFrameWriter.BuildHdr(L.EhHdr, L.Eh, table).CopyTo(span[(int)L.EhHdr..]);
        // .text
        T.Code.CopyTo(span[(int)L.Text..]);
        // .altinstructions (struct alt_instr, offsets relative to the field) + .altinstr_replacement
        {
            uint e = L.Alt, r = L.AltRepl;
            foreach (var site in T.Alts)
                foreach (var (repl, feature) in site.Alts)
                {
                    I32(e, (int)(site.Addr - e));
                    I32(e + 4, (int)(r - (e + 4)));
                    U16(e + 8, feature);
                    span[(int)e + 10] = (byte)site.Len;
                    span[(int)e + 11] = (byte)repl.Length;
                    repl.CopyTo(span[(int)r..]);
                    e += AltInstr.Size; r += (uint)repl.Length;
                }
        }
        // Non-alloc tail: .symtab, .strtab, .shstrtab, section headers.
        var (symtab, strtab, firstGlobal) = SymTab(T);
        uint at = L.End;
        uint Put(byte[] b, int align) { at = (uint)((at + align - 1) & ~(align - 1)); b.CopyTo(img.AsSpan((int)at)); uint r0 = at; at += (uint)b.Length; return r0; }
        uint symtabOff = Put(symtab, 4), strtabOff = Put(strtab, 1);
        var shNames = new List<byte> { 0 };
        var nameOff = new Dictionary<string, uint>();
        foreach (var n in SectionNames) { nameOff[n] = (uint)shNames.Count; shNames.AddRange(Encoding.ASCII.GetBytes(n)); shNames.Add(0); }
        uint shstrOff = Put([.. shNames], 1);
        at = (at + 3) & ~3u;
        uint shoff = at;
        var sh = new (string Name, uint Type, uint Flags, uint Addr, uint Off, uint Size, uint Link, uint Info, uint Align, uint Ent)[]
        {
            ("", 0, 0, 0, 0, 0, 0, 0, 0, 0),
            (".hash", SHT_HASH, SHF_ALLOC, L.Hash, L.Hash, (uint)L.HashSize, SecDynsym, 0, 4, 4),
            (".gnu.hash", SHT_GNU_HASH, SHF_ALLOC, L.GnuHash, L.GnuHash, (uint)L.GnuHashSize, SecDynsym, 0, 4, 4),
            (".dynsym", 11, SHF_ALLOC, L.DynSym, L.DynSym, (uint)L.DynSymSize, SecDynstr, 1, 4, SymSize),
            (".dynstr", SHT_STRTAB, SHF_ALLOC, L.DynStrA, L.DynStrA, (uint)L.DynStr.Length, 0, 0, 1, 0),
            (".gnu.version", SHT_GNU_versym, SHF_ALLOC, L.Versym, L.Versym, (uint)L.VersymSize, SecDynsym, 0, 2, 2),
            (".gnu.version_d", SHT_GNU_verdef, SHF_ALLOC, L.Verdef, L.Verdef, (uint)L.VerdefSize, SecDynstr, 3, 4, 0),
            (".dynamic", SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, L.Dynamic, L.Dynamic, (uint)L.DynamicSize, SecDynstr, 0, 4, 8),
            (".rodata", SHT_PROGBITS, SHF_ALLOC, L.Rodata, L.Rodata, 0, 0, 0, 4, 0),
            (".note", SHT_NOTE, SHF_ALLOC, L.Note, L.Note, (uint)L.NoteSize, 0, 0, 4, 0),
            (".eh_frame_hdr", SHT_PROGBITS, SHF_ALLOC, L.EhHdr, L.EhHdr, (uint)L.EhHdrSize, 0, 0, 4, 0),
            (".eh_frame", SHT_PROGBITS, SHF_ALLOC, L.Eh, L.Eh, (uint)L.EhSize, 0, 0, 4, 0),
            (".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, L.Text, L.Text, (uint)L.TextSize, 0, 0, 16, 0),
            (".altinstructions", SHT_PROGBITS, SHF_ALLOC, L.Alt, L.Alt, (uint)L.AltSize, 0, 0, 1, 0),
            (".altinstr_replacement", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, L.AltRepl, L.AltRepl, (uint)L.AltReplSize, 0, 0, 1, 0),
            (".symtab", SHT_SYMTAB, 0, 0, symtabOff, (uint)symtab.Length, SecStrtab, (uint)firstGlobal, 4, SymSize),
            (".strtab", SHT_STRTAB, 0, 0, strtabOff, (uint)strtab.Length, 0, 0, 1, 0),
            (".shstrtab", SHT_STRTAB, 0, 0, shstrOff, (uint)shNames.Count, 0, 0, 1, 0),
        };
        if (shoff + sh.Length * ShdrSize > img.Length) throw new InvalidOperationException("vDSO does not fit in its pages");
        for (int i = 0; i < sh.Length; i++)
        {
            uint o = shoff + (uint)(i * ShdrSize);
            var s = sh[i];
            U32(o, i == 0 ? 0 : nameOff[s.Name]); U32(o + 4, s.Type); U32(o + 8, s.Flags); U32(o + 12, s.Addr);
            U32(o + 16, s.Off); U32(o + 20, s.Size); U32(o + 24, s.Link); U32(o + 28, s.Info); U32(o + 32, s.Align); U32(o + 36, s.Ent);
        }
        // ELF header
        "\x7f"u8.CopyTo(span); "ELF"u8.CopyTo(span[1..]);
        span[4] = 1; span[5] = 1; span[6] = 1; // ELFCLASS32, ELFDATA2LSB, EV_CURRENT; OSABI SYSV
        U16(16, 3); U16(18, 3); U32(20, 1);    // ET_DYN, EM_386
        U32(24, T.Funcs["__kernel_vsyscall"].Addr); // entry = AT_SYSINFO target
        U32(28, EhdrSize); U32(32, shoff); U32(36, 0);
        U16(40, EhdrSize); U16(42, PhdrSize); U16(44, 4); U16(46, ShdrSize); U16(48, (ushort)sh.Length); U16(50, SecShstrtab);
        (uint Type, uint Off, uint Size, uint Flags, uint Align)[] ph =
        [
            (PT_LOAD, 0, L.End, 5, (uint)VvarLayout.PageSize),  // R+X, FILEHDR PHDRS
            (PT_DYNAMIC, L.Dynamic, (uint)L.DynamicSize, 4, 4),
            (PT_NOTE, L.Note, (uint)L.NoteSize, 4, 4),
            (PT_GNU_EH_FRAME, L.EhHdr, (uint)L.EhHdrSize, 4, 4),
        ];
        for (int i = 0; i < ph.Length; i++)
        {
            uint o = EhdrSize + (uint)(i * PhdrSize);
            U32(o, ph[i].Type); U32(o + 4, ph[i].Off); U32(o + 8, ph[i].Off); U32(o + 12, ph[i].Off);
            U32(o + 16, ph[i].Size); U32(o + 20, ph[i].Size); U32(o + 24, ph[i].Flags); U32(o + 28, ph[i].Align);
        }
        // Notes last: the build-id is SHA-1 over the finished image with the id zeroed (ld --build-id=sha1).
        NoteBytes(new byte[20]).CopyTo(span[(int)L.Note..]);
        var id = SHA1.HashData(img);
        NoteBytes(id).CopyTo(span[(int)L.Note..]);
        return img;
    }

    private const int SecDynsym = 3, SecDynstr = 4, SecText = 12, SecStrtab = 16, SecShstrtab = 17;
    private static readonly string[] SectionNames =
    [
        ".hash", ".gnu.hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".dynamic", ".rodata", ".note",
        ".eh_frame_hdr", ".eh_frame", ".text", ".altinstructions", ".altinstr_replacement", ".symtab", ".strtab", ".shstrtab",
    ];

    /// <summary>The .dbg-style symbol table: locals (landing pads, helpers, vvar_* ABS) then the exports.</summary>
    private static (byte[] Sym, byte[] Str, int FirstGlobal) SymTab(TextResult T)
    {
        var str = new List<byte> { 0 };
        var syms = new List<byte>(new byte[SymSize]);
        void Add(string name, uint value, uint size, byte bind, byte type, ushort shndx)
        {
            var e = new byte[SymSize];
            BinaryPrimitives.WriteUInt32LittleEndian(e, (uint)str.Count);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), value);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(8), size);
            e[12] = (byte)((bind << 4) | type);
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(14), shndx);
            syms.AddRange(e);
            str.AddRange(Encoding.ASCII.GetBytes(name)); str.Add(0);
        }
        foreach (var (n, v) in new[] { ("vvar_start", VvarLayout.VvarStart), ("vvar_page", VvarLayout.VvarPage),
                     ("pvclock_page", VvarLayout.PvclockPage), ("hvclock_page", VvarLayout.HvclockPage), ("timens_page", VvarLayout.TimensPage),
                     ("vvar__vdso_data", VvarLayout.VdsoDataAddress()) })
            Add(n, (uint)v, 0, STB_LOCAL, STT_NOTYPE, SHN_ABS);
        foreach (var (n, a) in T.Labels) Add(n, a, 0, STB_LOCAL, STT_NOTYPE, SecText);
        foreach (var (n, f) in T.Funcs.Where(f => !f.Value.Global)) Add(n, f.Addr, f.Size, STB_LOCAL, STT_FUNC, SecText);
        int first = syms.Count / SymSize;
        foreach (var (n, f) in T.Funcs.Where(f => f.Value.Global)) Add(n, f.Addr, f.Size, STB_GLOBAL, STT_FUNC, SecText);
        return ([.. syms], [.. str], first);
    }

    private static VdsoImage FromBuilt(byte[] so, TextResult T)
    {
        // Round-trip through the reader: the record comes from the ELF exactly as vdso2c derives it.
        var img = VdsoImage.FromElf(so);
        if (img.SymInt80LandingPad != T.Labels["int80_landing_pad"]) throw new InvalidOperationException("record mismatch");
        return img;
    }
}
