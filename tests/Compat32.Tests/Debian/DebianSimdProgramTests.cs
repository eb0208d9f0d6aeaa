using System.Security.Cryptography;
using System.Text;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Debian;

/// <summary>The extra sysroot test.sh builds for SIMD programs: the base packages plus openssl, ripgrep, fzf.</summary>
public static class SimdSysroot
{
    public static string Dir =>
        Environment.GetEnvironmentVariable("COMPAT32_SYSROOT_SIMD") is { Length: > 0 } s ? s : Path.Combine(TestEnv.Cache, "sysroot-i386-simd");

    public static string? WhyUnavailable()
    {
        string d = Dir;
        if (File.Exists(Path.Combine(d, "usr", "bin", "openssl")) && File.Exists(Path.Combine(d, "usr", "bin", "rg"))
            && File.Exists(Path.Combine(d, "usr", "bin", "fzf"))) return null;
        string why = File.Exists(d + ".unavailable") ? File.ReadAllText(d + ".unavailable").Trim() : "not unpacked (run ./test.sh)";
        return $"Debian i386 SIMD sysroot missing at {d}: {why}";
    }
}

public sealed class SimdSysrootFactAttribute : FactAttribute
{
    public SimdSysrootFactAttribute() { if (SimdSysroot.WhyUnavailable() is { } why) Skip = why; }
}

public sealed class SimdSysrootTheoryAttribute : TheoryAttribute
{
    public SimdSysrootTheoryAttribute() { if (SimdSysroot.WhyUnavailable() is { } why) Skip = why; }
}

/// <summary>Needs the SIMD sysroot and the host kernel running i386 programs (the reference for Go programs).</summary>
public sealed class SimdSysrootNativeFactAttribute : FactAttribute
{
    public SimdSysrootNativeFactAttribute()
    {
        if (SimdSysroot.WhyUnavailable() is { } why) Skip = why;
        else if (NativeI386.WhyUnavailable is { } n) Skip = n;
    }
}

/// <summary>
/// Debian i386 programs whose hot code is SIMD, with compat32's default (SSE4.2, AES-NI, PCLMULQDQ) features
/// against qemu-i386 with Westmere+movbe: openssl (libcrypto picks AES-NI, SSSE3 or plain code from CPUID, and
/// OPENSSL_ia32cap masks features off, so each path runs), ripgrep (Rust, SSE2 memchr and regex), and fzf (Go,
/// whose 386 port needs SSE2; qemu-i386 7.2 is no reference there, so its known output and the host kernel are).
/// </summary>
public class DebianSimdProgramTests(ITestOutputHelper log)
{
    static readonly byte[] Key = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
    static readonly byte[] Iv = Convert.FromHexString("0f0e0d0c0b0a09080706050403020100");
    const string KeyHex = "000102030405060708090a0b0c0d0e0f", IvHex = "0f0e0d0c0b0a09080706050403020100";

    // OPENSSL_ia32cap "~mask" clears CPUID.1 bits (ECX in the high word): 57 = AES-NI, 41 = SSSE3, 33 = PCLMULQDQ
    public static TheoryData<string> CapMasks => new() { "", "~0x200000000000000", "~0x200020000000000" };

    static DebianRun.Opts Opts(string cap, Action<string>? populate = null) => new()
    {
        Simd = true, Sysroot = SimdSysroot.Dir, Populate = populate,
        Env = cap == "" ? null : new Dictionary<string, string> { ["OPENSSL_ia32cap"] = cap },
    };

    static byte[] Data(int n)
    {
        var d = new byte[n];
        uint x = 2463534242;
        for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; d[i] = (byte)x; }
        return d;
    }

    // printable text, so a decryption written to stdout compares as a string
    static string Text(int n)
    {
        var sb = new StringBuilder();
        for (int i = 0; sb.Length < n; i++) sb.Append($"block {i}: the quick brown fox {i * 7919 % 1009}\n");
        return sb.ToString(0, n);
    }

    [SimdSysrootTheory]
    [MemberData(nameof(CapMasks))]
    public void OpensslSha256(string cap)
    {
        var data = Data(200_003);
        var (_, c) = DebianRun.AssertSame(log, "openssl", ["dgst", "-sha256", "-r", "data.bin"],
            Opts(cap, d => File.WriteAllBytes(Path.Combine(d, "data.bin"), data)));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)) + " *data.bin\n", c.Out);
    }

    [SimdSysrootTheory]
    [MemberData(nameof(CapMasks))]
    public void OpensslAes128CbcEncrypt(string cap)
    {
        var data = Data(65_541);
        var (_, c) = DebianRun.AssertSame(log, "openssl", ["enc", "-aes-128-cbc", "-K", KeyHex, "-iv", IvHex, "-in", "data.bin", "-a", "-A"],
            Opts(cap, d => File.WriteAllBytes(Path.Combine(d, "data.bin"), data)));
        using var aes = Aes.Create();
        aes.Key = Key;
        Assert.Equal(Convert.ToBase64String(aes.EncryptCbc(data, Iv, PaddingMode.PKCS7)), c.Out.TrimEnd('\n'));
    }

    [SimdSysrootTheory]
    [MemberData(nameof(CapMasks))]
    public void OpensslAes128CbcDecrypt(string cap)
    {
        string text = Text(50_000);
        using var aes = Aes.Create();
        aes.Key = Key;
        var cipher = aes.EncryptCbc(Encoding.ASCII.GetBytes(text), Iv, PaddingMode.PKCS7);
        var (_, c) = DebianRun.AssertSame(log, "openssl", ["enc", "-d", "-aes-128-cbc", "-K", KeyHex, "-iv", IvHex, "-in", "c.bin"],
            Opts(cap, d => File.WriteAllBytes(Path.Combine(d, "c.bin"), cipher)));
        Assert.True(c.ExitCode == 0 && c.Out == text, $"decryption differs from the plaintext (exit {c.ExitCode})");
    }

    [SimdSysrootFact]
    public void OpensslAes256Ctr() => DebianRun.AssertSame(log, "openssl",
        ["enc", "-aes-256-ctr", "-K", KeyHex + KeyHex, "-iv", IvHex, "-in", "data.bin", "-out", "ctr.bin"],
        Opts("", d => File.WriteAllBytes(Path.Combine(d, "data.bin"), Data(100_000))));

    static void Tree(string d)
    {
        DebianInputs.Populate(d);
        Directory.CreateDirectory(Path.Combine(d, "src", "deep", "er"));
        for (int f = 0; f < 12; f++)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < 400; i++) sb.Append($"fn f{f}_{i}() {{ let x = {i * 7919 % 1000}; /* the quick brown fox */ }}\n");
            File.WriteAllText(Path.Combine(d, f % 3 == 0 ? "src/deep/er" : "src", $"m{f}.rs"), sb.ToString());
        }
    }

    [SimdSysrootTheory]
    [InlineData("-n", "--sort", "path", "fox (1|2)[0-9]$")]
    [InlineData("-c", "--sort", "path", "-i", "QUICK")]
    [InlineData("-o", "--sort", "path", "-w", "x = 9[0-9]7")]
    [InlineData("--files", "--sort", "path", "-g", "*.rs")]
    [InlineData("-l", "-F", "--sort", "path", "cherry")]
    public void Ripgrep(params string[] args) => DebianRun.AssertSame(log, "rg", args, new DebianRun.Opts
    {
        Simd = true, Sysroot = SimdSysroot.Dir, Populate = Tree,
    });

    static readonly byte[] FzfInput = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, 3000).Select(i => $"item {i} {i * 7919 % 997}\n")));

    static ProcResult Fzf(params string[] args)
    {
        var env = Proc.BaseEnv();
        env[CpuBaseline.Variable] = "";
        return Differential.RunCompat32(Path.Combine(SimdSysroot.Dir, "usr", "bin", "fzf"), args, new Differential.Options
        {
            Env = env, Stdin = FzfInput, Compat32Options = ["--sysroot", SimdSysroot.Dir],
        });
    }

    /// <summary>An exact, unsorted filter has a known answer: the input lines holding the term, in order.</summary>
    [SimdSysrootFact]
    public void FzfExactFilterKnownOutput()
    {
        var c = Fzf("--filter", "'12", "--no-sort");
        string want = string.Concat(Encoding.ASCII.GetString(FzfInput).Split('\n').Where(l => l.Contains("12")).Select(l => l + "\n"));
        Assert.True(c.ExitCode == 0 && c.Out == want, $"fzf exit {c.ExitCode}\n{c.Err}\n{c.Out[..Math.Min(c.Out.Length, 2000)]}");
    }

    /// <summary>Fuzzy scoring and sorting (goroutines sharing the work) against the host kernel running fzf.</summary>
    [SimdSysrootNativeFact]
    public void FzfFuzzyFilterSameAsNative()
    {
        var c = Fzf("--filter", "it 12 9");
        var n = NativeI386.Run(Path.Combine(SimdSysroot.Dir, "usr", "bin", "fzf"), ["--filter", "it 12 9"], new Differential.Options { Stdin = FzfInput });
        Assert.True(n.ExitCode == 0 && n.Out.Length > 100, $"native fzf failed: exit {n.ExitCode} {n.Err}");
        Assert.True(c.ExitCode == n.ExitCode && c.Out == n.Out, $"fzf differs from native: exit {c.ExitCode}\n{c.Err}\n{c.Out[..Math.Min(c.Out.Length, 2000)]}");
    }
}
