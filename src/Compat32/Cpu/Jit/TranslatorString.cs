using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Cpu;

/// <summary>
/// String instructions in host code (the interpreter's Execute/String.cs is the definition; SDM vol. 2, MOVS/STOS/
/// LODS/CMPS/SCAS and REP/REPE/REPNE). Only the flat case: 32-bit addresses (ESI/EDI/ECX), a source segment with
/// base 0 (DS or SS), ES with base 0, DF = 0; anything else leaves for the interpreter at the instruction. A REP runs
/// as a host loop of chunks: each takes the elements that stay on the source's and the destination's current page
/// (an element that crosses a page is a chunk of its own), checks those pages as every translated access is checked
/// (readable; writable and holding no decoded code), and runs the host's own REP instruction on [r14+ESI]/[r14+EDI],
/// whose result is the element-by-element one even for overlapping operands (SDM vol. 1 7.3.9.3). ESI/EDI/ECX are
/// written back 32-bit after each chunk, so a failing check leaves at the instruction with the completed elements
/// done and the interpreter resumes it precisely (a #PF on the exact element, a store into code through its SMC
/// path). Between chunks the loop leaves, at the instruction, when another thread asks for a stop or this entry's
/// chunks (Jit.StrChunksPerEntry) are spent: a REP is interruptible between iterations. CLD/STD set the guest's DF
/// in the state block (Jit.OffDf). MOVS/STOS/LODS change no arithmetic flag; the loop's own arithmetic clobbers host
/// RFLAGS, so the guest's are stored first (CMPS/SCAS: see RepCompare).
/// </summary>
internal sealed partial class Translator
{
    /// <summary>Exits of a REP between chunks (stop request, chunks spent): at the instruction, to the dispatcher.</summary>
    readonly List<(Label label, uint eip, int index)> stops = new();

    enum Str : byte { None, Movs, Stos, Lods, Cmps, Scas }

    static (Str kind, int size) StrOf(Code c) => c switch
    {
        Code.Movsb_m8_m8 => (Str.Movs, 1), Code.Movsw_m16_m16 => (Str.Movs, 2), Code.Movsd_m32_m32 => (Str.Movs, 4),
        Code.Stosb_m8_AL => (Str.Stos, 1), Code.Stosw_m16_AX => (Str.Stos, 2), Code.Stosd_m32_EAX => (Str.Stos, 4),
        Code.Lodsb_AL_m8 => (Str.Lods, 1), Code.Lodsw_AX_m16 => (Str.Lods, 2), Code.Lodsd_EAX_m32 => (Str.Lods, 4),
        Code.Cmpsb_m8_m8 => (Str.Cmps, 1), Code.Cmpsw_m16_m16 => (Str.Cmps, 2), Code.Cmpsd_m32_m32 => (Str.Cmps, 4),
        Code.Scasb_AL_m8 => (Str.Scas, 1), Code.Scasw_AX_m16 => (Str.Scas, 2), Code.Scasd_EAX_m32 => (Str.Scas, 4),
        _ => (Str.None, 0),
    };

    static bool DfOnly(in Instruction ins) => ins.Code is Code.Cld or Code.Std;

    static bool StringOrDf(in Instruction ins) => DfOnly(ins) || StrOf(ins.Code).kind != Str.None;

    static bool HasKind(in Instruction ins, OpKind k) => ins.Op0Kind == k || ins.Op1Kind == k;

    static K ClassifyString(in Instruction ins)
    {
        if (ins.HasLockPrefix) return K.None; // #UD: the interpreter's
        if (ins.HasRepePrefix && ins.HasRepnePrefix) return K.None; // both F2 and F3: as the interpreter reads them
        if (DfOnly(ins)) return K.Str;
        var (kind, _) = StrOf(ins.Code);
        bool src = kind is Str.Movs or Str.Lods or Str.Cmps, dst = kind is not Str.Lods;
        // A 67 prefix makes the operands SI/DI/CX (MemorySegSI, MemoryESDI): the interpreter's.
        if (src && !HasKind(ins, OpKind.MemorySegESI)) return K.None;
        if (dst && !HasKind(ins, OpKind.MemoryESEDI)) return K.None;
        // DS and SS have base 0 whenever host code runs (Address adds only ES/FS/GS); an FS/GS/ES override is left alone.
        if (src && ins.MemorySegment is not (Register.DS or Register.SS)) return K.None;
        // REPE/REPNE CMPS/SCAS keep their flags with LAHF (RepCompare): hosts without it in 64-bit mode leave them.
        if (kind is Str.Cmps or Str.Scas && (ins.HasRepePrefix || ins.HasRepnePrefix) && !SahfInLongMode) return K.None;
        return K.Str;
    }

    void EmitString(in Instruction ins, int i)
    {
        // CLD/STD touch no arithmetic flag: a byte store leaves host RFLAGS (and loc) as they are.
        if (ins.Code == Code.Cld) { a.mov(__byte_ptr[r13 + Jit.OffDf], 0); return; }
        if (ins.Code == Code.Std) { a.mov(__byte_ptr[r13 + Jit.OffDf], 1); return; }
        var (kind, sz) = StrOf(ins.Code);
        bool src = kind is Str.Movs or Str.Lods or Str.Cmps, dst = kind is not Str.Lods;
        SaveIfDirty();
        var slowL = SlowLabelAt(i);
        // DF = 1 (backward; rare: memmove's overlapping case) and a nonzero ES base: the interpreter's.
        a.cmp(__byte_ptr[r13 + Jit.OffDf], 0);
        a.jne(slowL);
        if (dst) { a.cmp(__dword_ptr[r13 + Jit.OffSegES], 0); a.jne(slowL); }
        // REPNE acts as REP on MOVS/STOS/LODS (SDM vol. 2 REP: only CMPS/SCAS test ZF).
        if (!(ins.HasRepePrefix || ins.HasRepnePrefix)) { StringElement(kind, sz, i); return; }
        if (kind is Str.Cmps or Str.Scas) { RepCompare(kind, sz, ins.HasRepnePrefix, ins, i, slowL); return; }

        var done = a.CreateLabel(); var top = a.CreateLabel(); var first = a.CreateLabel();
        var stop = a.CreateLabel();
        stops.Add((stop, (uint)ins.IP, i));
        a.test(ecx, ecx);
        a.jz(done);
        a.jmp(first); // the first chunk always runs: every entry makes progress
        a.Label(ref top);
        a.test(ecx, ecx);
        a.jz(done);
        LeaveIfStopped(stop);
        a.cmp(__dword_ptr[r13 + Jit.OffStrChunks], 0);
        a.jle(stop);
        a.Label(ref first);
        if (src) ElementPagesOk(esi, rsi, sz, false, slowL);
        if (dst) ElementPagesOk(edi, rdi, sz, true, slowL);
        // r9d = elements in this chunk: ECX, at most what fits on each page, at least 1 (an element across a page).
        a.mov(r9d, ecx);
        if (src) RoomOnPage(esi, sz);
        if (dst) RoomOnPage(edi, sz);
        a.mov(r8d, 1);
        a.test(r9d, r9d);
        a.cmovz(r9d, r8d);
        a.mov(r10d, ecx);
        a.sub(r10d, r9d); // ECX after the chunk
        a.mov(ecx, r9d);
        if (src) { a.mov(esi, esi); a.add(rsi, r14); }
        if (dst) { a.mov(edi, edi); a.add(rdi, r14); }
        a.AddInstruction(HostRep(kind, sz));
        // back to 32-bit guest addresses (a chunk ending at 4 GiB wraps to 0)
        if (src) { a.sub(rsi, r14); a.mov(esi, esi); }
        if (dst) { a.sub(rdi, r14); a.mov(edi, edi); }
        a.mov(ecx, r10d);
        a.dec(__dword_ptr[r13 + Jit.OffStrChunks]);
        a.jmp(top);
        a.Label(ref done);
    }

    /// <summary>Leave for fail unless the pages of the element at reg's address allow the access; an element that
    /// wraps at 4 GiB is the interpreter's too.</summary>
    void ElementPagesOk(AssemblerRegister32 reg, AssemblerRegister64 reg64, int sz, bool write, Label fail)
    {
        a.mov(r9d, reg);
        PageOk(write, fail);
        if (sz == 1) return;
        a.cmp(reg, -(sz - 1));
        a.jae(fail);
        a.lea(r9d, __[reg64 + (sz - 1)]);
        PageOk(write, fail);
    }

    /// <summary>r9d = min(r9d, whole elements from reg's address to the end of its page).</summary>
    void RoomOnPage(AssemblerRegister32 reg, int sz)
    {
        a.mov(r8d, reg);
        a.and(r8d, 0xFFF);
        a.neg(r8d);
        a.add(r8d, 0x1000);
        if (sz > 1) a.shr(r8d, (byte)(sz == 2 ? 1 : 2));
        a.cmp(r8d, r9d);
        a.cmovb(r9d, r8d);
    }

    static Instruction HostRep(Str kind, int sz) => (kind, sz) switch
    {
        (Str.Movs, 1) => Instruction.CreateRepMovsb(64), (Str.Movs, 2) => Instruction.CreateRepMovsw(64),
        (Str.Movs, _) => Instruction.CreateRepMovsd(64),
        (Str.Stos, 1) => Instruction.CreateRepStosb(64), (Str.Stos, 2) => Instruction.CreateRepStosw(64),
        (Str.Stos, _) => Instruction.CreateRepStosd(64),
        (Str.Lods, 1) => Instruction.CreateRepLodsb(64), (Str.Lods, 2) => Instruction.CreateRepLodsw(64),
        (Str.Lods, _) => Instruction.CreateRepLodsd(64),
        (Str.Cmps, 1) => Instruction.CreateRepeCmpsb(64), (Str.Cmps, 2) => Instruction.CreateRepeCmpsw(64),
        (Str.Cmps, _) => Instruction.CreateRepeCmpsd(64),
        (Str.Scas, 1) => Instruction.CreateRepeScasb(64), (Str.Scas, 2) => Instruction.CreateRepeScasw(64),
        _ => Instruction.CreateRepeScasd(64),
    };

    static Instruction HostRepne(Str kind, int sz) => (kind, sz) switch
    {
        (Str.Cmps, 1) => Instruction.CreateRepneCmpsb(64), (Str.Cmps, 2) => Instruction.CreateRepneCmpsw(64),
        (Str.Cmps, _) => Instruction.CreateRepneCmpsd(64),
        (Str.Scas, 1) => Instruction.CreateRepneScasb(64), (Str.Scas, 2) => Instruction.CreateRepneScasw(64),
        _ => Instruction.CreateRepneScasd(64),
    };

    /// <summary>REPE/REPNE CMPS/SCAS: the chunk loop with the host's REPE/REPNE, which stops inside a chunk on the
    /// condition. The flags of the last comparison go to a scratch image (Jit.OffStrFlags) and become the guest's
    /// when the instruction completes, or after each chunk where the model keeps them at a fault (the amd model,
    /// Jit.OffStrKeepFlags): a mid-way exit leaves the guest's flags for the interpreter to resume from, which a
    /// fault there leaves or restores by the same rule (Processor.FaultFlags). ECX = 0 changes no flag.</summary>
    void RepCompare(Str kind, int sz, bool repne, in Instruction ins, int i, Label slowL)
    {
        bool src = kind == Str.Cmps;
        var done = a.CreateLabel(); var top = a.CreateLabel(); var first = a.CreateLabel(); var finish = a.CreateLabel();
        var stop = a.CreateLabel();
        stops.Add((stop, (uint)ins.IP, i));
        a.test(ecx, ecx);
        a.jz(done);
        a.jmp(first);
        a.Label(ref top);
        a.test(ecx, ecx);
        a.jz(finish); // every element compared equal (REPE) or unequal (REPNE)
        LeaveIfStopped(stop);
        a.cmp(__dword_ptr[r13 + Jit.OffStrChunks], 0);
        a.jle(stop);
        a.Label(ref first);
        if (src) ElementPagesOk(esi, rsi, sz, false, slowL);
        ElementPagesOk(edi, rdi, sz, false, slowL);
        a.mov(r9d, ecx);
        if (src) RoomOnPage(esi, sz);
        RoomOnPage(edi, sz);
        a.mov(r8d, 1);
        a.test(r9d, r9d);
        a.cmovz(r9d, r8d);
        a.mov(r10d, ecx);
        a.sub(r10d, r9d); // ECX after the chunk if it runs to its end
        a.mov(ecx, r9d);
        if (src) { a.mov(esi, esi); a.add(rsi, r14); }
        a.mov(edi, edi);
        a.add(rdi, r14);
        a.AddInstruction(repne ? HostRepne(kind, sz) : HostRep(kind, sz));
        // The last comparison's flags (at least one ran): to the scratch image with LAHF/SETO, which change none.
        StoreFlags(Jit.OffStrFlags);
        // Stopped on the condition: REPE on a difference (ZF = 0), REPNE on an equality (ZF = 1).
        if (repne) a.sete(r8b); else a.setne(r8b);
        var kept = a.CreateLabel();
        a.cmp(__byte_ptr[r13 + Jit.OffStrKeepFlags], 0);
        a.je(kept);
        a.movzx(r9d, __word_ptr[r13 + Jit.OffStrFlags]);
        a.mov(__word_ptr[r13 + Jit.OffFlags], r9w);
        a.Label(ref kept);
        if (src) { a.sub(rsi, r14); a.mov(esi, esi); }
        a.sub(rdi, r14);
        a.mov(edi, edi);
        a.add(ecx, r10d); // elements the host REP left + those after the chunk
        a.dec(__dword_ptr[r13 + Jit.OffStrChunks]);
        a.test(r8b, r8b);
        a.jz(top);
        a.Label(ref finish);
        a.movzx(r9d, __word_ptr[r13 + Jit.OffStrFlags]);
        a.mov(__word_ptr[r13 + Jit.OffFlags], r9w);
        a.Label(ref done);
    }

    /// <summary>One element without REP: the source read into r10 (or AL/AX/EAX) after its check, the destination's
    /// check before any register changes, then the store and ESI/EDI + size (LEA: 32-bit wrap, no flags).</summary>
    void StringElement(Str kind, int sz, int i)
    {
        if (kind is Str.Cmps or Str.Scas)
        {
            // ES:EDI's element in r10 (CMPS) or compared with AL/AX/EAX (SCAS): flags of SRC1 - SRC2 as CMP has them.
            a.mov(r8d, edi);
            Check(sz, false, i);
            if (kind == Str.Scas)
            {
                if (sz == 1) a.cmp(al, __byte_ptr[r14 + r8]);
                else if (sz == 2) a.cmp(ax, __word_ptr[r14 + r8]);
                else a.cmp(eax, __dword_ptr[r14 + r8]);
            }
            else
            {
                if (sz == 1) a.movzx(r10d, __byte_ptr[r14 + r8]);
                else if (sz == 2) a.movzx(r10d, __word_ptr[r14 + r8]);
                else a.mov(r10d, __dword_ptr[r14 + r8]);
                a.mov(r8d, esi);
                Check(sz, false, i);
                if (sz == 1) a.cmp(__byte_ptr[r14 + r8], r10b);
                else if (sz == 2) a.cmp(__word_ptr[r14 + r8], r10w);
                else a.cmp(__dword_ptr[r14 + r8], r10d);
                a.lea(esi, __[rsi + sz]);
            }
            a.lea(edi, __[rdi + sz]);
            loc = FLoc.HostDirty;
            return;
        }
        if (kind is Str.Movs or Str.Lods)
        {
            a.mov(r8d, esi);
            Check(sz, false, i);
            if (kind == Str.Lods)
            {
                if (sz == 1) a.mov(al, __byte_ptr[r14 + r8]);
                else if (sz == 2) a.mov(ax, __word_ptr[r14 + r8]);
                else a.mov(eax, __dword_ptr[r14 + r8]);
            }
            else if (sz == 1) a.movzx(r10d, __byte_ptr[r14 + r8]);
            else if (sz == 2) a.movzx(r10d, __word_ptr[r14 + r8]);
            else a.mov(r10d, __dword_ptr[r14 + r8]);
        }
        if (kind is Str.Movs or Str.Stos)
        {
            a.mov(r8d, edi);
            Check(sz, true, i);
            if (kind == Str.Movs)
            {
                if (sz == 1) a.mov(__byte_ptr[r14 + r8], r10b);
                else if (sz == 2) a.mov(__word_ptr[r14 + r8], r10w);
                else a.mov(__dword_ptr[r14 + r8], r10d);
            }
            else if (sz == 1) a.mov(__byte_ptr[r14 + r8], al);
            else if (sz == 2) a.mov(__word_ptr[r14 + r8], ax);
            else a.mov(__dword_ptr[r14 + r8], eax);
        }
        if (kind is Str.Movs or Str.Lods) a.lea(esi, __[rsi + sz]);
        if (kind is Str.Movs or Str.Stos) a.lea(edi, __[rdi + sz]);
    }

}
