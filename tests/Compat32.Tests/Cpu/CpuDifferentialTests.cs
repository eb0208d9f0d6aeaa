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
    /// <summary>mode: "fast" and "generic" are the interpreter alone (COMPAT32_JIT=0) with and without its fast
    /// path; "jit" translates every block at its first execution (COMPAT32_JIT_THRESHOLD=1), so the host code
    /// the translator emits runs the cases.</summary>
    [Theory]
    [InlineData("fast")]
    [InlineData("generic")]
    [InlineData("jit")]
    public void IntegerInstructionsMatchQemu(string mode)
    {
        string bin = GuestRunner.Build("cpudiff");
        var q = GuestRunner.Qemu(bin);
        Assert.True(q.code == 0, $"qemu-i386 exited {q.code}: {q.stderr}");
        Assert.Contains("cases ", q.stdout);
        int lines = q.stdout.Count(c => c == '\n');
        Assert.True(lines > 50_000, $"only {lines} cases ran under qemu");
        var env = mode == "jit"
            ? new Dictionary<string, string> { ["COMPAT32_JIT_THRESHOLD"] = "1" }
            : new Dictionary<string, string> { ["COMPAT32_JIT"] = "0", ["COMPAT32_NOFAST"] = mode == "generic" ? "1" : "0" };
        var c = GuestRunner.Compat32Env(bin, env);
        Assert.True(c.code == 0, $"compat32 exited {c.code}: {c.stderr}");
        GuestRunner.AssertSameLines(q.stdout, c.stdout, "cpudiff");
    }
}
