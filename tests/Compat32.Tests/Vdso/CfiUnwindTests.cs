using Compat32.Vdso;
using Iced.Intel;
using Xunit;

namespace Compat32.Tests.Vdso;

/// <summary>
/// A small DWARF CFI interpreter (independent of the writer): .eh_frame_hdr binary search → FDE → CIE, runs the
/// call frame program up to pc and evaluates the rules against a simulated machine.
/// </summary>
internal sealed class MiniUnwinder
{
    private readonly byte[] _b;
    private readonly int _hdr;

    public MiniUnwinder(byte[] image)
    {
        _b = image;
        int phoff = BitConverter.ToInt32(image, 28), phnum = BitConverter.ToUInt16(image, 44);
        _hdr = -1;
        for (int i = 0; i < phnum; i++)
            if (BitConverter.ToUInt32(image, phoff + 32 * i) == 0x6474e550) _hdr = BitConverter.ToInt32(image, phoff + 32 * i + 8);
        Assert.True(_hdr > 0, "no PT_GNU_EH_FRAME");
        Assert.Equal(1, image[_hdr]);
        Assert.Equal(new byte[] { 0x1b, 0x03, 0x3b }, image[(_hdr + 1)..(_hdr + 4)]);
    }

    private uint U32(int o) => BitConverter.ToUInt32(_b, o);
    private ulong Uleb(ref int p) { ulong r = 0; int s = 0; byte x; do { x = _b[p++]; r |= (ulong)(x & 0x7f) << s; s += 7; } while ((x & 0x80) != 0); return r; }
    private long Sleb(ref int p) { long r = 0; int s = 0; byte x; do { x = _b[p++]; r |= (long)(x & 0x7f) << s; s += 7; } while ((x & 0x80) != 0); if (s < 64 && (x & 0x40) != 0) r |= -1L << s; return r; }

    public sealed class Rules
    {
        public int CfaReg = -1; public long CfaOff; public byte[]? CfaExpr;
        public Dictionary<int, (char Kind, long Off, byte[]? Expr)> Regs = [];
        public Rules Clone() => new() { CfaReg = CfaReg, CfaOff = CfaOff, CfaExpr = CfaExpr, Regs = new(Regs) };
    }

    /// <summary>Finds the FDE for pc via the sorted table, returns the rules in force at pc, and whether the CIE says signal frame.</summary>
    public (Rules R, bool Signal, uint Start, uint End)? Find(uint pc)
    {
        int n = (int)U32(_hdr + 8);
        int lo = 0, hi = n - 1, best = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            uint start = (uint)(_hdr + BitConverter.ToInt32(_b, _hdr + 12 + 8 * mid));
            if (start <= pc) { best = mid; lo = mid + 1; } else hi = mid - 1;
        }
        if (best < 0) return null;
        int fde = _hdr + BitConverter.ToInt32(_b, _hdr + 12 + 8 * best + 4);
        int fdeLen = (int)U32(fde);
        int cie = fde + 4 - (int)U32(fde + 4);
        uint pcBegin = (uint)(fde + 8 + BitConverter.ToInt32(_b, fde + 8));
        uint pcEnd = pcBegin + U32(fde + 12);
        if (pc < pcBegin || pc >= pcEnd) return null;
        // CIE
        Assert.Equal(0u, U32(cie + 4));
        int p = cie + 9;
        int e = Array.IndexOf(_b, (byte)0, p);
        string aug = System.Text.Encoding.ASCII.GetString(_b, p, e - p);
        p = e + 1;
        Assert.Equal(1ul, Uleb(ref p));
        long dataAlign = Sleb(ref p);
        Assert.Equal(8, _b[p++]);
        Assert.StartsWith("zR", aug);
        ulong augLen = Uleb(ref p);
        Assert.Equal(0x1b, _b[p]);
        p += (int)augLen;
        var init = new Rules();
        Run(p, cie + 4 + (int)U32(cie), init, null, uint.MaxValue, 0, dataAlign);
        var r = init.Clone();
        int fp = fde + 16;
        ulong faug = Uleb(ref fp);
        fp += (int)faug;
        Run(fp, fde + 4 + fdeLen, r, init, pc, pcBegin, dataAlign);
        return (r, aug.Contains('S'), pcBegin, pcEnd);
    }

    private void Run(int p, int end, Rules r, Rules? init, uint pc, uint loc, long da)
    {
        var stack = new Stack<Rules>();
        while (p < end)
        {
            byte op = _b[p++];
            int hi2 = op >> 6, low = op & 0x3f;
            if (hi2 == 1) { loc += (uint)low; if (loc > pc) return; continue; }
            if (hi2 == 2) { r.Regs[low] = ('o', (long)Uleb(ref p) * da, null); continue; }
            if (hi2 == 3) { if (init!.Regs.TryGetValue(low, out var v)) r.Regs[low] = v; else r.Regs.Remove(low); continue; }
            switch (op)
            {
                case 0x00: break;
                case 0x02: loc += _b[p++]; if (loc > pc) return; break;
                case 0x03: loc += BitConverter.ToUInt16(_b, p); p += 2; if (loc > pc) return; break;
                case 0x04: loc += U32(p); p += 4; if (loc > pc) return; break;
                case 0x0c: r.CfaReg = (int)Uleb(ref p); r.CfaOff = (long)Uleb(ref p); r.CfaExpr = null; break;
                case 0x0e: r.CfaOff = (long)Uleb(ref p); break;
                case 0x0f: { int len = (int)Uleb(ref p); r.CfaExpr = _b[p..(p + len)]; r.CfaReg = -1; p += len; break; }
                case 0x10: { int reg = (int)Uleb(ref p); int len = (int)Uleb(ref p); r.Regs[reg] = ('e', 0, _b[p..(p + len)]); p += len; break; }
                case 0x11: { int reg = (int)Uleb(ref p); r.Regs[reg] = ('o', Sleb(ref p) * da, null); break; }
                case 0x0a: stack.Push(r.Clone()); break;
                case 0x0b: { var s = stack.Pop(); r.CfaReg = s.CfaReg; r.CfaOff = s.CfaOff; r.CfaExpr = s.CfaExpr; r.Regs = s.Regs; break; }
                default: throw new Xunit.Sdk.XunitException($"unsupported DW_CFA 0x{op:x2}");
            }
        }
    }

    public static uint Eval(byte[] expr, uint[] regs, Func<uint, uint> mem)
    {
        var st = new Stack<uint>();
        int p = 0;
        while (p < expr.Length)
        {
            byte op = expr[p++];
            if (op >= 0x70 && op <= 0x8f)
            {
                long off = 0; int s = 0; byte x;
                do { x = expr[p++]; off |= (long)(x & 0x7f) << s; s += 7; } while ((x & 0x80) != 0);
                if ((x & 0x40) != 0) off |= -1L << s;
                st.Push((uint)(regs[op - 0x70] + off));
            }
            else if (op == 0x06) st.Push(mem(st.Pop()));
            else throw new Xunit.Sdk.XunitException($"unsupported DW_OP 0x{op:x2}");
        }
        return st.Pop();
    }

    /// <summary>One unwind step: (CFA, caller's registers incl. eip at index 8).</summary>
    public (uint Cfa, uint[] Caller) Step(uint pc, uint[] regs, Func<uint, uint> mem)
    {
        var f = Find(pc) ?? throw new Xunit.Sdk.XunitException($"no FDE covers 0x{pc:x}");
        var r = f.R;
        uint cfa = r.CfaExpr != null ? Eval(r.CfaExpr, regs, mem) : (uint)(regs[r.CfaReg] + r.CfaOff);
        var caller = (uint[])regs.Clone();
        caller[4] = cfa;
        caller[8] = 0xdeadbeef; // return address column must have a rule
        foreach (var (reg, rule) in r.Regs)
            caller[reg] = rule.Kind == 'o' ? mem((uint)(cfa + rule.Off)) : mem(Eval(rule.Expr!, regs, mem));
        return (cfa, caller);
    }
}

public class CfiUnwindTests
{
    private const uint Esp0 = 0x7fff_f000, RetAddr = 0x0804_9abc, Base = 0xf7f0_0000;
    private const int Eax = 0, Ecx = 1, Edx = 2, Ebx = 3, Esp = 4, Ebp = 5, Esi = 6, Edi = 7, Eip = 8;

    public static TheoryData<string, int[]> Entries => new()
    {
        { "int80", [] }, { "sysenter", [X86Feature.Sysenter32] }, { "syscall", [X86Feature.Syscall32] },
    };

    /// <summary>Single-steps __kernel_vsyscall (like unwind_vdso) and unwinds at every instruction.</summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void UnwindFromEveryInstructionOfKernelVsyscall(string entry, int[] features)
    {
        var rec = VdsoTestUtil.Image64;
        var img = (byte[])rec.Data.Clone();
        Alternatives.Apply(img, rec, features.Contains, true);
        var uw = new MiniUnwinder(img);
        var mem = new Dictionary<uint, uint> { [Esp0] = RetAddr };
        uint Mem(uint a) => mem.TryGetValue(a, out var v) ? v : throw new Xunit.Sdk.XunitException($"unwinder read unwritten stack 0x{a:x}");
        var orig = new uint[] { 403, 0x1111_1111, 0x2222_2222, 0x3333_3333, Esp0, 0x5555_5555, 0x6666_6666, 0x7777_7777, Base + (uint)rec.SymKernelVsyscall };
        var regs = (uint[])orig.Clone();
        int steps = 0;
        bool sawPad = false;
        while (true)
        {
            uint off = regs[Eip] - Base;
            // Unwind in image-relative addresses: the vDSO is position independent.
            var rel = (uint[])regs.Clone(); rel[Eip] = off;
            var (cfa, caller) = uw.Step(off, rel, Mem);
            Assert.True(cfa == Esp0 + 4, $"{entry} @+{off - rec.SymKernelVsyscall}: CFA {cfa:x}");
            Assert.True(caller[Eip] == RetAddr, $"{entry} @+{off - rec.SymKernelVsyscall}: RA {caller[Eip]:x}");
            foreach (var r in new[] { Ecx, Edx, Ebp, Ebx, Esi, Edi })
                Assert.True(caller[r] == orig[r], $"{entry} @+{off - rec.SymKernelVsyscall}: reg {r} = {caller[r]:x}");
            if (off == rec.SymInt80LandingPad) sawPad = true;

            var dec = Decoder.Create(32, new ByteArrayCodeReader(img, (int)off, 16));
            var ins = dec.Decode();
            steps++;
            uint next = regs[Eip] + (uint)ins.Length;
            switch (ins.Mnemonic)
            {
                case Mnemonic.Push: regs[Esp] -= 4; mem[regs[Esp]] = regs[Reg(ins.Op0Register)]; break;
                case Mnemonic.Pop: regs[Reg(ins.Op0Register)] = mem[regs[Esp]]; regs[Esp] += 4; break;
                case Mnemonic.Mov: regs[Reg(ins.Op0Register)] = regs[Reg(ins.Op1Register)]; break;
                case Mnemonic.Nop: break;
                case Mnemonic.Int: break; // int80 returns with every register from pt_regs
                case Mnemonic.Sysenter:
                case Mnemonic.Syscall:
                    // Fast path: ip = landing pad, EBP (arg6) from the user stack; the exit clobbers ECX/EDX.
                    regs[Ebp] = mem[regs[Esp]];
                    regs[Ecx] = 0xbad0_0001; regs[Edx] = 0xbad0_0002;
                    next = Base + (uint)rec.SymInt80LandingPad;
                    break;
                case Mnemonic.Ret:
                    regs[Eip] = mem[regs[Esp]]; regs[Esp] += 4;
                    Assert.Equal(RetAddr, regs[Eip]);
                    Assert.Equal(Esp0 + 4, regs[Esp]);
                    foreach (var r in new[] { Ecx, Edx, Ebp }) Assert.Equal(orig[r], regs[r]);
                    Assert.True(sawPad);
                    Assert.True(steps >= 8);
                    return;
                default: throw new Xunit.Sdk.XunitException($"unexpected {ins}");
            }
            regs[Eip] = next;
        }
    }

    private static int Reg(Register r) => r switch
    {
        Register.EAX => Eax, Register.ECX => Ecx, Register.EDX => Edx, Register.EBX => Ebx,
        Register.ESP => Esp, Register.EBP => Ebp, Register.ESI => Esi, Register.EDI => Edi,
        _ => throw new Xunit.Sdk.XunitException($"register {r}"),
    };

    /// <summary>The sigreturn trampolines: CFA and every register come from the sigcontext (spec §5 layout).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void UnwindThroughSigreturnTrampolines(bool rt)
    {
        var rec = VdsoTestUtil.Image64;
        var uw = new MiniUnwinder(rec.Data);
        const uint frame = 0x7ffe_0000;
        uint sc = rt ? frame + 144 + 20 : frame + 8; // rt_sigframe.uc.uc_mcontext / sigframe.sc
        var mem = new Dictionary<uint, uint>();
        int[] scOff = [44, 40, 36, 32, 28, 24, 20, 16, 56]; // ax cx dx bx sp bp si di ip
        for (int r = 0; r <= 8; r++) mem[sc + (uint)scOff[r]] = 0xa000_0000u + (uint)r;
        uint Mem(uint a) => mem.TryGetValue(a, out var v) ? v : throw new Xunit.Sdk.XunitException($"read 0x{a:x}");
        int sym = rt ? rec.SymKernelRtSigreturn : rec.SymKernelSigreturn;
        int pad = rt ? rec.SymVdso32RtSigreturnLandingPad : rec.SymVdso32SigreturnLandingPad;
        // The handler's ret popped pretcode: ESP = frame + 4. Legacy: pop %eax then advances ESP by 4.
        for (uint pc = (uint)sym - 1; pc < pad; pc++)
        {
            bool popped = !rt && pc > sym;
            var regs = new uint[9];
            regs[Esp] = frame + 4 + (popped ? 4u : 0u);
            regs[Eip] = pc;
            var f = uw.Find(pc);
            Assert.True(f.HasValue, $"no FDE at +{pc - sym}");
            Assert.True(f!.Value.Signal, "CIE must carry the S augmentation");
            var (cfa, caller) = uw.Step(pc, regs, Mem);
            Assert.Equal(0xa000_0004u, cfa);               // sc.sp
            Assert.Equal(0xa000_0008u, caller[Eip]);       // sc.ip
            foreach (var r in new[] { Eax, Ecx, Edx, Ebx, Ebp, Esi, Edi }) Assert.Equal(0xa000_0000u + (uint)r, caller[r]);
        }
        Assert.Null(uw.Find((uint)pad)); // the landing pad is outside the FDE, as in sigreturn.S
    }

    /// <summary>Every exported function unwinds to its caller at its entry and at every instruction boundary.</summary>
    [Fact]
    public void EveryFunctionHasCfiAtEntry()
    {
        var rec = VdsoTestUtil.Image64;
        var uw = new MiniUnwinder(rec.Data);
        foreach (var (name, addr) in rec.Symbols)
        {
            if (name.Contains("sigreturn")) continue;
            var regs = new uint[9];
            regs[Esp] = Esp0; regs[Eip] = (uint)addr;
            var (cfa, caller) = uw.Step((uint)addr, regs, a => a == Esp0 ? RetAddr : 0);
            Assert.Equal(Esp0 + 4, cfa);
            Assert.Equal(RetAddr, caller[Eip]);
        }
    }
}
