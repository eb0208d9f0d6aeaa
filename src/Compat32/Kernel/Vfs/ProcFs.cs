using System.Text;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// The part of /proc that must describe the guest, not the emulator: /proc/self (and /proc/PID) exe, maps,
/// cmdline, environ, auxv, stat, status, fd/. Everything else under /proc is the host's.
/// </summary>
public static class ProcFs
{
    /// <summary>Split "/proc/self/x" or "/proc/&lt;guest pid&gt;/x" into the rest ("x"), or null.</summary>
    static string? SelfRest(Task t, string p)
    {
        if (p.StartsWith("/proc/self/")) return p["/proc/self/".Length..];
        if (p == "/proc/self") return "";
        if (p.StartsWith("/proc/thread-self/")) return p["/proc/thread-self/".Length..];
        string pre = "/proc/" + t.Tgid + "/";
        if (p.StartsWith(pre)) return p[pre.Length..];
        return null;
    }

    public static string? ReadLink(Task t, byte[] pathBytes)
    {
        var p = Encoding.UTF8.GetString(pathBytes);
        if (p == "/proc/self") return t.Tgid.ToString();
        if (p == "/proc/thread-self") return t.Tgid + "/task/" + t.Tid;
        var rest = SelfRest(t, p);
        if (rest == null) return null;
        if (rest == "exe") return t.Mm.ExePath;
        if (rest == "cwd") return t.Fs.Cwd;
        if (rest == "root") return "/";
        if (rest.StartsWith("fd/") && int.TryParse(rest[3..], out int fd))
        {
            var f = t.Files.Get(fd);
            return f == null ? null : f.Path.StartsWith("pipe:") ? "pipe:[0]" : f.Path;
        }
        return null;
    }

    /// <summary>A synthetic file's content; or a host path to use instead (e.g. /proc/self/fd/N → the file).</summary>
    public static string? Lookup(Task t, byte[] pathBytes, out byte[]? content)
    {
        content = null;
        var p = Encoding.UTF8.GetString(pathBytes);
        var rest = SelfRest(t, p);
        if (rest == null) return null;
        if (rest == "exe") return t.Mm.ExePath;
        if (rest.StartsWith("fd/") && int.TryParse(rest[3..], out int fd))
        {
            var f = t.Files.Get(fd);
            return f != null && f.HostFd >= 0 ? "/proc/self/fd/" + f.HostFd : null;
        }
        content = Content(t, rest);
        return null;
    }

    public static object? TryOpen(Task t, byte[] pathBytes, int flags)
    {
        var p = Encoding.UTF8.GetString(pathBytes);
        var rest = SelfRest(t, p);
        if (rest == null) return null;
        if (rest == "exe" || rest.StartsWith("fd/"))
        {
            var host = Lookup(t, pathBytes, out _);
            if (host == null) return -Errno.ENOENT;
            int hfd = LibC.OpenAt(LibC.AT_FDCWD, LibC.Bytes(host), flags | LibC.O_CLOEXEC, 0);
            if (hfd < 0) return hfd;
            return new OpenFile { HostFd = hfd, Flags = flags & ~LibC.O_CLOEXEC, Path = host };
        }
        var c = Content(t, rest);
        if (c == null) return -Errno.ENOENT;
        if ((flags & 3) != LibC.O_RDONLY) return -Errno.EACCES;
        return new OpenFile { Synthetic = c, Flags = flags & ~LibC.O_CLOEXEC, Path = p };
    }

    static byte[]? Content(Task t, string rest)
    {
        switch (rest)
        {
            case "maps": return Encoding.UTF8.GetBytes(Maps(t));
            case "cmdline": return Range(t, t.Mm.ArgStart, t.Mm.ArgEnd);
            case "environ": return Range(t, t.Mm.EnvStart, t.Mm.EnvEnd);
            case "auxv": return t.Auxv;
            case "comm": return Encoding.UTF8.GetBytes(t.Comm + "\n");
            case "stat":
                return Encoding.UTF8.GetBytes($"{t.Tgid} ({t.Comm}) R {t.Group.Ppid} {t.Tgid} {t.Tgid} 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 {t.Group.Threads.Count} 0 0 0 0 18446744073709551615 {t.Mm.StartCode} {t.Mm.EndCode} {t.Mm.StartStack} 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
            case "status":
                return Encoding.UTF8.GetBytes($"Name:\t{t.Comm}\nUmask:\t{t.Fs.Umask:0000}\nState:\tR (running)\nTgid:\t{t.Tgid}\nNgid:\t0\nPid:\t{t.Tid}\nPPid:\t{t.Group.Ppid}\nTracerPid:\t0\nUid:\t{t.Group.Creds.Uid}\t{t.Group.Creds.Euid}\t{t.Group.Creds.Uid}\t{t.Group.Creds.Uid}\nGid:\t{t.Group.Creds.Gid}\t{t.Group.Creds.Egid}\t{t.Group.Creds.Gid}\t{t.Group.Creds.Gid}\nThreads:\t{t.Group.Threads.Count}\nSigBlk:\t{t.Blocked:x16}\n");
            default: return null;
        }
    }

    static byte[] Range(Task t, uint a, uint b)
    {
        if (b <= a) return Array.Empty<byte>();
        var buf = new byte[b - a];
        return t.Mem.CopyFromUser(a, buf) ? buf : Array.Empty<byte>();
    }

    /// <summary>/proc/self/maps in show_map_vma's format.</summary>
    public static string Maps(Task t)
    {
        var sb = new StringBuilder();
        foreach (var v in t.Mem.Vmas)
        {
            uint end = v.End;
            var prot = v.Prot;
            sb.Append(v.Start.ToString("x8")).Append('-').Append(end == 0 ? "100000000" : end.ToString("x8")).Append(' ');
            sb.Append((prot & Memory.Prot.Read) != 0 ? 'r' : '-');
            sb.Append((prot & Memory.Prot.Write) != 0 ? 'w' : '-');
            sb.Append((prot & Memory.Prot.Exec) != 0 ? 'x' : '-');
            sb.Append(v.Shared ? 's' : 'p');
            sb.Append(' ').Append(v.Offset.ToString("x8")).Append(" 00:00 ").Append(v.Inode);
            if (v.Name.Length > 0) sb.Append(new string(' ', Math.Max(1, 26 - v.Inode.ToString().Length))).Append(v.Name);
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
