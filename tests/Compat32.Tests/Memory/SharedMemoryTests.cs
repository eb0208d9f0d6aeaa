using System.Diagnostics;
using Compat32.Memory;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Memory;

/// <summary>AddressSpace-level MAP_SHARED, fork's Clone (dup_mmap), mremap's Move and futex keys.</summary>
public unsafe class SharedMemoryTests(ITestOutputHelper output)
{
    const uint ShAt = 0x1000_0000, PrAt = 0x2000_0000, Len = 0x4000;
    const Prot RW = Prot.Read | Prot.Write;

    static uint Get(AddressSpace m, uint a) { Assert.True(m.ReadU32(a, out uint v)); return v; }
    static void Set(AddressSpace m, uint a, uint v) => Assert.True(m.WriteU32(a, v));

    static AddressSpace WithShmemAndPrivate()
    {
        var m = new AddressSpace();
        var shm = HostFile.Shmem(Len, out int err);
        Assert.NotNull(shm);
        Assert.Equal(0, err);
        Assert.Equal(0, m.MapShared(ShAt, Len, RW, "/dev/zero (deleted)", shm!, 0));
        m.Map(PrAt, Len, RW);
        return m;
    }

    [Fact]
    public void CloneSharesSharedPagesAndCopiesPrivateOnes()
    {
        using var p = WithShmemAndPrivate();
        Set(p, ShAt + 8, 1); Set(p, PrAt + 8, 1);
        using var c = p.Clone();
        Assert.Equal(1u, Get(c, ShAt + 8));
        Assert.Equal(1u, Get(c, PrAt + 8));
        Set(p, ShAt + 8, 2); Set(p, PrAt + 8, 2);
        Assert.Equal(2u, Get(c, ShAt + 8));   // the same memfd page
        Assert.Equal(1u, Get(c, PrAt + 8));   // a copy
        Set(c, ShAt + Len - 4, 7); Set(c, PrAt + 12, 7);
        Assert.Equal(7u, Get(p, ShAt + Len - 4));
        Assert.Equal(0u, Get(p, PrAt + 12));
        Assert.Equal(p.Vmas.Count, c.Vmas.Count);
        Assert.True(c.FindVma(ShAt)!.Shared);
    }

    [Fact]
    public void MunmapOfSharedRestoresPrivateZeroMemory()
    {
        using var p = WithShmemAndPrivate();
        Set(p, ShAt, 0x1234);
        using var c = p.Clone();
        p.Unmap(ShAt, Len);
        Assert.False(p.CanRead(ShAt, 4));
        Assert.Equal(0, p.PermOf(ShAt >> 12));
        Assert.Equal(0u, *(uint*)p.Ptr(ShAt));      // private zero page again
        *(uint*)p.Ptr(ShAt) = 99;                   // host memory there is no longer the shared object
        Assert.Equal(0x1234u, Get(c, ShAt));
        // A partial unmap splits the VMA and leaves the rest shared.
        c.Unmap(ShAt + 0x1000, 0x1000);
        Assert.Equal(2, c.Vmas.Count(v => v.Shared));
        Assert.True(c.SharedKey(ShAt + 0x2000, out _, out ulong off));
        Assert.Equal(0x2000ul, off);
    }

    [Fact]
    public void SharedKeyIdentityAcrossCloneAndAcrossMappingsOfOneFile()
    {
        using var p = WithShmemAndPrivate();
        Assert.False(p.SharedKey(PrAt, out _, out _));
        Assert.False(p.SharedKey(0x3000_0000, out _, out _));
        Assert.True(p.SharedKey(ShAt + 0x1004, out var k1, out ulong o1));
        using var c = p.Clone();
        Assert.True(c.SharedKey(ShAt + 0x1004, out var k2, out ulong o2));
        Assert.Same(k1, k2);
        Assert.Equal(0x1004ul, o1);
        Assert.Equal(o1, o2);
        // A second shmem object is a different key.
        var other = HostFile.Shmem(Len, out _)!;
        Assert.Equal(0, p.MapShared(0x1800_0000, Len, RW, "", other, 0));
        Assert.True(p.SharedKey(0x1800_0000, out var k3, out _));
        Assert.NotSame(k1, k3);

        // One file, opened twice, mapped in two independent spaces at different addresses and offsets.
        string path = Path.Combine(Path.GetTempPath(), $"c32-sharedkey-{Environment.ProcessId}-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, new byte[0x3000]);
        try
        {
            using var f1 = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            using var f2 = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            var h1 = HostFile.OfFile((int)f1.DangerousGetHandle(), true, out int e1)!;
            var h2 = HostFile.OfFile((int)f2.DangerousGetHandle(), false, out int e2)!;
            Assert.Equal(0, e1); Assert.Equal(0, e2);
            using var a = new AddressSpace();
            using var b = new AddressSpace();
            Assert.Equal(0, a.MapShared(0x4000_0000, 0x3000, RW, path, h1, 0));
            Assert.Equal(0, b.MapShared(0x5000_0000, 0x2000, Prot.Read, path, h2, 0x1000));
            Assert.True(a.SharedKey(0x4000_1010, out var ka, out ulong oa));
            Assert.True(b.SharedKey(0x5000_0010, out var kb, out ulong ob));
            Assert.Same(ka, kb);
            Assert.Equal(oa, ob);
            Assert.IsType<FileIdentity>(ka);
            Set(a, 0x4000_1010, 0xfeed);
            Assert.Equal(0xfeedu, Get(b, 0x5000_0010));              // the file's pages, not copies
            Assert.Equal(0xfeedu, BitConverter.ToUInt32(File.ReadAllBytes(path), 0x1010));
            // mprotect cannot make a read-only descriptor's mapping writable.
            Assert.Equal(ProtectResult.NotWritable, b.Protect(0x5000_0000, 0x1000, RW));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void FileMappingPastEofIsPrivateZeroPages()
    {
        string path = Path.Combine(Path.GetTempPath(), $"c32-eof-{Environment.ProcessId}-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, [1, 2, 3]);
        try
        {
            using var f = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            var h = HostFile.OfFile((int)f.DangerousGetHandle(), true, out _)!;
            using var a = new AddressSpace();
            Assert.Equal(0, a.MapShared(0x4000_0000, 0x3000, RW, path, h, 0));
            Assert.Equal(0x030201u, Get(a, 0x4000_0000));
            Set(a, 0x4000_2000, 5);                 // past EOF: no host SIGBUS, and the file does not grow
            Assert.Equal(3, new FileInfo(path).Length);
            using var c = a.Clone();                // the private tail is copied like private memory
            Assert.Equal(5u, Get(c, 0x4000_2000));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void MoveKeepsTheBackingAndGrowsShmem()
    {
        using var p = WithShmemAndPrivate();
        Set(p, ShAt + 0x3000, 42);
        using var c = p.Clone();
        const uint To = 0x3000_0000;
        Assert.Equal((int)To, p.Move(ShAt, Len, To, 2 * Len));
        Assert.False(p.CanRead(ShAt, 4));
        Assert.Equal(42u, Get(p, To + 0x3000));
        Set(p, To + 0x3000, 43);
        Assert.Equal(43u, Get(c, ShAt + 0x3000));      // still the child's object
        Set(p, To + Len + 4, 9);                       // the grown part: shmem past the old size
        Assert.True(p.SharedKey(To + Len + 4, out var k, out ulong off));
        Assert.True(c.SharedKey(ShAt, out var kc, out _));
        Assert.Same(kc, k);
        Assert.Equal((ulong)Len + 4, off);
        // Private memory moves by copy; the old range reads zero again once remapped.
        Set(p, PrAt + 0x10, 5);
        Assert.Equal((int)(To + 0x100000), p.Move(PrAt, Len, To + 0x100000, Len));
        Assert.Equal(5u, Get(p, To + 0x100010));
        p.Map(PrAt, Len, RW);
        Assert.Equal(0u, Get(p, PrAt + 0x10));
    }

    [Fact]
    public void DontNeedZeroesPrivateAndKeepsShared()
    {
        using var p = WithShmemAndPrivate();
        Set(p, ShAt, 1); Set(p, PrAt, 1);
        Assert.True(p.DontNeed(ShAt, ShAt + Len));
        Assert.True(p.DontNeed(PrAt, PrAt + Len));
        Assert.Equal(1u, Get(p, ShAt));
        Assert.Equal(0u, Get(p, PrAt));
        Assert.False(p.DontNeed(PrAt, PrAt + 2 * Len));
    }

    [Fact]
    public void CloneCopiesOnlyPagesThatHoldData()
    {
        using var p = new AddressSpace();
        p.Map(0x6000_0000, 8 << 20, RW, "[stack]");
        Set(p, 0x6000_0000 + (8 << 20) - 16, 3);
        using var c = p.Clone();
        Assert.Equal(3u, Get(c, 0x6000_0000 + (8 << 20) - 16));
        var vec = new byte[2048];
        Assert.Equal(2048u, c.Residency(0x6000_0000, 2048, vec));
        Assert.Equal(1, vec.Sum(b => b));               // one page of the child's stack is resident
    }

    [Fact]
    public void ForkOf256MiBTouchedHeap()
    {
        const uint Heap = 0x1000_0000, HeapLen = 256u << 20;
        using var p = new AddressSpace();
        p.Map(Heap, HeapLen, RW, "[heap]");
        for (uint a = Heap; a < Heap + HeapLen; a += 4096) *(uint*)p.Ptr(a) = a;
        long rss0 = Rss("VmRSS");
        var sw = Stopwatch.StartNew();
        using var c = p.Clone();
        sw.Stop();
        long rss1 = Rss("VmRSS");
        for (uint a = Heap; a < Heap + HeapLen; a += 1 << 20) Assert.Equal(a, Get(c, a));
        output.WriteLine($"Clone of a 256 MiB touched heap: {sw.Elapsed.TotalMilliseconds:F0} ms, RSS {rss0 >> 10} -> {rss1 >> 10} MiB (peak {Rss("VmHWM") >> 10} MiB)");
        Assert.True(rss1 - rss0 < (300 << 10), "the copy should cost about the heap once");
    }

    [Fact]
    public void CloneOfASparseSpaceIsCheap()
    {
        using var p = new AddressSpace();
        p.Map(0xF700_0000, 8 << 20, RW, "[stack]");
        p.Map(0x1000_0000, 1u << 30, RW);             // a 1 GiB reservation, a few pages used
        for (uint a = 0x1000_0000; a < 0x5000_0000; a += 64 << 20) Set(p, a, a);
        Set(p, 0xF700_0000 + (8 << 20) - 4, 1);
        var sw = Stopwatch.StartNew();
        using var c = p.Clone();
        sw.Stop();
        Assert.Equal(0x1400_0000u, Get(c, 0x1400_0000));
        output.WriteLine($"Clone of 8 MiB stack + 1 GiB sparse mapping: {sw.Elapsed.TotalMilliseconds:F1} ms");
    }

    /// <summary>Threads of one process mapping, unmapping, protecting and moving at once while another reads:
    /// the VMA list stays consistent (mmap_lock) and no read ever faults in the host.</summary>
    [Fact]
    public void ConcurrentMmOperationsKeepTheSpaceConsistent()
    {
        using var m = new AddressSpace();
        const uint Area = 0x4000_0000, Slots = 64;
        var stop = false;
        var errors = new List<Exception>();
        var reader = new Thread(() =>
        {
            try
            {
                while (!Volatile.Read(ref stop))
                    for (uint s = 0; s < Slots; s++)
                        if (m.ReadU32(Area + s * 0x10000, out uint v) && v != 0 && v != Area + s * 0x10000 && v != 7) throw new Exception($"bad value {v:x}");
            }
            catch (Exception e) { lock (errors) errors.Add(e); }
        });
        reader.Start();
        var workers = Enumerable.Range(0, 4).Select(w => new Thread(() =>
        {
            try
            {
                var rnd = new Random(w);
                for (int i = 0; i < 1500; i++)
                {
                    uint at = Area + (uint)rnd.Next((int)Slots) * 0x10000;
                    switch (rnd.Next(5))
                    {
                        case 0: m.Map(at, 0x2000, RW); m.WriteU32(at, at); break;
                        case 1:
                            var shm = HostFile.Shmem(0x2000, out _)!;
                            if (m.MapShared(at, 0x2000, RW, "", shm, 0) == 0) m.WriteU32(at, 7);
                            break;
                        case 2: m.Unmap(at, 0x3000); break;
                        case 3: m.Protect(at, 0x1000, Prot.Read); break;
                        case 4:
                            lock (m.MmLock)
                            {
                                var v = m.FindVma(at);
                                uint to = m.FindFree(0x2000);
                                if (v != null && v.Start == at && v.Length >= 0x2000 && to != 0) m.Move(at, 0x2000, to, 0x2000);
                            }
                            break;
                    }
                    if (i % 100 == 0) { var snap = m.Vmas; for (int k = 1; k < snap.Count; k++) Assert.True(snap[k - 1].End <= snap[k].Start); }
                }
            }
            catch (Exception e) { lock (errors) errors.Add(e); }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        Volatile.Write(ref stop, true);
        reader.Join();
        Assert.Empty(errors);
        for (uint s = 0; s < Slots; s++)
        {
            uint a = Area + s * 0x10000;
            bool mapped = m.FindVma(a) != null;
            Assert.Equal(mapped, (m.PermOf(a >> 12) & AddressSpace.Present) != 0);
        }
    }

    static long Rss(string key)
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith(key + ":")) return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return 0;
    }
}
