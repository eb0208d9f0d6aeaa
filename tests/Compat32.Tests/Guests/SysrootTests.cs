using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Guests;

/// <summary>--sysroot DIR (qemu-i386 -L): absolute guest paths are looked up under DIR first and fall back to
/// the host path; a working directory inside DIR is shown to the guest relative to it.</summary>
public class SysrootTests
{
    [Fact]
    public void AbsolutePathsPreferTheSysrootAndFallBackToTheHost()
    {
        using var root = TestEnv.NewTempDir("sysroot");
        Directory.CreateDirectory(Path.Combine(root.Path, "etc"));
        File.WriteAllText(Path.Combine(root.Path, "etc", "c32-sysroot-probe"), "from the sysroot\n");
        string host = Path.Combine(Path.GetTempPath(), $"c32-host-only-{Guid.NewGuid():N}");
        File.WriteAllText(host, "from the host\n");
        try
        {
            var r = Proc.Run(TestEnv.Launcher, ["--sysroot", root.Path, TestEnv.Busybox, "cat", "/etc/c32-sysroot-probe", host]);
            Assert.True(r.ExitCode == 0, r.Err);
            Assert.Equal("from the sysroot\nfrom the host\n", r.Out);
        }
        finally { File.Delete(host); }
    }

    [Fact]
    public void WorkingDirectoryIsSeenInsideTheSysroot()
    {
        using var root = TestEnv.NewTempDir("sysroot");
        Directory.CreateDirectory(Path.Combine(root.Path, "sub"));
        var top = Proc.Run(TestEnv.Launcher, ["--sysroot", root.Path, TestEnv.Busybox, "pwd"], cwd: root.Path);
        var sub = Proc.Run(TestEnv.Launcher, ["--sysroot", root.Path, TestEnv.Busybox, "pwd"], cwd: Path.Combine(root.Path, "sub"));
        Assert.Equal("/\n", top.Out);
        Assert.Equal("/sub\n", sub.Out);
    }
}
