using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Compat32.Cpu.X87;

namespace Compat32.Tests.X87;

/// <summary>
/// Builds tests/x87ref/x87ref.c with the host gcc (cached by source hash under $XDG_CACHE_HOME or /tmp) and runs
/// batches of operations through real x87 hardware. Missing gcc/libquadmath fails the tests loudly.
/// </summary>
public static class X87Reference
{
    static readonly object Gate = new();
    static string? _binary;

    public static string RepoFile(string rel)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, rel);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException("cannot locate " + rel + " above " + AppContext.BaseDirectory);
    }

    public static string Binary
    {
        get
        {
            lock (Gate)
            {
                if (_binary != null) return _binary;
                string src = RepoFile(Path.Combine("tests", "x87ref", "x87ref.c"));
                string hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(src)))[..16];
                string cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x
                    ? Path.Combine(x, "compat32") : Path.Combine(Path.GetTempPath(), "compat32-cache");
                Directory.CreateDirectory(cache);
                string bin = Path.Combine(cache, "x87ref-" + hash);
                if (!File.Exists(bin))
                {
                    string tmp = bin + "." + Environment.ProcessId + ".tmp";
                    var (code, output) = Run("gcc", $"-O2 -o \"{tmp}\" \"{src}\" -lquadmath", "");
                    if (code != 0) throw new InvalidOperationException("building x87ref failed (gcc with libquadmath needed): " + output);
                    File.Move(tmp, bin, true);
                }
                return _binary = bin;
            }
        }
    }

    static (int, string) Run(string file, string args, string stdin)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var p = Process.Start(psi)!;
        var errTask = p.StandardError.ReadToEndAsync();
        var outTask = p.StandardOutput.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        p.WaitForExit();
        return (p.ExitCode, outTask.Result + errTask.Result);
    }

    /// <summary>Runs the lines through the oracle; returns one output line per input line.</summary>
    public static string[] Query(IReadOnlyList<string> lines)
    {
        var sb = new StringBuilder();
        foreach (var l in lines) sb.Append(l).Append('\n');
        var (code, output) = Run(Binary, "", sb.ToString());
        if (code != 0) throw new InvalidOperationException("x87ref exited with " + code);
        var res = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (res.Length != lines.Count) throw new InvalidOperationException($"x87ref answered {res.Length} of {lines.Count} lines");
        return res;
    }

    public static string Hex(Float80 v) => $"{v.SignExp:X4}:{v.Signif:X16}";

    public static Float80 Parse(string s)
    {
        int c = s.IndexOf(':');
        return new Float80(Convert.ToUInt16(s[..c], 16), Convert.ToUInt64(s[(c + 1)..], 16));
    }

    /// <summary>Signed distance in units in the last place (64-bit) between two finite values.</summary>
    public static Int128 UlpDistance(Float80 a, Float80 b) => Key(a) - Key(b);

    static Int128 Key(Float80 v)
    {
        Int128 k = v.Exp == 0 ? (Int128)v.Signif : (Int128)(v.Exp - 1) * (1L << 62) * 2 + v.Signif;
        return v.Sign ? -k : k;
    }
}

/// <summary>Operand generator covering every x87 class plus values built to hit ties and extremes.</summary>
public sealed class OperandGen(int seed)
{
    readonly Random _r = new(seed);

    public ulong U64() => (ulong)_r.NextInt64() ^ ((ulong)_r.Next() << 40);
    public int Next(int n) => _r.Next(n);
    public int Next(int lo, int hi) => _r.Next(lo, hi);

    public Float80 Any()
    {
        ushort sg = (ushort)(_r.Next(2) << 15);
        ulong m = U64() | Float80.IntBit;
        // sparse significands make exact results and rounding ties frequent
        if (_r.Next(3) == 0) m &= ulong.MaxValue << _r.Next(64);
        switch (_r.Next(20))
        {
            case 0: return new Float80(sg, 0);
            case 1: return new Float80(sg, U64() >> (1 + _r.Next(63)));          // denormal
            case 2: return new Float80((ushort)(sg | 0x7FFF), Float80.IntBit);     // infinity
            case 3: return new Float80((ushort)(sg | 0x7FFF), Float80.IntBit | Float80.QuietBit | (U64() >> _r.Next(2, 64)));
            case 4: return new Float80((ushort)(sg | 0x7FFF), Float80.IntBit | (U64() >> _r.Next(2, 64)) | 1); // SNaN
            case 5: return _r.Next(8) switch
            {
                0 => new Float80(sg, m),                                           // pseudo-denormal
                1 => new Float80((ushort)(sg | _r.Next(1, 0x7FFF)), m & ~Float80.IntBit), // unnormal
                2 => new Float80((ushort)(sg | 0x7FFF), U64() & ~Float80.IntBit),  // pseudo-NaN/inf
                3 => Float80.DefaultNaN,
                _ => new Float80((ushort)(sg | _r.Next(1, 0x7FFF)), m),
            };
            case 6: return new Float80((ushort)(sg | _r.Next(1, 80)), m);          // tiny normal
            case 7: return new Float80((ushort)(sg | (0x7FFE - _r.Next(80))), m);  // huge
            case 8: return new Float80((ushort)(sg | _r.Next(1, 0x7FFF)), m);
            default: return new Float80((ushort)(sg | (0x3FFF + _r.Next(-70, 70))), m);
        }
    }

    /// <summary>Second operand correlated with the first (near-equal exponents, equal values, exponent gaps).</summary>
    public Float80 Near(Float80 a)
    {
        if (_r.Next(3) == 0 || a.Exp == 0x7FFF) return Any();
        int e = Math.Clamp(a.Exp + _r.Next(-70, 70), 1, 0x7FFE);
        if (_r.Next(4) == 0) e = Math.Clamp(a.Exp + _r.Next(-2, 3), 1, 0x7FFE);
        ulong m = _r.Next(4) == 0 ? a.Signif ^ (1UL << _r.Next(64)) : U64();
        if (_r.Next(3) == 0) m &= ulong.MaxValue << _r.Next(64);
        m |= Float80.IntBit;
        ushort sg = (ushort)(_r.Next(2) << 15);
        return new Float80((ushort)(sg | e), m);
    }

    public Float80 Range(double lo, double hi)
    {
        double v = lo + (hi - lo) * _r.NextDouble();
        var c = new X87Context(0, 3);
        var f = SoftFloat80.FromFloat64(ref c, (ulong)BitConverter.DoubleToInt64Bits(v));
        if (f.Exp != 0 && f.Exp != 0x7FFF) f.Signif |= U64() >> 53; // fill low bits beyond double
        return f;
    }

    public static IEnumerable<ushort> ControlWords()
    {
        foreach (int rc in new[] { 0, 1, 2, 3 })
            foreach (int pc in new[] { 3, 2, 0 })
                yield return (ushort)(0x7F | pc << 8 | rc << 10);
    }
}
