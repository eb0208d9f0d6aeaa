using System.Collections;
using Compat32.Cpu;
using Compat32.Debug;
using Compat32.Elf;
using Compat32.Kernel;

namespace Compat32.Cli;

/// <summary>Splits argv into our options and the guest command line (the first non-option word starts it).</summary>
public static class ArgSplit
{
    static readonly HashSet<string> WithValue = new() { "--cpu", "--sysroot", "-L", "--stats-json", "--vdso", "-E", "-U", "-o", "--output" };

    public static (List<string> ours, List<string> guest) Split(string[] args)
    {
        var ours = new List<string>();
        int i = 0;
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--") { i++; break; }
            if (!a.StartsWith('-') || a == "-") break;
            ours.Add(a);
            if (WithValue.Contains(a) && i + 1 < args.Length) ours.Add(args[++i]);
        }
        var guest = new List<string>();
        for (; i < args.Length; i++) guest.Add(args[i]);
        return (ours, guest);
    }
}

public static class Cli
{
    public sealed class RunOptions
    {
        public required CpuModel Model;
        public string? Sysroot, StatsJson, VdsoFile;
        public bool Strace, Stats;
        public string[] SetEnv = Array.Empty<string>(), UnsetEnv = Array.Empty<string>();
    }

    public static CpuModel? ModelOrDefault(string? name) => name == null ? CpuModel.HostDefault() : CpuModel.ByName(name);

    public static int Fail(string msg, int code)
    {
        Console.Error.WriteLine("compat32: " + msg);
        return code;
    }

    public static int RunProgram(RunOptions o, List<string> guest)
    {
        string prog = guest[0];
        var env = new List<string>();
        foreach (DictionaryEntry kv in Environment.GetEnvironmentVariables())
        {
            var k = (string)kv.Key;
            if (Array.IndexOf(o.UnsetEnv, k) >= 0) continue;
            env.Add(k + "=" + kv.Value);
        }
        foreach (var s in o.SetEnv)
        {
            int eq = s.IndexOf('=');
            string name = eq < 0 ? s : s[..eq];
            env.RemoveAll(e => e.StartsWith(name + "="));
            env.Add(eq < 0 ? s + "=" : s);
        }
        env.Sort(StringComparer.Ordinal);

        var kopts = new KernelOptions { Sysroot = o.Sysroot, Strace = o.Strace };
        Machine m;
        try
        {
            m = MachineFactory.Create(o.Model, kopts, o.VdsoFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Vdso.VdsoFormatException)
        {
            return Fail($"--vdso {o.VdsoFile}: {e.Message}", 1);
        }
        try
        {
            m.Spawn(prog, guest, env);
        }
        catch (ElfFormatException e) { return Fail($"{prog}: {e.Message}", 126); }
        catch (FileNotFoundException) { return Fail($"{prog}: No such file or directory", 127); }
        catch (DirectoryNotFoundException) { return Fail($"{prog}: No such file or directory", 127); }
        catch (UnauthorizedAccessException) { return Fail($"{prog}: Permission denied", 126); }
        catch (IOException e) { return Fail($"{prog}: {e.Message}", 126); }

        var exit = m.Run();
        Console.Out.Flush();
        if (o.Stats) Console.Error.Write(PathStats.Table(m.Kernel));
        if (o.StatsJson != null)
        {
            try { File.WriteAllText(o.StatsJson, PathStats.Json(m.Kernel)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Fail($"--stats-json: {e.Message}", 1); }
        }
        if (exit.Signal != 0)
        {
            string addr = exit.FaultAddr is uint a && (exit.Signal is 11 or 7 or 4 or 8) ? $" (address 0x{a:x8})" : "";
            string core = exit.Core ? " (core dumped)" : "";
            Console.Error.WriteLine($"compat32: {prog}: killed by {Kernel.Signals.Sig.Name(exit.Signal)}{addr}{core}");
        }
        return exit.ShellCode;
    }
}
