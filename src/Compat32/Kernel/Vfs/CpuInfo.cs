using System.Text;
using Compat32.Cpu;

namespace Compat32.Kernel.Vfs;

/// <summary>/proc/cpuinfo from the machine model (arch/x86/kernel/cpu/proc.c show_cpuinfo), so its flags agree with
/// CPUID, AT_HWCAP and what the processor executes. One entry per host CPU the guest may run on.</summary>
public static class CpuInfo
{
    public static string Show(CpuModel m)
    {
        var sb = new StringBuilder();
        var flags = new List<string>();
        // x86_capability word 0 (CPUID.1:EDX), word 1 (0x80000001:EDX: syscall, lm), word 4 (CPUID.1:ECX), word 6
        foreach (var f in CpuFeatures.FlagNames(m.Effective))
        {
            flags.Add(f);
            if (f == "sse2" && m.Kernel64) { flags.Add("syscall"); flags.Add("lm"); }
        }
        string brand = "Compat32 " + m.Name + " virtual CPU";
        int n = Math.Max(1, Environment.ProcessorCount);
        for (int cpu = 0; cpu < n; cpu++)
        {
            sb.Append($"processor\t: {cpu}\nvendor_id\t: {m.VendorString}\ncpu family\t: {m.Family}\nmodel\t\t: {m.ModelNumber}\n");
            sb.Append($"model name\t: {brand}\nstepping\t: {m.Stepping}\n");
            sb.Append($"physical id\t: 0\nsiblings\t: {n}\ncore id\t\t: {cpu}\ncpu cores\t: {n}\napicid\t\t: {cpu}\ninitial apicid\t: {cpu}\n");
            if (!m.Kernel64)
                sb.Append("fdiv_bug\t: no\nf00f_bug\t: no\ncoma_bug\t: no\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 1\nwp\t\t: yes\n");
            else
                sb.Append("fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 1\nwp\t\t: yes\n");
            sb.Append("flags\t\t: ").Append(string.Join(' ', flags)).Append('\n');
            sb.Append("bugs\t\t:\n");
            sb.Append("bogomips\t: 4000.00\n");
            if ((m.Effective & CpuFeature.Clflush) != 0) sb.Append("clflush size\t: 64\n");
            sb.Append("cache_alignment\t: 64\naddress sizes\t: 36 bits physical, 48 bits virtual\npower management:\n\n");
        }
        return sb.ToString();
    }
}
