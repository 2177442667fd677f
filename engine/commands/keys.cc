// keys.cc: the generic key family (DEL, EXISTS, EXPIRE, SCAN, ...)
#include "engine/commands/family.h"

namespace allot::internal {

void RegisterKeyFamily(CommandTable&) {}

}  // namespace allot::internal
