// lua_libs.h: the `struct` and `cmsgpack` Lua libraries Redis 7.0 gives scripts.
//
// Redis vendors Roberto Ierusalimschy's struct library (with Redis's fixes: 'T', the
// 32-byte integer limit, the overflow check of sizes, struct.size) and Salvatore
// Sanfilippo's lua-cmsgpack 0.4.0. Debian packages neither, so these are our own
// implementations of the same API with the same results, byte for byte and error text for
// error text, on x86-64 (where Redis's C leaves a conversion undefined we do what its
// compiled code does there; see lua_struct.cc). tests/scripting_libs_test.cc holds the
// replies of Debian's redis-server 7.0.15.
//
// Each opener takes the library name (as lua_call passes it) and returns the library's
// table; it sets no global (lua_runtime.cc does, then makes the table read-only).
#pragma once

extern "C" {
#include <lua.h>
}

namespace allot::internal {

int OpenLuaStruct(lua_State* L);
int OpenLuaCmsgpack(lua_State* L);

}  // namespace allot::internal
