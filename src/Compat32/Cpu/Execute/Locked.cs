using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Compat32.Memory;
using Iced.Intel;

namespace Compat32.Cpu;

/// <summary>
/// Locked read-modify-writes (SDM vol. 3 8.1.2): the LOCK-prefixed ADD ADC AND BTC BTR BTS CMPXCHG CMPXCHG8B DEC
/// INC NEG NOT OR SBB SUB XOR XADD, and XCHG with a memory operand (locked whether or not it has the prefix).
/// Guest threads of one process run truly concurrently on one AddressSpace, so each of these is a
/// compare-exchange loop on the host memory: the value read, the result computed, and the result stored only if
/// the memory still holds the value read. Faults are raised before anything is written, as for the unlocked forms
/// (read permission first, then write, the order the interpreter's plain read-then-write reports them).
/// </summary>
public sealed unsafe partial class Processor
{
    enum LockOp : byte { Add, Or, Adc, Sbb, And, Sub, Xor, Inc, Dec, Neg, Not, Bts, Btr, Btc, Xchg, Xadd }

    static readonly bool HostX64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>A LOCK-prefixed instruction; false when it is not a locked memory form we know (the plain path
    /// then runs it; Iced already decodes LOCK on a non-lockable form as invalid, #UD).</summary>
    bool ExecLocked(in Instruction ins)
    {
        if (ins.Op0Kind != OpKind.Memory) return false;
        var mn = ins.Mnemonic;
        switch (mn)
        {
            case Mnemonic.Add: case Mnemonic.Or: case Mnemonic.Adc: case Mnemonic.Sbb:
            case Mnemonic.And: case Mnemonic.Sub: case Mnemonic.Xor:
            {
                int sz = ins.MemorySize.GetSize();
                uint m = MaskOf(sz);
                uint b = (ins.Op1Kind == OpKind.Register ? GetReg(ins.Op1Register) : (uint)ins.GetImmediate(1)) & m;
                uint cin = mn is Mnemonic.Adc or Mnemonic.Sbb && S.Flags.CFv ? 1u : 0u;
                var op = mn switch
                {
                    Mnemonic.Add => LockOp.Add, Mnemonic.Or => LockOp.Or, Mnemonic.Adc => LockOp.Adc, Mnemonic.Sbb => LockOp.Sbb,
                    Mnemonic.And => LockOp.And, Mnemonic.Sub => LockOp.Sub, _ => LockOp.Xor,
                };
                uint a = LockedRmw(EffectiveAddress(ins), sz, op, b, cin, out uint r);
                if (Faulted) return true;
                var cc = op switch
                {
                    LockOp.Add => CcOp.Add, LockOp.Adc => CcOp.Adc, LockOp.Sbb => CcOp.Sbb, LockOp.Sub => CcOp.Sub, _ => CcOp.Logic,
                };
                var f = S.Flags;
                f.CarryIn = cin;
                f.SetLazy(cc, sz, r, a, b);
                return true;
            }
            case Mnemonic.Inc: case Mnemonic.Dec:
            {
                int sz = ins.MemorySize.GetSize();
                bool inc = mn == Mnemonic.Inc;
                uint a = LockedRmw(EffectiveAddress(ins), sz, inc ? LockOp.Inc : LockOp.Dec, 1, 0, out uint r);
                if (Faulted) return true;
                var f = S.Flags;
                f.KeepCarry(); // INC/DEC leave CF alone
                f.SetLazy(inc ? CcOp.Inc : CcOp.Dec, sz, r, a, 1);
                return true;
            }
            case Mnemonic.Neg:
            {
                int sz = ins.MemorySize.GetSize();
                uint a = LockedRmw(EffectiveAddress(ins), sz, LockOp.Neg, 0, 0, out _);
                if (!Faulted) S.Flags.SetLazy(CcOp.Sub, sz, 0 - a, 0, a);
                return true;
            }
            case Mnemonic.Not:
                LockedRmw(EffectiveAddress(ins), ins.MemorySize.GetSize(), LockOp.Not, 0, 0, out _);
                return true;
            case Mnemonic.Bts: case Mnemonic.Btr: case Mnemonic.Btc:
            {
                int sz = ins.MemorySize.GetSize();
                int bits = sz * 8;
                uint addr = EffectiveAddress(ins);
                int bit;
                if (ins.Op1Kind == OpKind.Register)
                {
                    // A register bit offset addresses memory beyond the operand (signed, SDM BT).
                    uint offset = GetReg(ins.Op1Register);
                    int off = sz == 4 ? (int)offset : (short)offset;
                    addr = BitOperandAddress(ins, addr, (off >> (sz == 4 ? 5 : 4)) * sz);
                    bit = off & (bits - 1);
                }
                else bit = (int)((uint)ins.GetImmediate(1) & (uint)(bits - 1));
                var op = mn == Mnemonic.Bts ? LockOp.Bts : mn == Mnemonic.Btr ? LockOp.Btr : LockOp.Btc;
                uint v = LockedRmw(addr, sz, op, 1u << bit, 0, out _);
                if (!Faulted) S.Flags.SetBit(Flags.CF, ((v >> bit) & 1) != 0);
                return true;
            }
            case Mnemonic.Xchg: ExecXchg(ins); return true;
            case Mnemonic.Xadd:
            {
                int sz = ins.MemorySize.GetSize();
                uint m = MaskOf(sz);
                uint src = GetReg(ins.Op1Register) & m;
                uint d = LockedRmw(EffectiveAddress(ins), sz, LockOp.Xadd, src, 0, out uint res);
                if (Faulted) return true;
                SetReg(ins.Op1Register, d);
                S.Flags.SetLazy(CcOp.Add, sz, res, d, src);
                return true;
            }
            case Mnemonic.Cmpxchg:
            {
                int sz = ins.MemorySize.GetSize();
                uint m = MaskOf(sz);
                uint acc = S.R[0] & m;
                uint addr = EffectiveAddress(ins);
                if (!LockedProbe(addr, sz)) return true;
                // A failed compare stores nothing here; hardware writes the old value back, which no one can see.
                uint d = (uint)Cas(addr, sz, acc, GetReg(ins.Op1Register) & m);
                AfterLockedStore(addr, sz);
                if (acc != d) SetReg(sz == 1 ? Register.AL : sz == 2 ? Register.AX : Register.EAX, d);
                S.Flags.SetLazy(CcOp.Sub, sz, (acc - d) & m, acc, d);
                return true;
            }
            case Mnemonic.Cmpxchg8b:
            {
                uint addr = EffectiveAddress(ins);
                if (!LockedProbe(addr, 8)) return true;
                ulong edxeax = ((ulong)S.R[2] << 32) | S.R[0];
                ulong d = Cas(addr, 8, edxeax, ((ulong)S.R[1] << 32) | S.R[3]);
                AfterLockedStore(addr, 8);
                if (d != edxeax) { S.R[0] = (uint)d; S.R[2] = (uint)(d >> 32); }
                S.Flags.SetBit(Flags.ZF, d == edxeax);
                return true;
            }
        }
        return false;
    }

    /// <summary>XCHG with memory: locked whether or not it has the prefix (SDM XCHG).</summary>
    void XchgMemory(in Instruction ins, Register reg, int sz)
    {
        uint v = LockedRmw(EffectiveAddress(ins), sz, LockOp.Xchg, GetReg(reg), 0, out _);
        if (!Faulted) SetReg(reg, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint Apply(LockOp op, uint a, uint b, uint cin) => op switch
    {
        LockOp.Add or LockOp.Xadd => a + b,
        LockOp.Or => a | b,
        LockOp.Adc => a + b + cin,
        LockOp.Sbb => a - b - cin,
        LockOp.And => a & b,
        LockOp.Sub => a - b,
        LockOp.Xor or LockOp.Btc => a ^ b,
        LockOp.Inc => a + 1,
        LockOp.Dec => a - 1,
        LockOp.Neg => 0 - a,
        LockOp.Not => ~a,
        LockOp.Bts => a | b,
        LockOp.Btr => a & ~b,
        _ => b, // Xchg
    };

    /// <summary>Atomically replace the size-byte value v at a with Apply(op, v, b, cin); returns v (result in r).</summary>
    uint LockedRmw(uint a, int size, LockOp op, uint b, uint cin, out uint r)
    {
        r = 0;
        if (!LockedProbe(a, size)) return 0;
        uint m = MaskOf(size);
        // A plain (possibly torn) first read: the compare-exchange only succeeds on the value really there.
        uint old = size == 4 ? Unsafe.ReadUnaligned<uint>(mb + a) : size == 2 ? Unsafe.ReadUnaligned<ushort>(mb + a) : mb[a];
        while (true)
        {
            r = Apply(op, old, b, cin) & m;
            uint found = (uint)Cas(a, size, old, r);
            if (found == old) break;
            old = found;
        }
        AfterLockedStore(a, size);
        return old;
    }

    /// <summary>The locked access's fault checks: readable, then writable.</summary>
    bool LockedProbe(uint a, int size) => ProbeRead(a, size) && ProbeWrite(a, size);

    /// <summary>SMC: decoded code on the target page is dropped after the store, as for any store into code.</summary>
    void AfterLockedStore(uint a, int size)
    {
        if (((perm[a >> 12] | perm[(a + (uint)size - 1) >> 12]) & AddressSpace.CodeBit) != 0) Mem.NoteWrite(a, (uint)size);
    }

    /// <summary>
    /// Compare-exchange of the size-byte little-endian value at guest address a (checked accessible): stores
    /// desired if the memory holds expected; returns what it held. Naturally aligned: the host's own CAS of that
    /// size. Misaligned inside an aligned quadword: a CAS of the quadword (atomic on every host). Misaligned
    /// across quadwords but inside a 64-byte line on an x86-64 host: the host's LOCK CMPXCHG, which is atomic at
    /// any alignment (SDM vol. 3 8.1.2.2). Across a line (or a page): a split lock, which hardware makes atomic by
    /// asserting the bus lock; here the address space's BusLock, so split locked accesses exclude one another
    /// (not aligned locked accesses to the same bytes; Linux treats a split lock as a bug it may kill for).
    /// The translator leaves line-crossing locked forms to the interpreter, so both take the same path.
    /// </summary>
    ulong Cas(uint a, int size, ulong expected, ulong desired)
    {
        byte* p = mb + a;
        if (size == 1) return Interlocked.CompareExchange(ref *p, (byte)desired, (byte)expected);
        if ((a & (uint)(size - 1)) == 0)
        {
            return size switch
            {
                2 => Interlocked.CompareExchange(ref *(ushort*)p, (ushort)desired, (ushort)expected),
                4 => Interlocked.CompareExchange(ref *(uint*)p, (uint)desired, (uint)expected),
                _ => Interlocked.CompareExchange(ref *(ulong*)p, desired, expected),
            };
        }
        int sh = (int)(a & 7);
        if (sh + size <= 8)
        {
            ulong* q = (ulong*)(p - sh);
            int bitsh = sh * 8;
            ulong mask = ((1UL << (size * 8)) - 1) << bitsh; // size < 8 here
            while (true)
            {
                ulong cur = Volatile.Read(ref *q);
                ulong found = (cur & mask) >> bitsh;
                if (found != expected) return found;
                ulong next = (cur & ~mask) | (desired << bitsh);
                if (Interlocked.CompareExchange(ref *q, next, cur) == cur) return expected;
            }
        }
        if (HostX64 && (a & 63) + (uint)size <= 64)
        {
            return size switch
            {
                2 => Interlocked.CompareExchange(ref *(ushort*)p, (ushort)desired, (ushort)expected),
                4 => Interlocked.CompareExchange(ref *(uint*)p, (uint)desired, (uint)expected),
                _ => Interlocked.CompareExchange(ref *(ulong*)p, desired, expected),
            };
        }
        lock (Space.BusLock)
        {
            ulong cur = 0;
            for (int i = 0; i < size; i++) cur |= (ulong)mb[(uint)(a + i)] << (8 * i);
            if (cur == expected)
                for (int i = 0; i < size; i++) mb[(uint)(a + i)] = (byte)(desired >> (8 * i));
            return cur;
        }
    }
}
