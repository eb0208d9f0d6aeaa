using System.Text;
using Compat32.Entry;
using Compat32.Kernel;

namespace Compat32.Debug;

/// <summary>The --stats table and --stats-json document: entries and exits by method, and why IRET was used
/// after a fast (SYSENTER/SYSCALL) entry.</summary>
public static class PathStats
{
    public static string Table(KernelModel k)
    {
        var s = k.Stats;
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
        return sb.ToString();
    }

    public static string Json(KernelModel k)
    {
        var s = k.Stats;
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
        sb.Append("}}\n");
        return sb.ToString();
    }
}
