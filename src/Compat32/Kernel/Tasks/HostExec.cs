using System.Runtime.InteropServices;
using Compat32.Kernel.Signals;
using Compat32.Kernel.Syscalls;
using Compat32.Kernel.Vfs;

namespace Compat32.Kernel;

/// <summary>
/// execve of a host-native program (e.g. the host's /bin/sh when no sysroot provides one): it runs as a host child
/// process with the guest process's descriptors, cwd, environment and signal mask, and the guest process stands
/// for it: signals sent to the guest process are forwarded, and the child's exit status (or death signal) becomes
/// the guest process's, so the guest parent's wait sees it as if the program had run inside.
/// </summary>
public static unsafe partial class HostExec
{
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_init(byte* fa);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_destroy(byte* fa);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_adddup2(byte* fa, int fd, int newfd);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_addfchdir_np(byte* fa, int fd);
    [LibraryImport("libc")] private static partial int posix_spawnattr_init(byte* at);
    [LibraryImport("libc")] private static partial int posix_spawnattr_destroy(byte* at);
    [LibraryImport("libc")] private static partial int posix_spawnattr_setflags(byte* at, short flags);
    [LibraryImport("libc")] private static partial int posix_spawnattr_setsigmask(byte* at, ulong* mask);
    [LibraryImport("libc")] private static partial int posix_spawnattr_setsigdefault(byte* at, ulong* mask);
    [LibraryImport("libc")] private static partial int posix_spawn(int* pid, byte* path, byte* fa, byte* at, byte** argv, byte** envp);
    [LibraryImport("libc", SetLastError = true)] private static partial int waitpid(int pid, int* status, int options);
    [LibraryImport("libc")] private static partial int kill(int pid, int sig);
    [LibraryImport("libc", EntryPoint = "syscall")] private static partial long syscall2(long nr, long a, long b);

    const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;

    /// <summary>Is this a program the host runs itself (an ELF for the host's machine)?</summary>
    public static bool IsHostProgram(Vfs.ProgramImage img)
    {
        try { return IsHostProgram(img.Span); }
        finally { GC.KeepAlive(img); }
    }

    static bool IsHostProgram(ReadOnlySpan<byte> file)
    {
        if (file.Length < 20 || file[0] != 0x7F || file[1] != 'E' || file[2] != 'L' || file[3] != 'F' || file[4] != 2) return false;
        ushort machine = (ushort)(file[18] | file[19] << 8);
        return RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => machine == 62,      // EM_X86_64
            Architecture.Arm64 => machine == 183,   // EM_AARCH64
            _ => false,
        };
    }

    /// <summary>Spawn the host program and make this guest process wait for it; returns when it has ended (the
    /// process then exits with its status), or -errno if it could not be started.</summary>
    public static int Run(Task t, string hostPath, List<byte[]> argv, List<byte[]> envp)
    {
        // The descriptors the program gets: every guest fd without close-on-exec, at the same number. Sources are
        // first duplicated above every target so that the dup2 sequence cannot overwrite one it still needs.
        var temps = new List<int>();
        byte* fa = stackalloc byte[512];
        byte* at = stackalloc byte[1024];
        posix_spawn_file_actions_init(fa);
        posix_spawnattr_init(at);
        int pid = 0, rc;
        try
        {
            foreach (var (fd, f) in t.Files.All())
            {
                if (t.Files.CloseOnExec(fd) || f.HostFd < 0) continue;
                int tmp = LibC.Fcntl(f.HostFd, 1030 /* F_DUPFD_CLOEXEC */, 4096);
                if (tmp < 0) continue;
                // A guest socket's host description is O_NONBLOCK for compat32's own waits; the host program gets
                // the guest's mode (compat32's calls on it pass MSG_DONTWAIT, so they keep working).
                if (f is Net.SocketFile && (f.Flags & LibC.O_NONBLOCK) == 0 && LibC.Fcntl(tmp, 3, 0) is int hfl and >= 0)
                    LibC.Fcntl(tmp, 4, hfl & ~LibC.O_NONBLOCK);
                temps.Add(tmp);
                posix_spawn_file_actions_adddup2(fa, tmp, fd);
            }
            if (t.Fs.CwdFd >= 0) posix_spawn_file_actions_addfchdir_np(fa, t.Fs.CwdFd);
            // Signal state as execve leaves it: the mask kept, ignored signals stay ignored, the rest default.
            ulong* mask = stackalloc ulong[16];
            ulong* def = stackalloc ulong[16];
            new Span<ulong>(mask, 16).Clear();
            new Span<ulong>(def, 16).Clear();
            mask[0] = t.Blocked;
            ulong d = 0;
            for (int s = 1; s <= 64; s++)
                if (s != Sig.SIGKILL && s != Sig.SIGSTOP && t.Sig.Actions[s].Handler != Sig.SIG_IGN) d |= Sig.Bit(s);
            def[0] = d;
            posix_spawnattr_setsigmask(at, mask);
            posix_spawnattr_setsigdefault(at, def);
            posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

            var pins = new List<GCHandle>();
            byte** av = stackalloc byte*[argv.Count + 1];
            byte** ev = (byte**)NativeMemory.Alloc((nuint)(envp.Count + 1), (nuint)sizeof(byte*));
            try
            {
                for (int i = 0; i < argv.Count; i++) av[i] = Pin(Z(argv[i]), pins);
                av[argv.Count] = null;
                for (int i = 0; i < envp.Count; i++) ev[i] = Pin(Z(envp[i]), pins);
                ev[envp.Count] = null;
                byte* path = Pin(Z(LibC.Bytes(hostPath)), pins);
                rc = posix_spawn(&pid, path, fa, at, av, ev);
            }
            finally
            {
                foreach (var h in pins) h.Free();
                NativeMemory.Free(ev);
            }
        }
        finally
        {
            foreach (var x in temps) LibC.Close(x);
            posix_spawn_file_actions_destroy(fa);
            posix_spawnattr_destroy(at);
        }
        if (rc != 0) return -rc;

        int status = WaitForHostChild(t, pid);
        if ((status & 0x7F) == 0) Exit.GroupExit(t, (status >> 8) & 0xFF, signal: false);
        else Exit.GroupExit(t, status & 0x7F, signal: true, core: (status & 0x80) != 0);
        return 0;
    }

    static byte[] Z(byte[] s) { var b = new byte[s.Length + 1]; s.CopyTo(b, 0); return b; }
    static byte* Pin(byte[] b, List<GCHandle> pins) { var h = GCHandle.Alloc(b, GCHandleType.Pinned); pins.Add(h); return (byte*)h.AddrOfPinnedObject(); }

    /// <summary>Sleep until the host child ends, forwarding every signal the guest process receives meanwhile
    /// (the child has the disposition now). Returns the host wait status.</summary>
    static int WaitForHostChild(Task t, int pid)
    {
        const int SYS_pidfd_open = 434;
        int pfd = RuntimeInformation.ProcessArchitecture == Architecture.X64 || RuntimeInformation.ProcessArchitecture == Architecture.Arm64
            ? (int)syscall2(SYS_pidfd_open, pid, 0) : -1;
        Span<byte> pollfd = stackalloc byte[8];
        int status = 0;
        try
        {
            while (true)
            {
                int r = waitpid(pid, &status, 1 /* WNOHANG */);
                if (r == pid) return status;
                if (r < 0) return 0;
                // Forward what the guest process was sent.
                while (t.Kernel.Signals.Dequeue(t, ulong.MaxValue, out var info) is int sig and > 0)
                    kill(pid, sig);
                if (t.Exited) kill(pid, Sig.SIGKILL);
                if (pfd >= 0)
                {
                    U.W32(pollfd, 0, pfd); U.W16(pollfd, 4, 1); U.W16(pollfd, 6, 0);
                    fixed (byte* p = pollfd) LibC.Poll(p, 1, 20);
                }
                else Thread.Sleep(2);
            }
        }
        finally
        {
            if (pfd >= 0) LibC.Close(pfd);
        }
    }
}
