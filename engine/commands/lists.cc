// lists.cc: the list family (LPUSH, LRANGE, ...)
#include "engine/commands/family.h"

namespace allot::internal {

void RegisterListFamily(CommandTable&) {}

}  // namespace allot::internal
