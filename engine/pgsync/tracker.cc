#include "engine/pgsync/tracker.h"

#include "engine/commands/args.h"
#include "engine/keyspace/inventory.h"
#include "engine/keyspace/shard_state.h"

namespace allot::internal {

bool PgTracker::mirrored(std::string_view key) const {
  for (const std::string& p : shared->patterns) {
    if (GlobMatch(p, key)) return true;
  }
  return false;
}

void PgTracker::mark(std::string_view key, Inventory* inv) {
  const uint64_t v = ++version;
  auto it = dirty.find(key);
  if (it != dirty.end()) {
    it->second = v;
  } else {
    dirty.emplace(std::string(key), v);
  }
  if (inv != nullptr) {
    inv->pg_version = v;
    inv->pg_epoch = epoch;
  }
}

void PgTracker::mark_item(std::string_view key, Inventory& inv) {
  // Same epoch: the key went into `dirty` (under this name: a RENAME marks the new name
  // through mark()) and nothing has left `dirty` since, so it is still there.
  if (inv.pg_epoch == epoch) {
    inv.pg_version = ++version;
    return;
  }
  mark(key, &inv);
}

PgTracker* PgTrackerFor(ShardState& shard, int db) { return db == 0 ? shard.pg.get() : nullptr; }

void PgRecordSale(PgTracker* t, std::string_view key, Inventory& inv, int64_t qty, int64_t at_ms,
                  bool cancelled, std::string_view user, std::string_view hold_id,
                  std::string_view request_id) {
  if (t == nullptr) return;
  SaleEvent& ev = inv.unsynced.emplace_back();
  ev.seq = inv.next_event_seq++;
  ev.qty = qty;
  ev.at_ms = at_ms;
  ev.cancelled = cancelled;
  ev.user.assign(user);
  if (!hold_id.empty()) ev.hold_id.assign(hold_id);
  if (!request_id.empty()) ev.request_id.assign(request_id);
  t->add_backlog(1);
  t->mark_item(key, inv);
}

void PgItemDropped(void* tracker, const std::string& key, const Entry& entry) {
  const InventoryValue& inv = entry.as<InventoryValue>();
  // A moved-from value (RENAME, MOVE took the item elsewhere) has nothing to keep.
  if (inv == nullptr || inv->unsynced.empty()) return;
  // Copied, not moved: the entry may still be saved by a running checkpoint (Db::clear
  // keeps a table for it), with its ledger as it was.
  static_cast<PgTracker*>(tracker)->add_orphans(key, inv->item_id, inv->unsynced);
}

void PgItemLeft(PgTracker* t, const std::string& key, Inventory& inv) {
  if (t == nullptr || inv.unsynced.empty()) return;
  t->add_orphans(key, inv.item_id, std::move(inv.unsynced));
  inv.unsynced.clear();  // a moved-from deque is valid but unspecified
}

void PgArrivedInDb0(ShardState& shard, std::string_view key, Entry* e) {
  PgTracker* t = PgTrackerFor(shard, 0);
  if (t == nullptr) return;
  if (e->type() == ValueType::kInventory) {
    t->mark(key, e->as<InventoryValue>().get());
  } else if (t->mirrored(key)) {
    t->mark(key);
  }
}

void PgDb0Leaving(ShardState& shard) {
  PgTracker* t = PgTrackerFor(shard, 0);
  if (t == nullptr) return;
  Db& db = shard.dbs[0];
  std::vector<const std::string*> items;
  db.for_each(0, [&](const std::string& key, Entry& e) {
    if (e.type() == ValueType::kInventory && !e.as<InventoryValue>()->unsynced.empty()) {
      items.push_back(&key);
    }
  });
  for (const std::string* key : items) {
    // The lookup saves the entry for a running checkpoint before its ledger changes; with
    // time 0 nothing expires, so the table does not change.
    Entry* e = db.peek(*key, 0);
    PgItemLeft(t, *key, *e->as<InventoryValue>());
  }
}

void PgTracker::add_orphans(std::string key, uint64_t item_id, SaleLedger<SaleEvent> events) {
  shared->orphan_events.fetch_add(static_cast<int64_t>(events.size()));
  orphans.push_back(
      PgOrphanEvents{std::move(key), item_id, std::move(events), next_orphan_serial++});
}

}  // namespace allot::internal
