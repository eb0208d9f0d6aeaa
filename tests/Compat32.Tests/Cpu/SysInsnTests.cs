using Compat32.Cpu;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Cpu;

/// <summary>
/// CPU corner cases against the host kernel running tests/guests/cpu/sysinsn.c natively (issues 14 and 12): the
/// UMIP emulation of SGDT/SIDT/SLDT/STR/SMSW (this host's CPU has UMIP, as the intel and amd models do), ARPL,
/// ENTER's stack probing, writes through CS, 16-bit string addressing, the hint-NOP space, PUSHA/POPA/ENTER/LEAVE
/// against a stack segment's limit, and null FS/GS. Each model runs interpreted (--jit off) and with every block
/// translated at its first execution (--jit 1); the models without UMIP (nosep, i386) run everything but the
/// UMIP part natively compared, and that part against the SDM's rules for the real instructions. What the vendors
/// do differently (0F 0D with a register operand) is compared only where the model's vendor is the host CPU's, and
/// checked against each vendor's rule on every host; which CMPS operand faults first where both would, which differs
/// between hosts of one vendor, is compared where the host's order is the models' (HostOrderParts).
/// </summary>
public class SysInsnTests(ITestOutputHelper log)
{
    static string Build() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "cpu", "sysinsn.c"));

    static Differential.Options With(string model, string jit) => new() { Compat32Options = ["--cpu", model, "--jit", jit] };

    /// <summary>The guest's section for 0F 0D with a register operand: #UD on AMD, a NOP on Intel.</summary>
    const string PrefetchRegister = "0F 0D with a register operand:";

    static NativeI386.Section[] VendorParts(string model) => NativeI386.VendorSpecific(CpuModel.ByName(model)!, PrefetchRegister);

    /// <summary>The guest's sections where CMPS has both operands unmapped: the fault names the operand read first.</summary>
    static readonly string[] CmpsBothUnmapped = ["cmpsb, both operands unmapped:", "addr16 cmpsb, both operands unmapped:"];

    /// <summary>Which CMPS operand is read first is not architectural (SDM vol. 2 CMPS names no order) and differs
    /// between hosts of one vendor: the Intel and AMD family 19h (Zen 4) hosts read ES:(E)DI first, as every model
    /// does; an AMD family 1Ah (Zen 5) host reads DS:(E)SI first. Those two sections are compared where the host
    /// reads ES:(E)DI first and left out (said so) where its own run shows the other order; CmpsReadsDestinationFirst
    /// checks the models' order on every host.</summary>
    static NativeI386.Section[] HostOrderParts() => hostReadsSourceFirst.Value
        ? [.. CmpsBothUnmapped.Select(t => new NativeI386.Section(t, "this host CPU reads CMPS's DS:(E)SI operand first; the models read ES:(E)DI first, as the Intel and AMD Zen 4 hosts do (the order is not architectural)"))]
        : [];

    static readonly Lazy<bool> hostReadsSourceFirst = new(() =>
        NativeI386.Run(Build(), ["a16"]).Out.Contains(CmpsBothUnmapped[0] + "\n  signal 11 code 1 trapno 14 err 0x4 page+4096\n"));

    /// <summary>CMPS with both operands unmapped faults at ES:(E)DI, the operand every model reads first
    /// (String.cs), interpreted and translated, on any host.</summary>
    [Theory]
    [InlineData("intel", "off")] [InlineData("amd", "1")] [InlineData("i386", "off")]
    public void CmpsReadsDestinationFirst(string model, string jit)
    {
        var r = Differential.RunCompat32(Build(), ["a16"], With(model, jit));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(CmpsBothUnmapped[0] + "\n  signal 11 code 1 trapno 14 err 0x4 page-4088\n", r.Out);
        Assert.Contains(CmpsBothUnmapped[1] + "\n  signal 11 code 1 trapno 14 err 0x4 low 0x20\n", r.Out);
    }

    [NativeI386Theory]
    [InlineData("intel", "off")] [InlineData("intel", "1")] [InlineData("amd", "off")] [InlineData("amd", "1")]
    public void UmipModelsSameAsTheHostKernel(string model, string jit) =>
        NativeI386.AssertSame(Build(), ["all"], With(model, jit), [.. VendorParts(model), .. HostOrderParts()], log);

    [NativeI386Theory]
    [InlineData("nosep", "off")] [InlineData("nosep", "1")] [InlineData("i386", "off")] [InlineData("i386", "1")]
    public void OtherModelsSameAsTheHostKernelBeyondUmip(string model, string jit)
    {
        foreach (var part in new[] { "arpl", "enter", "csw", "a16", "hnop", "stack" })
            NativeI386.AssertSame(Build(), [part], With(model, jit), part switch { "hnop" => VendorParts(model), "a16" => HostOrderParts(), _ => [] }, log);
    }

    /// <summary>0F 0D with a register operand by the model's vendor, on any host: #UD on AMD (its 3DNow! manual defines
    /// only the memory form of PREFETCH/PREFETCHW; the AMD host faults for every /r and prefix), a NOP on Intel (the
    /// Intel host ran every form).</summary>
    [Theory]
    [InlineData("intel", "off")] [InlineData("amd", "off")] [InlineData("amd", "1")] [InlineData("nosep", "1")] [InlineData("i386", "off")]
    public void PrefetchGroupRegisterFormByVendor(string model, string jit)
    {
        var r = Differential.RunCompat32(Build(), ["hnop"], With(model, jit));
        Assert.Equal(0, r.ExitCode);
        string outcome = CpuModel.ByName(model)!.Vendor == CpuVendor.Amd ? "  signal 4 code 2 trapno 6 err 0 " : "  ok";
        string expected = PrefetchRegister + "\n" + string.Concat(
            new[] { "0f 0d c0", "0f 0d c8", "0f 0d f9", "66 0f 0d c1", "f3 0f 0d d2" }.Select(f => $"  {f}:\n{outcome}\n"));
        Assert.EndsWith(expected, r.Out);
    }

    /// <summary>Without UMIP the instructions run (SDM vol. 2 SGDT/SIDT/SLDT/STR/SMSW) and store the registers the
    /// kernel model loaded (KernelModel.InitMsrs): SGDT/SIDT the limit and the low 32 bits of the cpu_entry_area
    /// tables, STR GDT_ENTRY_TSS * 8, SLDT GDT_ENTRY_LDT * 8 once an LDT is loaded. Their stores are ordinary
    /// writes: to a read-only page a protection fault (SEGV_ACCERR, error code 7), across a page boundary a fault at
    /// the first unwritable byte, and past the segment's limit #GP, where the UMIP emulation differs in each.</summary>
    [Theory]
    [InlineData("nosep", "0x7f base 0x1000", "0xfff base 0", "0x40", "0x50")]
    [InlineData("i386", "0xff base 0xffdfd000", "0x7ff base 0xffdfc000", "0x80", "0x88")]
    public void WithoutUmipTheInstructionsRun(string model, string gdt, string idt, string tr, string ldtr)
    {
        var r = Differential.RunCompat32(Build(), ["umip"], With(model, "off"));
        Assert.Equal(0, r.ExitCode);
        string expected = $"""
            sgdt:
              limit {gdt} next 0xcc
            sidt:
              limit {idt} next 0xcc
            data16 sgdt:
              limit {gdt} next 0xcc
            sldt r32:
              0
            sldt r16:
              0xdead0000
            sldt m16:
              00 00 cc
            str r32:
              {tr}
            str r16:
              0xdead00{tr[2..]}
            str m16:
              {tr[2..]} 00 cc
            smsw r32:
              0x80050033
            smsw r16:
              0xdead0033
            smsw m16:
              33 00 cc
            sgdt to a read-only page:
              signal 11 code 2 trapno 14 err 0x7 ro+0x10
            sidt to an unmapped page:
              signal 11 code 1 trapno 14 err 0x6 page+4128
            smsw to a read-only page:
              signal 11 code 2 trapno 14 err 0x7 ro+0x8
            str across into an unmapped page:
              signal 11 code 1 trapno 14 err 0x6 page+4096
            sgdt %fs:4 (LDT base page+0x100):
              limit {gdt}
            sgdt past the limit of FS:
              signal 11 code 128 trapno 13 err 0 
            sldt r32 with an LDT:
              {ldtr}

            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), r.Out);
    }
}
