// lua_cmsgpack.cc: cmsgpack.pack / unpack / unpack_one / unpack_limit as in Redis 7.0
// (lua-cmsgpack 0.4.0).
//
// Encoding. Strings: fixstr / str8 / str16 / str32 (never bin). Numbers: a double equal to
// an int64 is an integer in the smallest format (negative ones signed, others unsigned);
// otherwise float32 when exact, else float64. true/false. A table whose keys are exactly
// the numbers 1..N is an array (read with the length operator and ordinary indexing),
// any other table a map (raw traversal order). Tables nested 16 deep, and every other
// type, encode as nil. pack(a, b, ...) concatenates the encodings.
// Decoding. Every integer format becomes a Lua number; uint64 goes through a signed cast
// (2^64-1 decodes as -1, as in Redis on 64-bit); bin, ext and the unused bytes are "Bad
// data format in input."; a value cut short is "Missing bytes in input.".
//
// Errors longjmp (Lua 5.1 is C): the pack buffer is a userdata with a __gc, so an error
// in the middle of a pack (a metamethod raising, the stack limit) leaks nothing.
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "engine/scripting/lua_libs.h"

extern "C" {
#include <lauxlib.h>
}

namespace allot::internal {

namespace {

constexpr int kNestingMax = 16;  // Redis's LUACMSGPACK_MAX_NESTING
constexpr const char* kBufferMeta = "allot.cmsgpack.buffer";

// ---- encoding ----

void PutBigEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void EncodeBytes(std::string& out, const char* s, size_t len) {
  if (len < 32) {
    out.push_back(static_cast<char>(0xa0 | len));
  } else if (len <= 0xff) {
    out.push_back(static_cast<char>(0xd9));
    PutBigEndian(out, len, 1);
  } else if (len <= 0xffff) {
    out.push_back(static_cast<char>(0xda));
    PutBigEndian(out, len, 2);
  } else {
    out.push_back(static_cast<char>(0xdb));
    PutBigEndian(out, len, 4);
  }
  out.append(s, len);
}

void EncodeDouble(std::string& out, double d) {
  float f = static_cast<float>(d);
  if (d == static_cast<double>(f)) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    out.push_back(static_cast<char>(0xca));
    PutBigEndian(out, bits, 4);
  } else {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    out.push_back(static_cast<char>(0xcb));
    PutBigEndian(out, bits, 8);
  }
}

void EncodeInt(std::string& out, int64_t n) {
  if (n >= 0) {
    if (n <= 127) {
      out.push_back(static_cast<char>(n));
    } else if (n <= 0xff) {
      out.push_back(static_cast<char>(0xcc));
      PutBigEndian(out, static_cast<uint64_t>(n), 1);
    } else if (n <= 0xffff) {
      out.push_back(static_cast<char>(0xcd));
      PutBigEndian(out, static_cast<uint64_t>(n), 2);
    } else if (n <= 0xffffffffLL) {
      out.push_back(static_cast<char>(0xce));
      PutBigEndian(out, static_cast<uint64_t>(n), 4);
    } else {
      out.push_back(static_cast<char>(0xcf));
      PutBigEndian(out, static_cast<uint64_t>(n), 8);
    }
    return;
  }
  uint64_t u = static_cast<uint64_t>(n);
  if (n >= -32) {
    out.push_back(static_cast<char>(n));
  } else if (n >= -128) {
    out.push_back(static_cast<char>(0xd0));
    PutBigEndian(out, u, 1);
  } else if (n >= -32768) {
    out.push_back(static_cast<char>(0xd1));
    PutBigEndian(out, u, 2);
  } else if (n >= -2147483648LL) {
    out.push_back(static_cast<char>(0xd2));
    PutBigEndian(out, u, 4);
  } else {
    out.push_back(static_cast<char>(0xd3));
    PutBigEndian(out, u, 8);
  }
}

// Array and map headers: fix (<= 15), 16-bit, 32-bit.
void EncodeContainer(std::string& out, uint64_t n, uint8_t fix, uint8_t c16) {
  if (n <= 15) {
    out.push_back(static_cast<char>(fix | n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(c16));
    PutBigEndian(out, n, 2);
  } else {
    out.push_back(static_cast<char>(c16 + 1));
    PutBigEndian(out, n, 4);
  }
}

void EncodeNumber(std::string& out, lua_Number n) {
  // "Equal to an int64": Redis's (int64_t)n == n; the cast of an out-of-range double
  // gives INT64_MIN on x86-64, which only -2^63 itself equals.
  bool in_range = n >= -9223372036854775808.0 && n < 9223372036854775808.0;
  if (in_range && static_cast<double>(static_cast<int64_t>(n)) == n) {
    EncodeInt(out, static_cast<int64_t>(n));
  } else {
    EncodeDouble(out, n);
  }
}

// Redis's table_is_an_array: only number keys k with 0 < k, (int)k == k, and the largest
// equal to the count.
bool TableIsArray(lua_State* L) {
  int top = lua_gettop(L);
  luaL_checkstack(L, 2, "in function table_is_an_array");
  int count = 0, max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    bool ok = lua_type(L, -1) == LUA_TNUMBER;
    lua_Number n = ok ? lua_tonumber(L, -1) : 0;
    ok = ok && n > 0 && n <= INT32_MAX && static_cast<double>(static_cast<int>(n)) == n;
    if (!ok) {
      lua_settop(L, top);
      return false;
    }
    if (static_cast<int>(n) > max) max = static_cast<int>(n);
    ++count;
  }
  lua_settop(L, top);
  return max == count;
}

void EncodeValue(lua_State* L, std::string& out, int level);

void EncodeTable(lua_State* L, std::string& out, int level) {
  if (TableIsArray(L)) {
    size_t len = lua_objlen(L, -1);
    EncodeContainer(out, len, 0x90, 0xdc);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (size_t j = 1; j <= len; ++j) {
      lua_pushnumber(L, static_cast<lua_Number>(j));
      lua_gettable(L, -2);
      EncodeValue(L, out, level + 1);
    }
    return;
  }
  luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
  uint64_t len = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    ++len;
  }
  EncodeContainer(out, len, 0x80, 0xde);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);  // key value key
    EncodeValue(L, out, level + 1);
    EncodeValue(L, out, level + 1);
  }
}

// Encodes the value on top of the stack and pops it.
void EncodeValue(lua_State* L, std::string& out, int level) {
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE && level == kNestingMax) t = LUA_TNIL;  // cycles end here
  switch (t) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      EncodeBytes(out, s, len);
      break;
    }
    case LUA_TBOOLEAN:
      out.push_back(static_cast<char>(lua_toboolean(L, -1) ? 0xc3 : 0xc2));
      break;
    case LUA_TNUMBER:
      EncodeNumber(out, lua_tonumber(L, -1));
      break;
    case LUA_TTABLE:
      EncodeTable(L, out, level);
      break;
    default:
      out.push_back(static_cast<char>(0xc0));
  }
  lua_pop(L, 1);
}

int BufferGc(lua_State* L) {
  static_cast<std::string*>(lua_touserdata(L, 1))->~basic_string();
  return 0;
}

int MsgPack(lua_State* L) {
  int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs)) {
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  }
  void* mem = lua_newuserdata(L, sizeof(std::string));
  std::string* out = new (mem) std::string();
  luaL_getmetatable(L, kBufferMeta);
  lua_setmetatable(L, -2);
  for (int i = 1; i <= nargs; ++i) {
    lua_pushvalue(L, i);
    EncodeValue(L, *out, 0);
  }
  lua_pushlstring(L, out->data(), out->size());
  out->clear();
  out->shrink_to_fit();
  return 1;
}

// ---- decoding ----

enum class DecodeError { kNone, kEof, kBadFormat };

struct Cursor {
  const unsigned char* p;
  size_t left;
  DecodeError err = DecodeError::kNone;

  bool need(size_t n) {
    if (left >= n) return true;
    err = DecodeError::kEof;
    return false;
  }
  void consume(size_t n) {
    p += n;
    left -= n;
  }
  uint64_t be(size_t at, int bytes) const {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | p[at + static_cast<size_t>(i)];
    return v;
  }
};

void DecodeValue(lua_State* L, Cursor& c);

void DecodeArray(lua_State* L, Cursor& c, size_t len) {
  lua_newtable(L);
  luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
  for (size_t i = 1; i <= len; ++i) {
    lua_pushnumber(L, static_cast<lua_Number>(i));
    DecodeValue(L, c);
    if (c.err != DecodeError::kNone) return;
    lua_settable(L, -3);
  }
}

void DecodeMap(lua_State* L, Cursor& c, size_t len) {
  lua_newtable(L);
  for (size_t i = 0; i < len; ++i) {
    DecodeValue(L, c);
    if (c.err != DecodeError::kNone) return;
    DecodeValue(L, c);
    if (c.err != DecodeError::kNone) return;
    lua_settable(L, -3);
  }
}

// A fixed-size scalar: `n` bytes after the type byte.
void DecodeScalar(lua_State* L, Cursor& c, uint8_t type) {
  const int bytes = 1 << (type & 3);  // cc/d0: 1, cd/d1: 2, ce/d2: 4, cf/d3: 8
  if (!c.need(1 + static_cast<size_t>(bytes))) return;
  uint64_t v = c.be(1, bytes);
  if (type == 0xca) {
    uint32_t bits = static_cast<uint32_t>(v);
    float f;
    std::memcpy(&f, &bits, 4);
    lua_pushnumber(L, f);
  } else if (type == 0xcb) {
    double d;
    std::memcpy(&d, &v, 8);
    lua_pushnumber(L, d);
  } else if (type >= 0xd0) {  // signed: sign-extend from `bytes`
    int shift = 64 - 8 * bytes;
    int64_t s = static_cast<int64_t>(v << shift) >> shift;
    lua_pushnumber(L, static_cast<lua_Number>(s));
  } else {  // unsigned, pushed through lua_Integer (signed) as Redis does on 64-bit
    lua_pushinteger(L, static_cast<lua_Integer>(v));
  }
  c.consume(1 + static_cast<size_t>(bytes));
}

// str8/16/32 (hdr 1, 2, 4 length bytes) or fixstr (length in the type byte, hdr 0).
void DecodeString(lua_State* L, Cursor& c, size_t hdr, size_t len_fixed) {
  if (!c.need(1 + hdr)) return;
  size_t len = hdr == 0 ? len_fixed : static_cast<size_t>(c.be(1, static_cast<int>(hdr)));
  if (!c.need(1 + hdr + len)) return;
  lua_pushlstring(L, reinterpret_cast<const char*>(c.p + 1 + hdr), len);
  c.consume(1 + hdr + len);
}

// Decodes one value onto the stack (nothing pushed, or a partial table, on error).
void DecodeValue(lua_State* L, Cursor& c) {
  if (!c.need(1)) return;
  luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");
  const uint8_t t = c.p[0];
  switch (t) {
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xca:
    case 0xcb:
      return DecodeScalar(L, c, t);
    case 0xc0:
      lua_pushnil(L);
      return c.consume(1);
    case 0xc2:
    case 0xc3:
      lua_pushboolean(L, t == 0xc3);
      return c.consume(1);
    case 0xd9:
      return DecodeString(L, c, 1, 0);
    case 0xda:
      return DecodeString(L, c, 2, 0);
    case 0xdb:
      return DecodeString(L, c, 4, 0);
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      const size_t hdr = (t & 1) ? 4 : 2;
      if (!c.need(1 + hdr)) return;
      size_t len = static_cast<size_t>(c.be(1, static_cast<int>(hdr)));
      c.consume(1 + hdr);
      return t <= 0xdd ? DecodeArray(L, c, len) : DecodeMap(L, c, len);
    }
    default:
      break;
  }
  if ((t & 0x80) == 0) {
    lua_pushinteger(L, t);
    c.consume(1);
  } else if ((t & 0xe0) == 0xe0) {
    lua_pushinteger(L, static_cast<int8_t>(t));
    c.consume(1);
  } else if ((t & 0xe0) == 0xa0) {
    DecodeString(L, c, 0, t & 0x1f);
  } else if ((t & 0xf0) == 0x90) {
    c.consume(1);
    DecodeArray(L, c, t & 0xf);
  } else if ((t & 0xf0) == 0x80) {
    c.consume(1);
    DecodeMap(L, c, t & 0xf);
  } else {
    c.err = DecodeError::kBadFormat;
  }
}

// limit = offset = 0: decode everything, return just the values. Otherwise at most
// `limit` values from byte `offset`, preceded by the next offset (-1 at the end).
int UnpackFull(lua_State* L, lua_Integer limit, lua_Integer offset) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  if (offset < 0 || limit < 0) {
    // Redis prints the input length where it means the limit; kept for identical text.
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                      static_cast<int>(offset), static_cast<int>(len));
  }
  if (static_cast<size_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", static_cast<int>(offset),
                      static_cast<int>(len));
  }
  const bool all = limit == 0 && offset == 0;
  if (all) limit = INT32_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset, len - static_cast<size_t>(offset)};
  int count = 0;
  for (; c.left > 0 && count < limit; ++count) {
    DecodeValue(L, c);
    if (c.err == DecodeError::kEof) return luaL_error(L, "Missing bytes in input.");
    if (c.err == DecodeError::kBadFormat) return luaL_error(L, "Bad data format in input.");
  }
  if (all) return count;
  luaL_checkstack(L, 1, "in function mp_unpack_full");
  lua_pushinteger(L, c.left == 0 ? -1 : static_cast<lua_Integer>(len - c.left));
  lua_insert(L, 2);  // the offset comes first, after the input (slot 1)
  return count + 1;
}

int MsgUnpack(lua_State* L) { return UnpackFull(L, 0, 0); }

int MsgUnpackOne(lua_State* L) {
  lua_Integer offset = luaL_optinteger(L, 2, 0);
  lua_settop(L, 1);
  return UnpackFull(L, 1, offset);
}

int MsgUnpackLimit(lua_State* L) {
  lua_Integer limit = luaL_checkinteger(L, 2);
  lua_Integer offset = luaL_optinteger(L, 3, 0);
  lua_settop(L, 1);
  return UnpackFull(L, limit, offset);
}

}  // namespace

int OpenLuaCmsgpack(lua_State* L) {
  luaL_newmetatable(L, kBufferMeta);
  lua_pushcfunction(L, BufferGc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  const luaL_Reg fns[] = {{"pack", MsgPack},
                          {"unpack", MsgUnpack},
                          {"unpack_one", MsgUnpackOne},
                          {"unpack_limit", MsgUnpackLimit},
                          {nullptr, nullptr}};
  lua_newtable(L);
  for (const luaL_Reg* f = fns; f->name != nullptr; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
  // The metadata fields lua-cmsgpack's table carries, as scripts may read them.
  const char* meta[][2] = {{"_NAME", "cmsgpack"},
                           {"_VERSION", "lua-cmsgpack 0.4.0"},
                           {"_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"},
                           {"_DESCRIPTION", "MessagePack C implementation for Lua"}};
  for (const auto& m : meta) {
    lua_pushstring(L, m[1]);
    lua_setfield(L, -2, m[0]);
  }
  return 1;
}

}  // namespace allot::internal
