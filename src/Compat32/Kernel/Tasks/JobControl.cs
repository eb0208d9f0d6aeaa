using System.Runtime.InteropServices;
using Compat32.Kernel.Signals;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel;

/// <summary>A controlling terminal as the kernel model sees it (the job-control half of struct tty_struct): its
/// session and foreground process group. The host terminal itself does the line discipline; which guest process
/// group owns it is ours to answer, since every guest process lives in one host process. Lock guards the ids.</summary>
public sealed class Tty
{
    public readonly object Lock = new();
    /// <summary>The session that has this terminal as its controlling terminal (0: none).</summary>
    public int Sid;
    /// <summary>The foreground process group (tty->pgrp).</summary>
    public int Pgid;
}

/// <summary>
/// Job control (drivers/tty/tty_jobctrl.c): TIOCSPGRP/TIOCGPGRP/TIOCGSID/TIOCSCTTY/TIOCNOTTY answered by the
/// model, SIGTTIN/SIGTTOU for background process groups that read the terminal or change its settings, and the
/// signals the host terminal generates (Ctrl-C, Ctrl-\, Ctrl-Z, window size) delivered to the guest's foreground
/// process group.
/// </summary>
public static class JobControl
{
    public const uint TCSETS = 0x5402, TCSETSW = 0x5403, TCSETSF = 0x5404, TIOCSCTTY = 0x540E, TIOCGPGRP = 0x540F,
        TIOCSPGRP = 0x5410, TIOCNOTTY = 0x5422, TIOCGSID = 0x5429, TCFLSH = 0x540B, TIOCSWINSZ = 0x5414;

    /// <summary>The terminal ioctls that belong to job control; false for the rest (they go to the host).</summary>
    public static bool Ioctl(Task t, OpenFile f, uint req, uint arg, out int result)
    {
        result = 0;
        var tty = t.Kernel.HostTty;
        if (tty == null || f.Kind != FileKind.Terminal || !LibC.IsATty(f.HostFd)) return false;
        var ts = t.Kernel.TaskSet;
        var g = t.Group;
        switch (req)
        {
            case TIOCGPGRP:
            {
                int pg;
                lock (ts.Lock) { if (g.Tty != tty) { result = -Errno.ENOTTY; return true; } pg = tty.Pgid; }
                result = t.Mem.WriteU32(arg, (uint)pg) ? 0 : -Errno.EFAULT;
                return true;
            }
            case TIOCGSID:
            {
                int sid;
                lock (ts.Lock) { if (g.Tty != tty || tty.Sid == 0) { result = -Errno.ENOTTY; return true; } sid = tty.Sid; }
                result = t.Mem.WriteU32(arg, (uint)sid) ? 0 : -Errno.EFAULT;
                return true;
            }
            case TIOCSPGRP:
            {
                // tiocspgrp: tty_check_change first, then the pgrp must be a live one of the caller's session.
                result = CheckChange(t, tty);
                if (result != 0) return true;
                if (!t.Mem.ReadU32(arg, out uint v)) { result = -Errno.EFAULT; return true; }
                int pgid = (int)v;
                if (pgid < 0) { result = -Errno.EINVAL; return true; }
                lock (ts.Lock)
                {
                    if (g.Tty != tty || tty.Sid != g.Sid) { result = -Errno.ENOTTY; return true; }
                    bool exists = false, sameSession = false;
                    foreach (var x in ts.GroupsLocked)
                        if (x.Pgid == pgid && x.State == GroupState.Running) { exists = true; sameSession |= x.Sid == g.Sid; }
                    if (!exists) { result = -Errno.ESRCH; return true; }
                    if (!sameSession) { result = -Errno.EPERM; return true; }
                    lock (tty.Lock) tty.Pgid = pgid;
                }
                return true;
            }
            case TIOCSCTTY:
                lock (ts.Lock)
                {
                    // tiocsctty: only a session leader without a controlling terminal; the terminal must be free
                    // (or stolen by a privileged caller with arg 1).
                    if (g.Sid == g.Tgid && g.Tty == tty) { result = 0; return true; }
                    if (g.Sid != g.Tgid || g.Tty != null) { result = -Errno.EPERM; return true; }
                    if (tty.Sid != 0 && tty.Sid != g.Sid && arg != 1) { result = -Errno.EPERM; return true; }
                    g.Tty = tty;
                    lock (tty.Lock) { tty.Sid = g.Sid; tty.Pgid = g.Pgid; }
                }
                return true;
            case TIOCNOTTY:
                lock (ts.Lock)
                {
                    if (g.Tty != tty) { result = -Errno.ENOTTY; return true; }
                    if (g.Sid == g.Tgid)
                    {
                        // disassociate_ctty: the session loses its terminal.
                        foreach (var x in ts.GroupsLocked) if (x.Sid == g.Sid) x.Tty = null;
                        lock (tty.Lock) { tty.Sid = 0; tty.Pgid = 0; }
                    }
                    else g.Tty = null;
                }
                return true;
            case TCSETS: case TCSETSW: case TCSETSF: case TCFLSH: case TIOCSWINSZ:
                // Changing the terminal from the background stops the job (tty_check_change), then the host does it.
                result = CheckChange(t, tty);
                return result != 0;
        }
        return false;
    }

    /// <summary>__tty_check_change(tty, SIGTTOU): a background process group changing its controlling terminal
    /// gets SIGTTOU (unless it ignores or blocks it) and the call restarts once it is continued.</summary>
    static int CheckChange(Task t, Tty tty) => Check(t, tty, Sig.SIGTTOU, ignoredOk: true);

    /// <summary>job_control for read: a background process group reading its controlling terminal gets SIGTTIN;
    /// -EIO if it ignores or blocks SIGTTIN. 0 when the read may go on.</summary>
    public static int CheckRead(Task t, OpenFile f)
    {
        var tty = t.Kernel.HostTty;
        if (tty == null || f.Kind != FileKind.Terminal || !LibC.IsATty(f.HostFd)) return 0;
        return Check(t, tty, Sig.SIGTTIN, ignoredOk: false);
    }

    static int Check(Task t, Tty tty, int sig, bool ignoredOk)
    {
        int pgid;
        lock (t.Kernel.TaskSet.Lock)
        {
            if (t.Group.Tty != tty) return 0;
            pgid = t.Group.Pgid;
            lock (tty.Lock) if (tty.Pgid == 0 || tty.Pgid == pgid) return 0;
        }
        bool ignored = (t.Blocked & Sig.Bit(sig)) != 0 || t.Sig.Actions[sig].Handler == Sig.SIG_IGN;
        if (ignored) return ignoredOk ? 0 : -Errno.EIO;
        KillPgrp(t.Kernel, pgid, new KSigInfo { Signo = sig, Code = KSigInfo.SI_KERNEL, Layout = SigInfoLayout.Kill });
        return -Errno.ERESTARTSYS;
    }

    /// <summary>kill_pgrp: every process of the group gets the signal.</summary>
    public static bool KillPgrp(KernelModel k, int pgid, KSigInfo info)
    {
        var targets = new List<Task>();
        lock (k.TaskSet.Lock)
            foreach (var g in k.TaskSet.GroupsLocked)
                if (g.Pgid == pgid && g.State == GroupState.Running && g.Leader is { } l) targets.Add(l);
        foreach (var l in targets) k.Signals.SendToGroup(l, info);
        return targets.Count > 0;
    }

    /// <summary>The host terminal generated sig (its line discipline saw ^C, ^\ or ^Z, or the window changed): it
    /// goes to the guest's foreground process group, as n_tty's isig does.</summary>
    public static void TerminalSignal(KernelModel k, int sig)
    {
        int pgid = 0;
        if (k.HostTty is { } tty) lock (tty.Lock) pgid = tty.Pgid;
        if (pgid == 0 && k.TaskSet.Init is { } init) lock (k.TaskSet.Lock) pgid = init.Pgid;
        if (sig == Sig.SIGTSTP && k.TaskSet.Init is { } first && first.Pgid == pgid) terminalStop = true;
        if (pgid != 0) KillPgrp(k, pgid, new KSigInfo { Signo = sig, Code = KSigInfo.SI_KERNEL, Layout = SigInfoLayout.Kill });
    }

    /// <summary>Connect the host process's signals to the model: terminal signals to the foreground group, SIGTERM
    /// and SIGHUP to the first process (which stands for compat32), and SIGCONT to continue it when the host shell
    /// resumes us after the first process stopped (which stopped compat32 too: see OnInitStopped).</summary>
    public static IDisposable[] HookHostSignals(KernelModel k)
    {
        var list = new List<IDisposable>();
        void On(PosixSignal ps, Action act)
        {
            try { list.Add(PosixSignalRegistration.Create(ps, ctx => { ctx.Cancel = true; act(); })); }
            catch (Exception e) when (e is PlatformNotSupportedException or IOException) { }
        }
        On(PosixSignal.SIGINT, () => TerminalSignal(k, Sig.SIGINT));
        On(PosixSignal.SIGQUIT, () => TerminalSignal(k, Sig.SIGQUIT));
        On(PosixSignal.SIGTSTP, () => TerminalSignal(k, Sig.SIGTSTP));
        On(PosixSignal.SIGWINCH, () => TerminalSignal(k, Sig.SIGWINCH));
        On(PosixSignal.SIGTERM, () => SignalInit(k, Sig.SIGTERM));
        On(PosixSignal.SIGHUP, () => SignalInit(k, Sig.SIGHUP));
        On(PosixSignal.SIGCONT, () => ContinueInitGroup(k));
        return list.ToArray();
    }

    /// <summary>The host shell continued us (fg, bg): it continues a whole job, so the first process's group
    /// (every guest process ^Z stopped with it) continues.</summary>
    static void ContinueInitGroup(KernelModel k)
    {
        int pgid = 0;
        if (k.TaskSet.Init is { } init) lock (k.TaskSet.Lock) pgid = init.Pgid;
        if (pgid != 0) KillPgrp(k, pgid, new KSigInfo { Signo = Sig.SIGCONT, Code = KSigInfo.SI_USER, Layout = SigInfoLayout.Kill });
    }

    static void SignalInit(KernelModel k, int sig)
    {
        if (k.TaskSet.Init is { Leader: { } l }) k.Signals.SendToGroup(l, new KSigInfo { Signo = sig, Code = KSigInfo.SI_USER, Layout = SigInfoLayout.Kill });
    }

    [DllImport("libc", EntryPoint = "kill")] static extern int host_kill(int pid, int sig);

    /// <summary>^Z at the host terminal was for the first process's group (so the user asked its shell to stop us).</summary>
    static volatile bool terminalStop;

    /// <summary>The first process stood for compat32 and was stopped from the terminal: compat32 stops on the host
    /// too, so the shell that started it gets its prompt back; its SIGCONT (fg, bg) continues the guest. A stop sent
    /// by another guest process does not stop the host: that would freeze every guest process with it.</summary>
    public static void OnInitStopped(KernelModel k)
    {
        if (!k.Options.StopHostWithInit || !terminalStop) return;
        terminalStop = false;
        if (k.Options.InitStopped is { } cb) { cb(); return; }
        try { host_kill(Environment.ProcessId, 19 /* host SIGSTOP */); } catch { }
    }
}
