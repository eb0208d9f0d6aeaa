using Compat32.Cpu;
using Compat32.Memory;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Compat32.Tests.Cpu;

/// <summary>The translator runs only on x86-64 Linux hosts: elsewhere these are reported skipped, not passed.</summary>
public sealed class JitFactAttribute : FactAttribute
{
    public JitFactAttribute() { if (!Jit.HostSupported) Skip = "the block translator needs an x86-64 Linux host"; }
}

public sealed class JitTheoryAttribute : TheoryAttribute
{
    public JitTheoryAttribute() { if (!Jit.HostSupported) Skip = "the block translator needs an x86-64 Linux host"; }
}

/// <summary>
/// Guest threads without the kernel: one AddressSpace, eight Processors on it, each on its own host thread, as
/// threads of one process run (CLONE_VM). Locked read-modify-writes must be atomic (SDM vol. 3 8.1.2), interpreted,
/// translated and mixed; stores into code by one thread must reach the others (cross-modifying code), never as a
/// torn or stale block; invalidations and code-buffer flushes must not disturb threads running shared blocks.
/// Each case repeats; a lost update, a torn block or a crash shows as a wrong total, a #UD, or an exception.
/// </summary>
public sealed unsafe class ConcurrencyTests
{
    const uint Code = 0x10000, Data = 0x20000, Stacks = 0x40000;
    const int Threads = 8;

    sealed class Space : IDisposable
    {
        public readonly AddressSpace Mem = new();
        public readonly Processor[] Cpus;
        public Space(byte[] code, Func<int, int> jitOf, Prot codeProt = Prot.Read | Prot.Exec, int threads = Threads)
        {
            Mem.Map(Code, 0x4000, Prot.Read | Prot.Write | Prot.Exec);
            Mem.Poke(Code, code);
            Mem.Protect(Code, 0x4000, codeProt);
            Mem.Map(Data, 0x2000, Prot.Read | Prot.Write);
            Mem.Map(Stacks, 0x1000 * (uint)threads, Prot.Read | Prot.Write);
            Cpus = new Processor[threads];
            for (int i = 0; i < threads; i++)
            {
                var c = new Processor(CpuModel.IntelModel, Mem, jitThreshold: jitOf(i));
                c.S.Eip = Code;
                c.S.R[CpuState.ESP] = Stacks + 0x1000 * (uint)i + 0xF00;
                Cpus[i] = c;
            }
        }
        public uint U32(uint a) { Mem.ReadU32(a, out uint v); return v; }
        public ulong U64(uint a) { Mem.ReadU64(a, out ulong v); return v; }
        public void Dispose() => Mem.Dispose();
    }

    /// <summary>Run each processor on its own thread until it reaches INT3 (its end); the first failure, if any, is
    /// thrown here. A processor that does not finish within the deadline fails the test.</summary>
    static void RunAll(Space s, Action<int, Processor>? setup = null, int seconds = 60, Action? alongside = null)
    {
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var start = new Barrier(s.Cpus.Length);
        var threads = new Thread[s.Cpus.Length];
        int running = s.Cpus.Length;
        for (int i = 0; i < s.Cpus.Length; i++)
        {
            int n = i;
            var cpu = s.Cpus[i];
            setup?.Invoke(n, cpu);
            threads[i] = new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    while (true)
                    {
                        var e = cpu.Run(1 << 20);
                        if (e == CpuExit.Exception)
                        {
                            if (cpu.Vector != Vec.BP) errors.Enqueue($"cpu {n}: vector {cpu.Vector} at {cpu.S.Eip:x8}");
                            break;
                        }
                        if (e != CpuExit.Budget && e != CpuExit.Stop) { errors.Enqueue($"cpu {n}: exit {e}"); break; }
                        if (DateTime.UtcNow > deadline) { errors.Enqueue($"cpu {n}: not done in {seconds} s (eip {cpu.S.Eip:x8}, eax {cpu.S.R[0]:x8}, ebx {cpu.S.R[3]:x8})"); break; }
                    }
                }
                catch (Exception ex) { errors.Enqueue($"cpu {n}: {ex}"); }
                finally { Interlocked.Decrement(ref running); }
            }) { IsBackground = true };
        }
        foreach (var t in threads) t.Start();
        alongside?.Invoke();
        foreach (var t in threads) t.Join();
        Assert.True(errors.IsEmpty, string.Join("\n", errors));
    }

    static byte[] Asm(Action<Assembler> build)
    {
        var a = new Assembler(32);
        build(a);
        var ms = new MemoryStream();
        a.Assemble(new StreamCodeWriter(ms), Code);
        return ms.ToArray();
    }

    /// <summary>ESI iterations of body, then INT3.</summary>
    static byte[] Loop(Action<Assembler> body) => Asm(a =>
    {
        var loop = a.CreateLabel();
        a.Label(ref loop);
        a.nop(); // the body may start with its own label
        body(a);
        a.dec(esi);
        a.jnz(loop);
        a.int3();
    });

    // ---------------------------------------------------------------- locked read-modify-writes

    public static readonly TheoryData<string> Counters = new()
    {
        "lock xadd", "lock inc", "lock add", "lock add byte", "lock sub word", "lock cmpxchg loop", "xchg spinlock",
        "lock cmpxchg8b", "lock bts/btr", "lock xadd misaligned", "lock xadd across quadwords",
        "lock inc across a cache line", "lock xadd across a page",
    };

    /// <summary>The program of a counter case, its counter's address and size, and what each iteration adds.</summary>
    static (byte[] code, uint at, int size, ulong per, ulong initial) Counter(string name) => name switch
    {
        "lock xadd" => (Loop(a => { a.mov(edx, 1); a.@lock.xadd(__dword_ptr[Data], edx); }), Data, 4, 1, 0),
        "lock inc" => (Loop(a => a.@lock.inc(__dword_ptr[Data + 0x40])), Data + 0x40, 4, 1, 0),
        "lock add" => (Loop(a => a.@lock.add(__dword_ptr[Data + 0x80], 3)), Data + 0x80, 4, 3, 0),
        "lock add byte" => (Loop(a => a.@lock.add(__byte_ptr[Data + 0xC1], 1)), Data + 0xC1, 1, 1, 0),
        "lock sub word" => (Loop(a => a.@lock.sub(__word_ptr[Data + 0x102], 1)), Data + 0x102, 2, 0xFFFF, 0),
        "lock cmpxchg loop" => (Loop(a =>
        {
            var retry = a.CreateLabel();
            a.Label(ref retry);
            a.mov(eax, __dword_ptr[Data + 0x140]);
            a.lea(edx, __dword_ptr[eax + 1]);
            a.@lock.cmpxchg(__dword_ptr[Data + 0x140], edx);
            a.jnz(retry);
        }), Data + 0x140, 4, 1, 0),
        // A test-and-set lock around a plain (non-atomic) read, increment and write.
        "xchg spinlock" => (Loop(a =>
        {
            var acquire = a.CreateLabel();
            a.Label(ref acquire);
            a.mov(eax, 1);
            a.xchg(__dword_ptr[Data + 0x180], eax);
            a.test(eax, eax);
            a.jnz(acquire);
            a.mov(eax, __dword_ptr[Data + 0x184]);
            a.add(eax, 1);
            a.mov(__dword_ptr[Data + 0x184], eax);
            a.mov(__dword_ptr[Data + 0x180], 0);
        }), Data + 0x184, 4, 1, 0),
        // A 64-bit counter starting just below 2^32, so the carry into the high half races too.
        "lock cmpxchg8b" => (Loop(a =>
        {
            var retry = a.CreateLabel();
            a.Label(ref retry);
            a.mov(eax, __dword_ptr[Data + 0x1C0]);
            a.mov(edx, __dword_ptr[Data + 0x1C4]);
            a.mov(ebx, eax);
            a.mov(ecx, edx);
            a.add(ebx, 1);
            a.adc(ecx, 0);
            a.@lock.cmpxchg8b(__qword_ptr[Data + 0x1C0]);
            a.jnz(retry);
        }), Data + 0x1C0, 8, 1, 0xFFFF_F000),
        // Each thread owns one bit (its number in EDI) of a shared word: set, then clear; another word counts.
        "lock bts/btr" => (Loop(a =>
        {
            a.mov(edx, 1);  // a translatable head (BTS with a register offset is the interpreter's)
            a.@lock.xadd(__dword_ptr[Data + 0x208], edx);
            a.@lock.bts(__dword_ptr[Data + 0x200], edi);
            a.@lock.inc(__dword_ptr[Data + 0x204]);
            a.@lock.btr(__dword_ptr[Data + 0x200], edi);
        }), Data + 0x204, 4, 1, 0),
        "lock xadd misaligned" => (Loop(a => { a.mov(edx, 1); a.@lock.xadd(__dword_ptr[Data + 0x241], edx); }), Data + 0x241, 4, 1, 0),
        "lock xadd across quadwords" => (Loop(a => { a.mov(edx, 1); a.@lock.xadd(__dword_ptr[Data + 0x286], edx); }), Data + 0x286, 4, 1, 0),
        "lock inc across a cache line" => (Loop(a => a.@lock.inc(__dword_ptr[Data + 0x2FE])), Data + 0x2FE, 4, 1, 0),
        "lock xadd across a page" => (Loop(a => { a.mov(edx, 1); a.@lock.xadd(__dword_ptr[Data + 0xFFE], edx); }), Data + 0xFFE, 4, 1, 0),
        _ => throw new ArgumentException(name),
    };

    static void RunCounter(string name, Func<int, int> jitOf, int iterations, int repeats = 3)
    {
        var (code, at, size, per, initial) = Counter(name);
        for (int rep = 0; rep < repeats; rep++)
        {
            using var s = new Space(code, jitOf);
            if (size == 8) s.Mem.WriteU64(at, initial);
            RunAll(s, (n, c) => { c.S.R[CpuState.ESI] = (uint)iterations; c.S.R[CpuState.EDI] = (uint)n; });
            ulong mask = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
            ulong want = (initial + per * (ulong)(Threads * iterations)) & mask;
            ulong got = size == 8 ? s.U64(at) : s.U32(at) & mask;
            Assert.True(want == got, $"{name}, run {rep}: counter {got:x}, expected {want:x}");
            if (name == "lock bts/btr") Assert.Equal(0u, s.U32(Data + 0x200));
            if (jitOf(0) > 0) Assert.True(s.Cpus.Sum(c => c.Jit!.Translated) > 0, "nothing was translated");
        }
    }

    [Theory]
    [MemberData(nameof(Counters))]
    public void LockedCountersInterpreted(string name) => RunCounter(name, _ => 0, 20_000);

    [JitTheory]
    [MemberData(nameof(Counters))]
    public void LockedCountersTranslated(string name) => RunCounter(name, _ => 1, 100_000);

    /// <summary>Half the threads interpreted, half translated: the interpreter's compare-exchange and the host's
    /// LOCK instructions on the same counter.</summary>
    [JitTheory]
    [MemberData(nameof(Counters))]
    public void LockedCountersMixed(string name) => RunCounter(name, n => n % 2 == 0 ? 0 : 1, 50_000);

    [Fact]
    public void LockedAccessToAReadOnlyPageFaultsWithoutWriting()
    {
        var code = Asm(a => { a.mov(edx, 5); a.@lock.xadd(__dword_ptr[Code + 0x3000], edx); a.int3(); });
        using var s = new Space(code, _ => 0, threads: 1);
        var c = s.Cpus[0];
        Assert.Equal(CpuExit.Exception, c.Run(100));
        Assert.Equal(Vec.PF, c.Vector);
        Assert.Equal(Code + 0x3000, c.Cr2);
        Assert.Equal(5u, c.S.R[CpuState.EDX]);
        Assert.Equal(0u, s.U32(Code + 0x3000));
    }

    // ---------------------------------------------------------------- cross-modifying code

    /// <summary>
    /// One thread (the last) patches the immediate of "mov eax, imm32" in a function the others call in a loop:
    /// 255 stores of k * 0x01010101, spaced by a delay loop. Every value a caller sees must be one of those (all
    /// four bytes equal: no torn block), never smaller than one it saw before (no stale block after a newer one),
    /// and the callers must see the last value soon after it is stored (they stop on it).
    /// </summary>
    static void CrossModifying(Func<int, int> jitOf, bool kernelWrites, int delay)
    {
        const uint Fn = Code + 0x2003; // its imm32 at Code + 0x2004, aligned
        var callers = Asm(a =>
        {
            var loop = a.CreateLabel(); var bad = a.CreateLabel(); var done = a.CreateLabel();
            a.cmp(edi, Threads - 1);
            a.je(done); // the writer's own code follows the callers' (below)
            a.@lock.inc(__dword_ptr[Data + 0x10]); // started: the writer waits for every caller
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.call(Fn);
            a.movzx(edx, al);
            a.imul(edx, edx, 0x01010101);
            a.cmp(edx, eax);
            a.jne(bad);
            a.cmp(eax, ebx);
            a.jb(bad);
            a.mov(ebx, eax);
            a.cmp(eax, 0xFFFFFFFF);
            a.jne(loop);
            a.int3();
            a.Label(ref bad);
            a.ud2();
            a.Label(ref done);
            a.nop();
            if (!kernelWrites)
            {
                var next = a.CreateLabel(); var wait = a.CreateLabel(); var pause = a.CreateLabel();
                a.Label(ref wait);
                a.cmp(__dword_ptr[Data + 0x10], Threads - 1);
                a.jne(wait);
                a.mov(esi, 255);
                a.Label(ref next);
                a.mov(ecx, delay);
                a.Label(ref pause);
                a.dec(ecx);
                a.jnz(pause);
                a.add(__dword_ptr[Fn + 1], 0x01010101);
                a.dec(esi);
                a.jnz(next);
            }
            a.int3();
        });
        var fn = Asm(a => { a.mov(eax, 0); a.ret(); });
        var code = new byte[0x2003 + fn.Length];
        callers.CopyTo(code, 0);
        fn.CopyTo(code, 0x2003);
        for (int rep = 0; rep < 3; rep++)
        {
            using var s = new Space(code, jitOf, Prot.Read | Prot.Write | Prot.Exec);
            Action? kernel = null;
            if (kernelWrites)
                kernel = () =>
                {
                    // The kernel's copy_to_user from another host thread (as a syscall of a sibling thread would).
                    while (s.U32(Data + 0x10) != Threads - 1) Thread.Yield();
                    for (uint k = 1; k <= 255; k++)
                    {
                        Thread.SpinWait(20_000);
                        Assert.True(s.Mem.CopyToUser(Fn + 1, BitConverter.GetBytes(k * 0x01010101u)));
                    }
                };
            RunAll(s, (n, c) => c.S.R[CpuState.EDI] = (uint)n, alongside: kernel);
            Assert.Equal(0xFFFFFFFFu, s.U32(Fn + 1));
            Assert.True(s.Cpus[0].Cache.Invalidations > 0, "the function was never dropped");
        }
    }

    [Fact]
    public void CrossModifyingCodeInterpreted() => CrossModifying(_ => 0, kernelWrites: false, 3000);

    [JitFact]
    public void CrossModifyingCodeTranslated() => CrossModifying(_ => 1, kernelWrites: false, 100_000);

    [JitFact]
    public void CrossModifyingCodeMixed() => CrossModifying(n => n % 2, kernelWrites: false, 100_000);

    [Fact]
    public void KernelWritesIntoCodeReachEveryThreadInterpreted() => CrossModifying(_ => 0, kernelWrites: true, 0);

    [JitFact]
    public void KernelWritesIntoCodeReachEveryThreadTranslated() => CrossModifying(_ => 1, kernelWrites: true, 0);

    // ---------------------------------------------------------------- invalidation and flush stress

    /// <summary>Threads sum a table through shared blocks (a call, a loop, an indirect jump) while another host thread
    /// keeps dropping the code page (a store into it, and mprotect taking PROT_EXEC away and back, as a sibling
    /// thread's syscalls would) or flushing every translation. No thread may fail or compute a wrong sum.</summary>
    static void Stress(Func<int, int> jitOf, string disturb)
    {
        var code = Asm(a =>
        {
            var outer = a.CreateLabel(); var inner = a.CreateLabel(); var fn = a.CreateLabel(); var after = a.CreateLabel();
            a.Label(ref outer);
            a.xor(eax, eax);
            a.mov(ecx, 64);
            a.Label(ref inner);
            a.call(fn);
            a.dec(ecx);
            a.jnz(inner);
            a.cmp(eax, 64 * 65 / 2);
            a.jne(after); // wrong sum: run into the UD2 below
            a.mov(edx, Code + 0x100);
            a.jmp(edx); // indirect, to the loop end at Code+0x100
            a.Label(ref after);
            a.ud2();
            a.Label(ref fn);
            a.add(eax, ecx);
            a.ret();
        });
        // The loop end, at Code+0x100 (where the indirect jump goes): again until the test sets [Data].
        var ta = new Assembler(32);
        var over = ta.CreateLabel();
        ta.cmp(__dword_ptr[Data], 0); ta.je(over); ta.int3(); ta.Label(ref over); ta.jmp(Code);
        var ms = new MemoryStream();
        ta.Assemble(new StreamCodeWriter(ms), Code + 0x100);
        var tail = ms.ToArray();
        Assert.True(code.Length < 0x100);
        var all = new byte[0x100 + tail.Length];
        code.CopyTo(all, 0);
        tail.CopyTo(all, 0x100);
        using var s = new Space(all, jitOf, Prot.Read | Prot.Write | Prot.Exec);
        int finished = 0;
        long disturbances = 0;
        const int Wanted = 300;
        var disturber = new Thread(() =>
        {
            var jit = s.Cpus.FirstOrDefault(c => c.Jit != null)?.Jit;
            var until = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref finished) == 0)
            {
                // Enough disturbances (or time): let the guest threads finish.
                if (disturbances == Wanted || DateTime.UtcNow > until) s.Mem.WriteU32(Data, 1);
                switch (disturb)
                {
                    case "store": s.Mem.CopyToUser(Code + 0x800, new byte[] { (byte)disturbances }); break;
                    case "mprotect":
                        s.Mem.Protect(Code, 0x1000, Prot.Read | Prot.Write);
                        s.Mem.Protect(Code, 0x1000, Prot.Read | Prot.Write | Prot.Exec);
                        break;
                    case "flush": jit!.Flush(); break;
                }
                disturbances++;
                Thread.Sleep(0);
            }
        }) { IsBackground = true };
        disturber.Start();
        try
        {
            if (disturb == "mprotect")
            {
                // A fetch from the page while it lacks PROT_EXEC faults (#PF); the kernel would retry after the
                // fault is resolved: here the thread resumes at the same EIP.
                RunUntilDone(s);
            }
            else RunAll(s);
        }
        finally { Volatile.Write(ref finished, 1); disturber.Join(); }
        Assert.True(disturbances >= Wanted, $"only {disturbances} disturbances");
        if (jitOf(1) > 0) Assert.True(s.Cpus.Sum(c => c.Jit?.Instructions ?? 0) > 0, "nothing ran translated");
    }

    /// <summary>RunAll for the mprotect case: a fetch #PF while the page is not executable is resumed.</summary>
    static void RunUntilDone(Space s)
    {
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var threads = s.Cpus.Select((cpu, n) => new Thread(() =>
        {
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (DateTime.UtcNow < deadline)
                {
                    var e = cpu.Run(1 << 20);
                    if (e == CpuExit.Exception && cpu.Vector == Vec.BP) return;
                    if (e == CpuExit.Exception && cpu.Vector == Vec.PF && (cpu.ErrorCode & PfErr.Fetch) != 0) continue;
                    if (e == CpuExit.Exception) { errors.Enqueue($"cpu {n}: vector {cpu.Vector} at {cpu.S.Eip:x8}"); return; }
                }
                errors.Enqueue($"cpu {n}: not done");
            }
            catch (Exception ex) { errors.Enqueue($"cpu {n}: {ex}"); }
        }) { IsBackground = true }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.True(errors.IsEmpty, string.Join("\n", errors));
    }

    [Theory]
    [InlineData("store")]
    [InlineData("mprotect")]
    public void InvalidationStressInterpreted(string disturb) => Stress(_ => 0, disturb);

    [JitTheory]
    [InlineData("store")]
    [InlineData("mprotect")]
    [InlineData("flush")]
    public void InvalidationStressTranslated(string disturb) => Stress(_ => 1, disturb);

    [JitTheory]
    [InlineData("store")]
    [InlineData("flush")]
    public void InvalidationStressMixed(string disturb) => Stress(n => n % 2, disturb);

    /// <summary>The GC is never held off long by a thread running guest code: a translated entry returns within a
    /// bounded number of instructions and regularly takes the GC transition; the interpreter's loop reaches safe
    /// points. A GC requested while eight threads spin in guest loops completes quickly.</summary>
    static void GcNotStalled(int jit, int threads = Threads)
    {
        var code = Asm(a => { var l = a.CreateLabel(); a.Label(ref l); a.add(eax, 1); a.jmp(l); });
        using var s = new Space(code, _ => jit, threads: threads);
        int stop = 0;
        var running = s.Cpus.Select(c => new Thread(() => { while (Volatile.Read(ref stop) == 0) c.Run(1L << 40); }) { IsBackground = true }).ToArray();
        foreach (var t in running) t.Start();
        // Every thread is well into its loop first (on a loaded 2-core box a thread may wait long for a core).
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!s.Cpus.All(c => Volatile.Read(ref c.Retired) > 1_000_000) && DateTime.UtcNow < until) Thread.Sleep(20);
        var worst = TimeSpan.Zero;
        for (int i = 0; i < 20; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            GC.Collect();
            if (sw.Elapsed > worst) worst = sw.Elapsed;
            Thread.Sleep(10);
        }
        Volatile.Write(ref stop, 1);
        foreach (var c in s.Cpus) c.RequestAsyncStop();
        foreach (var t in running) t.Join();
        Assert.True(s.Cpus.All(c => c.Retired > 1_000_000));
        if (jit > 0) Assert.True(s.Cpus.All(c => c.Jit!.Instructions > 1_000_000));
        // Eight threads on a shared 2-core machine (tens of ms there: a thread may wait for a core); a budget-long
        // stall (2^40 instructions) would be minutes.
        Assert.True(worst < TimeSpan.FromMilliseconds(1000), $"GC.Collect took {worst.TotalMilliseconds} ms");
        Console.WriteLine($"GcNotStalled(jit {jit}, {threads} threads): worst GC.Collect {worst.TotalMilliseconds:F1} ms");
    }

    [JitFact]
    public void GarbageCollectionIsNotStalledByTranslatedLoops() => GcNotStalled(1);

    [Fact]
    public void GarbageCollectionIsNotStalledByInterpretedLoops() => GcNotStalled(0);
}
