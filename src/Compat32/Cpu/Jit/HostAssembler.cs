using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// Lays out and encodes a block's host instructions (what Iced's Assembler collected) with one reused Encoder,
/// instead of Iced's BlockEncoder, which builds an object per instruction and picks branch sizes iteratively: that
/// was about a fifth of a cold start's CPU (python3.11 -S translates ~3800 blocks) and most of its allocation.
/// Every branch takes its rel32 form, so an instruction's length does not depend on where its target is: one
/// pass gives the offsets (label targets stand in as the instruction's own address), a second encodes with the
/// targets resolved and checks that each length came out the same. The Assembler marks the instruction after a
/// label with the label's id as its IP and a branch (or RIP-relative operand) to a label with the id as target;
/// ids are small numbers no real host address can be (mmap_min_addr is 64 KiB). Anything it cannot encode this way (an
/// unplaced label, a target out of reach) returns false and the caller uses the BlockEncoder. COMPAT32_JIT_BLOCKENC=1 always does (for comparisons).
/// </summary>
internal sealed class HostAssembler
{
    public static readonly bool Off = Environment.GetEnvironmentVariable("COMPAT32_JIT_BLOCKENC") == "1";
    const ulong MaxLabelId = 0xFFFF;
    /// <summary>Blocks it could not encode (the BlockEncoder did): JitTests expects none.</summary>
    internal static long Fallbacks;
    /// <summary>Why the last refusal happened (for COMPAT32_JITDEBUG and tests).</summary>
    internal static string? LastRefusal;

    sealed class Sink : CodeWriter
    {
        public List<byte>? Out; // null: count only
        public override void WriteByte(byte value) => Out?.Add(value);
    }

    readonly Sink sink = new();
    readonly Encoder enc;
    int[] offs = new int[256];
    int[] labelAt = new int[256];
    ulong baseRip;

    public HostAssembler() { enc = Encoder.Create(64, sink); }

    /// <summary>Encode list at rip into output (appended); false (output then holds garbage) if it cannot.</summary>
    public bool TryAssemble(IReadOnlyList<Instruction> list, ulong rip, List<byte> output)
    {
        int n = list.Count;
        baseRip = rip;
        if (offs.Length < n + 1) offs = new int[Math.Max(n + 1, offs.Length * 2)];
        Array.Fill(labelAt, -1);
        sink.Out = null;
        int off = 0;
        for (int i = 0; i < n; i++)
        {
            var ins = list[i];
            ulong id = ins.IP;
            if (id != 0 && id <= MaxLabelId)
            {
                if ((int)id >= labelAt.Length) { int old = labelAt.Length; Array.Resize(ref labelAt, Math.Max((int)id + 1, old * 2)); Array.Fill(labelAt, -1, old, labelAt.Length - old); }
                labelAt[(int)id] = off;
            }
            ulong at = rip + (ulong)off;
            if (!Prepare(ref ins, at, resolve: false)) return Refuse(ins, "label");
            if (!enc.TryEncode(ins, at, out uint len, out string? err)) return Refuse(ins, err);
            offs[i] = off;
            off += (int)len;
        }
        offs[n] = off;
        sink.Out = output;
        int start = output.Count;
        for (int i = 0; i < n; i++)
        {
            var ins = list[i];
            ulong at = rip + (ulong)offs[i];
            if (!Prepare(ref ins, at, resolve: true)) return Refuse(ins, "unplaced label");
            if (!enc.TryEncode(ins, at, out uint len, out string? err)) return Refuse(ins, err);
            if ((int)len != offs[i + 1] - offs[i]) return Refuse(ins, "length changed");
        }
        return output.Count - start == off;
    }

    /// <summary>The rel32 form of a branch (JRCXZ and LOOP have none: they keep rel8, and a target out of its reach
    /// fails the second pass), and a label target resolved (or, before layout, the instruction's own address, which
    /// gives the same encoded length).</summary>
    bool Prepare(ref Instruction ins, ulong at, bool resolve)
    {
        if (ins.Op0Kind == OpKind.NearBranch64)
        {
            ins.Code = ins.Code.ToNearBranch();
            ulong t = ins.NearBranch64;
            if (t <= MaxLabelId)
            {
                if (!Target(t, at, resolve, out ulong abs)) return false;
                ins.NearBranch64 = abs;
            }
        }
        else if (ins.IsIPRelativeMemoryOperand)
        {
            ulong t = ins.IPRelativeMemoryAddress;
            if (t <= MaxLabelId)
            {
                if (!Target(t, at, resolve, out ulong abs)) return false;
                ins.MemoryDisplacement64 = abs;
            }
        }
        return true;
    }

    static bool Refuse(in Instruction ins, string? why)
    {
        LastRefusal = $"{ins.Code} {ins}: {why}";
        return false;
    }

    bool Target(ulong id, ulong at, bool resolve, out ulong abs)
    {
        abs = at;
        if (!resolve) return true;
        if (id == 0 || id >= (ulong)labelAt.Length || labelAt[(int)id] < 0) return false;
        abs = baseRip + (ulong)labelAt[(int)id];
        return true;
    }
}
