namespace Compat32.Cpu;

/// <summary>
/// Direct block linking. A block end whose successor is known (a fall-through, a JMP/CALL rel, either side of a
/// Jcc) jumps through its own 8-byte link cell, stored after the block's code: the cell holds the block's table
/// lookup path until the successor has host code, then that code, so the hot path is the budget and stop tests and
/// one predicted indirect jump instead of a table load, a tag compare and a shift. Cells are data, not patched
/// instructions: rewriting one is an aligned 8-byte store another thread's load sees whole, with none of the
/// serialisation rules of cross-modifying code (SDM vol. 3 8.1.3).
/// A cell leads only to code the table could lead to (a valid block's current code), and every change that takes
/// code out of the table takes it out of the cells first, under the same lock: invalidation (Unlink), eviction of
/// the segment it lies in (EvictLocked), a flush. A thread that loaded the cell just before runs the old block
/// once, as one that read the table slot would; the invalidation's stop request makes it leave at that block's end.
/// </summary>
internal sealed unsafe partial class JitCode
{
    /// <summary>A link cell: where it is, the lookup path it holds when unlinked, the successor's guest address.
    /// Immutable; the cell's contents are written under the space's lock.</summary>
    sealed record class LinkCell(ulong Cell, ulong Lookup, uint Target);

    /// <summary>Live cells by successor (under space.Lock); a cell dies with the code holding it.</summary>
    readonly Dictionary<uint, List<LinkCell>> cellsTo = new();
    /// <summary>Every live cell (under space.Lock), in translation order.</summary>
    readonly List<LinkCell> cells = new();

    /// <summary>Links made and cells reset: machine-wide (--stats), and this space's (under space.Lock; tests).</summary>
    internal static long LinksMade, LinksReset;
    long made, reset;
    void Made() { made++; Interlocked.Increment(ref LinksMade); }
    void Reset() { reset++; Interlocked.Increment(ref LinksReset); }
    internal (long Made, long Reset) LinkCounts { get { lock (space.Lock) return (made, reset); } }

    /// <summary>Fill the cells of the code just produced at host (under the lock, before the block is published):
    /// each to its successor's code if that block is valid and translated, else to its lookup path.</summary>
    void AddLinks(nint host, ReadOnlySpan<LinkSite> sites)
    {
        foreach (var s in sites)
        {
            ulong at = (ulong)host + (ulong)s.CellOff, lookup = (ulong)host + (ulong)s.LookupOff;
            *(ulong*)at = lookup;
            if ((at & 7) != 0) continue; // (BlockEncoder's layout) cannot be rewritten atomically: stays on its lookup
            var c = new LinkCell(at, lookup, s.Target);
            cells.Add(c);
            if (!cellsTo.TryGetValue(s.Target, out var l)) cellsTo[s.Target] = l = new List<LinkCell>(2);
            l.Add(c);
            if (space.Cache.Listed(s.Target) is { Valid: true, Native: not 0 } b) { *(ulong*)at = (ulong)b.Native; Made(); }
        }
    }

    /// <summary>blk has new host code (under the lock): the cells waiting for its address lead there.</summary>
    void LinkIncoming(Block blk)
    {
        if (!cellsTo.TryGetValue(blk.Start, out var l) || !blk.Valid || blk.Native == 0) return;
        ulong to = (ulong)blk.Native;
        foreach (var c in l) { Volatile.Write(ref *(ulong*)c.Cell, to); Made(); }
    }

    /// <summary>No code at target any more (under the lock): its cells go back to their lookup paths.</summary>
    void UnlinkIncoming(uint target)
    {
        if (!cellsTo.TryGetValue(target, out var l)) return;
        foreach (var c in l)
            if (Volatile.Read(ref *(ulong*)c.Cell) != c.Lookup) { Volatile.Write(ref *(ulong*)c.Cell, c.Lookup); Reset(); }
    }

    /// <summary>The code in [a, b) is being evicted (under the lock, before the wait for processors): its cells die,
    /// and cells elsewhere leading into it go back to their lookup paths.</summary>
    void EvictLinks(ulong a, ulong b)
    {
        int kept = 0;
        for (int i = 0; i < cells.Count; i++)
        {
            var c = cells[i];
            if (c.Cell >= a && c.Cell < b)
            {
                var l = cellsTo[c.Target];
                l.Remove(c);
                if (l.Count == 0) cellsTo.Remove(c.Target);
                continue;
            }
            ulong v = Volatile.Read(ref *(ulong*)c.Cell);
            if (v >= a && v < b) { Volatile.Write(ref *(ulong*)c.Cell, c.Lookup); Reset(); }
            cells[kept++] = c;
        }
        cells.RemoveRange(kept, cells.Count - kept);
    }

    /// <summary>All code is dropped (a flush, under the lock): every cell dies with it.</summary>
    void ClearLinks()
    {
        cells.Clear();
        cellsTo.Clear();
    }
}

/// <summary>A block end's link cell (Translator.DispatchConst): the cell's and the lookup path's offsets in the
/// block's code, and the successor's guest address.</summary>
internal readonly record struct LinkSite(int CellOff, int LookupOff, uint Target);
