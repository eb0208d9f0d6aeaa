using System.Runtime.CompilerServices;
using Compat32.Memory;

namespace Compat32.Cpu;

/// <summary>
/// What the processors of one address space share (the threads of one guest process, CLONE_VM): the decoded
/// blocks, the translated host code and its lookup table, and the bus lock of split locked accesses. Found through
/// the AddressSpace (created at its first use), so a Processor needs nothing else to join it.
/// Locking: Lock guards the block dictionaries, decoding, translation, invalidation and flushes (all off the hot
/// path); the hot path (a processor's own L1 of blocks, Block.Valid, Block.Native, the host lookup table) reads
/// without it. Invalidation runs on the writing thread (a processor's store, or the kernel's copy_to_user, munmap,
/// mprotect): it marks the page's blocks invalid, unlinks them from the host table, and asks every processor to
/// leave host code at its next block end, before the write returns.
/// </summary>
public sealed class CodeSpace
{
    static readonly ConditionalWeakTable<AddressSpace, CodeSpace> spaces = new();

    /// <summary>The code space of mem (one per address space, created once).</summary>
    public static CodeSpace Of(AddressSpace mem)
    {
        lock (spaces)
        {
            if (!spaces.TryGetValue(mem, out var s)) { s = new CodeSpace(mem); spaces.Add(mem, s); created++; }
            return s;
        }
    }

    static int created; // lock (spaces)
    /// <summary>A second address space has existed in this host process (a fork, an exec, a test's second machine):
    /// from then on translations are worth publishing for other spaces to copy (JitCode.MakeTemplate); a lone
    /// program (python3.11 -S: 2 MiB of code, about 4% of its start-up) never pays for copies nobody takes.</summary>
    internal static bool Several { get { lock (spaces) return created > 1; } }

    public readonly AddressSpace Mem;
    /// <summary>Guards the shared structures (see the class comment).</summary>
    internal readonly object Lock = new();
    /// <summary>A locked access crossing a cache line or page holds this (hardware asserts the bus lock).</summary>
    internal readonly object BusLock = new();
    /// <summary>Bytes of translated code this space may hold (0: JitCode's default); read when its code is created
    /// (tests set it first to put the code area under pressure).</summary>
    internal ulong CodeLimit;
    public readonly DecodeCache Cache;
    /// <summary>The code cache of the program this space runs (set by exec before its first instruction; null: none).
    /// Templates made here are added to it (JitCode.MakeTemplate).</summary>
    internal volatile TranslationStore.Store? Store;
    JitCode? code;
    readonly List<WeakReference<Processor>> cpus = new();

    CodeSpace(AddressSpace mem)
    {
        Mem = mem;
        Cache = new DecodeCache(this);
        mem.CodeWritten += InvalidatePage;
        mem.PermissionsReduced += StopAll;
    }

    /// <summary>The shared translated code (created by the first processor that translates), or null when this host
    /// cannot run it.</summary>
    internal JitCode? Code()
    {
        lock (Lock) return code ??= JitCode.Create(this);
    }
    internal JitCode? CodeIfAny => Volatile.Read(ref code);

    /// <summary>Keep this space's translations in the code cache of the program at exePath (exec, and a fork's copy:
    /// one store per path in a run).</summary>
    public static void UseStore(AddressSpace mem, string exePath) => Of(mem).Store = TranslationStore.Open(exePath);

    /// <summary>The address space is gone (mmput: its last task exited): free the translated code now.</summary>
    public static void Retire(AddressSpace mem)
    {
        CodeSpace? s;
        lock (spaces) if (!spaces.TryGetValue(mem, out s)) return;
        lock (s.Lock) { s.code?.Free(); s.code = null; }
    }

    internal void Attach(Processor p)
    {
        lock (Lock)
        {
            cpus.RemoveAll(w => !w.TryGetTarget(out _));
            cpus.Add(new WeakReference<Processor>(p));
        }
    }

    internal void Detach(Processor p)
    {
        lock (Lock) cpus.RemoveAll(w => !w.TryGetTarget(out var q) || q == p);
    }

    /// <summary>The processors on this space (read under Lock).</summary>
    internal List<WeakReference<Processor>> CpuList => cpus;

    /// <summary>A page lost an access (AddressSpace.PermissionsReduced): every processor leaves host code at its
    /// next block end, and its next entry checks the pages again (flush_tlb_mm_range's IPI).</summary>
    void StopAll()
    {
        lock (Lock) StopAllLocked();
    }

    /// <summary>Every processor on this space leaves host code at its next block end (under Lock).</summary>
    void StopAllLocked()
    {
        foreach (var w in cpus)
            if (w.TryGetTarget(out var p)) p.Jit?.RequestStop();
    }

    /// <summary>A write hit a page holding decoded code (AddressSpace.CodeWritten, on the writing thread).</summary>
    void InvalidatePage(uint page)
    {
        lock (Lock)
        {
            if (!Cache.InvalidatePage(page)) return;
            // Blocks of the page may be running in host code elsewhere: make every processor leave it at its
            // next block end (the lookup table no longer leads there, and the interpreter checks Valid).
            StopAllLocked();
        }
        Processor.StopCurrentBlock(this);
    }
}
