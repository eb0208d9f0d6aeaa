using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// A wait queue head (include/linux/wait.h) for state the model keeps itself (signalfd, message queues, epoll
/// items on them): whoever changes the state calls Wake, and every entry's function runs with the poll bits
/// that changed (0: unknown, as wake_up passes no key). Functions run outside the queue's lock, so they may take
/// their own locks; one may still run just after its Remove returned (callers check their own "removed" flag).
/// </summary>
public sealed class WaitQueue
{
    readonly object gate = new();
    WaitEntry[] entries = Array.Empty<WaitEntry>(); // gate (copy-on-write: Wake reads a snapshot)

    public bool Active => Volatile.Read(ref entries).Length != 0;

    public void Add(WaitEntry e) { lock (gate) entries = [.. entries, e]; }

    public void Remove(WaitEntry e)
    {
        lock (gate)
        {
            int i = Array.IndexOf(entries, e);
            if (i < 0) return;
            var n = new WaitEntry[entries.Length - 1];
            Array.Copy(entries, 0, n, 0, i);
            Array.Copy(entries, i + 1, n, i, entries.Length - i - 1);
            entries = n;
        }
    }

    /// <summary>__wake_up with a key of poll bits.</summary>
    public void Wake(uint events = 0)
    {
        foreach (var e in Volatile.Read(ref entries)) e.Func(events);
    }
}

/// <summary>A wait queue entry (wait_queue_entry_t): its function is the wake-up callback.</summary>
public sealed class WaitEntry(Action<uint> func)
{
    public readonly Action<uint> Func = func;
}

/// <summary>
/// A file whose file_operations are ours rather than the host's: event fds, timer fds, inotify and epoll
/// instances (a host object of the same kind does the work, made non-blocking so that blocking is done here,
/// interruptibly), and files whose state lives only in the model (signalfd, POSIX message queues: ModelPoll).
/// Status flags live in Flags only (the host fd keeps O_NONBLOCK); F_GETFL/F_SETFL see the guest's flags.
/// </summary>
public abstract class KernelFile : OpenFile
{
    /// <summary>Readiness comes from Poll, not from the host fd (which may be a placeholder for fstat).</summary>
    public virtual bool ModelPoll => false;
    /// <summary>f_op->poll for the calling task (EPOLL* bits); only when ModelPoll.</summary>
    public virtual uint Poll(Task t) => 0;
    /// <summary>The queue poll_wait would sleep on for task t (signalfd: the caller's sighand).</summary>
    public virtual WaitQueue? PollQueue(Task t) => null;
    /// <summary>read(2); files without a read method answer -EINVAL (vfs_read).</summary>
    public virtual int Read(Task t, uint buf, uint count) => -Errno.EINVAL;
    public virtual int Write(Task t, uint buf, uint count) => -Errno.EINVAL;
    /// <summary>A statx image for fstat, or null to ask the host fd.</summary>
    public virtual byte[]? Statx() => null;

    protected bool NonBlocking => (Flags & LibC.O_NONBLOCK) != 0;

    /// <summary>
    /// A read of a fixed-size record (eventfd, timerfd: 8 bytes) or a stream (inotify) from the non-blocking host
    /// fd: -EAGAIN from the host sleeps interruptibly until the fd is readable (wait_event_interruptible:
    /// -ERESTARTSYS on a signal) unless the guest asked for O_NONBLOCK. The bytes are copied out afterwards;
    /// a fault then is -EFAULT with the record consumed, as copy_to_iter failing after the dequeue.
    /// </summary>
    protected unsafe int HostRead(Task t, uint buf, uint count, uint max)
    {
        var tmp = new byte[Math.Min(count, max)];
        while (true)
        {
            long r;
            fixed (byte* p = tmp) r = LibC.Read(HostFd, p, (uint)tmp.Length);
            if (r >= 0) return U.Put(t, buf, tmp.AsSpan(0, (int)r)) == 0 ? (int)r : -Errno.EFAULT;
            if (r != -Errno.EAGAIN || NonBlocking) return (int)r;
            int w = HostWait.WaitFd(t, HostFd, HostWait.POLLIN, -Errno.ERESTARTSYS);
            if (w != 0) return w;
        }
    }
}
