# multiprocessing with the fork start method: Pool.map, Process with a Queue and a Pipe, Value/Lock,
# concurrent.futures.ProcessPoolExecutor.
import concurrent.futures as cf, multiprocessing as mp
def square(x):
    return x * x
def child(q, conn, v, lk):
    q.put(("queue", sum(range(100))))
    conn.send(["pipe", 1, 2.5])
    conn.close()
    for _ in range(1000):
        with lk:
            v.value += 1
if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(4) as pool:
        print("map", pool.map(square, range(20)))
        print("imap", sum(pool.imap_unordered(square, range(100), chunksize=7)))
        print("apply", pool.apply_async(square, (12,)).get(timeout=60))
    q = mp.Queue()
    a, b = mp.Pipe()
    v = mp.Value("i", 0)
    lk = mp.Lock()
    ps = [mp.Process(target=child, args=(q, b, v, lk)) for _ in range(3)]
    for p in ps: p.start()
    got = sorted([q.get(timeout=60) for _ in ps])
    msgs = [a.recv() for _ in ps]
    for p in ps: p.join()
    print(got, msgs, v.value, [p.exitcode for p in ps])
    p = mp.Process(target=exit, args=(5,))
    p.start(); p.join()
    print("exitcode", p.exitcode)
    with cf.ProcessPoolExecutor(max_workers=3, mp_context=mp.get_context("fork")) as ex:
        print("process pool", list(ex.map(square, [15, 16, 17, 18])))
