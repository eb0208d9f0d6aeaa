using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using Compat32.Elf;

namespace Compat32.Demo;

/// <summary>
/// The embedded demo guest, assembled with Iced: it finds AT_SYSINFO in its auxiliary vector and makes its
/// system calls through __kernel_vsyscall (falling back to int $0x80 without a vDSO), the way glibc does:
/// a greeting, a getppid loop, a nanosleep, a read() interrupted by a signal and restarted (SA_RESTART), and exit.
/// </summary>
public static class DemoProgram
{
    public const int Loops = 1000;

    public static byte[] Build()
    {
        const uint codeAddr = ElfWriter.DefaultBase + ElfWriter.HeaderSize;
        // Iced's 32-bit assembler has no absolute label operands: assemble twice, the second time with the
        // addresses the first pass found (every such operand is a disp32/imm32, so sizes do not change).
        var (code, labels, entry) = Assemble(codeAddr, null);
        (code, labels, entry) = Assemble(codeAddr, labels);
        // Default the pointer to the int $0x80 stub (what glibc does without AT_SYSINFO).
        BitConverter.TryWriteBytes(code.AsSpan((int)(labels["sysinfo"] - codeAddr)), labels["int80"]);
        return ElfWriter.StaticExecutable(code, entry);
    }

    static (byte[] code, Dictionary<string, uint> labels, uint entry) Assemble(uint codeAddr, Dictionary<string, uint>? prev)
    {
        var a = new Assembler(32);
        var names = new[] { "start", "sysinfo", "int80", "msg", "done", "ts", "fds", "act", "itv", "rbuf", "one", "restarted", "failed", "handler" };
        var L = names.ToDictionary(n => n, n => a.CreateLabel(n));
        uint At(string n) => prev?[n] ?? 0x0804F000;
        var skipEnv = a.CreateLabel(); var auxLoop = a.CreateLabel(); var auxDone = a.CreateLabel(); var loop = a.CreateLabel();
        var fail = a.CreateLabel();
        byte[] hello = "hello from an i386 guest: syscalls go through __kernel_vsyscall\n"u8.ToArray();
        byte[] bye = "guest done: 1000 x getppid, 1 x nanosleep\n"u8.ToArray();
        byte[] restarted = "read() on an empty pipe was interrupted by SIGALRM; the SA_RESTART handler filled the pipe; the read restarted on the vDSO's int $0x80 and got 1 byte\n"u8.ToArray();
        byte[] failed = "the restart demonstration did not behave as Linux does\n"u8.ToArray();
        var vsys = __dword_ptr[(int)At("sysinfo")];
        void Mark(string n) { var x = L[n]; a.Label(ref x); L[n] = x; } // Label is a struct: store it back
        void Write(string label, int len) { a.mov(eax, 4); a.mov(ebx, 1); a.mov(ecx, At(label)); a.mov(edx, len); a.call(vsys); }

        Mark("start");
        a.mov(eax, __dword_ptr[esp]);                 // argc
        a.lea(esi, __dword_ptr[esp + eax * 4 + 8]);   // envp
        a.Label(ref skipEnv);
        a.lodsd(); a.test(eax, eax); a.jnz(skipEnv);
        a.Label(ref auxLoop);                          // auxv: (type, value) pairs up to AT_NULL
        a.lodsd(); a.mov(edx, eax); a.lodsd();
        a.test(edx, edx); a.jz(auxDone);
        a.cmp(edx, 32); a.jne(auxLoop);               // AT_SYSINFO
        a.mov(vsys, eax);
        a.jmp(auxLoop);
        a.Label(ref auxDone);
        Write("msg", hello.Length);
        a.mov(edi, Loops);
        a.Label(ref loop);
        a.mov(eax, 64); a.call(vsys);                 // getppid
        a.dec(edi); a.jnz(loop);
        a.mov(eax, 162); a.mov(ebx, At("ts")); a.xor(ecx, ecx); a.call(vsys); // nanosleep({0, 1 ms}, NULL)
        // A restart: pipe, SIGALRM handler with SA_RESTART, a 20 ms ITIMER_REAL, then read() the empty pipe.
        a.mov(eax, 42); a.mov(ebx, At("fds")); a.call(vsys);                  // pipe(fds)
        a.mov(eax, 174); a.mov(ebx, 14); a.mov(ecx, At("act")); a.xor(edx, edx); a.mov(esi, 8); a.call(vsys); // rt_sigaction
        a.mov(eax, 104); a.xor(ebx, ebx); a.mov(ecx, At("itv")); a.xor(edx, edx); a.call(vsys); // setitimer(ITIMER_REAL)
        a.mov(eax, 3); a.mov(ebx, __dword_ptr[(int)At("fds")]); a.mov(ecx, At("rbuf")); a.mov(edx, 1); a.call(vsys); // read
        a.cmp(eax, 1); a.jne(fail);
        Write("restarted", restarted.Length);
        Write("done", bye.Length);
        a.mov(eax, 252); a.xor(ebx, ebx); a.call(vsys); // exit_group(0)
        a.Label(ref fail);
        Write("failed", failed.Length);
        a.mov(eax, 252); a.mov(ebx, 1); a.call(vsys);
        a.hlt();
        Mark("handler");                         // void handler(int sig): write(fds[1], "!", 1)
        a.mov(eax, 4); a.mov(ebx, __dword_ptr[(int)At("fds") + 4]); a.mov(ecx, At("one")); a.mov(edx, 1); a.call(vsys);
        a.ret();
        Mark("int80");
        a.@int(0x80); a.ret();
        Mark("sysinfo"); a.dd(0);
        Mark("ts"); a.dd(0); a.dd(1_000_000);
        Mark("fds"); a.dd(0); a.dd(0);
        // struct sigaction (compat): handler, flags = SA_RESTART (no SA_RESTORER: the vDSO's trampoline returns), restorer, mask
        Mark("act"); a.dd(At("handler")); a.dd(0x10000000); a.dd(0); a.dd(0); a.dd(0);
        Mark("itv"); a.dd(0); a.dd(0); a.dd(0); a.dd(20_000); // it_interval 0, it_value 20 ms
        Mark("rbuf"); a.dd(0);
        Mark("one"); a.db((byte)'!');
        Mark("msg"); a.db(hello);
        Mark("done"); a.db(bye);
        Mark("restarted"); a.db(restarted);
        Mark("failed"); a.db(failed);

        var w = new CodeWriterImpl();
        var r = a.Assemble(w, codeAddr, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var labels = names.ToDictionary(n => n, n => (uint)r.GetLabelRIP(L[n]));
        return (w.ToArray(), labels, labels["start"]);
    }

    sealed class CodeWriterImpl : CodeWriter
    {
        readonly List<byte> bytes = new();
        public override void WriteByte(byte value) => bytes.Add(value);
        public byte[] ToArray() => bytes.ToArray();
    }
}
