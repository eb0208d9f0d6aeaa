namespace Compat32.Cpu;

public enum CpuVendor { Intel, Amd }

/// <summary>
/// One machine as the guest sees it: the vendor's rules for SYSENTER/SYSCALL in compat mode, the kernel's
/// bitness (selectors, exit instruction) and CPUID, which reports exactly what we implement.
/// </summary>
public sealed class CpuModel
{
    public required string Name { get; init; }
    public required CpuVendor Vendor { get; init; }
    /// <summary>64-bit kernel (compat mode, cs 0x23) or a 32-bit kernel (cs 0x73).</summary>
    public required bool Kernel64 { get; init; }
    /// <summary>Kernel feature bits the vDSO alternatives test (X86_FEATURE_SYSENTER32 / SYSCALL32 / SEP).</summary>
    public required bool FeatureSysenter32 { get; init; }
    public required bool FeatureSyscall32 { get; init; }
    /// <summary>CPUID.1:EDX.SEP as the hardware reports it.</summary>
    public required bool Sep { get; init; }

    public string VendorString => Vendor == CpuVendor.Intel ? "GenuineIntel" : "AuthenticAMD";

    /// <summary>SYSENTER from compat mode: legal on Intel; AMD raises #UD in long mode (APM vol. 3, SYSENTER).</summary>
    public bool SysenterLegal => Sep && (Vendor == CpuVendor.Intel || !Kernel64);
    /// <summary>SYSCALL from compat mode: AMD only (Intel SDM: #UD unless in 64-bit mode); never on a 32-bit kernel.</summary>
    public bool SyscallLegal => Kernel64 && Vendor == CpuVendor.Amd;

    // CPUID.1:EDX: FPU, TSC, CX8, SEP(opt), CMOV, FXSR. Nothing we do not execute (no MMX/SSE), so libc's
    // ifuncs only pick baseline i686 code.
    public uint Cpuid1Edx => (1u << 0) | (1u << 4) | (1u << 8) | (Sep ? 1u << 11 : 0) | (1u << 15) | (1u << 24);
    public uint Cpuid1Ecx => 0;

    public static readonly CpuModel IntelModel = new() { Name = "intel", Vendor = CpuVendor.Intel, Kernel64 = true, FeatureSysenter32 = true, FeatureSyscall32 = false, Sep = true };
    public static readonly CpuModel AmdModel = new() { Name = "amd", Vendor = CpuVendor.Amd, Kernel64 = true, FeatureSysenter32 = false, FeatureSyscall32 = true, Sep = true };
    /// <summary>A 64-bit kernel that sets neither fast-path feature; raw SYSENTER/SYSCALL follow Intel's rules.</summary>
    public static readonly CpuModel NoSepModel = new() { Name = "nosep", Vendor = CpuVendor.Intel, Kernel64 = true, FeatureSysenter32 = false, FeatureSyscall32 = false, Sep = false };
    public static readonly CpuModel I386Model = new() { Name = "i386", Vendor = CpuVendor.Intel, Kernel64 = false, FeatureSysenter32 = false, FeatureSyscall32 = false, Sep = true };

    public static CpuModel? ByName(string name) => name switch
    {
        "intel" => IntelModel, "amd" => AmdModel, "nosep" => NoSepModel, "i386" => I386Model, _ => null,
    };

    public static CpuModel HostDefault()
    {
        try
        {
            if (System.Runtime.Intrinsics.X86.X86Base.IsSupported)
            {
                var (_, b, c, d) = System.Runtime.Intrinsics.X86.X86Base.CpuId(0, 0);
                Span<byte> v = stackalloc byte[12];
                BitConverter.TryWriteBytes(v, b); BitConverter.TryWriteBytes(v[4..], d); BitConverter.TryWriteBytes(v[8..], c);
                var s = System.Text.Encoding.ASCII.GetString(v);
                if (s is "AuthenticAMD" or "HygonGenuine") return AmdModel;
            }
        }
        catch { }
        return IntelModel;
    }

    /// <summary>Segment selectors for user mode (arch/x86/include/asm/segment.h).</summary>
    public ushort UserCs => Kernel64 ? Selectors.USER32_CS : Selectors.I386_USER_CS;
    public ushort UserDs => Kernel64 ? Selectors.USER_DS : Selectors.I386_USER_DS;
}

/// <summary>Selector values, named as arch/x86/include/asm/segment.h names them.</summary>
public static class Selectors
{
    public const ushort KERNEL_CS = 0x10, KERNEL_DS = 0x18, USER32_CS = 0x23, USER_DS = 0x2b, USER_CS = 0x33;
    public const ushort I386_KERNEL_CS = 0x60, I386_KERNEL_DS = 0x68, I386_USER_CS = 0x73, I386_USER_DS = 0x7b;
    /// <summary>GDT_ENTRY_TLS_MIN: 12 on x86-64, 6 on i386.</summary>
    public const int TLS_MIN_64 = 12, TLS_MIN_32 = 6, TLS_ENTRIES = 3;
}
