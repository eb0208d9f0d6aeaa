namespace Compat32.Entry;

/// <summary>
/// struct pt_regs as the 64-bit kernel saves it for a compat task (arch/x86/include/asm/ptrace.h), plus the
/// data segment registers the 32-bit kernel's pt_regs also carries (arch/x86/include/asm/ptrace.h, i386).
/// </summary>
public struct PtRegs
{
    public ulong r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
    public ulong orig_ax;
    public ulong ip, cs, flags, sp, ss;
    // i386 kernel only: saved data segments (SAVE_ALL).
    public ushort ds, es, fs, gs;

    /// <summary>The i386 syscall arguments: ebx, ecx, edx, esi, edi, ebp.</summary>
    public readonly uint Arg(int i) => i switch
    {
        0 => (uint)bx, 1 => (uint)cx, 2 => (uint)dx, 3 => (uint)si, 4 => (uint)di, _ => (uint)bp,
    };

    /// <summary>Return value in ax, sign-extended as the 64-bit kernel stores an int result.</summary>
    public void SetReturn(long v) => ax = (ulong)v;
}

public enum EntryMethod { Int80, Sysenter, Syscall32 }
public enum ExitMethod { Iret, Sysretl, Sysexit }

/// <summary>Why a syscall entered through SYSENTER/SYSCALL left with IRET (the --stats table).</summary>
public enum IretReason
{
    None,
    /// <summary>Fetching arg 6 from the user stack faulted: -EFAULT, no syscall.</summary>
    Arg6Fault,
    TrapFlag,
    ResumeFlag,
    /// <summary>ip moved off the landing pad by a restart (ip -= 2).</summary>
    Restart,
    SignalDelivery,
    Sigreturn,
    Execve,
    /// <summary>ip changed by something else (ptrace, vDSO moved under us).</summary>
    IpMoved,
    /// <summary>cs or ss are not the flat user selectors any more.</summary>
    Segments,
    /// <summary>i386 kernel: VM86 flag set, or no SEP.</summary>
    Vm86,
    NoSep,
    /// <summary>linux-4.2 design: exit work pending (_TIF_ALLWORK_MASK: a traced task, signals).</summary>
    Work,
    /// <summary>proposal-2015 design: regs->r11 != regs->flags (the email's first condition).</summary>
    R11,
}

/// <summary>What the kernel did on the way out that the exit choice should know (and report).</summary>
public struct ExitNote
{
    /// <summary>Set by the kernel when it moved ip on purpose.</summary>
    public IretReason IpChangedBy;
}
