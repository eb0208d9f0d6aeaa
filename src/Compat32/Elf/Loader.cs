using System.Text;
using Compat32.Cpu;
using Compat32.Kernel;
using Compat32.Memory;

namespace Compat32.Elf;

/// <summary>
/// load_elf_binary (fs/binfmt_elf.c) for an i386 image: PT_LOAD segments, the interpreter, brk, the [vvar] and
/// [vdso] mapping (arch_setup_additional_pages), and the initial stack built by create_elf_tables.
/// Address-space randomisation is off, as under `setarch -R`.
/// </summary>
public static class Loader
{
    public const uint AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7, AT_FLAGS = 8,
        AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15, AT_HWCAP = 16, AT_CLKTCK = 17,
        AT_SECURE = 23, AT_RANDOM = 25, AT_HWCAP2 = 26, AT_EXECFN = 31, AT_SYSINFO = 32, AT_SYSINFO_EHDR = 33,
        AT_MINSIGSTKSZ = 51;
    /// <summary>ELF_ET_DYN_BASE for an ia32 task (arch/x86/include/asm/elf.h).</summary>
    public const uint ElfEtDynBase = 0x00400000;
    public const uint StackRlimit = 8u << 20;

    public sealed class Image
    {
        public uint LoadBias, Entry, PhdrAddr, End, Brk, StartCode, EndCode, StartData, EndData;
        public ushort PhNum;
    }

    /// <summary>STACK_TOP: IA32_PAGE_OFFSET on a 64-bit kernel, 3 GiB on a 32-bit kernel (TASK_SIZE).</summary>
    public static uint StackTop(CpuModel m) => m.Kernel64 ? 0xFFFFE000u : 0xC0000000u;

    /// <summary>mmap_base: STACK_TOP less the clamped 128 MiB gap (arch/x86/mm/mmap.c, no randomisation).</summary>
    public static uint MmapBase(CpuModel m) => StackTop(m) - 0x08000000u;

    /// <summary>Map one ELF image. bias: where an ET_DYN goes (null: choose top-down like an mmap without MAP_FIXED).</summary>
    public static Image MapImage(AddressSpace mem, Elf32 elf, Kernel.Vfs.ProgramImage file, uint? fixedBias, string name)
    {
        uint lo = uint.MaxValue, hi = 0;
        foreach (var p in elf.Phdrs)
        {
            if (p.Type != Elf32.PT_LOAD) continue;
            lo = Math.Min(lo, p.VAddr & ~0xFFFu);
            hi = (uint)Math.Max(hi, ((ulong)p.VAddr + p.MemSize + 0xFFF) & ~0xFFFUL);
        }
        uint bias = 0;
        if (elf.Type == Elf32.ET_DYN)
        {
            uint total = hi - lo;
            if (fixedBias is uint b) bias = b - lo;
            else
            {
                uint at = mem.FindFree(total);
                if (at == 0) throw new ElfFormatException("no room in the address space for the image");
                bias = at - lo;
            }
        }
        var img = new Image { LoadBias = bias, Entry = elf.Entry + bias, PhNum = elf.PhNum, StartCode = uint.MaxValue };
        uint elfBss = 0, elfBrk = 0;
        foreach (var p in elf.Phdrs)
        {
            if (p.Type != Elf32.PT_LOAD) continue;
            uint vaddr = p.VAddr + bias;
            uint pageStart = vaddr & ~0xFFFu;
            uint pageOff = vaddr - pageStart;
            var prot = Prot.None;
            if ((p.Flags & Elf32.PF_R) != 0) prot |= Prot.Read;
            if ((p.Flags & Elf32.PF_W) != 0) prot |= Prot.Write | Prot.Read;
            if ((p.Flags & Elf32.PF_X) != 0) prot |= Prot.Exec | Prot.Read;
            // elf_map: the file pages covering [offset, offset+filesz), page-granular.
            uint mapLen = (pageOff + p.FileSize + 0xFFF) & ~0xFFFu;
            if (mapLen > 0)
            {
                uint fileStart = p.Offset - pageOff;
                // The file's pages, copy-on-write from the program's snapshot; where the host cannot, a copy.
                if (file.Snapshot is not { } snap || !mem.MapImage(pageStart, mapLen, prot, name, snap, fileStart))
                {
                    mem.Map(pageStart, mapLen, prot, name);
                    int avail = (int)Math.Min((long)mapLen, Math.Max(0, file.Length - (long)fileStart));
                    if (avail > 0) mem.Poke(pageStart, file.Span.Slice((int)fileStart, avail));
                    GC.KeepAlive(file);
                    var v = mem.FindVma(pageStart);
                    if (v != null) v.Offset = fileStart;
                }
            }
            uint fileEnd = vaddr + p.FileSize, memEnd = vaddr + p.MemSize;
            if (p.MemSize > p.FileSize)
            {
                // padzero: clear the rest of the last file page, then anonymous pages for the bss.
                uint pageEnd = (fileEnd + 0xFFF) & ~0xFFFu;
                if (mapLen > 0 && fileEnd < pageEnd) mem.Poke(fileEnd, new byte[pageEnd - fileEnd]);
                uint bssStart = Math.Max(pageEnd, pageStart + mapLen);
                uint bssEnd = (memEnd + 0xFFF) & ~0xFFFu;
                if (bssEnd > bssStart) mem.Map(bssStart, bssEnd - bssStart, prot, mapLen == 0 ? name : "");
            }
            if ((p.Flags & Elf32.PF_X) != 0) { img.StartCode = Math.Min(img.StartCode, vaddr); img.EndCode = Math.Max(img.EndCode, fileEnd); }
            else { if (img.StartData == 0) img.StartData = vaddr; img.EndData = Math.Max(img.EndData, fileEnd); }
            elfBss = Math.Max(elfBss, fileEnd);
            elfBrk = Math.Max(elfBrk, memEnd);
        }
        if (img.StartCode == uint.MaxValue) img.StartCode = 0;
        img.End = elfBrk;
        img.Brk = elfBrk;
        // AT_PHDR: the PT_PHDR address, else the phdrs inside the first PT_LOAD that covers e_phoff.
        uint phdr = 0;
        foreach (var p in elf.Phdrs) if (p.Type == Elf32.PT_PHDR) phdr = p.VAddr + bias;
        if (phdr == 0)
            foreach (var p in elf.Phdrs)
                if (p.Type == Elf32.PT_LOAD && elf.PhOff >= p.Offset && elf.PhOff < p.Offset + p.FileSize) { phdr = p.VAddr + bias + (elf.PhOff - p.Offset); break; }
        img.PhdrAddr = phdr;
        _ = elfBss;
        return img;
    }

    public sealed class ExecResult
    {
        public uint Entry, Sp;
        public byte[] Auxv = Array.Empty<byte>();
    }

    /// <summary>Read a file for exec: sysroot lookup, then the host path.</summary>
    public static Kernel.Vfs.ProgramImage ReadExecutable(string path, string? sysroot, out string resolved)
    {
        resolved = Kernel.Vfs.PathResolver.UnderSysroot(sysroot, path);
        if (Directory.Exists(resolved)) throw new ElfFormatException("is a directory");
        int r = Kernel.Vfs.ProgramCache.Read(resolved, out var data);
        return r switch
        {
            0 => data,
            -Kernel.Errno.ENOENT or -Kernel.Errno.ENOTDIR => throw new FileNotFoundException($"Could not find file '{resolved}'."),
            -Kernel.Errno.EACCES or -Kernel.Errno.EPERM => throw new UnauthorizedAccessException($"Access to the path '{resolved}' is denied."),
            _ => throw new IOException($"{resolved}: {Kernel.Errno.Name(-r)}"),
        };
    }

    /// <summary>Build a fresh address space and initial stack for argv/envp; registers are set on cpu.</summary>
    public static ExecResult Exec(Kernel.Task t, Kernel.Vfs.ProgramImage file, string exePath, IReadOnlyList<string> argv, IReadOnlyList<string> envp,
        string? execfn = null)
    {
        var model = t.Kernel.Model;
        var elf = Elf32.Parse(file, exePath);
        var mem = t.Mem;
        mem.MmapBase = MmapBase(model);
        uint stackTop = StackTop(model);
        // The stack VMA first, so nothing else lands there (setup_arg_pages). We map the whole rlimit up front.
        mem.Map(stackTop - StackRlimit, StackRlimit, Prot.Read | Prot.Write | (elf.ExecStack ? Prot.Exec : 0), "[stack]");
        mem.MmapBase = Math.Min(mem.MmapBase, stackTop - StackRlimit - 0x100000);

        var main = MapImage(mem, elf, file, elf.Type == Elf32.ET_DYN && elf.Interp != null ? ElfEtDynBase : null, exePath);
        uint interpBase = 0, entry = main.Entry;
        if (elf.Interp != null)
        {
            Kernel.Vfs.ProgramImage ib;
            string ipath;
            try { ib = ReadExecutable(elf.Interp, t.Kernel.Options.Sysroot, out ipath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) // "" too
            {
                throw new ElfFormatException($"cannot load interpreter {elf.Interp}: {e.Message}");
            }
            var ie = Elf32.Parse(ib, ipath);
            if (ie.Type != Elf32.ET_DYN && ie.Type != Elf32.ET_EXEC) throw new ElfFormatException("bad interpreter");
            var ii = MapImage(mem, ie, ib, ie.Type == Elf32.ET_EXEC ? 0 : null, elf.Interp);
            interpBase = ii.LoadBias;
            entry = ii.Entry;
        }
        // brk starts page-aligned after the main image (no randomisation).
        mem.BrkStart = mem.Brk = (main.End + 0xFFF) & ~0xFFFu;
        t.Mm.StartCode = main.StartCode; t.Mm.EndCode = main.EndCode;
        t.Mm.StartData = main.StartData; t.Mm.EndData = main.EndData;
        t.Mm.ExePath = exePath;
        if (t.Kernel.Options.CodeCache) Cpu.CodeSpace.UseStore(mem, exePath);

        // arch_setup_additional_pages: [vvar] then [vdso], top-down like any mmap.
        t.Mm.VdsoBase = 0;
        var vdso = t.Kernel.Vdso;
        if (vdso != null) t.Mm.VdsoBase = t.Kernel.MapVdso(t);

        return BuildStack(t, elf, main, interpBase, entry, stackTop, model.Kernel64 ? 8u : 4u, execfn ?? exePath, argv, envp);
    }

    static ExecResult BuildStack(Kernel.Task t, Elf32 elf, Image main, uint interpBase, uint entry, uint stackTop,
        uint kernelPtrSize, string exePath, IReadOnlyList<string> argv, IReadOnlyList<string> envp)
    {
        var mem = t.Mem;
        var k = t.Kernel;
        // bprm->p = vm_end - sizeof(void *): the kernel's pointer, 8 bytes on x86-64 (fs/exec.c __bprm_mm_init),
        // so every string and the initial ESP sit where the host kernel puts them
        uint p = stackTop - kernelPtrSize;
        uint PushBytes(byte[] b) { p -= (uint)b.Length; mem.Poke(p, b); return p; }
        byte[] Z(string s) { var b = Encoding.UTF8.GetBytes(s); Array.Resize(ref b, b.Length + 1); return b; }
        mem.Poke(p, new byte[kernelPtrSize]);
        uint execfn = PushBytes(Z(exePath));
        // copy_strings: envp then argv, each copied last-to-first so they end up in order.
        var envAddr = new uint[envp.Count];
        uint envEnd = p;
        for (int i = envp.Count - 1; i >= 0; i--) envAddr[i] = PushBytes(Z(envp[i]));
        var argAddr = new uint[argv.Count];
        uint argEnd = p;
        for (int i = argv.Count - 1; i >= 0; i--) argAddr[i] = PushBytes(Z(argv[i]));
        t.Mm.ArgStart = argv.Count > 0 ? argAddr[0] : p; t.Mm.ArgEnd = argEnd;
        t.Mm.EnvStart = envp.Count > 0 ? envAddr[0] : argEnd; t.Mm.EnvEnd = envEnd;

        p &= ~0xFu; // arch_align_stack
        uint platform = PushBytes(Encoding.ASCII.GetBytes("i686\0"));
        var rnd = new byte[16];
        Kernel.HostRandom.Fill(rnd);
        uint random = PushBytes(rnd);

        var aux = new List<(uint, uint)>();
        if (t.Mm.VdsoBase != 0 && k.Vdso != null)
        {
            aux.Add((AT_SYSINFO, t.Mm.VdsoBase + (uint)k.Vdso.SymKernelVsyscall));
            aux.Add((AT_SYSINFO_EHDR, t.Mm.VdsoBase));
        }
        aux.Add((AT_MINSIGSTKSZ, Kernel.Signals.SignalFrameLayout.MinSigStackSize(k.Model.Kernel64)));
        aux.Add((AT_HWCAP, k.Model.Cpuid1Edx));
        aux.Add((AT_PAGESZ, 4096));
        aux.Add((AT_CLKTCK, 100));
        aux.Add((AT_PHDR, main.PhdrAddr));
        aux.Add((AT_PHENT, 32));
        aux.Add((AT_PHNUM, main.PhNum));
        aux.Add((AT_BASE, interpBase));
        aux.Add((AT_FLAGS, 0));
        aux.Add((AT_ENTRY, main.Entry));
        var cr = t.Group.Creds;
        aux.Add((AT_UID, cr.Uid));
        aux.Add((AT_EUID, cr.Euid));
        aux.Add((AT_GID, cr.Gid));
        aux.Add((AT_EGID, cr.Egid));
        aux.Add((AT_SECURE, 0));
        aux.Add((AT_RANDOM, random));
        aux.Add((AT_HWCAP2, 0));
        aux.Add((AT_EXECFN, execfn));
        aux.Add((AT_PLATFORM, platform));
        aux.Add((AT_NULL, 0));

        int eiIndex = aux.Count * 2;
        uint sp = p - (uint)eiIndex * 4;
        int items = (argv.Count + 1) + (envp.Count + 1) + 1;
        sp = (sp - (uint)items * 4) & ~0xFu; // STACK_ROUND
        var words = new List<uint> { (uint)argv.Count };
        words.AddRange(argAddr); words.Add(0);
        words.AddRange(envAddr); words.Add(0);
        var auxBytes = new byte[aux.Count * 8];
        for (int i = 0; i < aux.Count; i++)
        {
            words.Add(aux[i].Item1); words.Add(aux[i].Item2);
            BitConverter.TryWriteBytes(auxBytes.AsSpan(i * 8), aux[i].Item1);
            BitConverter.TryWriteBytes(auxBytes.AsSpan(i * 8 + 4), aux[i].Item2);
        }
        var wb = new byte[words.Count * 4];
        for (int i = 0; i < words.Count; i++) BitConverter.TryWriteBytes(wb.AsSpan(i * 4), words[i]);
        mem.Poke(sp, wb);
        t.Mm.StartStack = sp;
        return new ExecResult { Entry = entry, Sp = sp, Auxv = auxBytes };
    }

    /// <summary>start_thread / compat_start_thread and ELF_PLAT_INIT: all GPRs 0, EFLAGS = IF, flat selectors.</summary>
    public static void InitRegisters(Processor cpu, CpuModel model, uint entry, uint sp)
    {
        var s = cpu.S;
        Array.Clear(s.R);
        Array.Clear(s.R64Hi);
        s.Eip = entry;
        s.R[CpuState.ESP] = sp;
        s.Flags.Set(Flags.IF | Flags.Fixed1);
        s.Sel[CpuState.CS] = model.UserCs;
        s.Sel[CpuState.SS] = model.UserDs;
        ushort ds = model.UserDs;
        s.Sel[CpuState.DS] = ds;
        s.Sel[CpuState.ES] = ds;
        s.Sel[CpuState.FS] = 0;
        s.Sel[CpuState.GS] = 0;
        s.ResetSegmentCaches();
        s.Cpl = 3;
        s.Fpu = new Cpu.X87.X87State();
        s.Simd = new Cpu.Simd.SimdState(); // MXCSR 0x1F80 (fpu__clear_all at exec)
    }
}
