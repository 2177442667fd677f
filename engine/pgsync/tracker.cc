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

PgTracker* PgTrackerFor(ShardState& shard, int db) { return db == 0 ? shard.pg.get() : nullptr; }

void PgRecordSale(PgTracker* t, std::string_view key, Inventory& inv, SaleEvent ev) {
  if (t == nullptr) return;
  ev.seq = inv.next_event_seq++;
  inv.unsynced.push_back(std::move(ev));
  t->backlog.fetch_add(1, std::memory_order_relaxed);
  t->mark(key);
}

}  // namespace allot::internal
