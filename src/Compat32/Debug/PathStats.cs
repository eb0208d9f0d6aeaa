using System.Text;
using Compat32.Entry;
using Compat32.Kernel;

namespace Compat32.Debug;

/// <summary>The --stats table and --stats-json document: entries and exits by method, why IRET was used
/// after a fast (SYSENTER/SYSCALL) entry, and how the CPU ran the instructions (translated or interpreted).</summary>
public static class PathStats
{
    /// <summary>Totals over the machine's processors.</summary>
    public readonly record struct CpuTotals(long Instructions, long Translated, long Blocks, long Copied, long Entries, long InterpretExits, long Flushes, bool Jit, long Links = 0);

    public static CpuTotals Cpu(KernelModel k)
    {
        long ins, nat, blocks, copied, entries, exits, flushes, links;
        bool jit;
        lock (k.StatsLock)
        {
            ins = k.DeadRetired; nat = k.DeadJitInstructions; blocks = k.DeadJitTranslated; copied = k.DeadJitCopied; entries = k.DeadJitEntries;
            exits = k.DeadJitExits; flushes = k.DeadJitFlushes; links = k.DeadJitLinks; jit = k.JitUsed;
        }
        foreach (var t in k.TaskSet.Tasks())
            {
                ins += t.Cpu.Retired;
                if (t.Cpu.Jit is not { } j) continue;
                jit = true;
                nat += j.Instructions; blocks += j.Translated; copied += j.Copied; entries += j.Entries; exits += j.InterpretExits; flushes += j.Flushes; links += j.Links;
            }
        return new CpuTotals(ins, nat, blocks, copied, entries, exits, flushes, jit, links);
    }

    public static string Table(KernelModel k)
    {
        var s = k.TotalStats();
        var sb = new StringBuilder();
        sb.Append($"compat32 --stats (model {k.Model.Name})\n");
        sb.Append($"  entries:  int80 {s.Entries[0],10}   sysenter {s.Entries[1],10}   syscall32 {s.Entries[2],10}\n");
        sb.Append($"  exits:    iret  {s.Exits[0],10}   sysretl  {s.Exits[1],10}   sysexit   {s.Exits[2],10}\n");
        bool any = false;
        for (int i = 1; i < s.IretReasons.Length; i++)
        {
            if (s.IretReasons[i] == 0) continue;
            if (!any) { sb.Append("  iret after a fast entry, by reason:\n"); any = true; }
            sb.Append($"    {EntryStats.ReasonName((IretReason)i),-16} {s.IretReasons[i],10}\n");
        }
        var c = Cpu(k);
        sb.Append($"  cpu:      instructions {c.Instructions,12}   in translated code {c.Translated,12}   interpreted {c.Instructions - c.Translated,12}\n");
        long m64 = k.Mode64Retired, u64 = Interlocked.Read(ref k.Mode64Unsupported);
        foreach (var t in k.TaskSet.Tasks()) m64 += t.Cpu.Retired64;
        if (m64 != 0 || u64 != 0)
            sb.Append($"  64-bit mode: instructions {m64,10}   not emulated (#UD, SIGILL) {u64,10}\n");
        if (c.Jit)
        {
            sb.Append($"  jit:      blocks {c.Blocks,10} ({c.Copied} copied from another process's translation or the code cache)   entries {c.Entries,10}   exits to interpreter {c.InterpretExits,10}   flushes {c.Flushes}   links {c.Links}\n");
            sb.Append($"  host faults: accesses without a test that faulted {Compat32.Cpu.HostFaults.SiteFaults,8}   host accesses let through a page protected meanwhile {Compat32.Cpu.HostFaults.Unprotected}{(!Compat32.Cpu.HostFaults.Active ? "   (off: every access tested)" : !Compat32.Cpu.HostFaults.WritesOn ? "   (writes tested)" : "")}\n");
            sb.Append($"  code:     peak {Compat32.Cpu.Jit.PeakCodeBytes / 1024.0,9:F1} KiB in one address space (bound {Compat32.Cpu.Jit.CodeLimitBytes >> 20} MiB)   written {Compat32.Cpu.Jit.TotalCodeBytes / 1024.0:F1} KiB   segments evicted {Compat32.Cpu.Jit.Evictions}   block links made {Compat32.Cpu.Jit.BlockLinks} (reset {Compat32.Cpu.Jit.BlockLinksReset})   PIC thunks run in place {Compat32.Cpu.Jit.ThunksInlined}\n");
            var store = Compat32.Cpu.TranslationStore.Directory;
            sb.Append(store == null ? "  code cache: off\n"
                : $"  code cache: {store}   entries read {Compat32.Cpu.TranslationStore.Loaded}   blocks copied from them {Compat32.Cpu.TranslationStore.Used}   entries written {Compat32.Cpu.TranslationStore.Saved}\n");
        }
        else
            sb.Append("  jit:      off (interpreter only)\n");
        // compat32's own heap: fresh memory is what a start-up pays for (page faults and zeroing), not the collections
        sb.Append($"  host:     managed heap allocated {GC.GetTotalAllocatedBytes() / 1048576.0:F1} MiB   collections {GC.CollectionCount(0)} / {GC.CollectionCount(1)} / {GC.CollectionCount(2)} (gen0/1/2)\n");
        return sb.ToString();
    }

    public static string Json(KernelModel k)
    {
        var s = k.TotalStats();
        var sb = new StringBuilder();
        sb.Append("{\"model\":\"").Append(k.Model.Name).Append("\",");
        sb.Append("\"entries\":{\"int80\":").Append(s.Entries[0]).Append(",\"sysenter\":").Append(s.Entries[1]).Append(",\"syscall32\":").Append(s.Entries[2]).Append("},");
        sb.Append("\"exits\":{\"sysretl\":").Append(s.Exits[1]).Append(",\"sysexit\":").Append(s.Exits[2]).Append(",\"iret\":").Append(s.Exits[0]).Append("},");
        sb.Append("\"iret_reasons\":{");
        bool first = true;
        for (int i = 1; i < s.IretReasons.Length; i++)
        {
            if (s.IretReasons[i] == 0) continue;
            if (!first) sb.Append(',');
            sb.Append('"').Append(EntryStats.ReasonName((IretReason)i)).Append("\":").Append(s.IretReasons[i]);
            first = false;
        }
        sb.Append("},");
        var c = Cpu(k);
        sb.Append("\"cpu\":{\"instructions\":").Append(c.Instructions).Append(",\"translated\":").Append(c.Translated)
          .Append(",\"jit\":").Append(c.Jit ? "true" : "false").Append(",\"blocks\":").Append(c.Blocks).Append(",\"blocks_copied\":").Append(c.Copied)
          .Append(",\"entries\":").Append(c.Entries).Append(",\"interpret_exits\":").Append(c.InterpretExits).Append(",\"links\":").Append(c.Links)
          .Append(",\"flushes\":").Append(c.Flushes).Append(",\"code_peak_bytes\":").Append(Compat32.Cpu.Jit.PeakCodeBytes)
          .Append(",\"code_written_bytes\":").Append(Compat32.Cpu.Jit.TotalCodeBytes).Append(",\"code_evictions\":").Append(Compat32.Cpu.Jit.Evictions).Append(",\"block_links\":").Append(Compat32.Cpu.Jit.BlockLinks).Append(",\"block_links_reset\":").Append(Compat32.Cpu.Jit.BlockLinksReset).Append(",\"thunks_inlined\":").Append(Compat32.Cpu.Jit.ThunksInlined).Append(",\"host_read_faults\":").Append(Compat32.Cpu.HostFaults.SiteFaults).Append(",\"host_pages_unprotected\":").Append(Compat32.Cpu.HostFaults.Unprotected)
          .Append(",\"code_cache\":").Append(Compat32.Cpu.TranslationStore.Directory != null ? "true" : "false").Append(",\"code_cache_read\":").Append(Compat32.Cpu.TranslationStore.Loaded)
          .Append(",\"code_cache_used\":").Append(Compat32.Cpu.TranslationStore.Used).Append(",\"code_cache_written\":").Append(Compat32.Cpu.TranslationStore.Saved).Append("}}\n");
        return sb.ToString();
    }
}
