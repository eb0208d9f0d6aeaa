using Compat32.Vdso;
using Xunit;

namespace Compat32.Tests.Vdso;

/// <summary>apply_alternatives on the vsyscall site for the five machines of spec §1.</summary>
public class AlternativesTests
{
    public static TheoryData<string, VdsoTarget, int[], bool, string, string> Machines => new()
    {
        { "64-bit kernel, Intel", VdsoTarget.Kernel64, [X86Feature.Sep, X86Feature.Sysenter32, X86Feature.LfenceRdtsc, X86Feature.Rdtscp], true, "89 e5 0f 34", "0f 01 f9 66 90" },
        { "64-bit kernel, Intel without RDTSCP", VdsoTarget.Kernel64, [X86Feature.Sysenter32, X86Feature.LfenceRdtsc], true, "89 e5 0f 34", "0f ae e8 0f 31" },
        { "64-bit kernel, AMD", VdsoTarget.Kernel64, [X86Feature.Sep, X86Feature.Syscall32, X86Feature.Rdtscp], true, "89 cd 0f 05", "0f 01 f9 66 90" },
        { "64-bit kernel, neither", VdsoTarget.Kernel64, [], true, "0f 1f 40 00", "0f 31 0f 1f 00" },
        { "32-bit kernel, SEP", VdsoTarget.Kernel32, [X86Feature.Sep], false, "89 e5 0f 34", "0f 31 8d 76 00" },
        { "32-bit kernel, no SEP", VdsoTarget.Kernel32, [], false, "8d 74 26 00", "0f 31 8d 76 00" },
    };

    private static string Hex(ReadOnlySpan<byte> b) => string.Join(" ", b.ToArray().Select(x => x.ToString("x2")));

    private static (byte[] Img, VdsoImage Rec) Patched(VdsoTarget t, int[] features, bool longNops)
    {
        var rec = t == VdsoTarget.Kernel64 ? VdsoTestUtil.Image64 : VdsoTestUtil.Image32;
        var img = (byte[])rec.Data.Clone();
        Alternatives.Apply(img, rec, features.Contains, longNops);
        return (img, rec);
    }

    [Theory]
    [MemberData(nameof(Machines))]
    public void SitePatchedPerMachine(string machine, VdsoTarget t, int[] features, bool longNops, string site, string rdtsc)
    {
        var (img, rec) = Patched(t, features, longNops);
        int s = rec.SymKernelVsyscall + 3;
        Assert.True(site == Hex(img.AsSpan(s, 4)), machine);
        Assert.Equal("51 52 55", Hex(img.AsSpan(rec.SymKernelVsyscall, 3)));
        Assert.Equal("cd 80 5d 5a 59 c3", Hex(img.AsSpan(s + 4, 6)));
        var rd = Alternatives.Read(img, rec).Single(a => a.Feature == X86Feature.Rdtscp);
        Assert.Equal(rdtsc, Hex(img.AsSpan(rd.InstrOffset, rd.InstrLen)));
        // Only alternatives sites change.
        var sites = Alternatives.Read(img, rec).Select(a => (a.InstrOffset, a.InstrLen)).Distinct().ToList();
        for (int i = 0; i < img.Length; i++)
            if (!sites.Any(x => i >= x.InstrOffset && i < x.InstrOffset + x.InstrLen)) Assert.Equal(rec.Data[i], img[i]);
    }

    [Theory]
    [MemberData(nameof(Machines))]
    public void ObjdumpShowsPatchedSequence(string machine, VdsoTarget t, int[] features, bool longNops, string site, string rdtsc)
    {
        _ = rdtsc;
        var (img, _) = Patched(t, features, longNops);
        var f = VdsoTestUtil.WriteTemp($"patched-{machine.Replace(' ', '_').Replace(',', '_')}.so", img);
        var (code, o, err) = VdsoTestUtil.Run("objdump", "-d", "--no-show-raw-insn", f);
        Assert.Equal(0, code);
        Assert.Equal("", err.Trim());
        var body = o.Split("<__kernel_vsyscall>:")[1].Split("<int80_landing_pad>:")[0];
        string[] want = site switch
        {
            "89 e5 0f 34" => ["mov    %esp,%ebp", "sysenter", "int    $0x80"],
            "89 cd 0f 05" => ["mov    %ecx,%ebp", "syscall", "int    $0x80"],
            "0f 1f 40 00" => ["nopl   0x0(%eax)", "int    $0x80"],
            _ => ["lea    0x0(%esi,%eiz,1),%esi", "int    $0x80"],
        };
        int at = 0;
        foreach (var w in want) { at = body.IndexOf(w, at, StringComparison.Ordinal); Assert.True(at >= 0, $"{machine}: missing '{w}' in\n{body}"); }
    }

    [Fact]
    public void TableMatchesSystemCallS()
    {
        var rec = VdsoTestUtil.Image64;
        var e = Alternatives.Read(rec.Data, rec);
        // ALTERNATIVE_2 "", SYSENTER_SEQUENCE, X86_FEATURE_SYSENTER32, SYSCALL_SEQUENCE, X86_FEATURE_SYSCALL32
        Assert.Equal(X86Feature.Sysenter32, e[0].Feature);
        Assert.Equal(X86Feature.Syscall32, e[1].Feature);
        Assert.All(e.Take(2), a => { Assert.Equal(rec.SymKernelVsyscall + 3, a.InstrOffset); Assert.Equal(4, a.InstrLen); Assert.Equal(4, a.ReplLen); });
        Assert.Equal("89 e5 0f 34", Hex(rec.Data.AsSpan(e[0].ReplOffset, 4)));
        Assert.Equal("89 cd 0f 05", Hex(rec.Data.AsSpan(e[1].ReplOffset, 4)));
        Assert.Equal(111, BitConverter.ToUInt16(rec.Data, rec.AltOffset + 8)); // 3*32+15
        Assert.Equal(110, BitConverter.ToUInt16(rec.Data, rec.AltOffset + 20));
        var e32 = Alternatives.Read(VdsoTestUtil.Image32.Data, VdsoTestUtil.Image32);
        Assert.Equal(X86Feature.Sep, e32[0].Feature);
        Assert.Equal(e32[0].InstrOffset, VdsoTestUtil.Image32.SymKernelVsyscall + 3);
    }

    [Fact]
    public void LaterMatchOverwritesEarlier()
    {
        var (img, rec) = Patched(VdsoTarget.Kernel64, [X86Feature.Sysenter32, X86Feature.Syscall32], true);
        Assert.Equal("89 cd 0f 05", Hex(img.AsSpan(rec.SymKernelVsyscall + 3, 4)));
    }

    [Fact]
    public void GasPaddingIsOptimizedLikeTheKernel()
    {
        // The kernel's own image carries 0x90 padding; optimize_nops turns it into the compiled-in table.
        var rec = VdsoTestUtil.Image64;
        foreach (var (longNops, want) in new[] { (true, "0f 1f 40 00"), (false, "8d 74 26 00") })
        {
            var img = (byte[])rec.Data.Clone();
            img.AsSpan(rec.SymKernelVsyscall + 3, 4).Fill(0x90);
            Alternatives.Apply(img, rec, _ => false, longNops);
            Assert.Equal(want, Hex(img.AsSpan(rec.SymKernelVsyscall + 3, 4)));
        }
    }

    [Fact]
    public void CorruptTableIsRejected()
    {
        var rec = VdsoTestUtil.Image64;
        var img = (byte[])rec.Data.Clone();
        BitConverter.GetBytes(0x7fff0000).CopyTo(img, rec.AltOffset);
        Assert.Throws<VdsoFormatException>(() => Alternatives.Apply(img, rec, _ => true, true));
    }
}
