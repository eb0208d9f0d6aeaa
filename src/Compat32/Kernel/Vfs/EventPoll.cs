using Compat32.Kernel.Syscalls;

namespace Compat32.Kernel.Vfs;

/// <summary>
/// epoll (fs/eventpoll.c). An epoll instance is a host epoll instance, so the host does the interest list, the
/// ready list, EPOLLET / EPOLLONESHOT / EPOLLEXCLUSIVE / EPOLLRDHUP and loop checks for every host-backed file
/// (pipes, terminals, sockets, event and timer fds, other epolls), and the instance is itself pollable and
/// nestable. Each item watches a dup of the file's host fd, so two guest fds of one description are two items
/// as on Linux (the key is (file, fd)); the item leaves with the description's last close (eventpoll_release).
/// Files whose state is the model's (signalfd, message queues) are items here: ep_poll_callback puts them on
/// a ready list this class keeps, and ep_send_events re-polls them, with Linux's level/edge/one-shot rules; a
/// host eventfd in the host set (key 0) is readable while that list is not empty, which wakes a waiter and
/// makes the instance readable to poll and to outer epolls. epoll_wait sleeps in slices and ends with -EINTR
/// on a signal (never restarted, as ep_poll).
/// </summary>
public sealed class EventPollFile : KernelFile
{
    public const uint EPOLLIN = 1, EPOLLOUT = 4, EPOLLERR = 8, EPOLLHUP = 0x10, EPOLLRDNORM = 0x40, EPOLLRDBAND = 0x80,
        EPOLLWRNORM = 0x100, EPOLLWRBAND = 0x200, EPOLLEXCLUSIVE = 1u << 28, EPOLLWAKEUP = 1u << 29,
        EPOLLONESHOT = 1u << 30, EPOLLET = 1u << 31;
    const uint EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
    const uint EPOLLEXCLUSIVE_OK_BITS = EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND |
        EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
    const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    /// <summary>EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event), 12 bytes packed.</summary>
    const int MaxEvents = int.MaxValue / 12;
    const ulong WakeKey = 0;

    sealed class Item
    {
        public required OpenFile File;
        public required int Fd;
        public uint Events;   // ep.mtx
        public ulong Data;    // ep.mtx
        public ulong Key;
        public int HostDup = -1;
        public KernelFile? Model;
        public WaitQueue? Queue;
        public WaitEntry? Entry;
        public LinkedListNode<Item>? Ready; // ep.mtx: on rdllist
        public bool Removed;  // ep.mtx
        public required EventPollFile Ep;
    }

    readonly object mtx = new(); // ep->mtx and ep->lock in one
    readonly Dictionary<(OpenFile, int), Item> items = new(); // mtx
    readonly Dictionary<ulong, Item> byKey = new();           // mtx
    readonly LinkedList<Item> rdllist = new();                // mtx: model items that may be ready
    ulong nextKey = 1;                                        // mtx
    int wakeFd = -1;                                          // readable while rdllist is not empty

    /// <summary>file->f_ep: the items watching each description. Guarded by LinksLock; taken after an ep's mtx.</summary>
    static readonly object LinksLock = new();

    public static void Register(SyscallTable s)
    {
        s.Add(Nr.epoll_create, "d", (t, a, _, _, _, _, _) => (int)a <= 0 ? -Errno.EINVAL : Create(t, 0));
        s.Add(Nr.epoll_create1, "x", (t, a, _, _, _, _, _) => Create(t, (int)a));
        s.Add(Nr.epoll_ctl, "dddp", (t, a, b, c, d, _, _) => Ctl(t, (int)a, (int)b, (int)c, d));
        s.Add(Nr.epoll_wait, "dpdd", (t, a, b, c, d, _, _) => Wait(t, (int)a, b, (int)c, (int)d < 0 ? HostWait.Never : Deadline((int)d / 1000, (int)d % 1000 * 1_000_000L)));
        s.Add(Nr.epoll_pwait, "dpddpu", (t, a, b, c, d, e, f) => PWait(t, (int)a, b, (int)c, (int)d < 0 ? HostWait.Never : Deadline((int)d / 1000, (int)d % 1000 * 1_000_000L), e, f));
        s.Add(Nr.epoll_pwait2, "dpdppu", (t, a, b, c, d, e, f) => PWait2(t, (int)a, b, (int)c, d, e, f));
    }

    /// <summary>ep_timeout_to_timespec / poll_select_set_timeout: 0 means "do not sleep" (timed_out).</summary>
    static long Deadline(long sec, long nsec)
    {
        if (sec == 0 && nsec == 0) return 0;
        long now = ProcessTimers.Now();
        return sec >= (HostWait.Never - 1 - now) / 1_000_000_000 ? HostWait.Never - 1 : now + sec * 1_000_000_000 + nsec;
    }

    /// <summary>do_epoll_create.</summary>
    static unsafe int Create(Task t, int flags)
    {
        if ((flags & ~LibC.O_CLOEXEC) != 0) return -Errno.EINVAL;
        int h = LibC.EpollCreate1(LibC.O_CLOEXEC);
        if (h < 0) return h;
        var ep = new EventPollFile { HostFd = h, Flags = LibC.O_RDWR, Path = "anon_inode:[eventpoll]", Kind = FileKind.Other };
        int fd = t.Files.Install(ep, (flags & LibC.O_CLOEXEC) != 0);
        if (fd < 0) ep.Release();
        return fd;
    }

    unsafe int HostCtl(int op, int fd, uint events, ulong key)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = events;
        *(uint*)(ev + 4) = 0;
        *(ulong*)(ev + LibC.EpollEventSize - 8) = key;
        return LibC.EpollCtl(HostFd, op, fd, ev);
    }

    /// <summary>The host eventfd standing for the model ready list, created with the first model item.</summary>
    int WakeFdLocked()
    {
        if (wakeFd >= 0) return 0;
        int w = LibC.EventFd(0, LibC.O_NONBLOCK | LibC.O_CLOEXEC);
        if (w < 0) return w;
        int r = HostCtl(EPOLL_CTL_ADD, w, EPOLLIN, WakeKey);
        if (r < 0) { LibC.Close(w); return r; }
        wakeFd = w;
        return 0;
    }

    void AddReadyLocked(Item it)
    {
        if (it.Ready != null || it.Removed) return;
        bool wasEmpty = rdllist.Count == 0;
        it.Ready = rdllist.AddLast(it);
        if (wasEmpty && wakeFd >= 0) LibC.EventFdSignal(wakeFd);
    }

    void DelReadyLocked(Item it)
    {
        if (it.Ready == null) return;
        rdllist.Remove(it.Ready);
        it.Ready = null;
        if (rdllist.Count == 0 && wakeFd >= 0) LibC.EventFdDrain(wakeFd);
    }

    /// <summary>ep_poll_callback: a model file changed. Disabled (one-shot fired) items and wake-ups for events
    /// the item does not want are ignored.</summary>
    void Callback(Item it, uint pollflags)
    {
        lock (mtx)
        {
            if (it.Removed || (it.Events & ~EP_PRIVATE_BITS) == 0) return;
            if (pollflags != 0 && (pollflags & it.Events) == 0) return;
            AddReadyLocked(it);
        }
    }

    /// <summary>sys_epoll_ctl + do_epoll_ctl, in the kernel's order of checks.</summary>
    static unsafe int Ctl(Task t, int epfd, int op, int fd, uint uevent)
    {
        uint events = 0; ulong data = 0;
        bool hasEvent = op != EPOLL_CTL_DEL;
        if (hasEvent)
        {
            Span<byte> b = stackalloc byte[12];
            if (U.Get(t, uevent, b) != 0) return -Errno.EFAULT;
            events = U.R32(b, 0); data = U.R64(b, 4);
        }
        var f = t.Files.Get(epfd);
        if (f == null) return -Errno.EBADF;
        var tf = t.Files.Get(fd);
        if (tf == null) return -Errno.EBADF;
        if (!CanPoll(tf)) return -Errno.EPERM;
        if (hasEvent) events &= ~EPOLLWAKEUP; // ep_take_care_of_epollwakeup: no CAP_BLOCK_SUSPEND here
        if (f == tf || f is not EventPollFile ep) return -Errno.EINVAL;
        if (hasEvent && (events & EPOLLEXCLUSIVE) != 0)
        {
            if (op == EPOLL_CTL_MOD) return -Errno.EINVAL;
            if (op == EPOLL_CTL_ADD && (tf is EventPollFile || (events & ~EPOLLEXCLUSIVE_OK_BITS) != 0)) return -Errno.EINVAL;
        }
        lock (ep.mtx)
        {
            ep.items.TryGetValue((tf, fd), out var epi);
            switch (op)
            {
                case EPOLL_CTL_ADD:
                    return epi != null ? -Errno.EEXIST : ep.Insert(t, tf, fd, events | EPOLLERR | EPOLLHUP, data);
                case EPOLL_CTL_DEL:
                    if (epi == null) return -Errno.ENOENT;
                    ep.RemoveLocked(epi);
                    return 0;
                case EPOLL_CTL_MOD:
                    if (epi == null) return -Errno.ENOENT;
                    if ((epi.Events & EPOLLEXCLUSIVE) != 0) return -Errno.EINVAL;
                    return ep.Modify(t, epi, events | EPOLLERR | EPOLLHUP, data);
                default:
                    return -Errno.EINVAL;
            }
        }
    }

    /// <summary>file_can_poll: model files and host files whose kind has a poll method. Regular files and
    /// directories have none (the host says EPERM for them too); nor do our synthetic /proc files.</summary>
    static bool CanPoll(OpenFile f)
    {
        if (f is KernelFile { ModelPoll: true }) return true;
        if (f.HostFd < 0) return false;
        if (f.Kind is FileKind.Regular or FileKind.Directory || f.IsDirectory) return false;
        if (f.Kind != FileKind.Unknown) return true;
        // Inherited descriptors of unknown kind: ask the host with a probe instance.
        lock (ProbeLock)
        {
            if (probeEp < 0) probeEp = LibC.EpollCreate1(LibC.O_CLOEXEC);
            if (probeEp < 0) return true;
            unsafe
            {
                byte* ev = stackalloc byte[16];
                *(uint*)ev = EPOLLIN;
                int r = LibC.EpollCtl(probeEp, EPOLL_CTL_ADD, f.HostFd, ev);
                if (r == 0) LibC.EpollCtl(probeEp, EPOLL_CTL_DEL, f.HostFd, ev);
                return r != -Errno.EPERM;
            }
        }
    }
    static readonly object ProbeLock = new();
    static int probeEp = -1; // ProbeLock

    /// <summary>ep_insert. Caller holds mtx.</summary>
    int Insert(Task t, OpenFile tf, int fd, uint events, ulong data)
    {
        var it = new Item { File = tf, Fd = fd, Events = events, Data = data, Key = nextKey++, Ep = this };
        if (tf is KernelFile { ModelPoll: true } m)
        {
            int r = WakeFdLocked();
            if (r < 0) return r;
            it.Model = m;
            it.Queue = m.PollQueue(t);
            it.Entry = new WaitEntry(ev => Callback(it, ev));
            it.Queue?.Add(it.Entry);
            if ((m.Poll(t) & events) != 0) AddReadyLocked(it);
        }
        else
        {
            int dup = LibC.Fcntl(tf.HostFd, 1030 /* F_DUPFD_CLOEXEC */, 0);
            if (dup < 0) return dup;
            int r = HostCtl(EPOLL_CTL_ADD, dup, events, it.Key);
            if (r < 0) { LibC.Close(dup); return r; }
            it.HostDup = dup;
        }
        items[(tf, fd)] = it;
        byKey[it.Key] = it;
        lock (LinksLock) ((List<object>)(tf.EpLinks ??= new List<object>())).Add(it);
        return 0;
    }

    /// <summary>ep_modify: new events and data; a model item that is ready now goes on the ready list.</summary>
    int Modify(Task t, Item it, uint events, ulong data)
    {
        if (it.Model != null)
        {
            it.Events = events; it.Data = data;
            if ((it.Model.Poll(t) & events) != 0) AddReadyLocked(it);
            return 0;
        }
        int r = HostCtl(EPOLL_CTL_MOD, it.HostDup, events, it.Key);
        if (r == 0) { it.Events = events; it.Data = data; }
        return r;
    }

    /// <summary>ep_remove. Caller holds mtx.</summary>
    void RemoveLocked(Item it)
    {
        if (it.Removed) return;
        it.Removed = true;
        items.Remove((it.File, it.Fd));
        byKey.Remove(it.Key);
        DelReadyLocked(it);
        if (it.Entry != null) it.Queue?.Remove(it.Entry);
        if (it.HostDup >= 0)
        {
            HostCtl(EPOLL_CTL_DEL, it.HostDup, 0, 0);
            LibC.Close(it.HostDup);
            it.HostDup = -1;
        }
        lock (LinksLock) (it.File.EpLinks as List<object>)?.Remove(it);
    }

    /// <summary>eventpoll_release: the last close of a watched description removes its items everywhere.</summary>
    internal static void FileReleased(OpenFile f)
    {
        object[] links;
        lock (LinksLock)
        {
            if (f.EpLinks is not List<object> l || l.Count == 0) return;
            links = l.ToArray();
            l.Clear();
        }
        foreach (Item it in links) lock (it.Ep.mtx) it.Ep.RemoveLocked(it);
    }

    /// <summary>ep_free: the instance's own last close.</summary>
    protected override void OnLastClose()
    {
        lock (mtx)
        {
            foreach (var it in items.Values.ToArray()) RemoveLocked(it);
            if (wakeFd >= 0) { LibC.Close(wakeFd); wakeFd = -1; }
        }
        base.OnLastClose();
    }

    /// <summary>ep_send_events for the model items: each ready-list item is polled again; level-triggered ones go
    /// back on the list, one-shot ones are disabled (events cut to EP_PRIVATE_BITS).</summary>
    int SendModelEvents(Task t, List<(uint, ulong)> outEv, int max)
    {
        lock (mtx)
        {
            if (rdllist.Count == 0) return 0;
            var tx = rdllist.ToArray();
            foreach (var it in tx) DelReadyLocked(it);
            var again = new List<Item>();
            int i = 0;
            for (; i < tx.Length && outEv.Count < max; i++)
            {
                var it = tx[i];
                uint revents = it.Model!.Poll(t) & it.Events;
                if (revents == 0) continue;
                outEv.Add((revents, it.Data));
                if ((it.Events & EPOLLONESHOT) != 0) it.Events &= EP_PRIVATE_BITS;
                else if ((it.Events & EPOLLET) == 0) again.Add(it);
            }
            // Items not looked at stay first in line (ep_done_scan splices them back), then the level ones.
            for (; i < tx.Length; i++) AddReadyLocked(tx[i]);
            foreach (var it in again) AddReadyLocked(it);
            return outEv.Count;
        }
    }

    /// <summary>The host's ready events into (events, guest data); items removed meanwhile are dropped.</summary>
    unsafe int HostEvents(List<(uint, ulong)> outEv, int room, int timeoutMs, out bool woken)
    {
        woken = false;
        int size = LibC.EpollEventSize;
        int n = Math.Min(room, 256); // never more than fit: a host event taken is gone (edge-triggered)
        byte* buf = stackalloc byte[256 * 16];
        int r = LibC.EpollWait(HostFd, buf, n, timeoutMs);
        if (r <= 0) return r == -Errno.EINTR ? 0 : r;
        lock (mtx)
        {
            for (int i = 0; i < r; i++)
            {
                uint ev = *(uint*)(buf + i * size);
                ulong key = *(ulong*)(buf + i * size + size - 8);
                if (key == WakeKey) { woken = true; continue; }
                if (byKey.TryGetValue(key, out var it)) outEv.Add((ev, it.Data));
            }
        }
        return 0;
    }

    /// <summary>ep_poll: events first, then the timeout, then a pending signal (-EINTR).</summary>
    int EpPoll(Task t, uint uevents, int maxevents, long end)
    {
        var got = new List<(uint, ulong)>();
        while (true)
        {
            got.Clear();
            SendModelEvents(t, got, maxevents);
            int room = maxevents - got.Count;
            bool woken = false;
            if (room > 0)
            {
                int timeout = got.Count > 0 || end == 0 ? 0 : Slice(end);
                int r = HostEvents(got, room, timeout, out woken);
                if (r < 0) return r;
            }
            if (got.Count > 0) return PutEvents(t, uevents, got);
            if (woken) continue;
            if (end == 0 || (end != HostWait.Never && ProcessTimers.Now() >= end)) return 0;
            int i = HostWait.Interrupted(t, -Errno.EINTR);
            if (i != 0) return i;
        }
    }

    static int Slice(long end)
    {
        if (end == HostWait.Never) return HostWait.SliceMs;
        long left = end - ProcessTimers.Now();
        return left <= 0 ? 0 : (int)Math.Min(HostWait.SliceMs, (left + 999_999) / 1_000_000);
    }

    /// <summary>The packed 12-byte i386 struct epoll_event {u32 events; u64 data}; a fault after some were
    /// written returns how many were (ep_send_events), else -EFAULT.</summary>
    static int PutEvents(Task t, uint p, List<(uint ev, ulong data)> evs)
    {
        Span<byte> b = stackalloc byte[12];
        for (int i = 0; i < evs.Count; i++)
        {
            U.W32(b, 0, evs[i].ev);
            U.W64(b, 4, evs[i].data);
            if (U.Put(t, p + (uint)(i * 12), b) != 0) return i > 0 ? i : -Errno.EFAULT;
        }
        return evs.Count;
    }

    /// <summary>do_epoll_wait.</summary>
    static int Wait(Task t, int epfd, uint events, int maxevents, long end)
    {
        if (maxevents <= 0 || maxevents > MaxEvents) return -Errno.EINVAL;
        var f = t.Files.Get(epfd);
        if (f == null) return -Errno.EBADF;
        if (f is not EventPollFile ep) return -Errno.EINVAL;
        return ep.EpPoll(t, events, maxevents, end);
    }

    /// <summary>do_epoll_pwait: the temporary mask stays for the handler when the wait ended with -EINTR
    /// (restore_saved_sigmask_unless).</summary>
    static int PWait(Task t, int epfd, uint events, int maxevents, long end, uint sigmask, uint sigsetsize)
    {
        int e = FsCalls.SetUserSigmask(t, sigmask, sigsetsize);
        if (e != 0) return e;
        int r = Wait(t, epfd, events, maxevents, end);
        if (r != -Errno.EINTR) FsCalls.RestoreSavedSigmask(t);
        return r;
    }

    /// <summary>epoll_pwait2: a struct __kernel_timespec even for i386 (the upper half of tv_nsec ignored).</summary>
    static int PWait2(Task t, int epfd, uint events, int maxevents, uint ts, uint sigmask, uint sigsetsize)
    {
        long end = HostWait.Never;
        if (ts != 0)
        {
            Span<byte> b = stackalloc byte[16];
            if (U.Get(t, ts, b) != 0) return -Errno.EFAULT;
            long sec = (long)U.R64(b, 0), nsec = U.R32(b, 8);
            if (sec < 0 || nsec >= 1_000_000_000) return -Errno.EINVAL;
            end = Deadline(sec, nsec);
        }
        return PWait(t, epfd, events, maxevents, end, sigmask, sigsetsize);
    }
}
