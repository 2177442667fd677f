#include "engine/txn/multi_shard.h"

#include <thread>

#include "engine/util/assert.h"

namespace allot::internal {

void MultiShardTxn::arrive() {
  const unsigned n = static_cast<unsigned>(shards_.size());
  unsigned arrived = arrived_.fetch_add(1, std::memory_order_acq_rel) + 1;
  ALLOT_CHECK(arrived <= n);
  if (arrived == n) {
    // Every other shard of the transaction is parked: exclusive access to all of them.
    body_();
    released_.store(1, std::memory_order_release);
    released_.notify_all();
  } else {
    // Spin briefly (the others are usually microseconds away), then sleep on a futex.
    for (int i = 0; i < 2000 && released_.load(std::memory_order_acquire) == 0; ++i) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    while (released_.load(std::memory_order_acquire) == 0) released_.wait(0);
  }
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace allot::internal
