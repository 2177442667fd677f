// inventory.cc: the native inventory family (INV.*).
#include "engine/commands/family.h"
#include "engine/keyspace/inventory.h"

namespace allot::internal {

int64_t ExpireDueHolds(ShardState&, int64_t, size_t) { return -1; }

void RegisterInventoryFamily(CommandTable&) {}

}  // namespace allot::internal
