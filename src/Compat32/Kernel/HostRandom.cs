using System.Runtime.InteropServices;

namespace Compat32.Kernel;

/// <summary>
/// Random bytes from the host kernel's CRNG (getrandom(2)), where Linux takes AT_RANDOM and getrandom's bytes
/// from its own (get_random_bytes). System.Security.Cryptography would load OpenSSL for the same bytes: about
/// 2 ms of every start for the 16 bytes of AT_RANDOM.
/// </summary>
internal static unsafe partial class HostRandom
{
    [LibraryImport("libc", SetLastError = true)] private static partial nint getrandom(byte* buf, nuint len, uint flags);

    public static void Fill(Span<byte> b)
    {
        fixed (byte* p = b)
        {
            int done = 0;
            while (done < b.Length)
            {
                nint n = getrandom(p + done, (nuint)(b.Length - done), 0);
                if (n > 0) { done += (int)n; continue; }
                if (n < 0 && Marshal.GetLastPInvokeError() == 4 /* EINTR */) continue;
                // No getrandom (a kernel before 3.17): the same CRNG through /dev/urandom.
                using var f = File.OpenRead("/dev/urandom");
                f.ReadExactly(b[done..]);
                return;
            }
        }
    }
}
