using Compat32.Kernel.Vfs;
using Compat32.Memory;

namespace Compat32.Kernel.Syscalls;

/// <summary>Memory management syscalls (mm/mmap.c, mm/mprotect.c, mm/mremap.c, mm/madvise.c).</summary>
public static class MmCalls
{
    public const uint PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, PROT_GROWSDOWN = 0x01000000, PROT_GROWSUP = 0x02000000;
    public const uint MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_SHARED_VALIDATE = 3, MAP_TYPE = 0xF, MAP_FIXED = 0x10,
        MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100, MAP_FIXED_NOREPLACE = 0x100000;
    public const uint MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
    /// <summary>TASK_SIZE for a compat task (IA32_PAGE_OFFSET) and for a 32-bit kernel (3 GiB split).</summary>
    public static uint TaskSize(Task t) => t.Kernel.Model.Kernel64 ? 0xFFFFE000u : 0xC0000000u;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.brk, "p", (t, a, _, _, _, _, _) => Brk(t, a), 'x');
        s.Add(Nr.mmap2, "pudxdu", (t, a, b, c, d, e, f) => Mmap(t, a, b, c, d, (int)e, (ulong)f << 12), 'x');
        s.Add(Nr.mmap, "p", (t, a, _, _, _, _, _) => OldMmap(t, a), 'x');
        s.Add(Nr.munmap, "pu", (t, a, b, _, _, _, _) => Munmap(t, a, b));
        s.Add(Nr.mprotect, "pux", (t, a, b, c, _, _, _) => Mprotect(t, a, b, c));
        s.Add(Nr.mremap, "puuxp", (t, a, b, c, d, e, _) => Mremap(t, a, b, c, d, e), 'x');
        s.Add(Nr.madvise, "pud", (t, a, b, c, _, _, _) => Madvise(t, a, b, (int)c));
        s.Add(Nr.msync, "pux", (t, a, b, c, _, _, _) => (a & 0xFFF) != 0 ? -Errno.EINVAL : 0);
        s.Add(Nr.mlock, "pu", (t, a, b, _, _, _, _) => 0);
        s.Add(Nr.munlock, "pu", (t, a, b, _, _, _, _) => 0);
        s.Add(Nr.mlockall, "x", (t, a, _, _, _, _, _) => 0);
        s.Add(Nr.munlockall, "", (t, _, _, _, _, _, _) => 0);
        s.Add(Nr.mincore, "pup", (t, a, b, c, _, _, _) => Mincore(t, a, b, c));
    }

    static uint PageUp(uint x) => (x + 0xFFF) & ~0xFFFu;

    /// <summary>sys_brk: never fails loudly; returns the (possibly unchanged) break.</summary>
    public static int Brk(Task t, uint brk)
    {
        var m = t.Mem;
        if (brk < m.BrkStart) return (int)m.Brk;
        uint newEnd = PageUp(brk), oldEnd = PageUp(m.Brk);
        if (newEnd < oldEnd) m.Unmap(newEnd, oldEnd - newEnd);
        else if (newEnd > oldEnd)
        {
            // Leave the stack guard gap alone and refuse to overlap any mapping (check_brk_limits).
            if (!m.RangeFree(oldEnd, newEnd - oldEnd) || newEnd > TaskSize(t)) return (int)m.Brk;
            m.Map(oldEnd, newEnd - oldEnd, Prot.Read | Prot.Write, "[heap]");
            MergeHeap(m, m.BrkStart);
        }
        m.Brk = brk;
        return (int)brk;
    }

    static void MergeHeap(AddressSpace m, uint start) { /* /proc/self/maps shows adjacent heap pieces merged */ }

    public static Prot ToProt(uint prot)
    {
        var p = Prot.None;
        if ((prot & PROT_READ) != 0) p |= Prot.Read;
        if ((prot & PROT_WRITE) != 0) p |= Prot.Write | Prot.Read; // x86 pages cannot be write-only
        if ((prot & PROT_EXEC) != 0) p |= Prot.Exec | Prot.Read;   // nor execute-only
        return p;
    }

    /// <summary>do_mmap for the flags a 32-bit program uses; file mappings are copied in (private semantics).</summary>
    public static int Mmap(Task t, uint addr, uint len, uint prot, uint flags, int fd, ulong off)
    {
        var m = t.Mem;
        if (len == 0) return -Errno.EINVAL;
        uint type = flags & MAP_TYPE;
        if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) return -Errno.EINVAL;
        if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP)) != 0) return -Errno.EINVAL;
        ulong alen = ((ulong)len + 0xFFF) & ~0xFFFUL;
        if (alen > TaskSize(t)) return -Errno.ENOMEM;
        if ((off & 0xFFF) != 0) return -Errno.EINVAL;
        bool isFixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
        if (isFixed)
        {
            if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
            if ((ulong)addr + alen > TaskSize(t)) return -Errno.ENOMEM;
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && (flags & MAP_FIXED) == 0 && !m.RangeFree(addr, (uint)alen)) return -Errno.EEXIST;
        }
        OpenFile? file = null;
        if ((flags & MAP_ANONYMOUS) == 0)
        {
            file = t.Files.Get(fd);
            if (file == null) return -Errno.EBADF;
            int acc = file.Flags & 3;
            if (acc == LibC.O_WRONLY) return -Errno.EACCES;
            if (type != MAP_PRIVATE && (prot & PROT_WRITE) != 0 && acc != LibC.O_RDWR) return -Errno.EACCES;
            if (file.IsDirectory) return -Errno.ENODEV;
        }
        uint at;
        if (isFixed) at = addr;
        else
        {
            at = m.FindFree((uint)alen, (addr & 0xFFF) == 0 && addr != 0 && (ulong)addr + alen <= TaskSize(t) ? addr : 0);
            if (at == 0) return -Errno.ENOMEM;
        }
        string name = file != null ? file.Path : (flags & MAP_GROWSDOWN) != 0 ? "[stack]" : "";
        m.Map(at, (uint)alen, ToProt(prot), name);
        var v = m.FindVma(at);
        if (v != null) { v.Shared = type != MAP_PRIVATE; v.Offset = off; }
        if (file != null)
        {
            int r = ReadFileInto(t, file, at, (uint)alen, off);
            if (r < 0) { m.Unmap(at, (uint)alen); return r; }
        }
        return (int)at;
    }

    /// <summary>Copy file bytes into a fresh mapping (bytes past EOF stay zero).</summary>
    static unsafe int ReadFileInto(Task t, OpenFile f, uint at, uint len, ulong off)
    {
        if (f.Synthetic != null)
        {
            long avail = Math.Max(0, f.Synthetic.Length - (long)off);
            int n = (int)Math.Min(avail, len);
            if (n > 0) t.Mem.Poke(at, f.Synthetic.AsSpan((int)off, n));
            return 0;
        }
        uint done = 0;
        byte* p = t.Mem.Ptr(at);
        while (done < len)
        {
            long r = LibC.PRead(f.HostFd, p + done, len - done, (long)off + done);
            if (r < 0) return r == -Errno.EINTR ? 0 : (int)r;
            if (r == 0) break;
            done += (uint)r;
        }
        t.Mem.NoteWrite(at, len);
        return 0;
    }

    /// <summary>old_mmap (nr 90): arguments in a struct mmap_arg_struct; the offset must be page aligned.</summary>
    static int OldMmap(Task t, uint argp)
    {
        Span<byte> b = stackalloc byte[24];
        if (U.Get(t, argp, b) != 0) return -Errno.EFAULT;
        uint off = U.R32(b, 20);
        if ((off & 0xFFF) != 0) return -Errno.EINVAL;
        return Mmap(t, U.R32(b, 0), U.R32(b, 4), U.R32(b, 8), U.R32(b, 12), (int)U.R32(b, 16), off);
    }

    public static int Munmap(Task t, uint addr, uint len)
    {
        if ((addr & 0xFFF) != 0 || len == 0) return -Errno.EINVAL;
        ulong alen = ((ulong)len + 0xFFF) & ~0xFFFUL;
        if ((ulong)addr + alen > TaskSize(t)) return -Errno.EINVAL;
        if (t.Mm.VdsoBase != 0 && addr <= t.Mm.VdsoBase && (ulong)addr + alen > t.Mm.VdsoBase) t.Mm.VdsoBase = 0;
        t.Mem.Unmap(addr, (uint)alen);
        return 0;
    }

    static int Mprotect(Task t, uint addr, uint len, uint prot)
    {
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP)) != 0) return -Errno.EINVAL;
        if (len == 0) return 0;
        ulong alen = ((ulong)len + 0xFFF) & ~0xFFFUL;
        if ((ulong)addr + alen > TaskSize(t)) return -Errno.ENOMEM;
        return t.Mem.Protect(addr, (uint)alen, ToProt(prot)) ? 0 : -Errno.ENOMEM;
    }

    /// <summary>mremap; moving the whole [vdso] updates context.vdso so the landing pad moves with it
    /// (vdso_mremap → vdso_fix_landing in arch/x86/entry/vdso/vma.c).</summary>
    static int Mremap(Task t, uint oldAddr, uint oldLen, uint newLen, uint flags, uint newAddr)
    {
        var m = t.Mem;
        if ((oldAddr & 0xFFF) != 0) return -Errno.EINVAL;
        if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0) return -Errno.EINVAL;
        if ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0) return -Errno.EINVAL;
        oldLen = PageUp(oldLen); newLen = PageUp(newLen);
        if (newLen == 0) return -Errno.EINVAL;
        var v = m.FindVma(oldAddr);
        if (v == null || (oldLen != 0 && (ulong)oldAddr + oldLen > (v.End == 0 ? AddressSpace.Size : v.End))) return -Errno.EFAULT;
        bool isVdso = t.Mm.VdsoBase != 0 && oldAddr == t.Mm.VdsoBase;
        if ((flags & MREMAP_FIXED) != 0)
        {
            if ((newAddr & 0xFFF) != 0) return -Errno.EINVAL;
            if ((ulong)newAddr + newLen > TaskSize(t)) return -Errno.EINVAL;
            if (isVdso && newLen != oldLen) return -Errno.EINVAL;
            uint keep = Math.Min(oldLen, newLen);
            m.Unmap(newAddr, newLen);
            m.Move(oldAddr, keep, newAddr);
            if (newLen > keep) m.Map(newAddr + keep, newLen - keep, v.Prot, v.Name);
            if (oldLen > keep) m.Unmap(oldAddr + keep, oldLen - keep);
            if (isVdso) t.Mm.VdsoBase = newAddr;
            return (int)newAddr;
        }
        if (newLen <= oldLen)
        {
            if (newLen < oldLen) m.Unmap(oldAddr + newLen, oldLen - newLen);
            return (int)oldAddr;
        }
        if (isVdso) return -Errno.EINVAL;
        if ((ulong)oldAddr + newLen <= TaskSize(t) && m.RangeFree(oldAddr + oldLen, newLen - oldLen))
        {
            m.Map(oldAddr + oldLen, newLen - oldLen, v.Prot, v.Name, zero: true);
            return (int)oldAddr;
        }
        if ((flags & MREMAP_MAYMOVE) == 0) return -Errno.ENOMEM;
        uint to = m.FindFree(newLen);
        if (to == 0) return -Errno.ENOMEM;
        m.Move(oldAddr, oldLen, to);
        m.Map(to + oldLen, newLen - oldLen, v.Prot, v.Name);
        return (int)to;
    }

    static int Madvise(Task t, uint addr, uint len, int advice)
    {
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        const int MADV_DONTNEED = 4, MADV_FREE = 8;
        if (advice is MADV_DONTNEED or MADV_FREE)
        {
            uint alen = PageUp(len);
            for (uint a = addr; a < addr + alen; a += 4096)
            {
                var v = t.Mem.FindVma(a);
                if (v == null) return -Errno.ENOMEM;
                if (!v.Shared && (t.Mem.Perm[a >> 12] & (byte)Prot.Write) != 0)
                    t.Mem.Poke(a, new byte[4096]); // private anonymous pages read back as zero
            }
        }
        return 0;
    }

    static int Mincore(Task t, uint addr, uint len, uint vec)
    {
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        uint pages = PageUp(len) >> 12;
        var b = new byte[pages];
        for (uint i = 0; i < pages; i++)
        {
            if ((t.Mem.Perm[(addr >> 12) + i] & AddressSpace.Present) == 0) return -Errno.ENOMEM;
            b[i] = 1;
        }
        return U.Put(t, vec, b);
    }
}
