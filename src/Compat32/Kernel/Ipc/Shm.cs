using System.Runtime.CompilerServices;
using Compat32.Kernel.Syscalls;
using Compat32.Memory;

namespace Compat32.Kernel.Ipc;

/// <summary>struct shmid_kernel: a shmem object (a host memfd) every attach maps MAP_SHARED. Guarded by the
/// namespace's Lock.</summary>
public sealed class ShmSegment : IpcObject
{
    public required HostFile File;
    public required ulong Size;
    public long Atime, Dtime;
    public int Cpid, Lpid;
    /// <summary>SHM_DEST: removed while attached; gone once the last attach is.</summary>
    public bool Dest;
    public bool Locked;
}

/// <summary>
/// System V shared memory (ipc/shm.c): shmget makes a shmem object, shmat maps it MAP_SHARED (so it is shared
/// with every process attaching it, and across fork), shmdt unmaps an attach, shmctl. shm_nattch is counted
/// from the mappings themselves (every live address space's VMAs of the object), as vm_ops open/close count.
/// </summary>
public static class Shm
{
    const int SHMMNI = 4096, SHM_RDONLY = 0x1000, SHM_RND = 0x2000, SHM_REMAP = 0x4000, SHM_EXEC = 0x8000;
    const int SHM_LOCK = 11, SHM_UNLOCK = 12, SHM_STAT = 13, SHM_INFO = 14, SHM_STAT_ANY = 15;
    const int SHM_DEST = 0x200, SHM_LOCKED = 0x400;
    const ulong SHMMAX = ulong.MaxValue - (1UL << 24);
    static readonly ConditionalWeakTable<HostFile, ShmSegment> byFile = new();

    /// <summary>Attaches of seg in every live address space.</summary>
    static int Nattch(Task t, ShmSegment seg)
    {
        int n = 0;
        var seen = new HashSet<AddressSpace>();
        foreach (var task in t.Kernel.TaskSet.Tasks())
        {
            var sp = task.Mm.Space;
            if (task.Exited || !seen.Add(sp)) continue;
            foreach (var v in sp.Vmas) if (v.File == seg.File) n++;
        }
        return n;
    }

    /// <summary>shm_destroy for removed segments whose last attach went. Caller holds Lock.</summary>
    static void Sweep(Task t, IpcNamespace ns)
    {
        foreach (var kv in ns.Shm.All.ToArray())
            if (kv.Value.Dest && Nattch(t, kv.Value) == 0) ns.Shm.Remove(kv.Value);
    }

    public static int Get(Task t, int key, uint size, int flg)
    {
        var ns = IpcNamespace.Of(t);
        lock (ns.Lock) Sweep(t, ns);
        return ns.Get(t, ns.Shm, key, flg, () =>
        {
            // newseg
            if (size < 1 || size > SHMMAX) return -Errno.EINVAL;
            ulong alen = ((ulong)size + 0xFFF) & ~0xFFFUL;
            var file = HostFile.Shmem(alen, out int err);
            if (file == null) return err;
            var seg = new ShmSegment { File = file, Size = size, Cpid = t.Tgid };
            IpcNamespace.InitPerm(t, seg.Perm, key, flg);
            seg.Ctime = IpcNamespace.Now();
            int id = ns.Shm.Add(seg, SHMMNI);
            if (id >= 0) byFile.AddOrUpdate(file, seg);
            return id;
        }, s => s.Size < size ? -Errno.EINVAL : 0);
    }

    /// <summary>do_shmat: the attach address (or -errno).</summary>
    public static long At(Task t, int shmid, uint addr, int shmflg)
    {
        if (shmid < 0) return -Errno.EINVAL;
        bool isFixed = addr != 0;
        if (addr != 0 && (addr & 0xFFF) != 0)
        {
            if ((shmflg & SHM_RND) == 0) return -Errno.EINVAL;
            addr &= ~0xFFFu;
            if (addr == 0 && (shmflg & SHM_REMAP) != 0) return -Errno.EINVAL;
        }
        else if (addr == 0 && (shmflg & SHM_REMAP) != 0) return -Errno.EINVAL;
        var prot = (shmflg & SHM_RDONLY) != 0 ? Prot.Read : Prot.Read | Prot.Write;
        int acc = (shmflg & SHM_RDONLY) != 0 ? 0x124 : 0x1B6;
        if ((shmflg & SHM_EXEC) != 0) { prot |= Prot.Exec; acc |= 0x49; }
        var ns = IpcNamespace.Of(t);
        ShmSegment? seg;
        lock (ns.Lock)
        {
            seg = ns.Shm.Find(shmid);
            if (seg == null) return -Errno.EINVAL;
            if (!IpcNamespace.Permitted(t, seg.Perm, acc)) return -Errno.EACCES;
            seg.Atime = IpcNamespace.Now();
            seg.Lpid = t.Tgid;
        }
        ulong size = (seg.Size + 0xFFF) & ~0xFFFUL;
        var m = t.Mem;
        uint taskSize = MmCalls.TaskSize(t);
        lock (m.MmLock)
        {
            uint at;
            if (isFixed)
            {
                if ((ulong)addr + size > taskSize) return -Errno.EINVAL;
                if ((shmflg & SHM_REMAP) == 0 && !m.RangeFree(addr, (uint)size)) return -Errno.EINVAL;
                at = addr;
            }
            else
            {
                at = m.FindFree((uint)size);
                if (at == 0) return -Errno.ENOMEM;
            }
            int r = m.MapShared(at, (uint)size, prot, $"/SYSV{seg.Perm.Key:x8} (deleted)", seg.File, 0);
            return r < 0 ? r : at;
        }
    }

    /// <summary>ksys_shmdt: the attach starting at addr (a shm VMA whose offset matches its distance from addr),
    /// and the rest of the same object's VMAs within its size.</summary>
    public static int Dt(Task t, uint addr)
    {
        if ((addr & 0xFFF) != 0) return -Errno.EINVAL;
        var m = t.Mem;
        ShmSegment? seg = null;
        lock (m.MmLock)
        {
            HostFile? file = null;
            ulong size = 0;
            foreach (var v in m.Vmas)
            {
                if (v.EndL <= addr) continue;
                if (file == null)
                {
                    if (v.File != null && byFile.TryGetValue(v.File, out var s) && v.Start - addr == v.Offset)
                    {
                        file = v.File; seg = s; size = (s.Size + 0xFFF) & ~0xFFFUL;
                        m.Unmap(v.Start, (uint)(v.EndL - v.Start));
                    }
                    continue;
                }
                if (v.EndL - addr > size) break;
                if (v.File == file && v.Start - addr == v.Offset) m.Unmap(v.Start, (uint)(v.EndL - v.Start));
            }
        }
        if (seg == null) return -Errno.EINVAL;
        var ns = IpcNamespace.Of(t);
        lock (ns.Lock) { seg.Dtime = IpcNamespace.Now(); seg.Lpid = t.Tgid; Sweep(t, ns); }
        return 0;
    }

    /// <summary>compat shmctl: shmid64_ds (84 bytes) with IPC_64, the old shmid_ds (48) without.</summary>
    public static int Ctl(Task t, int shmid, int cmd, uint buf, bool v64)
    {
        if (cmd < 0 || shmid < 0) return -Errno.EINVAL;
        int c = cmd & ~IpcNamespace.IPC_64;
        var ns = IpcNamespace.Of(t);
        lock (ns.Lock)
        {
            Sweep(t, ns);
            switch (c)
            {
                case IpcNamespace.IPC_INFO:
                {
                    // struct shminfo64 (compat): shmmax, shmmin, shmmni, shmseg, shmall, __unused1..4; old shminfo: 5 fields
                    var b = new byte[v64 ? 36 : 20];
                    U.W32(b, 0, unchecked((uint)SHMMAX)); U.W32(b, 4, 1); U.W32(b, 8, SHMMNI); U.W32(b, 12, SHMMNI); U.W32(b, 16, unchecked((uint)SHMMAX));
                    if (U.Put(t, buf, b) != 0) return -Errno.EFAULT;
                    return Math.Max(ns.Shm.MaxIdx, 0);
                }
                case SHM_INFO:
                {
                    // struct compat_shm_info: used_ids, shm_tot, shm_rss, shm_swp, swap_attempts, swap_successes
                    var b = new byte[24];
                    ulong tot = 0;
                    foreach (var kv in ns.Shm.All) tot += (kv.Value.Size + 0xFFF) >> 12;
                    U.W32(b, 0, ns.Shm.Count); U.W32(b, 4, (uint)tot); U.W32(b, 8, (uint)tot);
                    if (U.Put(t, buf, b) != 0) return -Errno.EFAULT;
                    return Math.Max(ns.Shm.MaxIdx, 0);
                }
                case IpcNamespace.IPC_STAT: case SHM_STAT: case SHM_STAT_ANY:
                {
                    var s = c == IpcNamespace.IPC_STAT ? ns.Shm.Find(shmid) : ns.Shm.ByIndex(shmid);
                    if (s == null) return -Errno.EINVAL;
                    if (c != SHM_STAT_ANY && !IpcNamespace.Permitted(t, s.Perm, 0x124)) return -Errno.EACCES;
                    var b = new byte[v64 ? 84 : 48];
                    int mode = s.Perm.Mode | (s.Dest ? SHM_DEST : 0) | (s.Locked ? SHM_LOCKED : 0);
                    var p = new KernIpcPerm { Key = s.Perm.Key, Uid = s.Perm.Uid, Gid = s.Perm.Gid, Cuid = s.Perm.Cuid, Cgid = s.Perm.Cgid, Mode = mode, Seq = s.Perm.Seq };
                    IpcNamespace.PutPerm(b, p, v64);
                    int nattch = Nattch(t, s);
                    if (v64)
                    {
                        U.W32(b, 36, (uint)s.Size);
                        U.W32(b, 40, (uint)s.Atime); U.W32(b, 44, (uint)(s.Atime >> 32));
                        U.W32(b, 48, (uint)s.Dtime); U.W32(b, 52, (uint)(s.Dtime >> 32));
                        U.W32(b, 56, (uint)s.Ctime); U.W32(b, 60, (uint)(s.Ctime >> 32));
                        U.W32(b, 64, s.Cpid); U.W32(b, 68, s.Lpid); U.W32(b, 72, nattch);
                    }
                    else
                    {
                        U.W32(b, 16, (uint)s.Size); U.W32(b, 20, (int)s.Atime); U.W32(b, 24, (int)s.Dtime); U.W32(b, 28, (int)s.Ctime);
                        U.W16(b, 32, (ushort)s.Cpid); U.W16(b, 34, (ushort)s.Lpid); U.W16(b, 36, (ushort)nattch);
                    }
                    if (U.Put(t, buf, b) != 0) return -Errno.EFAULT;
                    return c == IpcNamespace.IPC_STAT ? 0 : s.Perm.Id;
                }
                case SHM_LOCK: case SHM_UNLOCK:
                {
                    var s = ns.Shm.Find(shmid);
                    if (s == null) return -Errno.EINVAL;
                    s.Locked = c == SHM_LOCK;
                    return 0;
                }
                case IpcNamespace.IPC_SET: case IpcNamespace.IPC_RMID:
                {
                    (uint, uint, int) perm = default;
                    if (c == IpcNamespace.IPC_SET)
                    {
                        var b = new byte[v64 ? 84 : 48];
                        if (U.Get(t, buf, b) != 0) return -Errno.EFAULT;
                        perm = IpcNamespace.GetPerm(b, v64);
                    }
                    var s = ns.Shm.Find(shmid);
                    if (s == null) return -Errno.EINVAL;
                    if (!IpcNamespace.IsOwner(t, s.Perm)) return -Errno.EPERM;
                    if (c == IpcNamespace.IPC_SET) { IpcNamespace.SetPerm(s.Perm, perm); s.Ctime = IpcNamespace.Now(); return 0; }
                    // do_shm_rmid: gone now if unattached, else SHM_DEST and private (no longer found by key)
                    if (Nattch(t, s) == 0) ns.Shm.Remove(s);
                    else { s.Dest = true; s.Perm.Key = IpcNamespace.IPC_PRIVATE; }
                    return 0;
                }
                default: return -Errno.EINVAL;
            }
        }
    }
}
