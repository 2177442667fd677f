// engine_fixture.h: an in-process multi-shard engine for tests, with a controllable clock.
//
//   class StringsTest : public allot::testing::EngineTest {};
//   TEST_F(StringsTest, Get) {
//     EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
//     EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
//     AdvanceTime(1500);  // the engine's clock moves; lazy expiry sees it at once
//   }
#pragma once

#include <allot/engine.h>
#include <gtest/gtest.h>

#include <atomic>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace allot::testing {

// Reply builders for expectations.
Reply Ok();
Reply Status(std::string_view s);
Reply Err(std::string_view text);  // full text, e.g. "ERR syntax error"
Reply Int(int64_t v);
Reply Bulk(std::string_view s);
Reply Nil();
Reply Arr(std::vector<Reply> elems);
// An array of bulk strings.
Reply BulkArr(std::initializer_list<std::string_view> elems);
// Sorted copy of an array/set of bulk strings, for order-free comparisons.
std::vector<std::string> SortedStrings(const Reply& r);

class EngineTest : public ::testing::Test {
 protected:
  // Shards: 4 by default so that multi-shard paths are exercised on any machine.
  explicit EngineTest(unsigned shards = 4);
  void SetUp() override;
  void TearDown() override;

  Reply Run(std::initializer_list<std::string_view> args);
  Reply Run(const std::vector<std::string>& args);
  // Uses the fixture's session (SELECT persists across Run calls, like a connection).
  Session& session() { return session_; }

  // The test clock starts at a fixed Unix time (2026-01-01) and moves only here.
  void AdvanceTime(int64_t ms) { now_ms_.fetch_add(ms); }
  int64_t NowMs() const { return now_ms_.load(); }
  // Lets every shard's timer run once at the current test time (active expiry).
  void RunTimers();

  Engine& engine() { return *engine_; }

  unsigned shards_;
  std::atomic<int64_t> now_ms_{1767225600000};  // 2026-01-01T00:00:00Z
  Session session_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace allot::testing
