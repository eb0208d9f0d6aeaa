# concurrent.futures.ThreadPoolExecutor: map, submit/as_completed, exceptions, subprocesses from worker threads.
import concurrent.futures as cf, subprocess
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def boom(x):
    raise ValueError("bad %d" % x)
if __name__ == "__main__":
    with cf.ThreadPoolExecutor(max_workers=6) as ex:
        print("map", list(ex.map(fib, range(18))))
        fs = {ex.submit(fib, n): n for n in (10, 15, 20)}
        print("as_completed", sorted((fs[f], f.result()) for f in cf.as_completed(fs)))
        try:
            ex.submit(boom, 3).result()
        except ValueError as e:
            print("exception", e)
        outs = list(ex.map(lambda s: subprocess.run(["echo", s], capture_output=True, text=True).stdout.strip(), ["a", "b", "c", "d"]))
        print("subprocess in threads", outs)
