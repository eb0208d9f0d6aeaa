using System.Diagnostics;

namespace Compat32.Tests.Signals;

/// <summary>Runs host tools and the compat32 launcher for the signal and selftest tests; builds guests into
/// $COMPAT32_CACHE (never into the repository).</summary>
public static class GuestRunner
{
    public sealed record Result(int Code, string Stdout, string Stderr);

    public static Result Run(string file, IEnumerable<string> args, int timeoutMs = 180_000)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)} timed out"); }
        p.WaitForExit();
        return new Result(p.ExitCode, o.Result, e.Result);
    }

    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Compat32.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("Compat32.slnx not found above " + AppContext.BaseDirectory);
    }

    public static string Cache()
    {
        string c = Environment.GetEnvironmentVariable("COMPAT32_CACHE") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "compat32");
        Directory.CreateDirectory(c);
        return c;
    }

    /// <summary>compat32 launcher: $COMPAT32, else ./compat32 at the repository root.</summary>
    public static Result Compat32(IEnumerable<string> args, int timeoutMs = 180_000)
    {
        if (Environment.GetEnvironmentVariable("COMPAT32") is { Length: > 0 } env) return Run(env, args, timeoutMs);
        string script = Path.Combine(RepoRoot(), "compat32");
        if (!File.Exists(script)) throw new FileNotFoundException("compat32 launcher not found", script);
        return Run(script, args, timeoutMs);
    }

    /// <summary>gcc -m32 -march=i686 -static a guest from tests/guests/signals, cached by content hash.</summary>
    public static string BuildGuest(string name, params string[] extra)
    {
        string src = Path.Combine(RepoRoot(), "tests", "guests", "signals", name + ".c");
        string dir = Path.Combine(Cache(), "guests", "signals");
        Directory.CreateDirectory(dir);
        string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            File.ReadAllBytes(src).Concat(System.Text.Encoding.UTF8.GetBytes(string.Join(' ', extra))).ToArray()))[..12];
        string bin = Path.Combine(dir, name + "-" + hash);
        if (!File.Exists(bin))
        {
            var b = Run("gcc", new[] { "-m32", "-march=i686", "-static", "-O2", "-o", bin + ".tmp", src }.Concat(extra).Concat(new[] { "-lrt", "-lm" }));
            if (b.Code != 0) throw new InvalidOperationException("gcc -m32 failed for " + name + ":\n" + b.Stderr);
            File.Move(bin + ".tmp", bin, true);
        }
        return bin;
    }
}
