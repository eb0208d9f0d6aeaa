using Compat32.Vdso;
using Xunit;

namespace Compat32.Tests.Vdso;

/// <summary>FromElf never crashes on bad input: one-line VdsoFormatException.</summary>
public class VdsoFormatTests
{
    private static void Rejects(byte[] b, byte[]? dbg = null)
    {
        var e = Assert.Throws<VdsoFormatException>(() => VdsoImage.FromElf(b, dbg));
        Assert.DoesNotContain('\n', e.Message);
        Assert.NotEmpty(e.Message);
    }

    [Fact]
    public void Garbage()
    {
        Rejects([]);
        Rejects(new byte[51]);
        Rejects(new byte[4096]);
        Rejects("not an elf file at all, just text padding padding padding padding padding"u8.ToArray());
    }

    [Fact]
    public void WrongHeaders()
    {
        var good = VdsoTestUtil.Image64.Data;
        foreach (var (off, val) in new[] { (4, (byte)2), (5, (byte)2), (16, (byte)2), (18, (byte)62), (46, (byte)0x41), (42, (byte)0x21) })
        {
            var b = (byte[])good.Clone(); b[off] = val; Rejects(b);
        }
        var t = (byte[])good.Clone(); BitConverter.GetBytes(0x7fffff00).CopyTo(t, 32); Rejects(t); // e_shoff
        t = (byte[])good.Clone(); BitConverter.GetBytes(0x10u).CopyTo(t, 52 + 4); Rejects(t);    // PT_LOAD offset
        t = (byte[])good.Clone(); BitConverter.GetBytes(1u).CopyTo(t, 52 + 32); Rejects(t);      // 2nd PT_LOAD
    }

    [Fact]
    public void Truncations() { var g = VdsoTestUtil.Image64.Data; foreach (int n in new[] { 52, 100, 180, 1000, 2000 }) Rejects(g[..n]); }

    [Fact]
    public void WrongDbg() => Rejects(VdsoTestUtil.Image64.Data, VdsoTestUtil.Image32.Data[..60]);

    [Fact]
    public void RandomCorruptionNeverCrashes()
    {
        var rnd = new Random(1234);
        var g = VdsoTestUtil.Image64.Data;
        for (int i = 0; i < 3000; i++)
        {
            var b = (byte[])g.Clone();
            int n = rnd.Next(1, 8);
            for (int k = 0; k < n; k++) b[rnd.Next(0, i % 2 == 0 ? 0x140 : b.Length)] = (byte)rnd.Next(256);
            try
            {
                var img = VdsoImage.FromElf(b);
                Alternatives.Apply((byte[])img.Data.Clone(), img, _ => true, true);
            }
            catch (VdsoFormatException) { }
        }
    }
}
