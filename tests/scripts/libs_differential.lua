-- libs_differential.lua: random struct.pack/unpack/size formats and values, cmsgpack of random
-- nested values and of random bytes, all under pcall and serialized; ARGV[1] seeds it.
-- scripting_integration_test.cc runs it on allotd and redis-server and compares the output.
math.randomseed(tonumber(ARGV[1]))
local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end
local function ser(v, d)
  d = d or 0
  local t = type(v)
  if t == 'table' then
    if d > 20 then return '{...}' end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return type(a) .. tostring(a) < type(b) .. tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = ser(k, d + 1) .. '=' .. ser(v[k], d + 1) end
    return '{' .. table.concat(parts, ',') .. '}'
  elseif t == 'string' then return 'x' .. hex(string.sub(v, 1, 24)) .. '/' .. #v
  elseif t == 'number' then return string.format('%.17g', v) end
  return tostring(v)
end
local function all(...)
  local n = select('#', ...)
  local out = {}
  for i = 1, n do out[i] = ser((select(i, ...))) end
  return table.concat(out, ' ')
end
local function rbytes(n) local t = {} for i = 1, n do t[i] = string.char(math.random(0, 255)) end return table.concat(t) end
local nums = {0, 1, -1, 127, 128, 255, 256, -129, 65535, 65536, 2^31, -2^31, 2^32, 2^53, -2^53, 2^63, -2^63, 2^64, 1.5, -2.75, 0.1, 1e300, -1e300, 1/0, -1/0, 0/0, 3.4e38, 1e-45}
local function rnum() if math.random(3) == 1 then return math.random(-100000, 100000) end return nums[math.random(#nums)] end
local function rval(depth)
  local k = math.random(depth > 3 and 5 or 8)
  if k == 1 then return rnum() elseif k == 2 then return rbytes(math.random(0, 40)) elseif k == 3 then return math.random(2) == 1
  elseif k == 4 then return nil elseif k == 5 then return string.rep('y', ({0, 31, 32, 255, 256, 70000})[math.random(6)])
  elseif k <= 7 then local t = {} for i = 1, math.random(0, 18) do t[i] = rval(depth + 1) end return t
  else local t = {} for i = 1, math.random(0, 18) do local kk = math.random(3) local key = kk == 1 and rnum() or kk == 2 and rbytes(math.random(0, 8)) or (math.random(2) == 1) if key == key then t[key] = rval(depth + 1) end end return t end
end
local letters = {'<', '>', '!', 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I', 'f', 'd', 'x', 'c', 's', ' ', '1', '2', '3', '4', '8', '0', '16', 'z'}
local out = {}
for i = 1, 40 do
  local fmt = {}
  for j = 1, math.random(1, 6) do fmt[j] = letters[math.random(#letters)] end
  fmt = table.concat(fmt)
  local args = {}
  for j = 1, math.random(0, 4) do if math.random(4) == 1 then args[j] = rbytes(math.random(0, 6)) else args[j] = rnum() end end
  out[#out + 1] = fmt .. ' pack ' .. all(pcall(struct.pack, fmt, unpack(args, 1, 4)))
  out[#out + 1] = 'size ' .. all(pcall(struct.size, fmt))
  local data = rbytes(math.random(0, 24))
  out[#out + 1] = 'unpack ' .. all(pcall(struct.unpack, fmt, data, math.random(-1, 4)))
  local v = rval(0)
  local ok, p = pcall(cmsgpack.pack, v, rnum())
  out[#out + 1] = 'mp ' .. all(ok, ok and hex(string.sub(p, 1, 64)) or p, ok and #p or 0)
  if ok then out[#out + 1] = 'rt ' .. all(pcall(cmsgpack.unpack, p)) end
  local junk = rbytes(math.random(0, 12))
  out[#out + 1] = 'junk ' .. all(pcall(cmsgpack.unpack, junk))
  out[#out + 1] = 'lim ' .. all(pcall(cmsgpack.unpack_limit, junk, math.random(-1, 3), math.random(-1, 5)))
end
return table.concat(out, '\n')
