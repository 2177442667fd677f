// sets.cc: the set family (SADD, SISMEMBER, ...)
#include "engine/commands/family.h"

namespace allot::internal {

void RegisterSetFamily(CommandTable&) {}

}  // namespace allot::internal
