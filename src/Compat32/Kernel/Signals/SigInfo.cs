using System.Buffers.Binary;

namespace Compat32.Kernel.Signals;

/// <summary>Which member of the siginfo union a kernel_siginfo uses (siginfo_layout in kernel/signal.c).</summary>
public enum SigInfoLayout { Kill, Timer, Rt, Chld, Fault, Poll }

/// <summary>
/// kernel_siginfo as the kernel queues it (include/uapi/asm-generic/siginfo.h), written to user space in the
/// compat layout (struct compat_siginfo, include/linux/compat.h): 128 bytes, si_signo 0, si_errno 4, si_code 8,
/// union at 12.
/// </summary>
public struct KSigInfo
{
    public int Signo, Errno, Code;
    public SigInfoLayout Layout;
    public int Pid;          // _kill/_rt/_sigchld si_pid; _timer si_tid
    public uint Uid;         // si_uid; _timer si_overrun
    public uint Value;       // _rt/_timer si_value; _sigchld si_status
    public uint Addr;        // _sigfault si_addr
    public int Band, Fd;     // _sigpoll

    // si_code values (include/uapi/asm-generic/siginfo.h)
    public const int SI_USER = 0, SI_KERNEL = 0x80, SI_QUEUE = -1, SI_TIMER = -2, SI_MESGQ = -3, SI_ASYNCIO = -4,
        SI_SIGIO = -5, SI_TKILL = -6;

    /// <summary>__copy_siginfo_to_user32: the compat layout, 128 bytes.</summary>
    public readonly void WriteCompat(Span<byte> b)
    {
        b[..SignalFrameLayout.SiginfoSize].Clear();
        BinaryPrimitives.WriteInt32LittleEndian(b, Signo);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], Errno);
        BinaryPrimitives.WriteInt32LittleEndian(b[8..], Code);
        var u = b[12..];
        switch (Layout)
        {
            case SigInfoLayout.Kill:
                BinaryPrimitives.WriteInt32LittleEndian(u, Pid); BinaryPrimitives.WriteUInt32LittleEndian(u[4..], Uid); break;
            case SigInfoLayout.Timer: // si_tid, si_overrun, si_sigval
                BinaryPrimitives.WriteInt32LittleEndian(u, Pid); BinaryPrimitives.WriteUInt32LittleEndian(u[4..], Uid);
                BinaryPrimitives.WriteUInt32LittleEndian(u[8..], Value); break;
            case SigInfoLayout.Rt:
                BinaryPrimitives.WriteInt32LittleEndian(u, Pid); BinaryPrimitives.WriteUInt32LittleEndian(u[4..], Uid);
                BinaryPrimitives.WriteUInt32LittleEndian(u[8..], Value); break;
            case SigInfoLayout.Chld:
                BinaryPrimitives.WriteInt32LittleEndian(u, Pid); BinaryPrimitives.WriteUInt32LittleEndian(u[4..], Uid);
                BinaryPrimitives.WriteUInt32LittleEndian(u[8..], Value); break;
            case SigInfoLayout.Fault:
                BinaryPrimitives.WriteUInt32LittleEndian(u, Addr); break;
            case SigInfoLayout.Poll:
                BinaryPrimitives.WriteInt32LittleEndian(u, Band); BinaryPrimitives.WriteInt32LittleEndian(u[4..], Fd); break;
        }
    }

    /// <summary>struct signalfd_siginfo (include/uapi/linux/signalfd.h), 128 bytes, from signalfd_copyinfo.</summary>
    public readonly void WriteSignalfd(Span<byte> b)
    {
        b[..128].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)Signo);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], Errno);
        BinaryPrimitives.WriteInt32LittleEndian(b[8..], Code);
        switch (Layout)
        {
            case SigInfoLayout.Kill: case SigInfoLayout.Rt: case SigInfoLayout.Chld:
                BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)Pid); BinaryPrimitives.WriteUInt32LittleEndian(b[16..], Uid);
                if (Layout == SigInfoLayout.Chld) BinaryPrimitives.WriteInt32LittleEndian(b[40..], (int)Value); // ssi_status
                else if (Layout == SigInfoLayout.Rt) { BinaryPrimitives.WriteInt32LittleEndian(b[44..], (int)Value); BinaryPrimitives.WriteUInt64LittleEndian(b[48..], Value); }
                break;
            case SigInfoLayout.Timer: // ssi_tid 24, ssi_overrun 32, ssi_int 44, ssi_ptr 48
                BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)Pid); BinaryPrimitives.WriteUInt32LittleEndian(b[32..], Uid);
                BinaryPrimitives.WriteInt32LittleEndian(b[44..], (int)Value); BinaryPrimitives.WriteUInt64LittleEndian(b[48..], Value); break;
            case SigInfoLayout.Fault: // ssi_addr 72
                BinaryPrimitives.WriteUInt64LittleEndian(b[72..], Addr); break;
            case SigInfoLayout.Poll: // ssi_fd 20, ssi_band 28
                BinaryPrimitives.WriteInt32LittleEndian(b[20..], Fd); BinaryPrimitives.WriteUInt32LittleEndian(b[28..], (uint)Band); break;
        }
    }
}
