using Compat32.Entry;

namespace Compat32.Lab;

/// <summary>One selectable kernel + vDSO configuration and where it comes from.</summary>
public sealed record DesignInfo(EntryDesign Design, string Name, string Title, string Source);

/// <summary>The designs the seed email (LKML, "Re: Proposal for finishing the 64-bit x86 syscall cleanup",
/// Andy Lutomirski, 2015-08-26) weighs, plus the baselines emulators give their guests.</summary>
public static class Designs
{
    public static readonly DesignInfo[] All =
    [
        new(EntryDesign.Linux42, "linux-4.2",
            "Before the cleanup: three vDSO images (int80, sysenter, syscall), one picked at boot; hexadecimal CFI",
            "torvalds/linux v4.2: arch/x86/entry/vdso/vdso32/{int80,sysenter,syscall,sigreturn}.S, vdso32-setup.c; " +
            "arch/x86/entry/entry_64_compat.S entry_SYSENTER_compat/entry_SYSCALL_compat; 4214a16b0297 (SYSRETL after SYSENTER)"),
        new(EntryDesign.Proposal2015, "proposal-2015",
            "The email's alternate proposal: push ecx/edx, edx = esp, ALTERNATIVE sysenter|syscall + hlt, int80 fallback; opportunistic SYSRETL",
            "seed email (LKML 2015-08-26, Andy Lutomirski), exactly as written, including `movl 8(%esp), %ecx`"),
        new(EntryDesign.Linux43, "linux-4.3",
            "What landed (Linux 4.4's single image, unchanged in 6.1): one stub, ALTERNATIVE_2, landing pad, opportunistic SYSRETL",
            "Linux 6.1 arch/x86/entry/vdso/vdso32/system_call.S, entry_64_compat.S, common.c do_fast_syscall_32; 7841b408717d"),
        new(EntryDesign.Auxv, "auxv",
            "Brian Gerst: one stub per entry method, AT_SYSINFO names the chosen one; __kernel_vsyscall re-pointed at it",
            "seed email, Brian Gerst's quoted reply, case 1 (\"update the ELF symbol table to point __kernel_vsyscall to the chosen entry point\")"),
        new(EntryDesign.AuxvNoSym, "auxv-nosym",
            "Brian Gerst's other sub-case: __kernel_vsyscall removed, so a caller that looks it up falls back to int80",
            "seed email, Brian Gerst, case 1 (\"or just remove the symbol and let the caller fall back to INT80\")"),
        new(EntryDesign.PointerTable, "pointer-table",
            "Andy's \"really fancy\" option: no alternatives; vdso2c annotates the dynamic symbol table's pointers, boot rewrites them",
            "seed email (\"teach vdso2c to annotate the actual dynamic table function pointers\")"),
        new(EntryDesign.Int80Only, "int80-only",
            "A vDSO whose __kernel_vsyscall is `int $0x80; ret` on every CPU (what qemu-user, FEX, box86, iSH give guests)",
            "v4.2 vdso32/int80.S as the stub; the 6.1 kernel behind it"),
        new(EntryDesign.NoVdso, "no-vdso",
            "No vDSO: no AT_SYSINFO; programs fall back to inline int $0x80",
            "fs/binfmt_elf.c ARCH_DLINFO without a vDSO (vdso32=0)"),
    ];

    public static DesignInfo? ByName(string n) => All.FirstOrDefault(d => d.Name == n);
    public static DesignInfo Of(EntryDesign d) => All.First(x => x.Design == d);
}
