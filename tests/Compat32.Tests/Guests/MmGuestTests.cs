using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Guests;

/// <summary>
/// Memory-management C guests (tests/guests/c/mm_*.c): MAP_SHARED files and anonymous memory, msync, mremap,
/// madvise, mincore, fork. The reference is NAME.expected, the guest's output on Linux (x86-64 6.x running the
/// same i386 binary): qemu-i386 7.2 passes several of these calls through differently (each guest says where).
/// </summary>
public class MmGuestTests
{
    static void Expect(string name, Func<string, string[]>? args = null)
    {
        using var dir = TestEnv.NewTempDir(name);
        var r = Differential.RunCompat32(GuestBuild.BuildC(name), args?.Invoke(dir.Path) ?? [], new Differential.Options { Cwd = dir.Path });
        string expected = File.ReadAllText(TestEnv.RepoPath("tests", "guests", "c", name + ".expected"));
        Assert.True(r.ExitCode == 0, $"{name}: exit {r.ExitCode}\n{r.Err}");
        Assert.Equal(expected, r.Out);
        Assert.Equal("", r.Err);
    }

    [Fact] public void SharedFileMappings() => Expect("mm_shared_file", d => [d]);
    [Fact] public void Mremap() => Expect("mm_mremap");
    [Fact] public void MadviseAndMincore() => Expect("mm_madvise");
    [Fact] public void SharedMemoryAcrossFork() => Expect("mm_fork_shared");
    /// <summary>PROT_NONE pages read in a hot loop, each fault repaired by the guest's handler (its .expected is
    /// qemu-i386 7.2's output; the guest prints nothing that depends on the stack's address).</summary>
    [Fact] public void ProtectionFaultsRepairedByTheHandler() => Expect("mm_protect_fault");

    /// <summary>The guests covered here (CGuestTests.EveryGuestSourceHasATest).</summary>
    public static readonly string[] Guests = ["mm_shared_file", "mm_mremap", "mm_madvise", "mm_fork_shared", "mm_protect_fault"];
}
