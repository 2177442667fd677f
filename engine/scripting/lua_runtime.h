// lua_runtime.h: the Lua interpreter that runs EVAL scripts and FCALL functions.
//
// One interpreter per thread and kind (scripts, functions), created lazily the first time
// the thread runs one: a shard thread for single-shard scripts, whichever parked shard
// thread runs the body of a multi-shard one (engine/txn/multi_shard.h), the caller's
// thread for SCRIPT LOAD / FUNCTION LOAD. Scripts never share an interpreter across
// threads, so running one takes no lock; what threads share is the source in the
// ScriptRegistry (registry.h), compiled again by each thread on its first use.
//
// A script is one routed command (EVAL's keys_fn returns the declared KEYS): dispatch
// already holds every shard those keys live on, and each redis.call runs the inner
// command there with RunNested (engine/txn/nested.h). Its writes go into one effect
// group logged through ctx.log_as: the log never re-runs a script.
//
// The sandbox follows Redis 7.0: the globals table is read-only ("Attempt to modify a
// readonly table"), reading a missing global fails ("Script attempted to access
// nonexistent global variable"), no os/io/debug/loadfile/dofile/print, and the libraries
// string, table, math, cjson, bit, struct, cmsgpack and redis are read-only too.
//
// Long scripts. A count hook runs every kScriptHookInstructions instructions. Once a
// script has run past busy-reply-threshold, the hook publishes that in the held shards'
// ScriptRunSlot: other threads then answer BUSY for those shards instead of queueing
// behind the script (ShardBusyReply), and SCRIPT KILL sets the flag the hook checks.
#pragma once

#include <allot/reply.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/commands/command.h"
#include "engine/scripting/registry.h"

namespace allot::internal {

class EngineImpl;
class LuaRuntime;

// busy-reply-threshold (alias lua-time-limit), milliseconds; process-wide.
int64_t ScriptBusyThresholdMs();
void SetScriptBusyThresholdMs(int64_t ms);

// The BUSY error for a command that needs shard, when a script has been running there
// past the threshold; nullopt otherwise. Any thread; one relaxed load when idle.
std::optional<Reply> ShardBusyReply(const ShardState& shard);

// SCRIPT KILL (function = false) / FUNCTION KILL (true), from any thread.
Reply KillRunningScript(EngineImpl& engine, bool function);

// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO (args as the client sent them).
Reply RunEval(CmdCtx& ctx, Args args, bool is_sha, bool read_only);
// FCALL, FCALL_RO.
Reply RunFcall(CmdCtx& ctx, Args args, bool read_only);
// SCRIPT LOAD: compiles body on this thread, stores it in the registry, returns its sha
// or the compile error.
Reply LoadScript(std::string_view body);
// FUNCTION LOAD: parses the metadata, runs the library code in a scratch interpreter to
// collect its functions, and fills lib; returns "" or Redis's error text.
std::string CompileLibrary(std::string_view code, FunctionLibrary& lib);

// EVAL's numkeys rule: keys are args[first .. first+numkeys); false when numkeys is not a
// valid count (the handler then replies with the error).
bool ScriptNumKeys(Args args, size_t numkeys_index, int64_t& numkeys);

}  // namespace allot::internal
