using System.Runtime.InteropServices;

namespace Compat32.Kernel;

/// <summary>
/// The timekeeper (kernel/time/timekeeping.c, reduced): the guest TSC (1 GHz, from the host's monotonic
/// clock) is the clocksource; each clock is a base taken at cycle_last plus the cycles since. The syscalls and
/// the vvar page the vDSO reads are fed from the same bases, so the two agree to the nanosecond.
/// </summary>
public sealed partial class Timekeeper
{
    public const int Clocks = 12; // CLOCK_TAI + 1 (VDSO_BASES)
    const int REALTIME = 0, MONOTONIC = 1, MONOTONIC_RAW = 4, REALTIME_COARSE = 5, MONOTONIC_COARSE = 6, BOOTTIME = 7, TAI = 11;
    /// <summary>The tick: bases are advanced at most this often (CONFIG_HZ=250 → 4 ms).</summary>
    public const ulong TickNs = 4_000_000;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int clock_gettime(int clk, out HostTs ts);
    [StructLayout(LayoutKind.Sequential)] struct HostTs { public long Sec, Nsec; }

    readonly long bootTicks = System.Diagnostics.Stopwatch.GetTimestamp();
    readonly object gate = new();
    /// <summary>Base nanoseconds of each clock at CycleLast (absolute, ns since its epoch).</summary>
    readonly long[] baseNs = new long[Clocks];
    public ulong CycleLast { get; private set; }
    public long Generation { get; private set; }
    /// <summary>Called (under the lock) after each update, to rewrite the vvar pages.</summary>
    public event Action<Timekeeper>? Updated;

    public Timekeeper()
    {
        ulong c = Tsc();
        CycleLast = c;
        for (int clk = 0; clk < Clocks; clk++) baseNs[clk] = Host(clk);
        // The timer interrupt (tick_sched_timer → update_wall_time) advances the bases every tick even when no
        // one reads a clock, so time() and the _COARSE clocks the vDSO reads from vvar stay within a tick.
        // A thread of its own sleeping to absolute tick times: one host call per tick (a System.Threading.Timer
        // woke the runtime's timer thread and a thread-pool worker, which then spun, on every tick).
        HostThread.Start(TickLoop, "compat32 tick", 256 << 10);
    }

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int clock_nanosleep(int clk, int flags, in HostTs req, nint rem);

    void TickLoop()
    {
        const int CLOCK_MONOTONIC = 1, TIMER_ABSTIME = 1;
        long next = Host(MONOTONIC) + (long)TickNs;
        while (true)
        {
            var ts = new HostTs { Sec = next / 1_000_000_000, Nsec = next % 1_000_000_000 };
            if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ts, 0) != 0) continue; // EINTR: sleep on
            Tick();
            long now = Host(MONOTONIC);
            next += (long)TickNs;
            if (next <= now) next = now + (long)TickNs; // fell behind (a loaded host): no burst of catch-up ticks
        }
    }

    static long Host(int clk)
    {
        if (clk is 2 or 3 or 8 or 9 or 10) return 0;
        return clock_gettime(clk, out var ts) == 0 ? ts.Sec * 1_000_000_000 + ts.Nsec : 0;
    }

    /// <summary>The guest TSC: nanoseconds since this machine booted (Stopwatch is CLOCK_MONOTONIC on Linux).</summary>
    public ulong Tsc()
    {
        long t = System.Diagnostics.Stopwatch.GetTimestamp() - bootTicks;
        return System.Diagnostics.Stopwatch.Frequency == 1_000_000_000 ? (ulong)t : (ulong)((double)t * 1e9 / System.Diagnostics.Stopwatch.Frequency);
    }

    /// <summary>timekeeping_advance: move every base to now. Monotonic clocks advance by exactly the cycles
    /// elapsed (never backwards); REALTIME and TAI follow the host's wall clock, which may be stepped.</summary>
    public void Tick(bool force = false)
    {
        lock (gate)
        {
            ulong now = Tsc();
            if (!force && now - CycleLast < TickNs) return;
            long delta = (long)(now - CycleLast);
            baseNs[MONOTONIC] += delta;
            baseNs[BOOTTIME] += delta;
            baseNs[MONOTONIC_RAW] += delta;
            long wall = Host(REALTIME), tai = Host(TAI);
            // Keep the wall clock consistent with what readers may already have seen in this period.
            baseNs[REALTIME] = Math.Max(wall, baseNs[REALTIME] + 0);
            baseNs[TAI] = Math.Max(tai, baseNs[TAI]);
            CycleLast = now;
            baseNs[REALTIME_COARSE] = baseNs[REALTIME];
            baseNs[MONOTONIC_COARSE] = baseNs[MONOTONIC];
            Generation++;
            Updated?.Invoke(this);
        }
    }

    public long Base(int clk) => baseNs[clk];

    /// <summary>ktime_get_* for a clock id: false for clocks this model does not keep.</summary>
    public bool Now(int clk, out long sec, out long nsec)
    {
        sec = nsec = 0;
        long ns;
        switch (clk)
        {
            case REALTIME: case MONOTONIC: case MONOTONIC_RAW: case BOOTTIME: case TAI:
            {
                Tick();
                lock (gate) ns = baseNs[clk] + (long)(Tsc() - CycleLast);
                break;
            }
            case REALTIME_COARSE: case MONOTONIC_COARSE:
                Tick();
                ns = baseNs[clk];
                break;
            case 2: case 3: // process / thread CPU time: the host's for this process
                ns = Host(clk == 2 ? 2 : 3);
                if (ns == 0 && clock_gettime(clk, out var t2) == 0) ns = t2.Sec * 1_000_000_000 + t2.Nsec;
                break;
            case 8: case 9: // the _ALARM clocks read like their base clocks
                return Now(clk == 8 ? REALTIME : BOOTTIME, out sec, out nsec);
            default:
                return false;
        }
        sec = ns / 1_000_000_000;
        nsec = ns % 1_000_000_000;
        return true;
    }

    /// <summary>One timekeeper for the host process: every guest sees the same clocks, as on one machine.</summary>
    public static readonly Timekeeper Instance = new();
}
