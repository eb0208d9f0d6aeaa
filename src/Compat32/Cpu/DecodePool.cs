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
        public required Instruction[] Generic;
        public required Uop[] Uops;
        /// <summary>Host code translated from these bytes, one per translation variant (JitCode.Template);
        /// replaced whole (copy on write), never changed in place.</summary>
        public JitCode.Template[]? Templates;
        /// <summary>The run at the same start address before this one: set before the run is published, cut (to null)
        /// under the lock once Ways newer runs are in front of it.</summary>
        public Run? Next;
    }

    /// <summary>Programs sharing a start address (every static binary's _start) keep up to this many runs each.</summary>
    internal const int Ways = 4;
    /// <summary>Bound on memory (a run is about a kilobyte): past it the pool starts again empty.</summary>
    const int MaxRuns = 1 << 16;

    static readonly object Lock = new();
    /// <summary>The newest run per start address (its Next: the one before it at that address), open addressing
    /// with linear probing as BlockTable: read without the lock (every process's first run of each block looks
    /// here), changed under it, replaced whole by one twice its size once more than half full, so a reader's
    /// snapshot always ends its probe at an empty slot. A ConcurrentDictionary's node per entry and its growth copies were
    /// about 3% of python3.11 -S's start-up.</summary>
    static Run?[] heads = new Run?[1 << 12];
    static int used, count;                                    // Lock: slots in use, runs added since the last reset
    /// <summary>How often the pool started again empty (written under Lock; tests read it to tell a reset from
    /// a miss).</summary>
    internal static volatile int Generation;

    static int Index(uint start, int length) =>
        (int)(((ulong)start * 0x9E3779B97F4A7C15UL) >> (64 - System.Numerics.BitOperations.Log2((uint)length)));

    /// <summary>The newest run starting at eip (follow Next, at most Ways of them); the caller checks them outside
    /// the lock.</summary>
    internal static Run? At(uint eip)
    {
        var h = Volatile.Read(ref heads);
        int mask = h.Length - 1;
        for (int i = Index(eip, h.Length); ; i = (i + 1) & mask)
        {
            var r = Volatile.Read(ref h[i]);
            if (r == null || r.Start == eip) return r;
        }
    }

    internal static void Add(Run r)
    {
        lock (Lock)
        {
            if (count >= MaxRuns) { Volatile.Write(ref heads, new Run?[1 << 12]); used = count = 0; Generation++; }
            count++;
            var h = heads;
            int i = Slot(h, r.Start);
            bool fresh = h[i] == null;
            r.Next = h[i]; // set before the run is visible (only Trim cuts it later)
            Volatile.Write(ref h[i], r);
            Trim(r);
            // Past half full, a table twice the size (the write above left an empty slot, so every probe still ends).
            if (fresh && ++used * 2 > h.Length)
            {
                var g = new Run?[h.Length * 2];
                foreach (var x in h) if (x != null) g[Slot(g, x.Start)] = x;
                Volatile.Write(ref heads, g);
            }
        }
    }

    /// <summary>The slot of start in t: its own, or the empty one where its probe ends.</summary>
    static int Slot(Run?[] t, uint start)
    {
        int mask = t.Length - 1, i = Index(start, t.Length);
        while (t[i] is { } o && o.Start != start) i = (i + 1) & mask;
        return i;
    }

    /// <summary>Past Ways runs at one address the older ones go (a reader walking the old chain misses them: a
    /// decode, not an error).</summary>
    static void Trim(Run r)
    {
        for (int k = 1; k < Ways && r.Next != null; k++) r = r.Next;
        if (r.Next != null) Volatile.Write(ref r.Next, null);
    }
}
