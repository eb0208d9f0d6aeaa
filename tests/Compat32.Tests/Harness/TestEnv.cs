using System.Diagnostics;

namespace Compat32.Tests.Harness;

/// <summary>
/// Where things are: the repository root, the compat32 launcher, the cache directory ($COMPAT32_CACHE, default
/// $HOME/.cache/compat32) and the external tools the differential tests need. A missing tool is a test FAILURE
/// with a message saying how to get it (./test.sh installs everything); nothing is skipped silently.
/// </summary>
public static class TestEnv
{
    static readonly Lazy<string> _root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Compat32.slnx"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (Compat32.slnx) above " + AppContext.BaseDirectory);
    });

    public static string RepoRoot => _root.Value;

    public static string RepoPath(params string[] parts) => Path.Combine([RepoRoot, .. parts]);

    public static string Cache
    {
        get
        {
            string? c = Environment.GetEnvironmentVariable("COMPAT32_CACHE");
            if (string.IsNullOrEmpty(c))
            {
                string home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : Path.GetTempPath();
                c = Path.Combine(home, ".cache", "compat32");
            }
            Directory.CreateDirectory(c);
            return c;
        }
    }

    /// <summary>The command that runs compat32: $COMPAT32 (an executable) or the ./compat32 launcher.</summary>
    public static string Launcher
    {
        get
        {
            if (Environment.GetEnvironmentVariable("COMPAT32") is { Length: > 0 } env)
            {
                if (!File.Exists(env)) throw new InvalidOperationException($"$COMPAT32={env} does not exist");
                return env;
            }
            string script = RepoPath("compat32");
            if (!File.Exists(script)) throw new InvalidOperationException("the ./compat32 launcher is missing at " + script);
            return script;
        }
    }

    /// <summary>qemu-i386 on PATH, or a failure that says how to install it.</summary>
    public static string Qemu => Tool("qemu-i386", "qemu-user");

    /// <summary>
    /// The CPU model qemu-i386 emulates for reference runs. compat32's CPUID reports an i686 without SSE
    /// (FPU TSC CX8 SEP CMOV FXSR); qemu's default "max" model makes glibc's ifuncs choose SSE4.2/SSSE3 string
    /// routines whose results differ in unspecified ways (strcasecmp's magnitude). pentium2 is the qemu model
    /// whose feature set makes glibc select the same i386/i686 routines as on compat32.
    /// </summary>
    public static string QemuCpu => Environment.GetEnvironmentVariable("COMPAT32_QEMU_CPU") is { Length: > 0 } c ? c : "pentium2";

    public static string Gcc => Tool("gcc", "gcc-multilib");

    /// <summary>busybox from Debian's busybox-static:i386, unpacked by test.sh into the cache.</summary>
    public static string Busybox
    {
        get
        {
            string? p = Environment.GetEnvironmentVariable("COMPAT32_BUSYBOX");
            if (string.IsNullOrEmpty(p)) p = Path.Combine(Cache, "debs", "busybox-static_i386", "bin", "busybox");
            if (!File.Exists(p))
                throw new InvalidOperationException($"busybox-static:i386 not found at {p}: run ./test.sh, which downloads it " +
                                                    "(apt-get download busybox-static:i386; dpkg -x into $COMPAT32_CACHE/debs/busybox-static_i386)");
            return p;
        }
    }

    static readonly Dictionary<string, string> _tools = new();

    static string Tool(string name, string package)
    {
        lock (_tools)
        {
            if (_tools.TryGetValue(name, out var have)) return have;
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
            {
                if (dir.Length == 0) continue;
                string p = Path.Combine(dir, name);
                if (File.Exists(p)) return _tools[name] = p;
            }
            throw new InvalidOperationException($"{name} is not installed (apt-get install {package}; ./test.sh does this)");
        }
    }

    /// <summary>A fresh, empty directory under /tmp owned by one test; deleted by Dispose.</summary>
    public static TempDir NewTempDir(string tag) => new(tag);
}

public sealed class TempDir : IDisposable
{
    public string Path { get; }

    public TempDir(string tag)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"c32t-{tag}-{Guid.NewGuid():N}"[..(14 + tag.Length)]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>Empty the directory again (same path), so a second run sees what the first saw.</summary>
    public void Reset()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, true);
        Directory.CreateDirectory(Path);
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { if (Directory.Exists(Path)) Directory.Delete(Path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
