using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Debian;

/// <summary>
/// Debian's i386 programs with SSE advertised (compat32's default feature set against qemu-i386's
/// Westmere+movbe): glibc's ifuncs pick their SSE2/SSSE3/SSE4.2 string and memory routines, libm its SSE2 paths,
/// and libcrypto (through python's hashlib) its SSSE3/AES-NI-era code chosen from CPUID.
/// </summary>
public class DebianSimdTests(ITestOutputHelper log)
{
    static readonly DebianRun.Opts Simd = new() { Populate = DebianInputs.Populate, Simd = true };

    [DebianTheory]
    [InlineData("sort", "-r", "text.txt")]
    [InlineData("sha256sum", "text.txt", "data.bin", "csv.txt")]
    [InlineData("md5sum", "text.txt")]
    [InlineData("grep", "-n", "-E", "fox (1|2)[0-9]$", "text.txt")]
    [InlineData("sed", "-E", "s/line ([0-9]+)/L\\1/;5q", "text.txt")]
    [InlineData("wc", "text.txt")]
    [InlineData("ls", "-R", "-F", "tree")]
    [InlineData("sort", "-u", "-f", "words.txt")]
    public void CoreutilsWithSse(string prog, params string[] args) => DebianRun.AssertSame(log, prog, args, Simd);

    [DebianFact]
    public void PythonHashlibAndMathWithSse() => DebianRun.AssertSame(log, "python3.11", ["-c",
        "import hashlib, math, zlib\n" +
        "d = bytes(range(256)) * 4099\n" +
        "for n in ('sha256', 'sha512', 'sha1', 'md5', 'sha3_256', 'blake2b'): print(n, hashlib.new(n, d).hexdigest())\n" +
        "print(zlib.crc32(d), zlib.adler32(d), len(zlib.compress(d, 9)))\n" +
        "print([math.sin(i / 7) for i in range(5)], math.fsum(1 / (i + 1) for i in range(10000)), 2.0 ** 0.5, math.exp(-700))\n" +
        "print(sorted(str(i * 7919 % 1000) for i in range(2000))[-5:], 'x'.join(['abc'] * 3).upper().find('CXA'))"],
        Simd with { Populate = null });
}
