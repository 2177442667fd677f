-- Seed 000 (quota reservation): the article calls
--   redis.eval(reserveLuaScript, {keys: ['{key}'], arguments: [String(amount), String(quota)]})
-- and treats a result other than 1 as "reservation failed". Its script body did not survive
-- in the seed's text; this is the script that call implies.
local reserved = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
local quota = tonumber(ARGV[2])
if reserved + amount > quota then
  return 0
end
redis.call('INCRBY', KEYS[1], amount)
return 1
