using System.Text;
using Compat32.Cpu;
using Compat32.Elf;
using Compat32.Entry;
using Compat32.Kernel.Vfs;
using Compat32.Memory;

namespace Compat32.Kernel;

/// <summary>execve (fs/exec.c, fs/binfmt_script.c, fs/binfmt_elf.c): find the program, de_thread, a new address
/// space, close-on-exec, signal state reset, start_thread.</summary>
public static class Exec
{
    /// <summary>BINPRM_MAX_RECURSION: binfmt handlers (#! scripts) may nest this deep.</summary>
    const int MaxRecursion = 4;
    /// <summary>BINPRM_BUF_SIZE: how much of a #! line the kernel reads.</summary>
    const int BufSize = 256;
    /// <summary>MAX_ARG_STRLEN and the total the stack may take (a quarter of the 8 MiB stack rlimit).</summary>
    const int MaxArgStrlen = 32 * 4096, MaxArgTotal = 2 << 20;

    /// <summary>Read a NULL-terminated array of string pointers (get_user_arg_ptr/copy_strings): -EFAULT on a
    /// bad pointer, -E2BIG past the limits.</summary>
    public static int ReadStrings(Task t, uint arr, List<byte[]> into, ref long total)
    {
        if (arr == 0) return 0;
        for (int i = 0; ; i++)
        {
            if (i >= 0x7FFFFFFF / 4) return -Errno.E2BIG;
            if (!t.Mem.ReadU32(arr + (uint)i * 4, out uint p)) return -Errno.EFAULT;
            if (p == 0) return 0;
            var s = t.Mem.ReadCStringBytes(p, MaxArgStrlen);
            if (s == null) return t.Mem.CanRead(p, 1) ? -Errno.E2BIG : -Errno.EFAULT;
            total += s.Length + 1 + 4;
            if (total > MaxArgTotal) return -Errno.E2BIG;
            into.Add(s);
        }
    }

    /// <summary>do_execveat_common: path bytes (already read), argv and envp as byte strings.</summary>
    public static int Execve(Task t, int dirfd, byte[] path, List<byte[]> argv, List<byte[]> envp, int flags)
    {
        const int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
        if ((flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) != 0) return -Errno.EINVAL;
        string guestPath;
        ProgramImage file;
        string hostPath;
        int r;
        if (path.Length == 0)
        {
            if ((flags & AT_EMPTY_PATH) == 0) return -Errno.ENOENT;
            var f = t.Files.Get(dirfd);
            if (f == null) return -Errno.EBADF;
            guestPath = "/dev/fd/" + dirfd;
            hostPath = "/proc/self/fd/" + f.HostFd;
        }
        else
        {
            // /proc/self/exe and friends name the guest's program, not the emulator.
            path = Redirect(t, path);
            r = PathResolver.Resolve(t, dirfd, path, out var hp);
            if (r < 0) return r;
            guestPath = Encoding.UTF8.GetString(path);
            r = HostPathOf(t, hp, out hostPath);
            if (r < 0) return r;
        }
        r = ReadProgram(hostPath, out file);
        if (r < 0) return r;

        // binfmt_script: #! lines, nested up to the limit; argv[0] becomes the interpreter, the script's path
        // replaces the original argv[0].
        string execfn = guestPath;
        for (int depth = 0; file.Length >= 2 && file.Span[0] == '#' && file.Span[1] == '!'; depth++)
        {
            if (depth >= MaxRecursion) return -Errno.ELOOP;
            r = ParseShebang(file, out var interp, out var arg);
            if (r < 0) return r;
            if (argv.Count > 0) argv.RemoveAt(0);
            argv.Insert(0, Encoding.UTF8.GetBytes(guestPath));
            if (arg != null) argv.Insert(0, arg);
            argv.Insert(0, interp);
            guestPath = Encoding.UTF8.GetString(interp);
            r = PathResolver.Resolve(t, LibC.AT_FDCWD, Redirect(t, interp), out var ihp);
            if (r < 0) return r;
            r = HostPathOf(t, ihp, out hostPath);
            if (r < 0) return r;
            r = ReadProgram(hostPath, out file);
            if (r < 0) return r;
        }

        if (HostExec.IsHostProgram(file))
        {
            r = DeThread(t);
            if (r < 0) return r;
            t.Group.Execed = true;
            t.Mm.ExePath = AbsoluteHostPath(hostPath);
            var hn = Path.GetFileName(hostPath);
            t.Comm = hn.Length > 15 ? hn[..15] : hn;
            t.VforkDone?.Set();
            return HostExec.Run(t, hostPath, argv, envp);
        }

        // binfmt_elf's checks before the point of no return: an i386 ELF, its interpreter readable.
        Elf32 elf;
        try { elf = Elf32.Parse(file, guestPath); }
        catch (ElfFormatException) { return -Errno.ENOEXEC; }
        if (elf.Interp != null)
        {
            try { Loader.ReadExecutable(elf.Interp, t.Kernel.Options.Sysroot, out _); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ElfFormatException) { return -Errno.ENOENT; }
        }

        // ---- point of no return (begin_new_exec)
        r = DeThread(t);
        if (r < 0) return r;
        t.Group.Execed = true;
        var k = t.Kernel;
        var oldMm = t.Mm;
        // exec_mm_release, in the old address space: futex_exec_release (robust list, PI locks still held), then
        // mm_release's clear_child_tid when others share the mm (a vfork parent waits on it).
        try
        {
            k.Futexes.ExecRelease(t);
            if (Volatile.Read(ref oldMm.Users) > 1) k.Futexes.ClearChildTid(t);
        }
        catch (Exception) { } // a guest's torn lists must not stop its exec
        var mm = new Mm(new AddressSpace());
        t.Mm = mm;
        t.Cpu.SetAddressSpace(mm.Space);
        Exit.ReleaseMm(oldMm);
        // unshare_files + do_close_on_exec; the handlers become private (unshare_sighand) and reset.
        t.Files = t.Files.UnshareForExec();
        t.Sig = t.Sig.Clone();
        k.Signals.OnExec(t);
        t.RobustList = 0; t.ClearChildTid = 0;
        var gdt = t.Cpu.Gdt;
        for (int i = k.TlsMin; i < k.TlsMin + Selectors.TLS_ENTRIES; i++) gdt[i] = 0; // flush_thread: TLS cleared
        t.Cpu.Ldt = null;
        var name = Path.GetFileName(guestPath);
        t.Comm = name.Length > 15 ? name[..15] : name;

        Loader.ExecResult res;
        try
        {
            res = Loader.Exec(t, file, guestPath, argv.ConvertAll(b => Encoding.UTF8.GetString(b)), envp.ConvertAll(b => Encoding.UTF8.GetString(b)), execfn);
        }
        catch (Exception e) when (e is ElfFormatException or IOException or UnauthorizedAccessException)
        {
            // Past the point of no return a failed load kills the process (force_fatal_sig(SIGSEGV)).
            Exit.GroupExit(t, Signals.Sig.SIGSEGV, signal: true);
            return 0;
        }
        t.Auxv = res.Auxv;
        t.Mm.ExePath = AbsoluteHostPath(hostPath);
        Loader.InitRegisters(t.Cpu, k.Model, res.Entry, res.Sp);
        // The syscall returns into the new program: pt_regs become start_thread's.
        t.SysRegs = RegsFromCpu(t.Cpu.S, t.SysRegs.orig_ax);
        t.SysRegsChanged = true;
        t.IpChangedBy = IretReason.Execve;
        t.VforkDone?.Set();
        return 0;
    }

    /// <summary>/proc/self/exe and friends name the guest's program, not the emulator.</summary>
    static byte[] Redirect(Task t, byte[] path) => ProcFs.Lookup(t, path, out _) is string host ? LibC.Bytes(host) : path;

    static string AbsoluteHostPath(string p) { try { return Path.GetFullPath(p); } catch { return p; } }

    /// <summary>pt_regs as start_thread leaves them (every GPR from the CPU's freshly set state).</summary>
    static PtRegs RegsFromCpu(CpuState s, ulong origAx) => new()
    {
        ax = s.R[CpuState.EAX], bx = s.R[CpuState.EBX], cx = s.R[CpuState.ECX], dx = s.R[CpuState.EDX],
        si = s.R[CpuState.ESI], di = s.R[CpuState.EDI], bp = s.R[CpuState.EBP], sp = s.R[CpuState.ESP],
        ip = s.Eip, flags = s.Flags.Get(), cs = s.Sel[CpuState.CS], ss = s.Sel[CpuState.SS],
        ds = s.Sel[CpuState.DS], es = s.Sel[CpuState.ES], fs = s.Sel[CpuState.FS], gs = s.Sel[CpuState.GS],
        orig_ax = origAx,
    };

    /// <summary>The host path a resolved (dirfd, path) names, for reading the file (and /proc/PID/exe).</summary>
    static int HostPathOf(Task t, PathResolver.HostPath hp, out string path)
    {
        string p = Encoding.UTF8.GetString(hp.Path);
        if (hp.DirFd == LibC.AT_FDCWD || p.StartsWith('/')) { path = p; return 0; }
        path = "/proc/self/fd/" + hp.DirFd + "/" + p;
        return 0;
    }

    /// <summary>open_exec + kernel_read: -ENOENT, -EACCES (not a regular executable file), -EISDIR...</summary>
    static int ReadProgram(string hostPath, out ProgramImage file)
    {
        file = ProgramImage.OfBytes(Array.Empty<byte>());
        var b = LibC.Bytes(hostPath);
        if (LibC.FaccessAt(LibC.AT_FDCWD, b, 0, 0) != 0) return -Errno.ENOENT;
        if (Directory.Exists(hostPath)) return -Errno.EACCES;
        int x = LibC.FaccessAt(LibC.AT_FDCWD, b, 1 /* X_OK */, 0);
        if (x != 0) return -Errno.EACCES;
        int r = ProgramCache.Read(hostPath, out file);
        return r == -Errno.EFBIG ? -Errno.EIO : r;
    }

    /// <summary>load_script: "#!" then optional blanks, the interpreter up to a blank, and one optional argument
    /// (the rest of the line, trailing blanks dropped); -ENOEXEC for an empty one or a line that does not fit.</summary>
    static int ParseShebang(ProgramImage img, out byte[] interp, out byte[]? arg)
    {
        try { return ParseShebang(img.Span, out interp, out arg); }
        finally { GC.KeepAlive(img); }
    }

    static int ParseShebang(ReadOnlySpan<byte> file, out byte[] interp, out byte[]? arg)
    {
        interp = Array.Empty<byte>(); arg = null;
        int end = file[..Math.Min(file.Length, BufSize)].IndexOf((byte)'\n');
        if (end < 0)
        {
            if (file.Length > BufSize) { end = BufSize; }
            else end = file.Length;
        }
        int i = 2;
        static bool Blank(byte c) => c == ' ' || c == '\t';
        while (i < end && Blank(file[i])) i++;
        int s = i;
        while (i < end && !Blank(file[i]) && file[i] != 0) i++;
        if (i == s) return -Errno.ENOEXEC;
        // A truncated line with no blank after the interpreter cannot be trusted (binfmt_script's rule).
        if (i == end && end == BufSize) return -Errno.ENOEXEC;
        interp = file[s..i].ToArray();
        while (i < end && Blank(file[i])) i++;
        int e = end;
        while (e > i && (Blank(file[e - 1]) || file[e - 1] == '\r' && false)) e--;
        if (e > i) arg = file[i..e].ToArray();
        return 0;
    }

    /// <summary>de_thread: every other thread of the group dies; a non-leader takes the leader's pid.</summary>
    static int DeThread(Task t)
    {
        var g = t.Group;
        var k = t.Kernel;
        List<Task> others;
        lock (k.TaskSet.Lock)
        {
            if (g.Exiting) return -Errno.EAGAIN;
            lock (g.Threads) others = g.Threads.FindAll(x => x != t);
        }
        if (others.Count == 0) return 0;
        foreach (var o in others) { o.Exited = true; o.Cpu.RequestAsyncStop(); o.Wake(); }
        foreach (var o in others) if (o.HostThread != null) o.Finished.Wait();
        lock (k.TaskSet.Lock)
        {
            if (t.Tid != g.Tgid) k.TaskSet.RenumberLocked(t, g.Tgid);
            lock (g.Threads) { g.Threads.Remove(t); g.Threads.Insert(0, t); }
        }
        return 0;
    }
}
