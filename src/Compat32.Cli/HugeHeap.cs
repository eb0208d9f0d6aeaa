using System.Runtime.InteropServices;

namespace Compat32.Cli;

/// <summary>
/// Lets the managed heap's fresh memory come as transparent huge pages. What compat32 allocates is mostly decoded
/// code that lives as long as the process (python3.11 -S: ~11 MiB of blocks), all of it fresh memory (the gen0
/// budget is 64 MiB, so a short run never collects), and on some hosts the first touch of each 4 KiB page is what
/// costs: on this project's VM 12-14 us a page, about 3 ms per MiB, against about 0.1 ms per MiB as 2 MiB pages.
/// The GC commits its heap 64 KiB at a time (mprotect, then MADV_DODUMP, which splits the reservation's VMA at each
/// step), so no 2 MiB range is ever whole in one VMA when it is first touched and THP cannot apply. So before the
/// guest starts, a GiB of the GC's reservation from the allocation point's huge page on is made readable,
/// writable and dumpable (what the GC's own commit of it will do: then a no-op) and advised MADV_HUGEPAGE, in one
/// VMA. Only when the host offers THP (madvise or always mode), the range lies wholly in anonymous private
/// memory the runtime reserved (nothing else is mapped yet: the guest's reservation comes later), and the
/// GC's heap is where a new object says it is; otherwise nothing changes. The pages are the kernel's zero-filled
/// ones either way; what the GC later decommits (an mmap over it) loses the advice, as it should. Peak RSS grows by
/// at most the unused tail of the last huge page touched. COMPAT32_HUGE_HEAP=0 turns it off (to compare).
/// </summary>
internal static unsafe partial class HugeHeap
{
    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int mprotect(nint addr, nuint len, int prot);
    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int madvise(nint addr, nuint len, int advice);

    const int PROT_READ = 1, PROT_WRITE = 2, MADV_DODUMP = 17, MADV_COLLAPSE = 25;

    /// <summary>Bytes prepared: the heap's first GiB. The gen0 budget (Compat32.Cli.csproj's GCgen0size, 64 MiB) is
    /// what a short run allocates into; a long one goes on past it, and after a collection the survivors and the
    /// next gen0 regions lie above it too: cc1 of gcc-12 (96 MiB allocated, one collection) took 20,040 page faults
    /// with 64 MiB prepared and 5,112 with this, its CPU time 2,900 -> 2,579 ms (medians of 9). Untouched, the
    /// range costs nothing (no page is resident until written; a short run's RSS is unchanged).</summary>
    const ulong Budget = 1UL << 30, Gen0Budget = 64UL << 20;

    public static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("COMPAT32_HUGE_HEAP") == "0") return;
        try
        {
            if (!Compat32.Memory.Thp.ForMadvise) return;
            ulong huge = Compat32.Memory.Thp.PmdSize;
            var probe = new byte[16];
            ulong at;
            fixed (byte* p = probe) at = (ulong)p;
            // From the huge page the allocation point is in: that one already has small pages (what the runtime's
            // start allocated), so it is collapsed into a huge one now (MADV_COLLAPSE, Linux 6.1; a copy of what is
            // there, about 0.1 ms) rather than faulted in page by page up to its end.
            ulong lo = at & ~(huge - 1);
            // A smaller reservation (a heap hard limit) or a host that refuses the commit: the gen0 budget at least.
            // The GiB only where the reservation runs on as far again (the GC's is tens of GiB): never up to the
            // edge of one, where the next anonymous mapping (a thread's stack guard) could be someone else's.
            foreach (ulong size in (ReadOnlySpan<ulong>)[Budget, Gen0Budget])
            {
                ulong hi = lo + size, mustReach = size == Budget ? hi + size : hi;
                if (mustReach < lo || !AnonymousReserve(at, lo, mustReach)) continue;
                if (mprotect((nint)lo, (nuint)size, PROT_READ | PROT_WRITE) != 0) continue;
                madvise((nint)lo, (nuint)size, MADV_DODUMP);
                if (madvise((nint)lo, (nuint)size, Compat32.Memory.Thp.MADV_HUGEPAGE) == 0) madvise((nint)lo, (nuint)huge, MADV_COLLAPSE);
                break;
            }
            GC.KeepAlive(probe);
        }
        // A host without these files or calls, or a maps line this parser does not expect: the heap stays as it is.
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException
                                      or EntryPointNotFoundException or FormatException or OverflowException or ArgumentException) { }
    }

    /// <summary>[lo, hi) is covered, without a gap, by anonymous private mappings that are reserved (---p) or
    /// committed (rw-p), the one holding the object at <paramref name="obj"/> committed: the GC's heap.</summary>
    static bool AnonymousReserve(ulong obj, ulong lo, ulong hi)
    {
        ulong next = lo;
        bool sawObj = false;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // "start-end perms offset dev inode [path]"
            var f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5) return false;
            int dash = f[0].IndexOf('-');
            ulong a = Convert.ToUInt64(f[0][..dash], 16), b = Convert.ToUInt64(f[0][(dash + 1)..], 16);
            if (b <= next) continue;
            if (a > next) return false;                  // a hole
            bool anon = f[4] == "0" && (f.Length == 5 || string.IsNullOrWhiteSpace(f[5]));
            if (!anon || f[1] is not ("---p" or "rw-p")) return false;
            if (obj >= a && obj < b) sawObj = f[1] == "rw-p";
            if (b >= hi) return sawObj;
            next = b;
        }
        return false;
    }
}
