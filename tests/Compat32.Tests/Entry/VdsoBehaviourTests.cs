using System.Text.Json;
using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Tests.Harness;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Entry;

/// <summary>The vDSO as a program sees it: time functions without syscalls, consistent with the syscalls, and a
/// vDSO moved with mremap taking its landing pad along (vdso_fix_landing).</summary>
public class VdsoBehaviourTests
{
    static JsonElement Stats(string model, string guest, string arg)
    {
        var json = Path.GetTempFileName();
        try
        {
            var r = Proc.Run(TestEnv.Launcher, ["--cpu", model, "--stats-json", json, guest, arg]);
            Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Out}{r.Err}");
            Assert.Contains("vdso_time: 0 problems", r.Out);
            return JsonDocument.Parse(File.ReadAllText(json)).RootElement.Clone();
        }
        finally { File.Delete(json); }
    }

    static long TotalEntries(JsonElement s) =>
        s.GetProperty("entries").EnumerateObject().Sum(p => p.Value.GetInt64());

    [Theory]
    [MemberData(nameof(AsmGuest.AllModels), MemberType = typeof(AsmGuest))]
    public void GlibcTimeCallsMakeNoSyscallAndAgreeWithTheSyscalls(string model)
    {
        var guest = GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "entry", "vdso_time.c"));
        long none = TotalEntries(Stats(model, guest, "0"));
        long many = TotalEntries(Stats(model, guest, "5000"));
        Assert.Equal(none, many); // 5000 x (clock_gettime + gettimeofday + time) added no kernel entry
    }

    [Fact]
    public void TheVvarDataPageStaysCurrentInAForkedChildAndIsAPrivateReadOnlyMapping()
    {
        var guest = GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "entry", "vvar_fork.c"));
        var r = Proc.Run(TestEnv.Launcher, [guest]);
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Out}{r.Err}");
        Assert.Contains("vvar_fork: 0 problems", r.Out);
    }

    [Theory]
    [InlineData("intel", ExitMethod.Sysretl)]
    [InlineData("amd", ExitMethod.Sysretl)]
    [InlineData("i386", ExitMethod.Sysexit)]
    public void MremapOfTheVdsoMovesTheLandingPad(string model, ExitMethod exit)
    {
        const int D = (int)AsmGuest.Data;
        const uint target = 0x2000_0000; // vvar stays; the 2-page [vdso] moves here
        var elf = AsmGuest.Build(a =>
        {
            // ebx = vDSO base = AT_SYSINFO & ~0xfff (our __kernel_vsyscall is in the first page)
            a.mov(ebx, __dword_ptr[D]); a.and(ebx, unchecked((int)0xFFFFF000));
            a.mov(esi, __dword_ptr[D]); a.sub(esi, ebx);            // esi = offset of __kernel_vsyscall
            a.mov(eax, 163); a.mov(ecx, 0x2000); a.mov(edx, 0x2000); a.mov(esi, esi);
            a.push(esi);
            a.mov(esi, 3); a.mov(edi, target);                       // MREMAP_MAYMOVE | MREMAP_FIXED
            a.@int(0x80);
            a.pop(esi);
            a.mov(__dword_ptr[D + 4], eax);
            a.add(esi, target); a.mov(__dword_ptr[D + 12], esi);
            a.mov(eax, 64); a.call(__dword_ptr[D + 12]);             // getppid through the moved vDSO
            a.mov(__dword_ptr[D + 8], eax);
        });
        var r = AsmGuest.Run(CpuModel.ByName(model)!, elf);
        Assert.Equal(0, r.Exit.ShellCode);
        Assert.Equal(target, r.Word(1));
        Assert.Equal((uint)r.Task.Group.Ppid, r.Word(2));
        Assert.Equal(target, r.Task.Mm.VdsoBase);
        Assert.Equal(1, r.Exits(exit));      // ip == the moved landing pad: the fast exit still applies
        Assert.Equal(0, r.Reason(IretReason.IpMoved));
    }
}
