// server_commands_test.cc: the engine's server family (engine/commands/server.cc) beyond
// what engine_test covers: SWAPDB, DEBUG. Expected replies checked against redis-server 7.0.15.
#include <gtest/gtest.h>

#include "engine/engine_impl.h"
#include "tests/support/engine_fixture.h"

namespace allot::testing {
namespace {

class ServerCommandsTest : public EngineTest {};

TEST_F(ServerCommandsTest, SwapdbSwapsEveryShardAndKeepsTtls) {
  Session s1;
  s1.db = 1;
  for (int i = 0; i < 40; ++i) {
    std::string k = "k" + std::to_string(i);
    ASSERT_EQ(engine().call(std::vector<std::string>{"SET", k, "db0"}), Ok());
  }
  std::vector<std::string_view> set1 = {"SET", "only1", "db1"};
  ASSERT_EQ(engine().call(s1, set1), Ok());
  ASSERT_EQ(Run({"PEXPIRE", "k1", "5000"}), Int(1));
  EXPECT_EQ(Run({"SWAPDB", "0", "1"}), Ok());
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));
  EXPECT_EQ(Run({"GET", "only1"}), Bulk("db1"));
  std::vector<std::string_view> dbsize = {"DBSIZE"}, pttl = {"PTTL", "k1"};
  EXPECT_EQ(engine().call(s1, dbsize), Int(40));
  EXPECT_EQ(engine().call(s1, pttl), Int(5000));
  AdvanceTime(5001);
  RunTimers();
  EXPECT_EQ(engine().call(s1, dbsize), Int(39));  // the TTL moved with its key
  EXPECT_EQ(Run({"SWAPDB", "1", "1"}), Ok());
  EXPECT_EQ(Run({"SWAPDB", "a", "1"}), Err("ERR invalid first DB index"));
  EXPECT_EQ(Run({"SWAPDB", "0", "b"}), Err("ERR invalid second DB index"));
  EXPECT_EQ(Run({"SWAPDB", "0", "99"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"SWAPDB", "-1", "0"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"SWAPDB", "0"}), Err("ERR wrong number of arguments for 'swapdb' command"));
}

TEST_F(ServerCommandsTest, SwapdbMovesInventoryHoldsWithTheirItem) {
  ASSERT_EQ(Run({"INV.CREATE", "item", "10", "HOLD", "1000"}), Ok());
  ASSERT_TRUE(Run({"INV.HOLD", "item", "u1", "QTY", "3"}).is_bulk());
  EXPECT_EQ(Run({"SWAPDB", "0", "7"}), Ok());
  EXPECT_EQ(Run({"EXISTS", "item"}), Int(0));
  Session s7;
  s7.db = 7;
  std::vector<std::string_view> get = {"INV.GET", "item"};
  Reply r = engine().call(s7, get);
  ASSERT_TRUE(r.is_map());
  EXPECT_EQ(*r.find("held"), Int(3));
  // The hold still returns to stock in the item's new database (timer or lazily).
  AdvanceTime(1001);
  RunTimers();
  Reply after = engine().call(s7, get);
  EXPECT_EQ(*after.find("held"), Int(0));
  EXPECT_EQ(*after.find("available"), Int(10));
}

TEST_F(ServerCommandsTest, DebugSubcommands) {
  ASSERT_EQ(Run({"SET", "k", "123"}), Ok());
  Reply obj = Run({"DEBUG", "OBJECT", "k"});
  ASSERT_TRUE(obj.is_status()) << obj.string();
  EXPECT_EQ(obj.string().substr(0, 9), "Value at:");
  EXPECT_NE(obj.string().find(" refcount:1 encoding:int"), std::string::npos) << obj.string();
  EXPECT_EQ(Run({"DEBUG", "OBJECT", "nokey"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"DEBUG", "SLEEP", "0"}), Ok());
  EXPECT_EQ(Run({"DEBUG", "SLEEP", "x"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"DEBUG", "LOG", "hello from the test"}), Ok());
  EXPECT_EQ(Run({"DEBUG", "JMAP"}), Err("ERR unknown subcommand 'JMAP'. Try DEBUG HELP."));
  EXPECT_TRUE(Run({"DEBUG", "HELP"}).is_array());
  // SET-ACTIVE-EXPIRE switches the shards' timer sweep (the fixture's RunTimers sweeps
  // regardless, so the switch itself is what is checked).
  EXPECT_EQ(Run({"DEBUG", "SET-ACTIVE-EXPIRE", "1"}), Ok());
  EXPECT_TRUE(engine().impl().active_expire_enabled());
  EXPECT_EQ(Run({"DEBUG", "SET-ACTIVE-EXPIRE", "0"}), Ok());
  EXPECT_FALSE(engine().impl().active_expire_enabled());
  EXPECT_EQ(Run({"DEBUG", "SET-ACTIVE-EXPIRE", "2"}), Err("ERR syntax error"));
}

}  // namespace
}  // namespace allot::testing
