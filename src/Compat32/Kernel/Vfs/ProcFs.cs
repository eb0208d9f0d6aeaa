using System.Runtime.CompilerServices;
using System.Text;

namespace Compat32.Kernel.Vfs;

/// <summary>What a /proc path is (fs/proc/base.c's lookups, reduced).</summary>
public enum ProcType { File, Dir, Link, Host, Error }

/// <summary>A resolved /proc entry: file content, a directory listing, a symlink, a host path to use instead, or
/// an error. Uid/Gid are the owning process's (busybox ps takes a process's user from stat("/proc/PID")).</summary>
public sealed class ProcEntry
{
    public ProcType Type;
    public byte[]? Content;
    public List<(string Name, byte Type)>? Entries;
    /// <summary>Link text (Link) or the host path (Host).</summary>
    public string? Target;
    public int Error;
    public uint Uid, Gid;
    /// <summary>Permission bits of a File (0444, comm 0644).</summary>
    public int Mode = 0x124;
    /// <summary>A directory's path with /proc/self resolved (chdir keeps it as the working directory).</summary>
    public string Canonical = "";
    /// <summary>Writable /proc/PID/comm: the thread whose comm a write sets.</summary>
    public Task? CommOf;
    public static ProcEntry Err(int e) => new() { Type = ProcType.Error, Error = e };
}

/// <summary>An open synthetic /proc file; comm accepts writes (comm_write).</summary>
public sealed class ProcFile : OpenFile
{
    public Task? CommOf;
}

/// <summary>An open /proc directory: the listing taken at open (immutable after), read by getdents (SyntheticPos
/// is the index; like the other synthetic files' position it has no f_pos_lock).</summary>
public sealed class ProcDir : OpenFile
{
    public List<(string Name, byte Type)> Entries = new();
    public uint Uid, Gid;
}

/// <summary>
/// The guest's /proc (fs/proc): the root listing with the guest's pids, /proc/self, /proc/thread-self, and for every
/// guest process and thread the files that describe it (base.c, array.c, task_mmu.c, fd.c). Everything else under
/// /proc is the host's. Other processes are found through the TaskSet.
/// </summary>
public static class ProcFs
{
    const byte DT_DIR = 4, DT_REG = 8, DT_LNK = 10;
    const int UserHz = 100;

    static readonly string[] TgidFiles = { "task", "fd", "fdinfo", "environ", "auxv", "status", "limits", "cmdline",
        "comm", "stat", "statm", "maps", "smaps", "cwd", "root", "exe", "mounts", "mountinfo" };

    /// <summary>The last comm seen per process: a zombie has no thread left to ask. (The table is thread-safe.)</summary>
    static readonly ConditionalWeakTable<ThreadGroup, string> lastComm = new();

    /// <summary>Path components of an absolute path, "." and ".." folded; null when not under /proc.</summary>
    static List<string>? Parts(string p)
    {
        // /dev/fd is a link to /proc/self/fd, and /dev/stdin, stdout, stderr to its first three (udev/systemd's
        // static nodes); the host's would name compat32's own descriptors.
        if (p == "/dev/fd" || p.StartsWith("/dev/fd/", StringComparison.Ordinal)) p = "/proc/self/fd" + p[7..];
        else if (p == "/dev/stdin") p = "/proc/self/fd/0";
        else if (p == "/dev/stdout") p = "/proc/self/fd/1";
        else if (p == "/dev/stderr") p = "/proc/self/fd/2";
        if (!p.StartsWith("/proc", StringComparison.Ordinal) || (p.Length > 5 && p[5] != '/')) return null;
        var l = new List<string>();
        foreach (var s in p.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (s == ".") continue;
            if (s == "..") { if (l.Count > 0) l.RemoveAt(l.Count - 1); continue; }
            l.Add(s);
        }
        return l.Count > 0 && l[0] == "proc" ? l : null;
    }

    /// <summary>Resolve a guest path under /proc; null when it is not ours (a host path). follow: resolve a final
    /// symlink (stat, open) rather than describe it (lstat, readlink).</summary>
    public static ProcEntry? Resolve(Task t, string path, bool follow)
    {
        var parts = Parts(path);
        if (parts == null) return null;
        var e = Resolve(t, parts, path, follow);
        if (e?.Type == ProcType.Dir) e.Canonical = "/" + (e.Canonical.Length > 0 ? e.Canonical : string.Join('/', parts));
        return e;
    }

    static ProcEntry? Resolve(Task t, List<string> parts, string path, bool follow)
    {
        // /proc/self and /proc/thread-self in the middle of a path are always followed.
        if (parts.Count > 1 && parts[1] is "self" or "thread-self")
        {
            if (parts.Count == 2 && !follow) return Link(t, parts[1] == "self" ? t.Tgid.ToString() : $"{t.Tgid}/task/{t.Tid}");
            bool threadSelf = parts[1] == "thread-self";
            var rest = parts.Skip(2).ToList();
            parts = new List<string> { "proc", t.Tgid.ToString() };
            if (threadSelf) { parts.Add("task"); parts.Add(t.Tid.ToString()); }
            parts.AddRange(rest);
            var e = Resolve(t, parts, path, follow);
            if (e?.Type == ProcType.Dir) e.Canonical = string.Join('/', parts);
            return e;
        }
        if (parts.Count == 1) return RootDir(t);
        if (parts.Count == 4 && parts[1] == "sys" && parts[2] == "kernel" && parts[3] == "pid_max")
            return new ProcEntry { Type = ProcType.File, Content = Encoding.ASCII.GetBytes(TaskSet.PidMax + "\n") };
        if (parts.Count == 2 && parts[1] == "loadavg") return LoadAvg(t);
        if (parts.Count == 2 && parts[1] == "cpuinfo") return new ProcEntry { Type = ProcType.File, Content = Encoding.ASCII.GetBytes(CpuInfo.Show(t.Kernel.Model)) };
        if (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, null, out int pid)) return null;
        // proc_pid_lookup: any live pid (a thread's too, though only leaders are listed), or a zombie process
        var ts = t.Kernel.TaskSet;
        var task = ts.FindTask(pid);
        var g = task?.Group ?? ts.FindGroup(pid);
        if (g == null || g.State == GroupState.Dead || (task == null && g.Tgid != pid)) return ProcEntry.Err(-Errno.ENOENT);
        task ??= g.Leader;
        if (task != null) lastComm.AddOrUpdate(g, task.Comm);
        if (parts.Count == 2) return PidDir(g, task, thread: false);
        if (parts[2] == "task")
        {
            if (parts.Count == 3) return TaskDir(g);
            if (!int.TryParse(parts[3], System.Globalization.NumberStyles.None, null, out int tid)) return ProcEntry.Err(-Errno.ENOENT);
            var th = ts.FindTask(tid);
            if (th == null || th.Group != g) return ProcEntry.Err(-Errno.ENOENT);
            if (parts.Count == 4) return PidDir(g, th, thread: true);
            return PidFile(t, g, th, tid, parts, 4, thread: true, follow);
        }
        return PidFile(t, g, task, pid, parts, 2, thread: false, follow);
    }

    /// <summary>loadavg_proc_show: the host's load averages, then running/total threads and the last pid of the
    /// guest's pid namespace.</summary>
    static ProcEntry? LoadAvg(Task t)
    {
        string[] f;
        try { f = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception) { return null; }
        if (f.Length < 3) return null;
        var ts = t.Kernel.TaskSet;
        int total = ts.TaskCount, running = 0;
        foreach (var x in ts.Tasks()) if (State(x.Group, x) == 'R') running++;
        return new ProcEntry { Type = ProcType.File, Content = Encoding.ASCII.GetBytes($"{f[0]} {f[1]} {f[2]} {running}/{total} {ts.LastPid}\n") };
    }

    static ProcEntry Link(Task t, string target) => new() { Type = ProcType.Link, Target = target };

    static ProcEntry RootDir(Task t)
    {
        var e = new List<(string, byte)> { (".", DT_DIR), ("..", DT_DIR) };
        try
        {
            foreach (var fi in new DirectoryInfo("/proc").EnumerateFileSystemInfos())
            {
                if (fi.Name is "self" or "thread-self" || fi.Name.All(char.IsAsciiDigit)) continue;
                byte ty = fi.LinkTarget != null ? DT_LNK : (fi.Attributes & FileAttributes.Directory) != 0 ? DT_DIR : DT_REG;
                e.Add((fi.Name, ty));
            }
        }
        catch (Exception) { } // a host without /proc still lists the guest's pids
        e.Add(("self", DT_LNK));
        e.Add(("thread-self", DT_LNK));
        var groups = t.Kernel.TaskSet.Groups();
        groups.Sort((a, b) => a.Tgid.CompareTo(b.Tgid));
        foreach (var g in groups)
        {
            if (g.State == GroupState.Dead) continue;
            if (g.Leader is { } l) lastComm.AddOrUpdate(g, l.Comm);
            e.Add((g.Tgid.ToString(), DT_DIR));
        }
        return new ProcEntry { Type = ProcType.Dir, Entries = e };
    }

    static ProcEntry PidDir(ThreadGroup g, Task? task, bool thread)
    {
        var e = new List<(string, byte)> { (".", DT_DIR), ("..", DT_DIR) };
        foreach (var n in TgidFiles)
        {
            if (thread && n == "task") continue;
            e.Add((n, n is "task" or "fd" or "fdinfo" ? DT_DIR : n is "cwd" or "root" or "exe" ? DT_LNK : DT_REG));
        }
        var c = g.Creds;
        return new ProcEntry { Type = ProcType.Dir, Entries = e, Uid = c.Euid, Gid = c.Egid };
    }

    static ProcEntry TaskDir(ThreadGroup g)
    {
        var e = new List<(string, byte)> { (".", DT_DIR), ("..", DT_DIR) };
        List<Task> threads;
        lock (g.Threads) threads = new List<Task>(g.Threads);
        foreach (var th in threads) e.Add((th.Tid.ToString(), DT_DIR));
        return new ProcEntry { Type = ProcType.Dir, Entries = e, Uid = g.Creds.Euid, Gid = g.Creds.Egid };
    }

    static ProcEntry PidFile(Task cur, ThreadGroup g, Task? task, int pid, List<string> parts, int at, bool thread, bool follow)
    {
        string name = parts[at];
        bool last = parts.Count == at + 1;
        var mm = task?.Mm;
        bool alive = task != null && !task.Exited && g.State == GroupState.Running;
        uint uid = g.Creds.Euid, gid = g.Creds.Egid;
        ProcEntry F(byte[] c, int mode = 0x124) => new() { Type = ProcType.File, Content = c, Uid = uid, Gid = gid, Mode = mode };
        ProcEntry S(string s) => F(Encoding.UTF8.GetBytes(s));
        if (name is "fd" or "fdinfo")
        {
            if (!alive) return ProcEntry.Err(-Errno.ENOENT);
            var files = task!.Files.All();
            if (last)
            {
                var e = new List<(string, byte)> { (".", DT_DIR), ("..", DT_DIR) };
                foreach (var (fd, _) in files) e.Add((fd.ToString(), name == "fd" ? DT_LNK : DT_REG));
                return new ProcEntry { Type = ProcType.Dir, Entries = e, Uid = uid, Gid = gid };
            }
            if (!int.TryParse(parts[at + 1], System.Globalization.NumberStyles.None, null, out int n)) return ProcEntry.Err(-Errno.ENOENT);
            var f = task.Files.Get(n);
            if (f == null) return ProcEntry.Err(-Errno.ENOENT);
            if (parts.Count > at + 2) // through the link into a directory
                return name == "fd" && f.HostFd >= 0
                    ? new ProcEntry { Type = ProcType.Host, Target = "/proc/self/fd/" + f.HostFd + "/" + string.Join('/', parts.Skip(at + 2)) }
                    : ProcEntry.Err(-Errno.ENOTDIR);
            if (name == "fdinfo") return S(FdInfo(task, n, f));
            if (!follow) return Link(cur, FdLink(cur, f));
            return f.HostFd >= 0 ? new ProcEntry { Type = ProcType.Host, Target = "/proc/self/fd/" + f.HostFd } : ProcEntry.Err(-Errno.ENOENT);
        }
        if (!last)
        {
            if (name is "cwd" or "root" && alive)
                return new ProcEntry { Type = ProcType.Host, Target = HostPathOf(cur, name == "cwd" ? task!.Fs.Cwd : "/") + "/" + string.Join('/', parts.Skip(at + 1)) };
            return ProcEntry.Err(name is "stat" or "status" or "cmdline" ? -Errno.ENOTDIR : -Errno.ENOENT);
        }
        switch (name)
        {
            case "exe":
                if (!alive || mm == null || mm.ExePath.Length == 0) return ProcEntry.Err(-Errno.ENOENT);
                return follow ? new ProcEntry { Type = ProcType.Host, Target = mm.ExePath } : Link(cur, mm.ExePath);
            case "cwd":
            {
                if (!alive) return ProcEntry.Err(-Errno.ENOENT);
                string cwd;
                lock (task!.Fs.Lock) cwd = task.Fs.Cwd;
                return follow ? new ProcEntry { Type = ProcType.Host, Target = HostPathOf(cur, cwd) } : Link(cur, cwd);
            }
            case "root":
                if (!alive) return ProcEntry.Err(-Errno.ENOENT);
                return follow ? new ProcEntry { Type = ProcType.Host, Target = HostPathOf(cur, "/") } : Link(cur, "/");
            case "stat": return S(Stat(cur.Kernel, g, task, pid, whole: !thread));
            case "status": return S(Status(cur.Kernel, g, task, pid));
            case "statm": return S(Statm(task, alive));
            case "comm":
            {
                var e = S(CommOf(g, task) + "\n");
                e.Mode = 0x1A4; // 0644
                e.CommOf = task;
                return e;
            }
            case "cmdline": return F(alive ? Range(mm!, mm!.ArgStart, mm.ArgEnd) : Array.Empty<byte>());
            case "environ": return F(alive ? Range(mm!, mm!.EnvStart, mm.EnvEnd) : Array.Empty<byte>(), 0x100);
            case "auxv": return F(alive ? task!.Auxv : Array.Empty<byte>(), 0x100);
            case "maps": return S(alive ? Maps(cur, mm!, smaps: false) : "");
            case "smaps": return S(alive ? Maps(cur, mm!, smaps: true) : "");
            case "limits": return S(Limits(g));
            case "mounts": case "mountinfo":
                return new ProcEntry { Type = ProcType.Host, Target = "/proc/self/" + name };
            case "task": return ProcEntry.Err(-Errno.ENOENT); // only at the process level
            default: return ProcEntry.Err(-Errno.ENOENT);
        }
    }

    /// <summary>A guest path as the host names it (the sysroot rule).</summary>
    static string HostPathOf(Task t, string guestPath) => PathResolver.UnderSysroot(t.Kernel.Options.Sysroot, guestPath);

    static string CommOf(ThreadGroup g, Task? task) => task?.Comm ?? (lastComm.TryGetValue(g, out var c) ? c : "");

    /// <summary>The text of /proc/PID/fd/N (d_path, or "pipe:[ino]" and the like from the host).</summary>
    static unsafe string FdLink(Task t, OpenFile f)
    {
        if (f.HostFd >= 0 && (f.Path.Length == 0 || f.Path.StartsWith("pipe:", StringComparison.Ordinal) || f.Path.StartsWith("anon_inode:", StringComparison.Ordinal) || f.Path.StartsWith("socket:", StringComparison.Ordinal)))
        {
            var buf = new byte[256];
            long n;
            fixed (byte* p = buf) n = LibC.ReadLinkAt(LibC.AT_FDCWD, LibC.Bytes("/proc/self/fd/" + f.HostFd), p, (uint)buf.Length);
            if (n > 0) return Encoding.UTF8.GetString(buf, 0, (int)n);
        }
        return PathResolver.GuestView(t.Kernel.Options.Sysroot, f.Path);
    }

    /// <summary>seq_show of fs/proc/fd.c: pos, flags (octal, with O_CLOEXEC from the table), mnt_id, ino.</summary>
    static string FdInfo(Task task, int fd, OpenFile f)
    {
        long pos = f.HostFd >= 0 ? Math.Max(0, LibC.LSeek(f.HostFd, 0, 1)) : f.SyntheticPos;
        int flags = f.Flags | 0x8000 | (task.Files.CloseOnExec(fd) ? LibC.O_CLOEXEC : 0);
        string mnt = "0", ino = "0";
        if (f.HostFd >= 0)
        {
            try
            {
                foreach (var line in File.ReadAllLines("/proc/self/fdinfo/" + f.HostFd))
                {
                    if (line.StartsWith("mnt_id:", StringComparison.Ordinal)) mnt = line[7..].Trim();
                    else if (line.StartsWith("ino:", StringComparison.Ordinal)) ino = line[4..].Trim();
                }
            }
            catch (Exception) { }
        }
        return $"pos:\t{pos}\nflags:\t0{Convert.ToString(flags, 8)}\nmnt_id:\t{mnt}\nino:\t{ino}\n";
    }

    static byte[] Range(Mm mm, uint a, uint b)
    {
        if (b <= a || b - a > 1 << 20) return Array.Empty<byte>();
        var buf = new byte[b - a];
        return mm.Space.CopyFromUser(a, buf) ? buf : Array.Empty<byte>();
    }

    /// <summary>A copy of the mappings that tolerates a concurrent mmap in the owning process (no lock guards
    /// AddressSpace.Vmas): a torn copy is retried, and only ever shows a mapping list that existed or is close.</summary>
    static List<Memory.Vma> Vmas(Mm mm)
    {
        for (int i = 0; i < 3; i++)
        {
            try
            {
                var l = mm.Space.Vmas.ToArray().Where(v => v != null).ToList();
                l.Sort((a, b) => a.Start.CompareTo(b.Start));
                return l;
            }
            catch (Exception) { }
        }
        return new List<Memory.Vma>();
    }

    /// <summary>(total, data+stack, stack, exec) pages of an address space (task_mem's counters, reduced).</summary>
    static (ulong Total, ulong Data, ulong Stack, ulong Text) Counts(Mm mm)
    {
        ulong total = 0, data = 0, stack = 0, text = 0;
        foreach (var v in Vmas(mm))
        {
            ulong pages = v.Length >> 12;
            total += pages;
            if (v.Name == "[stack]") stack += pages;
            else if ((v.Prot & Memory.Prot.Write) != 0 && !v.Shared) data += pages;
            if ((v.Prot & Memory.Prot.Exec) != 0 && v.Name != "[vdso]") text += pages;
        }
        return (total, data, stack, text);
    }

    static char State(ThreadGroup g, Task? task)
    {
        if (g.State == GroupState.Zombie || task == null) return 'Z';
        if (g.Stopped) return 'T';
        if (task.Exited) return 'X';
        if (task.HostThread == Thread.CurrentThread) return 'R';
        if (task.Sleeping != 0) return 'S'; // waiting in the kernel (TASK_INTERRUPTIBLE)
        // The host thread running the task is R while it runs guest code and S (or D) while a blocking call
        // sleeps on the host, which is what the guest thread's state is.
        return HostThreadState(task.HostTid);
    }

    static char HostThreadState(int hostTid)
    {
        if (hostTid <= 0) return 'S';
        try
        {
            var st = File.ReadAllText("/proc/self/task/" + hostTid + "/stat");
            int i = st.LastIndexOf(')');
            char c = i >= 0 && i + 2 < st.Length ? st[i + 2] : 'S';
            return c is 'R' or 'D' ? c : 'S';
        }
        catch (Exception) { return 'S'; }
    }

    static string StateName(char s) => s switch
    {
        'R' => "R (running)", 'S' => "S (sleeping)", 'D' => "D (disk sleep)", 'T' => "T (stopped)", 'Z' => "Z (zombie)", _ => "X (dead)",
    };

    static long CpuNs(ThreadGroup g, Task? task, bool whole)
    {
        if (!whole) return task != null ? task.CpuNs() : 0;
        long ns;
        lock (g.Threads)
        {
            ns = 0;
            foreach (var th in g.Threads) ns += th.CpuNs();
        }
        return ns;
    }

    /// <summary>do_task_stat (fs/proc/array.c): the 52 fields, whole-process values for /proc/PID/stat.</summary>
    static string Stat(KernelModel k, ThreadGroup g, Task? task, int pid, bool whole)
    {
        int ppid, pgid, sid, exitCode, nthreads, exitSignal;
        Rusage dead, children;
        char state = State(g, task);
        lock (k.TaskSet.Lock)
        {
            ppid = g.Ppid; pgid = g.Pgid; sid = g.Sid;
            exitCode = g.State == GroupState.Zombie || g.Exiting ? g.ExitCode : 0;
            dead = g.DeadThreadsUsage; children = g.ChildrenUsage;
            exitSignal = g.ExitSignal;
        }
        lock (g.Threads) nthreads = g.Threads.Count;
        if (!whole && task != null && task.Tid != g.Tgid) exitSignal = -1; // threads have no exit signal
        long utime = CpuNs(g, task, whole) + (whole ? dead.UtimeNs : 0), stime = whole ? dead.StimeNs : 0;
        ulong pending = 0, blocked = 0, ign = 0, cat = 0;
        if (task != null)
        {
            lock (task.Group.SigLock) { pending = task.Pending; blocked = task.Blocked; }
            lock (task.Sig.Lock)
                for (int s = 1; s <= 64; s++)
                {
                    uint h = task.Sig.Actions[s].Handler;
                    if (h == Signals.Sig.SIG_IGN) ign |= Signals.Sig.Bit(s);
                    else if (h != Signals.Sig.SIG_DFL) cat |= Signals.Sig.Bit(s);
                }
        }
        var mm = state != 'Z' && task != null ? task.Mm : null;
        ulong vsize = 0, rss = 0;
        if (mm != null) { var c = Counts(mm); vsize = c.Total << 12; rss = c.Total; }
        uint flags = 0x400000 | (!g.Execed && g.Parent != null ? 0x40u : 0); // PF_RANDOMIZE-era default, PF_FORKNOEXEC
        ulong rsslim = ulong.MaxValue;
        long start = (task?.StartNs ?? g.StartNs) / (1_000_000_000 / UserHz);
        int wchan = state == 'S' && (!whole || nthreads < 2) ? 1 : 0;
        var sb = new StringBuilder();
        sb.Append(pid).Append(" (").Append(CommOf(g, task)).Append(") ").Append(state);
        sb.Append(' ').Append(ppid).Append(' ').Append(pgid).Append(' ').Append(sid).Append(" 0 -1 ").Append(flags);
        sb.Append(" 0 0 0 0 ").Append(utime / 10_000_000).Append(' ').Append(stime / 10_000_000);
        sb.Append(' ').Append(children.UtimeNs / 10_000_000).Append(' ').Append(children.StimeNs / 10_000_000);
        sb.Append(" 20 0 ").Append(nthreads).Append(" 0 ").Append(start).Append(' ').Append(vsize).Append(' ').Append(rss);
        sb.Append(' ').Append(rsslim);
        if (mm != null) sb.Append(' ').Append(mm.StartCode).Append(' ').Append(mm.EndCode).Append(' ').Append(mm.StartStack);
        else sb.Append(" 0 0 0");
        sb.Append(" 0 0 ").Append(pending & 0x7fffffff).Append(' ').Append(blocked & 0x7fffffff).Append(' ').Append(ign & 0x7fffffff);
        sb.Append(' ').Append(cat & 0x7fffffff).Append(' ').Append(wchan).Append(" 0 0 ").Append(exitSignal).Append(" 0 0 0 0 0 0");
        if (mm != null)
            sb.Append(' ').Append(mm.StartData).Append(' ').Append(mm.EndData).Append(' ').Append(mm.Space.BrkStart)
              .Append(' ').Append(mm.ArgStart).Append(' ').Append(mm.ArgEnd).Append(' ').Append(mm.EnvStart).Append(' ').Append(mm.EnvEnd);
        else sb.Append(" 0 0 0 0 0 0 0");
        sb.Append(' ').Append(exitCode).Append('\n');
        return sb.ToString();
    }

    /// <summary>proc_pid_status: task_state, task_mem, task_sig, task_cap and the rest, as 6.1 prints them.</summary>
    static string Status(KernelModel k, ThreadGroup g, Task? task, int pid)
    {
        char state = State(g, task);
        int ppid, nthreads;
        lock (k.TaskSet.Lock) ppid = g.Ppid;
        lock (g.Threads) nthreads = g.Threads.Count;
        var c = g.Creds;
        var sb = new StringBuilder();
        sb.Append("Name:\t").Append(EscapeName(CommOf(g, task))).Append('\n');
        if (task != null && state != 'Z')
        {
            int um;
            lock (task.Fs.Lock) um = task.Fs.Umask;
            sb.Append("Umask:\t0").Append(Convert.ToString(um, 8).PadLeft(3, '0')).Append('\n');
        }
        sb.Append("State:\t").Append(StateName(state)).Append('\n');
        sb.Append("Tgid:\t").Append(g.Tgid).Append("\nNgid:\t0\nPid:\t").Append(task?.Tid ?? pid).Append("\nPPid:\t").Append(ppid);
        sb.Append("\nTracerPid:\t0\nUid:\t").Append(c.Uid).Append('\t').Append(c.Euid).Append('\t').Append(c.Euid).Append('\t').Append(c.Euid);
        sb.Append("\nGid:\t").Append(c.Gid).Append('\t').Append(c.Egid).Append('\t').Append(c.Egid).Append('\t').Append(c.Egid);
        sb.Append("\nFDSize:\t").Append(state == 'Z' ? 0 : 64).Append("\nGroups:\t \n");
        sb.Append("NStgid:\t").Append(g.Tgid).Append("\nNSpid:\t").Append(task?.Tid ?? pid);
        sb.Append("\nNSpgid:\t").Append(g.Pgid).Append("\nNSsid:\t").Append(g.Sid).Append('\n');
        var mm = state != 'Z' && task != null ? task.Mm : null;
        if (mm != null)
        {
            var n = Counts(mm);
            string K(ulong pages) => ((pages << 2).ToString().PadLeft(8)) + " kB\n";
            sb.Append("VmPeak:\t").Append(K(n.Total)).Append("VmSize:\t").Append(K(n.Total)).Append("VmLck:\t").Append(K(0));
            sb.Append("VmPin:\t").Append(K(0)).Append("VmHWM:\t").Append(K(n.Total)).Append("VmRSS:\t").Append(K(n.Total));
            sb.Append("RssAnon:\t").Append(K(n.Data + n.Stack)).Append("RssFile:\t").Append(K(n.Total - n.Data - n.Stack));
            sb.Append("RssShmem:\t").Append(K(0)).Append("VmData:\t").Append(K(n.Data)).Append("VmStk:\t").Append(K(n.Stack));
            sb.Append("VmExe:\t").Append(K(mm.EndCode > mm.StartCode ? (mm.EndCode - mm.StartCode + 4095) >> 12 : 0));
            sb.Append("VmLib:\t").Append(K(0)).Append("VmPTE:\t").Append(K(0)).Append("VmSwap:\t").Append(K(0));
            sb.Append("HugetlbPages:\t").Append(K(0)).Append("CoreDumping:\t0\nTHP_enabled:\t1\n");
        }
        ulong pending = 0, blocked = 0, shared, ign = 0, cat = 0;
        lock (g.SigLock) shared = g.Shared.Signal;
        if (task != null)
        {
            lock (task.Group.SigLock) { pending = task.Pending; blocked = task.Blocked; }
            lock (task.Sig.Lock)
                for (int s = 1; s <= 64; s++)
                {
                    uint h = task.Sig.Actions[s].Handler;
                    if (h == Signals.Sig.SIG_IGN) ign |= Signals.Sig.Bit(s);
                    else if (h != Signals.Sig.SIG_DFL) cat |= Signals.Sig.Bit(s);
                }
        }
        sb.Append("Threads:\t").Append(nthreads).Append("\nSigQ:\t0/63844\n");
        sb.Append("SigPnd:\t").Append(pending.ToString("x16")).Append("\nShdPnd:\t").Append(shared.ToString("x16"));
        sb.Append("\nSigBlk:\t").Append(blocked.ToString("x16")).Append("\nSigIgn:\t").Append(ign.ToString("x16"));
        sb.Append("\nSigCgt:\t").Append(cat.ToString("x16")).Append('\n');
        sb.Append("CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n");
        sb.Append("CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n");
        int cpus = Math.Clamp(Environment.ProcessorCount, 1, 64);
        ulong aff = (task?.Affinity ?? ulong.MaxValue) & (cpus == 64 ? ulong.MaxValue : (1UL << cpus) - 1);
        sb.Append("Cpus_allowed:\t").Append(aff.ToString("x")).Append("\nCpus_allowed_list:\t").Append(CpuList(aff)).Append('\n');
        sb.Append("voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
        return sb.ToString();
    }

    static string CpuList(ulong m)
    {
        var parts = new List<string>();
        for (int i = 0; i < 64; i++)
        {
            if ((m & (1UL << i)) == 0) continue;
            int j = i;
            while (j + 1 < 64 && (m & (1UL << (j + 1))) != 0) j++;
            parts.Add(i == j ? i.ToString() : $"{i}-{j}");
            i = j;
        }
        return string.Join(',', parts);
    }

    /// <summary>proc_task_name(escape=true) for status: backslash and newline escaped (ESCAPE_SPACE | ESCAPE_SPECIAL).</summary>
    static string EscapeName(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\t", "\\t");

    /// <summary>proc_pid_statm: size resident shared text lib data dt, in pages.</summary>
    static string Statm(Task? task, bool alive)
    {
        if (!alive || task == null) return "0 0 0 0 0 0 0\n";
        var mm = task.Mm;
        var n = Counts(mm);
        ulong text = mm.EndCode > mm.StartCode ? (mm.EndCode - mm.StartCode + 4095) >> 12 : 0;
        return $"{n.Total} {n.Total} {n.Total - n.Data - n.Stack} {text} 0 {n.Data + n.Stack} 0\n";
    }

    /// <summary>proc_pid_limits.</summary>
    static string Limits(ThreadGroup g)
    {
        string[] names = { "Max cpu time", "Max file size", "Max data size", "Max stack size", "Max core file size",
            "Max resident set", "Max processes", "Max open files", "Max locked memory", "Max address space",
            "Max file locks", "Max pending signals", "Max msgqueue size", "Max nice priority", "Max realtime priority",
            "Max realtime timeout" };
        string[] units = { "seconds", "bytes", "bytes", "bytes", "bytes", "bytes", "processes", "files", "bytes", "bytes",
            "locks", "signals", "bytes", "", "", "us" };
        var sb = new StringBuilder();
        sb.Append("Limit".PadRight(26)).Append("Soft Limit".PadRight(21)).Append("Hard Limit".PadRight(21)).Append("Units".PadRight(10)).Append('\n');
        for (int i = 0; i < names.Length; i++)
        {
            var (cur, max) = g.Limits.Get(i);
            string V(ulong v) => (v == ulong.MaxValue ? "unlimited" : v.ToString()).PadRight(21);
            sb.Append(names[i].PadRight(26)).Append(V(cur)).Append(V(max));
            sb.Append(units[i].Length > 0 ? units[i].PadRight(10) : "").Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>show_map_vma / show_smap: the header is padded to the width a 64-bit kernel uses (25 + 6 *
    /// sizeof(void *) - 1), a 32-bit kernel's for the i386 model.</summary>
    public static string Maps(Task t, Mm mm, bool smaps)
    {
        int width = 25 + 6 * (t.Kernel.Model.Kernel64 ? 8 : 4) - 1;
        var sb = new StringBuilder();
        foreach (var v in Vmas(mm))
        {
            int lineStart = sb.Length;
            var prot = v.Prot;
            sb.Append(v.Start.ToString("x8")).Append('-').Append(v.End == 0 ? "100000000" : v.End.ToString("x8")).Append(' ');
            sb.Append((prot & Memory.Prot.Read) != 0 ? 'r' : '-');
            sb.Append((prot & Memory.Prot.Write) != 0 ? 'w' : '-');
            sb.Append((prot & Memory.Prot.Exec) != 0 ? 'x' : '-');
            sb.Append(v.Shared ? 's' : 'p');
            sb.Append(' ').Append(v.Offset.ToString("x8")).Append(" 00:00 ").Append(v.Inode).Append(' ');
            if (v.Name.Length > 0)
            {
                int pad = width - (sb.Length - lineStart);
                if (pad > 0) sb.Append(' ', pad);
                sb.Append(' ').Append(v.Name);
            }
            sb.Append('\n');
            if (!smaps) continue;
            string D(string label, ulong bytes) => label + (bytes >> 10).ToString().PadLeft(8) + " kB\n";
            ulong len = v.Length;
            bool anon = v.Inode == 0;
            sb.Append(D("Size:           ", len)).Append(D("KernelPageSize: ", 4096)).Append(D("MMUPageSize:    ", 4096));
            sb.Append(D("Rss:            ", len)).Append(D("Pss:            ", len)).Append(D("Pss_Dirty:      ", anon ? len : 0));
            sb.Append(D("Shared_Clean:   ", 0)).Append(D("Shared_Dirty:   ", 0));
            sb.Append(D("Private_Clean:  ", anon ? 0 : len)).Append(D("Private_Dirty:  ", anon ? len : 0));
            sb.Append(D("Referenced:     ", len)).Append(D("Anonymous:      ", anon ? len : 0)).Append(D("KSM:            ", 0));
            sb.Append(D("LazyFree:       ", 0)).Append(D("AnonHugePages:  ", 0)).Append(D("ShmemPmdMapped: ", 0));
            sb.Append(D("FilePmdMapped:  ", 0)).Append(D("Shared_Hugetlb: ", 0)).Append("Private_Hugetlb:        0 kB\n");
            sb.Append(D("Swap:           ", 0)).Append(D("SwapPss:        ", 0)).Append(D("Locked:         ", 0));
            sb.Append("THPeligible:    0\nVmFlags:");
            if ((prot & Memory.Prot.Read) != 0) sb.Append(" rd");
            if ((prot & Memory.Prot.Write) != 0) sb.Append(" wr");
            if ((prot & Memory.Prot.Exec) != 0) sb.Append(" ex");
            if (v.Shared) sb.Append(" sh");
            sb.Append(" mr mw me");
            if (v.Shared) sb.Append(" ms");
            if (anon) sb.Append(" ac");
            sb.Append(" \n");
        }
        return sb.ToString();
    }

    // ---- the calls FsCalls makes

    public static string? ReadLink(Task t, byte[] pathBytes)
    {
        var e = Resolve(t, Encoding.UTF8.GetString(pathBytes), follow: false);
        return e?.Type == ProcType.Link ? e.Target : null;
    }

    /// <summary>The host path a /proc path stands for (/proc/self/exe → the program, fd/N → the host fd), or
    /// the content of a synthetic file; null for both otherwise (execve's lookup).</summary>
    public static string? Lookup(Task t, byte[] pathBytes, out byte[]? content)
    {
        var e = Resolve(t, Encoding.UTF8.GetString(pathBytes), follow: true);
        content = e?.Type == ProcType.File ? e.Content : null;
        return e?.Type == ProcType.Host ? e.Target : null;
    }

    /// <summary>open(2) under /proc: an OpenFile, an errno, or null (a host path).</summary>
    public static object? TryOpen(Task t, byte[] pathBytes, int flags)
    {
        var p = Encoding.UTF8.GetString(pathBytes);
        var e = Resolve(t, p, follow: (flags & LibC.O_NOFOLLOW) == 0);
        if (e == null) return null;
        int acc = flags & 3;
        switch (e.Type)
        {
            case ProcType.Error: return e.Error;
            case ProcType.Link: return -Errno.ELOOP; // O_NOFOLLOW on a link
            case ProcType.Host:
            {
                int hfd = LibC.OpenAt(LibC.AT_FDCWD, LibC.Bytes(e.Target!), flags | LibC.O_CLOEXEC, 0);
                if (hfd < 0) return hfd;
                return new OpenFile { HostFd = hfd, Flags = flags & ~LibC.O_CLOEXEC, Path = e.Target!, Kind = FileKind.Unknown };
            }
            case ProcType.Dir:
                if (acc != LibC.O_RDONLY) return -Errno.EISDIR;
                return new ProcDir { Entries = e.Entries!, Flags = flags & ~LibC.O_CLOEXEC, Path = e.Canonical, IsDirectory = true, Uid = e.Uid, Gid = e.Gid, Kind = FileKind.Directory };
            default:
                if ((flags & LibC.O_DIRECTORY) != 0) return -Errno.ENOTDIR;
                if (acc != LibC.O_RDONLY && e.CommOf == null) return -Errno.EACCES;
                return new ProcFile { Synthetic = e.Content, Flags = flags & ~LibC.O_CLOEXEC, Path = p, CommOf = acc != LibC.O_RDONLY ? e.CommOf : null, Kind = FileKind.Regular };
        }
    }

    /// <summary>comm_write: up to TASK_COMM_LEN - 1 bytes become the comm (a newline included), for a thread of the
    /// writer's own process only (-EINVAL otherwise).</summary>
    public static int WriteComm(Task t, ProcFile f, ReadOnlySpan<byte> data, int count)
    {
        var target = f.CommOf!;
        if (target.Group != t.Group) return -Errno.EINVAL;
        var b = data[..Math.Min(data.Length, 15)];
        int nul = b.IndexOf((byte)0);
        if (nul >= 0) b = b[..nul];
        target.Comm = Encoding.UTF8.GetString(b);
        return count;
    }
}
