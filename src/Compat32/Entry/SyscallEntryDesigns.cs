using Compat32.Cpu;

namespace Compat32.Entry;

/// <summary>
/// The fast entries of the design lab's other kernels (Lab/Designs.cs). linux-4.3 (the default) never comes here;
/// auxv, pointer-table and int80-only keep its kernel entry and differ only in the vDSO.
/// </summary>
public sealed partial class SyscallEntry
{
    /// <summary>The task's syscalls are traced (TIF_SYSCALL_TRACE: compat32 --strace stands for strace here).</summary>
    public bool Traced;

    bool DesignSysenter() => Design switch
    {
        EntryDesign.Linux42 => Sysenter42(),
        EntryDesign.Proposal2015 => EnterProposal(EntryMethod.Sysenter),
        _ => false,
    };

    bool DesignSyscall32() => Design switch
    {
        EntryDesign.Linux42 => Syscall42(),
        EntryDesign.Proposal2015 => EnterProposal(EntryMethod.Syscall32),
        _ => false,
    };

    void Count(EntryMethod how)
    {
        Stats.Entries[(int)how]++;
        LastEntry = how;
    }

    /// <summary>ia32_badarg (v4.2 entry_64_compat.S): the arg fetch faulted: -EFAULT, no syscall, the IRET path.</summary>
    bool BadArg(ref PtRegs regs)
    {
        regs.ax = unchecked((ulong)-14L);
        var n0 = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref n0);
        if (!kernel.Exited) Iret(ref regs, countReason: true, IretReason.Arg6Fault);
        return true;
    }

    IretReason SlowReason(in PtRegs regs, ulong ip, in ExitNote note)
    {
        if (note.IpChangedBy != IretReason.None) return note.IpChangedBy;
        if (regs.ip != ip) return IretReason.IpMoved;
        if (Traced) return IretReason.Work;
        if (regs.cs != UserCs || regs.ss != UserDs) return IretReason.Segments;
        return IretReason.None;
    }

    /// <summary>
    /// v4.2 entry_SYSENTER_compat (64-bit kernel) / sysenter_target (entry_32.S): pt_regs->sp = EBP, pt_regs->ip =
    /// thread_info->sysenter_return (the vDSO's SYSENTER_RETURN), `movl (%rbp),%ebp` fetches arg 6 into EBP. With
    /// no exit work, the 64-bit kernel leaves by SYSRETL with ECX = ip and EDX zeroed (4214a16b0297, "Use SYSRETL
    /// to return from compat mode SYSENTER": "We still return with EBP, EDX, and ECX on the user stack"); the
    /// 32-bit kernel by SYSEXIT (EDX = ip, ECX = sp, EBP zeroed). Anything else: the IRET path.
    /// </summary>
    bool Sysenter42()
    {
        var s = cpu.S;
        var regs = SaveGprs();
        regs.ss = UserDs;
        regs.sp = regs.bp;
        regs.flags = s.Flags.Get() | IF;  // ENABLE_INTERRUPTS before pushfq
        regs.cs = UserCs;
        uint? pad = kernel.Int80LandingPad;
        regs.ip = pad ?? 0;
        if ((regs.flags & NT) != 0) s.Flags.Set(Flags.Fixed1); // sysenter_fix_flags: v4.2 clears NT only
        Count(EntryMethod.Sysenter);
        if (!kernel.GetUser32((uint)regs.sp, out uint arg6)) return BadArg(ref regs);
        regs.bp = arg6;
        Observer?.Invoke(regs, EntryMethod.Sysenter);
        kernel.Syscall(ref regs, EntryMethod.Sysenter);
        var note = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref note);
        if (kernel.Exited) return true;
        var why = pad == null ? IretReason.IpMoved : SlowReason(regs, pad.Value, note);
        if (why != IretReason.None) { Iret(ref regs, countReason: true, why); return true; }
        if (Kernel64) { Sysretl(ref regs); s.R[CpuState.EDX] = 0; }
        else { Sysexit(ref regs); s.R[CpuState.EBP] = 0; }
        return true;
    }

    /// <summary>
    /// v4.2 entry_SYSCALL_compat: pt_regs->ip = ECX (the instruction after SYSCALL: there is no landing pad),
    /// pt_regs->cx = EBP (the vDSO parked ECX there), arg 6 fetched from the user stack into R9 while EBP, and
    /// so pt_regs->bp when the exit path saves it, keeps the parked ECX. A restart (`ip -= 2`) therefore lands
    /// on the SYSCALL instruction, which takes arg 2 from EBP and arg 6 from the stack again, not from ECX and
    /// EBP as the restart ABI, ptrace and the signal frame present them: "the SYSCALL case seems to be buggy".
    /// </summary>
    bool Syscall42()
    {
        var s = cpu.S;
        uint userEsp = s.R[CpuState.ESP];
        s.R64Hi[0] = userEsp;
        var regs = SaveGprs();
        regs.ss = UserDs;
        regs.sp = userEsp;
        regs.flags = s.R11;
        regs.cs = UserCs;
        regs.ip = s.R[CpuState.ECX];
        regs.cx = s.R[CpuState.EBP];
        Count(EntryMethod.Syscall32);
        if (!kernel.GetUser32(userEsp, out uint arg6)) return BadArg(ref regs);
        ulong parked = regs.bp, ip0 = regs.ip;
        regs.bp = arg6;                   // what the syscall (R9) and a tracer (cstar_tracesys's xchg) see
        Observer?.Invoke(regs, EntryMethod.Syscall32);
        kernel.Syscall(ref regs, EntryMethod.Syscall32);
        if (regs.ip == ip0 && regs.bp == arg6) regs.bp = parked; // SAVE_EXTRA_REGS on the way out: live RBP
        var note = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref note);
        if (kernel.Exited) return true;
        var why = SlowReason(regs, ip0, note);
        if (why != IretReason.None) { Iret(ref regs, countReason: true, why); return true; }
        Sysretl(ref regs);                // sysretl_from_sys_call: ECX = ip, EBP = the parked ECX
        return true;
    }

    /// <summary>
    /// The seed email's entries: both SYSENTER and SYSCALL "load edx into regs->sp, fetch regs->dx and regs->cx
    /// from memory, and set regs->ip to vsyscall_after_int80" (the stub pushed ECX then EDX, so DX is at (EDX)
    /// and CX at 4(EDX)); arg 6 stays in EBP. Exit by SYSRETL "if regs->ip == vsyscall_after_int80, regs->r11 ==
    /// regs->flags, regs->ss == __USER_DS, regs->cs == __USER32_CS, and flags are sane" (sane: no TF, RF, VM, as
    /// the opportunistic SYSRETL that landed tests), zapping ECX; a 32-bit kernel uses SYSEXIT the same way.
    /// </summary>
    bool EnterProposal(EntryMethod how)
    {
        var s = cpu.S;
        var regs = SaveGprs();
        regs.ss = UserDs;
        regs.cs = UserCs;
        regs.sp = s.R[CpuState.EDX];
        if (how == EntryMethod.Sysenter)
        {
            regs.flags = s.Flags.Get() | IF;
            if ((regs.flags & (NT | AC | TF)) != 0) s.Flags.Set(Flags.Fixed1);
        }
        else regs.flags = s.R11;
        uint? pad = kernel.Int80LandingPad;
        regs.ip = pad ?? 0;
        Count(how);
        if (!kernel.GetUser32((uint)regs.sp, out uint dx) || !kernel.GetUser32((uint)regs.sp + 4, out uint cx))
            return BadArg(ref regs);
        regs.dx = dx;
        regs.cx = cx;
        Observer?.Invoke(regs, how);
        kernel.Syscall(ref regs, how);
        var note = new ExitNote();
        kernel.ExitToUserMode(ref regs, ref note);
        if (kernel.Exited) return true;
        IretReason why;
        if (pad == null) why = IretReason.IpMoved;
        else if ((why = SlowReason(regs, pad.Value, note)) == IretReason.Work) why = IretReason.None; // no such rule
        if (why == IretReason.None)
        {
            if (Kernel64 && regs.r11 != regs.flags) why = IretReason.R11;
            else if ((regs.flags & TF) != 0) why = IretReason.TrapFlag;
            else if ((regs.flags & RF) != 0) why = IretReason.ResumeFlag;
            else if ((regs.flags & VM) != 0) why = IretReason.Vm86;
        }
        if (why != IretReason.None) { Iret(ref regs, countReason: true, why); return true; }
        if (Kernel64) Sysretl(ref regs); else Sysexit(ref regs);
        return true;
    }
}
