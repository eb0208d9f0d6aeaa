using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;
using Compat32.Cpu;
using Compat32.Tests.Debian;
using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Cpu;

/// <summary>
/// The code cache on disk (TranslationStore, --code-cache): a program's second run copies what its first
/// translated, and nothing stored is taken where it does not fit: other bytes at the same address, a damaged file,
/// several runs writing at once. Every run's output is compared with qemu-i386's.
/// </summary>
public class CodeCacheTests
{
    /// <summary>A loop whose multiplier is K: two builds differ only in the immediate of one hot IMUL, so the
    /// loop's block starts at the same address with other bytes of the same length.</summary>
    const string LoopSource = """
        #include <stdio.h>
        #include <stdlib.h>
        static unsigned step(unsigned h, unsigned i) { return h * K + (h >> 7) + i; }
        int main(int argc, char **argv)
        {
            unsigned h = 1, n = argc > 1 ? (unsigned)atoi(argv[1]) : 300000;
            for (unsigned i = 0; i < n; i++) h = step(h, i);
            printf("h=%u\n", h);
            return 0;
        }
        """;

    static string BuildLoop(TempDir dir, string k)
    {
        string src = Path.Combine(dir.Path, $"loop-{k}.c");
        File.WriteAllText(src, LoopSource);
        return GuestBuild.Build(src, $"-DK={k}u");
    }

    /// <summary>The loop (first multiplier) copied into dir as "loop": the cache file is named by that path.</summary>
    static string LoopIn(TempDir dir)
    {
        string prog = Path.Combine(dir.Path, "loop");
        File.Copy(BuildLoop(dir, "2654435761"), prog);
        return prog;
    }

    static (ProcResult R, JsonElement Stats) Run(string cache, string prog, params string[] args)
    {
        string json = Path.GetTempFileName();
        try
        {
            var r = Proc.Run(TestEnv.Launcher, ["--code-cache", cache, "--stats-json", json, prog, .. args], env: Proc.BaseEnv());
            Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Out}{r.Err}");
            var cpu = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("cpu").Clone();
            return (r, cpu);
        }
        finally { File.Delete(json); }
    }

    static long Used(JsonElement cpu) => cpu.GetProperty("code_cache_used").GetInt64();

    static string[] CacheFiles(string cache) =>
        Directory.Exists(cache) ? Directory.GetFiles(cache, "*.bin", SearchOption.AllDirectories) : [];

    [Fact]
    public void SecondRunCopiesWhatTheFirstTranslatedAndPrintsTheSame()
    {
        using var dir = new TempDir("cc");
        string cache = Path.Combine(dir.Path, "cache"), prog = LoopIn(dir);
        var q = Differential.RunQemu(prog, []);
        var (r1, s1) = Run(cache, prog);
        Assert.Equal(q.Out, r1.Out);
        Assert.Equal(0, Used(s1));
        Assert.True(s1.GetProperty("code_cache").GetBoolean());
        var file = Assert.Single(CacheFiles(cache));
        Assert.StartsWith("loop-", Path.GetFileName(file));
        var (r2, s2) = Run(cache, prog);
        Assert.Equal(q.Out, r2.Out);
        Assert.True(Used(s2) > 0, "the second run took nothing from the cache");
        Assert.True(s2.GetProperty("code_cache_read").GetInt64() >= Used(s2));
        // Its hot loop came from the file: it translated (almost) nothing itself.
        Assert.True(s2.GetProperty("blocks").GetInt64() - s2.GetProperty("blocks_copied").GetInt64() <= 2,
            $"blocks {s2.GetProperty("blocks")}, copied {s2.GetProperty("blocks_copied")}");
    }

    [Fact]
    public void OtherBytesAtTheSameAddressAreTranslatedAfresh()
    {
        using var dir = new TempDir("cc");
        string cache = Path.Combine(dir.Path, "cache");
        string prog = Path.Combine(dir.Path, "loop");
        string a = BuildLoop(dir, "2654435761"), b = BuildLoop(dir, "2246822519");
        Assert.Equal(new FileInfo(a).Length, new FileInfo(b).Length);
        File.Copy(a, prog);
        Run(cache, prog);
        Run(cache, prog);
        // The same path (the same cache file) now holds the other multiplier.
        File.Copy(b, prog, overwrite: true);
        var q = Differential.RunQemu(prog, []);
        var (r, s) = Run(cache, prog);
        Assert.Equal(q.Out, r.Out);
        Assert.True(Used(s) > 0, "nothing taken: the unchanged start-up code should still come from the cache");
        var (r2, _) = Run(cache, prog);
        Assert.Equal(q.Out, r2.Out);
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public void DamagedFilesAreNotRead(string damage)
    {
        using var dir = new TempDir("cc");
        string cache = Path.Combine(dir.Path, "cache"), prog = LoopIn(dir);
        var q = Differential.RunQemu(prog, []);
        Run(cache, prog);
        string file = Assert.Single(CacheFiles(cache));
        var bytes = File.ReadAllBytes(file);
        switch (damage)
        {
            case "flip": bytes[bytes.Length / 2] ^= 0x40; break;
            case "truncate": bytes = bytes[..(bytes.Length * 2 / 3)]; break;
            case "garbage": new Random(7).NextBytes(bytes); break;
            case "empty": bytes = []; break;
        }
        File.WriteAllBytes(file, bytes);
        var (r, s) = Run(cache, prog);
        Assert.Equal(q.Out, r.Out);
        Assert.Equal(0, Used(s));
        Assert.Equal(0, s.GetProperty("code_cache_read").GetInt64());
        // It wrote a good file again, which the next run takes.
        var (r2, s2) = Run(cache, prog);
        Assert.Equal(q.Out, r2.Out);
        Assert.True(Used(s2) > 0);
    }

    [Fact]
    public void OffWritesNothing()
    {
        using var dir = new TempDir("cc");
        string prog = LoopIn(dir);
        string json = Path.Combine(dir.Path, "s.json");
        var env = Proc.BaseEnv();
        env["XDG_CACHE_HOME"] = Path.Combine(dir.Path, "xdg");
        env["COMPAT32_CODE_CACHE"] = "off";
        var r = Proc.Run(TestEnv.Launcher, ["--stats-json", json, prog], env: env);
        Assert.Equal(0, r.ExitCode);
        Assert.False(JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("cpu").GetProperty("code_cache").GetBoolean());
        Assert.Empty(CacheFiles(Path.Combine(dir.Path, "xdg")));
        // Without the variable, the default place is $XDG_CACHE_HOME/compat32/code.
        env.Remove("COMPAT32_CODE_CACHE");
        r = Proc.Run(TestEnv.Launcher, ["--stats-json", json, prog], env: env);
        Assert.Equal(0, r.ExitCode);
        Assert.Single(CacheFiles(Path.Combine(dir.Path, "xdg", "compat32", "code")));
    }

    /// <summary>Runs writing the same file at once: each prints what qemu-i386 prints, and the file left is whole.</summary>
    [Fact]
    public void RunsWritingAtOnceLeaveAWholeFile()
    {
        using var dir = new TempDir("cc");
        string cache = Path.Combine(dir.Path, "cache"), prog = LoopIn(dir);
        var q = Differential.RunQemu(prog, ["200000"]);
        for (int round = 0; round < 3; round++)
        {
            var outs = new ProcResult[4];
            Parallel.For(0, outs.Length, i =>
                outs[i] = Proc.Run(TestEnv.Launcher, ["--code-cache", cache, prog, "200000"], env: Proc.BaseEnv()));
            foreach (var o in outs) { Assert.Equal(0, o.ExitCode); Assert.Equal(q.Out, o.Out); }
            string file = Assert.Single(CacheFiles(cache));
            Assert.NotNull(TranslationStore.Image.Check(File.ReadAllBytes(file)));
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(file)!, "*.tmp"));
        }
    }

    /// <summary>A shell's children exec the same program: they share the program's store, and the next run takes it.</summary>
    [Fact]
    public void ExecedChildrenUseTheirProgramsCache()
    {
        using var dir = new TempDir("cc");
        string cache = Path.Combine(dir.Path, "cache");
        string bb = Path.Combine(dir.Path, "busybox");
        File.Copy(TestEnv.Busybox, bb);
        string[] args = ["sh", "-c", $"i=0; while [ $i -lt 40 ]; do {bb} expr $i \\* 7 + 1 >/dev/null; i=$((i+1)); done; {bb} seq 1 2000 | {bb} md5sum"];
        // (qemu-i386 cannot exec i386 children without binfmt_misc: the host's own seq and md5sum are the reference.)
        var want = Proc.Run("/bin/sh", ["-c", "seq 1 2000 | md5sum"]);
        var (r1, _) = Run(cache, bb, args);
        Assert.Equal(want.Out, r1.Out);
        var (r2, s2) = Run(cache, bb, args);
        Assert.Equal(want.Out, r2.Out);
        Assert.True(Used(s2) > 0);
        var file = Assert.Single(CacheFiles(cache));
        Assert.StartsWith("busybox-", Path.GetFileName(file));
    }

    [DebianFact]
    public void PythonSecondStartComesFromTheCache()
    {
        using var dir = new TempDir("cc");
        string cache = Path.Combine(dir.Path, "cache");
        string py = DebianSysroot.Bin("python3.11");
        string[] args = ["-S", "-c", "d={str(i):i*i for i in range(5000)}; print(sum(d.values()), '%.3f' % (len(d)/7))"];
        var q = Proc.Run(TestEnv.Qemu, ["-L", DebianSysroot.Dir, py, .. args], env: Proc.BaseEnv());
        Assert.Equal(0, q.ExitCode);
        string json = Path.Combine(dir.Path, "s.json");
        // The default threshold whatever the caller set (at 1 nothing is left to interpret, or to add in a second run).
        var env = Proc.BaseEnv();
        env.Remove("COMPAT32_JIT_THRESHOLD");
        env.Remove("COMPAT32_JIT");
        JsonElement Once()
        {
            var r = Proc.Run(TestEnv.Launcher, ["--code-cache", cache, "--stats-json", json, "-L", DebianSysroot.Dir, py, .. args], env: env);
            Assert.True(r.ExitCode == 0, r.Err);
            Assert.Equal(q.Out, r.Out);
            return JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("cpu").Clone();
        }
        var s1 = Once();
        var s2 = Once();
        var s3 = Once();
        Assert.Equal(0, Used(s1));
        static long Interpreted(JsonElement s) => s.GetProperty("instructions").GetInt64() - s.GetProperty("translated").GetInt64();
        // The second start copies what the first translated (it interprets the blocks that never got hot); at its end
        // it translates those that ran 32 times or more, so the third interprets a small part of what the first did
        // (at the default threshold of 64: 3.2 M, 1.4 M, 0.9 M instructions on this project's VM).
        Assert.True(Used(s2) * 10 >= s2.GetProperty("blocks").GetInt64() * 9, $"used {Used(s2)} of {s2.GetProperty("blocks")} blocks");
        Assert.True(s2.GetProperty("code_cache_written").GetInt64() >= 256, $"the second run wrote {s2.GetProperty("code_cache_written")} entries");
        Assert.True(Used(s3) * 10 >= s3.GetProperty("blocks").GetInt64() * 9, $"used {Used(s3)} of {s3.GetProperty("blocks")} blocks");
        Assert.True(Interpreted(s2) * 3 < Interpreted(s1) * 2 && Interpreted(s3) * 3 < Interpreted(s1) && Interpreted(s3) < Interpreted(s2),
            $"interpreted {Interpreted(s1)}, {Interpreted(s2)}, {Interpreted(s3)}");
    }

    /// <summary>Damage past the checksum (the checksum fixed up after): the index and entry parsers refuse or
    /// return entries, never throw, whatever the bytes.</summary>
    [Fact]
    public void ParsersSurviveDamageBehindAValidChecksum()
    {
        using var dir = new TempDir("cc");
        string cache = Path.Combine(dir.Path, "cache"), prog = LoopIn(dir);
        Run(cache, prog);
        Run(cache, prog); // (the second run adds the blocks that ran 32 times or more)
        var good = File.ReadAllBytes(Assert.Single(CacheFiles(cache)));
        var img0 = TranslationStore.Image.Check(good);
        Assert.NotNull(img0);
        Assert.True(img0!.Count > 10, $"{img0.Count} entries");
        for (int i = 0; i < img0.Count; i++) Assert.NotNull(img0.EntryAt(i));
        var rng = new Random(1234);
        int checkedImages = 0, refusedEntries = 0;
        for (int iter = 0; iter < 3000; iter++)
        {
            var b = (byte[])good.Clone();
            int flips = 1 + rng.Next(4);
            for (int f = 0; f < flips; f++)
            {
                int at = rng.Next(b.Length - 8);
                b[at] = rng.Next(3) == 0 ? (byte)0xFF : (byte)rng.Next(256);
            }
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(b.Length - 8), XxHash3.HashToUInt64(b.AsSpan(0, b.Length - 8)));
            var img = TranslationStore.Image.Check(b);
            if (img == null) continue;
            checkedImages++;
            for (int i = 0; i < img.Count; i++)
            {
                _ = img.BytesAt(i);
                _ = img.First(img.StartAt(i));
                if (img.EntryAt(i) == null) refusedEntries++;
            }
        }
        Assert.True(checkedImages > 100 && refusedEntries > 0, $"{checkedImages} images, {refusedEntries} entries refused");
    }
}
