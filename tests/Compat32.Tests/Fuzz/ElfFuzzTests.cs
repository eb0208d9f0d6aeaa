using System.Buffers.Binary;
using System.Collections.Concurrent;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Fuzz;

/// <summary>
/// The ELF fuzzer (issue #12): seeded mutations of the ELF header, program headers, PT_INTERP, PT_DYNAMIC, notes
/// and truncations of a static and a dynamic (PIE, ld-linux.so.2) i386 program, and of the vDSO image given to
/// --vdso. Contract: one "compat32:" line on stderr and exit 126/127 (1 for a bad --vdso), or a guest that runs
/// (its own exit status, its own stderr) or dies by its own signal; never a host failure, never a hang.
/// </summary>
public class ElfFuzzTests(ITestOutputHelper log)
{
    public enum Target { Static, Dynamic, Vdso }

    static readonly Lazy<string> dynamicBin = new(() =>
    {
        string src = GuestBuild.CSource("exitcode");
        string dir = Path.Combine(TestEnv.Cache, "fuzz");
        Directory.CreateDirectory(dir);
        string bin = Path.Combine(dir, "exitcode-dynamic-" + new FileInfo(src).Length);
        if (!File.Exists(bin))
        {
            var r = Proc.Run(TestEnv.Gcc, ["-m32", "-march=i686", "-O2", "-o", bin + ".tmp", src], timeoutMs: 120_000);
            Assert.True(r.ExitCode == 0, "gcc -m32 (dynamic) failed: " + r.Err);
            File.Move(bin + ".tmp", bin, true);
        }
        return bin;
    });

    static readonly Lazy<byte[]> vdsoImage = new(() =>
    {
        using var d = new TempDir("vdso");
        string f = d.File("vdso.so");
        var r = Proc.Run(TestEnv.Launcher, ["vdso", "--cpu", "intel", "-o", f], env: Proc.BaseEnv(), timeoutMs: 600_000);
        Assert.True(r.ExitCode == 0, "compat32 vdso failed: " + r.Err);
        return File.ReadAllBytes(f);
    });

    static readonly Lazy<string> staticPath = new(() => GuestBuild.BuildC("exitcode"));
    static readonly Lazy<byte[]> staticBin = new(() => File.ReadAllBytes(GuestBuild.BuildC("exitcode")));
    static readonly Lazy<byte[]> dynamicBytes = new(() => File.ReadAllBytes(dynamicBin.Value));

    static byte[] Original(Target t) => t switch
    {
        Target.Static => staticBin.Value,
        Target.Dynamic => dynamicBytes.Value,
        _ => vdsoImage.Value,
    };

    static uint U32(byte[] f, int o) => o + 4 <= f.Length ? BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(o)) : 0;
    static void Put32(byte[] f, int o, uint v) { if (o >= 0 && (long)o + 4 <= f.Length) BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(o), v); }
    static void Put16(byte[] f, int o, ushort v) { if (o >= 0 && (long)o + 2 <= f.Length) BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(o), v); }

    static uint Interesting(Random r, byte[] f) => r.Next(16) switch
    {
        0 => 0, 1 => 1, 2 => 0xfff, 3 => 0x1000, 4 => 0x7fffffff, 5 => 0x80000000, 6 => 0xfffff000, 7 => 0xffffffff,
        8 => (uint)f.Length, 9 => (uint)f.Length + 1, 10 => 0xc0000000, 11 => 0xffffe000, 12 => (uint)r.Next(64),
        13 => 0xfffffff0, 14 => (uint)r.Next(0x2000),
        _ => (uint)r.NextInt64(0, 1L << 32),
    };

    /// <summary>The program headers of type `type` (offsets of each Elf32_Phdr in the file).</summary>
    static List<int> Phdrs(byte[] f, uint? type = null)
    {
        var list = new List<int>();
        if (f.Length < 52) return list;
        uint phoff = U32(f, 28);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(44));
        for (int i = 0; i < phnum && phoff + (ulong)(i + 1) * 32 <= (ulong)f.Length; i++)
        {
            int o = (int)phoff + i * 32;
            if (type == null || U32(f, o) == type) list.Add(o);
        }
        return list;
    }

    public static (byte[] Image, string What) Mutate(byte[] orig, ulong seed)
    {
        var r = new Random((int)(seed * 2654435761 % int.MaxValue));
        var f = (byte[])orig.Clone();
        var what = new List<string>();
        int n = 1 + r.Next(3);
        for (int k = 0; k < n; k++)
        {
            var ph = Phdrs(f);
            switch (r.Next(10))
            {
                case 0: // an ELF header field
                {
                    int[] fields = [4, 5, 6, 7, 16, 18, 20, 24, 28, 32, 36, 40, 42, 44, 46, 48, 50];
                    int o = fields[r.Next(fields.Length)];
                    if (o >= 40) Put16(f, o, (ushort)Interesting(r, f)); else if (o >= 16 && o < 20) Put16(f, o, (ushort)Interesting(r, f));
                    else if (o < 16) { byte b = (byte)r.Next(256); if (o < f.Length) f[o] = b; } else Put32(f, o, Interesting(r, f));
                    what.Add($"ehdr@{o}");
                    break;
                }
                case 1: case 2: // a program header field
                {
                    if (ph.Count == 0) break;
                    int o = ph[r.Next(ph.Count)] + 4 * r.Next(8);
                    uint v = r.Next(3) == 0 ? U32(f, o) + (uint)(r.Next(0x2001) - 0x1000) : Interesting(r, f);
                    Put32(f, o, v);
                    what.Add($"phdr@{o}={v:x}");
                    break;
                }
                case 3: // PT_INTERP: its string, its size, its offset
                {
                    var ip = Phdrs(f, 3);
                    if (ip.Count == 0) { if (ph.Count > 0) { Put32(f, ph[r.Next(ph.Count)], 3); what.Add("new-interp"); } break; }
                    int o = ip[0];
                    uint off = U32(f, o + 4), sz = U32(f, o + 16);
                    switch (r.Next(4))
                    {
                        case 0: if ((ulong)off + sz <= (ulong)f.Length && sz > 0) f[off + sz - 1] = (byte)'x'; what.Add("interp-no-nul"); break;
                        case 1: Put32(f, o + 16, Interesting(r, f)); what.Add("interp-size"); break;
                        case 2: Put32(f, o + 4, Interesting(r, f)); what.Add("interp-offset"); break;
                        default:
                            if (off < f.Length && sz > 2) { f[off + r.Next((int)Math.Min(sz, (uint)(f.Length - off)))] = (byte)(r.Next(2) == 0 ? 0 : '/'); }
                            what.Add("interp-path");
                            break;
                    }
                    break;
                }
                case 4: // PT_DYNAMIC entries (what ld.so reads: the loader must only map and start it)
                {
                    var dp = Phdrs(f, 2);
                    if (dp.Count == 0) break;
                    uint off = U32(f, dp[0] + 4), sz = U32(f, dp[0] + 16);
                    if (sz < 8 || (ulong)off + sz > (ulong)f.Length) break; // (a 32-bit sum could wrap)
                    int e = (int)off + 8 * r.Next((int)(sz / 8));
                    Put32(f, e + 4 * r.Next(2), Interesting(r, f));
                    what.Add($"dynamic@{e}");
                    break;
                }
                case 5: // notes and GNU properties
                {
                    var np = Phdrs(f, 4).Concat(Phdrs(f, 0x6474e553)).ToList();
                    if (np.Count == 0) break;
                    int o = np[r.Next(np.Count)];
                    uint off = U32(f, o + 4);
                    if (r.Next(2) == 0) Put32(f, (int)off + 4 * r.Next(6), Interesting(r, f));
                    else Put32(f, o + 16 + 4 * r.Next(2), Interesting(r, f));
                    what.Add($"note@{off}");
                    break;
                }
                case 6: // truncation, mostly inside the headers
                {
                    int cut = r.Next(3) switch { 0 => r.Next(Math.Min(f.Length, 64)), 1 => r.Next(Math.Min(f.Length, 4096)), _ => r.Next(f.Length) };
                    Array.Resize(ref f, cut);
                    what.Add($"truncate@{cut}");
                    break;
                }
                case 7: // random bytes in the first page
                {
                    for (int i = 0, m = 1 + r.Next(8); i < m && f.Length > 0; i++) f[r.Next(Math.Min(f.Length, 4096))] = (byte)r.Next(256);
                    what.Add("bytes");
                    break;
                }
                case 8: // a header of another type
                {
                    if (ph.Count == 0) break;
                    uint[] types = [0, 1, 2, 3, 4, 6, 7, 0x6474e550, 0x6474e551, 0x6474e552, 0x6474e553, 0x70000000, 0xffffffff];
                    Put32(f, ph[r.Next(ph.Count)], types[r.Next(types.Length)]);
                    what.Add("ptype");
                    break;
                }
                default: // the header table itself
                {
                    if (r.Next(2) == 0) Put16(f, 44, (ushort)Interesting(r, f)); else Put32(f, 28, Interesting(r, f));
                    what.Add("phtable");
                    break;
                }
            }
        }
        return (f, string.Join(',', what));
    }

    /// <summary>Run one mutant; null when it kept the contract, else what went wrong.</summary>
    public static string? RunOne(Target t, ulong seed, out string what)
    {
        var (img, w) = Mutate(Original(t), seed);
        what = $"{t} seed {seed}: {w}";
        using var d = new TempDir("elffuzz");
        string file = d.File(t == Target.Vdso ? "vdso.so" : "prog");
        File.WriteAllBytes(file, img);
        File.SetUnixFileMode(file, (UnixFileMode)0x1ed);
        string model = FuzzRun.Models[(int)(seed % 4)];
        var args = new List<string> { "--cpu", model };
        if (t == Target.Vdso) args.AddRange(["--vdso", file, GuestBuild.BuildC("exitcode"), "return", "7"]);
        else args.AddRange([file, "return", "7"]);
        // the model's own CPU features, not the suite's i686 baseline (CpuBaseline): a blocked mutant is run on the host
        // CPU next, and glibc picks its routines by the features (without SSE, static mutant 8600936400 loops where
        // with SSE it dies of SIGSEGV: compat32 and qemu-i386 -cpu pentium2 alike)
        var env = Proc.BaseEnv();
        env.Remove(CpuBaseline.Variable);
        var res = FuzzRun.Run(args, d.Path, Timeout, _ => true, env);
        if (res.Outcome == Outcome.Blocked && t != Target.Vdso) return BlockedNatively(file, d.Path, res);
        if (res.Outcome is Outcome.HostFailure or Outcome.Blocked) return res.ToString();
        // an exec failure is one line, "compat32: ...", with 126/127 (1 for --vdso)
        var ours = res.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("compat32:", StringComparison.Ordinal)).ToList();
        if (res.Outcome == Outcome.Completed && ours.Count > 0)
        {
            int want = t == Target.Vdso ? 1 : res.ExitCode == 127 ? 127 : 126;
            bool oneLine = res.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 1;
            if (!oneLine || res.ExitCode != want) return $"exec failure not one line with exit {want}: exit {res.ExitCode}, stderr:\n{FuzzRun.Tail(res.Stderr, 600)}";
        }
        return null;
    }

    const int Timeout = 20_000;

    /// <summary>Full runs that blocked under compat32 and on the host kernel alike (a guest that loops, not a loader hang),
    /// and those that blocked where the host cannot run i386 programs (unconfirmed); neither counts as a failure.</summary>
    public static long BlockedOnBoth, BlockedUnconfirmed;

    /// <summary>A pid namespace for running a mutant on the host kernel: whatever it does (kill(-1), a fork storm) stays
    /// inside, and everything in it dies with the namespace's first process (--kill-child ties that to unshare).
    /// Null when the host runs no i386 programs or allows no namespace.</summary>
    static readonly Lazy<string[]?> nativeJail = new(() =>
    {
        if (NativeI386.WhyUnavailable != null) return null;
        foreach (var pre in new[] { new[] { "unshare", "--pid", "--fork", "--kill-child", "--" },
                                    new[] { "unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--" } })
        {
            try { if (Proc.Run(pre[0], [.. pre[1..], "true"], timeoutMs: 10_000).ExitCode == 0) return pre; }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        }
        return null;
    });

    /// <summary>compat32 blocked on this mutant: run it on the host kernel (setarch -R: compat32's layout) with the same
    /// arguments and timeout. Blocked there too: agreement (the guest loops; Dynamic 8601179800 does). The host ends
    /// it: a failure, with what the host did. No host reference: unconfirmed, reported but not failed.</summary>
    static string? BlockedNatively(string file, string cwd, FuzzResult ours)
    {
        if (nativeJail.Value is not { } jail)
        {
            Interlocked.Increment(ref BlockedUnconfirmed);
            return null;
        }
        var n = FuzzRun.RunSession(jail[0], [.. jail[1..], "setarch", "-R", file, "return", "7"], cwd, Proc.BaseEnv(), Timeout, out string why);
        if (n == null) { Interlocked.Increment(ref BlockedOnBoth); return null; }
        return $"{ours}; the host kernel did not block: exit {n.ExitCode}, stdout {FuzzRun.Tail(n.Out, 200)}, stderr {FuzzRun.Tail(n.Err, 200)}";
    }

    /// <summary>What LongRun and KeptSeeds report besides failures.</summary>
    static string BlockedText() =>
        $"{Interlocked.Read(ref BlockedOnBoth)} blocked on compat32 and the host kernel alike (agreement)" +
        (Interlocked.Read(ref BlockedUnconfirmed) > 0 ? $", {Interlocked.Read(ref BlockedUnconfirmed)} blocked unconfirmed (no i386 host reference: {NativeI386.WhyUnavailable ?? "no pid namespace for it"})" : "");

    /// <summary>
    /// One mutant loaded in-process: what `compat32 PROG` does before the guest's first instruction -
    /// MachineFactory.Create (which reads and checks a --vdso image) and Machine.Spawn (read, parse, map the
    /// segments and the interpreter, build the stack) - with the CLI's mapping of exceptions to exit codes
    /// (RunProgram); any other exception is a host failure, and so is a load still busy after 10 s. The guest is not
    /// run here (a fork of it would fork the test host): the long run sends every 200th mutant, and the CI all of
    /// its own, through a full invocation (<see cref="RunOne"/>).
    /// </summary>
    public static string? LoadOne(Target t, ulong seed, string dir, out string what)
    {
        var (img, w) = Mutate(Original(t), seed);
        what = $"{t} seed {seed}: {w}";
        // one of 64 names: the loader's program cache knows a file by inode, size and change times, and those
        // times are coarse (a clock tick), so a same-size mutant rewritten into the same file within a tick would
        // be taken for the one before it and never loaded
        string file = Path.Combine(dir, (t == Target.Vdso ? "vdso" : "prog") + seed % 64);
        WriteMutant(file, img);
        var model = Compat32.Cpu.CpuModel.ByName(FuzzRun.Models[(int)(seed % 4)])!;
        string prog = t == Target.Vdso ? staticPath.Value : file;
        var load = System.Threading.Tasks.Task.Run(() =>
        {
            Compat32.Machine m;
            try { m = Compat32.MachineFactory.Create(model, new Compat32.Kernel.KernelOptions(), t == Target.Vdso ? file : null); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Compat32.Vdso.VdsoFormatException) { return null; }
            catch (Exception e) { return "host failure in MachineFactory.Create: " + e; }
            try { m.Spawn(prog, [prog, "return", "7"], ["PATH=/usr/bin:/bin"]); }
            catch (Exception e) when (e is Compat32.Elf.ElfFormatException or IOException or UnauthorizedAccessException) { return null; }
            catch (Exception e) { return "host failure in Machine.Spawn: " + e; }
            finally { m.Discard(); }
            return (string?)null;
        });
        return load.Wait(10_000) ? load.Result : "the loader did not finish in 10 s";
    }

    /// <summary>Rewrites the mutant file in place: File.WriteAllBytes truncates to 0 first, which on ext4 (auto_da_alloc)
    /// flushes the old blocks, about 2 ms a mutant, more than loading most of them. The new size and change time make
    /// the loader's program cache (keyed by statx identity, size and change times) read it afresh.</summary>
    public static void WriteMutant(string file, byte[] img)
    {
        bool fresh = !File.Exists(file);
        using (var fs = new FileStream(file, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, 1))
        {
            fs.Write(img);
            fs.SetLength(img.Length);
        }
        if (fresh) File.SetUnixFileMode(file, (UnixFileMode)0x1ed);
    }

    static (int Runs, List<string> Failures) Campaign(Target t, IEnumerable<ulong> seeds)
    {
        var failures = new ConcurrentBag<string>();
        int runs = 0;
        Parallel.ForEach(seeds, new ParallelOptions { MaxDegreeOfParallelism = 2 }, s =>
        {
            if (RunOne(t, s, out string what) is { } p) failures.Add($"{what}: {p}");
            Interlocked.Increment(ref runs);
        });
        return (runs, failures.ToList());
    }

    [Theory]
    [InlineData(Target.Static, 48)]
    [InlineData(Target.Dynamic, 32)]
    [InlineData(Target.Vdso, 32)]
    public void FixedSeeds(Target t, int count)
    {
        var (runs, failures) = Campaign(t, Enumerable.Range(1, count).Select(i => (ulong)i));
        log.WriteLine($"{runs} mutated {t} files");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>The CI's in-process share: the loader on 600 mutants of each target (see <see cref="LoadOne"/>).</summary>
    [Theory]
    [InlineData(Target.Static)]
    [InlineData(Target.Dynamic)]
    [InlineData(Target.Vdso)]
    public void FixedSeedsInProcess(Target t)
    {
        using var dir = new TempDir("elfload");
        var failures = new List<string>();
        for (ulong s = 1000; s < 1600; s++)
            if (LoadOne(t, s, dir.Path, out string what) is { } p) failures.Add($"{what}: {p}");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>COMPAT32_FUZZ_ELF_DUMP="Static|Dynamic|Vdso SEED FILE": writes that mutant (mode 0755), to run by hand
    /// natively and under compat32; a tool, skipped without the variable.</summary>
    [DumpFact("COMPAT32_FUZZ_ELF_DUMP")]
    public void DumpMutant()
    {
        var t = Environment.GetEnvironmentVariable("COMPAT32_FUZZ_ELF_DUMP")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(t.Length == 3, "COMPAT32_FUZZ_ELF_DUMP=\"Static|Dynamic|Vdso SEED FILE\"");
        var (img, what) = Mutate(Original(Enum.Parse<Target>(t[0])), ulong.Parse(t[1]));
        File.WriteAllBytes(t[2], img);
        File.SetUnixFileMode(t[2], (UnixFileMode)0x1ed);
        log.WriteLine($"{t[0]} seed {t[1]}: {what} -> {t[2]} (model {FuzzRun.Models[(int)(ulong.Parse(t[1]) % 4)]})");
    }

    [Fact]
    public void KeptSeeds()
    {
        var failures = new List<string>();
        using var dir = new TempDir("elfload");
        foreach (var t in FuzzRun.KeptSeeds("elf"))
        {
            if (RunOne(Enum.Parse<Target>(t[0]), ulong.Parse(t[1]), out string what) is { } p) failures.Add($"{what}: {p}");
            if (LoadOne(Enum.Parse<Target>(t[0]), ulong.Parse(t[1]), dir.Path, out what) is { } q) failures.Add($"{what} (in-process): {q}");
        }
        log.WriteLine(BlockedText());
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    [LongFuzzFact]
    public void LongRun()
    {
        var deadline = DateTime.UtcNow.AddSeconds(FuzzRun.LongSeconds);
        ulong next = FuzzRun.LongSeed;
        long runs = 0, full = 0, bad = 0;
        Parallel.For(0, 2, _ =>
        {
            using var dir = new TempDir("elfload");
            while (DateTime.UtcNow < deadline)
            {
                ulong s = Interlocked.Increment(ref next);
                var t = (Target)(int)(s % 3);
                bool invoke = s % 200 == 0;
                string what;
                var p = invoke ? RunOne(t, s, out what) : LoadOne(t, s, dir.Path, out what);
                if (p != null) { Interlocked.Increment(ref bad); FuzzRun.Keep("elf", $"{t} {s}", $"{what}: {p}"); }
                Interlocked.Increment(ref runs);
                if (invoke) Interlocked.Increment(ref full);
                if (Interlocked.Read(ref runs) % 10_000 == 0) FuzzRun.Report($"elf fuzz (running): {runs} mutated files");
            }
        });
        string line = $"elf fuzz: {runs} mutated files ({full} of them full compat32 runs, the rest loaded in-process), {bad} failing, {BlockedText()}";
        FuzzRun.Report(line);
        log.WriteLine(line);
        Assert.True(bad == 0, line + " (kept in tests/Compat32.Tests/Fuzz/seeds/elf.txt)");
    }
}
