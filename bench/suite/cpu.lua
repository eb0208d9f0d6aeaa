-- The work of cpu.py in Lua 5.4 (see there). Argument: scale (default 1).
local scale = tonumber(arg[1] or "1")
local n = math.floor(200000 * scale)
local x, acc = 12345, 0
for i = 0, n * 5 - 1 do
  x = (x * 1103515245 + 12345) & 0x7fffffff
  acc = (acc + (x >> 7)) & 0xffffffff
end
local d, cntk = {}, 0
for i = 0, n - 1 do
  local k = "k" .. ((i * 7919) % 50021)
  local v = d[k]
  if v == nil then cntk = cntk + 1; v = 0 end
  d[k] = v + i
end
local keys = {}
for k in pairs(d) do keys[#keys + 1] = k end
table.sort(keys)
local tot = 0
for _, k in ipairs(keys) do tot = (tot * 31 + d[k] + #k) & 0xffffffff end
local parts = {}
local letters = "abcdefghij"
for i = 0, n - 1 do
  local c = letters:sub(i % 10 + 1, i % 10 + 1)
  parts[#parts + 1] = string.format("%d:%s;", i, c:rep(i % 7 + 1))
end
local s = table.concat(parts)
local cnt = 0
for _ in s:gmatch("ccc") do cnt = cnt + 1 end
for _ in s:gmatch("9:") do cnt = cnt + 1 end
local fs, f = 0, 0.5
for i = 0, n - 1 do
  f = f * 1.000013 + 0.25 / (i + 1)
  fs = fs + #string.format("%.6f %.3e", f, f * i)
end
print(string.format("lua %d %d %d %d %d %d %d %d %.9f", n, x, acc, cntk, tot, #s, cnt, fs, f))
