// hashes.cc: the hash family (HSET, HGET, ...)
#include "engine/commands/family.h"

namespace allot::internal {

void RegisterHashFamily(CommandTable&) {}

}  // namespace allot::internal
