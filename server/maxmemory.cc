// maxmemory: refusing writes that grow memory over the limit, and evicting plain keys
// when a policy allows it. Inventory keys are never evicted, whatever the policy.
//
// Used memory is UsedMemoryBytes() (server/memory.h). The check runs in the connection
// before a kCmdDenyOom command (Connection::refusal). Eviction deletes keys of the
// connection's own shard on its own thread (a shard's keys belong to its thread) by
// running DEL through the engine, so the WAL logs it like any other delete and a restart
// does not bring evicted keys back. When this shard has nothing to evict, the other
// shards are asked (one queued request per shard at a time) and this command is refused.
#include <algorithm>

#include "engine/util/assert.h"
#include "server/log.h"
#include "server/memory.h"
#include "server/server.h"

namespace allot::server {

namespace {

// Keys evicted at most per command (Redis bounds its eviction loop by time instead).
constexpr size_t kEvictPerCallMax = 64;
// Eviction asked of other shards goes down to limit - limit / this.
constexpr uint64_t kEvictLowWaterDivisor = 20;
// Random probes for a victim before giving up on this shard.
constexpr int kEvictSamples = 16;

// A sink for the DEL of an evicted key: its reply goes nowhere (in `durability always` it
// arrives later from the log writer, hence static).
struct DiscardSink final : internal::ReplySink {
  void deliver(Reply) override {}
};
DiscardSink g_discard;

bool Evictable(const internal::Entry& e, bool volatile_only) {
  if (e.type() == internal::ValueType::kInventory) return false;
  return !volatile_only || e.expire_at_ms != 0;
}

// A victim of shard by policy: (db, key), or db = -1.
std::pair<int, std::string> PickVictim(internal::ShardState& shard, EvictionPolicy policy,
                                       int64_t now) {
  bool volatile_only = policy != EvictionPolicy::kAllKeysRandom;
  if (policy != EvictionPolicy::kVolatileTtl) {
    for (int i = 0; i < kEvictSamples; ++i) {
      int db = static_cast<int>(shard.next_random() % shard.dbs.size());
      // Prefer a non-empty db: start at a random one and walk.
      for (size_t k = 0; k < shard.dbs.size() && shard.dbs[db].size() == 0; ++k) {
        db = (db + 1) % static_cast<int>(shard.dbs.size());
      }
      internal::Db& d = shard.dbs[db];
      const std::string* key = d.random_key(now, shard.next_random());
      if (key == nullptr) return {-1, ""};
      internal::Entry* e = d.peek(*key, now);
      if (e != nullptr && Evictable(*e, volatile_only)) return {db, *key};
    }
    if (!volatile_only) return {-1, ""};
  }
  // volatile-ttl, or volatile-random that sampled no key with a TTL: the soonest deadline.
  std::pair<int, std::string> best{-1, ""};
  int64_t best_at = 0;
  for (size_t db = 0; db < shard.dbs.size(); ++db) {
    shard.dbs[db].for_each_volatile([&](const std::string& key, internal::Entry& e) {
      if (!Evictable(e, true)) return true;
      if (best.first < 0 || e.expire_at_ms < best_at) {
        best = {static_cast<int>(db), key};
        best_at = e.expire_at_ms;
      }
      return false;
    });
  }
  return best;
}

}  // namespace

EvictionPolicy ParseEvictionPolicy(std::string_view name) {
  if (name == "allkeys-random" || name == "allkeys-lru" || name == "allkeys-lfu") {
    return EvictionPolicy::kAllKeysRandom;
  }
  if (name == "volatile-random" || name == "volatile-lru" || name == "volatile-lfu") {
    return EvictionPolicy::kVolatileRandom;
  }
  if (name == "volatile-ttl") return EvictionPolicy::kVolatileTtl;
  return EvictionPolicy::kNoEviction;
}

bool Server::over_maxmemory() const {
  uint64_t limit = limits_.maxmemory.load(std::memory_order_relaxed);
  return limit > 0 && static_cast<uint64_t>(UsedMemoryBytes()) > limit;
}

size_t Server::evict_on(unsigned shard_id, size_t max, uint64_t target) {
  auto policy = static_cast<EvictionPolicy>(limits_.eviction.load(std::memory_order_relaxed));
  if (policy == EvictionPolicy::kNoEviction) return 0;
  internal::ShardState& shard = engine().shard(shard_id);
  size_t n = 0;
  while (n<max&& static_cast<uint64_t>(UsedMemoryBytes())> target) {
    auto [db, key] = PickVictim(shard, policy, engine().now_ms());
    if (db < 0) break;
    Session session;
    session.db = db;
    std::string_view argv[2] = {"DEL", key};
    engine().execute_here(session, argv, shard, &g_discard);
    ++n;
  }
  if (n > 0) {
    evicted_keys.fetch_add(n, std::memory_order_relaxed);
    LogVerbose("Evicted {} keys on shard {} (maxmemory)", n, shard_id);
  }
  return n;
}

bool Server::make_room(unsigned shard) {
  if (!over_maxmemory()) return true;
  uint64_t limit = limits_.maxmemory.load(std::memory_order_relaxed);
  if (evict_on(shard, kEvictPerCallMax, limit) > 0 && !over_maxmemory()) return true;
  if (static_cast<EvictionPolicy>(limits_.eviction.load()) == EvictionPolicy::kNoEviction) {
    return false;
  }
  // Nothing (or not enough) here: the other shards evict on their own threads, a little
  // below the limit (kEvictLowWaterDivisor) so that this shard's next writes find room
  // instead of asking again at once.
  uint64_t target = limit - std::max<uint64_t>(limit / kEvictLowWaterDivisor, 1);
  for (unsigned i = 0; i < engine().shard_count(); ++i) {
    if (i == shard || evicting_[i].exchange(true)) continue;
    engine().run_on_shard_async(i, [this, i, target](internal::ShardState&) {
      evict_on(i, kEvictPerCallMax * 16, target);
      evicting_[i].store(false);
    });
  }
  return false;
}

}  // namespace allot::server
