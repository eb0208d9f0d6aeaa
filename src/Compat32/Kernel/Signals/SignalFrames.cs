using System.Buffers.Binary;
using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel.Syscalls;
using Iced.Intel;

namespace Compat32.Kernel.Signals;

/// <summary>
/// The i386 signal frames as arch/x86/ia32/ia32_signal.c builds and unwinds them (the 32-bit kernel's
/// arch/x86/kernel/signal.c builds the same bytes): get_sigframe, ia32_setup_frame, ia32_setup_rt_frame,
/// sigreturn/rt_sigreturn, with the FPU part from arch/x86/kernel/fpu/signal.c for an FXSR CPU without XSAVE.
/// Offsets: arch/x86/include/asm/sigframe.h, arch/x86/include/uapi/asm/sigcontext.h (spec §5).
/// </summary>
public static class SignalFrames
{
    // struct sigcontext_32
    const int ScGs = 0, ScFs = 4, ScEs = 8, ScDs = 12, ScDi = 16, ScSi = 20, ScBp = 24, ScSp = 28, ScBx = 32, ScDx = 36,
        ScCx = 40, ScAx = 44, ScTrapno = 48, ScErr = 52, ScIp = 56, ScCs = 60, ScFlags = 64, ScSpAtSignal = 68, ScSs = 72,
        ScFpstate = 76, ScOldmask = 80, ScCr2 = 84;
    // struct sigframe_ia32
    const int SfPretcode = 0, SfSig = 4, SfSc = 8, SfExtramask = 720, SfRetcode = 724;
    // struct rt_sigframe_ia32 and struct ucontext_ia32
    const int RtPretcode = 0, RtSig = 4, RtPinfo = 8, RtPuc = 12, RtInfo = 16, RtUc = 144, RtRetcode = 260;
    const int UcFlags = 0, UcLink = 4, UcStack = 8, UcMcontext = 20, UcSigmask = 108;

    /// <summary>sizeof(struct fregs_state): the fsave header in front of the fxsave image on 32-bit frames.</summary>
    public const int FregsSize = 112;
    /// <summary>fpstate->user_size without XSAVE: sizeof(struct fxregs_state).</summary>
    public const int FxSize = 512;
    const uint FP_XSTATE_MAGIC1 = 0x46505853, X86_FXSR_MAGIC = 0x0000, XFEATURE_MASK_FPSSE = 3;
    const int SS_ONSTACK = 1, SS_DISABLE = 2;
    const uint SS_AUTODISARM = 1u << 31;

    /// <summary>FIX_EFLAGS: the only flag bits sigreturn takes from the frame.</summary>
    public const uint FixEflags = Flags.AC | Flags.OF | Flags.DF | Flags.TF | Flags.SF | Flags.ZF | Flags.AF | Flags.PF
                                | Flags.CF | Flags.RF;

    /// <summary>on_sig_stack / sas_ss_flags (include/linux/sched/signal.h).</summary>
    public static bool OnSigStack(Task t, uint sp)
    {
        if ((t.SigAltStackFlags & SS_AUTODISARM) != 0) return false;
        return sp > t.SigAltStackSp && sp - t.SigAltStackSp <= t.SigAltStackSize;
    }

    public static int SasSsFlags(Task t, uint sp) => t.SigAltStackSize == 0 ? SS_DISABLE : OnSigStack(t, sp) ? SS_ONSTACK : 0;

    /// <summary>setup_rt_frame: SA_SIGINFO → rt frame, else the legacy frame. False = the frame could not be written.</summary>
    public static bool Setup(Task t, int sig, in KSigInfo info, SigAction act, ulong mask, ref PtRegs regs)
    {
        bool rt = (act.Flags & Sig.SA_SIGINFO) != 0;
        int frameSize = rt ? SignalFrameLayout.RtSigframeSize : SignalFrameLayout.SigframeSize;
        uint frame = GetSigframe(t, act, ref regs, frameSize, out uint fpstate);
        if (frame == uint.MaxValue) return false;
        var k = t.Kernel;
        uint vdso = t.Mm.VdsoBase;
        Span<byte> b = stackalloc byte[SignalFrameLayout.SigframeSize];
        b.Clear();
        if (!rt)
        {
            uint restorer;
            if ((act.Flags & Sig.SA_RESTORER) != 0) restorer = act.Restorer;
            else if (vdso != 0 && k.Vdso != null) restorer = vdso + (uint)k.Vdso.SymKernelSigreturn;
            else restorer = frame + SfRetcode;
            W(b, SfSig, (uint)sig);
            PutSigcontext(t, b.Slice(SfSc, SignalFrameLayout.SigcontextSize), fpstate, regs, (uint)mask);
            W(b, SfExtramask, (uint)(mask >> 32));
            W(b, SfPretcode, restorer);
            // popl %eax; movl $__NR_ia32_sigreturn,%eax; int $0x80 (gdb's marker, never executed)
            b[SfRetcode] = 0x58; b[SfRetcode + 1] = 0xb8; W(b, SfRetcode + 2, (uint)Nr.sigreturn);
            b[SfRetcode + 6] = 0xcd; b[SfRetcode + 7] = 0x80;
            if (!t.Mem.CopyToUser(frame, b[..SignalFrameLayout.SigframeSize])) return false;
            regs.dx = 0; regs.cx = 0;
        }
        else
        {
            var f = b[..SignalFrameLayout.RtSigframeSize];
            W(f, RtSig, (uint)sig);
            W(f, RtPinfo, frame + RtInfo);
            W(f, RtPuc, frame + RtUc);
            W(f, RtUc + UcFlags, 0); // UC_FP_XSTATE only with XSAVE
            W(f, RtUc + UcLink, 0);
            // unsafe_compat_save_altstack: ss_sp, ss_flags, ss_size; SS_AUTODISARM disarms the stack.
            W(f, RtUc + UcStack, t.SigAltStackSp);
            W(f, RtUc + UcStack + 4, (uint)SasSsFlags(t, (uint)regs.sp) | (t.SigAltStackFlags & SS_AUTODISARM));
            W(f, RtUc + UcStack + 8, t.SigAltStackSize);
            if ((t.SigAltStackFlags & SS_AUTODISARM) != 0) { t.SigAltStackSp = 0; t.SigAltStackSize = 0; t.SigAltStackFlags = SS_DISABLE; }
            // Without SA_RESTORER the vDSO trampoline; with no vDSO that is vdso(0) + offset, as the kernel does.
            uint restorer = (act.Flags & Sig.SA_RESTORER) != 0 ? act.Restorer
                : vdso + (uint)(k.Vdso?.SymKernelRtSigreturn ?? 0);
            W(f, RtPretcode, restorer);
            // movl $__NR_ia32_rt_sigreturn,%eax; int $0x80; pad
            f[RtRetcode] = 0xb8; W(f, RtRetcode + 1, (uint)Nr.rt_sigreturn); f[RtRetcode + 5] = 0xcd; f[RtRetcode + 6] = 0x80;
            f[RtRetcode + 7] = 0;
            PutSigcontext(t, f.Slice(RtUc + UcMcontext, SignalFrameLayout.SigcontextSize), fpstate, regs, (uint)mask);
            BinaryPrimitives.WriteUInt64LittleEndian(f[(RtUc + UcSigmask)..], mask);
            info.WriteCompat(f.Slice(RtInfo, SignalFrameLayout.SiginfoSize));
            if (!t.Mem.CopyToUser(frame, f)) return false;
            regs.dx = frame + RtInfo;
            regs.cx = frame + RtUc;
        }
        regs.sp = frame;
        regs.ip = act.Handler;
        regs.ax = (uint)sig; // -mregparm=3
        var m = t.Kernel.Model;
        // loadsegment(ds/es, __USER32_DS); cs/ss as the kernel sets them.
        t.Cpu.KernelLoadSegment(CpuState.DS, m.UserDs);
        t.Cpu.KernelLoadSegment(CpuState.ES, m.UserDs);
        regs.ds = m.UserDs; regs.es = m.UserDs;
        regs.cs = m.UserCs;
        regs.ss = m.UserDs;
        return true;
    }

    /// <summary>get_sigframe (ia32): stack choice, FPU state (fpu__alloc_mathframe, copy_fpstate_to_sigframe),
    /// then the frame aligned so that ((sp + 4) &amp; 15) == 0. uint.MaxValue when the FPU state could not be written.</summary>
    static uint GetSigframe(Task t, SigAction act, ref PtRegs regs, int frameSize, out uint fpstate)
    {
        uint sp = (uint)regs.sp;
        if ((act.Flags & Sig.SA_ONSTACK) != 0)
        {
            if (SasSsFlags(t, sp) == 0) sp = t.SigAltStackSp + t.SigAltStackSize; // sigsp
        }
        else if (regs.ss != t.Kernel.Model.UserDs && (act.Flags & Sig.SA_RESTORER) == 0 && act.Restorer != 0)
            sp = act.Restorer; // the legacy stack switching
        // fpu__alloc_mathframe(ia32_frame = 1) with FXSR: buf_fx 64-byte aligned, fsave header below it.
        uint bufFx = (sp - FxSize) & ~63u;
        sp = bufFx - FregsSize;
        fpstate = sp;
        if (!SaveFpu(t, sp, bufFx)) { fpstate = 0; return uint.MaxValue; }
        sp -= (uint)frameSize;
        sp = ((sp + 4) & ~15u) - 4;
        return sp;
    }

    /// <summary>copy_fpstate_to_sigframe for an ia32 frame with FXSR and no XSAVE: the fxsave image at buf_fx with
    /// the software-reserved bytes (save_xstate_epilog), and the fsave-format header at buf (save_fsave_header).</summary>
    static bool SaveFpu(Task t, uint buf, uint bufFx)
    {
        var f = t.Cpu.S.Fpu;
        bool k64 = t.Kernel.Model.Kernel64;
        Span<byte> fx = stackalloc byte[FxSize];
        fx.Clear();
        Cpu.Simd.FxArea.Save(t.Cpu.S, fx); // x87, MXCSR and XMM0-7 (copy_fpregs_to_sigframe's fxsave)
        if (k64)
        {
            // fxsave64 (the 64-bit kernel's fxsave_to_user_sigframe): 64-bit FIP/FDP, no FCS/FDS fields.
            W(fx, 12, 0); W(fx, 20, 0);
        }
        // save_sw_bytes: magic1, extended_size (+ fregs_state for ia32), xfeatures, xstate_size.
        W(fx, 464, FP_XSTATE_MAGIC1);
        W(fx, 468, (uint)(FxSize + 4 + FregsSize));
        BinaryPrimitives.WriteUInt64LittleEndian(fx[472..], XFEATURE_MASK_FPSSE);
        W(fx, 480, FxSize);
        if (!t.Mem.CopyToUser(bufFx, fx)) return false;
        // save_fsave_header: convert_from_fxsr env, then status = swd and magic = X86_FXSR_MAGIC.
        Span<byte> h = stackalloc byte[FregsSize];
        h.Clear();
        f.SaveFull(h); // cwd|ffff0000, swd|ffff0000, twd (full tag)|ffff0000, fip, fcs, foo, fos, st[8]
        if (k64)
        {
            W(h, 16, t.Kernel.Model.UserCs);                               // env->fcs = regs->cs
            W(h, 24, 0xFFFF0000u | t.Cpu.S.Sel[CpuState.DS]);              // env->fos = ds | 0xffff0000
        }
        else
        {
            W(h, 16, f.Fcs | ((uint)(f.Fop & 0x7FF) << 16));
            W(h, 24, f.Fds);
        }
        BinaryPrimitives.WriteUInt16LittleEndian(h[108..], f.Status);
        BinaryPrimitives.WriteUInt16LittleEndian(h[110..], (ushort)X86_FXSR_MAGIC);
        return t.Mem.CopyToUser(buf, h);
    }

    /// <summary>fpu__clear_user_states: the handler starts with the FPU in its init state (init_fpstate: the
    /// registers too are zero, not just empty).</summary>
    public static void ClearFpu(Task t)
    {
        var f = t.Cpu.S.Fpu;
        f.Reset();
        Array.Clear(f.Regs);
        t.Cpu.S.Simd.Reset(); // XMM zero, MXCSR 0x1F80
    }

    static void PutSigcontext(Task t, Span<byte> sc, uint fpstate, in PtRegs regs, uint mask)
    {
        var s = t.Cpu.S;
        var st = t.SigState;
        W(sc, ScGs, s.Sel[CpuState.GS]); W(sc, ScFs, s.Sel[CpuState.FS]);
        W(sc, ScDs, s.Sel[CpuState.DS]); W(sc, ScEs, s.Sel[CpuState.ES]);
        W(sc, ScDi, (uint)regs.di); W(sc, ScSi, (uint)regs.si); W(sc, ScBp, (uint)regs.bp); W(sc, ScSp, (uint)regs.sp);
        W(sc, ScBx, (uint)regs.bx); W(sc, ScDx, (uint)regs.dx); W(sc, ScCx, (uint)regs.cx); W(sc, ScAx, (uint)regs.ax);
        W(sc, ScTrapno, (uint)st.TrapNr); W(sc, ScErr, st.ErrorCode);
        W(sc, ScIp, (uint)regs.ip); W(sc, ScCs, (uint)regs.cs); W(sc, ScFlags, (uint)regs.flags);
        W(sc, ScSpAtSignal, (uint)regs.sp); W(sc, ScSs, (uint)regs.ss);
        W(sc, ScFpstate, fpstate);
        W(sc, ScOldmask, mask);
        W(sc, ScCr2, st.Cr2);
    }

    /// <summary>sys_sigreturn (compat): the frame is at sp - 8 (the handler's ret popped pretcode, the trampoline
    /// popped sig). Returns the restored eax, or 0 after signal_fault (SIGSEGV).</summary>
    public static int Sigreturn(Task t)
    {
        ref var regs = ref t.SysRegs;
        uint frame = (uint)regs.sp - 8;
        Span<byte> b = stackalloc byte[SignalFrameLayout.SigframeSize];
        if (!t.Mem.CopyFromUser(frame, b)) return BadFrame(t);
        ulong set = R(b, SfSc + ScOldmask) | ((ulong)R(b, SfExtramask) << 32);
        t.Kernel.Signals.SetBlocked(t, set);
        if (!RestoreSigcontext(t, ref regs, b.Slice(SfSc, SignalFrameLayout.SigcontextSize))) return BadFrame(t);
        t.SysRegsChanged = true;
        t.IpChangedBy = IretReason.Sigreturn;
        return (int)(uint)regs.ax;
    }

    /// <summary>sys_rt_sigreturn (compat): the frame is at sp - 4 (the handler's ret popped pretcode).</summary>
    public static int RtSigreturn(Task t)
    {
        ref var regs = ref t.SysRegs;
        uint frame = (uint)regs.sp - 4;
        Span<byte> b = stackalloc byte[SignalFrameLayout.RtSigframeSize];
        if (!t.Mem.CopyFromUser(frame, b)) return BadFrame(t);
        ulong set = BinaryPrimitives.ReadUInt64LittleEndian(b[(RtUc + UcSigmask)..]);
        t.Kernel.Signals.SetBlocked(t, set);
        if (!RestoreSigcontext(t, ref regs, b.Slice(RtUc + UcMcontext, SignalFrameLayout.SigcontextSize))) return BadFrame(t);
        // compat_restore_altstack: do_sigaltstack with the saved stack_t (errors other than EFAULT ignored).
        SignalCalls.DoSigaltstack(t, R(b, RtUc + UcStack), (int)R(b, RtUc + UcStack + 4), R(b, RtUc + UcStack + 8), (uint)regs.sp, out _);
        t.SysRegsChanged = true;
        t.IpChangedBy = IretReason.Sigreturn;
        return (int)(uint)regs.ax;
    }

    /// <summary>signal_fault → force_sigsegv. The registers stay as the syscall found them.</summary>
    static int BadFrame(Task t)
    {
        t.Kernel.Signals.ForceSigsegv(t, 0);
        return 0;
    }

    /// <summary>ia32_restore_sigcontext.</summary>
    static bool RestoreSigcontext(Task t, ref PtRegs regs, ReadOnlySpan<byte> sc)
    {
        t.SigState.RestartFn = null; // restart_block.fn = do_no_restart_syscall
        var m = t.Kernel.Model;
        uint cs = R(sc, ScCs) | 3, ss = R(sc, ScSs) | 3;
        regs.bx = R(sc, ScBx); regs.cx = R(sc, ScCx); regs.dx = R(sc, ScDx); regs.si = R(sc, ScSi); regs.di = R(sc, ScDi);
        regs.bp = R(sc, ScBp); regs.ax = R(sc, ScAx); regs.sp = R(sc, ScSp); regs.ip = R(sc, ScIp);
        regs.cs = cs & 0xFFFF; regs.ss = ss & 0xFFFF;
        regs.flags = (regs.flags & ~(ulong)FixEflags) | (R(sc, ScFlags) & FixEflags);
        regs.orig_ax = ulong.MaxValue; // disable syscall checks
        // Any CS/SS is accepted here; the IRET to user mode checks them (SyscallEntry.Iret → IretFault).
        _ = m;
        // reload_segments: a selector that does not load becomes 0 (the loadsegment exception fixup).
        ReloadSegment(t, Iced.Intel.Register.GS, (ushort)(R(sc, ScGs) | 3));
        ReloadSegment(t, Iced.Intel.Register.FS, (ushort)(R(sc, ScFs) | 3));
        ReloadSegment(t, Iced.Intel.Register.DS, (ushort)(R(sc, ScDs) | 3));
        ReloadSegment(t, Iced.Intel.Register.ES, (ushort)(R(sc, ScEs) | 3));
        regs.ds = t.Cpu.S.Sel[CpuState.DS]; regs.es = t.Cpu.S.Sel[CpuState.ES];
        regs.fs = t.Cpu.S.Sel[CpuState.FS]; regs.gs = t.Cpu.S.Sel[CpuState.GS];
        return RestoreFpu(t, R(sc, ScFpstate));
    }

    static void ReloadSegment(Task t, Iced.Intel.Register r, ushort sel)
    {
        var cpu = t.Cpu;
        int n = r.GetNumber();
        if (cpu.S.Sel[n] == sel) return;
        cpu.KernelLoadSegment(n, sel);
    }

    /// <summary>fpu__restore_sig(buf, ia32_frame = 1) with FXSR: the x87 registers come from the fsave header
    /// (convert_to_fxsr), MXCSR and the rest from the fxsave image after it. A null pointer resets the FPU.</summary>
    static bool RestoreFpu(Task t, uint buf)
    {
        if (buf == 0) { ClearFpu(t); return true; }
        Span<byte> env = stackalloc byte[108];
        Span<byte> fx = stackalloc byte[FxSize];
        bool ok = t.Mem.CopyFromUser(buf, env) && t.Mem.CopyFromUser(buf + FregsSize, fx);
        uint mxcsr = R(fx, 24);
        // A 64-bit kernel rejects reserved MXCSR bits; a 32-bit one masks them out "for historical reasons".
        bool k64 = t.Kernel.Model.Kernel64;
        if (!ok || (k64 && !Cpu.Simd.FxArea.MxcsrValid(mxcsr)))
        {
            ClearFpu(t); // fpu__clear_user_states on failure
            return false;
        }
        var f = t.Cpu.S.Fpu;
        f.LoadFull(env); // convert_to_fxsr: the x87 part comes from the fsave header
        t.Cpu.S.Simd.Mxcsr = mxcsr & Cpu.Simd.SimdState.MxcsrMask;
        Cpu.Simd.FxArea.RestoreXmm(t.Cpu.S, fx);
        return true;
    }

    static void W(Span<byte> b, int off, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b[off..], v);
    static uint R(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadUInt32LittleEndian(b[off..]);
}
