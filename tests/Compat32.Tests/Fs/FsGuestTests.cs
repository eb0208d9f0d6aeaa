using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Fs;

/// <summary>
/// File-system guests from tests/guests/fs (gcc -m32 -static): blocking waits interrupted by signals (poll, select,
/// ppoll, pselect, pipe writes, FIFO opens, flock and OFD lock waits), pipes and FIFOs. Compared with qemu-i386
/// (stdout, stderr, exit status, files left behind), except where qemu does not model Linux: those compare with
/// the output of the same program run on Linux (NAME.expected).
/// </summary>
public class FsGuestTests
{
    internal static string Build(string name) => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fs", name + ".c"));

    static void Same(string name) => Differential.AssertSame(Build(name), []);

    static void SameInDir(string name)
    {
        using var dir = TestEnv.NewTempDir(name);
        Differential.AssertSameInDir(dir, _ => { }, Build(name), []);
    }

    [Fact] public void PollSelectInterrupted() => Same("poll_intr");
    [Fact] public void PipeCapacityAndBlockedWriter() => Same("pipes");
    [Fact] public void FlockBetweenProcesses() => SameInDir("locks");
    [Fact] public void FifoOpens() => SameInDir("fifo");

    [Fact]
    public void PpollPselectTemporaryMask()
    {
        var c = Differential.RunCompat32(Build("sigmask_wait"), []);
        Assert.Equal(0, c.ExitCode);
        Assert.Equal(File.ReadAllText(TestEnv.RepoPath("tests", "guests", "fs", "sigmask_wait.expected")), c.Out);
    }

    /// <summary>Bad arguments to the wait calls, flock and pipes; compared with a Linux run because qemu-i386 differs
    /// from Linux on two of them (poll with nfds over RLIMIT_NOFILE, select's tv_usec over a second).</summary>
    [Fact]
    public void BadArguments()
    {
        var c = Differential.RunCompat32(Build("bad_args"), []);
        Assert.Equal(0, c.ExitCode);
        Assert.Equal(File.ReadAllText(TestEnv.RepoPath("tests", "guests", "fs", "bad_args.expected")), c.Out);
    }

    /// <summary>/proc of a child and of threads, read by the parent; qemu-i386 shows the host's /proc for other
    /// processes, so the reference is a Linux run with pids printed as names.</summary>
    [Fact]
    public void ProcOfOtherProcessesAndThreads()
    {
        var c = Differential.RunCompat32(Build("proc_pids"), []);
        Assert.Equal(0, c.ExitCode);
        Assert.Equal(File.ReadAllText(TestEnv.RepoPath("tests", "guests", "fs", "proc_pids.expected")), c.Out);
    }

    /// <summary>busybox ps and top list the guest's processes from /proc: the same header as under qemu-i386, and
    /// one row per guest process with the right parent, state and command line (pids differ, so structure only).</summary>
    [Fact]
    public void BusyboxPsShowsGuestProcesses()
    {
        string bb = TestEnv.Busybox;
        const string fmt = "pid,ppid,stat,comm,args";
        // (a short sleep first: ps right after the fork can find the sleeper still starting, R, as on Linux)
        var c = Differential.RunCompat32(bb, ["sh", "-c", $"{bb} sleep 5 & {bb} sleep 0.3; {bb} ps -o {fmt}; {bb} ps; kill $!"]);
        Assert.True(c.ExitCode == 0, c.Err);
        var lines = c.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var q = Differential.RunQemu(bb, ["ps", "-o", fmt]);
        Assert.Equal(q.Out.Split('\n')[0], lines[0]);
        Assert.True(lines.Length == 8, c.Out);
        var rows = lines.Skip(1).Take(3).Select(l => l.Split(' ', 5, StringSplitOptions.RemoveEmptyEntries)).ToArray();
        Assert.StartsWith(bb + " sh -c", rows[0][4]);
        Assert.Equal(bb + " sleep 5", rows[1][4]);
        Assert.Equal(bb + " ps -o " + fmt, rows[2][4]);
        Assert.All(rows, r => Assert.Equal("busybox", r[3]));
        Assert.Equal(rows[0][0], rows[1][1]); // both children of the shell
        Assert.Equal(rows[0][0], rows[2][1]);
        Assert.Equal("S", rows[1][2]);
        Assert.Equal("R", rows[2][2]);
        Assert.True(int.Parse(rows[0][0]) < int.Parse(rows[1][0]) && int.Parse(rows[1][0]) < int.Parse(rows[2][0]));
        // plain ps: its own header, then the shell, sleep and the second ps
        Assert.Equal(Differential.RunQemu(bb, ["ps"]).Out.Split('\n')[0], lines[4]);
        Assert.EndsWith(bb + " sleep 5", lines[6]);
        Assert.EndsWith(bb + " ps", lines[7]);
    }

    [Fact]
    public void BusyboxTopShowsGuestProcesses()
    {
        string bb = TestEnv.Busybox;
        var c = Differential.RunCompat32(bb, ["sh", "-c", $"{bb} sleep 5 & {bb} top -b -n 1; kill $!"]);
        Assert.True(c.ExitCode == 0, c.Err);
        var lines = c.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int h = Array.FindIndex(lines, l => l.TrimStart().StartsWith("PID"));
        Assert.True(h > 0, c.Out);
        var procs = lines.Skip(h + 1).ToArray();
        Assert.Equal(3, procs.Length);
        Assert.Contains(procs, l => l.EndsWith(bb + " sleep 5") && l.Contains(" S "));
        Assert.Contains(procs, l => l.EndsWith(bb + " top -b -n 1") && l.Contains(" R "));
        // /proc/loadavg: the guest's threads (sh, sleep, top) and its last pid (top's)
        var m = System.Text.RegularExpressions.Regex.Match(c.Out, @"Load average: \S+ \S+ \S+ \d+/(\d+) (\d+)");
        Assert.True(m.Success, c.Out);
        Assert.Equal("3", m.Groups[1].Value);
        Assert.Equal(procs.Single(l => l.EndsWith(" top -b -n 1")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], m.Groups[2].Value);
    }

    [Fact]
    public void EveryGuestSourceHasATest()
    {
        var covered = new HashSet<string> { "poll_intr", "pipes", "locks", "fifo", "sigmask_wait", "proc_pids", "bad_args" };
        var all = Directory.GetFiles(TestEnv.RepoPath("tests", "guests", "fs"), "*.c").Select(Path.GetFileNameWithoutExtension);
        Assert.Empty(all.Where(n => !covered.Contains(n!)));
    }
}
