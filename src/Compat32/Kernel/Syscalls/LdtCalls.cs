using Compat32.Cpu;

namespace Compat32.Kernel.Syscalls;

/// <summary>modify_ldt (arch/x86/kernel/ldt.c): the per-mm LDT. A write builds a new table (alloc_ldt_struct, copy,
/// one entry changed) and installs it (install_ldt): every processor of the mm gets the new table and is sent
/// out of user mode (flush_ldt's IPI), where DS/ES are reloaded (refresh_ldt_segments) and the return to user
/// mode checks CS and SS again, as IRET would. Tables are never changed in place, so a processor reads its
/// reference without a lock.</summary>
public static class LdtCalls
{
    public const int LDT_ENTRIES = 8192, LDT_ENTRY_SIZE = 8;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.modify_ldt, "dpu", (t, a, b, c, _, _, _) => ModifyLdt(t, (int)a, b, c));
    }

    /// <summary>SYSCALL_DEFINE3(modify_ldt): 0 read, 1 write (old mode), 2 read_default, 0x11 write.</summary>
    static int ModifyLdt(Task t, int func, uint ptr, uint bytecount) => func switch
    {
        0 => ReadLdt(t, ptr, bytecount),
        1 => WriteLdt(t, ptr, bytecount, oldmode: true),
        2 => ReadDefaultLdt(t, ptr, bytecount),
        0x11 => WriteLdt(t, ptr, bytecount, oldmode: false),
        _ => -Errno.ENOSYS,
    };

    /// <summary>read_ldt: up to bytecount bytes of the table, the rest of bytecount zero-filled; 0 when there is
    /// no LDT.</summary>
    static int ReadLdt(Task t, uint ptr, uint bytecount)
    {
        var mm = t.Mm;
        lock (mm.LdtLock)
        {
            var ldt = mm.Ldt;
            if (ldt == null) return 0;
            if (bytecount > LDT_ENTRY_SIZE * LDT_ENTRIES) bytecount = LDT_ENTRY_SIZE * LDT_ENTRIES;
            uint size = Math.Min((uint)ldt.Length * LDT_ENTRY_SIZE, bytecount);
            var buf = new byte[bytecount];
            for (int i = 0; i < size / 8; i++) BitConverter.TryWriteBytes(buf.AsSpan(i * 8), ldt[i]);
            if (!t.Mem.CopyToUser(ptr, buf)) return -Errno.EFAULT;
            return (int)bytecount;
        }
    }

    /// <summary>read_default_ldt (x86-64): 128 zero bytes at most.</summary>
    static int ReadDefaultLdt(Task t, uint ptr, uint bytecount)
    {
        uint size = t.Kernel.Model.Kernel64 ? 128u : 5 * 8u;
        if (bytecount > size) bytecount = size;
        if (!t.Mem.CopyToUser(ptr, new byte[bytecount])) return -Errno.EFAULT;
        return (int)bytecount;
    }

    /// <summary>write_ldt: a struct user_desc (16 bytes exactly), entry below 8192; contents 3 (conforming code)
    /// only in the new mode and only not present; an empty descriptor (LDT_empty, or base and limit 0 in the old
    /// mode) clears the entry; otherwise fill_ldt (old mode: AVL cleared). 16-bit segments are allowed
    /// (allow_16bit_segments: CONFIG_X86_16BIT, ESPFIX64).</summary>
    static int WriteLdt(Task t, uint ptr, uint bytecount, bool oldmode)
    {
        if (bytecount != 16) return -Errno.EINVAL;
        Span<byte> b = stackalloc byte[16];
        if (!t.Mem.CopyFromUser(ptr, b)) return -Errno.EFAULT;
        uint entry = U.R32(b, 0), baseAddr = U.R32(b, 4), limit = U.R32(b, 8), flags = U.R32(b, 12);
        if (entry >= LDT_ENTRIES) return -Errno.EINVAL;
        uint contents = (flags >> 1) & 3, notPresent = (flags >> 5) & 1;
        if (contents == 3)
        {
            if (oldmode) return -Errno.EINVAL;
            if (notPresent == 0) return -Errno.EINVAL;
        }
        ulong desc;
        if ((oldmode && baseAddr == 0 && limit == 0) || LdtEmpty(baseAddr, limit, flags)) desc = 0;
        else
        {
            desc = ProcessCalls.FillLdt(baseAddr, limit, flags);
            if (oldmode) desc &= ~(1UL << 52); // ldt.avl = 0
        }
        var mm = t.Mm;
        List<Task> others;
        lock (mm.LdtLock)
        {
            var old = mm.Ldt;
            int n = Math.Max((int)entry + 1, old?.Length ?? 0);
            var fresh = new ulong[n];
            old?.CopyTo(fresh, 0);
            fresh[entry] = desc;
            others = InstallLdt(t, fresh);
        }
        // on_each_cpu_mm(..., wait): no other thread of the mm runs a guest instruction with the old LDT after
        // modify_ldt returns (the x86 ldt_gdt selftest's cross-CPU invalidation relies on it).
        foreach (var th in others) th.Cpu.WaitOutOfGuest();
        return 0;
    }

    /// <summary>LDT_empty (asm/desc.h): base, limit, contents, seg_32bit, limit_in_pages, useable 0 with
    /// read_exec_only and seg_not_present set. (An all-zero user_desc is a real 16-bit segment here.)</summary>
    static bool LdtEmpty(uint baseAddr, uint limit, uint flags) =>
        baseAddr == 0 && limit == 0 && (flags & 0x7F) == ((1u << 3) | (1u << 5));

    /// <summary>install_ldt + flush_ldt on every CPU using the mm (called under mm.LdtLock): the other threads
    /// asked to stop, for the caller to wait on once the lock is released.</summary>
    static List<Task> InstallLdt(Task t, ulong[] table)
    {
        var mm = t.Mm;
        mm.Ldt = table;
        var others = new List<Task>();
        foreach (var th in t.Kernel.TaskSet.Tasks())
        {
            if (th.Mm != mm) continue;
            th.Cpu.Ldt = table; // load_mm_ldt: the new LDTR; loaded segments keep their cached descriptors
            if (th == t) RefreshLdtSegments(th);
            else { th.LdtChanged = true; th.Cpu.RequestAsyncStop(); others.Add(th); }
        }
        return others;
    }

    /// <summary>refresh_ldt_segments (x86-64): DS and ES are reloaded when they name the LDT; a failing load leaves
    /// the null selector. (The 32-bit kernel reloads them from pt_regs on every return anyway.)</summary>
    public static void RefreshLdtSegments(Task t)
    {
        var cpu = t.Cpu;
        if (!t.Kernel.Model.Kernel64) return;
        foreach (int n in stackalloc[] { CpuState.DS, CpuState.ES })
        {
            ushort sel = cpu.S.Sel[n];
            if ((sel & 4) != 0) cpu.KernelLoadSegment(n, sel);
        }
    }
}
