// engine_impl.h: the shard pool behind allot::Engine and allotd.
//
// Routing. A command's keys (from its CommandSpec) decide where it runs:
//   * no keys and kCmdNoShard: on the calling thread, touching no shard;
//   * all keys on one shard (or no keys): on that shard's thread. If the caller already
//     is that thread, inline, with no message at all: the fast path;
//   * keys on several shards, or kCmdAllShards: as a multi-shard transaction
//     (engine/txn/multi_shard.h), atomic over every shard involved.
//
// Completion. execute() reports the reply through a ReplySink exactly once: on the thread
// that ran the command (inline on the caller for the fast path and for kCmdNoShard), or,
// for a write logged by the WAL in `durability always`, on the WAL's writer thread once
// its record is durable (engine/wal/wal.h). The caller keeps the sink, the session and
// the argument bytes alive until then.
#pragma once

#include <allot/config.h>
#include <allot/engine.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/commands/command.h"
#include "engine/runtime/reactor.h"
#include "engine/wal/checkpoint_load.h"
#include "engine/wal/wal.h"

namespace allot::internal {

struct TxnJob;
class PgSync;
struct PgShared;

struct ReplySink {
  virtual ~ReplySink() = default;
  virtual void deliver(Reply reply) = 0;
};

class EngineImpl {
 public:
  explicit EngineImpl(const Config& cfg);
  ~EngineImpl();

  unsigned shard_count() const { return static_cast<unsigned>(shards_.size()); }
  unsigned shard_of_key(std::string_view key) const;
  ShardState& shard(unsigned i) { return *shards_[i]; }
  Reactor& reactor(unsigned i) { return *reactors_[i]; }
  int64_t now_ms() const;
  const Config& config() const { return cfg_; }

  // Runs args (args[0] = command name) for session; see the file comment.
  void execute(Session& session, Args args, ReplySink* sink);
  // Where a known command of the right arity runs: its one shard (>= 0), kRouteNone (no
  // keys: the calling shard, or no shard at all) or kRouteSeveral (keys on several shards,
  // or every shard). Hashes each key once and allocates nothing for fixed key positions.
  static constexpr int kRouteNone = -1;
  static constexpr int kRouteSeveral = -2;
  int route_of(const CommandSpec& spec, Args args) const;
  // execute() for a caller that has looked up spec (known, arity checked) and its route
  // already (the server's per-request path: one lookup and one hash per request).
  void execute_routed(Session& session, const CommandSpec& spec, Args args, int route,
                      ReplySink* sink);

  // Runs queued (each a command's argv) as one transaction, MULTI/EXEC (engine/txn/
  // transaction.cc): holding every shard of every command and of the session's WATCHed
  // keys, atomically; the reply is an array of the commands' replies, a null array if a
  // watched key changed, or EXECABORT if a command is unknown or has a wrong arity.
  // Completion as execute(); the queue is owned by the transaction.
  void execute_transaction(Session& session, std::vector<std::vector<std::string>> queued,
                           ReplySink* sink);

  // Runs fn on shard i's thread (inline if the caller is that thread). For tests,
  // benchmarks and the server's per-shard set-up.
  void run_on_shard(unsigned i, std::function<void(ShardState&)> fn);

  // Executes an already-routed single-shard command on the current shard thread and
  // completes sink (see Completion above).
  void run_local(const CommandSpec& spec, Session& session, Args args, ShardState& shard,
                 ReplySink* sink);
  // The one shard a known, well-formed, keyed command runs on, or -1 when it needs the
  // general path (unknown, bad arity, keyless, or several shards).
  int single_shard_route(Args args) const;
  // Runs args on `shard`, which must be the calling shard thread and single_shard_route(),
  // and completes sink (see Completion above: a logged write completes later).
  void execute_here(Session& session, Args args, ShardState& shard, ReplySink* sink);
  // The same, returning the reply, for callers that cannot wait (benchmarks, tests on a
  // shard thread). Crashes if the reply is deferred: a logged write in `durability
  // always`, whose reply exists only once its record is durable.
  Reply execute_here(Session& session, Args args, ShardState& shard);
  // Posts fn to shard i without waiting.
  void run_on_shard_async(unsigned i, std::function<void(ShardState&)> fn);

  // PostgreSQL sync: whether it is on, and marking the database-0 keys a successful write
  // touched (also called for the inner writes of scripts and transactions, txn/nested.cc).
  bool pg_enabled() const { return pg_shared_ != nullptr; }
  void pg_track(const CommandSpec& spec, Args args, CmdCtx& ctx, int db, const Reply& reply);

  // Stops every shard after the work already posted; idempotent.
  void shutdown();

  bool active_expire_enabled() const { return active_expire_.load(std::memory_order_relaxed); }
  void set_active_expire(bool on) { active_expire_.store(on, std::memory_order_relaxed); }

  // Multi-shard transactions are posted to their shards under this mutex, so that every
  // shard sees them in the same order (the deadlock-freedom argument in multi_shard.h).
  std::mutex& multi_shard_enqueue_mutex() { return multi_mu_; }

  // The write-ahead log, or nullptr when memory only (no dir, or durability none).
  Wal* wal() { return wal_.get(); }

  // Takes a checkpoint of every shard and trims the log before it (engine/wal/
  // checkpoint.h); waits for it (and first for one already in flight). Returns "" or why
  // it failed. Application threads only (it waits for the shards and for the log writer).
  std::string checkpoint();
  // Starts a checkpoint without waiting; on_done (may be empty) runs on the log writer
  // thread with "" or the error once it is over. Returns false, and starts nothing, if
  // one is already in flight or there is no WAL. Any thread.
  bool begin_checkpoint(std::function<void(const std::string& error)> on_done);
  bool checkpoint_in_progress() const { return checkpoint_running_.load(); }
  // BGSAVE SCHEDULE: start one as soon as the one in flight is over.
  void schedule_checkpoint() { checkpoint_scheduled_.store(true); }
  bool last_checkpoint_ok() const { return last_checkpoint_ok_.load(); }
  // LASTSAVE: Unix seconds of the last completed checkpoint (also one found at start), or
  // of the engine's start when there is none (as Redis before its first save).
  int64_t last_save_unix_s() const;

  // PostgreSQL sync (engine/pgsync/pg_sync.h), or nullptr when cfg.pg_url is empty.
  PgSync* pg_sync() { return pg_sync_.get(); }

 private:
  // Completes a command that ran: through the WAL if it is a logged write, else at once.
  // The record is args, or log_as when the handler set it (CmdCtx::log_as); db, now and
  // rng_before are the inputs the handler saw (the record's determinism).
  void finish(const CommandSpec& spec, Args args, const std::vector<std::string>& log_as, int db,
              int64_t now, uint64_t rng_before, Reply reply, ReplySink* sink);
  // The shards a routed command holds, ascending (what execute() computes live).
  std::vector<unsigned> shards_of_command(const CommandSpec& spec, Args args) const;
  // Re-executes one logged command at start, with every shard held by the calling thread.
  void replay(const WalRecordView& record);
  // Replays an effect group (a script's or transaction's writes, txn/nested.h).
  void replay_effects(const WalRecordView& record,
                      const std::function<void(const std::string&)>& fail);
  // Puts one key of a checkpoint into its shard at start.
  // Recovery: loads a checkpoint's chunks into the shards, one thread per shard (up to the
  // cores); load_checkpoint_entry inserts one entry into its shard (that shard's thread).
  std::string load_checkpoint(std::span<const std::string_view> chunks,
                              std::span<const uint64_t> shard_keys, uint64_t* keys);
  std::string load_checkpoint_entry(unsigned shard, LoadedEntry&& entry);
  // Posts the all-shards transaction that marks the checkpoint's start (job's LSN) and
  // starts every shard's background save. checkpoint_running_ must be set by the caller.
  void start_checkpoint(std::shared_ptr<CheckpointJob> job);
  // A background step of shard_id's checkpoint, if one runs; returns whether it wants
  // another step at once.
  bool checkpoint_tick(unsigned shard_id);
  int64_t tick(unsigned shard_id);
  void execute_multi(const CommandSpec& spec, Session& session, Args args,
                     std::vector<unsigned> shards, ReplySink* sink);
  // The body of execute_transaction, with its shards held (txn/transaction.cc).
  void run_transaction(TxnJob& job, std::span<ShardState* const> held);

  Config cfg_;
  std::vector<std::unique_ptr<ShardState>> shards_;
  std::vector<std::unique_ptr<Reactor>> reactors_;
  std::vector<std::thread> threads_;
  std::vector<uint16_t> slot_to_shard_;
  std::atomic<bool> active_expire_{true};
  std::atomic<bool> stopped_{false};
  std::mutex multi_mu_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<PgShared> pg_shared_;
  std::unique_ptr<PgSync> pg_sync_;
  std::vector<std::unique_ptr<ShardCheckpoint>> shard_checkpoints_;  // one per shard
  std::atomic<bool> checkpoint_running_{false};
  std::atomic<bool> checkpoint_scheduled_{false};
  std::atomic<bool> last_checkpoint_ok_{true};
  int64_t start_unix_s_ = 0;
};

}  // namespace allot::internal
