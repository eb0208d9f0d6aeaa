using System.Runtime.InteropServices;

namespace Compat32.Kernel.Net;

/// <summary>The host's struct msghdr on an LP64 Linux host (x86-64 and arm64 alike): 56 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HostMsgHdr
{
    public byte* Name;
    public uint NameLen;
    uint pad0;
    public HostIoVec* Iov;
    public nuint IovLen;
    public byte* Control;
    public nuint ControlLen;
    public int Flags;
    int pad1;
}

/// <summary>struct iovec on the host: 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HostIoVec
{
    public byte* Base;
    public nuint Len;
}

/// <summary>The host's socket calls (negative return = -errno). Guest sockets are host sockets: the host kernel
/// is the protocol implementation, compat32 translates the i386 layouts and makes the waits interruptible.</summary>
internal static unsafe partial class HostNet
{
    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)] private static partial int socket_(int d, int t, int p);
    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)] private static partial int bind_(int fd, byte* a, int len);
    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)] private static partial int connect_(int fd, byte* a, int len);
    [LibraryImport("libc", EntryPoint = "listen", SetLastError = true)] private static partial int listen_(int fd, int backlog);
    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)] private static partial int accept4_(int fd, byte* a, int* len, int flags);
    [LibraryImport("libc", EntryPoint = "getsockname", SetLastError = true)] private static partial int getsockname_(int fd, byte* a, int* len);
    [LibraryImport("libc", EntryPoint = "getpeername", SetLastError = true)] private static partial int getpeername_(int fd, byte* a, int* len);
    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)] private static partial nint sendmsg_(int fd, HostMsgHdr* m, int flags);
    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)] private static partial nint recvmsg_(int fd, HostMsgHdr* m, int flags);
    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)] private static partial nint sendto_(int fd, byte* b, nuint len, int flags, byte* a, int alen);
    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)] private static partial nint recvfrom_(int fd, byte* b, nuint len, int flags, byte* a, int* alen);
    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)] private static partial int setsockopt_(int fd, int level, int name, byte* v, int len);
    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)] private static partial int getsockopt_(int fd, int level, int name, byte* v, int* len);

    static int Err() => -Marshal.GetLastPInvokeError();
    static int R(int r) => r < 0 ? Err() : r;
    static long R(nint r) => r < 0 ? Err() : r;

    public static int Socket(int d, int t, int p) => R(socket_(d, t, p));
    public static int Bind(int fd, byte* a, int len) => R(bind_(fd, a, len));
    public static int Connect(int fd, byte* a, int len) => R(connect_(fd, a, len));
    public static int Listen(int fd, int backlog) => R(listen_(fd, backlog));
    public static int Accept4(int fd, byte* a, int* len, int flags) => R(accept4_(fd, a, len, flags));
    public static int GetSockName(int fd, byte* a, int* len) => R(getsockname_(fd, a, len));
    public static int GetPeerName(int fd, byte* a, int* len) => R(getpeername_(fd, a, len));
    public static long SendMsg(int fd, HostMsgHdr* m, int flags) => R(sendmsg_(fd, m, flags));
    public static long RecvMsg(int fd, HostMsgHdr* m, int flags) => R(recvmsg_(fd, m, flags));
    /// <summary>A message of one buffer with no name and no ancillary data: send(2)/recv(2), which spare the host
    /// copying and checking a msghdr and an iovec array (copy_msghdr_from_user) on every call.</summary>
    public static long Send(int fd, byte* b, nuint len, int flags) => R(sendto_(fd, b, len, flags, null, 0));
    public static long Recv(int fd, byte* b, nuint len, int flags) => R(recvfrom_(fd, b, len, flags, null, null));
    public static int SetSockOpt(int fd, int level, int name, byte* v, int len) => R(setsockopt_(fd, level, name, v, len));
    public static int GetSockOpt(int fd, int level, int name, byte* v, int* len) => R(getsockopt_(fd, level, name, v, len));

    public static int GetInt(int fd, int level, int name)
    {
        int v = 0, len = 4;
        int r = GetSockOpt(fd, level, name, (byte*)&v, &len);
        return r < 0 ? r : v;
    }
}
