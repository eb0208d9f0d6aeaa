using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Ipc;

/// <summary>
/// Record locks and flock between cooperating processes (tests/guests/ipc/filelocks.c): contention, F_GETLK
/// naming the holder's pid, a blocked F_SETLKW granted on unlock, EDEADLK when two processes would wait for
/// each other (posix_locks_deadlock), 64-bit offsets and EOVERFLOW for the 32-bit F_GETLK, locks dropped by
/// closing another descriptor of the file, OFD locks and flock. Compared with the host kernel: qemu-i386 misses
/// the 32-bit F_GETLK overflow.
/// </summary>
public class FileLockTests
{
    [NativeI386Fact]
    public void BetweenProcesses()
    {
        string prog = GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "ipc", "filelocks.c"));
        using var a = TestEnv.NewTempDir("locks-native");
        using var b = TestEnv.NewTempDir("locks-c32");
        var n = NativeI386.Run(prog, [], new Differential.Options { Cwd = a.Path });
        var c = Differential.RunCompat32(prog, [], new Differential.Options { Cwd = b.Path });
        Assert.True(n.Out == c.Out && n.ExitCode == c.ExitCode,
            $"differs from the host kernel\n--- native (exit {n.ExitCode}):\n{n.Out}{n.Err}\n--- compat32 (exit {c.ExitCode}):\n{c.Out}{c.Err}");
    }
}
