using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Ipc;

/// <summary>
/// System V IPC and POSIX message queues between forked processes (tests/guests/ipc/sysv.c): shared memory
/// attached by id and by key, removal while attached; semaphores with SEM_UNDO applied at exit, blocked waiters,
/// GETNCNT, removal waking a sleeper with EIDRM; message types, MSG_EXCEPT, MSG_NOERROR, a full queue; the
/// direct syscalls and ipc(2)'s old layouts; mq_open/send/receive with priorities, mq_notify, poll and epoll
/// on a queue. qemu-i386 is the reference for semaphores and the stress run; it is wrong for the old layouts,
/// SHM_RND, msgrcv after IPC_RMID (it aborts) and mq_notify (ENOSYS), so those compare with the host kernel.
/// </summary>
public class IpcGuestTests
{
    static string Build() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "ipc", "sysv.c"), "-lrt");

    [Fact] public void Semaphores() => Differential.AssertSame(Build(), ["sem"]);

    [NativeI386Theory]
    [InlineData("shm")] [InlineData("msg")] [InlineData("raw")] [InlineData("mq")]
    public void SameAsLinux(string mode) => NativeI386.AssertSame(Build(), [mode]);

    /// <summary>The kernel's queue orders (tests/guests/ipc/queues.c), against the host kernel (qemu-i386 has no
    /// MSG_COPY, no SIGEV_THREAD, and its semaphores are the host's): semaphore sleepers completed in Linux's
    /// order (FIFO, a large decrement not holding back small ones, wait-for-zero, complex operations and the
    /// merged queue, SETVAL/SETALL, SEM_UNDO at exit, a timeout, IPC_RMID); eight processes passing tokens with
    /// single and complex operations (no sleeper lost); msgrcv MSG_COPY and its errors;
    /// mq_notify SIGEV_THREAD through glibc's netlink helper thread and by hand, with its bad input.</summary>
    [NativeI386Theory]
    [InlineData("semorder")] [InlineData("semstress")] [InlineData("msgcopy")] [InlineData("mqthread")]
    public void QueuesSameAsLinux(string mode) =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "ipc", "queues.c"), "-lrt", "-pthread"), [mode]);

    /// <summary>Six processes taking a SEM_UNDO mutex 400 times each around a shared counter; one dies holding it.
    /// Run several times, interpreted and translated.</summary>
    [Theory]
    [InlineData("on", 1)] [InlineData("on", 2)] [InlineData("off", 1)]
    public void SemaphoreStress(string jit, int round)
    {
        _ = round;
        Differential.AssertSame(Build(), ["stress"], new Differential.Options { Compat32Options = ["--jit", jit] });
    }
}
