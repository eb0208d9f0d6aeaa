using Compat32.Cpu;
using Compat32.Kernel;
using Compat32.Kernel.Signals;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Signals;

/// <summary>
/// Guests in tests/guests/signals, built with gcc -m32 -march=i686 -static and run under every CPU model.
/// Reference: qemu-i386's output, or NAME.expected where qemu-i386 does not do what Linux does (each guest's
/// header comment says which lines and why). The exit status always comes from qemu-i386 (it reports signal
/// deaths as 128+n like a shell). Missing gcc/qemu fail the test; nothing is skipped.
/// </summary>
public class SignalGuestTests(ITestOutputHelper log)
{
    static readonly string[] Models = { "intel", "amd", "nosep", "i386" };
    static readonly string[] Guests = { "sig_frames", "sig_faults", "sig_restart", "sig_timers", "sig_trace" };

    public static IEnumerable<object[]> Cases() => Guests.SelectMany(g => Models.Select(m => new object[] { g, m }));

    [Theory]
    [MemberData(nameof(Cases))]
    public void GuestMatchesReference(string name, string model)
    {
        string bin = GuestRunner.BuildGuest(name);
        var q = GuestRunner.Run("qemu-i386", new[] { bin });
        string expFile = Path.Combine(GuestRunner.RepoRoot(), "tests", "guests", "signals", name + ".expected");
        string expected = File.Exists(expFile) ? File.ReadAllText(expFile) : q.Stdout;
        var r = GuestRunner.Compat32(new[] { "--cpu", model, bin });
        log.WriteLine(r.Stdout + r.Stderr);
        Assert.Equal(expected, r.Stdout);
        Assert.Equal(q.Code, r.Code);
        if (name == "sig_faults") Assert.Contains("killed by SIGSEGV", r.Stderr);
        if (name == "sig_faults") Assert.Contains("(core dumped)", r.Stderr);
    }

    /// <summary>Default actions: terminate, terminate with core (kernel SIG_KERNEL_COREDUMP_MASK), ignore.</summary>
    [Theory]
    [InlineData("15", "SIGTERM", false)]
    [InlineData("10", "SIGUSR1", false)]
    [InlineData("3", "SIGQUIT", true)]
    [InlineData("6", "SIGABRT", true)]
    [InlineData("11", "SIGSEGV", true)]
    [InlineData("31", "SIGSYS", true)]
    [InlineData("17", null, false)]
    [InlineData("28", null, false)]
    [InlineData("alarm", "SIGALRM", false)]
    public void DefaultAction(string arg, string? killedBy, bool core)
    {
        string bin = GuestRunner.BuildGuest("sig_default");
        var q = GuestRunner.Run("qemu-i386", new[] { bin, arg });
        var r = GuestRunner.Compat32(new[] { bin, arg });
        Assert.Equal(q.Code, r.Code);
        if (killedBy == null) { Assert.Equal(0, r.Code); Assert.DoesNotContain("killed", r.Stderr); return; }
        Assert.Contains("killed by " + killedBy, r.Stderr);
        Assert.Equal(core, r.Stderr.Contains("(core dumped)"));
    }

    /// <summary>
    /// A 1 ms ITIMER_REAL while the guest computes and makes syscalls (run in-process so the kernel's own count
    /// of handler frames can be read). The result must equal qemu-i386's run of the same work with no timer;
    /// the guest's handler count must equal the frames the kernel built for SIGALRM, and be consistent with
    /// the elapsed time (at most one per ms; at least one per 10 ms — signals coalesce only when the timer thread runs late on a loaded host).
    /// </summary>
    [Theory]
    [InlineData("intel")]
    [InlineData("amd")]
    public void BusySignalLoad(string model)
    {
        string bin = GuestRunner.BuildGuest("sig_busy");
        // Long enough (>= 500 ms) with translated code; the interpreter alone takes ~10x longer.
        const string rounds = "1048576";
        var q = GuestRunner.Run("qemu-i386", new[] { bin, rounds, "nosignal" });
        Assert.Equal(0, q.Code);
        string refResult = q.Stdout.Split('\n')[0];
        string outFile = Path.Combine(Path.GetTempPath(), "sig_busy-" + Guid.NewGuid().ToString("N") + ".txt");
        try
        {
            var m = MachineFactory.Create(CpuModel.ByName(model)!, new KernelOptions());
            var task = m.Spawn(bin, new[] { bin, rounds, "signal", outFile }, new[] { "PATH=/usr/bin:/bin" });
            var exit = m.Run();
            Assert.Equal(0, exit.Status);
            var lines = File.ReadAllLines(outFile);
            log.WriteLine(string.Join("\n", lines));
            Assert.Equal(refResult, lines[0]);
            var f = lines[1].Split(' ').Select(p => p.Split('=')).ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
            long kernelCount = task.SigState.DeliveredBySig[Sig.SIGALRM];
            Assert.Equal(kernelCount, (long)f["handlers"]);
            Assert.Equal(0, f["bad"]);
            double ms = f["elapsed_ms"];
            Assert.True(f["handlers"] <= ms + 2, $"{f["handlers"]} handlers in {ms} ms");
            Assert.True(f["handlers"] >= ms / 10, $"only {f["handlers"]} handlers in {ms} ms");
            Assert.True(ms >= 500, "the load should last long enough to matter: " + ms + " ms");
        }
        finally { File.Delete(outFile); }
    }
}
