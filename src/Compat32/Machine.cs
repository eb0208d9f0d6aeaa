using Compat32.Kernel.Syscalls;
using Compat32.Cpu;
using Compat32.Elf;
using Compat32.Kernel;
using Compat32.Kernel.Vfs;
using Compat32.Memory;

namespace Compat32;

/// <summary>How a guest ended: its wait status, decoded.</summary>
public readonly record struct GuestExit(int Status, int Signal, bool Core, uint? FaultAddr)
{
    /// <summary>The shell's view: exit code, or 128 + signal.</summary>
    public int ShellCode => Signal != 0 ? 128 + Signal : (Status >> 8) & 0xFF;
}

/// <summary>
/// One bootable machine: a CPU model, the kernel model, the vDSO, and the tasks. Data flows
/// ELF → Loader → AddressSpace → Processor → SyscallEntry → KernelModel → exit → Processor.
/// </summary>
public sealed class Machine
{
    public readonly KernelModel Kernel;
    public CpuModel Model => Kernel.Model;
    public Kernel.Task? Init { get; private set; }

    public Machine(CpuModel model, KernelOptions options)
    {
        Kernel = new KernelModel(model, options);
    }

    /// <summary>Create the first process from an ELF file (what execve does for PID 1 of this machine).</summary>
    public Kernel.Task Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp)
    {
        var file = Loader.ReadExecutable(path, Kernel.Options.Sysroot, out var resolved);
        var mem = new AddressSpace();
        var cpu = new Processor(Model, mem, jitThreshold: Kernel.Options.JitThreshold);
        cpu.TscSource = Kernel.ReadTsc;
        cpu.Gdt = Kernel.BuildGdt();
        Kernel.InitMsrs(cpu.S);
        int pid = Kernel.TaskSet.AllocPid();
        var group = new ThreadGroup(pid, Kernel.Creds, Rlimits.FromHost()) { HostPpid = SafeHostPid() };
        var files = new FdTable { Limit = (int)Math.Min(group.Limits.Get(Rlimits.RLIMIT_NOFILE).Item1, (ulong)FdTable.Max) };
        for (int fd = 0; fd < 3; fd++)
        {
            int h = LibC.Dup(fd);
            if (h < 0) continue;
            LibC.Fcntl(h, 2, 1); // FD_CLOEXEC on the host side: our children are not the guest's
            int acc = fd == 0 ? LibC.O_RDONLY : LibC.O_WRONLY;
            int hf = LibC.Fcntl(h, 3, 0);
            if (hf >= 0) acc = hf & 3;
            var kind = LibC.IsATty(h) ? FileKind.Terminal : FileKind.Unknown;
            files.InstallAt(fd, new OpenFile { HostFd = h, Flags = acc, Path = HostName(fd) ?? StdNames[fd], Kind = kind }, false);
        }
        string cwd = PathResolver.GuestView(Kernel.Options.Sysroot, Directory.GetCurrentDirectory());
        int cwdFd = LibC.OpenAt(LibC.AT_FDCWD, LibC.Bytes("."), LibC.O_PATH | LibC.O_DIRECTORY | LibC.O_CLOEXEC, 0);
        var fs = new FsContext(cwdFd, cwd);
        var mm = new Mm(mem);
        var t = new Kernel.Task(Kernel, pid, group, mm, files, new SigHand(), fs, cpu);
        t.Comm = Path.GetFileName(path).Length > 15 ? Path.GetFileName(path)[..15] : Path.GetFileName(path);
        lock (Kernel.TaskSet.Lock) { Kernel.TaskSet.AddLocked(t); Kernel.TaskSet.Init = group; }
        // The first process leads a session whose controlling terminal is the host's, when there is one.
        if (LibC.IsATty(0) && Kernel.HostTty == null)
        {
            Kernel.HostTty = new Tty { Sid = pid, Pgid = pid };
            group.Tty = Kernel.HostTty;
        }
        Loader.ExecResult res;
        try { res = Loader.Exec(t, file, AbsoluteExePath(path), argv, envp); }
        catch
        {
            // the exec failed (bad ELF, no interpreter): what the task holds goes back, as in bprm's failure path,
            // so an embedder that spawns again (the ELF fuzzer's in-process loads) leaks no descriptors
            Release(t);
            throw;
        }
        t.Auxv = res.Auxv;
        Loader.InitRegisters(cpu, Model, res.Entry, res.Sp);
        Init = t;
        return t;
    }

    /// <summary>Drops the first process of a machine that was never run: its descriptors, working directory and
    /// address space (what do_exit would release).</summary>
    public void Discard()
    {
        if (Init is { } t) { Init = null; Release(t); }
    }

    void Release(Kernel.Task t)
    {
        lock (Kernel.TaskSet.Lock) { Kernel.TaskSet.RemoveTaskLocked(t); Kernel.TaskSet.RemoveGroupLocked(t.Group); }
        t.Files.Release();
        t.Fs.Release();
        Compat32.Kernel.Exit.ReleaseMm(t.Mm);
    }

    /// <summary>What the caller's descriptor names (/dev/null, /dev/pts/3, pipe:[...]), as /proc/self/fd shows it.</summary>
    static unsafe string? HostName(int fd)
    {
        var buf = new byte[4096];
        long n;
        fixed (byte* p = buf) n = LibC.ReadLinkAt(LibC.AT_FDCWD, LibC.Bytes("/proc/self/fd/" + fd), p, (uint)buf.Length);
        return n > 0 ? System.Text.Encoding.UTF8.GetString(buf, 0, (int)n) : null;
    }

    static readonly string[] StdNames = { "/dev/stdin", "/dev/stdout", "/dev/stderr" };

    static string AbsoluteExePath(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(path);

    static int SafeHostPid() { try { return LibC.getpid(); } catch { return 1; } }

    /// <summary>Wait until every guest task has exited (processes that outlived the first one).</summary>
    public void WaitForAllTasks()
    {
        while (Kernel.TaskSet.TaskCount > 0) Thread.Sleep(20);
    }

    /// <summary>Run the first process until it has exited (its threads run on their own host threads, and so do
    /// the processes it starts); returns how it ended.</summary>
    public GuestExit Run()
    {
        var t = Init ?? throw new InvalidOperationException("no program loaded");
        var g = t.Group;
        Fork.Start(t);
        g.Ended.Wait();
        int sig = g.FatalSignal;
        return new GuestExit(g.ExitCode, sig, g.FatalCore, g.FatalAddr);
    }
}
