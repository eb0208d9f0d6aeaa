using System.Text;
using Compat32.Entry;

namespace Compat32.Kernel.Syscalls;

/// <summary>A syscall implementation: the task and the six i386 argument registers; returns the value for eax.</summary>
public delegate int SyscallFn(Task t, uint a0, uint a1, uint a2, uint a3, uint a4, uint a5);

/// <summary>
/// The i386 syscall table (ia32_sys_call_table): numbers from syscall_32.tbl, handlers grouped by family
/// (Fs, Mm, Process, Signal, Time, Info). Also formats --strace lines.
/// </summary>
public sealed class SyscallTable
{
    public readonly SyscallFn?[] Fns = new SyscallFn?[Nr.Count];
    /// <summary>Argument formats for strace: one letter per argument (see FormatArg).</summary>
    public readonly string[] Formats = new string[Nr.Count];
    /// <summary>Return format: 'd' decimal, 'x' hex, 'o' octal.</summary>
    public readonly char[] RetFormat = new char[Nr.Count];
    readonly KernelModel k;
    public readonly long[] Counts = new long[Nr.Count];
    /// <summary>Strace formatters that print a whole call after it returns (the socket calls decode structures).</summary>
    public readonly Func<Task, uint[], int, string>?[] Decoders = new Func<Task, uint[], int, string>?[Nr.Count];

    public SyscallTable(KernelModel k)
    {
        this.k = k;
        Array.Fill(Formats, "");
        Array.Fill(RetFormat, 'd');
        FsCalls.Register(this);
        MmCalls.Register(this);
        ProcessCalls.Register(this);
        LdtCalls.Register(this);
        SignalCalls.Register(this);
        TimeCalls.Register(this);
        InfoCalls.Register(this);
        TaskCalls.Register(this);
        Net.SocketCalls.Register(this);
        XattrCalls.Register(this);
        Vfs.EventPollFile.Register(this);
        Vfs.EventFdFile.Register(this);
        Vfs.TimerFdFile.Register(this);
        Vfs.InotifyFile.Register(this);
        Ipc.IpcCalls.Register(this);
        Ipc.Mqueue.Register(this);
    }

    public void Add(int nr, string fmt, SyscallFn fn, char ret = 'd')
    {
        Fns[nr] = fn;
        Formats[nr] = fmt;
        RetFormat[nr] = ret;
    }

    /// <summary>do_syscall_32_irqs_on: out-of-range numbers get -ENOSYS, except -1 which leaves ax alone.</summary>
    public void Dispatch(Task t, ref PtRegs regs, EntryMethod how)
    {
        int nr = (int)(uint)regs.orig_ax;
        uint unr = (uint)nr;
        uint a0 = regs.Arg(0), a1 = regs.Arg(1), a2 = regs.Arg(2), a3 = regs.Arg(3), a4 = regs.Arg(4), a5 = regs.Arg(5);
        bool trace = k.Options.Strace;
        var dec = trace && unr < (uint)Decoders.Length ? Decoders[unr] : null;
        string? pre = trace && dec == null ? FormatEntry(t, nr, a0, a1, a2, a3, a4, a5) : null;
        int ret;
        if (unr < (uint)Fns.Length)
        {
            var fn = Fns[unr];
            Interlocked.Increment(ref Counts[unr]);
            if (fn != null) ret = fn(t, a0, a1, a2, a3, a4, a5);
            else ret = -Errno.ENOSYS;
        }
        else if (nr != -1) ret = -Errno.ENOSYS;
        else { if (trace) Trace(t, how, pre!, nr, (int)regs.ax, a0, a1, a2); return; }
        regs.SetReturn(ret);
        if (trace) Trace(t, how, dec != null ? dec(t, new[] { a0, a1, a2, a3, a4, a5 }, ret) : pre!, nr, ret, a0, a1, a2);
    }

    void Trace(Task t, EntryMethod how, string pre, int nr, int ret, uint a0, uint a1, uint a2)
    {
        string line = pre;
        int bi = (uint)nr < (uint)Formats.Length ? Formats[nr].IndexOf('B') : -1;
        if (bi >= 0)
        {
            // Output buffers (read) are printed once their length is known.
            uint ptr = bi == 0 ? a0 : bi == 1 ? a1 : a2;
            line = line.Replace("\u0001", ret >= 0 ? FormatBuf(t, ptr, (uint)ret) : FormatPtr(ptr));
        }
        var sb = new StringBuilder();
        if (k.TaskSet.Forks > 1) sb.Append("[pid ").Append(t.Tid).Append("] ");
        sb.Append('[').Append(MethodName(how)).Append("] ").Append(line).Append(" = ").Append(FormatRet(nr, ret));
        k.Options.StraceOut.WriteLine(sb.ToString());
    }

    public static string MethodName(EntryMethod m) => m switch
    {
        EntryMethod.Int80 => "int80", EntryMethod.Sysenter => "sysenter", _ => "syscall32",
    };

    string FormatRet(int nr, int ret)
    {
        if (ret < 0 && ret >= -4095)
        {
            int e = -ret;
            if (e is Errno.ERESTARTSYS or Errno.ERESTARTNOINTR or Errno.ERESTARTNOHAND or Errno.ERESTART_RESTARTBLOCK)
                return "? " + Errno.Name(e) + " (To be restarted)";
            return "-1 " + Errno.Name(e) + " (" + Errno.Describe(e) + ")";
        }
        char f = (uint)nr < (uint)RetFormat.Length ? RetFormat[nr] : 'd';
        return f == 'x' ? "0x" + ((uint)ret).ToString("x") : f == 'o' ? "0" + Convert.ToString(ret, 8) : ret.ToString();
    }

    string FormatEntry(Task t, int nr, uint a0, uint a1, uint a2, uint a3, uint a4, uint a5)
    {
        var sb = new StringBuilder();
        string? name = (uint)nr < (uint)Nr.Names.Length ? Nr.Names[nr] : null;
        if (name == null || Fns[nr] == null)
        {
            // Unimplemented: strace prints the raw number; we add that we answered -ENOSYS.
            sb.Append(name ?? "syscall_" + nr).Append('(');
            sb.Append("0x").Append(a0.ToString("x")).Append(", 0x").Append(a1.ToString("x")).Append(", 0x").Append(a2.ToString("x"));
            sb.Append(") [unimplemented]");
            return sb.ToString();
        }
        sb.Append(name).Append('(');
        string fmt = Formats[nr];
        Span<uint> a = stackalloc uint[] { a0, a1, a2, a3, a4, a5 };
        for (int i = 0; i < fmt.Length && i < 6; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(FormatArg(t, fmt[i], a[i], i + 1 < 6 ? a[i + 1] : 0));
        }
        sb.Append(')');
        return sb.ToString();
    }

    string FormatArg(Task t, char f, uint v, uint next)
    {
        switch (f)
        {
            case 'd': return ((int)v).ToString();
            case 'u': return v.ToString();
            case 'x': return "0x" + v.ToString("x");
            case 'o': return "0" + Convert.ToString(v, 8);
            case 'p': return FormatPtr(v);
            case 'f': return "AT_FDCWD" is var s && (int)v == -100 ? s : ((int)v).ToString();
            case 's':
            {
                if (v == 0) return "NULL";
                var b = t.Mem.ReadCStringBytes(v, 4096);
                return b == null ? FormatPtr(v) : Quote(b, 256);
            }
            case 'b': return FormatBuf(t, v, next);
            case 'B': return "\u0001";
            case 'O': return OpenFlags(v);
            default: return "0x" + v.ToString("x");
        }
    }

    static string FormatPtr(uint v) => v == 0 ? "NULL" : "0x" + v.ToString("x");

    static string FormatBuf(Task t, uint p, uint len)
    {
        uint n = Math.Min(len, 32u);
        var b = new byte[n];
        if (!t.Mem.CopyFromUser(p, b)) return FormatPtr(p);
        return Quote(b, 32) + (len > 32 ? "..." : "");
    }

    public static string Quote(ReadOnlySpan<byte> b, int max)
    {
        var sb = new StringBuilder("\"");
        for (int i = 0; i < b.Length && i < max; i++)
        {
            byte c = b[i];
            switch (c)
            {
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                default:
                    if (c >= 32 && c < 127) sb.Append((char)c);
                    else sb.Append('\\').Append(Convert.ToString(c, 8));
                    break;
            }
        }
        sb.Append('"');
        if (b.Length > max) sb.Append("...");
        return sb.ToString();
    }

    static string OpenFlags(uint v)
    {
        var parts = new List<string>();
        parts.Add((v & 3) switch { 0 => "O_RDONLY", 1 => "O_WRONLY", 2 => "O_RDWR", _ => "O_ACCMODE" });
        (uint bit, string name)[] names =
        {
            (0x40, "O_CREAT"), (0x80, "O_EXCL"), (0x100, "O_NOCTTY"), (0x200, "O_TRUNC"), (0x400, "O_APPEND"),
            (0x800, "O_NONBLOCK"), (0x1000, "O_DSYNC"), (0x2000, "O_ASYNC"), (0x4000, "O_DIRECT"), (0x8000, "O_LARGEFILE"),
            (0x10000, "O_DIRECTORY"), (0x20000, "O_NOFOLLOW"), (0x40000, "O_NOATIME"), (0x80000, "O_CLOEXEC"),
            (0x200000, "O_PATH"), (0x400000, "O_TMPFILE"),
        };
        uint rest = v & ~3u;
        foreach (var (bit, name) in names)
            if ((rest & bit) != 0) { parts.Add(name); rest &= ~bit; }
        if (rest != 0) parts.Add("0x" + rest.ToString("x"));
        return string.Join("|", parts);
    }
}
