# selectors.DefaultSelector (epoll) over a socketpair and a pipe: a ping-pong of 200 messages with
# non-blocking sockets (send/recv), the pipe through os.read/os.write, registration changes, and a timeout
# with nothing ready.
import os, selectors, socket

sel = selectors.DefaultSelector()
print(type(sel).__name__)
a, b = socket.socketpair()
a.setblocking(False)
b.setblocking(False)
r, w = os.pipe()
os.set_blocking(r, False)
sel.register(a, selectors.EVENT_READ, "a")
sel.register(b, selectors.EVENT_READ, "b")
sel.register(r, selectors.EVENT_READ, "pipe")
print("idle:", sel.select(timeout=0.05))
a.send(b"0")
count, pipe_seen = 0, 0
while count < 200:
    for key, mask in sel.select(timeout=5):
        if key.data == "pipe":
            pipe_seen += len(os.read(r, 100))
            continue
        s = key.fileobj
        data = s.recv(100)
        n = int(data)
        count += 1
        if n % 50 == 49:
            os.write(w, b"p")
        (b if s is a else a).send(str(n + 1).encode())
print("messages:", count, "pipe bytes:", pipe_seen)
sel.modify(a, selectors.EVENT_WRITE, "a-write")
ready = sel.select(timeout=1)
print("writable:", sorted(k.data for k, m in ready if m & selectors.EVENT_WRITE))
sel.unregister(a)
b.close()
print("after unregister:", sorted(k.data for k, _ in sel.get_map().items()) if False else len(sel.get_map()))
a.close()
sel.close()
