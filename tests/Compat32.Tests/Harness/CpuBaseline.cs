using System.Runtime.CompilerServices;

namespace Compat32.Tests.Harness;

/// <summary>
/// The suite compares guests built for i686 with qemu-i386 -cpu pentium2, so compat32 runs them with the i686
/// feature set (no MMX/SSE: glibc picks the same string routines on both sides). Every compat32 the tests start
/// inherits COMPAT32_CPU_FEATURES=i686 unless the caller set it; the SIMD tests pass their own feature list.
/// </summary>
static class CpuBaseline
{
    public const string Variable = "COMPAT32_CPU_FEATURES";

#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Init()
    {
        if (Environment.GetEnvironmentVariable(Variable) == null) Environment.SetEnvironmentVariable(Variable, "i686");
    }
}
