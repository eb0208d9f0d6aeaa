using Compat32.Tests.Debian;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Guests;

/// <summary>
/// Programs in Go and Rust, whose runtimes lean on the kernel harder than C's: Go's (threads it starts itself,
/// futexes, SIGURG preemption sent thread to thread, epoll, vfork-style exec, the vDSO's clock) and Rust's std
/// (futex locks, DWARF unwinding through libgcc_s, process spawning). Each source is built for i386 by Debian's
/// own toolchain and for the host; the host build's output is the reference (what the program prints does not
/// depend on the architecture), and the host kernel running the i386 build is a second one where it can.
/// qemu-i386 is not a reference here: Debian's (7.2) dies in the Go 1.19 runtime (SIGSEGV in runqput).
/// Each runs a few times: the output must not depend on how the guest's threads interleave.
/// </summary>
public class LanguageRuntimeTests(ITestOutputHelper log)
{
    const int Rounds = 3;

    static Differential.Options Opts
    {
        get
        {
            var env = Proc.BaseEnv();
            env[CpuBaseline.Variable] = ""; // compat32's default CPU (SSE2): Go's 386 port needs MMX and SSE2
            return new()
            {
                // /bin/sh is the sysroot's dash, so exec'ing a shell starts an i386 guest, as it would on i386 Linux
                Compat32Options = ["-L", DebianSysroot.Dir],
                Env = env,
                TimeoutMs = 300_000,
            };
        }
    }

    [GoFact]
    public void GoProgramPrintsWhatItsAmd64BuildPrints()
    {
        string g386 = LangBuild.BuildGo(LangBuild.GoSource("langrt"), "386");
        string g64 = LangBuild.BuildGo(LangBuild.GoSource("langrt"), "amd64");
        var want = Proc.Run(g64, [], env: Proc.BaseEnv(), timeoutMs: 120_000);
        Assert.True(want.ExitCode == 3, $"the amd64 build itself failed (exit {want.ExitCode}):\n{want.Out}{want.Err}");
        Assert.Contains("preempted; slept true", want.Out);
        for (int i = 0; i < Rounds; i++)
        {
            var c = Differential.RunCompat32(g386, [], Opts);
            log.WriteLine($"round {i}: {c.Elapsed.TotalMilliseconds:F0} ms");
            Assert.True(c.ExitCode == want.ExitCode && c.Out == want.Out,
                $"round {i}: the GOARCH=386 build under compat32 differs\n--- amd64 (exit {want.ExitCode}):\n{want.Out}\n--- compat32 (exit {c.ExitCode}):\n{c.Out}{c.Err}");
            Assert.Equal("", c.Err);
        }
    }

    [RustFact]
    public void RustProgramPrintsWhatItsX86_64BuildPrints()
    {
        string r386 = LangBuild.BuildRust(LangBuild.RustSource("langrt"), "i686-unknown-linux-gnu");
        string r64 = LangBuild.BuildRust(LangBuild.RustSource("langrt"), null);
        var env = Proc.BaseEnv();
        var want = Proc.Run(r64, [], env: env, timeoutMs: 120_000);
        Assert.True(want.ExitCode == 3, $"the x86-64 build itself failed (exit {want.ExitCode}):\n{want.Out}{want.Err}");
        string panicLine = FirstLine(want.Err);
        Assert.Contains("index out of bounds", panicLine);
        for (int i = 0; i < Rounds; i++)
        {
            var c = Differential.RunCompat32(r386, [], Opts);
            log.WriteLine($"round {i}: {c.Elapsed.TotalMilliseconds:F0} ms");
            Assert.True(c.ExitCode == want.ExitCode && c.Out == want.Out,
                $"round {i}: the i686 build under compat32 differs\n--- x86-64 (exit {want.ExitCode}):\n{want.Out}\n--- compat32 (exit {c.ExitCode}):\n{c.Out}{c.Err}");
            // the panic message the unwinder's caller prints (the backtrace below it names std's frames)
            Assert.Equal(panicLine, FirstLine(c.Err));
        }
    }

    [GoFact(NativeI386 = true)]
    public void GoProgramMatchesTheHostKernel() =>
        NativeI386.AssertSame(LangBuild.BuildGo(LangBuild.GoSource("langrt"), "386"), [], Opts with { Compat32Options = [] });

    [RustFact(NativeI386 = true)]
    public void RustProgramMatchesTheHostKernel() =>
        NativeI386.AssertSame(LangBuild.BuildRust(LangBuild.RustSource("langrt"), "i686-unknown-linux-gnu"), [],
            Opts with { Compat32Options = [], CompareStderr = false });

    static string FirstLine(string s) => s.Split('\n')[0];
}
