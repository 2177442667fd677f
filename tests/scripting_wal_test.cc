// scripting_wal_test.cc: scripts in the write-ahead log. A script's writes, on any number
// of shards, are one ALLOT.EFFECTS record that replays to the same state without running
// the script again; a script that writes nothing logs nothing; writes made before a
// script error are logged and kept; SPOP inside a script replays the members it took.
#include <allot/engine.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "tests/support/engine_fixture.h"
#include "tests/wal_support.h"

namespace allot::testing {
namespace {

class ScriptingWalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("allot-scripting-wal");
    Open();
    Run({"SCRIPT", "FLUSH"});
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    engine_.reset();
    Config cfg;
    cfg.threads = 4;
    cfg.dir = dir_;
    cfg.durability = Durability::kAlways;
    cfg.clock_ms = [] { return int64_t{1767225600000}; };
    cfg.active_expire = false;
    engine_ = std::make_unique<Engine>(cfg);
  }
  Reply Run(std::vector<std::string> args) { return engine_->call(args); }
  uint64_t Records() { return engine_->impl().wal()->stats().records; }

  std::string dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ScriptingWalTest, MultiShardScriptIsOneRecordAndReplays) {
  std::vector<std::string> keys = {"alpha", "beta", "gamma", "delta"};
  std::set<unsigned> shards;
  for (auto& k : keys) shards.insert(engine_->shard_of(k));
  ASSERT_GE(shards.size(), 2u);
  ASSERT_EQ(Run({"SADD", "delta", "a", "b", "c", "d"}), Int(4));
  uint64_t before = Records();
  // The script's output depends on math.random: replaying it would diverge; replaying its
  // effects cannot.
  std::string body =
      "redis.call('SET', KEYS[1], tostring(math.random(1000000))) "
      "redis.call('INCRBY', KEYS[2], 41) "
      "redis.call('RPUSH', KEYS[3], 'x', 'y') "
      "return redis.call('SPOP', KEYS[4])";
  Reply r = Run({"EVAL", body, "4", "alpha", "beta", "gamma", "delta"});
  ASSERT_TRUE(r.is_bulk()) << r.debug_string();
  EXPECT_EQ(Records() - before, 1u);
  auto state = DumpState(*engine_);
  auto members = SortedStrings(Run({"SMEMBERS", "delta"}));
  Open();
  EXPECT_EQ(DumpState(*engine_), state);
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", "delta"})), members);
}

TEST_F(ScriptingWalTest, ReadOnlyScriptLogsNothing) {
  ASSERT_EQ(Run({"SET", "r", "1"}), Ok());
  uint64_t before = Records();
  EXPECT_EQ(Run({"EVAL", "return redis.call('GET', KEYS[1])", "1", "r"}), Bulk("1"));
  EXPECT_EQ(Run({"EVAL", "return redis.pcall('INCR', KEYS[1], 'x')", "1", "r"}).is_error(), true);
  EXPECT_EQ(Records(), before);
}

TEST_F(ScriptingWalTest, WritesBeforeAnErrorAreLogged) {
  ASSERT_EQ(Run({"SET", "s", "text"}), Ok());
  Reply r = Run({"EVAL",
                 "redis.call('INCR', KEYS[1]) redis.call('INCR', KEYS[2]) "
                 "redis.call('INCR', KEYS[1])",
                 "2", "n", "s"});
  EXPECT_TRUE(r.is_error());
  Open();
  EXPECT_EQ(Run({"GET", "n"}), Bulk("1"));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("text"));
}

TEST_F(ScriptingWalTest, FunctionEffectsReplay) {
  ASSERT_EQ(Run({"FUNCTION", "LOAD",
                 "#!lua name=sale\nredis.register_function('buy', function(keys, args) "
                 "redis.call('DECR', keys[1]) return redis.call('SADD', keys[2], args[1]) end)"}),
            Bulk("sale"));
  ASSERT_EQ(Run({"SET", "stock", "10"}), Ok());
  EXPECT_EQ(Run({"FCALL", "buy", "2", "stock", "buyers", "u1"}), Int(1));
  // The library is logged too (scripting_functions_wal_test.cc), the call only by its
  // effects.
  Open();
  EXPECT_EQ(Run({"GET", "stock"}), Bulk("9"));
  EXPECT_EQ(Run({"SISMEMBER", "buyers", "u1"}), Int(1));
  EXPECT_EQ(Run({"FCALL", "buy", "2", "stock", "buyers", "u2"}), Int(1));
}

}  // namespace
}  // namespace allot::testing
