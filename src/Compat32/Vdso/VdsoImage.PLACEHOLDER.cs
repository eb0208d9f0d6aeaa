// PLACEHOLDER so the kernel compiles before the vDSO builder lands: delete this file when
// src/Compat32/Vdso/VdsoImage.cs (the real vdso2c record) exists.
namespace Compat32.Vdso;

public sealed class VdsoImage
{
    public byte[] Data = Array.Empty<byte>();
    public int Size;
    public long SymVvarStart;
    public int SymKernelVsyscall, SymKernelSigreturn, SymKernelRtSigreturn, SymInt80LandingPad,
        SymVdso32SigreturnLandingPad, SymVdso32RtSigreturnLandingPad;
}

public sealed class VdsoFormatException(string m) : Exception(m);
