using System.Runtime.InteropServices;

namespace Compat32.Memory;

/// <summary>Host virtual memory for a 4 GiB guest space: reserved lazily so untouched pages cost nothing.</summary>
internal static unsafe partial class HostMem
{
    const int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    const int MADV_DONTNEED = 4;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint len, int prot, int flags, int fd, nint off);
    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int munmap(nint addr, nuint len);
    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int madvise(nint addr, nuint len, int advice);

    public static byte* Reserve(ulong size)
    {
        try
        {
            nint p = mmap(0, (nuint)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p != -1 && p != 0) return (byte*)p;
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return (byte*)NativeMemory.AllocZeroed((nuint)size);
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

    public static void Release(byte* p, ulong size)
    {
        try { munmap((nint)p, (nuint)size); } catch { }
    }

    /// <summary>Give pages back to the host and make them read as zero again (munmap'd guest memory).</summary>
    public static void Zero(byte* p, ulong len)
    {
        if (len >= 65536 && ((nint)p & 4095) == 0 && (len & 4095) == 0)
        {
            try { if (madvise((nint)p, (nuint)len, MADV_DONTNEED) == 0) return; } catch { }
        }
        NativeMemory.Clear(p, (nuint)len);
    }
}
