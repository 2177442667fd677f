// lua_convert.h: Redis 7.0's conversions between Lua values and replies.
//
// Reply -> Lua (what redis.call returns to the script), by the script's protocol
// (redis.setresp): integer -> number, bulk -> string, status -> {ok=...}, error ->
// {err=...}, array -> table; null -> false in RESP2, nil in RESP3; in RESP3 a map is
// {map={k=v}}, a set {set={m=true}}, a double {double=n}, a boolean a Lua boolean (RESP2
// sees maps and sets as flat arrays, doubles as strings, booleans as 1/0).
//
// Lua -> Reply (what the script returns): string -> bulk, number -> integer (truncated
// toward zero), true -> 1 (RESP2 script) or boolean (RESP3), false/nil -> null (RESP2)
// or false (RESP3), a table with a string field err -> error, ok -> status, double ->
// double, map -> map, set -> set, else an array of t[1], t[2], ... up to the first nil.
#pragma once

extern "C" {
#include <lua.h>
}

#include <allot/reply.h>

namespace allot::internal {

// Pushes reply as the script (protocol resp) sees it.
void PushReply(lua_State* L, const Reply& reply, int resp);
// Converts the value at idx (the script's protocol resp decides booleans).
Reply LuaToReply(lua_State* L, int idx, int resp);

}  // namespace allot::internal
