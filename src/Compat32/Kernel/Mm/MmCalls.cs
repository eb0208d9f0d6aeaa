using Compat32.Kernel.Vfs;
using Compat32.Memory;

namespace Compat32.Kernel.Syscalls;

/// <summary>
/// Memory management syscalls: mm/mmap.c (brk, do_mmap, munmap), mm/mprotect.c, mm/mremap.c, mm/madvise.c,
/// mm/msync.c, mm/mincore.c. Each call holds the space's MmLock (mmap_lock) across its checks and changes.
/// MAP_SHARED memory is host memory shared for real (a memfd for anonymous memory and /dev/zero, the file's own
/// pages for files); MAP_PRIVATE file mappings are copied in, so they do not see later writes to the file.
/// </summary>
public static class MmCalls
{
    public const uint PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4, PROT_GROWSDOWN = 0x01000000, PROT_GROWSUP = 0x02000000;
    public const uint MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_SHARED_VALIDATE = 3, MAP_TYPE = 0xF, MAP_FIXED = 0x10,
        MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100, MAP_STACK = 0x20000, MAP_FIXED_NOREPLACE = 0x100000;
    /// <summary>LEGACY_MAP_MASK (include/linux/mman.h): what MAP_SHARED_VALIDATE accepts.</summary>
    const uint LegacyMapMask = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | 0x800 /* DENYWRITE */ |
        0x1000 /* EXECUTABLE */ | 0x4000000 /* UNINITIALIZED */ | MAP_GROWSDOWN | 0x2000 /* LOCKED */ |
        0x4000 /* NORESERVE */ | 0x8000 /* POPULATE */ | 0x10000 /* NONBLOCK */ | 0x20000 /* STACK */ | 0x40000 /* HUGETLB */;
    public const uint MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
    public const int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;
    public const int MADV_NORMAL = 0, MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_WILLNEED = 3, MADV_DONTNEED = 4,
        MADV_FREE = 8, MADV_REMOVE = 9, MADV_DONTFORK = 10, MADV_DOFORK = 11, MADV_MERGEABLE = 12, MADV_UNMERGEABLE = 13,
        MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15, MADV_DONTDUMP = 16, MADV_DODUMP = 17, MADV_WIPEONFORK = 18,
        MADV_KEEPONFORK = 19, MADV_COLD = 20, MADV_PAGEOUT = 21, MADV_POPULATE_READ = 22, MADV_POPULATE_WRITE = 23,
        MADV_DONTNEED_LOCKED = 24, MADV_COLLAPSE = 25, MADV_HWPOISON = 100, MADV_SOFT_OFFLINE = 101;
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
        s.Add(Nr.msync, "pux", (t, a, b, c, _, _, _) => Msync(t, a, b, (int)c));
        s.Add(Nr.mlock, "pu", (t, a, b, _, _, _, _) => Mlock(t, a, b, lockIt: true));
        s.Add(Nr.mlock2, "pux", (t, a, b, c, _, _, _) => (c & ~1u) != 0 ? -Errno.EINVAL : Mlock(t, a, b, lockIt: true));
        s.Add(Nr.munlock, "pu", (t, a, b, _, _, _, _) => Mlock(t, a, b, lockIt: false));
        s.Add(Nr.mlockall, "x", (t, a, _, _, _, _, _) => 0);
        s.Add(Nr.munlockall, "", (t, _, _, _, _, _, _) => 0);
        s.Add(Nr.mincore, "pup", (t, a, b, c, _, _, _) => Mincore(t, a, b, c));
    }

    static uint PageUp(uint x) => (x + 0xFFF) & ~0xFFFu;
    /// <summary>PAGE_ALIGN in the 64-bit kernel's unsigned long: a 32-bit length near 4 GiB does not wrap.</summary>
    static ulong PageAlign(uint x) => ((ulong)x + 0xFFF) & ~0xFFFUL;

    /// <summary>
    /// sys_brk (mm/mmap.c): never fails loudly; returns the (possibly unchanged) break. The page rounding is done
    /// in the 64-bit kernel's unsigned long, so a break near 4 GiB does not wrap to 0 (it fails check_brk_limits).
    /// </summary>
    public static int Brk(Task t, uint brk)
    {
        var m = t.Mem;
        lock (m.MmLock)
        {
            if (brk < m.BrkStart) return (int)m.Brk;
            ulong newEnd = PageAlign(brk), oldEnd = PageAlign(m.Brk);
            if (newEnd == oldEnd) { m.Brk = brk; return (int)brk; }
            if (brk <= m.Brk) m.Unmap((uint)newEnd, (uint)(oldEnd - newEnd)); // shrinking is always allowed
            else
            {
                // check_brk_limits (TASK_SIZE - len < addr), then the next mapping must leave a page free above
                // the new break (newbrk + PAGE_SIZE > vm_start_gap(next)).
                ulong len = newEnd - oldEnd;
                if (TaskSize(t) - len < oldEnd) return (int)m.Brk;
                uint gap = newEnd + 0x1000 <= TaskSize(t) ? 0x1000u : 0;
                if (!m.RangeFree((uint)oldEnd, (uint)len + gap)) return (int)m.Brk;
                m.Map((uint)oldEnd, (uint)len, Prot.Read | Prot.Write, "[heap]");
            }
            m.Brk = brk;
            return (int)brk;
        }
    }

    public static Prot ToProt(uint prot)
    {
        var p = Prot.None;
        if ((prot & PROT_READ) != 0) p |= Prot.Read;
        if ((prot & PROT_WRITE) != 0) p |= Prot.Write | Prot.Read; // x86 pages cannot be write-only
        if ((prot & PROT_EXEC) != 0) p |= Prot.Exec | Prot.Read;   // nor execute-only
        return p;
    }

    /// <summary>do_mmap for the flags a 32-bit program uses.</summary>
    public static int Mmap(Task t, uint addr, uint len, uint prot, uint flags, int fd, ulong off)
    {
        var m = t.Mem;
        if (len == 0) return -Errno.EINVAL;
        uint type = flags & MAP_TYPE;
        if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) return -Errno.EINVAL;
        if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP)) != 0) return -Errno.EINVAL;
        ulong alen = PageAlign(len);
        if (alen > TaskSize(t)) return -Errno.ENOMEM;
        if ((off & 0xFFF) != 0) return -Errno.EINVAL;
        if (off + alen < off) return -Errno.EOVERFLOW;
        bool isFixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
        if (isFixed)
        {
            if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
            if ((ulong)addr + alen > TaskSize(t)) return -Errno.ENOMEM;
        }
        bool shared = type != MAP_PRIVATE;
        OpenFile? file = null;
        ulong inode = 0;
        bool devZero = false;
        if ((flags & MAP_ANONYMOUS) == 0)
        {
            file = t.Files.Get(fd);
            if (file == null) return -Errno.EBADF;
            if (type == MAP_SHARED_VALIDATE && (flags & ~LegacyMapMask) != 0) return -Errno.EOPNOTSUPP;
            int acc = file.Flags & 3;
            if (acc == LibC.O_WRONLY) return -Errno.EACCES;
            if (shared && (prot & PROT_WRITE) != 0 && acc != LibC.O_RDWR) return -Errno.EACCES;
            if (file.IsDirectory) return -Errno.ENODEV;
            if (file.Synthetic == null && file.HostFd >= 0 && HostMem.Stat(file.HostFd, out uint mode, out _, out inode, out _, out ulong rdev) == 0)
                devZero = (mode & 0xF000) == 0x2000 && rdev == (1UL << 32 | 5); // /dev/zero: mmap_zero
            else if (shared) return -Errno.ENODEV;
        }
        lock (m.MmLock)
        {
            if (isFixed && (flags & MAP_FIXED) == 0 && !m.RangeFree(addr, (uint)alen)) return -Errno.EEXIST;
            uint at;
            if (isFixed) at = addr;
            else
            {
                at = m.FindFree((uint)alen, (addr & 0xFFF) == 0 && addr != 0 && (ulong)addr + alen <= TaskSize(t) ? addr : 0);
                if (at == 0) return -Errno.ENOMEM;
            }
            if (shared && (file == null || devZero))
            {
                // shmem_zero_setup: an object of its own, shared with the children this process forks.
                var shm = HostFile.Shmem(alen, out int err);
                if (shm == null) return err;
                int r = m.MapShared(at, (uint)alen, ToProt(prot), "/dev/zero (deleted)", shm, 0);
                return r < 0 ? r : (int)at;
            }
            if (shared)
            {
                var hf = HostFile.OfFile(file!.HostFd, (file.Flags & 3) == LibC.O_RDWR, out int err);
                if (hf == null) return err;
                int r = m.MapShared(at, (uint)alen, ToProt(prot), file.Path, hf, off);
                return r < 0 ? r : (int)at;
            }
            string name = file != null && !devZero ? file.Path : (flags & MAP_GROWSDOWN) != 0 ? "[stack]" : "";
            // A regular file: its snapshot's pages, copy-on-write (the page cache's pages in Linux).
            if (file != null && !devZero && file.Synthetic == null && file.HostFd >= 0 &&
                Vfs.FileSnapshots.Of(file.HostFd) is { } snap && m.MapImage(at, (uint)alen, ToProt(prot), name, snap, off))
            {
                m.FindVma(at)!.Inode = inode;
                return (int)at;
            }
            m.Map(at, (uint)alen, ToProt(prot), name);
            // Anonymous, writable, not a stack (MAP_STACK: glibc's thread stacks, touched only at their top): host
            // huge pages under it (the host's page size only; Linux 6.7 stopped giving MAP_STACK ones for the same reason).
            if ((file == null || devZero) && (prot & PROT_WRITE) != 0 && (flags & (MAP_GROWSDOWN | MAP_STACK)) == 0)
                m.AdviseHuge(at, (uint)alen);
            if (file != null && !devZero)
            {
                var v = m.FindVma(at)!;
                v.Offset = off; v.Inode = inode;
                int r = ReadFileInto(t, file, at, (uint)alen, off);
                if (r < 0) { m.Unmap(at, (uint)alen); return r; }
            }
            return (int)at;
        }
    }

    /// <summary>Copy file bytes into a fresh private mapping (bytes past EOF stay zero).</summary>
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
        // The mapping has its final protection already: the host may refuse the copy into it (HostWrites).
        using (t.Mem.OpenForKernel(at, len))
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
        ulong alen = PageAlign(len);
        if ((ulong)addr + alen > TaskSize(t)) return -Errno.EINVAL;
        lock (t.Mem.MmLock)
        {
            if (t.Mm.VdsoBase != 0 && addr <= t.Mm.VdsoBase && (ulong)addr + alen > t.Mm.VdsoBase) t.Mm.VdsoBase = 0;
            t.Mem.Unmap(addr, (uint)alen);
        }
        return 0;
    }

    static int Mprotect(Task t, uint addr, uint len, uint prot)
    {
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        if ((prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP)) != 0) return -Errno.EINVAL;
        if (len == 0) return 0;
        ulong alen = PageAlign(len);
        if ((ulong)addr + alen > TaskSize(t)) return -Errno.ENOMEM;
        return t.Mem.Protect(addr, (uint)alen, ToProt(prot)) switch
        {
            ProtectResult.Ok => 0,
            ProtectResult.NotWritable => -Errno.EACCES,
            _ => -Errno.ENOMEM,
        };
    }

    /// <summary>[vdso] and [vvar] are special mappings (VM_DONTEXPAND).</summary>
    static bool DontExpand(Vma v) => v.Name is "[vdso]" or "[vvar]";

    /// <summary>sys_mremap (mm/mremap.c). Moving the whole [vdso] updates context.vdso so the landing pad moves
    /// with it (vdso_mremap → vdso_fix_landing in arch/x86/entry/vdso/vma.c).</summary>
    static int Mremap(Task t, uint addr, uint oldLenIn, uint newLenIn, uint flags, uint newAddr)
    {
        var m = t.Mem;
        if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0) return -Errno.EINVAL;
        if ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0) return -Errno.EINVAL;
        // MREMAP_DONTUNMAP is always a move and does not resize.
        if ((flags & MREMAP_DONTUNMAP) != 0 && ((flags & MREMAP_MAYMOVE) == 0 || oldLenIn != newLenIn)) return -Errno.EINVAL;
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        ulong oldLen = PageAlign(oldLenIn), newLen = PageAlign(newLenIn);
        if (newLen == 0) return -Errno.EINVAL;
        ulong task = TaskSize(t);
        lock (m.MmLock)
        {
            if (m.FindVma(addr) == null) return -Errno.EFAULT;
            if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0) return MremapTo(t, addr, oldLen, newAddr, newLen, flags);

            // Always allow a shrinking remap: that just unmaps the tail.
            if (oldLen >= newLen)
            {
                if (oldLen > newLen)
                {
                    if ((ulong)addr + oldLen > task) return -Errno.EINVAL;
                    m.Unmap((uint)(addr + newLen), (uint)(oldLen - newLen));
                }
                return (int)addr;
            }

            int err = ToResize(m, addr, oldLen, newLen, out var v);
            if (err != 0) return err;
            // Exactly to the end of the area: can we just expand it?
            if (oldLen == m.MergedEnd(addr) - addr && (ulong)addr + newLen <= task &&
                m.RangeFree((uint)(addr + oldLen), (uint)(newLen - oldLen)))
                return m.Expand(addr, (uint)oldLen, (uint)newLen);
            if ((flags & MREMAP_MAYMOVE) == 0) return -Errno.ENOMEM;
            uint to = m.FindFree((uint)newLen);
            if (to == 0) return -Errno.ENOMEM;
            return MoveVma(t, v, addr, oldLen, to, newLen, false);
        }
    }

    /// <summary>mremap_to: MREMAP_FIXED and/or MREMAP_DONTUNMAP.</summary>
    static int MremapTo(Task t, uint addr, ulong oldLen, uint newAddr, ulong newLen, uint flags)
    {
        var m = t.Mem;
        bool isFixed = (flags & MREMAP_FIXED) != 0;
        // new_addr is checked even when it is only a hint (MREMAP_DONTUNMAP alone).
        if ((newAddr & 0xFFF) != 0) return -Errno.EINVAL;
        if (newLen > TaskSize(t) || newAddr > TaskSize(t) - newLen) return -Errno.EINVAL;
        // The old and new ranges must not overlap.
        if ((ulong)addr + oldLen > newAddr && (ulong)newAddr + newLen > addr) return -Errno.EINVAL;
        if (isFixed) m.Unmap(newAddr, (uint)newLen);
        if (oldLen > newLen)
        {
            m.Unmap((uint)(addr + newLen), (uint)(oldLen - newLen));
            oldLen = newLen;
        }
        int err = ToResize(m, addr, oldLen, newLen, out var v);
        if (err != 0) return err;
        if ((flags & MREMAP_DONTUNMAP) != 0 && DontExpand(v)) return -Errno.EINVAL;
        uint to = newAddr;
        if (!isFixed)
        {
            // get_unmapped_area with new_addr as a hint.
            to = m.FindFree((uint)newLen, newAddr);
            if (to == 0) return -Errno.ENOMEM;
        }
        return MoveVma(t, v, addr, oldLen, to, newLen, (flags & MREMAP_DONTUNMAP) != 0);
    }

    /// <summary>vma_to_resize: the checks on the mapping at addr before it grows or moves.</summary>
    static int ToResize(AddressSpace m, uint addr, ulong oldLen, ulong newLen, out Vma v)
    {
        v = m.FindVma(addr)!;
        if (v == null) return -Errno.EFAULT;
        // An old_len of 0 duplicates a shared mapping; a private one would come out unrelated.
        if (oldLen == 0 && !v.Shared) return -Errno.EINVAL;
        if (oldLen > m.MergedEnd(addr) - addr) return -Errno.EFAULT; // not across mappings
        if (newLen == oldLen) return 0;
        if (DontExpand(v)) return -Errno.EFAULT;
        return 0;
    }

    /// <summary>move_vma, plus vdso_mremap's rule that [vdso] moves whole and carries context.vdso along.</summary>
    static int MoveVma(Task t, Vma v, uint addr, ulong oldLen, uint to, ulong newLen, bool dontUnmap)
    {
        bool isVdso = t.Mm.VdsoBase != 0 && v.Name == "[vdso]";
        if (isVdso && (addr != v.Start || newLen != t.Mem.MergedEnd(addr) - v.Start)) return -Errno.EINVAL;
        int r = t.Mem.Move(addr, (uint)oldLen, to, (uint)newLen, dontUnmap);
        if (r < 0 && r >= -4095) return r; // an address above 2 GiB is negative as an int, not an error
        if (isVdso && addr == t.Mm.VdsoBase)
        {
            // vdso_fix_landing: a fast syscall made from the old vDSO returns to the landing pad's new address.
            if (t.Kernel.Vdso is { } img)
            {
                uint land = (uint)img.SymInt80LandingPad;
                if (t.SysRegs.ip == t.Mm.VdsoBase + land) { t.SysRegs.ip = to + land; t.SysRegsChanged = true; }
            }
            t.Mm.VdsoBase = to;
        }
        return (int)to;
    }

    /// <summary>do_madvise (mm/madvise.c).</summary>
    static int Madvise(Task t, uint addr, uint lenIn, int advice)
    {
        switch (advice)
        {
            case MADV_NORMAL or MADV_RANDOM or MADV_SEQUENTIAL or MADV_WILLNEED or MADV_DONTNEED or MADV_DONTNEED_LOCKED
                or MADV_FREE or MADV_REMOVE or MADV_DONTFORK or MADV_DOFORK or MADV_MERGEABLE or MADV_UNMERGEABLE
                or MADV_HUGEPAGE or MADV_NOHUGEPAGE or MADV_COLLAPSE or MADV_DONTDUMP or MADV_DODUMP or MADV_WIPEONFORK
                or MADV_KEEPONFORK or MADV_COLD or MADV_PAGEOUT or MADV_POPULATE_READ or MADV_POPULATE_WRITE: break;
            case MADV_HWPOISON or MADV_SOFT_OFFLINE: return -Errno.EPERM; // needs CAP_SYS_ADMIN
            default: return -Errno.EINVAL;
        }
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        ulong len = PageAlign(lenIn);
        ulong end = addr + len;
        if (end == addr) return 0;
        if (end > TaskSize(t)) return -Errno.ENOMEM;
        var m = t.Mem;
        lock (m.MmLock)
        {
            // Holes give -ENOMEM after the mapped parts are done (madvise_walk_vmas).
            int unmapped = Holes(m, addr, end) ? -Errno.ENOMEM : 0;
            int r = 0;
            switch (advice)
            {
                case MADV_DONTNEED or MADV_DONTNEED_LOCKED:
                    m.DontNeed(addr, end);
                    break;
                case MADV_FREE:
                    // Anonymous memory only; freeing lazily may keep the data, so doing nothing is a valid outcome.
                    r = m.ForEachVma(addr, end, v => v.Shared ? -Errno.EINVAL : 0);
                    break;
                case MADV_REMOVE:
                    // madvise_remove: punch a hole in a shared writable mapping's file.
                    r = m.ForEachVma(addr, end, v => !v.Shared ? -Errno.EINVAL : (v.Prot & Prot.Write) == 0 ? -Errno.EACCES : 0);
                    if (r == 0) r = m.AdviseShared(addr, end, MADV_REMOVE);
                    break;
                case MADV_DONTFORK or MADV_DOFORK:
                    r = m.ForEachVma(addr, end, v => { v.DontFork = advice == MADV_DONTFORK; return 0; });
                    break;
                case MADV_WIPEONFORK:
                    r = m.ForEachVma(addr, end, v => v.Shared ? -Errno.EINVAL : 0);
                    if (r == 0) m.ForEachVma(addr, end, v => { v.WipeOnFork = true; return 0; });
                    break;
                case MADV_KEEPONFORK:
                    m.ForEachVma(addr, end, v => { v.WipeOnFork = false; return 0; });
                    break;
                case MADV_HUGEPAGE:
                    // The guest's own request, on its private anonymous memory: the host's huge pages under it.
                    m.ForEachVma(addr, end, v =>
                    {
                        if (!v.Shared && v.File == null && v.Image == null)
                            m.AdviseHuge(Math.Max(v.Start, addr), (uint)(Math.Min(v.EndL, end) - Math.Max(v.Start, addr)));
                        return 0;
                    });
                    break;
                case MADV_NOHUGEPAGE:
                    m.NoHuge(addr, end);
                    break;
            }
            return r != 0 ? r : unmapped;
        }
    }

    static bool Holes(AddressSpace m, ulong addr, ulong end)
    {
        for (ulong at = addr; at < end;)
        {
            ulong c = m.Covered(at, end);
            if (c == at) return true;
            at = c;
        }
        return false;
    }

    /// <summary>do_mlock and munlock (mm/mlock.c): the pages holding [start, start + len) (PAGE_ALIGN in the 64-bit
    /// kernel's unsigned long, so a length of 0 at an unaligned start still covers its page); mlock needs a nonzero
    /// RLIMIT_MEMLOCK or CAP_IPC_LOCK (-EPERM) and a range within the limit (-ENOMEM); any hole in the range is -ENOMEM
    /// (apply_vma_lock_flags). Nothing is pinned (guest memory is never paged out behind its back); locked_vm is not
    /// counted, so earlier locks do not use up the limit.</summary>
    static int Mlock(Task t, uint start, uint len, bool lockIt)
    {
        ulong alen = ((ulong)len + (start & 0xFFF) + 0xFFF) & ~0xFFFUL, s = start & ~0xFFFu;
        if (lockIt)
        {
            bool capIpcLock = (t.Group.Creds.CapEff & (1UL << 14)) != 0;
            ulong limit = t.Group.Limits.Get(8 /* RLIMIT_MEMLOCK */).Item1;
            if (limit == 0 && !capIpcLock) return -Errno.EPERM;
            if ((alen >> 12) > (limit >> 12) && !capIpcLock) return -Errno.ENOMEM;
        }
        if (alen == 0) return 0;
        var m = t.Mem;
        lock (m.MmLock) return Holes(m, s, s + alen) ? -Errno.ENOMEM : 0;
    }

    /// <summary>sys_msync (mm/msync.c): MS_SYNC writes shared file pages back through the host.</summary>
    static int Msync(Task t, uint addr, uint lenIn, int flags)
    {
        if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0) return -Errno.EINVAL;
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        if ((flags & MS_ASYNC) != 0 && (flags & MS_SYNC) != 0) return -Errno.EINVAL;
        ulong end = addr + PageAlign(lenIn);
        if (end == addr) return 0;
        return t.Mem.Sync(addr, end, flags);
    }

    /// <summary>sys_mincore (mm/mincore.c): one byte per page, 1 when the page is resident.</summary>
    static int Mincore(Task t, uint addr, uint len, uint vec)
    {
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        if ((ulong)addr + len > TaskSize(t)) return -Errno.ENOMEM; // access_ok
        uint pages = (uint)(PageAlign(len) >> 12);
        if ((ulong)vec + pages > TaskSize(t)) return -Errno.EFAULT; // access_ok; an unmapped vec faults at the copy
        var b = new byte[Math.Min(pages, 1u << 20)];
        uint n = t.Mem.Residency(addr, pages, b);
        if (n > 0 && U.Put(t, vec, b.AsSpan(0, (int)n)) != 0) return -Errno.EFAULT;
        return n < pages ? -Errno.ENOMEM : 0;
    }
}
