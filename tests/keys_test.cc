// keys_test.cc: the generic key family (keys.cc, keys_scan.cc) and key expiry, against
// Redis 7's replies. Expected replies and error texts were checked against redis-server 7.0.
#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "engine/engine_impl.h"
#include "tests/support/engine_fixture.h"

namespace allot::testing {
namespace {

constexpr std::string_view kNotInt = "ERR value is not an integer or out of range";
constexpr std::string_view kSyntax = "ERR syntax error";

class KeysTest : public EngineTest {
 protected:
  // Stores a set under key directly in the shard's Db (independent of the set family).
  void PutSet(const std::string& key, std::initializer_list<std::string> members = {"m"}) {
    auto& impl = engine().impl();
    impl.run_on_shard(engine().shard_of(key), [&](internal::ShardState& s) {
      s.dbs[session().db].assign(key, internal::SetValue(members.begin(), members.end()), NowMs());
    });
  }
  // The members of the set under key in database db, read directly.
  std::set<std::string> SetMembers(const std::string& key, int db = 0) {
    std::set<std::string> out;
    engine().impl().run_on_shard(engine().shard_of(key), [&](internal::ShardState& s) {
      internal::Entry* e = s.dbs[db].peek(key, NowMs());
      if (e != nullptr) {
        for (const auto& m : e->as<internal::SetValue>()) out.insert(m);
      }
    });
    return out;
  }
  std::string Ms(int64_t delta_ms) const { return std::to_string(NowMs() + delta_ms); }
  std::string Sec(int64_t delta_s) const { return std::to_string(NowMs() / 1000 + delta_s); }
  // Every key of a full SCAN with the given options, checking that it ends with "0".
  std::vector<std::string> ScanAll(std::vector<std::string> options, int* calls = nullptr) {
    std::vector<std::string> keys;
    std::string cursor = "0";
    int n = 0;
    do {
      std::vector<std::string> cmd = {"SCAN", cursor};
      cmd.insert(cmd.end(), options.begin(), options.end());
      Reply r = Run(cmd);
      EXPECT_TRUE(r.is_array() && r.size() == 2) << r.debug_string();
      if (!r.is_array() || r.size() != 2) break;
      cursor = r.array()[0].string();
      for (const Reply& k : r.array()[1].array()) keys.push_back(k.string());
      ++n;
    } while (cursor != "0" && n < 100000);
    if (calls != nullptr) *calls = n;
    std::sort(keys.begin(), keys.end());
    return keys;
  }
};

TEST_F(KeysTest, DelUnlinkCountAcrossShards) {
  EXPECT_EQ(Run({"MSET", "a", "1", "b", "2", "c", "3", "d", "4"}), Ok());
  EXPECT_EQ(Run({"DEL", "a", "b", "nokey", "a"}), Int(2));
  EXPECT_EQ(Run({"UNLINK", "c", "c", "d"}), Int(2));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  PutSet("s");
  EXPECT_EQ(Run({"DEL", "s"}), Int(1));
  EXPECT_EQ(Run({"DEL"}), Err("ERR wrong number of arguments for 'del' command"));
  // An expired key is not counted.
  EXPECT_EQ(Run({"SET", "t", "v", "PX", "1"}), Ok());
  AdvanceTime(1);
  EXPECT_EQ(Run({"DEL", "t"}), Int(0));
}

TEST_F(KeysTest, ExistsAndTouchCountRepeats) {
  EXPECT_EQ(Run({"SET", "a", "1"}), Ok());
  PutSet("s");
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(1));
  EXPECT_EQ(Run({"EXISTS", "a", "a", "s", "nokey"}), Int(3));
  EXPECT_EQ(Run({"TOUCH", "a", "a", "s", "nokey"}), Int(3));
  EXPECT_EQ(Run({"EXISTS", "nokey"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "a", "1"}), Int(1));
  AdvanceTime(999);
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(1));
  AdvanceTime(1);
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(0));
  EXPECT_EQ(Run({"TOUCH", "a"}), Int(0));
}

TEST_F(KeysTest, Type) {
  EXPECT_EQ(Run({"TYPE", "nokey"}), Status("none"));
  EXPECT_EQ(Run({"SET", "a", "1"}), Ok());
  EXPECT_EQ(Run({"TYPE", "a"}), Status("string"));
  PutSet("s");
  EXPECT_EQ(Run({"TYPE", "s"}), Status("set"));
  EXPECT_EQ(Run({"PEXPIRE", "a", "5"}), Int(1));
  AdvanceTime(5);
  EXPECT_EQ(Run({"TYPE", "a"}), Status("none"));
  EXPECT_EQ(Run({"TYPE"}), Err("ERR wrong number of arguments for 'type' command"));
}

TEST_F(KeysTest, ExpireAndTtl) {
  EXPECT_EQ(Run({"EXPIRE", "nokey", "100"}), Int(0));
  EXPECT_EQ(Run({"TTL", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"PTTL", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"EXPIRE", "k", "100"}), Int(1));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(100000));
  AdvanceTime(40500);
  EXPECT_EQ(Run({"TTL", "k"}), Int(60));  // 59.5 s rounds to the nearest second
  AdvanceTime(1);
  EXPECT_EQ(Run({"TTL", "k"}), Int(59));
  EXPECT_EQ(Run({"PEXPIRE", "k", "1499"}), Int(1));
  EXPECT_EQ(Run({"TTL", "k"}), Int(1));
  EXPECT_EQ(Run({"PEXPIRE", "k", "1500"}), Int(1));
  EXPECT_EQ(Run({"TTL", "k"}), Int(2));
  AdvanceTime(1499);
  EXPECT_EQ(Run({"PTTL", "k"}), Int(1));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  AdvanceTime(1);
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  EXPECT_EQ(Run({"TTL", "k"}), Int(-2));
}

TEST_F(KeysTest, ExpireatAndExpiretime) {
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), Int(-1));
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(-1));
  EXPECT_EQ(Run({"EXPIRETIME", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"PEXPIRETIME", "nokey"}), Int(-2));
  EXPECT_EQ(Run({"EXPIREAT", "k", Sec(30)}), Int(1));
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), Int(NowMs() / 1000 + 30));
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(NowMs() + 30000));
  EXPECT_EQ(Run({"TTL", "k"}), Int(30));
  EXPECT_EQ(Run({"PEXPIREAT", "k", Ms(1500)}), Int(1));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(1500));
  // EXPIRETIME rounds ms to the nearest second, as Redis.
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), Int(NowMs() / 1000 + 2));
  EXPECT_EQ(Run({"PEXPIREAT", "k", Ms(1499)}), Int(1));
  EXPECT_EQ(Run({"EXPIRETIME", "k"}), Int(NowMs() / 1000 + 1));
  EXPECT_EQ(Run({"PEXPIREAT", "k", "9223372036854775807"}), Int(1));
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(9223372036854775807));
  EXPECT_EQ(Run({"EXPIREAT", "k", "9223372036854775"}), Int(1));
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(9223372036854775000));
}

TEST_F(KeysTest, ExpireInThePastDeletes) {
  for (auto cmd : std::vector<std::vector<std::string>>{
           {"EXPIRE", "k", "0"},
           {"EXPIRE", "k", "-1"},
           {"PEXPIRE", "k", "-100"},
           {"EXPIREAT", "k", "1"},
           {"PEXPIREAT", "k", Ms(0)},
           {"EXPIREAT", "k", "-9223372036854775"},
       }) {
    EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
    EXPECT_EQ(Run(cmd), Int(1)) << cmd[0] << " " << cmd[2];
    EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
    EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  }
}

TEST_F(KeysTest, ExpireErrors) {
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"EXPIRE", "k", "abc"}), Err(kNotInt));
  EXPECT_EQ(Run({"EXPIRE", "k", "1.5"}), Err(kNotInt));
  EXPECT_EQ(Run({"EXPIRE", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(Run({"EXPIRE", "k", "-9223372036854776"}),
            Err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(Run({"pexpire", "k", "9223372036854775807"}),
            Err("ERR invalid expire time in 'pexpire' command"));
  EXPECT_EQ(Run({"EXPIREAT", "k", "9223372036854776"}),
            Err("ERR invalid expire time in 'expireat' command"));
  // The overflow is an error even for a missing key.
  EXPECT_EQ(Run({"EXPIRE", "nokey", "9223372036854775807"}),
            Err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "foo"}), Err("ERR Unsupported option foo"));
  const Reply nx_conflict =
      Err("ERR NX and XX, GT or LT options at the same time are not compatible");
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "nx", "xx"}), nx_conflict);
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "NX", "GT"}), nx_conflict);
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "LT", "NX"}), nx_conflict);
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "GT", "LT"}),
            Err("ERR GT and LT options at the same time are not compatible"));
  // Options are parsed before the time.
  EXPECT_EQ(Run({"EXPIRE", "k", "abc", "NX", "XX"}), nx_conflict);
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"EXPIRE", "k"}), Err("ERR wrong number of arguments for 'expire' command"));
  EXPECT_EQ(Run({"TTL", "k", "x"}), Err("ERR wrong number of arguments for 'ttl' command"));
}

TEST_F(KeysTest, ExpireConditions) {
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  // Without a TTL: XX and GT fail (no TTL counts as infinite), NX and LT succeed.
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "XX"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "GT"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "XX", "GT"}), Int(0));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "LT"}), Int(1));
  EXPECT_EQ(Run({"TTL", "k"}), Int(100));
  EXPECT_EQ(Run({"PERSIST", "k"}), Int(1));
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "nx"}), Int(1));
  // With a TTL of 100 s.
  EXPECT_EQ(Run({"EXPIRE", "k", "300", "NX"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "k", "50", "GT"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "k", "100", "GT"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "k", "200", "GT"}), Int(1));
  EXPECT_EQ(Run({"TTL", "k"}), Int(200));
  EXPECT_EQ(Run({"EXPIRE", "k", "200", "LT"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "k", "300", "LT"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "k", "150", "lt", "xx"}), Int(1));
  EXPECT_EQ(Run({"TTL", "k"}), Int(150));
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "XX"}), Int(1));
  EXPECT_EQ(Run({"TTL", "k"}), Int(10));
  EXPECT_EQ(Run({"PEXPIREAT", "k", Ms(20000), "GT"}), Int(1));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(20000));
  // A condition that fails leaves the key alone even for a past time.
  EXPECT_EQ(Run({"EXPIRE", "k", "-1", "GT"}), Int(0));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(1));
  EXPECT_EQ(Run({"EXPIRE", "k", "-1", "LT"}), Int(1));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(Run({"EXPIRE", "nokey", "10", "NX"}), Int(0));
}

TEST_F(KeysTest, Persist) {
  EXPECT_EQ(Run({"PERSIST", "nokey"}), Int(0));
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10"}), Ok());
  EXPECT_EQ(Run({"PERSIST", "k"}), Int(1));
  EXPECT_EQ(Run({"PERSIST", "k"}), Int(0));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  AdvanceTime(20000);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"PEXPIRE", "k", "10"}), Int(1));
  AdvanceTime(10);
  EXPECT_EQ(Run({"PERSIST", "k"}), Int(0));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
}

TEST_F(KeysTest, RenameAcrossShardsKeepsTtl) {
  ASSERT_NE(engine().shard_of("a"), engine().shard_of("b"));
  EXPECT_EQ(Run({"RENAME", "a", "b"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"SET", "a", "v", "EX", "100"}), Ok());
  EXPECT_EQ(Run({"RENAME", "a", "b"}), Ok());
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(0));
  EXPECT_EQ(Run({"GET", "b"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "b"}), Int(100));
  // The moved value keeps working on its new shard, and expires there.
  EXPECT_EQ(Run({"APPEND", "b", "w"}), Int(2));
  AdvanceTime(100000);
  EXPECT_EQ(Run({"GET", "b"}), Nil());
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
}

TEST_F(KeysTest, RenameOverwritesDestination) {
  EXPECT_EQ(Run({"SET", "a", "1"}), Ok());
  EXPECT_EQ(Run({"SET", "b", "2", "EX", "50"}), Ok());
  // The destination's TTL goes with its old value: a has none.
  EXPECT_EQ(Run({"RENAME", "a", "b"}), Ok());
  EXPECT_EQ(Run({"GET", "b"}), Bulk("1"));
  EXPECT_EQ(Run({"TTL", "b"}), Int(-1));
  PutSet("s", {"x", "y"});
  EXPECT_EQ(Run({"RENAME", "s", "b"}), Ok());
  EXPECT_EQ(Run({"TYPE", "b"}), Status("set"));
  EXPECT_EQ(SetMembers("b"), (std::set<std::string>{"x", "y"}));
  // Same name: OK if it exists, the error otherwise.
  EXPECT_EQ(Run({"RENAME", "b", "b"}), Ok());
  EXPECT_EQ(Run({"TYPE", "b"}), Status("set"));
  EXPECT_EQ(Run({"RENAME", "nokey", "nokey"}), Err("ERR no such key"));
  // An expired source is missing.
  EXPECT_EQ(Run({"SET", "t", "v", "PX", "1"}), Ok());
  AdvanceTime(1);
  EXPECT_EQ(Run({"RENAME", "t", "u"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"RENAME", "a"}), Err("ERR wrong number of arguments for 'rename' command"));
}

TEST_F(KeysTest, Renamenx) {
  EXPECT_EQ(Run({"RENAMENX", "a", "b"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"SET", "a", "1", "PX", "5000"}), Ok());
  EXPECT_EQ(Run({"SET", "b", "2"}), Ok());
  EXPECT_EQ(Run({"RENAMENX", "a", "b"}), Int(0));
  EXPECT_EQ(Run({"MGET", "a", "b"}), BulkArr({"1", "2"}));
  EXPECT_EQ(Run({"RENAMENX", "a", "a"}), Int(0));
  EXPECT_EQ(Run({"RENAMENX", "a", "c"}), Int(1));
  EXPECT_EQ(Run({"MGET", "a", "c"}), Arr({Nil(), Bulk("1")}));
  EXPECT_EQ(Run({"PTTL", "c"}), Int(5000));
  // An expired destination does not block it.
  EXPECT_EQ(Run({"SET", "d", "x", "PX", "1"}), Ok());
  AdvanceTime(1);
  EXPECT_EQ(Run({"RENAMENX", "c", "d"}), Int(1));
  EXPECT_EQ(Run({"GET", "d"}), Bulk("1"));
  EXPECT_EQ(Run({"PTTL", "d"}), Int(4999));
}

TEST_F(KeysTest, Copy) {
  EXPECT_EQ(Run({"COPY", "a", "b"}), Int(0));
  EXPECT_EQ(Run({"SET", "a", "1", "EX", "100"}), Ok());
  EXPECT_EQ(Run({"COPY", "a", "b"}), Int(1));
  EXPECT_EQ(Run({"MGET", "a", "b"}), BulkArr({"1", "1"}));
  EXPECT_EQ(Run({"TTL", "b"}), Int(100));
  EXPECT_EQ(Run({"SET", "a", "2"}), Ok());
  EXPECT_EQ(Run({"COPY", "a", "b"}), Int(0));
  EXPECT_EQ(Run({"GET", "b"}), Bulk("1"));
  EXPECT_EQ(Run({"COPY", "a", "b", "REPLACE"}), Int(1));
  EXPECT_EQ(Run({"GET", "b"}), Bulk("2"));
  EXPECT_EQ(Run({"TTL", "b"}), Int(-1));
  // A set is deep-copied.
  PutSet("s", {"x", "y"});
  EXPECT_EQ(Run({"COPY", "s", "s2"}), Int(1));
  PutSet("s", {"z"});
  EXPECT_EQ(SetMembers("s2"), (std::set<std::string>{"x", "y"}));
  EXPECT_EQ(Run({"COPY", "a", "a"}), Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"COPY", "nokey", "nokey"}),
            Err("ERR source and destination objects are the same"));
}

TEST_F(KeysTest, CopyToAnotherDb) {
  EXPECT_EQ(Run({"SET", "a", "1"}), Ok());
  EXPECT_EQ(Run({"COPY", "a", "a", "DB", "3"}), Int(1));
  EXPECT_EQ(Run({"COPY", "a", "b", "db", "3"}), Int(1));
  EXPECT_EQ(Run({"COPY", "a", "b", "DB", "3"}), Int(0));
  EXPECT_EQ(Run({"COPY", "a", "a", "DB", "0"}),
            Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));
  EXPECT_EQ(Run({"SELECT", "3"}), Ok());
  EXPECT_EQ(Run({"MGET", "a", "b"}), BulkArr({"1", "1"}));
  EXPECT_EQ(Run({"SELECT", "0"}), Ok());
  EXPECT_EQ(Run({"COPY", "a", "b", "DB", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"COPY", "a", "b", "DB", "-1"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"COPY", "a", "b", "DB", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"COPY", "a", "b", "DB", "4294967296"}), Err(kNotInt));
  EXPECT_EQ(Run({"COPY", "a", "b", "DB"}), Err(kSyntax));
  EXPECT_EQ(Run({"COPY", "a", "b", "foo"}), Err(kSyntax));
  EXPECT_EQ(Run({"COPY", "a"}), Err("ERR wrong number of arguments for 'copy' command"));
}

TEST_F(KeysTest, MoveToAnotherDb) {
  EXPECT_EQ(Run({"MOVE", "a", "1"}), Int(0));
  EXPECT_EQ(Run({"MOVE", "a", "0"}), Err("ERR source and destination objects are the same"));
  EXPECT_EQ(Run({"MOVE", "a", "16"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"MOVE", "a", "-1"}), Err("ERR DB index is out of range"));
  EXPECT_EQ(Run({"MOVE", "a", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"SET", "a", "1", "EX", "100"}), Ok());
  EXPECT_EQ(Run({"MOVE", "a", "2"}), Int(1));
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(0));
  EXPECT_EQ(Run({"SET", "a", "2"}), Ok());
  EXPECT_EQ(Run({"MOVE", "a", "2"}), Int(0));
  EXPECT_EQ(Run({"GET", "a"}), Bulk("2"));
  EXPECT_EQ(Run({"SELECT", "2"}), Ok());
  EXPECT_EQ(Run({"GET", "a"}), Bulk("1"));
  EXPECT_EQ(Run({"TTL", "a"}), Int(100));
  EXPECT_EQ(Run({"MOVE", "a", "0"}), Int(0));
  EXPECT_EQ(Run({"DEL", "a"}), Int(1));
  EXPECT_EQ(Run({"SELECT", "0"}), Ok());
  EXPECT_EQ(Run({"MOVE", "a", "2"}), Int(1));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"MOVE", "a"}), Err("ERR wrong number of arguments for 'move' command"));
}

TEST_F(KeysTest, KeysPatternsSkipExpired) {
  EXPECT_EQ(Run({"KEYS", "*"}), Arr({}));
  EXPECT_EQ(Run({"MSET", "user:1", "a", "user:2", "b", "user:10", "c", "item:1", "d"}), Ok());
  EXPECT_EQ(SortedStrings(Run({"KEYS", "*"})),
            (std::vector<std::string>{"item:1", "user:1", "user:10", "user:2"}));
  EXPECT_EQ(SortedStrings(Run({"KEYS", "user:?"})), (std::vector<std::string>{"user:1", "user:2"}));
  EXPECT_EQ(SortedStrings(Run({"KEYS", "user:*"})),
            (std::vector<std::string>{"user:1", "user:10", "user:2"}));
  EXPECT_EQ(SortedStrings(Run({"KEYS", "*:[1]"})), (std::vector<std::string>{"item:1", "user:1"}));
  EXPECT_EQ(Run({"KEYS", "nomatch*"}), Arr({}));
  EXPECT_EQ(Run({"PEXPIRE", "user:10", "10"}), Int(1));
  AdvanceTime(10);
  EXPECT_EQ(SortedStrings(Run({"KEYS", "user:*"})), (std::vector<std::string>{"user:1", "user:2"}));
  EXPECT_EQ(Run({"KEYS"}), Err("ERR wrong number of arguments for 'keys' command"));
}

TEST_F(KeysTest, ScanWalksEveryShardOnce) {
  std::vector<std::string> expected;
  for (int i = 0; i < 500; ++i) {
    expected.push_back("key:" + std::to_string(i));
    EXPECT_EQ(Run({"SET", expected.back(), "v"}), Ok());
  }
  std::sort(expected.begin(), expected.end());
  int calls = 0;
  EXPECT_EQ(ScanAll({}, &calls), expected);
  EXPECT_GT(calls, 10);  // COUNT 10 by default
  EXPECT_EQ(ScanAll({"COUNT", "1"}), expected);
  EXPECT_EQ(ScanAll({"COUNT", "7"}), expected);
  EXPECT_EQ(ScanAll({"COUNT", "100000"}, &calls), expected);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ScanAll({"MATCH", "*"}), expected);
}

TEST_F(KeysTest, ScanMatchAndType) {
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Run({"SET", "str:" + std::to_string(i), "v"}), Ok());
  for (int i = 0; i < 30; ++i) PutSet("set:" + std::to_string(i));
  std::vector<std::string> sets = ScanAll({"TYPE", "set"});
  EXPECT_EQ(sets.size(), 30u);
  for (const auto& k : sets) EXPECT_EQ(k.rfind("set:", 0), 0u) << k;
  EXPECT_EQ(ScanAll({"type", "STRING"}).size(), 50u);
  EXPECT_EQ(ScanAll({"TYPE", "nosuchtype"}).size(), 0u);
  EXPECT_EQ(ScanAll({"MATCH", "str:1*", "COUNT", "5"}),
            (std::vector<std::string>{"str:1", "str:10", "str:11", "str:12", "str:13", "str:14",
                                      "str:15", "str:16", "str:17", "str:18", "str:19"}));
  EXPECT_EQ(ScanAll({"MATCH", "set:2?", "TYPE", "string"}).size(), 0u);
  EXPECT_EQ(ScanAll({"MATCH", "set:2?", "TYPE", "set"}).size(), 10u);
  // Expired keys are skipped.
  for (int i = 0; i < 50; i += 2) {
    EXPECT_EQ(Run({"PEXPIRE", "str:" + std::to_string(i), "5"}), Int(1));
  }
  AdvanceTime(5);
  EXPECT_EQ(ScanAll({"TYPE", "string"}).size(), 25u);
}

TEST_F(KeysTest, ScanErrorsAndCursors) {
  EXPECT_EQ(Run({"SCAN", "0"}), Arr({Bulk("0"), Arr({})}));
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"SCAN", "0"}), Arr({Bulk("0"), BulkArr({"k"})}));
  EXPECT_EQ(Run({"SCAN", ""}), Arr({Bulk("0"), BulkArr({"k"})}));
  // strtoul semantics: "-1" is the largest cursor, past every shard.
  EXPECT_EQ(Run({"SCAN", "-1"}), Arr({Bulk("0"), Arr({})}));
  EXPECT_EQ(Run({"SCAN", "18446744073709551615"}), Arr({Bulk("0"), Arr({})}));
  EXPECT_EQ(Run({"SCAN", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN", " 1"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN", "1x"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN", "18446744073709551616"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "0"}), Err(kSyntax));
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "-1"}), Err(kSyntax));
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"SCAN", "0", "MATCH"}), Err(kSyntax));
  EXPECT_EQ(Run({"SCAN", "0", "foo", "bar"}), Err(kSyntax));
  EXPECT_EQ(Run({"SCAN", "0", "COUNT", "10", "TYPE"}), Err(kSyntax));
  EXPECT_EQ(Run({"SCAN", "abc", "foo"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SCAN"}), Err("ERR wrong number of arguments for 'scan' command"));
}

TEST_F(KeysTest, Randomkey) {
  EXPECT_EQ(Run({"RANDOMKEY"}), Nil());
  std::set<std::string> all;
  for (int i = 0; i < 40; ++i) {
    all.insert("r" + std::to_string(i));
    EXPECT_EQ(Run({"SET", "r" + std::to_string(i), "v"}), Ok());
  }
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    Reply r = Run({"RANDOMKEY"});
    ASSERT_TRUE(r.is_bulk()) << r.debug_string();
    EXPECT_TRUE(all.count(r.string())) << r.string();
    seen.insert(r.string());
  }
  EXPECT_GT(seen.size(), 10u);  // spread over the keys, not stuck on one shard
  // Only expired keys left: nil, even before active expiry removed them.
  for (const auto& k : all) EXPECT_EQ(Run({"PEXPIRE", k, "1"}), Int(1));
  AdvanceTime(1);
  EXPECT_EQ(Run({"RANDOMKEY"}), Nil());
  EXPECT_EQ(Run({"RANDOMKEY", "x"}), Err("ERR wrong number of arguments for 'randomkey' command"));
}

TEST_F(KeysTest, ActiveExpiryRemovesDueKeys) {
  for (int i = 0; i < 100; ++i) {
    std::string k = "k" + std::to_string(i);
    if (i % 2 == 0) {
      EXPECT_EQ(Run({"SET", k, "v", "PX", std::to_string(1000 + i)}), Ok());
    } else {
      EXPECT_EQ(Run({"SET", k, "v"}), Ok());
    }
  }
  EXPECT_EQ(Run({"DBSIZE"}), Int(100));
  RunTimers();
  EXPECT_EQ(Run({"DBSIZE"}), Int(100));
  AdvanceTime(1049);
  // Lazy expiry alone leaves the dead keys in the table until they are touched...
  EXPECT_EQ(Run({"DBSIZE"}), Int(100));
  // ...the active sweep removes the due ones (k0..k48, 25 keys) and nothing else.
  RunTimers();
  EXPECT_EQ(Run({"DBSIZE"}), Int(75));
  EXPECT_EQ(Run({"EXISTS", "k48", "k50"}), Int(1));
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(Run({"DBSIZE"}), Int(50));
  EXPECT_EQ(SortedStrings(Run({"KEYS", "k1?"})).size(), 5u);  // k11, k13, ..., k19
}

TEST_F(KeysTest, ActiveExpiryPerDatabase) {
  EXPECT_EQ(Run({"SET", "a", "v", "PX", "10"}), Ok());
  EXPECT_EQ(Run({"SELECT", "5"}), Ok());
  EXPECT_EQ(Run({"SET", "a", "v", "PX", "20"}), Ok());
  AdvanceTime(10);
  RunTimers();
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));
  EXPECT_EQ(Run({"SELECT", "0"}), Ok());
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  AdvanceTime(10);
  RunTimers();
  EXPECT_EQ(Run({"SELECT", "5"}), Ok());
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
}

TEST_F(KeysTest, CrossShardRenameIsAtomicForConcurrentReaders) {
  ASSERT_NE(engine().shard_of("a"), engine().shard_of("b"));
  EXPECT_EQ(Run({"SET", "a", "v", "EX", "1000"}), Ok());
  std::atomic<bool> stop{false};
  std::thread mover([&] {
    Session s;
    for (int i = 0; i < 1000; ++i) {
      std::string_view ab[] = {"RENAME", "a", "b"};
      std::string_view ba[] = {"RENAME", "b", "a"};
      EXPECT_EQ(engine().call(s, ab), Ok());
      EXPECT_EQ(engine().call(s, ba), Ok());
    }
    stop.store(true);
  });
  Session s;
  int reads = 0;
  while (!stop.load() || reads == 0) {
    std::string_view args[] = {"EXISTS", "a", "b"};
    EXPECT_EQ(engine().call(s, args), Int(1)) << "the key was in neither or both places";
    ++reads;
    if (HasFailure()) break;  // still join the mover below
  }
  mover.join();
  EXPECT_EQ(Run({"GET", "a"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "a"}), Int(1000));
}

// Expected values checked against redis-server 7.0.15 (Debian 12).
TEST_F(KeysTest, ObjectEncodingAndRefcountAsRedis70) {
  std::string s45(45, 'x'), v65(65, 'y');
  Run({"SET", "a", "123"});
  Run({"SET", "b", "12345"});
  Run({"SET", "c", "hello"});
  Run({"SET", "d", s45});
  Run({"SET", "e", "99999999999999999999"});
  Run({"SET", "lead", "007"});
  Run({"SET", "neg", "-5"});
  Run({"SADD", "s", "1", "2", "3"});
  Run({"SADD", "t", "a"});
  Run({"SADD", "si", "007"});
  Run({"HSET", "h", "f", "v"});
  Run({"HSET", "hv", "f", v65});
  Run({"RPUSH", "l", "a"});
  std::vector<std::string> big = {"SADD", "big"};
  for (int i = 1; i <= 513; ++i) big.push_back(std::to_string(i));
  engine().call(big);
  struct Case {
    const char* key;
    const char* encoding;
  };
  for (Case c : {Case{"a", "int"},
                 {"b", "int"},
                 {"c", "embstr"},
                 {"d", "raw"},
                 {"e", "embstr"},
                 {"lead", "embstr"},
                 {"neg", "int"},
                 {"s", "intset"},
                 {"t", "hashtable"},
                 {"si", "hashtable"},
                 {"h", "listpack"},
                 {"hv", "hashtable"},
                 {"l", "quicklist"},
                 {"big", "hashtable"}}) {
    EXPECT_EQ(Run({"OBJECT", "ENCODING", c.key}), Bulk(c.encoding)) << c.key;
  }
  EXPECT_EQ(Run({"OBJECT", "REFCOUNT", "a"}), Int(2147483647));  // shared integer
  EXPECT_EQ(Run({"OBJECT", "REFCOUNT", "b"}), Int(1));
  EXPECT_EQ(Run({"OBJECT", "REFCOUNT", "neg"}), Int(1));
  EXPECT_EQ(Run({"OBJECT", "encoding", "nokey"}), Nil());
  EXPECT_EQ(Run({"OBJECT", "ENCODING"}),
            Err("ERR wrong number of arguments for 'object|encoding' command"));
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "a", "b"}),
            Err("ERR wrong number of arguments for 'object|encoding' command"));
  EXPECT_EQ(Run({"OBJECT", "foo", "x"}), Err("ERR unknown subcommand 'foo'. Try OBJECT HELP."));
  EXPECT_EQ(Run({"OBJECT"}), Err("ERR wrong number of arguments for 'object' command"));
  EXPECT_EQ(Run({"OBJECT", "help", "x"}),
            Err("ERR wrong number of arguments for 'object|help' command"));
  EXPECT_EQ(Run({"OBJECT", "FREQ", "a"}).string().substr(0, 47),
            "ERR An LFU maxmemory policy is not selected, ac");
  Reply help = Run({"OBJECT", "HELP"});
  ASSERT_TRUE(help.is_array());
  EXPECT_EQ(help.array().size(), 15u);
  Run({"INV.CREATE", "inv", "10"});
  EXPECT_EQ(Run({"OBJECT", "ENCODING", "inv"}), Bulk("native"));
}

}  // namespace
}  // namespace allot::testing
