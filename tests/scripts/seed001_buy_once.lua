-- Seed 001: "check stock > 0, check user not bought, decrement stock, add user", one per
-- user through a Set of sold users (the seed describes it in prose only).
if tonumber(redis.call('GET', KEYS[1]) or '0') <= 0 then
  return 0
end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then
  return -1
end
redis.call('DECR', KEYS[1])
return 1
