using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Ipc;

/// <summary>The System V IPC entry points of the i386 ABI: the direct calls (compat_sys_semctl, shmctl and
/// msgctl always use the IPC_64 layouts) and the ipc(2) multiplexer (compat_ksys_ipc), where the version in
/// the call's high half and the cmd's IPC_64 bit choose the old or the 64 layouts.</summary>
public static class IpcCalls
{
    const int SEMOP = 1, SEMGET = 2, SEMCTL = 3, SEMTIMEDOP = 4, MSGSND = 11, MSGRCV = 12, MSGGET = 13, MSGCTL = 14,
        SHMAT = 21, SHMDT = 22, SHMGET = 23, SHMCTL = 24;

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.ipc, "uddxpx", (t, a, b, c, d, e, f) => Ipc(t, a, (int)b, (int)c, d, e, f));
        s.Add(Nr.semget, "xdx", (t, a, b, c, _, _, _) => Sem.Get(t, (int)a, (int)b, (int)c));
        s.Add(Nr.semctl, "dddx", (t, a, b, c, d, _, _) => Sem.Ctl(t, (int)a, (int)b, (int)c, d, v64: true));
        s.Add(Nr.semtimedop_time64, "dpup", (t, a, b, c, d, _, _) => SemTimedOp(t, (int)a, b, c, d, wide: true));
        s.Add(Nr.msgget, "xx", (t, a, b, _, _, _, _) => Msg.Get(t, (int)a, (int)b));
        s.Add(Nr.msgsnd, "dpdx", (t, a, b, c, d, _, _) => Msg.Snd(t, (int)a, b, (int)c, (int)d));
        s.Add(Nr.msgrcv, "dpddx", (t, a, b, c, d, e, _) => Msg.Rcv(t, (int)a, b, (int)c, (int)d, (int)e));
        s.Add(Nr.msgctl, "ddp", (t, a, b, c, _, _, _) => Msg.Ctl(t, (int)a, (int)b, c, v64: true));
        s.Add(Nr.shmget, "xux", (t, a, b, c, _, _, _) => Shm.Get(t, (int)a, b, (int)c));
        s.Add(Nr.shmat, "dpx", (t, a, b, c, _, _, _) => (int)Shm.At(t, (int)a, b, (int)c), 'x');
        s.Add(Nr.shmdt, "p", (t, a, _, _, _, _, _) => Shm.Dt(t, a));
        s.Add(Nr.shmctl, "ddp", (t, a, b, c, _, _, _) => Shm.Ctl(t, (int)a, (int)b, c, v64: true));
    }

    /// <summary>ksys_semtimedop / compat_ksys_semtimedop: the timeout (old_timespec32 or __kernel_timespec) is
    /// read before anything else.</summary>
    static int SemTimedOp(Task t, int semid, uint sops, uint nsops, uint ts, bool wide)
    {
        (long, long)? to = null;
        if (ts != 0)
        {
            Span<byte> b = stackalloc byte[16];
            if (U.Get(t, ts, b[..(wide ? 16 : 8)]) != 0) return -Errno.EFAULT;
            to = wide ? ((long)U.R64(b, 0), (long)U.R32(b, 8)) : ((int)U.R32(b, 0), (int)U.R32(b, 4));
        }
        return Sem.TimedOp(t, semid, sops, nsops, to);
    }

    /// <summary>compat_ksys_ipc.</summary>
    static int Ipc(Task t, uint call, int first, int second, uint third, uint ptr, uint fifth)
    {
        int version = (int)(call >> 16);
        switch (call & 0xFFFF)
        {
            case SEMOP: return Sem.TimedOp(t, first, ptr, (uint)second, null);
            case SEMTIMEDOP: return SemTimedOp(t, first, ptr, (uint)second, fifth, wide: false);
            case SEMGET: return Sem.Get(t, first, second, (int)third);
            case SEMCTL:
            {
                if (ptr == 0) return -Errno.EINVAL;
                if (!t.Mem.ReadU32(ptr, out uint pad)) return -Errno.EFAULT;
                return Sem.Ctl(t, first, second, (int)third, pad, v64: ((int)third & IpcNamespace.IPC_64) != 0);
            }
            case MSGSND: return Msg.Snd(t, first, ptr, second, (int)third);
            case MSGRCV:
            {
                if (first < 0 || second < 0) return -Errno.EINVAL;
                if (version == 0)
                {
                    // struct compat_ipc_kludge { compat_uptr_t msgp; compat_long_t msgtyp; }
                    if (ptr == 0) return -Errno.EINVAL;
                    if (!t.Mem.ReadU32(ptr, out uint msgp) || !t.Mem.ReadU32(ptr + 4, out uint typ)) return -Errno.EFAULT;
                    return Msg.Rcv(t, first, msgp, second, (int)typ, (int)third);
                }
                return Msg.Rcv(t, first, ptr, second, (int)fifth, (int)third);
            }
            case MSGGET: return Msg.Get(t, first, second);
            case MSGCTL: return Msg.Ctl(t, first, second, ptr, v64: (second & IpcNamespace.IPC_64) != 0);
            case SHMAT:
            {
                if (version == 1) return -Errno.EINVAL;
                long r = Shm.At(t, first, ptr, second);
                if (r < 0) return (int)r;
                return t.Mem.WriteU32(third, (uint)r) ? 0 : -Errno.EFAULT;
            }
            case SHMDT: return Shm.Dt(t, ptr);
            case SHMGET: return Shm.Get(t, first, (uint)second, (int)third);
            case SHMCTL: return Shm.Ctl(t, first, second, ptr, v64: (second & IpcNamespace.IPC_64) != 0);
        }
        return -Errno.ENOSYS;
    }
}
