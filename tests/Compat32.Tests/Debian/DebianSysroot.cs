using System.Text;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Debian;

/// <summary>
/// The i386 Debian bookworm sysroot test.sh unpacks (apt-get download + dpkg -x, merged /usr, its own
/// ld.so.cache) into $COMPAT32_SYSROOT, default $COMPAT32_CACHE/sysroot-i386.
/// </summary>
public static class DebianSysroot
{
    public static string Dir =>
        Environment.GetEnvironmentVariable("COMPAT32_SYSROOT") is { Length: > 0 } s ? s : Path.Combine(TestEnv.Cache, "sysroot-i386");

    /// <summary>Why the sysroot cannot be used (test.sh's reason if it left one), or null.</summary>
    public static string? WhyUnavailable()
    {
        string d = Dir;
        if (File.Exists(Path.Combine(d, "usr", "bin", "bash"))) return null;
        string why = File.Exists(d + ".unavailable") ? File.ReadAllText(d + ".unavailable").Trim() : "not unpacked (run ./test.sh)";
        return $"Debian i386 sysroot missing at {d}: {why}";
    }

    public static string Bin(string prog) => Path.Combine(Dir, "usr", "bin", prog);

    /// <summary>An extra sysroot test.sh builds beside the base one ($COMPAT32_SYSROOT_NAME, default
    /// $COMPAT32_CACHE/sysroot-i386-name): the base packages plus those one group of tests needs.</summary>
    public static string ExtraDir(string name) =>
        Environment.GetEnvironmentVariable("COMPAT32_SYSROOT_" + name.ToUpperInvariant()) is { Length: > 0 } s
            ? s : Path.Combine(TestEnv.Cache, "sysroot-i386-" + name.ToLowerInvariant());

    /// <summary>Why an extra sysroot cannot be used (test.sh's reason if it left one), or null when it holds
    /// <paramref name="prog"/>.</summary>
    public static string? WhyExtraUnavailable(string name, string prog)
    {
        string d = ExtraDir(name);
        if (File.Exists(Path.Combine(d, "usr", "bin", prog))) return null;
        string why = File.Exists(d + ".unavailable") ? File.ReadAllText(d + ".unavailable").Trim() : "not unpacked (run ./test.sh)";
        return $"Debian i386 sysroot {Path.GetFileName(d)} missing at {d}: {why}";
    }

    public static string Script(string name) => TestEnv.RepoPath("tests", "guests", "debian", name);
}

/// <summary>A fact skipped, with the reason, when the Debian sysroot could not be downloaded or unpacked.</summary>
public sealed class DebianFactAttribute : FactAttribute
{
    public DebianFactAttribute()
    {
        if (DebianSysroot.WhyUnavailable() is { } why) Skip = why;
    }
}

/// <summary>A fact skipped, with the reason, when an extra sysroot (or the program in it) is missing.</summary>
public sealed class ExtraSysrootFactAttribute : FactAttribute
{
    public ExtraSysrootFactAttribute(string name, string prog)
    {
        if (DebianSysroot.WhyExtraUnavailable(name, prog) is { } why) Skip = why;
    }
}

public sealed class DebianTheoryAttribute : TheoryAttribute
{
    public DebianTheoryAttribute()
    {
        if (DebianSysroot.WhyUnavailable() is { } why) Skip = why;
    }
}

/// <summary>
/// Runs a sysroot program as `qemu-i386 -L SYSROOT SYSROOT/usr/bin/PROG ARGS` and as
/// `compat32 --sysroot SYSROOT SYSROOT/usr/bin/PROG ARGS`, each in the same directory path emptied and populated
/// afresh, with HOME an empty directory of its own. qemu-i386 does not follow execve: the programs a guest
/// starts run as the host's own (x86-64, the same Debian release), while under compat32 they are the sysroot's.
/// </summary>
public static class DebianRun
{
    public sealed record Opts
    {
        public Action<string>? Populate { get; init; }
        /// <summary>Fills the (otherwise empty) HOME directory.</summary>
        public Action<string>? PopulateHome { get; init; }
        public byte[]? Stdin { get; init; }
        public bool CompareStderr { get; init; } = true;
        /// <summary>Compare stdout as sorted lines (output order that -j or threads leave open).</summary>
        public bool SortLines { get; init; }
        public bool CompareFiles { get; init; } = true;
        public int TimeoutMs { get; init; } = 240_000;
        /// <summary>Run with the models' SIMD features (compat32's own set, qemu-i386's Westmere+movbe) instead
        /// of the i686 baseline: glibc's and libcrypto's SSE2/SSSE3/SSE4.2/AES-NI paths.</summary>
        public bool Simd { get; init; }
        /// <summary>Another sysroot than the base one (the extra ones test.sh builds beside it).</summary>
        public string? Sysroot { get; init; }
        /// <summary>Extra environment for both sides.</summary>
        public IReadOnlyDictionary<string, string>? Env { get; init; }
    }

    public static (ProcResult Qemu, ProcResult Compat) AssertSame(ITestOutputHelper log, string prog, IReadOnlyList<string> args, Opts? o = null)
    {
        o ??= new Opts();
        string sr = o.Sysroot ?? DebianSysroot.Dir, exe = Path.Combine(sr, "usr", "bin", prog);
        using var dir = TestEnv.NewTempDir("deb");
        using var home = TestEnv.NewTempDir("home");
        var env = Proc.BaseEnv();
        env["HOME"] = home.Path;
        env["COMPAT32_CACHE"] = TestEnv.Cache; // compat32's vDSO cache, not under HOME
        if (o.Simd) env[CpuBaseline.Variable] = "";
        foreach (var (k, v) in o.Env ?? new Dictionary<string, string>()) env[k] = v;
        string qemuCpu = o.Simd ? Simd.SimdGuestTests.QemuSimdCpu : TestEnv.QemuCpu;

        (ProcResult, string) Side(Func<ProcResult> run)
        {
            dir.Reset(); home.Reset();
            o.Populate?.Invoke(dir.Path);
            o.PopulateHome?.Invoke(home.Path);
            var r = run();
            return (r, o.CompareFiles ? Differential.Snapshot(dir.Path) : "");
        }

        var (q, qFiles) = Side(() => Proc.Run(TestEnv.Qemu, ["-cpu", qemuCpu, "-L", sr, exe, .. args], dir.Path, env, o.Stdin, o.TimeoutMs));
        var (c, cFiles) = Side(() => Differential.RunCompat32(exe, args, new Differential.Options
        {
            Cwd = dir.Path, Env = env, Stdin = o.Stdin, TimeoutMs = o.TimeoutMs, Compat32Options = ["--sysroot", sr],
        }));
        string label = prog + " " + string.Join(' ', args.Select(a => a.Contains(' ') ? "'" + a + "'" : a));
        log.WriteLine($"timing: qemu-i386 {q.Elapsed.TotalSeconds:F2} s, compat32 {c.Elapsed.TotalSeconds:F2} s: {label}");
        if (o.SortLines) { q = Sorted(q); c = Sorted(c); }
        Differential.Compare(label, q, c, o.CompareStderr);
        Assert.True(qFiles == cFiles, $"{label}: files left behind differ\n--- qemu-i386:\n{qFiles}\n--- compat32:\n{cFiles}");
        return (q, c);
    }

    static ProcResult Sorted(ProcResult r)
    {
        var lines = r.Out.Split('\n').Where(l => l.Length > 0).Order(StringComparer.Ordinal);
        return r with { Stdout = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n") };
    }
}
