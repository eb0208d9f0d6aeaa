using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// Lays out and encodes a block's host instructions (what Iced's Assembler collected) with one reused Encoder,
/// instead of Iced's BlockEncoder, which builds an object per instruction: that was about a fifth of a cold
/// start's CPU (python3.11 -S translates ~3800 blocks) and most of its allocation. Branches to labels start short
/// and become rel32 where their target is out of rel8 reach, until the layout stops changing (short branches keep
/// hot loops compact: all-rel32 code ran crc32.c's loop 25% slower); branches to absolute targets (exit stubs) are
/// rel32. Every instruction is measured once, then encoded once at its final address. The Assembler marks the
/// instruction after a label with the label's id as its IP and a branch (or RIP-relative operand) to a label with
/// the id as target; ids are small numbers no real host address can be (mmap_min_addr is 64 KiB). Anything it
/// cannot encode this way (an unplaced label, a target out of reach, a length that changed) returns false and the
/// caller uses the BlockEncoder. COMPAT32_JIT_BLOCKENC=1 always does (for comparisons).
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
        public List<byte>? Out; // null: measure only
        public override void WriteByte(byte value) => Out?.Add(value);
    }

    readonly Sink sink = new();
    readonly Encoder enc;
    int[] labelAt = new int[256];   // label id -> index of the instruction it marks (-1: not placed)
    int[] len = new int[256], off = new int[257], nearLen = new int[256];
    ulong[] label = new ulong[256]; // label an instruction refers to (0: none)
    bool[] isShort = new bool[256];
    /// <summary>The measuring pass's bytes of each instruction whose encoding does not depend on where it lands (no
    /// branch, no RIP-relative operand): the final pass copies them instead of encoding again (a third of a cold
    /// start's encoder time). from[i] = its offset in measured, or -1.</summary>
    readonly List<byte> measured = new(4096);
    int[] from = new int[256];

    /// <summary>After a successful TryAssemble: the rel32 fields whose target lies outside the block (exit stubs,
    /// table slots), with the target; the 64-bit immediates; and whether a rel8 leaves the block (then the code
    /// cannot move). JitCode.MakeTemplate reads these instead of decoding the code again.</summary>
    public readonly List<(int Field, ulong Target)> Outside = new();
    public readonly List<ulong> Imm64 = new();
    public bool ShortOutside;

    public HostAssembler() { enc = Encoder.Create(64, sink); }

    /// <summary>Encode list at rip, appended to output; false (output then holds garbage) if it cannot. Instruction
    /// alignFrom (if in range) starts at a multiple of 8 bytes, INT3 bytes before it: the block's link cells, which
    /// other threads' host code reads while the lock holder rewrites them, each with one aligned 8-byte store.</summary>
    public bool TryAssemble(IReadOnlyList<Instruction> list, ulong rip, List<byte> output, int alignFrom = -1)
    {
        int n = list.Count;
        if (len.Length < n)
        {
            int m = Math.Max(n, len.Length * 2);
            len = new int[m]; off = new int[m + 1]; nearLen = new int[m]; label = new ulong[m]; isShort = new bool[m]; from = new int[m];
        }
        Array.Fill(labelAt, -1);
        Outside.Clear(); Imm64.Clear(); ShortOutside = false;
        measured.Clear();
        // Measure: a label reference stands in as the instruction's own address (same length); a short form where
        // there is one.
        int pos = 0;
        for (int i = 0; i < n; i++)
        {
            var ins = list[i];
            ulong id = ins.IP;
            if (id != 0 && id <= MaxLabelId)
            {
                if ((int)id >= labelAt.Length)
                {
                    int old = labelAt.Length;
                    Array.Resize(ref labelAt, Math.Max((int)id + 1, old * 2));
                    Array.Fill(labelAt, -1, old, labelAt.Length - old);
                }
                labelAt[(int)id] = i;
            }
            ulong at = rip + (ulong)pos;
            label[i] = 0; isShort[i] = false; from[i] = -1;
            sink.Out = null;
            if (ins.Op0Kind == OpKind.NearBranch64)
            {
                ins.Code = ins.Code.ToNearBranch(); // JRCXZ and LOOP have no rel32 form: they keep rel8
                if (ins.NearBranch64 <= MaxLabelId)
                {
                    label[i] = ins.NearBranch64;
                    ins.NearBranch64 = at;
                    if (!enc.TryEncode(ins, at, out uint ln, out string? e1)) return Refuse(ins, e1);
                    nearLen[i] = (int)ln;
                    var sc = ins.Code.ToShortBranch();
                    if (sc != ins.Code)
                    {
                        ins.Code = sc;
                        if (!enc.TryEncode(ins, at, out uint ls, out string? e2)) return Refuse(ins, e2);
                        isShort[i] = true;
                        len[i] = (int)ls;
                    }
                    else len[i] = (int)ln;
                    pos += len[i];
                    continue;
                }
            }
            else if (ins.IsIPRelativeMemoryOperand && ins.IPRelativeMemoryAddress <= MaxLabelId)
            {
                label[i] = ins.IPRelativeMemoryAddress;
                ins.MemoryDisplacement64 = at;
            }
            else if (!ins.IsIPRelativeMemoryOperand)
            {
                from[i] = measured.Count;
                sink.Out = measured;
            }
            if (!enc.TryEncode(ins, at, out uint l, out string? err)) return Refuse(ins, err);
            len[i] = nearLen[i] = (int)l;
            pos += (int)l;
        }
        // Lay out: a short branch whose target is out of rel8 reach becomes rel32, until nothing changes.
        for (bool changed = true; changed;)
        {
            changed = false;
            off[0] = 0;
            for (int i = 0; i < n; i++)
            {
                off[i + 1] = off[i] + len[i];
                if (i + 1 == alignFrom && alignFrom < n) off[i + 1] += (int)((8 - ((rip + (ulong)off[i + 1]) & 7)) & 7);
            }
            for (int i = 0; i < n; i++)
            {
                if (!isShort[i]) continue;
                int t = Target(label[i]);
                if (t < 0) return Refuse(list[i], $"label {label[i]} not placed");
                int d = off[t] - off[i + 1];
                if (d is >= -128 and <= 127) continue;
                isShort[i] = false;
                len[i] = nearLen[i];
                changed = true;
            }
        }
        // Encode at the final addresses (copy what does not depend on them).
        sink.Out = output;
        int start = output.Count;
        var bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(measured);
        for (int i = 0; i < n; i++)
        {
            var ins = list[i];
            while (output.Count - start < off[i]) output.Add(0xCC); // (only before alignFrom)
            if (from[i] >= 0)
            {
                output.AddRange(bytes.Slice(from[i], len[i]));
                for (int k = 0; k < ins.OpCount; k++)
                    if (ins.GetOpKind(k) == OpKind.Immediate64) Imm64.Add(ins.Immediate64);
                continue;
            }
            ulong at = rip + (ulong)off[i];
            bool branch = ins.Op0Kind == OpKind.NearBranch64;
            if (branch) ins.Code = isShort[i] ? ins.Code.ToShortBranch() : ins.Code.ToNearBranch();
            if (label[i] != 0)
            {
                int t = Target(label[i]);
                if (t < 0) return Refuse(ins, $"label {label[i]} not placed");
                if (branch) ins.NearBranch64 = rip + (ulong)off[t];
                else ins.MemoryDisplacement64 = rip + (ulong)off[t];
            }
            if (!enc.TryEncode(ins, at, out uint l, out string? err)) return Refuse(ins, err);
            if ((int)l != len[i]) return Refuse(ins, "length changed");
            if (label[i] == 0)
            {
                if (branch)
                {
                    if (l < 5) ShortOutside = true;
                    else Outside.Add((off[i] + (int)l - 4, ins.NearBranch64));
                }
                else if (ins.IsIPRelativeMemoryOperand)
                    Outside.Add((off[i] + enc.GetConstantOffsets().DisplacementOffset, ins.IPRelativeMemoryAddress));
            }
            for (int k = 0; k < ins.OpCount; k++)
                if (ins.GetOpKind(k) == OpKind.Immediate64) Imm64.Add(ins.Immediate64);
        }
        return output.Count - start == off[n];
    }

    /// <summary>After a successful TryAssemble: the offset of instruction i from the block's start.</summary>
    public int OffsetOf(int i) => off[i];

    /// <summary>After a successful TryAssemble: the offset of the instruction a label marks, or -1.</summary>
    public int OffsetOfLabel(ulong id) => Target(id) is int t and >= 0 ? off[t] : -1;

    int Target(ulong id) => id < (ulong)labelAt.Length ? labelAt[(int)id] : -1;

    static bool Refuse(in Instruction ins, string? why)
    {
        LastRefusal = $"{ins.Code} {ins}: {why}";
        return false;
    }
}
