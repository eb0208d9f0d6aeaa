namespace Compat32.Cpu;

public enum CpuVendor { Intel, Amd }

/// <summary>
/// One machine as the guest sees it: the vendor's rules for SYSENTER/SYSCALL in compat mode, the kernel's
/// bitness (selectors, exit instruction) and CPUID, which reports exactly what we implement (Features).
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

    /// <summary>User-Mode Instruction Prevention (CPUID.7.0:ECX.UMIP; Intel since Cannon Lake/Goldmont Plus, AMD
    /// since Zen 2): a kernel that finds it sets CR4.UMIP, and SGDT/SIDT/SLDT/STR/SMSW at CPL 3 fault. The models of
    /// a modern machine (intel, amd) have it; nosep and i386 stand for parts without it, where those run.</summary>
    public bool Umip { get; init; }

    public string VendorString => Vendor == CpuVendor.Intel ? "GenuineIntel" : "AuthenticAMD";

    /// <summary>SYSENTER from compat mode: legal on Intel; AMD raises #UD in long mode (APM vol. 3, SYSENTER).</summary>
    public bool SysenterLegal => Sep && (Vendor == CpuVendor.Intel || !Kernel64);
    /// <summary>SYSCALL from compat mode: AMD only (Intel SDM: #UD unless in 64-bit mode); never on a 32-bit kernel.</summary>
    public bool SyscallLegal => Kernel64 && Vendor == CpuVendor.Amd;

    /// <summary>What CPUID reports and the processor executes (SEP follows Sep). Default: the vendor's SIMD
    /// generation (CpuFeatures.Goldmont / Jaguar); CpuFeatures.I686 is the baseline without MMX/SSE.</summary>
    public CpuFeature Features { get; init; } = CpuFeatures.Goldmont;
    /// <summary>Features as the processor tests them (SEP folded in).</summary>
    public CpuFeature Effective => Sep ? Features | CpuFeature.Sep : Features & ~CpuFeature.Sep;
    public bool Has(CpuFeature f) => (Effective & f) == f;

    public uint Cpuid1Edx => CpuFeatures.Bits(Effective, 1, 3);
    public uint Cpuid1Ecx => CpuFeatures.Bits(Effective, 1, 2);
    public uint Cpuid81Ecx => CpuFeatures.Bits(Effective, 0x80000001, 2);

    /// <summary>CPUID.1:EAX of the generation the features belong to. With SSE: Intel Goldmont (family 6, model
    /// 0x5C, stepping 9), AMD family 16h model 0 (Jaguar). Without: a generation that really had none, since
    /// libraries that dispatch on family/model (GMP's fat binaries) must not pick SSE2 code for it: Intel Pentium
    /// Pro (6/1/9), AMD K5 (5/1/1).</summary>
    public uint Signature => (Features & CpuFeature.Sse) != 0
        ? (Vendor == CpuVendor.Intel ? 0x000506C9u : 0x00700F01u)
        : (Vendor == CpuVendor.Intel ? 0x00000619u : 0x00000511u);
    public int Family => (int)((Signature >> 8) & 0xF) + ((Signature >> 8 & 0xF) == 0xF ? (int)((Signature >> 20) & 0xFF) : 0);
    public int ModelNumber => (int)((Signature >> 4) & 0xF) | ((Signature >> 8 & 0xF) is 6 or 0xF ? (int)((Signature >> 12) & 0xF0) : 0);
    public int Stepping => (int)(Signature & 0xF);

    /// <summary>This model with another feature set (the --cpu MODEL,+feat,-feat list).</summary>
    public CpuModel WithFeatures(CpuFeature f) => new()
    {
        Name = Name, Vendor = Vendor, Kernel64 = Kernel64, FeatureSysenter32 = FeatureSysenter32,
        FeatureSyscall32 = FeatureSyscall32, Sep = Sep, Umip = Umip, Features = f,
    };

    /// <summary>Applies a comma-separated list of +feature / -feature (qemu's -cpu syntax; "i686" selects the
    /// baseline set). Returns null and an error text for an unknown name.</summary>
    public CpuModel? Apply(string list, out string? error)
    {
        error = null;
        var f = Features;
        foreach (var raw in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw == "i686") { f = CpuFeatures.I686; continue; }
            bool add = raw[0] != '-';
            string name = raw[0] is '+' or '-' ? raw[1..] : raw;
            if (name.EndsWith("=on", StringComparison.Ordinal)) name = name[..^3];
            else if (name.EndsWith("=off", StringComparison.Ordinal)) { name = name[..^4]; add = false; }
            var feat = CpuFeatures.ByName(name);
            if (feat == null) { error = $"unknown CPU feature '{name}' (--cpu help lists them)"; return null; }
            f = add ? CpuFeatures.Set(f, feat.Value) : CpuFeatures.Clear(f, feat.Value);
        }
        return WithFeatures(f);
    }

    /// <summary>"MODEL[,+feat,-feat...]"; null and an error for an unknown model or feature.</summary>
    public static CpuModel? Parse(string spec, out string? error)
    {
        int comma = spec.IndexOf(',');
        string name = comma < 0 ? spec : spec[..comma];
        var m = name.Length == 0 ? HostDefault() : ByName(name);
        if (m == null) { error = $"unknown --cpu model '{name}' (use intel, amd, nosep or i386; --cpu help)"; return null; }
        error = null;
        return comma < 0 ? m : m.Apply(spec[(comma + 1)..], out error);
    }

    public static readonly CpuModel IntelModel = new() { Name = "intel", Vendor = CpuVendor.Intel, Kernel64 = true, FeatureSysenter32 = true, FeatureSyscall32 = false, Sep = true, Umip = true };
    public static readonly CpuModel AmdModel = new() { Name = "amd", Vendor = CpuVendor.Amd, Kernel64 = true, FeatureSysenter32 = false, FeatureSyscall32 = true, Sep = true, Umip = true, Features = CpuFeatures.Jaguar };
    /// <summary>A 64-bit kernel that sets neither fast-path feature; raw SYSENTER/SYSCALL follow Intel's rules.</summary>
    public static readonly CpuModel NoSepModel = new() { Name = "nosep", Vendor = CpuVendor.Intel, Kernel64 = true, FeatureSysenter32 = false, FeatureSyscall32 = false, Sep = false };
    public static readonly CpuModel I386Model = new() { Name = "i386", Vendor = CpuVendor.Intel, Kernel64 = false, FeatureSysenter32 = false, FeatureSyscall32 = false, Sep = true };

    public static CpuModel? ByName(string name) => name switch
    {
        "intel" => IntelModel, "amd" => AmdModel, "nosep" => NoSepModel, "i386" => I386Model, _ => null,
    };

    /// <summary>The host's CPU is AMD's (or Hygon's): where the vendors' hardware differs in what the manuals leave
    /// open and translated code runs the host's instruction, the interpreter does as the host (DPPS/DPPD's NaNs).</summary>
    public static readonly bool HostIsAmd = HostDefault() == AmdModel;

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
