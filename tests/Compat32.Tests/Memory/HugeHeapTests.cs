using System.Diagnostics;
using Compat32.Tests.Debian;
using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Memory;

/// <summary>
/// The CLI's HugeHeap: in the process that runs the guests, the GC heap's next GiB is one VMA advised
/// MADV_HUGEPAGE (so its fresh pages come 2 MiB at a time), and with COMPAT32_HUGE_HEAP=0 there is no such VMA. And
/// the translator's code area: advised once a program has written 2 MiB of code there, not before.
/// Read from the host's /proc/PID/smaps of a compat32 running a guest that waits.
/// </summary>
public sealed class HugeHeapTests
{
    const long Budget = 1L << 30;

    /// <summary>The sizes of pid's anonymous VMAs advised MADV_HUGEPAGE ("hg") of at least the budget's size.</summary>
    static List<long> AdvisedHeap(int pid)
    {
        var found = new List<long>();
        long size = 0;
        bool anon = false;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 5 && f[0].Contains('-') && !f[0].EndsWith(':'))
            {
                var r = f[0].Split('-');
                size = Convert.ToInt64(r[1], 16) - Convert.ToInt64(r[0], 16);
                anon = f[4] == "0" && f.Length == 5 && f[1] == "rw-p";
            }
            else if (f[0] == "VmFlags:" && anon && size >= Budget && f.Contains("hg")) found.Add(size);
        }
        return found;
    }

    /// <summary>Start compat32 (no front: the launched process is the engine) on a guest that waits; wait until the
    /// guest runs, then hand its smaps to check.</summary>
    static List<long> Observe(string? hugeHeap) =>
        // The guest waits on its stdin (a pipe nobody writes), with a shell builtin: nothing to look up on PATH.
        WhileUp([TestEnv.Busybox, "sh", "-c", "echo up; read x"], hugeHeap == null ? [] : [("COMPAT32_HUGE_HEAP", hugeHeap)], AdvisedHeap);

    /// <summary>Run the engine (COMPAT32_FRONT=0) on args with env added; once the guest prints "up", check its host
    /// process by pid; then kill it.</summary>
    internal static T WhileUp<T>(string[] args, (string, string)[] env, Func<int, T> check)
    {
        var psi = new ProcessStartInfo(TestEnv.Launcher) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment.Clear();
        foreach (var (k, v) in Proc.BaseEnv()) psi.Environment[k] = v;
        psi.Environment["COMPAT32_FRONT"] = "0";
        foreach (var (k, v) in env) psi.Environment[k] = v;
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        try
        {
            var up = p.StandardOutput.ReadLineAsync();
            if (!up.Wait(60_000) || up.Result != "up")
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail("the guest did not start: " + (err.Wait(10_000) ? err.Result : ""));
            }
            return check(p.Id);
        }
        finally
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit(10_000);
        }
    }

    [HostThpFact]
    public void TheGcHeapAheadOfTheAllocationPointIsAdvisedHugeInOneVma()
    {
        var heap = Observe(null);
        Assert.True(heap.Count == 1, $"expected one advised heap VMA of >= 1 GiB, found {heap.Count}");
    }

    [HostThpFact]
    public void CompatHugeHeapZeroLeavesTheHeapAlone()
    {
        Assert.Empty(Observe("0"));
    }
}

/// <summary>The translator's code area (an anonymous rwx mapping): advised MADV_HUGEPAGE past its first 2 MiB of code.</summary>
public sealed class CodeAreaHugeTests
{
    /// <summary>pid's anonymous rwxp VMAs advised MADV_HUGEPAGE ("hg"), and all its anonymous rwxp VMAs.</summary>
    static (int Advised, int All) CodeVmas(int pid)
    {
        int advised = 0, all = 0;
        bool code = false;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 5 && f[0].Contains('-') && !f[0].EndsWith(':'))
            {
                code = f[4] == "0" && f.Length == 5 && f[1] == "rwxp";
                if (code) all++;
            }
            else if (f[0] == "VmFlags:" && code && f.Contains("hg")) advised++;
        }
        return (advised, all);
    }

    /// <summary>python3.11 -S translating every block at its first run writes about 6 MiB of code: past 2 MiB the
    /// rest of the area is advised.</summary>
    [HostThpDebianFact]
    public void AProgramWithMuchCodeGetsHugeCodePages()
    {
        var (advised, all) = HugeHeapTests.WhileUp(["--code-cache", "off", "-L", DebianSysroot.Dir, DebianSysroot.Bin("python3.11"), "-S", "-c",
            "import sys; print('up', flush=True); sys.stdin.readline()"], [("COMPAT32_JIT_THRESHOLD", "1")], CodeVmas);
        Assert.True(all >= 1, "no code area");
        Assert.True(advised == 1, $"expected one advised code VMA, found {advised} of {all}");
    }

    /// <summary>A shell that ran a line writes far less than 2 MiB of code: nothing is advised.</summary>
    [HostThpDebianFact]
    public void AShortProgramDoesNot()
    {
        var (advised, all) = HugeHeapTests.WhileUp([TestEnv.Busybox, "sh", "-c", "echo up; read x"], [], CodeVmas);
        Assert.Equal(0, advised);
    }
}

/// <summary>HostThpFact for a test that also runs a Debian program and needs the translator (an x86-64 host).</summary>
public sealed class HostThpDebianFactAttribute : FactAttribute
{
    public HostThpDebianFactAttribute()
    {
        Skip = HostThpFactAttribute.WhyNot() ?? DebianSysroot.WhyUnavailable()
            ?? (Compat32.Cpu.Jit.HostSupported ? null : "no translator on this host (not x86-64 Linux): no code area");
    }
}

/// <summary>A fact about transparent huge pages on this host: skipped (with the reason) where the host is not Linux
/// or offers none to a madvise caller.</summary>
public sealed class HostThpFactAttribute : FactAttribute
{
    public HostThpFactAttribute() { if (WhyNot() is { } why) Skip = why; }

    internal static string? WhyNot()
    {
        if (!OperatingSystem.IsLinux()) return "not a Linux host";
        try
        {
            string mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
            return mode.Contains("[madvise]") || mode.Contains("[always]") ? null
                : $"the host kernel's transparent huge pages are off for madvise callers ({mode.Trim()})";
        }
        catch (IOException e) { return "no transparent huge pages on this host: " + e.Message; }
    }
}

/// <summary>HostThpFact's theory.</summary>
public sealed class HostThpTheoryAttribute : TheoryAttribute
{
    public HostThpTheoryAttribute() { if (HostThpFactAttribute.WhyNot() is { } why) Skip = why; }
}
