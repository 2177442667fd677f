#include "tests/support/engine_fixture.h"

#include <algorithm>

#include "engine/engine_impl.h"
#include "engine/keyspace/inventory.h"
#include "engine/limits.h"

namespace allot::testing {

Reply Ok() { return Reply::Ok(); }
Reply Status(std::string_view s) { return Reply::Status(s); }
Reply Err(std::string_view text) { return Reply::Error(text); }
Reply Int(int64_t v) { return Reply::Int(v); }
Reply Bulk(std::string_view s) { return Reply::Bulk(s); }
Reply Nil() { return Reply::Null(); }
Reply Arr(std::vector<Reply> elems) { return Reply::Array(std::move(elems)); }
Reply BulkArr(std::initializer_list<std::string_view> elems) {
  std::vector<Reply> v;
  for (auto e : elems) v.push_back(Reply::Bulk(e));
  return Reply::Array(std::move(v));
}

std::vector<std::string> SortedStrings(const Reply& r) {
  std::vector<std::string> out;
  for (const Reply& e : r.array()) out.push_back(e.string());
  std::sort(out.begin(), out.end());
  return out;
}

EngineTest::EngineTest(unsigned shards) : shards_(shards) {}

void EngineTest::SetUp() {
  Config cfg;
  cfg.threads = shards_;
  cfg.clock_ms = [this] { return now_ms_.load(); };
  // Active expiry is driven explicitly by RunTimers() so tests stay deterministic.
  cfg.active_expire = false;
  engine_ = std::make_unique<Engine>(cfg);
}

void EngineTest::TearDown() { engine_.reset(); }

Reply EngineTest::Run(std::initializer_list<std::string_view> args) {
  return engine_->call(session_, std::span<const std::string_view>(args.begin(), args.size()));
}

Reply EngineTest::Run(const std::vector<std::string>& args) {
  std::vector<std::string_view> v(args.begin(), args.end());
  return engine_->call(session_, v);
}

void EngineTest::RunTimers() {
  auto& impl = engine_->impl();
  for (unsigned i = 0; i < impl.shard_count(); ++i) {
    impl.run_on_shard(i, [&](internal::ShardState& s) {
      int64_t now = impl.now_ms();
      for (auto& db : s.dbs) db.sweep(now, allot::limits::kExpireKeysPerSweepMax);
      internal::ExpireDueHolds(s, now, allot::limits::kExpireHoldsPerSweepMax);
    });
  }
}

}  // namespace allot::testing
