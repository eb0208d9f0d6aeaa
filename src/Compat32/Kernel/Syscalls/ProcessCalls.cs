using Compat32.Cpu;
using Iced.Intel;

namespace Compat32.Kernel.Syscalls;

/// <summary>Process and thread identity, exit, TLS descriptors, limits (kernel/exit.c, kernel/sys.c,
/// arch/x86/kernel/tls.c).</summary>
public static class ProcessCalls
{
    public static void Register(SyscallTable s)
    {
        s.Add(Nr.getpid, "", (t, _, _, _, _, _, _) => t.Tgid);
        s.Add(Nr.gettid, "", (t, _, _, _, _, _, _) => t.Tid);
        // 32-bit uid calls; the legacy 16-bit ones clamp to 65534 (high2lowuid).
        s.Add(Nr.getuid32, "", (t, _, _, _, _, _, _) => (int)t.Group.Creds.Uid);
        s.Add(Nr.geteuid32, "", (t, _, _, _, _, _, _) => (int)t.Group.Creds.Euid);
        s.Add(Nr.getgid32, "", (t, _, _, _, _, _, _) => (int)t.Group.Creds.Gid);
        s.Add(Nr.getegid32, "", (t, _, _, _, _, _, _) => (int)t.Group.Creds.Egid);
        s.Add(Nr.getuid, "", (t, _, _, _, _, _, _) => Low16(t.Group.Creds.Uid));
        s.Add(Nr.geteuid, "", (t, _, _, _, _, _, _) => Low16(t.Group.Creds.Euid));
        s.Add(Nr.getgid, "", (t, _, _, _, _, _, _) => Low16(t.Group.Creds.Gid));
        s.Add(Nr.getegid, "", (t, _, _, _, _, _, _) => Low16(t.Group.Creds.Egid));
        s.Add(Nr.getresuid32, "ppp", (t, a, b, c, _, _, _) => PutIds(t, a, b, c, t.Group.Creds.Uid, t.Group.Creds.Euid, t.Group.Creds.Suid));
        s.Add(Nr.getresgid32, "ppp", (t, a, b, c, _, _, _) => PutIds(t, a, b, c, t.Group.Creds.Gid, t.Group.Creds.Egid, t.Group.Creds.Sgid));
        s.Add(Nr.getgroups32, "dp", (t, a, b, _, _, _, _) => GetGroups(t, (int)a, b));
        // Credentials (kernel/sys.c): the model's ids; the host checks file access as the host user regardless.
        s.Add(Nr.setuid32, "d", (t, a, _, _, _, _, _) => SetUid(t, a, gid: false));
        s.Add(Nr.setgid32, "d", (t, a, _, _, _, _, _) => SetUid(t, a, gid: true));
        s.Add(Nr.setuid, "d", (t, a, _, _, _, _, _) => SetUid(t, Low16To32(a), gid: false));
        s.Add(Nr.setgid, "d", (t, a, _, _, _, _, _) => SetUid(t, Low16To32(a), gid: true));
        s.Add(Nr.setresuid32, "ddd", (t, a, b, c, _, _, _) => SetRes(t, a, b, c, gid: false));
        s.Add(Nr.setresgid32, "ddd", (t, a, b, c, _, _, _) => SetRes(t, a, b, c, gid: true));
        s.Add(Nr.setresuid, "ddd", (t, a, b, c, _, _, _) => SetRes(t, Low16To32(a), Low16To32(b), Low16To32(c), gid: false));
        s.Add(Nr.setresgid, "ddd", (t, a, b, c, _, _, _) => SetRes(t, Low16To32(a), Low16To32(b), Low16To32(c), gid: true));
        s.Add(Nr.setreuid32, "dd", (t, a, b, _, _, _, _) => SetRe(t, a, b, gid: false));
        s.Add(Nr.setregid32, "dd", (t, a, b, _, _, _, _) => SetRe(t, a, b, gid: true));
        s.Add(Nr.setreuid, "dd", (t, a, b, _, _, _, _) => SetRe(t, Low16To32(a), Low16To32(b), gid: false));
        s.Add(Nr.setregid, "dd", (t, a, b, _, _, _, _) => SetRe(t, Low16To32(a), Low16To32(b), gid: true));
        s.Add(Nr.setfsuid32, "d", (t, a, _, _, _, _, _) => SetFs(t, a, gid: false));
        s.Add(Nr.setfsgid32, "d", (t, a, _, _, _, _, _) => SetFs(t, a, gid: true));
        s.Add(Nr.setgroups32, "dp", (t, a, b, _, _, _, _) => SetGroups(t, (int)a, b));
        s.Add(Nr.getresuid, "ppp", (t, a, b, c, _, _, _) => PutIds16(t, a, b, c, t.Group.Creds.Uid, t.Group.Creds.Euid, t.Group.Creds.Suid));
        s.Add(Nr.getresgid, "ppp", (t, a, b, c, _, _, _) => PutIds16(t, a, b, c, t.Group.Creds.Gid, t.Group.Creds.Egid, t.Group.Creds.Sgid));
        s.Add(Nr.set_tid_address, "p", (t, a, _, _, _, _, _) => { t.ClearChildTid = a; return t.Tid; });
        s.Add(Nr.rseq, "puxx", (t, _, _, _, _, _, _) => -Errno.ENOSYS);
        s.Add(Nr.set_thread_area, "p", (t, a, _, _, _, _, _) => SetThreadArea(t, a));
        s.Add(Nr.get_thread_area, "p", (t, a, _, _, _, _, _) => GetThreadArea(t, a));
        s.Add(Nr.personality, "x", (t, a, _, _, _, _, _) => Personality(t, a));
        s.Add(Nr.prctl, "dxxxx", (t, a, b, c, d, e, _) => Prctl(t, (int)a, b, c, d, e));
        s.Add(Nr.ugetrlimit, "dp", (t, a, b, _, _, _, _) => GetRlimit(t, (int)a, b, legacy: false));
        s.Add(Nr.getrlimit, "dp", (t, a, b, _, _, _, _) => GetRlimit(t, (int)a, b, legacy: true));
        s.Add(Nr.setrlimit, "dp", (t, a, b, _, _, _, _) => SetRlimit32(t, (int)a, b));
        s.Add(Nr.prlimit64, "ddpp", (t, a, b, c, d, _, _) => Prlimit64(t, (int)a, (int)b, c, d));
        s.Add(Nr.sched_yield, "", (t, _, _, _, _, _, _) => { Thread.Yield(); return 0; });
        s.Add(Nr.sched_getaffinity, "dup", (t, a, b, c, _, _, _) => GetAffinity(t, (int)a, b, c));
        s.Add(Nr.sched_setaffinity, "dup", (t, a, b, c, _, _, _) => SetAffinity(t, (int)a, b, c));
        // sched_getscheduler: a negative pid -EINVAL, an unknown one -ESRCH; every task is SCHED_OTHER
        s.Add(Nr.sched_getscheduler, "d", (t, a, _, _, _, _, _) => (int)a < 0 ? -Errno.EINVAL : a != 0 && t.Kernel.TaskSet.FindTask((int)a) == null ? -Errno.ESRCH : 0);
        s.Add(Nr.sched_getparam, "dp", (t, a, b, _, _, _, _) => SchedGetParam(t, (int)a, b));
        s.Add(Nr.sched_get_priority_max, "d", (t, a, _, _, _, _, _) => a is 1 or 2 ? 99 : a is 0 or 3 or 5 ? 0 : -Errno.EINVAL);
        s.Add(Nr.sched_get_priority_min, "d", (t, a, _, _, _, _, _) => a is 1 or 2 ? 1 : a is 0 or 3 or 5 ? 0 : -Errno.EINVAL);
        s.Add(Nr.getpriority, "dd", (t, a, b, _, _, _, _) => GetPriority(t, (int)a, (int)b));
        s.Add(Nr.setpriority, "ddd", (t, a, b, c, _, _, _) => 0);
        s.Add(Nr.getcpu, "ppp", (t, a, b, _, _, _, _) => GetCpu(t, a, b));
        s.Add(Nr.arch_prctl, "xx", (t, a, b, _, _, _, _) => -Errno.EINVAL);
        s.Add(Nr.capget, "pp", (t, a, b, _, _, _, _) => CapGet(t, a, b));
        s.Add(Nr.capset, "pp", (t, a, b, _, _, _, _) => CapSet(t, a, b));
    }

    static int Low16(uint id) => id > 0xFFFF ? 65534 : (int)id;

    const uint CapV1 = 0x19980330, CapV2 = 0x20071026, CapV3 = 0x20080522;

    /// <summary>cap_validate_magic: an unknown version gets the kernel's preferred one written back and -EINVAL;
    /// returns how many 32-bit words each set has (1 for v1, 2 for v2/v3).</summary>
    static int CapHeader(Task t, uint hdr, out int pid, out int words)
    {
        pid = 0; words = 0;
        if (!t.Mem.ReadU32(hdr, out uint ver) || !t.Mem.ReadU32(hdr + 4, out uint p)) return -Errno.EFAULT;
        pid = (int)p;
        switch (ver)
        {
            case CapV1: words = 1; return 0;
            case CapV2: case CapV3: words = 2; return 0;
            default: return t.Mem.WriteU32(hdr, CapV3) ? -Errno.EINVAL : -Errno.EFAULT;
        }
    }

    /// <summary>capget: {effective, permitted, inheritable} per 32-bit word of the caller's (or pid's) sets.</summary>
    static int CapGet(Task t, uint hdr, uint data)
    {
        int r = CapHeader(t, hdr, out int pid, out int words);
        if (r < 0) return data == 0 && r == -Errno.EINVAL ? 0 : r;
        if (pid < 0) return -Errno.EINVAL;
        var g = pid == 0 ? t.Group : t.Kernel.TaskSet.FindTask(pid)?.Group;
        if (g == null) return -Errno.ESRCH;
        if (data == 0) return 0;
        var c = g.Creds;
        var b = new byte[words * 12];
        for (int i = 0; i < words; i++)
        {
            U.W32(b, i * 12, (uint)(c.CapEff >> (32 * i)));
            U.W32(b, i * 12 + 4, (uint)(c.CapPrm >> (32 * i)));
            U.W32(b, i * 12 + 8, (uint)(c.CapInh >> (32 * i)));
        }
        return U.Put(t, data, b);
    }

    /// <summary>capset (cap_capset): only for the caller; the new permitted set must be a subset of the old one, the
    /// effective a subset of the new permitted, the inheritable within old inheritable | permitted.</summary>
    static int CapSet(Task t, uint hdr, uint data)
    {
        int r = CapHeader(t, hdr, out int pid, out int words);
        if (r < 0) return r;
        if (pid != 0 && pid != t.Tid && pid != t.Tgid) return -Errno.EPERM;
        var b = new byte[words * 12];
        if (U.Get(t, data, b) != 0) return -Errno.EFAULT;
        ulong eff = 0, prm = 0, inh = 0;
        for (int i = 0; i < words; i++)
        {
            eff |= (ulong)U.R32(b, i * 12) << (32 * i);
            prm |= (ulong)U.R32(b, i * 12 + 4) << (32 * i);
            inh |= (ulong)U.R32(b, i * 12 + 8) << (32 * i);
        }
        lock (t.Kernel.TaskSet.Lock)
        {
            var c = t.Group.Creds;
            if ((prm & ~c.CapPrm) != 0 || (eff & ~prm) != 0 || (inh & ~(c.CapInh | c.CapPrm)) != 0) return -Errno.EPERM;
            var n = c.Clone(); n.CapEff = eff; n.CapPrm = prm; n.CapInh = inh;
            t.Group.Creds = n;
        }
        return 0;
    }
    /// <summary>low2highuid: the 16-bit -1 means "unchanged".</summary>
    static uint Low16To32(uint id) => (id & 0xFFFF) == 0xFFFF ? 0xFFFFFFFF : id & 0xFFFF;

    static int PutIds16(Task t, uint a, uint b, uint c, uint x, uint y, uint z) =>
        PutIds(t, a, b, c, (uint)Low16(x), (uint)Low16(y), (uint)Low16(z));

    /// <summary>__sys_setresuid / __sys_setresgid: without CAP_SETUID (euid 0) each new id must be one of the
    /// current real, effective or saved ids; -1 leaves one unchanged. The fs id follows the effective one.</summary>
    static int SetRes(Task t, uint r, uint e, uint s, bool gid)
    {
        lock (t.Kernel.TaskSet.Lock)
        {
            var c = t.Group.Creds;
            uint cr = gid ? c.Gid : c.Uid, ce = gid ? c.Egid : c.Euid, cs = gid ? c.Sgid : c.Suid;
            bool priv = c.Euid == 0;
            bool Ok(uint v) => v == 0xFFFFFFFF || priv || v == cr || v == ce || v == cs;
            if (!Ok(r) || !Ok(e) || !Ok(s)) return -Errno.EPERM;
            var n = c.Clone();
            if (gid) { if (r != 0xFFFFFFFF) n.Gid = r; if (e != 0xFFFFFFFF) n.Egid = e; if (s != 0xFFFFFFFF) n.Sgid = s; n.Fsgid = n.Egid; }
            else { if (r != 0xFFFFFFFF) n.Uid = r; if (e != 0xFFFFFFFF) n.Euid = e; if (s != 0xFFFFFFFF) n.Suid = s; n.Fsuid = n.Euid; }
            t.Group.Creds = n;
            return 0;
        }
    }

    /// <summary>__sys_setreuid: the saved id becomes the new effective one when the real id is set or the
    /// effective one changes to something other than the old real id.</summary>
    static int SetRe(Task t, uint r, uint e, bool gid)
    {
        var c = t.Group.Creds;
        uint cr = gid ? c.Gid : c.Uid, ce = gid ? c.Egid : c.Euid, cs = gid ? c.Sgid : c.Suid;
        bool priv = c.Euid == 0;
        if (r != 0xFFFFFFFF && !priv && r != cr && r != ce) return -Errno.EPERM;
        if (e != 0xFFFFFFFF && !priv && e != cr && e != ce && e != cs) return -Errno.EPERM;
        uint newE = e != 0xFFFFFFFF ? e : ce;
        uint newS = r != 0xFFFFFFFF || (e != 0xFFFFFFFF && e != cr) ? newE : 0xFFFFFFFF;
        return SetRes(t, r, e, newS, gid);
    }

    /// <summary>__sys_setuid: privileged, all three ids; otherwise only the effective one, to the real or saved id.</summary>
    static int SetUid(Task t, uint id, bool gid)
    {
        if (id == 0xFFFFFFFF) return -Errno.EINVAL;
        var c = t.Group.Creds;
        if (c.Euid == 0) return SetRes(t, id, id, id, gid);
        return SetRes(t, 0xFFFFFFFF, id, 0xFFFFFFFF, gid);
    }

    /// <summary>setfsuid: returns the old fs id whether or not the change was allowed.</summary>
    static int SetFs(Task t, uint id, bool gid)
    {
        lock (t.Kernel.TaskSet.Lock)
        {
            var c = t.Group.Creds;
            uint old = gid ? c.Fsgid : c.Fsuid;
            bool ok = c.Euid == 0 || id == (gid ? c.Gid : c.Uid) || id == (gid ? c.Egid : c.Euid) || id == (gid ? c.Sgid : c.Suid) || id == old;
            if (ok && id != 0xFFFFFFFF)
            {
                var n = c.Clone();
                if (gid) n.Fsgid = id; else n.Fsuid = id;
                t.Group.Creds = n;
            }
            return (int)old;
        }
    }

    /// <summary>setgroups: needs CAP_SETGID; at most NGROUPS_MAX (65536).</summary>
    static int SetGroups(Task t, int n, uint list)
    {
        if (n < 0 || n > 65536) return -Errno.EINVAL;
        if (t.Group.Creds.Euid != 0) return -Errno.EPERM;
        var b = new byte[n * 4];
        if (n > 0 && U.Get(t, list, b) != 0) return -Errno.EFAULT;
        var g = new uint[n];
        for (int i = 0; i < n; i++) g[i] = U.R32(b, i * 4);
        lock (t.Kernel.TaskSet.Lock) { var c = t.Group.Creds.Clone(); c.Groups = g; t.Group.Creds = c; }
        return 0;
    }

    static int PutIds(Task t, uint a, uint b, uint c, uint x, uint y, uint z)
    {
        if (!t.Mem.WriteU32(a, x) || !t.Mem.WriteU32(b, y) || !t.Mem.WriteU32(c, z)) return -Errno.EFAULT;
        return 0;
    }

    static int GetGroups(Task t, int size, uint list)
    {
        if (size < 0) return -Errno.EINVAL;
        var groups = t.Group.Creds.Groups;
        if (size == 0) return groups.Length;
        if (size < groups.Length) return -Errno.EINVAL;
        for (int i = 0; i < groups.Length; i++) if (!t.Mem.WriteU32(list + (uint)i * 4, groups[i])) return -Errno.EFAULT;
        return groups.Length;
    }

    // ---- TLS (arch/x86/kernel/tls.c)

    /// <summary>fill_ldt (arch/x86/include/asm/desc.h): struct user_desc → segment descriptor.</summary>
    public static ulong FillLdt(uint baseAddr, uint limit, uint flags)
    {
        uint seg32 = flags & 1, contents = (flags >> 1) & 3, readExecOnly = (flags >> 3) & 1, limitInPages = (flags >> 4) & 1,
            notPresent = (flags >> 5) & 1, useable = (flags >> 6) & 1;
        uint type = ((readExecOnly ^ 1) << 1) | (contents << 2) | 1;
        ulong d = limit & 0xFFFF;
        d |= (ulong)(baseAddr & 0xFFFF) << 16;
        d |= (ulong)((baseAddr >> 16) & 0xFF) << 32;
        d |= (ulong)type << 40;
        d |= 1UL << 44;             // S: code/data
        d |= 3UL << 45;             // DPL 3
        d |= (ulong)(notPresent ^ 1) << 47;
        d |= (ulong)((limit >> 16) & 0xF) << 48;
        d |= (ulong)useable << 52;
        d |= (ulong)seg32 << 54;    // D/B
        d |= (ulong)limitInPages << 55;
        d |= (ulong)((baseAddr >> 24) & 0xFF) << 56;
        return d;
    }

    public static bool LdtEmpty(uint baseAddr, uint limit, uint flags)
    {
        uint seg32 = flags & 1, contents = (flags >> 1) & 3, readExecOnly = (flags >> 3) & 1, limitInPages = (flags >> 4) & 1,
            notPresent = (flags >> 5) & 1, useable = (flags >> 6) & 1;
        bool zero = baseAddr == 0 && limit == 0 && contents == 0 && seg32 == 0 && limitInPages == 0 && useable == 0;
        return zero && ((readExecOnly == 1 && notPresent == 1) || (readExecOnly == 0 && notPresent == 0 && flags == 0));
    }

    static int SetThreadArea(Task t, uint uinfo) => SetThreadAreaFor(t, t.Cpu, uinfo);

    /// <summary>do_set_thread_area on cpu (the caller's, or a new thread's for CLONE_SETTLS); t reads user memory.</summary>
    public static int SetThreadAreaFor(Task t, Processor cpu, uint uinfo)
    {
        Span<byte> b = stackalloc byte[16];
        if (U.Get(t, uinfo, b) != 0) return -Errno.EFAULT;
        int idx = (int)U.R32(b, 0);
        uint baseAddr = U.R32(b, 4), limit = U.R32(b, 8), flags = U.R32(b, 12);
        int min = t.Kernel.TlsMin, max = min + Selectors.TLS_ENTRIES - 1;
        var gdt = cpu.Gdt;
        // tls_desc_okay: an empty or all-zero descriptor clears; otherwise only present 32-bit data segments
        // (16-bit ones would need espfix, which works for LDT segments only).
        if (!LdtEmpty(baseAddr, limit, flags))
        {
            if ((flags & 1) == 0 || ((flags >> 1) & 3) > 1 || ((flags >> 5) & 1) != 0) return -Errno.EINVAL;
        }
        if (idx == -1)
        {
            idx = -1;
            for (int i = min; i <= max; i++) if (gdt[i] == 0) { idx = i; break; }
            if (idx == -1) return -Errno.ESRCH;
            if (!t.Mem.WriteU32(uinfo, (uint)idx)) return -Errno.EFAULT;
        }
        if (idx < min || idx > max) return -Errno.EINVAL;
        gdt[idx] = LdtEmpty(baseAddr, limit, flags) ? 0 : FillLdt(baseAddr, limit, flags);
        // do_set_thread_area: DS, ES, FS (x86-64) and GS are reloaded when they hold the modified selector; a load
        // that faults leaves the null selector (loadsegment's fixup).
        ushort modified = (ushort)((idx << 3) | 3);
        // Another task (a new thread's CLONE_SETTLS): its FS/GS base follow the entry, as its next switch-in loads.
        ReadOnlySpan<int> regs = t.Cpu != cpu ? stackalloc[] { CpuState.FS, CpuState.GS }
            : t.Kernel.Model.Kernel64 ? stackalloc[] { CpuState.DS, CpuState.ES, CpuState.FS, CpuState.GS } : stackalloc[] { CpuState.GS };
        foreach (int n in regs)
            if (cpu.S.Sel[n] == modified) cpu.KernelLoadSegment(n, modified);
        return 0;
    }

    static int GetThreadArea(Task t, uint uinfo)
    {
        if (!t.Mem.ReadU32(uinfo, out uint idxU)) return -Errno.EFAULT;
        int idx = (int)idxU;
        int min = t.Kernel.TlsMin, max = min + Selectors.TLS_ENTRIES - 1;
        if (idx < min || idx > max) return -Errno.EINVAL;
        ulong d = t.Cpu.Gdt[idx];
        Span<byte> b = stackalloc byte[16];
        U.W32(b, 0, (uint)idx);
        U.W32(b, 4, Processor.DescBase(d));
        U.W32(b, 8, (uint)((d & 0xFFFF) | ((d >> 32) & 0xF0000)));
        uint type = (uint)(d >> 40) & 0xF;
        uint flags = (uint)((d >> 54) & 1)                  // seg_32bit
                   | (((type >> 2) & 3) << 1)                // contents
                   | ((((type >> 1) & 1) ^ 1) << 3)          // read_exec_only
                   | (uint)(((d >> 55) & 1) << 4)            // limit_in_pages
                   | (uint)((((d >> 47) & 1) ^ 1) << 5)      // seg_not_present
                   | (uint)(((d >> 52) & 1) << 6);           // useable
        if (d == 0) flags = (1u << 3) | (1u << 5);
        U.W32(b, 12, flags);
        return U.Put(t, uinfo, b);
    }

    static int Personality(Task t, uint p)
    {
        uint old = t.Group.Personality;
        if (p != 0xFFFFFFFF) t.Group.Personality = p;
        return (int)old;
    }

    static int Prctl(Task t, int option, uint a2, uint a3, uint a4, uint a5)
    {
        const int PR_SET_NAME = 15, PR_GET_NAME = 16, PR_SET_PDEATHSIG = 1, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4;
        switch (option)
        {
            case PR_SET_NAME:
            {
                var b = t.Mem.ReadCStringBytes(a2, 16);
                if (b == null) { var raw = new byte[16]; if (!t.Mem.CopyFromUser(a2, raw)) return -Errno.EFAULT; b = raw; }
                t.Comm = System.Text.Encoding.UTF8.GetString(b.AsSpan(0, Math.Min(b.Length, 15)));
                return 0;
            }
            case PR_GET_NAME:
            {
                var b = new byte[16];
                System.Text.Encoding.UTF8.GetBytes(t.Comm.AsSpan(0, Math.Min(t.Comm.Length, 15)), b);
                return U.Put(t, a2, b);
            }
            case PR_SET_PDEATHSIG:
                if (a2 > 64) return -Errno.EINVAL;
                t.PdeathSignal = (int)a2; return 0;
            case 2: // PR_GET_PDEATHSIG
                return t.Mem.WriteU32(a2, (uint)t.PdeathSignal) ? 0 : -Errno.EFAULT;
            case 36: // PR_SET_CHILD_SUBREAPER
                lock (t.Kernel.TaskSet.Lock) t.Group.IsSubreaper = a2 != 0;
                return 0;
            case 37: // PR_GET_CHILD_SUBREAPER
                return t.Mem.WriteU32(a2, t.Group.IsSubreaper ? 1u : 0u) ? 0 : -Errno.EFAULT;
            case PR_SET_DUMPABLE: return 0;
            case PR_GET_DUMPABLE: return 1;
            default: return -Errno.EINVAL;
        }
    }

    // ---- resource limits (kernel/sys.c)

    static int GetRlimit(Task t, int res, uint ptr, bool legacy)
    {
        if ((uint)res >= Rlimits.Count) return -Errno.EINVAL;
        var (cur, max) = t.Group.Limits.Get(res);
        // compat: RLIM_INFINITY → 0xFFFFFFFF; the old getrlimit clamps to 0x7FFFFFFF.
        uint Conv(ulong v) => legacy ? (v > 0x7FFFFFFF ? 0x7FFFFFFFu : (uint)v) : (v >= 0xFFFFFFFF ? 0xFFFFFFFFu : (uint)v);
        Span<byte> b = stackalloc byte[8];
        U.W32(b, 0, Conv(cur)); U.W32(b, 4, Conv(max));
        return U.Put(t, ptr, b);
    }

    /// <summary>compat setrlimit (kernel/sys.c): the copy comes first (-EFAULT before a bad resource's -EINVAL).</summary>
    static int SetRlimit32(Task t, int res, uint ptr)
    {
        Span<byte> b = stackalloc byte[8];
        if (U.Get(t, ptr, b) != 0) return -Errno.EFAULT;
        ulong cur = U.R32(b, 0), max = U.R32(b, 4);
        if (cur == 0xFFFFFFFF) cur = ulong.MaxValue;
        if (max == 0xFFFFFFFF) max = ulong.MaxValue;
        return DoPrlimit(t, t.Group, res, (cur, max), out _);
    }

    /// <summary>do_prlimit (kernel/sys.c): a bad resource -EINVAL, cur above max -EINVAL, RLIMIT_NOFILE above
    /// nr_open -EPERM, a raised hard limit without CAP_SYS_RESOURCE -EPERM; old gets the limit before the change, taken
    /// under the same lock. The caller's descriptor table follows its soft RLIMIT_NOFILE.</summary>
    static int DoPrlimit(Task t, ThreadGroup g, int res, (ulong cur, ulong max)? nw, out (ulong cur, ulong max) old)
    {
        old = default;
        if ((uint)res >= Rlimits.Count) return -Errno.EINVAL;
        if (nw is var (c, m))
        {
            if (c > m) return -Errno.EINVAL;
            if (res == Rlimits.RLIMIT_NOFILE && m > Vfs.FdTable.Max) return -Errno.EPERM;
        }
        bool capResource = (t.Group.Creds.CapEff & (1UL << 24)) != 0;
        int r = g.Limits.Exchange(res, nw, capResource, out old);
        if (r == 0 && nw is var (c2, _) && res == Rlimits.RLIMIT_NOFILE && g == t.Group)
            t.Files.Limit = (int)Math.Min(c2, (ulong)Vfs.FdTable.Max);
        return r;
    }

    /// <summary>prlimit64 (kernel/sys.c): copy the new limit in (-EFAULT), find the task (-ESRCH), check_prlimit_permission
    /// (-EPERM), do_prlimit, and only then copy the old limit out: a bad old pointer still sets the new one.</summary>
    static int Prlimit64(Task t, int pid, int res, uint newp, uint oldp)
    {
        (ulong, ulong)? nw = null;
        if (newp != 0)
        {
            Span<byte> nb = stackalloc byte[16];
            if (U.Get(t, newp, nb) != 0) return -Errno.EFAULT;
            nw = (U.R64(nb, 0), U.R64(nb, 8));
        }
        var target = pid == 0 ? t : t.Kernel.TaskSet.FindTask(pid);
        if (target == null) return -Errno.ESRCH;
        if (target.Group != t.Group)
        {
            Creds c = t.Group.Creds, tc = target.Group.Creds;
            bool idMatch = c.Uid == tc.Euid && c.Uid == tc.Suid && c.Uid == tc.Uid && c.Gid == tc.Egid && c.Gid == tc.Sgid && c.Gid == tc.Gid;
            if (!idMatch && (c.CapEff & (1UL << 24)) == 0) return -Errno.EPERM;
        }
        int r = DoPrlimit(t, target.Group, res, nw, out var old);
        if (r == 0 && oldp != 0)
        {
            Span<byte> b = stackalloc byte[16];
            U.W64(b, 0, old.cur); U.W64(b, 8, old.max);
            if (U.Put(t, oldp, b) != 0) return -Errno.EFAULT;
        }
        return r;
    }

    /// <summary>sched_getparam (kernel/sched/core.c): a NULL param or a negative pid -EINVAL, an unknown pid -ESRCH,
    /// then the copy out (-EFAULT); every task here is SCHED_OTHER, priority 0.</summary>
    static int SchedGetParam(Task t, int pid, uint param)
    {
        if (param == 0 || pid < 0) return -Errno.EINVAL;
        if (pid != 0 && t.Kernel.TaskSet.FindTask(pid) == null) return -Errno.ESRCH;
        return U.Put(t, param, new byte[4]);
    }

    /// <summary>getpriority (kernel/sys.c): which outside PRIO_PROCESS..PRIO_USER -EINVAL; -ESRCH when no task
    /// matches (an unknown pid, an empty process group, a uid no task has); else 20 - nice, and every guest task
    /// has nice 0 (setpriority is not modelled).</summary>
    static int GetPriority(Task t, int which, int who)
    {
        const int PRIO_PROCESS = 0, PRIO_PGRP = 1, PRIO_USER = 2;
        if (which > PRIO_USER || which < PRIO_PROCESS) return -Errno.EINVAL;
        var ts = t.Kernel.TaskSet;
        bool found = which switch
        {
            PRIO_PROCESS => who == 0 || ts.FindTask(who) != null,
            PRIO_PGRP => who == 0 || ts.Groups().Any(g => g.Pgid == who),
            _ => who == 0 || (uint)who == t.Group.Creds.Uid || ts.Groups().Any(g => g.Creds.Uid == (uint)who),
        };
        return found ? 20 : -Errno.ESRCH;
    }

    static ulong OnlineMask => Environment.ProcessorCount >= 64 ? ulong.MaxValue : (1UL << Environment.ProcessorCount) - 1;

    /// <summary>sched_getaffinity: the mask, in nr_cpu_ids bits rounded up to whole compat longs.</summary>
    static int GetAffinity(Task t, int pid, uint len, uint mask)
    {
        if (pid != 0 && pid != t.Tid && pid != t.Tgid) return -Errno.ESRCH;
        int ncpu = Math.Min(Environment.ProcessorCount, 64);
        int bytes = ((ncpu + 31) / 32) * 4;
        if (len < (uint)bytes || (len & 3) != 0) return -Errno.EINVAL;
        var b = new byte[bytes];
        ulong m = t.Affinity & OnlineMask;
        for (int i = 0; i < ncpu; i++) if ((m >> i & 1) != 0) b[i / 8] |= (byte)(1 << (i % 8));
        return U.Put(t, mask, b) == 0 ? bytes : -Errno.EFAULT;
    }

    /// <summary>sched_setaffinity: a mask with no online CPU is -EINVAL (__set_cpus_allowed_ptr).</summary>
    static int SetAffinity(Task t, int pid, uint len, uint mask)
    {
        if (pid != 0 && pid != t.Tid && pid != t.Tgid) return -Errno.ESRCH;
        var b = new byte[Math.Min(len, 8u)];
        if (U.Get(t, mask, b) != 0) return -Errno.EFAULT;
        ulong m = 0;
        for (int i = 0; i < b.Length; i++) m |= (ulong)b[i] << (8 * i);
        m &= OnlineMask;
        if (m == 0) return -Errno.EINVAL;
        t.Affinity = m;
        return 0;
    }

    /// <summary>getcpu: the CPU the task runs on — the first one its affinity allows; node 0.</summary>
    static int GetCpu(Task t, uint cpu, uint node)
    {
        uint c = (uint)System.Numerics.BitOperations.TrailingZeroCount(t.Affinity & OnlineMask);
        if (cpu != 0 && !t.Mem.WriteU32(cpu, c)) return -Errno.EFAULT;
        if (node != 0 && !t.Mem.WriteU32(node, 0)) return -Errno.EFAULT;
        return 0;
    }
}

public sealed class Creds
{
    /// <summary>Real, effective, saved and filesystem ids (struct cred). A Creds object is never changed once
    /// published: a change makes a copy (commit_creds), so readers need no lock.</summary>
    public uint Uid, Euid, Suid, Fsuid, Gid, Egid, Sgid, Fsgid;
    public uint[] Groups = Array.Empty<uint>();
    /// <summary>Capability sets (CAP_LAST_CAP = 40 in 6.1): root's are full, anyone else's empty.</summary>
    public ulong CapEff, CapPrm, CapInh;
    public const ulong CapFull = (1UL << 41) - 1;
    public Creds Clone() => (Creds)MemberwiseClone();
    public static Creds FromHost()
    {
        try
        {
            uint u = Vfs.LibC.getuid(), eu = Vfs.LibC.geteuid(), g = Vfs.LibC.getgid(), eg = Vfs.LibC.getegid();
            ulong caps = eu == 0 ? CapFull : 0;
            return new Creds { Uid = u, Euid = eu, Suid = eu, Fsuid = eu, Gid = g, Egid = eg, Sgid = eg, Fsgid = eg, Groups = Vfs.LibC.GetGroups(),
                CapEff = caps, CapPrm = caps };
        }
        catch { return new Creds(); }
    }
}

/// <summary>Resource limits (include/uapi/asm-generic/resource.h order) with the defaults init gets.</summary>
public sealed class Rlimits
{
    public const int Count = 16;
    public const int RLIMIT_STACK = 3, RLIMIT_NOFILE = 7;
    const ulong Inf = ulong.MaxValue;
    readonly (ulong cur, ulong max)[] lim =
    {
        (Inf, Inf), (Inf, Inf), (Inf, Inf), (8UL << 20, Inf), (0, Inf), (Inf, Inf), (63844, 63844), (1024, 1048576),
        (8UL << 20, 8UL << 20), (Inf, Inf), (Inf, Inf), (63844, 63844), (819200, 819200), (0, 0), (0, 0), (Inf, Inf),
    };
    readonly object lk = new();
    public (ulong, ulong) Get(int r) { lock (lk) return lim[r]; }

    /// <summary>The first process inherits compat32's own limits, as a program started by the same shell would.</summary>
    public static Rlimits FromHost()
    {
        var l = new Rlimits();
        for (int r = 0; r < Count; r++)
            if (Vfs.LibC.GetRlimit(r) is (ulong cur, ulong max)) l.lim[r] = (cur, max);
        return l;
    }
    /// <summary>fork copies the limits (copy_signal).</summary>
    public Rlimits Clone() { var c = new Rlimits(); lock (lk) Array.Copy(lim, c.lim, lim.Length); return c; }
    /// <summary>The locked part of do_prlimit: old gets the limit as it was; a new one raising the hard limit needs
    /// CAP_SYS_RESOURCE (capResource).</summary>
    public int Exchange(int r, (ulong cur, ulong max)? nw, bool capResource, out (ulong cur, ulong max) old)
    {
        lock (lk)
        {
            old = lim[r];
            if (nw is not var (cur, max)) return 0;
            if (max > lim[r].max && !capResource) return -Errno.EPERM;
            lim[r] = (cur, max);
        }
        return 0;
    }
}
