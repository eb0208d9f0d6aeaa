using System.Runtime.Intrinsics.X86;
using System.Text;
using Compat32.Cpu;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Harness;

/// <summary>
/// The host kernel itself as the reference, where it runs i386 programs (IA32 emulation compiled in and enabled,
/// and no binfmt_misc handler standing in for it): the true Linux behaviour where qemu-i386 is wrong or hangs
/// (vfork sharing memory, robust futexes). Elsewhere the tests that need it are reported skipped with the reason.
/// The host CPU is the reference only for what the vendors share or where a model's vendor is the host's: elsewhere
/// a test names the parts of its guest's output that are one vendor's (VendorSpecific), which are left out of the
/// comparison and said so in the test output.
/// </summary>
public static class NativeI386
{
    static readonly Lazy<string?> whyNot = new(Probe);

    /// <summary>Null when the host runs i386 programs natively; otherwise why not.</summary>
    public static string? WhyUnavailable => whyNot.Value;

    static string? Probe()
    {
        if (System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
            return "the host is not x86-64, so it cannot run i386 programs natively";
        if (File.Exists("/proc/sys/fs/binfmt_misc/qemu-i386"))
            return "i386 programs here would run under qemu's binfmt_misc handler, not the host kernel";
        string? bb = Environment.GetEnvironmentVariable("COMPAT32_BUSYBOX");
        if (bb == null || !File.Exists(bb)) return "no i386 probe program (COMPAT32_BUSYBOX is set by ./test.sh)";
        try
        {
            var r = Proc.Run(bb, ["sh", "-c", "exit 7"], timeoutMs: 20_000);
            return r.ExitCode == 7 ? null : $"the host kernel does not run i386 programs (probe exit {r.ExitCode}: no IA32 emulation)";
        }
        catch (Exception e) { return "the host kernel does not run i386 programs: " + e.Message; }
    }

    public static ProcResult Run(string prog, IEnumerable<string> args, Differential.Options? o = null)
    {
        o ??= new Differential.Options();
        return Proc.Run(prog, args, o.Cwd, o.Env ?? Proc.BaseEnv(), o.Stdin, o.TimeoutMs);
    }

    /// <summary>compat32 against the host kernel: stdout, stderr and exit status identical.</summary>
    public static void AssertSame(string prog, IReadOnlyList<string> args, Differential.Options? o = null) =>
        AssertSame(prog, args, o, [], null);

    /// <summary>The host CPU's vendor (CPUID leaf 0; Hygon's counts as AMD's), null off x86 or for another vendor.</summary>
    public static CpuVendor? HostVendor => hostVendor.Value;
    static readonly Lazy<CpuVendor?> hostVendor = new(() =>
    {
        if (!X86Base.IsSupported) return null;
        var (_, b, c, d) = X86Base.CpuId(0, 0);
        string v = string.Concat(new[] { b, d, c }.Select(r => Encoding.ASCII.GetString(BitConverter.GetBytes(r))));
        return v switch { "GenuineIntel" => CpuVendor.Intel, "AuthenticAMD" or "HygonGenuine" => CpuVendor.Amd, _ => null };
    });

    /// <summary>The host CPU has AMD's misaligned SSE mode (CPUID 8000_0001h:ECX[7] MisAlignSse): MXCSR bit 17 (MM)
    /// is writable there, so FXSAVE's MXCSR_MASK shows it. No model has it.</summary>
    public static bool HostMisalignSse => X86Base.IsSupported && (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax >= 0x80000001u
        && (X86Base.CpuId(unchecked((int)0x80000001), 0).Ecx & 1 << 7) != 0;

    /// <summary>A part of a guest's output that is one vendor's (or one host's) rather than the architecture's: the
    /// title line the guest prints, with the lines after it that start with a space, and why it is left out.</summary>
    public sealed record Section(string Title, string Why);

    /// <summary>The sections named where the model's vendor is not the host CPU's (none where they are the same: then
    /// everything is compared).</summary>
    public static Section[] VendorSpecific(CpuModel model, params string[] titles) =>
        HostVendor == model.Vendor ? []
        : [.. titles.Select(t => new Section(t, $"the {model.Name} model follows {Name(model.Vendor)}, the host CPU is {(HostVendor is { } v ? Name(v) + "'s" : "neither vendor's")}"))];

    static string Name(CpuVendor v) => v == CpuVendor.Amd ? "AMD" : "Intel";

    /// <summary>AssertSame with the sections leftOut removed from both outputs, each said in the test output (log) and
    /// in a failure's message; a section the native run does not print fails the test (the guest and the test
    /// disagree on its title, and the filter would compare nothing).</summary>
    public static void AssertSame(string prog, IReadOnlyList<string> args, Differential.Options? o, IReadOnlyCollection<Section> leftOut, ITestOutputHelper? log)
    {
        if (leftOut.Count > 0 && log == null) throw new ArgumentException("what is left out of a comparison must be said in the test output");
        var n = Run(prog, args, o);
        var c = Differential.RunCompat32(prog, args, o);
        string label = $"{Path.GetFileName(prog)} {string.Join(' ', args)}";
        var note = new StringBuilder();
        foreach (var s in leftOut)
        {
            note.Append($"left out of the comparison with the host kernel: \"{s.Title}\" ({s.Why})\n");
            log!.WriteLine($"{label}: left out of the comparison with the host kernel: \"{s.Title}\" ({s.Why})");
        }
        string nOut = Without(n.Out, leftOut, out var absent), cOut = Without(c.Out, leftOut, out _);
        Assert.True(absent.Count == 0 || n.ExitCode != 0, $"{label}: the native run printed no section \"{string.Join("\", \"", absent)}\" to leave out:\n{n.Out}");
        Assert.True(nOut == cOut && n.ExitCode == c.ExitCode && (o?.CompareStderr == false || n.Err == c.Err),
            $"{label}: differs from the host kernel\n{note}--- native (exit {n.ExitCode}):\n{nOut}{n.Err}\n--- compat32 (exit {c.ExitCode}):\n{cOut}{c.Err}");
    }

    /// <summary>The output without the sections (each title line and the indented lines under it), a marker line in
    /// the place of each; absent: the titles not found.</summary>
    static string Without(string output, IReadOnlyCollection<Section> sections, out List<string> absent)
    {
        absent = [.. sections.Select(s => s.Title)];
        if (sections.Count == 0) return output;
        var sb = new StringBuilder();
        bool skipping = false;
        foreach (var line in output.Split('\n'))
        {
            if (skipping && line.StartsWith(' ')) continue;
            skipping = false;
            if (sections.Any(s => s.Title == line))
            {
                absent.Remove(line);
                sb.Append($"[left out: {line}]\n");
                skipping = true;
                continue;
            }
            sb.Append(line).Append('\n');
        }
        return sb.ToString(0, Math.Max(0, sb.Length - 1));
    }
}

/// <summary>A fact that needs the host kernel as its reference (skipped with the reason where it cannot).</summary>
public sealed class NativeI386FactAttribute : FactAttribute
{
    public NativeI386FactAttribute() { if (NativeI386.WhyUnavailable is { } why) Skip = why; }
}

public sealed class NativeI386TheoryAttribute : TheoryAttribute
{
    public NativeI386TheoryAttribute() { if (NativeI386.WhyUnavailable is { } why) Skip = why; }
}

/// <summary>
/// A fact whose guest execs i386 programs (busybox starting its own applets, a program re-executing itself) and is
/// compared with qemu-i386: qemu-i386 hands such an execve to the host kernel, so its side of the comparison is only
/// right where that kernel runs i386 programs, natively or through qemu's binfmt_misc handler. Elsewhere (no IA32
/// emulation) the reference itself fails ("httpd: not found") and the test is reported skipped with the reason.
/// </summary>
public sealed class QemuExecFactAttribute : FactAttribute
{
    public QemuExecFactAttribute() { if (WhyNot() is { } why) Skip = why; }

    public static string? WhyNot() =>
        File.Exists("/proc/sys/fs/binfmt_misc/qemu-i386") || NativeI386.WhyUnavailable is not { } why ? null
        : "the guest execs i386 programs and qemu-i386, the reference, hands them to the host kernel: " + why;
}
