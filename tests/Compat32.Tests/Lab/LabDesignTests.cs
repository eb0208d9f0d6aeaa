using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Lab;
using Xunit;

namespace Compat32.Tests.Lab;

/// <summary>
/// The outcomes the 2015 thread or the kernel sources state for each design, asserted on the lab's own runs
/// (compat32 lab: the same battery for every design × CPU model).
/// </summary>
public class LabDesignTests
{
    static readonly Dictionary<(string, string), LabRow> cache = new();

    static LabRow Row(string design, string cpu)
    {
        lock (cache)
        {
            if (!cache.TryGetValue((design, cpu), out var r))
                cache[(design, cpu)] = r = LabRunner.Evaluate(Designs.ByName(design)!, CpuModel.ByName(cpu)!);
            return r;
        }
    }

    public static IEnumerable<object[]> Models() => new[] { "intel", "amd", "nosep", "i386" }.Select(m => new object[] { m });

    [Theory]
    [MemberData(nameof(Models))]
    public void Linux43RestartLandsOnTheLandingPadsInt80(string cpu)
    {
        var r = Row("linux-4.3", cpu);
        Assert.Equal(Verdict.Pass, r.Check("restart").Verdict);
        Assert.Contains("restart at __kernel_vsyscall+7 (int 80h), re-entered by Int80", r.Check("restart").Seen);
        Assert.Contains("ip=int80_landing_pad; ip-2: int 80h", r.Check("tracer").Seen);
        Assert.Contains("restart_syscall entered by Int80 at __kernel_vsyscall+7; nanosleep=0", r.Check("restart-block").Seen);
        foreach (var id in new[] { "regs", "args", "restart-edit", "eintr", "step", "unwind", "symbol", "sigreturn" })
            Assert.True(r.Check(id).Verdict == Verdict.Pass, $"{id}: {r.Check(id).Seen}");
        // The stub pops three words: clone through __kernel_vsyscall cannot work (sysenter.S's warning still holds).
        Assert.Contains("child popped 3 words", r.Check("clone").Seen);
    }

    [Fact]
    public void Linux42PicksOneOfThreeImagesAtBoot()
    {
        Assert.Equal(6, Row("linux-4.2", "amd").Costs.VdsoInstructions);   // push, mov, syscall, mov, pop, ret
        Assert.Equal(9, Row("linux-4.2", "intel").Costs.VdsoInstructions); // the 7 NOPs are jumped over
        Assert.Equal(2, Row("linux-4.2", "nosep").Costs.VdsoInstructions); // int $0x80; ret
        Assert.Equal(1, Row("linux-4.2", "intel").Costs.Exits["Sysretl"]); // 4214a16b0297: SYSRETL after SYSENTER
        Assert.Equal(1, Row("linux-4.2", "i386").Costs.Exits["Sysexit"]);
        Assert.Contains("restart at __kernel_vsyscall+14 (int 80h)", Row("linux-4.2", "intel").Check("restart").Seen); // SYSENTER_RETURN-2
    }

    /// <summary>"the SYSCALL case seems to be buggy": a restart lands on SYSCALL itself, which reads arg 2 from EBP and
    /// arg 6 from the stack, so registers changed before the restart (ptrace_syscall's SETREGS, a sigcontext edit)
    /// are misrouted: arg 2 becomes the new EBP, arg 6 stays the old stack word.</summary>
    [Fact]
    public void Linux42SyscallRestartMisroutesArguments()
    {
        var r = Row("linux-4.2", "amd");
        Assert.Contains("ip-2: syscall", r.Check("tracer").Seen);
        Assert.Equal(Verdict.Pass, r.Check("restart").Verdict);    // an unedited restart still works
        Assert.Contains("re-entered by Syscall32", r.Check("restart").Seen);
        Assert.Contains("restart_syscall entered by Syscall32 at __kernel_vsyscall+3", r.Check("restart-block").Seen);
        var e = r.Check("restart-edit");
        Assert.Equal(Verdict.Fail, e.Verdict);
        Assert.Contains("arg2=0x25252525", e.Seen);
        Assert.Contains("arg6=0x15151515", e.Seen);
        Assert.Contains("read=-14", e.Seen);
        // Same edit on the SYSENTER image and on what landed: honoured.
        Assert.Equal(Verdict.Pass, Row("linux-4.2", "intel").Check("restart-edit").Verdict);
        Assert.Equal(Verdict.Pass, Row("linux-4.3", "amd").Check("restart-edit").Verdict);
    }

    [Fact]
    public void ProposalClobbersEcxOnlyWhereTheEmailSays()
    {
        // Fast paths: ECX zapped by SYSRETL/SYSEXIT, then restored by the stub's pop: the caller never sees it.
        foreach (var cpu in new[] { "intel", "amd", "i386" })
        {
            Assert.Equal(Verdict.Pass, Row("proposal-2015", cpu).Check("regs").Verdict);
            Assert.Equal(Verdict.Pass, Row("proposal-2015", cpu).Check("args").Verdict);
        }
        Assert.Equal(1, Row("proposal-2015", "amd").Costs.Exits["Sysretl"]);
        Assert.Equal(2, Row("proposal-2015", "amd").Costs.UserFetches);
        // The email's r11 == flags condition: after SYSENTER, R11 is whatever user mode left there, so IRET.
        Assert.Equal(1, Row("proposal-2015", "intel").Costs.Exits["Iret"]);
        Assert.Contains("r11_not_flags", Row("proposal-2015", "intel").Costs.SlowExitReasons.Keys);
        // The int80 fallback reads ECX from 8(%esp): the return address, not the caller's ECX.
        var nosep = Row("proposal-2015", "nosep");
        Assert.Equal(Verdict.Pass, nosep.Check("regs").Verdict);
        Assert.Equal(Verdict.Fail, nosep.Check("args").Verdict);
        Assert.Matches("Int80: arg2=0x80[0-9a-f]{5}$", nosep.Check("args").Seen);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void AuxvWithoutTheSymbolFallsBackToInt80(string cpu)
    {
        var s = Row("auxv-nosym", cpu).Check("symbol");
        Assert.Equal(Verdict.Pass, s.Verdict);
        Assert.Contains("no __kernel_vsyscall: fell back to int $0x80 (Int80)", s.Seen);
        Assert.Contains("= AT_SYSINFO", Row("auxv", cpu).Check("symbol").Seen);
        Assert.Contains("= AT_SYSINFO", Row("pointer-table", cpu).Check("symbol").Seen);
    }

    [Fact]
    public void AuxvPointsAtTheChosenStub()
    {
        Assert.Contains("found __kernel_vsyscall_sysenter = AT_SYSINFO; entered by Sysenter", Row("auxv", "intel").Check("symbol").Seen);
        Assert.Contains("found __kernel_vsyscall_syscall = AT_SYSINFO; entered by Syscall32", Row("pointer-table", "amd").Check("symbol").Seen);
        Assert.Equal(8, Row("auxv", "nosep").Costs.VdsoInstructions);    // no padding NOP before int $0x80
        Assert.Equal(9, Row("linux-4.3", "nosep").Costs.VdsoInstructions);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Int80OnlyNeverTakesAFastEntry(string cpu)
    {
        var r = Row("int80-only", cpu);
        Assert.Equal(1, r.Costs.Entries["Int80"]);
        Assert.Equal(0, r.Costs.Entries["Sysenter"] + r.Costs.Entries["Syscall32"]);
        Assert.Equal(1, r.Costs.Exits["Iret"]);
        Assert.Contains("child returned to the word at its new stack top", r.Check("clone").Seen);
    }

    /// <summary>The modelled cycles of the real runs come from the figures the model's cost table names, and a
    /// model with no figure says '?', not 0.</summary>
    [Fact]
    public void ModelledCyclesComeFromTheCitedFigures()
    {
        Assert.Equal(641, Row("linux-4.3", "i386").Costs.Cycles.Cycles);          // F5: P4 SYSENTER/SYSEXIT getppid
        Assert.Equal(1761, Row("int80-only", "i386").Costs.Cycles.Cycles);        // F6: P4 int 0x80/iret getppid
        Assert.Equal(1120, Row("int80-only", "i386").Costs.Delta.Cycles);
        Assert.Equal(62, Row("linux-4.3", "amd").Costs.Cycles.Cycles);            // F3 + F4: K8 SYSCALL + SYSRET
        Assert.Equal(-10, Row("linux-4.2", "intel").Costs.Delta.Cycles);          // F2
        foreach (var (d, cpu) in new[] { ("linux-4.3", "intel"), ("linux-4.3", "nosep"), ("int80-only", "amd"), ("proposal-2015", "intel") })
        {
            Assert.Null(Row(d, cpu).Costs.Cycles.Cycles);
            Assert.Equal("?", Row(d, cpu).Costs.Cycles.Cell(signed: false));
        }
        Assert.Null(Row("proposal-2015", "intel").Costs.Delta.Cycles);
        Assert.Equal(0, Row("auxv", "amd").Costs.Delta.Cycles);
    }

    [Fact]
    public void Arg6FaultIsEfaultOrTheSignalTheSelftestExpects()
    {
        Assert.Contains("SIGSEGV at int80_landing_pad, eax=-14", Row("linux-4.3", "intel").Check("arg6").Seen);
        Assert.Contains("SIGSEGV at int80_landing_pad, eax=-14", Row("linux-4.2", "intel").Check("arg6").Seen);
        // v4.2's SYSCALL path has no landing pad: -EFAULT comes back after the raw SYSCALL instruction.
        Assert.Contains("SYSCALL returned to the instruction after it", Row("linux-4.2", "amd").Check("arg6").Seen);
    }
}
