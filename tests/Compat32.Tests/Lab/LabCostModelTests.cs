using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Lab;
using Xunit;

namespace Compat32.Tests.Lab;

/// <summary>The cycle model uses each cited figure as its source states it, per vendor and generation, and shows
/// '?' (never 0) where a transition has no published figure. No guest runs: the counts are the ones the lab
/// measures for one getppid (LabDesignTests checks them on the real rows).</summary>
public class LabCostModelTests
{
    static Figure Fig(string id) => CostModel.Figures.Single(f => f.Id == id);

    static (Dictionary<string, double>, Dictionary<string, double>) Counts(EntryMethod entry, ExitMethod exit) =>
        (Enum.GetValues<EntryMethod>().ToDictionary(k => k.ToString(), k => k == entry ? 1.0 : 0),
         Enum.GetValues<ExitMethod>().ToDictionary(k => k.ToString(), k => k == exit ? 1.0 : 0));

    static Modelled Cycles(string cpu, EntryMethod entry, ExitMethod exit)
    {
        var (e, x) = Counts(entry, exit);
        return CostModel.Transitions(CpuModel.ByName(cpu)!, e, x);
    }

    static Modelled Delta(EntryDesign d, string cpu, EntryMethod entry, ExitMethod exit)
    {
        var (e, x) = Counts(entry, exit);
        return CostModel.Delta(d, CpuModel.ByName(cpu)!, e, x);
    }

    /// <summary>Each figure's number is the one its quoted source gives (the quote is part of the source text).</summary>
    [Theory]
    [InlineData("F1", -30, "30 cycles or so faster")]
    [InlineData("F2", 10, "about ten cycles")]
    [InlineData("F3", 27, "SYSCALL 0Fh 05h VectorPath 27")]
    [InlineData("F4", 35, "SYSRET 0Fh 07h VectorPath 35")]
    [InlineData("F5", 641, "641 cycles with sysenter/sysexit")]
    [InlineData("F6", 1761, "1761 cycles with the old")]
    [InlineData("F7", 70, "around 70 cycles per roundtrip")]
    [InlineData("F8", -80, "nearly 80ns")]
    public void FiguresAreTheQuotedNumbers(string id, double value, string quote)
    {
        var f = Fig(id);
        Assert.Equal(value, f.Value);
        Assert.Contains(quote, f.Source);
        Assert.False(string.IsNullOrWhiteSpace(f.Where));
        Assert.False(string.IsNullOrWhiteSpace(f.Use));
    }

    [Fact]
    public void AmdK8PricesSyscallAndSysretFromTheVendorTable()
    {
        var c = Cycles("amd", EntryMethod.Syscall32, ExitMethod.Sysretl);
        Assert.Equal(Fig("F3").Value + Fig("F4").Value, c.Cycles);
        Assert.Equal(62, c.Cycles);
        Assert.Equal(["F3", "F4"], c.Keys);
        Assert.Contains("AMD K8", c.Note);
    }

    [Fact]
    public void Pentium4PricesWholeRoundTripsAsMeasured()
    {
        var fast = Cycles("i386", EntryMethod.Sysenter, ExitMethod.Sysexit);
        Assert.Equal(641, fast.Cycles);
        Assert.Equal(["F5"], fast.Keys);
        var slow = Cycles("i386", EntryMethod.Int80, ExitMethod.Iret);
        Assert.Equal(1761, slow.Cycles);
        Assert.Equal(["F6"], slow.Keys);
        Assert.Contains("Pentium 4", slow.Note);
        // A pair nobody measured (SYSENTER in, IRET out) is not stitched together from the two round trips.
        Assert.Null(Cycles("i386", EntryMethod.Sysenter, ExitMethod.Iret).Cycles);
    }

    [Theory]
    [InlineData("intel", EntryMethod.Sysenter, ExitMethod.Sysretl, "1 SYSENTER + 1 SYSRETL")]
    [InlineData("intel", EntryMethod.Int80, ExitMethod.Iret, "1 INT80 + 1 IRET")]
    [InlineData("nosep", EntryMethod.Int80, ExitMethod.Iret, "1 INT80 + 1 IRET")]
    [InlineData("amd", EntryMethod.Int80, ExitMethod.Iret, "1 INT80 + 1 IRET")]
    public void NoFigureMeansUnknownWithTheReason(string cpu, EntryMethod entry, ExitMethod exit, string named)
    {
        var c = Cycles(cpu, entry, exit);
        Assert.Null(c.Cycles);
        Assert.Equal("?", c.Cell(signed: false));
        Assert.Contains("no figure for " + named, c.Note);
        Assert.Contains(CostModel.TableFor(CpuModel.ByName(cpu)!).Gap, c.Note);
    }

    [Fact]
    public void DeltaAgainstLinux43()
    {
        // What landed is the baseline: 0, not unknown.
        Assert.Equal(0, Delta(EntryDesign.Linux43, "intel", EntryMethod.Sysenter, ExitMethod.Sysretl).Cycles);
        // int80-only on the Pentium 4: 1761 - 641.
        var i = Delta(EntryDesign.Int80Only, "i386", EntryMethod.Int80, ExitMethod.Iret);
        Assert.Equal(Fig("F6").Value - Fig("F5").Value, i.Cycles);
        Assert.Equal("+1120 [F6,F5]", i.Cell(signed: true));
        // v4.2's partial pt_regs: Intel Sandy Bridge's ten cycles, not carried over to AMD.
        Assert.Equal(-10, Delta(EntryDesign.Linux42, "intel", EntryMethod.Sysenter, ExitMethod.Sysretl).Cycles);
        var amd = Delta(EntryDesign.Linux42, "amd", EntryMethod.Syscall32, ExitMethod.Sysretl);
        Assert.Null(amd.Cycles);
        Assert.Contains("no AMD figure", amd.Note);
        // The proposal's IRET on Intel and its second load have no figure.
        var p = Delta(EntryDesign.Proposal2015, "intel", EntryMethod.Sysenter, ExitMethod.Iret);
        Assert.Null(p.Cycles);
        Assert.Contains("2nd user load", p.Note);
        Assert.Null(Delta(EntryDesign.Int80Only, "amd", EntryMethod.Int80, ExitMethod.Iret).Cycles);
    }

    static LabRow Synthetic(string design, string cpu, EntryMethod entry, ExitMethod exit)
    {
        var (e, x) = Counts(entry, exit);
        var m = CpuModel.ByName(cpu)!;
        var d = Designs.ByName(design)!.Design;
        var costs = new Costs(2, e, x, [], 0, CostModel.Transitions(m, e, x), CostModel.Delta(d, m, e, x));
        return new LabRow(design, cpu, Battery.Checks.Select(c => new CheckResult(c.Id, Verdict.Pass, "")).ToList(), costs, []);
    }

    static readonly List<LabRow> rows =
    [
        Synthetic("linux-4.3", "i386", EntryMethod.Sysenter, ExitMethod.Sysexit),
        Synthetic("int80-only", "i386", EntryMethod.Int80, ExitMethod.Iret),
        Synthetic("linux-4.3", "amd", EntryMethod.Syscall32, ExitMethod.Sysretl),
        Synthetic("linux-4.3", "intel", EntryMethod.Sysenter, ExitMethod.Sysretl),
    ];

    [Fact]
    public void TableShowsCyclesWithKeysAndQuestionMarks()
    {
        var t = LabReport.Table(rows).Split('\n');
        Assert.Matches(@"^design +cpu +vdso insns +entry +exit +loads +cycles +Δcycles ", t[0]);
        Assert.Contains(t, l => Regex.IsMatch(l, @"^linux-4\.3 +i386 .* 641 \[F5\] +0 "));
        Assert.Contains(t, l => Regex.IsMatch(l, @"^int80-only +i386 .* 1761 \[F6\] +\+1120 \[F6,F5\] "));
        Assert.Contains(t, l => Regex.IsMatch(l, @"^linux-4\.3 +amd .* 62 \[F3,F4\] +0 "));
        Assert.Contains(t, l => Regex.IsMatch(l, @"^linux-4\.3 +intel .* 1 SYSRETL +0 +\? +0 "));
        Assert.Contains(t, l => l.StartsWith("Why '?':"));
        Assert.Contains(t, l => l.Contains("linux-4.3/intel: cycles: Intel, 64-bit kernel"));
        foreach (var f in CostModel.Figures) Assert.Contains(t, l => l.StartsWith($"  {f.Id}: "));
    }

    [Fact]
    public void JsonCarriesValuesKeysAndNulls()
    {
        using var doc = JsonDocument.Parse(LabReport.Json(rows));
        var jr = doc.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("costs")).ToList();
        Assert.Equal(641, jr[0].GetProperty("cycles").GetDouble());
        Assert.Equal(["F5"], jr[0].GetProperty("cyclesKeys").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal(1120, jr[1].GetProperty("deltaCycles").GetDouble());
        Assert.Equal(62, jr[2].GetProperty("cycles").GetDouble());
        Assert.Equal(JsonValueKind.Null, jr[3].GetProperty("cycles").ValueKind);
        Assert.Empty(jr[3].GetProperty("cyclesKeys").EnumerateArray());
        Assert.Contains("no figure", jr[3].GetProperty("cyclesNote").GetString());
        var tables = doc.RootElement.GetProperty("costTables").EnumerateArray().ToDictionary(t => t.GetProperty("cpu").GetString()!);
        Assert.Equal(2, tables["i386"].GetProperty("lines").GetArrayLength());
        Assert.Equal(0, tables["intel"].GetProperty("lines").GetArrayLength());
        var figs = doc.RootElement.GetProperty("figures").EnumerateArray().ToDictionary(f => f.GetProperty("id").GetString()!);
        Assert.Equal(27, figs["F3"].GetProperty("value").GetDouble());
        Assert.Equal("instruction", figs["F3"].GetProperty("kind").GetString());
    }

    [Fact]
    public void HtmlDrawsKnownCyclesAndAQuestionMarkForTheRest()
    {
        var html = LabReport.Html(rows);
        var bars = Regex.Matches(html, "<rect class=\"cbar\" data-design=\"([^\"]+)\" data-cpu=\"([^\"]+)\" data-value=\"([^\"]+)\" data-keys=\"([^\"]*)\"[^>]* height=\"(\\d+)\"");
        Assert.Equal(3, bars.Count);
        foreach (Match b in bars)
        {
            var r = rows.Single(x => x.Design == b.Groups[1].Value && x.Model == b.Groups[2].Value);
            Assert.Equal(r.Costs.Cycles.Cycles, double.Parse(b.Groups[3].Value, CultureInfo.InvariantCulture));
            Assert.Equal(string.Join(",", r.Costs.Cycles.Keys), b.Groups[4].Value);
            Assert.Equal((int)Math.Round(200 * r.Costs.Cycles.Cycles!.Value / 1761), int.Parse(b.Groups[5].Value));
        }
        Assert.Single(Regex.Matches(html, "<text class=\"cbar-unknown\" data-design=\"linux-4.3\" data-cpu=\"intel\"[^>]*>\\?<title>"));
        Assert.DoesNotMatch("class=\"cbar\"[^>]*data-cpu=\"intel\"", html);
        Assert.Contains("data-cycles=\"?\"", html);
        foreach (var f in CostModel.Figures) Assert.Contains($"<tr data-figure=\"{f.Id}\">", html);
    }
}
