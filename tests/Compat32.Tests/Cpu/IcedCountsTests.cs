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

    /// <summary>Processor.IsHintNop's mnemonics are exactly the codes Iced places in 0F 0D and 0F 18-1F, apart from
    /// those the interpreter's switch takes before it asks (NOP, PAUSE, ENDBR, PREFETCHh, PREFETCHW).</summary>
    [Fact]
    public void HintNopMnemonicsAreTheHintSpace()
    {
        var before = new[] { Mnemonic.Nop, Mnemonic.Pause, Mnemonic.Endbr32, Mnemonic.Endbr64, Mnemonic.Prefetchnta,
            Mnemonic.Prefetcht0, Mnemonic.Prefetcht1, Mnemonic.Prefetcht2, Mnemonic.Prefetchw };
        int hints = 0;
        foreach (var c in Enum.GetValues<Code>())
        {
            if (before.Contains(c.Mnemonic())) continue;
            var oc = c.ToOpCode();
            bool space = oc.Encoding == EncodingKind.Legacy && oc.Table == OpCodeTableKind.T0F
                && (oc.OpCode == 0x0D || oc.OpCode is >= 0x18 and <= 0x1F);
            var ins = new Instruction { Code = c };
            Assert.True(space == Processor.IsHintNop(ins), c.ToString());
            if (space) hints++;
        }
        Assert.True(hints > 30, $"only {hints} hint-NOP codes");
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
