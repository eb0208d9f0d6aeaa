using System.Security.Cryptography;
using System.Text;

namespace Compat32.Tests.Harness;

/// <summary>
/// Builds C guest programs with gcc -m32 -march=i686 -static -O2 (i686: no SSE, which our CPUID does not
/// advertise), cached in $COMPAT32_CACHE/guests by a hash of the source and the flags.
/// </summary>
public static class GuestBuild
{
    public static readonly string[] Flags = ["-m32", "-march=i686", "-static", "-O2", "-fno-strict-aliasing"];

    static readonly object Gate = new();

    public static string CSource(string name) => TestEnv.RepoPath("tests", "guests", "c", name + ".c");

    /// <summary>Compile a C file (extra flags after the defaults); returns the cached binary.</summary>
    public static string Build(string source, params string[] extra)
    {
        string gcc = TestEnv.Gcc;
        return Cached(source, string.Join(' ', Flags) + string.Join(' ', extra), tmp =>
            Proc.Run(gcc, [.. Flags, "-o", tmp, source, .. extra, "-lm"], timeoutMs: 180_000),
            r => $"gcc -m32 failed for {source} (is gcc-multilib installed? ./test.sh installs it):\n{r.Err}");
    }

    /// <summary>The binary build(tmp) makes of source, cached in $COMPAT32_CACHE/guests by a hash of the source and
    /// how (the tool, its version, the flags): built once, under a lock, to a temporary name then moved.</summary>
    internal static string Cached(string source, string how, Func<string, ProcResult> build, Func<ProcResult, string> failure)
    {
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(File.ReadAllText(source) + "\0" + how)))[..16].ToLowerInvariant();
        string dir = Path.Combine(TestEnv.Cache, "guests");
        Directory.CreateDirectory(dir);
        string bin = Path.Combine(dir, Path.GetFileNameWithoutExtension(source) + "-" + hash);
        if (File.Exists(bin)) return bin;
        lock (Gate)
        {
            if (File.Exists(bin)) return bin;
            string tmp = bin + "." + Environment.ProcessId + ".tmp";
            var r = build(tmp);
            if (r.ExitCode != 0 || !File.Exists(tmp)) throw new InvalidOperationException(failure(r));
            File.Move(tmp, bin, true);
            return bin;
        }
    }

    /// <summary>Build tests/guests/c/NAME.c.</summary>
    public static string BuildC(string name, params string[] extra) => Build(CSource(name), extra);
}
