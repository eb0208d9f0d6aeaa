using System.Net;
using System.Net.Sockets;
using System.Text;
using Compat32.Tests.Debian;
using Compat32.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace Compat32.Tests.Net;

/// <summary>Real programs on loopback sockets: Debian's python3.11 (socketpair, send_fds, selectors, http.server
/// with urllib, UDP, multiprocessing.Manager) and busybox httpd/wget/nc, against qemu-i386; busybox wget against
/// a server in the test process (a host server).</summary>
public class NetProgramTests(ITestOutputHelper log)
{
    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    [DebianFact]
    public void PythonSocketsHttpManager() =>
        DebianRun.AssertSame(log, "python3.11", [DebianSysroot.Script("py_net.py")], new() { TimeoutMs = 300_000 });

    [Fact]
    public void BusyboxHttpdWgetNc()
    {
        using var dir = TestEnv.NewTempDir("bbnet");
        string script = TestEnv.RepoPath("tests", "guests", "net", "bb_http_nc.sh");
        Differential.AssertSame(TestEnv.Busybox, ["sh", script, FreePort().ToString()], new Differential.Options { Cwd = dir.Path });
    }

    /// <summary>A guest client of a host server: busybox wget fetching from an HTTP responder in this process.</summary>
    [Fact]
    public void BusyboxWgetFromHostServer()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        string body = string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i}\n"));
        var server = Task.Run(async () =>
        {
            using var c = await l.AcceptTcpClientAsync();
            var st = c.GetStream();
            var req = new StringBuilder();
            var buf = new byte[4096];
            while (!req.ToString().Contains("\r\n\r\n")) { int n = await st.ReadAsync(buf); if (n == 0) break; req.Append(Encoding.ASCII.GetString(buf, 0, n)); }
            var head = $"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n";
            await st.WriteAsync(Encoding.ASCII.GetBytes(head + body));
            return req.ToString().Split("\r\n")[0];
        });
        try
        {
            var r = Proc.Run(TestEnv.Launcher, [TestEnv.Busybox, "wget", "-q", "-O", "-", $"http://127.0.0.1:{port}/page.txt"], timeoutMs: 120_000);
            Assert.True(r.ExitCode == 0, r.Err);
            Assert.Equal(body, r.Out);
            Assert.Equal("GET /page.txt HTTP/1.1", server.Result);
        }
        finally { l.Stop(); }
    }

    /// <summary>curl:i386 would pull about 22 more packages into the sysroot (libcurl4, krb5, ldap, sasl, gnutls,
    /// nettle, nghttp2, libssh2, librtmp, libpsl, libidn2 ...); a guest HTTP client against a host server is
    /// checked with busybox wget instead (BusyboxWgetFromHostServer).</summary>
    [Fact(Skip = "curl:i386's dependency tree (about 22 packages) is too heavy for the test sysroot; BusyboxWgetFromHostServer covers a guest client of a host server")]
    public void CurlFromHostServer() { }
}
