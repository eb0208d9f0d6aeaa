using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Tasks;

/// <summary>
/// Processes and threads (tests/guests/tasks): fork, vfork, wait with every si_code, execve of ELF files, #! scripts
/// and host programs, signals between processes, process groups, pidfds, threads on a futex mutex and condvar,
/// robust mutexes, execve from a thread while others run, and the futex call itself. Output and exit status are
/// compared with qemu-i386 (which runs each guest thread on a host thread too). Thread tests run several times:
/// a race that passes once must not pass by luck.
/// </summary>
public class TaskGuestTests
{
    static string Build(string name) => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "tasks", name + ".c"), "-pthread");

    [QemuExecFact] public void ForkWaitExecSignals() => Differential.AssertSame(Build("proc_basic"), []);

    /// <summary>qemu-i386 implements vfork as fork; Linux lets the child borrow the parent's memory until it exits.</summary>
    [NativeI386Fact]
    public void VforkSharesMemory() => NativeI386.AssertSame(Build("proc_basic"), ["vfork-shares"]);

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)]
    public void ThreadsMutexCondvar(int round)
    {
        _ = round;
        Differential.AssertSame(Build("threads"), ["basic"]);
    }

    [Theory]
    [InlineData(1)] [InlineData(2)]
    public void ThreadsMutexCondvarInterpreted(int round)
    {
        _ = round;
        Differential.AssertSame(Build("threads"), ["basic"], new Differential.Options { Compat32Options = ["--jit", "off"] });
    }

    /// <summary>Robust mutexes and execve from a non-main thread while others spin: qemu-i386 hangs on the robust
    /// list, so the host kernel is the reference.</summary>
    [NativeI386Theory]
    [InlineData("on")] [InlineData("off")]
    public void ThreadsRobustAndExecFromThread(string jit) =>
        NativeI386.AssertSame(Build("threads"), [], new Differential.Options { Compat32Options = ["--jit", jit] });

    /// <summary>futex_exec_release: a robust mutex held across execve is released with OWNER_DIED (qemu-i386 does
    /// not walk robust lists at exec, so the host kernel is the reference).</summary>
    [NativeI386Fact]
    public void RobustMutexReleasedAtExec() => NativeI386.AssertSame(Build("robust_exec"), [], new Differential.Options { TimeoutMs = 30_000 });

    /// <summary>The program's PT_LOAD pages are private file mappings: copy-on-write across fork (three
    /// generations, 50 forks), the file's bytes back after MADV_DONTNEED, zero after munmap, kept by mremap and
    /// mprotect (qemu-i386 zeroes on MADV_DONTNEED, so the host kernel is the reference).</summary>
    [NativeI386Theory]
    [InlineData("on")] [InlineData("off")]
    public void ProgramImageIsCopyOnWrite(string jit) =>
        NativeI386.AssertSame(Build("image_cow"), [], new Differential.Options
        {
            Compat32Options = ["--jit", jit],
        });

    /// <summary>The same with snapshots off (COMPAT32_SNAPSHOTS=0, the copying path): fork and the rest as on
    /// Linux, but the image is anonymous memory, so MADV_DONTNEED gives zeros where Linux gives the file's bytes
    /// back.</summary>
    [Fact]
    public void ProgramImageCopiedIn()
    {
        var r = Differential.RunCompat32(Build("image_cow"), [], new Differential.Options
        {
            Env = new(Harness.Proc.BaseEnv()) { ["COMPAT32_SNAPSHOTS"] = "0" },
        });
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("madvise 0 -> \0\n", r.Out);
        Assert.Contains("parent sees a B C p\n", r.Out);
        Assert.Contains("forks with a wrong image: 0\n", r.Out);
    }

    [Fact] public void FutexCalls() => Differential.AssertSame(Build("futex"), []);

    [Theory]
    [InlineData("echo a | cat; echo $(echo sub); (exit 3); echo st=$?")]
    [InlineData("x=0; for i in 1 2 3 4 5; do x=$((x+i)); done; echo $x | tr 1 X")]
    [InlineData("sleep 0.05 & p=$!; wait $p; echo waited $?; false & wait $!; echo $?")]
    [InlineData("trap 'echo trapped' USR1; kill -USR1 $$; echo after")]
    [InlineData("seq 1 200 | sort -r | head -3; echo ${PIPESTATUS:-none}")]
    [InlineData("{ (sleep 5; echo late) & kill $!; wait $! ; echo killed=$?; } 2>/dev/null")]
    [InlineData("f() { echo in-f $1; return 4; }; f arg | cat; v=$(f x); echo \"$v\" $?")]
    public void BusyboxShell(string script) =>
        Differential.AssertSame(TestEnv.Busybox, ["sh", "-c", script]);

    /// <summary>compat32 returns when its first process exits, as the program would; a process it left running
    /// keeps running (the engine outlives the front) and does its work afterwards.</summary>
    [Fact]
    public void SurvivorsOutliveTheFirstProcess()
    {
        using var dir = TestEnv.NewTempDir("survivor");
        string file = Path.Combine(dir.Path, "late");
        var r = Proc.Run(TestEnv.Launcher, [TestEnv.Busybox, "sh", "-c", $"(sleep 1; echo late > {file}) >/dev/null 2>&1 </dev/null & echo started"],
            timeoutMs: 60_000);
        Assert.Equal("started\n", r.Out);
        Assert.Equal(0, r.ExitCode);
        Assert.False(File.Exists(file), "compat32 waited for the background process");
        // The shell creates the file (the redirection) before echo writes to it: wait for the text, not the name.
        string Text() => File.Exists(file) ? File.ReadAllText(file) : "";
        for (int i = 0; i < 100 && Text() != "late\n"; i++) Thread.Sleep(100);
        Assert.True(File.Exists(file), "the background process did not finish after compat32 returned");
        Assert.Equal("late\n", Text());
    }
}
