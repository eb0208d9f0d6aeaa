using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// Decoded instruction runs shared by every address space of the machine, keyed by start address and accepted
/// only when guest memory holds exactly the bytes they were decoded from: a process that runs code another one
/// already decoded (a shell's children execing the same program, a fork) decodes nothing again. Entries are
/// immutable (the instruction and operand arrays are shared read-only by the blocks built from them); a block
/// keeps its own validity, hit count and host code. Lock order: CodeSpace.Lock, then this pool's lock.
/// </summary>
internal static unsafe class DecodePool
{
    internal sealed class Run
    {
        public required uint Start, End;
        public required int Count;
        public required byte[] Bytes;
        public required Instruction[] Insns;
        public required Uop[] Uops;
        /// <summary>Host code translated from these bytes, one per translation variant (JitCode.Template);
        /// replaced whole (copy on write), never changed in place.</summary>
        public JitCode.Template[]? Templates;
    }

    /// <summary>Programs sharing a start address (every static binary's _start) keep up to this many runs each.</summary>
    const int Ways = 4;
    /// <summary>Bound on memory (a run is about a kilobyte): past it the pool starts again empty.</summary>
    const int MaxRuns = 1 << 16;

    static readonly object Lock = new();
    /// <summary>Read without the lock (every process's first run of each block looks here); changed under it.</summary>
    static readonly System.Collections.Concurrent.ConcurrentDictionary<uint, Run[]> byStart = new();
    static int count;                                          // Lock
    /// <summary>How often the pool started again empty (written under Lock; tests read it to tell a reset from
    /// a miss).</summary>
    internal static volatile int Generation;

    /// <summary>Runs starting at eip, most recent first (a snapshot: the caller checks them outside the lock).</summary>
    internal static Run[]? At(uint eip) => byStart.TryGetValue(eip, out var a) ? a : null;

    internal static void Add(Run r)
    {
        lock (Lock)
        {
            if (count >= MaxRuns) { byStart.Clear(); count = 0; Generation++; }
            if (!byStart.TryGetValue(r.Start, out var a)) { byStart[r.Start] = [r]; count++; return; }
            var n = new Run[Math.Min(a.Length + 1, Ways)];
            n[0] = r;
            Array.Copy(a, 0, n, 1, n.Length - 1);
            if (n.Length > a.Length) count++;
            byStart[r.Start] = n; // copy on write: readers hold the old array
        }
    }
}
