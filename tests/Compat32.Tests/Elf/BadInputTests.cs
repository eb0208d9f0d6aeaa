using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Elf;

/// <summary>
/// Programs that cannot be run: compat32 prints exactly ONE line on stderr starting with "compat32:" and exits 126
/// (127 when the file does not exist), as a shell reports an exec failure; never a .NET stack trace. The corrupted
/// files are cut from a real gcc-built static i386 program, at offsets read from its own headers.
/// </summary>
public class BadInputTests
{
    // Elf32_Ehdr offsets (include/uapi/linux/elf.h)
    const int EI_CLASS = 4, EI_DATA = 5, EI_VERSION = 6, E_TYPE = 16, E_MACHINE = 18, E_VERSION = 20, E_PHOFF = 28,
              E_PHENTSIZE = 42, E_PHNUM = 44, EHDR_SIZE = 52, PHDR_SIZE = 32;

    static byte[] Good() => File.ReadAllBytes(GuestBuild.BuildC("exitcode"));

    static ProcResult Run(string path, params string[] args) =>
        Proc.Run(TestEnv.Launcher, [path, .. args], env: Proc.BaseEnv(), timeoutMs: 60_000);

    /// <summary>The exec-failure contract: one line, "compat32: ", no stack trace, nothing on stdout, exit code.</summary>
    static void AssertOneLineError(ProcResult r, int code, string what)
    {
        string err = r.Err;
        Assert.False(err.Contains("   at ") || err.Contains("Unhandled exception") || err.Contains("Exception:"),
            $"{what}: .NET exception text on stderr:\n{err}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("compat32: ", StringComparison.Ordinal) && err.EndsWith('\n'),
            $"{what}: expected one 'compat32: ...' line on stderr, got:\n{err}");
        Assert.True(r.Stdout.Length == 0, $"{what}: unexpected stdout: {r.Out}");
        Assert.True(r.ExitCode == code, $"{what}: exit {r.ExitCode}, expected {code}; stderr: {err}");
    }

    /// <summary>An option compat32 does not know is one line and exit 2, through the front and without it (the
    /// front starts the engine before parsing, so the engine reports it), never ignored.</summary>
    [Fact]
    public void UnknownOptionIsAnError()
    {
        string prog = GuestBuild.BuildC("exitcode");
        foreach (var front in new[] { "1", "0" })
        {
            var env = Proc.BaseEnv();
            env["COMPAT32_FRONT"] = front;
            var r = Proc.Run(TestEnv.Launcher, ["--no-such-option", prog], env: env, timeoutMs: 60_000);
            AssertOneLineError(r, 2, "front=" + front);
            Assert.Contains("--no-such-option", r.Err);
        }
    }

    static void Bad(string tag, byte[] image, int code = 126)
    {
        using var d = TestEnv.NewTempDir("elf");
        string p = d.File(tag);
        File.WriteAllBytes(p, image);
        File.SetUnixFileMode(p, (UnixFileMode)Convert.ToInt32("755", 8));
        AssertOneLineError(Run(p), code, tag);
    }

    /// <summary>End of the file range the PT_LOAD segments cover: cutting the file anywhere before it breaks it.</summary>
    static (uint phoff, int phnum, uint loadEnd, List<(uint off, uint filesz)> loads) Layout(byte[] f)
    {
        uint phoff = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(E_PHOFF));
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(E_PHNUM));
        uint end = 0;
        var loads = new List<(uint, uint)>();
        for (int i = 0; i < phnum; i++)
        {
            var ph = f.AsSpan((int)phoff + i * PHDR_SIZE);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != 1) continue; // PT_LOAD
            uint off = BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]), filesz = BinaryPrimitives.ReadUInt32LittleEndian(ph[16..]);
            loads.Add((off, filesz));
            end = Math.Max(end, off + filesz);
        }
        return (phoff, phnum, end, loads);
    }

    public static IEnumerable<object[]> CutPoints() =>
        new[] { "0", "1", "4", "16", "51", "52", "phoff+1", "phoff+31", "phdrs-1", "phdrs", "load0-mid", "load1-start", "load1-mid", "load-end-1" }
            .Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(CutPoints))]
    public void Truncated(string where)
    {
        var f = Good();
        var (phoff, phnum, end, loads) = Layout(f);
        Assert.True(loads.Count >= 2, "expected a static program with two or more PT_LOAD segments");
        uint phdrsEnd = phoff + (uint)(phnum * PHDR_SIZE);
        long cut = where switch
        {
            "phoff+1" => phoff + 1,
            "phoff+31" => phoff + 31,
            "phdrs-1" => phdrsEnd - 1,
            "phdrs" => phdrsEnd,
            "load0-mid" => loads[0].off + loads[0].filesz / 2,
            "load1-start" => loads[1].off + 1,
            "load1-mid" => loads[1].off + loads[1].filesz / 2,
            "load-end-1" => end - 1,
            _ => long.Parse(where),
        };
        Assert.True(cut < end);
        Bad("trunc-" + where, f[..(int)cut]);
    }

    public static IEnumerable<object[]> Corruptions() =>
        new[] { "magic", "class64-in-32", "class-none", "big-endian", "ident-version", "type-rel", "type-core", "machine-x86_64",
                "machine-arm", "phentsize-0", "phentsize-31", "phentsize-56", "phnum-0", "phnum-2049", "phnum-max",
                "phoff-beyond", "phoff-overflow", "load-offset-beyond", "load-filesz-beyond", "no-pt-load" }
            .Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void CorruptedHeader(string what)
    {
        var f = Good();
        var (phoff, phnum, _, _) = Layout(f);
        void U16(int at, int v) => BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(at), (ushort)v);
        void U32(int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(at), v);
        int firstLoad = Enumerable.Range(0, phnum).First(i => BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan((int)phoff + i * PHDR_SIZE)) == 1);
        int ph = (int)phoff + firstLoad * PHDR_SIZE;
        switch (what)
        {
            case "magic": f[1] = (byte)'X'; break;
            case "class64-in-32": f[EI_CLASS] = 2; break;
            case "class-none": f[EI_CLASS] = 0; break;
            case "big-endian": f[EI_DATA] = 2; break;
            case "ident-version": f[EI_VERSION] = 0; break;
            case "type-rel": U16(E_TYPE, 1); break;
            case "type-core": U16(E_TYPE, 4); break;
            case "machine-x86_64": U16(E_MACHINE, 62); break;
            case "machine-arm": U16(E_MACHINE, 40); break;
            case "phentsize-0": U16(E_PHENTSIZE, 0); break;
            case "phentsize-31": U16(E_PHENTSIZE, 31); break;
            case "phentsize-56": U16(E_PHENTSIZE, 56); break;
            case "phnum-0": U16(E_PHNUM, 0); break;
            case "phnum-2049": U16(E_PHNUM, 2049); break;   // > 65536 / sizeof(elf_phdr)
            case "phnum-max": U16(E_PHNUM, 0xffff); break;
            case "phoff-beyond": U32(E_PHOFF, (uint)f.Length + 100); break;
            case "phoff-overflow": U32(E_PHOFF, 0xfffffff0); break;
            case "load-offset-beyond": U32(ph + 4, (uint)f.Length + 0x10000); break;
            case "load-filesz-beyond": U32(ph + 16, (uint)f.Length * 4); U32(ph + 20, (uint)f.Length * 4); break;
            case "no-pt-load":
                for (int i = 0; i < phnum; i++) if (BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan((int)phoff + i * PHDR_SIZE)) == 1) U32((int)phoff + i * PHDR_SIZE, 0x6fffffff);
                break;
            default: throw new ArgumentException(what);
        }
        Bad(what, f);
    }

    /// <summary>Header fields binfmt_elf never looks at (e_version, the section headers, EI_OSABI/EI_PAD, e_flags):
    /// damage there must not stop the program, which behaves exactly as under qemu-i386.</summary>
    [Theory]
    [InlineData("version-0")] [InlineData("shoff-garbage")] [InlineData("shnum-garbage")] [InlineData("osabi")] [InlineData("flags")]
    public void IgnoredFieldsStillRun(string what)
    {
        var f = Good();
        switch (what)
        {
            case "version-0": BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(E_VERSION), 0); break;
            case "shoff-garbage": BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(32), 0xfffffff0); break;
            case "shnum-garbage": BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(48), 0xffff); BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(50), 0xfff0); break;
            case "osabi": f[7] = 97; f[8] = 1; f[12] = 0xee; break;
            case "flags": BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(36), 0xdeadbeef); break;
        }
        using var d = TestEnv.NewTempDir("elfok");
        string p = d.File(what);
        File.WriteAllBytes(p, f);
        File.SetUnixFileMode(p, (UnixFileMode)Convert.ToInt32("755", 8));
        var (q, c) = Differential.AssertSame(p, ["exit", "5"]);
        Assert.Equal(5, c.ExitCode);
    }

    [Fact] public void EmptyFile() => Bad("empty", []);
    [Fact] public void TextFile() => Bad("text", "just some text\nnot a program\n"u8.ToArray());
    [Fact] public void ShortGarbage() => Bad("garbage", [0x7f, (byte)'E', (byte)'L']);

    [Fact]
    public void HostElf64()
    {
        string host = File.Exists("/bin/true") ? "/bin/true" : "/usr/bin/true";
        var bytes = File.ReadAllBytes(host);
        Assert.True(bytes.Length > 5 && bytes[EI_CLASS] == 2, host + " is not a 64-bit ELF");
        AssertOneLineError(Run(host), 126, "64-bit host ELF");
    }

    [Fact]
    public void Directory()
    {
        using var d = TestEnv.NewTempDir("elfdir");
        AssertOneLineError(Run(d.Path), 126, "directory");
    }

    [Fact]
    public void NotFound() => AssertOneLineError(Run("/nonexistent/compat32/prog"), 127, "missing file");

    [Fact]
    public void NotReadable()
    {
        if (Environment.UserName == "root") return; // root reads anything; the other cases cover the error path
        using var d = TestEnv.NewTempDir("elfperm");
        string p = d.File("noread");
        File.WriteAllBytes(p, Good());
        File.SetUnixFileMode(p, UnixFileMode.UserExecute);
        AssertOneLineError(Run(p), 126, "unreadable");
    }

    /// <summary>Seeded random damage to the ELF and program headers: whatever happens, never a host exception,
    /// never a hang; a rejected image gets the one-line error.</summary>
    [Fact]
    public void FuzzedHeaders()
    {
        var good = Good();
        var (phoff, phnum, _, _) = Layout(good);
        var rng = new Random(20240601);
        using var d = TestEnv.NewTempDir("elffuzz");
        var failures = new List<string>();
        for (int n = 0; n < 24; n++)
        {
            var f = (byte[])good.Clone();
            int edits = 1 + rng.Next(3);
            for (int k = 0; k < edits; k++)
            {
                // bytes of the ELF header (not e_entry) or of a program header
                int at = rng.Next(2) == 0 ? new[] { 4, 5, 6, 16, 18, 20, 28, 29, 30, 31, 40, 42, 44, 46, 48, 50 }[rng.Next(16)]
                                          : (int)phoff + rng.Next(phnum * PHDR_SIZE);
                f[at] = (byte)rng.Next(256);
            }
            string p = d.File("fuzz" + n);
            File.WriteAllBytes(p, f);
            var r = Run(p, "exit", "5");
            string err = r.Err;
            if (err.Contains("   at ") || err.Contains("Unhandled exception"))
                failures.Add($"fuzz{n}: .NET exception:\n{err}");
            else if (r.ExitCode == 126 && (err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length != 1 || !err.StartsWith("compat32: ")))
                failures.Add($"fuzz{n}: exit 126 without a one-line error: {err}");
            else if (r.ExitCode is not (126 or 5 or 132 or 133 or 134 or 135 or 136 or 137 or 139))
                failures.Add($"fuzz{n}: unexpected exit {r.ExitCode}: {err}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}

/// <summary>Guests killed by a fault: one line "compat32: PROG: killed by SIGxxx ..." and 128+N, like qemu-i386's status.</summary>
public class FatalSignalTests
{
    [Theory]
    [InlineData("write", "SIGSEGV", "0x00001234")]
    [InlineData("read", "SIGSEGV", "0x00000000")]
    [InlineData("high", "SIGSEGV", "0xfffff000")]
    [InlineData("text", "SIGSEGV", null)]
    [InlineData("stack", "SIGSEGV", null)]
    [InlineData("ud2", "SIGILL", null)]
    [InlineData("int3", "SIGTRAP", null)]
    [InlineData("hlt", "SIGSEGV", null)]
    [InlineData("div0", "SIGFPE", null)]
    [InlineData("abort", "SIGABRT", null)]
    public void KilledBySignal(string mode, string sig, string? addr)
    {
        string prog = GuestBuild.BuildC("crash");
        var q = Differential.RunQemu(prog, [mode]);
        var c = Differential.RunCompat32(prog, [mode]);
        Assert.Equal(q.Out, c.Out);
        Assert.Equal(q.ExitCode, c.ExitCode);
        string err = c.Err;
        Assert.DoesNotContain("   at ", err);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + err);
        string pattern = "^compat32: " + Regex.Escape(prog) + ": killed by " + sig +
                         (addr != null ? @" \(address " + Regex.Escape(addr) + @"\)" : @"( \(address 0x[0-9a-f]{8}\))?") + @"( \(core dumped\))?$";
        Assert.Matches(pattern, lines[0]);
    }
}
