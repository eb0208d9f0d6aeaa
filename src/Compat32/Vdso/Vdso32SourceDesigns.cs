using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Vdso;

/// <summary>
/// The entry stubs of the design lab's other vDSO configurations (Lab/Designs.cs). Each is written from the
/// cited source's description with our own assembler; the CFI is what the source's CFI says, expressed with the
/// same recorder as today's image so every image goes through one .eh_frame writer.
/// </summary>
internal sealed partial class Vdso32Source
{
    private Action<Chunk> VsyscallFor(VdsoVariant v) => v switch
    {
        VdsoVariant.Legacy42Int80 => Legacy42Int80,
        VdsoVariant.Legacy42Sysenter => Legacy42Sysenter,
        VdsoVariant.Legacy42Syscall => Legacy42Syscall,
        VdsoVariant.Proposal2015 => Proposal2015,
        VdsoVariant.MultiStub => c => StubWith(c, "int80_landing_pad", null),
        _ => KernelVsyscall,
    };

    /// <summary>v4.2 arch/x86/entry/vdso/vdso32/int80.S (unchanged since arch/x86/vdso/vdso32/int80.S,
    /// torvalds/linux bd45ac0c): the kernel enters with every register intact, so nothing is saved. Its FDE has no
    /// instructions: CFA = esp+4 throughout.</summary>
    private static void Legacy42Int80(Chunk c)
    {
        c.Cfi.StartProc();
        c.A.@int(0x80);
        c.Mark("int80_landing_pad");
        c.A.ret();
        c.Cfi.EndProc();
    }

    /// <summary>
    /// v4.2 arch/x86/entry/vdso/vdso32/sysenter.S (torvalds/linux 06be5eef): ECX and EDX are pushed because
    /// SYSEXIT needs them for ESP and EIP, EBP because it carries ESP across SYSENTER; seven NOPs align the
    /// restart point: `int $0x80` at SYSENTER_RETURN-2, where `ip -= 2` lands. Its hand-written hexadecimal
    /// FDE records the CFA after each push and pop and EBP's save slot only (ECX and EDX are not described):
    /// the same operations are emitted here.
    /// </summary>
    private static void Legacy42Sysenter(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        cfi.StartProc();
        a.push(ecx); cfi.AdjustCfaOffset(4);        // .Lpush_ecx: DW_CFA_def_cfa_offset 8
        a.push(edx); cfi.AdjustCfaOffset(4);        // .Lpush_edx: 12
        a.push(ebp); cfi.AdjustCfaOffset(4);        // .Lenter_kernel: 16,
        cfi.RelOffset(DwarfReg.Ebp, 0);             //   DW_CFA_offset %ebp at CFA-16 (0x85, 0x04)
        a.mov(ebp, esp);
        a.sysenter();
        a.db(Enumerable.Repeat((byte)0x90, 7).ToArray()); // ".space 7,0x90"
        a.@int(0x80);                               // "System call restart point is here! (SYSENTER_RETURN-2)"
        c.Mark("int80_landing_pad");                // VDSO32_SYSENTER_RETURN
        a.pop(ebp); cfi.AdjustCfaOffset(-4); cfi.Restore(DwarfReg.Ebp); // .Lpop_ebp: 12, DW_CFA_restore %ebp
        a.pop(edx); cfi.AdjustCfaOffset(-4);        // .Lpop_edx: 8
        a.pop(ecx); cfi.AdjustCfaOffset(-4);        // .Lpop_ecx: 4
        a.ret();
        cfi.EndProc();
    }

    /// <summary>
    /// v4.2 arch/x86/entry/vdso/vdso32/syscall.S (the text of arch/x86/vdso/vdso32/syscall.S at torvalds/linux
    /// e7d6eefa, after 30bfa7b3 dropped the SS reload): SYSCALL puts the return address in ECX, so the user's ECX
    /// (arg 2) is parked in EBP and EBP (arg 6) pushed where the kernel fetches it. There is no `int $0x80` in
    /// it: `ip -= 2` lands on the SYSCALL instruction itself. FDE: CFA 8 and EBP at CFA-8 after the push, EBP
    /// restored and CFA 4 after the pop.
    /// </summary>
    private static void Legacy42Syscall(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        cfi.StartProc();
        a.push(ebp); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ebp, 0); // .Lpush_ebp
        a.mov(ebp, ecx);
        a.syscall();
        c.Mark("int80_landing_pad");                // no such symbol in 4.2: the SYSCALL return point
        a.mov(ecx, ebp);
        a.pop(ebp); cfi.Restore(DwarfReg.Ebp); cfi.AdjustCfaOffset(-4); // .Lpop_ebp
        a.ret();
        cfi.EndProc();
    }

    /// <summary>
    /// The alternate proposal of the seed email, instruction for instruction: `push %ecx; push %edx;
    /// movl %esp,%edx`, an ALTERNATIVE that is SYSENTER (SYSENTER32, or SEP on a 32-bit kernel) or SYSCALL
    /// (SYSCALL32) each followed by the email's `hlt`, and the int80 sequence "if neither of the other cases
    /// apply", which is always present so that `ip -= 2` from vsyscall_after_int80 is an `int $0x80`. The
    /// sequence reads ECX back from `8(%esp)` as the email writes it (after two pushes that slot is the return
    /// address; ECX is at 4(%esp)): the lab shows what that does. The email has no CFI; this is gas's for it.
    /// </summary>
    private void Proposal2015(Chunk c)
    {
        var a = c.A; var cfi = c.Cfi;
        cfi.StartProc();
        a.push(ecx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ecx, 0);
        a.push(edx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Edx, 0);
        a.mov(edx, esp);
        var enter = Asm(x => { x.sysenter(); x.hlt(); });
        if (_target == VdsoTarget.Kernel64)
            c.Alternative(".entry_alt", [], LongNops,
                (enter, X86Feature.Sysenter32),
                (Asm(x => { x.syscall(); x.hlt(); }), X86Feature.Syscall32));
        else
            c.Alternative(".entry_alt", [], LongNops, (enter, X86Feature.Sep));
        a.mov(esp, edx);
        a.mov(edx, __dword_ptr[esp]);
        a.mov(ecx, __dword_ptr[esp + 8]);           // sic: the email's offset
        a.@int(0x80);
        c.Mark("int80_landing_pad");                // vsyscall_after_int80
        a.pop(edx); cfi.Restore(DwarfReg.Edx); cfi.AdjustCfaOffset(-4);
        a.pop(ecx); cfi.Restore(DwarfReg.Ecx); cfi.AdjustCfaOffset(-4);
        a.ret();
        cfi.EndProc();
    }

    /// <summary>
    /// One complete stub per entry method (Brian Gerst's "changing the ELF AUX vector" and Andy's pointer
    /// table, both in the seed email): today's stub with the alternative already resolved, so the int80 stub
    /// executes no padding NOP and each fast stub still has the restart `int $0x80` before its own landing pad.
    /// </summary>
    private static void StubWith(Chunk c, string pad, byte[]? enter)
    {
        var a = c.A; var cfi = c.Cfi;
        cfi.StartProc();
        a.push(ecx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ecx, 0);
        a.push(edx); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Edx, 0);
        a.push(ebp); cfi.AdjustCfaOffset(4); cfi.RelOffset(DwarfReg.Ebp, 0);
        if (enter != null) a.db(enter);
        a.@int(0x80);
        c.Mark(pad);
        a.pop(ebp); cfi.Restore(DwarfReg.Ebp); cfi.AdjustCfaOffset(-4);
        a.pop(edx); cfi.Restore(DwarfReg.Edx); cfi.AdjustCfaOffset(-4);
        a.pop(ecx); cfi.Restore(DwarfReg.Ecx); cfi.AdjustCfaOffset(-4);
        a.ret();
        cfi.EndProc();
    }
}
