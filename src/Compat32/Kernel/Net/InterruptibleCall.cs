using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Kernel.Net;

/// <summary>
/// A blocking host socket call that a guest signal interrupts at once, as sk_wait_data's signal_pending check
/// does on Linux: one host call for a receive or send that has to sleep, where waiting in poll first costs two.
/// The call runs on the task's own host thread through a small x86-64 stub that enters the kernel only while the
/// task's call word (HostEvent [2]) still says 1. A waker (HostEvent.Signal, which every signal_wake_up, kill and
/// exit goes through) sets the word to 2 and sends the thread WakeSignal, a host real-time signal whose handler
/// looks at where the thread was: between the stub's check and its syscall instruction (not yet in the kernel, or
/// put back on the syscall instruction by SA_RESTART) it moves the thread to the stub's -EINTR exit, the window
/// check musl's thread cancellation uses; anywhere else it returns and does nothing. So a wake-up is never lost:
/// before the check the stub sees 2, after it the handler moves it out, inside the kernel the call is interrupted.
/// Because the handler is installed with SA_RESTART, a signal that lands elsewhere (a wake-up racing with the end
/// of the call) restarts whatever the thread was doing, as the runtime's own activation signal (SIGRTMIN,
/// SA_RESTART) does; the handler is a few instructions of host code and never enters managed code.
/// Only where the stub exists (x86-64 hosts, a free real-time signal); elsewhere callers poll as before.
/// </summary>
internal static unsafe partial class InterruptibleCall
{
    public const int NR_sendto = 44, NR_recvfrom = 45, NR_sendmsg = 46, NR_recvmsg = 47; // x86-64 numbers
    const int SA_SIGINFO = 4, SA_RESTART = 0x10000000;
    /// <summary>uc_mcontext.gregs[REG_RIP] in the x86-64 ucontext_t the handler gets (40 + 16 * 8).</summary>
    const int UcRip = 168;

    static readonly delegate* unmanaged<long, long, long, long, long, int*, long> stub;
    static readonly int hostPid;
    /// <summary>The host signal that interrupts a call (0 when there is no stub).</summary>
    public static readonly int WakeSignal;

    public static bool Available => WakeSignal != 0;

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)] private static partial int sigaction_(int sig, byte* act, byte* old);
    [LibraryImport("libc", EntryPoint = "__libc_current_sigrtmin")] private static partial int sigrtmin_();
    [LibraryImport("libc", EntryPoint = "__libc_current_sigrtmax")] private static partial int sigrtmax_();
    [LibraryImport("libc", EntryPoint = "syscall")] private static partial long syscall3(long nr, long a, long b, long c);

    static InterruptibleCall()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64 ||
            Environment.GetEnvironmentVariable("COMPAT32_SOCKET_POLL") == "1") return;
        try
        {
            byte* code = global::Compat32.Memory.HostMem.ReserveCode(4096);
            if (code == null) return;
            var a = new Assembler(64);
            Label check = a.CreateLabel(), sys = a.CreateLabel(), eintr = a.CreateLabel(), handler = a.CreateLabel(), done = a.CreateLabel();
            // stub(nr, a1, a2, a3, a4, word): syscall(nr, a1, a2, a3, a4, 0, 0) while *word == 1, else -EINTR.
            a.Label(ref check);
            a.cmp(__dword_ptr[r9], 1);
            a.jne(eintr);
            a.mov(rax, rdi); a.mov(rdi, rsi); a.mov(rsi, rdx); a.mov(rdx, rcx); a.mov(r10, r8);
            a.xor(r8d, r8d); a.xor(r9d, r9d);
            a.Label(ref sys);
            a.syscall();
            a.ret();
            a.Label(ref eintr);
            a.mov(rax, -4L);
            a.ret();
            // handler(sig, info, ucontext): a thread caught in [check, sys] leaves through eintr.
            a.Label(ref handler);
            a.mov(rax, __qword_ptr[rdx + UcRip]);
            a.lea(rcx, __[check]);
            a.cmp(rax, rcx);
            a.jb(done);
            a.lea(rcx, __[sys]);
            a.cmp(rax, rcx);
            a.ja(done);
            a.lea(rcx, __[eintr]);
            a.mov(__qword_ptr[rdx + UcRip], rcx);
            a.Label(ref done);
            a.ret();
            var w = new Writer();
            var res = a.Assemble(w, (ulong)code, BlockEncoderOptions.ReturnNewInstructionOffsets);
            w.Bytes.ToArray().CopyTo(new Span<byte>(code, 4096));
            ulong h = res.GetLabelRIP(handler);
            // A real-time signal nobody in this process handles (the runtime takes SIGRTMIN itself).
            byte* act = stackalloc byte[152];
            byte* old = stackalloc byte[152];
            for (int sig = sigrtmin_() + 6; sig <= sigrtmax_() - 1; sig++)
            {
                if (sigaction_(sig, null, old) != 0 || *(nint*)old != 0) continue; // not SIG_DFL: someone's
                new Span<byte>(act, 152).Clear();                                  // sa_mask empty
                *(ulong*)act = h;                                                  // sa_sigaction
                *(int*)(act + 136) = SA_SIGINFO | SA_RESTART;                      // sa_flags (glibc adds SA_RESTORER)
                if (sigaction_(sig, act, null) != 0) return;
                hostPid = Environment.ProcessId;
                stub = (delegate* unmanaged<long, long, long, long, long, int*, long>)code;
                WakeSignal = sig;
                return;
            }
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
    }

    sealed class Writer : CodeWriter
    {
        public readonly List<byte> Bytes = new(128);
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    /// <summary>Interrupt the call the thread hostTid is in (HostEvent.Signal, after it set the word to 2).</summary>
    public static void Interrupt(int hostTid)
    {
        if (hostTid > 0 && WakeSignal != 0) syscall3(234 /* tgkill */, hostPid, hostTid, WakeSignal);
    }

    /// <summary>
    /// The host call nr(a1..a4) on a blocking descriptor, on the task's own thread: its result (-errno), or -EINTR
    /// without the call when a wake-up (a signal the task can take, a kill) is already there or comes before the
    /// thread is in the kernel, or when one ends the call. The caller sorts -EINTR out (HostWait.Interrupted).
    /// </summary>
    public static long Call(Task t, long nr, long a1, long a2, long a3, long a4)
    {
        int* w = t.SigState.Sleep.CallWord;
        w[1] = t.HostTid;
        Interlocked.Exchange(ref w[0], 1); // a full fence before the checks: a waker's pending bit is seen, or it sees 1
        try
        {
            if (Vfs.HostWait.Interrupted(t, 1) != 0) return -Errno.EINTR;
            return stub(nr, a1, a2, a3, a4, w);
        }
        finally { Volatile.Write(ref w[0], 0); }
    }
}
