using Compat32.Cpu;
using Compat32.Kernel;

namespace Compat32;

/// <summary>Builds a Machine with its vDSO: our own image patched for the model, or one given on the command line.</summary>
public static class MachineFactory
{
    /// <summary>Supplies the vDSO for a model (set by the Vdso layer); null means no vDSO is mapped.</summary>
    public static Func<CpuModel, string?, Vdso.VdsoImage?>? VdsoProvider;

    public static Machine Create(CpuModel model, KernelOptions options, string? vdsoFile = null)
    {
        var m = new Machine(model, options);
        m.Kernel.Vdso = VdsoProvider?.Invoke(model, vdsoFile);
        return m;
    }
}
