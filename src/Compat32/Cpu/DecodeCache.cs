using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>A straight-line run of decoded instructions ending at a control transfer or a page edge.</summary>
public sealed class Block
{
    public uint Start, End;
    public Instruction[] Insns = Array.Empty<Instruction>();
    /// <summary>Precomputed operand information, one per instruction (Processor.BuildUop).</summary>
    public Uop[] Uops = Array.Empty<Uop>();
    public int Count;
    public bool Valid = true;
    /// <summary>Host code of the translated form (Jit), 0 if none; NoJit: its head is not worth translating.</summary>
    public nint Native;
    public bool NoJit;
    public int Hits;
}

/// <summary>
/// Decoded blocks by start address. Each instruction is decoded once; a write to a page holding decoded
/// code (the page's CodeBit) drops every block on that page, so self-modifying code works.
/// </summary>
public sealed class DecodeCache
{
    const int MaxInsns = 64;
    const int L1Size = 4096;
    readonly Processor cpu;
    readonly Dictionary<uint, Block> blocks = new();
    readonly Dictionary<uint, List<Block>> byPage = new();
    readonly Block?[] l1 = new Block?[L1Size];
    readonly GuestCodeReader reader;
    readonly Decoder decoder;

    public long Decoded, Invalidations;

    public DecodeCache(Processor cpu)
    {
        this.cpu = cpu;
        reader = new GuestCodeReader(cpu);
        decoder = Decoder.Create(32, reader, DecoderOptions.None);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public Block? Get(uint eip)
    {
        int h = (int)((eip ^ (eip >> 12)) & (L1Size - 1));
        var b = l1[h];
        if (b != null && b.Start == eip && b.Valid) return b;
        return GetSlow(eip, h);
    }

    Block? GetSlow(uint eip, int h)
    {
        if (!blocks.TryGetValue(eip, out var b))
        {
            b = DecodeBlock(eip);
            if (b == null) return null;
        }
        l1[h] = b;
        return b;
    }

    Block? DecodeBlock(uint eip)
    {
        var list = new List<Instruction>(16);
        uint ip = eip;
        while (list.Count < MaxInsns)
        {
            reader.Reset(ip);
            decoder.IP = ip;
            decoder.Decode(out var ins);
            if (reader.Fault)
            {
                if (list.Count > 0) break; // end the block before the unfetchable instruction
                cpu.FetchFault(reader.FaultAddr);
                return null;
            }
            list.Add(ins);
            ip = (uint)ins.NextIP;
            if (ins.FlowControl != FlowControl.Next || ins.IsInvalid) break;
            // Stop at page edges so a block never outlives a remapping of the next page.
            if ((ip & 0xFFF) < 16 && ((ip - 1) >> 12) != (eip >> 12)) break;
        }
        var insns = list.ToArray();
        var uops = new Uop[insns.Length];
        for (int i = 0; i < insns.Length; i++) uops[i] = Processor.BuildUop(insns[i]);
        var b = new Block { Start = eip, End = ip, Insns = insns, Uops = uops, Count = list.Count };
        blocks[eip] = b;
        uint lastPage = (ip - 1) >> 12;
        for (uint p = eip >> 12; ; p++)
        {
            if (!byPage.TryGetValue(p, out var l)) byPage[p] = l = new List<Block>();
            l.Add(b);
            cpu.MarkCodePage(p);
            if (p == lastPage) break;
        }
        Decoded += b.Count;
        return b;
    }

    public void InvalidatePage(uint page)
    {
        if (!byPage.Remove(page, out var l)) return;
        foreach (var b in l)
        {
            b.Valid = false;
            cpu.Jit?.Unlink(b);
            blocks.Remove(b.Start);
        }
        Invalidations++;
        cpu.RequestStop();
    }

    /// <summary>The translator dropped its code: no block has host code any more.</summary>
    public void ForgetNative()
    {
        foreach (var b in blocks.Values) { b.Native = 0; b.NoJit = false; b.Hits = 0; }
    }

    public void Clear()
    {
        foreach (var b in blocks.Values) { b.Valid = false; cpu.Jit?.Unlink(b); }
        blocks.Clear();
        byPage.Clear();
        Array.Clear(l1);
    }

    /// <summary>Feeds Iced from guest memory, stopping (not throwing) at an unfetchable byte.</summary>
    sealed class GuestCodeReader : CodeReader
    {
        readonly Processor cpu;
        uint ip;
        int count;
        public bool Fault;
        public uint FaultAddr;
        public GuestCodeReader(Processor cpu) { this.cpu = cpu; }
        public void Reset(uint at) { ip = at; count = 0; Fault = false; }
        public override int ReadByte()
        {
            if (count >= 15) return -1;
            if (!cpu.CanFetch(ip)) { if (!Fault) { Fault = true; FaultAddr = ip; } return -1; }
            count++;
            return cpu.FetchByte(ip++);
        }
    }
}
