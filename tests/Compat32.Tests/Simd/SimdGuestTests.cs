using Compat32.Cpu;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Simd;

/// <summary>
/// C guests built with gcc -m32 -O2 -msse4.2 -maes -mpclmul -mfpmath=sse -ftree-vectorize (tests/guests/simd), run
/// with the models' SIMD feature sets: against qemu-i386 with the same features, against the host kernel where
/// the kernel is the reference (signal frames, SIGFPE's si_code, #GP), and CPUID/AT_HWCAP//proc/cpuinfo/#UD
/// agreement for several --cpu feature lists. The translated pass (COMPAT32_JIT_THRESHOLD=1) runs them too.
/// </summary>
public class SimdGuestTests(ITestOutputHelper log)
{
    /// <summary>qemu-i386's Westmere is the oldest of its models with every SIMD feature the Goldmont set has
    /// (SSE4.2, SSSE3, POPCNT, AES-NI, PCLMULQDQ) and no AVX, so glibc's ifuncs pick the same routines on both
    /// sides; +movbe completes the set; -lm,-syscall keep TCG's warnings about 64-bit-only bits off stderr.</summary>
    public const string QemuSimdCpu = "Westmere,-lm,-syscall,+movbe";

    static readonly string[] SimdFlags = ["-msse4.2", "-maes", "-mpclmul", "-mfpmath=sse", "-ftree-vectorize", "-pthread"];

    static string Build(string name) => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "simd", name + ".c"), SimdFlags);

    /// <summary>The harness default (the i686 baseline) replaced by the model's own feature set.</summary>
    static Dictionary<string, string> Env(string features = "")
    {
        var e = Proc.BaseEnv();
        e[CpuBaseline.Variable] = features;
        return e;
    }

    [Theory]
    [InlineData("intel")]
    [InlineData("amd")]
    public void VectorisedProgramMatchesQemu(string model) =>
        Differential.AssertSame(Build("simd_vec"), [], new Differential.Options { Env = Env(), QemuCpu = QemuSimdCpu, Compat32Options = ["--cpu", model] });

    [NativeI386Theory]
    [InlineData("intel")]
    [InlineData("amd")]
    [InlineData("i386")]
    public void SignalFrameAndSimdFaultsMatchTheKernel(string model) =>
        NativeI386.AssertSame(Build("simd_signal"), [], new Differential.Options { Env = Env(), Compat32Options = ["--cpu", model] },
            NativeI386.HostMisalignSse ? [MisalignSseMask] : [], log);

    /// <summary>FXSAVE's MXCSR_MASK shows bit 17 (MM) on a CPU with AMD's misaligned SSE mode; no model has that mode
    /// (it would need MXCSR.MM honoured by every 16-byte access, and translated code loads the guest's MXCSR into the
    /// host's, which faults on a host without it), so every model stores 0x0000FFFF.</summary>
    static readonly NativeI386.Section MisalignSseMask = new("fxsave MXCSR_MASK:",
        "the host CPU has AMD's misaligned SSE mode (CPUID 8000_0001h:ECX[7]), whose MXCSR bit 17 the mask shows; no model has it");

    [Fact]
    public void SignalFrameMxcsrMaskIsEveryDefinedBit()
    {
        foreach (var model in new[] { "intel", "amd" })
        {
            var r = Differential.RunCompat32(Build("simd_signal"), [], new Differential.Options { Env = Env(), Compat32Options = ["--cpu", model] });
            Assert.True(r.ExitCode == 0, r.Out + r.Err);
            Assert.Contains("fxsave MXCSR_MASK:\n  0000ffff\n", r.Out);
        }
    }

    [Fact]
    public void TheI686BaselineRaisesSigill()
    {
        var r = Differential.RunCompat32(Build("simd_vec"), [], new Differential.Options { Env = Env("i686") });
        Assert.Equal(128 + 4, r.ExitCode);
        Assert.Contains("killed by SIGILL", r.Err);
    }

    /// <summary>For each feature: CPUID bit ⇔ /proc/cpuinfo flag ⇔ its instruction runs (else SIGILL; LZCNT
    /// without ABM runs as BSR); AT_HWCAP is CPUID.1:EDX.</summary>
    [Theory]
    [InlineData("intel")]
    [InlineData("amd")]
    [InlineData("intel,i686")]
    [InlineData("intel,-sse4_2,+abm")]
    [InlineData("amd,-sse2,-mmx")]
    [InlineData("i386,-aes,-pclmulqdq,-movbe")]
    public void CpuidHwcapCpuinfoAndInstructionsAgree(string spec)
    {
        var r = Differential.RunCompat32(Build("simd_features"), [], new Differential.Options { Env = Env(), Compat32Options = ["--cpu", spec] });
        Assert.True(r.ExitCode == 0, r.Out + r.Err);
        var lines = r.Out.Split('\n');
        var w = lines[0].Split(' ');
        uint ecx = Convert.ToUInt32(w[2], 16), edx = Convert.ToUInt32(w[4], 16), extEcx = Convert.ToUInt32(w[7], 16);
        uint hwcap = Convert.ToUInt32(lines[1].Split(' ')[1], 16);
        Assert.Equal(edx, hwcap);
        var flags = lines[2].Split(':', 2)[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var runs = lines.Where(l => l.StartsWith("runs ")).ToDictionary(l => l.Split(' ')[1], l => l.Split(' ')[2] == "1");
        var model = CpuModel.Parse(spec, out var err)!;
        Assert.Null(err);
        foreach (var (f, name, leaf, reg, bit) in CpuFeatures.Table)
        {
            uint word = leaf == 1 ? (reg == 2 ? ecx : edx) : extEcx;
            bool cpuid = ((word >> bit) & 1) != 0;
            Assert.Equal(model.Has(f), cpuid);
            Assert.True(cpuid == flags.Contains(name), $"{spec}: {name}: CPUID {cpuid}, /proc/cpuinfo {flags.Contains(name)}");
            if (runs.TryGetValue(name, out bool ran)) Assert.True(cpuid == ran, $"{spec}: {name}: CPUID {cpuid}, instruction ran {ran}");
        }
    }
}
