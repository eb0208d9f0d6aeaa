namespace Compat32.Entry;

/// <summary>
/// The kernel + vDSO entry designs the 2015 thread weighs (seed email; Lab/Designs.cs has names and sources).
/// Linux43 is what compat32 always ran: the design that landed (Linux 4.4's single vDSO, unchanged in 6.1).
/// </summary>
public enum EntryDesign
{
    Linux43,
    Linux42,
    Proposal2015,
    /// <summary>Brian Gerst: AT_SYSINFO names the chosen stub; __kernel_vsyscall re-pointed at it.</summary>
    Auxv,
    /// <summary>Brian Gerst's other sub-case: __kernel_vsyscall removed from the dynamic symbol table.</summary>
    AuxvNoSym,
    /// <summary>Andy Lutomirski: vdso2c annotates the symbol table's function pointers; boot rewrites them.</summary>
    PointerTable,
    /// <summary>An int $0x80-only vDSO (qemu-user, FEX, box86, iSH).</summary>
    Int80Only,
    /// <summary>No vDSO at all: no AT_SYSINFO, programs use int $0x80 inline.</summary>
    NoVdso,
}
