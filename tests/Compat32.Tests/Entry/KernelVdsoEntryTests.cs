using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Tests.Vdso;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Entry;

/// <summary>--vdso with the image Linux 6.1's own build produces (vdso32.so + .dbg): patched for the model by
/// our apply_alternatives, mapped, and used by a getppid loop — the same paths as with our image.</summary>
public class KernelVdsoEntryTests
{
    [Theory]
    [InlineData("intel", EntryMethod.Sysenter, ExitMethod.Sysretl)]
    [InlineData("amd", EntryMethod.Syscall32, ExitMethod.Sysretl)]
    [InlineData("nosep", EntryMethod.Int80, ExitMethod.Iret)]
    public void GetppidLoopThroughTheKernelsVdso(string model, EntryMethod entry, ExitMethod exit)
    {
        Assert.Null(KernelVdso.WhyUnavailable()); // test.sh installs the kernel toolchain; never silently skip
        KernelVdso.Get();
        var so = Path.Combine(KernelVdso.CacheDir, "vdso32.so");
        const int n = 200;
        var elf = AsmGuest.Build(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, n);
            a.Label(ref loop);
            a.mov(eax, 64); a.call(__dword_ptr[(int)AsmGuest.Data]);
            a.cmp(eax, __dword_ptr[(int)AsmGuest.Data + 8]); // first iteration compares with 0: fine
            a.mov(__dword_ptr[(int)AsmGuest.Data + 8], eax);
            a.dec(edi); a.jnz(loop);
        });
        var r = AsmGuest.Run(CpuModel.ByName(model)!, elf, vdsoFile: so);
        Assert.Equal(0, r.Exit.ShellCode);
        Assert.Equal((uint)r.Task.Group.Ppid, r.Word(2));
        Assert.Equal(entry == EntryMethod.Int80 ? n + 1 : n, r.Entries(entry)); // exit_group enters via int80 too
        Assert.Equal(n, r.Exits(exit));
        Assert.Equal("kernel", r.Machine.Kernel.Vdso!.Symbols.ContainsKey("__vdso_clock_gettime") ? "kernel" : "?");
    }
}
