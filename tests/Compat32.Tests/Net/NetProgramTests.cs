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

    [QemuExecFact]
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

    /// <summary>curl:i386 (Debian bookworm's, from the net sysroot) fetching from an HTTP/1.1 server in this
    /// process: two URLs over one kept-alive connection (a 200 and a 404), headers included, then a refused
    /// connect. Output, exit status and the requests the server saw are compared with qemu-i386's run.</summary>
    [ExtraSysrootFact("net", "curl")]
    public void CurlFromHostServer()
    {
        string sr = DebianSysroot.ExtraDir("net"), curl = Path.Combine(sr, "usr", "bin", "curl");
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port, closed = FreePort();
        string body = string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i}\n"));
        var seen = new List<string>();
        var server = Task.Run(async () =>
        {
            while (true)
            {
                TcpClient c;
                try { c = await l.AcceptTcpClientAsync(); } catch { return; }
                using (c)
                {
                    var st = c.GetStream();
                    var pending = new StringBuilder();
                    var buf = new byte[4096];
                    while (true)
                    {
                        int end;
                        while ((end = pending.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal)) < 0)
                        {
                            int n = await st.ReadAsync(buf);
                            if (n == 0) goto next;
                            pending.Append(Encoding.ASCII.GetString(buf, 0, n));
                        }
                        string req = pending.ToString(0, end + 4);
                        pending.Remove(0, end + 4);
                        lock (seen) seen.Add(req);
                        bool ok = req.StartsWith("GET /page.txt ", StringComparison.Ordinal);
                        string b = ok ? body : "not here\n";
                        string head = $"HTTP/1.1 {(ok ? "200 OK" : "404 Not Found")}\r\nContent-Type: text/plain\r\nContent-Length: {b.Length}\r\n\r\n";
                        await st.WriteAsync(Encoding.ASCII.GetBytes(head + b));
                    }
                next:;
                }
            }
        });
        try
        {
            using var home = TestEnv.NewTempDir("home");
            var env = Proc.BaseEnv();
            env["HOME"] = home.Path;
            string[] fetch = ["-sS", "-i", "-w", "%{http_code} %{size_download} %{num_connects}\n",
                $"http://127.0.0.1:{port}/page.txt", $"http://127.0.0.1:{port}/missing"];
            string[] refused = ["-s", $"http://127.0.0.1:{closed}/"];
            ProcResult Qemu(string[] a) => Proc.Run(TestEnv.Qemu, ["-cpu", TestEnv.QemuCpu, "-L", sr, curl, .. a], home.Path, env, null, 120_000);
            ProcResult Compat(string[] a) => Differential.RunCompat32(curl, a, new Differential.Options
            { Cwd = home.Path, Env = env, TimeoutMs = 120_000, Compat32Options = ["--sysroot", sr] });

            var q = Qemu(fetch);
            string[] qSeen; lock (seen) { qSeen = [.. seen]; seen.Clear(); }
            var c = Compat(fetch);
            string[] cSeen; lock (seen) { cSeen = [.. seen]; seen.Clear(); }
            Assert.True(q.ExitCode == 0, "qemu-i386 curl: " + q.Err);
            Assert.Contains(body, q.Out);
            Differential.Compare("curl " + string.Join(' ', fetch), q, c, stderr: true);
            Assert.Equal(2, qSeen.Length);
            Assert.Equal(qSeen, cSeen);
            log.WriteLine(cSeen[0]);

            var qr = Qemu(refused);
            var cr = Compat(refused);
            Assert.Equal(7, qr.ExitCode); // CURLE_COULDNT_CONNECT
            Differential.Compare("curl " + string.Join(' ', refused), qr, cr, stderr: true);
        }
        finally { l.Stop(); }
        server.Wait(10_000);
    }
}
