using System.Collections.Concurrent;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Fuzz;

/// <summary>
/// The syscall fuzzer (issue #12): fuzz/guests/sysfuzz.c issues seeded random i386 system calls through int $0x80
/// and __kernel_vsyscall (SYSENTER or SYSCALL per machine model) in a scratch directory and checks, after each
/// call, the registers Linux preserves, the result's contract and the integrity of its own code, data and stack.
/// A seed passes when the guest completes ("ok N"): no oracle failure, no fault of its own, no host failure, no
/// block.
/// </summary>
public class SyscallFuzzTests(ITestOutputHelper log)
{
    public static string Guest => GuestBuild.Build(TestEnv.RepoPath("fuzz", "guests", "sysfuzz.c"));

    public static FuzzResult RunSeed(ulong seed, int count, string model, bool jit1, string flags = "", int timeoutMs = 60_000)
    {
        using var dir = new TempDir("sysfuzz");
        File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ff); // the guest may setuid to anyone
        var args = new List<string> { "--cpu", model };
        if (jit1) args.AddRange(["--jit", "1"]);
        args.AddRange([Guest, seed.ToString(), count.ToString()]);
        if (flags.Length > 0) args.Add(flags);
        var r = FuzzRun.Run(args, dir.Path, timeoutMs, code => code == 0 || code == 3);
        return Escaped(dir.Path) is { } e ? r with { Outcome = Outcome.HostFailure, Detail = e } : r;
    }

    /// <summary>The guest works in ./sysfuzz-scratch, which it makes; anything else beside it got out.</summary>
    public static string? Escaped(string dir)
    {
        var other = Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Where(n => n != "sysfuzz-scratch").ToList();
        return other.Count == 0 ? null : "the guest wrote outside its scratch directory: " + string.Join(", ", other);
    }

    /// <summary>Guest processes at once in the long run (COMPAT32_FUZZ_JOBS, default 4): a run mostly waits (a
    /// blocking call ends with the 50 ms timer), so more than the cores keep them busy.</summary>
    static int Jobs => int.TryParse(Environment.GetEnvironmentVariable("COMPAT32_FUZZ_JOBS"), out int j) && j > 0 ? j : 4;

    /// <summary>Passing means: completed, and the guest's report is "ok".</summary>
    public static string? Problem(FuzzResult r) =>
        r.Outcome == Outcome.Completed && r.Stdout.StartsWith("ok ", StringComparison.Ordinal) && !r.Stdout.Contains("ORACLE")
            ? null : $"{r}\n{FuzzRun.Tail(r.Stdout, 1500)}";

    /// <summary>The CI's fixed seeds: every machine model, both entry methods, interpreted and translated.</summary>
    [Fact]
    public void FixedSeeds()
    {
        var failures = new ConcurrentBag<string>();
        int calls = 0;
        var seeds = Enumerable.Range(1, 8).ToArray();
        Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = 2 }, s =>
        {
            string model = FuzzRun.Models[s % 4];
            bool jit1 = s % 2 == 0;
            string flags = s % 3 == 0 ? "i" : s % 3 == 1 ? "v" : "";
            var r = RunSeed((ulong)s, 2500, model, jit1, flags);
            if (Problem(r) is { } p) failures.Add($"seed {s} --cpu {model}{(jit1 ? " --jit 1" : "")} {flags}: {p}");
            else Interlocked.Add(ref calls, 2500);
        });
        log.WriteLine($"{calls} random syscalls over {seeds.Length} seeds");
        Assert.True(failures.IsEmpty, string.Join("\n\n", failures));
    }

    /// <summary>Every failing seed a long run kept, replayed.</summary>
    [Fact]
    public void KeptSeeds()
    {
        var failures = new List<string>();
        foreach (var t in FuzzRun.KeptSeeds("syscall"))
        {
            // seed count model jit flags
            var r = RunSeed(ulong.Parse(t[0]), int.Parse(t[1]), t[2], t[3] == "1", t.Length > 4 ? t[4] : "");
            if (Problem(r) is { } p) failures.Add(string.Join(' ', t) + ": " + p);
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>
    /// The differential mode (tools/fuzz.sh): the same seed with the `d` flag under the host kernel (or qemu-i386)
    /// and under compat32; the first call whose printed result differs ends the comparison of that seed (later
    /// state may differ). A first difference where compat32 says ENOSYS is counted as unimplemented; any other is
    /// reported, by syscall number, in $COMPAT32_CACHE/fuzz/report.txt.
    /// </summary>
    [LongFuzzFact]
    public void DifferentialRun()
    {
        var deadline = DateTime.UtcNow.AddSeconds(Math.Max(60, FuzzRun.LongSeconds / 4));
        ulong next = FuzzRun.LongSeed;
        var firstDiffs = new ConcurrentDictionary<string, int>();
        int seeds = 0;
        bool native = NativeI386.WhyUnavailable == null;
        while (DateTime.UtcNow < deadline)
        {
            ulong s = ++next;
            using var dir = new TempDir("sysdiff");
            File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ff);
            string[] gargs = [s.ToString(), "3000", "d"];
            dir.Reset(); File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ff);
            ProcResult refr;
            try
            {
                refr = native ? Proc.Run(Guest, gargs, dir.Path, Proc.BaseEnv(), null, 120_000)
                              : Proc.Run(TestEnv.Qemu, ["-cpu", TestEnv.QemuCpu, Guest, .. gargs], dir.Path, Proc.BaseEnv(), null, 120_000);
            }
            catch (TimeoutException) { continue; }
            if (Escaped(dir.Path) is { } refEsc) { firstDiffs.AddOrUpdate("escaped-reference", 1, (_, v) => v + 1); FuzzRun.Keep("syscall", $"{s} 3000 intel 0 d", refEsc); }
            dir.Reset(); File.SetUnixFileMode(dir.Path, (UnixFileMode)0x1ff);
            var c = FuzzRun.Run([Guest, .. gargs], dir.Path, 120_000, code => code == 0 || code == 3);
            if (Escaped(dir.Path) is { } esc) { firstDiffs.AddOrUpdate("escaped", 1, (_, v) => v + 1); FuzzRun.Keep("syscall", $"{s} 3000 intel 0 d", esc); }
            seeds++;
            var a = refr.Out.Split('\n'); var b = c.Stdout.Split('\n');
            for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                if (a[i] == b[i]) continue;
                var fa = a[i].Split(' '); var fb = b[i].Split(' ');
                string key = fb.Length >= 3 && fb[2] == "-38" ? $"enosys:{fb[1]}" : fb.Length >= 3 && fa.Length >= 3 ? $"nr{fa[1]}:{fa[2]}/{fb[2]}" : "output";
                firstDiffs.AddOrUpdate(key, 1, (_, v) => v + 1);
                break;
            }
        }
        string line = FuzzRun.Summary($"syscall differential ({(native ? "host kernel" : "qemu-i386")}): {seeds} seeds, first differences", firstDiffs);
        FuzzRun.Report(line);
        log.WriteLine(line);
        Assert.True(firstDiffs.Keys.All(k => k.StartsWith("enosys:", StringComparison.Ordinal)), line);
    }

    /// <summary>tools/fuzz.sh: new seeds until the time is up; failing ones go to seeds/syscall.txt.</summary>
    [LongFuzzFact]
    public void LongRun()
    {
        var deadline = DateTime.UtcNow.AddSeconds(FuzzRun.LongSeconds);
        ulong next = FuzzRun.LongSeed;
        long calls = 0;
        var outcomes = new ConcurrentDictionary<string, int>();
        Parallel.For(0, Jobs, new ParallelOptions { MaxDegreeOfParallelism = Jobs }, _ =>
        {
            while (DateTime.UtcNow < deadline)
            {
                ulong s = Interlocked.Increment(ref next);
                string model = FuzzRun.Models[(int)(s % 4)];
                bool jit1 = (s / 4) % 2 == 0;
                const int count = 20_000;
                var r = RunSeed(s, count, model, jit1, "", 300_000);
                string key = Problem(r) == null ? "ok" : r.Outcome + (r.Stdout.Contains("ORACLE") ? "-oracle" : r.Stdout.Contains("FAULT") ? "-fault" : "");
                outcomes.AddOrUpdate(key, 1, (_, v) => v + 1);
                if (key != "ok") FuzzRun.Keep("syscall", $"{s} {count} {model} {(jit1 ? 1 : 0)}", Problem(r)!);
                else if (Interlocked.Add(ref calls, count) % 1_000_000 == 0)
                    FuzzRun.Report(FuzzRun.Summary($"syscall fuzz (running): {Interlocked.Read(ref calls)} calls", outcomes));
            }
        });
        string line = FuzzRun.Summary($"syscall fuzz: {calls} calls", outcomes);
        FuzzRun.Report(line);
        log.WriteLine(line);
        Assert.True(outcomes.Keys.All(k => k == "ok"), line);
    }
}
