# os-level processes: fork/waitpid, pipe, dup2/execvp, exit statuses, signals, wait for several children.
import os, signal, sys
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"from child %d\n" % (os.getppid() == parent if False else 1))
    os._exit(3)
parent = os.getpid()
os.close(w)
data = b""
while True:
    chunk = os.read(r, 100)
    if not chunk:
        break
    data += chunk
os.close(r)
p, st = os.waitpid(pid, 0)
print(data, p == pid, os.WIFEXITED(st), os.WEXITSTATUS(st))
kids = []
for i in range(5):
    pid = os.fork()
    if pid == 0:
        os._exit(10 + i)
    kids.append(pid)
codes = sorted(os.waitstatus_to_exitcode(os.waitpid(k, 0)[1]) for k in kids)
print("codes", codes)
pid = os.fork()
if pid == 0:
    signal.pause()
    os._exit(0)
os.kill(pid, signal.SIGTERM)
_, st = os.waitpid(pid, 0)
print("signalled", os.WIFSIGNALED(st), os.WTERMSIG(st))
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.dup2(w, 1)
    os.execvp("sh", ["sh", "-c", "echo exec $((1+2)); tr a-z A-Z <<E\nhere\nE"])
os.close(w)
with os.fdopen(r) as f:
    print("exec output", f.read().split())
print("exec status", os.waitpid(pid, 0)[1])
got = []
signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
os.kill(os.getpid(), signal.SIGUSR1)
print("handler", got == [signal.SIGUSR1])
pid = os.fork()
if pid == 0:
    os.kill(os.getppid(), signal.SIGUSR1)
    os._exit(0)
os.waitpid(pid, 0)
print("from child", len(got))
try:
    os.waitpid(-1, 0)
except ChildProcessError as e:
    print("no children", e.errno)
print("spawn", os.waitpid(os.spawnvp(os.P_NOWAIT, "true", ["true"]), 0)[1], os.system("exit 4") >> 8)
print("popen", os.popen("echo popen; echo two").read().split())
