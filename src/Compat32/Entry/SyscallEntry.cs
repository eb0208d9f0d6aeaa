using Compat32.Cpu;

namespace Compat32.Entry;

/// <summary>
/// The privilege boundary for system calls, mirroring arch/x86/entry/entry_64_compat.S (64-bit kernel),
/// entry_32.S (32-bit kernel) and common.c. The CPU has already executed INT 0x80 / SYSENTER / SYSCALL
/// (Cpu/Execute/System.cs); here we build pt_regs as the entry assembly does, run the C path, and leave
/// with the instruction the kernel would pick.
/// </summary>
public sealed partial class SyscallEntry
{
    /// <summary>The entry design (compat32 lab); Linux43 runs exactly the code below.</summary>
    public EntryDesign Design;
    /// <summary>The registers at the syscall-entry stop (what PTRACE_GETREGS would show), for the lab.</summary>
    public Action<PtRegs, EntryMethod>? Observer;
    readonly Processor cpu;
    readonly ISyscallKernel kernel;
    public readonly EntryStats Stats;
    /// <summary>Method and exit of the last transition (for strace and tests).</summary>
    public EntryMethod LastEntry;
    public ExitMethod LastExit;

    const uint TF = Flags.TF, RF = Flags.RF, IF = Flags.IF, NT = Flags.NT, AC = Flags.AC, VM = Flags.VM;

    public SyscallEntry(Processor cpu, ISyscallKernel kernel, EntryStats stats)
    {
        this.cpu = cpu;
        this.kernel = kernel;
        Stats = stats;
    }

    bool Kernel64 => cpu.Model.Kernel64;
    ushort UserCs => cpu.Model.UserCs;
    ushort UserDs => cpu.Model.UserDs;

    /// <summary>Registers as entry code pushes them: GPRs, orig_ax = eax, ax = -ENOSYS.</summary>
    PtRegs SaveGprs()
    {
        var s = cpu.S;
        var r = new PtRegs
        {
            bx = s.R[CpuState.EBX], cx = s.R[CpuState.ECX], dx = s.R[CpuState.EDX], si = s.R[CpuState.ESI],
            di = s.R[CpuState.EDI], bp = s.R[CpuState.EBP],
            orig_ax = s.R[CpuState.EAX], // movl %eax,%eax: zero-extended
            ax = unchecked((ulong)-38L), // -ENOSYS
            r8 = s.R64Hi[0], r9 = s.R64Hi[1], r10 = s.R64Hi[2], r11 = s.R64Hi[3],
            r12 = s.R64Hi[4], r13 = s.R64Hi[5], r14 = s.R64Hi[6], r15 = s.R64Hi[7],
            ds = s.Sel[CpuState.DS], es = s.Sel[CpuState.ES], fs = s.Sel[CpuState.FS], gs = s.Sel[CpuState.GS],
        };
        return r;
    }

    /// <summary>INT $0x80: the CPU pushed SS, ESP, EFLAGS, CS, EIP (after the int); entry_INT80_compat saves the
    /// rest; do_int80_syscall_32; always IRET.</summary>
    public void Int80()
    {
        var s = cpu.S;
        var regs = SaveGprs();
        regs.ip = s.Eip;
        regs.cs = s.Sel[CpuState.CS];
        regs.flags = s.Flags.Get();
        regs.sp = s.R[CpuState.ESP];
        regs.ss = s.Sel[CpuState.SS];
        Stats.Entries[(int)EntryMethod.Int80]++;
        LastEntry = EntryMethod.Int80;
        Observer?.Invoke(regs, EntryMethod.Int80);
        kernel.Syscall(ref regs, EntryMethod.Int80);
        var note = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref note);
        if (kernel.Exited) return;
        Iret(ref regs, countReason: false, IretReason.None);
    }

    /// <summary>An exception or trap from user mode: pt_regs with orig_ax = -1 (no syscall), the kernel's
    /// handler (arch/x86/kernel/traps.c), exit work (signal delivery), IRET. Not counted as a syscall exit.</summary>
    public void Exception(int vector, uint errorCode, uint cr2, bool singleStep)
    {
        var regs = SaveInterruptFrame();
        // Fault-class exceptions push EFLAGS with RF set (SDM 17.3.1.1); traps (#DB step, #BP, #OF) do not.
        if (vector != Vec.DB && vector != Vec.BP && vector != Vec.OF) regs.flags |= RF;
        kernel.Trap(ref regs, vector, errorCode, cr2, singleStep);
        ReturnFromInterrupt(ref regs);
    }

    /// <summary>pt_regs for an entry that is not a syscall (idtentry): the hardware frame, the GPRs,
    /// orig_ax = -1 so that no restart logic applies.</summary>
    PtRegs SaveInterruptFrame()
    {
        var s = cpu.S;
        var regs = SaveGprs();
        regs.orig_ax = ulong.MaxValue;
        regs.ax = s.R[CpuState.EAX];
        regs.ip = s.Eip;
        regs.cs = s.Sel[CpuState.CS];
        regs.flags = s.Flags.Get();
        regs.sp = s.R[CpuState.ESP];
        regs.ss = s.Sel[CpuState.SS];
        return regs;
    }

    /// <summary>irqentry_exit_to_user_mode then IRET; not counted among syscall exits.</summary>
    void ReturnFromInterrupt(ref PtRegs regs)
    {
        var note = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref note);
        if (kernel.Exited) return;
        Iret(ref regs, countReason: false, IretReason.None);
        Stats.Exits[(int)ExitMethod.Iret]--;
    }

    /// <summary>An asynchronous interruption (a timer tick with a signal pending): no syscall, exit work, IRET.</summary>
    public void Interrupt()
    {
        var regs = SaveInterruptFrame();
        ReturnFromInterrupt(ref regs);
    }

    /// <summary>entry_SYSENTER_compat / entry_SYSENTER_32 then do_SYSENTER_32. The CPU already switched to
    /// CPL 0 and cleared VM, IF and RF; nothing of the user's ESP/EIP survives.</summary>
    public void Sysenter()
    {
        if (Design != EntryDesign.Linux43 && DesignSysenter()) return;
        var s = cpu.S;
        var regs = SaveGprs();
        regs.ss = UserDs;
        regs.sp = 0;                      // placeholder
        regs.flags = s.Flags.Get();       // pushfq: the user's flags less what SYSENTER cleared
        regs.cs = UserCs;
        regs.ip = 0;                      // placeholder
        // .Lsysenter_fix_flags: NT, AC, TF are cleared in the live flags only; the saved copy keeps them.
        // A single-step trap the CPU took in here (TF is not cleared by SYSENTER) is discarded
        // (is_sysenter_singlestep in exc_debug_kernel): the CPU model reports no #DB for it.
        if ((regs.flags & (NT | AC | TF)) != 0) s.Flags.Set(Flags.Fixed1);
        Stats.Entries[(int)EntryMethod.Sysenter]++;
        LastEntry = EntryMethod.Sysenter;
        regs.sp = regs.bp;                // SYSENTER loses ESP; the vDSO parked it in EBP
        regs.flags |= IF;                 // SYSENTER clobbers IF; assume it was set in user mode
        bool fast = FastSyscall32(ref regs, EntryMethod.Sysenter, out var reason);
        Exit(ref regs, fast, reason);
    }

    /// <summary>entry_SYSCALL_compat then do_fast_syscall_32. The CPU put EIP in ECX and EFLAGS in R11 and
    /// masked EFLAGS with SFMASK; ESP is untouched. The vDSO parked the user's ECX in EBP.</summary>
    public void Syscall32()
    {
        if (Design != EntryDesign.Linux43 && DesignSyscall32()) return;
        var s = cpu.S;
        uint userEsp = s.R[CpuState.ESP];
        s.R64Hi[0] = userEsp;             // movl %esp, %r8d: stash user ESP
        var regs = SaveGprs();
        regs.ss = UserDs;
        regs.sp = userEsp;
        regs.flags = s.R11;
        regs.cs = UserCs;
        regs.ip = s.R[CpuState.ECX];
        regs.cx = s.R[CpuState.EBP];      // PUSH_AND_CLEAR_REGS rcx=%rbp
        Stats.Entries[(int)EntryMethod.Syscall32]++;
        LastEntry = EntryMethod.Syscall32;
        bool fast = FastSyscall32(ref regs, EntryMethod.Syscall32, out var reason);
        Exit(ref regs, fast, reason);
    }

    /// <summary>do_fast_syscall_32: returns true when SYSRETL/SYSEXIT may be used.</summary>
    bool FastSyscall32(ref PtRegs regs, EntryMethod how, out IretReason reason)
    {
        reason = IretReason.None;
        uint? pad = kernel.Int80LandingPad;
        // Without a vDSO there is no landing pad: the kernel would dereference a bogus address; we point ip at
        // the instruction after SYSENTER/SYSCALL's vDSO slot equivalent and use IRET.
        uint landing = pad ?? (uint)regs.ip;
        regs.ip = landing; // before any tracer can look

        // __do_fast_syscall_32: fetch EBP (arg 6) from where the vDSO stashed it, at the user's ESP.
        if (!kernel.GetUser32((uint)regs.sp, out uint arg6))
        {
            regs.ax = unchecked((ulong)-14L); // -EFAULT, no syscall
            var n0 = new ExitNote();
            kernel.ExitToUserMode(ref regs, ref n0);
            reason = IretReason.Arg6Fault;
            return false;
        }
        regs.bp = arg6;
        Observer?.Invoke(regs, how);
        kernel.Syscall(ref regs, how);
        var note = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref note);

        if (pad == null) { reason = IretReason.IpMoved; return false; }
        if (Kernel64)
        {
            if (regs.cs != Selectors.USER32_CS || regs.ss != Selectors.USER_DS) { reason = IretReason.Segments; return false; }
            if (regs.ip != landing) { reason = note.IpChangedBy != IretReason.None ? note.IpChangedBy : IretReason.IpMoved; return false; }
            if ((regs.flags & TF) != 0) { reason = IretReason.TrapFlag; return false; }
            if ((regs.flags & RF) != 0) { reason = IretReason.ResumeFlag; return false; }
            return true;
        }
        if (!cpu.Model.Sep) { reason = IretReason.NoSep; return false; }
        if (regs.cs != Selectors.I386_USER_CS || regs.ss != Selectors.I386_USER_DS) { reason = IretReason.Segments; return false; }
        if (regs.ip != landing) { reason = note.IpChangedBy != IretReason.None ? note.IpChangedBy : IretReason.IpMoved; return false; }
        if ((regs.flags & TF) != 0) { reason = IretReason.TrapFlag; return false; }
        if ((regs.flags & RF) != 0) { reason = IretReason.ResumeFlag; return false; }
        if ((regs.flags & VM) != 0) { reason = IretReason.Vm86; return false; }
        return true;
    }

    void Exit(ref PtRegs regs, bool fast, IretReason reason)
    {
        if (kernel.Exited) return; // do_exit never returns to user mode
        if (!fast) { Iret(ref regs, countReason: true, reason); return; }
        if (Kernel64) Sysretl(ref regs); else Sysexit(ref regs);
    }

    /// <summary>IRET to user mode: every register from pt_regs (swapgs_restore_regs_and_return_to_usermode).</summary>
    public void Iret(ref PtRegs regs, bool countReason, IretReason reason)
    {
        var s = cpu.S;
        RestoreCommon(ref regs);
        s.R[CpuState.ECX] = (uint)regs.cx;
        s.R[CpuState.EDX] = (uint)regs.dx;
        s.R64Hi[0] = regs.r8; s.R64Hi[1] = regs.r9; s.R64Hi[2] = regs.r10; s.R64Hi[3] = regs.r11;
        s.R64Hi[4] = regs.r12; s.R64Hi[5] = regs.r13; s.R64Hi[6] = regs.r14; s.R64Hi[7] = regs.r15;
        s.Eip = (uint)regs.ip;
        s.R[CpuState.ESP] = (uint)regs.sp;
        // IRET to CPL 3 takes all flags from the frame; IOPL/IF as the kernel saved them.
        s.Flags.Set((uint)regs.flags);
        Stats.Exits[(int)ExitMethod.Iret]++;
        LastExit = ExitMethod.Iret;
        if (countReason) Stats.IretReasons[(int)reason]++;
        // IRET's CS and SS checks (SDM IRET, return to outer privilege level). A 16-bit SS keeps all of ESP:
        // ESPFIX (espfix64 on the 64-bit kernel, espfix32 on i386) restores bits 31:16 for an LDT SS, and a
        // 16-bit GDT SS cannot exist (tls_desc_okay refuses one).
        if (!cpu.IretToUser((ushort)regs.cs, (ushort)regs.ss, out int vector, out uint err))
            IretFault(ref regs, vector, err);
    }

    /// <summary>The IRET to user mode faulted (a bad CS or SS from sigreturn, or an LDT entry changed under
    /// a loaded selector). 64-bit kernel: fixup_bad_iret makes it a fault of the user frame; on the espfix64 stack
    /// (an LDT SS) the fault becomes #DF, which do_double_fault turns into #GP(0). 32-bit kernel: iret_exc →
    /// do_iret_error, X86_TRAP_IRET (32), SIGILL. Then the signal is delivered and IRET tried again.</summary>
    void IretFault(ref PtRegs regs, int vector, uint err)
    {
        if (Kernel64 && (regs.ss & 4) != 0) { vector = Vec.GP; err = 0; }
        else if (!Kernel64) { vector = X86_TRAP_IRET; err = 0; }
        var s = cpu.S;
        regs.orig_ax = ulong.MaxValue;
        kernel.Trap(ref regs, vector, err, 0, false);
        var note = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref note);
        if (kernel.Exited) return;
        Stats.Exits[(int)ExitMethod.Iret]--;
        Iret(ref regs, countReason: false, IretReason.None);
    }

    /// <summary>The kernel's software trap number for a faulting IRET on i386 (asm/trapnr.h).</summary>
    public const int X86_TRAP_IRET = 32;

    /// <summary>sysret32_from_system_call: EBX EBP EAX EDX ESI EDI from pt_regs, ECX = ip, R11 = flags,
    /// R8-R10 zeroed (R12-R15 hold what CLEAR_REGS left: zero); the CPU then loads EIP = ECX,
    /// EFLAGS = R11 with RF and VM cleared, CS = STAR[63:48] (0x23), SS = 0x2b (AMD APM SYSRET).</summary>
    void Sysretl(ref PtRegs regs)
    {
        var s = cpu.S;
        RestoreCommon(ref regs);
        s.R[CpuState.EDX] = (uint)regs.dx;
        s.R[CpuState.ECX] = (uint)regs.ip;
        s.R11 = regs.flags;
        s.R64Hi[0] = 0; s.R64Hi[1] = 0; s.R64Hi[2] = 0;
        s.R64Hi[4] = 0; s.R64Hi[5] = 0; s.R64Hi[6] = 0; s.R64Hi[7] = 0;
        s.R[CpuState.ESP] = (uint)regs.sp;
        // SYSRET: EIP <- ECX; EFLAGS <- R11 & ~(RF|VM); CS <- STAR[63:48]|3 (compat); SS <- STAR[63:48]+8|3.
        s.Eip = s.R[CpuState.ECX];
        s.Flags.Set((uint)s.R11 & ~(RF | VM));
        ushort cs = (ushort)(((cpu.S.MsrStar >> 48) & 0xFFFC) | 3);
        LoadUserSegments(cs, (ushort)((cs + 8) | 3));
        Stats.Exits[(int)ExitMethod.Sysretl]++;
        LastExit = ExitMethod.Sysretl;
    }

    /// <summary>entry_SYSENTER_32's opportunistic SYSEXIT: EDX = ip, ECX = sp, popfl with IF cleared, sti,
    /// sysexit (SDM SYSEXIT: EIP = EDX, ESP = ECX, CS = SYSENTER_CS+16, SS = SYSENTER_CS+24, RPL 3).</summary>
    void Sysexit(ref PtRegs regs)
    {
        var s = cpu.S;
        RestoreCommon(ref regs);
        s.R[CpuState.EDX] = (uint)regs.ip;
        s.R[CpuState.ECX] = (uint)regs.sp;
        s.Flags.Set((uint)regs.flags | IF);
        s.Eip = s.R[CpuState.EDX];
        s.R[CpuState.ESP] = s.R[CpuState.ECX];
        ushort kcs = (ushort)(s.MsrSysenterCs & 0xFFFC);
        LoadUserSegments((ushort)((kcs + 16) | 3), (ushort)((kcs + 24) | 3));
        Stats.Exits[(int)ExitMethod.Sysexit]++;
        LastExit = ExitMethod.Sysexit;
    }

    void RestoreCommon(ref PtRegs regs)
    {
        var s = cpu.S;
        s.R[CpuState.EAX] = (uint)regs.ax;
        s.R[CpuState.EBX] = (uint)regs.bx;
        s.R[CpuState.ESI] = (uint)regs.si;
        s.R[CpuState.EDI] = (uint)regs.di;
        s.R[CpuState.EBP] = (uint)regs.bp;
        s.Cpl = 3;
        if (!Kernel64)
        {
            // The 32-bit kernel restores the data segments it saved (RESTORE_REGS; a faulting pop loads 0).
            // So are FS and GS (pt_regs->fs/gs): a descriptor changed under a loaded selector is picked up here.
            cpu.KernelLoadSegment(CpuState.DS, regs.ds);
            cpu.KernelLoadSegment(CpuState.ES, regs.es);
            cpu.KernelLoadSegment(CpuState.FS, regs.fs);
            cpu.KernelLoadSegment(CpuState.GS, regs.gs);
        }
    }

    /// <summary>SYSRETL/SYSEXIT: fixed flat CS and SS descriptors (not read from the GDT).</summary>
    void LoadUserSegments(ushort cs, ushort ss) => cpu.LoadFlatUserCsSs(cs, ss);
}
