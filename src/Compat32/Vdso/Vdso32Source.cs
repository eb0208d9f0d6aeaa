using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static Compat32.Vdso.VvarLayout;

namespace Compat32.Vdso;

/// <summary>Which kernel build the image mirrors: the 64-bit kernel's compat vDSO (ALTERNATIVE_2 on
/// SYSENTER32/SYSCALL32, long NOPs) or a 32-bit kernel's (ALTERNATIVE on SEP, 32-bit NOPs).</summary>
public enum VdsoTarget { Kernel64, Kernel32 }

/// <summary>Which entry code the image carries (the design lab's vDSO configurations; Lab/Designs.cs).
/// Default is the 6.1 system_call.S every other part of compat32 uses.</summary>
public enum VdsoVariant
{
    /// <summary>system_call.S since 4.4 (the "linux-4.3" design): one stub, an ALTERNATIVE picks the entry.</summary>
    Default,
    /// <summary>v4.2 arch/x86/entry/vdso/vdso32/int80.S: `int $0x80; ret`.</summary>
    Legacy42Int80,
    /// <summary>v4.2 vdso32/sysenter.S: SYSENTER, 7 NOPs, the restart `int $0x80`, SYSENTER_RETURN.</summary>
    Legacy42Sysenter,
    /// <summary>v4.2 vdso32/syscall.S: `movl %ecx,%ebp; syscall; movl %ebp,%ecx`; sigreturn through SYSCALL.</summary>
    Legacy42Syscall,
    /// <summary>The stub of the seed email (LKML, Andy Lutomirski, 2015-08-26), with its alternatives.</summary>
    Proposal2015,
    /// <summary>One stub per entry method, no alternatives (Brian Gerst's auxv proposal, Andy's pointer table).</summary>
    MultiStub,
}

/// <summary>cpufeatures.h bit numbers (word*32+bit) used by the vDSO's alternatives.</summary>
public static class X86Feature
{
    public const int Sep = 0 * 32 + 11;
    public const int Rdtscp = 1 * 32 + 27;
    public const int Syscall32 = 3 * 32 + 14;
    public const int Sysenter32 = 3 * 32 + 15;
    public const int LfenceRdtsc = 3 * 32 + 18;
}

internal sealed record AltSite(uint Addr, int Len, List<(byte[] Repl, ushort Feature)> Alts);

/// <summary>One function (or group) assembled separately at a known base; re-run until label addresses
/// settle, so PC-relative vvar displacements can name the addresses of this chunk's own instructions.</summary>
internal sealed class Chunk
{
    public readonly Assembler A = new(32);
    public readonly CfiRecorder Cfi;
    public readonly Dictionary<string, int> Marks = [];
    public readonly List<(string Site, int Len, List<(byte[], ushort)> Alts)> AltDefs = [];
    private readonly IReadOnlyDictionary<string, uint> _prev, _globals;

    public Chunk(IReadOnlyDictionary<string, uint> prev, IReadOnlyDictionary<string, uint> globals)
    {
        Cfi = new CfiRecorder(A);
        _prev = prev; _globals = globals;
    }

    /// <summary>Names the address of the next instruction (a gas label).</summary>
    public void Mark(string name) => Marks[name] = A.Instructions.Count;
    /// <summary>Address of a mark in this chunk from the previous pass (0 on the first pass).</summary>
    public uint Prev(string name) => _prev.TryGetValue(name, out var v) ? v : 0;
    /// <summary>Address of a symbol defined by an earlier chunk.</summary>
    public uint Sym(string name) => _globals[name];

    /// <summary>
    /// An alternatives site (alternative.h ALTERNATIVE/ALTERNATIVE_2): the original instruction padded to the
    /// longest replacement. gas pads with 0x90; we pad with the target's optimal NOPs, i.e. the bytes
    /// apply_alternatives' optimize_nops leaves when no feature matches, so the unpatched image already runs.
    /// </summary>
    public void Alternative(string name, byte[] orig, bool longNops, params (byte[] Repl, int Feature)[] alts)
    {
        int len = Math.Max(orig.Length, alts.Max(a => a.Repl.Length));
        var site = new byte[len];
        orig.CopyTo(site, 0);
        Nops.Fill(site.AsSpan(orig.Length), longNops);
        Mark(name);
        A.db(site);
        AltDefs.Add((name, len, alts.Select(a => (a.Repl, (ushort)a.Feature)).ToList()));
    }
}

internal sealed class TextResult
{
    public byte[] Code = [];
    public uint Base;
    /// <summary>name → (address, size, exported). Includes local helpers.</summary>
    public readonly Dictionary<string, (uint Addr, uint Size, bool Global)> Funcs = [];
    public readonly Dictionary<string, uint> Labels = [];
    public readonly List<CfiProc> Cfi = [];
    public readonly List<AltSite> Alts = [];
}

/// <summary>
/// The vDSO's code, written against Iced's assembler with gas-like CFI: system_call.S, sigreturn.S and the
/// vclock_gettime.c / lib/vdso/gettimeofday.c time functions (hand-compiled, same algorithm).
/// </summary>
internal sealed partial class Vdso32Source
{
    private readonly VdsoTarget _target;
    private readonly VdsoVariant _variant;
    private bool LongNops => _target == VdsoTarget.Kernel64;
    public Vdso32Source(VdsoTarget target, VdsoVariant variant = VdsoVariant.Default) { _target = target; _variant = variant; }

    private sealed record Def(string Name, bool Global, bool LeadingNop, Action<Chunk> Emit);

    private IEnumerable<Def> Defs()
    {
        // Link order of the kernel's vobjs32: system_call.o, sigreturn.o, vclock_gettime.o. The v4.2 images
        // (vdso32/{int80,sysenter,syscall}.S) #include sigreturn.S first; sysenter.S and int80.S say "This must
        // come first", syscall.S defines SYSCALL_ENTER_KERNEL before including it.
        bool legacy = _variant is VdsoVariant.Legacy42Int80 or VdsoVariant.Legacy42Sysenter or VdsoVariant.Legacy42Syscall;
        if (!legacy) yield return new("__kernel_vsyscall", true, false, VsyscallFor(_variant));
        // v4.2 sigreturn.S: SYSCALL_ENTER_KERNEL is `syscall` in the SYSCALL image, `int $0x80` elsewhere.
        bool sysSig = _variant == VdsoVariant.Legacy42Syscall;
        yield return new("__kernel_sigreturn", true, true, c => KernelSigreturn(c, sysSig));
        yield return new("__kernel_rt_sigreturn", true, false, c => KernelRtSigreturn(c, sysSig));
        if (legacy) yield return new("__kernel_vsyscall", true, false, VsyscallFor(_variant));
        if (_variant == VdsoVariant.MultiStub)
        {
            yield return new("__kernel_vsyscall_sysenter", false, false, c => StubWith(c, "sysenter_landing_pad",
                Asm(x => { x.mov(ebp, esp); x.sysenter(); })));
            yield return new("__kernel_vsyscall_syscall", false, false, c => StubWith(c, "syscall_landing_pad",
                Asm(x => { x.mov(ebp, ecx); x.syscall(); })));
        }
        yield return new("__x86.get_pc_thunk.dx", false, false, PcThunk);
        yield return new("vdso_read_clock", false, false, ReadClock);
        yield return new("__vdso_clock_gettime", true, false, c => ClockGettime(c, false));
        yield return new("__vdso_clock_gettime64", true, false, c => ClockGettime(c, true));
        yield return new("__vdso_gettimeofday", true, false, Gettimeofday);
        yield return new("__vdso_time", true, false, Time);
        yield return new("__vdso_clock_getres", true, false, ClockGetres);
    }

    public TextResult Assemble(uint textBase)
    {
        var r = new TextResult { Base = textBase };
        var code = new List<byte>();
        var globals = new Dictionary<string, uint>();
        foreach (var d in Defs())
        {
            if (d.LeadingNop) code.Add(0x90);             // sigreturn.S: "nop" then ALIGN
            while ((textBase + code.Count) % 16 != 0) code.Add(0x90); // ALIGN = .p2align 4, 0x90
            uint at = textBase + (uint)code.Count;
            globals[d.Name] = at;
            var (bytes, c, addrOf) = AssembleChunk(d.Emit, at, globals);
            code.AddRange(bytes);
            r.Funcs[d.Name] = (at, (uint)bytes.Length, d.Global);
            foreach (var (name, idx) in c.Marks)
            {
                uint a = addrOf(idx);
                if (!name.StartsWith('.')) { r.Labels[name] = a; globals[name] = a; }
            }
            foreach (var p in c.Cfi.Procs) { CfiRecorder.Resolve(p, addrOf); r.Cfi.Add(p); }
            foreach (var (site, len, alts) in c.AltDefs) r.Alts.Add(new AltSite(addrOf(c.Marks[site]), len, alts));
        }
        r.Code = [.. code];
        return r;
    }

    private static (byte[] Code, Chunk C, Func<int, uint> AddrOf) AssembleChunk(Action<Chunk> emit, uint at,
        IReadOnlyDictionary<string, uint> globals)
    {
        var prev = new Dictionary<string, uint>();
        for (int pass = 0; pass < 6; pass++)
        {
            var c = new Chunk(prev, globals);
            emit(c);
            var w = new ByteWriter();
            var res = c.A.Assemble(w, at, BlockEncoderOptions.ReturnNewInstructionOffsets);
            var offs = res.Result[0].NewInstructionOffsets;
            var bytes = w.Bytes.ToArray();
            if (offs.Any(o => o == uint.MaxValue)) throw new InvalidOperationException("instruction rewritten by the block encoder");
            uint AddrOf(int i) => i >= offs.Length ? at + (uint)bytes.Length : at + offs[i];
            var now = c.Marks.ToDictionary(kv => kv.Key, kv => AddrOf(kv.Value));
            if (pass > 0 && now.Count == prev.Count && now.All(kv => prev[kv.Key] == kv.Value))
                return (bytes, c, AddrOf);
            prev = now;
        }
        throw new InvalidOperationException("vDSO chunk addresses did not converge");
    }

    private sealed class ByteWriter : CodeWriter
    {
        public readonly List<byte> Bytes = [];
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    private static byte[] Asm(Action<Assembler> f)
    {
        var a = new Assembler(32);
        f(a);
        var w = new ByteWriter();
        a.Assemble(w, 0);
        return [.. w.Bytes];
    }

    // ---- system_call.S -------------------------------------------------------------------------------

    private void KernelVsyscall(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        cfi.StartProc();
        // Keep enough state for every entry instruction: the user's ECX/EDX/EBP go on the stack.
        a.push(ecx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ecx, 0);
        a.push(edx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Edx, 0);
        a.push(ebp); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ebp, 0);
        // SYSENTER loses ESP, SYSCALL clobbers ECX: park the one that is lost in EBP.
        var sysenter = Asm(x => { x.mov(ebp, esp); x.sysenter(); });
        if (_target == VdsoTarget.Kernel64)
            c.Alternative(".vsyscall_alt", [], LongNops,
                (sysenter, X86Feature.Sysenter32),
                (Asm(x => { x.mov(ebp, ecx); x.syscall(); }), X86Feature.Syscall32));
        else
            c.Alternative(".vsyscall_alt", [], LongNops, (sysenter, X86Feature.Sep));
        a.@int(0x80);
        c.Mark("int80_landing_pad");
        a.pop(ebp); cfi.Restore(DwarfReg.Ebp); cfi.AdjustCfaOffset(-4);
        a.pop(edx); cfi.Restore(DwarfReg.Edx); cfi.AdjustCfaOffset(-4);
        a.pop(ecx); cfi.Restore(DwarfReg.Ecx); cfi.AdjustCfaOffset(-4);
        a.ret();
        cfi.EndProc();
    }

    // ---- sigreturn.S ---------------------------------------------------------------------------------

    /// <summary>ia32 sigcontext offsets (uapi/asm/sigcontext.h struct sigcontext_32).</summary>
    private const int ScBp = 24, ScSp = 28, ScBx = 32, ScDx = 36, ScCx = 40, ScAx = 44, ScIp = 56, ScSi = 20, ScDi = 16;
    /// <summary>offsetof(struct rt_sigframe_ia32, uc.uc_mcontext) (asm/sigframe.h): 144 + 20.</summary>
    private const int RtSigframeSigcontext = 164;

    /// <summary>The sigreturn.S CFI: CFA = saved sp, every register (and eip) at its sigcontext slot, all
    /// relative to ESP (base = where the sigcontext starts relative to ESP).</summary>
    private static void SigcontextCfi(CfiRecorder cfi, int b)
    {
        cfi.CfaExpression(DwarfExpr.BregDeref(DwarfReg.Esp, b + ScSp));
        foreach (var (reg, off) in new[] { (DwarfReg.Eax, ScAx), (DwarfReg.Ecx, ScCx), (DwarfReg.Edx, ScDx),
                     (DwarfReg.Ebx, ScBx), (DwarfReg.Ebp, ScBp), (DwarfReg.Esi, ScSi), (DwarfReg.Edi, ScDi), (DwarfReg.Eip, ScIp) })
            cfi.OffsetExpression(reg, DwarfExpr.Breg(DwarfReg.Esp, b + off));
    }

    private const int NrSigreturn = 119, NrRtSigreturn = 173;

    private static void KernelSigreturn(Chunk c, bool viaSyscall)
    {
        var a = c.A; var cfi = c.Cfi;
        // The FDE covers the padding nop before the symbol: unwinders look up return address - 1.
        cfi.StartProc(signalFrame: true, startBias: 1);
        SigcontextCfi(cfi, 4);          // legacy sigframe: sig at esp, sigcontext at esp+4
        a.pop(eax);
        SigcontextCfi(cfi, 0);          // sig popped: sigcontext at esp
        a.mov(eax, NrSigreturn);
        if (viaSyscall) a.syscall(); else a.@int(0x80);
        cfi.EndProc();
        c.Mark("vdso32_sigreturn_landing_pad");
        a.nop();
    }

    private static void KernelRtSigreturn(Chunk c, bool viaSyscall)
    {
        var a = c.A; var cfi = c.Cfi;
        cfi.StartProc(signalFrame: true, startBias: 1);
        SigcontextCfi(cfi, RtSigframeSigcontext - 4); // pretcode already popped by the handler's ret
        a.mov(eax, NrRtSigreturn);
        if (viaSyscall) a.syscall(); else a.@int(0x80);
        cfi.EndProc();
        c.Mark("vdso32_rt_sigreturn_landing_pad");
        a.nop();
    }

    // ---- vclock_gettime.c / lib/vdso/gettimeofday.c ---------------------------------------------------

    private const int NrGettimeofday = 78, NrClockGettime = 265, NrClockGetres = 266, NrClockGettime64 = 403;
    private const uint NsecPerSec = 1_000_000_000;

    /// <summary>gcc's __x86.get_pc_thunk.dx: PIC code on i386 has no EIP-relative addressing.</summary>
    private static void PcThunk(Chunk c)
    {
        c.Cfi.StartProc();
        c.A.mov(edx, __dword_ptr[esp]);
        c.A.ret();
        c.Cfi.EndProc();
    }

    /// <summary>call the thunk; EDX = address of the named mark, so vvar fields are [edx + (field - mark)].</summary>
    private static void LoadPc(Chunk c, string mark)
    {
        c.A.call(c.Sym("__x86.get_pc_thunk.dx"));
        c.Mark(mark);
    }

    /// <summary>Displacement from a PC mark to a vvar link-time address (the image is linked at 0).</summary>
    private static int Vvar(Chunk c, string mark, int vvarAddr) => vvarAddr - (int)c.Prev(mark);

    /// <summary>
    /// Internal helper: __cvdso_clock_gettime_common → do_hres / do_coarse for the clock in EAX.
    /// Out: CF=0 → EDX:EAX = tv_sec, ECX = tv_nsec; CF=1 → not handled here, use the syscall.
    /// Preserves EBX, ESI, EDI, EBP.
    /// </summary>
    private void ReadClock(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        Label retry = a.CreateLabel(), hodd = a.CreateLabel(),
            delta = a.CreateLabel(), shifted = a.CreateLabel(), cretry = a.CreateLabel(), codd = a.CreateLabel(),
            fail = a.CreateLabel(), @out = a.CreateLabel();
        cfi.StartProc();
        a.push(ebp); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ebp, 0);
        a.push(edi); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Edi, 0);
        a.push(esi); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Esi, 0);
        a.push(ebx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ebx, 0);
        a.cmp(eax, MaxClocks);                      // vdso_clockid_valid
        a.jae(fail);
        LoadPc(c, ".pc");
        a.lea(esi, __dword_ptr[edx + Vvar(c, ".pc", VdsoDataAddress(CsHresCoarse))]);
        a.mov(ecx, eax);
        a.mov(edi, eax);
        a.shl(edi, 4);                              // basetime[clock] index
        a.mov(edx, 1);
        a.shl(edx, cl);                             // msk = BIT(clock)
        a.test(edx, (int)VdsoHres);
        a.jne(retry);
        a.test(edx, (int)VdsoCoarse);
        a.jne(cretry);
        a.test(edx, (int)VdsoRaw);
        a.je(fail);
        a.add(esi, VdsoDataSize);                   // vd = &vd[CS_RAW]

        // do_hres: seqcount read loop around the clocksource read.
        a.Label(ref retry);
        a.mov(ebp, __dword_ptr[esi + Seq]);
        a.test(ebp, 1);
        a.jne(hodd);
        a.cmp(__dword_ptr[esi + ClockMode], ClockModeTsc); // only the TSC is read here; NONE/pvclock/hvclock → syscall
        a.jne(fail);
        // rdtsc_ordered (asm/msr.h): ALTERNATIVE_2 "rdtsc", "lfence; rdtsc" LFENCE_RDTSC, "rdtscp" RDTSCP.
        c.Alternative(".rdtsc_alt", [0x0f, 0x31], LongNops,
            (Asm(x => { x.lfence(); x.rdtsc(); }), X86Feature.LfenceRdtsc),
            (Asm(x => x.rdtscp()), X86Feature.Rdtscp));
        a.test(edx, edx);                           // arch_vdso_cycles_ok: (s64)cycles >= 0
        a.js(fail);
        // vdso_calc_delta (x86): cycles > last ? (cycles - last) * mult : 0, masked like the generic one.
        a.sub(eax, __dword_ptr[esi + CycleLast]);
        a.sbb(edx, __dword_ptr[esi + CycleLast + 4]);
        a.jae(delta);
        a.xor(eax, eax);
        a.xor(edx, edx);
        a.Label(ref delta);
        a.and(eax, __dword_ptr[esi + Mask]);
        a.and(edx, __dword_ptr[esi + Mask + 4]);
        a.mov(ecx, edx);
        a.mul(__dword_ptr[esi + Mult]);
        a.imul(ecx, __dword_ptr[esi + Mult]);
        a.add(edx, ecx);                            // low 64 bits of delta * mult
        a.add(eax, __dword_ptr[esi + edi + Basetime + 8]);
        a.adc(edx, __dword_ptr[esi + edi + Basetime + 12]); // + basetime[clk].nsec (shifted ns)
        a.mov(ecx, __dword_ptr[esi + Shift]);
        a.shrd(eax, edx, cl);                       // vdso_shift_ns
        a.shr(edx, cl);
        a.test(cl, 32);
        a.je(shifted);
        a.mov(eax, edx);
        a.xor(edx, edx);
        a.Label(ref shifted);
        a.mov(ebx, __dword_ptr[esi + edi + Basetime]);
        a.mov(ecx, __dword_ptr[esi + edi + Basetime + 4]);
        a.cmp(ebp, __dword_ptr[esi + Seq]);         // vdso_read_retry
        a.jne(retry);
        // __iter_div_u64_rem: sec += ns / NSEC_PER_SEC as a two-step 64/32 division (never overflows).
        a.mov(ebp, NsecPerSec);
        a.mov(edi, eax);
        a.mov(eax, edx);
        a.xor(edx, edx);
        a.div(ebp);
        a.mov(esi, eax);
        a.mov(eax, edi);
        a.div(ebp);
        a.add(ebx, eax);
        a.adc(ecx, esi);
        a.mov(eax, ebx);
        a.xchg(ecx, edx);                           // EDX = sec hi, ECX = nsec
        a.clc();
        a.jmp(@out);
        a.Label(ref hodd);
        a.cmp(__dword_ptr[esi + ClockMode], ClockModeTimens); // time namespaces are not modelled: syscall
        a.je(fail);
        a.pause();                                  // cpu_relax
        a.jmp(retry);

        // do_coarse: basetime copy under the seqcount.
        a.Label(ref cretry);
        a.mov(ebp, __dword_ptr[esi + Seq]);
        a.test(ebp, 1);
        a.jne(codd);
        a.mov(eax, __dword_ptr[esi + edi + Basetime]);
        a.mov(edx, __dword_ptr[esi + edi + Basetime + 4]);
        a.mov(ecx, __dword_ptr[esi + edi + Basetime + 8]);
        a.cmp(ebp, __dword_ptr[esi + Seq]);
        a.jne(cretry);
        a.clc();
        a.jmp(@out);
        a.Label(ref codd);
        a.cmp(__dword_ptr[esi + ClockMode], ClockModeTimens);
        a.je(fail);
        a.pause();
        a.jmp(cretry);

        a.Label(ref fail);
        a.stc();
        a.Label(ref @out);
        a.pop(ebx); cfi.Restore(DwarfReg.Ebx); cfi.AdjustCfaOffset(-4);
        a.pop(esi); cfi.Restore(DwarfReg.Esi); cfi.AdjustCfaOffset(-4);
        a.pop(edi); cfi.Restore(DwarfReg.Edi); cfi.AdjustCfaOffset(-4);
        a.pop(ebp); cfi.Restore(DwarfReg.Ebp); cfi.AdjustCfaOffset(-4);
        a.ret();
        cfi.EndProc();
    }

    /// <summary>
    /// The asm/vdso/gettimeofday.h *_fallback for vdso32: syscall nr with (arg1, arg2) = the caller's two stack
    /// arguments, through __kernel_vsyscall. EBX is callee-saved, so it is pushed around the call.
    /// Emitted at the function's initial CFI state (CFA = esp+4).
    /// </summary>
    private static void Fallback(Chunk c, int nr)
    {
        var a = c.A; var cfi = c.Cfi;
        a.push(ebx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ebx, 0);
        a.mov(eax, nr);
        a.mov(ebx, __dword_ptr[esp + 8]);
        a.mov(ecx, __dword_ptr[esp + 12]);
        a.call(c.Sym("__kernel_vsyscall"));
        a.pop(ebx); cfi.Restore(DwarfReg.Ebx); cfi.AdjustCfaOffset(-4);
        a.ret();
    }

    /// <summary>__vdso_clock_gettime (old_timespec32, __cvdso_clock_gettime32) and __vdso_clock_gettime64
    /// (__kernel_timespec, __cvdso_clock_gettime).</summary>
    private static void ClockGettime(Chunk c, bool ts64)
    {
        var a = c.A; var cfi = c.Cfi;
        Label fb = a.CreateLabel();
        cfi.StartProc();
        a.mov(eax, __dword_ptr[esp + 4]);
        a.call(c.Sym("vdso_read_clock"));
        a.jb(fb);
        a.push(ebx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ebx, 0);
        a.mov(ebx, __dword_ptr[esp + 12]);
        a.mov(__dword_ptr[ebx], eax);
        if (ts64)
        {
            a.mov(__dword_ptr[ebx + 4], edx);
            a.mov(__dword_ptr[ebx + 8], ecx);
            a.mov(__dword_ptr[ebx + 12], 0);
        }
        else a.mov(__dword_ptr[ebx + 4], ecx);
        a.pop(ebx); cfi.Restore(DwarfReg.Ebx); cfi.AdjustCfaOffset(-4);
        a.xor(eax, eax);
        a.ret();
        a.Label(ref fb);
        Fallback(c, ts64 ? NrClockGettime64 : NrClockGettime);
        cfi.EndProc();
    }

    /// <summary>__cvdso_gettimeofday: REALTIME through do_hres, usec = nsec / 1000, tz from vdso_data.</summary>
    private static void Gettimeofday(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        Label tz = a.CreateLabel(), done = a.CreateLabel(), fb = a.CreateLabel();
        cfi.StartProc();
        a.cmp(__dword_ptr[esp + 4], 0);
        a.je(tz);
        a.mov(eax, ClockRealtime);
        a.call(c.Sym("vdso_read_clock"));
        a.jb(fb);
        a.mov(edx, __dword_ptr[esp + 4]);
        a.mov(__dword_ptr[edx], eax);
        a.mov(eax, ecx);
        a.xor(edx, edx);
        a.mov(ecx, 1000);
        a.div(ecx);
        a.mov(edx, __dword_ptr[esp + 4]);
        a.mov(__dword_ptr[edx + 4], eax);
        a.Label(ref tz);
        a.mov(ecx, __dword_ptr[esp + 8]);
        a.test(ecx, ecx);
        a.je(done);
        LoadPc(c, ".pc");
        a.mov(eax, __dword_ptr[edx + Vvar(c, ".pc", VdsoDataAddress() + TzMinuteswest)]);
        a.mov(__dword_ptr[ecx], eax);
        a.mov(eax, __dword_ptr[edx + Vvar(c, ".pc", VdsoDataAddress() + TzDsttime)]);
        a.mov(__dword_ptr[ecx + 4], eax);
        a.Label(ref done);
        a.xor(eax, eax);
        a.ret();
        a.Label(ref fb);
        Fallback(c, NrGettimeofday);
        cfi.EndProc();
    }

    /// <summary>__cvdso_time: basetime[CLOCK_REALTIME].sec read directly, no seqcount (as the kernel).</summary>
    private static void Time(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        Label done = a.CreateLabel();
        cfi.StartProc();
        LoadPc(c, ".pc");
        a.mov(eax, __dword_ptr[edx + Vvar(c, ".pc", VdsoDataAddress() + BasetimeOffset(ClockRealtime))]);
        a.mov(ecx, __dword_ptr[esp + 4]);
        a.test(ecx, ecx);
        a.je(done);
        a.mov(__dword_ptr[ecx], eax);
        a.Label(ref done);
        a.ret();
        cfi.EndProc();
    }

    /// <summary>__cvdso_clock_getres_time32: hrtimer_res for HRES/RAW, LOW_RES_NSEC for COARSE.</summary>
    private static void ClockGetres(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        Label hr = a.CreateLabel(), store = a.CreateLabel(), done = a.CreateLabel(), fb = a.CreateLabel();
        cfi.StartProc();
        a.mov(ecx, __dword_ptr[esp + 4]);
        a.cmp(ecx, MaxClocks);
        a.jae(fb);
        a.mov(edx, 1);
        a.shl(edx, cl);
        a.test(edx, (int)(VdsoHres | VdsoRaw));
        a.jne(hr);
        a.test(edx, (int)VdsoCoarse);
        a.je(fb);
        a.mov(eax, (int)LowResNsec);
        a.jmp(store);
        a.Label(ref hr);
        LoadPc(c, ".pc");
        a.mov(eax, __dword_ptr[edx + Vvar(c, ".pc", VdsoDataAddress() + HrtimerRes)]);
        a.Label(ref store);
        a.mov(ecx, __dword_ptr[esp + 8]);
        a.test(ecx, ecx);
        a.je(done);
        a.mov(__dword_ptr[ecx], 0);
        a.mov(__dword_ptr[ecx + 4], eax);
        a.Label(ref done);
        a.xor(eax, eax);
        a.ret();
        a.Label(ref fb);
        Fallback(c, NrClockGetres);
        cfi.EndProc();
    }
}
