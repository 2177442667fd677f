// inventory.h: the native inventory value (one key = one sellable item or quota).
//
// Everything one item needs to sell safely lives in this one value, on one shard: the
// counters, every user's held and bought units, the holds (two-phase reservations, modelled
// on TigerBeetle's pending transfers) and the request ids of idempotent retries. So every
// INV.* command touches one key on one shard and is atomic without coordination.
//
// Counters: total == available + held + sold, each >= 0, and with a limit every user's
// held + bought <= limit. The operations (engine/commands/inventory_ops.cc) check these
// with ALLOT_CHECK after every mutation.
//
// Holds. A hold is open until exactly one of: confirmed (units -> sold), released
// (units -> available) or expired (its deadline passed; units -> available). Each
// resolution is final. Resolved holds are remembered (up to kResolvedHoldsPerItemMax per
// item, the oldest resolution forgotten first) so that a repeated CONFIRM or RELEASE gets
// the same answer.
//
// Expiry. Open holds are kept by deadline in the item (open_deadlines), so expiring the
// due ones costs O(log n) each. Every INV.* command first expires the item's due holds
// (lazily), and each shard keeps an index of (earliest deadline, db, key) per item with
// open holds (InventoryTimers) that its timer walks (actively, ExpireDueHolds). Keys are
// deleted, renamed and overwritten by other families without telling this one, so index
// entries are validated when they fire: a missing key or another type is skipped. Each
// item records under which (shard, db, key) it is registered; an INV.* command on an item
// registered under another name (after RENAME, MOVE, COPY or a load) registers it afresh,
// and InventoryKeyAttached() lets those paths do it at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "engine/keyspace/sale_ledger.h"

namespace allot::internal {

// Transparent hashing so lookups by string_view allocate nothing (as value.h's StrHash,
// which cannot be used here: value.h includes this header).
struct InventoryStrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct InventoryStrEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
template <class V>
using InventoryStrMap = std::unordered_map<std::string, V, InventoryStrHash, InventoryStrEq>;

enum class HoldState : uint8_t { kOpen, kConfirmed, kReleased, kExpired };

struct Hold {
  std::string user;
  int64_t qty = 0;          // >= 1
  int64_t deadline_ms = 0;  // absolute Unix ms; the hold expires when now >= deadline
  uint64_t seq = 0;         // creation order within the item
  HoldState state = HoldState::kOpen;
};

// One sale or refund not yet written to PostgreSQL (engine/pgsync/): becomes one row of
// the purchases table. Kept only while PostgreSQL sync is on, and only for database 0.
struct SaleEvent {
  uint64_t seq = 0;        // per item, from Inventory::next_event_seq; (item_id, seq) is unique
  int64_t qty = 0;         // >= 1
  int64_t at_ms = 0;       // the command's ctx.now_ms (the same on replay)
  bool cancelled = false;  // an INV.CANCEL refund rather than a sale
  std::string user;
  std::string hold_id;     // the confirmed hold; empty for a direct buy or a refund
  std::string request_id;  // INV.BUY ... ID, if given
};

// One user's units of one item. Users with nothing held or bought are erased.
struct InventoryUser {
  int64_t held = 0;
  int64_t bought = 0;
  std::map<uint64_t, std::string> open_holds;  // hold seq -> hold id, creation order
};

// A remembered successful INV.BUY ... ID.
struct BuyRequest {
  std::string user;
  int64_t qty = 0;
};

struct Inventory {
  int64_t total = 0;        // units ever put on sale (restock raises it, withdraw lowers it)
  int64_t available = 0;    // units a buyer can get now
  int64_t held = 0;         // units in open holds
  int64_t sold = 0;         // units bought or confirmed (minus refunds)
  int64_t limit = 0;        // max held + bought units per user, 0 = no limit
  int64_t hold_ttl_ms = 0;  // default TTL of INV.HOLD

  // Next hold sequence number; assigned hold ids are its decimal rendering.
  uint64_t next_hold_seq = 1;
  // Open holds and remembered resolved holds, by id.
  InventoryStrMap<Hold> holds;
  // Open holds by (deadline, id): the next to expire first.
  std::set<std::pair<int64_t, std::string>> open_deadlines;
  // Ids of resolved holds, oldest resolution first (bounded by kResolvedHoldsPerItemMax).
  std::deque<std::string> resolved_order;
  InventoryStrMap<InventoryUser> users;
  // Successful INV.BUY request ids, oldest first (bounded by kBuyRequestIdsPerItemMax).
  InventoryStrMap<BuyRequest> buy_requests;
  std::deque<std::string> buy_request_order;

  // Registration in the shard's deadline index: the entry (timer_deadline_ms, timer_db,
  // timer_key) on shard timer_shard exists and equals the earliest open deadline, unless
  // the item was moved (then the tag differs from where the item is, and it re-registers).
  // timer_deadline_ms == 0: not registered.
  int64_t timer_deadline_ms = 0;
  unsigned timer_shard = 0;
  int timer_db = -1;
  std::string timer_key;

  // PostgreSQL sync (engine/pgsync/pg_sync.h). item_id names this incarnation of the item
  // (drawn from the shard's random source at INV.CREATE, so replay draws the same), so a
  // deleted and re-created key does not reuse purchase ids. unsynced is the ledger of
  // sales not yet acknowledged by PostgreSQL; it is part of checkpoints, so a restart
  // after a checkpoint still has the events PostgreSQL may not have.
  uint64_t item_id = 0;
  uint64_t next_event_seq = 1;
  SaleLedger<SaleEvent> unsynced;
  // The sync's dirty marking without a hash lookup per sale (engine/pgsync/tracker.h):
  // the version of the item's last change, and the shard tracker's epoch in which its key
  // was last put into the dirty set (equal to the current epoch: already there).
  uint64_t pg_version = 0;
  uint64_t pg_epoch = 0;

  size_t open_hold_count() const { return open_deadlines.size(); }
};

struct ShardState;

// Per-shard index of hold deadlines, so the shard's timer finds due holds without
// scanning every item: one entry (earliest open deadline, db, key) per item with open
// holds, plus stale entries of deleted or moved items, skipped when they fire.
struct InventoryTimers {
  std::set<std::tuple<int64_t, int, std::string>> due;
};

// Expires up to max holds whose deadline is <= now_ms on this shard, returning their
// units to stock. Returns the milliseconds until the next deadline, or -1 if none.
int64_t ExpireDueHolds(ShardState& shard, int64_t now_ms, size_t max);

// Registers the open holds of `inv`, now stored at (shard, db, key), in the shard's
// deadline index. For code that puts an inventory under a key other than by INV.CREATE
// (RENAME, MOVE, COPY, RESTORE, checkpoint load, WAL replay); without it, the item is
// registered again by the next INV.* command on it.
void InventoryKeyAttached(ShardState& shard, int db, std::string_view key, Inventory& inv);

}  // namespace allot::internal
