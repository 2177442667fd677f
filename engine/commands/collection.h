// collection.h: what the set and hash families share: typed lookup, random picks from a
// hash table, and the SSCAN/HSCAN cursor.
//
// Sets and hashes are std::unordered_{set,map} (engine/keyspace/value.h). Two Redis
// behaviours need care on top of them:
//
//  * Random picks (SPOP, SRANDMEMBER, HRANDFIELD) choose a random bucket, retrying empty
//    ones a bounded number of times, then a random element of that bucket. Like Redis's
//    dictGetFairRandomKey this is close to, not exactly, uniform. std containers never
//    shrink their bucket array on erase, so ShrinkIfSparse() rehashes a table that fell
//    under 1/10 full (Redis resizes at the same fill), which keeps empty-bucket retries
//    rare. The random source is the shard's next_random(): runs are reproducible.
//
//  * The scan cursor walks buckets in index order. It encodes the bucket count it was
//    issued for in its high 32 bits and the next bucket in its low 32 bits. While the
//    table is not resized, a bucket-order walk returns every element present for the whole
//    scan exactly once (erasing and inserting without a rehash never moves an element to
//    another bucket). When the table was resized between two calls (growth on insert, or
//    ShrinkIfSparse), the old position means nothing in the new layout, so the scan starts
//    over from bucket 0: elements may be returned again (Redis allows duplicates), never
//    missed. Redis's reverse-binary cursor avoids the restart; std containers' prime
//    bucket counts do not allow that trick.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "engine/commands/command.h"
#include "engine/commands/status.h"
#include "engine/keyspace/db.h"
#include "engine/keyspace/shard_state.h"
#include "engine/limits.h"
#include "engine/util/assert.h"

namespace allot::internal {

// The live entry of key if it holds type `t`, nullptr if the key does not exist, or
// kWrongType.
OpResult<Entry*> FindOfType(Db& db, std::string_view key, int64_t now_ms, ValueType t);

// SSCAN/HSCAN options after the cursor: [MATCH pattern] [COUNT count].
struct ScanOptions {
  std::string_view pattern;
  bool use_pattern = false;  // false for no MATCH and for "*", as Redis
  size_t count = limits::kScanCountDefault;
};

// Redis's parseScanCursorOrReply: strtoul over the whole argument (so "-1" wraps and ""
// is 0), kInvalidCursor otherwise.
OpResult<uint64_t> ParseScanCursor(std::string_view arg);
// Redis's scanGenericCommand option loop over args[first..]: COUNT not an integer is
// kNotInteger, COUNT < 1 or any unknown or incomplete option is kSyntax. COUNT is capped
// at limits::kScanCountMax.
OpResult<ScanOptions> ParseScanOptions(Args args, size_t first);

// The count of SRANDMEMBER/HRANDFIELD, an integer in [-INT64_MAX, INT64_MAX], or the error
// reply to send (Redis: getRangeLongFromObjectOrReply(c, o, -LONG_MAX, LONG_MAX, &l, NULL)).
std::variant<int64_t, Reply> ParseRandomCount(std::string_view arg);

// Whether a with-repetition (negative) count is small enough to build a reply for: Redis
// streams such replies into the client's output buffer, the engine builds them in memory.
inline bool RepeatCountAllowed(uint64_t count) { return count <= limits::kRandomRepeatCountMax; }

// Rehashes a table that fell under 1/10 full, so random picks stay cheap (see above).
template <class C>
void ShrinkIfSparse(C& c) {
  constexpr size_t kMinBuckets = 64;
  if (c.bucket_count() > kMinBuckets && c.size() * 10 < c.bucket_count()) c.rehash(0);
}

// A random element of a non-empty container (see the file comment for the method).
template <class C>
const typename C::value_type& RandomElement(const C& c, ShardState& shard) {
  ALLOT_CHECK(!c.empty());
  constexpr int kBucketTriesMax = 16;
  size_t buckets = c.bucket_count();
  size_t chosen = buckets;
  for (int i = 0; i < kBucketTriesMax && chosen == buckets; ++i) {
    size_t b = shard.next_random() % buckets;
    if (c.begin(b) != c.end(b)) chosen = b;
  }
  // Unlucky on a sparse table: the first non-empty bucket from a random start.
  for (size_t start = shard.next_random() % buckets, i = 0; chosen == buckets; ++i) {
    ALLOT_CHECK(i < buckets);
    size_t b = (start + i) % buckets;
    if (c.begin(b) != c.end(b)) chosen = b;
  }
  auto it = c.begin(chosen);
  std::advance(it, shard.next_random() % c.bucket_size(chosen));
  return *it;
}

// `count` distinct random elements of c, count < c.size(), in random order.
template <class C>
std::vector<const typename C::value_type*> RandomDistinct(const C& c, size_t count,
                                                          ShardState& shard) {
  using Elem = const typename C::value_type*;
  ALLOT_CHECK(count < c.size());
  std::vector<Elem> out;
  out.reserve(count);
  if (count * 3 <= c.size()) {
    // Few of many: sample until enough distinct (Redis's SRANDMEMBER case 4). Bounded, in
    // case an unlucky run of duplicates; the fallback below is exact.
    std::unordered_set<Elem> seen;
    for (size_t tries = 0; out.size() < count && tries < count * 8; ++tries) {
      Elem e = &RandomElement(c, shard);
      if (seen.insert(e).second) out.push_back(e);
    }
    if (out.size() == count) return out;
    out.clear();
  }
  // Many of many: a partial Fisher-Yates shuffle of every element (Redis's case 3).
  std::vector<Elem> all;
  all.reserve(c.size());
  for (const auto& e : c) all.push_back(&e);
  for (size_t i = 0; i < count; ++i) {
    size_t j = i + shard.next_random() % (all.size() - i);
    std::swap(all[i], all[j]);
  }
  all.resize(count);
  return all;
}

// The SSCAN/HSCAN reply: [cursor, [items...]] (an array in RESP3 too).
inline Reply ScanReply(uint64_t next_cursor, std::vector<Reply> items) {
  return Reply::Array({Reply::Bulk(std::to_string(next_cursor)), Reply::Array(std::move(items))});
}

// Visits buckets from `cursor` (see the file comment) until about opts.count elements were
// visited or 10x that many buckets were (Redis's maxiterations); calls fn(element) for each
// element of the visited buckets; returns the next cursor, 0 when the walk is complete.
template <class C, class Fn>
uint64_t ScanBuckets(const C& c, uint64_t cursor, size_t count, Fn fn) {
  uint64_t buckets = c.bucket_count();
  ALLOT_CHECK(buckets > 0 && buckets <= UINT32_MAX);
  uint64_t bucket = cursor & UINT32_MAX;
  // A cursor issued for another layout (or made up by the client) restarts the walk.
  if ((cursor >> 32) != buckets) bucket = 0;
  size_t visited = 0;
  size_t bucket_visits_max = count * 10;
  for (size_t visits = 0; bucket < buckets && visited < count && visits < bucket_visits_max;
       ++visits, ++bucket) {
    for (auto it = c.begin(bucket); it != c.end(bucket); ++it) {
      fn(*it);
      ++visited;
    }
  }
  if (bucket >= buckets) return 0;
  return (buckets << 32) | bucket;
}

}  // namespace allot::internal
