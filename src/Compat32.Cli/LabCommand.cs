using Compat32.Cpu;
using Compat32.Lab;

namespace Compat32.Cli;

/// <summary>`compat32 lab`: the built-in battery (and optionally a program) under every chosen design × model.</summary>
public static class LabCommand
{
    public static readonly string[] DefaultModels = ["intel", "amd", "nosep", "i386"];

    public static int Run(string? designs, string? cpus, string? json, string? html, string? selftestDir, string[] program, TextWriter o)
    {
        var ds = new List<DesignInfo>();
        foreach (var n in (designs ?? string.Join(",", Designs.All.Select(d => d.Name))).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var d = Designs.ByName(n);
            if (d == null) return Cli.Fail($"unknown design {n} (use {string.Join(", ", Designs.All.Select(x => x.Name))})", 2);
            ds.Add(d);
        }
        var ms = new List<CpuModel>();
        foreach (var n in (cpus ?? string.Join(",", DefaultModels)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var m = CpuModel.ByName(n);
            if (m == null) return Cli.Fail($"unknown --cpu model {n} (use intel, amd, nosep or i386)", 2);
            ms.Add(m);
        }
        List<string>? selftests = null;
        if (selftestDir != null)
        {
            if (!Directory.Exists(selftestDir)) return Cli.Fail($"--selftests {selftestDir}: no such directory", 2);
            selftests = Directory.GetFiles(selftestDir).Where(f => !Path.GetFileName(f).Contains('.')).OrderBy(f => f).ToList();
        }
        if (program.Length > 0 && !File.Exists(program[0])) return Cli.Fail($"{program[0]}: No such file or directory", 127);
        o.WriteLine($"compat32 lab: {ds.Count} designs x {ms.Count} CPU models, {Battery.Checks.Length} checks each{(program.Length > 0 ? " + " + program[0] : "")}");
        o.Flush();
        var jobs = ds.SelectMany(d => ms.Select(m => (d, m))).ToList();
        var rows = new LabRow[jobs.Count];
        Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) },
            i => rows[i] = LabRunner.Evaluate(jobs[i].d, jobs[i].m, selftests, program));
        Console.Out.Flush();
        o.WriteLine();
        o.Write(LabReport.Table(rows));
        try
        {
            if (json != null) File.WriteAllText(json, LabReport.Json(rows));
            if (html != null) File.WriteAllText(html, LabReport.Html(rows));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Cli.Fail(e.Message, 1); }
        return 0;
    }
}
