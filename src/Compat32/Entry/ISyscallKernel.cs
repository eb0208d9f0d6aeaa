namespace Compat32.Entry;

/// <summary>What the entry code calls in the kernel model (the C side of arch/x86/entry/common.c).</summary>
public interface ISyscallKernel
{
    /// <summary>current->mm->context.vdso + vdso_image_32.sym_int80_landing_pad, or null with no vDSO.</summary>
    uint? Int80LandingPad { get; }

    /// <summary>do_syscall_32_irqs_on: dispatch orig_ax, store the result in ax.</summary>
    void Syscall(ref PtRegs regs, EntryMethod how);

    /// <summary>syscall_exit_to_user_mode / irqentry_exit_to_user_mode: restart, signal delivery, exit work.</summary>
    void ExitToUserMode(ref PtRegs regs, ref ExitNote note);

    /// <summary>An exception from user mode (arch/x86/kernel/traps.c): turn it into the signal the kernel sends.</summary>
    void Trap(ref PtRegs regs, int vector, uint errorCode, uint cr2, bool singleStep);

    /// <summary>The task is gone (exit, exit_group, fatal signal): nothing returns to user mode.</summary>
    bool Exited { get; }

    /// <summary>__get_user of the 32-bit word at addr; false when it faults.</summary>
    bool GetUser32(uint addr, out uint value);
}
