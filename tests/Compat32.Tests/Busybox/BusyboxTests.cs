using System.Text;
using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Busybox;

/// <summary>One busybox invocation: `busybox APPLET ARGS` with an optional stdin.</summary>
public sealed record BbCase(string[] Args, string? Stdin = null);

/// <summary>
/// Debian's busybox-static:i386 under compat32 and under qemu-i386, on the fixed inputs of
/// <see cref="BusyboxInputs"/> in a fresh directory each side: stdout byte for byte, stderr, the exit status and
/// every file left behind must agree. Only applets that need no fork/exec (those come with the process issue).
/// The cases are split over a few classes so xunit runs them in parallel.
/// </summary>
public abstract class BusyboxTestBase
{
    protected static void Check(BbCase c)
    {
        string bb = TestEnv.Busybox;
        using var dir = TestEnv.NewTempDir("bb");
        var o = new Differential.Options { Stdin = c.Stdin == null ? null : Encoding.UTF8.GetBytes(c.Stdin), TimeoutMs = 120_000 };
        Differential.AssertSameInDir(dir, BusyboxInputs.Populate, bb, c.Args, o);
    }

    protected static IEnumerable<object[]> Ids(Dictionary<string, BbCase> cases) => cases.Keys.Select(k => new object[] { k });

    static BbCase C(params string[] a) => new(a);
    static BbCase In(string stdin, params string[] a) => new(a, stdin);

    public static readonly Dictionary<string, BbCase> Text = new()
    {
        ["echo"] = C("echo", "-n", "hello", "world"),
        ["echo-e"] = C("echo", "-e", "a\\tb\\x41\\0101\\n\\c ignored"),
        ["printf"] = C("printf", "%s=%d|%5s|%-5s|%x %o %c\\n", "a", "42", "ab", "cd", "255", "8", "xyz"),
        ["printf-floats"] = C("printf", "%f %.3f %e %.10e %g %G %.17g %10.2f|%-10.4e|\\n", "3.14159", "2.71828", "12345.678", "0.1",
                              "0.0001", "1e-20", "0.3", "-1.5", "6.02e23"),
        ["printf-floats2"] = C("printf", "%.20f %.0f %.0f %.0f %g %g\\n", "1e-5", "0.5", "1.5", "2.5", "1e300", "-0"),
        ["seq"] = C("seq", "1", "3", "100"),
        ["seq-w-float"] = C("seq", "-w", "0", "0.25", "3"),
        ["seq-s"] = C("seq", "-s", ",", "-5", "5"),
        ["sort"] = C("sort", "text.txt"),
        ["sort-n"] = C("sort", "-n", "nums.txt"),
        ["sort-g"] = C("sort", "-g", "nums.txt"),
        ["sort-rk"] = C("sort", "-r", "-k", "3", "text.txt"),
        ["sort-csv"] = C("sort", "-t", ",", "-k", "3,3", "-k", "2n", "csv.txt"),
        ["sort-u"] = C("sort", "-u", "words.txt"),
        ["uniq-c"] = C("uniq", "-c", "words.txt"),
        ["uniq-d"] = C("uniq", "-d", "words.txt"),
        ["wc"] = C("wc", "text.txt", "nums.txt", "data.bin"),
        ["wc-stdin"] = In("one two\nthree\n", "wc", "-lwc"),
        ["head"] = C("head", "-n", "7", "text.txt"),
        ["head-c"] = C("head", "-c", "100", "data.bin"),
        ["tail"] = C("tail", "-n", "5", "text.txt"),
        ["tail-c"] = C("tail", "-c", "+4000", "data.bin"),
        ["tr"] = In("Hello, World! the quick brown fox\n", "tr", "a-z", "A-Z"),
        ["tr-d-s"] = In("aaa  bbb   ccc eee\n", "tr", "-s", " a"),
        ["cut-f"] = C("cut", "-d", ",", "-f", "1,3", "csv.txt"),
        ["cut-c"] = C("cut", "-c", "3-10", "text.txt"),
        ["sed"] = C("sed", "-n", "s/\\(o\\+\\)/[\\1]/gp", "text.txt"),
        ["sed-y"] = C("sed", "-e", "1d;$d;y/abc/xyz/;/^$/d", "text.txt"),
        ["sed-i"] = C("sed", "-i", "s/line/LINE/;3,5d", "text.txt"),
        ["grep-n"] = C("grep", "-n", "fox", "text.txt"),
        ["grep-E-c"] = C("grep", "-c", "-E", "^line [0-9]+: (alpha|bravo)", "text.txt"),
        ["grep-vi"] = C("grep", "-v", "-i", "THE", "text.txt"),
        ["grep-nomatch"] = C("grep", "nomatch-anywhere", "text.txt"),
        ["grep-r"] = C("grep", "-r", "alpha", "tree"),
        ["awk-sum"] = C("awk", "-F", ",", "NR>1 { s += $2; r += $4 } END { printf \"%d %.6f %.10g\\n\", s, s / (NR-1), r }", "csv.txt"),
        ["awk-fields"] = C("awk", "{ print NR, NF, length($0), toupper($2) }", "text.txt"),
        // Debian's busybox awk is built without libm (no sqrt/^): plain arithmetic and number formatting
        ["awk-math"] = C("awk", "BEGIN { x = 1; for (i = 1; i <= 25; i++) { x = x * 3.7 / (i + 0.5); printf \"%d %.10g %.6e %d %s %.17g\\n\", i, x, 1 / i, int(i * 1.7), i / 7, x * 1e10 } }"),
        ["awk-assoc"] = C("awk", "{ c[$1]++ } END { n = 0; for (w in c) n++; print n, c[\"alpha\"], c[\"kilo\"] }", "words.txt"),
        ["cat-n"] = C("cat", "-n", "tabs.txt", "crlf.txt"),
        ["cat-A"] = C("cat", "-A", "tabs.txt", "crlf.txt"),
        ["nl"] = C("nl", "text.txt"),
        ["fold"] = C("fold", "-w", "20", "-s", "text.txt"),
        ["rev"] = C("rev", "text.txt"),
        ["tac"] = C("tac", "text.txt"),
        ["paste"] = C("paste", "-d", ":", "s1.txt", "s2.txt"),
        ["comm"] = C("comm", "s1.txt", "s2.txt"),
        ["comm-3"] = C("comm", "-3", "s1.txt", "s2.txt"),
        ["expand"] = C("expand", "-t", "4", "tabs.txt"),
        ["unexpand"] = C("unexpand", "-a", "tabs.txt"),
        ["expr-arith"] = C("expr", "12", "*", "34", "+", "5", "%", "3"),
        ["expr-match"] = C("expr", "abcdef", ":", "a\\(.*\\)e"),
        ["expr-len"] = C("expr", "length", "hello world"),
        ["expr-zero"] = C("expr", "0"),
        ["expr-div0"] = C("expr", "1", "/", "0"),
        ["factor"] = C("factor", "1", "2", "97", "1234567890", "4294967297", "600851475143", "18446744073709551615"),
        ["bc"] = C("bc", "-l", "calc.bc"),
        ["dc"] = C("dc", "-e", "2 32 ^ p 7 3 / p 1.5 2 * p"),
        ["date-fixed"] = C("date", "-u", "-d", "@1234567890", "+%Y-%m-%d %H:%M:%S %A %j %s"),
        ["cal"] = C("cal", "2", "2024"),
        ["basename"] = C("basename", "/usr/lib/file.tar.gz", ".gz"),
        ["dirname"] = C("dirname", "/usr/lib/file.tar.gz"),
        ["true"] = C("true"),
        ["false"] = C("false"),
        ["test-true"] = C("test", "-f", "text.txt", "-a", "-d", "tree", "-a", "-s", "data.bin"),
        ["test-false"] = C("test", "5", "-gt", "10"),
        ["bracket"] = C("[", "-e", "missing", "-o", "-L", "tree/link", "]"),
        ["dos2unix"] = In("a\r\nb\r\n", "dos2unix"),
        ["unix2dos"] = In("a\nb\n", "unix2dos"),
        ["ash-builtins"] = C("ash", "-c", "x=6; echo $((x * 7)); for i in 1 2 3; do printf '%s.' $i; done; echo; test -d tree && echo dir; exit 3"),
    };

    public static readonly Dictionary<string, BbCase> Files = new()
    {
        ["ls"] = C("ls", "tree", "tree/a"),
        ["ls-l"] = C("ls", "-l", "tree", "tree/a"),
        ["ls-la"] = C("ls", "-la", "tree/a"),
        ["ls-ln-full"] = C("ls", "-ln", "--full-time", "tree/b"),
        ["ls-R"] = C("ls", "-R", "-F", "tree"),
        ["ls-1sS"] = C("ls", "-1sS"),
        ["stat-c"] = C("stat", "-c", "%n %s %a %A %F %h %U %G %Y", "text.txt", "tree", "tree/link", "tree/b/script.sh"),
        ["stat-L"] = C("stat", "-L", "-c", "%n %s %F", "tree/link"),
        ["du"] = C("du", "-k", "tree"),
        ["du-s"] = C("du", "-s", "tree", "text.txt"),
        ["find"] = C("find", "tree"),
        ["find-name"] = C("find", ".", "-name", "*.txt", "-type", "f"),
        ["find-type-d"] = C("find", "tree", "-type", "d", "-o", "-type", "l"),
        ["find-size"] = C("find", ".", "-size", "+2k"),
        ["cmp"] = C("cmp", "data.bin", "data2.bin"),
        ["cmp-l"] = C("cmp", "-l", "data.bin", "data2.bin"),
        ["cmp-same"] = C("cmp", "text.txt", "text.txt"),
        ["diff-u"] = C("diff", "-u", "a.txt", "b.txt"),
        ["diff-same"] = C("diff", "a.txt", "a.txt"),
        ["diff-r"] = C("diff", "-r", "tree/a", "tree/b"),
        ["dd"] = C("dd", "if=data.bin", "of=out.bin", "bs=100", "count=7", "skip=3", "status=noxfer"),
        ["dd-conv"] = C("dd", "if=text.txt", "bs=64", "count=3", "conv=ucase", "status=none"),
        ["od-x"] = C("od", "-A", "x", "-t", "x1z", "-N", "160", "data.bin"),
        ["od-c"] = C("od", "-c", "-N", "64", "tabs.txt"),
        ["od-f"] = C("od", "-t", "f8", "doubles.bin"),
        ["od-d"] = C("od", "-t", "d4", "-t", "u2", "-N", "48", "data.bin"),
        ["hexdump-C"] = C("hexdump", "-C", "-n", "300", "data.bin"),
        ["xxd"] = C("xxd", "-l", "96", "data.bin"),
        ["strings"] = C("strings", "-n", "6", "data.bin"),
        ["base64"] = C("base64", "data.bin"),
        ["base64-d"] = C("base64", "-d", "b64.txt"),
        ["md5sum"] = C("md5sum", "text.txt", "data.bin", "empty"),
        ["md5sum-c"] = C("md5sum", "-c", "sums.md5"),
        ["md5sum-c-bad"] = C("md5sum", "-c", "bad.md5"),
        ["sha1sum"] = C("sha1sum", "text.txt", "data.bin"),
        ["sha1sum-c"] = C("sha1sum", "-c", "sums.sha1"),
        ["sha256sum"] = C("sha256sum", "text.txt", "data.bin", "csv.txt"),
        ["sha512sum"] = C("sha512sum", "text.txt", "data.bin"),
        ["sha3sum"] = C("sha3sum", "text.txt"),
        ["crc32"] = C("crc32", "text.txt"),
        ["realpath"] = C("realpath", "tree/link", "tree/a/../b"),
        ["readlink"] = C("readlink", "tree/link"),
        ["pwd"] = C("pwd"),
        ["cat-missing"] = C("cat", "text.txt", "missing-file"),
        ["mkdir-rmdir"] = C("mkdir", "-p", "new/x/y", "new/z"),
        ["rmdir"] = C("rmdir", "tree/empty"),
        ["rm-r"] = C("rm", "-r", "tree/a"),
        ["cp-r"] = C("cp", "-a", "tree", "copy"),
        ["mv"] = C("mv", "text.txt", "tree/b/moved.txt"),
        ["ln-s"] = C("ln", "-s", "../text.txt", "tree/sym"),
        ["ln"] = C("ln", "csv.txt", "hard.csv"),
        ["chmod"] = C("chmod", "-R", "go-rx", "tree"),
        ["touch-d"] = C("touch", "-d", "2001-02-03 04:05:06", "text.txt", "new-file"),
        ["truncate"] = C("truncate", "-s", "1000", "text.txt"),
        ["tee"] = In("tee me\n", "tee", "tee-out.txt"),
        ["split-tail-into-file"] = C("tail", "-n", "3", "-q", "text.txt", "csv.txt"),
    };

    public static readonly Dictionary<string, BbCase> Archives = new()
    {
        ["gzip-c"] = C("gzip", "-c", "text.txt"),
        ["gzip-9-k"] = C("gzip", "-9", "-k", "data.bin"),
        ["gzip-stdin"] = In("compress me please, compress me please\n", "gzip", "-c"),
        ["gunzip-c"] = C("gunzip", "-c", "text.txt.gz"),
        ["gunzip"] = C("gunzip", "text.txt.gz"),
        ["gzip-t"] = C("gzip", "-t", "text.txt.gz"),
        ["bzip2-c"] = C("bzip2", "-c", "text.txt"),
        ["bzip2-k"] = C("bzip2", "-k", "csv.txt"),
        ["bunzip2-c"] = C("bunzip2", "-c", "text.txt.bz2"),
        ["bzcat"] = C("bzcat", "text.txt.bz2"),
        ["xzcat"] = C("xzcat", "text.txt.xz"),
        ["unxz"] = C("unxz", "-k", "-f", "text.txt.xz"),
        ["unlzma"] = C("unlzma", "-c", "data.bin.lzma"),
        ["tar-cf"] = C("tar", "cf", "out.tar", "tree", "csv.txt"),
        ["tar-c-stdout"] = C("tar", "cf", "-", "tree/a"),
        ["tar-tvf"] = C("tar", "tvf", "archive.tar"),
        ["tar-tf"] = C("tar", "tf", "archive.tar"),
        ["tar-xf"] = C("tar", "xf", "archive.tar", "-C", "tree/empty"),
        ["tar-xO"] = C("tar", "xOf", "archive.tar", "tree/a/2.txt"),
        ["uuencode"] = C("uuencode", "data.bin", "data.bin"),
    };
}

public class BusyboxTextTests : BusyboxTestBase
{
    public static IEnumerable<object[]> Cases() => Ids(Text);
    [Theory] [MemberData(nameof(Cases))] public void Applet(string id) => Check(Text[id]);
}

public class BusyboxFileTests : BusyboxTestBase
{
    public static IEnumerable<object[]> Cases() => Ids(Files);
    [Theory] [MemberData(nameof(Cases))] public void Applet(string id) => Check(Files[id]);
}

public class BusyboxArchiveTests : BusyboxTestBase
{
    public static IEnumerable<object[]> Cases() => Ids(Archives);
    [Theory] [MemberData(nameof(Cases))] public void Applet(string id) => Check(Archives[id]);

    /// <summary>The issue asks for at least 40 applets; count the distinct ones exercised.</summary>
    [Fact]
    public void AtLeastFortyApplets()
    {
        var applets = Text.Values.Concat(Files.Values).Concat(Archives.Values).Select(c => c.Args[0]).Distinct().Count();
        Assert.True(applets >= 40, $"only {applets} distinct applets");
    }
}
