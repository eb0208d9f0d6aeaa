using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Compat32.Cpu;
using Compat32.Cpu.Simd;
using Compat32.Cpu.X87;
using Compat32.Memory;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Simd;

/// <summary>
/// Every register form (xmm, mm, r32/r16/r8 and imm8 operands; the memory forms share the code after the operand
/// fetch) of every MMX, SSE .. SSE4.2, AES-NI, PCLMULQDQ, POPCNT, LZCNT and CRC32 instruction Iced knows, run on
/// the host CPU (tests/sseref) and in compat32's interpreter (and through the block translator, which runs the SSE
/// ones as host instructions), with random and edge operands under every MXCSR rounding mode with DAZ and FTZ on and
/// off, some with exceptions unmasked: XMM0-2, MM0-2, EAX/ECX/EDX, the arithmetic flags, MXCSR, and for MMX the
/// x87 tag and status words, bit for bit; an unmasked exception must be #XM on both with the same MXCSR.
/// </summary>
public unsafe class SimdHardwareTests(ITestOutputHelper log)
{
    const int StateSize = 144;
    const uint CodeBase = 0x100000;

    static readonly object Gate = new();
    static string? refBinary;

    static string RefBinary()
    {
        lock (Gate)
        {
            if (refBinary != null) return refBinary;
            string src = Harness.TestEnv.RepoPath("tests", "sseref", "sseref.c");
            string hash = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(src)))[..16];
            string bin = Path.Combine(Harness.TestEnv.Cache, "sseref-" + hash);
            if (!File.Exists(bin))
            {
                string tmp = bin + "." + Environment.ProcessId + ".tmp";
                var r = Harness.Proc.Run("gcc", ["-O2", "-o", tmp, src]);
                Assert.True(r.ExitCode == 0, "building sseref failed: " + r.Err);
                File.Move(tmp, bin, true);
            }
            return refBinary = bin;
        }
    }

    static string[] Query(List<string> lines)
    {
        var psi = new ProcessStartInfo(RefBinary()) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var outTask = p.StandardOutput.ReadToEndAsync();
        var w = p.StandardInput;
        foreach (var l in lines) { w.Write(l); w.Write('\n'); }
        w.Close();
        p.WaitForExit();
        var res = outTask.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(res.Length == lines.Count, $"sseref answered {res.Length} of {lines.Count} lines");
        return res;
    }

    // ---------------------------------------------------------------- forms

    enum OpK { Xmm, Mm, R32, R16, R8, Imm8 }

    sealed record Form(Code Code, OpK[] Ops, bool Mmx, bool UndefinedFlags, bool Approx);

    /// <summary>Every legacy-encoded Code valid in 32-bit mode whose CPUID features the SIMD models have and whose
    /// operands are all registers or imm8.</summary>
    static List<Form> Forms(out int skippedMemoryOnly)
    {
        var model = CpuModel.IntelModel.WithFeatures(CpuFeatures.Goldmont | CpuFeature.Abm);
        var list = new List<Form>();
        skippedMemoryOnly = 0;
        foreach (var code in Enum.GetValues<Code>())
        {
            var oc = code.ToOpCode();
            if (!oc.IsInstruction || oc.Encoding != EncodingKind.Legacy || !oc.Mode32) continue;
            var feats = code.CpuidFeatures();
            bool simd = false, ok = true;
            foreach (var f in feats)
            {
                switch (f)
                {
                    case CpuidFeature.MMX: case CpuidFeature.SSE: case CpuidFeature.SSE2: case CpuidFeature.SSE3:
                    case CpuidFeature.SSSE3: case CpuidFeature.SSE4_1: case CpuidFeature.SSE4_2: case CpuidFeature.AES:
                    case CpuidFeature.PCLMULQDQ: case CpuidFeature.POPCNT: case CpuidFeature.LZCNT:
                        simd = true; break;
                    default: ok = false; break;
                }
            }
            if (!simd || !ok) continue;
            var m = code.Mnemonic();
            // Not comparable with this host: MONITOR/MWAIT are ring-0 on Linux; RCP/RSQRT approximations differ
            // between implementations (checked against their error bound instead); MASKMOV* store through EDI.
            if (m is Mnemonic.Monitor or Mnemonic.Mwait or Mnemonic.Maskmovq or Mnemonic.Maskmovdqu) continue;
            var ops = new OpK[oc.OpCount];
            bool regOnly = true;
            for (int i = 0; i < oc.OpCount; i++)
            {
                string k = oc.GetOpKind(i).ToString();
                if (k.StartsWith("xmm")) ops[i] = OpK.Xmm;
                else if (k.StartsWith("mm")) ops[i] = OpK.Mm;
                else if (k.StartsWith("r32")) ops[i] = OpK.R32;
                else if (k.StartsWith("r16")) ops[i] = OpK.R16;
                else if (k.StartsWith("r8")) ops[i] = OpK.R8;
                else if (k == "imm8") ops[i] = OpK.Imm8;
                else { regOnly = false; break; }
            }
            if (!regOnly) { skippedMemoryOnly++; continue; }
            bool mmx = ops.Contains(OpK.Mm);
            list.Add(new Form(code, ops, mmx, m == Mnemonic.Lzcnt, m is Mnemonic.Rcpps or Mnemonic.Rcpss or Mnemonic.Rsqrtps or Mnemonic.Rsqrtss));
        }
        _ = model;
        return list;
    }

    static readonly Register[] XmmRegs = [Register.XMM0, Register.XMM1, Register.XMM2];
    static readonly Register[] MmRegs = [Register.MM0, Register.MM1, Register.MM2];
    static readonly Register[] R32 = [Register.EAX, Register.ECX, Register.EDX];
    static readonly Register[] R16 = [Register.AX, Register.CX, Register.DX];
    static readonly Register[] R8 = [Register.AL, Register.CL, Register.DL];

    static Instruction Make(Form f, int imm)
    {
        Register R(int i) => f.Ops[i] switch
        {
            OpK.Xmm => XmmRegs[i], OpK.Mm => MmRegs[i], OpK.R32 => R32[i], OpK.R16 => R16[i], _ => R8[i],
        };
        var o = f.Ops;
        return o.Length switch
        {
            0 => Instruction.Create(f.Code),
            1 => o[0] == OpK.Imm8 ? Instruction.Create(f.Code, imm) : Instruction.Create(f.Code, R(0)),
            2 => o[1] == OpK.Imm8 ? Instruction.Create(f.Code, R(0), imm) : Instruction.Create(f.Code, R(0), R(1)),
            3 => o[2] == OpK.Imm8 ? Instruction.Create(f.Code, R(0), R(1), imm) : Instruction.Create(f.Code, R(0), R(1), R(2)),
            _ => throw new NotSupportedException(f.Code.ToString()),
        };
    }

    static byte[] Encode(Instruction ins, int bitness)
    {
        var w = new CodeWriterImpl();
        var e = Iced.Intel.Encoder.Create(bitness, w);
        e.Encode(ins, CodeBase);
        return w.Bytes.ToArray();
    }

    sealed class CodeWriterImpl : CodeWriter
    {
        public readonly List<byte> Bytes = new();
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    /// <summary>The host stub: load the state from [rdi], run the instruction, store the state back.</summary>
    static string Stub(byte[] insn, bool mmx)
    {
        var a = new Assembler(64);
        a.mov(r8, rdi);
        a.fninit();
        a.ldmxcsr(__dword_ptr[r8 + 88]);
        a.movdqu(xmm0, __xmmword_ptr[r8]); a.movdqu(xmm1, __xmmword_ptr[r8 + 16]); a.movdqu(xmm2, __xmmword_ptr[r8 + 32]);
        if (mmx) { a.movq(mm0, __qword_ptr[r8 + 48]); a.movq(mm1, __qword_ptr[r8 + 56]); a.movq(mm2, __qword_ptr[r8 + 64]); }
        a.mov(eax, __dword_ptr[r8 + 72]); a.mov(ecx, __dword_ptr[r8 + 76]); a.mov(edx, __dword_ptr[r8 + 80]);
        a.mov(r9d, __dword_ptr[r8 + 84]); a.push(r9); a.popfq();
        a.db(insn);
        a.pushfq(); a.pop(r9); a.mov(__dword_ptr[r8 + 84], r9d);
        a.stmxcsr(__dword_ptr[r8 + 88]);
        a.movdqu(__xmmword_ptr[r8], xmm0); a.movdqu(__xmmword_ptr[r8 + 16], xmm1); a.movdqu(__xmmword_ptr[r8 + 32], xmm2);
        a.mov(__dword_ptr[r8 + 72], eax); a.mov(__dword_ptr[r8 + 76], ecx); a.mov(__dword_ptr[r8 + 80], edx);
        if (mmx)
        {
            a.movq(__qword_ptr[r8 + 48], mm0); a.movq(__qword_ptr[r8 + 56], mm1); a.movq(__qword_ptr[r8 + 64], mm2);
            a.fnstenv(__[r8 + 100]);
        }
        a.emms();
        a.ret();
        var w = new CodeWriterImpl();
        a.Assemble(w, 0);
        return Convert.ToHexString(w.Bytes.ToArray());
    }

    // ---------------------------------------------------------------- operands

    sealed class Gen(int seed)
    {
        readonly Random r = new(seed);
        public int Next(int n) => r.Next(n);
        ulong U64() => (ulong)r.NextInt64() ^ ((ulong)r.Next() << 40);

        public uint F32()
        {
            uint s = (uint)r.Next(2) << 31;
            switch (r.Next(16))
            {
                case 0: return s;                                              // zero
                case 1: return s | (uint)(U64() & 0x7FFFFF) | 1;                // denormal
                case 2: return s | 0x7F800000;                                  // infinity
                case 3: return s | 0x7FC00000 | (uint)(U64() & 0x3FFFFF);       // QNaN
                case 4: return s | 0x7F800000 | (uint)(U64() & 0x3FFFFF) | 1;   // SNaN
                case 5: return s | (uint)r.Next(1, 3) << 23 | (uint)(U64() & 0x7FFFFF); // tiny normal
                case 6: return s | (uint)r.Next(0xFC, 0xFF) << 23 | (uint)(U64() & 0x7FFFFF); // huge
                case 7: return s | (uint)(0x9D + r.Next(4)) << 23 | (uint)(U64() & 0x7FFFFF); // near 2^31
                case 8: return (uint)BitConverter.SingleToInt32Bits(r.Next(-5, 6) + 0.5f * r.Next(3));
                case 9: return s | 0x00800000u | ((uint)U64() & 0x7FFFFF & (0x7FFFFFu << r.Next(24)));
                default: return s | (uint)(127 + r.Next(-30, 30)) << 23 | ((uint)U64() & 0x7FFFFF & (0x7FFFFFu << r.Next(24)));
            }
        }

        public ulong F64()
        {
            ulong s = (ulong)r.Next(2) << 63;
            ulong frac = U64() & 0xFFFFFFFFFFFFF;
            switch (r.Next(16))
            {
                case 0: return s;
                case 1: return s | frac | 1;
                case 2: return s | 0x7FF0000000000000;
                case 3: return s | 0x7FF8000000000000 | (frac >> 1);
                case 4: return s | 0x7FF0000000000000 | (frac >> 1) | 1;
                case 5: return s | (ulong)r.Next(1, 3) << 52 | frac;
                case 6: return s | (ulong)r.Next(0x7FC, 0x7FF) << 52 | frac;
                case 7: return s | (ulong)(1023 + 30 + r.Next(3)) << 52 | frac;
                case 8: return (ulong)BitConverter.DoubleToInt64Bits(r.Next(-5, 6) + 0.5 * r.Next(3));
                case 9: // tiny results of float conversions, near float's range
                    return s | (ulong)(1023 + (r.Next(2) == 0 ? -126 - r.Next(26) : 127 + r.Next(2))) << 52 | frac;
                case 10: return s | 0x3800000000000000 | (frac & ~0x1FFFFFFFUL) | (ulong)r.Next(0x20000000); // double→float ties
                default: return s | (ulong)(1023 + r.Next(-60, 60)) << 52 | (frac & (0xFFFFFFFFFFFFFUL << r.Next(53)));
            }
        }

        public ulong Int64()
        {
            switch (r.Next(8))
            {
                case 0: return 0;
                case 1: return ulong.MaxValue;
                case 2: return 0x8000800080008000UL >> r.Next(2) * 8;
                case 3: return 0x7F7F7F7F7F7F7F7FUL;
                case 4: return (ulong)r.Next(64) * 0x0101010101010101UL; // small (shift counts, printable ranges)
                case 5: return 0x0041006100300039UL ^ ((ulong)r.Next(4) << (8 * r.Next(8)));
                default: return U64();
            }
        }

        public X128 Vec(string style)
        {
            var v = new X128();
            int k = style == "f32" ? (r.Next(5) == 0 ? 2 : 0) : style == "f64" ? (r.Next(5) == 0 ? 2 : 1) : r.Next(3) == 0 ? r.Next(2) : 2;
            switch (k)
            {
                case 0: for (int i = 0; i < 4; i++) X128.Lane<uint>(ref v, i) = F32(); break;
                case 1: v.Lo = F64(); v.Hi = F64(); break;
                default: v.Lo = Int64(); v.Hi = Int64(); break;
            }
            return v;
        }

        public uint Gpr(string style)
        {
            if (style == "f32" && r.Next(2) == 0) return F32();
            return r.Next(6) switch { 0 => 0, 1 => uint.MaxValue, 2 => 0x80000000, 3 => (uint)r.Next(40) - 20, _ => (uint)U64() };
        }
    }

    static string Style(Mnemonic m)
    {
        string s = m.ToString().ToLowerInvariant();
        if (s.StartsWith("cvtsi2") || s.StartsWith("cvtdq2") || s.StartsWith("cvtpi2")) return "int";
        if (s.EndsWith("ps") || s.EndsWith("ss") || s.Contains("ss2") || s.Contains("ps2") || s.StartsWith("insertps") || s.StartsWith("extractps")) return "f32";
        if (s.EndsWith("pd") || s.EndsWith("sd") || s.Contains("sd2") || s.Contains("pd2")) return "f64";
        return "int";
    }

    static IEnumerable<int> Imms(Mnemonic m, Gen g)
    {
        string s = m.ToString().ToLowerInvariant();
        if (s.StartsWith("pcmp") && s.EndsWith("stri") || s.EndsWith("strm")) return Enumerable.Range(0, 128);
        if (s.StartsWith("cmp") || s.StartsWith("round")) return Enumerable.Range(0, 16);
        var l = new List<int> { 0, 1, 0xFF, 0x1B };
        for (int i = 0; i < 6; i++) l.Add(g.Next(256));
        return l;
    }

    // ---------------------------------------------------------------- compat32 side

    static byte[] PackState(in X128 x0, in X128 x1, in X128 x2, ulong m0, ulong m1, ulong m2, uint eax, uint ecx, uint edx, uint efl, uint mx)
    {
        var b = new byte[StateSize];
        void P64(int o, ulong v) => BitConverter.TryWriteBytes(b.AsSpan(o), v);
        void P32(int o, uint v) => BitConverter.TryWriteBytes(b.AsSpan(o), v);
        P64(0, x0.Lo); P64(8, x0.Hi); P64(16, x1.Lo); P64(24, x1.Hi); P64(32, x2.Lo); P64(40, x2.Hi);
        P64(48, m0); P64(56, m1); P64(64, m2);
        P32(72, eax); P32(76, ecx); P32(80, edx); P32(84, efl); P32(88, mx);
        return b;
    }

    sealed unsafe class Machine : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor Cpu;
        public Machine(CpuModel model, int jit)
        {
            Mem.Map(CodeBase, 0x100000, Prot.Read | Prot.Write | Prot.Exec);
            Cpu = new Processor(model, Mem, jitThreshold: jit);
        }
        public void Dispose() => Mem.Dispose();

        /// <summary>Runs the instruction at addr with the state; returns the result line in sseref's format.</summary>
        public string Run(uint addr, byte[] st, bool mmx)
        {
            var s = Cpu.S;
            s.Fpu.Reset();
            for (int i = 0; i < 3; i++)
            {
                ref X128 x = ref s.Simd.Xmm(i);
                x.Lo = BitConverter.ToUInt64(st, 16 * i); x.Hi = BitConverter.ToUInt64(st, 16 * i + 8);
                if (mmx) { s.Fpu.Regs[i] = new Float80(0xFFFF, BitConverter.ToUInt64(st, 48 + 8 * i)); s.Fpu.Empty &= (byte)~(1 << i); }
            }
            if (mmx) s.Fpu.Top = 0;
            s.R[0] = BitConverter.ToUInt32(st, 72); s.R[1] = BitConverter.ToUInt32(st, 76); s.R[2] = BitConverter.ToUInt32(st, 80);
            s.Flags.Set(BitConverter.ToUInt32(st, 84));
            s.Simd.Mxcsr = BitConverter.ToUInt32(st, 88);
            s.Eip = addr;
            var exit = Cpu.Run(100);
            if (exit == CpuExit.Exception && Cpu.Vector != Vec.BP)
            {
                return Cpu.Vector switch
                {
                    Vec.XM => $"XM {s.Simd.Mxcsr:x8}",
                    Vec.UD => "UD",
                    Vec.GP => "GP",
                    _ => $"vector {Cpu.Vector} at {s.Eip:x}",
                };
            }
            var o = PackState(s.Simd.Xmm(0), s.Simd.Xmm(1), s.Simd.Xmm(2),
                mmx ? s.Fpu.Regs[0].Signif : BitConverter.ToUInt64(st, 48), mmx ? s.Fpu.Regs[1].Signif : BitConverter.ToUInt64(st, 56),
                mmx ? s.Fpu.Regs[2].Signif : BitConverter.ToUInt64(st, 64),
                s.R[0], s.R[1], s.R[2], s.Flags.Get(), s.Simd.Mxcsr);
            if (mmx)
            {
                BitConverter.TryWriteBytes(o.AsSpan(104), (uint)(0xFFFF0000u | s.Fpu.Status));
                BitConverter.TryWriteBytes(o.AsSpan(108), (uint)(0xFFFF0000u | s.Fpu.Tag));
            }
            return Convert.ToHexString(o).ToLowerInvariant();
        }
    }

    // ---------------------------------------------------------------- the test

    static readonly uint[] Mxcsrs = BuildMxcsrs();
    static uint[] BuildMxcsrs()
    {
        var l = new List<uint>();
        for (int rc = 0; rc < 4; rc++)
            foreach (uint daz in new uint[] { 0, 0x40 })
                foreach (uint ftz in new uint[] { 0, 0x8000 })
                    l.Add(0x1F80u | (uint)rc << 13 | daz | ftz);
        return l.ToArray();
    }

    /// <summary>Compares one slice of the forms (by index modulo parts) so xunit can run them in parallel.</summary>
    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 4)]
    [InlineData(2, 4)]
    [InlineData(3, 4)]
    public void EveryRegisterFormMatchesTheHost(int part, int parts)
    {
        Assert.True(System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64,
            "the reference is the host CPU: run on an x86-64 host");
        var forms = Forms(out int memOnly);
        var model = CpuModel.IntelModel.WithFeatures(CpuFeatures.Goldmont | CpuFeature.Abm);
        using var interp = new Machine(model, 0);
        using var jit = new Machine(model, 1);
        var g = new Gen(1234 + part);
        var lines = new List<string>();
        var cases = new List<(Form f, uint addr, byte[] st, string ins)>();
        uint next = CodeBase;
        int fi = -1;
        foreach (var f in forms)
        {
            if (++fi % parts != part) continue;
            var mn = f.Code.Mnemonic();
            string style = Style(mn);
            bool fp = style != "int";
            var imms = f.Ops.Contains(OpK.Imm8) ? Imms(mn, g).ToList() : [0];
            int perImm = Math.Max(2, (fp ? 320 : 60) / imms.Count);
            foreach (int imm in imms)
            {
                var ins = Make(f, imm);
                byte[] b32 = Encode(ins, 32), b64 = Encode(ins, 64);
                Assert.Equal(Convert.ToHexString(b32), Convert.ToHexString(b64)); // register forms encode alike
                uint addr = next; next += 16;
                foreach (var mem in new[] { interp, jit })
                {
                    for (int k = 0; k < b32.Length; k++) mem.Mem.Ptr(addr)[k] = b32[k];
                    // two NOPs make the block long enough for the translator (MinPrefix), int3 ends it
                    mem.Mem.Ptr(addr)[b32.Length] = 0x90; mem.Mem.Ptr(addr)[b32.Length + 1] = 0x90;
                    mem.Mem.Ptr(addr)[b32.Length + 2] = 0xCC;
                }
                string stub = Stub(b64, f.Mmx);
                for (int c = 0; c < perImm; c++)
                {
                    uint mx = Mxcsrs[g.Next(Mxcsrs.Length)];
                    if (g.Next(12) == 0) mx &= ~(0x80u << g.Next(6)); // one exception unmasked
                    var st = PackState(g.Vec(style), g.Vec(style), g.Vec(style), g.Vec("int").Lo, g.Vec("int").Lo, g.Vec("int").Lo,
                        g.Gpr(style), g.Gpr(style), g.Gpr(style), 0x202u | (uint)g.Next(2) * 0x8D5u, mx);
                    lines.Add(stub + " " + Convert.ToHexString(st));
                    cases.Add((f, addr, st, $"{ins} mxcsr={mx:X4}"));
                }
            }
        }
        var hw = Query(lines);
        int bad = 0, approx = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < cases.Count; i++)
        {
            var (f, addr, st, text) = cases[i];
            string want = Normalize(hw[i], f);
            string? first = null;
            foreach (var (name, m) in new[] { ("interpreted", interp), ("translated", jit) })
            {
                string got = Normalize(m.Run(addr, st, f.Mmx), f);
                // the interpreter is the definition: translated code gives its results, approximations included
                if (first == null) first = got;
                else if (got != first) { bad++; Note(sb, bad, $"{text}: translated {got} differs from interpreted {first}"); }
                if (f.Approx) { if (!ApproxOk(st, want, got, f)) { bad++; Note(sb, bad, $"{name} {text}: approximation out of bounds: hw {want} ours {got}"); } approx++; continue; }
                if (got != want) { bad++; Note(sb, bad, $"{name} {text}\n  in   {Convert.ToHexString(st).ToLowerInvariant()}\n  hw   {want}\n  ours {got}"); }
            }
        }
        var j = jit.Cpu.Jit;
        log.WriteLine($"part {part}: {forms.Count} register forms in all ({memOnly} memory-only forms not run on the host), {cases.Count} cases, each interpreted and translated; {bad} mismatches; translator: {j?.Translated} blocks, {j?.Instructions} instructions run as host code");
        // the SSE forms run as host code in the translated machine (the MMX and scalar-extension ones need not)
        if (Compat32.Cpu.Jit.HostSupported) Assert.True(j != null && j.Instructions > cases.Count / 2, $"translator ran {j?.Instructions} instructions for {cases.Count} cases");
        Assert.True(bad == 0, $"{bad} mismatches of {cases.Count * 2}\n{sb}");
    }

    static void Note(StringBuilder sb, int bad, string s) { if (bad <= 30) sb.AppendLine(s); }

    /// <summary>Masks what the SDM leaves undefined (LZCNT's OF SF AF PF) and what is not state of the form.</summary>
    static string Normalize(string line, Form f)
    {
        if (line.Length != StateSize * 2) return line;
        var b = Convert.FromHexString(line);
        uint efl = BitConverter.ToUInt32(b, 84) & 0x8D5;
        if (f.UndefinedFlags) efl &= ~0x894u;
        BitConverter.TryWriteBytes(b.AsSpan(84), efl);
        if (!f.Mmx) b.AsSpan(92).Clear();
        else
        {
            // keep the status word (TOP, ES) at 104 and the tag word at 108; drop the rest of FNSTENV
            var keep = b.AsSpan(104, 8).ToArray();
            b.AsSpan(92).Clear();
            keep.CopyTo(b.AsSpan(104));
            BitConverter.TryWriteBytes(b.AsSpan(104), BitConverter.ToUInt32(b, 104) & 0xFFFF);
            BitConverter.TryWriteBytes(b.AsSpan(108), BitConverter.ToUInt32(b, 108) & 0xFFFF);
        }
        return Convert.ToHexString(b).ToLowerInvariant();
    }

    /// <summary>RCP/RSQRT: same everything but the results, which must be within 1.5·2^-12 of the exact value
    /// when finite and normal (SDM RCPPS).</summary>
    static bool ApproxOk(byte[] st, string want, string got, Form f)
    {
        if (want.Length != got.Length) return false;
        var w = Convert.FromHexString(want); var o = Convert.FromHexString(got);
        bool rsq = f.Code.Mnemonic() is Mnemonic.Rsqrtps or Mnemonic.Rsqrtss;
        int lanes = f.Code.Mnemonic() is Mnemonic.Rcpss or Mnemonic.Rsqrtss ? 1 : 4;
        for (int i = 0; i < lanes; i++)
        {
            float src = BitConverter.ToSingle(st, 16 + 4 * i);
            float hw = BitConverter.ToSingle(w, 4 * i), ours = BitConverter.ToSingle(o, 4 * i);
            double exact = rsq ? 1 / Math.Sqrt(src) : 1.0 / src;
            if (float.IsNaN(hw) && float.IsNaN(ours)) continue;
            if (!double.IsFinite(exact) || Math.Abs(exact) < 1.2e-38 || Math.Abs(exact) > 3.4e38 || float.IsInfinity(hw) || hw == 0)
            {
                if (BitConverter.SingleToInt32Bits(hw) != BitConverter.SingleToInt32Bits(ours)) return false;
                continue;
            }
            if (Math.Abs(ours - exact) > Math.Abs(exact) * 1.5 / 4096) return false;
        }
        // every other byte of the state (other lanes, registers, MXCSR) identical
        int from = 4 * lanes;
        return w.AsSpan(from).SequenceEqual(o.AsSpan(from));
    }
}
