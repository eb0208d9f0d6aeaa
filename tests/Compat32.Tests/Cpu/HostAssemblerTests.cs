using Compat32.Cpu;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Cpu;

/// <summary>The translator's own layout pass (HostAssembler) against Iced's BlockEncoder on the same instructions:
/// decoded, both give the same instructions with every branch and RIP-relative operand reaching the same
/// instruction (BlockEncoder may pick short branches; HostAssembler always rel32).</summary>
public class HostAssemblerTests
{
    const ulong Rip = 0x4000_0000;

    static List<(Instruction ins, int target)> Decode(byte[] bytes)
    {
        var d = Decoder.Create(64, new ByteArrayCodeReader(bytes), Rip);
        var list = new List<Instruction>();
        while (d.IP < Rip + (ulong)bytes.Length) list.Add(d.Decode());
        var index = new Dictionary<ulong, int>();
        for (int i = 0; i < list.Count; i++) index[list[i].IP] = i;
        // A target inside the block is named by its instruction's index; one outside by its address.
        int Of(ulong t) => index.TryGetValue(t, out int i) ? i : -1 - (int)(t - Rip);
        return list.ConvertAll(i => (i, i.Op0Kind == OpKind.NearBranch64 ? Of(i.NearBranch64)
            : i.IsIPRelativeMemoryOperand ? Of(i.IPRelativeMemoryAddress) : int.MinValue));
    }

    static void Same(Action<Assembler> build)
    {
        var a = new Assembler(64);
        build(a);
        var w = new List<byte>();
        Assert.True(new HostAssembler().TryAssemble(a.Instructions, Rip, w));
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), Rip);
        var mine = Decode(w.ToArray());
        var iced = Decode(ms.ToArray());
        Assert.Equal(iced.Count, mine.Count);
        for (int i = 0; i < mine.Count; i++)
        {
            Assert.Equal(iced[i].ins.Mnemonic, mine[i].ins.Mnemonic);
            Assert.Equal(iced[i].target, mine[i].target);
            if (iced[i].target == int.MinValue) Assert.Equal(iced[i].ins.ToString(), mine[i].ins.ToString());
        }
    }

    [Fact]
    public void BranchesLabelsAndRipRelativeOperandsMatchTheBlockEncoder()
    {
        var rnd = new Random(13);
        for (int round = 0; round < 50; round++)
        {
            int n = rnd.Next(2, 60);
            Same(a =>
            {
                var labels = new Label[n];
                for (int i = 0; i < n; i++) labels[i] = a.CreateLabel();
                for (int i = 0; i < n; i++)
                {
                    a.Label(ref labels[i]);
                    switch (rnd.Next(9))
                    {
                        case 7: a.lea(rcx, __[labels[rnd.Next(n)]]); break;          // RIP-relative to a label
                        case 0: a.jne(labels[rnd.Next(n)]); break;
                        case 1: a.jmp(labels[rnd.Next(n)]); break;
                        case 2: a.mov(r9, __qword_ptr[Rip + 0x10_0000]); break; // RIP-relative, absolute target past the block
                        case 3: a.jmp(Rip + 0x20_0000); break;                  // absolute target (an exit stub)
                        case 4: for (int k = rnd.Next(1, 40); k > 0; k--) a.add(eax, 0x12345); break; // distance
                        case 5: a.call(labels[rnd.Next(n)]); break;
                        case 6: a.lea(r8d, __[r12 - 4]); break;
                        default: a.jle(labels[rnd.Next(n)]); break;
                    }
                }
                a.int3();
            });
        }
    }

    [Fact]
    public void AnUnplacedLabelIsRefused()
    {
        var a = new Assembler(64);
        var nowhere = a.CreateLabel();
        a.jmp(nowhere);
        a.int3();
        Assert.False(new HostAssembler().TryAssemble(a.Instructions, Rip, new List<byte>()));
    }
}
