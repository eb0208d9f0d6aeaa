using System.Buffers.Binary;

namespace Compat32.Cpu.X87;

/// <summary>
/// x87 FPU register state. Regs are physical registers R0..R7; ST(i) is Regs[(Top + i) &amp; 7].
/// Status includes TOP (bits 11-13); emptiness is kept as a bit mask and the full tag word is derived.
/// </summary>
public sealed class X87State
{
    public ushort Control = 0x037F;
    public ushort Status;
    /// <summary>Bit i set: physical register i is empty (tag 11).</summary>
    public byte Empty = 0xFF;
    public Float80[] Regs = new Float80[8];
    /// <summary>Last non-control instruction: offset, CS, 11-bit opcode; last memory operand: offset, selector.</summary>
    public uint Fip, Fdp;
    public ushort Fcs, Fds, Fop;

    public int Top
    {
        get => (Status >> 11) & 7;
        set => Status = (ushort)((Status & ~0x3800) | ((value & 7) << 11));
    }

    public int Phys(int i) => (Top + i) & 7;
    public bool IsEmpty(int i) => ((Empty >> Phys(i)) & 1) != 0;
    public Float80 St(int i) => Regs[Phys(i)];
    public void SetSt(int i, Float80 v) { int p = Phys(i); Regs[p] = v; Empty &= (byte)~(1 << p); }
    public void Push(Float80 v) { Top = Top - 1; SetSt(0, v); }
    /// <summary>ST(to) := ST(from), value and emptiness as they are.</summary>
    public void CopySt(int from, int to)
    {
        int pf = Phys(from), pt = Phys(to);
        Regs[pt] = Regs[pf];
        Empty = (byte)((Empty & ~(1 << pt)) | (((Empty >> pf) & 1) << pt));
    }
    public void Pop() { Empty |= (byte)(1 << Top); Top = Top + 1; }

    /// <summary>Full tag word (SDM 8.1.7): 00 valid, 01 zero, 10 special, 11 empty, per physical register.</summary>
    public ushort Tag
    {
        get
        {
            int t = 0;
            for (int p = 0; p < 8; p++)
            {
                int k;
                if (((Empty >> p) & 1) != 0) k = 3;
                else
                {
                    var v = Regs[p];
                    if (v.IsZero) k = 1;
                    else if (v.Exp == 0 || v.Exp == 0x7FFF || (v.Signif & Float80.IntBit) == 0) k = 2;
                    else k = 0;
                }
                t |= k << (2 * p);
            }
            return (ushort)t;
        }
        set
        {
            // Only "empty" is honoured on load; other tags are recomputed from contents (SDM FLDENV).
            int e = 0;
            for (int p = 0; p < 8; p++) if (((value >> (2 * p)) & 3) == 3) e |= 1 << p;
            Empty = (byte)e;
        }
    }

    /// <summary>What a load of the control word keeps: bits 13-15 and 7 read as 0, bit 6 as 1 (measured on the
    /// host CPU: FLDCW, FLDENV and FXRSTOR of 0xFFFF read back 0x1F7F).</summary>
    public static ushort LoadableControl(uint v) => (ushort)((v & 0x1F3F) | 0x40);

    /// <summary>FNINIT state (SDM Table 8-7... FINIT): CW 037F, SW 0, all empty, pointers cleared.</summary>
    public void Reset()
    {
        Control = 0x037F; Status = 0; Empty = 0xFF;
        Fip = Fdp = 0; Fcs = Fds = Fop = 0;
    }

    /// <summary>ES/B follow from status flags the control word leaves unmasked.</summary>
    public void UpdateSummary()
    {
        if ((Status & ~Control & 0x3F) != 0) Status |= 0x8080;
        else Status &= 0x7F7F;
    }

    public X87State Clone()
    {
        var c = (X87State)MemberwiseClone();
        c.Regs = (Float80[])Regs.Clone();
        return c;
    }

    // ---------------- memory images (32-bit protected mode formats) ----------------

    /// <summary>FNSTENV image, 28 bytes; reserved upper halves read back as 1s, as the hardware stores them.</summary>
    public void SaveEnv(Span<byte> d)
    {
        W32(d, 0, 0xFFFF0000u | Control);
        W32(d, 4, 0xFFFF0000u | Status);
        W32(d, 8, 0xFFFF0000u | Tag);
        W32(d, 12, Fip);
        W32(d, 16, Fcs | (uint)(Fop & 0x7FF) << 16);
        W32(d, 20, Fdp);
        W32(d, 24, 0xFFFF0000u | Fds);
    }

    public void LoadEnv(ReadOnlySpan<byte> s)
    {
        Control = LoadableControl(R32(s, 0));
        Status = (ushort)R32(s, 4);
        Tag = (ushort)R32(s, 8);
        Fip = R32(s, 12);
        uint cs = R32(s, 16);
        Fcs = (ushort)cs; Fop = (ushort)((cs >> 16) & 0x7FF);
        Fdp = R32(s, 20);
        Fds = (ushort)R32(s, 24);
        UpdateSummary();
    }

    /// <summary>FNSTENV with a 16-bit operand size in protected mode, 14 bytes (SDM vol. 1 figure 8-10): FCW, FSW,
    /// FTW, FPU IP offset (16 bits), FPU CS, operand pointer offset (16 bits), FPU DS. No opcode in this format.</summary>
    public void SaveEnv16(Span<byte> d)
    {
        W16(d, 0, Control); W16(d, 2, Status); W16(d, 4, Tag);
        W16(d, 6, (ushort)Fip); W16(d, 8, Fcs); W16(d, 10, (ushort)Fdp); W16(d, 12, Fds);
    }

    /// <summary>FLDENV with a 16-bit operand size: the 14-byte image; the pointer offsets are 16 bits wide.</summary>
    public void LoadEnv16(ReadOnlySpan<byte> s)
    {
        Control = R16(s, 0); Status = R16(s, 2); Tag = R16(s, 4);
        Fip = R16(s, 6); Fcs = R16(s, 8); Fdp = R16(s, 10); Fds = R16(s, 12);
        UpdateSummary();
    }

    /// <summary>FNSAVE image, 108 bytes (94 with a 16-bit operand size): environment then ST(0)..ST(7), 10 bytes each.</summary>
    public void SaveFull16(Span<byte> d)
    {
        SaveEnv16(d);
        for (int i = 0; i < 8; i++) Put80(d.Slice(14 + 10 * i), St(i));
    }

    public void LoadFull16(ReadOnlySpan<byte> s)
    {
        LoadEnv16(s);
        for (int i = 0; i < 8; i++) Regs[Phys(i)] = Get80(s.Slice(14 + 10 * i));
    }

    /// <summary>FNSAVE image, 108 bytes: environment then ST(0)..ST(7), 10 bytes each.</summary>
    public void SaveFull(Span<byte> d)
    {
        SaveEnv(d);
        for (int i = 0; i < 8; i++) Put80(d.Slice(28 + 10 * i), St(i));
    }

    public void LoadFull(ReadOnlySpan<byte> s)
    {
        LoadEnv(s);
        for (int i = 0; i < 8; i++) Regs[Phys(i)] = Get80(s.Slice(28 + 10 * i));
    }

    /// <summary>FXSAVE image, x87 part (MXCSR and XMM are Simd.FxArea's).</summary>
    public void FxSave(Span<byte> d)
    {
        W16(d, 0, Control);
        W16(d, 2, Status);
        d[4] = (byte)~Empty; // abridged tag: 1 = valid
        d[5] = 0;
        W16(d, 6, (ushort)(Fop & 0x7FF));
        W32(d, 8, Fip);
        W16(d, 12, Fcs); W16(d, 14, 0);
        W32(d, 16, Fdp);
        W16(d, 20, Fds); W16(d, 22, 0);
        for (int i = 0; i < 8; i++)
        {
            var r = d.Slice(32 + 16 * i, 16);
            Put80(r, St(i));
            r.Slice(10).Clear();
        }
    }

    public void FxRestore(ReadOnlySpan<byte> s)
    {
        Control = LoadableControl(R16(s, 0));
        Status = R16(s, 2);
        Empty = (byte)~s[4];
        Fop = (ushort)(R16(s, 6) & 0x7FF);
        Fip = R32(s, 8); Fcs = R16(s, 12);
        Fdp = R32(s, 16); Fds = R16(s, 20);
        for (int i = 0; i < 8; i++) Regs[Phys(i)] = Get80(s.Slice(32 + 16 * i));
        UpdateSummary();
    }

    // Whole little-endian words, not a byte at a time: translated code's entries convert the state to an FNSAVE
    // image whenever the space has x87 blocks (3% of cc1's run was these loops).
    internal static void Put80(Span<byte> d, Float80 v)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(d, v.Signif);
        BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(8), v.SignExp);
    }

    internal static Float80 Get80(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(8)), BinaryPrimitives.ReadUInt64LittleEndian(s));

    static void W16(Span<byte> d, int o, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(d.Slice(o), v);
    static void W32(Span<byte> d, int o, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(d.Slice(o), v);
    static ushort R16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(o));
    static uint R32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(o));
}
