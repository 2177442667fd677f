// tracker.h: what each shard remembers for the PostgreSQL sync worker (pg_sync.h).
//
// The worker syncs state from memory, not from the log: WAL records are commands to
// re-execute, not their effects, and hold expiry by the timer is not logged at all. So
// every shard keeps, for database 0 only:
//   * dirty: the keys whose row(s) in PostgreSQL may be stale, each with the version of
//     its last change, so an acknowledgement of an older copy does not clear a newer one;
//   * per inventory item, in the item itself (Inventory::unsynced), the sale events not
//     yet acknowledged by PostgreSQL (those become purchases rows, which state alone
//     cannot give).
// Everything here is touched only by the shard's thread, except `backlog` (read by the
// worker) and the engine-wide PgShared flags.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace allot::internal {

struct Inventory;
struct SaleEvent;
struct ShardState;

// Engine-wide state shared by the shards and the worker.
struct PgShared {
  std::vector<std::string> patterns;  // pg-sync-keys globs of plain keys to mirror
  // Incremented when every row may be stale (start, FLUSHALL, FLUSHDB, SWAPDB): the worker
  // then re-sends every key and deletes the rows of keys that no longer exist.
  std::atomic<uint64_t> full_gen{1};
  // Set by the worker when the backlog reaches its limit: new sales are refused.
  std::atomic<bool> refuse_sales{false};
  uint64_t backlog_max = 0;
};

struct PgTracker {
  explicit PgTracker(PgShared* s) : shared(s) {}
  PgShared* shared;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  std::unordered_map<std::string, uint64_t, Hash, Eq> dirty;  // key -> version of last change
  uint64_t version = 0;
  // Sale events held in this shard's items' ledgers (relaxed; an estimate for INFO and
  // the limit: events of an item deleted before they were synced are not subtracted
  // until the next full pass recounts).
  std::atomic<int64_t> backlog{0};

  // Allocates only for a key not dirty yet (a hot item is re-marked on every sale).
  void mark(std::string_view key) {
    auto it = dirty.find(key);
    if (it != dirty.end()) {
      it->second = ++version;
    } else {
      dirty.emplace(std::string(key), ++version);
    }
  }
  // Whether key is a plain key to mirror (matches a pg-sync-keys pattern).
  bool mirrored(std::string_view key) const;
};

// The tracker of shard for database db, or nullptr when sync is off or db is not 0.
PgTracker* PgTrackerFor(ShardState& shard, int db);

// Appends a sale (or refund) to the item's ledger and marks it dirty. No-op without a
// tracker.
void PgRecordSale(PgTracker* t, std::string_view key, Inventory& inv, SaleEvent ev);

}  // namespace allot::internal
