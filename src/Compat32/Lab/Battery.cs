using Compat32.Cpu;
using Compat32.Entry;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;
using static Compat32.Lab.LabGuest;

namespace Compat32.Lab;

public enum Verdict { Pass, Fail, NotApplicable }

/// <summary>One check's outcome on one design × model: a verdict and what was seen, in a few words.</summary>
public sealed record CheckResult(string Id, Verdict Verdict, string Seen);

/// <summary>
/// The lab's battery: small programs assembled here and run under a design × model, each answering one question
/// the 2015 thread or the kernel's selftests ask of an entry design.
/// </summary>
public static class Battery
{
    public static readonly (string Id, string Title)[] Checks =
    [
        ("regs", "ecx, edx, ebp, flags preserved across __kernel_vsyscall"),
        ("args", "the kernel sees ebx..ebp as the syscall's six arguments"),
        ("tracer", "ip a tracer sees at the syscall stop; is ip-2 an int $0x80?"),
        ("restart", "SA_RESTART read() interrupted by a signal restarts: where ip -= 2 lands"),
        ("restart-edit", "a restart honours registers changed before it (sigcontext edit, as ptrace_syscall does with SETREGS)"),
        ("eintr", "without SA_RESTART the read() returns -EINTR"),
        ("restart-block", "nanosleep() stopped and continued: restart_syscall through ip -= 2"),
        ("step", "TF single-stepping through __kernel_vsyscall: the trap after the kernel arrives at the right ip"),
        ("unwind", "the vDSO's CFI recovers the caller from every stepped instruction of the stub"),
        ("arg6", "all registers -1 then the fast entry instruction (syscall_arg_fault): EFAULT or worse?"),
        ("clone", "clone() through __kernel_vsyscall: words the child pops from its new stack"),
        ("symbol", "a program that finds __kernel_vsyscall by symbol, not AT_SYSINFO"),
        ("sigreturn", "sigreturn trampolines: entry instruction, signal-frame FDE"),
    ];

    const uint TF = 0x100;
    const uint ArithAndDf = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 | 0x200 | 0x2;

    /// <summary>The entry instruction __kernel_vsyscall uses on this design × model (null: int $0x80 only).</summary>
    public static EntryMethod FastEntry(EntryDesign d, CpuModel m) =>
        d is EntryDesign.Int80Only or EntryDesign.NoVdso ? EntryMethod.Int80 : Kernel.VdsoSetup.FastEntryOf(m);

    // ---- programs

    /// <summary>One call with the register pattern, then n getppid calls (the cost loop).</summary>
    public static byte[] CostProgram(int n) => Build(g =>
    {
        var a = g.A; var loop = a.CreateLabel();
        a.push(ArithAndDf); a.popfd();
        g.LoadPattern();
        a.mov(eax, 64);
        g.Vsyscall();
        g.StoreAll(0);
        a.mov(edi, n);
        a.Label(ref loop);
        a.mov(eax, 64); g.Vsyscall();
        a.dec(edi); a.jnz(loop);
        a.mov(__dword_ptr[(int)R(9)], esp);
    });

    /// <summary>read() on an empty pipe through __kernel_vsyscall, interrupted by SIGALRM after 100 ms; the
    /// handler records its sigcontext's ip/ecx/ebp, may edit ecx and ebp, and writes one byte into the pipe.</summary>
    public static byte[] RestartProgram(bool saRestart, bool edit, bool vdsoRestorer = false) => Build(g =>
    {
        var a = g.A; var done = a.CreateLabel();
        uint fds = D + 0x200, buf1 = D + 0x300, buf2 = D + 0x340, itv = D + 0x380, one = D + 0x390;
        a.mov(__dword_ptr[(int)one], (int)'!');
        g.SigAction(14, "handler", saRestart ? SA_RESTART : 0, ownRestorer: !vdsoRestorer);
        g.Sys(42, fds);
        a.mov(__dword_ptr[(int)itv + 12], 100_000);     // 100 ms: the read is blocked long before (LabRunner retries if not)
        g.Sys(104, 0, itv, 0);
        a.mov(esi, 0x1313_1313); a.mov(edi, 0x1414_1414); a.mov(ebp, 0x1515_1515);
        a.mov(eax, 3); a.mov(ebx, __dword_ptr[(int)fds]); a.mov(ecx, buf1); a.mov(edx, 1);
        g.Vsyscall();
        a.mov(__dword_ptr[(int)R(20)], eax);
        a.mov(__dword_ptr[(int)R(21)], ecx);
        a.mov(__dword_ptr[(int)R(22)], ebp);
        a.jmp(done);
        g.Mark("handler");                              // legacy frame: pretcode, sig, sigcontext at esp+8
        a.mov(eax, __dword_ptr[esp + 8 + 56]); a.mov(__dword_ptr[(int)R(23)], eax);
        a.mov(eax, __dword_ptr[esp + 8 + 40]); a.mov(__dword_ptr[(int)R(24)], eax);
        a.mov(eax, __dword_ptr[esp + 8 + 24]); a.mov(__dword_ptr[(int)R(25)], eax);
        if (edit)
        {
            a.mov(__dword_ptr[esp + 8 + 40], buf2);
            a.mov(__dword_ptr[esp + 8 + 24], 0x2525_2525);
        }
        a.mov(eax, 4); a.mov(ebx, __dword_ptr[(int)fds + 4]); a.mov(ecx, one); a.mov(edx, 1); a.@int(0x80);
        a.ret();
        a.Label(ref done);
    });

    /// <summary>nanosleep({0, 300 ms}) through __kernel_vsyscall with the register pattern in esi/edi/ebp; the lab stops
    /// and continues the process while it sleeps (-ERESTART_RESTARTBLOCK, no handler: restart_syscall).</summary>
    public static byte[] NanosleepProgram() => Build(g =>
    {
        var a = g.A;
        uint ts = D + 0x200;
        a.mov(__dword_ptr[(int)ts], 0); a.mov(__dword_ptr[(int)ts + 4], 300_000_000);
        a.mov(esi, 0x1313_1313); a.mov(edi, 0x1414_1414); a.mov(ebp, 0x1515_1515);
        a.mov(eax, 162); a.mov(ebx, ts); a.xor(ecx, ecx);
        g.Vsyscall();
        a.mov(__dword_ptr[(int)R(60)], eax);
        a.mov(__dword_ptr[(int)R(61)], ebp);
    });

    /// <summary>getppid through __kernel_vsyscall with TF set; the SIGTRAP handler logs ip, esp, ebp, ecx, edx and
    /// five stack words per trap (<see cref="TrapLog"/>).</summary>
    public static byte[] StepProgram() => Build(g =>
    {
        var a = g.A; var full = a.CreateLabel(); var copy = a.CreateLabel(); var done = a.CreateLabel();
        a.mov(__dword_ptr[(int)TrapLog], 0);
        g.SigAction(5, "trap", 0);
        g.LoadPattern();
        a.mov(eax, 64);
        a.pushfd(); a.or(__dword_ptr[esp], (int)TF); a.popfd();
        g.Vsyscall();
        g.Mark("after");
        a.pushfd(); a.and(__dword_ptr[esp], ~(int)TF); a.popfd();
        g.StoreAll(0);
        a.mov(__dword_ptr[(int)R(10)], g.Addr("after"));
        a.jmp(done);
        g.Mark("trap");
        a.mov(ecx, __dword_ptr[(int)TrapLog]);
        a.cmp(ecx, 60); a.jae(full);
        a.imul(edi, ecx, 40); a.add(edi, TrapLog + 4);
        a.mov(eax, __dword_ptr[esp + 8 + 56]); a.mov(__dword_ptr[edi], eax);
        a.mov(esi, __dword_ptr[esp + 8 + 28]); a.mov(__dword_ptr[edi + 4], esi);
        a.mov(eax, __dword_ptr[esp + 8 + 24]); a.mov(__dword_ptr[edi + 8], eax);
        a.mov(eax, __dword_ptr[esp + 8 + 40]); a.mov(__dword_ptr[edi + 12], eax);
        a.mov(eax, __dword_ptr[esp + 8 + 36]); a.mov(__dword_ptr[edi + 16], eax);
        a.xor(edx, edx);
        a.Label(ref copy);
        a.mov(eax, __dword_ptr[esi + edx * 4]); a.mov(__dword_ptr[edi + edx * 4 + 20], eax);
        a.inc(edx); a.cmp(edx, 5); a.jb(copy);
        a.inc(__dword_ptr[(int)TrapLog]);
        a.Label(ref full);
        a.ret();
        a.Label(ref done);
    });

    /// <summary>syscall_arg_fault's shape: an alternate signal stack, every register -1, the raw entry instruction.</summary>
    public static byte[] Arg6Program(EntryMethod how) => Build(g =>
    {
        var a = g.A;
        uint ss = D + 0x700;
        a.mov(__dword_ptr[(int)ss], AltStack); a.mov(__dword_ptr[(int)ss + 4], 0); a.mov(__dword_ptr[(int)ss + 8], 0x4000);
        g.Sys(186, ss, 0);
        foreach (int sig in new[] { 11, 4, 7 }) g.SigAction(sig, "fault", SA_ONSTACK);
        a.mov(__dword_ptr[(int)R(31)], 0);
        a.mov(eax, 64);
        a.mov(ebx, -1); a.mov(ecx, -1); a.mov(edx, -1); a.mov(esi, -1); a.mov(edi, -1); a.mov(ebp, -1); a.mov(esp, -1);
        if (how == EntryMethod.Sysenter) a.sysenter(); else a.syscall();
        g.Mark("returned");
        a.mov(__dword_ptr[(int)R(30)], eax);
        a.mov(__dword_ptr[(int)R(31)], 1);
        g.Exit(0);
        g.Mark("fault");
        a.mov(eax, __dword_ptr[esp + 4]); a.mov(__dword_ptr[(int)R(32)], eax);
        a.mov(eax, __dword_ptr[esp + 8 + 44]); a.mov(__dword_ptr[(int)R(33)], eax);
        a.mov(eax, __dword_ptr[esp + 8 + 56]); a.mov(__dword_ptr[(int)R(34)], eax);
        a.mov(__dword_ptr[(int)R(31)], 2);
        g.Exit(0);
    });

    /// <summary>clone(SIGCHLD, new stack) through __kernel_vsyscall. The new stack holds the addresses of L0..L5;
    /// Lk exits with 10+k, so the child's status says how many words the stub popped before its `ret`.</summary>
    public static byte[] CloneProgram() => Build(g =>
    {
        var a = g.A; var parent = a.CreateLabel();
        for (int k = 0; k < 6; k++) a.mov(__dword_ptr[(int)(ChildStack + 4 * k)], g.Addr("L" + k));
        a.mov(eax, 120); a.mov(ebx, 17); a.mov(ecx, ChildStack); a.xor(edx, edx); a.xor(esi, esi); a.xor(edi, edi);
        g.Vsyscall();
        a.mov(__dword_ptr[(int)R(41)], eax);
        a.test(eax, eax); a.jnz(parent);
        g.Exit(99);                                      // the child came back to the caller: impossible here
        a.Label(ref parent);
        g.Sys(114, 0xFFFF_FFFF, D + 0x400, 0, 0);        // wait4(-1, &status, 0, NULL)
        a.mov(eax, __dword_ptr[(int)D + 0x400]); a.mov(__dword_ptr[(int)R(40)], eax);
        g.Exit(0);
        for (int k = 0; k < 6; k++) { g.Mark("L" + k); g.Exit(10 + k); }
    });

    /// <summary>Walks AT_SYSINFO_EHDR's PT_DYNAMIC → DT_SYMTAB/DT_STRTAB/DT_HASH for a defined __kernel_vsyscall
    /// (what parse_vdso.c does); calls it, else the program's own int $0x80.</summary>
    public static byte[] SymbolProgram() => Build(g =>
    {
        var a = g.A;
        Label notFound = a.CreateLabel(), ph = a.CreateLabel(), gotDyn = a.CreateLabel(), dyn = a.CreateLabel(),
            dynNext = a.CreateLabel(), dynDone = a.CreateLabel(), sym = a.CreateLabel(), next = a.CreateLabel(),
            call = a.CreateLabel(), t6 = a.CreateLabel(), t5 = a.CreateLabel();
        uint symtab = D + 0x500, strtab = D + 0x504, hash = D + 0x508, target = D + 0x50C, name = D + 0x520;
        byte[] nm = "__kernel_vsyscall\0"u8.ToArray();
        for (int i = 0; i < nm.Length; i++) a.mov(__byte_ptr[(int)name + i], nm[i]);
        a.mov(__dword_ptr[(int)hash], 0);
        a.mov(esi, __dword_ptr[(int)D + 4]);
        a.test(esi, esi); a.jz(notFound);
        a.mov(eax, __dword_ptr[esi + 28]); a.add(eax, esi);
        a.movzx(ecx, __word_ptr[esi + 44]);
        a.Label(ref ph);
        a.cmp(__dword_ptr[eax], 2); a.je(gotDyn);
        a.add(eax, 32); a.dec(ecx); a.jnz(ph);
        a.jmp(notFound);
        a.Label(ref gotDyn);
        a.mov(ebx, __dword_ptr[eax + 8]); a.add(ebx, esi);
        a.Label(ref dyn);
        a.mov(eax, __dword_ptr[ebx]);
        a.test(eax, eax); a.jz(dynDone);
        a.mov(ecx, __dword_ptr[ebx + 4]); a.add(ecx, esi);
        a.cmp(eax, 6); a.jne(t6); a.mov(__dword_ptr[(int)symtab], ecx); a.Label(ref t6);
        a.cmp(eax, 5); a.jne(t5); a.mov(__dword_ptr[(int)strtab], ecx); a.Label(ref t5);
        a.cmp(eax, 4); a.jne(dynNext); a.mov(__dword_ptr[(int)hash], ecx);
        a.Label(ref dynNext);
        a.add(ebx, 8); a.jmp(dyn);
        a.Label(ref dynDone);
        a.mov(ecx, __dword_ptr[(int)hash]); a.test(ecx, ecx); a.jz(notFound);
        a.mov(ecx, __dword_ptr[ecx + 4]);                // nchain = number of symbols
        a.mov(ebx, __dword_ptr[(int)symtab]);
        a.mov(edx, 1);
        a.Label(ref sym);
        a.cmp(edx, ecx); a.jae(notFound);
        a.mov(eax, edx); a.shl(eax, 4); a.add(eax, ebx);
        a.cmp(__word_ptr[eax + 14], 0); a.je(next);      // SHN_UNDEF: not a definition
        a.mov(edi, __dword_ptr[eax]); a.add(edi, __dword_ptr[(int)strtab]);
        a.push(esi); a.push(ecx);
        a.mov(esi, name); a.mov(ecx, nm.Length);
        a.cld(); a.repe.cmpsb(); 
        a.pop(ecx); a.pop(esi);
        a.jne(next);
        a.mov(eax, __dword_ptr[eax + 4]); a.add(eax, esi);
        a.mov(__dword_ptr[(int)R(50)], eax);
        a.jmp(call);
        a.Label(ref next);
        a.inc(edx); a.jmp(sym);
        a.Label(ref notFound);
        a.mov(__dword_ptr[(int)R(50)], 0);
        a.mov(eax, g.Addr("int80"));
        a.Label(ref call);
        a.mov(__dword_ptr[(int)target], eax);
        a.mov(eax, 64);
        a.call(__dword_ptr[(int)target]);
        a.mov(__dword_ptr[(int)R(51)], eax);
    });
}
