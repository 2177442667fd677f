// checkpoint_load.h: loading a checkpoint image into the shards at start, in parallel.
//
// The image's chunks each hold the entries of one shard as it was when the checkpoint was
// taken. With the same shard count now (the usual restart), each chunk goes whole to the
// shard of its first key: worker w decodes only the chunks of the shards it owns
// (w, w + workers, ...) and inserts while decoding, with no hand-over between threads
// (every key is still routed and checked). If the shard count changed, every entry is
// routed by its key, in batches of chunks, each in two phases with a barrier between them:
//   A. decode: every worker takes chunks of the batch (an atomic index), checks each CRC,
//      builds the values (the allocations happen here, in parallel) and sorts the entries
//      into one outbox per destination shard;
//   B. insert: worker w owns shards w, w + workers, ...: it alone inserts their entries
//      from every worker's outbox, so no shard is touched by two threads.
// Tables are sized before the first insert (the meta has each shard's key count; with
// the shard count changed, each (shard, database) gets its share estimated from the first
// batch), so they do not rehash while they grow to millions of keys.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "engine/keyspace/value.h"

namespace allot::internal {

struct LoadedEntry {
  std::string key;
  Value value;
  int64_t expire_at_ms = 0;
  int db = 0;  // or kCheckpointOrphansDb (checkpoint.h): orphaned sale events, not a key
};

struct CheckpointLoader {
  unsigned shards = 1;
  unsigned workers = 1;  // threads started for the load (the caller waits)
  // Destination shard of a key (any thread).
  std::function<unsigned(std::string_view key)> route;
  // Room for n keys in (shard, db): called by the worker owning shard.
  std::function<void(unsigned shard, int db, size_t n)> reserve;
  // Inserts an entry into shard; called only by the worker owning shard. Returns "" or
  // what is wrong (a duplicate key).
  std::function<std::string(unsigned shard, LoadedEntry&& entry)> insert;
};

// Loads chunks (each: CRC + entries, checkpoint.h); shard_keys = the keys of each shard
// when the image was taken (CheckpointMeta). Returns "" and sets *keys, or
// "chunk <i>: <what is wrong>".
std::string LoadCheckpointChunks(std::span<const std::string_view> chunks,
                                 std::span<const uint64_t> shard_keys,
                                 const CheckpointLoader& loader, uint64_t* keys);

}  // namespace allot::internal
