// allot/config.h: how an embedded Engine (and allotd) is set up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace allot {

struct Config {
  // Number of shard threads; 0 means one per online core.
  unsigned threads = 0;
  // Data directory for the write-ahead log and checkpoints; empty means memory only.
  std::string dir;
  // Pin shard thread i to core i % online cores. Off in tests that oversubscribe.
  bool pin_threads = false;
  // Source of "now" in Unix milliseconds for expiry and hold deadlines. Empty means the
  // real clock (CLOCK_REALTIME). Tests inject a controllable clock; it is called from
  // shard threads concurrently, so it must be thread-safe.
  std::function<int64_t()> clock_ms;
  // Interval of each shard's active expiry sweep (keys with a TTL, and holds past their
  // deadline), in milliseconds. Redis's default hz 10 gives 100 ms.
  uint32_t active_expire_interval_ms = 100;
  // Whether the active sweep runs at all (DEBUG SET-ACTIVE-EXPIRE 0 turns it off).
  bool active_expire = true;
};

}  // namespace allot
