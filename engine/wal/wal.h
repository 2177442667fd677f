// wal.h: the write-ahead log: one writer thread, group commit into LMDB, recovery.
//
// Flow of a logged write (engine/engine_impl.cc decides what is logged):
//   1. A shard thread runs the handler, encodes a record (record.h) with the inputs that
//      make re-execution deterministic, and submit()s it with the reply and the sink that
//      waits for the reply. The shard does not wait: it goes on with its next task.
//   2. The writer thread pops everything queued (up to kWalGroupRecordsMax), gives the
//      records consecutive LSNs, puts them into ONE LMDB write transaction (MDB_APPEND,
//      key = big-endian LSN) and commits. The environment is opened with MDB_NOMETASYNC:
//      a commit writes the data pages, fdatasyncs, then writes the meta page WITHOUT a
//      sync. Group N is durable once a later fdatasync covers its meta page: the data
//      sync of the next group's commit when one is waiting (one sync per group under
//      load, instead of LMDB's two flushes), else an explicit mdb_env_sync.
//   3. The writer then publishes the durable LSN and completes each record's sink with
//      its reply (`always`). In `everysec` the reply was completed at submit() and the
//      writer syncs at least once a second instead (MDB_NOSYNC + mdb_env_sync).
//
// Order. The queue is a lock-free MPSC queue, FIFO per producer, and linearizable, so a
// record is always behind every record pushed before it by any thread that it could have
// depended on: a key's writes come from its shard thread in execution order, and a
// multi-shard command's record is pushed by the last shard to arrive, after each of its
// shards pushed everything it ran before parking. LSN order is therefore a valid serial
// order of the execution, which replay follows.
//
// Failure. If a group cannot be written (disk full, map at wal_map_bytes_max, I/O error),
// its writes are answered with Redis's MISCONF error, the records stay queued in memory in
// order ("stuck") and are retried every kWalRetryIntervalMs; meanwhile refusing_writes()
// is true and the engine refuses new writes with the same error, reads go on. The stuck
// records must reach the log before any later one, because they have already changed the
// memory state that later commands saw.
//
// Threading: submit(), refusing_writes(), misconf_reply() and stats() from any thread;
// recover() before start(), on one thread; stop() once, after every producer has stopped.
#pragma once

#include <allot/config.h>
#include <allot/reply.h>

#include <array>
#include <atomic>
#include <boost/lockfree/queue.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/wal/checkpoint.h"
#include "engine/wal/checkpoint_store.h"
#include "engine/wal/record.h"

struct MDB_env;
struct MDB_txn;

namespace allot::internal {

struct ReplySink;

struct WalStats {
  uint64_t records = 0;            // records committed since start
  uint64_t groups = 0;             // LMDB write transactions committed
  uint64_t syncs = 0;              // device flushes: 2 per commit (always) or 1 + explicit ones
  uint64_t explicit_syncs = 0;     // mdb_env_sync calls (pipelined meta: no next commit for it)
  uint64_t group_records_max = 0;  // largest group
  uint64_t commit_us_last = 0;     // latency of the last commit (+ sync in always)
  uint64_t commit_us_total = 0;    // sum over groups; average = commit_us_total / groups
  uint64_t commit_us_max = 0;      // slowest commit since start
  // Commits by latency: <= 100 us, <= 1 ms, <= 10 ms, <= 100 ms, more.
  std::array<uint64_t, 5> commit_us_histogram{};
  uint64_t durable_lsn = 0;        // every record <= this is on disk (or committed, everysec)
  uint64_t write_errors = 0;       // failed commits
  uint64_t map_bytes = 0;          // current LMDB map size
  uint64_t recovered_records = 0;  // replayed at start
  uint64_t recovery_us = 0;        // time of recover(), checkpoint load and replay
  bool refusing_writes = false;
  uint64_t checkpoints = 0;          // completed since start
  uint64_t checkpoint_failures = 0;  // failed since start (nothing trimmed)
  bool checkpoint_in_progress = false;
  uint64_t checkpoint_lsn = 0;  // LSN of the last checkpoint (0 = none)
  uint64_t checkpoint_id = 0;
  uint64_t checkpoint_keys = 0;              // keys in it
  int64_t checkpoint_unix_ms = 0;            // when it began (its marker); 0 = none
  uint64_t checkpoint_pause_us_last = 0;     // the all-shards transaction at its marker
  uint64_t checkpoint_step_us_last = 0;      // its longest background step on any shard
  uint64_t checkpoint_step_cpu_us_last = 0;  // the same step's CPU time (no preemption)
  uint64_t checkpoint_step_us_max = 0;       // the longest over every checkpoint since start
  uint64_t checkpoint_duration_us_last = 0;  // marker to completion
  uint64_t checkpoint_write_us_last = 0;     // its final LMDB transaction, trim included
  uint64_t checkpoint_chunks_last = 0;
  uint64_t checkpoint_bytes_last = 0;
  uint64_t log_records = 0;    // records in the log now
  uint64_t log_bytes = 0;      // their bytes (LMDB values)
  uint64_t log_first_lsn = 0;  // oldest record kept (0 = log empty)
};

class Wal {
 public:
  using ApplyFn = std::function<void(const WalRecordView&)>;
  // Starts a checkpoint (EngineImpl::start_checkpoint); called by the writer thread.
  using TriggerFn = std::function<void()>;

  // Opens (creating dir and the LMDB environment if needed). Throws std::runtime_error.
  Wal(std::string dir, Durability durability, uint64_t map_bytes_max);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Loads the checkpoint if there is one (load gets its chunks), then reads every
  // record after it in LSN order, verifies it (checksums, consecutive LSNs starting right
  // after the checkpoint) and calls apply. Throws std::runtime_error naming the LSN (or
  // the checkpoint chunk) and the problem, or rethrows what load or apply throws.
  // load_functions (if set) receives the checkpoint's function libraries ("" = none)
  // after its keys and before the first record.
  void recover(const CheckpointChunksFn& load, const ApplyFn& apply,
               const std::function<void(std::string_view)>& load_functions = nullptr);
  // A checkpoint is started through trigger once log_records records were written since
  // the last one was started, or interval_s seconds passed since then and anything was
  // written (0 = that trigger off). Set before start().
  void set_checkpoint_trigger(uint64_t log_records, uint64_t interval_s, TriggerFn trigger);
  // Starts the writer thread.
  void start();
  // Writes what is queued, syncs, stops the writer. Producers must have stopped.
  void stop();

  // A shard thread hands a sealed-to-be record; sink receives reply once the record is
  // durable (always) or now (everysec). Never blocks.
  void submit(std::string record, Reply reply, ReplySink* sink);

  // Incremental checkpoint (checkpoint.h). The marker, from the all-shards transaction:
  // hands job to the checkpoint store and puts a marker into the log queue; the writer
  // stamps job with the LSN of everything queued before it. The shards then send their
  // chunks to checkpoints(); once the store has written the image, the writer trims the
  // log and completes job.
  void submit_checkpoint_begin(std::shared_ptr<CheckpointJob> job);
  CheckpointStore& checkpoints() { return *store_; }

  bool refusing_writes() const { return refusing_.load(std::memory_order_acquire); }
  // "MISCONF Errors writing to the WAL (LMDB: <last error>). Commands that ..."
  Reply misconf_reply() const;
  WalStats stats() const;
  const std::string& dir() const { return dir_; }
  bool sync_replies() const { return durability_ == Durability::kAlways; }

  // PostgreSQL sync (engine/pgsync/pg_sync.h). Records handed to submit() since start:
  // once stats().records reaches a value read here, all of them are committed.
  uint64_t submitted() const { return submitted_.load(std::memory_order_acquire); }
  // Checkpoints do not trim the log past this LSN (the position PostgreSQL confirmed).
  // Default: no floor. The checkpoint itself is taken and used as usual.
  void set_trim_floor(uint64_t lsn) { trim_floor_.store(lsn, std::memory_order_release); }

  // Raises or lowers the map ceiling (tests simulate a full disk with a small one).
  void set_map_bytes_max(uint64_t bytes) { map_bytes_max_.store(bytes); }

 private:
  enum class Kind : uint8_t { kRecord, kCheckpointBegin, kCheckpointWritten };
  struct Pending {
    std::string bytes;
    Reply reply;
    ReplySink* sink = nullptr;  // nullptr once completed
    Kind kind = Kind::kRecord;
    std::shared_ptr<CheckpointJob> checkpoint;  // the checkpoint kinds
  };

  void open_env();
  void close_env();
  void writer_loop();
  void wake_writer();
  void sleep_writer(uint32_t seen, int64_t timeout_ms);
  void sleep_writer_us(uint32_t seen, int64_t timeout_us);
  void handle_group(std::vector<Pending*>& group);
  // always: the committed groups whose meta page a sync has now covered get their replies.
  void ack_unacked();
  // always: an explicit sync for the last committed group (no next commit to carry it).
  bool sync_unacked();
  void retry_stuck();
  void fail_group(std::vector<Pending*>& group, int rc);
  int commit(std::span<Pending* const> records);
  int write_txn(std::span<Pending* const> records);
  // Keeps zeros written past LMDB's last page (commits overwrite, never extend).
  void keep_file_ahead();
  void note_commit(uint64_t us);
  bool grow_map();
  void maybe_sync(bool force);
  void maybe_trigger_checkpoint();
  void handle_control(Pending& p);
  void finish_checkpoint(CheckpointJob& job);
  // How far the log may be trimmed once a checkpoint at checkpoint_lsn is complete: the
  // one place that decides it (a consumer of the log that is behind may lower it).
  uint64_t trim_target(uint64_t checkpoint_lsn) const;
  int trim_log(MDB_txn* txn, uint64_t upto);

  [[noreturn]] void throw_damaged(uint64_t lsn, const std::string& what) const;

  const std::string dir_;
  const Durability durability_;
  // always: true (default): MDB_NOMETASYNC, one fdatasync per commit, a group is
  // acknowledged once a later sync covered its meta page (step 2). false
  // (ALLOT_WAL_PIPELINE_META=0 in the environment, for same-run comparisons): LMDB's own
  // commit, data pages fdatasynced then the meta page written O_DSYNC, acknowledged when
  // the commit returns. docs/durability.md has the measurements of both.
  const bool pipeline_meta_;
  // keep_file_ahead() on (default); ALLOT_WAL_FILE_AHEAD=0 turns it off for A/B runs.
  const bool file_ahead_;
  std::atomic<uint64_t> map_bytes_max_;
  MDB_env* env_ = nullptr;
  unsigned dbi_ = 0;
  uint64_t map_bytes_ = 0;
  uint64_t next_lsn_ = 1;  // writer thread (recover() before it starts)
  uint64_t file_end_ = 0;  // writer thread: data.mdb's size as keep_file_ahead() left it

  boost::lockfree::queue<Pending*> queue_;
  std::atomic<uint32_t> wake_seq_{0};
  std::atomic<bool> writer_sleeping_{false};
  std::atomic<bool> stopping_{false};
  std::thread writer_;

  // Writer-thread state.
  std::vector<Pending*> stuck_;
  // pipeline_meta_: committed, data synced, meta page not synced yet (step 2); their
  // replies wait. Every record <= unacked_lsn_ is durable once a sync succeeds.
  std::vector<Pending*> unacked_;
  uint64_t unacked_lsn_ = 0;
  bool sync_failing_ = false;  // an explicit sync failed: writes refused until one succeeds
  int64_t last_retry_ms_ = 0;
  int64_t last_sync_ms_ = 0;
  bool unsynced_ = false;
  uint64_t checkpoint_log_records_ = 0;
  int64_t checkpoint_interval_ms_ = 0;
  TriggerFn checkpoint_trigger_;
  uint64_t checkpoint_attempt_lsn_ = 0;  // log position when the last checkpoint was started
  int64_t checkpoint_attempt_ms_ = 0;    // monotonic time of that start
  std::unique_ptr<CheckpointStore> store_;
  uint64_t trimmed_lsn_ = 0;  // every record <= this is gone from the log

  std::atomic<bool> refusing_{false};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_

  std::atomic<uint64_t> records_{0}, groups_{0}, syncs_{0}, explicit_syncs_{0},
      group_records_max_{0};
  std::atomic<uint64_t> commit_us_last_{0}, commit_us_total_{0}, commit_us_max_{0}, durable_lsn_{0};
  std::array<std::atomic<uint64_t>, 5> commit_hist_{};
  std::atomic<uint64_t> log_bytes_{0}, log_first_lsn_{0};
  std::atomic<bool> ckpt_in_progress_{false};
  std::atomic<uint64_t> write_errors_{0}, map_bytes_stat_{0};
  uint64_t recovered_records_ = 0, recovery_us_ = 0;
  std::atomic<uint64_t> checkpoint_failures_{0};
  std::atomic<uint64_t> checkpoints_{0}, checkpoint_lsn_{0}, checkpoint_keys_{0}, checkpoint_id_{0};
  std::atomic<int64_t> checkpoint_unix_ms_{0};
  std::atomic<uint64_t> checkpoint_pause_us_{0}, checkpoint_write_us_{0};
  std::atomic<uint64_t> submitted_{0};
  std::atomic<uint64_t> trim_floor_{UINT64_MAX};
  std::atomic<uint64_t> checkpoint_step_us_{0}, checkpoint_step_us_max_{0},
      checkpoint_step_cpu_us_{0};
  std::atomic<uint64_t> checkpoint_duration_us_{0}, checkpoint_chunks_{0}, checkpoint_bytes_{0};
};

}  // namespace allot::internal
