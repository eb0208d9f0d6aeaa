using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Signals;

/// <summary>
/// Process-directed signals in multi-threaded guests (tests/guests/signals/sig_shared.c): the group's shared
/// pending set, complete_signal's choice of thread, sigpending/signalfd/sigwaitinfo from any thread, signalfd
/// poll/epoll readiness and blocking reads woken by a process-directed signal, threads not chosen sleeping on
/// undisturbed, and a stress run counting every
/// queued signal delivered exactly once. The host kernel is the reference (qemu-i386 routes a process-directed
/// signal through the host's own threads and cannot say which guest thread takes it).
/// </summary>
public class SharedPendingTests
{
    static string Build() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "signals", "sig_shared.c"), "-pthread");

    [NativeI386Theory]
    [InlineData("pick")] [InlineData("allblock")] [InlineData("poll")] [InlineData("sigwait")] [InlineData("bystander")] [InlineData("stress")]
    public void AgainstHostKernel(string mode) =>
        NativeI386.AssertSame(Build(), [mode], new Differential.Options { TimeoutMs = 120_000 });
}
