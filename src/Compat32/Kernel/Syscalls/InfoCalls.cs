using System.Text;

namespace Compat32.Kernel.Syscalls;

/// <summary>uname, sysinfo, getrandom (kernel/sys.c, drivers/char/random.c).</summary>
public static class InfoCalls
{
    public const string Release = "6.1.0-compat32";
    public const string Version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1 (compat32)";
    const uint PER_LINUX32 = 0x0008;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.uname, "p", (t, a, _, _, _, _, _) => Uname(t, a));
        s.Add(Nr.sysinfo, "p", (t, a, _, _, _, _, _) => Sysinfo(t, a));
        s.Add(Nr.getrandom, "pux", (t, a, b, c, _, _, _) => GetRandom(t, a, b, c));
    }

    /// <summary>The machine field: a 64-bit kernel says x86_64 unless the personality is PER_LINUX32
    /// (override_architecture); a 32-bit kernel says i686.</summary>
    public static string Machine(Task t) =>
        !t.Kernel.Model.Kernel64 || (t.Group.Personality & 0xFF) == PER_LINUX32 ? "i686" : "x86_64";

    static int Uname(Task t, uint p)
    {
        var b = new byte[6 * 65];
        void Put(int i, string v) => Encoding.ASCII.GetBytes(v.AsSpan(0, Math.Min(v.Length, 64)), b.AsSpan(i * 65));
        Put(0, "Linux");
        Put(1, Environment.MachineName);
        Put(2, Release);
        Put(3, Version);
        Put(4, Machine(t));
        Put(5, "(none)");
        return U.Put(t, p, b);
    }

    static int Sysinfo(Task t, uint p)
    {
        var b = new byte[64];
        TimeCalls.Now(TimeCalls.CLOCK_BOOTTIME, out long up, out _);
        U.W32(b, 0, (int)up);
        var gc = GC.GetGCMemoryInfo();
        ulong total = (ulong)gc.TotalAvailableMemoryBytes;
        // With mem_unit = 4096 the 32-bit fields hold any realistic RAM size (do_sysinfo scales the same way).
        U.W32(b, 16, (uint)(total / 4096));
        U.W32(b, 20, (uint)(total / 8192));
        U.W16(b, 40, (ushort)Math.Max(1, t.Kernel.TaskSet.TaskCount));
        U.W32(b, 52, 4096u);
        return U.Put(t, p, b);
    }

    /// <summary>getrandom(2), drivers/char/random.c: the flag checks, then the host CRNG's bytes (always ready here).</summary>
    static int GetRandom(Task t, uint buf, uint len, uint flags)
    {
        const uint GRND_RANDOM = 2, GRND_INSECURE = 4;
        if ((flags & ~7u) != 0) return -Errno.EINVAL;
        if ((flags & (GRND_INSECURE | GRND_RANDOM)) == (GRND_INSECURE | GRND_RANDOM)) return -Errno.EINVAL;
        len = Math.Min(len, 33554431u);
        var b = new byte[Math.Min(len, 65536u)];
        uint done = 0;
        while (done < len)
        {
            int n = (int)Math.Min((uint)b.Length, len - done);
            HostRandom.Fill(b.AsSpan(0, n));
            if (!t.Mem.CopyToUser(buf + done, b.AsSpan(0, n))) return done > 0 ? (int)done : -Errno.EFAULT;
            done += (uint)n;
        }
        return (int)len;
    }
}
