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
            LabSummary(o, CpuModel.HostDefault());
            return rc;
        }
        finally { File.Delete(path); }
    }

    /// <summary>One line per entry design on one model: what a syscall costs and which lab checks fail.</summary>
    static void LabSummary(TextWriter o, CpuModel model)
    {
        o.WriteLine($"== compat32 lab on --cpu {model.Name}: the same programs under each 2015 entry design (full table: compat32 lab)");
        foreach (var d in Compat32.Lab.Designs.All)
        {
            var r = Compat32.Lab.LabRunner.Evaluate(d, model);
            var entry = r.Costs.Entries.Where(kv => kv.Value > 0).Select(kv => kv.Key.ToUpperInvariant());
            var exit = r.Costs.Exits.Where(kv => kv.Value > 0).Select(kv => kv.Key.ToUpperInvariant());
            var fails = r.Checks.Where(c => c.Verdict == Compat32.Lab.Verdict.Fail).Select(c => c.Id).ToList();
            o.WriteLine($"  {d.Name,-14} {r.Costs.VdsoInstructions,3} insns  {string.Join("+", entry),-9} -> {string.Join("+", exit),-8} " +
                        (fails.Count == 0 ? "breaks nothing we check" : "breaks: " + string.Join(", ", fails)));
        }
    }

    static string Describe(CpuModel m) => m.Name switch
    {
        "intel" => "64-bit kernel, GenuineIntel: __kernel_vsyscall uses SYSENTER, exits with SYSRETL",
        "amd" => "64-bit kernel, AuthenticAMD: __kernel_vsyscall uses SYSCALL, exits with SYSRETL",
        "nosep" => "64-bit kernel, neither fast path: __kernel_vsyscall falls through to int $0x80, IRET",
        _ => "32-bit kernel with SEP: SYSENTER in, SYSEXIT out",
    };
}
