#include "engine/pgsync/pg_restore.h"

#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <memory>

#include "engine/commands/inventory_ops.h"
#include "engine/engine_impl.h"
#include "engine/keyspace/inventory.h"
#include "engine/pgsync/pg_util.h"

namespace allot::internal {

namespace {

int64_t Int(PGresult* r, int row, int col) {
  return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

std::string Text(PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

// A bytea column in text form ("\x...") as bytes.
std::string Bytes(PGresult* r, int row, int col) {
  size_t n = 0;
  unsigned char* p =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, row, col)), &n);
  std::string out(reinterpret_cast<const char*>(p), n);
  PQfreemem(p);
  return out;
}

// Milliseconds since the epoch of a timestamptz column, or 0 when NULL.
std::string Ms(const std::string& col) {
  return "(extract(epoch from " + col + ") * 1000)::bigint";
}

struct Snapshot {
  PgResultPtr inventory, buyers, holds, kv, members;
};

std::string ReadSnapshot(PGconn* c, const std::string& schema, Snapshot* s) {
  std::string err;
  auto t = [&](std::string_view n) { return PgTable(c, schema, n); };
  if (!PgExec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &err)) return err;
  s->inventory = PgQuery(c,
                         "SELECT key, total, available, held, sold, per_user_limit, hold_ttl_ms, "
                         "item_id, next_event_seq, next_hold_seq FROM " +
                             t("inventory"),
                         &err);
  if (!s->inventory) return "inventory: " + err;
  // A buyer's units: what they bought minus refunds, of this incarnation of the item
  // (purchases.key is the key at the time of the sale; item_id follows RENAME).
  s->buyers = PgQuery(c,
                      "SELECT i.key, p.user_id, sum(CASE p.status WHEN 'sold' THEN p.qty ELSE "
                      "-p.qty END) FROM " +
                          t("purchases") + " p JOIN " + t("inventory") +
                          " i ON i.item_id = p.item_id GROUP BY i.key, p.user_id",
                      &err);
  if (!s->buyers) return "purchases: " + err;
  s->holds = PgQuery(
      c, "SELECT key, hold_id, user_id, qty, " + Ms("deadline") + ", seq FROM " + t("holds"), &err);
  if (!s->holds) return "holds: " + err;
  s->kv = PgQuery(c,
                  "SELECT key, value, type, coalesce(" + Ms("expires_at") + ", 0) FROM " + t("kv") +
                      " WHERE expires_at IS NULL OR expires_at > now()",
                  &err);
  if (!s->kv) return "kv: " + err;
  s->members = PgQuery(c, "SELECT key, member FROM " + t("kv_set_members"), &err);
  if (!s->members) return "kv_set_members: " + err;
  PgExec(c, "COMMIT", &err);
  return "";
}

// The items, whole and checked, by key.
std::string BuildItems(const Snapshot& s, std::map<std::string, std::unique_ptr<Inventory>>* out,
                       PgRestoreStats* stats) {
  PGresult* r = s.inventory.get();
  for (int i = 0; i < PQntuples(r); ++i) {
    auto inv = std::make_unique<Inventory>();
    inv->total = Int(r, i, 1);
    inv->available = Int(r, i, 2);
    inv->held = Int(r, i, 3);
    inv->sold = Int(r, i, 4);
    inv->limit = Int(r, i, 5);
    inv->hold_ttl_ms = Int(r, i, 6);
    inv->item_id = static_cast<uint64_t>(Int(r, i, 7));
    inv->next_event_seq = static_cast<uint64_t>(Int(r, i, 8));
    inv->next_hold_seq = static_cast<uint64_t>(Int(r, i, 9));
    (*out)[Text(r, i, 0)] = std::move(inv);
  }
  r = s.buyers.get();
  for (int i = 0; i < PQntuples(r); ++i) {
    int64_t bought = Int(r, i, 2);
    if (bought < 0) return "purchases of " + Text(r, i, 0) + " by " + Text(r, i, 1) + " below 0";
    if (bought == 0) continue;
    (*out)[Text(r, i, 0)]->users[Text(r, i, 1)].bought = bought;
  }
  r = s.holds.get();
  for (int i = 0; i < PQntuples(r); ++i) {
    auto it = out->find(Text(r, i, 0));
    if (it == out->end()) return "hold " + Text(r, i, 1) + " of a missing item " + Text(r, i, 0);
    Inventory& inv = *it->second;
    std::string id = Text(r, i, 1);
    Hold h{Text(r, i, 2), Int(r, i, 3), Int(r, i, 4), static_cast<uint64_t>(Int(r, i, 5)),
           HoldState::kOpen};
    InventoryUser& u = inv.users[h.user];
    u.held += h.qty;
    u.open_holds.emplace(h.seq, id);
    inv.open_deadlines.emplace(h.deadline_ms, id);
    inv.holds.emplace(std::move(id), std::move(h));
    ++stats->holds;
  }
  for (auto& [key, inv] : *out) {
    int64_t held = 0, sold = 0;
    for (const auto& [user, u] : inv->users) {
      held += u.held;
      sold += u.bought;
    }
    if (held != inv->held || sold != inv->sold ||
        inv->total != inv->available + inv->held + inv->sold) {
      return "item " + key + " does not add up: held " + std::to_string(inv->held) +
             " (holds say " + std::to_string(held) + "), sold " + std::to_string(inv->sold) +
             " (purchases say " + std::to_string(sold) + ")";
    }
    stats->buyers += inv->users.size();
  }
  stats->items = out->size();
  return "";
}

}  // namespace

std::string RestoreFromPostgres(const std::string& url, const std::string& schema,
                                const std::string& dir, PgRestoreStats* stats) {
  struct stat st;
  if (stat((dir + "/data.mdb").c_str(), &st) == 0) {
    return "the directory " + dir + " already holds a write-ahead log; restore into an empty one";
  }
  std::string err;
  PgConnPtr c = PgConnect(url, &err);
  if (c == nullptr) return "cannot connect to PostgreSQL: " + err;
  Snapshot snap;
  if (std::string e = ReadSnapshot(c.get(), schema, &snap); !e.empty()) return e;
  std::map<std::string, std::unique_ptr<Inventory>> items;
  if (std::string e = BuildItems(snap, &items, stats); !e.empty()) return e;

  Config cfg;
  cfg.dir = dir;
  cfg.threads = 1;
  cfg.checkpoint_log_records = 0;
  EngineImpl engine(cfg);
  engine.run_on_shard(0, [&](ShardState& shard) {
    Db& db = shard.dbs[0];
    for (auto& [key, inv] : items) {
      Entry* e = db.insert(key, std::move(inv), 0);
      InventoryKeyAttached(shard, 0, key, *e->as<InventoryValue>());
    }
    PGresult* kv = snap.kv.get();
    std::map<std::string, SetValue> sets;
    PGresult* m = snap.members.get();
    for (int i = 0; i < PQntuples(m); ++i) sets[Text(m, i, 0)].insert(Bytes(m, i, 1));
    for (int i = 0; i < PQntuples(kv); ++i) {
      std::string key = Text(kv, i, 0);
      Entry* e = nullptr;
      if (Text(kv, i, 2) == "set") {
        e = db.insert(key, Value(std::in_place_type<SetValue>, std::move(sets[key])), 0);
        ++stats->sets;
      } else {
        e = db.insert(key, Value(std::in_place_type<StringValue>, Bytes(kv, i, 1)), 0);
        ++stats->strings;
      }
      if (int64_t at = Int(kv, i, 3); at != 0) db.set_expire(e, at);
    }
  });
  // One shard here; allotd re-routes every key to its shard when it loads the checkpoint.
  err = engine.checkpoint();
  engine.shutdown();
  return err;
}

}  // namespace allot::internal
