using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using Compat32.Elf;

namespace Compat32.Demo;

/// <summary>
/// The embedded demo guest, assembled with Iced: it finds AT_SYSINFO in its auxiliary vector and makes its
/// system calls through __kernel_vsyscall (falling back to int $0x80 without a vDSO), the way glibc does:
/// a greeting, a getppid loop, a nanosleep, and exit.
/// </summary>
public static class DemoProgram
{
    public const int Loops = 1000;

    public static byte[] Build()
    {
        const uint codeAddr = ElfWriter.DefaultBase + ElfWriter.HeaderSize;
        // Iced's 32-bit assembler has no absolute label operands: assemble twice, the second time with the
        // data addresses the first pass found (every operand is a disp32/imm32, so sizes do not change).
        var addrs = new Dictionary<string, uint> { ["sysinfo"] = 0x0804F000, ["int80"] = 0x0804F000, ["msg"] = 0x0804F000, ["done"] = 0x0804F000, ["ts"] = 0x0804F000 };
        var (code, labels, entry) = Assemble(codeAddr, addrs);
        (code, labels, entry) = Assemble(codeAddr, labels);
        // Default the pointer to the int $0x80 stub (what glibc does without AT_SYSINFO).
        BitConverter.TryWriteBytes(code.AsSpan((int)(labels["sysinfo"] - codeAddr)), labels["int80"]);
        return ElfWriter.StaticExecutable(code, entry);
    }

    static (byte[] code, Dictionary<string, uint> labels, uint entry) Assemble(uint codeAddr, Dictionary<string, uint> at)
    {
        var a = new Assembler(32);
        var start = a.CreateLabel("start");
        var sysinfo = a.CreateLabel("sysinfo");
        var int80 = a.CreateLabel("int80");
        var msg = a.CreateLabel("msg");
        var done = a.CreateLabel("done");
        var ts = a.CreateLabel("ts");
        var skipEnv = a.CreateLabel(); var auxLoop = a.CreateLabel(); var auxDone = a.CreateLabel(); var loop = a.CreateLabel();
        byte[] hello = "hello from an i386 guest: syscalls go through __kernel_vsyscall\n"u8.ToArray();
        byte[] bye = "guest done: 1000 x getppid, 1 x nanosleep, 3 x write\n"u8.ToArray();
        var vsys = __dword_ptr[(int)at["sysinfo"]];

        a.Label(ref start);
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
        a.mov(eax, 4); a.mov(ebx, 1); a.mov(ecx, at["msg"]); a.mov(edx, hello.Length);
        a.call(vsys);
        a.mov(edi, Loops);
        a.Label(ref loop);
        a.mov(eax, 64); a.call(vsys);                 // getppid
        a.dec(edi); a.jnz(loop);
        a.mov(eax, 162); a.mov(ebx, at["ts"]); a.xor(ecx, ecx); a.call(vsys); // nanosleep({0, 1 ms}, NULL)
        a.mov(eax, 4); a.mov(ebx, 1); a.mov(ecx, at["done"]); a.mov(edx, bye.Length);
        a.call(vsys);
        a.mov(eax, 252); a.xor(ebx, ebx); a.call(vsys); // exit_group(0)
        a.hlt();
        a.Label(ref int80);
        a.@int(0x80); a.ret();
        a.Label(ref sysinfo); a.dd(0);
        a.Label(ref ts); a.dd(0); a.dd(1_000_000);
        a.Label(ref msg); a.db(hello);
        a.Label(ref done); a.db(bye);

        var w = new CodeWriterImpl();
        var r = a.Assemble(w, codeAddr, BlockEncoderOptions.ReturnNewInstructionOffsets);
        var labels = new Dictionary<string, uint>
        {
            ["sysinfo"] = (uint)r.GetLabelRIP(sysinfo), ["int80"] = (uint)r.GetLabelRIP(int80), ["msg"] = (uint)r.GetLabelRIP(msg),
            ["done"] = (uint)r.GetLabelRIP(done), ["ts"] = (uint)r.GetLabelRIP(ts),
        };
        return (w.ToArray(), labels, (uint)r.GetLabelRIP(start));
    }

    sealed class CodeWriterImpl : CodeWriter
    {
        readonly List<byte> bytes = new();
        public override void WriteByte(byte value) => bytes.Add(value);
        public byte[] ToArray() => bytes.ToArray();
    }
}
