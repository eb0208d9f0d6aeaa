using System.Runtime.InteropServices;

namespace Compat32.Kernel.Vfs;

/// <summary>The host calls behind event fds, timer fds, inotify and epoll instances.</summary>
internal static unsafe partial class LibC
{
    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int epoll_create1_(int flags);
    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int epoll_ctl_(int epfd, int op, int fd, byte* ev);
    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int epoll_wait_(int epfd, byte* evs, int max, int timeout);
    [LibraryImport("libc", EntryPoint = "timerfd_create", SetLastError = true)]
    private static partial int timerfd_create_(int clock, int flags);
    [LibraryImport("libc", EntryPoint = "timerfd_settime", SetLastError = true)]
    private static partial int timerfd_settime_(int fd, int flags, long* nv, long* old);
    [LibraryImport("libc", EntryPoint = "timerfd_gettime", SetLastError = true)]
    private static partial int timerfd_gettime_(int fd, long* cur);
    [LibraryImport("libc", EntryPoint = "inotify_init1", SetLastError = true)]
    private static partial int inotify_init1_(int flags);
    [LibraryImport("libc", EntryPoint = "inotify_add_watch", SetLastError = true)]
    private static partial int inotify_add_watch_(int fd, byte* path, uint mask);
    [LibraryImport("libc", EntryPoint = "inotify_rm_watch", SetLastError = true)]
    private static partial int inotify_rm_watch_(int fd, int wd);

    public static int EpollCreate1(int flags) => R(epoll_create1_(flags));
    public static int EpollCtl(int epfd, int op, int fd, byte* ev) => R(epoll_ctl_(epfd, op, fd, ev));
    public static int EpollWait(int epfd, byte* evs, int max, int timeout) => R(epoll_wait_(epfd, evs, max, timeout));
    public static int TimerFdCreate(int clock, int flags) => R(timerfd_create_(clock, flags));
    public static int TimerFdSetTime(int fd, int flags, long* nv, long* old) => R(timerfd_settime_(fd, flags, nv, old));
    public static int TimerFdGetTime(int fd, long* cur) => R(timerfd_gettime_(fd, cur));
    public static int InotifyInit1(int flags) => R(inotify_init1_(flags));
    public static int InotifyAddWatch(int fd, byte[] path, uint mask) { fixed (byte* p = Z(path)) return R(inotify_add_watch_(fd, p, mask)); }
    public static int InotifyRmWatch(int fd, int wd) => R(inotify_rm_watch_(fd, wd));

    /// <summary>Reset an eventfd to zero (not readable) without blocking.</summary>
    public static void EventFdDrain(int fd) { ulong v; read_(fd, (byte*)&v, 8); }

    /// <summary>The host's struct epoll_event: packed (12 bytes) on x86-64 as on i386, 16 bytes elsewhere.</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
}
