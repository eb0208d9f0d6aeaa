using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Memory;
using Compat32.Vdso;

namespace Compat32.Kernel;

/// <summary>
/// Boot-time vDSO work: pick the image (ours, built by Vdso32Builder, or one given with --vdso), apply its
/// alternatives for the machine model (apply_alternatives at boot), and keep every mapped [vvar] data page
/// current from the timekeeper (update_vsyscall).
/// </summary>
public static class VdsoSetup
{
    static readonly Dictionary<(VdsoTarget, VdsoVariant), VdsoImage> built = new();

    /// <summary>The kernel feature bits the vDSO's alternatives test, as the model's kernel sets them
    /// (early_init_intel / early_init_amd: SYSENTER32 on Intel, SYSCALL32 on AMD, for 64-bit kernels).</summary>
    public static bool HasFeature(CpuModel m, int feature) => feature switch
    {
        X86Feature.Sysenter32 => m.FeatureSysenter32,
        X86Feature.Syscall32 => m.FeatureSyscall32,
        X86Feature.Sep => m.Sep,
        _ => false, // no LFENCE_RDTSC (no SSE2) and no RDTSCP on our CPU
    };

    public static (VdsoImage image, byte[] patched) Load(CpuModel m, string? file) => Load(m, file, EntryDesign.Linux43);

    /// <summary>The image of a design and its boot step (Lab/Designs.cs): patch alternatives (linux-4.3,
    /// proposal-2015), pick one of three images (linux-4.2: vdso32-setup.c's selection at v4.2: SYSCALL32, else
    /// SYSENTER32 / SEP, else int80), or pick a stub and edit the symbol table (auxv, pointer-table).</summary>
    public static (VdsoImage image, byte[] patched) Load(CpuModel m, string? file, EntryDesign design)
    {
        if (file == null && design != EntryDesign.Linux43) return LoadDesign(m, design);
        VdsoImage img;
        if (file != null)
        {
            var so = File.ReadAllBytes(file);
            var dbgPath = file + ".dbg";
            if (!File.Exists(dbgPath) && file.EndsWith(".so", StringComparison.Ordinal)) dbgPath = file[..^3] + ".so.dbg";
            byte[]? dbg = File.Exists(dbgPath) ? File.ReadAllBytes(dbgPath) : null;
            img = VdsoImage.FromElf(so, dbg);
        }
        else
        {
            var target = m.Kernel64 ? VdsoTarget.Kernel64 : VdsoTarget.Kernel32;
            img = Image(target, VdsoVariant.Default);
        }
        var data = (byte[])img.Data.Clone();
        Alternatives.Apply(data, img, f => HasFeature(m, f), longNops64: m.Kernel64);
        return (img, data);
    }

    /// <summary>Assembling the image costs more than the rest of startup, so the linked image is kept on disk,
    /// keyed by this build of compat32, and read back through our own vdso2c reader (VdsoImage.FromElf).</summary>
    static VdsoImage Image(VdsoTarget target, VdsoVariant variant)
    {
        lock (built)
        {
            if (!built.TryGetValue((target, variant), out var img)) built[(target, variant)] = img = BuildCached(target, variant);
            return img;
        }
    }

    /// <summary>Whether the model's kernel would pick the SYSCALL or SYSENTER entry (X86_FEATURE_SYSCALL32 /
    /// SYSENTER32 on 64-bit kernels, SEP on 32-bit ones), as vdso32-setup.c and the alternatives test them.</summary>
    public static EntryMethod FastEntryOf(CpuModel m) =>
        m.Kernel64 ? (m.FeatureSyscall32 ? EntryMethod.Syscall32 : m.FeatureSysenter32 ? EntryMethod.Sysenter : EntryMethod.Int80)
                   : (m.Sep ? EntryMethod.Sysenter : EntryMethod.Int80);

    static (VdsoImage, byte[]) LoadDesign(CpuModel m, EntryDesign design)
    {
        var target = m.Kernel64 ? VdsoTarget.Kernel64 : VdsoTarget.Kernel32;
        var how = FastEntryOf(m);
        VdsoImage img;
        switch (design)
        {
            case EntryDesign.Linux42:
                img = Image(target, how switch
                {
                    EntryMethod.Syscall32 => VdsoVariant.Legacy42Syscall,
                    EntryMethod.Sysenter => VdsoVariant.Legacy42Sysenter,
                    _ => VdsoVariant.Legacy42Int80,
                });
                return (img, (byte[])img.Data.Clone()); // no .altinstructions in the v4.2 images
            case EntryDesign.Int80Only:
                img = Image(target, VdsoVariant.Legacy42Int80);
                return (img, (byte[])img.Data.Clone());
            case EntryDesign.Proposal2015:
            {
                img = Image(target, VdsoVariant.Proposal2015);
                var data = (byte[])img.Data.Clone();
                Alternatives.Apply(data, img, f => HasFeature(m, f), longNops64: m.Kernel64);
                return (img, data);
            }
            default: // Auxv, AuxvNoSym, PointerTable
            {
                img = Image(target, VdsoVariant.MultiStub);
                var (stub, pad) = how switch
                {
                    EntryMethod.Syscall32 => ("__kernel_vsyscall_syscall", "syscall_landing_pad"),
                    EntryMethod.Sysenter => ("__kernel_vsyscall_sysenter", "sysenter_landing_pad"),
                    _ => ("__kernel_vsyscall", "int80_landing_pad"),
                };
                int at = img.AllSymbols[stub], padAt = img.AllSymbols[pad];
                var data = (byte[])img.Data.Clone();
                int size = StubSize(img, stub);
                if (design == EntryDesign.AuxvNoSym) DynsymPatch.Remove(data, "__kernel_vsyscall");
                else DynsymPatch.Repoint(data, "__kernel_vsyscall", (uint)at, (uint)size);
                return (img.WithEntry(at, padAt), data);
            }
        }
    }

    /// <summary>Length of a stub: up to the next function symbol (every function name starts with "__").</summary>
    static int StubSize(VdsoImage img, string stub)
    {
        int at = img.AllSymbols[stub];
        return img.AllSymbols.Where(kv => kv.Key.StartsWith("__", StringComparison.Ordinal) && kv.Value > at).Select(kv => kv.Value).DefaultIfEmpty(at).Min() - at;
    }

    public static VdsoImage BuildCached(VdsoTarget target) => BuildCached(target, VdsoVariant.Default);

    public static VdsoImage BuildCached(VdsoTarget target, VdsoVariant variant)
    {
        string? path = null;
        try
        {
            var root = Environment.GetEnvironmentVariable("COMPAT32_CACHE")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "compat32");
            var id = typeof(Vdso32Builder).Assembly.ManifestModule.ModuleVersionId.ToString("N");
            string v = variant == VdsoVariant.Default ? "" : "-" + variant;
            path = Path.Combine(root, "vdso", $"vdso32-{(target == VdsoTarget.Kernel64 ? "Kernel64" : "Kernel32")}{v}-{id}.so"); // no enum formatting (reflection) at start-up
            if (File.Exists(path)) return VdsoImage.FromElf(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or VdsoFormatException) { }
        var img = Vdso32Builder.Build(target, variant);
        if (path != null)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var tmp = path + "." + Environment.ProcessId + ".tmp";
                File.WriteAllBytes(tmp, img.Data.AsSpan(0, img.Size).ToArray());
                File.Move(tmp, path, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return img;
    }

    /// <summary>Wire a kernel model: patched image bytes, and vvar pages fed by the timekeeper.</summary>
    public static void Attach(KernelModel k, string? file)
    {
        if (file == null && k.Options.Design == EntryDesign.NoVdso) return; // no [vdso], no AT_SYSINFO
        var (img, data) = Load(k.Model, file, k.Options.Design);
        k.Vdso = img;
        k.VdsoData = data;
        k.VvarFile = Shared?.File;
        k.VvarWriter = (mem, at) =>
        {
            lock (mem.VvarLock) { mem.VvarPage = at; Write(mem, at, Timekeeper.Instance); }
            lock (Pages) Pages.Add((new WeakReference<AddressSpace>(mem), at));
        };
    }

    /// <summary>
    /// The one [vvar] area of the machine, as Linux has one vdso_data that every process's [vvar] maps: a memfd the
    /// timekeeper writes through a writable view of its own, mapped private and read-only into each [vvar]
    /// (KernelModel.MapVdso; a page nobody writes there stays the object's, so every space sees each update). A
    /// tick then costs no system call; writing each space's private page meant opening it (two mprotects and a TLB
    /// shootdown of the CPUs running its threads) 250 times a second. Null where the host cannot: each [vvar] is
    /// then a private page written through a window (Pages).
    /// </summary>
    static readonly SharedVvar? Shared = SharedVvar.Create();

    sealed unsafe class SharedVvar
    {
        public required HostFile File;
        public required byte* View;

        public static SharedVvar? Create()
        {
            if (HostFile.Shmem(VvarLayout.Size, out _) is not { } f) return null;
            byte* v = f.MapView(VvarLayout.Size, writable: true);
            if (v == null) return null;
            var s = new SharedVvar { File = f, View = v };
            s.Update(Timekeeper.Instance); // (the static constructor subscribes the ticks after this)
            return s;
        }

        /// <summary>update_vsyscall into the shared data page (under the Pages lock: one writer at a time).</summary>
        public void Update(Timekeeper tk) => Fill(new Span<byte>(View, VvarLayout.PageSize), tk);
    }

    /// <summary>Every mapped [vvar]: held weakly (a finished machine's address space must not live on), and
    /// dropped once the address space no longer has its data page there (AddressSpace.VvarPage).</summary>
    static readonly List<(WeakReference<AddressSpace> mem, uint at)> Pages = new();

    static VdsoSetup()
    {
        Timekeeper.Instance.Updated += tk =>
        {
            lock (Pages)
            {
                Shared?.Update(tk);
                Pages.RemoveAll(p =>
                {
                    if (!p.mem.TryGetTarget(out var mem)) return true;
                    lock (mem.VvarLock)
                    {
                        if (mem.VvarPage != p.at) return true;
                        Write(mem, p.at, tk);
                    }
                    return false;
                });
            }
        };
    }

    /// <summary>update_vsyscall: clock mode TSC with the guest TSC at 1 GHz, so mult = 1, shift = 0.</summary>
    static unsafe void Write(AddressSpace mem, uint vvar, Timekeeper tk)
    {
        using var open = mem.OpenForKernel(vvar, VvarLayout.PageSize); // the guest's is read-only, so may the host's be
        Fill(new Span<byte>(mem.Ptr(vvar), VvarLayout.PageSize), tk);
    }

    static void Fill(Span<byte> page, Timekeeper tk)
    {
        var v = new VvarData(page);
        v.BeginWrite();
        v.SetClockMode(VvarLayout.ClockModeTsc);
        v.SetCycles(VvarLayout.CsHresCoarse, tk.CycleLast, ulong.MaxValue, 1, 0);
        v.SetCycles(VvarLayout.CsRaw, tk.CycleLast, ulong.MaxValue, 1, 0);
        foreach (int clk in new[] { 0, 1, 5, 6, 7, 11 })
        {
            long ns = tk.Base(clk);
            v.SetBasetime(VvarLayout.CsHresCoarse, clk, (ulong)(ns / 1_000_000_000), (ulong)(ns % 1_000_000_000));
        }
        long raw = tk.Base(4);
        v.SetBasetime(VvarLayout.CsRaw, 4, (ulong)(raw / 1_000_000_000), (ulong)(raw % 1_000_000_000));
        v.SetTimezone(0, 0);
        v.SetHrtimerRes(1);
        v.EndWrite();
    }
}
