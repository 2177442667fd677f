// checkpoint.h: an incremental image of every shard's keyspace, stored in the WAL's LMDB
// environment so that the log before it can be trimmed. docs/durability.md has the design
// and the argument why the image is one consistent point.
//
// In short: a short all-shards transaction (every shard parked, O(1) work per database)
// starts a new checkpoint epoch in every Db (Db::checkpoint_begin) and pushes a marker
// into the log queue; the LSN the writer assigned last before the marker is the image's
// LSN. Afterwards each shard saves every entry that existed at the marker exactly once,
// with its value at the marker: its background step (ShardCheckpoint::step, from the
// shard's tick, bounded in entries and time) scans the table, and any command that reaches
// an unsaved entry first saves it just before it can change it (copy on first touch).
// Saved entries are serialized into chunks that go through the log queue to the writer,
// which puts them into LMDB under the new checkpoint's id. When every shard is done, the
// writer writes the meta (id, LSN, counts), deletes the previous checkpoint's chunks and
// trims the log up to the LSN, in ONE transaction: after a crash either the old
// checkpoint and the whole log are there, or the new one and the log after it.
//
// Format. LMDB database "checkpoint": key "meta" and keys "c" + 8-byte big-endian
// checkpoint id + 8-byte big-endian chunk number. Every value starts with the CRC-32C of
// the rest.
//   meta:  u32 crc, u8 version (3), u64 lsn, u64 id, u64 chunks, u64 keys,
//          i64 created_ms (Unix), u32 shards, shards x u64 keys of that shard,
//          str functions (version 3: the function libraries at the marker, a FUNCTION
//          DUMP payload, engine/scripting/function_store.h; version 2 has none)
//   chunk: u32 crc, then entries until the end:
//          u8 db, u8 type, i64 expire_at_ms, str key, value by type:
//          string: str; set/list: u32 n, n x str; hash: u32 n, n x (str field, str value);
//          inventory: see PutInventory in checkpoint.cc
//          (str = u32 length + bytes)
//          Version 4: db 255 (kCheckpointOrphansDb) is not a database but the unsent sale
//          events of an item that left database 0 before the marker (PostgreSQL sync's
//          orphans, engine/pgsync/tracker.h): type inventory, expire 0, the key the item
//          had, an inventory value holding only item_id and the events. Not counted in
//          the keys of the meta.
// Chunks of a checkpoint that never completed (a crash during it) stay until the next
// completed one deletes every chunk of a lower id; ids only grow.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/keyspace/shard_state.h"
#include "engine/keyspace/value.h"
#include "engine/limits.h"

namespace allot::internal {

// 2: checkpoints in their own LMDB environment (incremental), inventory items carry the
// sale ledger (PostgreSQL sync). 3: the meta carries the function libraries. 4: chunks
// may hold orphaned sale events (db kCheckpointOrphansDb). Versions 2 and 3 still load
// (no libraries in 2, no orphans in either); an older build refuses version 4.
inline constexpr uint8_t kCheckpointVersion = 4;
inline constexpr int kCheckpointOrphansDb = 255;

// The part of a checkpoint one shard writes. Used on the shard's thread (or by a
// multi-shard transaction holding the shard, which has the same exclusive access).
class ShardCheckpoint {
 public:
  // Receives each chunk (unsealed: see SealCheckpointChunk); must not block.
  using EmitFn = std::function<void(std::string chunk)>;

  explicit ShardCheckpoint(ShardState& shard) : shard_(shard) {}
  ShardCheckpoint(const ShardCheckpoint&) = delete;
  ShardCheckpoint& operator=(const ShardCheckpoint&) = delete;

  // At the marker, inside the all-shards transaction: O(1) per database.
  void begin(EmitFn emit);
  bool active() const { return active_; }
  // One background step: saves up to about `budget` entries, for at most max_us. Returns
  // true when the shard is done: every entry saved, the last chunk emitted, active() false.
  bool step(size_t budget, int64_t max_us);
  uint64_t keys() const { return keys_; }
  uint64_t longest_step_us() const { return longest_step_us_; }
  uint64_t longest_step_cpu_us() const { return longest_step_cpu_us_; }

 private:
  struct Sink final : DbCheckpointSink {
    ShardCheckpoint* owner = nullptr;
    int db = 0;
    void save(const std::string& key, const Entry& entry) override;
  };
  void put(int db, const std::string& key, const Entry& entry);
  // Saves the shard's orphans that existed at the marker, within budget; true when done.
  bool save_orphans(size_t& budget, int64_t t0, int64_t max_us);
  void flush_chunk();

  ShardState& shard_;
  EmitFn emit_;
  std::array<Sink, limits::kDatabaseCount> sinks_;
  std::string chunk_;
  bool active_ = false;
  // Orphans with serial in [orphans_next_, orphans_end_) are still to be saved. Saved at
  // the shard's pace, not at the marker: an orphan acknowledged meanwhile is in
  // PostgreSQL, so leaving it out of the image (or not) loses and duplicates nothing.
  uint64_t orphans_next_ = 0;
  uint64_t orphans_end_ = 0;
  uint64_t keys_ = 0;
  uint64_t longest_step_us_ = 0;
  uint64_t longest_step_cpu_us_ = 0;
};

// Computes a chunk's CRC into its first 4 bytes (the emitted chunks are not sealed yet).
void SealCheckpointChunk(std::string& chunk);

// One checkpoint in flight. Filled by the all-shards transaction at the marker (shards,
// created_ms, pause_us), the log writer (lsn, marker_error; then lsn_set), the checkpoint
// store's thread (the rest), and completed by the log writer after the trim.
struct CheckpointJob {
  unsigned shards = 0;  // shards that will report done
  std::string error;    // "" = success (store thread; log writer after it)
  uint64_t lsn = 0;
  std::string marker_error;  // the log could not be written at the marker
  std::atomic<bool> lsn_set{false};
  uint64_t id = 0;
  uint64_t keys = 0;
  uint64_t chunks = 0;
  uint64_t bytes = 0;
  std::vector<uint64_t> shard_keys;
  unsigned shards_done = 0;
  uint64_t pause_us = 0;         // the all-shards transaction at the marker
  uint64_t step_us_max = 0;      // longest background step of any shard (wall clock)
  uint64_t step_cpu_us_max = 0;  // longest step's CPU time (without preemption)
  int64_t created_ms = 0;        // Unix time at the marker
  int64_t started_us = 0;        // monotonic, at the marker
  uint64_t duration_us = 0;
  uint64_t write_us = 0;  // the meta transaction
  std::string functions;  // FUNCTION DUMP payload of the libraries at the marker
  // Called on the log writer thread when the checkpoint completed or failed, before done.
  std::function<void(const CheckpointJob&)> on_done;
  std::atomic<uint32_t> done{0};  // set (and notified) when it is over
};

struct CheckpointMeta {
  uint64_t lsn = 0;
  uint64_t id = 0;
  uint64_t chunks = 0;
  uint64_t keys = 0;
  int64_t created_ms = 0;
  std::vector<uint64_t> shard_keys;
  std::string functions;  // "" in a version-2 meta
};
std::string EncodeCheckpointMeta(const CheckpointMeta& meta);
// Returns "" or what is wrong.
std::string DecodeCheckpointMeta(std::string_view bytes, CheckpointMeta& meta);

using CheckpointEntryFn =
    std::function<void(int db, std::string_view key, Value value, int64_t expire_at_ms)>;
// Verifies a chunk's CRC and calls fn for each entry. Returns "" or what is wrong.
std::string DecodeCheckpointChunk(std::string_view bytes, const CheckpointEntryFn& fn);
// The key of a chunk's first entry, without checking anything ("" if there is none or it
// is cut short): the loader routes the chunk by it, DecodeCheckpointChunk then checks.
std::string_view FirstKeyOfCheckpointChunk(std::string_view bytes);

}  // namespace allot::internal
