// strings_util.h: helpers shared by the string family files (strings.cc, counters.cc).
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/commands/command_table.h"
#include "engine/commands/status.h"
#include "engine/keyspace/db.h"
#include "engine/limits.h"

namespace allot::internal {

// The live string entry of key, nullptr if the key is missing, or kWrongType.
inline OpResult<Entry*> FindString(Db& db, std::string_view key, int64_t now_ms) {
  Entry* e = db.find(key, now_ms);
  if (e != nullptr && e->type() != ValueType::kString) return OpStatus::kWrongType;
  return e;
}

// Whether a string of size bytes may grow by add bytes (Redis's checkStringLength against
// proto-max-bulk-len), without overflowing the sum.
inline bool StringFits(uint64_t size, uint64_t add) {
  return add <= limits::kStringBytesMax && size <= limits::kStringBytesMax - add;
}

// INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT (counters.cc); called by RegisterStringFamily.
void RegisterCounterCommands(CommandTable& t);

}  // namespace allot::internal
