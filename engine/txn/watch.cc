#include "engine/txn/watch.h"

#include <algorithm>
#include <map>

#include "engine/commands/args.h"
#include "engine/commands/family.h"
#include "engine/keyspace/inventory.h"

namespace allot::internal {

bool WatchTable::add(int db, std::string_view key, const std::shared_ptr<WatchState>& state,
                     bool expired) {
  Map& m = dbs_[static_cast<size_t>(db)];
  auto it = m.find(key);
  if (it == m.end()) {
    it = m.emplace(std::string(key), std::vector<Reg>()).first;
    ++count_;
  }
  for (const Reg& r : it->second) {
    if (r.state == state) return false;
  }
  it->second.push_back(Reg{state, expired});
  return true;
}

void WatchTable::remove(int db, std::string_view key, const WatchState* state) {
  Map& m = dbs_[static_cast<size_t>(db)];
  auto it = m.find(key);
  if (it == m.end()) return;
  auto& regs = it->second;
  regs.erase(std::remove_if(regs.begin(), regs.end(),
                            [state](const Reg& r) { return r.state.get() == state; }),
             regs.end());
  if (regs.empty()) {
    m.erase(it);
    --count_;
  }
}

bool WatchTable::registered_expired(int db, std::string_view key, const WatchState* state) const {
  const Map& m = dbs_[static_cast<size_t>(db)];
  auto it = m.find(key);
  if (it == m.end()) return false;
  for (const Reg& r : it->second) {
    if (r.state.get() == state) return r.expired;
  }
  return false;
}

void WatchTable::touch(int db, std::string_view key, const Db& d) {
  Map& m = dbs_[static_cast<size_t>(db)];
  auto it = m.find(key);
  if (it == m.end()) return;
  const bool gone = d.probe(key, 0) == 0;
  for (Reg& r : it->second) {
    if (r.expired && gone) {
      // It was already logically missing when WATCHed and is missing now: no change.
      r.expired = false;
      continue;
    }
    r.state->dirty.store(true, std::memory_order_relaxed);
  }
}

std::vector<std::string> WatchTable::present_keys(int db, const Db& d) const {
  std::vector<std::string> out;
  for (const auto& [key, regs] : dbs_[static_cast<size_t>(db)]) {
    if (d.probe(key, 0) != 0) out.push_back(key);
  }
  return out;
}

namespace {

// The database argument of MOVE key db / COPY src dst DB db: the command also modifies
// a key in that database (Redis signals both).
int OtherDb(const CommandSpec& spec, Args args, size_t* key_index) {
  int64_t db = -1;
  if (spec.name == "MOVE") {
    *key_index = 1;
    if (!ParseInt64(args[2], &db)) return -1;
  } else if (spec.name == "COPY") {
    *key_index = 2;
    for (size_t i = 3; i + 1 < args.size(); ++i) {
      if (EqualsIgnoreCase(args[i], "DB") && !ParseInt64(args[i + 1], &db)) return -1;
    }
  }
  return db >= 0 && db < limits::kDatabaseCount ? static_cast<int>(db) : -1;
}

}  // namespace

void WriteWatch::before(CmdCtx& ctx, const CommandSpec& spec, Args args) {
  if (!(spec.flags & kCmdWrite)) return;
  bool any = false;
  for (ShardState* s : ctx.shards) any = any || !s->watches.empty();
  if (!any) return;
  spec_ = &spec;
  args_ = args;
  // Only keys somebody watches are noted: the others cost one lookup each.
  auto note = [&](int db, std::string_view key) {
    ShardState& shard = ctx.shard_of(key);
    if (shard.watches.empty() || !shard.watches.contains(db, key)) return;
    noted_.push_back(Noted{&shard, db, key, shard.dbs[db].probe(key, ctx.now_ms) == 1});
  };
  if (spec.keys_fn == nullptr && spec.first_key > 0) {  // fixed positions: no vector
    int argc = static_cast<int>(args.size());
    int last = spec.last_key >= 0 ? spec.last_key : argc + spec.last_key;
    int step = spec.key_step > 0 ? spec.key_step : 1;
    for (int i = spec.first_key; i <= last && i < argc; i += step) {
      note(ctx.session->db, args[static_cast<size_t>(i)]);
    }
  } else {
    std::vector<size_t> keys;
    KeyIndexes(spec, args, keys);
    for (size_t k : keys) note(ctx.session->db, args[k]);
  }
  size_t other_key = 0;
  int other = OtherDb(spec, args, &other_key);
  if (other >= 0 && other_key < args.size()) note(other, args[other_key]);
}

namespace {

// Writes that answer 0 exactly when they changed nothing (Redis does not signal those).
constexpr std::string_view kZeroMeansUnchanged[] = {
    "COPY",   "DEL",  "EXPIRE", "EXPIREAT", "HDEL",    "HSETNX",    "LPUSHX",
    "LREM",   "MOVE", "MSETNX", "PERSIST",  "PEXPIRE", "PEXPIREAT", "RENAMENX",
    "RPUSHX", "SADD", "SETNX",  "SMOVE",    "SREM",    "UNLINK"};

bool ChangedNothing(const CommandSpec& spec, Args args, const Reply& reply) {
  if (reply.is_integer() && reply.integer() == 0) {
    return std::find(std::begin(kZeroMeansUnchanged), std::end(kZeroMeansUnchanged), spec.name) !=
           std::end(kZeroMeansUnchanged);
  }
  if (reply.is_null() && spec.name == "SET") {  // NX/XX refused, unless GET (old value)
    for (size_t i = 3; i < args.size(); ++i) {
      if (EqualsIgnoreCase(args[i], "GET")) return false;
    }
    return true;
  }
  return false;
}

}  // namespace

void WriteWatch::after(CmdCtx& ctx, const Reply& reply) {
  if (noted_.empty() || reply.is_error() || ChangedNothing(*spec_, args_, reply)) return;
  for (const Noted& n : noted_) {
    Db& d = n.shard->dbs[n.db];
    if (n.existed || d.probe(n.key, ctx.now_ms) == 1) n.shard->watches.touch(n.db, n.key, d);
  }
}

void ReleaseWatch(EngineImpl& engine, Session& session) {
  std::shared_ptr<WatchState> state = std::move(session.watch);
  session.watch.reset();
  if (state == nullptr || state->keys.empty()) return;
  std::map<unsigned, std::vector<std::pair<int, std::string>>> by_shard;
  for (WatchedKey& k : state->keys) by_shard[k.shard].emplace_back(k.db, std::move(k.key));
  state->keys.clear();
  for (auto& [shard, keys] : by_shard) {
    engine.run_on_shard_async(shard, [state, keys = std::move(keys)](ShardState& s) {
      for (const auto& [db, key] : keys) s.watches.remove(db, key, state.get());
    });
  }
}

namespace {

// Whether key is an inventory item with an open hold whose deadline is in (since, now]:
// the item changed by time alone since WATCH, as a key whose TTL passed.
bool HoldDueSince(Db& d, std::string_view key, int64_t since_ms, int64_t now_ms) {
  Entry* e = d.peek(key, now_ms);  // live (probe said so): no expiry side effect
  if (e == nullptr || e->type() != ValueType::kInventory) return false;
  const Inventory& inv = *e->as<InventoryValue>();
  auto it = inv.open_deadlines.lower_bound({since_ms + 1, std::string()});
  return it != inv.open_deadlines.end() && it->first <= now_ms;
}

}  // namespace

bool CheckAndReleaseWatch(CmdCtx& ctx) {
  std::shared_ptr<WatchState> state = std::move(ctx.session->watch);
  ctx.session->watch.reset();
  if (state == nullptr) return false;
  bool dirty = state->dirty.load(std::memory_order_relaxed);
  for (const WatchedKey& k : state->keys) {
    ShardState& shard = ctx.engine->shard(k.shard);
    ALLOT_CHECK(std::find(ctx.shards.begin(), ctx.shards.end(), &shard) != ctx.shards.end());
    // Existed at WATCH and expired since, even if nothing deleted it yet: a change.
    int st = shard.dbs[k.db].probe(k.key, ctx.now_ms);
    if (!dirty && st == 2 && !shard.watches.registered_expired(k.db, k.key, state.get())) {
      dirty = true;
    }
    if (!dirty && st == 1 && HoldDueSince(shard.dbs[k.db], k.key, k.watched_at_ms, ctx.now_ms)) {
      dirty = true;
    }
    shard.watches.remove(k.db, k.key, state.get());
  }
  return dirty;
}

namespace {

// WATCH key [key ...]: registers each key on its shard (dispatch holds them all).
Reply CmdWatch(CmdCtx& ctx, Args args) {
  Session& session = *ctx.session;
  if (session.watch == nullptr) session.watch = std::make_shared<WatchState>();
  for (size_t i = 1; i < args.size(); ++i) {
    ShardState& shard = ctx.shard_of(args[i]);
    bool expired = shard.dbs[session.db].probe(args[i], ctx.now_ms) == 2;
    if (shard.watches.add(session.db, args[i], session.watch, expired)) {
      session.watch->keys.push_back(
          WatchedKey{shard.id, session.db, std::string(args[i]), ctx.now_ms});
    }
  }
  return Reply::Ok();
}

Reply CmdUnwatch(CmdCtx& ctx, Args) {
  ReleaseWatch(*ctx.engine, *ctx.session);
  return Reply::Ok();
}

// MULTI, EXEC and DISCARD are connection state: allotd answers them
// (server/connection.cc); an embedded engine runs transactions with Engine::transaction.
Reply CmdTxnServerOnly(CmdCtx&, Args args) {
  return Reply::Error("ERR '" + ToLower(args[0]) +
                      "' is a command of allotd; an embedded engine uses Engine::transaction");
}

constexpr uint32_t kTxnFlags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast;

constexpr CommandSpec kWatchCommands[] = {
    {"WATCH", -2, kTxnFlags, 1, -1, 1, CmdWatch},
    {"UNWATCH", 1, kTxnFlags | kCmdNoShard, 0, 0, 0, CmdUnwatch},
    {"MULTI", 1, kTxnFlags | kCmdNoShard | kCmdConnection, 0, 0, 0, CmdTxnServerOnly},
    {"EXEC", 1, kCmdNoScript | kCmdLoading | kCmdStale | kCmdNoShard | kCmdConnection, 0, 0, 0,
     CmdTxnServerOnly},
    {"DISCARD", 1, kTxnFlags | kCmdNoShard | kCmdConnection, 0, 0, 0, CmdTxnServerOnly},
};

}  // namespace

void RegisterWatchCommands(CommandTable& table) { table.add(kWatchCommands); }

}  // namespace allot::internal
