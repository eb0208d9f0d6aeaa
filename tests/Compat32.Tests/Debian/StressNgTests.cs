using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Debian;

/// <summary>
/// Debian's stress-ng:i386 (in the test sysroot) hammering the process and thread machinery for a few seconds per
/// stressor. stress-ng checks its own results; the run must report no "fail:" line and exit 0 ("successful run
/// completed"). Timing-dependent metrics make a byte comparison with qemu-i386 meaningless here.
/// </summary>
public class StressNgTests(ITestOutputHelper log)
{
    [DebianTheory]
    [InlineData("fork")] [InlineData("clone")] [InlineData("futex")] [InlineData("pthread")] [InlineData("pipe")]
    [InlineData("sem")] [InlineData("sigq")] [InlineData("kill")] [InlineData("vfork")]
    public void Stressor(string name)
    {
        string bin = DebianSysroot.Bin("stress-ng");
        Assert.True(File.Exists(bin), "stress-ng is missing from the sysroot (./test.sh downloads it)");
        var r = Differential.RunCompat32(bin, [$"--{name}", "2", "--timeout", "3s"],
            new Differential.Options { Compat32Options = ["--sysroot", DebianSysroot.Dir], TimeoutMs = 120_000 });
        log.WriteLine($"stress-ng --{name}: {r.Elapsed.TotalSeconds:F1} s, exit {r.ExitCode}\n{r.Err}");
        Assert.DoesNotContain("fail:", r.Err + r.Out);
        Assert.Contains("successful run completed", r.Err + r.Out);
        Assert.Equal(0, r.ExitCode);
    }
}

/// <summary>Debian's 7zz:i386 benchmark with two threads: compression and decompression on both, with 7-Zip's own
/// CRC checks of what it decompressed. Its speeds vary from run to run, so the check is a clean run, not a byte
/// comparison.</summary>
public class SevenZipTests(ITestOutputHelper log)
{
    [DebianFact]
    public void BenchmarkTwoThreads()
    {
        string bin = DebianSysroot.Bin("7zz");
        Assert.True(File.Exists(bin), "7zz is missing from the sysroot (./test.sh downloads it)");
        var r = Differential.RunCompat32(bin, ["b", "1", "-mmt2", "-md16"],
            new Differential.Options { Compat32Options = ["--sysroot", DebianSysroot.Dir], TimeoutMs = 300_000 });
        log.WriteLine($"7zz b -mmt2: {r.Elapsed.TotalSeconds:F1} s, exit {r.ExitCode}\n{r.Out}{r.Err}");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Tot:", r.Out);
        Assert.DoesNotContain("ERROR", r.Out.ToUpperInvariant() + r.Err.ToUpperInvariant());
    }
}
