// inventory.h: the native inventory value (one key = one sellable item or quota).
// Owned by the inventory command family (engine/commands/inventory.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace allot::internal {

struct Inventory {
  int64_t total = 0;      // units ever put on sale
  int64_t available = 0;  // units a buyer can get now
  int64_t held = 0;       // units in pending holds
  int64_t sold = 0;       // units confirmed
  int64_t limit = 0;      // max units per user, 0 = no limit
  int64_t hold_ttl_ms = 0;
  // Invariant: total == available + held + sold, all >= 0.
};

}  // namespace allot::internal

namespace allot::internal {

struct ShardState;

// Per-shard index of hold deadlines, so the shard's timer finds due holds without
// scanning every item. Owned by ShardState; defined by the inventory family.
struct InventoryTimers {
  // deadline_ms -> (db, key, hold id); placeholder until the inventory family fills it.
};

// Expires up to max holds whose deadline is <= now_ms on this shard, returning their
// units to stock. Returns the milliseconds until the next deadline, or -1 if none.
int64_t ExpireDueHolds(ShardState& shard, int64_t now_ms, size_t max);

}  // namespace allot::internal
