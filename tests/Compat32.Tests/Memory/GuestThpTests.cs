using Compat32.Memory;
using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Memory;

/// <summary>
/// Host huge pages under guest memory (AddressSpace.AdviseHuge): a large private anonymous mapping's whole 2 MiB host
/// pages are advised MADV_HUGEPAGE, a MAP_STACK one's are not, the guest's own MADV_HUGEPAGE and MADV_NOHUGEPAGE are
/// followed, and unmapping gives the range default host memory again (a later small mapping there gets no huge
/// pages). Read from the host's smaps ("hg" in VmFlags).
/// </summary>
public sealed unsafe class GuestThpTests
{
    /// <summary>The VmFlags of the host VMA holding p (this process), or null.</summary>
    static string[]? FlagsAt(nint p) => FlagsAt(Environment.ProcessId, p);

    static string[]? FlagsAt(int pid, nint p)
    {
        bool inside = false;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 5 && f[0].Contains('-') && !f[0].EndsWith(':'))
            {
                var r = f[0].Split('-');
                inside = (ulong)p >= Convert.ToUInt64(r[0], 16) && (ulong)p < Convert.ToUInt64(r[1], 16);
            }
            else if (inside && f[0] == "VmFlags:") return f[1..];
        }
        return null;
    }

    static bool Advised(AddressSpace m, uint addr) => FlagsAt((nint)m.Ptr(addr))?.Contains("hg") == true;

    [HostThpFact]
    public void AnAdvisedMappingLosesItsHugePagesWhereUnmapped()
    {
        using var m = new AddressSpace();
        const uint at = 0x10000000, len = 8 << 20, mib = 1 << 20;
        m.Map(at, len, Prot.Read | Prot.Write);
        Assert.False(Advised(m, at + 4 * mib));
        m.AdviseHuge(at, len);
        Assert.InRange(m.HugeAdvised, 6L * mib, 8L * mib); // the whole host huge pages inside it
        long once = m.HugeAdvised;
        m.AdviseHuge(at + mib, 4 * mib); // advised again (the guest's MADV_HUGEPAGE over it): one record, counted once
        Assert.Equal(once, m.HugeAdvised);
        for (uint a = at + 2 * mib; a < at + 6 * mib; a += mib) Assert.True(Advised(m, a), $"{a:x} not advised");
        m.Ptr(at + 2 * mib)[5] = 7; m.Ptr(at + 3 * mib)[5] = 8; m.Ptr(at + 5 * mib)[5] = 9;
        // A hole in the middle: fresh default memory there, the rest still advised, the data around it kept.
        m.Unmap(at + 3 * mib, 2 * mib);
        Assert.Equal(7, m.Ptr(at + 2 * mib)[5]);
        Assert.Equal(9, m.Ptr(at + 5 * mib)[5]);
        Assert.False(Advised(m, at + 3 * mib));
        Assert.False(Advised(m, at + 4 * mib));
        Assert.True(Advised(m, at + 2 * mib));
        Assert.True(Advised(m, at + 6 * mib - 4096));
        // A small mapping in the hole gets default pages; so does everything once the rest goes.
        m.Map(at + 3 * mib, 64 << 10, Prot.Read | Prot.Write);
        Assert.False(Advised(m, at + 3 * mib));
        Assert.Equal(0, m.Ptr(at + 3 * mib)[5]);
        m.Unmap(at, len);
        for (uint a = at; a < at + len; a += mib) Assert.False(Advised(m, a), $"{a:x} still advised");
        m.Map(at + 2 * mib, 64 << 10, Prot.Read | Prot.Write);
        Assert.False(Advised(m, at + 2 * mib));
        Assert.Equal(0, m.Ptr(at + 2 * mib)[0]);
        // The guest's MADV_NOHUGEPAGE (NoHuge): advised back, data kept.
        const uint at2 = 0x20000000;
        m.Map(at2, len, Prot.Read | Prot.Write);
        m.AdviseHuge(at2, len);
        m.Ptr(at2 + 4 * mib)[1] = 5;
        m.NoHuge(at2, at2 + len);
        for (uint a = at2; a < at2 + len; a += mib) Assert.False(Advised(m, a), $"{a:x} still advised");
        Assert.Equal(5, m.Ptr(at2 + 4 * mib)[1]);
    }

    /// <summary>Bytes of pid's VMAs advised MADV_HUGEPAGE, and how much of them the host backs with huge pages.</summary>
    static (long Advised, long Huge) AdvisedIn(int pid)
    {
        long advised = 0, huge = 0, size = 0, anonHuge = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 5 && f[0].Contains('-') && !f[0].EndsWith(':'))
            {
                var r = f[0].Split('-');
                size = Convert.ToInt64(r[1], 16) - Convert.ToInt64(r[0], 16);
            }
            else if (f[0] == "AnonHugePages:") anonHuge = long.Parse(f[1]) << 10;
            else if (f[0] == "VmFlags:" && f.Contains("hg")) { advised += size; huge += anonHuge; }
        }
        return (advised, huge);
    }

    /// <summary>tests/guests/mm/thp.c in a running engine (its GC heap not advised: COMPAT32_HUGE_HEAP=0): the 8 MiB
    /// buffer's whole huge pages are advised (6 to 8 MiB of them) and the 6 MiB stack the guest advised (4 to 6), the
    /// 8 MiB MAP_STACK mapping and the buffer the guest advised MADV_NOHUGEPAGE not; with COMPAT32_GUEST_THP=0 nothing is.</summary>
    [HostThpTheory]
    [InlineData(null)]
    [InlineData("0")]
    public void AGuestsLargeBufferIsAdvisedItsStackIsNot(string? knob)
    {
        var prog = GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "mm", "thp.c"));
        (string, string)[] env = knob == null ? [("COMPAT32_HUGE_HEAP", "0")] : [("COMPAT32_HUGE_HEAP", "0"), ("COMPAT32_GUEST_THP", knob)];
        long advised = HugeHeapTests.WhileUp([prog], env, pid => AdvisedIn(pid).Advised);
        if (knob == "0") Assert.Equal(0, advised);
        else Assert.InRange(advised, 10L << 20, 14L << 20);
    }
}
