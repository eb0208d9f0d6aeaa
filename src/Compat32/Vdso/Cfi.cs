using Iced.Intel;

namespace Compat32.Vdso;

/// <summary>i386 DWARF register numbers (System V i386 psABI), as gas's .cfi_* directives name them.</summary>
public static class DwarfReg
{
    public const int Eax = 0, Ecx = 1, Edx = 2, Ebx = 3, Esp = 4, Ebp = 5, Esi = 6, Edi = 7, Eip = 8;
}

/// <summary>Tiny DWARF expression builder for DW_CFA_def_cfa_expression / DW_CFA_expression.</summary>
public static class DwarfExpr
{
    public const byte OpBreg0 = 0x70, OpDeref = 0x06;

    /// <summary>DW_OP_breg(reg) off: the address reg+off.</summary>
    public static byte[] Breg(int reg, int off) => [(byte)(OpBreg0 + reg), .. Leb.S(off)];

    /// <summary>DW_OP_breg(reg) off; DW_OP_deref: the word stored at reg+off.</summary>
    public static byte[] BregDeref(int reg, int off) => [.. Breg(reg, off), OpDeref];
}

internal static class Leb
{
    public static byte[] U(ulong v)
    {
        var r = new List<byte>();
        do { byte b = (byte)(v & 0x7f); v >>= 7; if (v != 0) b |= 0x80; r.Add(b); } while (v != 0);
        return [.. r];
    }

    public static byte[] S(long v)
    {
        var r = new List<byte>();
        while (true)
        {
            byte b = (byte)(v & 0x7f); v >>= 7;
            bool done = (v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0);
            if (!done) b |= 0x80;
            r.Add(b);
            if (done) return [.. r];
        }
    }
}

/// <summary>One FDE in the making: a gas .cfi_startproc/.cfi_endproc region. Positions are Iced instruction
/// indices (resolved to addresses after assembly), so no CFI byte is ever written by hand.</summary>
internal sealed class CfiProc
{
    public bool SignalFrame;
    public int StartIndex, EndIndex = -1;
    /// <summary>FDE starts this many bytes before StartIndex (sigreturn.S's "nop" HACK: unwinders look up pc-1).</summary>
    public int StartBias;
    public readonly List<(int Index, byte[] Ops)> Ops = [];
    // Resolved after assembly (absolute link-time addresses).
    public uint Start, End;
    public readonly List<(uint Addr, byte[] Ops)> Resolved = [];
}

/// <summary>
/// gas-like CFI directive layer over an Iced <see cref="Assembler"/>: each directive applies at the address of
/// the next instruction added, exactly like gas's .cfi_* which take effect at the current location.
/// </summary>
internal sealed class CfiRecorder
{
    private const byte DW_CFA_advance_loc = 0x40, DW_CFA_offset = 0x80, DW_CFA_restore = 0xc0;
    private const byte DW_CFA_offset_extended_sf = 0x11, DW_CFA_def_cfa = 0x0c, DW_CFA_def_cfa_offset = 0x0e;
    private const byte DW_CFA_def_cfa_expression = 0x0f, DW_CFA_expression = 0x10;
    private const byte DW_CFA_remember_state = 0x0a, DW_CFA_restore_state = 0x0b;
    public const int DataAlign = -4;

    private readonly Assembler _a;
    private CfiProc? _cur;
    private int _cfaOffset;
    private readonly Stack<int> _remembered = new();
    public readonly List<CfiProc> Procs = [];

    public CfiRecorder(Assembler a) => _a = a;

    private int Pos => _a.Instructions.Count;
    private CfiProc Cur => _cur ?? throw new InvalidOperationException("CFI directive outside StartProc/EndProc");
    private void Op(params byte[] b) => Cur.Ops.Add((Pos, b));

    /// <summary>.cfi_startproc: CFA = esp+4, return address at CFA-4 (the CIE's initial instructions).</summary>
    public void StartProc(bool signalFrame = false, int startBias = 0)
    {
        if (_cur != null) throw new InvalidOperationException("nested StartProc");
        _cur = new CfiProc { SignalFrame = signalFrame, StartIndex = Pos, StartBias = startBias };
        _cfaOffset = 4;
    }

    public void EndProc()
    {
        Cur.EndIndex = Pos;
        Procs.Add(Cur);
        _cur = null;
    }

    /// <summary>.cfi_adjust_cfa_offset: after a push (+4) or pop (-4).</summary>
    public void AdjustCfaOffset(int delta) { _cfaOffset += delta; Op([DW_CFA_def_cfa_offset, .. Leb.U((ulong)_cfaOffset)]); }

    public void DefCfa(int reg, int offset) { _cfaOffset = offset; Op([DW_CFA_def_cfa, .. Leb.U((ulong)reg), .. Leb.U((ulong)offset)]); }

    /// <summary>.cfi_rel_offset reg, off: reg saved at (CFA register + off), i.e. CFA + off - cfa_offset.</summary>
    public void RelOffset(int reg, int off) => Offset(reg, off - _cfaOffset);

    /// <summary>.cfi_offset reg, off: reg saved at CFA + off.</summary>
    public void Offset(int reg, int cfaRel)
    {
        if (cfaRel % DataAlign != 0) throw new ArgumentException("offset not a multiple of the data alignment");
        long f = cfaRel / DataAlign;
        if (f >= 0 && reg < 64) Op([(byte)(DW_CFA_offset | reg), .. Leb.U((ulong)f)]);
        else Op([DW_CFA_offset_extended_sf, .. Leb.U((ulong)reg), .. Leb.S(f)]);
    }

    /// <summary>.cfi_restore reg: back to the CIE's rule (same value).</summary>
    public void Restore(int reg) => Op((byte)(DW_CFA_restore | reg));

    public void RememberState() { _remembered.Push(_cfaOffset); Op(DW_CFA_remember_state); }
    public void RestoreState() { _cfaOffset = _remembered.Pop(); Op(DW_CFA_restore_state); }

    /// <summary>DW_CFA_def_cfa_expression (what sigreturn.S writes as do_cfa_expr).</summary>
    public void CfaExpression(byte[] expr) => Op([DW_CFA_def_cfa_expression, .. Leb.U((ulong)expr.Length), .. expr]);

    /// <summary>DW_CFA_expression: reg saved at the address the expression yields (sigreturn.S's do_expr).</summary>
    public void OffsetExpression(int reg, byte[] expr) =>
        Op([DW_CFA_expression, .. Leb.U((ulong)reg), .. Leb.U((ulong)expr.Length), .. expr]);

    /// <summary>Resolve instruction indices to addresses once the chunk is assembled.</summary>
    public static void Resolve(CfiProc p, Func<int, uint> addrOfIndex)
    {
        p.Start = (uint)(addrOfIndex(p.StartIndex) - p.StartBias);
        p.End = addrOfIndex(p.EndIndex);
        p.Resolved.Clear();
        // Directives at .cfi_startproc hold from pc_begin, which the bias may move before the first instruction.
        foreach (var (i, ops) in p.Ops) p.Resolved.Add((i == p.StartIndex ? p.Start : addrOfIndex(i), ops));
    }
}

/// <summary>
/// Emits .eh_frame (CIEs + FDEs, DW_CFA_advance_loc from the resolved addresses) and .eh_frame_hdr (sorted
/// binary-search table), the way gas + ld --eh-frame-hdr lay them out.
/// </summary>
internal static class EhFrameWriter
{
    private const byte DW_EH_PE_pcrel_sdata4 = 0x1b, DW_EH_PE_udata4 = 0x03, DW_EH_PE_datarel_sdata4 = 0x3b;

    private static byte[] Cie(bool signal)
    {
        var b = new List<byte>();
        b.AddRange(BitConverter.GetBytes(0));            // length placeholder
        b.AddRange(BitConverter.GetBytes(0));            // CIE id
        b.Add(1);                                        // version
        b.AddRange(System.Text.Encoding.ASCII.GetBytes(signal ? "zRS\0" : "zR\0"));
        b.AddRange(Leb.U(1));                            // code alignment
        b.AddRange(Leb.S(CfiRecorder.DataAlign));        // data alignment
        b.Add(DwarfReg.Eip);                             // return address column
        b.AddRange(Leb.U(1)); b.Add(DW_EH_PE_pcrel_sdata4); // augmentation data: FDE pointer encoding
        if (!signal)
        {
            b.AddRange([0x0c, DwarfReg.Esp, 4]);        // DW_CFA_def_cfa esp+4
            b.AddRange([0x80 | DwarfReg.Eip, 1]);       // DW_CFA_offset eip at cfa-4
        }
        else b.Add(0);                                   // DW_CFA_nop, as sigreturn.S
        while (b.Count % 4 != 0) b.Add(0);
        var arr = b.ToArray();
        BitConverter.GetBytes(arr.Length - 4).CopyTo(arr, 0);
        return arr;
    }

    private static byte[] Program(CfiProc p)
    {
        var b = new List<byte>();
        uint loc = p.Start;
        foreach (var (addr, ops) in p.Resolved)
        {
            if (addr < loc) throw new InvalidOperationException("CFI ops out of order");
            uint d = addr - loc;
            if (d == 0) { }
            else if (d < 0x40) b.Add((byte)(0x40 | d));
            else if (d <= 0xff) { b.Add(0x02); b.Add((byte)d); }
            else if (d <= 0xffff) { b.Add(0x03); b.AddRange(BitConverter.GetBytes((ushort)d)); }
            else { b.Add(0x04); b.AddRange(BitConverter.GetBytes(d)); }
            loc = addr;
            b.AddRange(ops);
        }
        return [.. b];
    }

    /// <summary>Builds .eh_frame for <paramref name="procs"/> placed at <paramref name="ehAddr"/>; returns the
    /// (pc_begin, fde address) pairs for .eh_frame_hdr.</summary>
    public static byte[] Build(IReadOnlyList<CfiProc> procs, uint ehAddr, out List<(uint Pc, uint Fde)> table)
    {
        var o = new List<byte>();
        table = [];
        var cieAt = new Dictionary<bool, int>();
        foreach (var p in procs)
        {
            if (!cieAt.TryGetValue(p.SignalFrame, out int cie))
            {
                cie = o.Count; cieAt[p.SignalFrame] = cie;
                o.AddRange(Cie(p.SignalFrame));
            }
            int fde = o.Count;
            var f = new List<byte>();
            f.AddRange(BitConverter.GetBytes(0));                                   // length placeholder
            f.AddRange(BitConverter.GetBytes(fde + 4 - cie));                       // CIE pointer
            uint pcField = ehAddr + (uint)(fde + 8);
            f.AddRange(BitConverter.GetBytes((int)(p.Start - pcField)));            // pc_begin, pcrel sdata4
            f.AddRange(BitConverter.GetBytes(p.End - p.Start));                     // pc_range
            f.AddRange(Leb.U(0));                                                   // augmentation length
            f.AddRange(Program(p));
            while (f.Count % 4 != 0) f.Add(0);                                      // DW_CFA_nop padding
            var fa = f.ToArray();
            BitConverter.GetBytes(fa.Length - 4).CopyTo(fa, 0);
            o.AddRange(fa);
            table.Add((p.Start, ehAddr + (uint)fde));
        }
        o.AddRange(BitConverter.GetBytes(0)); // zero terminator (crtend-style), harmless for hdr users
        return [.. o];
    }

    /// <summary>Size of the .eh_frame_hdr for n FDEs.</summary>
    public static int HdrSize(int n) => 12 + 8 * n;

    public static byte[] BuildHdr(uint hdrAddr, uint ehAddr, List<(uint Pc, uint Fde)> table)
    {
        var o = new List<byte> { 1, DW_EH_PE_pcrel_sdata4, DW_EH_PE_udata4, DW_EH_PE_datarel_sdata4 };
        o.AddRange(BitConverter.GetBytes((int)(ehAddr - (hdrAddr + 4))));
        o.AddRange(BitConverter.GetBytes(table.Count));
        foreach (var (pc, fde) in table.OrderBy(t => t.Pc))
        {
            o.AddRange(BitConverter.GetBytes((int)(pc - hdrAddr)));
            o.AddRange(BitConverter.GetBytes((int)(fde - hdrAddr)));
        }
        return [.. o];
    }
}
