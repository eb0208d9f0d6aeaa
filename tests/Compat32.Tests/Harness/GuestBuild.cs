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
        var key = new StringBuilder();
        key.Append(File.ReadAllText(source)).Append('\0').Append(string.Join(' ', Flags)).Append(string.Join(' ', extra));
        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..16].ToLowerInvariant();
        string dir = Path.Combine(TestEnv.Cache, "guests");
        Directory.CreateDirectory(dir);
        string bin = Path.Combine(dir, Path.GetFileNameWithoutExtension(source) + "-" + hash);
        if (File.Exists(bin)) return bin;
        lock (Gate)
        {
            if (File.Exists(bin)) return bin;
            string tmp = bin + "." + Environment.ProcessId + ".tmp";
            var r = Proc.Run(gcc, [.. Flags, "-o", tmp, source, .. extra, "-lm"], timeoutMs: 180_000);
            if (r.ExitCode != 0)
                throw new InvalidOperationException($"gcc -m32 failed for {source} (is gcc-multilib installed? ./test.sh installs it):\n{r.Err}");
            File.Move(tmp, bin, true);
            return bin;
        }
    }

    /// <summary>Build tests/guests/c/NAME.c.</summary>
    public static string BuildC(string name, params string[] extra) => Build(CSource(name), extra);
}
