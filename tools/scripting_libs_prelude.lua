local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end
local function ser(v)
  local t = type(v)
  if t == 'table' then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return type(a) .. tostring(a) < type(b) .. tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = ser(k) .. '=' .. ser(v[k]) end
    return '{' .. table.concat(parts, ',') .. '}'
  elseif t == 'string' then
    if string.find(v, '^[%w%p ]*$') then return '"' .. v .. '"' end
    return 'x' .. hex(v)
  elseif t == 'number' then
    return string.format('%.17g', v)
  end
  return tostring(v)
end
local function try(f)
  local r = {n = 0}
  local function keep(...) r.n = select('#', ...) for i = 1, r.n do r[i] = (select(i, ...)) end end
  keep(pcall(f))
  if not r[1] then return 'err ' .. tostring(r[2]) end
  local out = {}
  for i = 2, r.n do out[#out + 1] = ser(r[i]) end
  return 'ok ' .. table.concat(out, ' ')
end
