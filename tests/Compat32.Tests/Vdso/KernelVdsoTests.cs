using Compat32.Vdso;
using Xunit;

namespace Compat32.Tests.Vdso;

/// <summary>FromElf + Apply on the image the 6.1 kernel itself links (the first run builds it, ~2 minutes).</summary>
public class KernelVdsoTests
{
    [KernelVdsoFact]
    public void FromElfWithDbgMatchesVdso2c()
    {
        var (so, dbg, c) = KernelVdso.Get();
        var want = KernelVdso.Record(c);
        var img = VdsoImage.FromElf(so, dbg);
        Assert.Equal(".dbg .symtab", img.SymbolSource);
        Assert.Equal(want["size"], img.Size);
        Assert.Equal(want["alt"], img.AltOffset);
        Assert.Equal(want["alt_len"], img.AltLength);
        Assert.Equal(want["sym_vvar_start"], img.SymVvarStart);
        Assert.Equal(want["sym_vvar_page"], img.SymVvarPage);
        Assert.Equal(want["sym_pvclock_page"], img.SymPvclockPage);
        Assert.Equal(want["sym_hvclock_page"], img.SymHvclockPage);
        Assert.Equal(want["sym_timens_page"], img.SymTimensPage);
        Assert.Equal(want["sym___kernel_vsyscall"], img.SymKernelVsyscall);
        Assert.Equal(want["sym___kernel_sigreturn"], img.SymKernelSigreturn);
        Assert.Equal(want["sym___kernel_rt_sigreturn"], img.SymKernelRtSigreturn);
        Assert.Equal(want["sym_int80_landing_pad"], img.SymInt80LandingPad);
        Assert.Equal(want["sym_vdso32_sigreturn_landing_pad"], img.SymVdso32SigreturnLandingPad);
        Assert.Equal(want["sym_vdso32_rt_sigreturn_landing_pad"], img.SymVdso32RtSigreturnLandingPad);
        Assert.Equal(so, img.Data[..so.Length]);
        Assert.Equal(8, img.Symbols.Count);
        Assert.Equal("LINUX_2.5", img.SymbolVersions["__kernel_vsyscall"]);
        Assert.Equal("LINUX_2.6", img.SymbolVersions["__vdso_clock_gettime64"]);
    }

    [KernelVdsoFact]
    public void FromElfWithoutDbgDerivesTheSameRecord()
    {
        var (so, dbg, _) = KernelVdso.Get();
        var a = VdsoImage.FromElf(so, dbg);
        var b = VdsoImage.FromElf(so);
        Assert.Equal(".dynsym + derived", b.SymbolSource);
        Assert.Contains(b.Warnings, w => w.Contains("int80_landing_pad"));
        Assert.Contains(b.Warnings, w => w.Contains("vvar_start"));
        Assert.Equal(a.SymInt80LandingPad, b.SymInt80LandingPad);
        Assert.Equal(a.SymVdso32SigreturnLandingPad, b.SymVdso32SigreturnLandingPad);
        Assert.Equal(a.SymVdso32RtSigreturnLandingPad, b.SymVdso32RtSigreturnLandingPad);
        Assert.Equal(a.SymVvarStart, b.SymVvarStart);
        Assert.Equal(a.AltOffset, b.AltOffset);
    }

    [KernelVdsoFact]
    public void ApplyOnTheKernelImage()
    {
        var (so, dbg, _) = KernelVdso.Get();
        var rec = VdsoImage.FromElf(so, dbg);
        int site = rec.SymKernelVsyscall + 3;
        Assert.Equal(new byte[] { 0x90, 0x90, 0x90, 0x90 }, rec.Data[site..(site + 4)]); // gas padding
        foreach (var (features, want) in new (int[], byte[])[]
                 {
                     ([X86Feature.Sysenter32], [0x89, 0xe5, 0x0f, 0x34]),
                     ([X86Feature.Syscall32], [0x89, 0xcd, 0x0f, 0x05]),
                     ([], [0x0f, 0x1f, 0x40, 0x00]),
                 })
        {
            var img = (byte[])rec.Data.Clone();
            Alternatives.Apply(img, rec, features.Contains, true);
            Assert.Equal(want, img[site..(site + 4)]);
            // Every rdtsc_ordered site became a real instruction sequence with no 0x90 runs left.
            foreach (var e in Alternatives.Read(img, rec).Where(e => e.Feature == X86Feature.Rdtscp))
                Assert.Equal(new byte[] { 0x0f, 0x31, 0x0f, 0x1f, 0x00 }, img[e.InstrOffset..(e.InstrOffset + 5)]);
        }
        var ours = Alternatives.Read(VdsoTestUtil.Image64.Data, VdsoTestUtil.Image64);
        var theirs = Alternatives.Read(rec.Data, rec);
        Assert.Equal(theirs.Take(2).Select(e => (e.CpuId, e.InstrLen, e.ReplLen)), ours.Take(2).Select(e => (e.CpuId, e.InstrLen, e.ReplLen)));
    }

    [KernelVdsoFact]
    public void OurImageHasTheKernelsShape()
    {
        var (so, dbg, _) = KernelVdso.Get();
        var k = VdsoImage.FromElf(so, dbg);
        var o = VdsoTestUtil.Image64;
        Assert.Equal(k.Size, o.Size);
        Assert.Equal(k.SymVvarStart, o.SymVvarStart);
        Assert.Equal(k.Symbols.Keys.Order(), o.Symbols.Keys.Order());
        Assert.Equal(k.SymbolVersions.OrderBy(x => x.Key), o.SymbolVersions.OrderBy(x => x.Key));
        Assert.Equal(k.SymInt80LandingPad - k.SymKernelVsyscall, o.SymInt80LandingPad - o.SymKernelVsyscall);
        Assert.Equal(k.SymVdso32SigreturnLandingPad - k.SymKernelSigreturn, o.SymVdso32SigreturnLandingPad - o.SymKernelSigreturn);
        Assert.Equal(k.SymVdso32RtSigreturnLandingPad - k.SymKernelRtSigreturn, o.SymVdso32RtSigreturnLandingPad - o.SymKernelRtSigreturn);
        // Byte-identical entry code and trampolines.
        Assert.Equal(k.Data[k.SymKernelSigreturn..(k.SymKernelSigreturn + 9)], o.Data[o.SymKernelSigreturn..(o.SymKernelSigreturn + 9)]);
        Assert.Equal(k.Data[k.SymKernelRtSigreturn..(k.SymKernelRtSigreturn + 8)], o.Data[o.SymKernelRtSigreturn..(o.SymKernelRtSigreturn + 8)]);
        Assert.Equal(k.Data[k.SymKernelVsyscall..(k.SymKernelVsyscall + 3)], o.Data[o.SymKernelVsyscall..(o.SymKernelVsyscall + 3)]);
        Assert.Equal(k.Data[k.SymInt80LandingPad..(k.SymInt80LandingPad + 4)], o.Data[o.SymInt80LandingPad..(o.SymInt80LandingPad + 4)]);
    }
}
