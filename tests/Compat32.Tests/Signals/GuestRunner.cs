using Compat32.Tests.Harness;

namespace Compat32.Tests.Signals;

/// <summary>The signal and selftest tests' view of the shared harness (Harness/): run host tools and the compat32
/// launcher with the caller's environment, and build guests from tests/guests/signals into $COMPAT32_CACHE.</summary>
public static class GuestRunner
{
    public sealed record Result(int Code, string Stdout, string Stderr);

    public static Result Run(string file, IEnumerable<string> args, int timeoutMs = 180_000)
    {
        var r = Proc.Run(file, args, timeoutMs: timeoutMs);
        return new Result(r.ExitCode, r.Out, r.Err);
    }

    public static string RepoRoot() => TestEnv.RepoRoot;

    public static string Cache() => TestEnv.Cache;

    /// <summary>compat32 launcher: $COMPAT32, else ./compat32 at the repository root.</summary>
    public static Result Compat32(IEnumerable<string> args, int timeoutMs = 180_000) => Run(TestEnv.Launcher, args, timeoutMs);

    /// <summary>gcc -m32 -march=i686 -static a guest from tests/guests/signals, cached by content hash.</summary>
    public static string BuildGuest(string name, params string[] extra) =>
        GuestBuild.Build(TestEnv.RepoPath("tests", "guests", "signals", name + ".c"), [.. extra, "-lrt"]);
}
