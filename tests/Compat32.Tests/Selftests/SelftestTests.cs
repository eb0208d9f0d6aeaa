using Compat32.Cpu;
using Compat32.Tests.Signals;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Selftests;

/// <summary>
/// The kernel's own x86/vDSO selftests (Linux 6.1, built 32-bit from /usr/src/linux-source-6.1.tar.xz by
/// build-selftests.sh into $COMPAT32_CACHE) run under ./compat32 --cpu MODEL. Which tests and what they must
/// print is data: selftests.txt next to this file. A missing tarball or compiler fails (never skips).
/// </summary>
public class SelftestTests(ITestOutputHelper log)
{
    sealed class Accept(string text, int count) { public string Text = text; public int Count = count; public int Seen; }

    public sealed record Entry(string Name, string[] Models, bool SkipOnUd, Dictionary<string, List<string>> Require);

    static readonly Lazy<List<Entry>> entries = new(Load);
    static readonly Lazy<string> binDir = new(Build);
    /// <summary>Where build-selftests.sh put the binaries (builds them on first use).</summary>
    public static string BinDir => binDir.Value;

    static List<Entry> Load()
    {
        var list = new List<Entry>();
        string file = Path.Combine(GuestRunner.RepoRoot(), "tests", "Compat32.Tests", "Selftests", "selftests.txt");
        foreach (var raw in File.ReadAllLines(file))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var parts = line.Split('|').Select(p => p.Trim()).ToArray();
            var req = new Dictionary<string, List<string>>();
            bool skipOnUd = false;
            if (parts.Length > 2)
                foreach (var c in parts[2].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (c == "skip-on-ud") { skipOnUd = true; continue; }
                    int i = c.IndexOf(':');
                    if (i <= 0) throw new FormatException("selftests.txt: bad check '" + c + "'");
                    string m = c[..i];
                    if (!req.TryGetValue(m, out var l)) req[m] = l = new List<string>();
                    l.Add(c[(i + 1)..]);
                }
            list.Add(new Entry(parts[0], parts[1].Split(',', StringSplitOptions.TrimEntries), skipOnUd, req));
        }
        return list;
    }

    static string Build()
    {
        string script = Path.Combine(GuestRunner.RepoRoot(), "tests", "Compat32.Tests", "Selftests", "build-selftests.sh");
        var r = GuestRunner.Run("bash", new[] { script }, 1_200_000);
        if (r.Code != 0) throw new InvalidOperationException("build-selftests.sh failed:\n" + r.Stderr);
        return r.Stdout.Trim().Split('\n')[^1];
    }

    public static IEnumerable<object[]> Cases() =>
        entries.Value.SelectMany(e => e.Models.Select(m => new object[] { e.Name, m }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Selftest(string name, string model)
    {
        var e = entries.Value.Single(x => x.Name == name);
        var cpu = CpuModel.ByName(model) ?? throw new ArgumentException("unknown model " + model);
        string bin = Path.Combine(binDir.Value, name);
        Assert.True(File.Exists(bin), bin + " was not built");
        var r = GuestRunner.Compat32(new[] { "--cpu", model, bin });
        string output = r.Stdout + r.Stderr;
        log.WriteLine(output);
        var problems = new List<string>();
        if (r.Code != 0) problems.Add($"exit status {r.Code}");
        string lastRun = "";
        var accepted = new List<Accept>();
        if (e.Require.TryGetValue(model, out var reqs))
            foreach (var t in reqs.Where(t => t.StartsWith("accept ")))
            {
                var p = t.Split(' ', 3);
                accepted.Add(new Accept(p[2], int.Parse(p[1])));
            }
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("[RUN]")) lastRun = line;
            bool bad = line.Contains("FAIL") || line.Contains("[WARN]") || line.Contains("[SKIP]");
            if (!bad) continue;
            // A line the real kernel of this model prints too (selftests.txt "MODEL:accept N TEXT"), counted below.
            if (accepted.FirstOrDefault(a => line.Contains(a.Text)) is { } acc) { acc.Seen++; continue; }
            // syscall_arg_fault skips exactly where the vendor's rules make the instruction #UD.
            if (e.SkipOnUd && line.StartsWith("[SKIP]\tIllegal instruction")
                && ((lastRun.Contains("SYSENTER") && !cpu.SysenterLegal) || (lastRun.Contains("SYSCALL") && !cpu.SyscallLegal)))
                continue;
            problems.Add("line: " + line);
        }
        if (e.SkipOnUd)
            foreach (var line in output.Split('\n').Where(l => l.StartsWith("[RUN]")))
                if ((line.Contains("SYSENTER") && cpu.SysenterLegal) || (line.Contains("SYSCALL") && cpu.SyscallLegal))
                    if (!output.Contains(line + "\n[OK]")) problems.Add("no [OK] after: " + line);
        foreach (var a in accepted.Where(a => a.Seen != a.Count)) problems.Add($"expected {a.Count} lines with '{a.Text}', got {a.Seen}");
        if (e.Require.TryGetValue(model, out var texts))
            foreach (var t in texts.Where(t => !t.StartsWith("accept ") && !output.Contains(t))) problems.Add("missing: " + t);
        Assert.True(problems.Count == 0, $"{name} --cpu {model}:\n  " + string.Join("\n  ", problems) + "\n--- output:\n" + output);
    }
}
