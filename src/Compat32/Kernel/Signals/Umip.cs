using Compat32.Cpu;
using Compat32.Entry;
using Iced.Intel;

namespace Compat32.Kernel.Signals;

/// <summary>
/// arch/x86/kernel/umip.c: on a CPU with UMIP (CR4.UMIP set by setup_umip), SGDT, SIDT, SLDT, STR and SMSW at CPL 3
/// raise #GP; exc_general_protection first offers the fault to fixup_umip_exception, which decodes the instruction
/// at the user's CS:IP, stores dummy results (SGDT/SIDT: limit 0 and base UMIP_DUMMY_GDT_BASE / _IDT_BASE, of which
/// a 32-bit process gets the low 4 bytes; SMSW: CR0_STATE; STR: GDT_ENTRY_TSS * 8; SLDT: GDT_ENTRY_LDT * 8 while
/// the mm has an LDT, else 0) and steps over it. A register destination gets the operand size's bytes, a memory
/// one 2 bytes (6 or 10 for SGDT/SIDT). A store that faults becomes SIGSEGV/SEGV_MAPERR at the operand's address
/// (trapno 14, error code USER|WRITE) with IP left on the instruction; what cannot be decoded or addressed is left
/// to the #GP (SIGSEGV, SI_KERNEL).
/// </summary>
public static class Umip
{
    const ulong DummyGdtBase = 0xfffffffffffe0000UL, DummyIdtBase = 0xffffffffffff0000UL;
    const uint Cr0State = 0x80050033; // X86_CR0_PE | MP | ET | NE | WP | AM | PG
    const int MaxInsnSize = 15;

    /// <summary>fixup_umip_exception: true when the fault was handled (emulated, or a SIGSEGV forced).</summary>
    public static bool Fixup(Task t, ref PtRegs regs, SignalModel signals)
    {
        var cpu = t.Cpu;
        var s = cpu.S;
        int bits = cpu.CodeBits;
        // insn_fetch_from_user: CS base + IP, as many bytes as can be read (up to MAX_INSN_SIZE).
        uint csBase = bits == 64 ? 0 : s.SegBase[CpuState.CS];
        var buf = new byte[MaxInsnSize];
        int n = 0;
        uint ip = (uint)regs.ip;
        while (n < MaxInsnSize && t.Mem.CopyFromUser(csBase + ip + (uint)n, buf.AsSpan(n, 1))) n++;
        if (n == 0) return false;
        // insn_decode_from_regs: in the code segment's mode.
        var dec = Decoder.Create(bits, new ByteArrayCodeReader(buf, 0, n));
        dec.IP = ip;
        dec.Decode(out var ins);
        if (ins.IsInvalid) return false;
        // identify_insn + emulate_umip_insn
        Span<byte> data = stackalloc byte[10];
        int size;
        bool reg = ins.Op0Kind == OpKind.Register;
        switch (ins.Mnemonic)
        {
            case Mnemonic.Sgdt: case Mnemonic.Sidt:
            {
                if (reg) return false;
                ulong b = ins.Mnemonic == Mnemonic.Sgdt ? DummyGdtBase : DummyIdtBase;
                int baseSize = bits == 64 ? 8 : 4; // user_64bit_mode
                data[0] = 0; data[1] = 0; // limit 0
                for (int i = 0; i < baseSize; i++) data[2 + i] = (byte)(b >> (8 * i));
                size = 2 + baseSize;
                break;
            }
            case Mnemonic.Smsw: case Mnemonic.Str: case Mnemonic.Sldt:
            {
                uint v = ins.Mnemonic switch
                {
                    Mnemonic.Smsw => Cr0State,
                    Mnemonic.Str => (uint)(t.Kernel.Model.Kernel64 ? 8 : 16) * 8,                     // GDT_ENTRY_TSS
                    _ => t.Mm.Ldt != null ? (uint)(t.Kernel.Model.Kernel64 ? 10 : 17) * 8 : 0u,      // GDT_ENTRY_LDT
                };
                size = reg ? Processor.RegisterSize(ins.Op0Register) : 2;
                for (int i = 0; i < size; i++) data[i] = (byte)(v >> (8 * i));
                break;
            }
            default: return false;
        }
        if (reg)
        {
            // The register's slot in pt_regs: memcpy of size bytes (the rest of the slot kept).
            ref ulong slot = ref Slot(ref regs, ins.Op0Register);
            ulong m = size >= 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
            ulong v = 0;
            for (int i = 0; i < size; i++) v |= (ulong)data[i] << (8 * i);
            slot = (slot & ~m) | v;
        }
        else
        {
            if (!AddrRef(cpu, ref regs, ins, bits, out uint uaddr)) return false;
            for (int i = 0; i < size; i++)
                if (!t.Mem.CopyToUser(uaddr + (uint)i, data.Slice(i, 1)))
                {
                    // force_sig_info_umip_fault: cr2 = uaddr, error_code = X86_PF_USER | X86_PF_WRITE, X86_TRAP_PF.
                    signals.Trap(t, ref regs, Vec.PF, PfErr.Write, uaddr, false);
                    return true;
                }
        }
        regs.ip += (ulong)ins.Length;
        return true;
    }

    static ref ulong Slot(ref PtRegs r, Register reg)
    {
        switch (reg.GetFullRegister32())
        {
            case Register.EAX: return ref r.ax;
            case Register.ECX: return ref r.cx;
            case Register.EDX: return ref r.dx;
            case Register.EBX: return ref r.bx;
            case Register.ESP: return ref r.sp;
            case Register.EBP: return ref r.bp;
            case Register.ESI: return ref r.si;
            default: return ref r.di;
        }
    }

    static uint Gpr(ref PtRegs r, Register reg) => reg == Register.None ? 0 : (uint)Slot(ref r, reg) & (reg.GetSize() == 2 ? 0xFFFFu : ~0u);

    /// <summary>insn_get_addr_ref (get_addr_ref_16/32): the effective address within the segment's limit, plus the
    /// base, both from the descriptor the selector names (insn_get_seg_base, get_seg_limit: a null selector, one
    /// outside its table or a limit of 0 fail). Only the start of the operand is checked against the limit.</summary>
    static bool AddrRef(Processor cpu, ref PtRegs regs, in Instruction ins, int bits, out uint linear)
    {
        linear = 0;
        uint eff = ins.MemoryDisplacement32 + Gpr(ref regs, ins.MemoryBase) + Gpr(ref regs, ins.MemoryIndex) * (uint)ins.MemoryIndexScale;
        bool a16 = ins.MemoryBase.GetSize() == 2 || ins.MemoryIndex.GetSize() == 2 || ins.MemoryDisplSize == 2;
        if (a16) eff &= 0xFFFF;
        int n = ins.MemorySegment switch
        {
            Register.ES => CpuState.ES, Register.CS => CpuState.CS, Register.SS => CpuState.SS,
            Register.FS => CpuState.FS, Register.GS => CpuState.GS, _ => CpuState.DS,
        };
        if (bits == 64) { linear = eff + (n is CpuState.FS or CpuState.GS ? cpu.S.SegBase[n] : 0); return true; }
        ushort sel = n == CpuState.CS ? (ushort)regs.cs : n == CpuState.SS ? (ushort)regs.ss : cpu.S.Sel[n];
        if (sel == 0) return false;
        var table = (sel & 4) != 0 ? cpu.Ldt : cpu.Gdt;
        int idx = sel >> 3;
        if (table == null || idx >= table.Length) return false;
        ulong d = table[idx];
        uint limit = Processor.DescLimit(d);
        if (limit == 0 || eff > limit) return false;
        linear = eff + Processor.DescBase(d);
        return true;
    }
}
