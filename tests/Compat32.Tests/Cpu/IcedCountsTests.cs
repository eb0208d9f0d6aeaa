using Compat32.Cpu;
using Compat32.Cpu.X87;
using Compat32.Entry;
using Iced.Intel;
using Xunit;

namespace Compat32.Tests.Cpu;

/// <summary>The constants that replaced Enum.GetValues at start-up (IcedCounts, X87Unit's table, EntryStats) hold
/// for the Iced and the enums this build has.</summary>
public class IcedCountsTests
{
    [Fact]
    public void CountsMatchTheEnums()
    {
        Assert.Equal(IcedCounts.Code, Enum.GetValues<Code>().Length);
        Assert.Equal(IcedCounts.Register, Enum.GetValues<Register>().Length);
        Assert.Equal(IcedCounts.Mnemonic, Enum.GetValues<Mnemonic>().Length);
        // Members are dense from 0, so (T)i for i < count walks them all.
        Assert.Equal(IcedCounts.Code, (int)Enum.GetValues<Code>().Max() + 1);
        Assert.Equal(IcedCounts.Mnemonic, (int)Enum.GetValues<Mnemonic>().Max() + 1);
        Assert.Equal((int)Enum.GetValues<IretReason>().Max() + 1, new EntryStats().IretReasons.Length);
    }

    [Fact]
    public void X87TableIsTheMnemonicsNamedF()
    {
        var t = X87Unit.BuildTable();
        foreach (var m in Enum.GetValues<Mnemonic>())
        {
            bool named = m.ToString().StartsWith('F') && m is not (Mnemonic.Femms or Mnemonic.Fxsave64 or Mnemonic.Fxrstor64);
            Assert.True(named == t[(int)m] || m == Mnemonic.Wait, m.ToString()); // WAIT is added by hand
        }
    }
}
