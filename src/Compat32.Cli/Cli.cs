using System.Collections;
using Compat32.Cpu;
using Compat32.Debug;
using Compat32.Elf;
using Compat32.Kernel;

namespace Compat32.Cli;

/// <summary>Splits argv into our options and the guest command line (the first non-option word starts it).</summary>
public static class ArgSplit
{
    static readonly HashSet<string> WithValue = new() { "--cpu", "--design", "--sysroot", "-L", "--stats-json", "--vdso", "--jit", "--code-cache", "-E", "-U", "-o", "--output" };

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
        public Compat32.Entry.EntryDesign Design;
        public string? Sysroot, StatsJson, VdsoFile;
        public bool Strace, Stats;
        public int? JitThreshold;
        /// <summary>--code-cache / COMPAT32_CODE_CACHE: a directory, "off" (or 0), or null for the default.</summary>
        public string? CodeCache;
        public string[] SetEnv = Array.Empty<string>(), UnsetEnv = Array.Empty<string>();
    }

    /// <summary>The --cpu value (MODEL[,+feat,-feat]) with COMPAT32_CPU_FEATURES (a feature list, e.g. "i686")
    /// applied first, so a command-line list has the last word.</summary>
    public static CpuModel? ModelOrDefault(string? spec, out string? error)
    {
        spec ??= "";
        int comma = spec.IndexOf(',');
        string name = comma < 0 ? spec : spec[..comma];
        var m = CpuModel.Parse(name, out error);
        if (m == null) return null;
        if (Environment.GetEnvironmentVariable("COMPAT32_CPU_FEATURES") is { Length: > 0 } envList)
        {
            m = m.Apply(envList, out error);
            if (m == null) { error = "COMPAT32_CPU_FEATURES: " + error; return null; }
        }
        return comma < 0 ? m : m.Apply(spec[(comma + 1)..], out error);
    }

    /// <summary>--cpu help: the models and the features (qemu's -cpu help).</summary>
    public static void CpuHelp(TextWriter o)
    {
        o.WriteLine("Models (--cpu MODEL[,+feature,-feature...]):");
        foreach (var m in new[] { CpuModel.IntelModel, CpuModel.AmdModel, CpuModel.NoSepModel, CpuModel.I386Model })
            o.WriteLine($"  {m.Name,-6} {m.VendorString}, family {m.Family} model {m.ModelNumber}: {string.Join(' ', CpuFeatures.FlagNames(m.Effective))}");
        o.WriteLine("Features: " + string.Join(' ', CpuFeatures.Table.Select(e => e.Name)) + " (i686: only fpu tsc cx8 sep cmov fxsr)");
        o.WriteLine("Removing a feature removes those that need it (-sse also removes sse2 .. sse4_2, ssse3, aes, pclmulqdq).");
    }

    public static int Fail(string msg, int code)
    {
        Console.Error.WriteLine("compat32: " + msg);
        return code;
    }

    /// <summary>The caller's environment in its original order (/proc/self/environ keeps it; .NET's API does not),
    /// less what the launcher added for the runtime, with -U removals and -E additions applied.</summary>
    public static List<string> GuestEnvironment(RunOptions o)
    {
        var env = new List<string>();
        try
        {
            // The launcher passes the environment it was started with (before its shell added PWD/SHLVL).
            var fromLauncher = Environment.GetEnvironmentVariable("COMPAT32_CALLER_ENV");
            var raw = fromLauncher != null ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(fromLauncher))
                                           : File.ReadAllText("/proc/self/environ");
            foreach (var kv in raw.Split('\0', StringSplitOptions.RemoveEmptyEntries)) env.Add(kv);
        }
        catch (FormatException)
        {
            foreach (DictionaryEntry kv in Environment.GetEnvironmentVariables()) env.Add(kv.Key + "=" + kv.Value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (DictionaryEntry kv in Environment.GetEnvironmentVariables()) env.Add(kv.Key + "=" + kv.Value);
        }
        var hide = new HashSet<string>((Environment.GetEnvironmentVariable("COMPAT32_LAUNCHER_ADDED") ?? "")
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)) { "COMPAT32_LAUNCHER_ADDED", "COMPAT32_CALLER_ENV", Front.EngineFdVar };
        foreach (var u in o.UnsetEnv) hide.Add(u);
        env.RemoveAll(e => hide.Contains(e.IndexOf('=') is int i && i >= 0 ? e[..i] : e));
        foreach (var s in o.SetEnv)
        {
            int eq = s.IndexOf('=');
            string name = eq < 0 ? s : s[..eq];
            int at = env.FindIndex(e => e.StartsWith(name + "=", StringComparison.Ordinal));
            string v = eq < 0 ? s + "=" : s;
            if (at >= 0) env[at] = v; else env.Add(v);
        }
        return env;
    }

    /// <summary>The end of a run with the code cache on: what the first process ran often enough is translated too,
    /// then every program's new translations are written.</summary>
    static void KeepTranslations(Machine m)
    {
        m.Init?.Cpu.Jit?.TranslateForCodeCache(TranslationStore.MinHits);
        TranslationStore.SaveAll();
    }

    public static int RunProgram(RunOptions o, List<string> guest)
    {
        string prog = guest[0];
        HugeHeap.Apply(); // this process runs the guests: before they allocate
        var env = GuestEnvironment(o);
        var engine = Front.AsEngine();

        var kopts = new KernelOptions { Design = o.Design, Sysroot = o.Sysroot, Strace = o.Strace, JitThreshold = o.JitThreshold, StopHostWithInit = true };
        // The code cache serves translations: nothing to keep when the translator is off.
        if (o.JitThreshold != 0 && Jit.DefaultThreshold != 0 && Jit.HostSupported && o.CodeCache is not ("off" or "0" or ""))
        {
            TranslationStore.Configure(o.CodeCache ?? TranslationStore.DefaultRoot());
            kopts.CodeCache = TranslationStore.Directory != null;
        }
        if (engine != null) kopts.InitStopped = engine.Stop;
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

        // ^C, ^\, ^Z at the host terminal reach the guest's foreground process group, not compat32.
        var hooks = Kernel.JobControl.HookHostSignals(m.Kernel);
        var exit = m.Run();
        foreach (var h in hooks) h.Dispose();
        Console.Out.Flush();
        // Before the caller has its status: the next run (often started at once) reads what this one wrote. A run
        // that added nothing writes nothing.
        if (kopts.CodeCache) KeepTranslations(m);
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
        if (engine != null)
        {
            // The caller gets its status now; guest processes still running keep the engine alive, without the
            // caller's descriptors (their --strace lines have nowhere to go).
            kopts.StraceOut = TextWriter.Null;
            engine.Exited(exit.ShellCode);
            m.WaitForAllTasks();
        }
        return exit.ShellCode;
    }
}
