using Xunit;

namespace Compat32.Tests.Cpu;

/// <summary>
/// tests/guests/cpu/cpudiff.c runs every flag-setting integer instruction form (ALU, INC/DEC/NEG/NOT, MUL/IMUL/
/// DIV/IDIV, all shifts and rotates with counts 0..33, SHLD/SHRD, BT*/BSF/BSR, XADD/CMPXCHG/CMPXCHG8B, BCD,
/// SETcc/CMOVcc/Jcc for the 16 conditions, LAHF/SAHF/PUSHF/POPF, string ops with REP/REPE/REPNE and DF=1,
/// ENTER/LEAVE, PUSHA/POPA, XLAT, LOOP/JECXZ, MOVSX/MOVZX, BSWAP) over random and edge operands from a fixed
/// seed (~119k cases) and prints registers, EFLAGS (SDM-undefined flags masked, each mask named in the source)
/// and the 16 conditions as SETcc reads them. qemu-i386's output is the reference.
/// </summary>
public class CpuDifferentialTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IntegerInstructionsMatchQemu(bool genericOnly)
    {
        string bin = GuestRunner.Build("cpudiff");
        var q = GuestRunner.Qemu(bin);
        Assert.True(q.code == 0, $"qemu-i386 exited {q.code}: {q.stderr}");
        Assert.Contains("cases ", q.stdout);
        int lines = q.stdout.Count(c => c == '\n');
        Assert.True(lines > 50_000, $"only {lines} cases ran under qemu");
        // genericOnly: COMPAT32_NOFAST=1 disables the precomputed fast path, so both execution paths are checked.
        var c = GuestRunner.Compat32Env(bin, new Dictionary<string, string> { ["COMPAT32_NOFAST"] = genericOnly ? "1" : "0" });
        Assert.True(c.code == 0, $"compat32 exited {c.code}: {c.stderr}");
        GuestRunner.AssertSameLines(q.stdout, c.stdout, "cpudiff");
    }
}
