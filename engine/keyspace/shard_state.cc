#include "engine/keyspace/shard_state.h"

#include "engine/keyspace/inventory.h"
#include "engine/pgsync/tracker.h"

namespace allot::internal {

ShardState::ShardState(unsigned shard_id)
    : id(shard_id),
      inventory_timers(std::make_unique<InventoryTimers>()),
      rng_state(0x5eed0000ull + shard_id) {
  for (Db& db : dbs) db.set_stats(&stats);
}

ShardState::~ShardState() = default;

}  // namespace allot::internal
