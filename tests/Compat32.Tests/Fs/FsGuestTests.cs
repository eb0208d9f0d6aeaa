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

    [Fact]
    public void EveryGuestSourceHasATest()
    {
        var covered = new HashSet<string> { "poll_intr", "pipes", "locks", "fifo", "sigmask_wait", "proc_pids" };
        var all = Directory.GetFiles(TestEnv.RepoPath("tests", "guests", "fs"), "*.c").Select(Path.GetFileNameWithoutExtension);
        Assert.Empty(all.Where(n => !covered.Contains(n!)));
    }
}
