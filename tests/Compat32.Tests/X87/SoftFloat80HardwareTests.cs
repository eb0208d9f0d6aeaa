using System.Text;
using Compat32.Cpu.X87;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.X87;

/// <summary>
/// Bit-exact comparison of SoftFloat80 against the host's x87 (all exceptions masked, 4 RC × 3 PC).
/// Compared: result bits and status word bits IE DE ZE OE UE PE SF ES C0 C1 C2 C3 (TOP excluded).
/// </summary>
public class SoftFloat80HardwareTests(ITestOutputHelper log)
{
    const int SwMask = 0x47FF;

    static string F(Float80 v) => X87Reference.Hex(v);

    static int Sw(in X87Context c) => (int)c.Flags | (c.C1 ? 0x200 : 0);

    /// <summary>Our answer in the oracle's output format.</summary>
    internal static string Emulate(string op, ushort cw, Float80 a, Float80 b, string rawA)
    {
        var c = X87Context.FromControlWord(cw);
        switch (op)
        {
            case "add": return $"{F(SoftFloat80.Add(ref c, a, b))} {Sw(c):X4}";
            case "sub": return $"{F(SoftFloat80.Sub(ref c, a, b))} {Sw(c):X4}";
            case "mul": return $"{F(SoftFloat80.Mul(ref c, a, b))} {Sw(c):X4}";
            case "div": return $"{F(SoftFloat80.Div(ref c, a, b))} {Sw(c):X4}";
            case "sqrt": return $"{F(SoftFloat80.Sqrt(ref c, a))} {Sw(c):X4}";
            case "rndint": return $"{F(SoftFloat80.RoundToInt(ref c, a))} {Sw(c):X4}";
            case "scale": return $"{F(SoftFloat80.Scale(ref c, a, b))} {Sw(c):X4}";
            case "prem":
            case "prem1":
            {
                var r = SoftFloat80.Remainder(ref c, a, b, op == "prem1", out int q, out bool inc);
                int sw = (int)c.Flags | (inc ? 0x400 : 0) | ((q & 4) != 0 ? 0x100 : 0) | ((q & 2) != 0 ? 0x4000 : 0) | ((q & 1) != 0 ? 0x200 : 0);
                return $"{F(r)} {sw:X4}";
            }
            case "xtract":
            {
                SoftFloat80.Extract(ref c, a, out var sig, out var exp);
                return $"{F(sig)} {F(exp)} {Sw(c):X4}";
            }
            case "com":
            case "ucom":
            {
                var r = SoftFloat80.Compare(ref c, a, b, op == "ucom");
                return $"0000:0000000000000000 {(int)c.Flags | CompareBits(r):X4}";
            }
            case "tst":
            {
                var r = SoftFloat80.Compare(ref c, a, Float80.Zero, false);
                return $"0000:0000000000000000 {(int)c.Flags | CompareBits(r):X4}";
            }
            case "xam":
            {
                int k = SoftFloat80.Examine(a);
                int sw = ((k & 4) != 0 ? 0x4000 : 0) | ((k & 2) != 0 ? 0x400 : 0) | ((k & 1) != 0 ? 0x100 : 0) | (a.Sign ? 0x200 : 0);
                return $"0000:0000000000000000 {sw:X4}";
            }
            case "st32": { uint v = SoftFloat80.ToFloat32(ref c, a); return $"{v:X8} {Sw(c):X4}"; }
            case "st64": { ulong v = SoftFloat80.ToFloat64(ref c, a); return $"{v:X16} {Sw(c):X4}"; }
            case "ist16": return $"{(ushort)SoftFloat80.ToInt(ref c, a, 16, false):X4} {Sw(c):X4}";
            case "ist32": return $"{(uint)SoftFloat80.ToInt(ref c, a, 32, false):X8} {Sw(c):X4}";
            case "ist64": return $"{(ulong)SoftFloat80.ToInt(ref c, a, 64, false):X16} {Sw(c):X4}";
            case "istt16": return $"{(ushort)SoftFloat80.ToInt(ref c, a, 16, true):X4} {Sw(c):X4}";
            case "istt32": return $"{(uint)SoftFloat80.ToInt(ref c, a, 32, true):X8} {Sw(c):X4}";
            case "istt64": return $"{(ulong)SoftFloat80.ToInt(ref c, a, 64, true):X16} {Sw(c):X4}";
            case "bstp":
            {
                Span<byte> d = stackalloc byte[10];
                SoftFloat80.ToBcd(ref c, a, d);
                var sb = new StringBuilder();
                for (int i = 9; i >= 0; i--) sb.Append(d[i].ToString("X2"));
                return $"{sb} {Sw(c):X4}";
            }
            case "ld32": return $"{F(SoftFloat80.FromFloat32(ref c, Convert.ToUInt32(rawA, 16)))} {Sw(c):X4}";
            case "ld64": return $"{F(SoftFloat80.FromFloat64(ref c, Convert.ToUInt64(rawA, 16)))} {Sw(c):X4}";
            case "bld":
            {
                Span<byte> s = stackalloc byte[10];
                for (int i = 0; i < 10; i++) s[i] = Convert.ToByte(rawA.Substring(2 * (9 - i), 2), 16);
                return $"{F(SoftFloat80.FromBcd(s))} {Sw(c):X4}";
            }
            case "ldpi": case "ldl2e": case "ldl2t": case "ldlg2": case "ldln2":
            {
                var v = X87Constants.Load(op switch { "ldpi" => X87Constant.Pi, "ldl2e" => X87Constant.Log2E, "ldl2t" => X87Constant.Log2Ten, "ldlg2" => X87Constant.Lg2, _ => X87Constant.Ln2 }, c.Rounding);
                return $"{F(v)} 0000";
            }
        }
        throw new ArgumentException(op);
    }

    static int CompareBits(X87Compare r) => r switch
    {
        X87Compare.Less => 0x100,
        X87Compare.Equal => 0x4000,
        X87Compare.Greater => 0,
        _ => 0x4500,
    };

    static int SwOf(string line) => Convert.ToInt32(line[(line.LastIndexOf(' ') + 1)..], 16) & SwMask;
    static string ValOf(string line) => line[..line.LastIndexOf(' ')];

    void Check(string op, int perCw, Func<OperandGen, (string a, string b)> gen, int seed)
    {
        var g = new OperandGen(seed);
        var lines = new List<string>();
        foreach (ushort cw in OperandGen.ControlWords())
            for (int i = 0; i < perCw; i++)
            {
                var (a, b) = gen(g);
                lines.Add($"{op} {cw:X} {a} {b}".TrimEnd());
            }
        var hw = X87Reference.Query(lines);
        int bad = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
        {
            var parts = lines[i].Split(' ');
            ushort cw = Convert.ToUInt16(parts[1], 16);
            string ra = parts.Length > 2 ? parts[2] : "0000:0000000000000000";
            string rb = parts.Length > 3 ? parts[3] : "0000:0000000000000000";
            Float80 a = ra.Contains(':') ? X87Reference.Parse(ra) : default, b = X87Reference.Parse(rb);
            string mine = Emulate(op, cw, a, b, ra);
            if (ValOf(mine) != ValOf(hw[i]) || SwOf(mine) != SwOf(hw[i]))
            {
                if (++bad <= 25) sb.AppendLine($"{lines[i]} => hw {ValOf(hw[i])} sw {SwOf(hw[i]):X4} | ours {ValOf(mine)} sw {SwOf(mine):X4}");
            }
        }
        log.WriteLine($"{op}: {lines.Count} cases, {bad} mismatches");
        Assert.True(bad == 0, $"{op}: {bad}/{lines.Count} mismatches\n{sb}");
    }

    static (string, string) Two(OperandGen g) { var a = g.Any(); return (F(a), F(g.Near(a))); }
    static (string, string) One(OperandGen g) => (F(g.Any()), "");

    [Theory]
    [InlineData("add")] [InlineData("sub")] [InlineData("mul")] [InlineData("div")]
    public void Arithmetic(string op) => Check(op, 1500, Two, op.GetHashCode() & 0xFFFF ^ 11);

    [Fact] public void Sqrt() => Check("sqrt", 1500, One, 2);
    [Fact] public void RoundToInt() => Check("rndint", 1000, g =>
    {
        var a = g.Next(2) == 0 ? g.Any() : g.Range(-1e6, 1e6);
        return (F(a), "");
    }, 3);

    [Theory] [InlineData("com")] [InlineData("ucom")]
    public void Compare(string op) => Check(op, 600, g =>
    {
        var a = g.Any();
        return (F(a), F(g.Next(5) == 0 ? a : g.Near(a)));
    }, 4);

    [Fact] public void TestAndExamine() { Check("tst", 400, One, 5); Check("xam", 400, One, 6); }

    [Theory] [InlineData("prem")] [InlineData("prem1")]
    public void PartialRemainder(string op) => Check(op, 1000, g =>
    {
        var a = g.Any();
        var b = g.Near(a);
        if (g.Next(3) == 0) b = new Float80((ushort)(b.SignExp & 0x8000 | Math.Clamp(a.Exp - g.Next(0, 200), 1, 0x7FFE)), b.Signif | Float80.IntBit);
        return (F(a), F(b));
    }, 7);

    [Fact] public void Scale() => Check("scale", 1000, g =>
    {
        var a = g.Any();
        Float80 b = g.Next(3) switch { 0 => g.Any(), 1 => g.Range(-70, 70), _ => g.Range(-33000, 33000) };
        return (F(a), F(b));
    }, 8);

    [Fact] public void Extract() => Check("xtract", 500, One, 9);

    [Theory]
    [InlineData("st32")] [InlineData("st64")]
    [InlineData("ist16")] [InlineData("ist32")] [InlineData("ist64")]
    [InlineData("istt16")] [InlineData("istt32")] [InlineData("istt64")]
    [InlineData("bstp")]
    public void Stores(string op) => Check(op, 800, g =>
    {
        Float80 a = g.Next(6) switch
        {
            0 => g.Range(-40000, 40000),
            1 => g.Range(-3e9, 3e9),
            2 => g.Range(-2e19, 2e19),
            3 => new Float80((ushort)(g.Next(2) << 15 | (0x3FFF + g.Next(-1100, 1100))), g.U64() | Float80.IntBit),
            4 => new Float80((ushort)(g.Next(2) << 15 | (0x3FFF + g.Next(-16400, -16350) + 16383 - 16383)), g.U64() | Float80.IntBit),
            _ => g.Any(),
        };
        if (a.Exp == 0x7FFF + 1) a = default;
        return (F(a), "");
    }, 10);

    [Fact]
    public void Loads()
    {
        Check("ld32", 500, g => (g.Next(4) switch
        {
            0 => (g.U64() & 0x807FFFFF).ToString("X8"),
            1 => ((g.U64() & 0x807FFFFF) | 0x7F800000).ToString("X8"),
            _ => ((uint)g.U64()).ToString("X8"),
        }, ""), 12);
        Check("ld64", 500, g => (g.Next(4) switch
        {
            0 => (g.U64() & 0x800FFFFFFFFFFFFF).ToString("X16"),
            1 => ((g.U64() & 0x800FFFFFFFFFFFFF) | 0x7FF0000000000000).ToString("X16"),
            _ => g.U64().ToString("X16"),
        }, ""), 13);
        Check("bld", 200, g =>
        {
            var sb = new StringBuilder();
            sb.Append(g.Next(2) == 0 ? "80" : "00");
            for (int i = 0; i < 18; i++) sb.Append((char)('0' + g.Next(10)));
            return (sb.ToString(), "");
        }, 14);
    }

    [Fact]
    public void Constants()
    {
        foreach (var op in new[] { "ldpi", "ldl2e", "ldl2t", "ldlg2", "ldln2" }) Check(op, 1, _ => ("", ""), 15);
    }
}
