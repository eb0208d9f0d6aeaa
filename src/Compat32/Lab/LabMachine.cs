using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel;

namespace Compat32.Lab;

/// <summary>One guest run on one design × model: exit, result words, the tracer's view of every syscall entry,
/// entry/exit counts and the instructions retired (interpreter only, so the count is exact).</summary>
public sealed class LabRun
{
    public required GuestExit Exit;
    public required bool TimedOut;
    public required Func<uint, uint?> Peek;
    public required List<(PtRegs Regs, EntryMethod How)> Entries;
    public required EntryStats Stats;
    public required long Retired;
    /// <summary>The mapped vDSO bytes after boot patching (null without a vDSO) and the record.</summary>
    public required byte[]? VdsoBytes;
    public required Vdso.VdsoImage? Vdso;
    public uint Word(int i) => Peek(LabGuest.R(i)) ?? 0xDEADBEEF;
    public uint VdsoBase => Peek(LabGuest.D + 4) ?? 0;
    public uint Sysinfo => Peek(LabGuest.D) ?? 0;
    public uint? LandingPad => Vdso != null && VdsoBase != 0 ? VdsoBase + (uint)Vdso.SymInt80LandingPad : null;
}

public static class LabMachine
{
    static System.Threading.Tasks.Task<T> Dedicated<T>(Func<T> f)
    {
        var tcs = new System.Threading.Tasks.TaskCompletionSource<T>(System.Threading.Tasks.TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() => { try { tcs.SetResult(f()); } catch (Exception e) { tcs.SetException(e); } }) { IsBackground = true, Name = "compat32 lab" }.Start();
        return tcs.Task;
    }

    /// <summary><paramref name="drive"/>, when given, runs beside the guest (e.g. to stop and continue it, as a
    /// shell's job control would); it gets the first task and the tracer's list of entries (lock it to read).</summary>
    public static LabRun Run(CpuModel model, EntryDesign design, byte[] elf, int timeoutMs = 20_000,
        Action<Kernel.Task, List<(PtRegs, EntryMethod)>>? drive = null)
    {
        var entries = new List<(PtRegs, EntryMethod)>();
        var opts = new KernelOptions
        {
            Design = design, JitThreshold = 0, StraceOut = TextWriter.Null,
            SyscallObserver = (r, h) => { lock (entries) entries.Add((r, h)); },
        };
        var m = MachineFactory.Create(model, opts);
        var path = Path.Combine(Path.GetTempPath(), $"compat32-lab-{Environment.ProcessId}-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, elf);
        GuestExit exit;
        bool timedOut = false;
        try
        {
            var t = m.Spawn(path, new[] { "lab" }, Array.Empty<string>());
            // Threads of their own, not the thread pool: the machine's run blocks until the guest ends, and a pool
            // starved by parallel runs can start the driver hundreds of milliseconds late (after a 300 ms sleep it
            // was meant to interrupt).
            var run = Dedicated(m.Run);
            var driver = drive == null ? null : Dedicated(() => { drive(t, entries); return 0; });
            if (!run.Wait(timeoutMs))
            {
                timedOut = true;
                Kernel.Exit.GroupExit(t, Kernel.Signals.Sig.SIGKILL, signal: true);
                run.Wait(5000);
            }
            exit = run.IsCompleted ? run.Result : new GuestExit(9, 9, false, null);
            driver?.Wait(5000);
            // Children (clone check) may still be exiting.
            for (int i = 0; i < 100 && m.Kernel.TaskSet.TaskCount > 0; i++) Thread.Sleep(10);
        }
        finally { File.Delete(path); }
        var mem = m.Init!.Mem;
        uint? Peek(uint a) => mem.ReadU32(a, out uint v) ? v : null;
        List<(PtRegs, EntryMethod)> seen;
        lock (entries) seen = new(entries);
        return new LabRun
        {
            Exit = exit, TimedOut = timedOut, Peek = Peek, Entries = seen, Stats = m.Kernel.TotalStats(),
            Retired = m.Kernel.DeadRetired + m.Kernel.TaskSet.Tasks().Sum(t => t.Cpu.Retired),
            VdsoBytes = m.Kernel.VdsoData, Vdso = m.Kernel.Vdso,
        };
    }
}
