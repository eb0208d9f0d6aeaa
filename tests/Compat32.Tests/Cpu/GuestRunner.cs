using System.Diagnostics;
using System.Security.Cryptography;
using Xunit;

namespace Compat32.Tests.Cpu;

/// <summary>Builds tests/guests/cpu/*.c with gcc -m32 (cached under $COMPAT32_CACHE/guests/cpu, keyed by the
/// source hash and flags) and runs them under qemu-i386 (the reference) and compat32. A missing gcc or qemu-i386
/// fails the test with the reason: nothing is skipped.</summary>
static class GuestRunner
{
    public static string RepoRoot() => Harness.TestEnv.RepoRoot;

    public static string CacheDir(string sub)
    {
        string d = Path.Combine(Harness.TestEnv.Cache, sub);
        Directory.CreateDirectory(d);
        return d;
    }

    public static (int code, string stdout, string stderr) Run(string file, IEnumerable<string> args, int timeoutMs = 300_000,
        IDictionary<string, string>? env = null)
    {
        // The caller's environment plus env (the shared harness replaces the environment when given one).
        Dictionary<string, string>? full = null;
        if (env != null)
        {
            full = new Dictionary<string, string>();
            foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables()) full[(string)kv.Key] = (string?)kv.Value ?? "";
            foreach (var kv in env) full[kv.Key] = kv.Value;
        }
        var r = Harness.Proc.Run(file, args, env: full, timeoutMs: timeoutMs);
        return (r.ExitCode, r.Out, r.Err);
    }

    static readonly string[] Flags = ["-m32", "-march=i686", "-static", "-fno-pie", "-no-pie", "-O1"];

    /// <summary>The cached i386 static binary of tests/guests/cpu/NAME.c.</summary>
    public static string Build(string name)
    {
        string src = Path.Combine(RepoRoot(), "tests", "guests", "cpu", name + ".c");
        byte[] key = SHA256.HashData(File.ReadAllBytes(src).Concat(System.Text.Encoding.UTF8.GetBytes(string.Join(' ', Flags))).ToArray());
        string bin = Path.Combine(CacheDir(Path.Combine("guests", "cpu")), name + "-" + Convert.ToHexString(key)[..16]);
        if (File.Exists(bin)) return bin;
        string tmp = bin + ".tmp" + Environment.ProcessId;
        var b = Run("gcc", [.. Flags, "-o", tmp, src]);
        Assert.True(b.code == 0, "gcc -m32 failed (gcc-multilib missing?): " + b.stderr);
        File.Move(tmp, bin, true);
        return bin;
    }

    public static (string file, string[] pre) Launcher()
    {
        if (Environment.GetEnvironmentVariable("COMPAT32") is { Length: > 0 } env) return (env, []);
        string script = Path.Combine(RepoRoot(), "compat32");
        Assert.True(File.Exists(script), "launcher ./compat32 not found");
        return (script, []);
    }

    public static (int code, string stdout, string stderr) Qemu(string bin, params string[] args) => Run("qemu-i386", [bin, .. args]);

    public static (int code, string stdout, string stderr) Compat32(string bin, params string[] args) => Compat32Env(bin, null, args);

    public static (int code, string stdout, string stderr) Compat32Env(string bin, IDictionary<string, string>? env, params string[] args)
    {
        var (file, pre) = Launcher();
        return Run(file, [.. pre, bin, .. args], env: env);
    }

    /// <summary>Line-by-line comparison that names the first differing lines (a 20 MB Assert.Equal is unreadable).</summary>
    public static void AssertSameLines(string expected, string actual, string what)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var diffs = new List<string>();
        int n = Math.Max(e.Length, a.Length), count = 0;
        for (int i = 0; i < n; i++)
        {
            string x = i < e.Length ? e[i] : "<missing>", y = i < a.Length ? a[i] : "<missing>";
            if (x == y) continue;
            count++;
            if (diffs.Count < 20) diffs.Add($"line {i + 1}:\n  qemu:     {x}\n  compat32: {y}");
        }
        Assert.True(count == 0, $"{what}: {count} of {e.Length} lines differ\n" + string.Join("\n", diffs));
    }
}
