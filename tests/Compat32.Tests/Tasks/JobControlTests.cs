using System.Diagnostics;
using Compat32.Tests.Harness;
using Xunit;

namespace Compat32.Tests.Tasks;

/// <summary>
/// Job control as a person uses it: an interactive busybox shell under compat32 in a real terminal (tmux), a
/// foreground `sleep` stopped with ^Z, `jobs`, `bg`, `fg`, and ^C. The keys go through the host terminal's line
/// discipline to compat32, which must hand them to the guest's foreground process group.
/// </summary>
public class JobControlTests
{
    static bool HaveTmux => File.Exists("/usr/bin/tmux");

    static string Tmux(params string[] args)
    {
        var r = Proc.Run("/usr/bin/tmux", args, timeoutMs: 20_000);
        return r.Out;
    }

    static string WaitFor(string session, string text, int ms = 30_000)
    {
        var sw = Stopwatch.StartNew();
        string screen = "";
        while (sw.ElapsedMilliseconds < ms)
        {
            screen = Tmux("capture-pane", "-t", session, "-p");
            if (screen.Contains(text)) return screen;
            Thread.Sleep(100);
        }
        throw new Xunit.Sdk.XunitException($"'{text}' did not appear on the terminal:\n{screen}");
    }

    [Fact]
    public void StopBackgroundForegroundInterrupt()
    {
        Assert.True(HaveTmux, "tmux is needed (./test.sh installs it)");
        string s = "c32jc" + Environment.ProcessId;
        // Build the launcher's output first so the terminal session starts at once.
        Proc.Run(TestEnv.Launcher, ["--version"], timeoutMs: 600_000);
        string cmd = $"PS1='$ ' {TestEnv.Launcher} {TestEnv.Busybox} sh -i; echo EXIT=$?; sleep 60";
        Tmux("new-session", "-d", "-s", s, "-x", "120", "-y", "30", cmd);
        try
        {
            WaitFor(s, "built-in commands."); // (capture-pane drops the prompt's trailing blank)
            Thread.Sleep(300);
            Tmux("send-keys", "-t", s, "sleep 100", "Enter");
            Thread.Sleep(1500);
            Tmux("send-keys", "-t", s, "C-z");
            WaitFor(s, "Stopped");
            Tmux("send-keys", "-t", s, "jobs", "Enter");
            Tmux("send-keys", "-t", s, "bg", "Enter");
            WaitFor(s, "[1] sleep 100");
            Tmux("send-keys", "-t", s, "fg", "Enter");
            Thread.Sleep(1500);
            Tmux("send-keys", "-t", s, "C-c");
            Thread.Sleep(500);
            Tmux("send-keys", "-t", s, "echo status=$?", "Enter");
            WaitFor(s, "status=130");
            Tmux("send-keys", "-t", s, "exit 3", "Enter");
            var screen = WaitFor(s, "EXIT=3");
            Assert.Contains("[1]+  Stopped                    sleep 100", screen);
        }
        finally { Tmux("kill-session", "-t", s); }
    }
}
