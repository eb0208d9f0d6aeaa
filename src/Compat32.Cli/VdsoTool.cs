using Compat32.Cpu;

namespace Compat32.Cli;

/// <summary>`compat32 vdso`: write the vDSO image patched for a model.</summary>
public static class VdsoTool
{
    public static int Write(CpuModel model, string? output)
    {
        var img = MachineFactory.VdsoProvider?.Invoke(model, null);
        if (img == null) return Cli.Fail("this build has no vDSO image", 1);
        var path = output ?? $"vdso32-{model.Name}.so";
        File.WriteAllBytes(path, img.Data.AsSpan(0, img.Size > 0 ? img.Size : img.Data.Length).ToArray());
        Console.Error.WriteLine($"compat32: wrote {path} ({(img.Size > 0 ? img.Size : img.Data.Length)} bytes, patched for --cpu {model.Name})");
        return 0;
    }
}
