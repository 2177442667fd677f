// object_encoding.h: the encoding name Redis 7.0 would report for a value (OBJECT
// ENCODING, DEBUG OBJECT). Defined in keys.cc.
#pragma once

#include "engine/keyspace/value.h"

namespace allot::internal {

const char* RedisEncodingName(const Entry& e);

}  // namespace allot::internal
