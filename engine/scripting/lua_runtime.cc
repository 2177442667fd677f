#include "engine/scripting/lua_runtime.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unordered_map>
#include <vector>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "engine/commands/status.h"
#include "engine/engine_impl.h"
#include "engine/limits.h"
#include "engine/scripting/lua_alloc.h"
#include "engine/scripting/lua_convert.h"
#include "engine/scripting/lua_libs.h"
#include "engine/scripting/sha1.h"
#include "engine/txn/nested.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

std::atomic<int64_t> g_busy_threshold_ms{limits::kScriptBusyThresholdMsDefault};

// The script timer only compares against busy-reply-threshold (milliseconds): the coarse
// clock (a few ms resolution) is enough, and it reads no hardware timer, which costs
// ~50 ns per script call on this VM's paravirtual clock.
int64_t SteadyMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Redis's error-table convention: a Lua error or a redis.pcall failure is a table
// {err = "CODE message"} (source and line are added by the error handler).
void PushErrorTable(lua_State* L, std::string_view text) {
  lua_createtable(L, 0, 1);
  lua_pushlstring(L, text.data(), text.size());
  lua_setfield(L, -2, "err");
}

// luaPushErrorBuff: "-CODE msg" keeps its code, a bare "msg" gets ERR; trailing newlines go.
std::string ErrorTableText(std::string_view raw) {
  std::string code = "ERR";
  std::string_view msg = raw;
  if (!raw.empty() && raw[0] == '-') {
    size_t sp = raw.find(' ');
    if (sp == std::string_view::npos) {
      msg = raw.substr(1);
    } else {
      code = std::string(raw.substr(1, sp - 1));
      msg = raw.substr(sp + 1);
    }
  }
  while (!msg.empty() && (msg.back() == '\r' || msg.back() == '\n')) msg.remove_suffix(1);
  while (!msg.empty() && (msg.front() == '\r' || msg.front() == '\n')) msg.remove_prefix(1);
  code.push_back(' ');
  code.append(msg);
  return code;
}

// The Lua error handler of every script call, as Redis 7.0's: turns a string error into
// {err='ERR ...'} and records where it was raised (skipping a C function that raised it).
constexpr const char* kErrorHandler = R"(
local dbg = ...
return function (err)
  local i = dbg.getinfo(2,'nSl')
  if i and i.what == 'C' then
    i = dbg.getinfo(3,'nSl')
  end
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
)";

// Redis's rand48 (src/rand.c) for math.random, so scripts see Redis's PRNG.
struct Rand48 {
  uint64_t x = 0x1234ABCD330Eull;
  int32_t next() {
    x = (0x5DEECE66Dull * x + 0xB) & ((uint64_t{1} << 48) - 1);
    return static_cast<int32_t>(x >> 17);
  }
};

enum class Kind { kEval, kFunction };

// A key a script did not declare is usable when it lives on a shard the script holds
// (the shards of its KEYS); any other fails with this (docs/scripting.md).
constexpr const char* kScriptUndeclaredKeyError =
    "ERR Script attempted to access a key that is not in KEYS and lives on a shard the script "
    "does not hold; pass every key the script uses in KEYS";

}  // namespace

int64_t ScriptBusyThresholdMs() { return g_busy_threshold_ms.load(std::memory_order_relaxed); }
void SetScriptBusyThresholdMs(int64_t ms) { g_busy_threshold_ms.store(ms); }

// One interpreter and everything a running script needs (see the file comment of
// lua_runtime.h). Lives as long as its thread.
class LuaRuntime {
 public:
  explicit LuaRuntime(Kind kind);
  ~LuaRuntime() { lua_close(L_); }
  LuaRuntime(const LuaRuntime&) = delete;
  LuaRuntime& operator=(const LuaRuntime&) = delete;

  static LuaRuntime& ForThread(Kind kind);

  Reply eval(CmdCtx& ctx, Args args, bool is_sha, bool read_only);
  Reply fcall(CmdCtx& ctx, Args args, bool read_only);
  Reply load_script(std::string_view body);
  // Runs library code (FUNCTION LOAD's check, or this thread's reload); registrations go
  // to lib and, when keep is set, into this thread's function table.
  std::string load_library(std::string_view code, FunctionLibrary& lib, bool keep);

 private:
  struct Compiled {
    int ref = LUA_NOREF;
    uint32_t flags = 0;
    std::string name;  // the sha (EVAL) or the function name (FCALL): error texts
  };

  void open_sandbox();
  void protect_table(const char* name);
  void install_redis_lib();
  // Compiles an EVAL body (shebang handled) into the cache; nullptr and err on failure.
  const Compiled* compile(std::string_view body, const std::string& sha, Reply& err);
  const Compiled* find_sha(std::string_view sha);
  void check_script_generation();
  void check_function_generation();
  // Calls the function at ref with nargs pushed by push_args, as the running script.
  Reply run(CmdCtx& ctx, const Compiled& c, bool read_only, int nargs);
  void begin_run(CmdCtx& ctx, const Compiled& c, bool read_only);
  void end_run();
  Reply error_reply_from_stack();
  void push_string_table(Args items);
  // Sets the global KEYS or ARGV (ref, len: its table and length) to items.
  void set_string_global(const char* name, int& ref, int& len, Args items);
  // CommandTable::find through a small cache keyed by the Lua string's address.
  const CommandSpec* find_command(std::string_view name);

  // Lua C functions (upvalue 1 = this runtime).
  static LuaRuntime* Self(lua_State* L) {
    return static_cast<LuaRuntime*>(lua_touserdata(L, lua_upvalueindex(1)));
  }
  static int LuaCall(lua_State* L);
  static int LuaPcall(lua_State* L);
  static int LuaSetResp(lua_State* L);
  static int LuaLog(lua_State* L);
  static int LuaRegisterFunction(lua_State* L);
  static int LuaRandom(lua_State* L);
  static int LuaRandomSeed(lua_State* L);
  static int LuaSha1Hex(lua_State* L);
  static int LuaErrorReply(lua_State* L);
  static int LuaStatusReply(lua_State* L);
  static int LuaNoopFalse(lua_State* L);
  static int LuaNoopNil(lua_State* L);
  static int LuaNoopTrue(lua_State* L);
  static int LuaSetRepl(lua_State* L);
  static void Hook(lua_State* L, lua_Debug* ar);
  // redis.call's body: pushes the result (or an error table) and returns 1, or -1 when
  // the error table on the stack must be raised. Never raises itself with C++ objects
  // alive (lua_error is a longjmp).
  int call(lua_State* L, bool raise);
  int register_function(lua_State* L);

  Kind kind_;
  LuaPool pool_;  // before L_: lua_close still frees into it
  lua_State* L_;
  int globals_ref_ = LUA_NOREF;  // the real globals table (the thread's is a proxy)
  int handler_ref_ = LUA_NOREF;
  Rand48 rand_;

  std::unordered_map<std::string, Compiled> cache_;  // sha or function name -> compiled
  uint64_t generation_ = 0;
  std::string sha_buf_;
  // The last EVALSHA hit: a pipeline repeats one sha, so one memcmp replaces the
  // lower-casing and hashing. last_sha_ holds the bytes as the client sent them.
  char last_sha_[40] = {};
  const Compiled* last_hit_ = nullptr;
  // The KEYS and ARGV tables of the last call, reused when the script left them as it
  // got them (see set_string_global).
  int keys_ref_ = LUA_NOREF;
  int keys_len_ = 0;
  int argv_ref_ = LUA_NOREF;
  int argv_len_ = 0;
  struct CommandCacheEntry {
    const char* ptr = nullptr;  // the interned Lua string's bytes
    size_t len = 0;
    char name[24] = {};
    const CommandSpec* spec = nullptr;
  };
  static constexpr size_t kCommandCacheSize = 32;
  CommandCacheEntry command_cache_[kCommandCacheSize];

  // The running script (ctx_ != nullptr) or the library being loaded (loading_).
  CmdCtx* ctx_ = nullptr;
  const std::string* name_ = nullptr;  // of the running script, for error texts
  Session session_;
  bool read_only_ = false;
  bool wrote_ = false;
  bool busy_published_ = false;
  bool killed_ = false;
  int64_t start_ms_ = 0;
  EffectGroup effects_;
  EffectGroup* effects_ptr_ = nullptr;
  FunctionLibrary* loading_ = nullptr;
  bool keep_loaded_ = false;
  std::vector<std::string_view> argv_;
  std::vector<std::string> numbers_;
  std::string gate_error_;  // the text of a CommandGate refusal, alive while it is raised
};

namespace {

int ReadonlyError(lua_State* L) { return luaL_error(L, "Attempt to modify a readonly table"); }

int MissingGlobalError(lua_State* L) {
  const char* name = lua_tostring(L, 2);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                    name != nullptr ? name : "?");
}

// rawset that respects read-only proxies (Redis 7's read-only tables refuse it too).
int SafeRawset(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  if (lua_getmetatable(L, 1)) {
    lua_getfield(L, -1, "__readonly");
    bool ro = lua_toboolean(L, -1);
    lua_pop(L, 2);
    if (ro) return ReadonlyError(L);
  }
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

// Pushes a read-only proxy of the table at the top (replacing it).
void MakeReadonlyProxy(lua_State* L) {
  int real = lua_gettop(L);
  lua_newtable(L);           // proxy
  lua_createtable(L, 0, 4);  // its metatable
  lua_pushvalue(L, real);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ReadonlyError);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "__readonly");
  lua_pushliteral(L, "readonly");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_replace(L, real);
}

thread_local LuaRuntime* t_current = nullptr;

// luaL_newstate's panic function: an error outside any protected call is a bug here.
int LuaPanic(lua_State* L) {
  std::fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n",
               lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
  std::abort();
}  // the runtime whose script runs now

}  // namespace

LuaRuntime& LuaRuntime::ForThread(Kind kind) {
  thread_local std::unique_ptr<LuaRuntime> eval_rt;
  thread_local std::unique_ptr<LuaRuntime> fn_rt;
  std::unique_ptr<LuaRuntime>& rt = kind == Kind::kEval ? eval_rt : fn_rt;
  if (rt == nullptr) rt = std::make_unique<LuaRuntime>(kind);
  return *rt;
}

LuaRuntime::LuaRuntime(Kind kind) : kind_(kind), L_(lua_newstate(LuaPool::Alloc, &pool_)) {
  ALLOT_CHECK(L_ != nullptr);
  lua_atpanic(L_, LuaPanic);
  sha_buf_.reserve(40);
  open_sandbox();
  lua_sethook(L_, Hook, LUA_MASKCOUNT, limits::kScriptHookInstructions);
}

void LuaRuntime::open_sandbox() {
  lua_State* L = L_;
  struct Lib {
    const char* name;
    lua_CFunction open;
  };
  const Lib libs[] = {{"", luaopen_base},
                      {LUA_TABLIBNAME, luaopen_table},
                      {LUA_STRLIBNAME, luaopen_string},
                      {LUA_MATHLIBNAME, luaopen_math},
                      {LUA_DBLIBNAME, luaopen_debug},
                      {"cjson", luaopen_cjson},
                      {"bit", luaopen_bit},
                      {"struct", OpenLuaStruct},
                      {"cmsgpack", OpenLuaCmsgpack}};
  for (const Lib& lib : libs) {
    lua_pushcfunction(L, lib.open);
    lua_pushstring(L, lib.name);
    lua_call(L, 1, 1);
    // Debian's lua-cjson returns its table without setting the global.
    if (lua_istable(L, -1) && lib.name[0] != '\0') {
      lua_setglobal(L, lib.name);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 0);
  // The error handler keeps the debug library; scripts do not see it.
  ALLOT_CHECK(luaL_loadstring(L, kErrorHandler) == 0);
  lua_getglobal(L, "debug");
  lua_call(L, 1, 1);
  handler_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  for (const char* name : {"debug", "dofile", "loadfile", "print", "module", "require"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  lua_pushcfunction(L, SafeRawset);
  lua_setglobal(L, "rawset");
  // math.random / randomseed use Redis's PRNG.
  lua_getglobal(L, "math");
  lua_pushlightuserdata(L, this);
  lua_pushcclosure(L, LuaRandom, 1);
  lua_setfield(L, -2, "random");
  lua_pushlightuserdata(L, this);
  lua_pushcclosure(L, LuaRandomSeed, 1);
  lua_setfield(L, -2, "randomseed");
  lua_pop(L, 1);
  install_redis_lib();
  for (const char* name :
       {"string", "table", "math", "cjson", "bit", "struct", "cmsgpack", "redis", "coroutine"}) {
    protect_table(name);
  }
  // The real globals: missing names fail. Scripts see a read-only proxy of them.
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, MissingGlobalError);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "readonly");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  globals_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
  MakeReadonlyProxy(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_GLOBALSINDEX, "_G");  // _G is the proxy, not a way around it
  lua_replace(L, LUA_GLOBALSINDEX);
  lua_settop(L, 0);
}

void LuaRuntime::protect_table(const char* name) {
  lua_getglobal(L_, name);
  if (lua_istable(L_, -1)) {
    MakeReadonlyProxy(L_);
    lua_setglobal(L_, name);
  } else {
    lua_pop(L_, 1);
  }
}

void LuaRuntime::install_redis_lib() {
  lua_State* L = L_;
  lua_newtable(L);
  auto fn = [&](const char* name, lua_CFunction f) {
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
  };
  fn("call", LuaCall);
  fn("pcall", LuaPcall);
  fn("setresp", LuaSetResp);
  fn("log", LuaLog);
  fn("sha1hex", LuaSha1Hex);
  fn("error_reply", LuaErrorReply);
  fn("status_reply", LuaStatusReply);
  fn("breakpoint", LuaNoopFalse);
  fn("debug", LuaNoopNil);
  fn("replicate_commands", LuaNoopTrue);
  fn("set_repl", LuaSetRepl);
  if (kind_ == Kind::kFunction) fn("register_function", LuaRegisterFunction);
  struct Constant {
    const char* name;
    int value;
  };
  const Constant constants[] = {{"LOG_DEBUG", 0},  {"LOG_VERBOSE", 1},
                                {"LOG_NOTICE", 2}, {"LOG_WARNING", 3},
                                {"REPL_NONE", 0},  {"REPL_AOF", 1},
                                {"REPL_SLAVE", 2}, {"REPL_REPLICA", 2},
                                {"REPL_ALL", 3},   {"REDIS_VERSION_NUM", 0x07000f}};
  for (const Constant& c : constants) {
    lua_pushinteger(L, c.value);
    lua_setfield(L, -2, c.name);
  }
  lua_pushliteral(L, "7.0.15");
  lua_setfield(L, -2, "REDIS_VERSION");
  lua_setglobal(L, "redis");
}

// ---- Running -------------------------------------------------------------------------

void LuaRuntime::begin_run(CmdCtx& ctx, const Compiled& c, bool read_only) {
  ctx_ = &ctx;
  name_ = &c.name;
  session_.db = ctx.session->db;
  session_.gate = ctx.session->gate;  // the caller's ACL applies to redis.call
  session_.resp = 2;                  // scripts speak RESP2 to Redis until redis.setresp(3)
  read_only_ = read_only || (c.flags & kScriptNoWrites);
  wrote_ = false;
  busy_published_ = false;
  killed_ = false;
  effects_ptr_ = ctx.engine->wal() != nullptr ? &effects_ : nullptr;
  ScriptRunSlot& slot = ctx.home->script;
  if (slot.kill.load(std::memory_order_relaxed)) slot.kill.store(false);
  start_ms_ = SteadyMs();
  t_current = this;
}

void LuaRuntime::end_run() {
  if (busy_published_) {
    for (ShardState* s : ctx_->shards) {
      s->script.wrote.store(false, std::memory_order_relaxed);
      s->script.kill.store(false, std::memory_order_relaxed);
      s->script.busy_since_ms.store(0, std::memory_order_release);
    }
  }
  effects_.move_to(ctx_->log_as);
  ctx_ = nullptr;
  t_current = nullptr;
}

Reply LuaRuntime::run(CmdCtx& ctx, const Compiled& c, bool read_only, int nargs) {
  // Stack: handler, function, nargs arguments.
  int base = lua_gettop(L_) - nargs - 1;
  begin_run(ctx, c, read_only);
  int status = lua_pcall(L_, nargs, 1, base);
  Reply reply = status == 0 ? LuaToReply(L_, -1, session_.resp) : error_reply_from_stack();
  lua_settop(L_, base - 1);
  end_run();
  return reply;
}

// Redis's luaCallFunction error reply: "<err> script: <name>, on <source>:<line>."
Reply LuaRuntime::error_reply_from_stack() {
  lua_State* L = L_;
  const std::string& name = *name_;
  if (!lua_istable(L, -1)) {
    const char* msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
    return Reply::Error("ERR Error running script " + name + ", " +
                        std::string(msg).substr(0, 100));
  }
  lua_getfield(L, -1, "err");
  std::string text = lua_isstring(L, -1) ? lua_tostring(L, -1) : "";
  lua_pop(L, 1);
  lua_getfield(L, -1, "source");
  lua_getfield(L, -2, "line");
  if (lua_isstring(L, -2) && lua_isnumber(L, -1)) {
    text += " script: " + name + ", on " + lua_tostring(L, -2) + ":" +
            std::to_string(static_cast<int64_t>(lua_tonumber(L, -1))) + ".";
  }
  lua_pop(L, 2);
  for (char& ch : text) {
    if (ch == '\r' || ch == '\n') ch = ' ';
  }
  return Reply::Error(text);
}

void LuaRuntime::push_string_table(Args items) {
  lua_createtable(L_, static_cast<int>(items.size()), 0);
  for (size_t i = 0; i < items.size(); ++i) {
    lua_pushlstring(L_, items[i].data(), items[i].size());
    lua_rawseti(L_, -2, static_cast<int>(i + 1));
  }
}

namespace {

// Whether the table at the top holds exactly the keys 1..len and has no metatable: what
// set_string_global gave the last script, with at most its values changed.
bool UntouchedArray(lua_State* L, int len) {
  if (lua_getmetatable(L, -1)) {
    lua_pop(L, 1);
    return false;
  }
  int count = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    lua_Number k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
    if (k < 1 || k > len || k != std::floor(k)) {
      lua_pop(L, 1);
      return false;
    }
    ++count;
  }
  return count == len;
}

}  // namespace

// Redis builds new KEYS and ARGV tables for every call; here the last call's tables are
// refilled when the script did not add keys to them or give them a metatable (the
// globals are read-only, so nothing but the global itself can still refer to them once
// a script returned). A script sees the same thing either way: a plain table of exactly
// its arguments. Elements that already hold the same bytes are not pushed again.
void LuaRuntime::set_string_global(const char* name, int& ref, int& len, Args items) {
  lua_State* L = L_;
  int n = static_cast<int>(items.size());
  if (ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (UntouchedArray(L, len)) {
      for (int i = 1; i <= n; ++i) {
        std::string_view item = items[static_cast<size_t>(i - 1)];
        if (i <= len) {
          lua_rawgeti(L, -1, i);
          size_t cur_len = 0;
          const char* cur =
              lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &cur_len) : nullptr;
          bool same = cur != nullptr && cur_len == item.size() &&
                      std::memcmp(cur, item.data(), cur_len) == 0;
          lua_pop(L, 1);
          if (same) continue;
        }
        lua_pushlstring(L, item.data(), item.size());
        lua_rawseti(L, -2, i);
      }
      for (int i = n + 1; i <= len; ++i) {
        lua_pushnil(L);
        lua_rawseti(L, -2, i);
      }
      lua_pop(L, 1);
      len = n;
      return;
    }
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, globals_ref_);  // raw: the globals are read-only
  push_string_table(items);
  lua_pushvalue(L, -1);
  ref = luaL_ref(L, LUA_REGISTRYINDEX);
  len = n;
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

const CommandSpec* LuaRuntime::find_command(std::string_view name) {
  // Lua interns strings: a script's "GET" constant has one address for as long as the
  // compiled script lives. The address only picks the slot; the bytes are compared, so a
  // reused address holding another name just misses.
  auto addr = reinterpret_cast<uintptr_t>(name.data());
  CommandCacheEntry& e = command_cache_[(addr >> 4) % kCommandCacheSize];
  if (e.ptr == name.data() && e.len == name.size() &&
      std::memcmp(e.name, name.data(), name.size()) == 0) {
    return e.spec;
  }
  const CommandSpec* spec = CommandTable::Get().find(name);
  if (spec != nullptr && name.size() <= sizeof e.name) {
    e.ptr = name.data();
    e.len = name.size();
    std::memcpy(e.name, name.data(), name.size());
    e.spec = spec;
  }
  return spec;
}

void LuaRuntime::Hook(lua_State* L, lua_Debug*) {
  LuaRuntime* rt = t_current;
  if (rt == nullptr || rt->ctx_ == nullptr) return;
  if (!rt->busy_published_ && SteadyMs() - rt->start_ms_ >= ScriptBusyThresholdMs()) {
    // Past the threshold: other threads now answer BUSY for these shards.
    rt->busy_published_ = true;
    for (ShardState* s : rt->ctx_->shards) {
      s->script.is_function.store(rt->kind_ == Kind::kFunction, std::memory_order_relaxed);
      s->script.wrote.store(rt->wrote_, std::memory_order_relaxed);
      s->script.busy_since_ms.store(rt->start_ms_, std::memory_order_release);
    }
  }
  if (rt->busy_published_ && rt->ctx_->home->script.kill.load(std::memory_order_acquire)) {
    // Every line from now on, so a pcall cannot swallow the kill and go on.
    lua_sethook(L, Hook, LUA_MASKLINE, 0);
    rt->killed_ = true;
    PushErrorTable(L, "ERR Script killed by user with SCRIPT KILL...");
    lua_error(L);
  }
}

// ---- redis.* -------------------------------------------------------------------------

int LuaRuntime::call(lua_State* L, bool raise) {
  int argc = lua_gettop(L);
  if (ctx_ == nullptr) {
    // At FUNCTION LOAD time there is no redis.call (Redis: the field does not exist).
    luaL_where(L, 1);
    std::string text = std::string("ERR ") + lua_tostring(L, -1) +
                       "Script attempted to access nonexistent global variable 'call'";
    lua_pop(L, 1);
    PushErrorTable(L, text);
    return -1;
  }
  if (argc == 0) {
    PushErrorTable(L, "ERR Please specify at least one argument for this redis lib call");
    return raise ? -1 : 1;
  }
  argv_.clear();
  if (numbers_.size() < static_cast<size_t>(argc)) numbers_.resize(static_cast<size_t>(argc));
  for (int j = 1; j <= argc; ++j) {
    int t = lua_type(L, j);
    if (t == LUA_TSTRING) {
      size_t len = 0;
      const char* s = lua_tolstring(L, j, &len);
      argv_.emplace_back(s, len);
    } else if (t == LUA_TNUMBER) {
      // Not lua_tolstring: Lua's %.14g loses precision.
      char buf[64];
      int n = snprintf(buf, sizeof buf, "%.17g", static_cast<double>(lua_tonumber(L, j)));
      std::string& slot = numbers_[static_cast<size_t>(j - 1)];
      slot.assign(buf, static_cast<size_t>(n));
      argv_.emplace_back(slot);
    } else {
      PushErrorTable(L, "ERR Lua redis lib command arguments must be strings or integers");
      return raise ? -1 : 1;
    }
  }
  Args args(argv_);
  const char* error = nullptr;
  const CommandSpec* spec = find_command(args[0]);
  if (spec == nullptr) {
    error = "ERR Unknown Redis command called from script";
  } else if (!ArityOk(*spec, args.size())) {
    error = "ERR Wrong number of args calling Redis command from script";
  } else if (spec->flags & kCmdNoScript) {
    error = "ERR This Redis command is not allowed from script";
  } else if ((spec->flags & kCmdWrite) && read_only_) {
    error = "ERR Write commands are not allowed from read-only scripts.";
  } else if (session_.gate != nullptr && !(gate_error_ = session_.gate->check(args)).empty()) {
    // The caller's ACL (allotd): a script cannot do what its user may not. Checked before
    // the shards, as Redis checks ACL before cluster slots.
    error = gate_error_.c_str();
  } else if (!NestedShardsHeld(*ctx_, *spec, args)) {
    error = kScriptUndeclaredKeyError;
  }
  if (error == nullptr && (spec->flags & kCmdWrite) && ctx_->engine->wal() != nullptr &&
      ctx_->engine->wal()->refusing_writes()) {
    PushErrorTable(L, ErrorTableText("-" + ctx_->engine->wal()->misconf_reply().string()));
    return raise ? -1 : 1;
  }
  if (error != nullptr) {
    PushErrorTable(L, error);
    return raise ? -1 : 1;
  }
  Reply reply;
  if (spec->flags & kCmdConnection) {
    // SELECT: changes the script's database only, as in Redis.
    CmdCtx inner = *ctx_;
    inner.session = &session_;
    inner.log_as.clear();
    reply = spec->handler(inner, args);
  } else {
    CmdCtx outer = *ctx_;
    outer.session = &session_;
    outer.log_as.clear();
    reply = RunNested(outer, session_.db, *spec, args, effects_ptr_);
    if ((spec->flags & kCmdWrite) && !reply.is_error() && !wrote_) {
      wrote_ = true;
      if (busy_published_) ctx_->home->script.wrote.store(true, std::memory_order_relaxed);
    }
  }
  if (reply.is_error()) {
    std::string text = ErrorTableText("-" + reply.string());
    PushErrorTable(L, text);
    return raise ? -1 : 1;
  }
  PushReply(L, reply, session_.resp);
  return 1;
}

int LuaRuntime::LuaCall(lua_State* L) {
  int r = Self(L)->call(L, true);
  if (r < 0) return lua_error(L);
  return r;
}

int LuaRuntime::LuaPcall(lua_State* L) {
  int r = Self(L)->call(L, false);
  if (r < 0) return lua_error(L);
  return r;
}

int LuaRuntime::LuaSetResp(lua_State* L) {
  LuaRuntime* rt = Self(L);
  if (lua_gettop(L) != 1) {
    PushErrorTable(L, "ERR redis.setresp() requires one argument.");
    return lua_error(L);
  }
  int resp = static_cast<int>(lua_tonumber(L, -1));
  if (resp != 2 && resp != 3) {
    PushErrorTable(L, "ERR RESP version must be 2 or 3.");
    return lua_error(L);
  }
  rt->session_.resp = resp;
  return 0;
}

int LuaRuntime::LuaLog(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 2) {
    PushErrorTable(L, "ERR redis.log() requires two arguments or more.");
    return lua_error(L);
  }
  if (!lua_isnumber(L, 1)) {
    PushErrorTable(L, "ERR First argument must be a number (log level).");
    return lua_error(L);
  }
  int level = static_cast<int>(lua_tonumber(L, 1));
  if (level < 0 || level > 3) {
    PushErrorTable(L, "ERR Invalid debug level.");
    return lua_error(L);
  }
  // Warnings go to stderr (allotd's log); lower levels are dropped, as under Redis's
  // default loglevel notice they mostly are.
  if (level >= 3) {
    std::string line;
    for (int j = 2; j <= argc; ++j) {
      size_t len = 0;
      const char* s = lua_tolstring(L, j, &len);
      if (s == nullptr) continue;
      if (j > 2) line.push_back(' ');
      line.append(s, len);
    }
    std::fprintf(stderr, "script log: %s\n", line.c_str());
  }
  return 0;
}

int LuaRuntime::LuaSha1Hex(lua_State* L) {
  if (lua_gettop(L) != 1) {
    PushErrorTable(L, "ERR wrong number of arguments");
    return lua_error(L);
  }
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  char hex[41];
  {
    std::string h = Sha1Hex(std::string_view(s != nullptr ? s : "", s != nullptr ? len : 0));
    std::memcpy(hex, h.data(), 40);
  }
  lua_pushlstring(L, hex, 40);
  return 1;
}

// redis.error_reply / status_reply: one string argument, as Redis checks.
int LuaRuntime::LuaErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "ERR wrong number or type of arguments");
    return lua_error(L);
  }
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  std::string raw(s, len);
  if (raw.empty() || raw[0] != '-') raw.insert(0, "-");
  {
    std::string text = ErrorTableText(raw);
    lua_createtable(L, 0, 1);
    lua_pushlstring(L, text.data(), text.size());
  }
  lua_setfield(L, -2, "err");
  return 1;
}

int LuaRuntime::LuaStatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "ERR wrong number or type of arguments");
    return lua_error(L);
  }
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "ok");
  return 1;
}

int LuaRuntime::LuaNoopFalse(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}
int LuaRuntime::LuaNoopNil(lua_State*) { return 0; }
int LuaRuntime::LuaNoopTrue(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

int LuaRuntime::LuaSetRepl(lua_State* L) {
  if (lua_gettop(L) != 1) {
    PushErrorTable(L, "ERR redis.set_repl() requires one argument.");
    return lua_error(L);
  }
  int flags = static_cast<int>(lua_tonumber(L, 1));
  if (flags < 0 || flags > 3) {
    PushErrorTable(L,
                   "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or "
                   "REPL_NONE.");
    return lua_error(L);
  }
  return 0;  // the log records every effect regardless (there are no replicas)
}

int LuaRuntime::LuaRandom(lua_State* L) {
  LuaRuntime* rt = Self(L);
  constexpr double kMax = 2147483647.0;
  lua_Number r = static_cast<lua_Number>(rt->rand_.next() % 2147483647) / kMax;
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      break;
    case 1: {
      int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      break;
    }
    case 2: {
      int l = luaL_checkint(L, 1);
      int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (u - l + 1)) + l);
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
  return 1;
}

int LuaRuntime::LuaRandomSeed(lua_State* L) {
  LuaRuntime* rt = Self(L);
  int32_t seed = luaL_checkint(L, 1);
  rt->rand_.x = (static_cast<uint64_t>(static_cast<uint32_t>(seed)) << 16) | 0x330E;
  return 0;
}

// ---- Scripts -------------------------------------------------------------------------

namespace {

// Redis's evalExtractShebangFlags: "#!lua [flags=a,b]" on the first line. shebang_len is
// the length of that line without its newline (the newline stays, so line numbers hold).
std::string ParseShebang(std::string_view body, uint32_t& flags, size_t& shebang_len) {
  flags = 0;
  shebang_len = 0;
  if (body.substr(0, 2) != "#!") return "";
  size_t end = body.find('\n');
  shebang_len = end == std::string_view::npos ? body.size() : end;
  std::string_view line = body.substr(0, shebang_len);
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) parts.push_back(line.substr(i, j - i));
    i = j;
  }
  if (parts.empty() || parts[0] != "#!lua") {
    return "ERR Unexpected engine in script shebang: " +
           std::string(parts.empty() ? line : parts[0]);
  }
  flags = kScriptDeclared;
  for (size_t p = 1; p < parts.size(); ++p) {
    if (parts[p].substr(0, 6) != "flags=") {
      return "ERR Unknown lua shebang option: " + std::string(parts[p]);
    }
    std::string_view list = parts[p].substr(6);
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view name = list.substr(0, comma);
      uint32_t f = ScriptFlagByName(name);
      if (f == 0) return "ERR Unexpected flag in script shebang: " + std::string(name);
      flags |= f;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return "";
}

}  // namespace

void LuaRuntime::check_script_generation() {
  uint64_t gen = ScriptRegistry::Get().scripts_generation();
  if (gen == generation_) return;
  for (auto& [name, c] : cache_) luaL_unref(L_, LUA_REGISTRYINDEX, c.ref);
  cache_.clear();
  last_hit_ = nullptr;
  generation_ = gen;
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

const LuaRuntime::Compiled* LuaRuntime::compile(std::string_view body, const std::string& sha,
                                                Reply& err) {
  uint32_t flags = 0;
  size_t shebang_len = 0;
  std::string bad = ParseShebang(body, flags, shebang_len);
  if (!bad.empty()) {
    err = Reply::Error(bad);
    return nullptr;
  }
  std::string_view code = body.substr(shebang_len);
  if (luaL_loadbuffer(L_, code.data(), code.size(), "@user_script") != 0) {
    std::string msg = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    err = Reply::Error("ERR Error compiling script (new function): " + msg);
    return nullptr;
  }
  Compiled c;
  c.ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  c.flags = flags;
  c.name = sha;
  ScriptRegistry::Get().add_script(sha, body);
  return &cache_.insert_or_assign(sha, std::move(c)).first->second;
}

const LuaRuntime::Compiled* LuaRuntime::find_sha(std::string_view sha) {
  if (last_hit_ != nullptr && std::memcmp(last_sha_, sha.data(), sizeof last_sha_) == 0) {
    return last_hit_;
  }
  sha_buf_.assign(sha);
  for (char& ch : sha_buf_) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + ('a' - 'A'));
  }
  const Compiled* c = nullptr;
  auto it = cache_.find(sha_buf_);
  if (it != cache_.end()) {
    c = &it->second;
  } else {
    std::optional<std::string> body = ScriptRegistry::Get().find_script(sha_buf_);
    if (!body) return nullptr;
    Reply err;
    std::string sha_copy = sha_buf_;
    c = compile(*body, sha_copy, err);
  }
  if (c != nullptr) {
    std::memcpy(last_sha_, sha.data(), sizeof last_sha_);
    last_hit_ = c;
  }
  return c;
}

Reply LuaRuntime::eval(CmdCtx& ctx, Args args, bool is_sha, bool read_only) {
  int64_t numkeys = 0;
  if (!ParseInt64(args[2], &numkeys)) return ErrorReply(OpStatus::kNotInteger);
  if (numkeys > static_cast<int64_t>(args.size()) - 3) {
    return Reply::Error("ERR Number of keys can't be greater than number of args");
  }
  if (numkeys < 0) return Reply::Error("ERR Number of keys can't be negative");
  check_script_generation();
  const Compiled* c = nullptr;
  if (is_sha) {
    if (args[1].size() == 40) c = find_sha(args[1]);
    if (c == nullptr) return Reply::Error("NOSCRIPT No matching script. Please use EVAL.");
  } else {
    std::string sha = Sha1Hex(args[1]);
    auto it = cache_.find(sha);
    if (it != cache_.end()) {
      c = &it->second;
    } else {
      Reply err;
      c = compile(args[1], sha, err);
      if (c == nullptr) return err;
    }
  }
  bool write_script = (c->flags & kScriptDeclared) && !(c->flags & kScriptNoWrites);
  if (read_only && write_script) {
    return Reply::Error("ERR Can not execute a script with write flag using *_ro command.");
  }
  if (write_script && ctx.engine->wal() != nullptr && ctx.engine->wal()->refusing_writes()) {
    return ctx.engine->wal()->misconf_reply();
  }
  size_t nk = static_cast<size_t>(numkeys);
  // KEYS and ARGV are globals of the eval interpreter.
  set_string_global("KEYS", keys_ref_, keys_len_, args.subspan(3, nk));
  set_string_global("ARGV", argv_ref_, argv_len_, args.subspan(3 + nk));
  lua_rawgeti(L_, LUA_REGISTRYINDEX, handler_ref_);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, c->ref);
  return run(ctx, *c, read_only, 0);
}

Reply LuaRuntime::load_script(std::string_view body) {
  check_script_generation();
  std::string sha = Sha1Hex(body);
  if (cache_.count(sha) != 0) {
    ScriptRegistry::Get().add_script(sha, body);
    return Reply::Bulk(std::move(sha));
  }
  Reply err;
  if (compile(body, sha, err) == nullptr) return err;
  return Reply::Bulk(std::move(sha));
}

// ---- Functions -----------------------------------------------------------------------

void LuaRuntime::check_function_generation() {
  uint64_t gen = ScriptRegistry::Get().functions_generation();
  if (gen == generation_) return;
  for (auto& [name, c] : cache_) luaL_unref(L_, LUA_REGISTRYINDEX, c.ref);
  cache_.clear();
  generation_ = gen;
  for (const FunctionLibrary& lib : ScriptRegistry::Get().libraries()) {
    FunctionLibrary scratch;
    std::string err = load_library(lib.code, scratch, true);
    // The code loaded once already (FUNCTION LOAD checked it); it runs the same here.
    ALLOT_CHECK(err.empty());
  }
  lua_gc(L_, LUA_GCCOLLECT, 0);
}

namespace {

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  }
  return true;
}

// Redis's functionExtractLibMetaData: "#!<engine> name=<lib>" then a newline.
std::string ParseLibraryHeader(std::string_view code, std::string& name, size_t& header_len) {
  if (code.substr(0, 2) != "#!") return "ERR Missing library metadata";
  size_t end = code.find('\n');
  if (end == std::string_view::npos) return "ERR Invalid library metadata";
  header_len = end;
  std::string_view line = code.substr(0, end);
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) parts.push_back(line.substr(i, j - i));
    i = j;
  }
  if (parts.empty()) return "ERR Invalid library metadata";
  std::string_view engine = parts[0].substr(2);
  if (!EqualsIgnoreCase(engine, "lua")) {
    return "ERR Engine '" + std::string(engine) + "' not found";
  }
  name.clear();
  for (size_t p = 1; p < parts.size(); ++p) {
    if (parts[p].substr(0, 5) == "name=") {
      name = std::string(parts[p].substr(5));
    } else {
      return "ERR Invalid metadata value given: " + std::string(parts[p]);
    }
  }
  if (name.empty()) return "ERR Invalid library metadata";
  if (!ValidName(name)) {
    return "ERR Library names can only contain letters, numbers, or underscores(_) and must be "
           "at least one character long";
  }
  return "";
}

}  // namespace

std::string LuaRuntime::load_library(std::string_view code, FunctionLibrary& lib, bool keep) {
  size_t header_len = 0;
  std::string err = ParseLibraryHeader(code, lib.name, header_len);
  if (!err.empty()) return err;
  lib.code = std::string(code);
  lib.functions.clear();
  std::string_view body = code.substr(header_len);
  if (luaL_loadbuffer(L_, body.data(), body.size(), "@user_function") != 0) {
    std::string msg = lua_tostring(L_, -1);
    lua_pop(L_, 1);
    return "ERR Error compiling function: " + msg;
  }
  loading_ = &lib;
  keep_loaded_ = keep;
  // Library code runs with a time limit too (Redis: 500 ms); the hook is not needed to
  // stop it here: FUNCTION LOAD is an admin command on the caller's thread.
  int status = lua_pcall(L_, 0, 0, 0);
  loading_ = nullptr;
  if (status != 0) {
    std::string msg;
    if (lua_istable(L_, -1)) {
      lua_getfield(L_, -1, "err");
      msg = lua_isstring(L_, -1) ? lua_tostring(L_, -1) : "";
      lua_pop(L_, 1);
    } else {
      msg = std::string("ERR ") + (lua_isstring(L_, -1) ? lua_tostring(L_, -1) : "unknown error");
    }
    lua_pop(L_, 1);
    return "ERR Error registering functions: " + msg;
  }
  if (lib.functions.empty()) return "ERR No functions registered";
  return "";
}

int LuaRuntime::LuaRegisterFunction(lua_State* L) {
  int r = Self(L)->register_function(L);
  if (r < 0) return lua_error(L);
  return r;
}

// Validates the table form's keys; fills info (not the callback). nullptr = fine.
const char* ReadFunctionTable(lua_State* L, FunctionInfo& info) {
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    const char* bad = nullptr;
    if (key == "function_name") {
      if (lua_type(L, -1) != LUA_TSTRING) {
        bad = "ERR function_name argument given to redis.register_function must be a string";
      } else {
        info.name = lua_tostring(L, -1);
      }
    } else if (key == "callback") {
      if (!lua_isfunction(L, -1)) {
        bad = "ERR callback argument given to redis.register_function must be a function";
      }
    } else if (key == "description") {
      if (lua_type(L, -1) != LUA_TSTRING) {
        bad = "ERR description argument given to redis.register_function must be a string";
      } else {
        info.description = lua_tostring(L, -1);
      }
    } else if (key == "flags") {
      if (!lua_istable(L, -1)) {
        bad =
            "ERR flags argument to redis.register_function must be a table representing "
            "function flags";
      }
      for (int j = 1; bad == nullptr; ++j) {
        lua_rawgeti(L, -1, j);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          break;
        }
        uint32_t f = lua_type(L, -1) == LUA_TSTRING ? ScriptFlagByName(lua_tostring(L, -1)) : 0;
        lua_pop(L, 1);
        if (f == 0) bad = "ERR unknown flag given";
        info.flags |= f;
      }
    } else {
      bad = "ERR unknown argument given to redis.register_function";
    }
    if (bad != nullptr) {
      lua_pop(L, 2);
      return bad;
    }
    lua_pop(L, 1);
  }
  if (info.name.empty()) return "ERR redis.register_function must get a function name argument";
  lua_getfield(L, 1, "callback");
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    return "ERR redis.register_function must get a callback argument";
  }
  return nullptr;
}

int LuaRuntime::register_function(lua_State* L) {
  if (loading_ == nullptr) {
    PushErrorTable(L, "ERR redis.register_function can only be called on FUNCTION LOAD command");
    return -1;
  }
  FunctionInfo info;
  int argc = lua_gettop(L);
  const char* bad = nullptr;
  if (argc == 1 && lua_istable(L, 1)) {
    bad = ReadFunctionTable(L, info);  // leaves the callback on top when fine
  } else if (argc == 2) {
    if (lua_type(L, 1) != LUA_TSTRING) {
      bad = "ERR first argument to redis.register_function must be a string";
    } else if (!lua_isfunction(L, 2)) {
      bad = "ERR second argument to redis.register_function must be a function";
    } else {
      info.name = lua_tostring(L, 1);
      lua_pushvalue(L, 2);
    }
  } else {
    bad = "ERR wrong number of arguments to redis.register_function";
  }
  if (bad == nullptr && !ValidName(info.name)) {
    lua_pop(L, 1);
    bad =
        "ERR Function names can only contain letters, numbers, or underscores(_) and must be at "
        "least one character long";
  }
  if (bad == nullptr) {
    for (const FunctionInfo& f : loading_->functions) {
      if (f.name == info.name) bad = "ERR Function already exists in the library";
    }
    if (bad != nullptr) lua_pop(L, 1);
  }
  if (bad != nullptr) {
    PushErrorTable(L, bad);
    return -1;
  }
  if (keep_loaded_) {
    Compiled c;
    c.ref = luaL_ref(L, LUA_REGISTRYINDEX);
    c.flags = info.flags;
    c.name = info.name;
    cache_.insert_or_assign(info.name, std::move(c));
  } else {
    lua_pop(L, 1);
  }
  loading_->functions.push_back(std::move(info));
  return 0;
}

Reply LuaRuntime::fcall(CmdCtx& ctx, Args args, bool read_only) {
  check_function_generation();
  auto it = cache_.find(std::string(args[1]));
  if (it == cache_.end()) return Reply::Error("ERR Function not found");
  int64_t numkeys = 0;
  if (!ParseInt64(args[2], &numkeys)) return Reply::Error("ERR Bad number of keys provided");
  if (numkeys > static_cast<int64_t>(args.size()) - 3) {
    return Reply::Error("ERR Number of keys can't be greater than number of args");
  }
  if (numkeys < 0) return Reply::Error("ERR Number of keys can't be negative");
  const Compiled& c = it->second;
  bool write_fn = !(c.flags & kScriptNoWrites);
  if (read_only && write_fn) {
    return Reply::Error("ERR Can not execute a script with write flag using *_ro command.");
  }
  if (write_fn && ctx.engine->wal() != nullptr && ctx.engine->wal()->refusing_writes()) {
    return ctx.engine->wal()->misconf_reply();
  }
  size_t nk = static_cast<size_t>(numkeys);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, handler_ref_);
  lua_rawgeti(L_, LUA_REGISTRYINDEX, c.ref);
  push_string_table(args.subspan(3, nk));
  push_string_table(args.subspan(3 + nk));
  return run(ctx, c, read_only, 2);
}

// ---- Entry points --------------------------------------------------------------------

Reply RunEval(CmdCtx& ctx, Args args, bool is_sha, bool read_only) {
  return LuaRuntime::ForThread(Kind::kEval).eval(ctx, args, is_sha, read_only);
}

Reply RunFcall(CmdCtx& ctx, Args args, bool read_only) {
  return LuaRuntime::ForThread(Kind::kFunction).fcall(ctx, args, read_only);
}

Reply LoadScript(std::string_view body) {
  return LuaRuntime::ForThread(Kind::kEval).load_script(body);
}

std::string CompileLibrary(std::string_view code, FunctionLibrary& lib) {
  // A scratch interpreter: the code runs once to see what it registers, and nothing of
  // it stays in the thread's own interpreter.
  LuaRuntime scratch(Kind::kFunction);
  return scratch.load_library(code, lib, false);
}

bool ScriptNumKeys(Args args, size_t numkeys_index, int64_t& numkeys) {
  if (numkeys_index >= args.size() || !ParseInt64(args[numkeys_index], &numkeys)) return false;
  return numkeys >= 0 &&
         numkeys <= static_cast<int64_t>(args.size()) - static_cast<int64_t>(numkeys_index) - 1;
}

std::optional<Reply> ShardBusyReply(const ShardState& shard) {
  if (shard.script.busy_since_ms.load(std::memory_order_relaxed) == 0) return std::nullopt;
  if (shard.script.is_function.load(std::memory_order_relaxed)) {
    return Reply::Error(
        "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN "
        "NOSAVE.");
  }
  return Reply::Error(
      "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
}

Reply KillRunningScript(EngineImpl& engine, bool function) {
  bool found = false;
  for (unsigned i = 0; i < engine.shard_count(); ++i) {
    ShardState& s = engine.shard(i);
    if (s.script.busy_since_ms.load(std::memory_order_acquire) == 0) continue;
    bool is_fn = s.script.is_function.load(std::memory_order_relaxed);
    if (is_fn != function) {
      return Reply::Error(function ? "NOTBUSY No scripts in execution right now."
                                   : "BUSY Redis is busy running a script. You can only call "
                                     "FUNCTION KILL or SHUTDOWN NOSAVE.");
    }
    if (s.script.wrote.load(std::memory_order_relaxed)) {
      return Reply::Error(
          "UNKILLABLE Sorry the script already executed write commands against the dataset. You "
          "can either wait the script termination or kill the server in a hard way using the "
          "SHUTDOWN NOSAVE command.");
    }
    found = true;
  }
  if (!found) return Reply::Error("NOTBUSY No scripts in execution right now.");
  for (unsigned i = 0; i < engine.shard_count(); ++i) {
    ShardState& s = engine.shard(i);
    if (s.script.busy_since_ms.load(std::memory_order_acquire) != 0) {
      s.script.kill.store(true, std::memory_order_release);
    }
  }
  return Reply::Ok();
}

}  // namespace allot::internal
