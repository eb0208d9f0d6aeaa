using Xunit;

namespace Compat32.Tests.X87;

/// <summary>
/// Builds tests/guests/x87/*.c with gcc -m32 -static and compares compat32's output byte for byte with the
/// same source built natively for the x86-64 host, whose x87 is real hardware (qemu-i386's softfloat is not a
/// reference here: it never raises the denormal-operand flag). NAME.expected is used where the program's output
/// depends on the kernel rather than the FPU (#MF → SIGFPE with its si_code).
/// A missing gcc, qemu-i386 or compat32 launcher fails the test with the reason; nothing is skipped.
/// </summary>
public class X87GuestTests
{
    public static IEnumerable<object[]> Guests() =>
        Directory.GetFiles(Path.GetDirectoryName(X87Reference.RepoFile(Path.Combine("tests", "guests", "x87", "x87_basic.c")))!, "*.c")
            .Select(p => new object[] { Path.GetFileNameWithoutExtension(p) }).OrderBy(o => (string)o[0]);

    static (int code, string stdout, string stderr) Run(string file, IEnumerable<string> args)
    {
        var r = Harness.Proc.Run(file, args);
        return (r.ExitCode, r.Out, r.Err);
    }

    [Theory]
    [MemberData(nameof(Guests))]
    public void GuestMatchesReference(string name)
    {
        string dir = Harness.TestEnv.RepoPath("tests", "guests", "x87");
        string src = Path.Combine(dir, name + ".c");
        string cache = Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x : Path.GetTempPath(), "compat32-guests");
        Directory.CreateDirectory(cache);
        string bin = Path.Combine(cache, name + "-" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(src)))[..12]);
        if (!File.Exists(bin))
        {
            var b = Run("gcc", ["-m32", "-march=i686", "-static", "-O2", "-o", bin, src, "-lm"]);
            Assert.True(b.code == 0, "gcc -m32 failed: " + b.stderr);
        }
        string expected;
        string expFile = Path.Combine(dir, name + ".expected");
        if (File.Exists(expFile)) expected = File.ReadAllText(expFile);
        else
        {
            Assert.True(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64,
                "the x87 reference is the host's own FPU: run these tests on an x86-64 host");
            string native = bin + "-native";
            if (!File.Exists(native))
            {
                var b = Run("gcc", ["-O2", "-o", native, src, "-lm"]);
                Assert.True(b.code == 0, "native gcc failed: " + b.stderr);
            }
            var n = Run(native, []);
            Assert.True(n.code == 0, $"native reference exited {n.code}: {n.stderr}");
            expected = n.stdout;
        }
        // Translated (the x87 on the host's FPU, where the host has one) and interpreted (the soft float).
        foreach (var jit in new[] { "on", "off" })
        {
            var r = Run(Harness.TestEnv.Launcher, ["--jit", jit, bin]);
            Assert.True(expected == r.stdout, $"--jit {jit}: output differs from the reference:\n{r.stdout}");
            Assert.Equal(0, r.code);
        }
    }
}
