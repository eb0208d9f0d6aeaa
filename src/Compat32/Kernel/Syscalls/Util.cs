using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Compat32.Kernel.Syscalls;

/// <summary>copy_to_user / copy_from_user helpers for structs laid out by hand in byte spans.</summary>
internal static class U
{
    public static void W32(Span<byte> b, int off, uint v) => Unsafe.WriteUnaligned(ref b[off], v);
    public static void W32(Span<byte> b, int off, int v) => Unsafe.WriteUnaligned(ref b[off], v);
    public static void W16(Span<byte> b, int off, ushort v) => Unsafe.WriteUnaligned(ref b[off], v);
    public static void W64(Span<byte> b, int off, ulong v) => Unsafe.WriteUnaligned(ref b[off], v);
    public static void W64(Span<byte> b, int off, long v) => Unsafe.WriteUnaligned(ref b[off], v);
    public static uint R32(ReadOnlySpan<byte> b, int off) => Unsafe.ReadUnaligned<uint>(ref MemoryMarshal.GetReference(b[off..]));
    public static ushort R16(ReadOnlySpan<byte> b, int off) => Unsafe.ReadUnaligned<ushort>(ref MemoryMarshal.GetReference(b[off..]));
    public static ulong R64(ReadOnlySpan<byte> b, int off) => Unsafe.ReadUnaligned<ulong>(ref MemoryMarshal.GetReference(b[off..]));

    /// <summary>Write a struct image to guest memory: 0 or -EFAULT.</summary>
    public static int Put(Task t, uint addr, ReadOnlySpan<byte> data) => t.Mem.CopyToUser(addr, data) ? 0 : -Errno.EFAULT;
    public static int Get(Task t, uint addr, Span<byte> data) => t.Mem.CopyFromUser(addr, data) ? 0 : -Errno.EFAULT;
}
