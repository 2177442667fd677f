// pg_sync.h: the PostgreSQL sync worker (docs/postgres.md has the design and the schema).
//
// One thread. Every pg_sync_interval_ms (at once again while a backlog remains) it runs a
// round:
//   1. L = the WAL's durable LSN. Every record <= L ran before step 2 starts.
//   2. Per shard, briefly on the shard's thread (EngineImpl::run_on_shard): copy out the
//      rows of the dirty keys (tracker.h) and their items' unsynced sale events, up to a
//      batch size. After a start or FLUSHALL, every key is dirty and the names of all
//      mirrored keys are copied too, so rows of keys that no longer exist are deleted.
//   3. Wait until every record submitted before the copy is committed to the log: nothing
//      reaches PostgreSQL that a crash could take back.
//   4. ONE PostgreSQL transaction: COPY the rows into temporary tables, replace the rows
//      of the copied keys, insert the purchases with ON CONFLICT (item_id, seq) DO NOTHING,
//      and set sync_state.lsn = L (if the batch held everything dirty).
//   5. After COMMIT, per shard: drop the events <= the sent ones, clear the dirty keys
//      that did not change since the copy; the WAL's trim floor becomes L.
// A crash or a lost connection between 4 and 5 re-sends the same events later; their
// (item_id, seq) are already there and are skipped: no duplicates. Events are in the
// items (and so in checkpoints) until acknowledged: no losses.
//
// PostgreSQL down: the round fails, the worker reconnects with capped back-off; the shards
// only ever give it short copies, so selling is not slowed. Sale events accumulate up to
// pg_backlog_max; from kPgBacklogWarnPercent of it a warning is logged and INFO shows it;
// at the limit new sales (INV.BUY, HOLD, CONFIRM, CANCEL) are refused with TRYAGAIN.
#pragma once

#include <allot/config.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace allot::internal {

class EngineImpl;
struct PgShared;
struct PgBatch;
struct PgTracker;
struct AckOrphan;

struct PgSyncStatus {
  std::string state;           // "connecting", "up", "down"
  std::string last_error;      // of the last failed connect or round
  uint64_t synced_lsn = 0;     // sync_state.lsn: PostgreSQL has every record <= this
  uint64_t durable_lsn = 0;    // the WAL's
  int64_t lag_ms = 0;          // age of PostgreSQL's state when something is pending
  int64_t backlog_events = 0;  // sale events waiting for PostgreSQL
  uint64_t backlog_max = 0;
  bool backlog_warning = false;  // backlog >= kPgBacklogWarnPercent of the max
  bool refusing_sales = false;   // backlog at the max
  uint64_t transactions = 0;     // committed sync transactions
  uint64_t statements = 0;       // statements sent (COPY counts one)
  uint64_t purchases_rows = 0;   // purchase events sent (duplicates skipped by PostgreSQL)
  uint64_t rows = 0;             // inventory/holds/kv/member rows written
  uint64_t reconnects = 0;       // failed connects and dropped connections
  bool caught_up = false;        // the last round found nothing pending
};

class PgSync {
 public:
  PgSync(EngineImpl* engine, PgShared* shared, const Config& cfg);
  ~PgSync();
  PgSync(const PgSync&) = delete;
  PgSync& operator=(const PgSync&) = delete;

  void start();
  // Stops the thread (a round in progress finishes or fails first). Idempotent.
  void stop();
  PgSyncStatus status() const;

 private:
  void run();
  void wait_ms(int64_t ms);
  bool connect();
  // One round; false on a PostgreSQL error (the connection is dropped). *more: the batch
  // did not hold everything pending.
  bool round(bool* more);
  void collect(PgBatch& b);
  bool wait_durable(uint64_t submitted);
  bool write(const PgBatch& b, uint64_t lsn);
  void ack(const PgBatch& b);
  void ack_orphans(PgTracker& t, const std::vector<AckOrphan>& acks);
  void check_backlog();
  void warn(const std::string& text);
  void fail(const std::string& what);

  EngineImpl* engine_;
  PgShared* shared_;
  const Config cfg_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_

  // Worker-thread state.
  struct PGconnHolder;
  std::unique_ptr<PGconnHolder> conn_;
  uint64_t full_done_gen_ = 0;  // the PgShared::full_gen last fully synced
  int64_t last_warn_ms_ = 0;

  mutable std::mutex status_mu_;
  PgSyncStatus status_;    // guarded by status_mu_
  int64_t state_time_ms_;  // when PostgreSQL last held everything up to synced_lsn
};

}  // namespace allot::internal
