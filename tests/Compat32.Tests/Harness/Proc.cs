using System.Diagnostics;
using System.Text;

namespace Compat32.Tests.Harness;

/// <summary>What a finished process produced.</summary>
public sealed record ProcResult(int ExitCode, byte[] Stdout, byte[] Stderr, TimeSpan Elapsed)
{
    public string Out => Encoding.UTF8.GetString(Stdout);
    public string Err => Encoding.UTF8.GetString(Stderr);
}

/// <summary>Runs host processes with captured output, an optional stdin, a fixed environment and a timeout.</summary>
public static class Proc
{
    /// <summary>
    /// The environment every differential run gets (both sides identical): nothing inherited but PATH and HOME
    /// (dotnet wants HOME), so the guest sees the same variables under compat32 and under qemu-i386.
    /// </summary>
    public static Dictionary<string, string> BaseEnv()
    {
        var env = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = Environment.GetEnvironmentVariable("HOME") ?? "/root",
            ["LC_ALL"] = "C",
            ["TZ"] = "UTC",
        };
        // the dotnet host of the launcher may need these, and test.sh's translator pass sets the COMPAT32_JIT
        // knobs; harmless for qemu's guest (the same on both sides)
        foreach (var k in new[] { "DOTNET_ROOT", "COMPAT32_CACHE", "COMPAT32_JIT", "COMPAT32_JIT_THRESHOLD", CpuBaseline.Variable })
            if (Environment.GetEnvironmentVariable(k) is { Length: > 0 } v) env[k] = v;
        // No code cache unless a test names one (--code-cache beats this): each run translates afresh.
        env["COMPAT32_CODE_CACHE"] = Environment.GetEnvironmentVariable("COMPAT32_CODE_CACHE") ?? "off";
        return env;
    }

    public static ProcResult Run(string file, IEnumerable<string> args, string? cwd = null, IDictionary<string, string>? env = null,
                                 byte[]? stdin = null, int timeoutMs = 120_000)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = cwd ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env != null)
        {
            psi.Environment.Clear();
            foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;
        }
        var sw = Stopwatch.StartNew();
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"cannot start {file}: {e.Message}", e); }
        using (p)
        {
            var o = new MemoryStream();
            var er = new MemoryStream();
            var ot = p.StandardOutput.BaseStream.CopyToAsync(o);
            var et = p.StandardError.BaseStream.CopyToAsync(er);
            try
            {
                if (stdin != null) p.StandardInput.BaseStream.Write(stdin);
                p.StandardInput.Close();
            }
            catch (IOException) { } // the program did not read all of its input
            if (!p.WaitForExit(timeoutMs))
            {
                try { p.Kill(true); } catch (InvalidOperationException) { }
                p.WaitForExit();
                throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in {timeoutMs / 1000} s");
            }
            p.WaitForExit(); // drains the output streams
            Task.WaitAll(ot, et);
            return new ProcResult(p.ExitCode, o.ToArray(), er.ToArray(), sw.Elapsed);
        }
    }
}
