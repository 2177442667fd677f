// sets_test.cc: the set family against Redis 7's replies and error texts (checked against
// redis-server 7.0), including keys spread over shards.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/keyspace/shard_state.h"
#include "tests/support/engine_fixture.h"

namespace allot::testing {
namespace {

constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

// A RESP3 set of bulk strings, in the given order.
Reply BulkSet(std::initializer_list<std::string_view> elems) {
  std::vector<Reply> v;
  for (auto e : elems) v.push_back(Reply::Bulk(e));
  return Reply::Set(std::move(v));
}

std::vector<std::string> Strings(std::initializer_list<std::string_view> elems) {
  std::vector<std::string> v(elems.begin(), elems.end());
  std::sort(v.begin(), v.end());
  return v;
}

class SetsTest : public EngineTest {
 protected:
  // n keys "<prefix>0", "<prefix>1"... each on a different shard from the others.
  std::vector<std::string> KeysOnDistinctShards(const std::string& prefix, size_t n) {
    std::vector<std::string> keys;
    std::set<unsigned> used;
    for (int i = 0; keys.size() < n; ++i) {
      std::string k = prefix + std::to_string(i);
      if (used.insert(engine().shard_of(k)).second) keys.push_back(k);
    }
    return keys;
  }

  // Gives key (in db 0) a TTL of ms from now, as PEXPIRE would.
  void ExpireIn(const std::string& key, int64_t ms) {
    int64_t at = NowMs() + ms;
    engine().impl().run_on_shard(engine().shard_of(key), [&](internal::ShardState& s) {
      internal::Entry* e = s.dbs[0].peek(key, at - ms);
      ASSERT_NE(e, nullptr);
      s.dbs[0].set_expire(e, at);
    });
  }

  int64_t ExpireAt(const std::string& key) {
    int64_t at = -1;
    engine().impl().run_on_shard(engine().shard_of(key), [&](internal::ShardState& s) {
      internal::Entry* e = s.dbs[0].peek(key, NowMs());
      if (e != nullptr) at = e->expire_at_ms;
    });
    return at;
  }

  // Members of every SSCAN page of key with the given options, until the cursor is 0.
  std::vector<std::string> ScanAll(const std::string& key, std::vector<std::string> opts,
                                   int* calls = nullptr) {
    std::vector<std::string> out;
    std::string cursor = "0";
    int n = 0;
    do {
      std::vector<std::string> cmd = {"SSCAN", key, cursor};
      cmd.insert(cmd.end(), opts.begin(), opts.end());
      Reply r = Run(cmd);
      EXPECT_TRUE(r.is_array()) << r.debug_string();
      if (!r.is_array() || r.size() != 2) break;
      cursor = r.array()[0].string();
      for (const Reply& m : r.array()[1].array()) out.push_back(m.string());
      ++n;
    } while (cursor != "0" && n < 100000);
    if (calls != nullptr) *calls = n;
    return out;
  }
};

TEST_F(SetsTest, AddCardIsMemberMembers) {
  EXPECT_EQ(Run({"SADD", "s", "a", "b", "a"}), Int(2));
  EXPECT_EQ(Run({"SADD", "s", "b", "c"}), Int(1));
  EXPECT_EQ(Run({"SADD", "s", "a"}), Int(0));
  EXPECT_EQ(Run({"SCARD", "s"}), Int(3));
  EXPECT_EQ(Run({"SISMEMBER", "s", "a"}), Int(1));
  EXPECT_EQ(Run({"SISMEMBER", "s", "z"}), Int(0));
  Reply m = Run({"SMEMBERS", "s"});
  EXPECT_TRUE(m.is_set()) << m.debug_string();
  EXPECT_EQ(SortedStrings(m), Strings({"a", "b", "c"}));
  EXPECT_EQ(Run({"SMISMEMBER", "s", "a", "z", "c"}), Arr({Int(1), Int(0), Int(1)}));
  // Binary-safe members, and the empty member.
  EXPECT_EQ(Run({"SADD", "s", std::string_view("x\0y", 3), ""}), Int(2));
  EXPECT_EQ(Run({"SISMEMBER", "s", std::string_view("x\0y", 3)}), Int(1));
  EXPECT_EQ(Run({"SISMEMBER", "s", "x"}), Int(0));
  EXPECT_EQ(Run({"SISMEMBER", "s", ""}), Int(1));
}

TEST_F(SetsTest, MissingKeyReadsAsEmpty) {
  EXPECT_EQ(Run({"SCARD", "nokey"}), Int(0));
  EXPECT_EQ(Run({"SISMEMBER", "nokey", "a"}), Int(0));
  EXPECT_EQ(Run({"SMISMEMBER", "nokey", "a", "b"}), Arr({Int(0), Int(0)}));
  EXPECT_EQ(Run({"SMEMBERS", "nokey"}), BulkSet({}));
  EXPECT_EQ(Run({"SREM", "nokey", "a"}), Int(0));
  EXPECT_EQ(Run({"SPOP", "nokey"}), Nil());
  EXPECT_EQ(Run({"SPOP", "nokey", "3"}), BulkSet({}));
  EXPECT_EQ(Run({"SRANDMEMBER", "nokey"}), Nil());
  EXPECT_EQ(Run({"SRANDMEMBER", "nokey", "3"}), Arr({}));
  EXPECT_EQ(Run({"SRANDMEMBER", "nokey", "-3"}), Arr({}));
  EXPECT_EQ(Run({"SINTER", "nokey"}), BulkSet({}));
  EXPECT_EQ(Run({"SUNION", "nokey", "nokey2"}), BulkSet({}));
  EXPECT_EQ(Run({"SDIFF", "nokey"}), BulkSet({}));
  EXPECT_EQ(Run({"SINTERCARD", "1", "nokey"}), Int(0));
  EXPECT_EQ(Run({"SSCAN", "nokey", "0"}), Arr({Bulk("0"), Arr({})}));
  // Nothing was created by the reads or by the no-op writes.
  EXPECT_EQ(Run({"GET", "nokey"}), Nil());
}

TEST_F(SetsTest, RemDeletesEmptySet) {
  EXPECT_EQ(Run({"SADD", "s", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"SREM", "s", "a", "z", "a"}), Int(1));
  EXPECT_EQ(Run({"SCARD", "s"}), Int(2));
  EXPECT_EQ(Run({"SREM", "s", "b", "c", "d"}), Int(2));
  // GET on a set is WRONGTYPE; Nil proves the key itself is gone.
  EXPECT_EQ(Run({"GET", "s"}), Nil());
  EXPECT_EQ(Run({"SCARD", "s"}), Int(0));
  // The key can become a string now.
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
}

TEST_F(SetsTest, WrongTypeForEveryCommand) {
  ASSERT_EQ(Run({"SET", "str", "x"}), Ok());
  ASSERT_EQ(Run({"SADD", "s", "a"}), Int(1));
  const std::vector<std::vector<std::string>> cmds = {
      {"SADD", "str", "a"},
      {"SREM", "str", "a"},
      {"SISMEMBER", "str", "a"},
      {"SMISMEMBER", "str", "a"},
      {"SCARD", "str"},
      {"SMEMBERS", "str"},
      {"SPOP", "str"},
      {"SPOP", "str", "2"},
      {"SRANDMEMBER", "str"},
      {"SRANDMEMBER", "str", "2"},
      {"SRANDMEMBER", "str", "-2"},
      {"SMOVE", "str", "s", "a"},
      {"SMOVE", "s", "str", "a"},
      {"SSCAN", "str", "0"},
      {"SSCAN", "str", "0", "COUNT", "0"},  // type checked before the options
      {"SINTER", "s", "str"},
      {"SINTER", "nokey", "str"},  // every key is checked, also after a missing one
      {"SUNION", "str", "s"},
      {"SDIFF", "nokey", "str"},
      {"SDIFF", "s", "str"},
      {"SINTERSTORE", "d", "s", "str"},
      {"SUNIONSTORE", "d", "s", "str"},
      {"SDIFFSTORE", "d", "nokey", "str"},
      {"SINTERCARD", "2", "nokey", "str"},
  };
  for (const auto& cmd : cmds) {
    EXPECT_EQ(Run(cmd), Err(kWrongType)) << cmd[0] << " " << cmd[1];
  }
  // Nothing changed.
  EXPECT_EQ(Run({"GET", "str"}), Bulk("x"));
  EXPECT_EQ(Run({"SMEMBERS", "s"}), BulkSet({"a"}));
  EXPECT_EQ(Run({"GET", "d"}), Nil());
}

TEST_F(SetsTest, ArityErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"SADD", "s"}, "sadd"},
      {{"SREM", "s"}, "srem"},
      {{"SISMEMBER", "s"}, "sismember"},
      {{"SISMEMBER", "s", "a", "b"}, "sismember"},
      {{"SMISMEMBER", "s"}, "smismember"},
      {{"SCARD"}, "scard"},
      {{"SCARD", "s", "t"}, "scard"},
      {{"SMEMBERS"}, "smembers"},
      {{"SPOP"}, "spop"},
      {{"SRANDMEMBER"}, "srandmember"},
      {{"SMOVE", "a", "b"}, "smove"},
      {{"SMOVE", "a", "b", "c", "d"}, "smove"},
      {{"SSCAN", "s"}, "sscan"},
      {{"SINTER"}, "sinter"},
      {{"SUNION"}, "sunion"},
      {{"SDIFF"}, "sdiff"},
      {{"SINTERSTORE", "d"}, "sinterstore"},
      {{"SUNIONSTORE", "d"}, "sunionstore"},
      {{"SDIFFSTORE", "d"}, "sdiffstore"},
      {{"SINTERCARD", "1"}, "sintercard"},
  };
  for (const auto& [cmd, name] : cases) {
    EXPECT_EQ(Run(cmd), Err("ERR wrong number of arguments for '" + name + "' command")) << cmd[0];
  }
}

TEST_F(SetsTest, SPopSingle) {
  ASSERT_EQ(Run({"SADD", "s", "a", "b", "c"}), Int(3));
  std::vector<std::string> popped;
  for (int i = 0; i < 3; ++i) {
    Reply r = Run({"SPOP", "s"});
    ASSERT_TRUE(r.is_bulk()) << r.debug_string();
    EXPECT_EQ(Run({"SISMEMBER", "s", r.string()}), Int(0));
    popped.push_back(r.string());
    EXPECT_EQ(Run({"SCARD", "s"}), Int(2 - i));
  }
  std::sort(popped.begin(), popped.end());
  EXPECT_EQ(popped, Strings({"a", "b", "c"}));
  EXPECT_EQ(Run({"GET", "s"}), Nil());
  EXPECT_EQ(Run({"SPOP", "s"}), Nil());
}

TEST_F(SetsTest, SPopCount) {
  ASSERT_EQ(Run({"SADD", "s", "a", "b", "c", "d", "e"}), Int(5));
  EXPECT_EQ(Run({"SPOP", "s", "abc"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"SPOP", "s", "-1"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"SPOP", "s", "1", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SPOP", "s", "0"}), BulkSet({}));
  Reply two = Run({"SPOP", "s", "2"});
  ASSERT_TRUE(two.is_set()) << two.debug_string();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two.array()[0], two.array()[1]);
  Reply rest = Run({"SMEMBERS", "s"});
  EXPECT_EQ(rest.size(), 3u);
  std::vector<std::string> all = SortedStrings(two);
  for (const std::string& m : SortedStrings(rest)) all.push_back(m);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, Strings({"a", "b", "c", "d", "e"}));
  // A count at or above the size pops everything and deletes the key.
  Reply last = Run({"SPOP", "s", "10"});
  EXPECT_TRUE(last.is_set());
  EXPECT_EQ(SortedStrings(last), SortedStrings(rest));
  EXPECT_EQ(Run({"GET", "s"}), Nil());
}

TEST_F(SetsTest, SPopDrainsALargeSetWithoutRepeats) {
  // Many pops shrink the table (collection.h), which must not lose or repeat members.
  constexpr int kMembers = 3000;
  std::vector<std::string> cmd = {"SADD", "big"};
  for (int i = 0; i < kMembers; ++i) cmd.push_back("m" + std::to_string(i));
  ASSERT_EQ(Run(cmd), Int(kMembers));
  std::set<std::string> seen;
  for (int i = 0; i < kMembers - 100; ++i) {
    Reply r = Run({"SPOP", "big"});
    ASSERT_TRUE(r.is_bulk());
    ASSERT_TRUE(seen.insert(r.string()).second) << r.string();
  }
  EXPECT_EQ(Run({"SCARD", "big"}), Int(100));
  Reply rest = Run({"SPOP", "big", "60"});
  ASSERT_EQ(rest.size(), 60u);
  for (const std::string& m : SortedStrings(rest)) ASSERT_TRUE(seen.insert(m).second) << m;
  rest = Run({"SPOP", "big", "40"});
  for (const std::string& m : SortedStrings(rest)) ASSERT_TRUE(seen.insert(m).second) << m;
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMembers));
  EXPECT_EQ(Run({"GET", "big"}), Nil());
}

TEST_F(SetsTest, RandomChoicesAreReproducible) {
  // Two engines fed the same commands make the same random choices.
  auto run = [this] {
    Config cfg;
    cfg.threads = shards_;
    cfg.clock_ms = [this] { return now_ms_.load(); };
    cfg.active_expire = false;
    Engine e(cfg);
    std::vector<std::string> cmd = {"SADD", "s"};
    for (int i = 0; i < 50; ++i) cmd.push_back(std::to_string(i));
    std::vector<Reply> out;
    out.push_back(e.call(std::span<const std::string>(cmd)));
    for (const char* c : {"SPOP", "SRANDMEMBER"}) {
      std::vector<std::string> pop = {c, "s"};
      for (int i = 0; i < 5; ++i) out.push_back(e.call(std::span<const std::string>(pop)));
    }
    std::vector<std::string> many = {"SRANDMEMBER", "s", "-20"};
    out.push_back(e.call(std::span<const std::string>(many)));
    return out;
  };
  EXPECT_EQ(run(), run());
}

TEST_F(SetsTest, SRandMember) {
  ASSERT_EQ(Run({"SADD", "s", "a", "b", "c"}), Int(3));
  Reply one = Run({"SRANDMEMBER", "s"});
  ASSERT_TRUE(one.is_bulk());
  EXPECT_EQ(Run({"SISMEMBER", "s", one.string()}), Int(1));
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "0"}), Arr({}));
  // Positive: distinct members, an Array (not a Set) also in RESP3.
  Reply two = Run({"SRANDMEMBER", "s", "2"});
  ASSERT_TRUE(two.is_array()) << two.debug_string();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two.array()[0], two.array()[1]);
  for (const Reply& m : two.array()) EXPECT_EQ(Run({"SISMEMBER", "s", m.string()}), Int(1));
  Reply all = Run({"SRANDMEMBER", "s", "5"});
  EXPECT_TRUE(all.is_array());
  EXPECT_EQ(SortedStrings(all), Strings({"a", "b", "c"}));
  // Negative: exactly |count| picks, repetition allowed.
  Reply many = Run({"SRANDMEMBER", "s", "-30"});
  ASSERT_TRUE(many.is_array());
  ASSERT_EQ(many.size(), 30u);
  std::set<std::string> distinct;
  for (const Reply& m : many.array()) distinct.insert(m.string());
  EXPECT_LE(distinct.size(), 3u);
  EXPECT_LT(distinct.size(), 30u);
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "-1"}).size(), 1u);
  // The set is untouched.
  EXPECT_EQ(Run({"SCARD", "s"}), Int(3));
}

TEST_F(SetsTest, SRandMemberDistinctFromALargeSet) {
  std::vector<std::string> cmd = {"SADD", "big"};
  for (int i = 0; i < 1000; ++i) cmd.push_back(std::to_string(i));
  ASSERT_EQ(Run(cmd), Int(1000));
  for (const char* count : {"10", "300", "999"}) {  // both sampling strategies
    Reply r = Run({"SRANDMEMBER", "big", count});
    ASSERT_EQ(r.size(), static_cast<size_t>(std::stoi(count)));
    std::set<std::string> distinct;
    for (const Reply& m : r.array()) {
      EXPECT_EQ(Run({"SISMEMBER", "big", m.string()}), Int(1));
      distinct.insert(m.string());
    }
    EXPECT_EQ(distinct.size(), r.size()) << count;
  }
}

TEST_F(SetsTest, SRandMemberErrors) {
  ASSERT_EQ(Run({"SADD", "s", "a"}), Int(1));
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "1.5"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "-9223372036854775808"}),
            Err("ERR value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807"));
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "1", "2"}), Err("ERR syntax error"));
  // The count is parsed before the key is looked up.
  ASSERT_EQ(Run({"SET", "str", "x"}), Ok());
  EXPECT_EQ(Run({"SRANDMEMBER", "str", "abc"}), Err("ERR value is not an integer or out of range"));
  // A positive count is bounded by the set; a negative one by the engine's reply limit.
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "9223372036854775807"}), BulkArr({"a"}));
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "-9223372036854775807"}), Err("ERR value is out of range"));
}

TEST_F(SetsTest, SMoveSameShard) {
  ASSERT_EQ(Run({"SADD", "{t}src", "a", "b"}), Int(2));
  ASSERT_EQ(Run({"SADD", "{t}dst", "c"}), Int(1));
  EXPECT_EQ(Run({"SMOVE", "{t}src", "{t}dst", "a"}), Int(1));
  EXPECT_EQ(Run({"SMOVE", "{t}src", "{t}dst", "a"}), Int(0));
  EXPECT_EQ(Run({"SMOVE", "{t}src", "{t}dst", "zz"}), Int(0));
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", "{t}dst"})), Strings({"a", "c"}));
  EXPECT_EQ(Run({"SMEMBERS", "{t}src"}), BulkSet({"b"}));
  // Already in the destination: removed from the source, still 1.
  ASSERT_EQ(Run({"SADD", "{t}dst", "b"}), Int(1));
  EXPECT_EQ(Run({"SMOVE", "{t}src", "{t}dst", "b"}), Int(1));
  EXPECT_EQ(Run({"GET", "{t}src"}), Nil());  // emptied source is deleted
  EXPECT_EQ(Run({"SCARD", "{t}dst"}), Int(3));
  // Source and destination the same key: 1 if a member, nothing moves.
  EXPECT_EQ(Run({"SMOVE", "{t}dst", "{t}dst", "a"}), Int(1));
  EXPECT_EQ(Run({"SMOVE", "{t}dst", "{t}dst", "zz"}), Int(0));
  EXPECT_EQ(Run({"SCARD", "{t}dst"}), Int(3));
}

TEST_F(SetsTest, SMoveAcrossShards) {
  auto keys = KeysOnDistinctShards("mv:", 2);
  ASSERT_NE(engine().shard_of(keys[0]), engine().shard_of(keys[1]));
  ASSERT_EQ(Run({"SADD", keys[0], "a", "b"}), Int(2));
  EXPECT_EQ(Run({"SMOVE", keys[0], keys[1], "a"}), Int(1));  // creates the destination
  EXPECT_EQ(Run({"SMEMBERS", keys[1]}), BulkSet({"a"}));
  EXPECT_EQ(Run({"SMOVE", keys[0], keys[1], "b"}), Int(1));
  EXPECT_EQ(Run({"GET", keys[0]}), Nil());
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", keys[1]})), Strings({"a", "b"}));
  EXPECT_EQ(Run({"SMOVE", keys[1], keys[0], "b"}), Int(1));
  EXPECT_EQ(Run({"SMEMBERS", keys[0]}), BulkSet({"b"}));
}

TEST_F(SetsTest, SMoveTypeChecks) {
  auto keys = KeysOnDistinctShards("mt:", 2);
  ASSERT_EQ(Run({"SET", keys[0], "x"}), Ok());
  // A missing source replies 0 before the destination's type is looked at.
  EXPECT_EQ(Run({"SMOVE", "nokey", keys[0], "a"}), Int(0));
  ASSERT_EQ(Run({"SADD", keys[1], "a"}), Int(1));
  EXPECT_EQ(Run({"SMOVE", keys[1], keys[0], "a"}), Err(kWrongType));
  EXPECT_EQ(Run({"SMOVE", keys[0], keys[1], "a"}), Err(kWrongType));
  // Also when the member is missing: types first.
  EXPECT_EQ(Run({"SMOVE", keys[1], keys[0], "zz"}), Err(kWrongType));
  EXPECT_EQ(Run({"SMEMBERS", keys[1]}), BulkSet({"a"}));
}

TEST_F(SetsTest, InterUnionDiff) {
  auto k = KeysOnDistinctShards("op:", 3);
  ASSERT_EQ(Run({"SADD", k[0], "a", "b", "c", "d"}), Int(4));
  ASSERT_EQ(Run({"SADD", k[1], "b", "c", "e"}), Int(3));
  ASSERT_EQ(Run({"SADD", k[2], "c", "d", "f"}), Int(3));
  Reply inter = Run({"SINTER", k[0], k[1], k[2]});
  EXPECT_TRUE(inter.is_set());
  EXPECT_EQ(inter, BulkSet({"c"}));
  EXPECT_EQ(SortedStrings(Run({"SINTER", k[0], k[1]})), Strings({"b", "c"}));
  EXPECT_EQ(SortedStrings(Run({"SINTER", k[0]})), Strings({"a", "b", "c", "d"}));
  EXPECT_EQ(Run({"SINTER", k[0], "nokey"}), BulkSet({}));
  Reply uni = Run({"SUNION", k[0], k[1], "nokey", k[2]});
  EXPECT_TRUE(uni.is_set());
  EXPECT_EQ(SortedStrings(uni), Strings({"a", "b", "c", "d", "e", "f"}));
  Reply diff = Run({"SDIFF", k[0], k[1], k[2]});
  EXPECT_TRUE(diff.is_set());
  EXPECT_EQ(diff, BulkSet({"a"}));
  EXPECT_EQ(SortedStrings(Run({"SDIFF", k[0], "nokey"})), Strings({"a", "b", "c", "d"}));
  EXPECT_EQ(Run({"SDIFF", "nokey", k[0]}), BulkSet({}));
  EXPECT_EQ(Run({"SDIFF", k[0], k[0]}), BulkSet({}));
  EXPECT_EQ(SortedStrings(Run({"SINTER", k[1], k[1]})), Strings({"b", "c", "e"}));
}

TEST_F(SetsTest, StoreFormsAcrossShards) {
  auto k = KeysOnDistinctShards("st:", 4);  // every key on its own shard
  for (size_t i = 1; i < k.size(); ++i) ASSERT_NE(engine().shard_of(k[0]), engine().shard_of(k[i]));
  const std::string& dst = k[0];
  ASSERT_EQ(Run({"SADD", k[1], "a", "b", "c"}), Int(3));
  ASSERT_EQ(Run({"SADD", k[2], "b", "c", "d"}), Int(3));
  EXPECT_EQ(Run({"SINTERSTORE", dst, k[1], k[2]}), Int(2));
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", dst})), Strings({"b", "c"}));
  EXPECT_EQ(Run({"SUNIONSTORE", dst, k[1], k[2], k[3]}), Int(4));
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", dst})), Strings({"a", "b", "c", "d"}));
  EXPECT_EQ(Run({"SDIFFSTORE", dst, k[1], k[2]}), Int(1));
  EXPECT_EQ(Run({"SMEMBERS", dst}), BulkSet({"a"}));
  // The destination may be a source.
  EXPECT_EQ(Run({"SUNIONSTORE", k[1], k[1], k[2]}), Int(4));
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", k[1]})), Strings({"a", "b", "c", "d"}));
  // The sources are untouched.
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", k[2]})), Strings({"b", "c", "d"}));
}

TEST_F(SetsTest, StoreOfEmptyResultDeletesDestination) {
  auto k = KeysOnDistinctShards("se:", 3);
  ASSERT_EQ(Run({"SADD", k[1], "a"}), Int(1));
  ASSERT_EQ(Run({"SADD", k[2], "b"}), Int(1));
  ASSERT_EQ(Run({"SADD", k[0], "old"}), Int(1));
  EXPECT_EQ(Run({"SINTERSTORE", k[0], k[1], k[2]}), Int(0));
  EXPECT_EQ(Run({"GET", k[0]}), Nil());
  // Whatever the destination held, even a string: it is not type-checked.
  ASSERT_EQ(Run({"SET", k[0], "x"}), Ok());
  EXPECT_EQ(Run({"SDIFFSTORE", k[0], k[1], k[1]}), Int(0));
  EXPECT_EQ(Run({"GET", k[0]}), Nil());
  ASSERT_EQ(Run({"SET", k[0], "x"}), Ok());
  EXPECT_EQ(Run({"SINTERSTORE", k[0], k[1], "nokey"}), Int(0));
  EXPECT_EQ(Run({"GET", k[0]}), Nil());
  ASSERT_EQ(Run({"SET", k[0], "x"}), Ok());
  EXPECT_EQ(Run({"SUNIONSTORE", k[0], "nokey"}), Int(0));
  EXPECT_EQ(Run({"GET", k[0]}), Nil());
  // A non-empty result replaces a string destination.
  ASSERT_EQ(Run({"SET", k[0], "x"}), Ok());
  EXPECT_EQ(Run({"SUNIONSTORE", k[0], k[1], k[2]}), Int(2));
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", k[0]})), Strings({"a", "b"}));
}

TEST_F(SetsTest, StoreClearsTheDestinationTtl) {
  ASSERT_EQ(Run({"SADD", "{x}src", "a"}), Int(1));
  ASSERT_EQ(Run({"SADD", "{x}dst", "z"}), Int(1));
  ExpireIn("{x}dst", 1000);
  EXPECT_EQ(ExpireAt("{x}dst"), NowMs() + 1000);
  EXPECT_EQ(Run({"SUNIONSTORE", "{x}dst", "{x}src"}), Int(1));
  EXPECT_EQ(ExpireAt("{x}dst"), 0);
  AdvanceTime(2000);
  EXPECT_EQ(Run({"SMEMBERS", "{x}dst"}), BulkSet({"a"}));
}

TEST_F(SetsTest, SInterCard) {
  auto k = KeysOnDistinctShards("ic:", 3);
  ASSERT_EQ(Run({"SADD", k[0], "a", "b", "c", "d"}), Int(4));
  ASSERT_EQ(Run({"SADD", k[1], "b", "c", "d", "e"}), Int(4));
  ASSERT_EQ(Run({"SADD", k[2], "c", "d"}), Int(2));
  EXPECT_EQ(Run({"SINTERCARD", "1", k[0]}), Int(4));
  EXPECT_EQ(Run({"SINTERCARD", "2", k[0], k[1]}), Int(3));
  EXPECT_EQ(Run({"SINTERCARD", "3", k[0], k[1], k[2]}), Int(2));
  EXPECT_EQ(Run({"SINTERCARD", "2", k[0], k[1], "LIMIT", "2"}), Int(2));
  EXPECT_EQ(Run({"SINTERCARD", "2", k[0], k[1], "limit", "0"}), Int(3));
  EXPECT_EQ(Run({"SINTERCARD", "2", k[0], k[1], "LIMIT", "10"}), Int(3));
  EXPECT_EQ(Run({"SINTERCARD", "2", k[0], k[1], "LIMIT", "1", "LIMIT", "0"}), Int(3));
  EXPECT_EQ(Run({"SINTERCARD", "2", k[0], "nokey"}), Int(0));
  // Only numkeys arguments are keys: "LIMIT" here would be a key name otherwise.
  EXPECT_EQ(Run({"SINTERCARD", "1", k[0], "LIMIT", "3"}), Int(3));
}

TEST_F(SetsTest, SInterCardErrors) {
  ASSERT_EQ(Run({"SADD", "s", "a"}), Int(1));
  EXPECT_EQ(Run({"SINTERCARD", "0", "s"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"SINTERCARD", "-1", "s"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"SINTERCARD", "abc", "s"}), Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"SINTERCARD", "3", "s"}),
            Err("ERR Number of keys can't be greater than number of args"));
  EXPECT_EQ(Run({"SINTERCARD", "99999999999999999999", "s"}),
            Err("ERR numkeys should be greater than 0"));
  EXPECT_EQ(Run({"SINTERCARD", "1", "s", "LIMIT", "-1"}), Err("ERR LIMIT can't be negative"));
  EXPECT_EQ(Run({"SINTERCARD", "1", "s", "LIMIT", "abc"}), Err("ERR LIMIT can't be negative"));
  EXPECT_EQ(Run({"SINTERCARD", "1", "s", "LIMIT"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SINTERCARD", "1", "s", "foo", "1"}), Err("ERR syntax error"));
}

TEST_F(SetsTest, SScanVisitsEveryMemberOnce) {
  std::vector<std::string> cmd = {"SADD", "big"};
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    cmd.push_back("m:" + std::to_string(i));
    expected.push_back(cmd.back());
  }
  ASSERT_EQ(Run(cmd), Int(1000));
  std::sort(expected.begin(), expected.end());
  int calls = 0;
  std::vector<std::string> got = ScanAll("big", {}, &calls);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
  EXPECT_GT(calls, 10);  // COUNT 10 by default: many pages
  got = ScanAll("big", {"COUNT", "100000"}, &calls);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.size(), 1000u);
  // MATCH filters after counting, as Redis.
  got = ScanAll("big", {"MATCH", "m:1?", "COUNT", "7"});
  std::sort(got.begin(), got.end());
  std::vector<std::string> tens;
  for (int i = 10; i < 20; ++i) tens.push_back("m:" + std::to_string(i));
  EXPECT_EQ(got, tens);
  EXPECT_EQ(ScanAll("big", {"match", "*"}).size(), 1000u);
}

TEST_F(SetsTest, SScanWhileTheSetGrowsAndShrinks) {
  // Members present for the whole scan are returned even when the table is resized in
  // between (the scan restarts: duplicates are allowed, misses are not).
  std::vector<std::string> cmd = {"SADD", "s"};
  for (int i = 0; i < 200; ++i) cmd.push_back("keep:" + std::to_string(i));
  ASSERT_EQ(Run(cmd), Int(200));
  std::set<std::string> seen;
  std::string cursor = "0";
  int step = 0;
  do {
    Reply r = Run({"SSCAN", "s", cursor, "COUNT", "5"});
    ASSERT_EQ(r.size(), 2u);
    cursor = r.array()[0].string();
    for (const Reply& m : r.array()[1].array()) seen.insert(m.string());
    std::vector<std::string> add = {"SADD", "s"};
    for (int i = 0; i < 20; ++i) add.push_back("new:" + std::to_string(step * 20 + i));
    if (step < 50) {
      Run(add);
    } else if (step < 100) {
      std::vector<std::string> rem = {"SREM", "s"};
      for (int i = 0; i < 20; ++i) rem.push_back("new:" + std::to_string((step - 50) * 20 + i));
      Run(rem);
    }
    ++step;
  } while (cursor != "0" && step < 10000);
  EXPECT_EQ(cursor, "0");
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(seen.count("keep:" + std::to_string(i))) << i;
}

TEST_F(SetsTest, SScanErrors) {
  ASSERT_EQ(Run({"SADD", "s", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"SSCAN", "s", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SSCAN", "s", " 1"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SSCAN", "s", "18446744073709551616"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SSCAN", "nokey", "abc"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"SSCAN", "s", "0", "COUNT", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SSCAN", "s", "0", "COUNT", "-1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SSCAN", "s", "0", "COUNT", "abc"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"SSCAN", "s", "0", "MATCH"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SSCAN", "s", "0", "foo", "bar"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SSCAN", "s", "0", "TYPE", "set"}), Err("ERR syntax error"));
  // Options are parsed after the key lookup: a missing key is an empty scan regardless.
  EXPECT_EQ(Run({"SSCAN", "nokey", "0", "COUNT", "0"}), Arr({Bulk("0"), Arr({})}));
  // Cursors strtoul accepts: "" and "+0" are 0; "-1" wraps (any cursor is accepted).
  for (const char* c : {"", "+0"}) {
    Reply r = Run({"SSCAN", "s", c, "COUNT", "100"});
    ASSERT_EQ(r.size(), 2u) << c;
    EXPECT_EQ(r.array()[0], Bulk("0"));
    EXPECT_EQ(SortedStrings(r.array()[1]), Strings({"a", "b", "c"}));
  }
  EXPECT_EQ(Run({"SSCAN", "s", "-1"}).size(), 2u);
}

TEST_F(SetsTest, ExpiredSetReadsAsEmpty) {
  ASSERT_EQ(Run({"SADD", "s", "a", "b"}), Int(2));
  ExpireIn("s", 100);
  AdvanceTime(99);
  EXPECT_EQ(Run({"SCARD", "s"}), Int(2));
  AdvanceTime(1);
  EXPECT_EQ(Run({"SCARD", "s"}), Int(0));
  EXPECT_EQ(Run({"SMEMBERS", "s"}), BulkSet({}));
  EXPECT_EQ(Run({"SISMEMBER", "s", "a"}), Int(0));
  EXPECT_EQ(Run({"SPOP", "s"}), Nil());
  // A write after expiry starts a fresh set without the old TTL.
  EXPECT_EQ(Run({"SADD", "s", "c"}), Int(1));
  EXPECT_EQ(Run({"SMEMBERS", "s"}), BulkSet({"c"}));
  EXPECT_EQ(ExpireAt("s"), 0);
}

TEST_F(SetsTest, Resp2RepliesHaveTheSameShapes) {
  // The engine's Set replies are flattened to arrays by the server; the engine itself
  // replies the same in both protocols for this family.
  session().resp = 2;
  ASSERT_EQ(Run({"SADD", "s", "a"}), Int(1));
  EXPECT_EQ(Run({"SMEMBERS", "s"}), BulkSet({"a"}));
  EXPECT_EQ(Run({"SRANDMEMBER", "s", "-2"}), BulkArr({"a", "a"}));
  EXPECT_EQ(Run({"SMISMEMBER", "s", "a"}), Arr({Int(1)}));
}

}  // namespace
}  // namespace allot::testing
