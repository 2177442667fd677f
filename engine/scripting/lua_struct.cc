// lua_struct.cc: struct.pack / struct.unpack / struct.size as in Redis 7.0.
//
// Format letters: '>' big endian, '<' little endian, '![n]' alignment (default 8),
// ' ' ignored, 'x' one zero byte, 'b'/'B' (1), 'h'/'H' (2), 'l'/'L' (8), 'T' (size_t, 8),
// 'i[n]'/'I[n]' (n bytes, default 4, at most 32), 'f' float, 'd' double, 'c[n]' n chars
// (pack: n = 0 = the whole string; unpack: n = 0 = the previous number read), 's' a
// zero-terminated string. Lower case = signed. Numbers are Lua doubles.
//
// Errors raise Lua errors with Redis's texts (luaL_argerror / luaL_error, so the
// "bad argument #N to 'pack' (...)" wording comes from Lua itself, as in Redis). Error
// paths longjmp: nothing here owns memory across a call that may raise (the packed bytes
// go into a luaL_Buffer, which lives on the Lua stack).
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstring>
#include <utility>

#include "engine/scripting/lua_libs.h"

extern "C" {
#include <lauxlib.h>
}

namespace allot::internal {

namespace {

constexpr int kBigEndian = 0;
constexpr int kLittleEndian = 1;
constexpr int kNativeEndian = kLittleEndian;  // x86-64 / aarch64 little-endian builds
constexpr int kAlignMax = 8;                  // alignment of double, as Redis's MAXALIGN
constexpr int kIntSizeMax = 32;               // Redis's MAXINTSIZE

struct Header {
  int endian = kNativeEndian;
  int align = 1;
};

bool IsPowerOf2(int x) { return x > 0 && (x & (x - 1)) == 0; }

// A decimal count after a letter, or `dflt` when none.
int ReadCount(lua_State* L, const char** fmt, int dflt) {
  if (!std::isdigit(static_cast<unsigned char>(**fmt))) return dflt;
  int a = 0;
  do {
    int digit = **fmt - '0';
    if (a > INT_MAX / 10 || a * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
    a = a * 10 + digit;
    ++*fmt;
  } while (std::isdigit(static_cast<unsigned char>(**fmt)));
  return a;
}

// Bytes the option takes; 0 for the control letters and for unknown ones (those are
// rejected later, by ControlOption).
size_t OptionSize(lua_State* L, char opt, const char** fmt) {
  switch (opt) {
    case 'B':
    case 'b':
    case 'x':
      return 1;
    case 'H':
    case 'h':
      return 2;
    case 'L':
    case 'l':
    case 'T':
    case 'd':
      return 8;
    case 'f':
      return 4;
    case 'c':
      return static_cast<size_t>(ReadCount(L, fmt, 1));
    case 'i':
    case 'I': {
      int sz = ReadCount(L, fmt, 4);
      if (sz > kIntSizeMax) {
        luaL_error(L, "integral size %d is larger than limit of %d", sz, kIntSizeMax);
      }
      return static_cast<size_t>(sz);
    }
    default:
      return 0;
  }
}

// Padding before an item of `size` bytes at offset len (sizes need not be powers of 2:
// the mask arithmetic is Redis's, odd results included).
size_t PaddingBefore(size_t len, const Header& h, char opt, size_t size) {
  if (size == 0 || opt == 'c') return 0;
  if (size > static_cast<size_t>(h.align)) size = static_cast<size_t>(h.align);
  return (size - (len & (size - 1))) & (size - 1);
}

void ControlOption(lua_State* L, char opt, const char** fmt, Header& h) {
  switch (opt) {
    case ' ':
      return;
    case '>':
      h.endian = kBigEndian;
      return;
    case '<':
      h.endian = kLittleEndian;
      return;
    case '!': {
      int a = ReadCount(L, fmt, kAlignMax);
      if (!IsPowerOf2(a)) luaL_error(L, "alignment %d is not a power of 2", a);
      h.align = a;
      return;
    }
    default:
      luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
  }
}

// x86-64's cvttsd2si: out of range and NaN give INT64_MIN.
int64_t TruncToInt64(double n) {
  if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(n);
}

// What Redis's `(unsigned long)n` compiles to on x86-64 for n >= 0 (and NaN): values
// from 2^63 go through n - 2^63 with the top bit flipped back; 2^64 and above give 0.
uint64_t TruncToUint64(double n) {
  if (!(n >= 9223372036854775808.0)) return static_cast<uint64_t>(TruncToInt64(n));
  return static_cast<uint64_t>(TruncToInt64(n - 9223372036854775808.0)) ^ (1ull << 63);
}

void PutInteger(lua_State* L, luaL_Buffer* b, int arg, int endian, size_t size) {
  lua_Number n = luaL_checknumber(L, arg);
  uint64_t value = n < 0 ? static_cast<uint64_t>(TruncToInt64(n)) : TruncToUint64(n);
  char buf[kIntSizeMax];
  // Bytes past the 8th are zero: the value shifts out, as Redis's unsigned long does.
  for (size_t i = 0; i < size; ++i) {
    size_t at = endian == kLittleEndian ? i : size - 1 - i;
    buf[at] = static_cast<char>(i < 8 ? (value >> (8 * i)) & 0xff : 0);
  }
  luaL_addlstring(b, buf, size);
}

// Reverses the bytes of a native float/double when the format's order differs.
void ToOrder(char* p, size_t size, int endian) {
  if (endian == kNativeEndian) return;
  for (size_t i = 0, j = size - 1; i < j; ++i, --j) std::swap(p[i], p[j]);
}

lua_Number GetInteger(const char* p, int endian, bool is_signed, size_t size) {
  uint64_t l = 0;
  for (size_t i = 0; i < size; ++i) {
    size_t at = endian == kBigEndian ? i : size - 1 - i;
    l = (l << 8) | static_cast<unsigned char>(p[at]);
  }
  if (!is_signed) return static_cast<lua_Number>(l);
  // Redis shifts by size*8-1, undefined past 63; x86-64 uses the count modulo 64.
  uint64_t mask = ~0ull << ((size * 8 - 1) & 63);
  if (l & mask) l |= mask;
  return static_cast<lua_Number>(static_cast<int64_t>(l));
}

int StructPack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Header h;
  int arg = 2;
  size_t total = 0;
  lua_pushnil(L);  // keeps the arguments apart from the buffer's stack slots
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  while (*fmt != '\0') {
    char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    size_t pad = PaddingBefore(total, h, opt, size);
    total += pad;
    for (; pad > 0; --pad) luaL_addchar(&b, '\0');
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        PutInteger(L, &b, arg++, h.endian, size);
        break;
      case 'x':
        luaL_addchar(&b, '\0');
        break;
      case 'f': {
        float f = static_cast<float>(luaL_checknumber(L, arg++));
        char bytes[4];
        std::memcpy(bytes, &f, 4);
        ToOrder(bytes, 4, h.endian);
        luaL_addlstring(&b, bytes, 4);
        break;
      }
      case 'd': {
        double d = luaL_checknumber(L, arg++);
        char bytes[8];
        std::memcpy(bytes, &d, 8);
        ToOrder(bytes, 8, h.endian);
        luaL_addlstring(&b, bytes, 8);
        break;
      }
      case 'c':
      case 's': {
        size_t l;
        const char* s = luaL_checklstring(L, arg++, &l);
        if (size == 0) size = l;
        // The argument number reported is the next one: Redis's (Lua's struct) quirk.
        luaL_argcheck(L, l >= size, arg, "string too short");
        luaL_addlstring(&b, s, size);
        if (opt == 's') {
          luaL_addchar(&b, '\0');
          ++size;
        }
        break;
      }
      default:
        ControlOption(L, opt, &fmt, h);
    }
    total += size;
  }
  luaL_pushresult(&b);
  return 1;
}

int StructUnpack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  size_t ld;
  const char* data = luaL_checklstring(L, 2, &ld);
  // A negative offset wraps to a huge size_t and fails the length check, as in Redis.
  size_t pos = static_cast<size_t>(luaL_optinteger(L, 3, 1));
  luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
  --pos;
  int n = 0;  // values pushed
  Header h;
  while (*fmt != '\0') {
    char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    pos += PaddingBefore(pos, h, opt, size);
    luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        lua_pushnumber(L, GetInteger(data + pos, h.endian, std::islower(opt) != 0, size));
        ++n;
        break;
      case 'x':
        break;
      case 'f': {
        char bytes[4];
        std::memcpy(bytes, data + pos, 4);
        ToOrder(bytes, 4, h.endian);
        float f;
        std::memcpy(&f, bytes, 4);
        lua_pushnumber(L, f);
        ++n;
        break;
      }
      case 'd': {
        char bytes[8];
        std::memcpy(bytes, data + pos, 8);
        ToOrder(bytes, 8, h.endian);
        double d;
        std::memcpy(&d, bytes, 8);
        lua_pushnumber(L, d);
        ++n;
        break;
      }
      case 'c': {
        if (size == 0) {
          if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
          size = static_cast<size_t>(lua_tonumber(L, -1));
          lua_pop(L, 1);
          --n;
          luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        }
        lua_pushlstring(L, data + pos, size);
        ++n;
        break;
      }
      case 's': {
        const void* end = std::memchr(data + pos, '\0', ld - pos);
        if (end == nullptr) luaL_error(L, "unfinished string in data");
        size = static_cast<size_t>(static_cast<const char*>(end) - (data + pos)) + 1;
        lua_pushlstring(L, data + pos, size - 1);
        ++n;
        break;
      }
      default:
        ControlOption(L, opt, &fmt, h);
    }
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos + 1));
  return n + 1;
}

int StructSize(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Header h;
  size_t pos = 0;
  while (*fmt != '\0') {
    char opt = *fmt++;
    size_t size = OptionSize(L, opt, &fmt);
    pos += PaddingBefore(pos, h, opt, size);
    if (opt == 's') {
      luaL_argerror(L, 1, "option 's' has no fixed size");
    } else if (opt == 'c' && size == 0) {
      luaL_argerror(L, 1, "option 'c0' has no fixed size");
    }
    // Unknown letters count 0 bytes here (only symbols are checked), as in Redis.
    if (!std::isalnum(static_cast<unsigned char>(opt))) ControlOption(L, opt, &fmt, h);
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos));
  return 1;
}

}  // namespace

int OpenLuaStruct(lua_State* L) {
  const luaL_Reg fns[] = {
      {"pack", StructPack}, {"unpack", StructUnpack}, {"size", StructSize}, {nullptr, nullptr}};
  lua_newtable(L);
  for (const luaL_Reg* f = fns; f->name != nullptr; ++f) {
    lua_pushcfunction(L, f->func);
    lua_setfield(L, -2, f->name);
  }
  return 1;
}

}  // namespace allot::internal
