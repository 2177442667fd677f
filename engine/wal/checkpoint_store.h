// checkpoint_store.h: where checkpoints live: their own LMDB environment (<dir>/checkpoint)
// with its own writer thread, so that writing an image of gigabytes never holds up the
// log's group commits (LMDB has one writer per environment).
//
// A checkpoint's chunks arrive from the shards (checkpoint.h) while they save entries;
// this thread writes them in batches under the checkpoint's id. When every shard is done,
// and the log writer has told the LSN of the checkpoint's marker, it writes the meta and
// deletes every chunk of an older id in ONE transaction, synced. Only then is the log
// trimmed (by the log writer, wal.h): after a crash in between, recovery loads the new
// checkpoint and skips the log records at or before its LSN.
//
// Commits here use MDB_NOMETASYNC (one fsync per batch: the data; the meta page goes
// with the next sync); the final meta commit is followed by a full sync.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/wal/checkpoint.h"

struct MDB_env;

namespace allot::internal {

struct CheckpointJob;

// Loads a checkpoint's chunks (views into the store, valid during the call; the loader
// checks each chunk's CRC): returns "" and sets *keys, or "chunk <i>: what is wrong".
// shard_keys (the meta's per-shard counts) sizes its tables. checkpoint_load.h does it.
using CheckpointChunksFn =
    std::function<std::string(std::span<const std::string_view> chunks,
                              std::span<const uint64_t> shard_keys, uint64_t* keys)>;

class CheckpointStore {
 public:
  // Opens (creating) the environment under dir. Throws std::runtime_error.
  CheckpointStore(const std::string& dir, uint64_t map_bytes_initial, uint64_t map_bytes_max);
  ~CheckpointStore();
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  // At start, before start(): loads the last complete checkpoint (meta.lsn = 0 if none),
  // handing its chunks to fn. Throws std::runtime_error naming the damage.
  CheckpointMeta load(const CheckpointChunksFn& fn);

  // written(job) runs on this thread once job's image and meta are durable, or it failed
  // (job->error set).
  void start(std::function<void(std::shared_ptr<CheckpointJob>)> written);
  // Fails the checkpoint in flight (its shards stopped) and stops the thread.
  void stop();

  // From the all-shards transaction at the marker, before any shard saves an entry.
  void begin(std::shared_ptr<CheckpointJob> job);
  // From a shard (or a transaction holding it): a sealed chunk. Never blocks.
  void chunk(std::string bytes);
  void shard_done(unsigned shard, uint64_t keys, uint64_t step_us, uint64_t step_cpu_us);
  // Chunk bytes queued and not written yet (the shards' back-pressure).
  size_t backlog_bytes() const { return backlog_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return dir_; }

 private:
  struct Item {
    enum Kind { kBegin, kChunk, kDone } kind;
    std::shared_ptr<CheckpointJob> job;
    std::string bytes;
    unsigned shard = 0;
    uint64_t keys = 0, step_us = 0, step_cpu_us = 0;
  };
  void push(Item item);
  void run();
  void write_chunks(std::vector<std::string>& chunks);
  void finish();
  int write_meta(CheckpointJob& job);
  int with_growth(const std::function<int()>& txn_fn);
  [[noreturn]] void damaged(const std::string& what) const;

  const std::string dir_;
  const uint64_t map_bytes_max_;
  uint64_t map_bytes_;
  MDB_env* env_ = nullptr;
  unsigned dbi_ = 0;
  uint64_t next_id_ = 1;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;
  std::function<void(std::shared_ptr<CheckpointJob>)> written_;
  std::shared_ptr<CheckpointJob> job_;  // this thread's
  std::atomic<size_t> backlog_{0};
};

}  // namespace allot::internal
