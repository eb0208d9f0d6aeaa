using System.Diagnostics;
using System.Text;

namespace Compat32.Tests.Debian;

/// <summary>Fixed input files for the coreutils cases, with fixed modes and modification times.</summary>
public static class DebianInputs
{
    static readonly DateTime T0 = new(2021, 5, 6, 7, 8, 9, DateTimeKind.Utc);

    public static void Populate(string d)
    {
        string P(string rel) => Path.Combine(d, rel);
        var words = new[] { "pear", "apple", "fig", "banana", "apple", "cherry", "fig", "fig", "date", "kiwi", "Apple", "banana" };
        File.WriteAllText(P("words.txt"), string.Join('\n', words) + "\n");
        var text = new StringBuilder();
        for (int i = 1; i <= 40; i++) text.Append($"line {i}: {words[i % words.Length]} the quick brown fox {i * 37 % 101}\n");
        File.WriteAllText(P("text.txt"), text.ToString());
        File.WriteAllText(P("nums.txt"), "10\n-3\n2.5\n1e3\n0x10\n7\n-0.5\n100\n33\n007\n");
        File.WriteAllText(P("csv.txt"), "name,qty,price\nbolt,12,0.25\nnut,7,0.10\nscrew,7,0.30\nwasher,100,0.01\n");
        var data = new byte[5000];
        uint x = 12345;
        for (int i = 0; i < data.Length; i++) { x = x * 1103515245 + 12345; data[i] = (byte)(x >> 16); }
        File.WriteAllBytes(P("data.bin"), data);
        File.WriteAllText(P("deps.txt"), "a b\nb c\na d\nd c\nc e\n");
        Directory.CreateDirectory(P("tree/a"));
        Directory.CreateDirectory(P("tree/b"));
        Directory.CreateDirectory(P("tree/empty"));
        File.WriteAllText(P("tree/a/x.txt"), "x\n");
        File.WriteAllText(P("tree/a/y.txt"), new string('y', 3000) + "\n");
        File.WriteAllText(P("tree/b/run.sh"), "#!/bin/sh\necho run\n");
        File.SetUnixFileMode(P("tree/b/run.sh"), (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(P("tree/a/y.txt"), (UnixFileMode)Convert.ToInt32("600", 8));
        File.CreateSymbolicLink(P("tree/link"), "a/x.txt");
        int k = 0;
        foreach (var f in Directory.EnumerateFileSystemEntries(d, "*", SearchOption.AllDirectories).OrderByDescending(f => f.Length).ThenBy(f => f, StringComparer.Ordinal))
        {
            var t = T0.AddMinutes(37 * k++);
            if (new FileInfo(f).LinkTarget != null) Touch(f, t);
            else if (Directory.Exists(f)) Directory.SetLastWriteTimeUtc(f, t);
            else File.SetLastWriteTimeUtc(f, t);
        }
        Directory.SetLastWriteTimeUtc(d, T0);
    }

    /// <summary>A symlink's own time (.NET would follow the link): the host's touch -h.</summary>
    static void Touch(string path, DateTime t)
    {
        var p = Process.Start(new ProcessStartInfo("touch", ["-h", "-d", "@" + new DateTimeOffset(t).ToUnixTimeSeconds(), path]) { UseShellExecute = false })!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("touch -h failed on " + path);
    }
}
