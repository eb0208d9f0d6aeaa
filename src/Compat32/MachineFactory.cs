using Compat32.Cpu;
using Compat32.Kernel;

namespace Compat32;

/// <summary>Builds a Machine with its vDSO: our own image patched for the model, or one given on the command line.</summary>
public static class MachineFactory
{
    public static Machine Create(CpuModel model, KernelOptions options, string? vdsoFile = null)
    {
        var m = new Machine(model, options);
        VdsoSetup.Attach(m.Kernel, vdsoFile);
        return m;
    }
}
