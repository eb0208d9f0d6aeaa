using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Tasks;

/// <summary>
/// PI futexes (tests/guests/tasks/futex_pi.c): PTHREAD_PRIO_INHERIT mutexes under contention, trylock, robust PI
/// mutexes whose owner exits, a condvar with a PI mutex, and the raw FUTEX_LOCK_PI(2) / TRYLOCK_PI / UNLOCK_PI /
/// WAIT_REQUEUE_PI / CMP_REQUEUE_PI calls with their errors, timeouts and signals. The host kernel is the reference
/// (qemu-i386 passes PI futexes to the host with its own robust-list handling). Run several times: a race that
/// passes once must not pass by luck.
/// </summary>
public class FutexPiTests
{
    static string Build() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "tasks", "futex_pi.c"), "-pthread");

    [NativeI386Theory]
    [InlineData("on", 1)] [InlineData("on", 2)] [InlineData("off", 1)]
    public void PiFutexes(string jit, int round)
    {
        _ = round;
        NativeI386.AssertSame(Build(), [], new Differential.Options { Compat32Options = ["--jit", jit] });
    }
}
