using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// Interruptible sleeps on host descriptors (the TASK_INTERRUPTIBLE waits of fs/select.c, fs/pipe.c, fs/locks.c).
/// A guest signal cannot wake a host call, so each wait runs in slices of at most SliceMs and checks between
/// them for a signal the task can take (signal_pending) and for the task being killed.
/// </summary>
public static unsafe class HostWait
{
    public const int SliceMs = 10;
    /// <summary>No deadline (deadlines are ProcessTimers.Now() nanoseconds).</summary>
    public const long Never = long.MaxValue;
    public const short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;

    /// <summary>Why the caller must stop waiting: 0 (keep going), errOnSignal when a signal can be delivered,
    /// -EINTR when the task is being killed (the value is never seen by the guest).</summary>
    public static int Interrupted(Task t, int errOnSignal)
    {
        if (t.Kernel.Signals.HasDeliverable(t)) return errOnSignal;
        if (t.Exited || t.Group.Exiting) return -Errno.EINTR;
        return 0;
    }

    /// <summary>Milliseconds for the next host poll: a slice, or less when the deadline is nearer (rounded up).</summary>
    static int Slice(long deadlineNs)
    {
        if (deadlineNs == Never) return SliceMs;
        long left = deadlineNs - ProcessTimers.Now();
        if (left <= 0) return 0;
        return (int)Math.Min(SliceMs, (left + 999_999) / 1_000_000);
    }

    /// <summary>
    /// do_poll over host struct pollfd entries: the number of ready entries, 0 once deadlineNs passes (a deadline
    /// already past polls once), -ERESTARTNOHAND when nothing is ready and a signal is pending, or a host error.
    /// </summary>
    public static int Poll(Task t, byte* pfds, uint n, long deadlineNs)
    {
        t.Sleeping++;
        try { return PollLoop(t, pfds, n, deadlineNs); }
        finally { t.Sleeping--; }
    }

    static int PollLoop(Task t, byte* pfds, uint n, long deadlineNs)
    {
        while (true)
        {
            int r = LibC.Poll(pfds, n, Slice(deadlineNs));
            if (r > 0 || (r < 0 && r != -Errno.EINTR)) return r;
            // do_poll: with nothing ready, a pending signal wins over the timeout.
            int i = Interrupted(t, -Errno.ERESTARTNOHAND);
            if (i != 0) return i;
            if (deadlineNs != Never && ProcessTimers.Now() >= deadlineNs) return 0;
        }
    }

    /// <summary>Sleep until hostFd reports one of events (or an error / hangup): 0, or the Interrupted value.</summary>
    public static int WaitFd(Task t, int hostFd, short events, int errOnSignal)
    {
        t.Sleeping++;
        try { return WaitFdLoop(t, hostFd, events, errOnSignal); }
        finally { t.Sleeping--; }
    }

    static int WaitFdLoop(Task t, int hostFd, short events, int errOnSignal)
    {
        byte* pfd = stackalloc byte[8];
        while (true)
        {
            *(int*)pfd = hostFd;
            *(short*)(pfd + 4) = events;
            *(short*)(pfd + 6) = 0;
            int r = LibC.Poll(pfd, 1, SliceMs);
            if (r > 0 || (r < 0 && r != -Errno.EINTR)) return 0; // the call that follows reports any error
            int i = Interrupted(t, errOnSignal);
            if (i != 0) return i;
        }
    }

    /// <summary>
    /// A blocking request done as non-blocking attempts (locks: the host would sleep uninterruptibly for us):
    /// attempt() until it returns something other than wouldBlock, sleeping between tries (1 ms growing to a
    /// slice). Ends with errOnSignal on a signal.
    /// </summary>
    public static int Retry(Task t, Func<int> attempt, int wouldBlock, int errOnSignal)
    {
        int ms = 1;
        while (true)
        {
            int r = attempt();
            if (r != wouldBlock) return r;
            int i = Interrupted(t, errOnSignal);
            if (i != 0) return i;
            t.Kernel.Sleep(t, ProcessTimers.Now() + ms * 1_000_000L);
            ms = Math.Min(ms * 2, SliceMs);
        }
    }

    /// <summary>
    /// fifo_open for a blocking reader or writer: wait_for_partner sleeps until the other end opens, -ERESTARTSYS
    /// on a signal. The host open itself blocks, so it runs on a helper thread; to give up, we become the partner
    /// for a moment (a non-blocking open of the other end), which lets the helper's open return, and close both.
    /// </summary>
    public static int OpenFifo(Task t, int dirfd, byte[] path, int flags, int mode)
    {
        var gate = new object();
        int result = 0;
        bool finished = false, abandoned = false; // gate
        var th = new Thread(() =>
        {
            int r = LibC.OpenAt(dirfd, path, flags | LibC.O_CLOEXEC, mode);
            lock (gate)
            {
                if (abandoned) { if (r >= 0) LibC.Close(r); }
                else result = r;
                finished = true;
                Monitor.PulseAll(gate);
            }
        }) { IsBackground = true, Name = "compat32 fifo open" };
        th.Start();
        lock (gate)
        {
            while (!finished)
            {
                Monitor.Wait(gate, SliceMs);
                if (finished) break;
                int i = Interrupted(t, -Errno.ERESTARTSYS);
                if (i == 0) continue;
                int other = (flags & 3) == LibC.O_RDONLY ? LibC.O_WRONLY : LibC.O_RDONLY, partner = -1;
                // A bounded try: if the FIFO went away the helper is left to finish (and close) on its own.
                for (int n = 0; n < 200 && !finished; n++)
                {
                    if (partner < 0) partner = LibC.OpenAt(dirfd, path, other | LibC.O_NONBLOCK | LibC.O_CLOEXEC, 0);
                    Monitor.Wait(gate, 5);
                }
                if (partner >= 0) LibC.Close(partner);
                if (finished) { if (result >= 0) LibC.Close(result); }
                else abandoned = true;
                return i;
            }
            return result;
        }
    }
}
