# Sockets from python: socketpair and fd passing, a selectors echo server, http.server with urllib,
# UDP, and multiprocessing.Manager (its own AF_UNIX server process). Everything on 127.0.0.1, ports chosen by the kernel.
import http.server, multiprocessing as mp, os, selectors, socket, threading, urllib.request

a, b = socket.socketpair()
a.sendall(b"ping")
print("socketpair", b.recv(16), a.family == socket.AF_UNIX, a.type == socket.SOCK_STREAM)
r, w = os.pipe()
socket.send_fds(a, [b"fd"], [w])
msg, fds, flags, addr = socket.recv_fds(b, 16, 4)
os.write(fds[0], b"through a passed fd")
print("send_fds", msg, len(fds), os.read(r, 64))
a.close(); b.close()

# an echo server on a PollSelector (epoll may not be there), with four client threads
sel = selectors.PollSelector()
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(); srv.setblocking(False)
port = srv.getsockname()[1]
sel.register(srv, selectors.EVENT_READ)
results = {}
def client(i):
    with socket.create_connection(("127.0.0.1", port)) as c:
        got = b""
        for k in range(10):
            m = f"c{i}m{k};".encode()
            c.sendall(m)
            while len(got) < (k + 1) * len(m): got += c.recv(100)
        results[i] = got.count(b";")
ts = [threading.Thread(target=client, args=(i,)) for i in range(4)]
for t in ts: t.start()
closed = 0
while closed < 4:
    for key, ev in sel.select(timeout=10):
        if key.fileobj is srv:
            c, _ = srv.accept(); c.setblocking(False); sel.register(c, selectors.EVENT_READ)
        else:
            data = key.fileobj.recv(100)
            if data: key.fileobj.sendall(data)
            else: sel.unregister(key.fileobj); key.fileobj.close(); closed += 1
for t in ts: t.join()
print("selectors echo", sorted(results.items()))

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"path={self.path} agent={self.headers.get('User-Agent', '')[:6]}".encode()
        self.send_response(200); self.send_header("Content-Type", "text/plain"); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers["Content-Length"]); data = self.rfile.read(n)
        self.send_response(201); self.end_headers(); self.wfile.write(data[::-1])
    def log_message(self, *a): pass
hs = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=hs.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{hs.server_address[1]}"
with urllib.request.urlopen(url + "/hello?x=1", timeout=30) as resp:
    print("GET", resp.status, resp.headers["Content-Type"], resp.read())
req = urllib.request.Request(url + "/post", data=b"0123456789" * 100, method="POST")
with urllib.request.urlopen(req, timeout=30) as resp:
    body = resp.read()
    print("POST", resp.status, len(body), body[:12])
try:
    urllib.request.urlopen(f"http://127.0.0.1:1/", timeout=5)
except OSError as e:
    print("refused", type(e).__name__, getattr(e, "reason", e).__class__.__name__)
hs.shutdown()

u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u2.sendto(b"udp!", u1.getsockname())
d, src = u1.recvfrom(10)
print("udp", d, src[1] == u2.getsockname()[1])

def work(d, l, i):
    d[i] = i * i
    l.append(i)
if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Manager() as m:
        d = m.dict(); l = m.list()
        ps = [mp.Process(target=work, args=(d, l, i)) for i in range(4)]
        for p in ps: p.start()
        for p in ps: p.join()
        print("manager", sorted(d.items()), sorted(l), [p.exitcode for p in ps])
