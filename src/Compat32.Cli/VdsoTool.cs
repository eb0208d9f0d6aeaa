using Compat32.Cpu;
using Compat32.Kernel;

namespace Compat32.Cli;

/// <summary>`compat32 vdso`: write our vDSO image, patched for a model, for readelf/objdump/gdb.</summary>
public static class VdsoTool
{
    public static int Write(CpuModel model, string? output)
    {
        var (img, patched) = VdsoSetup.Load(model, null);
        var path = output ?? $"vdso32-{model.Name}.so";
        try { File.WriteAllBytes(path, patched.AsSpan(0, img.Size).ToArray()); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Cli.Fail($"{path}: {e.Message}", 1); }
        Console.Error.WriteLine($"compat32: wrote {path} ({img.Size} bytes, alternatives applied for --cpu {model.Name})");
        return 0;
    }
}
