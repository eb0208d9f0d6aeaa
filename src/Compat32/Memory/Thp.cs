namespace Compat32.Memory;

/// <summary>The host's transparent huge pages (mm/huge_memory.c's sysfs knobs), as the engine's own heap (HugeHeap)
/// and guest mappings (AddressSpace.AdviseHuge) use them.</summary>
public static class Thp
{
    public const int MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15;

    /// <summary>THP is offered to madvise callers: transparent_hugepage/enabled is [always] or [madvise].</summary>
    public static readonly bool ForMadvise = Probe(out PmdSize);

    /// <summary>The huge page size (hpage_pmd_size; 2 MiB on x86-64).</summary>
    public static readonly ulong PmdSize;

    static bool Probe(out ulong size)
    {
        size = 2UL << 20;
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            string mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
            if (ulong.TryParse(File.ReadAllText("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size").Trim(), out ulong h)
                && h >= 4096 && (h & (h - 1)) == 0) size = h;
            return mode.Contains("[madvise]") || mode.Contains("[always]");
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
