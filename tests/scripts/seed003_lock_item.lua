-- Seeds 003/004: DECR the stock and give the buyer a 5-minute lock to complete checkout,
-- or an instant "Sold Out" (prose only in the seeds).
local left = redis.call('DECR', KEYS[1])
if left < 0 then
  redis.call('INCR', KEYS[1])
  return redis.error_reply('SOLDOUT no items left')
end
redis.call('SET', KEYS[2], ARGV[1], 'EX', 300)
return left
