using System.Globalization;
using Compat32.Cpu;
using Compat32.Entry;

namespace Compat32.Lab;

/// <summary>What a published figure measures: one instruction's latency, a whole round trip into the kernel and
/// back (entry + exit, and whatever the kernel did in between), or a difference between two kernels.</summary>
public enum FigureKind { Instruction, RoundTrip, Delta }

/// <summary>One published figure: its value, the CPU it was measured on, the document and the place in it, and how
/// the lab uses it (or why it does not).</summary>
public sealed record Figure(string Id, FigureKind Kind, string What, double Value, string Unit, string Where, string Source, string Use)
{
    public string ValueText => (Kind == FigureKind.Delta ? Value.ToString("+0;-0", CultureInfo.InvariantCulture)
        : Value.ToString("0.##", CultureInfo.InvariantCulture)) + " " + Unit;
}

/// <summary>One line of a cost table: what one entry instruction, one exit instruction, or one entry + exit pair
/// (a round-trip figure) costs. A pair line consumes one entry and one exit of the kinds it names.</summary>
public sealed record Rate(EntryMethod? Entry, ExitMethod? Exit, Figure Figure);

/// <summary>The cost table that stands for one CPU model: the generation the figures were measured on, the lines,
/// and why any transition it has no line for stays '?'.</summary>
public sealed record CostTable(string Generation, Rate[] Rates, string Gap);

/// <summary>A modelled number with the keys of the figures it rests on; Cycles is null when a part has no figure,
/// and Note then says which part.</summary>
public sealed record Modelled(double? Cycles, IReadOnlyList<string> Keys, string Note)
{
    public string Cell(bool signed) => Cycles is double c
        ? c.ToString(signed ? "+0;-0;0" : "0", CultureInfo.InvariantCulture) + (Keys.Count > 0 ? " [" + string.Join(",", Keys) + "]" : "")
        : "?";
}

/// <summary>
/// A modelled cycle cost, built only from figures somebody measured and published: vendor optimisation manuals,
/// and the cycle counts in the kernel's own commit messages and mailing-list threads. Where no figure exists the
/// model says '?' and why, instead of inventing or interpolating one; emulated wall time is never used.
/// Two numbers per row: the entry and exit transitions of one getppid (from the model's cost table), and the
/// difference against linux-4.3 on the same model (transitions plus the kernel-side figures F1/F2).
/// </summary>
public static class CostModel
{
    // Intel, 64-bit kernels: differences the kernel's own commit messages and thread measured.
    static readonly Figure F1 = new("F1", FigureKind.Delta, "SYSRETL instead of POPFQ+STI+SYSEXIT to leave a compat SYSENTER", -30, "cycles",
        "Intel (the author's machine, not named)",
        "torvalds/linux 4214a16b0297, \"x86/asm/entry/64/compat: Use SYSRETL to return from compat mode SYSENTER\": \"Oddly this seems to be 30 cycles or so faster\"",
        "not applied: every design here leaves a 64-bit kernel's SYSENTER by SYSRETL (v4.2 already has 4214a16b0297), none by SYSEXIT");
    static readonly Figure F2 = new("F2", FigureKind.Delta, "saving the six registers a partial pt_regs skips (bx, bp, r12-r15) on every fast entry", 10, "cycles",
        "Intel Sandy Bridge",
        "LKML 2015-08-24, Andy Lutomirski, \"Proposal for finishing the 64-bit x86 syscall cleanup\" (lkml.iu.edu/hypermail/linux/kernel/1508.3/00781.html): \"adds about ten cycles to fast path syscalls on Sandy Bridge\"",
        "Δ of linux-4.2 (partial pt_regs) on the Intel 64-bit models: -10 per fast entry; not applied to AMD (no AMD figure)");

    // AMD K8: the vendor's own latency table.
    const string K8 = "AMD K8 (Athlon 64 / Opteron, family 0Fh)";
    const string Amd25112 = "AMD, Software Optimization Guide for AMD64 Processors, pub. 25112 rev. 3.06 (Sept. 2005), Appendix C, Table 13 \"Integer Instructions\", row ";
    static readonly Figure F3 = new("F3", FigureKind.Instruction, "SYSCALL latency", 27, "cycles",
        K8, Amd25112 + "\"SYSCALL 0Fh 05h VectorPath 27\" (p. 300)",
        "cost table of the amd model: one SYSCALL32 entry");
    static readonly Figure F4 = new("F4", FigureKind.Instruction, "SYSRET latency (the table has one SYSRET row for every operand size)", 35, "cycles",
        K8, Amd25112 + "\"SYSRET 0Fh 07h VectorPath 35\" (p. 300); the SYSENTER and SYSEXIT rows there give no number (\"~\")",
        "cost table of the amd model: one SYSRETL exit");

    // Intel Pentium 4, 32-bit kernel: the round trips Linus measured when he added sysenter (the thread the vsyscall page came from).
    const string P4 = "Intel Pentium 4 (NetBurst), Linux 2.5.52 32-bit kernel";
    static readonly Figure F5 = new("F5", FigureKind.RoundTrip, "one getppid() round trip through the vsyscall page's SYSENTER/SYSEXIT (call 0xfffff000, rdtsc over 10^6 calls)", 641, "cycles",
        P4,
        "LKML 2002-12-16, Linus Torvalds, \"Re: Intel P6 vs P7 system call performance\" (Message-ID <Pine.LNX.4.44.0212162140500.1644-100000@home.transmeta.com>): \"On my P4 machine, a \\\"getppid()\\\" is 641 cycles with sysenter/sysexit\"",
        "cost table of the i386 model: one SYSENTER entry + one SYSEXIT exit (the whole getppid, kernel work included)");
    static readonly Figure F6 = new("F6", FigureKind.RoundTrip, "one getppid() round trip through an inline int $0x80 / iret (rdtsc over 10^6 calls)", 1761, "cycles",
        P4,
        "same mail as F5: \"and something like 1761 cycles with the old \\\"int 0x80/iret\\\" approach\"",
        "cost table of the i386 model: one INT80 entry + one IRET exit (the whole getppid, kernel work included)");

    // Found, measured, and not usable for any model here (kept so the search is on record).
    static readonly Figure F7 = new("F7", FigureKind.RoundTrip, "SYSCALL/SYSRET and SYSENTER/SYSEXIT round trips from 64-bit user mode to an empty handler (\"around 70 cycles\" each)", 70, "cycles",
        "Intel Xeon E3-1270 v5 (Skylake), in a VM",
        "Julian Stecklina, \"1001 Ways of Implementing a System Call\", x86.lol 2019-07-04 (blitz/x86.lol _posts/2019-07-04-kernel-entry.md; code blitz/kernel_entry_benchmark): \"Both modern methods cost around 70 cycles per roundtrip\"",
        "not applied: 64-bit mode, not compat mode, and neither pair is one a compat path uses on a 64-bit kernel (SYSENTER leaves by SYSRETL); its interrupt-gate figure is only drawn as a bar");
    static readonly Figure F8 = new("F8", FigureKind.Delta, "SYSRET instead of IRET on the 64-bit slow-path exit (getpid with CONFIG_CONTEXT_TRACKING_FORCE: ~360 ns -> ~280 ns)", -80, "ns",
        "the author's computer (not named)",
        "torvalds/linux 2a23c6b8a9c4, \"x86_64, entry: Use sysret to return to userspace when possible\": \"this cuts nearly 80ns off of the overhead\"",
        "not applied: nanoseconds on an unnamed CPU (no clock to turn them into cycles), 64-bit syscalls");
    public static readonly Figure[] Figures = [F1, F2, F3, F4, F5, F6, F7, F8];

    static readonly CostTable IntelCompat = new("Intel, 64-bit kernel (compat mode)", [],
        "no cycle count for compat-mode SYSENTER, SYSRETL, INT 0x80 or IRET on a 64-bit Intel kernel was found (none in the vendor manuals that could be read; F7 is 64-bit mode only; F8 is ns on an unnamed CPU)");
    static readonly CostTable AmdK8 = new("AMD K8 (family 0Fh) latencies", [new(EntryMethod.Syscall32, null, F3), new(null, ExitMethod.Sysretl, F4)],
        "the INT and IRET rows of AMD 25112 Table 13 could not be read in any stored copy, and its SYSENTER/SYSEXIT rows give \"~\"; no other AMD figure was found");
    static readonly CostTable Pentium4 = new("Intel Pentium 4, 32-bit kernel, getppid round trips",
        [new(EntryMethod.Sysenter, ExitMethod.Sysexit, F5), new(EntryMethod.Int80, ExitMethod.Iret, F6)],
        "F5/F6 price only the SYSENTER+SYSEXIT and INT80+IRET pairs as measured; no figure for other combinations");

    /// <summary>The cost table that stands for a model: by vendor and kernel, the generation named.</summary>
    public static CostTable TableFor(CpuModel m) => m.Vendor == CpuVendor.Amd ? AmdK8 : m.Kernel64 ? IntelCompat : Pentium4;

    /// <summary>Cycles of the entry and exit transitions per syscall from the model's cost table: pair lines first
    /// (each takes one entry and one exit), then single instructions; any transition left over makes it '?'.</summary>
    public static Modelled Transitions(CpuModel m, IReadOnlyDictionary<string, double> entries, IReadOnlyDictionary<string, double> exits)
    {
        var t = TableFor(m);
        var e = entries.Where(kv => kv.Value > 0.001).ToDictionary(kv => kv.Key, kv => kv.Value);
        var x = exits.Where(kv => kv.Value > 0.001).ToDictionary(kv => kv.Key, kv => kv.Value);
        double c = 0;
        var keys = new List<string>();
        var parts = new List<string>();
        foreach (var r in t.Rates.OrderBy(r => r.Entry != null && r.Exit != null ? 0 : 1))
        {
            double n = Math.Min(r.Entry is { } a ? e.GetValueOrDefault(a.ToString()) : double.MaxValue,
                                r.Exit is { } b ? x.GetValueOrDefault(b.ToString()) : double.MaxValue);
            if (n <= 0.001 || n == double.MaxValue) continue;
            c += n * r.Figure.Value;
            if (r.Entry is { } ea) e[ea.ToString()] -= n;
            if (r.Exit is { } xb) x[xb.ToString()] -= n;
            keys.Add(r.Figure.Id);
            parts.Add($"{Count(n)} {Name(r)} × {r.Figure.Value.ToString("0.##", CultureInfo.InvariantCulture)} ({r.Figure.Id})");
        }
        var left = e.Where(kv => kv.Value > 0.001).Select(kv => $"{Count(kv.Value)} {kv.Key.ToUpperInvariant()}")
            .Concat(x.Where(kv => kv.Value > 0.001).Select(kv => $"{Count(kv.Value)} {kv.Key.ToUpperInvariant()}")).ToList();
        if (left.Count > 0)
            return new(null, keys, $"{t.Generation}: no figure for {string.Join(" + ", left)}: {t.Gap}");
        return new(c, keys, $"{t.Generation}: {string.Join(" + ", parts)}");
    }

    static string Count(double n) => n.ToString("0.##", CultureInfo.InvariantCulture);
    static string Name(Rate r) => string.Join("+", new[] { r.Entry?.ToString().ToUpperInvariant(), r.Exit?.ToString().ToUpperInvariant() }.Where(s => s != null));

    /// <summary>The transitions linux-4.3 takes for one getppid on a model: its fast entry and SYSRETL (64-bit) or
    /// SYSEXIT (32-bit), or INT80 and IRET where the model has no fast path (common.c do_fast_syscall_32).</summary>
    public static (Dictionary<string, double> Entries, Dictionary<string, double> Exits) Baseline(CpuModel m)
    {
        var fast = Kernel.VdsoSetup.FastEntryOf(m);
        var exit = fast == EntryMethod.Int80 ? ExitMethod.Iret : m.Kernel64 ? ExitMethod.Sysretl : ExitMethod.Sysexit;
        return (Enum.GetValues<EntryMethod>().ToDictionary(k => k.ToString(), k => k == fast ? 1.0 : 0),
                Enum.GetValues<ExitMethod>().ToDictionary(k => k.ToString(), k => k == exit ? 1.0 : 0));
    }

    /// <summary>User-memory loads the kernel entry makes per fast syscall (arg 6, or the proposal's dx and cx).</summary>
    public static int UserFetches(EntryDesign d, EntryMethod fast) =>
        fast == EntryMethod.Int80 ? 0 : d == EntryDesign.Proposal2015 ? 2 : 1;

    /// <summary>Cycles relative to linux-4.3 on the same model, per getppid: the difference of the modelled
    /// transitions (where the row's differ from linux-4.3's) plus the kernel-side figures; '?' where any part has
    /// no figure, and the note names it.</summary>
    public static Modelled Delta(EntryDesign d, CpuModel m, IReadOnlyDictionary<string, double> entries, IReadOnlyDictionary<string, double> exits)
    {
        var keys = new List<string>();
        var used = new List<string>();
        var missing = new List<string>();
        double c = 0;
        var (be, bx) = Baseline(m);
        bool same = Same(entries, be) && Same(exits, bx);
        if (!same)
        {
            var row = Transitions(m, entries, exits);
            var bas = Transitions(m, be, bx);
            if (row.Cycles is double a && bas.Cycles is double b)
            {
                c += a - b;
                foreach (var k in row.Keys.Concat(bas.Keys)) if (!keys.Contains(k)) keys.Add(k);
                used.Add($"transitions {a.ToString("0.##", CultureInfo.InvariantCulture)} - linux-4.3's {b.ToString("0.##", CultureInfo.InvariantCulture)}");
            }
            else missing.Add(row.Cycles == null ? "this row's entry/exit (? in the cycles column)" : "linux-4.3's entry/exit on this model (no figure: " + bas.Note + ")");
        }
        double fastEntries = entries.GetValueOrDefault(nameof(EntryMethod.Sysenter)) + entries.GetValueOrDefault(nameof(EntryMethod.Syscall32));
        if (d == EntryDesign.Linux42 && m.Kernel64 && fastEntries > 0)
        {
            // v4.2's compat fast paths built a partial pt_regs; 4.4 and later push all of it.
            if (m.Vendor == CpuVendor.Intel) { c -= F2.Value * fastEntries; keys.Add(F2.Id); used.Add("partial pt_regs (F2)"); }
            else missing.Add("v4.2's partial pt_regs (F2 was measured on Intel Sandy Bridge; no AMD figure)");
        }
        if (d == EntryDesign.Proposal2015 && fastEntries > 0) missing.Add("the 2nd user load (\"a wee bit slower\", unquantified)");
        var says = new List<string>();
        if (used.Count > 0) says.Add("uses " + string.Join("; ", used));
        else if (d == EntryDesign.Linux43) says.Add("baseline");
        else if (missing.Count == 0) says.Add("same transitions as linux-4.3, no cited difference");
        if (missing.Count > 0) says.Add("not modelled: " + string.Join("; ", missing));
        string note = string.Join("; ", says);
        return new(missing.Count > 0 ? null : c, missing.Count > 0 ? [] : keys, note);
    }

    static bool Same(IReadOnlyDictionary<string, double> a, IReadOnlyDictionary<string, double> b) =>
        a.Keys.Union(b.Keys).All(k => Math.Abs(a.GetValueOrDefault(k) - b.GetValueOrDefault(k)) < 0.001);
}
