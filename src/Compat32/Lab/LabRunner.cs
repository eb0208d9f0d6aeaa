using Compat32.Cpu;
using Compat32.Entry;
using Iced.Intel;

namespace Compat32.Lab;

/// <summary>What one getppid through __kernel_vsyscall costs on a design × model (per call, from two runs of
/// different length so that start-up and exit cancel out); Cycles and Delta are modelled from cited figures only
/// (CostModel).</summary>
public sealed record Costs(double VdsoInstructions, Dictionary<string, double> Entries, Dictionary<string, double> Exits,
    Dictionary<string, long> SlowExitReasons, int UserFetches, Modelled Cycles, Modelled Delta);

public sealed record LabRow(string Design, string Model, List<CheckResult> Checks, Costs Costs, List<SelftestVerdict> Selftests)
{
    public CheckResult Check(string id) => Checks.First(c => c.Id == id);
}

public sealed record SelftestVerdict(string Name, string Verdict);

public static class LabRunner
{
    public const int CostShort = 100, CostLong = 300;

    public static LabRow Evaluate(DesignInfo d, CpuModel m, IReadOnlyList<string>? selftests = null, string[]? userProgram = null)
    {
        var checks = new List<CheckResult>();
        var fast = Battery.FastEntry(d.Design, m);

        // Costs, registers, arguments and the tracer's view from the cost program.
        var r1 = LabMachine.Run(m, d.Design, Battery.CostProgram(CostShort));
        var r2 = LabMachine.Run(m, d.Design, Battery.CostProgram(CostLong));
        checks.Add(Regs(r1));
        checks.Add(Args(r1));
        checks.Add(Tracer(r1));
        var costs = CostOf(d.Design, m, r1, r2);

        var rs = RunRestart(m, d.Design, saRestart: true, edit: false, vdsoRestorer: false);
        checks.Add(Restart(rs));
        checks.Add(RestartEdit(RunRestart(m, d.Design, saRestart: true, edit: true, vdsoRestorer: false)));
        checks.Add(Eintr(RunRestart(m, d.Design, saRestart: false, edit: false, vdsoRestorer: false)));

        checks.Add(RestartBlock(LabMachine.Run(m, d.Design, Battery.NanosleepProgram(), drive: StopAndContinue), d.Design));

        var st = LabMachine.Run(m, d.Design, Battery.StepProgram());
        checks.Add(Step(st));
        checks.Add(Unwind(st));

        checks.Add(fast == EntryMethod.Int80
            ? new CheckResult("arg6", Verdict.NotApplicable, "int $0x80 only: arg 6 travels in EBP, nothing is fetched")
            : Arg6(LabMachine.Run(m, d.Design, Battery.Arg6Program(fast)), fast));
        checks.Add(Clone(LabMachine.Run(m, d.Design, Battery.CloneProgram())));
        checks.Add(Symbol(LabMachine.Run(m, d.Design, Battery.SymbolProgram())));
        checks.Add(Sigreturn(r1, r1.Vdso == null ? r1 : RunRestart(m, d.Design, saRestart: true, edit: false, vdsoRestorer: true)));

        var selftestVerdicts = new List<SelftestVerdict>();
        if (selftests != null)
            foreach (var path in selftests) selftestVerdicts.Add(Selftest(m, d.Design, path));
        if (userProgram is { Length: > 0 }) selftestVerdicts.Add(UserProgram(m, d.Design, userProgram));
        return new LabRow(d.Name, m.Name, checks, costs, selftestVerdicts);
    }

    /// <summary>The restart program, run again (up to three times) when the host was so slow that SIGALRM came
    /// before read() blocked: then the handler ran first, the read found its byte and nothing was interrupted.</summary>
    static LabRun RunRestart(CpuModel m, EntryDesign d, bool saRestart, bool edit, bool vdsoRestorer)
    {
        LabRun r = null!;
        for (int i = 0; i < 3; i++)
        {
            r = LabMachine.Run(m, d, Battery.RestartProgram(saRestart, edit, vdsoRestorer));
            bool interrupted = r.Entries.Count(e => (uint)e.Regs.orig_ax == 3) > 1 || (int)r.Word(20) != 1;
            if (interrupted || r.TimedOut || r.Exit.Signal != 0) return r;
        }
        return r;
    }

    static string Hex(uint v) => "0x" + v.ToString("x");
    static bool Ok(LabRun r) => !r.TimedOut && r.Exit.Signal == 0 && r.Exit.ShellCode == 0;
    static string Died(LabRun r) => r.TimedOut ? "hung (killed after 20 s)" : r.Exit.Signal != 0 ? $"killed by {Kernel.Signals.Sig.Name(r.Exit.Signal)}" : $"exit {r.Exit.ShellCode}";

    /// <summary>A vDSO address as symbol+offset (the image's own symbol table), else hex.</summary>
    public static string Sym(LabRun r, uint addr)
    {
        if (r.Vdso == null || r.VdsoBase == 0 || addr < r.VdsoBase || addr >= r.VdsoBase + r.Vdso.Size) return Hex(addr);
        int off = (int)(addr - r.VdsoBase);
        var best = r.Vdso.AllSymbols.Where(kv => kv.Value <= off && !kv.Key.StartsWith("vvar", StringComparison.Ordinal) && !kv.Key.EndsWith("_page", StringComparison.Ordinal) && !kv.Key.StartsWith('.'))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key.Length).FirstOrDefault();
        if (best.Key == null) return Hex(addr);
        return off == best.Value ? best.Key : $"{best.Key}+{off - best.Value}";
    }

    /// <summary>The instruction at a guest address inside the vDSO (decoded from the mapped bytes).</summary>
    public static Instruction? InsnAt(LabRun r, uint addr)
    {
        if (r.VdsoBytes == null || addr < r.VdsoBase || addr >= r.VdsoBase + r.VdsoBytes.Length)
        {
            // Outside the vDSO: the program's own code, read back from its memory.
            var b = new byte[16];
            for (int k = 0; k < 4; k++) { if (r.Peek(addr + 4 * (uint)k) is not uint w) return null; BitConverter.TryWriteBytes(b.AsSpan(4 * k), w); }
            var d0 = Decoder.Create(32, new ByteArrayCodeReader(b));
            d0.IP = addr;
            var i0 = d0.Decode();
            return i0.IsInvalid ? null : i0;
        }
        var dec = Decoder.Create(32, new ByteArrayCodeReader(r.VdsoBytes, (int)(addr - r.VdsoBase), r.VdsoBytes.Length - (int)(addr - r.VdsoBase)));
        dec.IP = addr;
        var i = dec.Decode();
        return i.IsInvalid ? null : i;
    }

    static string Text(Instruction? i) => i is { } x ? x.ToString() : "?";

    static CheckResult Regs(LabRun r)
    {
        if (!Ok(r)) return new("regs", Verdict.Fail, Died(r));
        var bad = new List<string>();
        void Cmp(string n, uint got, uint want) { if (got != want) bad.Add($"{n}={Hex(got)}"); }
        Cmp("ebx", r.Word(2), LabGuest.Pattern1); Cmp("ecx", r.Word(3), LabGuest.Pattern2); Cmp("edx", r.Word(4), LabGuest.Pattern3);
        Cmp("esi", r.Word(5), LabGuest.Pattern4); Cmp("edi", r.Word(6), LabGuest.Pattern5); Cmp("ebp", r.Word(7), LabGuest.Pattern6);
        if ((r.Word(0) & 0xFFFF) != 0xED7) bad.Add($"flags={Hex(r.Word(0))}");
        return bad.Count == 0 ? new("regs", Verdict.Pass, "all preserved") : new("regs", Verdict.Fail, "changed: " + string.Join(", ", bad));
    }

    static (PtRegs Regs, EntryMethod How)? FirstGetppid(LabRun r) =>
        r.Entries.Where(e => (uint)e.Regs.orig_ax == 64).Select(e => ((PtRegs, EntryMethod)?)e).FirstOrDefault();

    static CheckResult Args(LabRun r)
    {
        if (FirstGetppid(r) is not { } e) return new("args", Verdict.Fail, "no getppid entry seen");
        uint[] want = [LabGuest.Pattern1, LabGuest.Pattern2, LabGuest.Pattern3, LabGuest.Pattern4, LabGuest.Pattern5, LabGuest.Pattern6];
        var bad = Enumerable.Range(0, 6).Where(i => e.Regs.Arg(i) != want[i]).Select(i => $"arg{i + 1}={Sym(r, e.Regs.Arg(i))}").ToList();
        return bad.Count == 0 ? new("args", Verdict.Pass, $"all six intact ({e.How})")
            : new("args", Verdict.Fail, $"{e.How}: " + string.Join(", ", bad));
    }

    static CheckResult Tracer(LabRun r)
    {
        if (FirstGetppid(r) is not { } e) return new("tracer", Verdict.Fail, "no getppid entry seen");
        uint ip = (uint)e.Regs.ip;
        var before = InsnAt(r, ip - 2);
        bool int80 = before is { Code: Code.Int_imm8, Immediate8: 0x80 };
        string where = r.VdsoBytes == null ? $"{Hex(ip)} (no vDSO: the program's own int $0x80)" : Sym(r, ip);
        return new("tracer", int80 ? Verdict.Pass : Verdict.Fail,
            $"ip={where}; ip-2: {Text(before)}");
    }

    static Costs CostOf(EntryDesign d, CpuModel m, LabRun a, LabRun b)
    {
        double n = LabRunner.CostLong - LabRunner.CostShort;
        // Per iteration: mov eax; call; <stub>; dec; jnz.
        double stub = (b.Retired - a.Retired) / n - 4;
        var entries = Enum.GetValues<EntryMethod>().ToDictionary(x => x.ToString(), x => (b.Stats.Entries[(int)x] - a.Stats.Entries[(int)x]) / n);
        var exits = Enum.GetValues<ExitMethod>().ToDictionary(x => x.ToString(), x => (b.Stats.Exits[(int)x] - a.Stats.Exits[(int)x]) / n);
        var reasons = Enum.GetValues<IretReason>().Where(x => x != IretReason.None && b.Stats.IretReasons[(int)x] > 0)
            .ToDictionary(x => EntryStats.ReasonName(x), x => b.Stats.IretReasons[(int)x]);
        return new Costs(Math.Round(stub, 2), entries, exits, reasons, CostModel.UserFetches(d, Battery.FastEntry(d, m)),
            CostModel.Transitions(m, entries, exits), CostModel.Delta(d, m, entries, exits));
    }

    static CheckResult Restart(LabRun r)
    {
        if (!Ok(r)) return new("restart", Verdict.Fail, Died(r));
        uint ip = r.Word(23);
        var insn = r.VdsoBytes != null ? InsnAt(r, ip) : null;
        var reads = r.Entries.Where(e => (uint)e.Regs.orig_ax == 3).ToList();
        string how = reads.Count > 1 ? reads[1].How.ToString() : "none";
        bool ok = r.Word(20) == 1;
        string at = r.VdsoBytes == null ? Hex(ip) : $"{Sym(r, ip)} ({Text(insn)})";
        return new("restart", ok ? Verdict.Pass : Verdict.Fail, $"read={(int)r.Word(20)}; restart at {at}, re-entered by {how}");
    }

    static CheckResult RestartEdit(LabRun r)
    {
        var reads = r.Entries.Where(e => (uint)e.Regs.orig_ax == 3).ToList();
        if (reads.Count < 2) return new("restart-edit", Verdict.Fail, Died(r) + ", no restart seen");
        var e = reads[1].Regs;
        uint buf2 = LabGuest.D + 0x340;
        bool ok = e.Arg(1) == buf2 && e.Arg(5) == 0x2525_2525;
        return new("restart-edit", ok ? Verdict.Pass : Verdict.Fail,
            $"restarted read got arg2={Hex(e.Arg(1))}{(e.Arg(1) == buf2 ? " (edited)" : "")}, arg6={Hex(e.Arg(5))}{(e.Arg(5) == 0x2525_2525 ? " (edited)" : "")}; read={(int)r.Word(20)}");
    }

    static CheckResult Eintr(LabRun r)
    {
        if (!Ok(r)) return new("eintr", Verdict.Fail, Died(r));
        int v = (int)r.Word(20);
        return new("eintr", v == -4 ? Verdict.Pass : Verdict.Fail, $"read={v}");
    }

    /// <summary>Waits until the guest is in nanosleep, then SIGSTOP and, 50 ms later, SIGCONT to its group.</summary>
    static void StopAndContinue(Kernel.Task t, List<(PtRegs, EntryMethod)> entries)
    {
        for (int i = 0; i < 500; i++)
        {
            lock (entries) if (entries.Any(e => (uint)e.Item1.orig_ax == 162)) break;
            Thread.Sleep(5);
        }
        Thread.Sleep(50);
        var sig = t.Kernel.Signals;
        sig.SendToGroup(t, new Kernel.Signals.KSigInfo { Signo = Kernel.Signals.Sig.SIGSTOP, Code = Kernel.Signals.KSigInfo.SI_KERNEL, Layout = Kernel.Signals.SigInfoLayout.Kill });
        Thread.Sleep(50);
        sig.SendToGroup(t, new Kernel.Signals.KSigInfo { Signo = Kernel.Signals.Sig.SIGCONT, Code = Kernel.Signals.KSigInfo.SI_KERNEL, Layout = Kernel.Signals.SigInfoLayout.Kill });
    }

    static CheckResult RestartBlock(LabRun r, EntryDesign d)
    {
        if (!Ok(r)) return new("restart-block", Verdict.Fail, Died(r));
        var again = r.Entries.FirstOrDefault(e => (uint)e.Regs.orig_ax == 0);
        if (again.Regs.ip == 0 && again.How == default && !r.Entries.Any(e => (uint)e.Regs.orig_ax == 0))
            return new("restart-block", Verdict.Fail, $"no restart_syscall seen; nanosleep={(int)r.Word(60)}");
        // The entering instruction: INT80 (and v4.2's SYSCALL, which has no landing pad) report the ip after it.
        bool after = again.How == EntryMethod.Int80 || (d == EntryDesign.Linux42 && again.How == EntryMethod.Syscall32);
        uint at = after ? (uint)again.Regs.ip - 2 : (uint)again.Regs.ip;
        bool ok = r.Word(60) == 0 && r.Word(61) == 0x1515_1515;
        return new("restart-block", ok ? Verdict.Pass : Verdict.Fail,
            $"restart_syscall entered by {again.How} at {Sym(r, at)}; nanosleep={(int)r.Word(60)}");
    }

    sealed record Trap(uint Ip, uint Sp, uint Bp, uint Cx, uint Dx, uint[] Stack);

    static List<Trap> Traps(LabRun r)
    {
        var list = new List<Trap>();
        uint n = r.Peek(LabGuest.TrapLog) ?? 0;
        for (uint i = 0; i < Math.Min(n, 60); i++)
        {
            uint b = LabGuest.TrapLog + 4 + 40 * i;
            uint W(uint o) => r.Peek(b + o) ?? 0;
            list.Add(new Trap(W(0), W(4), W(8), W(12), W(16), [W(20), W(24), W(28), W(32), W(36)]));
        }
        return list;
    }

    /// <summary>Where the kernel returns to after the stub's entry instruction: the landing pad (or, on the
    /// linux-4.2 SYSCALL image, the instruction after SYSCALL).</summary>
    static uint? ReturnPoint(LabRun r) => r.LandingPad;

    static CheckResult Step(LabRun r)
    {
        if (!Ok(r)) return new("step", Verdict.Fail, Died(r));
        var traps = Traps(r);
        uint stub = r.Sysinfo, after = r.Word(10);
        bool regsOk = r.Word(3) == LabGuest.Pattern2 && r.Word(4) == LabGuest.Pattern3 && r.Word(7) == LabGuest.Pattern6;
        var inStub = traps.Where(t => t.Ip >= stub && t.Ip < stub + 64).ToList();
        string seq = string.Join(" ", inStub.Select(t => t.Ip == after ? "ret" : "+" + (t.Ip - stub)));
        if (r.VdsoBytes == null)
            return new("step", regsOk ? Verdict.Pass : Verdict.Fail, $"{traps.Count} traps; stub (no vDSO): {seq}");
        uint? pad = ReturnPoint(r);
        string verdict = "";
        bool ok = regsOk && traps.Any(t => t.Ip == after);
        if (pad is uint p && InsnAt(r, p) is { } first)
        {
            // The first instruction at the return point runs once, then the trap reports the next one.
            uint want = first.Mnemonic == Mnemonic.Ret ? after : p + (uint)first.Length;
            var afterKernel = traps.FirstOrDefault(t => t.Ip >= p && t.Ip < stub + 64 || t.Ip == after);
            bool right = afterKernel != null && afterKernel.Ip == want;
            ok &= right;
            verdict = afterKernel == null ? "; no trap after the kernel" : right ? $"; after the kernel: {Sym(r, afterKernel.Ip)} (right)"
                : $"; after the kernel: {Sym(r, afterKernel.Ip)}, expected {Sym(r, want)}";
        }
        return new("step", ok ? Verdict.Pass : Verdict.Fail, $"{inStub.Count} traps in the stub: {seq}{verdict}{(regsOk ? "" : "; registers changed")}");
    }

    static CheckResult Unwind(LabRun r)
    {
        if (r.VdsoBytes == null) return new("unwind", Verdict.NotApplicable, "no vDSO, no CFI");
        var traps = Traps(r).Where(t => t.Ip >= r.VdsoBase && t.Ip < r.VdsoBase + r.VdsoBytes.Length).ToList();
        if (traps.Count == 0) return new("unwind", Verdict.Fail, "no trap inside the vDSO");
        var cfi = new CfiEval(r.VdsoBytes);
        uint after = r.Word(10);
        int good = 0; var bad = new List<string>(); var regsLost = new SortedSet<string>();
        foreach (var t in traps)
        {
            var row = cfi.At(t.Ip - r.VdsoBase);
            if (row == null) { bad.Add($"{Sym(r, t.Ip)}: no FDE"); continue; }
            if (row.CfaExpr || row.CfaReg != 4) { bad.Add($"{Sym(r, t.Ip)}: CFA not esp-based"); continue; }
            uint cfa = t.Sp + (uint)row.CfaOffset;
            uint? Slot(int off) { long i = ((long)cfa + off - t.Sp) / 4; return i >= 0 && i < 5 && ((long)cfa + off - t.Sp) % 4 == 0 ? t.Stack[i] : null; }
            uint? ra = Slot(row.SavedAt.TryGetValue(8, out var raOff) ? raOff : -4);
            if (ra != after) { bad.Add($"{Sym(r, t.Ip)}: return address {(ra is uint x ? Hex(x) : "?")}"); continue; }
            good++;
            // Caller's ecx/edx/ebp: saved by CFI, or still live in the register at this point.
            foreach (var (reg, name, live, want) in new[] { (1, "ecx", t.Cx, LabGuest.Pattern2), (2, "edx", t.Dx, LabGuest.Pattern3), (5, "ebp", t.Bp, LabGuest.Pattern6) })
            {
                uint? v = row.SavedAt.TryGetValue(reg, out var o) ? Slot(o) : live;
                if (v != want) regsLost.Add($"{name}@{Sym(r, t.Ip)}");
            }
        }
        string lost = regsLost.Count == 0 ? "; caller's ecx/edx/ebp recoverable everywhere" : "; not recoverable: " + string.Join(" ", regsLost.Take(6)) + (regsLost.Count > 6 ? " …" : "");
        return new("unwind", bad.Count == 0 ? Verdict.Pass : Verdict.Fail,
            $"caller found from {good}/{traps.Count} instructions" + (bad.Count > 0 ? "; " + string.Join("; ", bad.Take(3)) : "") + lost);
    }

    static CheckResult Arg6(LabRun r, EntryMethod how)
    {
        string ins = how == EntryMethod.Sysenter ? "SYSENTER" : "SYSCALL";
        uint state = r.Word(31);
        if (state == 1)
            return new("arg6", (int)r.Word(30) == -14 ? Verdict.Pass : Verdict.Fail,
                $"{ins} returned to the instruction after it (no stub: bad ESP kept) with eax={(int)r.Word(30)}");
        if (state != 2) return new("arg6", Verdict.Fail, $"{ins}: {Died(r)}, no handler ran");
        int sig = (int)r.Word(32), ax = (int)r.Word(33);
        string name = Kernel.Signals.Sig.Name(sig);
        bool ok = sig is 11 or 7 && ax == -14 || sig == 4;
        return new("arg6", ok ? Verdict.Pass : Verdict.Fail, $"{ins}: {name} at {Sym(r, r.Word(34))}, eax={ax}");
    }

    static CheckResult Clone(LabRun r)
    {
        uint st = r.Word(40);
        int sig = (int)(st & 0x7f), code = (int)((st >> 8) & 0xff);
        if (r.Word(41) == 0xDEADBEEF) return new("clone", Verdict.Fail, Died(r) + " (parent)");
        if (sig != 0) return new("clone", Verdict.Fail, $"child killed by {Kernel.Signals.Sig.Name(sig)}");
        if (code is >= 10 and < 16)
        {
            int k = code - 10;
            return new("clone", k == 0 ? Verdict.Pass : Verdict.Fail,
                k == 0 ? "child returned to the word at its new stack top: usable with a prepared stack"
                       : $"child popped {k} word{(k > 1 ? "s" : "")} it never pushed (registers from the new stack), then returned");
        }
        return new("clone", Verdict.Fail, $"child status {Hex(st)}");
    }

    static CheckResult Symbol(LabRun r)
    {
        if (!Ok(r)) return new("symbol", Verdict.Fail, Died(r));
        uint found = r.Word(50);
        var e = r.Entries.LastOrDefault(x => (uint)x.Regs.orig_ax == 64);
        bool rightValue = (int)r.Word(51) > 0; // getppid() returned a pid
        if (found == 0) return new("symbol", rightValue ? Verdict.Pass : Verdict.Fail, $"no __kernel_vsyscall: fell back to int $0x80 ({e.How})");
        bool same = found == r.Sysinfo;
        return new("symbol", same && rightValue ? Verdict.Pass : Verdict.Fail,
            $"found {Sym(r, found)}{(same ? " = AT_SYSINFO" : $" but AT_SYSINFO = {Sym(r, r.Sysinfo)}")}; entered by {e.How}");
    }

    static CheckResult Sigreturn(LabRun r, LabRun restart)
    {
        if (r.Vdso == null || r.VdsoBytes == null) return new("sigreturn", Verdict.NotApplicable, "no vDSO: legacy frames use their on-stack retcode");
        uint sr = r.VdsoBase + (uint)r.Vdso.SymKernelSigreturn, rt = r.VdsoBase + (uint)r.Vdso.SymKernelRtSigreturn;
        var e1 = InsnAt(r, sr + 1 + 5);  // pop %eax; mov $119,%eax; <entry>
        var e2 = InsnAt(r, rt + 5);      // mov $173,%eax; <entry>
        var cfi = new CfiEval(r.VdsoBytes);
        bool s1 = cfi.Find((uint)r.Vdso.SymKernelSigreturn - 1)?.SignalFrame == true, s2 = cfi.Find((uint)r.Vdso.SymKernelRtSigreturn - 1)?.SignalFrame == true;
        bool worked = Ok(restart) && restart.Word(20) == 1;
        return new("sigreturn", worked && s1 && s2 ? Verdict.Pass : Verdict.Fail,
            $"__kernel_sigreturn: {Text(e1)}, __kernel_rt_sigreturn: {Text(e2)}; 'S' FDEs from sym-1: {(s1 && s2 ? "yes" : "no")}; handler returned through it: {(worked ? "yes" : "no")}");
    }

    /// <summary>A kernel selftest under a design, in a child compat32 so that its output is captured: pass = exit 0
    /// and no [FAIL]; [SKIP]/[WARN] lines are reported as such (the rule of tests/Compat32.Tests/Selftests).</summary>
    static SelftestVerdict Selftest(CpuModel m, EntryDesign d, string path)
    {
        string name = Path.GetFileName(path);
        if (Environment.ProcessPath is not { } self || Path.GetFileNameWithoutExtension(self) == "dotnet")
            return new SelftestVerdict(name, "not run (needs the compat32 executable)");
        var psi = new System.Diagnostics.ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--cpu", m.Name, "--design", Designs.Of(d).Name, path }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { try { p.Kill(true); } catch (InvalidOperationException) { } return new SelftestVerdict(name, "hang"); }
        string text = o.Result + e.Result;
        string v = p.ExitCode != 0 || text.Contains("[FAIL]") ? "FAIL" : text.Contains("[SKIP]") || text.Contains("[WARN]") ? "skip/warn" : "ok";
        return new SelftestVerdict(name, v);
    }

    static SelftestVerdict UserProgram(CpuModel m, EntryDesign d, string[] argv)
    {
        int code = RunFile(m, d, argv[0], argv, out bool hung);
        return new SelftestVerdict(Path.GetFileName(argv[0]), hung ? "hang" : code == 0 ? "ok" : $"exit {code}");
    }

    /// <summary>Runs an ELF file under a design (its stdout is the host's: the kernel model writes to fd 1).</summary>
    static int RunFile(CpuModel m, EntryDesign d, string path, string[] argv, out bool hung)
    {
        hung = false;
        var mach = MachineFactory.Create(m, new Kernel.KernelOptions { Design = d });
        var t = mach.Spawn(path, argv, Array.Empty<string>());
        var run = System.Threading.Tasks.Task.Run(mach.Run);
        if (!run.Wait(60_000)) { hung = true; Kernel.Exit.GroupExit(t, Kernel.Signals.Sig.SIGKILL, signal: true); run.Wait(5000); return 137; }
        return run.Result.ShellCode;
    }
}
