using System.Text;
using Xunit;
using Xunit.Abstractions;
using static Compat32.Tests.Debian.DebianSysroot;

namespace Compat32.Tests.Debian;

// Debian bookworm's own i386 programs (dynamically linked against the sysroot's glibc) under compat32 and
// qemu-i386: stdout, stderr, exit status and files left behind. Split over classes so xunit runs them in parallel.

public class DebianShellTests(ITestOutputHelper log)
{
    [DebianFact] public void BashPosixScript() => DebianRun.AssertSame(log, "bash", [Script("posix.sh")]);

    [DebianFact] public void DashPosixScript() => DebianRun.AssertSame(log, "dash", [Script("posix.sh")]);

    [DebianFact] public void BashFeatures() => DebianRun.AssertSame(log, "bash", [Script("bash.sh")]);

    [DebianFact]
    public void BashProcessSubstitution() => DebianRun.AssertSame(log, "bash", [Script("procsubst.sh")]);

    [DebianFact] public void BashWaitsAndSignals() => DebianRun.AssertSame(log, "bash", [Script("waits.sh")]);

    [DebianFact] public void DashWaitsAndSignals() => DebianRun.AssertSame(log, "dash", [Script("waits.sh")]);

    [DebianFact]
    public void InheritedResourceLimits() => DebianRun.AssertSame(log, "bash", ["-c", "ulimit -a"]);

    [DebianFact]
    public void TouchSetsTimes() => DebianRun.AssertSame(log, "bash", ["-c", "touch new.txt; touch -d @1000000000 new.txt old.txt; stat -c '%n %Y' new.txt old.txt"]);

    [DebianFact]
    public void NamedPipe() => DebianRun.AssertSame(log, "bash", ["-c", "mkfifo ff && { echo through > ff & cat ff; wait; }; stat -c %F ff"]);

    /// <summary>Scripts started by path: #!/bin/sh and #!/bin/bash must resolve (to the sysroot's, under compat32).</summary>
    [DebianFact]
    public void ShebangScripts() => DebianRun.AssertSame(log, "bash", ["-c", "./a.sh x y; echo \"a $?\"; ./b.sh; echo \"b $?\"; sh ./a.sh z; echo \"sh $?\""],
        new() { Populate = d =>
        {
            File.WriteAllText(Path.Combine(d, "a.sh"), "#!/bin/sh\necho \"args $# $1 $2\"; [ -n \"${BASH_VERSION-}\" ] && echo bash || echo not-bash; exit 4\n");
            File.WriteAllText(Path.Combine(d, "b.sh"), "#!/bin/bash\necho \"bash ${BASH_VERSINFO[0]}\"; exit 5\n");
            foreach (var f in new[] { "a.sh", "b.sh" }) File.SetUnixFileMode(Path.Combine(d, f), (UnixFileMode)Convert.ToInt32("755", 8));
        } });

    /// <summary>A non-interactive bash whose stdin is not a socket must not read ~/.bashrc.</summary>
    [DebianFact]
    public void BashDoesNotSourceBashrc() => DebianRun.AssertSame(log, "bash", ["-c", "echo done"],
        new() { Stdin = [], PopulateHome = h => File.WriteAllText(Path.Combine(h, ".bashrc"), "echo bashrc sourced\n") });
}

public class DebianCoreutilsTests(ITestOutputHelper log)
{

    [DebianTheory]
    [InlineData("ls", "-la", "tree", "tree/a")]
    [InlineData("ls", "-lan", "--time-style=full-iso", "tree/b", "tree/empty")]
    [InlineData("ls", "-R", "-F", "tree")]
    [InlineData("ls", "-lSr", "--time-style=+%s", "tree/a", "tree/link")]
    [InlineData("stat", "-c", "%n %s %a %A %F %h %Y %N", "text.txt", "tree", "tree/link", "tree/b/run.sh")]
    [InlineData("sort", "text.txt")]
    [InlineData("sort", "-n", "nums.txt")]
    [InlineData("sort", "-g", "nums.txt")]
    [InlineData("sort", "-t", ",", "-k", "2,2n", "-k", "1,1r", "csv.txt")]
    [InlineData("sort", "-u", "-f", "words.txt")]
    [InlineData("factor", "1", "2", "97", "1234567890", "4294967297", "600851475143", "18446744073709551615", "170141183460469231731687303715884105727")]
    [InlineData("date", "-d", "@0", "-u")]
    [InlineData("date", "-u", "-d", "2024-02-29 13:14:15", "+%s %A %j %U %Z %:z")]
    [InlineData("date", "-u", "-R", "-d", "@1234567890")]
    [InlineData("sha256sum", "text.txt", "data.bin", "csv.txt")]
    [InlineData("md5sum", "text.txt", "data.bin")]
    [InlineData("b2sum", "text.txt", "data.bin")]
    [InlineData("sha512sum", "data.bin")]
    [InlineData("printf", "%.20Lg %Le %La %g|%10.3f|%-8d|%x\\n", "0.1", "1e300", "1.5", "1e-5", "3.14159", "42", "255")]
    [InlineData("seq", "-s", " ", "0.1", "0.1", "1")]
    [InlineData("seq", "-f", "%.3e", "1", "1234.5", "6000")]
    [InlineData("numfmt", "--to=iec", "123456789", "1023", "1048576")]
    [InlineData("wc", "text.txt", "words.txt", "data.bin")]
    [InlineData("uniq", "-c", "words.txt")]
    [InlineData("cut", "-d", ",", "-f", "1,3", "csv.txt")]
    [InlineData("head", "-n", "5", "text.txt")]
    [InlineData("tail", "-c", "100", "text.txt")]
    [InlineData("od", "-A", "x", "-t", "x1z", "-N", "96", "data.bin")]
    [InlineData("tsort", "deps.txt")]
    [InlineData("expr", "100", "+", "23", "-", "7", "<", "200")]
    [InlineData("expr", "12", "*", "34", "+", "5", "%", "3")]
    [InlineData("shuf", "-n", "5", "--random-source=data.bin", "words.txt")]
    [InlineData("split", "-l", "7", "-d", "text.txt", "part.")]
    [InlineData("cp", "-a", "tree", "copy")]
    [InlineData("du", "-a", "tree")]
    [InlineData("readlink", "-f", "tree/link")]
    [InlineData("realpath", "--relative-to=tree/b", "tree/a/x.txt")]
    [InlineData("env", "-i", "A=1", "B=2", "env")]
    [InlineData("timeout", "0.5", "sleep", "5")]
    [InlineData("grep", "-n", "-E", "fox (1|2)[0-9]$", "text.txt")]
    [InlineData("sed", "-E", "s/line ([0-9]+)/L\\1/;5q", "text.txt")]
    public void Coreutils(string prog, params string[] args) =>
        DebianRun.AssertSame(log, prog, args, new() { Populate = DebianInputs.Populate });

    [DebianFact]
    public void TrStdin() => DebianRun.AssertSame(log, "tr", ["-s", "a-z", "A-Z"], new() { Stdin = Encoding.UTF8.GetBytes("hello,  world\n") });
}

public class DebianPythonTests(ITestOutputHelper log)
{
    static DebianRun.Opts Py => new() { TimeoutMs = 300_000 };

    [DebianFact] public void Subprocess() => DebianRun.AssertSame(log, "python3.11", [Script("py_subprocess.py")], Py);

    [DebianFact] public void OsForkPipeExec() => DebianRun.AssertSame(log, "python3.11", [Script("py_os.py")], Py);

    [DebianFact] public void StdlibCompute() => DebianRun.AssertSame(log, "python3.11", [Script("py_misc.py")], Py);

    [DebianFact]
    public void Threads() => DebianRun.AssertSame(log, "python3.11", [Script("py_threads.py")], Py);

    [DebianFact] public void ThreadPoolExecutor() => DebianRun.AssertSame(log, "python3.11", [Script("py_futures.py")], Py);

    [DebianFact]
    public void MultiprocessingFork() => DebianRun.AssertSame(log, "python3.11", [Script("py_multiprocessing.py")], Py);
}

public class DebianPerlTests(ITestOutputHelper log)
{
    [DebianFact] public void ForkPipesBackticks() => DebianRun.AssertSame(log, "perl", [Script("perl.pl")]);
}

public class DebianMakeTests(ITestOutputHelper log)
{

    [DebianFact]
    public void Serial() => DebianRun.AssertSame(log, "make", ["-f", Script("Makefile.jobs")]);

    /// <summary>-j4: recipes run in parallel, so stdout is compared as sorted lines; the files must agree exactly.</summary>
    [DebianFact]
    public void Parallel() => DebianRun.AssertSame(log, "make", ["-j4", "-f", Script("Makefile.jobs")], new() { SortLines = true });

    [DebianFact]
    public void FailingRecipe() => DebianRun.AssertSame(log, "make", ["-f", Script("Makefile.jobs"), "fail"]);
}

/// <summary>epoll through python's selectors, and sqlite3 in WAL mode written by two processes at once (fcntl
/// locks on the database and its -shm file, which both map MAP_SHARED). The database's bytes depend on how the
/// writers interleave, so it is compared by its queries, not left behind.</summary>
public class DebianEventTests(ITestOutputHelper log)
{
    [DebianFact]
    public void PythonSelectorsEpoll() => DebianRun.AssertSame(log, "python3.11", [Script("py_selectors.py")], new() { TimeoutMs = 300_000 });

    [SqliteFact]
    public void SqliteWalTwoWriters()
    {
        DebianRun.AssertSame(log, "bash", ["-c",
            "sqlite3 db 'PRAGMA journal_mode=WAL; CREATE TABLE t(p, i);' && " +
            "for p in 1 2; do ( for i in $(seq 1 60); do echo \"INSERT INTO t VALUES($p,$i);\"; done | sqlite3 -cmd '.timeout 20000' db ) & done; wait; " +
            "sqlite3 db 'SELECT p, count(*), sum(i) FROM t GROUP BY p; PRAGMA journal_mode; PRAGMA integrity_check;'; rm -f db db-wal db-shm"],
            new() { TimeoutMs = 300_000 });
    }
}

/// <summary>A Debian fact that also needs sqlite3 in the sysroot (an older cached sysroot lacks it).</summary>
public sealed class SqliteFactAttribute : FactAttribute
{
    public SqliteFactAttribute()
    {
        if (DebianSysroot.WhyUnavailable() is { } why) Skip = why;
        else if (!File.Exists(Bin("sqlite3"))) Skip = "sqlite3 is not in the cached Debian sysroot (./test.sh adds it)";
    }
}
