using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel;
using Compat32.Lab;
using Compat32.Tests.Vdso;
using Compat32.Vdso;
using Iced.Intel;
using Xunit;

namespace Compat32.Tests.Lab;

/// <summary>Every design's vDSO image is a well-formed vDSO for binutils, and its CFI matches the stack depth of
/// every instruction of every entry stub (the static half of what an unwinder or gdb needs).</summary>
public class LabVdsoImageTests
{
    public static IEnumerable<object[]> Images() =>
        from v in Enum.GetValues<VdsoVariant>()
        from t in new[] { VdsoTarget.Kernel64, VdsoTarget.Kernel32 }
        select new object[] { v, t };

    [Theory]
    [MemberData(nameof(Images))]
    public void ReadelfAndObjdumpAccept(VdsoVariant v, VdsoTarget t)
    {
        Assert.True(VdsoTestUtil.HaveTool("readelf") && VdsoTestUtil.HaveTool("objdump"), "binutils (readelf/objdump) required");
        var f = VdsoTestUtil.WriteTemp($"lab-{v}-{t}.so", Vdso32Builder.Build(t, v).Data);
        foreach (var args in new[] { new[] { "-a", "-W", f }, ["--dyn-syms", "-V", "-W", f], ["--debug-dump=frames", f] })
        {
            var (code, _, err) = VdsoTestUtil.Run("readelf", args);
            Assert.Equal(0, code);
            Assert.Equal("", err.Trim());
        }
        var d = VdsoTestUtil.Run("objdump", "-d", f);
        Assert.Equal(0, d.Code);
        Assert.DoesNotContain("(bad)", d.Out);
        Assert.Contains("<__kernel_vsyscall>:", d.Out);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void CfiFollowsTheStackAtEveryStubInstruction(VdsoVariant v, VdsoTarget t)
    {
        var img = Vdso32Builder.Build(t, v);
        var cfi = new CfiEval(img.Data);
        foreach (var stub in img.AllSymbols.Keys.Where(k => k.StartsWith("__kernel_vsyscall")))
        {
            uint at = (uint)img.AllSymbols[stub];
            var dec = Decoder.Create(32, new ByteArrayCodeReader(img.Data, (int)at, 64));
            dec.IP = at;
            int depth = 0, checkedInsns = 0;
            while (true)
            {
                var ins = dec.Decode();
                var row = cfi.At((uint)ins.IP);
                Assert.NotNull(row);
                Assert.Equal(4, row!.CfaReg);
                Assert.True(4 + depth == row.CfaOffset, $"{v}/{t} {stub}+{ins.IP - at} ({ins}): CFA offset {row.CfaOffset}, stack depth {depth}");
                checkedInsns++;
                if (ins.Mnemonic == Mnemonic.Ret) break;
                if (ins.Mnemonic == Mnemonic.Push) depth += 4;
                if (ins.Mnemonic == Mnemonic.Pop) depth -= 4;
            }
            Assert.True(checkedInsns >= 2);
        }
    }

    [Fact]
    public void AuxvNoSymRemovesTheSymbolAndAuxvRepointsIt()
    {
        var (img, data) = VdsoSetup.Load(CpuModel.IntelModel, null, EntryDesign.AuxvNoSym);
        var f = VdsoTestUtil.WriteTemp("lab-auxv-nosym.so", data);
        var syms = VdsoTestUtil.Run("readelf", "--dyn-syms", "-W", f).Out.Split('\n').Single(l => l.Contains("__kernel_vsyscall"));
        Assert.Contains(" UND ", syms);
        var (img2, data2) = VdsoSetup.Load(CpuModel.AmdModel, null, EntryDesign.Auxv);
        Assert.Equal(img2.AllSymbols["__kernel_vsyscall_syscall"], img2.SymKernelVsyscall);
        Assert.Equal(img2.AllSymbols["syscall_landing_pad"], img2.SymInt80LandingPad);
        var f2 = VdsoTestUtil.WriteTemp("lab-auxv.so", data2);
        var line = VdsoTestUtil.Run("readelf", "--dyn-syms", "-W", f2).Out.Split('\n').Single(l => l.Contains("__kernel_vsyscall"));
        Assert.Contains(img2.SymKernelVsyscall.ToString("x8"), line);
    }

    [Fact]
    public void DefaultDesignImageIsUnchanged()
    {
        // The lab's plumbing must not touch what every other machine boots.
        var (a, da) = VdsoSetup.Load(CpuModel.IntelModel, null);
        var (b, db) = VdsoSetup.Load(CpuModel.IntelModel, null, EntryDesign.Linux43);
        Assert.Equal(da, db);
        Assert.Equal(Vdso32Builder.Build(VdsoTarget.Kernel64).Data, Vdso32Builder.Build(VdsoTarget.Kernel64, VdsoVariant.Default).Data);
    }
}
