using Xunit;

namespace Compat32.Tests.Vdso;

/// <summary>
/// The kernel's own vdso32.so / vdso32.so.dbg / vdso-image-32.c (vdso2c output), built once from Debian's
/// linux-source-6.1 into $COMPAT32_CACHE/linux-6.1-vdso32 (outside git; override with COMPAT32_KERNEL_VDSO_DIR).
/// </summary>
internal static class KernelVdso
{
    public const string Tarball = "/usr/src/linux-source-6.1.tar.xz";
    public static readonly string CacheDir = Environment.GetEnvironmentVariable("COMPAT32_KERNEL_VDSO_DIR")
        ?? Path.Combine(Environment.GetEnvironmentVariable("COMPAT32_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : Path.GetTempPath(), ".cache", "compat32"),
            "linux-6.1-vdso32");
    private static readonly string[] Files = ["vdso32.so", "vdso32.so.dbg", "vdso-image-32.c"];
    private static readonly Lazy<(byte[] So, byte[] Dbg, string ImageC)> Built = new(Obtain);

    private static bool Cached => Files.All(f => File.Exists(Path.Combine(CacheDir, f)));

    /// <summary>Null when the kernel image is cached or can be built; else why not.</summary>
    public static string? WhyUnavailable()
    {
        if (Cached) return null;
        if (!File.Exists(Tarball)) return $"kernel vDSO not cached in {CacheDir} and {Tarball} missing (apt-get install linux-source-6.1)";
        foreach (var t in new[] { "gcc", "make", "tar", "flex", "bison", "bc", "xz" })
            if (!VdsoTestUtil.HaveTool(t)) return $"kernel vDSO not cached in {CacheDir} and '{t}' is missing (apt-get install -y build-essential flex bison bc libelf-dev libssl-dev)";
        return null;
    }

    public static (byte[] So, byte[] Dbg, string ImageC) Get() => Built.Value;

    private static (byte[], byte[], string) Obtain()
    {
        Directory.CreateDirectory(CacheDir);
        using (var lk = new FileStream(Path.Combine(CacheDir, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None))
        {
            if (!Cached) Build();
        }
        return (File.ReadAllBytes(Path.Combine(CacheDir, "vdso32.so")), File.ReadAllBytes(Path.Combine(CacheDir, "vdso32.so.dbg")),
            File.ReadAllText(Path.Combine(CacheDir, "vdso-image-32.c")));
    }

    private static void Build()
    {
        var work = Path.Combine(CacheDir, "build");
        if (Directory.Exists(work)) Directory.Delete(work, true);
        var src = Path.Combine(work, "src");
        var obj = Path.Combine(work, "obj");
        Directory.CreateDirectory(src);
        Check(VdsoTestUtil.Run("tar", "-xf", Tarball, "-C", src, "--strip-components=1"), "tar");
        Check(VdsoTestUtil.Run("make", "-C", src, $"O={obj}", "x86_64_defconfig"), "make defconfig");
        Check(VdsoTestUtil.Run("make", "-C", src, $"O={obj}", "-j2", "arch/x86/entry/vdso/"), "make arch/x86/entry/vdso/");
        foreach (var f in Files) File.Copy(Path.Combine(obj, "arch/x86/entry/vdso", f), Path.Combine(CacheDir, f), true);
        Directory.Delete(work, true);
    }

    private static void Check((int Code, string Out, string Err) r, string what)
    {
        if (r.Code != 0) throw new InvalidOperationException($"{what} failed ({r.Code}): {r.Err.Split('\n').LastOrDefault(l => l.Length > 0)}");
    }

    /// <summary>vdso2c's record as C initialisers: ".alt = 4984," → ("alt", 4984).</summary>
    public static Dictionary<string, long> Record(string imageC) =>
        imageC.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('.') && l.EndsWith(',') && l.Contains(" = ") && !l.Contains("raw_data"))
            .Select(l => l.TrimEnd(',')[1..].Split(" = "))
            .Where(p => long.TryParse(p[1], out _)).ToDictionary(p => p[0], p => long.Parse(p[1]));
}

/// <summary>A fact that is skipped, with the reason, when the kernel's vdso32.so can be neither found nor built.</summary>
public sealed class KernelVdsoFactAttribute : FactAttribute
{
    public KernelVdsoFactAttribute()
    {
        if (KernelVdso.WhyUnavailable() is { } why) Skip = why;
    }
}
