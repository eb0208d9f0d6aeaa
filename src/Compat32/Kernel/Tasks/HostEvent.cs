using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Compat32.Kernel;

/// <summary>
/// An event count on a host futex word: how a task sleeps in Block and WaitFor, and how wakers (a futex wake, a
/// signal, a child's exit) rouse it. A sleeper reads the count, checks its condition, and sleeps only while the
/// count is unchanged; a waker changes its condition, then bumps the count, so no wake-up is lost. One host
/// futex call per sleep and per wake when someone sleeps, none otherwise (Monitor.Wait on NativeAOT went through
/// the managed wait subsystem: locks, an event object and allocations per wait).
/// </summary>
public sealed unsafe partial class HostEvent
{
    /// <summary>[0]: the count; [1]: sleepers; [2]: the owner's interruptible host call (Net.InterruptibleCall: 0
    /// none, 1 in it, 2 a waker interrupted it); [3]: the owner's host tid while [2] is set. Pinned, so the host
    /// kernel (and that call's stub) can read it.</summary>
    readonly int[] words = GC.AllocateArray<int>(4, pinned: true);
    readonly int* word;

    public HostEvent() { word = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(words)); }

    /// <summary>This event's next spin (Stopwatch ticks) and sleeps since it last spun; only its one waiter (the
    /// task's own thread) uses them.</summary>
    long spinTicks = SpinTicks;
    int sleepsUnspun;

    /// <summary>The current count (read before checking the condition).</summary>
    public int Read() => Volatile.Read(ref words[0]);

    /// <summary>Wake every sleeper (after making its condition true). Thread-safe.</summary>
    public void Signal()
    {
        Interlocked.Increment(ref words[0]); // a full fence before the call word is read (see InterruptibleCall)
        if (Volatile.Read(ref words[1]) != 0) Futex(word, FUTEX_WAKE_PRIVATE, int.MaxValue, null);
        if (Volatile.Read(ref words[2]) == 1 && Interlocked.CompareExchange(ref words[2], 2, 1) == 1)
            Net.InterruptibleCall.Interrupt(Volatile.Read(ref words[3]));
    }

    /// <summary>The owner's call word ([2]) and host tid ([3]) for Net.InterruptibleCall.</summary>
    internal int* CallWord => word + 2;

    /// <summary>Sleep while the count is still seen, at most timeoutNs (capped at one second; the caller loops and
    /// re-checks). Returns early on any wake, host signal or spurious wake-up.</summary>
    public void Wait(int seen, long timeoutNs)
    {
        if (timeoutNs <= 0) return;
        timeoutNs = Math.Min(timeoutNs, 1_000_000_000);
        long* ts = stackalloc long[2];
        ts[0] = timeoutNs / 1_000_000_000; ts[1] = timeoutNs % 1_000_000_000;
        // Spin a few microseconds first: a wake-up that comes that soon (a mutex or condition variable handed
        // between threads on two CPUs) then costs neither of us a host futex call or a context switch. Adaptive,
        // as a mutex's optimistic spinning is: a spin that ended in a wake-up doubles the next one (up to the
        // limit), one that did not halves it, down to none; after 32 sleeps without spinning it tries a full spin
        // again (a short probe could not catch a hand-off of a few microseconds, and a run of early misses left
        // ping-pong threads sleeping for good: the bench's slow mode). So a waker that needs this very CPU (both
        // threads on one host CPU) soon stops paying for our spinning, at one spin in 32 sleeps.
        long spin = spinTicks;
        if (spin > 0)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + spin;
            do
            {
                for (int k = 0; k < 16; k++)
                {
                    if (Volatile.Read(ref words[0]) != seen) { spinTicks = Math.Min(SpinTicks, spin * 2); return; }
                    Thread.SpinWait(4);
                }
            } while (System.Diagnostics.Stopwatch.GetTimestamp() < until);
            spinTicks = spin / 2 >= SpinTicks / 16 ? spin / 2 : 0;
        }
        else if (SpinTicks > 0 && ++sleepsUnspun >= 32) { sleepsUnspun = 0; spinTicks = SpinTicks; }
        Interlocked.Increment(ref words[1]); // a full fence: the waker's count bump or our sleeper mark is seen first
        if (Volatile.Read(ref words[0]) == seen) Futex(word, FUTEX_WAIT_PRIVATE, seen, ts);
        Interlocked.Decrement(ref words[1]);
    }

    /// <summary>The longest Wait spins before it sleeps: 10 µs with more than one host CPU (COMPAT32_SPIN_US),
    /// none with one (the waker could not run meanwhile).</summary>
    static readonly long SpinTicks = Environment.ProcessorCount < 2 ? 0
        : (int.TryParse(Environment.GetEnvironmentVariable("COMPAT32_SPIN_US"), out int us) ? Math.Max(0, us) : 10)
          * System.Diagnostics.Stopwatch.Frequency / 1_000_000;

    const int FUTEX_WAIT_PRIVATE = 128, FUTEX_WAKE_PRIVATE = 129;
    static readonly long SysFutex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        _ => 98, // the generic table (arm64, riscv64, loongarch64)
    };

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long syscall(long nr, int* uaddr, int op, int val, long* timeout, long a5, long a6);

    static void Futex(int* uaddr, int op, int val, long* ts) => syscall(SysFutex, uaddr, op, val, ts, 0, 0);
}
