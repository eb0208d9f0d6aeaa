namespace Compat32.Kernel;

/// <summary>
/// The host threads that run guest tasks. A task has a host thread of its own for its whole life (guest threads
/// run truly concurrently); when the task has exited, its thread waits a while for the next new task instead of
/// ending, so a shell's fork+exec loop or a program that creates and joins threads pays no host thread creation
/// and no wait for a new thread to be scheduled; a new one is started without waiting for it (HostThread). Idle
/// threads end after IdleMs; at most MaxIdle wait.
/// </summary>
internal static class TaskThreads
{
    sealed class Worker
    {
        public Task? Next;                        // Lock: the task handed to this worker, taken when it starts it
        public readonly HostEvent Wake = new();   // signalled after Next is set
    }

    const int MaxIdle = 64;
    const long IdleMs = 5000;
    static readonly object Lock = new();
    static readonly List<Worker> idle = new(); // Lock; most recently idle last

    public static void Start(Task t)
    {
        lock (Lock)
            if (idle.Count > 0)
            {
                var w = idle[^1];
                idle.RemoveAt(idle.Count - 1);
                w.Next = t;
                w.Wake.Signal();
                return;
            }
        var nw = new Worker { Next = t };
        HostThread.Start(() => Loop(nw), "compat32 guest", 1 << 20);
    }

    static void Loop(Worker w)
    {
        while (true)
        {
            Task t;
            lock (Lock) { t = w.Next!; w.Next = null; }
            TaskRunner.Run(t);
            t.Finished.Set();
            lock (Lock)
            {
                if (idle.Count >= MaxIdle) return;
                idle.Add(w);
            }
            long deadline = Environment.TickCount64 + IdleMs;
            while (true)
            {
                int seen = w.Wake.Read();
                lock (Lock)
                {
                    if (w.Next != null) break;
                    if (Environment.TickCount64 >= deadline) { idle.Remove(w); return; }
                }
                w.Wake.Wait(seen, Math.Max(1, deadline - Environment.TickCount64) * 1_000_000);
            }
        }
    }
}
