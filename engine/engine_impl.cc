#include "engine/engine_impl.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "engine/keyspace/inventory.h"
#include "engine/keyspace/slot.h"
#include "engine/pgsync/pg_sync.h"
#include "engine/pgsync/tracker.h"
#include "engine/runtime/clock.h"
#include "engine/scripting/function_store.h"
#include "engine/scripting/lua_runtime.h"
#include "engine/scripting/registry.h"
#include "engine/txn/multi_shard.h"
#include "engine/txn/nested.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

class ExecTask final : public Task {
 public:
  ExecTask(EngineImpl* engine, const CommandSpec* spec, Session* session, Args args,
           ReplySink* sink)
      : engine_(engine), spec_(spec), session_(session), args_(args), sink_(sink) {}
  void run(Reactor& reactor) override {
    engine_->run_local(*spec_, *session_, args_, engine_->shard(reactor.id()), sink_);
    delete this;
  }

 private:
  EngineImpl* engine_;
  const CommandSpec* spec_;
  Session* session_;
  Args args_;
  ReplySink* sink_;
};

class FnTask final : public Task {
 public:
  FnTask(EngineImpl* engine, std::function<void(ShardState&)> fn)
      : engine_(engine), fn_(std::move(fn)) {}
  void run(Reactor& reactor) override {
    fn_(engine_->shard(reactor.id()));
    delete this;
  }

 private:
  EngineImpl* engine_;
  std::function<void(ShardState&)> fn_;
};

}  // namespace

Reply UnknownCommandReply(Args args) {
  std::string text = "ERR unknown command '";
  text.append(args[0].substr(0, 128));
  text.append("', with args beginning with: ");
  size_t listed = 0;
  for (size_t i = 1; i < args.size() && listed < 128; ++i) {
    std::string one = "'";
    one.append(args[i].substr(0, 128 - listed));
    one.append("' ");
    listed += one.size();
    text.append(one);
  }
  // Redis replaces newlines so the error stays one protocol line.
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return Reply::Error(text);
}

bool ArityOk(const CommandSpec& spec, size_t argc) {
  if (spec.arity >= 0) return argc == static_cast<size_t>(spec.arity);
  return argc >= static_cast<size_t>(-spec.arity);
}

void KeyIndexes(const CommandSpec& spec, Args args, std::vector<size_t>& out) {
  if (spec.keys_fn != nullptr) {
    spec.keys_fn(args, out);
    return;
  }
  if (spec.first_key <= 0) return;
  int argc = static_cast<int>(args.size());
  int last = spec.last_key >= 0 ? spec.last_key : argc + spec.last_key;
  int step = spec.key_step > 0 ? spec.key_step : 1;
  for (int i = spec.first_key; i <= last && i < argc; i += step)
    out.push_back(static_cast<size_t>(i));
}

Db& CmdCtx::db(std::string_view key) { return db_of(&shard_of(key)); }

ShardState& CmdCtx::shard_of(std::string_view key) {
  // The key the command was routed by is on the held shard by construction: skip hashing
  // it again on the hot path (debug builds still verify).
  if (routed_key != nullptr && key.data() == routed_key && shards.size() == 1) {
    ALLOT_DCHECK(engine->shard_of_key(key) == shards[0]->id);
    return *shards[0];
  }
  // One shard in the process: every key is its own (nested commands of a script or EXEC
  // have no routed key, and would hash each key for nothing).
  if (shards.size() == 1 && engine->shard_count() == 1) return *shards[0];
  unsigned id = engine->shard_of_key(key);
  for (ShardState* s : shards) {
    if (s->id == id) return *s;
  }
  // A handler touched a key whose shard it does not hold: a routing bug (an undeclared
  // key). Continuing would race with the owning thread.
  ALLOT_CHECK(false && "key outside the command's shards");
  return *shards[0];
}

EngineImpl::EngineImpl(const Config& cfg) : cfg_(cfg) {
  start_unix_s_ = RealClockMs() / 1000;
  unsigned n = cfg.threads;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  ALLOT_CHECK(n <= limits::kShardsMax);
  active_expire_.store(cfg.active_expire);
  slot_to_shard_.resize(limits::kSlotCount);
  for (unsigned s = 0; s < limits::kSlotCount; ++s) {
    slot_to_shard_[s] = static_cast<uint16_t>(s % n);
  }
  for (unsigned i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<ShardState>(i));
    reactors_.push_back(
        std::make_unique<Reactor>(i, cfg.active_expire_interval_ms, [this, i] { return tick(i); }));
    shards_[i]->reactor = reactors_[i].get();
  }
  if (!cfg.pg_url.empty()) {
    if (cfg.dir.empty() || cfg.durability == Durability::kNone) {
      throw std::runtime_error(
          "allot: PostgreSQL sync (pg-url) needs the write-ahead log: set dir and a "
          "durability other than none");
    }
    // Before recovery: replayed sales go into the items' ledgers as they did live.
    pg_shared_ = std::make_unique<PgShared>();
    pg_shared_->patterns = cfg.pg_sync_keys;
    pg_shared_->backlog_max = cfg.pg_backlog_max;
    for (auto& sh : shards_) {
      sh->pg = std::make_unique<PgTracker>(pg_shared_.get());
      sh->dbs[0].set_drop_hook(&PgItemDropped, sh->pg.get());  // unsent sales outlive the item
    }
  }
  if (!cfg.dir.empty() && cfg.durability != Durability::kNone) {
    // Recovery runs here, before any shard thread exists: this thread owns every shard.
    wal_ = std::make_unique<Wal>(cfg.dir, cfg.durability, cfg.wal_map_bytes_max);
    // Function libraries are process-wide: this store's are the ones (function_store.h).
    ScriptRegistry::Get().flush_libraries();
    wal_->recover(
        [this](std::span<const std::string_view> chunks, std::span<const uint64_t> shard_keys,
               uint64_t* keys) { return load_checkpoint(chunks, shard_keys, keys); },
        [this](const WalRecordView& r) { replay(r); },
        [this](std::string_view functions) {
          std::string err = LoadCheckpointFunctions(functions);
          if (!err.empty()) {
            throw std::runtime_error("allot: the checkpoint in " + cfg_.dir +
                                     " has function libraries that do not load (" + err +
                                     "); refusing to start");
          }
        });
    for (auto& s : shards_) shard_checkpoints_.push_back(std::make_unique<ShardCheckpoint>(*s));
    // The writer starts checkpoints itself when the log grows or time passes; nobody
    // waits for those (and none starts while another is in flight).
    wal_->set_checkpoint_trigger(cfg.checkpoint_log_records, cfg.checkpoint_interval_s,
                                 [this] { begin_checkpoint(nullptr); });
    // Nothing is trimmed until PostgreSQL has confirmed a position (pg_sync.h).
    if (pg_shared_ != nullptr) wal_->set_trim_floor(0);
    wal_->start();
  }
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    threads_.emplace_back([this, i] { reactors_[i]->run(); });
    if (cfg.pin_threads) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(i % cores, &set);
      pthread_setaffinity_np(threads_.back().native_handle(), sizeof set, &set);
    }
    std::string name = "allot-shard-" + std::to_string(i);
    pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
  }
  if (pg_shared_ != nullptr) {
    pg_sync_ = std::make_unique<PgSync>(this, pg_shared_.get(), cfg);
    pg_sync_->start();
  }
}

EngineImpl::~EngineImpl() { shutdown(); }

void EngineImpl::shutdown() {
  {
    // Under the enqueue mutex: a checkpoint the log writer starts is either fully posted
    // before the shards are told to stop (they drain it first) or not posted at all; a
    // half-posted one would park the shards that got it forever.
    std::lock_guard<std::mutex> lock(multi_mu_);
    if (stopped_.exchange(true)) return;
  }
  // First: the worker copies state out of running shards.
  if (pg_sync_ != nullptr) pg_sync_->stop();
  for (auto& r : reactors_) r->stop();
  for (auto& t : threads_) t.join();
  // After the shards: nothing submits any more, and the writer completes the last sinks.
  if (wal_ != nullptr) wal_->stop();
}

unsigned EngineImpl::shard_of_key(std::string_view key) const {
  if (shards_.size() == 1) return 0;  // one shard owns every slot: no need to hash
  return slot_to_shard_[KeySlot(key)];
}

int64_t EngineImpl::now_ms() const { return cfg_.clock_ms ? cfg_.clock_ms() : RealClockMs(); }

int64_t EngineImpl::tick(unsigned shard_id) {
  int64_t wait_ms = cfg_.active_expire_interval_ms;
  // While a checkpoint is saved, the shard steps as often as its other work allows (0 =
  // poll: the reactor serves its sockets and inbox between steps).
  if (wal_ != nullptr && checkpoint_tick(shard_id)) wait_ms = 0;
  if (!active_expire_enabled()) return wait_ms;
  ShardState& shard = *shards_[shard_id];
  int64_t now = now_ms();
  for (Db& db : shard.dbs) {
    if (db.expires_size() > 0) db.sweep(now, limits::kExpireKeysPerSweepMax);
  }
  int64_t next_hold_ms = ExpireDueHolds(shard, now, limits::kExpireHoldsPerSweepMax);
  if (next_hold_ms >= 0 && next_hold_ms < wait_ms) wait_ms = next_hold_ms;
  return wait_ms;
}

void EngineImpl::run_local(const CommandSpec& spec, Session& session, Args args, ShardState& shard,
                           ReplySink* sink) {
  ShardState* held[1] = {&shard};
  CmdCtx ctx;
  ctx.engine = this;
  ctx.session = &session;
  ctx.now_ms = now_ms();
  ctx.shards = std::span<ShardState* const>(held, 1);
  ctx.home = &shard;
  if (spec.keys_fn == nullptr && spec.first_key > 0 &&
      static_cast<size_t>(spec.first_key) < args.size()) {
    ctx.routed_key = args[static_cast<size_t>(spec.first_key)].data();
  }
  ++shard.stats.commands;
  const int db = session.db;
  const uint64_t rng_before = shard.rng_state;
  WriteWatch watch;  // WATCH's hook: one branch unless a key of this shard is watched
  if (!shard.watches.empty()) watch.before(ctx, spec, args);
  Reply reply = spec.handler(ctx, args);
  watch.after(ctx, reply);
  if (pg_shared_ != nullptr) pg_track(spec, args, ctx, db, reply);
  finish(spec, args, ctx.log_as, db, ctx.now_ms, rng_before, std::move(reply), sink);
}

void EngineImpl::pg_track(const CommandSpec& spec, Args args, CmdCtx& ctx, int db,
                          const Reply& reply) {
  if ((spec.flags & kCmdWrite) == 0 || reply.is_error()) return;
  if (spec.flags & kCmdAllShards) {  // FLUSHALL, FLUSHDB: resend everything, drop the rest
    pg_shared_->full_gen.fetch_add(1, std::memory_order_release);
    return;
  }
  // Inventory commands mark their item themselves (FindItemOrReply, INV.CREATE): the
  // selling path pays no key lookup here.
  if (db != 0 || (spec.flags & kCmdInventory)) return;
  auto track = [&](std::string_view key) {
    ShardState& shard = ctx.shard_of(key);
    Entry* e = shard.dbs[0].peek(key, ctx.now_ms);
    // Gone keys too: their rows are deleted (a no-op if never mirrored).
    if (e != nullptr && e->type() == ValueType::kInventory) {
      shard.pg->mark(key, e->as<InventoryValue>().get());
    } else if (e == nullptr || shard.pg->mirrored(key)) {
      shard.pg->mark(key);
    }
  };
  if (spec.keys_fn == nullptr && spec.first_key > 0) {
    int argc = static_cast<int>(args.size());
    int last = spec.last_key >= 0 ? spec.last_key : argc + spec.last_key;
    int step = spec.key_step > 0 ? spec.key_step : 1;
    for (int i = spec.first_key; i <= last && i < argc; i += step) track(args[i]);
    return;
  }
  std::vector<size_t> key_indexes;
  KeyIndexes(spec, args, key_indexes);
  for (size_t k : key_indexes) track(args[k]);
}

void EngineImpl::finish(const CommandSpec& spec, Args args, const std::vector<std::string>& log_as,
                        int db, int64_t now, uint64_t rng_before, Reply reply, ReplySink* sink) {
  if (wal_ == nullptr) return sink->deliver(std::move(reply));
  ALLOT_DCHECK(db >= 0 && db < limits::kDatabaseCount);
  WalRecordInfo info;
  info.db = static_cast<uint8_t>(db);
  info.now_ms = now;
  info.rng_state = rng_before;
  if (!log_as.empty()) {
    // An effect the handler chose to log: a write's replacement (SPOP logs SREM), or the
    // writes of a script or transaction (txn/nested.h), logged even when the script then
    // failed, since its writes before the error stay (as in Redis).
    std::vector<std::string_view> effect(log_as.begin(), log_as.end());
    return wal_->submit(EncodeWalRecord(info, effect), std::move(reply), sink);
  }
  // Errors are not logged: a command that fails changes nothing.
  if ((spec.flags & kCmdWrite) == 0 || reply.is_error()) return sink->deliver(std::move(reply));
  wal_->submit(EncodeWalRecord(info, args), std::move(reply), sink);
}

std::vector<unsigned> EngineImpl::shards_of_command(const CommandSpec& spec, Args args) const {
  std::vector<unsigned> shards;
  if (spec.flags & kCmdAllShards) {
    for (unsigned i = 0; i < shards_.size(); ++i) shards.push_back(i);
    return shards;
  }
  std::vector<size_t> key_indexes;
  KeyIndexes(spec, args, key_indexes);
  for (size_t k : key_indexes) shards.push_back(shard_of_key(args[k]));
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  // Keyless single-shard commands run on the caller's shard live; any shard is the same
  // to them (they touch no key), and the record pins the random state.
  if (shards.empty()) shards.push_back(0);
  return shards;
}

std::string EngineImpl::load_checkpoint(std::span<const std::string_view> chunks,
                                        std::span<const uint64_t> shard_keys, uint64_t* keys) {
  CheckpointLoader loader;
  loader.shards = shard_count();
  loader.workers = std::max(1u, std::thread::hardware_concurrency());
  loader.route = [this](std::string_view key) { return shard_of_key(key); };
  loader.reserve = [this](unsigned shard, int db, size_t n) { shards_[shard]->dbs[db].reserve(n); };
  loader.insert = [this](unsigned shard, LoadedEntry&& e) {
    return load_checkpoint_entry(shard, std::move(e));
  };
  return LoadCheckpointChunks(chunks, shard_keys, loader, keys);
}

std::string EngineImpl::load_checkpoint_entry(unsigned shard, LoadedEntry&& entry) {
  ShardState& sh = *shards_[shard];
  const int db = entry.db;
  if (db == kCheckpointOrphansDb) {  // unsent sales of an item gone before the checkpoint
    Inventory& inv = *std::get<InventoryValue>(entry.value);
    if (PgTracker* t = PgTrackerFor(sh, 0); t != nullptr && !inv.unsynced.empty()) {
      t->add_backlog(static_cast<int64_t>(inv.unsynced.size()));
      t->add_orphans(std::move(entry.key), inv.item_id, std::move(inv.unsynced));
    }
    return "";
  }
  Entry* e =
      sh.dbs[db].insert_loaded(std::move(entry.key), std::move(entry.value), entry.expire_at_ms);
  if (e == nullptr) return "a key appears twice in the image (db " + std::to_string(db) + ")";
  if (e->type() == ValueType::kInventory) {
    // Its open holds go back into the shard's deadline index, so the timer expires them.
    Inventory& inv = *e->as<InventoryValue>();
    InventoryKeyAttached(sh, db, *e->key, inv);
    // Sales PostgreSQL had not confirmed at the checkpoint (pg_sync.h, Recovery).
    if (PgTracker* t = PgTrackerFor(sh, db)) {
      t->add_backlog(static_cast<int64_t>(inv.unsynced.size()));
    }
  }
  return "";
}

bool EngineImpl::checkpoint_tick(unsigned shard_id) {
  ShardCheckpoint& c = *shard_checkpoints_[shard_id];
  if (!c.active()) return false;
  // Back-pressure: the writer has enough chunks to write; commands still save what they
  // touch, so the image stays exact, only the scan waits. Poll again after 1 ms.
  CheckpointStore& store = wal_->checkpoints();
  if (store.backlog_bytes() >= limits::kCheckpointBacklogBytesMax) return false;
  if (!c.step(limits::kCheckpointStepEntriesMax, limits::kCheckpointStepUsMax)) return true;
  store.shard_done(shard_id, c.keys(), c.longest_step_us(), c.longest_step_cpu_us());
  return false;
}

void EngineImpl::start_checkpoint(std::shared_ptr<CheckpointJob> job) {
  ALLOT_CHECK(wal_ != nullptr);
  std::vector<unsigned> all(shards_.size());
  for (unsigned i = 0; i < all.size(); ++i) all[i] = i;
  job->shards = shard_count();
  auto body = [this, job] {
    // Every shard is parked: this is the consistent point. O(1) per database: a new
    // checkpoint epoch; the marker goes into the log queue before any shard runs again
    // (checkpoint.h, docs/durability.md).
    auto t0 = std::chrono::steady_clock::now();
    job->created_ms = RealClockMs();
    for (auto& c : shard_checkpoints_) {
      c->begin([this](std::string chunk) { wal_->checkpoints().chunk(std::move(chunk)); });
    }
    job->pause_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    // The function libraries as of the marker: no change is applied between this copy and
    // the marker entering the log queue (function_store.h).
    std::lock_guard<std::mutex> functions_lock(ScriptRegistry::Get().changes_mutex());
    job->functions = EncodeFunctionsPayload(ScriptRegistry::Get().libraries());
    wal_->submit_checkpoint_begin(job);
  };
  std::lock_guard<std::mutex> lock(multi_mu_);
  if (stopped_.load()) {  // see shutdown()
    job->error = "the engine is shutting down";
    checkpoint_running_.store(false);
    if (job->on_done) job->on_done(*job);
    job->done.store(1);
    job->done.notify_all();
    return;
  }
  auto* txn = new MultiShardTxn(std::move(all), std::move(body));
  for (unsigned s : txn->shards()) reactors_[s]->post_unbounded(new TxnArrivalTask(txn));
}

bool EngineImpl::begin_checkpoint(std::function<void(const std::string& error)> on_done) {
  if (wal_ == nullptr || checkpoint_running_.exchange(true)) return false;
  auto job = std::make_shared<CheckpointJob>();
  job->on_done = [this, on_done = std::move(on_done)](const CheckpointJob& j) {
    last_checkpoint_ok_.store(j.error.empty());
    checkpoint_running_.store(false);
    if (on_done) on_done(j.error);
    // BGSAVE SCHEDULE while this one ran: the next starts now (from the writer thread,
    // as the automatic triggers do).
    if (checkpoint_scheduled_.exchange(false)) begin_checkpoint(nullptr);
  };
  start_checkpoint(job);
  return true;
}

int64_t EngineImpl::last_save_unix_s() const {
  if (wal_ != nullptr) {
    int64_t ms = wal_->stats().checkpoint_unix_ms;
    if (ms > 0) return ms / 1000;
  }
  return start_unix_s_;
}

std::string EngineImpl::checkpoint() {
  if (wal_ == nullptr) return "no write-ahead log (memory only)";
  ALLOT_CHECK(Reactor::current() == nullptr);
  for (;;) {
    std::atomic<uint32_t> done{0};
    std::string error;
    bool started = begin_checkpoint([&](const std::string& e) {
      error = e;
      done.store(1, std::memory_order_release);
      done.notify_all();
    });
    if (started) {
      while (done.load(std::memory_order_acquire) == 0) done.wait(0);
      return error;
    }
    if (stopped_.load()) return "the engine is shutting down";
    // One is in flight: wait for it, then take ours (it must cover every write before
    // this call, which the running one may not).
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void EngineImpl::replay(const WalRecordView& record) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error("allot: cannot replay the write-ahead log in " + cfg_.dir +
                             " at LSN " + std::to_string(record.lsn) + " (" +
                             std::string(record.args[0].substr(0, 64)) + "): " + what +
                             "; refusing to start");
  };
  if (record.info.db >= limits::kDatabaseCount) fail("database index out of range");
  if (record.args[0] == kEffectGroupName) return replay_effects(record, fail);
  const CommandSpec* spec = CommandTable::Get().find(record.args[0]);
  if (spec == nullptr) fail("unknown command");
  if (!ArityOk(*spec, record.args.size())) fail("wrong number of arguments");
  if (spec->name == "FUNCTION") {  // a change of the function libraries (function_store.h)
    Reply r = ReplayFunctionCommand(record.args);
    if (r.is_error()) fail("failed on replay (" + r.string() + ") but succeeded when it ran");
    return;
  }
  if ((spec->flags & kCmdWrite) == 0 || (spec->flags & kCmdNoShard) != 0) {
    fail("not a command that is logged");
  }
  std::vector<ShardState*> held;
  for (unsigned s : shards_of_command(*spec, record.args)) held.push_back(shards_[s].get());
  Session session;
  session.db = record.info.db;
  CmdCtx ctx;
  ctx.engine = this;
  ctx.session = &session;
  ctx.now_ms = record.info.now_ms;
  ctx.shards = held;
  ctx.home = held[0];  // as live: the key's shard, or the lowest of a multi-shard command
  ctx.home->rng_state = record.info.rng_state;
  Reply r = spec->handler(ctx, record.args);
  bool was_error = (record.info.flags & kWalFlagErrorReply) != 0;
  if (r.is_error() != was_error) {
    fail(was_error ? "succeeded on replay but failed when it ran"
                   : "failed on replay (" + r.string() + ") but succeeded when it ran");
  }
}

void EngineImpl::replay_effects(const WalRecordView& record,
                                const std::function<void(const std::string&)>& fail) {
  std::vector<std::string_view> storage;
  std::vector<EffectView> effects;
  if (!DecodeEffectGroup(record.args, storage, effects)) fail("malformed effect group");
  // Hold every shard the group touches; the home shard is the lowest, as it was live
  // (dispatch holds shards in ascending order), so random state lands where it did.
  std::vector<unsigned> ids;
  for (const EffectView& e : effects) {
    const CommandSpec* spec = CommandTable::Get().find(e.args[0]);
    if (spec == nullptr) fail("unknown command in effect group");
    if (!ArityOk(*spec, e.args.size())) fail("wrong number of arguments in effect group");
    if ((spec->flags & kCmdWrite) == 0 || (spec->flags & kCmdNoShard) != 0) {
      fail("not a command that is logged, in effect group");
    }
    for (unsigned s : shards_of_command(*spec, e.args)) ids.push_back(s);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<ShardState*> held;
  for (unsigned s : ids) held.push_back(shards_[s].get());
  Session session;
  session.db = record.info.db;
  CmdCtx ctx;
  ctx.engine = this;
  ctx.session = &session;
  ctx.now_ms = record.info.now_ms;
  ctx.shards = held;
  ctx.home = held[0];
  ctx.home->rng_state = record.info.rng_state;
  for (const EffectView& e : effects) {
    const CommandSpec* spec = CommandTable::Get().find(e.args[0]);
    Reply r = RunNested(ctx, e.db, *spec, e.args, nullptr);
    if (r.is_error())
      fail("effect " + std::string(e.args[0]) + " failed on replay (" + r.string() + ")");
  }
}

void EngineImpl::run_on_shard(unsigned i, std::function<void(ShardState&)> fn) {
  ALLOT_CHECK(i < shards_.size());
  if (Reactor::current() == reactors_[i].get()) {
    fn(*shards_[i]);
    return;
  }
  std::atomic<uint32_t> done{0};
  reactors_[i]->post(new FnTask(this, [&](ShardState& s) {
    fn(s);
    done.store(1, std::memory_order_release);
    done.notify_one();
  }));
  while (done.load(std::memory_order_acquire) == 0) done.wait(0);
}

int EngineImpl::single_shard_route(Args args) const {
  const CommandSpec* spec = CommandTable::Get().find(args[0]);
  if (spec == nullptr || !ArityOk(*spec, args.size())) return -1;
  int route = route_of(*spec, args);
  return route >= 0 ? route : -1;
}

int EngineImpl::route_of(const CommandSpec& spec, Args args) const {
  if (spec.flags & kCmdNoShard) return kRouteNone;
  if (spec.flags & kCmdAllShards) return kRouteSeveral;
  int single = kRouteNone;
  auto visit = [&](size_t k) {
    int s = static_cast<int>(shard_of_key(args[k]));
    if (single == kRouteNone) {
      single = s;
    } else if (s != single) {
      single = kRouteSeveral;
    }
  };
  if (spec.keys_fn != nullptr) {
    thread_local std::vector<size_t> key_indexes;  // EVAL and co.: no allocation per call
    key_indexes.clear();
    KeyIndexes(spec, args, key_indexes);
    for (size_t k : key_indexes) {
      visit(k);
      if (single == kRouteSeveral) break;
    }
  } else if (spec.first_key > 0) {
    // Fixed key positions: walk them without building a vector (the hot path).
    int argc = static_cast<int>(args.size());
    int last = spec.last_key >= 0 ? spec.last_key : argc + spec.last_key;
    int step = spec.key_step > 0 ? spec.key_step : 1;
    for (int i = spec.first_key; i <= last && i < argc && single != kRouteSeveral; i += step) {
      visit(static_cast<size_t>(i));
    }
  }
  return single;
}

void EngineImpl::execute_here(Session& session, Args args, ShardState& shard, ReplySink* sink) {
  ALLOT_DCHECK(Reactor::current() == shard.reactor);
  const CommandSpec* spec = CommandTable::Get().find(args[0]);
  ALLOT_CHECK(spec != nullptr);
  if (wal_ != nullptr && (spec->flags & kCmdWrite) && wal_->refusing_writes()) {
    return sink->deliver(wal_->misconf_reply());
  }
  run_local(*spec, session, args, shard, sink);
}

Reply EngineImpl::execute_here(Session& session, Args args, ShardState& shard) {
  struct Here final : ReplySink {
    Reply reply;
    bool done = false;
    void deliver(Reply r) override {
      reply = std::move(r);
      done = true;
    }
  } here;
  execute_here(session, args, shard, &here);
  ALLOT_CHECK(here.done && "execute_here: deferred reply (logged write); pass a ReplySink");
  return std::move(here.reply);
}

void EngineImpl::run_on_shard_async(unsigned i, std::function<void(ShardState&)> fn) {
  ALLOT_CHECK(i < shards_.size());
  reactors_[i]->post(new FnTask(this, std::move(fn)));
}

void EngineImpl::execute(Session& session, Args args, ReplySink* sink) {
  ALLOT_DCHECK(!args.empty() && sink != nullptr);
  const CommandSpec* spec = CommandTable::Get().find(args[0]);
  if (spec == nullptr) return sink->deliver(UnknownCommandReply(args));
  if (!ArityOk(*spec, args.size())) return sink->deliver(WrongArgsReply(spec->name));
  execute_routed(session, *spec, args, route_of(*spec, args), sink);
}

void EngineImpl::execute_routed(Session& session, const CommandSpec& spec, Args args, int route,
                                ReplySink* sink) {
  ALLOT_DCHECK(ArityOk(spec, args.size()) && route == route_of(spec, args));
  // As Redis after a failed write to disk: writes are refused, reads go on.
  if (wal_ != nullptr && (spec.flags & kCmdWrite) && wal_->refusing_writes()) {
    return sink->deliver(wal_->misconf_reply());
  }

  if (spec.flags & kCmdNoShard) {
    CmdCtx ctx;
    ctx.engine = this;
    ctx.session = &session;
    ctx.now_ms = now_ms();
    ctx.sink = sink;
    Reply reply = spec.handler(ctx, args);
    if (!ctx.reply_deferred) sink->deliver(std::move(reply));
    return;
  }

  if (route != kRouteSeveral) {
    Reactor* here = Reactor::current();
    unsigned s = route >= 0 ? static_cast<unsigned>(route) : (here != nullptr ? here->id() : 0);
    if (here == reactors_[s].get()) {
      return run_local(spec, session, args, *shards_[s], sink);
    }
    // A script running long there: answer BUSY now rather than queue behind it.
    if (auto busy = ShardBusyReply(*shards_[s])) return sink->deliver(std::move(*busy));
    reactors_[s]->post(new ExecTask(this, &spec, &session, args, sink));
    return;
  }
  std::vector<unsigned> shards;
  if (spec.flags & kCmdAllShards) {
    shards.resize(shards_.size());
    for (unsigned i = 0; i < shards.size(); ++i) shards[i] = i;
  } else {
    std::vector<size_t> key_indexes;
    KeyIndexes(spec, args, key_indexes);
    for (size_t k : key_indexes) shards.push_back(shard_of_key(args[k]));
    std::sort(shards.begin(), shards.end());
    shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  }
  for (unsigned s : shards) {
    if (auto busy = ShardBusyReply(*shards_[s])) return sink->deliver(std::move(*busy));
  }
  execute_multi(spec, session, args, std::move(shards), sink);
}

void EngineImpl::execute_multi(const CommandSpec& spec, Session& session, Args args,
                               std::vector<unsigned> shards, ReplySink* sink) {
  auto body = [this, &spec, &session, args, sink, shards] {
    std::vector<ShardState*> held;
    held.reserve(shards.size());
    for (unsigned s : shards) held.push_back(shards_[s].get());
    CmdCtx ctx;
    ctx.engine = this;
    ctx.session = &session;
    ctx.now_ms = now_ms();
    ctx.shards = held;
    ctx.home = held[0];
    ++held[0]->stats.commands;
    const int db = session.db;
    const uint64_t rng_before = ctx.home->rng_state;
    // One record for the whole command, pushed while every shard is still parked: after
    // everything its shards ran before, before anything they run after (wal.h, Order).
    WriteWatch watch;
    watch.before(ctx, spec, args);
    Reply reply = spec.handler(ctx, args);
    watch.after(ctx, reply);
    if (pg_shared_ != nullptr) pg_track(spec, args, ctx, db, reply);
    finish(spec, args, ctx.log_as, db, ctx.now_ms, rng_before, std::move(reply), sink);
  };
  auto* txn = new MultiShardTxn(shards, std::move(body));
  std::lock_guard<std::mutex> lock(multi_mu_);
  for (unsigned s : shards) {
    // Applications must not wait for inbox space while holding the mutex (a parked
    // shard could need the holder); shard threads never wait anyway. See multi_shard.h.
    reactors_[s]->post_unbounded(new TxnArrivalTask(txn));
  }
}

}  // namespace allot::internal
