local user_id = ARGV[1]
local ticket_key = KEYS[1]
local user_set_key = KEYS[2]

local tickets = tonumber(redis.call("GET", ticket_key) or "0")

if tickets <= 0 then
    return 0 -- Sold out
end

if redis.call("SISMEMBER", user_set_key, user_id) == 1 then
    return -1 -- User already purchased
end

redis.call("DECR", ticket_key)
redis.call("SADD", user_set_key, user_id)

return 1 -- Purchase successful
