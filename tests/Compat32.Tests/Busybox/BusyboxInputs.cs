using System.Text;
using Compat32.Tests.Harness;

namespace Compat32.Tests.Busybox;

/// <summary>
/// Fixed inputs for the busybox applets, generated deterministically (a seeded generator, no clock), with fixed
/// permissions and modification times, so `ls -l`, `tar`, `diff -u` and `stat` print the same on every run.
/// Compressed inputs come from tools nobody here wrote: the host's gzip, xz and tar, and busybox bzip2 under qemu.
/// </summary>
public static class BusyboxInputs
{
    /// <summary>2021-03-04 05:06:07 UTC: every file and directory gets this mtime.</summary>
    public const long FixedTime = 1614834367;

    static readonly Lazy<string> _template = new(BuildTemplate);

    /// <summary>Copy the inputs into dir (which the caller has emptied), with modes and times fixed.</summary>
    public static void Populate(string dir)
    {
        var r = Proc.Run("cp", ["-a", _template.Value + "/.", dir]);
        if (r.ExitCode != 0) throw new InvalidOperationException("cp -a of the busybox inputs failed: " + r.Err);
    }

    static readonly string[] Words =
        ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima",
         "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "the", "quick", "brown", "fox", "jumps",
         "over", "lazy", "dog", "Zebra", "Émile", "naïve", "42", "3.14", "-7"];

    sealed class Rng(uint s)
    {
        uint _s = s;
        public uint Next() { _s ^= _s << 13; _s ^= _s >> 17; _s ^= _s << 5; return _s; }
        public int Next(int n) => (int)(Next() % (uint)n);
    }

    static string BuildTemplate()
    {
        string busybox = TestEnv.Busybox; // fail early with the download hint
        string dir = Path.Combine(Path.GetTempPath(), "c32t-busybox-inputs-" + Environment.ProcessId);
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (Exception) { } };
        var rng = new Rng(2463534242);
        void W(string name, string text) => File.WriteAllText(Path.Combine(dir, name), text, new UTF8Encoding(false));

        var sb = new StringBuilder();
        for (int i = 1; i <= 240; i++)
        {
            if (i % 17 == 0) { sb.Append('\n'); continue; }
            sb.Append("line ").Append(i).Append(':');
            int n = 1 + rng.Next(9);
            for (int k = 0; k < n; k++) sb.Append(rng.Next(11) == 0 ? "\t" : " ").Append(Words[rng.Next(Words.Length)]);
            sb.Append('\n');
        }
        W("text.txt", sb.ToString());

        sb.Clear();
        for (int i = 0; i < 150; i++)
        {
            switch (rng.Next(5))
            {
                case 0: sb.Append(-(int)rng.Next(100000)); break;
                case 1: sb.Append((rng.Next() % 10000000) / 1000.0); break;
                case 2: sb.Append(rng.Next(50)).Append("e").Append(rng.Next(5)); break;
                default: sb.Append(rng.Next(1000)); break;
            }
            sb.Append('\n');
        }
        W("nums.txt", sb.ToString());

        sb.Clear().Append("name,score,city,ratio\n");
        for (int i = 0; i < 60; i++)
            sb.Append(Words[rng.Next(20)]).Append(i).Append(',').Append(rng.Next(1000)).Append(',')
              .Append(Words[rng.Next(Words.Length)]).Append(',').Append((rng.Next(100000) / 997.0).ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        W("csv.txt", sb.ToString());

        var words = Enumerable.Range(0, 300).Select(_ => Words[rng.Next(12)]).Order(StringComparer.Ordinal).ToList();
        W("words.txt", string.Join('\n', words) + "\n");

        var s1 = Words.Where((_, i) => i % 2 == 0 || i % 5 == 0).Order(StringComparer.Ordinal);
        var s2 = Words.Where((_, i) => i % 3 == 0 || i % 5 == 0).Order(StringComparer.Ordinal);
        W("s1.txt", string.Join('\n', s1) + "\n");
        W("s2.txt", string.Join('\n', s2) + "\n");

        var lines = sb.ToString().Split('\n').Take(40).ToList();
        W("a.txt", string.Join('\n', lines) + "\n");
        lines[3] = "changed line"; lines.RemoveAt(10); lines.Insert(20, "inserted, 1, 2, 3"); lines[35] += " tail";
        W("b.txt", string.Join('\n', lines) + "\n");

        W("tabs.txt", "a\tb\tc\n\tindented\tx\n12345678\t9\n    spaces  here\n");
        W("empty", "");
        W("expr.txt", "2 3 +\n");
        W("crlf.txt", "one\r\ntwo\r\nthree\r\n");
        W("calc.bc", "scale=40\n4*a(1)\ne(1)\nsqrt(2)\n2^100\n1/7\n");

        var bin = new byte[4096];
        for (int i = 0; i < bin.Length; i++) bin[i] = i < 256 ? (byte)i : (byte)rng.Next();
        Encoding.ASCII.GetBytes("EMBEDDED string number one").CopyTo(bin, 1000);
        Encoding.ASCII.GetBytes("short").CopyTo(bin, 2000);
        Encoding.ASCII.GetBytes("another printable run!").CopyTo(bin, 3000);
        File.WriteAllBytes(Path.Combine(dir, "data.bin"), bin);
        var bin2 = (byte[])bin.Clone();
        bin2[77] ^= 0xff; bin2[3000] = (byte)'A'; bin2[4000] = 0;
        File.WriteAllBytes(Path.Combine(dir, "data2.bin"), bin2);
        var dbl = new byte[8 * 16];
        double[] ds = [0.1, -2.5, 1e100, 3.141592653589793, 5e-324, double.MaxValue, 1.0 / 3, 123456.789, -0.0, 1e-5, 2, 1e21, 7.25, 0.5, 1e300, -1e-300];
        for (int i = 0; i < ds.Length; i++) BitConverter.GetBytes(ds[i]).CopyTo(dbl, i * 8);
        File.WriteAllBytes(Path.Combine(dir, "doubles.bin"), dbl);
        W("b64.txt", Convert.ToBase64String(bin.AsSpan(0, 700)) + "\n");

        Directory.CreateDirectory(Path.Combine(dir, "tree", "a", "deep"));
        Directory.CreateDirectory(Path.Combine(dir, "tree", "b"));
        Directory.CreateDirectory(Path.Combine(dir, "tree", "empty"));
        W("tree/a/1.txt", "first file alpha\n");
        W("tree/a/2.txt", string.Concat(Enumerable.Repeat("second file bravo alpha\n", 300)));
        W("tree/a/deep/3.dat", "deep\n");
        W("tree/b/4.txt", "fourth alpha\nno\n");
        W("tree/b/script.sh", "#!/bin/sh\necho hi\n");
        File.CreateSymbolicLink(Path.Combine(dir, "tree", "link"), "a/1.txt");

        Run("gzip", ["-9", "-n", "-k", "text.txt"], dir);
        Run("xz", ["-k", "text.txt"], dir);
        Run("xz", ["-k", "--format=lzma", "data.bin"], dir);
        Run("tar", ["--format=ustar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", $"--mtime=@{FixedTime}", "-cf", "archive.tar", "tree", "csv.txt"], dir);
        var bz = Proc.Run(TestEnv.Qemu, [busybox, "bzip2", "-c", "text.txt"], dir);
        if (bz.ExitCode != 0) throw new InvalidOperationException("busybox bzip2 under qemu-i386 failed: " + bz.Err);
        File.WriteAllBytes(Path.Combine(dir, "text.txt.bz2"), bz.Stdout);
        var md5 = Run("md5sum", ["text.txt", "data.bin", "tree/a/1.txt"], dir);
        W("sums.md5", md5);
        W("bad.md5", md5.Replace(md5[..4], "0000"));
        W("sums.sha1", Run("sha1sum", ["text.txt", "csv.txt"], dir));

        // fixed modes, then fixed times (directories last: creating entries changed theirs)
        foreach (var p in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories))
        {
            if (new FileInfo(p).LinkTarget != null) continue;
            File.SetUnixFileMode(p, Directory.Exists(p) || p.EndsWith(".sh")
                ? (UnixFileMode)Convert.ToInt32("755", 8) : (UnixFileMode)Convert.ToInt32("644", 8));
        }
        Run("find", [".", "-exec", "touch", "-h", "-d", "@" + FixedTime, "{}", "+"], dir);
        return dir;
    }

    static string Run(string tool, string[] args, string cwd)
    {
        var r = Proc.Run(tool, args, cwd);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({r.ExitCode}): {r.Err}" +
                                                                 (tool == "xz" ? " (apt-get install xz-utils; ./test.sh does this)" : ""));
        return r.Out;
    }
}
