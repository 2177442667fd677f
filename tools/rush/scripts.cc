#include "tools/rush/scripts.h"

namespace allot::rush {

const char* const kTicketsScript = R"(local user_id = ARGV[1]
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
)";

const char* const kQuotaScript = R"(local reserved = tonumber(redis.call("GET", KEYS[1]) or "0")
local amount = tonumber(ARGV[1])
if reserved + amount > tonumber(ARGV[2]) then
    return 0 -- the quota would be exceeded
end
redis.call("INCRBY", KEYS[1], amount)
return 1
)";

namespace {

// Shared by the three hold scripts: return the units of up to `n` due holds.
const char* const kExpireLua = R"(local function expire(now, n)
  for _ = 1, n do
    local id = redis.call("LINDEX", KEYS[4], 0)
    if not id then return end
    local h = redis.call("HGET", KEYS[3], id)
    if h then
      local sep = string.find(h, ":", 1, true)
      if tonumber(string.sub(h, 1, sep - 1)) > now then return end
      redis.call("HDEL", KEYS[3], id)
      redis.call("SREM", KEYS[2], string.sub(h, sep + 1))
      redis.call("INCR", KEYS[1])
      redis.call("INCR", KEYS[6])
    end
    redis.call("LPOP", KEYS[4])
  end
end
)";

}  // namespace

const std::string kHoldScript = std::string(kExpireLua) + R"(local now = tonumber(ARGV[2])
expire(now, 100)
if redis.call("HEXISTS", KEYS[3], ARGV[4]) == 1 then
    return 1 -- a retry of a hold that is still open
end
if tonumber(redis.call("GET", KEYS[1]) or "0") <= 0 then
    return 0 -- sold out
end
if redis.call("SISMEMBER", KEYS[2], ARGV[1]) == 1 then
    return -1 -- the user already holds or bought one
end
redis.call("DECR", KEYS[1])
redis.call("SADD", KEYS[2], ARGV[1])
redis.call("HSET", KEYS[3], ARGV[4], (now + tonumber(ARGV[3])) .. ":" .. ARGV[1])
redis.call("RPUSH", KEYS[4], ARGV[4])
return 1
)";

const std::string kConfirmScript = std::string(kExpireLua) + R"(local now = tonumber(ARGV[2])
expire(now, 100)
if redis.call("SISMEMBER", KEYS[7], ARGV[1]) == 1 then
    return 1 -- already confirmed
end
local h = redis.call("HGET", KEYS[3], ARGV[1])
if not h then
    return -2 -- expired (its units are back)
end
local sep = string.find(h, ":", 1, true)
if tonumber(string.sub(h, 1, sep - 1)) <= now then
    -- due but behind an older open hold in the list: expire it here
    redis.call("HDEL", KEYS[3], ARGV[1])
    redis.call("SREM", KEYS[2], string.sub(h, sep + 1))
    redis.call("INCR", KEYS[1])
    redis.call("INCR", KEYS[6])
    return -2
end
redis.call("HDEL", KEYS[3], ARGV[1])
redis.call("SADD", KEYS[7], ARGV[1])
redis.call("INCR", KEYS[5])
return 1
)";

const std::string kSweepScript = std::string(kExpireLua) + R"(expire(tonumber(ARGV[1]), 10000)
return redis.call("HLEN", KEYS[3])
)";

}  // namespace allot::rush
