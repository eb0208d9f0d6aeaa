using System.Collections.Concurrent;
using Compat32.Tests.Harness;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Fuzz;

/// <summary>
/// The instruction-stream fuzzer (issue #12): seeded random byte sequences and random valid instructions (decoded
/// from random bytes by Iced, memory operands pointed into the guest's data pages, re-encoded by Iced's encoder),
/// run by fuzz/guests/insnfuzz.c with fault handlers; compat32's final registers, flags (the SDM-undefined ones
/// masked, tracked instruction by instruction from Iced's flag info), data pages, x87 state and signal must equal
/// the reference's: the host CPU itself where it runs i386 programs, else qemu-i386 (COMPAT32_FUZZ_REF=qemu forces
/// qemu). Interpreted and translated (--jit 1). Only what the CPU model advertises is generated: i686 integer and
/// x87; SSE joins with <see cref="Generator.Sse"/> once the model has it. compat32 runs its default model, the host
/// CPU's vendor, so what the vendors do differently (PUSH Sreg's slot, an access across 4 GiB) is compared too.
/// </summary>
public class InsnFuzzTests(ITestOutputHelper log)
{
    const uint Data = 0x30000000, DataLen = 0x3000;

    public static string Guest => GuestBuild.Build(TestEnv.RepoPath("fuzz", "guests", "insnfuzz.c"));

    public sealed class Generator(ulong seed, bool sse = false)
    {
        public bool Sse { get; } = sse;
        readonly Random r = new((int)(seed * 0x9E3779B1 % int.MaxValue));

        static readonly HashSet<CpuidFeature> Base =
        [
            CpuidFeature.INTEL8086, CpuidFeature.INTEL186, CpuidFeature.INTEL286, CpuidFeature.INTEL386, CpuidFeature.INTEL486,
            CpuidFeature.FPU, CpuidFeature.FPU287, CpuidFeature.FPU387, CpuidFeature.CMOV, CpuidFeature.CX8,
            CpuidFeature.MULTIBYTENOP, CpuidFeature.PAUSE,
        ];
        static readonly HashSet<CpuidFeature> SseSet =
            [CpuidFeature.MMX, CpuidFeature.SSE, CpuidFeature.SSE2, CpuidFeature.SSE3, CpuidFeature.SSSE3, CpuidFeature.SSE4_1, CpuidFeature.SSE4_2];

        /// <summary>Not generated: host-dependent results (CPUID, TSC, descriptor tables; INT1, whose #DB names the
        /// instruction after it on the Intel host, as the SDM's trap does, but the INT1 itself on the AMD host, a
        /// virtual machine), segment loads (another room), flag loads that could set TF/AC, control flow (the case
        /// is straight-line), and the x87 transcendentals (correct to 1 ulp, not bit-exact) and environment saves
        /// (FPU pointers).</summary>
        static readonly HashSet<Mnemonic> Excluded =
        [
            Mnemonic.Cpuid, Mnemonic.Rdtsc, Mnemonic.Rdtscp, Mnemonic.Rdpmc, Mnemonic.Sgdt, Mnemonic.Sidt, Mnemonic.Sldt,
            Mnemonic.Str, Mnemonic.Smsw, Mnemonic.Lar, Mnemonic.Lsl, Mnemonic.Verr, Mnemonic.Verw, Mnemonic.Int1,
            Mnemonic.Lds, Mnemonic.Les, Mnemonic.Lfs, Mnemonic.Lgs, Mnemonic.Lss, Mnemonic.Popf, Mnemonic.Popfd, Mnemonic.Iret,
            Mnemonic.Iretd, Mnemonic.Int, Mnemonic.Sysenter, Mnemonic.Syscall, Mnemonic.Sysexit, Mnemonic.Sysret,
            Mnemonic.Fsin, Mnemonic.Fcos, Mnemonic.Fsincos, Mnemonic.Fptan, Mnemonic.Fpatan, Mnemonic.F2xm1, Mnemonic.Fyl2x,
            Mnemonic.Fyl2xp1, Mnemonic.Fnstenv, Mnemonic.Fstenv, Mnemonic.Fnsave, Mnemonic.Fsave, Mnemonic.Fldenv,
            Mnemonic.Frstor, Mnemonic.Bound,
            // which of its two operands CMPS reads first (so which address a fault reports) is not architectural
            Mnemonic.Cmpsb, Mnemonic.Cmpsw, Mnemonic.Cmpsd,
        ];

        static uint Map(RflagsBits b)
        {
            uint m = 0;
            if ((b & RflagsBits.OF) != 0) m |= 0x800;
            if ((b & RflagsBits.SF) != 0) m |= 0x80;
            if ((b & RflagsBits.ZF) != 0) m |= 0x40;
            if ((b & RflagsBits.AF) != 0) m |= 0x10;
            if ((b & RflagsBits.CF) != 0) m |= 0x1;
            if ((b & RflagsBits.PF) != 0) m |= 0x4;
            if ((b & RflagsBits.DF) != 0) m |= 0x400;
            return m;
        }

        bool Allowed(in Instruction i)
        {
            if (i.IsInvalid || i.FlowControl is not (FlowControl.Next or FlowControl.Exception)) return false;
            if (Excluded.Contains(i.Mnemonic) || i.Mnemonic == Mnemonic.Mov && (i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister())) return false;
            if (i.Mnemonic is Mnemonic.Pop && i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister()) return false;
            foreach (var f in i.CpuidFeatures)
                if (!Base.Contains(f) && !(Sse && SseSet.Contains(f))) return false;
            return true;
        }

        uint Value() => r.Next(8) switch
        {
            0 => 0, 1 => 1, 2 => 0xffffffff, 3 => 0x80000000, 4 => 0x7fffffff, 5 => (uint)r.Next(256),
            _ => (uint)r.NextInt64(0, 1L << 32),
        };

        /// <summary>One valid instruction, memory operand (if any) inside the data pages; null if none found.</summary>
        Instruction? One(uint undefinedFlags)
        {
            var bytes = new byte[16];
            for (int tries = 0; tries < 200; tries++)
            {
                r.NextBytes(bytes);
                var d = Decoder.Create(32, bytes);
                var i = d.Decode();
                if (!Allowed(i)) continue;
                if ((Map(i.RflagsRead) & undefinedFlags) != 0) continue; // would read an undefined flag
                // FS/GS: the TLS base differs between runs
                if (i.SegmentPrefix is Register.FS or Register.GS) i.SegmentPrefix = Register.None;
                // 16-bit string addresses (67 prefix: DS:SI, ES:DI) stay as they come: SI/DI point below the data
                // pages, so these end in the same fault on both sides, which is compared too
                bool locked = i.HasLockPrefix || i.Mnemonic == Mnemonic.Xchg;
                for (int k = 0; k < i.OpCount; k++)
                {
                    if (i.GetOpKind(k) != OpKind.Memory) continue;
                    if (i.MemoryBase.GetSize() == 2 || i.MemoryIndex.GetSize() == 2 || i.IsIPRelativeMemoryOperand) goto next;
                    if (locked)
                    {
                        // a locked access across a cache line is a bus lock the host kernel throttles (the case then
                        // is slowed down there, each case by up to the guest's 30 s wall timer): a naturally aligned absolute address
                        int size = Math.Max(1, i.MemorySize.GetSize());
                        i.MemoryBase = Register.None; i.MemoryIndex = Register.None; i.MemoryIndexScale = 1;
                        i.MemoryDisplacement32 = (Data + (uint)r.Next((int)DataLen)) & ~(uint)(size - 1);
                        i.MemoryDisplSize = 4;
                        continue;
                    }
                    Register[] bases = [Register.EBX, Register.ESI, Register.EDI, Register.EBP, Register.ESP, Register.None];
                    var b = bases[r.Next(bases.Length)];
                    i.MemoryBase = b;
                    i.MemoryIndex = r.Next(4) == 0 && b != Register.None ? Register.ECX : Register.None;
                    i.MemoryIndexScale = 1 << r.Next(4);
                    uint disp = (uint)r.Next(0x400) - (r.Next(4) == 0 ? 0x200u : 0);
                    if (b == Register.None) disp = Data + (uint)r.Next((int)DataLen);
                    i.MemoryDisplacement32 = disp;
                    i.MemoryDisplSize = b == Register.None || disp + 128 > 255 ? 4 : 1;
                }
                return i;
            next:;
            }
            return null;
        }

        /// <summary>Flags the SDM leaves undefined depending on an operand Iced cannot know: OF after a shift or
        /// rotate by other than 1 (and CF when the count reaches the operand size), and the flags the decimal
        /// adjusts leave undefined.</summary>
        static uint CountDependent(in Instruction i) => i.Mnemonic switch
        {
            Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl
                or Mnemonic.Rcr or Mnemonic.Shld or Mnemonic.Shrd => 0x800 | 0x1 | 0x10,
            Mnemonic.Aad or Mnemonic.Aam or Mnemonic.Aaa or Mnemonic.Aas or Mnemonic.Daa or Mnemonic.Das => 0x8d5,
            _ => 0,
        };

        /// <summary>A case of 1..8 valid instructions: its code and the flags it leaves defined.</summary>
        public (byte[] Code, uint FlagMask, string Text) Valid()
        {
            uint undefinedFlags = 0, everUndefined = 0; // a case may end at a fault after any instruction
            var ms = new MemoryStream();
            var one = new MemoryStream();
            var enc = Encoder.Create(32, new StreamCodeWriter(one));
            var text = new List<string>();
            int n = 1 + r.Next(8);
            for (int k = 0; k < n; k++)
            {
                if (One(undefinedFlags) is not { } i) break;
                // one instruction at a time: an encoding that fails may have written some of its bytes already (a
                // stray A0 once joined the next instruction into `mov al,[moffs]` with a random absolute address)
                one.SetLength(0);
                if (!enc.TryEncode(i, 0x20000000u + (ulong)ms.Length, out _, out _)) continue;
                one.WriteTo(ms);
                undefinedFlags = (undefinedFlags & ~Map(i.RflagsModified)) | Map(i.RflagsUndefined) | CountDependent(i);
                everUndefined |= undefinedFlags;
                text.Add(i.ToString());
            }
            var code = ms.ToArray();
            return (code, 0xcd5u & ~everUndefined, string.Join("; ", text) + " [" + Convert.ToHexString(code) + "]");
        }

        /// <summary>Random bytes, without what would leave the straight line or the process's own state: INT n,
        /// far transfers, branches, flag and segment loads, FS/GS overrides, SYSENTER/SYSCALL/CPUID/RDTSC and the
        /// descriptor-table group. Then decoded as the CPU will run them (see <see cref="Neutralize"/>), which also
        /// tells which flags the SDM leaves defined.</summary>
        public (byte[] Code, uint FlagMask, string Text) RandomBytes()
        {
            var b = new byte[1 + r.Next(24)];
            r.NextBytes(b);
            for (int k = 0; k < b.Length; k++)
            {
                byte x = b[k];
                bool bad = x is 0xCD or 0x9A or 0xEA or 0x9D or 0xCF or 0x8E or 0x07 or 0x17 or 0x1F or 0xC4 or 0xC5 or 0x64 or 0x65
                    or 0xEB or 0xE9 or 0xE8 or 0xC2 or 0xC3 or 0xCA or 0xCB or 0xFF or 0xE0 or 0xE1 or 0xE2 or 0xE3 or 0x62 or 0xD6
                    || (x >= 0x70 && x <= 0x7F);
                if (x == 0x0F && k + 1 < b.Length && (b[k + 1] is 0x34 or 0x05 or 0xA2 or 0x31 or 0x33 or 0x01 or 0x00 or 0x02 or 0x03
                    or 0xA1 or 0xA9 or 0xB2 or 0xB4 or 0xB5 or 0x07 or 0x35 || (b[k + 1] >= 0x80 && b[k + 1] <= 0x8F))) bad = true;
                if (x == 0x0F && k + 1 < b.Length && !Sse && b[k + 1] >= 0x10 && b[k + 1] <= 0x17) bad = true;
                if (x == 0x0F && k + 1 < b.Length && !Sse && (b[k + 1] is >= 0x28 and <= 0x2F or >= 0x50 and <= 0x7F or 0xC2 or 0xC4 or 0xC5 or 0xC6 or >= 0xD0)) bad = true;
                if (bad) b[k] = 0x90;
            }
            uint mask = Neutralize(b);
            return (b, mask, Convert.ToHexString(b));
        }

        /// <summary>Decodes the bytes as the CPU will (the code page goes on with int3) and turns into a NOP the first
        /// byte of an instruction the model does not have (XABORT with RTM on the host), one the valid mode excludes
        /// (CMPS, x87 transcendentals and environment saves ...), or one that reads a flag an earlier instruction left
        /// undefined (ADC after AAD, PUSHF after a shift): those results belong to the host's microcode, not the
        /// SDM. Repeats until none is left; returns the flags every instruction leaves defined.</summary>
        uint Neutralize(byte[] b)
        {
            var padded = new byte[b.Length + 16];
            for (int round = 0; round < 4 * b.Length + 4; round++)
            {
                b.CopyTo(padded, 0);
                padded.AsSpan(b.Length).Fill(0xCC);
                var d = Decoder.Create(32, new ByteArrayCodeReader(padded));
                d.IP = 0x20000000;
                uint undefinedFlags = 0, everUndefined = 0;
                int bad = -1;
                while (d.IP < 0x20000000u + (ulong)b.Length)
                {
                    int at = (int)(d.IP - 0x20000000);
                    var i = d.Decode();
                    if (i.IsInvalid) break; // #UD on both; nothing after it runs
                    bool allowed = !Excluded.Contains(i.Mnemonic) && (Map(i.RflagsRead) & undefinedFlags) == 0;
                    foreach (var f in i.CpuidFeatures)
                        if (!Base.Contains(f) && !(Sse && SseSet.Contains(f))) allowed = false;
                    if (!allowed) { bad = at; break; }
                    undefinedFlags = (undefinedFlags & ~Map(i.RflagsModified)) | Map(i.RflagsUndefined) | CountDependent(i);
                    everUndefined |= undefinedFlags;
                }
                if (bad < 0) return 0xcd5u & ~everUndefined;
                b[bad] = 0x90;
            }
            return 0;
        }

        public byte[] Case(byte[] code, uint mask)
        {
            var ms = new MemoryStream();
            void W(uint v) => ms.Write(BitConverter.GetBytes(v));
            W(mask);
            W(Value()); W(Value()); W(Value());                       // eax ecx edx
            W(Data + (uint)r.Next(0x2800));                           // ebx
            W(Data + 0x1000 + 4 * (uint)r.Next(0x500));               // esp
            W(Data + (uint)r.Next(0x2800));                           // ebp
            W(Data + (uint)r.Next(0x2800)); W(Data + (uint)r.Next(0x2800)); // esi edi
            W(0x202u | ((uint)r.Next(256) & 0xd5) | (r.Next(8) == 0 ? 0x400u : 0) | (r.Next(2) == 0 ? 0x800u : 0));
            W((uint)code.Length);
            ms.Write(code);
            return ms.ToArray();
        }
    }

    /// <summary>A file of `cases` cases from `seed`; returns the text of each case written. With `only`, the file holds
    /// that case alone (the generator still draws the ones before it, ~20 us each, so it is the same case): one
    /// case replays in a few milliseconds instead of a whole file.</summary>
    public static List<string> WriteCases(string path, ulong seed, int cases, bool randomBytes, int? only = null)
    {
        var g = new Generator(seed);
        var texts = new List<string>();
        using var f = File.Create(path);
        for (int i = 0; i < cases && (only == null || i <= only); i++)
        {
            var (code, mask, text) = randomBytes ? g.RandomBytes() : g.Valid();
            var bytes = g.Case(code, mask);
            if (only != null && i != only) continue;
            f.Write(bytes);
            texts.Add(only == null ? text : $"(case {i}) {text}");
        }
        return texts;
    }

    static readonly Lazy<bool> nativeRef = new(() =>
        Environment.GetEnvironmentVariable("COMPAT32_FUZZ_REF") != "qemu" && NativeI386.WhyUnavailable == null);

    /// <summary>compat32 with the translator off, as a reference for --jit 1 (its failure, if any, stands as its output).</summary>
    static ProcResult Interpreted(string file, string cwd)
    {
        var r = FuzzRun.Run(["--jit", "off", Guest, file], cwd, 300_000, code => code == 0);
        string text = r.Outcome == Outcome.Completed ? r.Stdout : $"interpreted run failed: {r}";
        return new ProcResult(r.ExitCode, System.Text.Encoding.UTF8.GetBytes(text), [], TimeSpan.Zero);
    }

    /// <summary>Runs one file under the reference and under compat32 (--jit 1 when jit1); null if they agree. With
    /// `only`, just that case of the file (see <see cref="WriteCases"/>).</summary>
    public static string? RunSeed(ulong seed, int cases, bool randomBytes, bool jit1, out int ran, int? only = null)
    {
        ran = 0;
        using var d = new TempDir("insnfuzz");
        string file = d.File("cases.bin");
        var texts = WriteCases(file, seed, cases, randomBytes, only);
        // setarch -R: the host kernel without address-space randomisation, as compat32 lays out a process; a random
        // absolute address (random-bytes mode) then hits the stack or the vDSO in both or in neither
        // Without the host CPU the translator is compared with the interpreter (its definition), the interpreter with qemu-i386.
        string refName = nativeRef.Value ? "cpu " : jit1 ? "int " : "qemu";
        var reference = nativeRef.Value ? Proc.Run("setarch", ["-R", Guest, file], d.Path, Proc.BaseEnv(), null, 300_000)
                      : jit1 ? Interpreted(file, d.Path)
                      : Proc.Run(TestEnv.Qemu, ["-cpu", TestEnv.QemuCpu, Guest, file], d.Path, Proc.BaseEnv(), null, 300_000);
        var args = new List<string>();
        if (jit1) args.AddRange(["--jit", "1"]);
        args.AddRange([Guest, file]);
        // generous: a loaded machine (nice 19 beside others) can make a 2000-case file take minutes
        var c = FuzzRun.Run(args, d.Path, 300_000, code => code == 0);
        if (c.Outcome != Outcome.Completed) return $"compat32: {c}\n{FuzzRun.Tail(c.Stderr, 800)}";
        var rl = reference.Out.Split('\n');
        var cl = c.Stdout.Split('\n');
        var diffs = new List<string>();
        int unusable = 0;
        for (int i = 0; i < Math.Max(rl.Length, cl.Length) && diffs.Count < 5; i++)
        {
            string a = i < rl.Length ? rl[i] : "(none)", b = i < cl.Length ? cl[i] : "(none)";
            if (a == b) continue;
            // a locked access across a cache line (LOCK, XCHG with memory) is a bus lock, which the host kernel
            // may throttle by sleeping the task (handle_bus_lock, split_lock_detect=ratelimit; dmesg says so): the
            // case may then end in the guest's 30 s wall timer there, which says nothing about compat32
            if (nativeRef.Value && a.EndsWith(" timeout", StringComparison.Ordinal) && !b.EndsWith(" timeout", StringComparison.Ordinal)) { unusable++; continue; }
            string text = i < texts.Count ? texts[i] : "";
            diffs.Add($"case {i}: {text}\n  {refName}: {a}\n  c32 : {b}");
        }
        ran = texts.Count - unusable;
        return diffs.Count == 0 ? null : $"seed {seed} {(randomBytes ? "bytes" : "valid")}{(jit1 ? " --jit 1" : "")}:\n" + string.Join("\n", diffs);
    }

    /// <summary>The interpreter against the host CPU. qemu-i386 is no substitute here: on a host without IA32
    /// emulation all four files of the fixed seeds overran their 300 s under it (seed 1's first random-byte case, DAA;
    /// XOR AL; an AND EAX whose immediate runs past the case, did not finish in 10 s alone).</summary>
    [NativeRefTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void FixedSeeds(bool randomBytes) => RunFixedSeeds(randomBytes, false);

    /// <summary>The translator (--jit 1) against the host CPU, or where there is none against the interpreter, the
    /// definition it must match.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FixedSeedsTranslated(bool randomBytes) => RunFixedSeeds(randomBytes, true);

    sealed class NativeRefTheoryAttribute : TheoryAttribute
    {
        public NativeRefTheoryAttribute() { if (!nativeRef.Value) Skip = Why; }
        internal static string Why => "the interpreter's fuzz cases need the host CPU as their reference (qemu-i386 runs some away): "
            + (NativeI386.WhyUnavailable ?? "COMPAT32_FUZZ_REF=qemu");
    }

    void RunFixedSeeds(bool randomBytes, bool jit1)
    {
        var failures = new ConcurrentBag<string>();
        int total = 0;
        Parallel.For(1, 4, new ParallelOptions { MaxDegreeOfParallelism = 2 }, s =>
        {
            if (RunSeed((ulong)s, 300, randomBytes, jit1, out int ran) is { } p) failures.Add(p);
            Interlocked.Add(ref total, ran);
        });
        log.WriteLine($"{total} cases");
        Assert.True(failures.IsEmpty, string.Join("\n\n", failures));
    }

    /// <summary>COMPAT32_FUZZ_DUMP="SEED CASES bytes|valid FILE [CASE]": writes that case file (and FILE.txt, the text of
    /// each case), or with CASE a file of that one case, to run fuzz/guests/insnfuzz.c on by hand; a tool, skipped
    /// without the variable.</summary>
    [DumpFact]
    public void DumpCases()
    {
        var spec = Environment.GetEnvironmentVariable("COMPAT32_FUZZ_DUMP")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(spec.Length is 4 or 5, "COMPAT32_FUZZ_DUMP=\"SEED CASES bytes|valid FILE [CASE]\"");
        int? only = spec.Length == 5 ? int.Parse(spec[4]) : null;
        var texts = WriteCases(spec[3], ulong.Parse(spec[0]), int.Parse(spec[1]), spec[2] == "bytes", only);
        File.WriteAllLines(spec[3] + ".txt", texts.Select((t, i) => $"{i} {t}"));
    }

    /// <summary>COMPAT32_FUZZ_REPLAY="SEED CASES bytes|valid JIT [CASE]" (a seeds/insn.txt line): replays that file, or
    /// its one case, against the reference, both ways round the translator when JIT is "both". A tool, skipped
    /// without the variable. It costs a second or two; what made a replay take minutes was the ./compat32 launcher
    /// republishing the AOT build after a source edit (2.5 min on a quiet machine, more under load): set
    /// COMPAT32=$COMPAT32_CACHE/fuzz/run-SEED/cli/Compat32.Cli to replay on a long run's own snapshot instead.</summary>
    [DumpFact("COMPAT32_FUZZ_REPLAY")]
    public void Replay()
    {
        var t = Environment.GetEnvironmentVariable("COMPAT32_FUZZ_REPLAY")!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(t.Length is 4 or 5, "COMPAT32_FUZZ_REPLAY=\"SEED CASES bytes|valid 0|1|both [CASE]\"");
        int? only = t.Length == 5 ? int.Parse(t[4]) : null;
        var failures = new List<string>();
        foreach (bool jit1 in t[3] == "both" ? [false, true] : new[] { t[3] == "1" })
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var p = RunSeed(ulong.Parse(t[0]), int.Parse(t[1]), t[2] == "bytes", jit1, out int ran, only);
            log.WriteLine($"{(jit1 ? "--jit 1" : "interpreted")}: {ran} case(s) in {sw.ElapsedMilliseconds} ms: {p ?? "same as the reference"}");
            if (p != null) failures.Add(p);
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>Every seeds/insn.txt line, "SEED CASES bytes|valid JIT [CASE]": the whole file, or its one case. The
    /// interpreter's lines (JIT 0) need the host CPU as their reference, as FixedSeeds.</summary>
    [NativeRefFact]
    public void KeptSeeds() => RunKeptSeeds(jit1: false);

    /// <summary>The seeds/insn.txt lines with JIT 1: against the host CPU, or the interpreter where there is none.</summary>
    [Fact]
    public void KeptSeedsTranslated() => RunKeptSeeds(jit1: true);

    static void RunKeptSeeds(bool jit1)
    {
        var failures = new List<string>();
        foreach (var t in FuzzRun.KeptSeeds("insn"))
            if ((t[3] == "1") == jit1
                && RunSeed(ulong.Parse(t[0]), int.Parse(t[1]), t[2] == "bytes", jit1, out _, t.Length > 4 ? int.Parse(t[4]) : null) is { } p)
                failures.Add(p);
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    sealed class NativeRefFactAttribute : FactAttribute
    {
        public NativeRefFactAttribute() { if (!nativeRef.Value) Skip = NativeRefTheoryAttribute.Why; }
    }

    [LongFuzzFact]
    public void LongRun()
    {
        var deadline = DateTime.UtcNow.AddSeconds(FuzzRun.LongSeconds);
        ulong next = FuzzRun.LongSeed;
        long cases = 0, bad = 0;
        Parallel.For(0, 2, _ =>
        {
            while (DateTime.UtcNow < deadline)
            {
                ulong s = Interlocked.Increment(ref next);
                bool bytes = s % 2 == 0, jit1 = (s / 2) % 2 == 0;
                if (RunSeed(s, 2000, bytes, jit1, out int ran) is { } p)
                {
                    Interlocked.Increment(ref bad);
                    FuzzRun.Keep("insn", $"{s} 2000 {(bytes ? "bytes" : "valid")} {(jit1 ? 1 : 0)}", p);
                }
                if (Interlocked.Add(ref cases, ran) / 200_000 != (Interlocked.Read(ref cases) - ran) / 200_000)
                    FuzzRun.Report($"instruction fuzz (running): {Interlocked.Read(ref cases)} cases, {Interlocked.Read(ref bad)} failing files");
            }
        });
        string line = $"instruction fuzz: {cases} cases, {bad} failing files";
        FuzzRun.Report(line);
        log.WriteLine(line);
        Assert.True(bad == 0, line + " (kept in tests/Compat32.Tests/Fuzz/seeds/insn.txt)");
    }
}

/// <summary>A tool that runs only when its variable (COMPAT32_FUZZ_DUMP unless named) says what to do.</summary>
public sealed class DumpFactAttribute : FactAttribute
{
    public DumpFactAttribute(string variable = "COMPAT32_FUZZ_DUMP")
    {
        if (Environment.GetEnvironmentVariable(variable) == null) Skip = $"a tool: set {variable} (see its summary)";
    }
}
