namespace Compat32.Entry;

/// <summary>Counts of transitions across the privilege boundary, by method (what --stats prints).</summary>
public sealed class EntryStats
{
    public readonly long[] Entries = new long[3];   // by EntryMethod
    public readonly long[] Exits = new long[3];     // by ExitMethod
    public readonly long[] IretReasons = new long[(int)IretReason.R11 + 1]; // R11 is the last member (IcedCountsTests)

    public static string ReasonName(IretReason r) => r switch
    {
        IretReason.Arg6Fault => "arg6_fault",
        IretReason.TrapFlag => "tf_set",
        IretReason.ResumeFlag => "rf_set",
        IretReason.Restart => "restart",
        IretReason.SignalDelivery => "signal_delivery",
        IretReason.Sigreturn => "sigreturn",
        IretReason.Execve => "execve",
        IretReason.IpMoved => "ip_moved",
        IretReason.Segments => "segments",
        IretReason.Vm86 => "vm86",
        IretReason.NoSep => "no_sep",
        IretReason.Work => "exit_work",
        IretReason.R11 => "r11_not_flags",
        _ => "none",
    };

    public void Add(EntryStats o)
    {
        for (int i = 0; i < Entries.Length; i++) Entries[i] += o.Entries[i];
        for (int i = 0; i < Exits.Length; i++) Exits[i] += o.Exits[i];
        for (int i = 0; i < IretReasons.Length; i++) IretReasons[i] += o.IretReasons[i];
    }
}
