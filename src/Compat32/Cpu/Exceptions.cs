namespace Compat32.Cpu;

/// <summary>Why Processor.Run returned: an architectural event the entry layer must handle.</summary>
public enum CpuExit
{
    None,
    /// <summary>Instruction budget used up; nothing happened.</summary>
    Budget,
    /// <summary>A fault or trap (Vector, ErrorCode, Cr2 describe it). EIP is the faulting instruction for faults,
    /// the next instruction for traps (#DB single-step, #BP, #OF).</summary>
    Exception,
    /// <summary>INT n through a DPL-3 gate: INT 0x80 (vector in Vector); EIP is after the instruction.</summary>
    SoftInt,
    /// <summary>SYSENTER executed legally: the CPU has loaded CS/SS/EIP/ESP from the MSRs (SDM SYSENTER).</summary>
    Sysenter,
    /// <summary>SYSCALL executed from compat mode (AMD): ECX/R11/flags already updated by the CPU (APM SYSCALL).</summary>
    Syscall,
    /// <summary>The kernel asked the CPU to stop (e.g. another thread called exit_group).</summary>
    Stop,
}

/// <summary>Exception vectors (Intel SDM vol. 3, table 6-1).</summary>
public static class Vec
{
    public const int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
        SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19;
}

/// <summary>Page-fault error code bits (SDM 4.7).</summary>
public static class PfErr
{
    public const uint Present = 1, Write = 2, User = 4, Fetch = 16;
}
