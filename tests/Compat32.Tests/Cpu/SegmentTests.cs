using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Cpu;

/// <summary>
/// Segments and exact single-stepping (issue 14; tests/guests/segments/segments.c): far CALL/JMP/RET and their
/// #GP error codes, modify_ldt (read, write, read_default, its -EINVAL cases), LDT selectors in FS with limits,
/// expand-down, read-only and not-present segments (#NP → SIGBUS, trapno 11, err = selector), LAR/LSL/VERR/VERW,
/// a single-step trap after every REP iteration, and the 14/94-byte FNSTENV/FNSAVE images of a 16-bit operand
/// size. The reference is the host kernel running the same binary (qemu-i386 has no LDT emulation for these and
/// reports other trap numbers). Interpreted and translated; on i386 the LAR case is left out (a 32-bit kernel's
/// GDT has other selectors).
/// </summary>
public class SegmentTests
{
    static string Build() => GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "segments", "segments.c"));

    [NativeI386Theory]
    [InlineData("intel", "all")] [InlineData("amd", "all")] [InlineData("nosep", "all")]
    [InlineData("i386", "far")] [InlineData("i386", "ldt")] [InlineData("i386", "rep")] [InlineData("i386", "fpu")]
    public void SameAsTheHostKernel(string model, string part) =>
        NativeI386.AssertSame(Build(), [part], new Differential.Options { Compat32Options = ["--cpu", model] });

    [NativeI386Fact]
    public void SameAsTheHostKernelInterpretedOnly() =>
        NativeI386.AssertSame(Build(), ["all"], new Differential.Options { Compat32Options = ["--jit", "off"] });
}
