using System.Security.Cryptography;
using System.Text;
using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Bench;

/// <summary>
/// Keeps bench/suite.sh's C programs (bench/suite/*.c) from rotting: each builds the way the suite builds it and, on a
/// tiny scale argument, prints the same checksum under compat32 as on the host kernel. Benchmarks themselves are
/// not tests and do not run here.
/// </summary>
public class BenchSuiteTests
{
    static readonly string[] Sse2 = ["-msse2", "-mfpmath=sse"];

    [NativeI386Theory]
    [InlineData("intloop", false, null)]
    [InlineData("sha256", false, "sha256(abc) ba7816bf")]       // FIPS 180-4's "abc" example
    [InlineData("crc32", false, "crc32(123456789) cbf43926")]   // the CRC-32 check value
    [InlineData("qsort", false, null)]
    [InlineData("sieve", false, "primes<=8000000 539777")]       // pi(8e6)
    [InlineData("sieve", true, "primes<=8000000 539777")]
    [InlineData("dmath", false, "series 3.14")]
    [InlineData("dmath", true, "series 3.14")]
    [InlineData("ldmath", false, "series 3.14")]
    [InlineData("strings", false, null)]
    [InlineData("interp", false, "fib(24) 46368")]
    [InlineData("ptrchase", false, null)]
    public void SameChecksumAsNative(string name, bool sse2, string? expect)
    {
        string dir = TestEnv.RepoPath("bench", "suite");
        // ldmath.c includes dmath.c: its hash goes into the flags so that the cached build follows both files
        string dm = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(File.ReadAllText(Path.Combine(dir, "dmath.c")))))[..16];
        string[] flags = sse2 ? [.. Sse2, "-DSUITE_DMATH=" + dm] : ["-DSUITE_DMATH=" + dm];
        string bin = GuestBuild.Build(Path.Combine(dir, name + ".c"), flags);
        // compat32's default CPU model, as bench/suite.sh runs it (the tests' i686 baseline has no SSE2)
        var env = Proc.BaseEnv();
        env[CpuBaseline.Variable] = "";
        var o = new Differential.Options { Env = env };
        var native = NativeI386.Run(bin, ["0.002"], o);
        Assert.Equal(0, native.ExitCode);
        Assert.StartsWith(name == "ldmath" ? "dmath" : name, native.Out);
        if (expect != null) Assert.Contains(expect, native.Out);
        NativeI386.AssertSame(bin, ["0.002"], o);
    }

    /// <summary>Every program bench/suite.sh builds is covered above (gentext.c makes its input, on the host).</summary>
    [Fact]
    public void EverySuiteProgramIsCovered()
    {
        var covered = new HashSet<string> { "intloop", "sha256", "crc32", "qsort", "sieve", "dmath", "ldmath", "strings", "interp", "ptrchase", "gentext" };
        var all = Directory.GetFiles(TestEnv.RepoPath("bench", "suite"), "*.c").Select(Path.GetFileNameWithoutExtension);
        Assert.Empty(all.Where(n => !covered.Contains(n!)));
    }
}
