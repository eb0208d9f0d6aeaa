# threading: 8 threads incrementing a counter under a Lock; Condition, Event, Barrier, Semaphore, queue.
import threading, queue
N, ITER = 8, 20000
counter = 0
lock = threading.Lock()
def work():
    global counter
    for _ in range(ITER):
        with lock:
            counter += 1
ts = [threading.Thread(target=work) for _ in range(N)]
for t in ts: t.start()
for t in ts: t.join()
print("counter", counter, counter == N * ITER)

b = threading.Barrier(N)
order = []
def at_barrier(i):
    b.wait()
    with lock:
        order.append(i)
ts = [threading.Thread(target=at_barrier, args=(i,)) for i in range(N)]
for t in ts: t.start()
for t in ts: t.join()
print("barrier", sorted(order))

q = queue.Queue()
results = []
def consumer():
    while True:
        item = q.get()
        if item is None:
            break
        with lock:
            results.append(item * item)
cs = [threading.Thread(target=consumer) for _ in range(4)]
for c in cs: c.start()
for i in range(1000): q.put(i)
for _ in cs: q.put(None)
for c in cs: c.join()
print("queue", len(results), sum(results))

ev = threading.Event()
cond = threading.Condition()
state = {"n": 0}
def waiter():
    ev.wait()
    with cond:
        state["n"] += 1
        cond.notify_all()
ws = [threading.Thread(target=waiter) for _ in range(5)]
for w in ws: w.start()
ev.set()
with cond:
    cond.wait_for(lambda: state["n"] == 5, timeout=30)
for w in ws: w.join()
print("event/condition", state["n"])
sem = threading.BoundedSemaphore(3)
peak = {"now": 0, "max": 0}
def limited():
    with sem:
        with lock:
            peak["now"] += 1
            peak["max"] = max(peak["max"], peak["now"])
        threading.Event().wait(0.01)
        with lock:
            peak["now"] -= 1
ts = [threading.Thread(target=limited) for _ in range(10)]
for t in ts: t.start()
for t in ts: t.join()
print("semaphore max <= 3:", peak["max"] <= 3)
local = threading.local()
def tl(i):
    local.v = i
    threading.Event().wait(0.001)
    with lock:
        results.append(local.v == i)
results = []
ts = [threading.Thread(target=tl, args=(i,)) for i in range(N)]
for t in ts: t.start()
for t in ts: t.join()
print("thread-local", all(results), len(results), threading.active_count())
