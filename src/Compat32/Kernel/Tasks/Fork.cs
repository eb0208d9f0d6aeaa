using Compat32.Cpu;
using Compat32.Entry;
using Compat32.Kernel.Signals;

namespace Compat32.Kernel;

/// <summary>clone's arguments, whichever door they came through (clone, clone3, fork, vfork).</summary>
public struct CloneArgs
{
    public ulong Flags;
    public int ExitSignal;
    public uint Stack, StackSize, Tls, ParentTid, ChildTid, PidFd;
}

/// <summary>copy_process and its callers (kernel/fork.c); one path serves fork, vfork, clone and clone3.</summary>
public static class Fork
{
    public const ulong CSIGNAL = 0xff, CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
        CLONE_PIDFD = 0x1000, CLONE_PTRACE = 0x2000, CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000, CLONE_THREAD = 0x10000,
        CLONE_NEWNS = 0x20000, CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000, CLONE_PARENT_SETTID = 0x100000,
        CLONE_CHILD_CLEARTID = 0x200000, CLONE_DETACHED = 0x400000, CLONE_UNTRACED = 0x800000,
        CLONE_CHILD_SETTID = 0x1000000, CLONE_NEWCGROUP = 0x2000000, CLONE_NEWUTS = 0x4000000, CLONE_NEWIPC = 0x8000000,
        CLONE_NEWUSER = 0x10000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000, CLONE_IO = 0x80000000,
        CLONE_CLEAR_SIGHAND = 0x100000000, CLONE_INTO_CGROUP = 0x200000000;
    const ulong Namespaces = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

    /// <summary>kernel_clone: create the child and start it; returns its pid in the caller's namespace.</summary>
    public static int Clone(Task parent, in CloneArgs args)
    {
        ulong f = args.Flags;
        // copy_process's flag checks, in its order.
        if ((f & (CLONE_NEWNS | CLONE_FS)) == (CLONE_NEWNS | CLONE_FS)) return -Errno.EINVAL;
        if ((f & (CLONE_NEWUSER | CLONE_FS)) == (CLONE_NEWUSER | CLONE_FS)) return -Errno.EINVAL;
        if ((f & CLONE_THREAD) != 0 && (f & CLONE_SIGHAND) == 0) return -Errno.EINVAL;
        if ((f & CLONE_SIGHAND) != 0 && (f & CLONE_VM) == 0) return -Errno.EINVAL;
        if ((f & CLONE_PIDFD) != 0 && (f & CLONE_DETACHED) != 0) return -Errno.EINVAL;
        if ((f & CLONE_PIDFD) != 0 && (f & CLONE_THREAD) != 0) return -Errno.EINVAL;
        // Namespaces need privileges and machinery we do not model.
        if ((f & Namespaces) != 0) return (f & CLONE_NEWUSER) != 0 ? -Errno.EINVAL : -Errno.EPERM;
        if ((f & CLONE_CLEAR_SIGHAND) != 0 && (f & CLONE_SIGHAND) != 0) return -Errno.EINVAL;

        var k = parent.Kernel;
        bool thread = (f & CLONE_THREAD) != 0;

        // The child's address space, files, fs, handlers: shared or copied.
        Mm mm;
        if ((f & CLONE_VM) != 0) { mm = parent.Mm; Interlocked.Increment(ref mm.Users); }
        else
        {
            try { mm = CopyMm(parent); }
            catch (OutOfMemoryException) { return -Errno.ENOMEM; } // the host refused a mapping (dup_mmap's -ENOMEM)
        }
        var files = (f & CLONE_FILES) != 0 ? parent.Files.Ref() : parent.Files.Clone();
        var fs = (f & CLONE_FS) != 0 ? parent.Fs.Ref() : parent.Fs.Clone();
        SigHand sig;
        if ((f & CLONE_SIGHAND) != 0) sig = parent.Sig;
        else
        {
            sig = parent.Sig.Clone();
            if ((f & CLONE_CLEAR_SIGHAND) != 0)
                for (int i = 1; i < sig.Actions.Length; i++)
                    if (sig.Actions[i].Handler != Sig.SIG_IGN) sig.Actions[i] = default;
        }

        // copy_thread: the child returns from the same syscall with ax = 0, on its own stack if given (ret_from_fork
        // leaves through IRET).
        var regs = parent.SysRegs;
        regs.ax = 0;
        if (args.Stack != 0) regs.sp = args.Stack + args.StackSize;
        var st = parent.Cpu.S.Clone();
        var cpu = new Processor(k.Model, mm.Space, st, k.Options.JitThreshold);
        cpu.TscSource = parent.Cpu.TscSource;
        cpu.Gdt = (ulong[])parent.Cpu.Gdt.Clone();
        // ldt_dup_context: a new mm gets a copy of the LDT (tables are never changed in place, so the copy can be
        // the same array); a thread shares the mm and so its LDT.
        lock (parent.Mm.LdtLock)
        {
            if (mm != parent.Mm) mm.Ldt = parent.Mm.Ldt;
            cpu.Ldt = mm.Ldt;
        }

        Task child;
        ThreadGroup group;
        lock (k.TaskSet.Lock)
        {
            if (parent.Group.Exiting) { Release(mm, files, fs, f); return -Errno.EINTR; }
            int pid = k.TaskSet.AllocPidLocked();
            if (pid < 0) { Release(mm, files, fs, f); return pid; }
            if (thread) group = parent.Group;
            else
            {
                group = new ThreadGroup(pid, parent.Group.Creds, parent.Group.Limits.Clone())
                {
                    Pgid = parent.Group.Pgid, Sid = parent.Group.Sid, Personality = parent.Group.Personality, Tty = parent.Group.Tty,
                    ExitSignal = (f & CLONE_PARENT) != 0 ? parent.Group.ExitSignal : args.ExitSignal,
                };
                // CLONE_PARENT: the child is our sibling.
                var p = (f & CLONE_PARENT) != 0 ? parent.Group.Parent : parent.Group;
                group.Parent = p;
                group.HostPpid = parent.Group.HostPpid;
                p?.Children.Add(group);
            }
            child = new Task(k, pid, group, mm, files, sig, fs, cpu)
            {
                Comm = parent.Comm, Affinity = parent.Affinity, Blocked = parent.Blocked,
                SigAltStackSp = parent.SigAltStackSp, SigAltStackSize = parent.SigAltStackSize,
                SigAltStackFlags = parent.SigAltStackFlags, Auxv = parent.Auxv,
            };
            // CLONE_VM without CLONE_VFORK: the new thread must not share the parent's signal stack (copy_thread's
            // sas_ss_reset for CLONE_VM|!CLONE_VFORK).
            if ((f & (CLONE_VM | CLONE_VFORK)) == CLONE_VM) { child.SigAltStackSp = 0; child.SigAltStackSize = 0; child.SigAltStackFlags = 2; }
            k.TaskSet.AddLocked(child);
        }

        if ((f & CLONE_SETTLS) != 0)
        {
            // set_new_tls for a 32-bit task: tls points at a struct user_desc (do_set_thread_area on the child).
            int r = Syscalls.ProcessCalls.SetThreadAreaFor(parent, child.Cpu, args.Tls);
            if (r < 0) { Abort(child); return r; }
        }
        // Apply the return frame to the child's CPU (as ret_from_fork's IRET would).
        child.Entry.Iret(ref regs, countReason: false, IretReason.None);

        if ((f & CLONE_CHILD_SETTID) != 0) child.Mem.WriteU32(args.ChildTid, (uint)child.Tid);
        if ((f & CLONE_CHILD_CLEARTID) != 0) child.ClearChildTid = args.ChildTid;
        if ((f & CLONE_PARENT_SETTID) != 0) parent.Mem.WriteU32(args.ParentTid, (uint)child.Tid);
        if ((f & CLONE_PIDFD) != 0)
        {
            int pfd = Syscalls.TaskCalls.PidfdCreate(parent, group, cloexec: true);
            if (pfd < 0 || !parent.Mem.WriteU32(args.PidFd, (uint)pfd)) { Abort(child); return pfd < 0 ? pfd : -Errno.EFAULT; }
        }

        ManualResetEventSlim? vfork = null;
        if ((f & CLONE_VFORK) != 0) child.VforkDone = vfork = new ManualResetEventSlim(false);
        Start(child);
        if (vfork != null)
        {
            // wait_for_vfork_done: killable, not interruptible; a fatal signal releases the parent early.
            while (!vfork.Wait(100))
                if (parent.Exited || parent.Group.Exiting) break;
        }
        return child.Tid;
    }

    static void Release(Mm mm, Vfs.FdTable files, FsContext fs, ulong f)
    {
        Interlocked.Decrement(ref mm.Users);
        files.Release();
        fs.Release();
    }

    /// <summary>A child that failed late in copy_process: unlink and drop it without ever running it.</summary>
    static void Abort(Task child)
    {
        var k = child.Kernel;
        lock (k.TaskSet.Lock)
        {
            k.TaskSet.RemoveTaskLocked(child);
            lock (child.Group.Threads) child.Group.Threads.Remove(child);
            if (child.Group.Threads.Count == 0)
            {
                child.Group.Parent?.Children.Remove(child.Group);
                k.TaskSet.RemoveGroupLocked(child.Group);
            }
        }
        Release(child.Mm, child.Files, child.Fs, 0);
    }

    /// <summary>dup_mm: a private copy of the address space and its bookkeeping.</summary>
    static Mm CopyMm(Task parent)
    {
        var src = parent.Mm;
        var mm = new Mm(src.Space.Clone())
        {
            VdsoBase = src.VdsoBase, StartStack = src.StartStack, ArgStart = src.ArgStart, ArgEnd = src.ArgEnd,
            EnvStart = src.EnvStart, EnvEnd = src.EnvEnd, StartCode = src.StartCode, EndCode = src.EndCode,
            StartData = src.StartData, EndData = src.EndData, ExePath = src.ExePath,
        };
        parent.Kernel.RegisterVvar(mm);
        if (parent.Kernel.Options.CodeCache) Cpu.CodeSpace.UseStore(mm.Space, mm.ExePath);
        return mm;
    }

    /// <summary>wake_up_new_task: a host thread of its own starts running the task (an idle one when there is one).</summary>
    public static void Start(Task t) => TaskThreads.Start(t);
}
