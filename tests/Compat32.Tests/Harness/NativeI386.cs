using Xunit;

namespace Compat32.Tests.Harness;

/// <summary>
/// The host kernel itself as the reference, where it runs i386 programs (IA32 emulation compiled in and enabled,
/// and no binfmt_misc handler standing in for it): the true Linux behaviour where qemu-i386 is wrong or hangs
/// (vfork sharing memory, robust futexes). Elsewhere the tests that need it are reported skipped with the reason.
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
    public static void AssertSame(string prog, IReadOnlyList<string> args, Differential.Options? o = null)
    {
        var n = Run(prog, args, o);
        var c = Differential.RunCompat32(prog, args, o);
        Assert.True(n.Out == c.Out && n.ExitCode == c.ExitCode && (o?.CompareStderr == false || n.Err == c.Err),
            $"{Path.GetFileName(prog)} {string.Join(' ', args)}: differs from the host kernel\n--- native (exit {n.ExitCode}):\n{n.Out}{n.Err}\n--- compat32 (exit {c.ExitCode}):\n{c.Out}{c.Err}");
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
