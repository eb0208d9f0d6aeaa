using Xunit;

namespace Compat32.Tests.Harness;

/// <summary>
/// Builds guest programs written in Go (Debian's golang-go, GOARCH=386) and Rust (Debian's rustc with
/// libstd-rust-dev:i386, --target i686-unknown-linux-gnu), and the same sources for the host as the reference,
/// cached in $COMPAT32_CACHE/guests by a hash of the source, the toolchain's version and the target. ./test.sh
/// installs both toolchains; elsewhere the tests that need one are skipped with the reason.
/// </summary>
public static class LangBuild
{
    public const string Go = "/usr/bin/go", Rustc = "/usr/bin/rustc";
    const string RustI686Std = "/usr/lib/rustlib/i686-unknown-linux-gnu/lib";

    static readonly Lazy<string?> goVersion = new(() => Version(Go, "version"));
    static readonly Lazy<string?> rustVersion = new(() => Version(Rustc, "--version"));

    static string? Version(string tool, string arg)
    {
        if (!File.Exists(tool)) return null;
        try { var r = Proc.Run(tool, [arg], timeoutMs: 60_000); return r.ExitCode == 0 ? r.Out.Trim() : null; }
        catch (Exception) { return null; }
    }

    public static string? WhyNoGo => goVersion.Value == null ? $"no Go toolchain at {Go} (apt-get install golang-go; ./test.sh does this)" : null;

    public static string? WhyNoRust =>
        rustVersion.Value == null ? $"no rustc at {Rustc} (apt-get install rustc libstd-rust-dev:i386; ./test.sh does this)"
        : !Directory.Exists(RustI686Std) ? $"{Rustc} has no i686 standard library at {RustI686Std} (apt-get install libstd-rust-dev:i386)"
        : null;

    public static string GoSource(string name) => TestEnv.RepoPath("tests", "guests", "go", name + ".go");
    public static string RustSource(string name) => TestEnv.RepoPath("tests", "guests", "rust", name + ".rs");

    /// <summary>A static Go program for goarch (386 or amd64), without cgo.</summary>
    public static string BuildGo(string source, string goarch)
    {
        string goCache = Path.Combine(TestEnv.Cache, "go-build");
        var env = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin", ["HOME"] = Environment.GetEnvironmentVariable("HOME") ?? "/root",
            ["GOCACHE"] = goCache, ["GOPATH"] = Path.Combine(TestEnv.Cache, "go-path"), ["GOARCH"] = goarch,
            ["CGO_ENABLED"] = "0", ["GOFLAGS"] = "-buildvcs=false", ["GO111MODULE"] = "auto",
        };
        return Cached(source, $"go {goVersion.Value} GOARCH={goarch}", tmp =>
            Proc.Run(Go, ["build", "-trimpath", "-o", tmp, source], cwd: Path.GetDirectoryName(source), env: env, timeoutMs: 600_000));
    }

    /// <summary>A Rust program for target (i686-unknown-linux-gnu or the host's default), optimised.</summary>
    public static string BuildRust(string source, string? target)
    {
        string[] t = target == null ? [] : ["--target", target];
        return Cached(source, $"rustc {rustVersion.Value} {target ?? "host"}", tmp =>
            Proc.Run(Rustc, ["-O", .. t, "-o", tmp, source], cwd: Path.GetTempPath(), timeoutMs: 600_000));
    }

    static string Cached(string source, string how, Func<string, ProcResult> build) =>
        GuestBuild.Cached(source, how, build, r => $"building {source} ({how}) failed:\n{r.Out}{r.Err}");
}

/// <summary>A fact skipped, with the reason, where a toolchain is missing (or, with NativeI386 set, where the host
/// kernel cannot run the i386 build as the reference).</summary>
public abstract class ToolchainFactAttribute : FactAttribute
{
    protected ToolchainFactAttribute(string? whyNot) { if (whyNot != null) Skip = whyNot; }

    public bool NativeI386
    {
        get => native;
        set { native = value; if (value && Skip == null && Harness.NativeI386.WhyUnavailable is { } why) Skip = why; }
    }
    bool native;
}

/// <summary>Needs Debian's Go toolchain.</summary>
public sealed class GoFactAttribute() : ToolchainFactAttribute(LangBuild.WhyNoGo);

/// <summary>Needs Debian's rustc and its i686 standard library.</summary>
public sealed class RustFactAttribute() : ToolchainFactAttribute(LangBuild.WhyNoRust);
