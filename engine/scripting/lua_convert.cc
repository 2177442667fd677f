#include "engine/scripting/lua_convert.h"

extern "C" {
#include <lauxlib.h>
}

#include <cmath>
#include <string>

#include "engine/commands/args.h"
#include "engine/limits.h"

namespace allot::internal {

namespace {

std::string DoubleText(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  return FormatDouble(v);
}

// Lua numbers become integers as Redis's (long long) cast does on x86-64: truncation,
// and the "integer indefinite" value for NaN and out-of-range numbers.
int64_t TruncateNumber(double n) {
  if (std::isnan(n) || n >= 9223372036854775808.0 || n < -9223372036854775808.0) {
    return INT64_MIN;
  }
  return static_cast<int64_t>(n);
}

std::string NoNewlines(const char* s, size_t len) {
  std::string out(s, len);
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

// Field `name` of the table at idx, if it is of type want; leaves it pushed when true.
bool RawField(lua_State* L, int idx, const char* name, int want) {
  lua_pushstring(L, name);
  lua_rawget(L, idx);
  if (lua_type(L, -1) == want) return true;
  lua_pop(L, 1);
  return false;
}

Reply ToReply(lua_State* L, int idx, int resp, int depth);

Reply TableToReply(lua_State* L, int idx, int resp, int depth) {
  size_t len = 0;
  if (RawField(L, idx, "err", LUA_TSTRING)) {
    const char* s = lua_tolstring(L, -1, &len);
    Reply r = Reply::Error(NoNewlines(s, len));
    lua_pop(L, 1);
    return r;
  }
  if (RawField(L, idx, "ok", LUA_TSTRING)) {
    const char* s = lua_tolstring(L, -1, &len);
    Reply r = Reply::Status(NoNewlines(s, len));
    lua_pop(L, 1);
    return r;
  }
  if (RawField(L, idx, "double", LUA_TNUMBER)) {
    Reply r = Reply::Double(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return r;
  }
  if (RawField(L, idx, "map", LUA_TTABLE)) {
    int t = lua_gettop(L);
    std::vector<Reply> kv;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
      lua_pushvalue(L, -2);  // key copy: converting must not touch the one lua_next uses
      kv.push_back(ToReply(L, lua_gettop(L), resp, depth + 1));
      lua_pop(L, 1);
      kv.push_back(ToReply(L, lua_gettop(L), resp, depth + 1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return Reply::Map(std::move(kv));
  }
  if (RawField(L, idx, "set", LUA_TTABLE)) {
    int t = lua_gettop(L);
    std::vector<Reply> members;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      members.push_back(ToReply(L, lua_gettop(L), resp, depth + 1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return Reply::Set(std::move(members));
  }
  std::vector<Reply> elems;
  for (int j = 1;; ++j) {
    lua_rawgeti(L, idx, j);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    elems.push_back(ToReply(L, lua_gettop(L), resp, depth + 1));
    lua_pop(L, 1);
  }
  return Reply::Array(std::move(elems));
}

Reply ToReply(lua_State* L, int idx, int resp, int depth) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, idx, &len);
      return Reply::Bulk(std::string_view(s, len));
    }
    case LUA_TBOOLEAN:
      if (resp == 2) return lua_toboolean(L, idx) ? Reply::Int(1) : Reply::Null();
      return Reply::Bool(lua_toboolean(L, idx) != 0);
    case LUA_TNUMBER:
      return Reply::Int(TruncateNumber(lua_tonumber(L, idx)));
    case LUA_TTABLE:
      // Redis stops where the Lua stack would overflow (a table containing itself).
      if (depth >= static_cast<int>(limits::kScriptReplyDepthMax) || !lua_checkstack(L, 4)) {
        return Reply::Error("ERR reached lua stack limit");
      }
      return TableToReply(L, idx, resp, depth);
    default:
      return Reply::Null();
  }
}

void PushArray(lua_State* L, const std::vector<Reply>& elems, int resp) {
  lua_createtable(L, static_cast<int>(elems.size()), 0);
  for (size_t i = 0; i < elems.size(); ++i) {
    PushReply(L, elems[i], resp);
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
}

}  // namespace

Reply LuaToReply(lua_State* L, int idx, int resp) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  return ToReply(L, idx, resp, 0);
}

void PushReply(lua_State* L, const Reply& r, int resp) {
  luaL_checkstack(L, 4, "reached lua stack limit");
  switch (r.kind()) {
    case Reply::Kind::kStatus:
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, r.string().data(), r.string().size());
      lua_setfield(L, -2, "ok");
      return;
    case Reply::Kind::kError:
      lua_createtable(L, 0, 1);
      lua_pushlstring(L, r.string().data(), r.string().size());
      lua_setfield(L, -2, "err");
      return;
    case Reply::Kind::kInteger:
      lua_pushnumber(L, static_cast<lua_Number>(r.integer()));
      return;
    case Reply::Kind::kBulk:
      lua_pushlstring(L, r.string().data(), r.string().size());
      return;
    case Reply::Kind::kNull:
      if (resp == 2) {
        lua_pushboolean(L, 0);
      } else {
        lua_pushnil(L);
      }
      return;
    case Reply::Kind::kArray:
      PushArray(L, r.array(), resp);
      return;
    case Reply::Kind::kMap:
      if (resp == 2) return PushArray(L, r.array(), resp);
      lua_createtable(L, 0, 1);
      lua_createtable(L, 0, static_cast<int>(r.size()));
      for (size_t i = 0; i + 1 < r.array().size(); i += 2) {
        PushReply(L, r.array()[i], resp);
        PushReply(L, r.array()[i + 1], resp);
        lua_settable(L, -3);
      }
      lua_setfield(L, -2, "map");
      return;
    case Reply::Kind::kSet:
      if (resp == 2) return PushArray(L, r.array(), resp);
      lua_createtable(L, 0, 1);
      lua_createtable(L, 0, static_cast<int>(r.size()));
      for (const Reply& m : r.array()) {
        PushReply(L, m, resp);
        lua_pushboolean(L, 1);
        lua_settable(L, -3);
      }
      lua_setfield(L, -2, "set");
      return;
    case Reply::Kind::kDouble:
      if (resp == 2) {
        std::string text = DoubleText(r.dbl());
        lua_pushlstring(L, text.data(), text.size());
        return;
      }
      lua_createtable(L, 0, 1);
      lua_pushnumber(L, r.dbl());
      lua_setfield(L, -2, "double");
      return;
    case Reply::Kind::kBoolean:
      if (resp == 2) {
        lua_pushnumber(L, r.boolean() ? 1 : 0);
      } else {
        lua_pushboolean(L, r.boolean() ? 1 : 0);
      }
      return;
  }
}

}  // namespace allot::internal
