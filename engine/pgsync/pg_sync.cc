#include "engine/pgsync/pg_sync.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "engine/commands/inventory_ops.h"
#include "engine/engine_impl.h"
#include "engine/keyspace/inventory.h"
#include "engine/pgsync/pg_util.h"
#include "engine/pgsync/tracker.h"
#include "engine/runtime/clock.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

int64_t MonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Column lists: COPY and INSERT name them, so added columns never shift anything.
constexpr const char* kInventoryCols =
    "key, total, available, held, sold, per_user_limit, updated_at, lsn, hold_ttl_ms, item_id, "
    "next_event_seq, next_hold_seq";
constexpr const char* kPurchaseCols =
    "key, user_id, qty, hold_id, status, created_at, item_id, seq, request_id";
constexpr const char* kHoldCols = "key, hold_id, user_id, qty, deadline, seq";
constexpr const char* kKvCols = "key, value, expires_at, type";
constexpr const char* kMemberCols = "key, member";

struct AckItem {
  std::string key;
  uint64_t version = 0;
  uint64_t item_id = 0;   // 0: no events taken
  uint64_t last_seq = 0;  // events up to this seq were sent
};

}  // namespace

// Events taken from one PgTracker::orphans element (by index: orphans are only appended
// to between the copy and the acknowledgement, and only removed by the latter).
struct AckOrphan {
  size_t index = 0;
  uint64_t item_id = 0;
  uint64_t last_seq = 0;
};

// What one round copied out of the shards, already in COPY text format.
struct PgBatch {
  std::string keys, all, inventory, holds, kv, members, purchases;  // COPY data
  size_t n_keys = 0, n_rows = 0, n_purchases = 0, n_skipped = 0;
  std::vector<std::vector<AckItem>> acks;           // per shard
  std::vector<std::vector<AckOrphan>> orphan_acks;  // per shard
  bool full = false;                                // prune rows of keys not in `all`
  uint64_t full_gen = 0;
  bool complete = true;    // every dirty key and event is in the batch
  uint64_t submitted = 0;  // Wal::submitted() right after the copy
  int64_t now_ms = 0;
  int64_t backlog = 0;  // recounted on a full pass
};

struct PgSync::PGconnHolder {
  PgConnPtr conn;
};

namespace {

// Copies (part of) a ledger as purchases rows; *item_id and *last_seq tell what was taken.
void CopyEvents(PgBatch& b, const std::string& key, uint64_t item, const SaleLedger<SaleEvent>& evs,
                uint64_t* item_id, uint64_t* last_seq, size_t* events_left) {
  for (const SaleEvent& ev : evs) {
    if (*events_left == 0) {
      b.complete = false;
      break;
    }
    --*events_left;
    *item_id = item;
    *last_seq = ev.seq;
    if (!PgTextOk(ev.user) || !PgTextOk(ev.hold_id) || !PgTextOk(ev.request_id)) {
      ++b.n_skipped;
      continue;
    }
    std::string& p = b.purchases;
    CopyText(p, key);
    CopyTab(p);
    CopyText(p, ev.user);
    CopyTab(p);
    CopyInt(p, ev.qty);
    CopyTab(p);
    if (ev.hold_id.empty()) {
      CopyNull(p);
    } else {
      CopyText(p, ev.hold_id);
    }
    CopyTab(p);
    p.append(ev.cancelled ? "cancelled" : "sold");
    CopyTab(p);
    CopyTimestamp(p, ev.at_ms);
    CopyTab(p);
    CopyInt(p, static_cast<int64_t>(item));
    CopyTab(p);
    CopyInt(p, static_cast<int64_t>(ev.seq));
    CopyTab(p);
    if (ev.request_id.empty()) {
      CopyNull(p);
    } else {
      CopyText(p, ev.request_id);
    }
    CopyEol(p);
    ++b.n_purchases;
  }
}

// Copies one inventory item's row, open holds and (part of) its ledger.
void CopyItem(PgBatch& b, const std::string& key, Inventory& inv, AckItem& ack,
              size_t* events_left) {
  std::string& o = b.inventory;
  CopyText(o, key);
  for (int64_t v : {inv.total, inv.available, inv.held, inv.sold, inv.limit}) {
    CopyTab(o);
    CopyInt(o, v);
  }
  CopyTab(o);
  CopyTimestamp(o, b.now_ms);
  CopyTab(o);
  CopyInt(o, 0);  // lsn: filled by the merge statement (the round's position)
  for (int64_t v :
       {inv.hold_ttl_ms, static_cast<int64_t>(inv.item_id),
        static_cast<int64_t>(inv.next_event_seq), static_cast<int64_t>(inv.next_hold_seq)}) {
    CopyTab(o);
    CopyInt(o, v);
  }
  CopyEol(o);
  ++b.n_rows;
  for (const auto& [deadline, id] : inv.open_deadlines) {
    const Hold& h = inv.holds.at(id);
    if (!PgTextOk(id) || !PgTextOk(h.user)) {
      ++b.n_skipped;
      continue;
    }
    std::string& s = b.holds;
    CopyText(s, key);
    CopyTab(s);
    CopyText(s, id);
    CopyTab(s);
    CopyText(s, h.user);
    CopyTab(s);
    CopyInt(s, h.qty);
    CopyTab(s);
    CopyTimestamp(s, deadline);
    CopyTab(s);
    CopyInt(s, static_cast<int64_t>(h.seq));
    CopyEol(s);
    ++b.n_rows;
  }
  CopyEvents(b, key, inv.item_id, inv.unsynced, &ack.item_id, &ack.last_seq, events_left);
}

// A mirrored string or set.
void CopyPlain(PgBatch& b, const std::string& key, const Entry& e) {
  std::string& o = b.kv;
  CopyText(o, key);
  CopyTab(o);
  if (e.type() == ValueType::kString) {
    CopyBytea(o, e.as<StringValue>());
  } else {
    CopyNull(o);
  }
  CopyTab(o);
  if (e.expire_at_ms != 0) {
    CopyTimestamp(o, e.expire_at_ms);
  } else {
    CopyNull(o);
  }
  CopyTab(o);
  o.append(e.type() == ValueType::kString ? "string" : "set");
  CopyEol(o);
  ++b.n_rows;
  if (e.type() != ValueType::kSet) return;
  for (const std::string& m : e.as<SetValue>()) {
    CopyText(b.members, key);
    CopyTab(b.members);
    CopyBytea(b.members, m);
    CopyEol(b.members);
    ++b.n_rows;
  }
}

bool Mirrored(const PgTracker& t, const Entry& e, std::string_view key) {
  if (e.type() == ValueType::kInventory) return true;
  return (e.type() == ValueType::kString || e.type() == ValueType::kSet) && t.mirrored(key);
}

}  // namespace

PgSync::PgSync(EngineImpl* engine, PgShared* shared, const Config& cfg)
    : engine_(engine), shared_(shared), cfg_(cfg), state_time_ms_(RealClockMs()) {
  status_.state = "connecting";
  status_.backlog_max = cfg.pg_backlog_max;
}

PgSync::~PgSync() { stop(); }

void PgSync::start() {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "allot-pgsync");
}

void PgSync::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

PgSyncStatus PgSync::status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  PgSyncStatus s = status_;
  s.durable_lsn = engine_->wal()->stats().durable_lsn;
  s.lag_ms =
      s.durable_lsn > s.synced_lsn ? std::max<int64_t>(0, RealClockMs() - state_time_ms_) : 0;
  return s;
}

void PgSync::wait_ms(int64_t ms) {
  // In slices: the backlog limit is checked at least every kPgBacklogCheckMs, also while
  // PostgreSQL is down and the worker is backing off.
  const int64_t end = MonoMs() + ms;
  for (int64_t now = MonoMs(); now < end; now = MonoMs()) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      int64_t slice = std::min(end - now, limits::kPgBacklogCheckMs);
      if (cv_.wait_for(lock, std::chrono::milliseconds(slice), [this] { return stopping_; })) {
        return;
      }
    }
    check_backlog();
  }
}

void PgSync::warn(const std::string& text) {
  if (cfg_.log_warning) {
    cfg_.log_warning(text);
  } else {
    std::fprintf(stderr, "allot: %s\n", text.c_str());
  }
}

void PgSync::fail(const std::string& what) {
  bool was_up;
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    was_up = status_.state != "down";
    status_.state = "down";
    status_.last_error = what;
    ++status_.reconnects;
  }
  // Once per outage, not once per retry.
  if (was_up) warn("PostgreSQL sync: " + what + "; selling goes on, retrying with back-off");
  conn_.reset();
}

void PgSync::run() {
  int64_t backoff = limits::kPgReconnectMinMs;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    check_backlog();
    if (conn_ == nullptr && !connect()) {
      wait_ms(backoff);
      backoff = std::min(backoff * 2, limits::kPgReconnectMaxMs);
      continue;
    }
    backoff = limits::kPgReconnectMinMs;
    bool more = false;
    if (!round(&more)) {
      wait_ms(backoff);
      continue;
    }
    check_backlog();
    if (!more) wait_ms(cfg_.pg_sync_interval_ms);  // else catch up at once
  }
  conn_.reset();
}

bool PgSync::connect() {
  std::string err;
  PgConnPtr c = PgConnect(cfg_.pg_url, &err);
  if (c == nullptr) {
    fail("cannot connect: " + err);
    return false;
  }
  if (!PgMigrate(c.get(), cfg_.pg_schema, &err)) {
    fail("cannot create or migrate the schema " + cfg_.pg_schema + ": " + err);
    return false;
  }
  PGconn* pc = c.get();
  auto t = [&](std::string_view n) { return PgTable(pc, cfg_.pg_schema, n); };
  std::string temp = "SET search_path = pg_temp; ";
  for (auto [tmp, like] : {std::pair<const char*, const char*>{"s_inventory", "inventory"},
                           {"s_holds", "holds"},
                           {"s_kv", "kv"},
                           {"s_members", "kv_set_members"},
                           {"s_purchases", "purchases"}}) {
    temp += std::string("CREATE TEMP TABLE IF NOT EXISTS ") + tmp + " (LIKE " + t(like) +
            ") ON COMMIT DELETE ROWS; ";
  }
  temp +=
      "CREATE TEMP TABLE IF NOT EXISTS s_keys (key text) ON COMMIT DELETE ROWS; "
      "CREATE TEMP TABLE IF NOT EXISTS s_all (key text) ON COMMIT DELETE ROWS; "
      "RESET search_path;";
  if (!PgExec(pc, temp, &err)) {
    fail("cannot prepare the session: " + err);
    return false;
  }
  PgResultPtr r = PgQuery(
      pc, "SELECT lsn FROM " + t("sync_state") + " WHERE node = " + PgLiteral(pc, cfg_.pg_node),
      &err);
  if (r == nullptr) {
    fail("cannot read sync_state: " + err);
    return false;
  }
  uint64_t synced =
      PQntuples(r.get()) == 1 ? std::strtoull(PQgetvalue(r.get(), 0, 0), nullptr, 10) : 0;
  bool was_down;
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    was_down = status_.state == "down";
    status_.state = "up";
    status_.last_error.clear();
    status_.synced_lsn = synced;
  }
  if (was_down) warn("PostgreSQL sync: connected again; catching up");
  engine_->wal()->set_trim_floor(synced);
  conn_ = std::make_unique<PGconnHolder>();
  conn_->conn = std::move(c);
  return true;
}

void PgSync::collect(PgBatch& b) {
  const uint64_t gen = shared_->full_gen.load(std::memory_order_acquire);
  b.full = gen != full_done_gen_;
  b.full_gen = gen;
  b.now_ms = engine_->now_ms();
  b.acks.resize(engine_->shard_count());
  b.orphan_acks.resize(engine_->shard_count());
  size_t keys_left = limits::kPgSyncBatchKeysMax;
  size_t events_left = limits::kPgSyncBatchEventsMax;
  for (unsigned i = 0; i < engine_->shard_count(); ++i) {
    engine_->run_on_shard(i, [&](ShardState& shard) {
      PgTracker& t = *shard.pg;
      Db& db = shard.dbs[0];
      if (b.full) {
        int64_t backlog = 0;
        db.for_each(b.now_ms, [&](const std::string& key, Entry& e) {
          if (!Mirrored(t, e, key)) return;
          Inventory* inv = nullptr;
          if (e.type() == ValueType::kInventory) {
            inv = e.as<InventoryValue>().get();
            backlog += static_cast<int64_t>(inv->unsynced.size());
          }
          t.mark(key, inv);
          if (!PgTextOk(key)) return;
          CopyText(b.all, key);
          CopyEol(b.all);
        });
        for (const PgOrphanEvents& o : t.orphans) backlog += static_cast<int64_t>(o.events.size());
        t.backlog.store(backlog, std::memory_order_relaxed);
      }
      // Sales of deleted items first: nothing else will ever send them.
      for (size_t k = 0; k < t.orphans.size() && events_left > 0; ++k) {
        AckOrphan oa{k, 0, 0};
        const PgOrphanEvents& o = t.orphans[k];
        if (PgTextOk(o.key)) {
          CopyEvents(b, o.key, o.item_id, o.events, &oa.item_id, &oa.last_seq, &events_left);
        } else {  // cannot be a text key in PostgreSQL: skipped, warned
          b.n_skipped += o.events.size();
          oa.item_id = o.item_id;
          oa.last_seq = o.events.back().seq;
        }
        b.orphan_acks[i].push_back(oa);
      }
      if (b.orphan_acks[i].size() < t.orphans.size()) b.complete = false;
      for (auto it = t.dirty.begin(); it != t.dirty.end(); ++it) {
        if (keys_left == 0 || events_left == 0) {
          b.complete = false;
          break;
        }
        --keys_left;
        const std::string& key = it->first;
        Entry* e = db.peek(key, b.now_ms);
        if (e != nullptr && e->type() == ValueType::kInventory) {
          // Holds past their deadline go now, as any command would expire them first;
          // this may mark the key again (same entry: the iteration is unaffected).
          RefreshItem(ItemRef{shard, 0, key, *e->as<InventoryValue>()}, b.now_ms);
        }
        // An item's version is its own (a sale does not touch `dirty`).
        const uint64_t version = e != nullptr && e->type() == ValueType::kInventory
                                     ? e->as<InventoryValue>()->pg_version
                                     : it->second;
        AckItem ack{key, version, 0, 0};
        if (!PgTextOk(key)) {  // cannot be a text key in PostgreSQL: skipped, warned
          ++b.n_skipped;
          b.acks[i].push_back(std::move(ack));
          continue;
        }
        CopyText(b.keys, key);
        CopyEol(b.keys);
        ++b.n_keys;
        if (e != nullptr && Mirrored(t, *e, key)) {
          if (e->type() == ValueType::kInventory) {
            CopyItem(b, key, *e->as<InventoryValue>(), ack, &events_left);
          } else {
            CopyPlain(b, key, *e);
          }
        }
        b.acks[i].push_back(std::move(ack));
      }
      b.backlog += t.backlog.load(std::memory_order_relaxed);
    });
  }
  // Every record of what was copied was submitted before the copy (same shard thread).
  b.submitted = engine_->wal()->submitted();
}

bool PgSync::wait_durable(uint64_t submitted) {
  int64_t deadline = MonoMs() + limits::kPgDurableWaitMs;
  while (engine_->wal()->stats().records < submitted) {
    if (MonoMs() > deadline) return false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

bool PgSync::write(const PgBatch& b, uint64_t lsn) {
  PGconn* c = conn_->conn.get();
  auto t = [&](std::string_view n) { return PgTable(c, cfg_.pg_schema, n); };
  std::string err;
  uint64_t statements = 1;
  if (!PgExec(c, "BEGIN", &err)) return fail("BEGIN: " + err), false;
  struct Copy {
    const char* table;
    const char* cols;
    const std::string* data;
  };
  const Copy copies[] = {{"s_keys", "key", &b.keys},
                         {"s_all", "key", &b.all},
                         {"s_inventory", kInventoryCols, &b.inventory},
                         {"s_holds", kHoldCols, &b.holds},
                         {"s_kv", kKvCols, &b.kv},
                         {"s_members", kMemberCols, &b.members},
                         {"s_purchases", kPurchaseCols, &b.purchases}};
  for (const Copy& cp : copies) {
    if (cp.data->empty()) continue;
    ++statements;
    if (!PgCopyIn(c, std::string("pg_temp.") + cp.table + " (" + cp.cols + ")", *cp.data, &err)) {
      return fail(std::string("COPY ") + cp.table + ": " + err), false;
    }
  }
  std::string sql;
  auto stmt = [&](const std::string& s) {
    sql += s + ";\n";
    ++statements;
  };
  if (b.full) {
    for (const char* table : {"inventory", "holds", "kv", "kv_set_members"}) {
      stmt("DELETE FROM " + t(table) + " x WHERE NOT EXISTS (SELECT 1 FROM pg_temp.s_all a " +
           "WHERE a.key = x.key)");
    }
  }
  if (!b.keys.empty()) {
    for (const char* table : {"inventory", "holds", "kv", "kv_set_members"}) {
      stmt("DELETE FROM " + t(table) + " x USING pg_temp.s_keys k WHERE x.key = k.key");
    }
    stmt("INSERT INTO " + t("inventory") + " (" + kInventoryCols + ") SELECT key, total, " +
         "available, held, sold, per_user_limit, updated_at, " + std::to_string(lsn) +
         ", hold_ttl_ms, item_id, next_event_seq, next_hold_seq FROM pg_temp.s_inventory");
    stmt("INSERT INTO " + t("holds") + " (" + kHoldCols + ") SELECT " + kHoldCols +
         " FROM pg_temp.s_holds");
    stmt("INSERT INTO " + t("kv") + " (" + kKvCols + ") SELECT " + kKvCols + " FROM pg_temp.s_kv");
    stmt("INSERT INTO " + t("kv_set_members") + " (" + kMemberCols + ") SELECT " + kMemberCols +
         " FROM pg_temp.s_members");
  }
  if (!b.purchases.empty()) {
    // Sent again after a crash or a lost COMMIT reply: already there, skipped.
    stmt("INSERT INTO " + t("purchases") + " (" + kPurchaseCols + ") SELECT " + kPurchaseCols +
         " FROM pg_temp.s_purchases ON CONFLICT (item_id, seq) DO NOTHING");
  }
  // Keys expired by time: Allot deletes them without a logged write (docs/durability.md).
  stmt("DELETE FROM " + t("kv_set_members") + " m USING " + t("kv") +
       " k WHERE m.key = k.key AND k.expires_at <= now()");
  stmt("DELETE FROM " + t("kv") + " WHERE expires_at <= now()");
  stmt("INSERT INTO " + t("sync_state") + " (node, lsn, synced_at) VALUES (" +
       PgLiteral(c, cfg_.pg_node) + ", " + std::to_string(lsn) +
       ", now()) ON CONFLICT (node) DO UPDATE SET lsn = EXCLUDED.lsn, synced_at = now()");
  stmt("COMMIT");
  if (!PgExec(c, sql, &err)) return fail("sync transaction: " + err), false;
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.statements += statements;
  ++status_.transactions;
  status_.purchases_rows += b.n_purchases;
  status_.rows += b.n_rows;
  return true;
}

void PgSync::ack(const PgBatch& b) {
  for (unsigned i = 0; i < engine_->shard_count(); ++i) {
    if (b.acks[i].empty() && b.orphan_acks[i].empty()) continue;
    engine_->run_on_shard(i, [&](ShardState& shard) {
      PgTracker& t = *shard.pg;
      int64_t now = engine_->now_ms();
      ack_orphans(t, b.orphan_acks[i]);
      bool erased = false;
      for (const AckItem& a : b.acks[i]) {
        Entry* e = shard.dbs[0].peek(a.key, now);
        Inventory* inv = e != nullptr && e->type() == ValueType::kInventory
                             ? e->as<InventoryValue>().get()
                             : nullptr;
        // The same incarnation only: a re-created item's events are its own.
        if (inv != nullptr && a.item_id != 0 && inv->item_id == a.item_id) {
          int64_t dropped = 0;
          while (!inv->unsynced.empty() && inv->unsynced.front().seq <= a.last_seq) {
            inv->unsynced.pop_front();
            ++dropped;
          }
          t.add_backlog(-dropped);
        }
        auto it = t.dirty.find(a.key);
        if (it == t.dirty.end()) continue;
        const uint64_t version = inv != nullptr ? inv->pg_version : it->second;
        if (version != a.version) continue;                      // changed since
        if (inv != nullptr && !inv->unsynced.empty()) continue;  // more events to send
        t.dirty.erase(it);
        erased = true;
      }
      // Items whose epoch is the old one may have just left `dirty`: their next change
      // must look their key up again (PgTracker::mark_item).
      if (erased) t.epoch = shared_->next_epoch.fetch_add(1);
    });
  }
}

void PgSync::ack_orphans(PgTracker& t, const std::vector<AckOrphan>& acks) {
  // Orphans were only appended to since the copy: index k is the one copied.
  for (const AckOrphan& a : acks) {
    PgOrphanEvents& o = t.orphans[a.index];
    if (a.item_id == 0 || o.item_id != a.item_id) continue;
    int64_t dropped = 0;
    while (!o.events.empty() && o.events.front().seq <= a.last_seq) {
      o.events.pop_front();
      ++dropped;
    }
    t.add_backlog(-dropped);
    shared_->orphan_events.fetch_sub(dropped);
  }
  std::erase_if(t.orphans, [](const PgOrphanEvents& o) { return o.events.empty(); });
}

bool PgSync::round(bool* more) {
  Wal* wal = engine_->wal();
  // Every record <= lsn ran before the copy below: its effects are in it (or in rows
  // PostgreSQL already has), so a complete batch makes PostgreSQL current up to lsn.
  const uint64_t lsn = wal->stats().durable_lsn;
  const int64_t t0 = RealClockMs();
  PgBatch b;
  collect(b);
  *more = !b.complete;
  uint64_t synced;
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    synced = status_.synced_lsn;
    status_.backlog_events = b.backlog;
  }
  if (b.n_skipped > 0) {
    warn("PostgreSQL sync: skipped " + std::to_string(b.n_skipped) +
         " keys, holds or sales whose key, user or id is not valid UTF-8 text");
  }
  bool nothing = b.n_keys == 0 && b.n_purchases == 0 && !b.full;
  if (nothing && b.complete && lsn == synced) {
    if (!b.acks.empty()) ack(b);  // skipped keys
    std::lock_guard<std::mutex> lock(status_mu_);
    status_.caught_up = true;
    state_time_ms_ = t0;
    return true;
  }
  if (!wait_durable(b.submitted)) {
    *more = false;  // the log is stuck (MISCONF) or stopping: try again next interval
    return true;
  }
  const uint64_t new_lsn = b.complete ? lsn : synced;
  if (!write(b, new_lsn)) return false;
  ack(b);
  if (b.full) full_done_gen_ = b.full_gen;
  wal->set_trim_floor(new_lsn);
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.synced_lsn = new_lsn;
  status_.caught_up = false;
  if (b.complete) state_time_ms_ = t0;
  return true;
}

void PgSync::check_backlog() {
  int64_t backlog = 0;
  for (unsigned i = 0; i < engine_->shard_count(); ++i) {
    backlog += engine_->shard(i).pg->backlog.load(std::memory_order_relaxed);
  }
  const uint64_t max = cfg_.pg_backlog_max;
  const uint64_t n = static_cast<uint64_t>(std::max<int64_t>(0, backlog));
  const bool warning = max > 0 && n * 100 >= max * limits::kPgBacklogWarnPercent;
  const bool refuse = max > 0 && n >= max;
  bool was_refusing = shared_->refuse_sales.exchange(refuse, std::memory_order_relaxed);
  std::string state;
  {
    std::lock_guard<std::mutex> lock(status_mu_);
    status_.backlog_events = backlog;
    status_.backlog_warning = warning;
    status_.refusing_sales = refuse;
    state = status_.state;
  }
  int64_t now = MonoMs();
  if ((warning && now - last_warn_ms_ >= limits::kPgBacklogWarnIntervalMs) ||
      refuse != was_refusing) {
    last_warn_ms_ = now;
    warn("PostgreSQL sync backlog: " + std::to_string(n) + " sale events not yet in " +
         "PostgreSQL (pg-backlog-max " + std::to_string(max) + ", PostgreSQL " + state + "); " +
         (refuse ? "new sales are REFUSED until it catches up"
                 : "at the limit new sales will be refused"));
  }
}

}  // namespace allot::internal
