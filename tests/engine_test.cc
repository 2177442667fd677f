// engine_test.cc: the runtime and the public API (routing, multi-shard, async, batch).
#include <allot/engine.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/commands/command.h"
#include "engine/engine_impl.h"
#include "engine/keyspace/slot.h"
#include "tests/support/engine_fixture.h"

namespace allot::testing {
namespace {

class EngineApiTest : public EngineTest {};

TEST(SlotTest, MatchesRedisCluster) {
  // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
  EXPECT_EQ(internal::Crc16("123456789"), 0x31C3);
  EXPECT_EQ(internal::KeySlot("foo"), 12182);
  EXPECT_EQ(internal::KeySlot("bar"), 5061);
  EXPECT_EQ(internal::KeySlot("{user1000}.following"), internal::KeySlot("{user1000}.followers"));
  EXPECT_EQ(internal::HashTag("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(internal::HashTag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(internal::HashTag("foo{bar}{zap}"), "bar");
}

TEST_F(EngineApiTest, UnknownCommandAndArity) {
  EXPECT_EQ(Run({"NOPE", "a", "b"}),
            Err("ERR unknown command 'NOPE', with args beginning with: 'a' 'b' "));
  EXPECT_EQ(Run({"GET"}), Err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(Run({"get", "a", "b"}), Err("ERR wrong number of arguments for 'get' command"));
}

TEST_F(EngineApiTest, PingEchoSelect) {
  EXPECT_EQ(Run({"PING"}), Status("PONG"));
  EXPECT_EQ(Run({"ping", "hi"}), Bulk("hi"));
  EXPECT_EQ(Run({"ECHO", "x"}), Bulk("x"));
  EXPECT_EQ(Run({"SET", "k", "db0"}), Ok());
  EXPECT_EQ(Run({"SELECT", "1"}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  EXPECT_EQ(Run({"SELECT", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"SELECT", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"SELECT", "0"}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Bulk("db0"));
}

TEST_F(EngineApiTest, KeysSpreadOverShardsAndDbsizeSumsThem) {
  std::vector<bool> seen(engine().shards());
  for (int i = 0; i < 200; ++i) {
    std::string k = "key:" + std::to_string(i);
    seen[engine().shard_of(k)] = true;
    EXPECT_EQ(Run({"SET", k, "v"}), Ok());
  }
  for (bool s : seen) EXPECT_TRUE(s);
  EXPECT_EQ(Run({"DBSIZE"}), Int(200));
  EXPECT_EQ(Run({"FLUSHALL"}), Ok());
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
}

TEST_F(EngineApiTest, AsyncAndBatch) {
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i) {
    std::string k = "a:" + std::to_string(i);
    std::string_view args[] = {"SET", k, "1"};
    engine().call_async(args, [&](Reply r) {
      EXPECT_EQ(r, Reply::Ok());
      done.fetch_add(1);
    });
  }
  while (done.load() < 100) std::this_thread::yield();
  std::vector<std::vector<std::string>> batch;
  for (int i = 0; i < 100; ++i) batch.push_back({"GET", "a:" + std::to_string(i)});
  batch.push_back({"DBSIZE"});
  batch.push_back({"NOPE"});
  auto replies = engine().call_batch(batch);
  ASSERT_EQ(replies.size(), 102u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(replies[i], Bulk("1"));
  EXPECT_EQ(replies[100], Int(100));
  EXPECT_TRUE(replies[101].is_error());
}

// Many threads running all-shard commands and single-shard commands at once: the
// multi-shard protocol must neither deadlock nor lose a reply.
TEST_F(EngineApiTest, ConcurrentMultiShardCommandsDoNotDeadlock) {
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        std::string k = "t" + std::to_string(t) + ":" + std::to_string(i);
        std::string_view set[] = {"SET", k, "v"};
        if (!engine().call(set).is_status()) errors.fetch_add(1);
        std::string_view dbsize[] = {"DBSIZE"};
        if (!engine().call(dbsize).is_integer()) errors.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(Run({"DBSIZE"}), Int(16 * 500));
}

// A handler that reaches for a key its command did not declare must crash, in release
// builds too: the key's shard is not held, so touching it would race with its owner.
TEST_F(EngineApiTest, UndeclaredKeyOutsideTheHeldShardCrashes) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  std::string declared = "a", other = "b";
  for (int i = 0; engine().shard_of(other) == engine().shard_of(declared); ++i) {
    other = "b" + std::to_string(i);
  }
  auto& impl = engine().impl();
  internal::ShardState* held[1] = {&impl.shard(engine().shard_of(declared))};
  Session session;
  internal::CmdCtx ctx;
  ctx.engine = &impl;
  ctx.session = &session;
  ctx.shards = std::span<internal::ShardState* const>(held, 1);
  ctx.home = held[0];
  ctx.routed_key = declared.data();
  EXPECT_EQ(&ctx.shard_of(declared), held[0]);
  EXPECT_DEATH(ctx.shard_of(other), "key outside the command's shards");
}

}  // namespace
}  // namespace allot::testing
