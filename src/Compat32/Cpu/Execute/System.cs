using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>CPUID, fast system calls and segment loads.</summary>
public sealed unsafe partial class Processor
{
    void ExecCpuid()
    {
        uint leaf = S.R[0], sub = S.R[1];
        uint a = 0, b = 0, c = 0, d = 0;
        string vendor = Model.VendorString;
        switch (leaf)
        {
            case 0:
                a = 1;
                b = Le(vendor, 0); d = Le(vendor, 4); c = Le(vendor, 8);
                break;
            case 1:
                // The generation of the feature set (CpuModel.Signature).
                a = Model.Signature;
                b = 0x00010800; // CLFLUSH line size 8 quadwords, one logical processor
                c = Model.Cpuid1Ecx;
                d = Model.Cpuid1Edx;
                break;
            case 0x80000000:
                a = 0x80000004;
                if (Model.Vendor == CpuVendor.Amd) { b = Le(vendor, 0); d = Le(vendor, 4); c = Le(vendor, 8); }
                break;
            case 0x80000001:
                // SYSCALL (bit 11) and LM (bit 29) as a 64-bit capable part reports them; a 32-bit kernel's CPU too.
                d = (Model.Kernel64 ? (1u << 29) | (1u << 11) : 0) | (Model.Vendor == CpuVendor.Amd ? Model.Cpuid1Edx & 0x0183F3FFu : 0);
                c = Model.Cpuid81Ecx; // ABM (LZCNT)
                break;
            case 0x80000002: case 0x80000003: case 0x80000004:
            {
                string brand = ("Compat32 " + Model.Name + " virtual CPU").PadRight(48, '\0');
                int o = (int)(leaf - 0x80000002) * 16;
                a = Le(brand, o); b = Le(brand, o + 4); c = Le(brand, o + 8); d = Le(brand, o + 12);
                break;
            }
            default:
                // Intel returns the highest basic leaf's data for out-of-range leaves; zeros are what AMD and
                // most software expect. Leaves > max are never asked by libc when max is 1.
                break;
        }
        _ = sub;
        S.R[0] = a; S.R[3] = b; S.R[1] = c; S.R[2] = d;
    }

    static uint Le(string s, int o) => (uint)(s[o] | (s[o + 1] << 8) | (s[o + 2] << 16) | (s[o + 3] << 24));

    /// <summary>SYSENTER (SDM vol. 2): #GP(0) if SYSENTER_CS is null; #UD where the part has no SEP or, on AMD,
    /// in long mode (APM vol. 3). Otherwise CS/SS/EIP/ESP come from the MSRs, VM IF RF are cleared — TF is not.</summary>
    void ExecSysenter()
    {
        if (!Model.SysenterLegal) { RaiseUD(); return; }
        if ((S.MsrSysenterCs & 0xFFFC) == 0) { RaiseGP(); return; }
        var f = S.Flags;
        f.Materialize();
        f.Bits &= ~(Flags.VM | Flags.IF | Flags.RF);
        ushort cs = (ushort)(S.MsrSysenterCs & 0xFFFC);
        S.Sel[CpuState.CS] = cs;
        S.Sel[CpuState.SS] = (ushort)(cs + 8);
        S.Eip = (uint)S.MsrSysenterEip;
        S.R[CpuState.ESP] = (uint)S.MsrSysenterEsp;
        S.Cpl = 0;
        Exit = CpuExit.Sysenter;
        stopBlock = true;
    }

    /// <summary>SYSCALL from compat mode (AMD APM vol. 3): RCX = next RIP, R11 = RFLAGS (RF cleared), RFLAGS &amp;=
    /// ~SFMASK, CS/SS from STAR[47:32], RIP = CSTAR. Intel parts raise #UD outside 64-bit mode.</summary>
    void ExecSyscall()
    {
        if (!Model.SyscallLegal) { RaiseUD(); return; }
        var f = S.Flags;
        uint fl = f.Get();
        S.R[CpuState.ECX] = S.Eip;
        S.R64Hi[CpuState.ECX] = 0; // RCX upper half = 0 (the return RIP is a 32-bit address)
        S.R11 = fl & ~Flags.RF;
        f.Set(fl & ~(uint)S.MsrSfmask & ~Flags.RF);
        ushort cs = (ushort)((S.MsrStar >> 32) & 0xFFFC);
        S.Sel[CpuState.CS] = cs;
        S.Sel[CpuState.SS] = (ushort)(cs + 8);
        S.Eip = (uint)S.MsrCstar;
        S.Cpl = 0;
        Exit = CpuExit.Syscall;
        stopBlock = true;
    }

    /// <summary>SGDT/SIDT/SLDT/STR/SMSW without UMIP (SDM vol. 2): the registers the kernel loaded. SGDT/SIDT store
    /// the 16-bit limit and a 32-bit base (also with a 16-bit operand size: what parts do, as arch/x86/kernel/umip.c
    /// notes); SLDT/STR/SMSW store 16 bits to memory, and to a 32-bit register the zero-extended selector or all of
    /// CR0. LDTR is null while no LDT is loaded.</summary>
    void ExecDescriptorStore(in Instruction ins)
    {
        switch (ins.Mnemonic)
        {
            case Mnemonic.Sldt: WriteOp0(ins, OpSize(ins, 0), Ldt != null ? S.LdtrSelector : 0u); break;
            case Mnemonic.Str: WriteOp0(ins, OpSize(ins, 0), S.Tr); break;
            case Mnemonic.Smsw: { int sz = OpSize(ins, 0); WriteOp0(ins, sz, sz == 2 ? S.Cr0 & 0xFFFF : S.Cr0); break; }
            default:
            {
                uint a = EffectiveAddress(ins);
                if (!ProbeWrite(a, 6)) return;
                bool gdt = ins.Mnemonic == Mnemonic.Sgdt;
                WriteU16(a, gdt ? S.GdtrLimit : S.IdtrLimit);
                WriteU32(a + 2, gdt ? S.GdtrBase : S.IdtrBase);
                break;
            }
        }
    }

    /// <summary>ARPL r/m16, r16 (SDM vol. 2; valid in protected mode at any CPL): raise the destination's RPL to the
    /// source's, ZF = whether it changed. A memory destination is accessed as a read-modify-write (checked for
    /// writing first).</summary>
    void ExecArpl(in Instruction ins)
    {
        uint s = GetReg(ins.Op1Register), d;
        uint a = 0;
        bool mem = ins.Op0Kind == OpKind.Memory;
        // ARPL reads its destination and writes it only when it raises the RPL (SDM ARPL: "ZF := 1; DEST[RPL] :=
        // SRC[RPL]" in the raise branch alone): a fault of the read comes first, and a destination it leaves alone
        // may be read-only or addressed through CS (host CPU)
        bool viaCs = mem && !segmented && ins.MemorySegment == Register.CS;
        if (mem)
        {
            var r = ins;
            if (viaCs) r.SegmentPrefix = Register.None; // flat: CS and DS have base 0; CS's write check below
            a = EffectiveAddress(r);
            if (Faulted) return;
            d = ReadU16(a);
        }
        else d = GetReg(ins.Op0Register);
        if (Faulted) return;
        bool raise = (d & 3) < (s & 3);
        if (raise)
        {
            d = (d & ~3u) | (s & 3);
            if (viaCs) { RaiseGP(0); return; } // CS is never writable (#GP(0))
            if (mem) WriteU16(a, (ushort)d); else SetReg(ins.Op0Register, d);
            if (Faulted) return;
        }
        S.Flags.SetBit(Flags.ZF, raise);
    }

    void ExecLoadFarPointer(in Instruction ins)
    {
        uint a = EffectiveAddress(ins);
        int sz = RegSize[(int)ins.Op0Register];
        uint off = sz == 4 ? ReadU32(a) : ReadU16(a);
        ushort sel = ReadU16(a + (uint)sz);
        if (Faulted) return;
        var seg = ins.Mnemonic switch { Mnemonic.Lfs => Register.FS, Mnemonic.Lgs => Register.GS, Mnemonic.Les => Register.ES, Mnemonic.Lds => Register.DS, _ => Register.SS };
        LoadSegment(seg, sel);
        if (!Faulted) SetReg(ins.Op0Register, off);
    }
}
