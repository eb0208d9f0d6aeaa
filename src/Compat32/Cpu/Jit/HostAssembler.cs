using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// Lays out and encodes a block's host instructions (what Iced's Assembler collected) with one reused Encoder,
/// instead of Iced's BlockEncoder, which builds an object per instruction and picks branch sizes iteratively: that
/// was about a fifth of a cold start's CPU (python3.11 -S translates ~3800 blocks) and most of its allocation.
/// Every branch takes its rel32 form, so an instruction's length does not depend on where its target is: each is
/// encoded once at its final address, a branch or RIP-relative operand naming a label with its own address in its
/// place, and those rel32 fields are patched once every label has its place. The Assembler marks the instruction
/// after a label with the label's id as its IP and a branch (or RIP-relative operand) to a label with the id as
/// target; ids are small numbers no real host address can be (mmap_min_addr is 64 KiB). Anything it cannot encode
/// this way (an unplaced label, a target out of reach) returns false and the caller uses the BlockEncoder.
/// COMPAT32_JIT_BLOCKENC=1 always does (for comparisons).
/// </summary>
internal sealed class HostAssembler
{
    public static readonly bool Off = Environment.GetEnvironmentVariable("COMPAT32_JIT_BLOCKENC") == "1";
    const ulong MaxLabelId = 0xFFFF;
    /// <summary>Blocks it could not encode (the BlockEncoder did): JitTests expects none.</summary>
    internal static long Fallbacks;
    /// <summary>Why the last refusal happened (for tests' messages).</summary>
    internal static string? LastRefusal;

    sealed class Sink : CodeWriter
    {
        public List<byte> Out = new();
        public override void WriteByte(byte value) => Out.Add(value);
    }

    readonly Sink sink = new();
    readonly Encoder enc;
    int[] labelAt = new int[256];
    readonly List<(int Field, int Next, ulong Label)> fixups = new();

    /// <summary>After a successful TryAssemble: the rel32 fields whose target lies outside the block (exit stubs,
    /// table slots), with the target; the 64-bit immediates; and whether a rel8 leaves the block (then the code
    /// cannot move). JitCode.MakeTemplate reads these instead of decoding the code again.</summary>
    public readonly List<(int Field, ulong Target)> Outside = new();
    public readonly List<ulong> Imm64 = new();
    public bool ShortOutside;

    public HostAssembler() { enc = Encoder.Create(64, sink); }

    /// <summary>Encode list at rip, appended to output; false (output then holds garbage) if it cannot.</summary>
    public bool TryAssemble(IReadOnlyList<Instruction> list, ulong rip, List<byte> output)
    {
        Array.Fill(labelAt, -1);
        fixups.Clear();
        Outside.Clear(); Imm64.Clear(); ShortOutside = false;
        sink.Out = output;
        int start = output.Count;
        for (int i = 0; i < list.Count; i++)
        {
            var ins = list[i];
            int off = output.Count - start;
            ulong at = rip + (ulong)off;
            ulong id = ins.IP;
            if (id != 0 && id <= MaxLabelId)
            {
                if ((int)id >= labelAt.Length)
                {
                    int old = labelAt.Length;
                    Array.Resize(ref labelAt, Math.Max((int)id + 1, old * 2));
                    Array.Fill(labelAt, -1, old, labelAt.Length - old);
                }
                labelAt[(int)id] = off;
            }
            ulong label = 0;
            bool branch = ins.Op0Kind == OpKind.NearBranch64;
            if (branch)
            {
                ins.Code = ins.Code.ToNearBranch(); // JRCXZ and LOOP have no rel32 form: they keep rel8
                if (ins.NearBranch64 <= MaxLabelId) { label = ins.NearBranch64; ins.NearBranch64 = at; }
            }
            else if (ins.IsIPRelativeMemoryOperand && ins.IPRelativeMemoryAddress <= MaxLabelId)
            {
                label = ins.IPRelativeMemoryAddress;
                ins.MemoryDisplacement64 = at;
            }
            if (!enc.TryEncode(ins, at, out uint len, out string? err)) return Refuse(ins, err);
            if (label != 0)
            {
                if (branch && len < 5) return Refuse(ins, "a rel8 branch to a label");
                int field = branch ? off + (int)len - 4 : off + enc.GetConstantOffsets().DisplacementOffset;
                fixups.Add((field, off + (int)len, label));
            }
            else if (branch)
            {
                if (len < 5) ShortOutside = true;
                else Outside.Add((off + (int)len - 4, ins.NearBranch64));
            }
            else if (ins.IsIPRelativeMemoryOperand)
                Outside.Add((off + enc.GetConstantOffsets().DisplacementOffset, ins.IPRelativeMemoryAddress));
            for (int k = 0; k < ins.OpCount; k++)
                if (ins.GetOpKind(k) == OpKind.Immediate64) Imm64.Add(ins.Immediate64);
        }
        var bytes = CollectionsMarshal.AsSpan(output)[start..];
        foreach (var (field, next, label) in fixups)
        {
            if (label >= (ulong)labelAt.Length || labelAt[(int)label] < 0) return Refuse(default, $"label {label} not placed");
            BinaryPrimitives.WriteInt32LittleEndian(bytes[field..], labelAt[(int)label] - next);
        }
        return true;
    }

    static bool Refuse(in Instruction ins, string? why)
    {
        LastRefusal = $"{ins.Code} {ins}: {why}";
        return false;
    }
}
