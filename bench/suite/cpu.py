# CPU-bound interpreter workload (python3.11, perl and lua5.4 run the same work: cpu.pl, cpu.lua):
# integer loops, a dict of string keys, string building and float formatting. Argument: scale (default 1).
import sys
scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
n = int(200000 * scale)
# integer loop: an LCG and a running sum
x, acc = 12345, 0
for i in range(n * 5):
    x = (x * 1103515245 + 12345) & 0x7fffffff
    acc = (acc + (x >> 7)) & 0xffffffff
# dict of string keys: counts and updates
d = {}
for i in range(n):
    k = "k" + str((i * 7919) % 50021)
    d[k] = d.get(k, 0) + i
tot = 0
for k in sorted(d):
    tot = (tot * 31 + d[k] + len(k)) & 0xffffffff
# string building: joined pieces, then searched
parts = []
for i in range(n):
    parts.append("%d:%s;" % (i, "abcdefghij"[i % 10] * (i % 7 + 1)))
s = "".join(parts)
cnt = s.count("ccc") + s.count("9:")
# float formatting
fs = 0
f = 0.5
for i in range(n):
    f = f * 1.000013 + 0.25 / (i + 1)
    fs += len("%.6f %.3e" % (f, f * i))
print("python", n, x, acc, len(d), tot, len(s), cnt, fs, "%.9f" % f)
