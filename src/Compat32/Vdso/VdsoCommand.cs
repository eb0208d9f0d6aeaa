namespace Compat32.Vdso;

/// <summary>CLI-independent entry point: dump a vDSO image (what a guest sees at AT_SYSINFO_EHDR) to a file.</summary>
public static class VdsoCommand
{
    /// <summary>Writes the page-padded image; readelf/objdump/gdb accept it as linux-gate.so.1.</summary>
    public static void Write(string path, VdsoImage img)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(img);
        File.WriteAllBytes(path, img.Data);
    }
}
