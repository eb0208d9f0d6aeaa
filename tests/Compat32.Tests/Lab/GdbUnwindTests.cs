using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel;
using Compat32.Lab;
using Compat32.Tests.Vdso;
using Iced.Intel;
using Xunit;

namespace Compat32.Tests.Lab;

/// <summary>
/// gdb, an unwinder nobody here wrote, unwinds out of every design's booted vDSO. For each instruction of each
/// entry stub and of the sigreturn trampolines we write an i386 ELF core (NT_PRSTATUS with the registers at that
/// instruction, NT_AUXV with AT_SYSINFO_EHDR, the vDSO, a stack and a caller page) and ask gdb for the caller's
/// frame: gdb reads the vDSO out of the core's memory as it does for a live process (symbol-file-from-memory)
/// and must find the caller's pc, sp and the registers the stub saved.
/// </summary>
public class GdbUnwindTests
{
    const uint VdsoBase = 0xf7f00000, Stack = 0xbfff0000, Caller = 0x08048000, RetAddr = Caller + 0x10, Top = Stack + 0x800;
    static readonly Register[] Gprs = [Register.EAX, Register.ECX, Register.EDX, Register.EBX, Register.ESP, Register.EBP, Register.ESI, Register.EDI];
    // The values the caller had at `call *%gs:0x10`; the stub must give back every one but eax.
    static readonly Dictionary<Register, uint> Entry = new()
    {
        [Register.EAX] = 20, [Register.ECX] = 0x1c1c1c1c, [Register.EDX] = 0x1d1d1d1d, [Register.EBX] = 0x1b1b1b1b,
        [Register.ESP] = Top, [Register.EBP] = 0x1babe0bb, [Register.ESI] = 0x15151515, [Register.EDI] = 0x1d1d1d1e,
    };

    public static IEnumerable<object[]> Cases() =>
        from d in Designs.All where d.Design != EntryDesign.NoVdso
        from m in new[] { CpuModel.IntelModel, CpuModel.AmdModel, CpuModel.NoSepModel, CpuModel.I386Model }
        select new object[] { d.Name, m.Name };

    [Theory]
    [MemberData(nameof(Cases))]
    public void GdbFindsTheCallerFromEveryInstruction(string design, string model)
    {
        Assert.True(VdsoTestUtil.HaveTool("gdb"), "gdb required (./test.sh installs it)");
        var d = Designs.ByName(design)!;
        var m = CpuModel.ByName(model)!;
        var (img, data) = VdsoSetup.Load(m, null, d.Design);
        var dir = Directory.CreateTempSubdirectory($"compat32-gdb-{design}-{model}-").FullName;
        var cases = new List<(string Name, string Core, Dictionary<string, uint?> Want)>();

        var stubs = img.AllSymbols.Where(s => s.Key.StartsWith("__kernel_vsyscall")).Select(s => (uint)s.Value)
            .Append((uint)img.SymKernelVsyscall).Distinct().ToList();
        var pads = img.AllSymbols.Where(s => s.Key.Contains("landing_pad") && !s.Key.Contains("sigreturn")).Select(s => (uint)s.Value).ToList();
        foreach (var stub in stubs)
            foreach (var (ip, regs, mem, want) in WalkStub(data, stub, d.Design, pads))
            {
                var name = $"{stub:x}+{ip - stub}";
                var core = Path.Combine(dir, $"c{cases.Count}");
                File.WriteAllBytes(core, I386Core(regs, VdsoBase + ip, data, mem));
                cases.Add((name, core, want));
            }
        foreach (var (sym, rt) in new[] { (img.SymKernelSigreturn, false), (img.SymKernelRtSigreturn, true) })
            foreach (var (ip, regs, mem, want) in WalkSigreturn(data, (uint)sym, rt))
            {
                var core = Path.Combine(dir, $"c{cases.Count}");
                File.WriteAllBytes(core, I386Core(regs, VdsoBase + ip, data, mem));
                cases.Add(($"{(rt ? "rt_" : "")}sigreturn+{ip - sym}", core, want));
            }
        Assert.True(cases.Count >= 6, $"only {cases.Count} instructions walked");

        // One gdb reads every core in turn; its memory caches would carry stack words from one core to the next.
        var args = new List<string> { "-batch", "-nx", "-ex", "set confirm off", "-ex", "set stack-cache off", "-ex", "set code-cache off" };
        for (int i = 0; i < cases.Count; i++)
            args.AddRange(["-ex", $"echo @@{i}\\n", "-ex", $"core-file {cases[i].Core}", "-ex", "frame 1",
                "-ex", "info registers eip esp ebp ecx edx ebx esi edi"]);
        var (code, output, err) = VdsoTestUtil.Run("gdb", args.ToArray());
        Assert.True(code == 0, $"gdb exit {code}: {err}");
        var blocks = output.Split("@@").Skip(1).ToArray();
        Assert.Equal(cases.Count, blocks.Length);
        var failures = new StringBuilder();
        for (int i = 0; i < cases.Count; i++)
        {
            var got = new Dictionary<string, uint?>();
            foreach (Match r in Regex.Matches(blocks[i], @"^(e[a-z]{2})\s+(0x[0-9a-f]+|<not saved>)", RegexOptions.Multiline))
                got[r.Groups[1].Value] = r.Groups[2].Value.StartsWith("0x") ? uint.Parse(r.Groups[2].Value[2..], NumberStyles.HexNumber) : null;
            foreach (var (reg, want) in cases[i].Want)
                if (!got.TryGetValue(reg, out var g) || g != want)
                    failures.AppendLine($"{design}/{model} {cases[i].Name}: caller's {reg} = {(got.ContainsKey(reg) ? g?.ToString("x") ?? "<not saved>" : "missing")}, want {want:x}");
        }
        Assert.True(failures.Length == 0, failures + "\ngdb said:\n" + output[..Math.Min(output.Length, 4000)]);
    }

    /// <summary>Runs a stub from its first instruction to its `ret` as the machine would with the kernel entered
    /// at the entry instruction (SYSENTER's SYSEXIT returns with ecx/edx holding sp/ip, SYSCALL's SYSRETL with
    /// ecx = ip; int $0x80 keeps every register but eax), yielding the state before each instruction and what the
    /// caller's registers are. A fast entry returns at the next landing pad (SYSRETL/SYSEXIT's target), so what
    /// lies between (the restart `int $0x80`, the proposal's int80 fallback) is walked only on its own path. The one documented gap: Linux 4.2's hand-written hex CFI never described ecx and
    /// edx (sysenter.S) or ecx parked in ebp (syscall.S), so after the kernel clobbered them an unwinder can only
    /// report the clobbered values; every later design's CFI recovers them.</summary>
    static IEnumerable<(uint Ip, Dictionary<Register, uint> Regs, Dictionary<uint, uint> Mem, Dictionary<string, uint?> Want)>
        WalkStub(byte[] img, uint at, EntryDesign design, List<uint> pads)
    {
        var r = new Dictionary<Register, uint>(Entry);
        var mem = new Dictionary<uint, uint> { [Top] = RetAddr };
        var dec = Iced.Intel.Decoder.Create(32, new ByteArrayCodeReader(img, (int)at, img.Length - (int)at));
        dec.IP = at;
        bool cfiGap = design == EntryDesign.Linux42;
        void ToPad()
        {
            uint pad = pads.Where(p => p >= dec.IP).DefaultIfEmpty(0u).Min();
            if (pad == 0) throw new InvalidOperationException($"no landing pad after {dec.IP:x}");
            dec = Iced.Intel.Decoder.Create(32, new ByteArrayCodeReader(img, (int)pad, img.Length - (int)pad));
            dec.IP = pad;
        }
        for (int n = 0; n < 64; n++)
        {
            var ins = dec.Decode();
            var want = new Dictionary<string, uint?> { ["eip"] = RetAddr, ["esp"] = Top + 4 };
            foreach (var g in new[] { Register.EBX, Register.ESI, Register.EDI, Register.EBP, Register.ECX, Register.EDX })
            {
                bool clobbered = r[g] != Entry[g];
                want[g.ToString().ToLowerInvariant()] = clobbered && cfiGap && g is Register.ECX or Register.EDX ? r[g] : Entry[g];
            }
            yield return ((uint)ins.IP, new(r), new(mem), want);
            switch (ins.Mnemonic)
            {
                case Mnemonic.Ret: yield break;
                case Mnemonic.Push: r[Register.ESP] -= 4; mem[r[Register.ESP]] = r[ins.Op0Register]; break;
                case Mnemonic.Pop: r[ins.Op0Register] = mem[r[Register.ESP]]; r[Register.ESP] += 4; break;
                case Mnemonic.Mov when ins.Op1Kind == OpKind.Register: r[ins.Op0Register] = r[ins.Op1Register]; break;
                case Mnemonic.Mov when ins.Op1Kind == OpKind.Immediate32: r[ins.Op0Register] = ins.Immediate32; break;
                case Mnemonic.Mov when ins.Op1Kind == OpKind.Memory && ins.MemoryBase == Register.ESP:
                    r[ins.Op0Register] = mem.GetValueOrDefault(r[Register.ESP] + ins.MemoryDisplacement32); break;
                case Mnemonic.Sysenter: r[Register.ECX] = 0xdead0c0c; r[Register.EDX] = 0xdead0d0d; ToPad(); break;
                case Mnemonic.Syscall: r[Register.ECX] = 0xdead0c0c; ToPad(); break;
                case Mnemonic.Int: case Mnemonic.Nop: case Mnemonic.Hlt: break;
                default: throw new InvalidOperationException($"stub instruction the walk does not model: {ins}");
            }
        }
        throw new InvalidOperationException($"no ret in the stub at {at:x}");
    }

    /// <summary>The trampolines with a sigframe (or rt_sigframe) on the stack as setup_frame/setup_rt_frame in
    /// arch/x86/kernel/signal.c lay it out after the handler's `ret` popped pretcode: the caller gdb must find is
    /// the interrupted context saved in the sigcontext.</summary>
    static IEnumerable<(uint Ip, Dictionary<Register, uint> Regs, Dictionary<uint, uint> Mem, Dictionary<string, uint?> Want)>
        WalkSigreturn(byte[] img, uint at, bool rt)
    {
        uint sp = Stack + 0x400;
        // struct sigframe_ia32 { pretcode; sig; sigcontext sc; ... } / rt_sigframe_ia32 { pretcode; sig; pinfo;
        // puc; siginfo (128); ucontext { flags, link, stack_t (12), mcontext } }; sp points at sig here.
        uint sc = rt ? sp + 4 + 4 + 4 + 128 + 20 : sp + 4;
        string[] layout = ["gs", "fs", "es", "ds", "edi", "esi", "ebp", "esp", "ebx", "edx", "ecx", "eax", "trapno", "err", "eip", "cs", "eflags", "sp_at_signal", "ss"];
        var saved = new Dictionary<string, uint> { ["gs"] = 0x63, ["es"] = 0x2b, ["ds"] = 0x2b, ["cs"] = 0x23, ["ss"] = 0x2b, ["eflags"] = 0x246,
            ["edi"] = 0x5d1, ["esi"] = 0x551, ["ebp"] = 0x5b9, ["esp"] = 0xbfff0f00, ["ebx"] = 0x5b1, ["edx"] = 0x5d0, ["ecx"] = 0x5c1,
            ["eax"] = 0x5a1, ["eip"] = Caller + 0x123 };
        var mem = new Dictionary<uint, uint>();
        for (int i = 0; i < layout.Length; i++) mem[sc + 4 * (uint)i] = saved.GetValueOrDefault(layout[i]);
        var want = new Dictionary<string, uint?>();
        foreach (var k in new[] { "eip", "esp", "ebp", "ecx", "edx", "ebx", "esi", "edi" }) want[k] = saved[k];
        var r = new Dictionary<Register, uint>(Entry) { [Register.ESP] = sp, [Register.EAX] = 10 };
        var dec = Iced.Intel.Decoder.Create(32, new ByteArrayCodeReader(img, (int)at, img.Length - (int)at));
        dec.IP = at;
        while (true)
        {
            var ins = dec.Decode();
            yield return ((uint)ins.IP, new(r), mem, want);
            if (ins.Mnemonic is Mnemonic.Int or Mnemonic.Syscall or Mnemonic.Sysenter) yield break;
            if (ins.Mnemonic == Mnemonic.Pop) r[Register.ESP] += 4;
            else if (ins.Mnemonic == Mnemonic.Mov) r[ins.Op0Register] = ins.Immediate32;
            else throw new InvalidOperationException($"trampoline instruction the walk does not model: {ins}");
        }
    }

    /// <summary>An ET_CORE file as the kernel's elf_core_dump writes one for an i386 task: one PT_NOTE
    /// (NT_PRSTATUS: struct elf_prstatus with pr_reg, the 17-word user_regs_struct, at offset 72; NT_AUXV) and a
    /// PT_LOAD per mapping.</summary>
    static byte[] I386Core(Dictionary<Register, uint> r, uint eip, byte[] vdso, Dictionary<uint, uint> words)
    {
        var stack = new byte[0x1000];
        foreach (var (a, v) in words) BinaryPrimitives.WriteUInt32LittleEndian(stack.AsSpan((int)(a - Stack)), v);
        uint[] pr_reg = [r[Register.EBX], r[Register.ECX], r[Register.EDX], r[Register.ESI], r[Register.EDI], r[Register.EBP],
            r[Register.EAX], 0x2b, 0x2b, 0, 0x63, 0xffffffff, eip, 0x23, 0x246, r[Register.ESP], 0x2b];
        var prstatus = new byte[144];
        BinaryPrimitives.WriteInt32LittleEndian(prstatus.AsSpan(24), 1000); // pr_pid
        for (int i = 0; i < 17; i++) BinaryPrimitives.WriteUInt32LittleEndian(prstatus.AsSpan(72 + 4 * i), pr_reg[i]);
        var auxv = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(auxv, 33); // AT_SYSINFO_EHDR
        BinaryPrimitives.WriteUInt32LittleEndian(auxv.AsSpan(4), VdsoBase);
        var notes = new MemoryStream();
        void Note(uint type, byte[] desc)
        {
            var h = new byte[12 + 8];
            BinaryPrimitives.WriteUInt32LittleEndian(h, 5);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), (uint)desc.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), type);
            "CORE"u8.CopyTo(h.AsSpan(12));
            notes.Write(h); notes.Write(desc); notes.Write(new byte[(4 - desc.Length % 4) % 4]);
        }
        Note(1, prstatus); // NT_PRSTATUS
        Note(6, auxv);     // NT_AUXV
        var segs = new (uint Va, byte[] Data, uint Flags)[] { (VdsoBase, vdso, 5), (Stack, stack, 6), (Caller, new byte[0x1000], 5) };
        int phnum = 1 + segs.Length, off = 52 + 32 * phnum;
        var file = new MemoryStream();
        var eh = new byte[52];
        new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 1, 1 }.CopyTo(eh, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(eh.AsSpan(16), 4);  // ET_CORE
        BinaryPrimitives.WriteUInt16LittleEndian(eh.AsSpan(18), 3);  // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(eh.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(eh.AsSpan(28), 52); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(eh.AsSpan(40), 52);
        BinaryPrimitives.WriteUInt16LittleEndian(eh.AsSpan(42), 32);
        BinaryPrimitives.WriteUInt16LittleEndian(eh.AsSpan(44), (ushort)phnum);
        BinaryPrimitives.WriteUInt16LittleEndian(eh.AsSpan(46), 40);
        file.Write(eh);
        void Ph(uint type, int offset, uint va, int size, uint flags, uint align)
        {
            var p = new byte[32];
            uint[] f = [type, (uint)offset, va, 0, (uint)size, (uint)size, flags, align];
            for (int i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4 * i), f[i]);
            file.Write(p);
        }
        var nb = notes.ToArray();
        Ph(4, off, 0, nb.Length, 0, 4);
        int dataOff = (off + nb.Length + 0xfff) & ~0xfff, o = dataOff;
        foreach (var s in segs) { Ph(1, o, s.Va, s.Data.Length, s.Flags, 0x1000); o += (s.Data.Length + 0xfff) & ~0xfff; }
        file.Write(nb);
        o = dataOff;
        foreach (var s in segs) { file.SetLength(o); file.Position = o; file.Write(s.Data); o += (s.Data.Length + 0xfff) & ~0xfff; }
        return file.ToArray();
    }
}
