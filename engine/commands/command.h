// command.h: how a command is declared and what its handler sees.
//
// Every command is one CommandSpec entry in its family's table (engine/commands/*.cc),
// registered into the one CommandTable. Dispatch (engine/engine_impl.cc) checks arity,
// finds the keys from the spec, takes the shards that own them and only then calls the
// handler, so handlers never check arity and never route.
//
// A handler runs with exclusive access to every shard that owns one of its keys: on the
// owning shard's thread when all keys share a shard (the fast path, no coordination), or
// with all involved shards parked when they do not (engine/txn/multi_shard.h). It must
// reach data only through CmdCtx::db(key), which asserts that the key's shard is held.
// Handlers do no I/O and read time only from ctx.now_ms, so execution is deterministic.
#pragma once

#include <allot/engine.h>
#include <allot/reply.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/keyspace/db.h"
#include "engine/keyspace/shard_state.h"

namespace allot::internal {

class EngineImpl;

// Redis's command flags, as far as the engine, the WAL and the server need them.
enum CommandFlag : uint32_t {
  kCmdWrite = 1u << 0,        // may modify the keyspace: logged by the WAL, refused by _RO
  kCmdReadOnly = 1u << 1,     // reads data
  kCmdFast = 1u << 2,         // O(1) or O(log N)
  kCmdDenyOom = 1u << 3,      // may grow memory: refused over maxmemory
  kCmdAdmin = 1u << 4,        // administrative (ACL @admin)
  kCmdNoScript = 1u << 5,     // not allowed from Lua
  kCmdLoading = 1u << 6,      // allowed while loading
  kCmdStale = 1u << 7,        // allowed on a stale replica
  kCmdAllShards = 1u << 8,    // keyless but touches every shard (FLUSHALL, DBSIZE, KEYS)
  kCmdNoShard = 1u << 9,      // touches no shard data: runs on the caller's thread (PING, ECHO)
  kCmdConnection = 1u << 10,  // connection state (SELECT, HELLO): server handles the rest
  kCmdRandom = 1u << 11,      // nondeterministic output (SPOP, RANDOMKEY)
  kCmdPubSub = 1u << 12,
  kCmdBlocking = 1u << 13,
  kCmdInventory = 1u << 14,  // native inventory command (ACL category @inventory)
};

using Args = std::span<const std::string_view>;

struct CmdCtx {
  EngineImpl* engine = nullptr;
  Session* session = nullptr;
  int64_t now_ms = 0;
  // Shards held for this command, ascending. For single-shard commands, exactly one.
  std::span<ShardState* const> shards;
  // The shard the command runs on (its keys' shard, or the first held).
  ShardState* home = nullptr;
  // The bytes of the key a single-shard command was routed by (its first key argument).
  // shard_of() trusts exactly that key without hashing it again; any other key is hashed
  // and checked, so an undeclared key still crashes instead of racing with its owner.
  const char* routed_key = nullptr;
  // Set by a write handler whose effect, not the command, must be logged (Redis's
  // also_propagate): SPOP logs SREM of the members it took, so replay does not depend on
  // hash-table order. Empty: the WAL logs the command as called (engine/wal/record.h).
  std::vector<std::string> log_as;

  // The selected database of the shard owning key. Crashes if that shard is not held.
  Db& db(std::string_view key);
  // The selected database of a held shard.
  Db& db_of(ShardState* shard) const { return shard->dbs[session->db]; }
  ShardState& shard_of(std::string_view key);
  int resp() const { return session->resp; }
};

using Handler = Reply (*)(CmdCtx& ctx, Args args);
// For commands whose keys are not at fixed positions (SINTERCARD numkeys, EVAL, ...):
// appends the key argument indexes of args (which passed the arity check).
using KeysFn = void (*)(Args args, std::vector<size_t>& key_indexes);

struct CommandSpec {
  std::string_view name;  // upper case, e.g. "INV.BUY"
  int arity;              // Redis convention: N exactly, -N at least N (name included)
  uint32_t flags;
  int first_key;  // 0 = no keys
  int last_key;   // negative counts from the end (-1 = last argument)
  int key_step;
  Handler handler;
  KeysFn keys_fn = nullptr;  // overrides first/last/step when set
};

// Appends the indexes of the key arguments of args according to spec.
void KeyIndexes(const CommandSpec& spec, Args args, std::vector<size_t>& out);
// Whether argc arguments (name included) fit spec's arity.
bool ArityOk(const CommandSpec& spec, size_t argc);
// Redis's "ERR unknown command '...', with args beginning with: ..." for args.
Reply UnknownCommandReply(Args args);

}  // namespace allot::internal
