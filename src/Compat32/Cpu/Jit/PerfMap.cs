namespace Compat32.Cpu;

/// <summary>
/// COMPAT32_PERF_MAP=1: every translated block's host code is listed in /tmp/perf-PID.map, the file perf(1) reads
/// for code a JIT made ("START SIZE NAME", hex), so `perf report` names samples in translated code by guest
/// address (i386:EIP) instead of [unknown]. Off by default (a write per translated block).
/// </summary>
internal static class PerfMap
{
    public static readonly bool On = Environment.GetEnvironmentVariable("COMPAT32_PERF_MAP") == "1";
    static StreamWriter? w; // locked on Lock
    static readonly object Lock = new();

    public static void Add(nint host, long size, uint eip)
    {
        if (!On || host == 0 || size <= 0) return;
        lock (Lock)
        {
            try
            {
                w ??= new StreamWriter($"/tmp/perf-{Environment.ProcessId}.map", append: true) { AutoFlush = true };
                w.Write($"{(ulong)host:x} {size:x} i386:{eip:x8}\n");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
