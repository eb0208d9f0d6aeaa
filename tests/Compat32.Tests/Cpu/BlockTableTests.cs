using Compat32.Cpu;
using Xunit;

namespace Compat32.Tests.Cpu;

/// <summary>
/// The shared block table (DecodeCache's BlockTable): read without a lock while one writer at a time adds and
/// removes (backward-shift deletion moves entries) and grows it. A reader must never get a block for another start,
/// and must always find a block that stays listed the whole time; a miss on a block being moved is allowed (the
/// cache then looks again under the lock).
/// </summary>
public class BlockTableTests
{
    [Fact]
    public void AddGetRemoveKeepEveryOtherEntryFindable()
    {
        var t = new BlockTable();
        var blocks = Enumerable.Range(0, 5000).Select(i => new Block { Start = (uint)(i * 7919) }).ToArray();
        foreach (var b in blocks) t.Add(b);
        foreach (var b in blocks) Assert.Same(b, t.Get(b.Start));
        for (int i = 0; i < blocks.Length; i += 2) t.Remove(blocks[i]);
        for (int i = 0; i < blocks.Length; i++)
            if (i % 2 == 0) Assert.Null(t.Get(blocks[i].Start));
            else Assert.Same(blocks[i], t.Get(blocks[i].Start));
        Assert.Null(t.Get(0xFFFFFFF0));
    }

    [Fact]
    public void ReadersNeverSeeAWrongBlockWhileOneWriterChurns()
    {
        for (int round = 0; round < 3; round++)
        {
            var t = new BlockTable();
            var gate = new object();
            // Starts chosen to collide: multiples of a power of two share hash prefixes often enough to make chains.
            var stable = Enumerable.Range(0, 2000).Select(i => new Block { Start = (uint)i * 4096 + 1 }).ToArray();
            lock (gate) foreach (var b in stable) t.Add(b);
            long wrong = 0, lost = 0, reads = 0;
            // The starts the writer has added (some removed since): readers look these up, so that they read the
            // entries the writer's removals are shifting.
            var recent = new uint[4096];
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(() =>
            {
                var rng = new Random(round);
                var churn = new List<Block>();
                while (!stop.IsCancellationRequested)
                {
                    lock (gate)
                    {
                        if (churn.Count < 60000 && rng.Next(2) != 0)
                        {
                            var b = new Block { Start = (uint)rng.Next(1, int.MaxValue) * 2 }; // even: never a stable start
                            if (t.Get(b.Start) == null) { t.Add(b); churn.Add(b); Volatile.Write(ref recent[churn.Count & 4095], b.Start); }
                        }
                        else if (churn.Count > 0)
                        {
                            int k = rng.Next(churn.Count);
                            t.Remove(churn[k]);
                            churn[k] = churn[^1];
                            churn.RemoveAt(churn.Count - 1);
                        }
                    }
                }
            });
            var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
            {
                var rng = new Random(100 + r);
                long w = 0, l = 0, n = 0;
                var until = DateTime.UtcNow.AddMilliseconds(700);
                while (DateTime.UtcNow < until)
                {
                    for (int i = 0; i < 1000; i++)
                    {
                        var want = stable[rng.Next(stable.Length)];
                        var got = t.Get(want.Start);
                        if (got == null) { lock (gate) got = t.Get(want.Start); l += got == want ? 0 : 1; }
                        else if (got != want) w++;
                        // a churned start (listed, or removed since): whatever comes back must carry that start
                        uint probe = Volatile.Read(ref recent[rng.Next(recent.Length)]);
                        for (int k = 0; k < 8; k++)
                            if (t.Get(probe) is { } other && other.Start != probe) w++;
                        n += 9;
                    }
                }
                Interlocked.Add(ref wrong, w); Interlocked.Add(ref lost, l); Interlocked.Add(ref reads, n);
            })).ToArray();
            Task.WaitAll(readers);
            stop.Cancel();
            writer.Wait();
            Assert.True(reads > 10_000, $"only {reads} reads ran");
            Assert.Equal(0, wrong);
            Assert.Equal(0, lost); // found under the lock every time, as DecodeCache.Lookup looks again
        }
    }
}
