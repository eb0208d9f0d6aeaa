using System.CommandLine;
using Compat32;
using Compat32.Cli;
using Compat32.Cpu;
using Compat32.Elf;
using Compat32.Kernel;

// Everything after the program name belongs to the guest: split argv there before System.CommandLine sees it,
// so `compat32 ls --help` passes --help to ls.
var (ours, guest) = ArgSplit.Split(args);

// A program run starts the engine before anything else (see Front): the engine parses the options again and
// reports their errors, so the front pays for no more than the runtime's start and one spawn.
if (guest.Count > 0 && guest[0] is not ("demo" or "vdso" or "lab")
    && !ours.Any(o => o is "--help" or "-h" or "-?" or "--version" or "help") && Front.Wanted)
    return Front.Run(args);

var cpuOpt = new Option<string?>("--cpu")
{
    Description = "Machine model: intel (SYSENTER, SYSRETL), amd (SYSCALL, SYSRETL), nosep (a 64-bit kernel using " +
                  "neither fast path: int $0x80; raw SYSENTER and SYSCALL follow Intel's rules without SEP, so both raise #UD), " +
                  "i386 (a 32-bit kernel: SYSENTER in, SYSEXIT out). Default: the host CPU's vendor. " +
                  "MODEL,+feat,-feat adds or removes CPUID features (i686: the baseline without MMX/SSE); --cpu help lists them.",
};
var sysrootOpt = new Option<string?>("--sysroot", "-L") { Description = "Look up absolute guest paths under DIR first (like qemu-i386 -L)." };
var straceOpt = new Option<bool>("--strace") { Description = "Print each system call on stderr, with its entry method." };
var statsOpt = new Option<bool>("--stats") { Description = "At exit, print entries and exits by method, why IRET was used, and how many instructions ran translated or interpreted." };
var jitOpt = new Option<string?>("--jit")
{
    Description = "on: translate hot blocks to host x86-64 code (the default on x86-64 hosts); off: interpret every instruction. " +
                  "A number N translates a block after N executions (1: at its first).",
};
var codeCacheOpt = new Option<string?>("--code-cache")
{
    Description = "Where to keep translated code between runs (a program's second start copies what its first translated): " +
                  "a directory, or off. Default: COMPAT32_CODE_CACHE, else $XDG_CACHE_HOME/compat32/code or ~/.cache/compat32/code.",
};
var statsJsonOpt = new Option<string?>("--stats-json") { Description = "Write the --stats table as JSON to FILE." };
var designOpt = new Option<string?>("--design")
{
    Description = "Entry design (compat32 lab): linux-4.3 (default: what Linux runs since 4.4), linux-4.2, proposal-2015, auxv, " +
                  "auxv-nosym, pointer-table, int80-only, no-vdso.",
};
var vdsoOpt = new Option<string?>("--vdso") { Description = "Boot with a vDSO image built elsewhere (e.g. the kernel's vdso32.so; FILE.dbg is read for symbols if present)." };
var setEnvOpt = new Option<string[]>("-E") { Description = "Set VAR=VALUE in the guest environment (repeatable).", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
var unsetEnvOpt = new Option<string[]>("-U") { Description = "Remove VAR from the guest environment (repeatable).", Arity = ArgumentArity.ZeroOrMore };
var programArg = new Argument<string?>("program") { Description = "The i386 ELF program to run, followed by its arguments.", Arity = ArgumentArity.ZeroOrOne };

var root = new RootCommand("compat32: run 32-bit x86 Linux programs, entering the kernel the way Linux 6.1 does (int80, SYSENTER, SYSCALL; SYSRETL, SYSEXIT, IRET).")
{
    cpuOpt, designOpt, sysrootOpt, straceOpt, statsOpt, statsJsonOpt, vdsoOpt, jitOpt, codeCacheOpt, setEnvOpt, unsetEnvOpt, programArg,
};

var demoCmd = new Command("demo", "Run the embedded demo program on every machine model and show the entry/exit paths.");
var vdsoCmd = new Command("vdso", "Write the vDSO image, patched for a machine model, for readelf/objdump/gdb.");
var outOpt = new Option<string?>("--output", "-o") { Description = "Output file (default: vdso32-MODEL.so)." };
var vdsoCpuOpt = new Option<string?>("--cpu") { Description = "Machine model to patch for (intel, amd, nosep, i386)." };
vdsoCmd.Options.Add(outOpt);
vdsoCmd.Options.Add(vdsoCpuOpt);
root.Subcommands.Add(demoCmd);
root.Subcommands.Add(vdsoCmd);

var labCmd = new Command("lab", "Run the same programs under every 2015 entry design (linux-4.2, proposal-2015, linux-4.3, auxv, " +
    "auxv-nosym, pointer-table, int80-only, no-vdso) on each CPU model; print what each costs and breaks. " +
    "Anything after -- is a program to run under each design too.");
var labDesignsOpt = new Option<string?>("--designs") { Description = "Comma-separated designs (default: all)." };
var labCpuOpt = new Option<string?>("--cpu") { Description = "Comma-separated CPU models (default: intel,amd,nosep,i386)." };
var labJsonOpt = new Option<string?>("--json") { Description = "Also write the table as JSON to FILE." };
var labHtmlOpt = new Option<string?>("--html") { Description = "Also write a self-contained HTML report with charts to FILE." };
var labSelftestOpt = new Option<string?>("--selftests") { Description = "Run every executable in DIR (the kernel's selftests, built 32-bit) under each design too." };
labCmd.Options.Add(labDesignsOpt); labCmd.Options.Add(labCpuOpt); labCmd.Options.Add(labJsonOpt); labCmd.Options.Add(labHtmlOpt);
labCmd.Options.Add(labSelftestOpt);
root.Subcommands.Add(labCmd);
string[] labProgram = Array.Empty<string>();
labCmd.SetAction(pr => LabCommand.Run(pr.GetValue(labDesignsOpt), pr.GetValue(labCpuOpt), pr.GetValue(labJsonOpt),
    pr.GetValue(labHtmlOpt), pr.GetValue(labSelftestOpt), labProgram, Console.Out));

demoCmd.SetAction(pr => Demo.Run(Console.Out));
vdsoCmd.SetAction(pr =>
{
    var model = Cli.ModelOrDefault(pr.GetValue(vdsoCpuOpt), out var err);
    if (model == null) return Cli.Fail(err ?? "unknown --cpu model (use intel, amd, nosep or i386)", 2);
    return VdsoTool.Write(model, pr.GetValue(outOpt));
});

root.SetAction(pr =>
{
    if (pr.GetValue(cpuOpt) == "help") { Cli.CpuHelp(Console.Out); return 0; }
    // The program and its arguments were split off before parsing: a token here is an option we do not know.
    if (pr.GetValue(programArg) is string stray) return Cli.Fail($"unknown option '{stray}' (try --help)", 2);
    var model = Cli.ModelOrDefault(pr.GetValue(cpuOpt), out var err);
    if (model == null) return Cli.Fail(err ?? "unknown --cpu model (use intel, amd, nosep or i386)", 2);
    if (guest.Count == 0) return Cli.Fail("no program given (try --help)", 2);
    int? jit = pr.GetValue(jitOpt) switch
    {
        null => null,
        "on" => Compat32.Cpu.Jit.DefaultThreshold > 0 ? Compat32.Cpu.Jit.DefaultThreshold : 16,
        "off" => 0,
        string s when int.TryParse(s, out int n) && n > 0 => n,
        _ => -1,
    };
    if (jit < 0) return Cli.Fail("--jit takes on, off or a positive number", 2);
    var design = pr.GetValue(designOpt) is string dn ? Compat32.Lab.Designs.ByName(dn) : Compat32.Lab.Designs.Of(Compat32.Entry.EntryDesign.Linux43);
    if (design == null) return Cli.Fail("unknown --design (try compat32 lab --help)", 2);
    var opts = new Cli.RunOptions
    {
        Model = model,
        Design = design.Design,
        Sysroot = pr.GetValue(sysrootOpt),
        Strace = pr.GetValue(straceOpt),
        Stats = pr.GetValue(statsOpt),
        StatsJson = pr.GetValue(statsJsonOpt),
        VdsoFile = pr.GetValue(vdsoOpt),
        JitThreshold = jit,
        CodeCache = pr.GetValue(codeCacheOpt) ?? Environment.GetEnvironmentVariable("COMPAT32_CODE_CACHE"),
        SetEnv = pr.GetValue(setEnvOpt) ?? Array.Empty<string>(),
        UnsetEnv = pr.GetValue(unsetEnvOpt) ?? Array.Empty<string>(),
    };
    // The caller waits for the front; the engine runs the guests (and may outlive the front: see Front).
    if (Front.Wanted) return Front.Run(args);
    return Cli.RunProgram(opts, guest);
});

var parseArgs = new List<string>(ours);
if (guest.Count > 0 && (guest[0] == "demo" || guest[0] == "vdso" || guest[0] == "lab") && ours.Count == 0)
{
    // A subcommand: its own options follow it (for lab, up to "--": the rest is a program to run).
    parseArgs = new List<string>(guest);
    int dd = parseArgs.IndexOf("--");
    if (guest[0] == "lab" && dd >= 0)
    {
        labProgram = parseArgs.Skip(dd + 1).ToArray();
        parseArgs = parseArgs.Take(dd).ToList();
    }
    guest = new List<string>();
}
return root.Parse(parseArgs.ToArray()).Invoke();
