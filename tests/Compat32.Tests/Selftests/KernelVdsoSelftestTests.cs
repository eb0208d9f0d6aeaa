using Compat32.Tests.Signals;
using Compat32.Tests.Vdso;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Selftests;

/// <summary>The kernel's vdso_test_gettimeofday run with --vdso on the image Linux 6.1's own build produced
/// (vdso32.so with its .dbg): the kernel's time code reading our vvar page must give the right time.</summary>
public class KernelVdsoSelftestTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData("intel")]
    [InlineData("amd")]
    [InlineData("nosep")]
    public void VdsoTestGettimeofdayOnTheKernelsImage(string model)
    {
        Assert.Null(KernelVdso.WhyUnavailable()); // test.sh installs the kernel build tools; never silently skip
        KernelVdso.Get();
        string so = Path.Combine(KernelVdso.CacheDir, "vdso32.so");
        string bin = Path.Combine(SelftestTests.BinDir, "vdso_test_gettimeofday");
        Assert.True(File.Exists(bin), bin + " was not built");
        var r = GuestRunner.Compat32(new[] { "--cpu", model, "--vdso", so, bin });
        string output = r.Stdout + r.Stderr;
        log.WriteLine(output);
        Assert.Equal(0, r.Code);
        Assert.DoesNotContain("FAIL", output);
        // "The time is S.US": within a few seconds of the host's clock.
        var m = System.Text.RegularExpressions.Regex.Match(output, @"The time is\s+(\d+)\.(\d+)");
        Assert.True(m.Success, output);
        long guest = long.Parse(m.Groups[1].Value);
        long host = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.InRange(guest, host - 30, host + 1);
    }
}
