// tracker.h: what each shard remembers for the PostgreSQL sync worker (pg_sync.h).
//
// The worker syncs state from memory, not from the log: WAL records are commands to
// re-execute, not their effects, and hold expiry by the timer is not logged at all. So
// every shard keeps, for database 0 only:
//   * dirty: the keys whose row(s) in PostgreSQL may be stale, each with the version of
//     its last change, so an acknowledgement of an older copy does not clear a newer one;
//   * per inventory item, in the item itself (Inventory::unsynced), the sale events not
//     yet acknowledged by PostgreSQL (those become purchases rows, which state alone
//     cannot give);
//   * orphans: the unsent events of items deleted meanwhile (Db's drop hook).
// A sale costs the selling path two stores to mark its item (mark_item) and one event
// constructed in place in the item's ledger; no hash lookup, no allocation in steady
// state (docs/postgres.md, "What the shards keep").
// Everything here is touched only by the shard's thread, except `backlog` (read by the
// worker) and the engine-wide PgShared flags.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/keyspace/inventory.h"

namespace allot::internal {

struct Entry;
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
  std::atomic<uint64_t> next_epoch{1};  // PgTracker::epoch values
  // Orphaned events in all shards (they are part of checkpoint images, checkpoint.h).
  std::atomic<int64_t> orphan_events{0};
};

// Sale events of an item deleted (DEL, overwrite, expiry, FLUSHDB, RENAME onto it) or moved
// out of database 0 (MOVE, SWAPDB) before PostgreSQL acknowledged them: still sent, under
// the key the item had when it went.
struct PgOrphanEvents {
  std::string key;
  uint64_t item_id = 0;
  SaleLedger<SaleEvent> events;
  // Increasing along PgTracker::orphans: a checkpoint saves the orphans that existed at
  // its marker (serial < PgTracker::next_orphan_serial then), not those created after it,
  // whose items the image holds still (ShardCheckpoint).
  uint64_t serial = 0;
};

struct PgTracker {
  explicit PgTracker(PgShared* s) : shared(s), epoch(s->next_epoch.fetch_add(1)) {}
  PgShared* shared;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  // key -> version of its last change. For a key holding an inventory item the current
  // version is the item's (Inventory::pg_version): a sale updates only the item.
  std::unordered_map<std::string, uint64_t, Hash, Eq> dirty;
  uint64_t version = 0;
  // Changes whenever keys leave `dirty` (PgSync::ack). An item whose pg_epoch equals it
  // has its key in `dirty` already, so marking it again is two stores (the selling path),
  // not a hash lookup. Unique across shards (an item may move to another shard).
  uint64_t epoch;
  std::vector<PgOrphanEvents> orphans;  // in serial order
  uint64_t next_orphan_serial = 1;
  // Sale events held in this shard's items' ledgers and orphans (an estimate for INFO and
  // the limit, recounted by full passes). Written by the shard thread only (plain load and
  // store, no read-modify-write on the selling path), read by the worker.
  std::atomic<int64_t> backlog{0};
  void add_backlog(int64_t n) {
    backlog.store(backlog.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Any key (allocates only for a key not dirty yet). inv: the item key holds, if any.
  void mark(std::string_view key, Inventory* inv = nullptr);
  // An item at key: a hash lookup only the first time after the dirty set shrank.
  void mark_item(std::string_view key, Inventory& inv);
  // Whether key is a plain key to mirror (matches a pg-sync-keys pattern).
  bool mirrored(std::string_view key) const;
  // Appends orphaned events (not counted in `backlog` here: the caller knows whether they
  // are new to it).
  void add_orphans(std::string key, uint64_t item_id, SaleLedger<SaleEvent> events);
};

// The tracker of shard for database db, or nullptr when sync is off or db is not 0.
PgTracker* PgTrackerFor(ShardState& shard, int db);

// Appends a sale (or refund) to the item's ledger and marks it dirty. No-op without a
// tracker. The strings are copied into the ledger in place.
void PgRecordSale(PgTracker* t, std::string_view key, Inventory& inv, int64_t qty, int64_t at_ms,
                  bool cancelled, std::string_view user, std::string_view hold_id,
                  std::string_view request_id);

// Db::DropHook of database 0 (ctx: the PgTracker): keeps a deleted item's unsent events.
void PgItemDropped(void* tracker, const std::string& key, const Entry& entry);

// An item leaves database 0 alive (MOVE, SWAPDB): for PostgreSQL it is deleted, so its
// unsent events become orphans (moved out of its ledger: the item, in a database that is
// not mirrored, records no more). The caller has made sure a running checkpoint saved the
// entry first (any Db lookup of it does).
void PgItemLeft(PgTracker* t, const std::string& key, Inventory& inv);

// A key arrived in database 0 from another (MOVE, COPY ... DB 0): created, for PostgreSQL.
// Commands run in database 0 are tracked by EngineImpl::pg_track; these run elsewhere.
void PgArrivedInDb0(ShardState& shard, std::string_view key, Entry* e);

// SWAPDB of database 0 with another, before the swap: every item of database 0 leaves it
// (PgItemLeft). The arriving ones are sent by the full round SWAPDB starts.
void PgDb0Leaving(ShardState& shard);

}  // namespace allot::internal
