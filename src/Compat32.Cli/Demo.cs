using Compat32.Cpu;
using Compat32.Debug;
using Compat32.Demo;
using Compat32.Kernel;

namespace Compat32.Cli;

/// <summary>`compat32 demo`: the embedded guest on every machine model, with each model's path table.</summary>
public static class Demo
{
    public static int Run(TextWriter o)
    {
        var elf = DemoProgram.Build();
        var path = Path.Combine(Path.GetTempPath(), $"compat32-demo-{Environment.ProcessId}");
        File.WriteAllBytes(path, elf);
        try
        {
            o.WriteLine("compat32 demo: an i386 program assembled by compat32 itself (Iced), run on each machine model.");
            o.WriteLine();
            int rc = 0;
            foreach (var model in new[] { CpuModel.IntelModel, CpuModel.AmdModel, CpuModel.NoSepModel, CpuModel.I386Model })
            {
                o.WriteLine($"== --cpu {model.Name}: {Describe(model)}");
                o.Flush();
                var m = MachineFactory.Create(model, new KernelOptions());
                m.Spawn(path, new[] { "demo" }, Array.Empty<string>());
                var exit = m.Run();
                Console.Out.Flush();
                o.Write(PathStats.Table(m.Kernel));
                o.WriteLine($"  exit status {exit.ShellCode}");
                o.WriteLine();
                if (exit.ShellCode != 0) rc = 1;
            }
            return rc;
        }
        finally { File.Delete(path); }
    }

    static string Describe(CpuModel m) => m.Name switch
    {
        "intel" => "64-bit kernel, GenuineIntel: __kernel_vsyscall uses SYSENTER, exits with SYSRETL",
        "amd" => "64-bit kernel, AuthenticAMD: __kernel_vsyscall uses SYSCALL, exits with SYSRETL",
        "nosep" => "64-bit kernel, neither fast path: __kernel_vsyscall falls through to int $0x80, IRET",
        _ => "32-bit kernel with SEP: SYSENTER in, SYSEXIT out",
    };
}
