#include "engine/keyspace/shard_state.h"

#include "engine/keyspace/inventory.h"

namespace allot::internal {

ShardState::ShardState(unsigned shard_id)
    : id(shard_id),
      inventory_timers(std::make_unique<InventoryTimers>()),
      rng_state(0x5eed0000ull + shard_id) {
  for (size_t i = 0; i < dbs.size(); ++i) {
    dbs[i].set_stats(&stats);
    dbs[i].set_watch(&watches, static_cast<int>(i));
  }
}

ShardState::~ShardState() = default;

}  // namespace allot::internal
