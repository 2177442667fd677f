// shard_state.h: everything one shard owns.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "engine/keyspace/db.h"
#include "engine/limits.h"
#include "engine/txn/watch.h"

namespace allot::internal {

class Reactor;
struct InventoryTimers;

struct ShardStats {
  uint64_t expired_keys = 0;
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  uint64_t commands = 0;
  uint64_t expired_holds = 0;
};

// A script running on this shard (engine/scripting/lua_runtime.h), as other threads see
// it: they answer BUSY for this shard once a script has run past busy-reply-threshold,
// and SCRIPT KILL asks it to stop. Written by the thread running the script.
struct ScriptRunSlot {
  std::atomic<int64_t> busy_since_ms{0};  // steady-clock start of a long script, 0 = none
  std::atomic<bool> kill{false};          // SCRIPT KILL / FUNCTION KILL asked it to stop
  std::atomic<bool> wrote{false};         // it wrote already: UNKILLABLE
  std::atomic<bool> is_function{false};   // FCALL (FUNCTION KILL) rather than EVAL
};

struct ShardState {
  explicit ShardState(unsigned shard_id);
  ~ShardState();

  unsigned id;
  Reactor* reactor = nullptr;
  ShardStats stats;
  std::array<Db, limits::kDatabaseCount> dbs;
  // Hold deadlines of this shard's inventory items (engine/commands/inventory.cc).
  std::unique_ptr<InventoryTimers> inventory_timers;
  // WATCH registrations of this shard's keys (engine/txn/watch.h). Write paths check
  // watches.empty() first: one branch when nobody watches.
  WatchTable watches;
  ScriptRunSlot script;
  // A per-shard random source (SPOP, RANDOMKEY, SRANDMEMBER); deterministic per shard.
  uint64_t rng_state;
  uint64_t next_random() {
    // splitmix64
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

}  // namespace allot::internal
