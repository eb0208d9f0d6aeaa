using Compat32.Vdso;
using Xunit;

namespace Compat32.Tests.Vdso;

/// <summary>The built image as binutils sees it (the shape of vdso32.lds.S / vdso-layout.lds.S).</summary>
public class VdsoElfTests
{
    private static string Ours(VdsoTarget t = VdsoTarget.Kernel64) =>
        VdsoTestUtil.WriteTemp($"vdso32-{t}.so", t == VdsoTarget.Kernel64 ? VdsoTestUtil.Image64.Data : VdsoTestUtil.Image32.Data);

    [Theory]
    [InlineData(VdsoTarget.Kernel64)]
    [InlineData(VdsoTarget.Kernel32)]
    public void ReadelfAndObjdumpAcceptWithoutWarnings(VdsoTarget t)
    {
        Assert.True(VdsoTestUtil.HaveTool("readelf") && VdsoTestUtil.HaveTool("objdump"), "binutils (readelf/objdump) required");
        var f = Ours(t);
        foreach (var args in new[] { new[] { "-a", "-W", f }, ["--dyn-syms", "-V", "-W", f], ["--debug-dump=frames", f] })
        {
            var (code, _, err) = VdsoTestUtil.Run("readelf", args);
            Assert.Equal(0, code);
            Assert.Equal("", err.Trim());
        }
        var d = VdsoTestUtil.Run("objdump", "-d", f);
        Assert.Equal(0, d.Code);
        Assert.Equal("", d.Err.Trim());
        Assert.DoesNotContain("(bad)", d.Out);
    }

    [Fact]
    public void ElfShape()
    {
        var (_, o, _) = VdsoTestUtil.Run("readelf", "-h", "-l", "-S", "-d", "-n", "-W", Ours());
        Assert.Contains("DYN (Shared object file)", o);
        Assert.Contains("Intel 80386", o);
        Assert.Contains($"Entry point address:               0x{VdsoTestUtil.Image64.SymKernelVsyscall:x}", o);
        var loads = o.Split('\n').Where(l => l.TrimStart().StartsWith("LOAD")).ToList();
        var load = Assert.Single(loads).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("0x000000", load[1]);
        Assert.Equal("0x00000000", load[2]);
        Assert.Equal(load[4], load[5]); // filesz == memsz
        Assert.Equal("R", load[6]); Assert.Equal("E", load[7]);
        foreach (var ph in new[] { "DYNAMIC", "NOTE", "GNU_EH_FRAME" }) Assert.Contains(ph, o);
        foreach (var s in new[] { ".hash", ".gnu.hash", ".dynsym", ".dynstr", ".gnu.version", ".gnu.version_d", ".dynamic",
                     ".rodata", ".note", ".eh_frame_hdr", ".eh_frame", ".text", ".altinstructions", ".altinstr_replacement", ".shstrtab" })
            Assert.Contains($"] {s} ", o.Replace("] ", "] ").Replace("]", "] ").Replace("]  ", "] "));
        Assert.Contains("Library soname: [linux-gate.so.1]", o);
        Assert.DoesNotContain("REL", o.Split("Dynamic section")[1].Split("Displaying notes")[0]);
        Assert.Contains("NT_GNU_BUILD_ID", o);
        Assert.Contains("b0 01 06 00", o); // LINUX_VERSION_CODE 6.1.176
        Assert.Equal(8192, VdsoTestUtil.Image64.Data.Length);
        Assert.Equal(8192, VdsoTestUtil.Image64.Size);
    }

    [Fact]
    public void VersionedDynamicSymbols()
    {
        var (_, o, _) = VdsoTestUtil.Run("readelf", "--dyn-syms", "-W", Ours());
        foreach (var s in new[] { "__kernel_vsyscall", "__kernel_sigreturn", "__kernel_rt_sigreturn" })
            Assert.Contains($" {s}@@LINUX_2.5", o);
        foreach (var s in new[] { "__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_clock_getres", "__vdso_clock_gettime64" })
            Assert.Contains($" {s}@@LINUX_2.6", o);
        Assert.DoesNotContain("getcpu", o);
        var v = VdsoTestUtil.Run("readelf", "-V", "-W", Ours()).Out;
        Assert.Contains("Flags: BASE  Index: 1  Cnt: 1  Name: linux-gate.so.1", v);
        Assert.Contains("Index: 2  Cnt: 1  Name: LINUX_2.6", v);
        Assert.Contains("Index: 3  Cnt: 1  Name: LINUX_2.5", v);
        var img = VdsoTestUtil.Image64;
        Assert.Equal(8, img.Symbols.Count);
        Assert.Equal("LINUX_2.5", img.SymbolVersions["__kernel_vsyscall"]);
        Assert.Equal("LINUX_2.6", img.SymbolVersions["__vdso_clock_gettime64"]);
    }

    [Fact]
    public void HashTablesFindEverySymbol()
    {
        // Independent lookups through .hash and .gnu.hash, the way ld.so finds vDSO symbols.
        var b = VdsoTestUtil.Image64.Data;
        uint U(int o) => BitConverter.ToUInt32(b, o);
        var secs = Sections(b);
        var (dynsym, dynstr, hash, gnu) = (secs[".dynsym"], secs[".dynstr"], secs[".hash"], secs[".gnu.hash"]);
        string Name(int i) { int o = (int)(dynstr + U(dynsym + 16 * i)); int e = Array.IndexOf(b, (byte)0, o); return System.Text.Encoding.ASCII.GetString(b, o, e - o); }
        foreach (var name in VdsoTestUtil.Image64.Symbols.Keys)
        {
            uint nb = U(hash), h = Vdso32Builder.ElfHash(name);
            int found = -1;
            for (uint i = U(hash + 8 + 4 * (int)(h % nb)); i != 0; i = U(hash + 8 + 4 * (int)nb + 4 * (int)i))
                if (Name((int)i) == name) { found = (int)i; break; }
            Assert.True(found > 0, $".hash misses {name}");

            uint gb = U(gnu), symoff = U(gnu + 4), bloomSz = U(gnu + 8), shift = U(gnu + 12), gh = Vdso32Builder.GnuHashOf(name);
            uint word = U(gnu + 16 + 4 * (int)((gh / 32) % bloomSz));
            Assert.True((word >> (int)(gh % 32) & 1) != 0 && (word >> (int)((gh >> (int)shift) % 32) & 1) != 0, $"bloom misses {name}");
            int chains = gnu + 16 + 4 * (int)bloomSz + 4 * (int)gb;
            uint idx = U(gnu + 16 + 4 * (int)bloomSz + 4 * (int)(gh % gb));
            int gfound = -1;
            for (; idx != 0; idx++)
            {
                uint ch = U(chains + 4 * (int)(idx - symoff));
                if ((ch | 1) == (gh | 1) && Name((int)idx) == name) { gfound = (int)idx; break; }
                if ((ch & 1) != 0) break;
            }
            Assert.Equal(found, gfound);
        }
    }

    internal static Dictionary<string, int> Sections(byte[] b)
    {
        int shoff = BitConverter.ToInt32(b, 32), n = BitConverter.ToUInt16(b, 48), str = BitConverter.ToUInt16(b, 50);
        int strOff = BitConverter.ToInt32(b, shoff + 40 * str + 16);
        var r = new Dictionary<string, int>();
        for (int i = 1; i < n; i++)
        {
            int o = strOff + BitConverter.ToInt32(b, shoff + 40 * i);
            int e = Array.IndexOf(b, (byte)0, o);
            r[System.Text.Encoding.ASCII.GetString(b, o, e - o)] = BitConverter.ToInt32(b, shoff + 40 * i + 16);
        }
        return r;
    }

    [Fact]
    public void FramesDumpShowsCfi()
    {
        var (_, o, _) = VdsoTestUtil.Run("readelf", "--debug-dump=frames", Ours());
        Assert.Contains("Augmentation:          \"zRS\"", o);
        Assert.Contains("DW_CFA_offset: r1 (ecx) at cfa-8", o);
        Assert.Contains("DW_CFA_offset: r2 (edx) at cfa-12", o);
        Assert.Contains("DW_CFA_offset: r5 (ebp) at cfa-16", o);
        Assert.Contains("DW_CFA_restore: r5 (ebp)", o);
        Assert.Contains("DW_CFA_def_cfa_expression (DW_OP_breg4 (esp): 32; DW_OP_deref)", o);
        Assert.Contains("DW_CFA_expression: r8 (eip) (DW_OP_breg4 (esp): 60)", o);
        Assert.Contains("DW_CFA_def_cfa_expression (DW_OP_breg4 (esp): 188; DW_OP_deref)", o);
        Assert.Contains("DW_CFA_expression: r8 (eip) (DW_OP_breg4 (esp): 216)", o);
        var img = VdsoTestUtil.Image64;
        Assert.Contains($"pc={img.SymKernelVsyscall:x8}..{img.SymInt80LandingPad + 4:x8}", o);
        Assert.Contains($"pc={img.SymKernelSigreturn - 1:x8}..{img.SymVdso32SigreturnLandingPad:x8}", o);
        // Each exported function has an FDE.
        foreach (var (_, addr) in img.Symbols) Assert.Contains($"pc={(addr == img.SymKernelSigreturn || addr == img.SymKernelRtSigreturn ? addr - 1 : addr):x8}..", o);
    }

    [Fact]
    public void ImageRecord()
    {
        var img = VdsoTestUtil.Image64;
        Assert.Equal(-16384, img.SymVvarStart);
        Assert.Equal(-12288, img.SymPvclockPage);
        Assert.Equal(img.SymKernelVsyscall + 9, img.SymInt80LandingPad); // 3 pushes + 4-byte site + int $0x80
        Assert.Equal(0x80cd, BitConverter.ToUInt16(img.Data, img.SymInt80LandingPad - 2));
        Assert.Equal(img.SymKernelSigreturn + 8, img.SymVdso32SigreturnLandingPad);
        Assert.Equal(img.SymKernelRtSigreturn + 7, img.SymVdso32RtSigreturnLandingPad);
        Assert.Equal(0x90, img.Data[img.SymKernelSigreturn - 1]);
        Assert.Equal(0x90, img.Data[img.SymKernelRtSigreturn - 1]);
        Assert.Equal(new byte[] { 0x58, 0xb8, 0x77, 0, 0, 0, 0xcd, 0x80 }, img.Data[img.SymKernelSigreturn..(img.SymKernelSigreturn + 8)]);
        Assert.Equal(new byte[] { 0xb8, 0xad, 0, 0, 0, 0xcd, 0x80 }, img.Data[img.SymKernelRtSigreturn..(img.SymKernelRtSigreturn + 7)]);
        Assert.Equal(".symtab", img.SymbolSource);
        Assert.Empty(img.Warnings);
        Assert.Equal(0, img.AltLength % 12);
    }

    [Fact]
    public void WriteProducesTheImage()
    {
        var p = Path.Combine(VdsoTestUtil.TempDir, "written.so");
        VdsoCommand.Write(p, VdsoTestUtil.Image64);
        Assert.Equal(VdsoTestUtil.Image64.Data, File.ReadAllBytes(p));
        var again = VdsoImage.FromElf(File.ReadAllBytes(p));
        Assert.Equal(VdsoTestUtil.Image64.SymInt80LandingPad, again.SymInt80LandingPad);
    }

    [Fact]
    public void BuildIsDeterministic() => Assert.Equal(Vdso32Builder.Build().Data, Vdso32Builder.Build().Data);
}
