using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Cpu;

/// <summary>
/// Guest page permissions kept in the host's page protections, so translated code reads and writes guest memory
/// without a test and the host MMU does the check (QEMU's user mode does the same for writes to code pages). An
/// address space whose reservation is registered here keeps every page the guest cannot read PROT_NONE in the host
/// and a guard past its 4 GiB; with writes on (WritesOn, AddressSpace.HostWrites) every page the guest cannot
/// write, and every page holding decoded code, read-only (a write there must leave translated code: the
/// interpreter's store drops that code first). An access in translated code whose test was left out (a "site":
/// Translator marks its first byte in the region's bitmap) that faults is moved by the SIGSEGV handler below to
/// the region's fault stub, which stores the flags and leaves; Jit.Run finds the site's guest instruction and the
/// interpreter executes it again, raising the guest's #PF exactly where the interpreter would, or storing into
/// the code page. The handler is a few instructions of host code (Iced), never managed code:
/// - RIP in a registered code region, on a site, fault address inside the guest's reservation (r14 of the
///   faulting context, plus the guard) or a #GP (si_code SI_KERNEL: a misaligned 16-byte SSE operand): RIP = the
///   fault stub, the faulting RIP to the state block (r13).
/// - otherwise, a fault address inside a registered guest reservation: a host access racing another thread's
///   change of protection (a system call's copy racing munmap, an interpreter's store racing a decoder's mark of
///   the page): the page is made accessible and the access retried, and the page goes into a table that Drain
///   empties on the next entry into the kernel or into guest code (the page's protection back, its code dropped).
/// - anything else goes to the handler that was there before (the .NET runtime's: null references).
/// COMPAT32_HOSTFAULT=0 turns it off (every access tested, no host protections), COMPAT32_HOSTFAULT_WRITES=0 the
/// write half, to compare.
/// </summary>
internal static unsafe partial class HostFaults
{
    /// <summary>x86-64 ucontext_t offsets (glibc sys/ucontext.h: uc_mcontext at 40, gregs REG_R13 = 5, REG_R14 = 6,
    /// REG_RIP = 16, REG_ERR = 19: the page fault's error code) and siginfo_t's si_code (8) and si_addr (16); struct sigaction is
    /// 152 bytes, sa_flags at 136.</summary>
    const int UcR13 = 80, UcR14 = 88, UcRip = 168, UcErr = 192, SiCode = 8, SiAddr = 16, SigactionSize = 152;
    /// <summary>si_code of a fault the kernel raised without an address (a #GP: do_general_protection).</summary>
    const int SI_KERNEL = 0x80;
    const int SIGSEGV = 11, SA_SIGINFO = 4, SA_ONSTACK = 0x08000000;

    /// <summary>Past a guest's 4 GiB: a read at 0xFFFFFFF0 of 16 bytes ends there (the interpreter wraps it).</summary>
    public const ulong Guard = 1UL << 16;

    // The handler's data: the old action, counters, then the registries (slot 0 of an entry nonzero = in use).
    const int OffOld = 0, OffFixed = 152, OffSites = 160, OffDfl = 192, OffCode = 256, CodeSlots = 4096, CodeEntry = 32;
    const int OffGuest = OffCode + CodeSlots * CodeEntry, GuestSlots = 4096, GuestEntry = 16;
    /// <summary>Pages the handler opened (host addresses; 0 = free), for Drain; OffOverflow set when none was free.</summary>
    const int OffOverflow = 168, OffRing = OffGuest + GuestSlots * GuestEntry, RingSlots = 512;
    const int DataSize = OffRing + RingSlots * 8;

    static readonly byte* data;
    /// <summary>The handler is installed: address spaces may protect pages and translators may leave out read tests.</summary>
    public static readonly bool Active;
    /// <summary>Writes too: spaces write-protect what the guest cannot write and pages holding decoded code, and
    /// translated code writes without a test. COMPAT32_HOSTFAULT_WRITES=0 keeps every write tested, to compare.</summary>
    public static readonly bool WritesOn;
    static readonly object gate = new();

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)] private static partial int sigaction_(int sig, byte* act, byte* old);

    static HostFaults()
    {
        if (!Jit.HostSupported || Environment.GetEnvironmentVariable("COMPAT32_HOSTFAULT") == "0") return;
        try
        {
            byte* d = (byte*)NativeMemory.AlignedAlloc(DataSize, 64);
            NativeMemory.Clear(d, DataSize);
            byte* code = Memory.HostMem.ReserveCode(4096);
            if (code == null) { NativeMemory.AlignedFree(d); return; }
            var bytes = Assemble((ulong)code, (ulong)d);
            bytes.CopyTo(new Span<byte>(code, 4096));
            byte* act = stackalloc byte[SigactionSize];
            new Span<byte>(act, SigactionSize).Clear();
            *(ulong*)act = (ulong)code;
            *(int*)(act + 136) = SA_SIGINFO | SA_ONSTACK;
            if (sigaction_(SIGSEGV, act, d + OffOld) != 0) return;
            data = d;
            Active = true;
            WritesOn = Environment.GetEnvironmentVariable("COMPAT32_HOSTFAULT_WRITES") != "0";
        }
        catch (Exception) { } // no handler: every read keeps its test (a type initializer must not throw)
    }

    static byte[] Assemble(ulong rip, ulong d)
    {
        var a = new Assembler(64);
        Label g = a.CreateLabel(), inCode = a.CreateLabel(), fix = a.CreateLabel(), chain = a.CreateLabel(),
            dfl = a.CreateLabel(), fixedL = a.CreateLabel();
        // handler(sig = rdi, info = rsi, ucontext = rdx); rax, rcx, r8-r11 are free (the kernel restores them all).
        a.mov(rax, __qword_ptr[rdx + UcRip]);
        a.mov(r8, __qword_ptr[rsi + SiAddr]);
        FindEntry(a, d + OffCode, CodeSlots, CodeEntry, rax, inCode);
        // Not a site: inside a guest reservation?
        a.Label(ref g);
        FindEntry(a, d + OffGuest, GuestSlots, GuestEntry, r8, fix);
        a.jmp(chain);
        // In a code region (r9 = its entry): a site, and a guest address (r14 of the faulting context is guest
        // address 0)?
        a.Label(ref inCode);
        a.mov(r11, rax);
        a.sub(r11, __qword_ptr[r9]);
        a.mov(r10, __qword_ptr[r9 + 16]);
        a.bt(__qword_ptr[r10], r11);
        a.jnc(g);
        // A #GP there (SI_KERNEL, no address: a misaligned 16-byte SSE operand, Translator.EmitSimd) is its fault too.
        Label site = a.CreateLabel();
        a.cmp(__dword_ptr[rsi + SiCode], SI_KERNEL);
        a.je(site);
        a.mov(r11, r8);
        a.sub(r11, __qword_ptr[rdx + UcR14]);
        a.mov(r10, (long)(Memory.AddressSpace.Size + Guard));
        a.cmp(r11, r10);
        a.jae(g);
        a.Label(ref site);
        a.mov(r10, __qword_ptr[rdx + UcR13]);
        a.mov(__qword_ptr[r10 + Jit.OffFaultRip], rax);
        a.mov(rax, __qword_ptr[r9 + 24]);
        a.mov(__qword_ptr[rdx + UcRip], rax);
        a.mov(r10, d);
        a.@lock.inc(__qword_ptr[r10 + OffSites]);
        a.ret();
        // mprotect(page, 4096, PROT_READ | PROT_WRITE), or PROT_READ for a read (a shared mapping of a read-only
        // file); then the page goes into the table for Drain (stack: page, ucontext, info, sig).
        Label failL = a.CreateLabel(), ring = a.CreateLabel(), stored = a.CreateLabel();
        a.Label(ref fix);
        a.push(rdi); a.push(rsi); a.push(rdx);
        a.mov(rdi, r8);
        a.and(rdi, -4096);
        a.push(rdi);
        a.mov(esi, 4096);
        a.mov(edx, 3);
        a.mov(eax, 10);
        a.syscall();
        a.test(rax, rax);
        a.jz(fixedL);
        a.mov(rdx, __qword_ptr[rsp + 8]);
        a.test(__byte_ptr[rdx + UcErr], 2); // a write (page fault error code W): read-only would fault again
        a.jnz(failL);
        a.mov(rdi, __qword_ptr[rsp]);
        a.mov(esi, 4096);
        a.mov(edx, 1);
        a.mov(eax, 10);
        a.syscall();
        a.test(rax, rax);
        a.jnz(failL);
        a.Label(ref fixedL);
        a.pop(rdi);
        a.mov(r10, d);
        a.lea(r9, __[r10 + OffRing]);
        a.mov(ecx, RingSlots);
        a.Label(ref ring);
        a.xor(eax, eax);
        a.@lock.cmpxchg(__qword_ptr[r9], rdi);
        a.je(stored);
        a.add(r9, 8);
        a.dec(ecx);
        a.jnz(ring);
        a.mov(__qword_ptr[r10 + OffOverflow], 1);
        a.Label(ref stored);
        a.@lock.inc(__qword_ptr[r10 + OffFixed]); // after the page is in the table (Drain reads the count first)
        a.pop(rdx); a.pop(rsi); a.pop(rdi);
        a.ret();
        a.Label(ref failL);
        a.pop(rdi);
        a.pop(rdx); a.pop(rsi); a.pop(rdi);
        a.jmp(chain);
        // The previous handler, or the default action (the fault then repeats and kills the process).
        a.Label(ref chain);
        a.mov(r10, d);
        a.mov(rax, __qword_ptr[r10 + OffOld]);
        a.cmp(rax, 1);
        a.jbe(dfl);
        a.jmp(rax);
        a.Label(ref dfl);
        a.lea(rsi, __[r10 + OffDfl]); // a zeroed kernel sigaction: SIG_DFL
        a.xor(edx, edx);
        a.mov(r10d, 8);
        a.mov(eax, 13); // rt_sigaction(sig, &dfl, NULL, 8)
        a.syscall();
        a.ret();
        var w = new Writer();
        a.Assemble(w, rip);
        return w.Bytes.ToArray();
    }

    /// <summary>Emit: r9 = the first in-use entry of the table (slots of size bytes, [lo, hi) first) whose range holds
    /// key, then a jump to found; falls through when there is none. Clobbers rcx and r10.</summary>
    static void FindEntry(Assembler a, ulong table, int slots, int size, AssemblerRegister64 key, Label found)
    {
        Label loop = a.CreateLabel(), next = a.CreateLabel();
        a.mov(r9, table);
        a.mov(ecx, slots);
        a.Label(ref loop);
        a.mov(r10, __qword_ptr[r9]);
        a.test(r10, r10);
        a.jz(next);
        a.cmp(key, r10);
        a.jb(next);
        a.cmp(key, __qword_ptr[r9 + 8]);
        a.jb(found);
        a.Label(ref next);
        a.add(r9, size);
        a.dec(ecx);
        a.jnz(loop);
    }

    sealed class Writer : CodeWriter
    {
        public readonly List<byte> Bytes = new();
        public override void WriteByte(byte value) => Bytes.Add(value);
    }

    /// <summary>Faults the handler sent to a fault stub, and host accesses it let through by unprotecting a page.</summary>
    public static long SiteFaults => Active ? Interlocked.Read(ref *(long*)(data + OffSites)) : 0;
    public static long Unprotected => Active ? Interlocked.Read(ref *(long*)(data + OffFixed)) : 0;

    static long drained;
    static readonly object drainGate = new();

    /// <summary>The handler opened pages since the last Drain (one load: every system call and every Run asks).</summary>
    public static bool Pending
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => Active && Volatile.Read(ref *(long*)(data + OffFixed)) != Volatile.Read(ref drained);
    }

    /// <summary>Close what the handler opened: each page it made accessible for an access that raced a change of
    /// protection gets the protection its space says back, and its decoded code is dropped (the access may have
    /// been a write into it). Called on the way into the kernel (Task.Syscall) and into guest code (Processor.Run),
    /// where no lock is held.</summary>
    public static void Drain()
    {
        if (!Active) return;
        lock (drainGate)
        {
            long seen = Volatile.Read(ref *(long*)(data + OffFixed));
            ulong* slots = (ulong*)(data + OffRing);
            for (int i = 0; i < RingSlots; i++)
            {
                ulong page = Interlocked.Exchange(ref slots[i], 0UL);
                if (page != 0) Memory.AddressSpace.ReopenAt(page);
            }
            if (Interlocked.Exchange(ref *(long*)(data + OffOverflow), 0) != 0) Memory.AddressSpace.ReopenAt(0);
            Volatile.Write(ref drained, seen);
        }
    }

    /// <summary>Register a guest reservation [lo, hi); false when the table is full (the space then protects nothing).</summary>
    public static bool AddGuest(ulong lo, ulong hi) => Add(OffGuest, GuestSlots, GuestEntry, lo, hi, 0, 0);
    public static void RemoveGuest(ulong lo) => Remove(OffGuest, GuestSlots, GuestEntry, lo);

    /// <summary>Register a code region [lo, hi) with its site bitmap (bit k: the instruction at lo + k is a site) and
    /// its fault stub; false when the table is full (its translations then test every read).</summary>
    public static bool AddCode(ulong lo, ulong hi, ulong bitmap, ulong stub) => Add(OffCode, CodeSlots, CodeEntry, lo, hi, bitmap, stub);
    public static void RemoveCode(ulong lo) => Remove(OffCode, CodeSlots, CodeEntry, lo);

    static bool Add(int off, int slots, int size, ulong lo, ulong hi, ulong x, ulong y)
    {
        if (!Active) return false;
        lock (gate)
        {
            for (int i = 0; i < slots; i++)
            {
                ulong* e = (ulong*)(data + off + i * size);
                if (Volatile.Read(ref e[0]) != 0) continue;
                if (size > 16) { e[2] = x; e[3] = y; }
                Volatile.Write(ref e[1], hi);
                Volatile.Write(ref e[0], lo); // last: the handler reads lo first
                return true;
            }
            return false;
        }
    }

    static void Remove(int off, int slots, int size, ulong lo)
    {
        if (!Active) return;
        lock (gate)
            for (int i = 0; i < slots; i++)
            {
                ulong* e = (ulong*)(data + off + i * size);
                if (e[0] == lo) { Volatile.Write(ref e[0], 0UL); return; }
            }
    }
}
