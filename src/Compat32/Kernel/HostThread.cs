using System.Runtime.InteropServices;

namespace Compat32.Kernel;

/// <summary>
/// Starts a host thread without waiting for it. NativeAOT's Thread.Start does not return until the new thread
/// runs (it yields in a loop meanwhile): at start-up that was the tick thread's and the first guest thread's
/// creation spent spinning, and on a loaded host each guest clone paid the new thread's scheduling delay. A thread
/// made here with pthread_create enters managed code through an UnmanagedCallersOnly entry, where the runtime
/// attaches it (a background thread, as the ones it replaces were). Falls back to Thread.Start where there is no
/// pthread_create to call (a non-glibc host).
/// </summary>
internal static unsafe partial class HostThread
{
    [LibraryImport("libc")] private static partial int pthread_attr_init(byte* attr);
    [LibraryImport("libc")] private static partial int pthread_attr_setstacksize(byte* attr, nuint size);
    [LibraryImport("libc")] private static partial int pthread_attr_setdetachstate(byte* attr, int state);
    [LibraryImport("libc")] private static partial int pthread_attr_destroy(byte* attr);
    [LibraryImport("libc")] private static partial int pthread_create(nuint* thread, byte* attr, delegate* unmanaged<nint, nint> start, nint arg);

    sealed class Start_(Action body, string name) { public readonly Action Body = body; public readonly string Name = name; }

    /// <summary>Run body on a new host thread named name with a stack of stackSize bytes (0: the default).</summary>
    public static void Start(Action body, string name, int stackSize = 0)
    {
        var h = GCHandle.Alloc(new Start_(body, name));
        try
        {
            byte* attr = stackalloc byte[128]; // pthread_attr_t is 56 bytes on x86-64 and 64 on arm64 glibc
            if (pthread_attr_init(attr) == 0)
            {
                pthread_attr_setdetachstate(attr, 1 /* PTHREAD_CREATE_DETACHED */);
                if (stackSize > 0) pthread_attr_setstacksize(attr, (nuint)stackSize);
                nuint tid;
                int r = pthread_create(&tid, attr, &Entry, GCHandle.ToIntPtr(h));
                pthread_attr_destroy(attr);
                if (r == 0) return;
            }
        }
        catch (EntryPointNotFoundException) { }
        catch (DllNotFoundException) { }
        h.Free();
        new Thread(() => body(), stackSize) { IsBackground = true, Name = name }.Start();
    }

    [UnmanagedCallersOnly]
    static nint Entry(nint arg)
    {
        var h = GCHandle.FromIntPtr(arg);
        var s = (Start_)h.Target!;
        h.Free();
        Thread.CurrentThread.Name = s.Name;
        s.Body();
        return 0;
    }
}
