using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Compat32.Cpu.Simd;

/// <summary>One 128-bit value (an XMM register or a 16-byte operand), little-endian lanes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct X128
{
    public ulong Lo, Hi;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref T Lane<T>(ref X128 x, int i) where T : unmanaged => ref Unsafe.Add(ref Unsafe.As<X128, T>(ref x), i);
}

/// <summary>One register of the file: 256 bits so the AVX generation (YMM, VEX.128 zeroing the upper half) needs
/// no new layout; SSE instructions touch only the low 128 bits (the upper half is preserved, as legacy-SSE
/// encodings do on hardware).</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
public struct Y256
{
    public X128 Low, High;
}

/// <summary>The SSE register state of one processor: XMM0-7 (YMM-capable) and MXCSR (SDM vol. 1 10.2).</summary>
public sealed class SimdState
{
    public const int Count = 8;
    public const uint MxcsrDefault = 0x1F80;
    /// <summary>MXCSR_MASK as FXSAVE stores it: every bit defined, DAZ included (SDM 11.6.6).</summary>
    public const uint MxcsrMask = 0x0000FFFF;

    public Y256[] Regs = new Y256[Count];
    public uint Mxcsr = MxcsrDefault;

    public ref X128 Xmm(int i) => ref Regs[i].Low;

    public SimdState Clone() => new() { Regs = (Y256[])Regs.Clone(), Mxcsr = Mxcsr };

    /// <summary>The init state (fpu__clear_user_states, execve): registers zero, MXCSR 0x1F80.</summary>
    public void Reset()
    {
        Array.Clear(Regs);
        Mxcsr = MxcsrDefault;
    }
}

/// <summary>The 512-byte FXSAVE image (SDM vol. 1 table 10-2): the x87 part from X87State, MXCSR, MXCSR_MASK
/// and XMM0-7 at 160.</summary>
public static class FxArea
{
    public const int Size = 512;

    public static void Save(CpuState s, Span<byte> d)
    {
        s.Fpu.FxSave(d);
        W32(d, 24, s.Simd.Mxcsr);
        W32(d, 28, SimdState.MxcsrMask);
        for (int i = 0; i < SimdState.Count; i++)
        {
            ref X128 x = ref s.Simd.Xmm(i);
            W64(d, 160 + 16 * i, x.Lo);
            W64(d, 168 + 16 * i, x.Hi);
        }
    }

    /// <summary>MXCSR of an image (bytes 24-27); a reserved bit set makes FXRSTOR #GP(0) (SDM FXRSTOR).</summary>
    public static uint Mxcsr(ReadOnlySpan<byte> s) => R32(s, 24);
    public static bool MxcsrValid(uint m) => (m & ~SimdState.MxcsrMask) == 0;

    public static void Restore(CpuState st, ReadOnlySpan<byte> s)
    {
        st.Fpu.FxRestore(s);
        st.Simd.Mxcsr = R32(s, 24);
        RestoreXmm(st, s);
    }

    public static void RestoreXmm(CpuState st, ReadOnlySpan<byte> s)
    {
        for (int i = 0; i < SimdState.Count; i++)
        {
            ref X128 x = ref st.Simd.Xmm(i);
            x.Lo = R64(s, 160 + 16 * i);
            x.Hi = R64(s, 168 + 16 * i);
        }
    }

    static void W32(Span<byte> d, int o, uint v) => System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(d[o..], v);
    static void W64(Span<byte> d, int o, ulong v) => System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(d[o..], v);
    static uint R32(ReadOnlySpan<byte> s, int o) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    static ulong R64(ReadOnlySpan<byte> s, int o) => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
