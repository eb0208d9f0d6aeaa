using System.Buffers.Binary;
using System.Text;

namespace Compat32.Lab;

/// <summary>
/// A small .eh_frame reader and CFA-program interpreter (DWARF 4 §6.4 / LSB .eh_frame), enough for what an
/// unwinder needs inside the vDSO's entry stubs: CFA = register + offset, and where ECX, EDX, EBP and the
/// return address were saved. Expression rules (the sigreturn trampolines) are reported as such.
/// </summary>
public sealed class CfiEval
{
    public sealed record Fde(uint Start, uint End, bool SignalFrame, byte[] CieOps, byte[] Ops, int DataAlign, int CodeAlign);
    /// <summary>The rules at one pc: CFA = reg + off (reg -1 when an expression), saved registers at CFA + offset.</summary>
    public sealed record Row(int CfaReg, int CfaOffset, bool CfaExpr, Dictionary<int, int> SavedAt, HashSet<int> ExprRegs);

    public readonly List<Fde> Fdes = new();

    /// <summary>Parses the image's .eh_frame (found through the section table; the image is linked at 0).</summary>
    public CfiEval(byte[] so)
    {
        uint shoff = U32(so, 32);
        int shnum = U16(so, 48), shstrndx = U16(so, 50);
        uint strOff = U32(so, (int)shoff + 40 * shstrndx + 16);
        for (int i = 0; i < shnum; i++)
        {
            int sh = (int)shoff + 40 * i;
            string name = CStr(so, (int)(strOff + U32(so, sh)));
            if (name != ".eh_frame") continue;
            Parse(so, (int)U32(so, sh + 16), (int)U32(so, sh + 20), U32(so, sh + 12));
        }
    }

    void Parse(byte[] b, int off, int size, uint addr)
    {
        var cies = new Dictionary<int, (byte[] Ops, bool S, int Da, int Ca, bool Aug)>();
        int p = off;
        while (p + 4 <= off + size)
        {
            int len = (int)U32(b, p);
            if (len == 0) break;
            int start = p + 4, end = start + len;
            int id = (int)U32(b, start);
            if (id == 0)
            {
                int q = start + 5;
                string aug = CStr(b, q); q += aug.Length + 1;
                int ca = (int)Uleb(b, ref q), da = (int)Sleb(b, ref q);
                q++; // return address register
                if (aug.StartsWith('z')) { int al = (int)Uleb(b, ref q); q += al; }
                cies[p] = (b[q..end], aug.Contains('S'), da, ca, aug.StartsWith('z'));
            }
            else
            {
                int cie = start - id;
                var c = cies[cie];
                int q = start + 4;
                uint pcBegin = (uint)(addr + (q - off) + BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(q))); // pcrel sdata4
                uint range = U32(b, q + 4);
                q += 8;
                if (c.Aug) { int al = (int)Uleb(b, ref q); q += al; }
                Fdes.Add(new Fde(pcBegin, pcBegin + range, c.S, c.Ops, b[q..end], c.Da, c.Ca));
            }
            p = end;
        }
    }

    public Fde? Find(uint pc) => Fdes.FirstOrDefault(f => pc >= f.Start && pc < f.End);

    /// <summary>The row in effect at <paramref name="pc"/> (image offset), or null without an FDE.</summary>
    public Row? At(uint pc)
    {
        var f = Find(pc);
        if (f == null) return null;
        var row = new Row(4, 4, false, new(), new());
        var init = Run(f.CieOps, f, uint.MaxValue, f.Start, row, null);
        return Run(f.Ops, f, pc, f.Start, init, init);
    }

    static Row Run(byte[] ops, Fde f, uint pc, uint loc, Row row, Row? init)
    {
        int cfaReg = row.CfaReg, cfaOff = row.CfaOffset; bool cfaExpr = row.CfaExpr;
        var saved = new Dictionary<int, int>(row.SavedAt); var expr = new HashSet<int>(row.ExprRegs);
        var stack = new Stack<(int, int, bool, Dictionary<int, int>, HashSet<int>)>();
        int i = 0;
        while (i < ops.Length)
        {
            byte op = ops[i++];
            int hi = op & 0xc0, lo = op & 0x3f;
            if (hi == 0x40) { loc += (uint)(lo * f.CodeAlign); if (loc > pc) break; continue; }
            if (hi == 0x80) { saved[lo] = (int)Uleb(ops, ref i) * f.DataAlign; expr.Remove(lo); continue; }
            if (hi == 0xc0) { if (init != null && init.SavedAt.TryGetValue(lo, out var v)) saved[lo] = v; else saved.Remove(lo); expr.Remove(lo); continue; }
            switch (op)
            {
                case 0x00: break;
                case 0x02: loc += ops[i++] * (uint)f.CodeAlign; if (loc > pc) goto done; break;
                case 0x03: loc += U16(ops, i) * (uint)f.CodeAlign; i += 2; if (loc > pc) goto done; break;
                case 0x04: loc += U32(ops, i) * (uint)f.CodeAlign; i += 4; if (loc > pc) goto done; break;
                case 0x0a: stack.Push((cfaReg, cfaOff, cfaExpr, new(saved), new(expr))); break;
                case 0x0b: (cfaReg, cfaOff, cfaExpr, saved, expr) = stack.Pop(); break;
                case 0x0c: cfaReg = (int)Uleb(ops, ref i); cfaOff = (int)Uleb(ops, ref i); cfaExpr = false; break;
                case 0x0d: cfaReg = (int)Uleb(ops, ref i); break;
                case 0x0e: cfaOff = (int)Uleb(ops, ref i); break;
                case 0x0f: { int n = (int)Uleb(ops, ref i); i += n; cfaExpr = true; break; }
                case 0x10: { int r = (int)Uleb(ops, ref i); int n = (int)Uleb(ops, ref i); i += n; expr.Add(r); saved.Remove(r); break; }
                case 0x11: { int r = (int)Uleb(ops, ref i); saved[r] = (int)Sleb(ops, ref i) * f.DataAlign; break; }
                default: goto done; // not used by any vDSO here
            }
        }
        done:
        return new Row(cfaReg, cfaOff, cfaExpr, saved, expr);
    }

    static uint U32(byte[] b, int o) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(o));
    static ushort U16(byte[] b, int o) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(o));
    static string CStr(byte[] b, int o) { int e = o; while (b[e] != 0) e++; return Encoding.ASCII.GetString(b, o, e - o); }
    static ulong Uleb(byte[] b, ref int i) { ulong r = 0; int s = 0; byte x; do { x = b[i++]; r |= (ulong)(x & 0x7f) << s; s += 7; } while ((x & 0x80) != 0); return r; }
    static long Sleb(byte[] b, ref int i)
    {
        long r = 0; int s = 0; byte x;
        do { x = b[i++]; r |= (long)(x & 0x7f) << s; s += 7; } while ((x & 0x80) != 0);
        if (s < 64 && (x & 0x40) != 0) r |= -1L << s;
        return r;
    }
}
