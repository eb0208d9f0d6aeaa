using Compat32.Cpu;
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
    static readonly Dictionary<VdsoTarget, VdsoImage> built = new();

    /// <summary>The kernel feature bits the vDSO's alternatives test, as the model's kernel sets them
    /// (early_init_intel / early_init_amd: SYSENTER32 on Intel, SYSCALL32 on AMD, for 64-bit kernels).</summary>
    public static bool HasFeature(CpuModel m, int feature) => feature switch
    {
        X86Feature.Sysenter32 => m.FeatureSysenter32,
        X86Feature.Syscall32 => m.FeatureSyscall32,
        X86Feature.Sep => m.Sep,
        _ => false, // no LFENCE_RDTSC (no SSE2) and no RDTSCP on our CPU
    };

    public static (VdsoImage image, byte[] patched) Load(CpuModel m, string? file)
    {
        VdsoImage img;
        if (file != null)
        {
            var so = File.ReadAllBytes(file);
            var dbgPath = file + ".dbg";
            if (!File.Exists(dbgPath) && file.EndsWith(".so")) dbgPath = file[..^3] + ".so.dbg";
            byte[]? dbg = File.Exists(dbgPath) ? File.ReadAllBytes(dbgPath) : null;
            img = VdsoImage.FromElf(so, dbg);
        }
        else
        {
            var target = m.Kernel64 ? VdsoTarget.Kernel64 : VdsoTarget.Kernel32;
            lock (built)
            {
                if (!built.TryGetValue(target, out img!)) built[target] = img = BuildCached(target);
            }
        }
        var data = (byte[])img.Data.Clone();
        Alternatives.Apply(data, img, f => HasFeature(m, f), longNops64: m.Kernel64);
        return (img, data);
    }

    /// <summary>Assembling the image costs more than the rest of startup, so the linked image is kept on disk,
    /// keyed by this build of compat32, and read back through our own vdso2c reader (VdsoImage.FromElf).</summary>
    public static VdsoImage BuildCached(VdsoTarget target)
    {
        string? path = null;
        try
        {
            var root = Environment.GetEnvironmentVariable("COMPAT32_CACHE")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "compat32");
            var id = typeof(Vdso32Builder).Assembly.ManifestModule.ModuleVersionId.ToString("N");
            path = Path.Combine(root, "vdso", $"vdso32-{target}-{id}.so");
            if (File.Exists(path)) return VdsoImage.FromElf(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or VdsoFormatException) { }
        var img = Vdso32Builder.Build(target);
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
        var (img, data) = Load(k.Model, file);
        k.Vdso = img;
        k.VdsoData = data;
        k.VvarWriter = (mem, at) =>
        {
            lock (mem.VvarLock) { mem.VvarPage = at; Write(mem, at, Timekeeper.Instance); }
            lock (Pages) Pages.Add((new WeakReference<AddressSpace>(mem), at));
        };
    }

    /// <summary>Every mapped [vvar]: held weakly (a finished machine's address space must not live on), and
    /// dropped once the address space no longer has its data page there (AddressSpace.VvarPage).</summary>
    static readonly List<(WeakReference<AddressSpace> mem, uint at)> Pages = new();

    static VdsoSetup()
    {
        Timekeeper.Instance.Updated += tk =>
        {
            lock (Pages)
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
        };
    }

    /// <summary>update_vsyscall: clock mode TSC with the guest TSC at 1 GHz, so mult = 1, shift = 0.</summary>
    static unsafe void Write(AddressSpace mem, uint vvar, Timekeeper tk)
    {
        var v = new VvarData(new Span<byte>(mem.Ptr(vvar), VvarLayout.PageSize));
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
