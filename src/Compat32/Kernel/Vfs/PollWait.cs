using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// do_poll over a set that mixes host fds with files whose readiness is the model's (fs/select.c): host entries
/// are polled by the host; a model entry is polled here and its wait queue gets an entry (poll_wait) that
/// signals a host eventfd private to this call, which sits in the host set, so a change wakes the sleeper at
/// once. The sleep itself is HostWait.Poll (interruptible, in slices).
/// </summary>
public static unsafe class PollWait
{
    /// <summary>
    /// h holds n host struct pollfd entries (model entries with fd -1 and their requested events). model[i] names
    /// the model file of entry i; local[i] gets its revents (entries the caller decided already, such as POLLNVAL,
    /// have local[i] != 0 and are counted in early). Returns what HostWait.Poll returns for the host entries.
    /// </summary>
    public static int Wait(Task t, byte[] h, int n, KernelFile?[]? model, short[] local, int early, long end)
    {
        if (model == null || Array.TrueForAll(model, m => m == null))
        {
            fixed (byte* p = h)
            {
                // Something is ready already: one look at the host fds without sleeping.
                if (early > 0) { int r0 = LibC.Poll(p, (uint)n, 0); return r0 < 0 ? 0 : r0; }
                return HostWait.Poll(t, p, (uint)n, end);
            }
        }
        int waker = LibC.EventFd(0, LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (waker < 0) return waker;
        var hooked = new List<(WaitQueue, WaitEntry)>();
        try
        {
            var entry = new WaitEntry(_ => LibC.EventFdSignal(waker));
            for (int i = 0; i < n; i++)
                if (model[i]?.PollQueue(t) is { } q && !hooked.Exists(x => x.Item1 == q)) { q.Add(entry); hooked.Add((q, entry)); }
            var hh = new byte[(n + 1) * 8];
            h.AsSpan(0, n * 8).CopyTo(hh);
            U.W32(hh, n * 8, waker);
            U.W16(hh, n * 8 + 4, (ushort)HostWait.POLLIN);
            while (true)
            {
                LibC.EventFdDrain(waker);
                int ready = early + Evaluate(t, h, n, model, local);
                int r;
                fixed (byte* p = hh) r = ready > 0 ? LibC.Poll(p, (uint)n + 1, 0) : HostWait.Poll(t, p, (uint)n + 1, end);
                if (r < 0) { if (r == -Errno.ERESTARTNOHAND) return r; r = 0; }
                bool woke = U.R16(hh, n * 8 + 6) != 0;
                if (woke) { r--; U.W16(hh, n * 8 + 6, 0); }
                if (ready > 0 || r > 0)
                {
                    if (woke) Evaluate(t, h, n, model, local);
                    hh.AsSpan(0, n * 8).CopyTo(h);
                    return r;
                }
                if (!woke) return 0; // the deadline passed
            }
        }
        finally
        {
            foreach (var (q, e) in hooked) q.Remove(e);
            LibC.Close(waker);
        }
    }

    static int Evaluate(Task t, byte[] h, int n, KernelFile?[] model, short[] local)
    {
        int ready = 0;
        for (int i = 0; i < n; i++)
        {
            if (model[i] is not { } m) continue;
            uint want = U.R16(h, i * 8 + 4) | (uint)(HostWait.POLLERR | HostWait.POLLHUP);
            local[i] = (short)(m.Poll(t) & want);
            if (local[i] != 0) ready++;
        }
        return ready;
    }
}
