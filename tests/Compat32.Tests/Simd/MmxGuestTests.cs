using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Simd;

/// <summary>
/// MMX guests with their loops hot enough for the block translator: the x87 state MMX aliases (FNSAVE, FNSTENV,
/// FXSAVE images after MMX writes, EMMS, x87 pushes onto the stack MMX left) and the signal frame of a SIGSEGV
/// raised inside a translated MMX loop, against the host kernel (the CPU's own MMX; qemu-i386 keeps no 0xFFFF
/// exponents), at the default threshold and with every block translated at its first run; and the benchmark's
/// MMX kernel (bench/mmxkernel.c, -mmmx) against qemu-i386. Four threads keep their own MMX and x87 state.
/// </summary>
public class MmxGuestTests
{
    /// <summary>The model's own feature set (the harness default is the i686 baseline, without MMX).</summary>
    static Dictionary<string, string> Env(string? threshold)
    {
        var e = Proc.BaseEnv();
        e[CpuBaseline.Variable] = "";
        if (threshold != null) e["COMPAT32_JIT_THRESHOLD"] = threshold;
        return e;
    }

    [NativeI386Theory]
    [InlineData(null)]
    [InlineData("1")]
    public void AliasedX87StateAndSignalFrameMatchTheKernel(string? threshold) =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "simd", "mmx_state.c"), "-pthread"), [],
            new Differential.Options { Env = Env(threshold) });

    [Fact]
    public void MmxKernelMatchesQemu() =>
        Differential.AssertSame(GuestBuild.Build(TestEnv.RepoPath("bench", "mmxkernel.c"), "-mmmx"), ["40"],
            new Differential.Options { Env = Env(null), QemuCpu = SimdGuestTests.QemuSimdCpu });
}
