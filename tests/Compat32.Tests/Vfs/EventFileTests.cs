using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Vfs;

/// <summary>
/// epoll, eventfd, timerfd, signalfd readiness and inotify (tests/guests/events/epoll.c): an event loop mixing a
/// timerfd, an eventfd, a signalfd, a pipe and a socketpair in one epoll set; edge-triggered and one-shot items;
/// EPOLLEXCLUSIVE's rules; a signalfd waking a blocked poll and epoll when another process signals; epoll in
/// epoll and in poll; timers on every clock with the time64 calls; inotify's event stream. Compared with
/// qemu-i386, or with the host kernel where qemu-i386 is wrong (it accepts bad timerfd/inotify flags and lacks
/// epoll_pwait2).
/// </summary>
public class EventFileTests
{
    static string Build() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "events", "epoll.c"), "-pthread", "-lrt");

    [Theory]
    [InlineData("loop")] [InlineData("signalfd")] [InlineData("edge")] [InlineData("exclusive")]
    [InlineData("timers")] [InlineData("inotify")] [InlineData("nested")]
    public void SameAsQemu(string mode) => Differential.AssertSame(Build(), [mode]);

    /// <summary>epoll_wait ends with EINTR under SA_RESTART; epoll_pwait's mask; epoll_pwait2 (qemu-i386 7.2
    /// lacks it).</summary>
    [NativeI386Fact] public void InterruptedBySignal() => NativeI386.AssertSame(Build(), ["intr"]);

    [NativeI386Fact] public void BadArguments() => NativeI386.AssertSame(Build(), ["errors"]);

    /// <summary>The event loop again with every block translated at its first run.</summary>
    [Fact]
    public void LoopTranslated() => Differential.AssertSame(Build(), ["loop"], new Differential.Options { Compat32Options = ["--jit", "1"] });

    /// <summary>Four threads in epoll_wait on one set of one-shot items (an eventfd and a message queue) while two
    /// producers post; every count and message arrives exactly once. Several runs, translated and interpreted.</summary>
    [Theory]
    [InlineData("1", 1)] [InlineData("1", 2)] [InlineData("off", 1)]
    public void EpollStress(string jit, int round)
    {
        _ = round;
        var c = Differential.RunCompat32(Build(), ["stress"], new Differential.Options { Compat32Options = ["--jit", jit], TimeoutMs = 120_000 });
        Assert.Equal("stress: eventfd total=3000 messages=600\n", c.Out);
        Assert.Equal(0, c.ExitCode);
    }
}
