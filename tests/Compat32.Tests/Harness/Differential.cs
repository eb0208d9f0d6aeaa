using System.Text;
using Xunit;

namespace Compat32.Tests.Harness;

/// <summary>
/// Runs one i386 program under compat32 and under qemu-i386 (the reference nobody here wrote) with the same
/// arguments, environment, working directory and stdin, and compares stdout byte for byte, the exit status,
/// and (unless told otherwise) stderr.
/// </summary>
public static class Differential
{
    public sealed record Options
    {
        public string? Cwd { get; init; }
        public Dictionary<string, string>? Env { get; init; }
        public byte[]? Stdin { get; init; }
        public int TimeoutMs { get; init; } = 120_000;
        public bool CompareStderr { get; init; } = true;
        /// <summary>Extra compat32 options before the program (e.g. --cpu intel).</summary>
        public string[] Compat32Options { get; init; } = [];
        /// <summary>qemu-i386's -cpu for this run (default TestEnv.QemuCpu; the SIMD tests name a model with SSE).</summary>
        public string? QemuCpu { get; init; }
    }

    public static ProcResult RunCompat32(string prog, IEnumerable<string> args, Options? o = null)
    {
        o ??= new Options();
        return Proc.Run(TestEnv.Launcher, [.. o.Compat32Options, prog, .. args], o.Cwd, o.Env ?? Proc.BaseEnv(), o.Stdin, o.TimeoutMs);
    }

    public static ProcResult RunQemu(string prog, IEnumerable<string> args, Options? o = null)
    {
        o ??= new Options();
        return Proc.Run(TestEnv.Qemu, ["-cpu", o.QemuCpu ?? TestEnv.QemuCpu, prog, .. args], o.Cwd, o.Env ?? Proc.BaseEnv(), o.Stdin, o.TimeoutMs);
    }

    /// <summary>Run under both and assert identical results; returns (qemu, compat32).</summary>
    public static (ProcResult Qemu, ProcResult Compat) AssertSame(string prog, IReadOnlyList<string> args, Options? o = null)
    {
        o ??= new Options();
        var q = RunQemu(prog, args, o);
        var c = RunCompat32(prog, args, o);
        Compare(Label(prog, args), q, c, o.CompareStderr);
        return (q, c);
    }

    /// <summary>
    /// Runs under both in the same directory path, emptied and populated afresh before each run (so paths printed
    /// by the guest agree), and compares the files left behind too.
    /// </summary>
    public static (ProcResult Qemu, ProcResult Compat) AssertSameInDir(TempDir dir, Action<string> populate, string prog,
        IReadOnlyList<string> args, Options? o = null, bool compareFiles = true)
    {
        o ??= new Options();
        o = o with { Cwd = o.Cwd ?? dir.Path };
        dir.Reset(); populate(dir.Path);
        var q = RunQemu(prog, args, o);
        var qFiles = compareFiles ? Snapshot(dir.Path) : "";
        dir.Reset(); populate(dir.Path);
        var c = RunCompat32(prog, args, o);
        var cFiles = compareFiles ? Snapshot(dir.Path) : "";
        Compare(Label(prog, args), q, c, o.CompareStderr);
        if (compareFiles) Assert.True(qFiles == cFiles, $"{Label(prog, args)}: files left behind differ\n--- qemu-i386:\n{qFiles}\n--- compat32:\n{cFiles}");
        return (q, c);
    }

    /// <summary>Names, types, permissions, sizes and a content hash of everything under dir (no times, no inodes).</summary>
    public static string Snapshot(string dir)
    {
        var sb = new StringBuilder();
        foreach (var p in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).OrderBy(x => x, StringComparer.Ordinal))
        {
            var fi = new FileInfo(p);
            string rel = Path.GetRelativePath(dir, p);
            if (fi.LinkTarget != null) { sb.Append($"{rel} -> {fi.LinkTarget}\n"); continue; }
            string mode = Convert.ToString((int)File.GetUnixFileMode(p), 8);
            if (Directory.Exists(p)) sb.Append($"{rel}/ {mode}\n");
            else if (FileType(p) is string special) sb.Append($"{rel} {special} {mode}\n"); // opening a FIFO would block
            else
            {
                string h = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p)))[..16];
                sb.Append($"{rel} {mode} {fi.Length} {h}\n");
            }
        }
        return sb.ToString();
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int lstat(string path, byte[] buf);

    /// <summary>"fifo", "socket", "chardev", "blockdev" for a special file; null for a regular one (lstat's st_mode,
    /// at offset 24 in the x86-64 struct stat and 16 in the arm64 one).</summary>
    static string? FileType(string path)
    {
        var b = new byte[256];
        if (lstat(path, b) != 0) return null;
        int off = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? 16 : 24;
        return (BitConverter.ToUInt32(b, off) & 0xF000) switch
        {
            0x1000 => "fifo", 0xC000 => "socket", 0x2000 => "chardev", 0x6000 => "blockdev", _ => null,
        };
    }

    static string Label(string prog, IEnumerable<string> args) =>
        Path.GetFileName(prog) + (args.Any() ? " " + string.Join(' ', args.Select(a => a.Contains(' ') || a.Length == 0 ? "'" + a + "'" : a)) : "");

    public static void Compare(string label, ProcResult q, ProcResult c, bool stderr)
    {
        var problems = new List<string>();
        if (!q.Stdout.AsSpan().SequenceEqual(c.Stdout)) problems.Add("stdout differs:\n" + Diff(q.Stdout, c.Stdout));
        if (stderr && !q.Stderr.AsSpan().SequenceEqual(c.Stderr)) problems.Add("stderr differs:\n" + Diff(q.Stderr, c.Stderr));
        if (q.ExitCode != c.ExitCode) problems.Add($"exit status: qemu-i386 {q.ExitCode}, compat32 {c.ExitCode}");
        if (problems.Count == 0) return;
        var msg = new StringBuilder($"{label}: compat32 disagrees with qemu-i386\n");
        foreach (var p in problems) msg.Append(p).Append('\n');
        if (!stderr && c.Stderr.Length > 0) msg.Append("compat32 stderr:\n").Append(Trunc(c.Err, 2000)).Append('\n');
        Assert.Fail(msg.ToString());
    }

    /// <summary>The first differing line with a little context from both sides.</summary>
    static string Diff(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        int lineStart = i;
        while (lineStart > 0 && a[lineStart - 1] != '\n') lineStart--;
        int ctx = Math.Max(0, lineStart - 200);
        string Show(byte[] x) => Trunc(Encoding.UTF8.GetString(x, ctx, Math.Min(x.Length - ctx, 600)), 600);
        return $"  first difference at byte {i} (lengths: qemu-i386 {a.Length}, compat32 {b.Length})\n" +
               $"  qemu-i386 from byte {ctx}:\n{Indent(Show(a))}\n  compat32 from byte {ctx}:\n{Indent(Show(b))}";
    }

    static string Indent(string s) => string.Join('\n', s.Split('\n').Select(l => "    | " + l));
    static string Trunc(string s, int n) => s.Length <= n ? s : s[..n] + "…";
}
