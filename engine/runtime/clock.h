// clock.h: the engine's notion of "now".
#pragma once

#include <time.h>

#include <cstdint>

namespace allot::internal {

// Unix time in milliseconds, as Redis uses for expiry (mstime()).
inline int64_t RealClockMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// RealClockMs() to within a few milliseconds (the kernel's tick), about ten times cheaper
// to read: for bookkeeping that counts seconds (client idle times), never for expiry.
inline int64_t RealClockCoarseMs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Monotonic microseconds, for measuring durations (latency, stats).
inline int64_t MonotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace allot::internal
