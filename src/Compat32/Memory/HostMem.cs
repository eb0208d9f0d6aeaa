using System.Runtime.InteropServices;

namespace Compat32.Memory;

/// <summary>Host virtual memory for a 4 GiB guest space: reserved lazily so untouched pages cost nothing.</summary>
internal static unsafe partial class HostMem
{
    const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
        MAP_NORESERVE = 0x4000;
    const int MADV_DONTNEED = 4;
    const uint MFD_CLOEXEC = 1;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint len, int prot, int flags, int fd, nint off);
    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int munmap(nint addr, nuint len);
    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int madvise(nint addr, nuint len, int advice);
    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static partial int mincore(nint addr, nuint len, byte* vec);
    [LibraryImport("libc", EntryPoint = "msync", SetLastError = true)]
    private static partial int msync(nint addr, nuint len, int flags);
    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int memfd_create(string name, uint flags);
    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int ftruncate(int fd, long len);

    /// <summary>True when Reserve got a real host mapping (the fallback heap cannot take MAP_FIXED overlays).</summary>
    public static bool CanOverlay(byte* p) => !fallback.Contains((nint)p);
    static readonly HashSet<nint> fallback = new();

    public static byte* Reserve(ulong size)
    {
        try
        {
            nint p = mmap(0, (nuint)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p != -1 && p != 0) return (byte*)p;
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        var q = (byte*)NativeMemory.AllocZeroed((nuint)size);
        lock (fallback) fallback.Add((nint)q);
        return q;
    }

    /// <summary>Read-write-execute memory for the translator's host code (null when the host refuses it).</summary>
    public static byte* ReserveCode(ulong size)
    {
        try
        {
            nint p = mmap(0, (nuint)size, PROT_READ | PROT_WRITE | 4 /* PROT_EXEC */, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p != -1 && p != 0) return (byte*)p;
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return null;
    }

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int mprotect(nint addr, nuint len, int prot);

    /// <summary>Host protection of [p, p+len): readable and writable, or nothing (HostFaults); a shared mapping of a
    /// read-only file cannot be made writable and is made readable instead. False when the host refuses.</summary>
    /// <summary>Host protections of guest pages (HostFaults): none, read-only, or read-write (which falls back to
    /// read-only where the host mapping cannot be written: a shared mapping of a read-only file).</summary>
    public enum Access { None, Read, ReadWrite }

    public static bool Protect(byte* p, ulong len, Access access)
    {
        if (len == 0) return true;
        if (access == Access.Read) return mprotect((nint)p, (nuint)len, PROT_READ) == 0;
        return Protect(p, len, access == Access.ReadWrite);
    }

    public static bool Protect(byte* p, ulong len, bool access)
    {
        if (len == 0) return true;
        if (!access) return mprotect((nint)p, (nuint)len, 0) == 0;
        return mprotect((nint)p, (nuint)len, PROT_READ | PROT_WRITE) == 0 || mprotect((nint)p, (nuint)len, PROT_READ) == 0;
    }

    public static void Release(byte* p, ulong size)
    {
        try { munmap((nint)p, (nuint)size); } catch { }
    }

    /// <summary>Give pages back to the host and make them read as zero again (munmap'd guest memory).</summary>
    public static void Zero(byte* p, ulong len)
    {
        // Even one page goes back by madvise: clearing it would make it resident, which mincore would report.
        if (((nint)p & 4095) == 0 && (len & 4095) == 0)
        {
            try { if (madvise((nint)p, (nuint)len, MADV_DONTNEED) == 0) return; } catch { }
        }
        NativeMemory.Clear(p, (nuint)len);
    }

    /// <summary>Put fresh private anonymous memory over [p, p+len) in one step (MAP_FIXED replaces atomically, so
    /// another thread never finds a hole in the reservation there).</summary>
    public static bool MapAnon(byte* p, ulong len)
    {
        nint r = mmap((nint)p, (nuint)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
        return r == (nint)p;
    }

    /// <summary>Map a host file's pages MAP_PRIVATE over [p, p+len), writable copy-on-write; 0 or -errno.</summary>
    public static int MapPrivate(byte* p, ulong len, int fd, ulong off)
    {
        nint r = mmap((nint)p, (nuint)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, (nint)off);
        return r == (nint)p ? 0 : -Marshal.GetLastPInvokeError();
    }

    /// <summary>A memfd holding data, its size page-rounded and sealed against shrinking and growing (a private
    /// mapping of it can then never SIGBUS the host); -errno on failure.</summary>
    public static int MemfdOf(string name, ReadOnlySpan<byte> data)
    {
        const uint MFD_ALLOW_SEALING = 2;
        const int F_ADD_SEALS = 1033, F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4;
        int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) return -Marshal.GetLastPInvokeError();
        using var h = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: false);
        int err = 0;
        try { RandomAccess.Write(h, data, 0); }
        catch (IOException) { err = -28; } // -ENOSPC: shmem is full
        if (err == 0 && ftruncate(fd, (long)(((ulong)data.Length + 4095) & ~4095UL)) != 0) err = -Marshal.GetLastPInvokeError();
        if (err == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW) != 0) err = -Marshal.GetLastPInvokeError();
        if (err != 0) { new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, true).Dispose(); return err; }
        return fd;
    }

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    private static partial nint sendfile(int outFd, int inFd, long* offset, nuint count);
    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint pread(int fd, byte* buf, nuint n, long off);
    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint pwrite(int fd, byte* buf, nuint n, long off);

    /// <summary>A sealed memfd as MemfdOf makes, filled with [0, size) of the regular file srcFd by the host kernel
    /// (sendfile: no copy through our memory, no page faults on a buffer); -errno, -ESTALE when the file ended
    /// before size bytes (it shrank while we read: no snapshot of a moving file).</summary>
    public static int MemfdCopyOf(string name, int srcFd, ulong size)
    {
        const uint MFD_ALLOW_SEALING = 2;
        const int F_ADD_SEALS = 1033, F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4;
        int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) return -Marshal.GetLastPInvokeError();
        int err = 0;
        long off = 0;
        bool splice = true;
        byte* buf = null;
        while (err == 0 && (ulong)off < size)
        {
            nuint want = (nuint)Math.Min(size - (ulong)off, 1UL << 30);
            nint n;
            if (splice)
            {
                n = sendfile(fd, srcFd, &off, want);
                if (n > 0) continue; // sendfile moved off
                int e = n < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (e == 4 /* EINTR */) continue;
                if (e is 22 /* EINVAL */ or 38 /* ENOSYS */) { splice = false; continue; } // a file system without splice
                err = n == 0 ? -116 /* -ESTALE */ : -e;
                break;
            }
            if (buf == null) buf = (byte*)NativeMemory.Alloc(65536);
            n = pread(srcFd, buf, Math.Min(want, 65536), off);
            if (n < 0 && Marshal.GetLastPInvokeError() == 4) continue;
            if (n <= 0) { err = n == 0 ? -116 : -Marshal.GetLastPInvokeError(); break; }
            for (nint w = 0; w < n && err == 0;)
            {
                nint m = pwrite(fd, buf + w, (nuint)(n - w), off + w);
                if (m > 0) w += m;
                else if (m < 0 && Marshal.GetLastPInvokeError() == 4) continue;
                else err = m == 0 ? -28 : -Marshal.GetLastPInvokeError();
            }
            off += n;
        }
        if (buf != null) NativeMemory.Free(buf);
        if (err == 0 && ftruncate(fd, (long)((size + 4095) & ~4095UL)) != 0) err = -Marshal.GetLastPInvokeError();
        if (err == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW) != 0) err = -Marshal.GetLastPInvokeError();
        if (err != 0) { new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, true).Dispose(); return err; }
        return fd;
    }

    /// <summary>A read-only view of [0, len) of fd anywhere in host memory, or null.</summary>
    public static byte* MapView(int fd, ulong len, bool writable = false)
    {
        nint r = mmap(0, (nuint)len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
        return r == -1 ? null : (byte*)r;
    }

    public static void Unmap(byte* p, ulong len) => munmap((nint)p, (nuint)len);

    /// <summary>Map a host file's pages MAP_SHARED over [p, p+len); 0 or -errno.</summary>
    public static int MapShared(byte* p, ulong len, int fd, ulong off, bool writable)
    {
        nint r = mmap((nint)p, (nuint)len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED, fd, (nint)off);
        return r == (nint)p ? 0 : -Marshal.GetLastPInvokeError();
    }

    /// <summary>One byte per page, bit 0 set when the page is resident in the host (mincore(2)); false on error.</summary>
    public static bool Resident(byte* p, ulong len, Span<byte> vec)
    {
        fixed (byte* v = vec) return mincore((nint)p, (nuint)len, v) == 0;
    }

    public static int Msync(byte* p, ulong len, int flags) =>
        msync((nint)p, (nuint)len, flags) == 0 ? 0 : -Marshal.GetLastPInvokeError();

    /// <summary>A host memfd of the given size (the shmem file behind MAP_SHARED anonymous memory); -errno on failure.</summary>
    public static int Memfd(string name, ulong size)
    {
        int fd = memfd_create(name, MFD_CLOEXEC);
        if (fd < 0) return -Marshal.GetLastPInvokeError();
        if (ftruncate(fd, (long)size) != 0)
        {
            int e = Marshal.GetLastPInvokeError();
            new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, true).Dispose();
            return -e;
        }
        return fd;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buf);
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    /// <summary>fstat through statx (one layout on every host architecture): mode, device, inode, size, rdev (major&lt;&lt;32 | minor).</summary>
    public static int Stat(int fd, out uint mode, out ulong dev, out ulong ino, out ulong size, out ulong rdev)
    {
        byte* b = stackalloc byte[256];
        byte empty = 0;
        mode = 0; dev = ino = size = rdev = 0;
        if (statx(fd, &empty, 0x1000 /* AT_EMPTY_PATH */, 0x7FF, b) != 0) return -Marshal.GetLastPInvokeError();
        mode = *(ushort*)(b + 28);                                   // stx_mode
        ino = *(ulong*)(b + 32);                                     // stx_ino
        size = *(ulong*)(b + 40);                                    // stx_size
        dev = ((ulong)*(uint*)(b + 136) << 32) | *(uint*)(b + 140); // stx_dev_major, stx_dev_minor
        rdev = ((ulong)*(uint*)(b + 128) << 32) | *(uint*)(b + 132); // stx_rdev_major, stx_rdev_minor
        return 0;
    }

    /// <summary>F_DUPFD_CLOEXEC: our own descriptor for a file the guest may close while it stays mapped.</summary>
    public static int Dup(int fd)
    {
        int r = fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 0);
        return r >= 0 ? r : -Marshal.GetLastPInvokeError();
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int madvise_e(nint addr, nuint len, int advice);

    /// <summary>Host madvise, for advice that acts on the shared pages themselves (MADV_REMOVE punches the file).</summary>
    public static int Advise(byte* p, ulong len, int advice) =>
        madvise_e((nint)p, (nuint)len, advice) == 0 ? 0 : -Marshal.GetLastPInvokeError();

    static Microsoft.Win32.SafeHandles.SafeFileHandle? pagemap;
    static bool pagemapTried;

    /// <summary>
    /// Which pages of [p, p+pages*4096) hold data (bit 0 of each byte of vec). /proc/self/pagemap's present and
    /// swapped bits when readable: mincore alone reports a swapped-out anonymous page as absent (mm/mincore.c
    /// looks only in the swap cache), and skipping it would lose data in a copy.
    /// </summary>
    public static bool Populated(byte* p, ulong pages, Span<byte> vec) => Populated(p, pages, vec, anonOnly: false);

    /// <summary>As Populated; with anonOnly, a page of a private file mapping that still is the file's page
    /// (pagemap bit 61, PM_FILE) does not count: only the pages written since (copied on write) hold data of
    /// their own. Without pagemap every resident page counts.</summary>
    public static bool Populated(byte* p, ulong pages, Span<byte> vec, bool anonOnly)
    {
        var h = PagemapHandle();
        if (h != null)
        try
        {
            // Rented: a fork queries every mapping, and a fresh 64 KiB array each time was most of a fork loop's
            // allocation (and so of its GCs).
            var e = System.Buffers.ArrayPool<ulong>.Shared.Rent(8192);
            try
            {
            for (ulong i = 0; i < pages; i += 8192)
            {
                int n = (int)Math.Min(8192, pages - i);
                var bytes = MemoryMarshal.AsBytes(e.AsSpan(0, n));
                long off = (long)(((ulong)p >> 12) + i) * 8;
                if (RandomAccess.Read(h, bytes, off) != bytes.Length) goto fallback;
                // bits 63 present, 62 swapped, 61 file page or shared anonymous
                for (int k = 0; k < n; k++) vec[(int)i + k] = (byte)((e[k] >> 62) != 0 && !(anonOnly && (e[k] & (1UL << 61)) != 0) ? 1 : 0);
            }
            return true;
            }
            finally { System.Buffers.ArrayPool<ulong>.Shared.Return(e); }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        catch (NotSupportedException) { }
    fallback:
        return Resident(p, pages << 12, vec);
    }

    static Microsoft.Win32.SafeHandles.SafeFileHandle? PagemapHandle()
    {
        if (Volatile.Read(ref pagemapTried)) return pagemap;
        lock (fallback)
        {
            if (!pagemapTried)
            {
                try { pagemap = File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read); } catch { pagemap = null; }
                Volatile.Write(ref pagemapTried, true);
            }
        }
        return pagemap;
    }

    public static int Truncate(int fd, ulong size) => ftruncate(fd, (long)size) == 0 ? 0 : -Marshal.GetLastPInvokeError();
}
