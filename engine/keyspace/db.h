// db.h: one logical database (SELECT n) of one shard.
//
// A hash map of key -> Entry plus an ordered index of keys with a TTL. Expiry is lazy (a
// lookup of an expired key deletes it and reports it missing) and active (sweep() deletes a
// bounded number of due keys per call). Only the owning shard thread touches a Db, except
// while the shard is parked for a multi-shard transaction (see engine/txn/multi_shard.h).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/keyspace/key_table.h"
#include "engine/keyspace/value.h"

namespace allot::internal {

struct ShardStats;
class WatchTable;

// Receives the entries of an incremental checkpoint (engine/wal/checkpoint.h), each with
// the value it had when the checkpoint began.
class DbCheckpointSink {
 public:
  virtual ~DbCheckpointSink() = default;
  virtual void save(const std::string& key, const Entry& entry) = 0;
};

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void set_stats(ShardStats* stats) { stats_ = stats; }
  // The shard's WATCH registrations and this database's index: expiry and clear() mark
  // watched keys as modified (engine/txn/watch.h).
  void set_watch(WatchTable* watch, int index) {
    watch_ = watch;
    index_ = index;
  }

  // Called with every inventory item about to be destroyed (DEL, overwrite, expiry,
  // FLUSHDB) while the entry is still intact; the hook must not modify the db. PostgreSQL
  // sync uses it to keep the item's unsent sales (engine/pgsync/tracker.h).
  using DropHook = void (*)(void* ctx, const std::string& key, const Entry& entry);
  void set_drop_hook(DropHook hook, void* ctx) {
    drop_hook_ = hook;
    drop_ctx_ = ctx;
  }

  // The live entry for key, or nullptr (deleting it first if its TTL has passed).
  Entry* find(std::string_view key, int64_t now_ms);
  // Like find, but does not count a hit or miss (for internal existence checks).
  Entry* peek(std::string_view key, int64_t now_ms);
  // Creates key holding `value` with no TTL; the key must not exist (live or expired).
  Entry* insert(std::string_view key, Value value, int64_t now_ms);
  // Recovery (checkpoint load, before the shard runs): creates key, taking the string;
  // nullptr if the key exists already (a damaged image). No checkpoint may be running.
  Entry* insert_loaded(std::string&& key, Value&& value, int64_t expire_at_ms);
  // Room for n keys without a rehash (recovery knows the count up front).
  void reserve(size_t n) { map_.reserve(n); }
  // Replaces key's value (keeping it if absent: creates), clearing the TTL unless keep_ttl.
  Entry* assign(std::string_view key, Value value, int64_t now_ms, bool keep_ttl = false);
  // Deletes key; returns whether a live key was deleted.
  bool erase(std::string_view key, int64_t now_ms);
  // Removes an entry found by find(); cheaper than erase by name.
  void erase(Entry* entry);
  // Sets the absolute expiry (0 = persist).
  void set_expire(Entry* entry, int64_t at_ms);

  // The state of key without side effects: 0 absent, 1 live, 2 present but past its TTL
  // (not deleted yet). For WATCH, which must not expire keys itself.
  int probe(std::string_view key, int64_t now_ms) const {
    const KeyTable::Node* n = map_.find(key);
    if (n == nullptr) return 0;
    return expired(n->entry, now_ms) ? 2 : 1;
  }

  size_t size() const { return map_.size(); }
  size_t expires_size() const { return expires_.size(); }
  void clear();

  // Deletes up to max keys whose TTL is <= now_ms; returns how many.
  size_t sweep(int64_t now_ms, size_t max);

  // Visits keys slot by slot starting at cursor; stops after about `count` keys and
  // returns the next cursor (0 when the scan is complete). Expired keys are skipped.
  // Keys present for the whole scan are returned unless the table is rebuilt meanwhile
  // (grown or compacted: keys are re-dealt); Redis guarantees more, see
  // docs/architecture.md.
  uint64_t scan(uint64_t cursor, size_t count, int64_t now_ms,
                const std::function<void(const std::string&, Entry&)>& fn);
  // Visits every live key (KEYS, FLUSH accounting, checkpoints).
  void for_each(int64_t now_ms, const std::function<void(const std::string&, Entry&)>& fn);
  // Visits keys with a TTL, soonest deadline first, until fn returns false (eviction by
  // volatile-ttl; fn must not modify the db).
  void for_each_volatile(const std::function<bool(const std::string&, Entry&)>& fn);
  // Exchanges every key and TTL with other (SWAPDB). The tables keep their nodes, so the
  // expiry index's key pointers stay valid. A running checkpoint's state goes with the
  // entries: the unsaved ones are still saved, once, under the database they were in at
  // its marker (each Db's sink knows its index).
  void swap_contents(Db& other) {
    map_.swap(other.map_);
    expires_.swap(other.expires_);
    std::swap(ckpt_sink_, other.ckpt_sink_);
    std::swap(ckpt_epoch_, other.ckpt_epoch_);
    std::swap(ckpt_pending_, other.ckpt_pending_);
    std::swap(ckpt_cursor_, other.ckpt_cursor_);
    std::swap(ckpt_restarts_, other.ckpt_restarts_);
    std::swap(ckpt_frozen_cursor_, other.ckpt_frozen_cursor_);
    ckpt_frozen_.swap(other.ckpt_frozen_);
  }
  // The first live key at or after a uniformly chosen slot, or nullptr if the db is empty.
  const std::string* random_key(int64_t now_ms, uint64_t random);

  // Incremental checkpoint (copy on first touch). checkpoint_begin() marks every entry
  // present now as unsaved in O(1) (a new epoch). From then on each of them is handed to
  // sink exactly once, with its value as of checkpoint_begin(): by checkpoint_step(), or,
  // if a caller reaches it first, by peek/find/erase/clear before the caller can change
  // it. Entries created later are not part of it. Done when checkpoint_pending() is 0.
  void checkpoint_begin(DbCheckpointSink* sink);
  // Saves unsaved entries, examining about `budget` slots; returns how many it saved. A
  // table rebuild during the scan may move unsaved entries behind the cursor, so the
  // scan starts over until the count of unsaved entries is 0 (they are never missed).
  size_t checkpoint_step(size_t budget);
  size_t checkpoint_pending() const { return ckpt_pending_; }
  void checkpoint_end();

 private:
  using Map = KeyTable;
  // The one check on every path to an entry while a checkpoint runs.
  void ckpt_touch(Entry& e) {
    if (ckpt_sink_ != nullptr && e.ckpt_epoch != ckpt_epoch_) ckpt_save(e);
  }
  void ckpt_save(Entry& e);
  size_t ckpt_step_frozen(size_t budget);

  bool expired(const Entry& e, int64_t now_ms) const {
    return e.expire_at_ms != 0 && e.expire_at_ms <= now_ms;
  }
  void expire_now(Entry* entry);
  void dropping(const Entry& e) {
    if (drop_hook_ != nullptr && e.type() == ValueType::kInventory) {
      drop_hook_(drop_ctx_, *e.key, e);
    }
  }

  Map map_;
  std::set<std::pair<int64_t, const std::string*>> expires_;
  ShardStats* stats_ = nullptr;
  WatchTable* watch_ = nullptr;
  int index_ = 0;
  DropHook drop_hook_ = nullptr;
  void* drop_ctx_ = nullptr;
  // Checkpoint state (see checkpoint_begin).
  DbCheckpointSink* ckpt_sink_ = nullptr;
  uint32_t ckpt_epoch_ = 0;
  size_t ckpt_pending_ = 0;
  size_t ckpt_cursor_ = 0;         // next slot of map_ to scan
  size_t ckpt_frozen_cursor_ = 0;  // next slot of ckpt_frozen_.back() to save and free
  size_t ckpt_restarts_ = 0;       // scans started over after a rehash
  std::vector<Map> ckpt_frozen_;   // tables cleared (FLUSHDB) during the checkpoint
};

}  // namespace allot::internal
