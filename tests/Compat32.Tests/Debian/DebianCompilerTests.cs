using System.Text;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Debian;

/// <summary>
/// A compiler as a guest: Debian's i386 gcc-12 and binutils from the extra sysroot `sysroot-i386-cc` (test.sh).
/// The driver forks and execs cc1, as, collect2 and ld, passing temporary files between them; cc1 is a large,
/// branchy program whose output is deterministic, so what it writes is a byte-for-byte check of the CPU over
/// millions of instructions. qemu-i386 is the reference for each tool run on its own (it does not follow the
/// driver's execve: it would hand cc1 to the host), with the exact command line the driver gives it (`gcc -###`).
/// </summary>
public class DebianCompilerTests(ITestOutputHelper log)
{
    static string Sysroot => DebianSysroot.ExtraDir("cc");
    static string Gcc => Path.Combine(Sysroot, "usr", "bin", "gcc-12");

    static Dictionary<string, string> Env(string home)
    {
        var env = Proc.BaseEnv();
        env["HOME"] = home;
        env["COMPAT32_CACHE"] = TestEnv.Cache;
        env["PATH"] = "/usr/bin:/bin"; // the sysroot's (compat32 -L looks absolute paths up there first)
        return env;
    }

    ProcResult Compat(string cwd, Dictionary<string, string> env, string prog, params string[] args)
    {
        var r = Differential.RunCompat32(prog, args, new Differential.Options
        {
            Cwd = cwd, Env = env, TimeoutMs = 600_000, Compat32Options = ["--sysroot", Sysroot],
        });
        log.WriteLine($"compat32 {r.Elapsed.TotalSeconds:F2} s: {Path.GetFileName(prog)} {string.Join(' ', args)}");
        return r;
    }

    ProcResult Qemu(string cwd, Dictionary<string, string> env, string prog, params string[] args)
    {
        var r = Proc.Run(TestEnv.Qemu, ["-cpu", TestEnv.QemuCpu, "-L", Sysroot, prog, .. args], cwd, env, null, 600_000);
        log.WriteLine($"qemu-i386 {r.Elapsed.TotalSeconds:F2} s: {Path.GetFileName(prog)} {string.Join(' ', args)}");
        return r;
    }

    [ExtraSysrootFact("cc", "gcc-12")]
    public void CompilerAndAssemblerOutputIsQemus()
    {
        using var dir = TestEnv.NewTempDir("cc");
        using var home = TestEnv.NewTempDir("home");
        var env = Env(home.Path);
        foreach (var src in new[] { TestEnv.RepoPath("bench", "suite", "interp.c"), TestEnv.RepoPath("bench", "suite", "sha256.c") })
        {
            string name = Path.GetFileNameWithoutExtension(src);
            string mine = Path.Combine(dir.Path, name + ".s"), theirs = Path.Combine(dir.Path, name + ".ref.s");
            // The driver under compat32: it forks and execs cc1.
            var c = Compat(dir.Path, env, Gcc, "-O2", "-S", "-o", mine, src);
            Assert.True(c.ExitCode == 0 && File.Exists(mine), $"gcc -S {name} under compat32 (exit {c.ExitCode}):\n{c.Err}");
            // cc1 alone under qemu-i386, as the driver runs it.
            var plan = Compat(dir.Path, env, Gcc, "-###", "-O2", "-S", "-o", theirs, src);
            Assert.True(plan.ExitCode == 0, $"gcc -### under compat32 (exit {plan.ExitCode}):\n{plan.Err}");
            var cc1 = plan.Err.Split('\n').Select(Words).FirstOrDefault(w => w.Count > 0 && w[0].EndsWith("/cc1", StringComparison.Ordinal));
            Assert.True(cc1 != null, $"no cc1 command in gcc -###:\n{plan.Err}");
            var q = Qemu(dir.Path, env, cc1[0], [.. cc1.Skip(1)]);
            Assert.True(q.ExitCode == 0 && File.Exists(theirs), $"cc1 under qemu-i386 (exit {q.ExitCode}):\n{q.Err}");
            Assert.True(File.ReadAllText(theirs).Length > 2000, "the reference assembly is implausibly short");
            Assert.True(File.ReadAllBytes(mine).AsSpan().SequenceEqual(File.ReadAllBytes(theirs)),
                $"{name}.s: cc1 under compat32 wrote other assembly than under qemu-i386 (first difference at line {FirstDiff(mine, theirs)})");
            // as on the same assembly: the object files byte for byte.
            string asBin = Path.Combine(Sysroot, "usr", "bin", "as");
            var ca = Compat(dir.Path, env, asBin, "--32", "-o", name + ".o", mine);
            var qa = Qemu(dir.Path, env, asBin, "--32", "-o", name + ".ref.o", theirs);
            Assert.True(ca.ExitCode == 0 && qa.ExitCode == 0, $"as: compat32 exit {ca.ExitCode} {ca.Err}, qemu-i386 exit {qa.ExitCode} {qa.Err}");
            Assert.True(File.ReadAllBytes(Path.Combine(dir.Path, name + ".o")).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dir.Path, name + ".ref.o"))),
                $"{name}.o: as under compat32 wrote another object file than under qemu-i386");
        }
    }

    /// <summary>The whole driver (cc1, as, collect2, ld, each a child process) builds a static program; the program
    /// it built runs the same under compat32 and qemu-i386, and prints what the same source built by the host's
    /// gcc -m32 prints (under qemu-i386).</summary>
    [ExtraSysrootFact("cc", "gcc-12")]
    public void CompilerBuildsAProgramThatRuns()
    {
        using var dir = TestEnv.NewTempDir("cc");
        using var home = TestEnv.NewTempDir("home");
        var env = Env(home.Path);
        string src = GuestBuild.CSource("printf_float"), prog = Path.Combine(dir.Path, "printf_float");
        var c = Compat(dir.Path, env, Gcc, "-O2", "-static", "-o", prog, src, "-lm");
        Assert.True(c.ExitCode == 0 && File.Exists(prog), $"gcc -static under compat32 (exit {c.ExitCode}):\n{c.Out}{c.Err}");
        var (q, _) = Differential.AssertSame(prog, []);
        var host = Differential.RunQemu(GuestBuild.BuildC("printf_float"), []);
        Assert.Equal(host.Out, q.Out);
        Assert.True(q.Out.Length > 100, "printf_float printed implausibly little");
    }

    /// <summary>Words of a `gcc -###` line: separated by spaces, a word in double quotes with \" and \\ inside.</summary>
    static List<string> Words(string line)
    {
        var words = new List<string>();
        var w = new StringBuilder();
        bool inWord = false, quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '\\' && i + 1 < line.Length) w.Append(line[++i]);
                else if (ch == '"') quoted = false;
                else w.Append(ch);
            }
            else if (ch == '"') { quoted = inWord = true; }
            else if (ch == ' ') { if (inWord) words.Add(w.ToString()); w.Clear(); inWord = false; }
            else { w.Append(ch); inWord = true; }
        }
        if (inWord) words.Add(w.ToString());
        return words;
    }

    static int FirstDiff(string a, string b)
    {
        var x = File.ReadAllLines(a);
        var y = File.ReadAllLines(b);
        for (int i = 0; i < Math.Min(x.Length, y.Length); i++) if (x[i] != y[i]) return i + 1;
        return Math.Min(x.Length, y.Length) + 1;
    }
}
