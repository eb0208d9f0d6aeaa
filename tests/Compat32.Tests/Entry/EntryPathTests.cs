using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Entry;

/// <summary>
/// The entry design observed from a guest (spec §2–§3): calls through __kernel_vsyscall on every model, the
/// registers and flags after return, which entry and exit were taken, raw SYSENTER/SYSCALL outside the vDSO,
/// the arg-6 fault, and restarts landing on the vDSO's int $0x80.
/// </summary>
public class EntryPathTests
{
    const int D = (int)AsmGuest.Data;
    static CpuModel M(string n) => CpuModel.ByName(n)!;

    /// <summary>Registers loaded before the call: every one but eax must come back unchanged.</summary>
    static void LoadPattern(Assembler a, uint flagsToSet)
    {
        a.push(flagsToSet); a.popfd();
        a.mov(ebx, 0x11111111); a.mov(ecx, 0x22222222); a.mov(edx, 0x33333333);
        a.mov(esi, 0x44444444); a.mov(edi, 0x55555555); a.mov(ebp, 0x66666666);
    }

    static void StoreAll(Assembler a)
    {
        a.pushfd(); a.pop(__dword_ptr[D + 4]);
        a.mov(__dword_ptr[D + 8], eax); a.mov(__dword_ptr[D + 12], ebx); a.mov(__dword_ptr[D + 16], ecx);
        a.mov(__dword_ptr[D + 20], edx); a.mov(__dword_ptr[D + 24], esi); a.mov(__dword_ptr[D + 28], edi);
        a.mov(__dword_ptr[D + 32], ebp); a.mov(__dword_ptr[D + 36], esp);
        a.push(0x202); a.popfd();
    }

    // CF | PF | AF | ZF | SF | DF | OF | IF, plus the always-one bit.
    const uint ArithAndDf = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 | 0x200 | 0x2;

    [Theory]
    [MemberData(nameof(AsmGuest.AllModels), MemberType = typeof(AsmGuest))]
    public void VsyscallPreservesEveryRegisterAndFlag(string model)
    {
        var elf = AsmGuest.Build(a =>
        {
            a.mov(__dword_ptr[D + 40], esp);
            LoadPattern(a, ArithAndDf);
            a.mov(eax, 64); // getppid
            a.call(__dword_ptr[D]);
            StoreAll(a);
        });
        var r = AsmGuest.Run(M(model), elf);
        Assert.Equal(0, r.Exit.ShellCode);
        Assert.NotEqual(0u, r.Word(0)); // AT_SYSINFO present
        Assert.Equal(ArithAndDf, r.Word(1) & ~0x10000u & 0xFFFF);
        Assert.Equal((uint)r.Task.Group.Ppid, r.Word(2));
        Assert.Equal(0x11111111u, r.Word(3));
        Assert.Equal(0x22222222u, r.Word(4));
        Assert.Equal(0x33333333u, r.Word(5));
        Assert.Equal(0x44444444u, r.Word(6));
        Assert.Equal(0x55555555u, r.Word(7));
        Assert.Equal(0x66666666u, r.Word(8));
        Assert.Equal(r.Word(10), r.Word(9)); // esp balanced
    }

    [Theory]
    [InlineData("intel", EntryMethod.Sysenter, ExitMethod.Sysretl)]
    [InlineData("amd", EntryMethod.Syscall32, ExitMethod.Sysretl)]
    [InlineData("nosep", EntryMethod.Int80, ExitMethod.Iret)]
    [InlineData("i386", EntryMethod.Sysenter, ExitMethod.Sysexit)]
    public void GetppidLoopTakesTheModelsPath(string model, EntryMethod entry, ExitMethod exit)
    {
        const int n = 500;
        var elf = AsmGuest.Build(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edi, n);
            a.Label(ref loop);
            a.mov(eax, 64); a.call(__dword_ptr[D]);
            a.dec(edi); a.jnz(loop);
        });
        var r = AsmGuest.Run(M(model), elf);
        Assert.Equal(0, r.Exit.ShellCode);
        Assert.Equal(entry == EntryMethod.Int80 ? n + 1 : n, r.Entries(entry)); // exit_group enters via int80 too
        Assert.Equal(n, r.Exits(exit));
        // The final exit_group uses int $0x80 and does not return.
        if (entry != EntryMethod.Int80) Assert.Equal(1, r.Entries(EntryMethod.Int80));
        long otherExits = r.Machine.Kernel.Stats.Exits.Sum() - r.Exits(exit);
        Assert.Equal(0, otherExits);
    }

    [Theory]
    [InlineData("intel")]
    [InlineData("amd")]
    [InlineData("i386")]
    public void NtAcDfSurviveAFastSyscall(string model)
    {
        const uint nt = 1u << 14, ac = 1u << 18, df = 1u << 10;
        var elf = AsmGuest.Build(a =>
        {
            a.push(0x202 | nt | ac | df); a.popfd();
            a.mov(eax, 20); a.call(__dword_ptr[D]); // getpid
            a.pushfd(); a.pop(__dword_ptr[D + 4]);
            a.push(0x202); a.popfd();
        });
        var r = AsmGuest.Run(M(model), elf);
        Assert.Equal(0, r.Exit.ShellCode);
        Assert.Equal(nt | ac | df, r.Word(1) & (nt | ac | df));
        Assert.Equal(1, r.Exits(model == "i386" ? ExitMethod.Sysexit : ExitMethod.Sysretl));
    }

    /// <summary>getpid through a raw SYSENTER/SYSCALL outside the vDSO, with the stack laid out as
    /// __kernel_vsyscall leaves it (return address, ecx, edx, ebp), so the landing pad's pops and ret come back
    /// here; the result is stored at Data+8.</summary>
    static byte[] RawFastSyscall(Action<Assembler> enter) => AsmGuest.Build(a =>
    {
        var raw = a.CreateLabel(); var done = a.CreateLabel();
        a.call(raw);
        a.mov(__dword_ptr[D + 8], eax); // the landing pad's ret comes back here
        a.jmp(done);
        a.Label(ref raw);
        a.push(ecx); a.push(edx); a.push(ebp);
        a.mov(eax, 20);
        enter(a);
        a.Label(ref done);
    });

    [Theory]
    [InlineData("intel", 0)]
    [InlineData("i386", 0)]
    [InlineData("amd", 4)]     // SYSENTER in long mode on AMD: #UD → SIGILL
    [InlineData("nosep", 4)]   // no SEP: #UD → SIGILL
    public void RawSysenterLandsOnThePad(string model, int signal)
    {
        var elf = RawFastSyscall(a => { a.mov(ebp, esp); a.sysenter(); }); // SYSENTER loses ESP: park it in EBP
        var r = AsmGuest.Run(M(model), elf);
        Assert.Equal(signal, r.Exit.Signal);
        if (signal == 0)
        {
            Assert.Equal((uint)r.Task.Tgid, r.Word(2));
            Assert.Equal(1, r.Entries(EntryMethod.Sysenter));
        }
    }

    [Theory]
    [InlineData("amd", 0)]
    [InlineData("intel", 4)]  // SYSCALL outside 64-bit mode on Intel: #UD
    [InlineData("nosep", 4)]
    [InlineData("i386", 4)]
    public void RawSyscallFollowsTheVendor(string model, int signal)
    {
        var elf = RawFastSyscall(a => { a.mov(ebp, ecx); a.syscall(); }); // SYSCALL clobbers ECX: park it in EBP
        var r = AsmGuest.Run(M(model), elf);
        Assert.Equal(signal, r.Exit.Signal);
        if (signal == 0) Assert.Equal((uint)r.Task.Tgid, r.Word(2));
    }

    [Theory]
    [InlineData("intel")]
    [InlineData("amd")]
    public void Arg6FaultGivesEfaultAndIretToThePad(string model)
    {
        // Enter through the vDSO with ESP pointing at unmapped memory: the vDSO's pushes would fault first, so
        // do what the selftest does: a raw fast-syscall sequence with EBP = 0 (SYSENTER) / ESP = 0 (SYSCALL).
        var elf = AsmGuest.Build(a =>
        {
            a.mov(eax, 20);
            if (model == "intel") { a.xor(ebp, ebp); a.sysenter(); }
            else { a.mov(esp, 0); a.syscall(); }
        });
        var r = AsmGuest.Run(M(model), elf);
        Assert.Equal(11, r.Exit.Signal);                         // the pad's pop faults
        Assert.Equal(unchecked((uint)-14), r.Task.Cpu.S.R[CpuState.EAX]); // -EFAULT, no syscall ran
        Assert.Equal(1, r.Reason(IretReason.Arg6Fault));
        uint pad = r.Task.Mm.VdsoBase + (uint)r.Machine.Kernel.Vdso!.SymInt80LandingPad;
        Assert.Equal(pad, r.Task.Cpu.S.Eip);
    }

    /// <summary>A syscall interrupted with -ERESTARTNOINTR and no handler to run restarts: ip -= 2 lands on the
    /// vDSO's int $0x80 (for every entry method), ax = orig_ax, and that exit is an IRET (spec §4).</summary>
    [Theory]
    [MemberData(nameof(AsmGuest.AllModels), MemberType = typeof(AsmGuest))]
    public void RestartLandsOnTheVdsoInt80(string model)
    {
        int calls = 0;
        var elf = AsmGuest.Build(a =>
        {
            a.mov(ebx, 7); a.mov(ecx, 8); a.mov(ebp, 9);
            a.mov(eax, 17); // an unused slot ("break"), given a test handler below
            a.call(__dword_ptr[D]);
            a.mov(__dword_ptr[D + 8], eax);
        });
        var r = AsmGuest.Run(M(model), elf, k => k.Syscalls.Add(17, "ddd", (t, b, c, d, e, f, g) =>
        {
            calls++;
            // The restarted call must see the same arguments (ebx, ecx, and ebp = arg 6).
            return calls == 1 ? -Errno.ERESTARTNOINTR : (int)(b * 100 + c * 10 + g);
        }));
        Assert.Equal(0, r.Exit.ShellCode);
        Assert.Equal(2, calls);
        Assert.Equal(789u, r.Word(2));
        if (model != "nosep")
        {
            Assert.Equal(1, r.Reason(IretReason.Restart));
            Assert.Equal(2, r.Entries(EntryMethod.Int80)); // the restart, and exit_group
        }
        else Assert.Equal(3, r.Entries(EntryMethod.Int80));
    }

    [Fact]
    public void RestartBlockBecomesRestartSyscall()
    {
        int calls = 0, restarts = 0;
        var elf = AsmGuest.Build(a =>
        {
            a.mov(eax, 17); a.call(__dword_ptr[D]);
            a.mov(__dword_ptr[D + 8], eax);
        });
        var r = AsmGuest.Run(M("intel"), elf, k =>
        {
            k.Syscalls.Add(17, "", (t, _, _, _, _, _, _) => { calls++; return -Errno.ERESTART_RESTARTBLOCK; });
            k.Syscalls.Add(Nr.restart_syscall, "", (t, _, _, _, _, _, _) => { restarts++; return 1234; });
        });
        Assert.Equal(0, r.Exit.ShellCode);
        Assert.Equal(1, calls);
        Assert.Equal(1, restarts);
        Assert.Equal(1234u, r.Word(2));
    }

    [Fact]
    public void StatsJsonHasTheDocumentedShape()
    {
        var elf = AsmGuest.Build(a => { a.mov(eax, 64); a.call(__dword_ptr[D]); });
        var r = AsmGuest.Run(M("intel"), elf);
        var json = Compat32.Debug.PathStats.Json(r.Machine.Kernel);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("intel", root.GetProperty("model").GetString());
        Assert.Equal(1, root.GetProperty("entries").GetProperty("sysenter").GetInt64());
        Assert.Equal(1, root.GetProperty("entries").GetProperty("int80").GetInt64());
        Assert.Equal(1, root.GetProperty("exits").GetProperty("sysretl").GetInt64());
        Assert.Equal(0, root.GetProperty("exits").GetProperty("iret").GetInt64());
        Assert.Equal(System.Text.Json.JsonValueKind.Object, root.GetProperty("iret_reasons").ValueKind);
    }
}
