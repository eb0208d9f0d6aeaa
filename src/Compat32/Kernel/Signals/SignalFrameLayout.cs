namespace Compat32.Kernel.Signals;

/// <summary>i386 signal frame sizes (arch/x86/include/asm/sigframe.h, uapi sigcontext.h), one home for each.</summary>
public static class SignalFrameLayout
{
    public const int SigcontextSize = 88, SigframeSize = 732, RtSigframeSize = 268, UcontextSize = 116, SiginfoSize = 128;
    /// <summary>struct fregs_state header (112) + fxsave area (512) + FP_XSTATE_MAGIC2 (4): the FPU part of a frame.</summary>
    public const int FpStateSize = 112 + 512 + 4;
    /// <summary>AT_MINSIGSTKSZ (get_sigframe_size): the largest frame plus FPU state and alignment slack.</summary>
    public const uint MinSigStackSize = SigframeSize + FpStateSize + 64 + 16;
}
