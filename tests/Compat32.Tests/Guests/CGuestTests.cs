using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Guests;

/// <summary>
/// C programs from tests/guests/c, built with gcc -m32 -static and run under compat32 and under qemu-i386:
/// stdout, stderr and exit status must be identical. Every .c file there must be covered by a case below.
/// </summary>
public class CGuestTests
{
    static void Same(string name, params string[] args) => Differential.AssertSame(GuestBuild.BuildC(name), args);

    static void SameInDir(string name, Func<string, string[]> args)
    {
        using var dir = TestEnv.NewTempDir(name);
        Differential.AssertSameInDir(dir, _ => { }, GuestBuild.BuildC(name), args(dir.Path));
    }

    [Fact] public void PrintfFloat() => Same("printf_float");
    [Fact] public void MallocHeavy() => Same("malloc_heavy");
    [Fact] public void Qsort() => Same("qsort");
    [Fact] public void SetjmpLongjmp() => Same("setjmp");
    [Fact] public void ThreadLocalStorage() => Same("tls");
    [Fact] public void StringFunctions() => Same("strings");
    [Fact] public void StrtodStrtol() => Same("strtonum");
    [Fact] public void TimeFunctions() => Same("timefn");
    [Fact] public void Pipes() => Same("pipes");
    [Fact] public void ProcSelfExe() => Same("procexe");
    [Fact] public void MiscSyscalls() => Same("syscalls");
    [Fact] public void FileIo() => SameInDir("fileio", d => [d]);
    [Fact] public void GetcwdChdir() => SameInDir("cwd", d => [d]);

    [Fact]
    public void EnvironmentAndArgv()
    {
        var env = Proc.BaseEnv();
        env["C32T_A"] = "alpha";
        env["C32T_B"] = "with spaces and = signs";
        env["C32T_EMPTY"] = "";
        Differential.AssertSame(GuestBuild.BuildC("envargv"), ["one", "two words", "", "ünïcödé", "--help", "-E", "X=1"],
            new Differential.Options { Env = env });
    }

    [Theory]
    [InlineData("return", "0")] [InlineData("return", "1")] [InlineData("return", "42")] [InlineData("return", "255")]
    [InlineData("return", "256")] [InlineData("exit", "7")] [InlineData("exit", "-1")] [InlineData("exit", "1000")]
    [InlineData("_exit", "3")] [InlineData("_exit", "128")]
    public void ExitCodes(string how, string code) => Same("exitcode", how, code);

    [Fact]
    public void EveryGuestSourceHasATest()
    {
        var covered = new HashSet<string> { "printf_float", "malloc_heavy", "qsort", "setjmp", "tls", "strings", "strtonum", "timefn",
            "pipes", "procexe", "syscalls", "fileio", "cwd", "envargv", "exitcode", "crash" /* Elf/FatalSignalTests */ };
        covered.UnionWith(MmGuestTests.Guests);
        var all = Directory.GetFiles(TestEnv.RepoPath("tests", "guests", "c"), "*.c").Select(Path.GetFileNameWithoutExtension);
        Assert.Empty(all.Where(n => !covered.Contains(n!)));
    }
}
