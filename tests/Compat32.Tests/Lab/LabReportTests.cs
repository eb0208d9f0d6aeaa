using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Compat32.Cpu;
using Compat32.Lab;
using Xunit;

namespace Compat32.Tests.Lab;

/// <summary>The table, the JSON and the HTML report say the same thing; the report renders in a real browser.</summary>
public class LabReportTests
{
    static readonly Lazy<List<LabRow>> rows = new(() =>
        new[] { "linux-4.2", "proposal-2015", "linux-4.3", "int80-only" }
            .SelectMany(d => new[] { "intel", "amd" }.Select(m => LabRunner.Evaluate(Designs.ByName(d)!, CpuModel.ByName(m)!))).ToList());

    [Fact]
    public void JsonMatchesTheRows()
    {
        using var doc = JsonDocument.Parse(LabReport.Json(rows.Value));
        var jr = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(rows.Value.Count, jr.Count);
        for (int i = 0; i < jr.Count; i++)
        {
            Assert.Equal(rows.Value[i].Design, jr[i].GetProperty("design").GetString());
            Assert.Equal(rows.Value[i].Costs.VdsoInstructions, jr[i].GetProperty("costs").GetProperty("vdsoInstructions").GetDouble());
            var checks = jr[i].GetProperty("checks").EnumerateArray().ToList();
            Assert.Equal(Battery.Checks.Length, checks.Count);
            foreach (var c in checks)
                Assert.Equal(rows.Value[i].Check(c.GetProperty("id").GetString()!).Verdict.ToString().ToLowerInvariant(), c.GetProperty("verdict").GetString());
        }
        Assert.All(doc.RootElement.GetProperty("figures").EnumerateArray(), f => Assert.False(string.IsNullOrWhiteSpace(f.GetProperty("source").GetString())));
    }

    [Fact]
    public void TableHasOneRowPerDesignAndModel()
    {
        var t = LabReport.Table(rows.Value).Split('\n');
        foreach (var r in rows.Value)
            Assert.Contains(t, l => Regex.IsMatch(l, $"^{Regex.Escape(r.Design)} +{r.Model} +{r.Costs.VdsoInstructions.ToString(CultureInfo.InvariantCulture)} "));
    }

    [Fact]
    public void HtmlBarsAndMatrixCarryTheJsonNumbers()
    {
        var html = LabReport.Html(rows.Value);
        var bars = Regex.Matches(html, "<rect class=\"bar\" data-design=\"([^\"]+)\" data-cpu=\"([^\"]+)\" data-value=\"([^\"]+)\"[^>]* height=\"(\\d+)\"");
        Assert.Equal(rows.Value.Count, bars.Count);
        double max = rows.Value.Max(r => r.Costs.VdsoInstructions);
        foreach (Match b in bars)
        {
            var r = rows.Value.Single(x => x.Design == b.Groups[1].Value && x.Model == b.Groups[2].Value);
            Assert.Equal(r.Costs.VdsoInstructions, double.Parse(b.Groups[3].Value, CultureInfo.InvariantCulture));
            Assert.Equal((int)Math.Round(200 * r.Costs.VdsoInstructions / max), int.Parse(b.Groups[4].Value));
        }
        Assert.Equal(rows.Value.Count * Battery.Checks.Length, Regex.Matches(html, "<td class=\"(pass|fail|na)\" data-check=").Count);
    }

    internal static string? Browser() => new[] { "chromium", "chromium-browser", "google-chrome" }
        .Select(b => Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, b)).FirstOrDefault(File.Exists))
        .FirstOrDefault(p => p != null);

    /// <summary>Headless Chromium renders the page: the DOM it built has every bar with the JSON's value, and the
    /// screenshot is a real image of the page's size.</summary>
    [BrowserFact]
    public void RendersInAHeadlessBrowser()
    {
        var chromium = Browser();
        var dir = Directory.CreateTempSubdirectory("compat32-lab-html-").FullName;
        var page = Path.Combine(dir, "lab.html");
        File.WriteAllText(page, LabReport.Html(rows.Value));
        var shot = Path.Combine(dir, "lab.png");
        var (code, dom) = Run(chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + page);
        Assert.Equal(0, code);
        Assert.Equal(rows.Value.Count, Regex.Matches(dom, "<rect class=\"bar\"").Count);
        foreach (var r in rows.Value)
            Assert.Contains($"data-design=\"{r.Design}\" data-cpu=\"{r.Model}\" data-value=\"{r.Costs.VdsoInstructions.ToString("0.##", CultureInfo.InvariantCulture)}\"", dom);
        (code, _) = Run(chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900", "--screenshot=" + shot, "file://" + page);
        Assert.Equal(0, code);
        var png = File.ReadAllBytes(shot);
        Assert.True(png.Length > 10_000, "screenshot too small to hold the charts");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(1200, (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19]);
    }

    static (int, string) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000)) { p.Kill(true); return (-1, ""); }
        return (p.ExitCode, o.Result);
    }
}

/// <summary>Skipped, with the reason, on a host without a Chromium to render the report.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (LabReportTests.Browser() == null) Skip = "no chromium on this host: install Debian's chromium to check the report's rendering";
    }
}
