using Compat32.Memory;
using Xunit;

namespace Compat32.Tests.Memory;

/// <summary>
/// The permission bytes' derived bits (AddressSpace.WriteOk, ReadPair, WritePair), which translated code tests
/// instead of the protection bits: after any sequence of map, protect, unmap, code marking and code writes, from
/// one thread or from several at once, and in a fork's copy, each page's derived bits are what its own bits and its
/// lower neighbour's say.
/// </summary>
public sealed unsafe class DerivedPermTests
{
    const byte R = (byte)Prot.Read, W = (byte)Prot.Write;

    static bool OwnWriteOk(byte v) => (v & (R | W | AddressSpace.CodeBit)) == (R | W);

    static byte Expected(AddressSpace m, uint page)
    {
        byte v = (byte)(m.PermOf(page) & ~(AddressSpace.WriteOk | AddressSpace.ReadPair | AddressSpace.WritePair));
        byte below = page > 0 ? m.PermOf(page - 1) : (byte)0;
        if (OwnWriteOk(v)) v |= (byte)(AddressSpace.WriteOk | (OwnWriteOk(below) ? AddressSpace.WritePair : 0));
        if ((v & below & R) != 0) v |= AddressSpace.ReadPair;
        return v;
    }

    static void AssertConsistent(AddressSpace m, uint firstPage, uint pages)
    {
        for (uint p = firstPage; p < firstPage + pages; p++)
            Assert.True(Expected(m, p) == m.PermOf(p), $"page {p:x}: {m.PermOf(p):x2}, expected {Expected(m, p):x2}");
    }

    const uint Lo = 0x10000000, Pages = 64;

    static void RandomStep(AddressSpace m, Random rng, uint lo, uint pages)
    {
        uint a = lo + (uint)rng.Next((int)pages) * 4096, n = (uint)rng.Next(1, 5) * 4096;
        if (a + n > lo + pages * 4096) n = lo + pages * 4096 - a;
        var prot = (Prot)rng.Next(8);
        switch (rng.Next(5))
        {
            case 0: m.Map(a, n, prot); break;
            case 1: m.Protect(a, n, prot); break;
            case 2: m.Unmap(a, n); break;
            case 3: m.MarkCode(a >> 12); break;
            default: m.NoteWrite(a, n); break; // drops the code bit where set
        }
    }

    [Fact]
    public void DerivedBitsFollowEveryChange()
    {
        using var m = new AddressSpace();
        m.CodeWritten = _ => { }; // NoteWrite drops code bits only when someone listens
        var rng = new Random(1234);
        m.Map(Lo, Pages * 4096, Prot.Read | Prot.Write);
        AssertConsistent(m, Lo >> 12, Pages + 1);
        Assert.NotEqual(0, m.PermOf((Lo >> 12) + 1) & AddressSpace.WritePair);
        Assert.Equal(0, m.PermOf(Lo >> 12) & (AddressSpace.WritePair | AddressSpace.ReadPair)); // nothing below
        for (int i = 0; i < 5000; i++)
        {
            RandomStep(m, rng, Lo, Pages);
            AssertConsistent(m, (Lo >> 12) - 1, Pages + 2);
        }
    }

    /// <summary>Threads changing neighbouring pages at once (each CAS computes from the neighbour it reads; the
    /// neighbour's writer fixes this page after its own CAS): after they stop, every page agrees. Run repeatedly.</summary>
    [Fact]
    public void DerivedBitsSurviveConcurrentNeighbours()
    {
        for (int run = 0; run < 20; run++)
        {
            using var m = new AddressSpace();
            m.CodeWritten = _ => { };
            m.Map(Lo, 8 * 4096, Prot.Read | Prot.Write);
            var threads = new Thread[4];
            for (int t = 0; t < threads.Length; t++)
            {
                int seed = run * 10 + t;
                threads[t] = new Thread(() =>
                {
                    var rng = new Random(seed);
                    for (int i = 0; i < 3000; i++)
                    {
                        uint page = (Lo >> 12) + (uint)rng.Next(8);
                        // Protection changes take mmap_lock in the kernel (MmLock here); code marks and code-bit
                        // drops do not, and race with them and with each other.
                        switch (rng.Next(3))
                        {
                            case 0: lock (m.MmLock) m.Protect(page << 12, 4096, rng.Next(2) == 0 ? Prot.Read : Prot.Read | Prot.Write); break;
                            case 1: m.MarkCode(page); break;
                            default: m.NoteWrite(page << 12, 4); break;
                        }
                    }
                });
            }
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            AssertConsistent(m, (Lo >> 12) - 1, 10);
        }
    }

    [Fact]
    public void ForkCopyHasNoCodeAndItsOwnPairs()
    {
        using var m = new AddressSpace();
        m.Map(Lo, 4 * 4096, Prot.Read | Prot.Write | Prot.Exec);
        m.MarkCode((Lo >> 12) + 1);
        Assert.Equal(0, m.PermOf((Lo >> 12) + 1) & AddressSpace.WriteOk);
        Assert.Equal(0, m.PermOf((Lo >> 12) + 2) & AddressSpace.WritePair);
        using var c = m.Clone();
        AssertConsistent(c, (Lo >> 12) - 1, 6);
        Assert.NotEqual(0, c.PermOf((Lo >> 12) + 1) & AddressSpace.WriteOk);
        Assert.NotEqual(0, c.PermOf((Lo >> 12) + 2) & AddressSpace.WritePair);
    }
}
