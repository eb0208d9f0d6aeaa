using Compat32.Kernel;
using Compat32.Vdso;
using Xunit;

namespace Compat32.Tests.Entry;

/// <summary>The on-disk copy of our vDSO, read back with our vdso2c reader, is the same record as a fresh build.</summary>
public class VdsoCacheTests
{
    [Theory]
    [InlineData(VdsoTarget.Kernel64)]
    [InlineData(VdsoTarget.Kernel32)]
    public void CachedImageEqualsAFreshBuild(VdsoTarget target)
    {
        var fresh = Vdso32Builder.Build(target);
        VdsoSetup.BuildCached(target);            // writes the cache if missing
        var cached = VdsoSetup.BuildCached(target); // reads it back
        Assert.Equal(fresh.Data.AsSpan(0, fresh.Size).ToArray(), cached.Data.AsSpan(0, cached.Size).ToArray());
        Assert.Equal(fresh.Size, cached.Size);
        Assert.Equal((fresh.AltOffset, fresh.AltLength), (cached.AltOffset, cached.AltLength));
        Assert.Equal(fresh.SymVvarStart, cached.SymVvarStart);
        Assert.Equal(fresh.SymKernelVsyscall, cached.SymKernelVsyscall);
        Assert.Equal(fresh.SymKernelSigreturn, cached.SymKernelSigreturn);
        Assert.Equal(fresh.SymKernelRtSigreturn, cached.SymKernelRtSigreturn);
        Assert.Equal(fresh.SymInt80LandingPad, cached.SymInt80LandingPad);
        Assert.Equal(fresh.SymVdso32SigreturnLandingPad, cached.SymVdso32SigreturnLandingPad);
        Assert.Equal(fresh.SymVdso32RtSigreturnLandingPad, cached.SymVdso32RtSigreturnLandingPad);
        Assert.Equal(fresh.Symbols.OrderBy(k => k.Key), cached.Symbols.OrderBy(k => k.Key));
    }
}
