using Compat32.Cpu;
using Compat32.Entry;

namespace Compat32.Lab;

/// <summary>
/// A modelled cycle cost, built only from figures somebody measured and published: the cycle counts in the
/// kernel's own commit messages and in the 2015 thread. Where no such figure exists (IRET against SYSRETL, the
/// proposal's second load) the model says so instead of inventing one; emulated wall time is never used.
/// </summary>
public static class CostModel
{
    public sealed record Figure(string Id, string What, double Cycles, string Where, string Source);

    public static readonly Figure[] Figures =
    [
        new("F1", "SYSRETL instead of POPFQ+STI+SYSEXIT to leave a compat SYSENTER", -30, "Intel (the author's machine)",
            "torvalds/linux 4214a16b0297, \"x86/asm/entry/64/compat: Use SYSRETL to return from compat mode SYSENTER\": \"Oddly this seems to be 30 cycles or so faster\""),
        new("F2", "saving the six registers a partial pt_regs skips (bx, bp, r12-r15) on every fast entry", 10, "Sandy Bridge",
            "LKML 2015-08-24, Andy Lutomirski, \"Proposal for finishing the 64-bit x86 syscall cleanup\" (lkml.iu.edu/hypermail/linux/kernel/1508.3/00781.html): \"adds about ten cycles to fast path syscalls on Sandy Bridge\""),
    ];

    /// <summary>User-memory loads the kernel entry makes per fast syscall (arg 6, or the proposal's dx and cx).</summary>
    public static int UserFetches(EntryDesign d, EntryMethod fast) =>
        fast == EntryMethod.Int80 ? 0 : d == EntryDesign.Proposal2015 ? 2 : 1;

    /// <summary>Cycles relative to linux-4.3 on the same model, per getppid, from the cited figures only; the note
    /// names the figures used and what was left out for want of one.</summary>
    public static (double? Cycles, string Note) Delta(EntryDesign d, CpuModel m, Dictionary<string, double> entries, Dictionary<string, double> exits)
    {
        var used = new List<string>();
        var missing = new List<string>();
        double c = 0;
        double fastEntries = entries[nameof(EntryMethod.Sysenter)] + entries[nameof(EntryMethod.Syscall32)];
        if (d == EntryDesign.Linux42 && m.Kernel64 && fastEntries > 0)
        {
            // v4.2's compat fast paths built a partial pt_regs; 4.4 and later push all of it.
            c -= 10 * fastEntries; used.Add("F2");
        }
        if (d == EntryDesign.Proposal2015 && fastEntries > 0) missing.Add("2nd user load (\"a wee bit slower\", unquantified)");
        double irets = exits[nameof(ExitMethod.Iret)];
        bool baselineFast = m.Kernel64 ? m.FeatureSysenter32 || m.FeatureSyscall32 : m.Sep;
        if (baselineFast && irets > 0.5 && d != EntryDesign.Linux43) missing.Add("IRET in place of SYSRETL/SYSEXIT (no cited cycle count)");
        if (!baselineFast && fastEntries > 0) missing.Add("fast entry where 4.3 uses int80 (no cited cycle count)");
        string note = (used.Count > 0 ? "uses " + string.Join(", ", used) : d == EntryDesign.Linux43 ? "baseline" : "no cited difference")
            + (missing.Count > 0 ? "; not modelled: " + string.Join("; ", missing) : "");
        return (missing.Count > 0 ? null : c, note);
    }
}
