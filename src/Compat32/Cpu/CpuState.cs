using Compat32.Cpu.Simd;
using Compat32.Cpu.X87;

namespace Compat32.Cpu;

/// <summary>Architectural register file of one logical processor running 32-bit code.</summary>
public sealed class CpuState
{
    public const int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
    public const int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

    /// <summary>EAX..EDI in encoding order.</summary>
    public readonly uint[] R = new uint[8];
    /// <summary>R8..R15: invisible to 32-bit code, but SYSRETL zeroes r8-r10 and 64-bit code could look.</summary>
    public readonly ulong[] R64Hi = new ulong[8];
    /// <summary>R11 as the CPU uses it for SYSCALL/SYSRET (RFLAGS copy); kept apart from R64Hi for clarity.</summary>
    public ulong R11 { get => R64Hi[3]; set => R64Hi[3] = value; }

    public uint Eip;

    /// <summary>Segment selectors (ES CS SS DS FS GS order, as the ModRM sreg field) and cached bases.</summary>
    public readonly ushort[] Sel = new ushort[6];
    public readonly uint[] SegBase = new uint[6];
    /// <summary>The rest of each segment's descriptor cache: limit in bytes, and the access rights as LAR returns
    /// them (type, S, DPL, P in bits 8-15; AVL, L, D/B, G in bits 20-23). Defaults: the flat user segments.</summary>
    public readonly uint[] SegLimit = { ~0u, ~0u, ~0u, ~0u, ~0u, ~0u };
    public readonly uint[] SegAttr = { FlatData, FlatCode, FlatData, FlatData, FlatData, FlatData };
    public const uint FlatCode = 0x00CFFB00, FlatData = 0x00CFF300;

    /// <summary>The descriptor caches a new program starts with: flat CS, SS, DS, ES; FS and GS null (unusable).</summary>
    public void ResetSegmentCaches()
    {
        Array.Clear(SegBase);
        for (int i = 0; i < 6; i++) { SegLimit[i] = ~0u; SegAttr[i] = i == CS ? FlatCode : i is FS or GS ? 0 : FlatData; }
    }

    public readonly Flags Flags = new();

    public X87State Fpu = new();
    /// <summary>XMM0-7 and MXCSR (Cpu/Simd).</summary>
    public SimdState Simd = new();

    /// <summary>Model-specific registers the fast-syscall instructions read (SDM vol. 2, SYSENTER/SYSCALL).</summary>
    public ulong MsrStar, MsrLstar, MsrCstar, MsrSfmask, MsrSysenterCs, MsrSysenterEsp, MsrSysenterEip;

    /// <summary>System registers the kernel loads at CPU setup (cpu_init: LGDT, LIDT, LTR; CR0 and CR4.UMIP) and the
    /// LDTR selector its LLDT uses while an LDT is loaded (Processor.Ldt non-null). Read by SGDT/SIDT/STR/SLDT/SMSW.</summary>
    public uint GdtrBase, IdtrBase, Cr0;
    public ushort GdtrLimit, IdtrLimit, Tr, LdtrSelector;
    /// <summary>CR4.UMIP: SGDT/SIDT/SLDT/STR/SMSW at CPL &gt; 0 raise #GP(0) (SDM vol. 3 2.5).</summary>
    public bool Cr4Umip;

    /// <summary>CPL: 3 while the guest runs; the kernel model runs in C# at CPL 0 between events.</summary>
    public int Cpl = 3;

    public ulong Tsc;

    public uint EFlags { get => Flags.Get(); set => Flags.Set(value); }

    public CpuState Clone()
    {
        var c = new CpuState();
        CopyTo(c);
        return c;
    }

    public void CopyTo(CpuState c)
    {
        R.CopyTo(c.R, 0);
        R64Hi.CopyTo(c.R64Hi, 0);
        c.Eip = Eip;
        Sel.CopyTo(c.Sel, 0);
        SegBase.CopyTo(c.SegBase, 0);
        SegLimit.CopyTo(c.SegLimit, 0);
        SegAttr.CopyTo(c.SegAttr, 0);
        c.Flags.Set(Flags.Get());
        c.Fpu = Fpu.Clone();
        c.Simd = Simd.Clone();
        c.MsrStar = MsrStar; c.MsrLstar = MsrLstar; c.MsrCstar = MsrCstar; c.MsrSfmask = MsrSfmask;
        c.MsrSysenterCs = MsrSysenterCs; c.MsrSysenterEsp = MsrSysenterEsp; c.MsrSysenterEip = MsrSysenterEip;
        c.Cpl = Cpl;
        c.GdtrBase = GdtrBase; c.IdtrBase = IdtrBase; c.Cr0 = Cr0; c.GdtrLimit = GdtrLimit; c.IdtrLimit = IdtrLimit;
        c.Tr = Tr; c.LdtrSelector = LdtrSelector; c.Cr4Umip = Cr4Umip;
    }
}
