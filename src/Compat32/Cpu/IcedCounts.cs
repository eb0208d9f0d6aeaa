namespace Compat32.Cpu;

/// <summary>
/// The sizes of Iced's enums, as constants. Enum.GetValues on Code (4936 members) is reflection over metadata in a
/// Native AOT build and cost about 4 ms of every start; the per-code tables built at start-up use these instead.
/// IcedCountsTests checks them against Enum.GetValues (an Iced upgrade that adds members fails there).
/// </summary>
internal static class IcedCounts
{
    public const int Code = (int)Iced.Intel.Code.VEX_Vsm3rnds2_xmm_xmm_xmmm128_imm8 + 1;
    public const int Register = (int)Iced.Intel.Register.DontUseFF + 1;
    public const int Mnemonic = (int)Iced.Intel.Mnemonic.Vsm4rnds4 + 1;
}
