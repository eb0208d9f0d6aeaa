using System.Runtime.CompilerServices;

namespace Compat32.Memory;

[Flags]
public enum Prot : byte { None = 0, Read = 1, Write = 2, Exec = 4 }

/// <summary>A mapping, as /proc/self/maps shows it (the kernel's vm_area_struct, reduced).</summary>
public sealed class Vma
{
    public uint Start, End; // [Start, End), page aligned; End == 0 means 4 GiB
    public Prot Prot;
    public string Name = "";
    public bool Shared;
    public ulong Offset;
    public ulong Inode;
    public ulong Length => (End == 0 ? 0x1_0000_0000UL : End) - Start;
}

/// <summary>
/// The 32-bit guest address space: one host reservation addressed by guest address, a permission byte per
/// page, and the list of mappings. Accesses that fail return false here and become #PF in the CPU.
/// </summary>
public sealed unsafe class AddressSpace : IDisposable
{
    public const int PageShift = 12;
    public const uint PageSize = 4096, PageMask = 4095;
    public const ulong Size = 1UL << 32;
    /// <summary>Page is cached in the decoder: writes take the slow path so the cache can drop it.</summary>
    public const byte CodeBit = 0x80;

    public readonly byte* Base;
    public readonly byte[] Perm = GC.AllocateArray<byte>(1 << 20, pinned: true);
    /// <summary>Pinned view of Perm for the CPU's hot path (no bounds check).</summary>
    public readonly byte* PermPtr;
    readonly List<Vma> vmas = new();
    public IReadOnlyList<Vma> Vmas => vmas;

    /// <summary>Called with a page number when a write hits a page holding decoded code.</summary>
    public Action<uint>? CodeWritten;

    /// <summary>Where the kernel keeps a vvar data page current (0: none). Cleared under VvarLock whenever that
    /// page is unmapped or replaced, so the timekeeper's thread never writes into a page the guest reused.</summary>
    public uint VvarPage;
    public readonly object VvarLock = new();

    public uint Brk, BrkStart;
    /// <summary>mmap_base for top-down allocation (arch/x86/mm/mmap.c for a compat task).</summary>
    public uint MmapBase = 0xF7FFF000;

    public AddressSpace()
    {
        Base = HostMem.Reserve(Size);
        PermPtr = (byte*)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(Perm));
    }

    public void Dispose() { HostMem.Release(Base, Size); GC.SuppressFinalize(this); }
    ~AddressSpace() { HostMem.Release(Base, Size); }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Ptr(uint addr) => Base + addr;

    public bool IsMapped(uint addr) => (Perm[addr >> PageShift] & 7) != 0 || FindVma(addr) != null;

    public Vma? FindVma(uint addr)
    {
        foreach (var v in vmas)
            if (addr >= v.Start && (v.End == 0 || addr < v.End)) return v;
        return null;
    }

    static uint PageUp(ulong x) => (uint)((x + PageMask) & ~(ulong)PageMask);

    /// <summary>Map [addr, addr+len) fresh (zeroed), replacing anything there (MAP_FIXED semantics).</summary>
    public void Map(uint addr, uint len, Prot prot, string name = "", bool zero = true)
    {
        ulong end = (ulong)addr + PageUp(len);
        Unmap(addr, (uint)(end - addr), keepData: !zero);
        var v = new Vma { Start = addr, End = (uint)end, Prot = prot, Name = name };
        Insert(v);
        SetPerm(addr, end, prot);
    }

    void Insert(Vma v)
    {
        int i = 0;
        while (i < vmas.Count && vmas[i].Start < v.Start) i++;
        vmas.Insert(i, v);
    }

    void SetPerm(uint addr, ulong end, Prot prot)
    {
        for (ulong a = addr; a < end; a += PageSize)
        {
            uint p = (uint)(a >> PageShift);
            UpdatePerm(p, CodeBit, (byte)((byte)prot | 8)); // bit 3: present; the code bit is the decoder's
        }
    }

    public const byte Present = 8;

    /// <summary>Remove mappings in the range, splitting the edges (do_munmap).</summary>
    public void Unmap(uint addr, uint len, bool keepData = false)
    {
        if (len == 0) return;
        ulong end = (ulong)addr + PageUp(len);
        if (VvarPage != 0 && VvarPage >= addr && VvarPage < end)
            lock (VvarLock) VvarPage = 0;
        for (int i = 0; i < vmas.Count; i++)
        {
            var v = vmas[i];
            ulong vEnd = v.End == 0 ? Size : v.End;
            if (vEnd <= addr || v.Start >= end) continue;
            // Split: keep the parts outside [addr, end).
            if (v.Start < addr)
            {
                var left = new Vma { Start = v.Start, End = addr, Prot = v.Prot, Name = v.Name, Shared = v.Shared, Offset = v.Offset, Inode = v.Inode };
                vmas.Insert(i, left); i++;
            }
            if (vEnd > end)
            {
                var right = new Vma { Start = (uint)end, End = v.End, Prot = v.Prot, Name = v.Name, Shared = v.Shared, Offset = v.Offset + (end - v.Start), Inode = v.Inode };
                vmas.Insert(i + 1, right);
            }
            vmas.RemoveAt(i); i--;
        }
        for (ulong a = addr; a < end; a += PageSize)
        {
            uint p = (uint)(a >> PageShift);
            // Unmapped first, then the code dropped: a decoder marking the page after this cannot fetch from it.
            if ((UpdatePerm(p, 0, 0) & CodeBit) != 0) CodeWritten?.Invoke(p);
        }
        if (!keepData) HostMem.Zero(Base + addr, end - addr);
    }

    /// <summary>mprotect: every page must be mapped, else -ENOMEM (mprotect_fixup).</summary>
    public bool Protect(uint addr, uint len, Prot prot)
    {
        ulong end = (ulong)addr + PageUp(len);
        for (ulong a = addr; a < end; a += PageSize)
            if ((Perm[a >> PageShift] & Present) == 0) return false;
        // Split VMAs at the edges, then retag.
        var affected = new List<Vma>();
        for (int i = 0; i < vmas.Count; i++)
        {
            var v = vmas[i];
            ulong vEnd = v.End == 0 ? Size : v.End;
            if (vEnd <= addr || v.Start >= end) continue;
            if (v.Start < addr)
            {
                vmas.Insert(i, new Vma { Start = v.Start, End = addr, Prot = v.Prot, Name = v.Name, Shared = v.Shared, Offset = v.Offset, Inode = v.Inode });
                v.Offset += addr - v.Start; v.Start = addr; i++;
            }
            if (vEnd > end)
            {
                vmas.Insert(i + 1, new Vma { Start = (uint)end, End = v.End, Prot = v.Prot, Name = v.Name, Shared = v.Shared, Offset = v.Offset + (end - v.Start), Inode = v.Inode });
                v.End = (uint)end;
            }
            v.Prot = prot;
        }
        // Decoded (and translated) code on a page that loses PROT_EXEC must go: the next fetch faults. The
        // permission first: a thread decoding the page concurrently either fails its fetch or is dropped here.
        SetPerm(addr, end, prot);
        if ((prot & Prot.Exec) == 0) DropCode(addr, end);
        return true;
    }

    /// <summary>Top-down search for a free range below MmapBase (arch_get_unmapped_area_topdown).</summary>
    public uint FindFree(uint len, uint hint = 0)
    {
        len = PageUp(len);
        if (len == 0) return 0;
        if (hint != 0 && (ulong)hint + len <= 0xFFFFE000 && RangeFree(hint, len)) return hint;
        ulong top = MmapBase;
        for (int i = vmas.Count - 1; i >= -1; i--)
        {
            ulong lo = i >= 0 ? (vmas[i].End == 0 ? Size : vmas[i].End) : 0x10000;
            if (lo > top) continue;
            if (top - lo >= len) return (uint)(top - len);
            if (i >= 0) top = Math.Min(top, vmas[i].Start);
        }
        // Bottom-up above the brk as a last resort (legacy layout).
        return 0;
    }

    public bool RangeFree(uint addr, uint len)
    {
        ulong end = (ulong)addr + len;
        foreach (var v in vmas)
        {
            ulong vEnd = v.End == 0 ? Size : v.End;
            if (vEnd > addr && v.Start < end) return false;
        }
        return true;
    }

    /// <summary>Move a mapping (mremap with a new address); data and permissions travel with it.</summary>
    public void Move(uint oldAddr, uint len, uint newAddr)
    {
        len = PageUp(len);
        var buf = new byte[len];
        new Span<byte>(Base + oldAddr, (int)len).CopyTo(buf);
        var parts = new List<(uint off, uint end, Vma v)>();
        foreach (var v in vmas)
        {
            ulong vEnd = v.End == 0 ? Size : v.End;
            if (vEnd <= oldAddr || v.Start >= (ulong)oldAddr + len) continue;
            uint s = Math.Max(v.Start, oldAddr), e = (uint)Math.Min(vEnd, (ulong)oldAddr + len);
            parts.Add((s - oldAddr, e - oldAddr, v));
        }
        Unmap(oldAddr, len);
        Unmap(newAddr, len);
        foreach (var (off, end, v) in parts)
        {
            var nv = new Vma { Start = newAddr + off, End = newAddr + end, Prot = v.Prot, Name = v.Name, Shared = v.Shared, Offset = v.Offset, Inode = v.Inode };
            Insert(nv);
            SetPerm(nv.Start, nv.End, v.Prot);
        }
        buf.CopyTo(new Span<byte>(Base + newAddr, (int)len));
    }

    // ---- Kernel-side accessors (copy_from_user / copy_to_user): false means -EFAULT. ----

    public bool CanRead(uint addr, uint len)
    {
        if (len == 0) return true;
        ulong end = (ulong)addr + len;
        if (end > Size) return false;
        for (ulong p = addr >> PageShift; p <= (end - 1) >> PageShift; p++)
            if ((Perm[p] & (byte)Prot.Read) == 0) return false;
        return true;
    }

    public bool CanWrite(uint addr, uint len)
    {
        if (len == 0) return true;
        ulong end = (ulong)addr + len;
        if (end > Size) return false;
        for (ulong p = addr >> PageShift; p <= (end - 1) >> PageShift; p++)
            if ((Perm[p] & (byte)Prot.Write) == 0) return false;
        return true;
    }

    /// <summary>Kernel write into guest memory; invalidates decoded code it overwrites.</summary>
    public bool CopyToUser(uint addr, ReadOnlySpan<byte> data)
    {
        if (!CanWrite(addr, (uint)data.Length)) return false;
        data.CopyTo(new Span<byte>(Base + addr, data.Length));
        NoteWrite(addr, (uint)data.Length);
        return true;
    }

    public bool CopyFromUser(uint addr, Span<byte> dst)
    {
        if (!CanRead(addr, (uint)dst.Length)) return false;
        new ReadOnlySpan<byte>(Base + addr, dst.Length).CopyTo(dst);
        return true;
    }

    /// <summary>Write ignoring protections (the loader and the kernel filling read-only pages).</summary>
    public void Poke(uint addr, ReadOnlySpan<byte> data)
    {
        data.CopyTo(new Span<byte>(Base + addr, data.Length));
        NoteWrite(addr, (uint)data.Length);
    }

    /// <summary>A write to [addr, addr+len) has been stored: drop decoded code there. After the store, not before:
    /// a thread decoding the page in between read either the new bytes or marked the page first (seen here).</summary>
    public void NoteWrite(uint addr, uint len)
    {
        if (len == 0) return;
        Interlocked.MemoryBarrier(); // the store is visible before the code bits are read
        DropCode(addr, (ulong)addr + len);
    }

    /// <summary>Tell the decoder to forget the code on the pages of [addr, end) that hold some.</summary>
    void DropCode(ulong addr, ulong end)
    {
        if (CodeWritten == null) return;
        for (ulong p = addr >> PageShift; p <= (end - 1) >> PageShift && p < (1 << 20); p++)
            if ((Perm[p] & CodeBit) != 0 && (UpdatePerm((uint)p, unchecked((byte)~CodeBit), 0) & CodeBit) != 0) CodeWritten((uint)p);
    }

    /// <summary>The decoder holds code from this page (atomic: other threads change the permission bits).</summary>
    public void MarkCode(uint page)
    {
        if ((Perm[page] & CodeBit) == 0) UpdatePerm(page, 0xFF, CodeBit);
    }

    /// <summary>Perm[page] = (Perm[page] &amp; keep) | set, atomically (threads of the process mark code pages while
    /// another maps or protects); returns the old value.</summary>
    byte UpdatePerm(uint page, byte keep, byte set)
    {
        ref byte b = ref Perm[page];
        byte old = Volatile.Read(ref b);
        while (true)
        {
            byte seen = Interlocked.CompareExchange(ref b, (byte)((old & keep) | set), old);
            if (seen == old) return old;
            old = seen;
        }
    }

    public bool ReadU32(uint addr, out uint v)
    {
        v = 0;
        if (!CanRead(addr, 4)) return false;
        v = Unsafe.ReadUnaligned<uint>(Base + addr);
        return true;
    }
    public bool WriteU32(uint addr, uint v)
    {
        if (!CanWrite(addr, 4)) return false;
        Unsafe.WriteUnaligned(Base + addr, v);
        NoteWrite(addr, 4);
        return true;
    }
    public bool ReadU16(uint addr, out ushort v)
    {
        v = 0;
        if (!CanRead(addr, 2)) return false;
        v = Unsafe.ReadUnaligned<ushort>(Base + addr);
        return true;
    }
    public bool WriteU16(uint addr, ushort v)
    {
        if (!CanWrite(addr, 2)) return false;
        Unsafe.WriteUnaligned(Base + addr, v);
        NoteWrite(addr, 2);
        return true;
    }
    public bool ReadU64(uint addr, out ulong v)
    {
        v = 0;
        if (!CanRead(addr, 8)) return false;
        v = Unsafe.ReadUnaligned<ulong>(Base + addr);
        return true;
    }
    public bool WriteU64(uint addr, ulong v)
    {
        if (!CanWrite(addr, 8)) return false;
        Unsafe.WriteUnaligned(Base + addr, v);
        NoteWrite(addr, 8);
        return true;
    }

    /// <summary>strncpy_from_user: null on fault or when no NUL within max bytes.</summary>
    public string? ReadCString(uint addr, int max = 4096)
    {
        var sb = new List<byte>();
        for (int i = 0; i < max; i++)
        {
            ulong a = (ulong)addr + (ulong)i;
            if (a >= Size || (Perm[a >> PageShift] & (byte)Prot.Read) == 0) return null;
            byte b = Base[a];
            if (b == 0) return System.Text.Encoding.UTF8.GetString(sb.ToArray());
            sb.Add(b);
        }
        return null;
    }

    public byte[]? ReadCStringBytes(uint addr, int max = 4096)
    {
        var sb = new List<byte>();
        for (int i = 0; i < max; i++)
        {
            ulong a = (ulong)addr + (ulong)i;
            if (a >= Size || (Perm[a >> PageShift] & (byte)Prot.Read) == 0) return null;
            byte b = Base[a];
            if (b == 0) return sb.ToArray();
            sb.Add(b);
        }
        return null;
    }

    /// <summary>Copy this space (fork's dup_mm): every mapped page is copied.</summary>
    public AddressSpace Clone()
    {
        var c = new AddressSpace { Brk = Brk, BrkStart = BrkStart, MmapBase = MmapBase };
        foreach (var v in vmas)
        {
            c.vmas.Add(new Vma { Start = v.Start, End = v.End, Prot = v.Prot, Name = v.Name, Shared = v.Shared, Offset = v.Offset, Inode = v.Inode });
            ulong len = v.Length;
            Buffer.MemoryCopy(Base + v.Start, c.Base + v.Start, len, len);
        }
        for (int i = 0; i < Perm.Length; i++) c.Perm[i] = (byte)(Perm[i] & ~CodeBit);
        return c;
    }
}
