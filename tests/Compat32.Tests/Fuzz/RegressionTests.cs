using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Fuzz;

/// <summary>Minimal guests for what the fuzzers found, compared with the host kernel (the reference for kernel
/// behaviour; qemu-i386 has its own brk rules). They run the default model, the host CPU's vendor, so where the
/// vendors differ (RepCompareFaultFlags, PushaPopaFault, X87TenByteStoreSplit) the model is the host's.</summary>
public class FuzzRegressionTests
{
    /// <summary>brk(0xffffffff): PAGE_ALIGN wrapped to 0 and unmapped the program (issue #12); Linux's
    /// check_brk_limits refuses it and returns the old break.</summary>
    [NativeI386Fact]
    public void BrkNearTopOfAddressSpace() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "brk_wrap.c")), []);

    /// <summary>Syscall fuzzer: a read from an empty pipe into a partly unwritable buffer slept in the host,
    /// deaf to signals; it waits interruptibly first, as pipe_read does.</summary>
    [NativeI386Fact]
    public void PipeReadIntoPartlyBadBuffer() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "pipe_bad_buf.c")), [], new Differential.Options { TimeoutMs = 30_000 });

    /// <summary>Syscall fuzzer: truncate() of a FIFO opened it for writing and waited for a reader forever.</summary>
    [NativeI386Fact]
    public void TruncateNonRegular() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "truncate_fifo.c")), [], new Differential.Options { TimeoutMs = 30_000 });

    /// <summary>Instruction fuzzer: a memory operand's #D, FCOM's codes and FSTP1 when the x87 stack is empty.</summary>
    [NativeI386Fact]
    public void X87EmptyStack() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "x87_empty_stack.c")), []);

    /// <summary>Instruction fuzzer: a REPE/REPNE CMPS/SCAS that faults midway keeps the EFLAGS it started with (Intel) or
    /// those of its last comparison (AMD). Interpreted and translated (the translator's chunks leave by the same rule).</summary>
    [NativeI386Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RepCompareFaultFlags(bool jit1) =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "rep_fault_flags.c")), [],
            jit1 ? new Differential.Options { Env = JitOne() } : null);

    /// <summary>Instruction fuzzer: LEAVE with a 66 prefix pops BP, not EBP.</summary>
    [NativeI386Fact]
    public void Leave16() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "leave16.c")), []);

    /// <summary>Instruction fuzzer: which address a faulting PUSHA/POPA names, and what PUSHA wrote; across 4 GiB, a
    /// page fault (Intel) or #SS (AMD).</summary>
    [NativeI386Fact]
    public void PushaPopaFault() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "pusha_fault.c")), []);

    /// <summary>Instruction fuzzer: the control word a load keeps, and the FPU a signal handler starts with.</summary>
    [NativeI386Fact]
    public void X87ControlWordAndSignalFpu() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "x87_cw_sig.c")), []);

    /// <summary>Instruction fuzzer (long run of 2026-11-29): LMSW and the other privileged instructions at CPL 3,
    /// FCOMI with #IA unmasked, FPREM without a quotient, FSTP1 from an empty ST(0), shifts of a read-only operand.
    /// Interpreted and translated.</summary>
    [NativeI386Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InsnTriage(bool jit1) =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "insn_triage.c")), [],
            jit1 ? new Differential.Options { Env = JitOne() } : null);

    /// <summary>Instruction fuzzer: the initial stack's strings start 8 bytes (the x86-64 kernel's pointer) below
    /// its end, so every frame sits where the host kernel puts it.</summary>
    [NativeI386Fact]
    public void StackTopGap() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "stack_top.c")), []);

    /// <summary>Syscall fuzzer, differential mode: which error mlock/munlock/mlock2, sched_getparam, prlimit64,
    /// setrlimit, socketpair, getpriority and linkat report when several apply (the kernel's order of checks).</summary>
    [NativeI386Fact]
    public void ErrnoOrder() =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "errno_order.c")), []);

    /// <summary>Instruction fuzzer (long run 8600000000): FCOMI/FUCOMI keep C1 (the host CPU, not the SDM's "set to
    /// 0"), and FCOMP of a NaN ST(0) with a denormal m32 reports IE without DE. Interpreted and translated.</summary>
    [NativeI386Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void X87FcomiC1(bool jit1) =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "x87_fcomi_c1.c")), [],
            jit1 ? new Differential.Options { Env = JitOne() } : null);

    /// <summary>Instruction fuzzer (long run 8600000000, seed 8600005173): FFREE and FFREEP clear C1 and keep C0 C2 C3
    /// on the host CPU (the SDM leaves them undefined). Interpreted and translated.</summary>
    [NativeI386Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void X87FfreeC1(bool jit1) =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "x87_ffree_c1.c")), [],
            jit1 ? new Differential.Options { Env = JitOne() } : null);

    /// <summary>Instruction fuzzer (long run 8700000000, seed 8700001479): FSTP m80 and FBSTP across into an unwritable
    /// page write their low 8 bytes before the fault when only the top 2 cross (Intel), nothing (AMD). Interpreted and
    /// translated.</summary>
    [NativeI386Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void X87TenByteStoreSplit(bool jit1) =>
        NativeI386.AssertSame(GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "m80_split.c")), [],
            jit1 ? new Differential.Options { Env = JitOne() } : null);

    /// <summary>The fuzzers' runner: a guest that exits while its forked child spins on with the output pipes (the child
    /// lives in compat32's engine, no longer a descendant of the process we started) is reported blocked within the
    /// timeout, and nothing of the run is left (ELF seed Static 8600936400 blocked a long run for 20 s this way).</summary>
    [Fact]
    public void RunnerKillsWhatARunLeaves()
    {
        using var d = new TempDir("forkspin");
        var r = FuzzRun.Run([GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "fuzz", "fork_spin.c"))], d.Path, 4_000, _ => true);
        Assert.True(r.Outcome == Outcome.Blocked && r.Detail.Contains("held its output"), r.ToString());
        Thread.Sleep(500);
        var left = new List<string>();
        foreach (var pd in Directory.GetDirectories("/proc"))
        {
            try { if (new DirectoryInfo(Path.Combine(pd, "cwd")).LinkTarget == d.Path) left.Add(pd); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        Assert.True(left.Count == 0, "left running: " + string.Join(' ', left));
    }

    static Dictionary<string, string> JitOne()
    {
        var e = Proc.BaseEnv();
        e["COMPAT32_JIT_THRESHOLD"] = "1";
        return e;
    }
}
