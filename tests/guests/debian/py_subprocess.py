# subprocess: run, check_output, a pipe between two children, Popen with stdin, return codes.
import os, subprocess, sys
r = subprocess.run(["echo", "hello", "world"], capture_output=True, text=True)
print("run:", r.returncode, repr(r.stdout))
print("check_output:", subprocess.check_output(["seq", "3"]).split())
p1 = subprocess.Popen(["seq", "1", "10"], stdout=subprocess.PIPE)
p2 = subprocess.Popen(["sort", "-rn"], stdin=p1.stdout, stdout=subprocess.PIPE)
p1.stdout.close()
out, _ = p2.communicate()
print("pipe:", out.decode().split(), p1.wait(), p2.returncode)
p = subprocess.Popen(["tr", "a-z", "A-Z"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print("communicate:", p.communicate(b"shout\n" * 3)[0], p.returncode)
print("shell:", subprocess.run("echo $((6*7)) | cat; exit 3", shell=True, capture_output=True).returncode,
      subprocess.run("echo $((6*7)) | cat", shell=True, capture_output=True).stdout)
print("status:", subprocess.call(["sh", "-c", "exit 7"]), subprocess.call(["false"]))
try:
    subprocess.run(["sh", "-c", "kill -TERM $$"], check=True)
except subprocess.CalledProcessError as e:
    print("signalled:", e.returncode)
try:
    subprocess.run(["/nonexistent/prog"])
except FileNotFoundError as e:
    print("missing:", e.errno)
r = subprocess.run(["cat"], input=b"x" * 200000, capture_output=True)
print("big:", len(r.stdout))
env = subprocess.run(["env"], env={"A": "1", "B": "two"}, capture_output=True, text=True).stdout
print("env:", sorted(env.split()))
print("cwd:", subprocess.run(["pwd"], cwd="/", capture_output=True, text=True).stdout.strip())
sys.stdout.flush()
