namespace Compat32.Kernel.Vfs;

/// <summary>
/// An open file description (the kernel's struct file): shared by dup'd descriptors and across fork, so
/// they share the offset and status flags. Host-backed descriptions own one host fd.
/// </summary>
public class OpenFile
{
    public int HostFd = -1;
    /// <summary>Guest-visible status flags (O_APPEND, O_NONBLOCK, access mode ...), i386 values.</summary>
    public int Flags;
    /// <summary>The path as the guest opened it, after sysroot resolution (for /proc/self/fd and strace).</summary>
    public string Path = "";
    public bool IsDirectory;
    /// <summary>What the host fd is (decides whether reads can block). Set at open, or once by the first write to
    /// an inherited descriptor (a racing writer stores the same value).</summary>
    public FileKind Kind = FileKind.Unknown;
    int refs = 1;

    public OpenFile Ref() { Interlocked.Increment(ref refs); return this; }

    public void Release()
    {
        if (Interlocked.Decrement(ref refs) != 0) return;
        if (EpLinks != null) EventPollFile.FileReleased(this); // eventpoll_release in __fput
        OnLastClose();
    }

    /// <summary>file->f_ep: the epoll items watching this description (a list owned by EventPollFile).</summary>
    internal object? EpLinks;

    protected virtual void OnLastClose()
    {
        if (HostFd >= 0) LibC.Close(HostFd);
        HostFd = -1;
        lock (aliasLock) { if (nbAlias >= 0) LibC.Close(nbAlias); nbAlias = -1; }
    }

    readonly object aliasLock = new();
    int nbAlias = -1; // aliasLock

    /// <summary>For a pipe or FIFO: a second, non-blocking write description of the same pipe (opened through
    /// /proc/self/fd), so a writer can sleep interruptibly instead of inside the host's write; -1 while the pipe
    /// has no reader (ENXIO) or cannot be reopened. Closed with this description.</summary>
    public int NonBlockingWriter()
    {
        lock (aliasLock)
        {
            if (nbAlias < 0 && HostFd >= 0)
            {
                // O_DIRECT (packet mode) belongs to the description: the alias must have it too.
                int direct = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture ==
                    System.Runtime.InteropServices.Architecture.X64 ? 0x4000 : 0x10000;
                int hf = LibC.Fcntl(HostFd, 3 /* F_GETFL */, 0);
                nbAlias = LibC.OpenAt(LibC.AT_FDCWD, LibC.Bytes("/proc/self/fd/" + HostFd),
                    LibC.O_WRONLY | LibC.O_NONBLOCK | LibC.O_CLOEXEC | (hf > 0 ? hf & direct : 0), 0) is int fd and >= 0 ? fd : -1;
            }
            return nbAlias;
        }
    }

    /// <summary>For synthetic files (/proc), content served from memory.</summary>
    public byte[]? Synthetic;
    public long SyntheticPos;
}

public enum FileKind { Unknown, Regular, Directory, Pipe, Terminal, Socket, Other }

/// <summary>The descriptor table (struct files_struct): guest fd → open file description, plus close-on-exec.
/// Shared by CLONE_FILES; Lock (file_lock) guards every change, so threads may open and close at once. Get reads
/// without it, as fdget reads the RCU-published fdtable: the slot array is replaced (never resized in place) when
/// it grows, and slots and the array are published with release stores.</summary>
public sealed class FdTable
{
    /// <summary>sysctl fs.nr_open: no descriptor number reaches this.</summary>
    public const int Max = 1 << 20;
    /// <summary>RLIMIT_NOFILE's soft limit of the owning process (new descriptors stay below it).</summary>
    public volatile int Limit = 1024;
    readonly object Lock = new();
    OpenFile?[] files = new OpenFile?[64];  // written under Lock; read lock-free by Get
    bool[] cloexec = new bool[64];          // Lock
    /// <summary>Tasks sharing this table (CLONE_FILES); the last Release closes every descriptor. Interlocked.</summary>
    int users = 1;

    /// <summary>Runs as a descriptor leaves a table, before the description is released (filp_close's
    /// locks_remove_posix). Registered once at start-up by the lock code; called outside Lock.</summary>
    public static event Action<FdTable, OpenFile>? Closing;

    /// <summary>The file at fd (null when none), without taking Lock: every syscall looks its descriptor up.</summary>
    public OpenFile? Get(int fd)
    {
        var a = Volatile.Read(ref files);
        return (uint)fd < (uint)a.Length ? Volatile.Read(ref a[fd]) : null;
    }
    public bool CloseOnExec(int fd) { lock (Lock) return fd >= 0 && fd < cloexec.Length && cloexec[fd]; }
    public void SetCloseOnExec(int fd, bool on) { lock (Lock) if (fd >= 0 && fd < cloexec.Length) cloexec[fd] = on; }

    /// <summary>Lowest free descriptor ≥ min; -EMFILE when none.</summary>
    public int Install(OpenFile f, bool closeOnExec, int min = 0)
    {
        lock (Lock)
        {
            for (int fd = min; fd < Limit; fd++)
            {
                if (fd >= files.Length) Grow(fd + 1);
                if (files[fd] == null)
                {
                    Volatile.Write(ref files[fd], f);
                    cloexec[fd] = closeOnExec;
                    return fd;
                }
            }
        }
        return -Errno.EMFILE;
    }

    /// <summary>dup2/dup3 semantics: replace whatever is at fd.</summary>
    public int InstallAt(int fd, OpenFile f, bool closeOnExec)
    {
        if (fd < 0 || fd >= Limit) return -Errno.EBADF;
        OpenFile? old;
        lock (Lock)
        {
            if (fd >= files.Length) Grow(fd + 1);
            old = files[fd];
            Volatile.Write(ref files[fd], f);
            cloexec[fd] = closeOnExec;
        }
        if (old != null) { Closing?.Invoke(this, old); old.Release(); }
        return fd;
    }

    public int Close(int fd)
    {
        OpenFile? f;
        lock (Lock)
        {
            f = fd >= 0 && fd < files.Length ? files[fd] : null;
            if (f == null) return -Errno.EBADF;
            Volatile.Write(ref files[fd], null);
            cloexec[fd] = false;
        }
        Closing?.Invoke(this, f);
        f.Release();
        return 0;
    }

    void Grow(int n)
    {
        int size = files.Length;
        while (size < n) size *= 2;
        var n2 = new OpenFile?[size];
        Array.Copy(files, n2, files.Length);
        Volatile.Write(ref files, n2); // a reader sees the old array or the whole new one
        Array.Resize(ref cloexec, size);
    }

    /// <summary>dup_fd: a copy sharing every open file description.</summary>
    public FdTable Clone()
    {
        lock (Lock)
        {
            var t = new FdTable { files = new OpenFile?[files.Length], cloexec = (bool[])cloexec.Clone(), Limit = Limit };
            for (int i = 0; i < files.Length; i++) t.files[i] = files[i]?.Ref();
            return t;
        }
    }

    public FdTable Ref() { Interlocked.Increment(ref users); return this; }

    /// <summary>put_files_struct: the last user closes everything.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref users) == 0) CloseAll();
    }

    /// <summary>execve: unshare_files (a private table when shared), then do_close_on_exec.</summary>
    public FdTable UnshareForExec()
    {
        var t = this;
        if (Volatile.Read(ref users) > 1) { t = Clone(); Release(); }
        t.CloseOnExecAll();
        return t;
    }

    public void CloseAll()
    {
        for (int i = 0; i < Length; i++) if (Get(i) != null) Close(i);
    }

    public void CloseOnExecAll()
    {
        for (int i = 0; i < Length; i++) if (Get(i) != null && CloseOnExec(i)) Close(i);
    }

    int Length { get { lock (Lock) return files.Length; } }

    public IEnumerable<(int fd, OpenFile file)> All()
    {
        List<(int, OpenFile)> l = new();
        lock (Lock) for (int i = 0; i < files.Length; i++) if (files[i] != null) l.Add((i, files[i]!));
        return l;
    }
}
