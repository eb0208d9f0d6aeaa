using Compat32.Cpu;
using Compat32.Elf;
using Compat32.Kernel;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Entry;

/// <summary>
/// Guests assembled with Iced and run in-process: a prologue stores AT_SYSINFO at Data+0 (0 without a vDSO),
/// the body runs, an epilogue calls exit_group(0) with int $0x80. Results are read back from Data after exit.
/// </summary>
public sealed class AsmGuest
{
    public const uint Data = 0x0805_0000;   // a bss page at a fixed address (Iced's 32-bit assembler has no absolute labels)
    public const uint DataSize = 0x1000;
    const uint CodeAddr = ElfWriter.DefaultBase + ElfWriter.HeaderSize;

    public static byte[] Build(Action<Assembler> body)
    {
        var a = new Assembler(32);
        var skipEnv = a.CreateLabel(); var auxLoop = a.CreateLabel(); var auxDone = a.CreateLabel();
        a.mov(__dword_ptr[(int)Data], 0);
        a.mov(eax, __dword_ptr[esp]);
        a.lea(esi, __dword_ptr[esp + eax * 4 + 8]);
        a.Label(ref skipEnv);
        a.lodsd(); a.test(eax, eax); a.jnz(skipEnv);
        a.Label(ref auxLoop);
        a.lodsd(); a.mov(edx, eax); a.lodsd();
        a.test(edx, edx); a.jz(auxDone);
        a.cmp(edx, 32); a.jne(auxLoop);
        a.mov(__dword_ptr[(int)Data], eax);
        a.jmp(auxLoop);
        a.Label(ref auxDone);
        body(a);
        a.mov(eax, 252); a.xor(ebx, ebx); a.@int(0x80);
        a.hlt();
        var w = new Writer();
        a.Assemble(w, CodeAddr);
        var code = w.Bytes.ToArray();
        uint bss = Data + DataSize - (CodeAddr + (uint)code.Length);
        return ElfWriter.StaticExecutable(code, CodeAddr, bss);
    }

    sealed class Writer : CodeWriter
    {
        public readonly List<byte> Bytes = new();
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    public sealed record Result(Machine Machine, Kernel.Task Task, GuestExit Exit)
    {
        public uint Word(int index)
        {
            Task.Mem.ReadU32(Data + (uint)index * 4, out uint v);
            return v;
        }
        public long Entries(Compat32.Entry.EntryMethod m) => Machine.Kernel.Stats.Entries[(int)m];
        public long Exits(Compat32.Entry.ExitMethod m) => Machine.Kernel.Stats.Exits[(int)m];
        public long Reason(Compat32.Entry.IretReason r) => Machine.Kernel.Stats.IretReasons[(int)r];
    }

    public static Result Run(CpuModel model, byte[] elf, Action<KernelModel>? setup = null, string? vdsoFile = null)
    {
        var path = Path.Combine(Path.GetTempPath(), $"c32-asm-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, elf);
        try
        {
            var m = MachineFactory.Create(model, new KernelOptions(), vdsoFile);
            setup?.Invoke(m.Kernel);
            var t = m.Spawn(path, new[] { "guest" }, Array.Empty<string>());
            var exit = m.Run();
            return new Result(m, t, exit);
        }
        finally { File.Delete(path); }
    }

    public static IEnumerable<object[]> AllModels() =>
        new[] { "intel", "amd", "nosep", "i386" }.Select(n => new object[] { n });
}
