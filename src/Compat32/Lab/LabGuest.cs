using Compat32.Elf;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Lab;

/// <summary>
/// A lab guest assembled with Iced (no toolchain needed): a prologue stores AT_SYSINFO at D+0 (the program's
/// own `int $0x80; ret` when there is none, as glibc does) and AT_SYSINFO_EHDR at D+4, the body runs, then
/// exit_group(0) by int $0x80. Results are words at <see cref="R"/>; code labels resolve in a second pass.
/// </summary>
public sealed class LabGuest
{
    public const uint Code = ElfWriter.DefaultBase + ElfWriter.HeaderSize;
    public const uint D = 0x0805_0000, DataSize = 0x1_0000;
    /// <summary>Result word i.</summary>
    public static uint R(int i) => D + 0x40 + 4 * (uint)i;
    public const uint TrapLog = D + 0x1000, AltStack = D + 0x8000, ChildStack = D + 0xE000;

    public readonly Assembler A = new(32);
    readonly Dictionary<string, Label> labels = new();
    readonly Dictionary<string, uint>? prev;

    LabGuest(Dictionary<string, uint>? prev) { this.prev = prev; }

    /// <summary>Address of a code label from the previous pass (a placeholder on the first).</summary>
    public uint Addr(string name) => prev != null && prev.TryGetValue(name, out var v) ? v : 0x0804_9000;

    public void Mark(string name)
    {
        if (!labels.TryGetValue(name, out var l)) l = A.CreateLabel(name);
        A.Label(ref l);
        labels[name] = l;
    }

    public static byte[] Build(Action<LabGuest> body)
    {
        var (code, lab) = Pass(body, null);
        (code, _) = Pass(body, lab);
        return ElfWriter.StaticExecutable(code, Code, D + DataSize - (Code + (uint)code.Length));
    }

    static (byte[], Dictionary<string, uint>) Pass(Action<LabGuest> body, Dictionary<string, uint>? prev)
    {
        var g = new LabGuest(prev);
        var a = g.A;
        var skipEnv = a.CreateLabel(); var auxLoop = a.CreateLabel(); var auxDone = a.CreateLabel(); var notSys = a.CreateLabel();
        a.mov(__dword_ptr[(int)D], g.Addr("int80"));
        a.mov(__dword_ptr[(int)D + 4], 0);
        a.mov(eax, __dword_ptr[esp]);
        a.lea(esi, __dword_ptr[esp + eax * 4 + 8]);
        a.Label(ref skipEnv);
        a.lodsd(); a.test(eax, eax); a.jnz(skipEnv);
        a.Label(ref auxLoop);
        a.lodsd(); a.mov(edx, eax); a.lodsd();
        a.test(edx, edx); a.jz(auxDone);
        a.cmp(edx, 32); a.jne(notSys);                 // AT_SYSINFO
        a.mov(__dword_ptr[(int)D], eax);
        a.Label(ref notSys);
        a.cmp(edx, 33); a.jne(auxLoop);                // AT_SYSINFO_EHDR
        a.mov(__dword_ptr[(int)D + 4], eax);
        a.jmp(auxLoop);
        a.Label(ref auxDone);
        body(g);
        g.Exit(0);
        g.Mark("int80");
        a.@int(0x80); a.ret();
        g.Mark("restorer");
        a.pop(eax); a.mov(eax, 119); a.@int(0x80);
        var w = new Writer();
        var r = a.Assemble(w, Code, BlockEncoderOptions.ReturnNewInstructionOffsets);
        return (w.Bytes.ToArray(), g.labels.ToDictionary(kv => kv.Key, kv => (uint)r.GetLabelRIP(kv.Value)));
    }

    // ---- helpers the checks share

    public void Exit(int code) { A.mov(eax, 252); A.mov(ebx, code); A.@int(0x80); }
    /// <summary>A syscall by inline int $0x80 (for setup: the design under test is not involved).</summary>
    public void Sys(int nr, uint b = 0, uint c = 0, uint d = 0, uint s = 0)
    {
        A.mov(eax, nr); A.mov(ebx, b); A.mov(ecx, c); A.mov(edx, d); A.mov(esi, s); A.@int(0x80);
    }
    /// <summary>call *AT_SYSINFO: the way glibc enters the kernel.</summary>
    public void Vsyscall() => A.call(__dword_ptr[(int)D]);

    /// <summary>rt_sigaction(sig, {handler, flags, restorer, mask 0}) with the sigaction at D+0x600+32*sig. With
    /// <paramref name="ownRestorer"/> the handler returns through the program's own `pop %eax; mov $119,%eax;
    /// int $0x80` (SA_RESTORER, as glibc always does); without it, through the vDSO's __kernel_sigreturn.</summary>
    public void SigAction(int sig, string handler, uint flags, bool ownRestorer = true)
    {
        uint act = D + 0x600 + 32 * (uint)sig;
        A.mov(__dword_ptr[(int)act], Addr(handler));
        A.mov(__dword_ptr[(int)act + 4], flags | (ownRestorer ? SA_RESTORER : 0));
        A.mov(__dword_ptr[(int)act + 8], ownRestorer ? Addr("restorer") : 0);
        A.mov(__dword_ptr[(int)act + 12], 0); A.mov(__dword_ptr[(int)act + 16], 0);
        Sys(174, (uint)sig, act, 0, 8);
    }

    public const uint SA_RESTORER = 0x0400_0000, SA_RESTART = 0x1000_0000, SA_ONSTACK = 0x0800_0000;
    public const uint Pattern1 = 0x1111_1111, Pattern2 = 0x2222_2222, Pattern3 = 0x3333_3333,
        Pattern4 = 0x4444_4444, Pattern5 = 0x5555_5555, Pattern6 = 0x6666_6666;

    public void LoadPattern()
    {
        A.mov(ebx, Pattern1); A.mov(ecx, Pattern2); A.mov(edx, Pattern3);
        A.mov(esi, Pattern4); A.mov(edi, Pattern5); A.mov(ebp, Pattern6);
    }

    /// <summary>flags, eax, ebx, ecx, edx, esi, edi, ebp, esp into R(at..at+8).</summary>
    public void StoreAll(int at)
    {
        A.pushfd(); A.pop(__dword_ptr[(int)R(at)]);
        A.mov(__dword_ptr[(int)R(at + 1)], eax); A.mov(__dword_ptr[(int)R(at + 2)], ebx);
        A.mov(__dword_ptr[(int)R(at + 3)], ecx); A.mov(__dword_ptr[(int)R(at + 4)], edx);
        A.mov(__dword_ptr[(int)R(at + 5)], esi); A.mov(__dword_ptr[(int)R(at + 6)], edi);
        A.mov(__dword_ptr[(int)R(at + 7)], ebp); A.mov(__dword_ptr[(int)R(at + 8)], esp);
        A.push(0x202); A.popfd();
    }

    sealed class Writer : CodeWriter
    {
        public readonly List<byte> Bytes = new();
        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
