using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Compat32.Vdso;

/// <summary>
/// The [vvar] area below the vDSO and <c>struct vdso_data</c> as the i386 vDSO of Linux 6.1 reads it
/// (include/vdso/datapage.h, arch/x86/include/asm/vvar.h, vdso-layout.lds.S). All offsets live here so the
/// guest code (<see cref="Vdso32Source"/>) and the host writer (<see cref="VvarData"/>) cannot disagree.
/// Every u64 in vdso_data is already 8-byte aligned, so the i386 (4-byte u64 alignment) and x86-64 layouts agree.
/// </summary>
public static class VvarLayout
{
    public const int PageSize = 4096;
    /// <summary>[vvar] is 4 pages: data page, pvclock, hvclock, timens (vdso-layout.lds.S).</summary>
    public const int Pages = 4;
    public const int Size = Pages * PageSize;
    /// <summary>vvar_start relative to the vDSO base (vdso2c's sym_vvar_start).</summary>
    public const int VvarStart = -Size;
    public const int VvarPage = VvarStart;
    public const int PvclockPage = VvarStart + PageSize;
    public const int HvclockPage = VvarStart + 2 * PageSize;
    public const int TimensPage = VvarStart + 3 * PageSize;

    /// <summary>DECLARE_VVAR(128, struct vdso_data, _vdso_data) in asm/vvar.h.</summary>
    public const int VdsoDataOffset = 0x80;

    // struct vdso_data field offsets (datapage.h, 6.1).
    public const int Seq = 0;            // u32
    public const int ClockMode = 4;      // s32
    public const int CycleLast = 8;      // u64
    public const int Mask = 16;          // u64
    public const int Mult = 24;          // u32
    public const int Shift = 28;         // u32
    public const int Basetime = 32;      // struct vdso_timestamp basetime[VDSO_BASES] (also timens offset[])
    public const int TimestampSize = 16; // { u64 sec; u64 nsec; }
    public const int VdsoBases = 12;     // CLOCK_TAI + 1
    public const int TzMinuteswest = Basetime + VdsoBases * TimestampSize; // 224
    public const int TzDsttime = TzMinuteswest + 4;                       // 228
    public const int HrtimerRes = TzDsttime + 4;                          // 232
    public const int Unused = HrtimerRes + 4;                             // 236
    /// <summary>sizeof(struct vdso_data); x86 has no arch_vdso_data.</summary>
    public const int VdsoDataSize = Unused + 4;                           // 240

    /// <summary>vdso_data[CS_BASES]: [0] = CS_HRES_COARSE, [1] = CS_RAW.</summary>
    public const int CsHresCoarse = 0, CsRaw = 1, CsBases = 2;

    // enum vdso_clock_mode (include/vdso/clocksource.h + asm/vdso/clocksource.h).
    public const int ClockModeNone = 0, ClockModeTsc = 1, ClockModePvclock = 2, ClockModeHvclock = 3;
    public const int ClockModeTimens = int.MaxValue;

    // Clock ids (uapi/linux/time.h) and the vDSO clock classes (datapage.h).
    public const int ClockRealtime = 0, ClockMonotonic = 1, ClockMonotonicRaw = 4, ClockRealtimeCoarse = 5,
        ClockMonotonicCoarse = 6, ClockBoottime = 7, ClockTai = 11, MaxClocks = 16;
    public const uint VdsoHres = (1u << ClockRealtime) | (1u << ClockMonotonic) | (1u << ClockBoottime) | (1u << ClockTai);
    public const uint VdsoCoarse = (1u << ClockRealtimeCoarse) | (1u << ClockMonotonicCoarse);
    public const uint VdsoRaw = 1u << ClockMonotonicRaw;

    /// <summary>LOW_RES_NSEC = TICK_NSEC for Debian's CONFIG_HZ=250 (clock_getres of the COARSE clocks).</summary>
    public const uint LowResNsec = (1_000_000_000 + 250 / 2) / 250;

    /// <summary>Link-time address (relative to the vDSO base) of vdso_data[cs].</summary>
    public static int VdsoDataAddress(int cs = CsHresCoarse) => VvarPage + VdsoDataOffset + cs * VdsoDataSize;

    /// <summary>Offset of basetime[clock].sec (nsec is +8) inside one vdso_data.</summary>
    public static int BasetimeOffset(int clock) => Basetime + clock * TimestampSize;
}

/// <summary>
/// Host-side writer for the vvar data page (the kernel's update_vsyscall / vdso_write_begin/end in
/// kernel/time/vsyscall.c and include/vdso/helpers.h). Usage from the kernel model, for every update:
/// <code>
/// var v = new VvarData(vvarPage);  // span starting at vvar_start (the first vvar page)
/// v.BeginWrite();                   // seq of both vdso_data bases becomes odd: readers spin / retry
/// v.SetCycles(...); v.SetBasetime(...); ...
/// v.EndWrite();                     // seq even again: readers accept the snapshot
/// </code>
/// Barriers around the seq writes give release ordering to guest threads running on other host threads.
/// With clock_mode == NONE the guest's high-resolution calls take the syscall fallback, which is the
/// simplest correct configuration; TSC mode requires the emulated RDTSC to match cycle_last/mult/shift.
/// </summary>
public readonly ref struct VvarData
{
    private readonly Span<byte> _page;

    /// <param name="vvar">At least the first vvar page (offset 0 = vvar_start).</param>
    public VvarData(Span<byte> vvar)
    {
        if (vvar.Length < VvarLayout.VdsoDataOffset + VvarLayout.CsBases * VvarLayout.VdsoDataSize)
            throw new ArgumentException("vvar span too small for vdso_data[CS_BASES]", nameof(vvar));
        _page = vvar;
    }

    private Span<byte> Vd(int cs)
    {
        if ((uint)cs >= VvarLayout.CsBases) throw new ArgumentOutOfRangeException(nameof(cs));
        return _page.Slice(VvarLayout.VdsoDataOffset + cs * VvarLayout.VdsoDataSize, VvarLayout.VdsoDataSize);
    }

    public uint Seq(int cs = VvarLayout.CsHresCoarse) => Volatile.Read(ref U32(Vd(cs), VvarLayout.Seq));

    private static ref uint U32(Span<byte> s, int off) => ref Unsafe.As<byte, uint>(ref s[off]);

    /// <summary>vdso_write_begin: bump seq of both bases to odd, then a write barrier.</summary>
    public void BeginWrite()
    {
        for (int cs = 0; cs < VvarLayout.CsBases; cs++)
        {
            ref uint seq = ref U32(Vd(cs), VvarLayout.Seq);
            Volatile.Write(ref seq, seq + 1);
        }
        Interlocked.MemoryBarrier();
    }

    /// <summary>vdso_write_end: write barrier, then bump seq of both bases back to even.</summary>
    public void EndWrite()
    {
        Interlocked.MemoryBarrier();
        for (int cs = 0; cs < VvarLayout.CsBases; cs++)
        {
            ref uint seq = ref U32(Vd(cs), VvarLayout.Seq);
            Volatile.Write(ref seq, seq + 1);
        }
    }

    public void SetClockMode(int mode)
    {
        for (int cs = 0; cs < VvarLayout.CsBases; cs++)
            BinaryPrimitives.WriteInt32LittleEndian(Vd(cs)[VvarLayout.ClockMode..], mode);
    }

    /// <summary>Clocksource conversion for one base (kernel: update_vdso_data from tk->tkr_mono / tkr_raw).</summary>
    public void SetCycles(int cs, ulong cycleLast, ulong mask, uint mult, uint shift)
    {
        var vd = Vd(cs);
        BinaryPrimitives.WriteUInt64LittleEndian(vd[VvarLayout.CycleLast..], cycleLast);
        BinaryPrimitives.WriteUInt64LittleEndian(vd[VvarLayout.Mask..], mask);
        BinaryPrimitives.WriteUInt32LittleEndian(vd[VvarLayout.Mult..], mult);
        BinaryPrimitives.WriteUInt32LittleEndian(vd[VvarLayout.Shift..], shift);
    }

    /// <summary>basetime[clock]. For HRES/RAW clocks nsec is shifted left by the base's shift
    /// (tk->tkr_mono.xtime_nsec); for the COARSE clocks it is plain nanoseconds.</summary>
    public void SetBasetime(int cs, int clock, ulong sec, ulong nsec)
    {
        if ((uint)clock >= VvarLayout.VdsoBases) throw new ArgumentOutOfRangeException(nameof(clock));
        var ts = Vd(cs)[VvarLayout.BasetimeOffset(clock)..];
        BinaryPrimitives.WriteUInt64LittleEndian(ts, sec);
        BinaryPrimitives.WriteUInt64LittleEndian(ts[8..], nsec);
    }

    public void SetTimezone(int minuteswest, int dsttime)
    {
        var vd = Vd(VvarLayout.CsHresCoarse);
        BinaryPrimitives.WriteInt32LittleEndian(vd[VvarLayout.TzMinuteswest..], minuteswest);
        BinaryPrimitives.WriteInt32LittleEndian(vd[VvarLayout.TzDsttime..], dsttime);
    }

    public void SetHrtimerRes(uint ns) =>
        BinaryPrimitives.WriteUInt32LittleEndian(Vd(VvarLayout.CsHresCoarse)[VvarLayout.HrtimerRes..], ns);

    /// <summary>
    /// clocks_calc_mult_shift (kernel/time/clocksource.c): mult/shift converting <paramref name="from"/> Hz to
    /// <paramref name="to"/> Hz such that maxSec seconds of cycles do not overflow 64 bits.
    /// </summary>
    public static (uint Mult, uint Shift) CalcMultShift(uint from, uint to, uint maxSec)
    {
        ulong tmp = ((ulong)maxSec * from) >> 32;
        uint sftacc = 32;
        while (tmp != 0) { tmp >>= 1; sftacc--; }
        uint sft;
        for (sft = 32; sft > 0; sft--)
        {
            tmp = ((ulong)to << (int)sft) + from / 2;
            tmp /= from;
            if ((tmp >> (int)sftacc) == 0) break;
        }
        return ((uint)tmp, sft);
    }
}
