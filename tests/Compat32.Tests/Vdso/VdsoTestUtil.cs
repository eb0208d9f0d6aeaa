using System.Diagnostics;
using Compat32.Vdso;

namespace Compat32.Tests.Vdso;

internal static class VdsoTestUtil
{
    private static readonly Lazy<VdsoImage> Img64 = new(() => Vdso32Builder.Build(VdsoTarget.Kernel64));
    private static readonly Lazy<VdsoImage> Img32 = new(() => Vdso32Builder.Build(VdsoTarget.Kernel32));
    public static VdsoImage Image64 => Img64.Value;
    public static VdsoImage Image32 => Img32.Value;

    public static string TempDir { get; } = Directory.CreateTempSubdirectory("compat32-vdso-").FullName;

    public static string WriteTemp(string name, byte[] data)
    {
        var p = Path.Combine(TempDir, name);
        File.WriteAllBytes(p, data);
        return p;
    }

    public static bool HaveTool(string tool) =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    public static (int Code, string Out, string Err) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit(120_000);
        return (p.ExitCode, o.Result, e.Result);
    }
}
