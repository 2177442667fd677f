// lists_test.cc: the list family against Redis 7's replies and error texts (checked with
// redis-cli against redis-server 7.0 where the text was not obvious from t_list.c).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/engine_fixture.h"

namespace allot::testing {
namespace {

constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr std::string_view kNotInt = "ERR value is not an integer or out of range";
constexpr std::string_view kRankZero =
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or "
    "use negative to start from the end of the list";

Reply IntArr(std::initializer_list<int64_t> v) {
  std::vector<Reply> out;
  for (int64_t i : v) out.push_back(Reply::Int(i));
  return Reply::Array(std::move(out));
}

class ListsTest : public EngineTest {
 protected:
  // Two keys owned by different shards, so LMOVE really crosses shards.
  std::pair<std::string, std::string> KeysOnTwoShards() {
    std::string a = "src";
    for (int i = 0;; ++i) {
      std::string b = "dst:" + std::to_string(i);
      if (engine().shard_of(a) != engine().shard_of(b)) return {a, b};
    }
  }
  Reply All(std::string_view key) { return Run({"LRANGE", key, "0", "-1"}); }
  // A plain null (not the RESP2 null array).
  static bool IsPlainNull(const Reply& r) { return r.is_null() && !r.is_null_array(); }
};

TEST_F(ListsTest, PushAndRange) {
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b"}), Int(2));
  EXPECT_EQ(Run({"LPUSH", "l", "x", "y"}), Int(4));  // pushed one by one: y ends first
  EXPECT_EQ(All("l"), BulkArr({"y", "x", "a", "b"}));
  EXPECT_EQ(Run({"LLEN", "l"}), Int(4));
  EXPECT_EQ(Run({"LLEN", "nokey"}), Int(0));
  EXPECT_EQ(Run({"RPUSH", "l", ""}), Int(5));  // empty elements are elements
  EXPECT_EQ(Run({"LINDEX", "l", "-1"}), Bulk(""));
}

TEST_F(ListsTest, PushArityAndWrongType) {
  EXPECT_EQ(Run({"LPUSH", "l"}), Err("ERR wrong number of arguments for 'lpush' command"));
  EXPECT_EQ(Run({"rpush", "l"}), Err("ERR wrong number of arguments for 'rpush' command"));
  EXPECT_EQ(Run({"LPUSHX", "l"}), Err("ERR wrong number of arguments for 'lpushx' command"));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LPUSH", "s", "a"}), Err(kWrongType));
  EXPECT_EQ(Run({"RPUSH", "s", "a"}), Err(kWrongType));
  EXPECT_EQ(Run({"LPUSHX", "s", "a"}), Err(kWrongType));
  EXPECT_EQ(Run({"RPUSHX", "s", "a"}), Err(kWrongType));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("v"));
}

TEST_F(ListsTest, PushxOnlyOnExistingList) {
  EXPECT_EQ(Run({"LPUSHX", "l", "a"}), Int(0));
  EXPECT_EQ(Run({"RPUSHX", "l", "a"}), Int(0));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"RPUSH", "l", "m"}), Int(1));
  EXPECT_EQ(Run({"LPUSHX", "l", "a", "b"}), Int(3));
  EXPECT_EQ(Run({"RPUSHX", "l", "y", "z"}), Int(5));
  EXPECT_EQ(All("l"), BulkArr({"b", "a", "m", "y", "z"}));
}

TEST_F(ListsTest, PopWithoutCount) {
  Reply r = Run({"LPOP", "nokey"});
  EXPECT_TRUE(IsPlainNull(r)) << r.debug_string();
  EXPECT_TRUE(IsPlainNull(Run({"RPOP", "nokey"})));
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"LPOP", "l"}), Bulk("a"));
  EXPECT_EQ(Run({"RPOP", "l"}), Bulk("c"));
  EXPECT_EQ(Run({"RPOP", "l"}), Bulk("b"));
  // The last pop deleted the key.
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_TRUE(IsPlainNull(Run({"LPOP", "l"})));
}

TEST_F(ListsTest, PopWithCount) {
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "c", "d", "e"}), Int(5));
  EXPECT_EQ(Run({"LPOP", "l", "2"}), BulkArr({"a", "b"}));
  EXPECT_EQ(Run({"RPOP", "l", "2"}), BulkArr({"e", "d"}));
  EXPECT_EQ(Run({"LPOP", "l", "0"}), Arr({}));  // count 0 on a list: empty array
  EXPECT_EQ(Run({"LLEN", "l"}), Int(1));
  EXPECT_EQ(Run({"RPOP", "l", "100"}), BulkArr({"c"}));  // more than there is
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  // Missing key with a count (even 0): RESP2 null array *-1.
  for (const char* n : {"0", "1", "5"}) {
    Reply r = Run({"LPOP", "l", n});
    EXPECT_TRUE(r.is_null_array()) << n << " " << r.debug_string();
    EXPECT_TRUE(Run({"RPOP", "l", n}).is_null_array());
  }
}

TEST_F(ListsTest, PopErrors) {
  // The count is checked before the key, so a missing key still gets the error.
  EXPECT_EQ(Run({"LPOP", "nokey", "-1"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"RPOP", "nokey", "-5"}), Err("ERR value is out of range, must be positive"));
  EXPECT_EQ(Run({"LPOP", "nokey", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"LPOP", "nokey", "1.5"}), Err(kNotInt));
  EXPECT_EQ(Run({"LPOP", "nokey", "99999999999999999999"}), Err(kNotInt));
  EXPECT_EQ(Run({"LPOP", "l", "1", "2"}), Err("ERR wrong number of arguments for 'lpop' command"));
  EXPECT_EQ(Run({"rpop", "l", "1", "2"}), Err("ERR wrong number of arguments for 'rpop' command"));
  EXPECT_EQ(Run({"LPOP"}), Err("ERR wrong number of arguments for 'lpop' command"));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LPOP", "s"}), Err(kWrongType));
  EXPECT_EQ(Run({"RPOP", "s", "0"}), Err(kWrongType));
  EXPECT_EQ(Run({"LPOP", "s", "-1"}), Err("ERR value is out of range, must be positive"));
}

TEST_F(ListsTest, Lrange) {
  EXPECT_EQ(Run({"RPUSH", "l", "0", "1", "2", "3", "4"}), Int(5));
  EXPECT_EQ(Run({"LRANGE", "l", "0", "0"}), BulkArr({"0"}));
  EXPECT_EQ(Run({"LRANGE", "l", "1", "3"}), BulkArr({"1", "2", "3"}));
  EXPECT_EQ(Run({"LRANGE", "l", "-2", "-1"}), BulkArr({"3", "4"}));
  EXPECT_EQ(Run({"LRANGE", "l", "-100", "1"}), BulkArr({"0", "1"}));
  EXPECT_EQ(Run({"LRANGE", "l", "3", "100"}), BulkArr({"3", "4"}));
  EXPECT_EQ(Run({"LRANGE", "l", "3", "1"}), Arr({}));
  EXPECT_EQ(Run({"LRANGE", "l", "5", "10"}), Arr({}));
  EXPECT_EQ(Run({"LRANGE", "l", "0", "-6"}), Arr({}));
  EXPECT_EQ(Run({"LRANGE", "l", "-9223372036854775808", "9223372036854775807"}),
            BulkArr({"0", "1", "2", "3", "4"}));
  EXPECT_EQ(Run({"LRANGE", "nokey", "0", "-1"}), Arr({}));
  // Indexes are parsed before the key is looked up.
  EXPECT_EQ(Run({"LRANGE", "nokey", "a", "1"}), Err(kNotInt));
  EXPECT_EQ(Run({"LRANGE", "l", "0", "1x"}), Err(kNotInt));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LRANGE", "s", "0", "-1"}), Err(kWrongType));
  EXPECT_EQ(Run({"LRANGE", "s", "x", "-1"}), Err(kNotInt));
  EXPECT_EQ(Run({"LRANGE", "l", "0"}), Err("ERR wrong number of arguments for 'lrange' command"));
}

TEST_F(ListsTest, Lindex) {
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"LINDEX", "l", "0"}), Bulk("a"));
  EXPECT_EQ(Run({"LINDEX", "l", "2"}), Bulk("c"));
  EXPECT_EQ(Run({"LINDEX", "l", "-1"}), Bulk("c"));
  EXPECT_EQ(Run({"LINDEX", "l", "-3"}), Bulk("a"));
  EXPECT_TRUE(IsPlainNull(Run({"LINDEX", "l", "3"})));
  EXPECT_TRUE(IsPlainNull(Run({"LINDEX", "l", "-4"})));
  EXPECT_TRUE(IsPlainNull(Run({"LINDEX", "l", "-9223372036854775808"})));
  EXPECT_EQ(Run({"LINDEX", "l", "x"}), Err(kNotInt));
  // The key is looked up first: a missing key answers nil even for a bad index.
  EXPECT_TRUE(IsPlainNull(Run({"LINDEX", "nokey", "x"})));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LINDEX", "s", "x"}), Err(kWrongType));
}

TEST_F(ListsTest, Lset) {
  EXPECT_EQ(Run({"LSET", "nokey", "0", "x"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"LSET", "nokey", "x", "x"}), Err("ERR no such key"));
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"LSET", "l", "0", "A"}), Ok());
  EXPECT_EQ(Run({"LSET", "l", "-1", "C"}), Ok());
  EXPECT_EQ(All("l"), BulkArr({"A", "b", "C"}));
  EXPECT_EQ(Run({"LSET", "l", "3", "x"}), Err("ERR index out of range"));
  EXPECT_EQ(Run({"LSET", "l", "-4", "x"}), Err("ERR index out of range"));
  EXPECT_EQ(Run({"LSET", "l", "x", "x"}), Err(kNotInt));
  EXPECT_EQ(All("l"), BulkArr({"A", "b", "C"}));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LSET", "s", "0", "x"}), Err(kWrongType));
}

TEST_F(ListsTest, Lrem) {
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"}), Int(7));
  EXPECT_EQ(Run({"LREM", "l", "2", "a"}), Int(2));  // the first two from the head
  EXPECT_EQ(All("l"), BulkArr({"b", "c", "a", "b", "a"}));
  EXPECT_EQ(Run({"LREM", "l", "-1", "b"}), Int(1));  // the last one
  EXPECT_EQ(All("l"), BulkArr({"b", "c", "a", "a"}));
  EXPECT_EQ(Run({"LREM", "l", "0", "a"}), Int(2));  // all of them
  EXPECT_EQ(All("l"), BulkArr({"b", "c"}));
  EXPECT_EQ(Run({"LREM", "l", "5", "zz"}), Int(0));
  EXPECT_EQ(Run({"LREM", "l", "-9223372036854775808", "b"}), Int(1));
  EXPECT_EQ(Run({"LREM", "l", "0", "c"}), Int(1));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));  // emptied: deleted
  EXPECT_EQ(Run({"LREM", "l", "0", "c"}), Int(0));
  // The count is parsed before the key.
  EXPECT_EQ(Run({"LREM", "nokey", "x", "y"}), Err(kNotInt));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LREM", "s", "0", "v"}), Err(kWrongType));
}

TEST_F(ListsTest, LremFromTailKeepsOrder) {
  EXPECT_EQ(Run({"RPUSH", "l", "x", "1", "x", "2", "x", "3", "x"}), Int(7));
  EXPECT_EQ(Run({"LREM", "l", "-3", "x"}), Int(3));
  EXPECT_EQ(All("l"), BulkArr({"x", "1", "2", "3"}));
}

TEST_F(ListsTest, Ltrim) {
  EXPECT_EQ(Run({"RPUSH", "l", "0", "1", "2", "3", "4"}), Int(5));
  EXPECT_EQ(Run({"LTRIM", "l", "1", "-2"}), Ok());
  EXPECT_EQ(All("l"), BulkArr({"1", "2", "3"}));
  EXPECT_EQ(Run({"LTRIM", "l", "-100", "100"}), Ok());
  EXPECT_EQ(All("l"), BulkArr({"1", "2", "3"}));
  EXPECT_EQ(Run({"LTRIM", "l", "1", "1"}), Ok());
  EXPECT_EQ(All("l"), BulkArr({"2"}));
  EXPECT_EQ(Run({"LTRIM", "l", "1", "0"}), Ok());  // empty range: the key goes
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"LTRIM", "nokey", "0", "1"}), Ok());
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b"}), Int(2));
  EXPECT_EQ(Run({"LTRIM", "l", "5", "10"}), Ok());
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"LTRIM", "nokey", "x", "1"}), Err(kNotInt));
  EXPECT_EQ(Run({"LTRIM", "nokey", "1", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LTRIM", "s", "0", "1"}), Err(kWrongType));
}

TEST_F(ListsTest, Linsert) {
  EXPECT_EQ(Run({"LINSERT", "nokey", "BEFORE", "a", "x"}), Int(0));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "a"}), Int(3));
  EXPECT_EQ(Run({"LINSERT", "l", "BEFORE", "a", "x"}), Int(4));  // first pivot only
  EXPECT_EQ(Run({"LINSERT", "l", "after", "b", "y"}), Int(5));
  EXPECT_EQ(Run({"LINSERT", "l", "After", "a", "z"}), Int(6));
  EXPECT_EQ(All("l"), BulkArr({"x", "a", "z", "b", "y", "a"}));
  EXPECT_EQ(Run({"LINSERT", "l", "BEFORE", "nope", "q"}), Int(-1));
  EXPECT_EQ(Run({"LLEN", "l"}), Int(6));
  // The position word is checked before the key.
  EXPECT_EQ(Run({"LINSERT", "nokey", "middle", "a", "b"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LINSERT", "l", "middle", "a", "b"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LINSERT", "s", "BEFORE", "a", "b"}), Err(kWrongType));
  EXPECT_EQ(Run({"LINSERT", "l", "BEFORE", "a"}),
            Err("ERR wrong number of arguments for 'linsert' command"));
}

TEST_F(ListsTest, Lpos) {
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "c", "a", "d", "a"}), Int(6));
  EXPECT_EQ(Run({"LPOS", "l", "a"}), Int(0));
  EXPECT_EQ(Run({"LPOS", "l", "d"}), Int(4));
  EXPECT_TRUE(IsPlainNull(Run({"LPOS", "l", "zz"})));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "2"}), Int(3));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "-1"}), Int(5));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "-3"}), Int(0));
  EXPECT_TRUE(IsPlainNull(Run({"LPOS", "l", "a", "RANK", "4"})));
  EXPECT_EQ(Run({"LPOS", "l", "a", "COUNT", "0"}), IntArr({0, 3, 5}));
  EXPECT_EQ(Run({"LPOS", "l", "a", "COUNT", "2"}), IntArr({0, 3}));
  EXPECT_EQ(Run({"LPOS", "l", "a", "COUNT", "0", "RANK", "-1"}), IntArr({5, 3, 0}));
  EXPECT_EQ(Run({"LPOS", "l", "a", "COUNT", "2", "RANK", "2"}), IntArr({3, 5}));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "4", "COUNT", "1"}), Arr({}));
  EXPECT_EQ(Run({"LPOS", "l", "zz", "COUNT", "1"}), Arr({}));
  EXPECT_EQ(Run({"LPOS", "l", "a", "MAXLEN", "3", "COUNT", "0"}), IntArr({0}));
  EXPECT_EQ(Run({"LPOS", "l", "a", "MAXLEN", "2", "RANK", "-1", "COUNT", "0"}), IntArr({5}));
  EXPECT_TRUE(IsPlainNull(Run({"LPOS", "l", "d", "MAXLEN", "4"})));
  EXPECT_EQ(Run({"LPOS", "l", "d", "MAXLEN", "5"}), Int(4));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "1", "RANK", "2"}), Int(3));  // the last wins
  EXPECT_EQ(Run({"lpos", "l", "a", "rank", "-2", "count", "1", "maxlen", "0"}), IntArr({3}));
  EXPECT_TRUE(IsPlainNull(Run({"LPOS", "nokey", "a"})));
  EXPECT_EQ(Run({"LPOS", "nokey", "a", "COUNT", "0"}), Arr({}));
}

TEST_F(ListsTest, LposErrors) {
  EXPECT_EQ(Run({"RPUSH", "l", "a"}), Int(1));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "0"}), Err(kRankZero));
  EXPECT_EQ(Run({"LPOS", "nokey", "a", "RANK", "0"}), Err(kRankZero));  // options first
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "-9223372036854775808"}),
            Err("ERR value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807"));
  EXPECT_TRUE(IsPlainNull(Run({"LPOS", "l", "a", "RANK", "-9223372036854775807"})));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK", "-1", "COUNT", "9223372036854775807"}), IntArr({0}));
  EXPECT_EQ(Run({"LPOS", "l", "a", "COUNT", "-1"}), Err("ERR COUNT can't be negative"));
  EXPECT_EQ(Run({"LPOS", "l", "a", "COUNT", "abc"}), Err("ERR COUNT can't be negative"));
  EXPECT_EQ(Run({"LPOS", "l", "a", "MAXLEN", "-1"}), Err("ERR MAXLEN can't be negative"));
  EXPECT_EQ(Run({"LPOS", "l", "a", "MAXLEN", "x"}), Err("ERR MAXLEN can't be negative"));
  EXPECT_EQ(Run({"LPOS", "l", "a", "RANK"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LPOS", "l", "a", "COUNT"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LPOS", "l", "a", "FOO", "1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LPOS", "l"}), Err("ERR wrong number of arguments for 'lpos' command"));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"LPOS", "s", "a"}), Err(kWrongType));
  EXPECT_EQ(Run({"LPOS", "s", "a", "RANK", "0"}), Err(kRankZero));
}

TEST_F(ListsTest, LmoveSameShard) {
  EXPECT_EQ(Run({"RPUSH", "{t}a", "1", "2", "3"}), Int(3));
  EXPECT_EQ(Run({"LMOVE", "{t}a", "{t}b", "LEFT", "RIGHT"}), Bulk("1"));
  EXPECT_EQ(Run({"LMOVE", "{t}a", "{t}b", "right", "left"}), Bulk("3"));
  EXPECT_EQ(All("{t}a"), BulkArr({"2"}));
  EXPECT_EQ(All("{t}b"), BulkArr({"3", "1"}));
  EXPECT_EQ(Run({"LMOVE", "{t}a", "{t}b", "LEFT", "LEFT"}), Bulk("2"));
  EXPECT_EQ(Run({"LLEN", "{t}a"}), Int(0));
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));  // the emptied source is gone
  EXPECT_EQ(All("{t}b"), BulkArr({"2", "3", "1"}));
  EXPECT_TRUE(IsPlainNull(Run({"LMOVE", "{t}a", "{t}b", "LEFT", "LEFT"})));
}

TEST_F(ListsTest, LmoveSameKeyRotates) {
  EXPECT_EQ(Run({"RPUSH", "l", "a", "b", "c"}), Int(3));
  EXPECT_EQ(Run({"LMOVE", "l", "l", "LEFT", "RIGHT"}), Bulk("a"));
  EXPECT_EQ(All("l"), BulkArr({"b", "c", "a"}));
  EXPECT_EQ(Run({"LMOVE", "l", "l", "RIGHT", "LEFT"}), Bulk("a"));
  EXPECT_EQ(All("l"), BulkArr({"a", "b", "c"}));
  EXPECT_EQ(Run({"LMOVE", "l", "l", "LEFT", "LEFT"}), Bulk("a"));
  EXPECT_EQ(All("l"), BulkArr({"a", "b", "c"}));
  EXPECT_EQ(Run({"RPOPLPUSH", "l", "l"}), Bulk("c"));
  EXPECT_EQ(All("l"), BulkArr({"c", "a", "b"}));
  // A single-element list survives rotating into itself.
  EXPECT_EQ(Run({"RPUSH", "one", "x"}), Int(1));
  EXPECT_EQ(Run({"LMOVE", "one", "one", "LEFT", "RIGHT"}), Bulk("x"));
  EXPECT_EQ(All("one"), BulkArr({"x"}));
  EXPECT_EQ(Run({"RPOPLPUSH", "one", "one"}), Bulk("x"));
  EXPECT_EQ(All("one"), BulkArr({"x"}));
}

TEST_F(ListsTest, LmoveAcrossShards) {
  auto [src, dst] = KeysOnTwoShards();
  ASSERT_NE(engine().shard_of(src), engine().shard_of(dst));
  EXPECT_EQ(Run({"RPUSH", src, "a", "b"}), Int(2));
  EXPECT_EQ(Run({"LMOVE", src, dst, "RIGHT", "LEFT"}), Bulk("b"));
  EXPECT_EQ(Run({"LMOVE", src, dst, "LEFT", "RIGHT"}), Bulk("a"));
  EXPECT_EQ(All(dst), BulkArr({"b", "a"}));
  EXPECT_EQ(Run({"LLEN", src}), Int(0));
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));
  EXPECT_EQ(Run({"RPOPLPUSH", dst, src}), Bulk("a"));
  EXPECT_EQ(All(src), BulkArr({"a"}));
  EXPECT_EQ(All(dst), BulkArr({"b"}));
}

TEST_F(ListsTest, LmoveErrors) {
  auto [src, dst] = KeysOnTwoShards();
  // Directions are checked before anything else.
  EXPECT_EQ(Run({"LMOVE", src, dst, "UP", "LEFT"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMOVE", src, dst, "LEFT", "DOWN"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMOVE", src, dst, "LEFT"}),
            Err("ERR wrong number of arguments for 'lmove' command"));
  EXPECT_EQ(Run({"RPOPLPUSH", src}), Err("ERR wrong number of arguments for 'rpoplpush' command"));
  EXPECT_EQ(Run({"SET", dst, "str"}), Ok());
  // A missing source answers null before the destination's type is looked at.
  EXPECT_TRUE(IsPlainNull(Run({"LMOVE", src, dst, "LEFT", "LEFT"})));
  EXPECT_TRUE(IsPlainNull(Run({"RPOPLPUSH", src, dst})));
  EXPECT_EQ(Run({"RPUSH", src, "a"}), Int(1));
  // A destination of another type leaves the source untouched.
  EXPECT_EQ(Run({"LMOVE", src, dst, "LEFT", "LEFT"}), Err(kWrongType));
  EXPECT_EQ(Run({"RPOPLPUSH", src, dst}), Err(kWrongType));
  EXPECT_EQ(All(src), BulkArr({"a"}));
  EXPECT_EQ(Run({"GET", dst}), Bulk("str"));
  // A source of another type.
  EXPECT_EQ(Run({"LMOVE", dst, src, "LEFT", "LEFT"}), Err(kWrongType));
  EXPECT_EQ(Run({"RPOPLPUSH", dst, src}), Err(kWrongType));
  EXPECT_EQ(All(src), BulkArr({"a"}));
}

TEST_F(ListsTest, RpoplpushMovesTailToHead) {
  EXPECT_EQ(Run({"RPUSH", "{x}a", "1", "2", "3"}), Int(3));
  EXPECT_EQ(Run({"RPUSH", "{x}b", "9"}), Int(1));
  EXPECT_EQ(Run({"RPOPLPUSH", "{x}a", "{x}b"}), Bulk("3"));
  EXPECT_EQ(All("{x}b"), BulkArr({"3", "9"}));
  EXPECT_EQ(All("{x}a"), BulkArr({"1", "2"}));
}

TEST_F(ListsTest, Lmpop) {
  auto [k1, k2] = KeysOnTwoShards();
  EXPECT_EQ(Run({"RPUSH", k2, "a", "b", "c"}), Int(3));
  // The first key holding a list wins; the reply names it.
  EXPECT_EQ(Run({"LMPOP", "2", k1, k2, "RIGHT", "COUNT", "2"}),
            Arr({Bulk(k2), BulkArr({"c", "b"})}));
  EXPECT_EQ(Run({"LMPOP", "2", k1, k2, "left", "count", "5"}), Arr({Bulk(k2), BulkArr({"a"})}));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));  // emptied: deleted
  Reply none = Run({"LMPOP", "2", k1, k2, "LEFT"});
  EXPECT_TRUE(none.is_null_array()) << none.debug_string();
  EXPECT_EQ(Run({"RPUSH", k1, "x", "y"}), Int(2));
  EXPECT_EQ(Run({"RPUSH", k2, "z"}), Int(1));
  EXPECT_EQ(Run({"LMPOP", "2", k1, k2, "LEFT"}), Arr({Bulk(k1), BulkArr({"x"})}));  // COUNT 1
  EXPECT_EQ(Run({"LMPOP", "1", k2, "LEFT"}), Arr({Bulk(k2), BulkArr({"z"})}));
}

TEST_F(ListsTest, LmpopErrors) {
  constexpr std::string_view kNumkeys = "ERR numkeys should be greater than 0";
  EXPECT_EQ(Run({"LMPOP", "0", "l", "LEFT"}), Err(kNumkeys));
  EXPECT_EQ(Run({"LMPOP", "-1", "l", "LEFT"}), Err(kNumkeys));
  EXPECT_EQ(Run({"LMPOP", "x", "l", "LEFT"}), Err(kNumkeys));
  EXPECT_EQ(Run({"LMPOP", "2", "l", "LEFT"}), Err("ERR syntax error"));  // no position word
  EXPECT_EQ(Run({"LMPOP", "9223372036854775807", "l", "LEFT"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMPOP", "3", "a", "b", "LEFT"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMPOP", "1", "l", "UP"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMPOP", "1", "l", "LEFT", "COUNT", "0"}),
            Err("ERR count should be greater than 0"));
  EXPECT_EQ(Run({"LMPOP", "1", "l", "LEFT", "COUNT", "x"}),
            Err("ERR count should be greater than 0"));
  EXPECT_EQ(Run({"LMPOP", "1", "l", "LEFT", "COUNT", "1", "COUNT", "2"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMPOP", "1", "l", "LEFT", "COUNT"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMPOP", "1", "l", "LEFT", "FOO"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"LMPOP", "1", "l"}), Err("ERR wrong number of arguments for 'lmpop' command"));
  // A key of another type before any list: WRONGTYPE; after a list: never looked at.
  EXPECT_EQ(Run({"SET", "{k}s", "v"}), Ok());
  EXPECT_EQ(Run({"LMPOP", "2", "{k}l", "{k}s", "LEFT"}), Err(kWrongType));
  EXPECT_EQ(Run({"RPUSH", "{k}l", "x"}), Int(1));
  EXPECT_EQ(Run({"LMPOP", "2", "{k}l", "{k}s", "LEFT"}), Arr({Bulk("{k}l"), BulkArr({"x"})}));
}

TEST_F(ListsTest, OtherCommandsSeeEmptyListsAsMissing) {
  EXPECT_EQ(Run({"RPUSH", "l", "a"}), Int(1));
  EXPECT_EQ(Run({"LPOP", "l"}), Bulk("a"));
  // The key is gone, so it can now hold a string.
  EXPECT_EQ(Run({"SET", "l", "v"}), Ok());
  EXPECT_EQ(Run({"GET", "l"}), Bulk("v"));
  EXPECT_EQ(Run({"LLEN", "l"}), Err(kWrongType));
}

TEST_F(ListsTest, LongListAcrossBothEnds) {
  std::vector<std::string> cmd = {"RPUSH", "big"};
  for (int i = 0; i < 1000; ++i) cmd.push_back(std::to_string(i));
  EXPECT_EQ(Run(cmd), Int(1000));
  EXPECT_EQ(Run({"LINDEX", "big", "500"}), Bulk("500"));
  EXPECT_EQ(Run({"LPOS", "big", "999"}), Int(999));
  EXPECT_EQ(Run({"LRANGE", "big", "998", "-1"}), BulkArr({"998", "999"}));
  EXPECT_EQ(Run({"LTRIM", "big", "100", "199"}), Ok());
  EXPECT_EQ(Run({"LLEN", "big"}), Int(100));
  EXPECT_EQ(Run({"LINDEX", "big", "0"}), Bulk("100"));
  EXPECT_EQ(Run({"RPOP", "big", "1000"}).size(), 100u);
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
}

}  // namespace
}  // namespace allot::testing
