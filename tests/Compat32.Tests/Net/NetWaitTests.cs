using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Net;

/// <summary>
/// Blocking socket calls and guest signals (tests/guests/net/sockwait.c), against the host kernel: recv, read,
/// recvmsg, send, write, accept and connect ended at once by a signal (EINTR without SA_RESTART, restarted with
/// it, EINTR regardless with SO_RCVTIMEO), SO_RCVTIMEO/SO_SNDTIMEO expiring, MSG_WAITALL returning its part,
/// a partial send returning its count, non-blocking calls that never sleep after the socket slept in a blocking
/// one, a signal ending only the thread it names, exit and a fatal signal ending threads in recv, and 400 signals
/// racing with a thread entering recv (none lost, most handled within 3 ms: not left to a poll slice). These are
/// the semantics the one-host-call blocking path (Net/InterruptibleCall) must keep.
/// </summary>
public class NetWaitTests
{
    static string Prog => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "net", "sockwait.c"), "-pthread");

    [NativeI386Theory]
    [InlineData("recv-unix")] [InlineData("recv-tcp")] [InlineData("send-unix")] [InlineData("send-tcp")]
    [InlineData("accept")] [InlineData("threads")] [InlineData("exit")] [InlineData("race")] [InlineData("race-restart")]
    public void AgainstHostKernel(string mode) => NativeI386.AssertSame(Prog, [mode]);
}
