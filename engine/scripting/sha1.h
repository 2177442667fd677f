// sha1.h: SHA-1 as Redis's redis.sha1hex and script cache use it (40 lower-case hex digits).
#pragma once

#include <string>
#include <string_view>

namespace allot::internal {

// The SHA-1 of data as 40 lower-case hex digits.
std::string Sha1Hex(std::string_view data);

}  // namespace allot::internal
