using System.Runtime.InteropServices;

namespace Compat32.Cli;

/// <summary>
/// compat32 must return to its caller when the first guest process exits, as the program itself would, while
/// guest processes that outlive it (a daemon that double-forked, `sh -c 'sleep 100 &'`) keep running. All guest
/// processes live in one host process, and the .NET runtime cannot fork, so a run is two host processes: the front
/// (the process the caller started and waits for) starts the engine (this same program, told so by
/// COMPAT32_ENGINE_FD) with the same arguments, descriptors and process group, and waits on a pipe. The engine runs
/// every guest; when the first one exits it writes "exit N" and the front exits with N; the engine carries on,
/// without the caller's descriptors, until its last guest is gone. "stop" asks the front to stop itself (the first
/// guest process was stopped from the terminal), so the caller's shell sees its job stop.
/// Terminal signals (^C, ^\, ^Z, hangup) reach both processes (same process group); only the engine acts on them.
/// SIGTERM sent to the front alone is passed on. If the front is killed, the engine dies with it (PR_SET_PDEATHSIG)
/// until the first guest has exited.
/// </summary>
public static unsafe partial class Front
{
    public const string EngineFdVar = "COMPAT32_ENGINE_FD";

    [LibraryImport("libc", SetLastError = true)] private static partial int pipe2(int* fds, int flags);
    [LibraryImport("libc")] private static partial int close(int fd);
    [LibraryImport("libc", SetLastError = true)] private static partial nint read(int fd, byte* buf, nuint n);
    [LibraryImport("libc", SetLastError = true)] private static partial nint write(int fd, byte* buf, nuint n);
    [LibraryImport("libc", SetLastError = true)] private static partial int waitpid(int pid, int* status, int options);
    [LibraryImport("libc")] private static partial int kill(int pid, int sig);
    [LibraryImport("libc")] private static partial int getpid();
    [LibraryImport("libc")] private static partial int getppid();
    [LibraryImport("libc")] private static partial int prctl(int option, nuint a2, nuint a3, nuint a4, nuint a5);
    [LibraryImport("libc", SetLastError = true)] private static partial int dup2(int a, int b);
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)] private static partial int open(string path, int flags);
    [LibraryImport("libc")] private static partial int posix_spawn(int* pid, byte* path, void* fa, void* at, byte** argv, byte** envp);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_init(byte* fa);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_destroy(byte* fa);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_addclose(byte* fa, int fd);
    [LibraryImport("libc", SetLastError = true)] private static partial int fcntl(int fd, int cmd, int arg);

    const int O_CLOEXEC = 0x80000, PR_SET_PDEATHSIG = 1, SIGKILL = 9, SIGTERM = 15, SIGSTOP = 19;

    /// <summary>Is this process the engine? (Set up: the status pipe, and death with the front.)</summary>
    public static Engine? AsEngine()
    {
        var v = Environment.GetEnvironmentVariable(EngineFdVar);
        if (v == null || !int.TryParse(v, out int fd) || fd < 3) return null;
        Environment.SetEnvironmentVariable(EngineFdVar, null);
        int front = getppid();
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != front) Environment.Exit(137); // the front died before we could tie ourselves to it
        // .NET's console writers hold their own duplicates of 1 and 2: make them ours, so that letting go of the
        // caller's descriptors (Engine.Exited) really closes every copy.
        var e = new Engine(fd);
        Console.SetOut(e.Out = Writer(1));
        Console.SetError(e.Err = Writer(2));
        return e;
    }

    /// <summary>The front should be used: a normal run, not already the engine, not turned off (COMPAT32_FRONT=0).</summary>
    public static bool Wanted => Environment.GetEnvironmentVariable(EngineFdVar) == null
                                 && Environment.GetEnvironmentVariable("COMPAT32_FRONT") != "0"
                                 && Environment.ProcessPath != null;

    /// <summary>Start the engine with our own arguments and wait for the first guest process's status.</summary>
    public static int Run(string[] args)
    {
        int* p = stackalloc int[2];
        if (pipe2(p, O_CLOEXEC) != 0) return -1;
        int rd = p[0], wr = p[1];
        // The engine's end must survive exec: a dup without O_CLOEXEC, numbered above the standard descriptors.
        int child = fcntl(wr, 0 /* F_DUPFD */, 10);
        close(wr);
        if (child < 0) { close(rd); return -1; }
        int pid = 0, rc;
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry kv in Environment.GetEnvironmentVariables()) env.Add(kv.Key + "=" + kv.Value);
        env.Add(EngineFdVar + "=" + child);
        var argv = new List<string> { Environment.ProcessPath! };
        argv.AddRange(args);
        byte* fa = stackalloc byte[256];
        posix_spawn_file_actions_init(fa);
        posix_spawn_file_actions_addclose(fa, rd);
        var pins = new List<GCHandle>();
        byte** av = (byte**)NativeMemory.Alloc((nuint)(argv.Count + 1), (nuint)sizeof(byte*));
        byte** ev = (byte**)NativeMemory.Alloc((nuint)(env.Count + 1), (nuint)sizeof(byte*));
        try
        {
            for (int i = 0; i < argv.Count; i++) av[i] = Pin(argv[i], pins);
            av[argv.Count] = null;
            for (int i = 0; i < env.Count; i++) ev[i] = Pin(env[i], pins);
            ev[env.Count] = null;
            rc = posix_spawn(&pid, av[0], fa, null, av, ev);
        }
        finally
        {
            foreach (var h in pins) h.Free();
            NativeMemory.Free(av); NativeMemory.Free(ev);
            posix_spawn_file_actions_destroy(fa);
            close(child);
        }
        if (rc != 0) { close(rd); return -1; }

        // Terminal signals go to the whole process group: the engine acts on them; we must not die or stop.
        var regs = new List<IDisposable>();
        foreach (var s in new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGTSTP, PosixSignal.SIGHUP, PosixSignal.SIGTTIN, PosixSignal.SIGTTOU })
            regs.Add(PosixSignalRegistration.Create(s, ctx => ctx.Cancel = true));
        int engine = pid;
        regs.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; kill(engine, SIGTERM); }));

        var line = new List<byte>();
        byte b;
        while (true)
        {
            nint n = read(rd, &b, 1);
            if (n < 0 && Marshal.GetLastPInvokeError() == 4 /* EINTR */) continue;
            if (n <= 0) break;
            if (b != '\n') { line.Add(b); continue; }
            string msg = System.Text.Encoding.ASCII.GetString(line.ToArray());
            line.Clear();
            if (msg == "stop") { kill(getpid(), SIGSTOP); continue; }
            if (msg.StartsWith("exit ", StringComparison.Ordinal) && int.TryParse(msg[5..], out int code)) { close(rd); return code; }
        }
        close(rd);
        // No status: the engine failed before the first guest ran (bad ELF, bad options): its exit code is ours.
        int st = 0;
        while (waitpid(engine, &st, 0) < 0 && Marshal.GetLastPInvokeError() == 4) { }
        return (st & 0x7F) == 0 ? (st >> 8) & 0xFF : 128 + (st & 0x7F);
    }

    [LibraryImport("libc")] private static partial int dup(int fd);

    static StreamWriter Writer(int fd) =>
        new(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(dup(fd), ownsHandle: true), FileAccess.Write, 1)) { AutoFlush = true };

    static byte* Pin(string s, List<GCHandle> pins)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(s + "\0");
        var h = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        pins.Add(h);
        return (byte*)h.AddrOfPinnedObject();
    }

    /// <summary>The engine's side of the status pipe.</summary>
    public sealed class Engine
    {
        int fd;
        internal StreamWriter? Out, Err;
        internal Engine(int fd) { this.fd = fd; }

        public void Stop() => Send("stop\n");

        /// <summary>The first guest process has exited with code: the front returns it; we stop dying with the front
        /// and let go of the caller's descriptors (the guests hold their own copies).</summary>
        public void Exited(int code)
        {
            prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
            Console.SetOut(TextWriter.Null);
            Console.SetError(TextWriter.Null);
            try { Out?.Dispose(); Err?.Dispose(); } catch (IOException) { }
            Send($"exit {code}\n");
            close(fd);
            fd = -1;
            int dn = open("/dev/null", 2 /* O_RDWR */);
            if (dn >= 0) { dup2(dn, 0); dup2(dn, 1); dup2(dn, 2); if (dn > 2) close(dn); }
        }

        void Send(string s)
        {
            if (fd < 0) return;
            var b = System.Text.Encoding.ASCII.GetBytes(s);
            fixed (byte* p = b) write(fd, p, (nuint)b.Length);
        }
    }
}
