namespace Compat32.Cpu;

/// <summary>CPUID feature bits a model can report. Every bit set is one we execute; an instruction whose
/// feature is absent raises #UD (SDM: "#UD if CPUID.01H:EDX.SSE[bit 25] = 0" and the like).</summary>
[Flags]
public enum CpuFeature : ulong
{
    None = 0,
    Fpu = 1 << 0, Tsc = 1 << 1, Cx8 = 1 << 2, Sep = 1 << 3, Cmov = 1 << 4, Fxsr = 1 << 5, Clflush = 1 << 6,
    Mmx = 1 << 7, Sse = 1 << 8, Sse2 = 1 << 9, Sse3 = 1 << 10, Ssse3 = 1 << 11, Sse41 = 1 << 12, Sse42 = 1 << 13,
    Popcnt = 1 << 14, Movbe = 1 << 15, Aes = 1 << 16, Pclmulqdq = 1 << 17, Abm = 1 << 18,
}

/// <summary>Names, CPUID bits and dependencies of the features (names as /proc/cpuinfo prints them, from the
/// kernel's arch/x86/include/asm/cpufeatures.h; dependencies from arch/x86/kernel/cpu/cpuid-deps.c).</summary>
public static class CpuFeatures
{
    /// <summary>The i686 baseline the models had before SIMD (and qemu-i386's pentium2 less MMX): what the
    /// differential suite compares against qemu-i386 -cpu pentium2.</summary>
    public const CpuFeature I686 = CpuFeature.Fpu | CpuFeature.Tsc | CpuFeature.Cx8 | CpuFeature.Sep | CpuFeature.Cmov | CpuFeature.Fxsr;

    /// <summary>Intel Goldmont (Atom/Pentium J4205, family 6 model 0x5C): SSE4.2, SSSE3, POPCNT, MOVBE, AES-NI and
    /// PCLMULQDQ without AVX (its SHA-NI, RDRAND and XSAVE are not offered).</summary>
    public const CpuFeature Goldmont = I686 | CpuFeature.Clflush | CpuFeature.Mmx | CpuFeature.Sse | CpuFeature.Sse2
        | CpuFeature.Sse3 | CpuFeature.Ssse3 | CpuFeature.Sse41 | CpuFeature.Sse42 | CpuFeature.Popcnt
        | CpuFeature.Movbe | CpuFeature.Aes | CpuFeature.Pclmulqdq;

    /// <summary>AMD family 16h (Jaguar, Athlon 5350) with its AVX, F16C and BMI1 masked, as a hypervisor masks
    /// them: the same SIMD set plus ABM (LZCNT).</summary>
    public const CpuFeature Jaguar = Goldmont | CpuFeature.Abm;

    /// <summary>(feature, name in /proc/cpuinfo, CPUID leaf, register, bit) — register 0 eax .. 3 edx.</summary>
    public static readonly (CpuFeature F, string Name, uint Leaf, int Reg, int Bit)[] Table =
    [
        (CpuFeature.Fpu, "fpu", 1, 3, 0), (CpuFeature.Tsc, "tsc", 1, 3, 4), (CpuFeature.Cx8, "cx8", 1, 3, 8),
        (CpuFeature.Sep, "sep", 1, 3, 11), (CpuFeature.Cmov, "cmov", 1, 3, 15), (CpuFeature.Clflush, "clflush", 1, 3, 19),
        (CpuFeature.Mmx, "mmx", 1, 3, 23), (CpuFeature.Fxsr, "fxsr", 1, 3, 24), (CpuFeature.Sse, "sse", 1, 3, 25),
        (CpuFeature.Sse2, "sse2", 1, 3, 26),
        (CpuFeature.Sse3, "pni", 1, 2, 0), (CpuFeature.Pclmulqdq, "pclmulqdq", 1, 2, 1), (CpuFeature.Ssse3, "ssse3", 1, 2, 9),
        (CpuFeature.Sse41, "sse4_1", 1, 2, 19), (CpuFeature.Sse42, "sse4_2", 1, 2, 20), (CpuFeature.Movbe, "movbe", 1, 2, 22),
        (CpuFeature.Popcnt, "popcnt", 1, 2, 23), (CpuFeature.Aes, "aes", 1, 2, 25),
        (CpuFeature.Abm, "abm", 0x80000001, 2, 5),
    ];

    /// <summary>qemu's spellings accepted as well.</summary>
    static readonly (string Alias, string Name)[] Aliases =
    [
        ("sse3", "pni"), ("sse4.1", "sse4_1"), ("sse4.2", "sse4_2"), ("sse4-1", "sse4_1"), ("sse4-2", "sse4_2"),
        ("lzcnt", "abm"), ("clfsh", "clflush"), ("pclmul", "pclmulqdq"),
    ];

    /// <summary>cpuid_deps[]: (feature, what it depends on).</summary>
    static readonly (CpuFeature F, CpuFeature Dep)[] Deps =
    [
        (CpuFeature.Fxsr, CpuFeature.Fpu), (CpuFeature.Cmov, CpuFeature.Fxsr), (CpuFeature.Mmx, CpuFeature.Fxsr),
        (CpuFeature.Sse, CpuFeature.Fxsr), (CpuFeature.Sse2, CpuFeature.Sse), (CpuFeature.Sse3, CpuFeature.Sse2),
        (CpuFeature.Sse41, CpuFeature.Sse2), (CpuFeature.Sse42, CpuFeature.Sse2), (CpuFeature.Pclmulqdq, CpuFeature.Sse2),
        (CpuFeature.Ssse3, CpuFeature.Sse2), (CpuFeature.Aes, CpuFeature.Sse2),
    ];

    public static CpuFeature? ByName(string name)
    {
        name = name.ToLowerInvariant();
        foreach (var (a, n) in Aliases) if (a == name) { name = n; break; }
        foreach (var e in Table) if (e.Name == name) return e.F;
        return null;
    }

    /// <summary>clear_cpu_cap → do_clear_cpu_cap: clearing a feature clears everything that depends on it.</summary>
    public static CpuFeature Clear(CpuFeature set, CpuFeature f)
    {
        set &= ~f;
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (x, dep) in Deps)
                if ((set & x) != 0 && (set & dep) == 0) { set &= ~x; changed = true; }
        }
        return set;
    }

    /// <summary>Setting a feature sets what it needs (a CPU never has SSE2 without SSE).</summary>
    public static CpuFeature Set(CpuFeature set, CpuFeature f)
    {
        set |= f;
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (x, dep) in Deps)
                if ((set & x) != 0 && (set & dep) == 0) { set |= dep; changed = true; }
        }
        return set;
    }

    public static uint Bits(CpuFeature set, uint leaf, int reg)
    {
        uint v = 0;
        foreach (var e in Table)
            if (e.Leaf == leaf && e.Reg == reg && (set & e.F) != 0) v |= 1u << e.Bit;
        return v;
    }

    /// <summary>The /proc/cpuinfo flag names in the kernel's order (word by word, bit by bit).</summary>
    public static IEnumerable<string> FlagNames(CpuFeature set)
    {
        foreach (var (leaf, reg) in new[] { (1u, 3), (0x80000001u, 3), (1u, 2), (0x80000001u, 2) })
            for (int bit = 0; bit < 32; bit++)
                foreach (var e in Table)
                    if (e.Leaf == leaf && e.Reg == reg && e.Bit == bit && (set & e.F) != 0) yield return e.Name;
    }
}
