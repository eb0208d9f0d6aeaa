using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel.Signals;
using Compat32.Kernel.Syscalls;
using Compat32.Vdso;

namespace Compat32.Kernel;

public sealed class KernelOptions
{
    public string? Sysroot;
    public bool Strace;
    /// <summary>The kernel + vDSO entry design (compat32 lab, --design); Linux43 is the kernel compat32 models.</summary>
    public Compat32.Entry.EntryDesign Design = Compat32.Entry.EntryDesign.Linux43;
    /// <summary>Sees pt_regs at each syscall-entry stop, as a tracer would (compat32 lab; called on the guest
    /// thread, so it must be thread-safe). Null: no cost.</summary>
    public Action<Compat32.Entry.PtRegs, Compat32.Entry.EntryMethod>? SyscallObserver;
    public TextWriter StraceOut = Console.Error;
    /// <summary>Block translation threshold for the tasks' processors (0: interpreter only; null: the default).</summary>
    public int? JitThreshold;
    /// <summary>Keep each program's translations in the code cache between runs (TranslationStore: the compat32
    /// command sets it when --code-cache / COMPAT32_CODE_CACHE leave it on and configures where).</summary>
    public bool CodeCache;
    /// <summary>When the first process stops (^Z, SIGSTOP), stop the host process too, as the program it stands for
    /// would be (the compat32 command sets this; an embedder usually does not want its own process stopped).</summary>
    public bool StopHostWithInit;
    /// <summary>Called instead of stopping this host process when the first process is stopped from the terminal
    /// (the compat32 command's front process stops itself).</summary>
    public Action? InitStopped;
}

/// <summary>The Linux model shared by every task: the syscall table, pids, clocks, the vDSO image.</summary>
public sealed class KernelModel
{
    public readonly CpuModel Model;
    public readonly KernelOptions Options;
    public readonly EntryStats Stats = new();
    public readonly SyscallTable Syscalls;
    public readonly SignalModel Signals;
    public VdsoImage? Vdso;
    /// <summary>The image bytes after apply_alternatives for this model (what gets mapped).</summary>
    public byte[]? VdsoData;
    /// <summary>The credentials and limits the first process starts with (each process has its own copy).</summary>
    public readonly Creds Creds = Creds.FromHost();
    /// <summary>The host terminal, when compat32's stdin is one: the controlling terminal of the first session.</summary>
    public Tty? HostTty;
    /// <summary>Every task and process, and the pid namespace.</summary>
    public readonly TaskSet TaskSet = new();
    /// <summary>Futex wait queues (kernel/futex), shared by every process (shared futexes cross processes).</summary>
    public readonly Futex Futexes;
    /// <summary>Entry/exit counts and CPU totals of tasks that have exited (live tasks keep their own; --stats adds
    /// both). Guarded by StatsLock.</summary>
    public readonly object StatsLock = new();
    /// <summary>64-bit mode (a far transfer or IRET to the 64-bit code segment): instructions run there, and the
    /// #UDs raised for instructions outside the subset emulated (Processor.Allowed64). Interlocked.</summary>
    public long Mode64Retired, Mode64Unsupported;
    public long DeadRetired, DeadJitInstructions, DeadJitTranslated, DeadJitCopied, DeadJitEntries, DeadJitExits, DeadJitFlushes, DeadJitLinks;
    public bool JitUsed;

    public KernelModel(CpuModel model, KernelOptions options)
    {
        Model = model;
        Options = options;
        Syscalls = new SyscallTable(this);
        Signals = new SignalModel(this);
        Futexes = new Futex(this);
        TimerCalls.Register(Syscalls); // after TimeCalls: interruptible nanosleep, itimers, POSIX timers
    }

    /// <summary>An interruptible sleep (TASK_INTERRUPTIBLE): true when a deliverable signal cut it short.</summary>
    public bool Sleep(Task t, TimeSpan d)
    {
        if (d <= TimeSpan.Zero) return false;
        return Sleep(t, Compat32.Kernel.Syscalls.ProcessTimers.Now() + d.Ticks * 100);
    }

    /// <summary>Sleep until deadlineNs (ProcessTimers.Now() clock) or until a signal that is not blocked arrives.</summary>
    public bool Sleep(Task t, long deadlineNs)
    {
        long ticks = (long)(deadlineNs / (1e9 / System.Diagnostics.Stopwatch.Frequency));
        return Signals.WaitFor(t, 0, ticks);
    }

    /// <summary>Fold a finished task's counters into the machine's totals (its Processor is dropped after).</summary>
    public void RetireStats(Task t)
    {
        lock (StatsLock)
        {
            Stats.Add(t.Entry.Stats);
            DeadRetired += t.Cpu.Retired;
            Mode64Retired += t.Cpu.Retired64;
            if (t.Cpu.Jit is { } j)
            {
                JitUsed = true;
                DeadJitInstructions += j.Instructions; DeadJitTranslated += j.Translated; DeadJitCopied += j.Copied; DeadJitEntries += j.Entries;
                DeadJitExits += j.InterpretExits; DeadJitFlushes += j.Flushes; DeadJitLinks += j.Links;
            }
        }
    }

    /// <summary>Entry/exit totals: exited tasks plus the live ones.</summary>
    public EntryStats TotalStats()
    {
        var s = new EntryStats();
        lock (StatsLock) s.Add(Stats);
        foreach (var t in TaskSet.Tasks()) s.Add(t.Entry.Stats);
        return s;
    }

    /// <summary>RDTSC as the guest sees it: the timekeeper's clocksource.</summary>
    public ulong ReadTsc() => Timekeeper.Instance.Tsc();

    /// <summary>The GDT a user task sees (arch/x86/include/asm/segment.h): flat 4 GiB code and data at DPL 3.</summary>
    public ulong[] BuildGdt()
    {
        var g = new ulong[32];
        // GDT_ENTRY_INIT(0xc0fb / 0xc0f3, 0, 0xfffff) (arch/x86/kernel/cpu/common.c): accessed, as the CPU leaves them.
        const ulong flatCode = 0x00CFFB000000FFFFUL; // base 0, limit 4G, 32-bit, DPL3, code r/x
        const ulong flatData = 0x00CFF3000000FFFFUL; // DPL3 data r/w
        if (Model.Kernel64)
        {
            g[Selectors.USER32_CS >> 3] = flatCode;
            g[Selectors.USER_DS >> 3] = flatData;
            g[Selectors.USER_CS >> 3] = 0x00AFFB000000FFFFUL; // 64-bit code (L=1), 0xa0fb
            g[Selectors.KERNEL_CS >> 3] = 0x00AF9A000000FFFFUL;
            g[Selectors.KERNEL_DS >> 3] = 0x00CF92000000FFFFUL;
        }
        else
        {
            g[Selectors.I386_USER_CS >> 3] = flatCode;
            g[Selectors.I386_USER_DS >> 3] = flatData;
            g[Selectors.I386_KERNEL_CS >> 3] = 0x00CF9A000000FFFFUL;
            g[Selectors.I386_KERNEL_DS >> 3] = 0x00CF92000000FFFFUL;
        }
        return g;
    }

    /// <summary>map_vdso (arch/x86/entry/vdso/vma.c): [vvar] (4 pages, r--) then [vdso] (r-x) right above it,
    /// placed top-down like any mmap. Returns the vDSO base.</summary>
    public uint MapVdso(Task t)
    {
        var img = Vdso!;
        uint vvarSize = (uint)(-img.SymVvarStart);
        var bytes = VdsoData ?? img.Data;
        uint size = (uint)bytes.Length;
        uint at = t.Mem.FindFree(vvarSize + size);
        if (at == 0) return 0;
        // The machine's one [vvar] (VdsoSetup's shared data page) where the host can map it; else a private page the
        // timekeeper writes for this space.
        if (!(VvarFile != null && vvarSize == Compat32.Vdso.VvarLayout.Size
              && t.Mem.MapImage(at, vvarSize, Memory.Prot.Read, "[vvar]", VvarFile, 0)))
        {
            t.Mem.Map(at, vvarSize, Memory.Prot.Read, "[vvar]");
            VvarWriter?.Invoke(t.Mem, at);
        }
        t.Mem.Map(at + vvarSize, size, Memory.Prot.Read | Memory.Prot.Exec, "[vdso]");
        t.Mem.Poke(at + vvarSize, bytes);
        return at + vvarSize;
    }

    /// <summary>A copied address space (fork) keeps its [vvar] data page current too (one mapping the shared page
    /// already is).</summary>
    public void RegisterVvar(Mm mm)
    {
        if (mm.VdsoBase == 0 || Vdso == null || VvarWriter == null) return;
        uint at = mm.VdsoBase - (uint)(-Vdso.SymVvarStart);
        lock (mm.Space.MmLock)
            if (mm.Space.FindVma(at) is not { Name: "[vvar]" } v || (VvarFile != null && v.Image == VvarFile)) return;
        VvarWriter(mm.Space, at);
    }

    /// <summary>Fills and keeps current the vvar data page at the given [vvar] address (the vDSO time code reads it).</summary>
    public Action<Memory.AddressSpace, uint>? VvarWriter;
    /// <summary>The machine's shared [vvar] object (VdsoSetup), mapped into each new [vvar]; null: none.</summary>
    public Memory.HostFile? VvarFile;

    public int TlsMin => Model.Kernel64 ? Selectors.TLS_MIN_64 : Selectors.TLS_MIN_32;

    /// <summary>syscall_init / sysenter_setup: the MSRs the fast-syscall instructions read; cpu_init: the system
    /// registers.</summary>
    public void InitMsrs(CpuState s)
    {
        if (Model.Kernel64)
        {
            s.MsrStar = ((ulong)Selectors.USER32_CS << 48) | ((ulong)Selectors.KERNEL_CS << 32);
            s.MsrCstar = EntryAddresses.EntrySyscallCompat;
            s.MsrLstar = EntryAddresses.EntrySyscall64;
            s.MsrSfmask = Flags.CF | Flags.PF | Flags.AF | Flags.ZF | Flags.SF | Flags.TF | Flags.IF | Flags.DF | Flags.OF
                        | Flags.IOPL | Flags.NT | Flags.RF | Flags.AC | Flags.ID;
            s.MsrSysenterCs = Selectors.KERNEL_CS;
            s.MsrSysenterEsp = 0;
            s.MsrSysenterEip = EntryAddresses.EntrySysenterCompat;
        }
        else
        {
            s.MsrSysenterCs = Selectors.I386_KERNEL_CS;
            s.MsrSysenterEsp = EntryAddresses.CpuEntryStack32;
            s.MsrSysenterEip = EntryAddresses.EntrySysenter32;
        }
        // cpu_init / load_direct_gdt / load_idt / load_TR_desc / set_ldt, and setup_umip: what the system-register
        // stores see on a part without UMIP. CPU 0's read-only GDT and IDT in the cpu_entry_area (GDT_SIZE - 1,
        // IDT_ENTRIES * gate size - 1), TR = GDT_ENTRY_TSS * 8, LDTR = GDT_ENTRY_LDT * 8 while an LDT is loaded,
        // CR0 = CR0_STATE (PE MP ET NE WP AM PG). 64-bit: CPU_ENTRY_AREA_RO_IDT = 0xfffffe0000000000, the GDT one
        // page above, of which a compat-mode SGDT/SIDT stores the low 32 bits. i386: the area lies below the fixmap
        // (its address depends on the configuration); the one chosen here is consistent with
        // EntryAddresses.CpuEntryStack32 (the entry stack page follows the GDT page).
        s.Cr0 = 0x80050033;
        s.Cr4Umip = Model.Umip;
        if (Model.Kernel64)
        {
            s.IdtrBase = 0x00000000; s.IdtrLimit = 256 * 16 - 1;
            s.GdtrBase = 0x00001000; s.GdtrLimit = 16 * 8 - 1;
            s.Tr = 8 * 8; s.LdtrSelector = 10 * 8;
        }
        else
        {
            s.IdtrBase = EntryAddresses.CpuEntryStack32 - 0x3000; s.IdtrLimit = 256 * 8 - 1;
            s.GdtrBase = EntryAddresses.CpuEntryStack32 - 0x2000; s.GdtrLimit = 32 * 8 - 1;
            s.Tr = 16 * 8; s.LdtrSelector = 17 * 8;
        }
    }
}

/// <summary>Symbolic kernel addresses the MSRs hold; the C# entry code "runs" there.</summary>
public static class EntryAddresses
{
    public const ulong EntrySyscall64 = 0xFFFFFFFF81A00000, EntrySyscallCompat = 0xFFFFFFFF81A01000,
        EntrySysenterCompat = 0xFFFFFFFF81A01800;
    public const uint EntrySysenter32 = 0xC1A00000, CpuEntryStack32 = 0xFFDFF000;
}
