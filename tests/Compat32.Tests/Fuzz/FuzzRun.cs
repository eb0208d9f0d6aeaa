using System.Text;
using System.Text.RegularExpressions;
using Compat32.Tests.Harness;

namespace Compat32.Tests.Fuzz;

/// <summary>What one fuzz input did to compat32 (issue #12): the guest completed, the guest was killed by a signal
/// (its own business, or our oracle's), compat32 blocked (timeout), or the host failed (a .NET exception, an abort,
/// compat32 dying without the guest asking).</summary>
public enum Outcome { Completed, Killed, Blocked, HostFailure }

public sealed record FuzzResult(Outcome Outcome, int ExitCode, string Stdout, string Stderr, string Detail)
{
    public override string ToString() => $"{Outcome} (exit {ExitCode}){(Detail.Length > 0 ? ": " + Detail : "")}";
}

public static class FuzzRun
{
    static readonly Regex KilledLine = new(@"^compat32: .*: killed by (SIG[A-Z0-9+]+)", RegexOptions.Multiline);

    /// <summary>Text on compat32's stderr that only a failing host writes (the guest's own stderr is /dev/null or
    /// checked by the caller).</summary>
    public static string? HostFailureText(string stderr)
    {
        foreach (var needle in new[] { "Exception", "   at Compat32", "Unhandled", "Fatal error", "Process terminated",
                                       "Assertion failed", "internal error", "stack overflow", "Stack overflow" })
        {
            int i = stderr.IndexOf(needle, StringComparison.Ordinal);
            if (i >= 0)
            {
                int s = Math.Max(0, stderr.LastIndexOf('\n', i) + 1);
                return stderr.Substring(s, Math.Min(400, stderr.Length - s));
            }
        }
        return null;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)] static extern int kill(int pid, int sig);

    /// <summary>
    /// Runs `file args` in a session of its own (setsid, which execs in place: the child .NET starts is no group
    /// leader, so the session id is its pid) and, on a timeout, kills the whole session, not just the processes
    /// still descended from it: a compat32 run is a front and an engine (Cli/Front.cs), and once the first guest
    /// process has exited the front returns while the engine goes on with the guest's other processes, reparented
    /// away from the front and holding the guest's descriptors, our output pipes among them. Reading the pipes to
    /// their end after the exit is bounded by the same deadline, then the session is killed too. Null on a timeout
    /// (detail says which).
    /// </summary>
    public static ProcResult? RunSession(string file, IReadOnlyList<string> args, string cwd, IDictionary<string, string> env,
                                         int timeoutMs, out string detail)
    {
        detail = "";
        var psi = new System.Diagnostics.ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = cwd,
        };
        psi.ArgumentList.Add(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var p = System.Diagnostics.Process.Start(psi)!;
        int session = p.Id;
        var o = new MemoryStream();
        var er = new MemoryStream();
        var copy = System.Threading.Tasks.Task.WhenAll(p.StandardOutput.BaseStream.CopyToAsync(o), p.StandardError.BaseStream.CopyToAsync(er));
        try { p.StandardInput.Close(); } catch (IOException) { }
        string what = $"{file} {string.Join(' ', args)}";
        if (!p.WaitForExit(timeoutMs))
        {
            KillSession(p, session);
            detail = $"{what} did not finish in {timeoutMs / 1000} s";
            return null;
        }
        int left = Math.Max(1000, timeoutMs - (int)sw.ElapsedMilliseconds);
        if (!copy.Wait(left))
        {
            KillSession(p, session);
            detail = $"{what} exited ({p.ExitCode}), but a process it left held its output for {timeoutMs / 1000} s";
            return null;
        }
        return new ProcResult(p.ExitCode, o.ToArray(), er.ToArray(), sw.Elapsed);
    }

    static void KillSession(System.Diagnostics.Process p, int session)
    {
        kill(-session, 9);
        try { p.Kill(true); } catch (InvalidOperationException) { }
        p.WaitForExit(5000);
    }

    /// <summary>Run compat32 once and classify. guestAsked: the exit codes the guest may choose itself.</summary>
    public static FuzzResult Run(IReadOnlyList<string> args, string cwd, int timeoutMs, Func<int, bool> guestExit,
                                 Dictionary<string, string>? env = null)
    {
        ProcResult? r = RunSession(TestEnv.Launcher, args, cwd, env ?? Proc.BaseEnv(), timeoutMs, out string why);
        if (r == null) return new FuzzResult(Outcome.Blocked, -1, "", "", why);
        string err = r.Err, outp = r.Out;
        if (HostFailureText(err) is { } hf) return new FuzzResult(Outcome.HostFailure, r.ExitCode, outp, err, hf);
        var k = KilledLine.Match(err);
        if (k.Success) return new FuzzResult(Outcome.Killed, r.ExitCode, outp, err, k.Groups[1].Value);
        if (r.ExitCode >= 128 || !guestExit(r.ExitCode))
            return new FuzzResult(Outcome.HostFailure, r.ExitCode, outp, err,
                $"compat32 ended with {r.ExitCode} without the guest asking: {Tail(err, 300)}");
        return new FuzzResult(Outcome.Completed, r.ExitCode, outp, err, "");
    }

    public static string Tail(string s, int n) => s.Length <= n ? s : "…" + s[^n..];

    /// <summary>The compat32 options of one run: a machine model by seed, the translator off or at threshold 1.</summary>
    public static readonly string[] Models = ["intel", "amd", "nosep", "i386"];

    /// <summary>Failing inputs the long runs kept (tests/Compat32.Tests/Fuzz/seeds/KIND.txt, one "seed args..." a line);
    /// the CI replays every one.</summary>
    public static string SeedFile(string kind) => TestEnv.RepoPath("tests", "Compat32.Tests", "Fuzz", "seeds", kind + ".txt");

    public static IEnumerable<string[]> KeptSeeds(string kind)
    {
        string f = SeedFile(kind);
        if (!File.Exists(f)) yield break;
        foreach (var line in File.ReadAllLines(f))
        {
            var t = line.Trim();
            if (t.Length == 0 || t.StartsWith('#')) continue;
            yield return t.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    public static void Keep(string kind, string line, string why)
    {
        string f = SeedFile(kind);
        Directory.CreateDirectory(Path.GetDirectoryName(f)!);
        lock (typeof(FuzzRun))
            File.AppendAllText(f, $"# {DateTime.UtcNow:yyyy-MM-dd} {why.Replace('\n', ' ')[..Math.Min(700, why.Length)]}\n{line}\n");
    }

    /// <summary>Long-run knobs (tools/fuzz.sh): COMPAT32_FUZZ_SECONDS (0: the CI's short fixed set) and
    /// COMPAT32_FUZZ_SEED (the first seed of a long run).</summary>
    public static int LongSeconds => int.TryParse(Environment.GetEnvironmentVariable("COMPAT32_FUZZ_SECONDS"), out int s) ? s : 0;
    public static ulong LongSeed => ulong.TryParse(Environment.GetEnvironmentVariable("COMPAT32_FUZZ_SEED"), out ulong s) ? s : (ulong)DateTime.UtcNow.Ticks;

    public static string Summary(string what, IDictionary<string, int> counts)
    {
        var sb = new StringBuilder(what).Append(':');
        foreach (var kv in counts.OrderBy(k => k.Key)) sb.Append(' ').Append(kv.Key).Append('=').Append(kv.Value);
        return sb.ToString();
    }

    /// <summary>Appends a line to $COMPAT32_CACHE/fuzz/report.txt (the long run's totals; README's reliability section).</summary>
    public static void Report(string line)
    {
        string dir = Path.Combine(TestEnv.Cache, "fuzz");
        Directory.CreateDirectory(dir);
        lock (typeof(FuzzRun)) File.AppendAllText(Path.Combine(dir, "report.txt"), $"{DateTime.UtcNow:u} {line}\n");
    }
}

/// <summary>A fact that runs only in the long fuzz run (tools/fuzz.sh sets COMPAT32_FUZZ_SECONDS).</summary>
public sealed class LongFuzzFactAttribute : Xunit.FactAttribute
{
    public LongFuzzFactAttribute() { if (FuzzRun.LongSeconds <= 0) Skip = "a long fuzz run: tools/fuzz.sh HOURS runs it (COMPAT32_FUZZ_SECONDS)"; }
}
