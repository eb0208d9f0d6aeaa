namespace Compat32.Kernel.Signals;

/// <summary>i386 signal frame sizes (arch/x86/include/asm/sigframe.h, uapi sigcontext.h), one home for each.</summary>
public static class SignalFrameLayout
{
    public const int SigcontextSize = 88, SigframeSize = 732, RtSigframeSize = 268, UcontextSize = 116, SiginfoSize = 128;
    /// <summary>sizeof(struct rt_sigframe) of the 64-bit kernel: pretcode 8 + ucontext 304 + siginfo 128.</summary>
    public const int RtSigframe64Size = 440;
    /// <summary>fpu__get_fpstate_size with FXSR and no XSAVE: fxsave area (512) + the ia32 fsave header (112);
    /// FP_XSTATE_MAGIC2 is only added with XSAVE.</summary>
    public const int FpStateSize = 512 + 112;

    /// <summary>AT_MINSIGSTKSZ = get_sigframe_size() (init_sigframe_size in arch/x86/kernel/signal.c): the largest
    /// frame (MAX_FRAME_SIGINFO_UCTXT_SIZE: the native rt_sigframe on a 64-bit kernel, sigframe_ia32 on a
    /// 32-bit one) + MAX_FRAME_PADDING (15) + the FPU state + MAX_XSAVE_PADDING (63), rounded up to 16.
    /// 1152 on a 64-bit kernel, 1440 on a 32-bit one.</summary>
    public static uint MinSigStackSize(bool kernel64)
    {
        int frame = kernel64 ? RtSigframe64Size : SigframeSize;
        return (uint)((frame + 15 + FpStateSize + 63 + 15) & ~15);
    }
}
