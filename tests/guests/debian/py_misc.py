# CPU-bound stdlib work: float formatting, decimal, hashlib (OpenSSL), zlib, json, re, struct, datetime, sorting.
import datetime, decimal, hashlib, json, math, re, struct, zlib, random
print([repr(x) for x in (0.1 + 0.2, 1 / 3, 2 ** 0.5, math.pi * 1e300, 5e-324, -0.0, float("inf"))])
print(["%.17g" % math.sin(x) for x in (0.5, 1.0, 100.0, 1e6)], math.fsum([0.1] * 10), math.factorial(30))
decimal.getcontext().prec = 50
print(decimal.Decimal(2).sqrt(), decimal.Decimal(1) / decimal.Decimal(7))
print(hashlib.sha256(b"compat32").hexdigest(), hashlib.md5(b"x" * 100000).hexdigest(), hashlib.sha3_256(b"").hexdigest()[:16])
blob = bytes(range(256)) * 400
z = zlib.compress(blob, 9)
print(len(z), zlib.crc32(blob), zlib.decompress(z) == blob)
doc = {"a": [1, 2.5, None, True], "b": {"c": "\u00e9\u4e2d"}, "n": 10 ** 20}
print(json.dumps(doc, sort_keys=True), json.loads(json.dumps(doc)) == doc)
print(re.findall(r"(\w+)@(\w+)\.com", "a@b.com, c@d.com; e@f.org"), re.sub(r"(\d+)", lambda m: str(int(m[1]) * 2), "1 22 333"))
print(struct.pack("<idQ", -2, 1.5, 2 ** 63).hex(), struct.unpack(">hf", b"\xff\xfe\x3f\xc0\x00\x00"))
print(datetime.datetime.fromtimestamp(1234567890, datetime.timezone.utc).isoformat(), datetime.date(2024, 2, 29).strftime("%A %j"))
r = random.Random(42)
xs = [r.random() for _ in range(10000)]
print(sorted(xs)[:3], sum(xs), r.randrange(10 ** 12))
print(sorted(["b", "A", "a", "B", "\u00e9"], key=str.lower), int("9" * 60) // 7 % 1000003)
