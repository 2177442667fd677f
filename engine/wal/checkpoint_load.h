// checkpoint_load.h: loading a checkpoint image into the shards at start, in parallel.
//
// The image's chunks each hold the entries of one shard as it was when the checkpoint was
// taken, but the shard count may have changed since, so every entry is routed by its key.
// Loading runs in batches of chunks, each in two phases with a barrier between them:
//   A. decode: every worker takes chunks of the batch (an atomic index), checks each CRC,
//      builds the values (the allocations happen here, in parallel) and sorts the entries
//      into one outbox per destination shard;
//   B. insert: worker w owns shards w, w + workers, ...: it alone inserts their entries
//      from every worker's outbox, so no shard is touched by two threads.
// Before the first insert, each (shard, database) reserves room for its share of the
// image's key count, estimated from the first batch, so the tables do not rehash while
// they grow to millions of keys.
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
  int db = 0;
};

struct CheckpointLoader {
  unsigned shards = 1;
  unsigned workers = 1;  // threads (the calling thread is one of them)
  // Destination shard of a key (any thread).
  std::function<unsigned(std::string_view key)> route;
  // Room for n keys in (shard, db): called by the worker owning shard.
  std::function<void(unsigned shard, int db, size_t n)> reserve;
  // Inserts an entry into shard; called only by the worker owning shard. Returns "" or
  // what is wrong (a duplicate key).
  std::function<std::string(unsigned shard, LoadedEntry&& entry)> insert;
};

// Loads chunks (each: CRC + entries, checkpoint.h); expected_keys sizes the tables.
// Returns "" and sets *keys, or "chunk <i>: <what is wrong>".
std::string LoadCheckpointChunks(std::span<const std::string_view> chunks, uint64_t expected_keys,
                                 const CheckpointLoader& loader, uint64_t* keys);

}  // namespace allot::internal
