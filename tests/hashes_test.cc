// hashes_test.cc: the hash family against Redis 7's replies and error texts (checked
// against redis-server 7.0).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "tests/support/engine_fixture.h"

namespace allot::testing {
namespace {

constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";

// The fields and values of a map (or flat array) reply, as sorted "field=value" strings.
std::vector<std::string> SortedPairs(const Reply& r) {
  std::vector<std::string> out;
  const auto& a = r.array();
  for (size_t i = 0; i + 1 < a.size(); i += 2) {
    out.push_back(a[i].string() + "=" + a[i + 1].string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Strings(std::initializer_list<std::string_view> elems) {
  std::vector<std::string> v(elems.begin(), elems.end());
  std::sort(v.begin(), v.end());
  return v;
}

class HashesTest : public EngineTest {
 protected:
  // Every HSCAN page of key with opts until the cursor is 0, as "field=value".
  std::vector<std::string> ScanAll(const std::string& key, std::vector<std::string> opts,
                                   int* calls = nullptr) {
    std::vector<std::string> out;
    std::string cursor = "0";
    int n = 0;
    do {
      std::vector<std::string> cmd = {"HSCAN", key, cursor};
      cmd.insert(cmd.end(), opts.begin(), opts.end());
      Reply r = Run(cmd);
      EXPECT_TRUE(r.is_array() && r.size() == 2) << r.debug_string();
      if (!r.is_array() || r.size() != 2) break;
      cursor = r.array()[0].string();
      EXPECT_EQ(r.array()[1].size() % 2, 0u);
      for (const std::string& p : SortedPairs(r.array()[1])) out.push_back(p);
      ++n;
    } while (cursor != "0" && n < 100000);
    if (calls != nullptr) *calls = n;
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(HashesTest, SetGetAndFriends) {
  EXPECT_EQ(Run({"HSET", "h", "f1", "v1", "f2", "v2"}), Int(2));
  EXPECT_EQ(Run({"HSET", "h", "f1", "new", "f3", "v3"}), Int(1));
  EXPECT_EQ(Run({"HSET", "h", "f3", "v3b", "f3", "v3c"}), Int(0));  // the last pair wins
  EXPECT_EQ(Run({"HGET", "h", "f1"}), Bulk("new"));
  EXPECT_EQ(Run({"HGET", "h", "f3"}), Bulk("v3c"));
  EXPECT_EQ(Run({"HGET", "h", "nof"}), Nil());
  EXPECT_EQ(Run({"HMGET", "h", "f1", "nof", "f2"}), Arr({Bulk("new"), Nil(), Bulk("v2")}));
  EXPECT_EQ(Run({"HMSET", "h", "f4", "v4", "f1", "v1"}), Ok());
  EXPECT_EQ(Run({"HLEN", "h"}), Int(4));
  EXPECT_EQ(Run({"HEXISTS", "h", "f4"}), Int(1));
  EXPECT_EQ(Run({"HEXISTS", "h", "nof"}), Int(0));
  EXPECT_EQ(Run({"HSTRLEN", "h", "f1"}), Int(2));
  EXPECT_EQ(Run({"HSTRLEN", "h", "nof"}), Int(0));
  EXPECT_EQ(Run({"HSETNX", "h", "f1", "x"}), Int(0));
  EXPECT_EQ(Run({"HGET", "h", "f1"}), Bulk("v1"));
  EXPECT_EQ(Run({"HSETNX", "h", "f5", "v5"}), Int(1));
  EXPECT_EQ(Run({"HGET", "h", "f5"}), Bulk("v5"));
  EXPECT_EQ(Run({"HSETNX", "h2", "f", "v"}), Int(1));  // creates the hash
  EXPECT_EQ(Run({"HGET", "h2", "f"}), Bulk("v"));
  // Binary-safe, empty field and value.
  EXPECT_EQ(Run({"HSET", "h", std::string_view("a\0b", 3), "", "", "e"}), Int(2));
  EXPECT_EQ(Run({"HGET", "h", std::string_view("a\0b", 3)}), Bulk(""));
  EXPECT_EQ(Run({"HGET", "h", ""}), Bulk("e"));
  EXPECT_EQ(Run({"HSTRLEN", "h", std::string_view("a\0b", 3)}), Int(0));
}

TEST_F(HashesTest, MissingKeyReadsAsEmpty) {
  EXPECT_EQ(Run({"HGET", "nokey", "f"}), Nil());
  EXPECT_EQ(Run({"HMGET", "nokey", "a", "b"}), Arr({Nil(), Nil()}));
  EXPECT_EQ(Run({"HLEN", "nokey"}), Int(0));
  EXPECT_EQ(Run({"HEXISTS", "nokey", "f"}), Int(0));
  EXPECT_EQ(Run({"HSTRLEN", "nokey", "f"}), Int(0));
  EXPECT_EQ(Run({"HDEL", "nokey", "f"}), Int(0));
  EXPECT_EQ(Run({"HKEYS", "nokey"}), Arr({}));
  EXPECT_EQ(Run({"HVALS", "nokey"}), Arr({}));
  EXPECT_EQ(Run({"HGETALL", "nokey"}), Reply::Map());
  EXPECT_EQ(Run({"HRANDFIELD", "nokey"}), Nil());
  EXPECT_EQ(Run({"HRANDFIELD", "nokey", "2"}), Arr({}));
  EXPECT_EQ(Run({"HRANDFIELD", "nokey", "-2", "WITHVALUES"}), Arr({}));
  EXPECT_EQ(Run({"HSCAN", "nokey", "0"}), Arr({Bulk("0"), Arr({})}));
  EXPECT_EQ(Run({"HSCAN", "nokey", "0", "COUNT", "0"}), Arr({Bulk("0"), Arr({})}));
  EXPECT_EQ(Run({"GET", "nokey"}), Nil());
}

TEST_F(HashesTest, ArityErrors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"HSET", "h", "f"}, "hset"},
      {{"HSET", "h", "f", "v", "g"}, "hset"},  // odd pairs: Redis's arity error too
      {{"HMSET", "h", "f"}, "hmset"},
      {{"hmset", "h", "f", "v", "g"}, "hmset"},
      {{"HSETNX", "h", "f"}, "hsetnx"},
      {{"HGET", "h"}, "hget"},
      {{"HMGET", "h"}, "hmget"},
      {{"HDEL", "h"}, "hdel"},
      {{"HEXISTS", "h"}, "hexists"},
      {{"HLEN"}, "hlen"},
      {{"HSTRLEN", "h"}, "hstrlen"},
      {{"HKEYS"}, "hkeys"},
      {{"HVALS", "h", "x"}, "hvals"},
      {{"HGETALL"}, "hgetall"},
      {{"HINCRBY", "h", "f"}, "hincrby"},
      {{"HINCRBYFLOAT", "h", "f"}, "hincrbyfloat"},
      {{"HSCAN", "h"}, "hscan"},
      {{"HRANDFIELD"}, "hrandfield"},
  };
  for (const auto& [cmd, name] : cases) {
    EXPECT_EQ(Run(cmd), Err("ERR wrong number of arguments for '" + name + "' command")) << cmd[0];
  }
  EXPECT_EQ(Run({"GET", "h"}), Nil());  // the failed HSET created nothing
}

TEST_F(HashesTest, WrongTypeForEveryCommand) {
  ASSERT_EQ(Run({"SET", "str", "x"}), Ok());
  const std::vector<std::vector<std::string>> cmds = {
      {"HSET", "str", "f", "v"},
      {"HMSET", "str", "f", "v"},
      {"HSETNX", "str", "f", "v"},
      {"HGET", "str", "f"},
      {"HMGET", "str", "f"},
      {"HDEL", "str", "f"},
      {"HEXISTS", "str", "f"},
      {"HLEN", "str"},
      {"HSTRLEN", "str", "f"},
      {"HKEYS", "str"},
      {"HVALS", "str"},
      {"HGETALL", "str"},
      {"HINCRBY", "str", "f", "1"},
      {"HINCRBYFLOAT", "str", "f", "1"},
      {"HSCAN", "str", "0"},
      {"HSCAN", "str", "0", "COUNT", "0"},
      {"HRANDFIELD", "str"},
      {"HRANDFIELD", "str", "1"},
      {"HRANDFIELD", "str", "-1", "WITHVALUES"},
  };
  for (const auto& cmd : cmds) EXPECT_EQ(Run(cmd), Err(kWrongType)) << cmd[0];
  EXPECT_EQ(Run({"GET", "str"}), Bulk("x"));
  // A set is the wrong type too.
  ASSERT_EQ(Run({"SADD", "s", "a"}), Int(1));
  EXPECT_EQ(Run({"HGET", "s", "a"}), Err(kWrongType));
}

TEST_F(HashesTest, DelDeletesEmptyHash) {
  ASSERT_EQ(Run({"HSET", "h", "a", "1", "b", "2", "c", "3"}), Int(3));
  EXPECT_EQ(Run({"HDEL", "h", "a", "nof", "a"}), Int(1));
  EXPECT_EQ(Run({"HLEN", "h"}), Int(2));
  EXPECT_EQ(Run({"HDEL", "h", "b", "c"}), Int(2));
  EXPECT_EQ(Run({"GET", "h"}), Nil());  // Nil, not WRONGTYPE: the key is gone
  EXPECT_EQ(Run({"HLEN", "h"}), Int(0));
}

TEST_F(HashesTest, KeysValsGetAll) {
  ASSERT_EQ(Run({"HSET", "h", "a", "1", "b", "2"}), Int(2));
  Reply keys = Run({"HKEYS", "h"});
  EXPECT_TRUE(keys.is_array());
  EXPECT_EQ(SortedStrings(keys), Strings({"a", "b"}));
  Reply vals = Run({"HVALS", "h"});
  EXPECT_TRUE(vals.is_array());
  EXPECT_EQ(SortedStrings(vals), Strings({"1", "2"}));
  Reply all = Run({"HGETALL", "h"});
  ASSERT_TRUE(all.is_map()) << all.debug_string();
  EXPECT_EQ(all.size(), 2u);
  EXPECT_EQ(*all.find("a"), Bulk("1"));
  EXPECT_EQ(*all.find("b"), Bulk("2"));
  // HKEYS and HVALS walk the same order.
  ASSERT_EQ(Run({"HSET", "h", "c", "3", "d", "4"}), Int(2));
  keys = Run({"HKEYS", "h"});
  vals = Run({"HVALS", "h"});
  all = Run({"HGETALL", "h"});
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(all.array()[2 * i], keys.array()[i]);
    EXPECT_EQ(all.array()[2 * i + 1], vals.array()[i]);
  }
}

TEST_F(HashesTest, IncrBy) {
  EXPECT_EQ(Run({"HINCRBY", "h", "n", "5"}), Int(5));
  EXPECT_EQ(Run({"HINCRBY", "h", "n", "-7"}), Int(-2));
  EXPECT_EQ(Run({"HGET", "h", "n"}), Bulk("-2"));
  EXPECT_EQ(Run({"HINCRBY", "h", "n", "0"}), Int(-2));
  EXPECT_EQ(Run({"HINCRBY", "h", "big", "9223372036854775807"}), Int(INT64_MAX));
  EXPECT_EQ(Run({"HINCRBY", "h", "big", "1"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"HINCRBY", "h", "neg", "-9223372036854775808"}), Int(INT64_MIN));
  EXPECT_EQ(Run({"HINCRBY", "h", "neg", "-1"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"HGET", "h", "neg"}), Bulk("-9223372036854775808"));
  EXPECT_EQ(Run({"HINCRBY", "h", "neg", "9223372036854775807"}), Int(-1));
  for (const char* bad : {"9223372036854775808", "abc", " 1", "1 ", "+1", "007", "1.0", ""}) {
    EXPECT_EQ(Run({"HINCRBY", "h", "n", bad}), Err("ERR value is not an integer or out of range"))
        << bad;
  }
  for (const char* stored : {" 12", "007", "1.5", "abc", ""}) {
    Run({"HSET", "h", "s", stored});
    EXPECT_EQ(Run({"HINCRBY", "h", "s", "1"}), Err("ERR hash value is not an integer")) << stored;
    EXPECT_EQ(Run({"HGET", "h", "s"}), Bulk(stored));
  }
  // A failed HINCRBY on a new key leaves no key behind.
  EXPECT_EQ(Run({"HINCRBY", "h2", "n", "x"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"GET", "h2"}), Nil());
}

TEST_F(HashesTest, IncrByFloat) {
  // Expected texts are redis-server 7.0's (long double, "%.17Lf" with zeros trimmed).
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "x", "10.50"}), Bulk("10.5"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "x", "0.1"}), Bulk("10.6"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "x", "-5.0e3"}), Bulk("-4989.39999999999999991"));
  EXPECT_EQ(Run({"HGET", "h", "x"}), Bulk("-4989.39999999999999991"));
  EXPECT_EQ(Run({"HSET", "h", "i", "10"}), Int(1));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "i", "0.1"}), Bulk("10.1"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "n", "1.5"}), Bulk("1.5"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "n", "3.0e3"}), Bulk("3001.5"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "n", "-3001.5"}), Bulk("0"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "n", "0.1"}), Bulk("0.1"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "n", "5.0e3"}), Bulk("5000.10000000000000009"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "y", "1.23e-10"}), Bulk("0.000000000123"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "z", "-0.0"}), Bulk("0"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "e", "+5"}), Bulk("5"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "e", "0x10"}), Bulk("21"));
  EXPECT_EQ(Run({"HINCRBY", "h", "e", "1"}), Int(22));  // an integral result is an integer
  // Beyond double's range but within long double's.
  // 401 digits, as redis-server 7.0 prints it.
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "b", "1e400"}),
            Bulk("10000000000000000000281880683947586514586453433629052038625910693539685534008629"
                 "86203936399484832416052209405392731761620029582277725925573402382897659334066101"
                 "77974474345461739178624481166749717237789438243915933380474706750262466844013592"
                 "37513603830343735485505244955964979021825038280091068414947402456898653040951017"
                 "51265809261582758892018347251164331659136266413817630973480634373249743022194688"
                 "0"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "b", "1e4932"}).string().size(), 4933u);
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "b", "1e4932"}),
            Err("ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(Run({"HGET", "h", "b"}).string().size(), 4933u);  // unchanged
}

TEST_F(HashesTest, IncrByFloatErrors) {
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "f", "inf"}), Err("ERR value is NaN or Infinity"));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "f", "-inf"}), Err("ERR value is NaN or Infinity"));
  for (const char* bad : {"abc", "", "nan", " 1", "1 ", "1e99999"}) {
    EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "f", bad}), Err("ERR value is not a valid float")) << bad;
  }
  EXPECT_EQ(Run({"GET", "h"}), Nil());  // nothing was created
  for (const char* stored : {"1.5 ", " 1", "abc", "", "nan"}) {
    Run({"HSET", "h", "s", stored});
    EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "s", "1"}), Err("ERR hash value is not a float")) << stored;
    EXPECT_EQ(Run({"HGET", "h", "s"}), Bulk(stored));
  }
  ASSERT_EQ(Run({"SET", "str", "1"}), Ok());
  EXPECT_EQ(Run({"HINCRBYFLOAT", "str", "f", "1"}), Err(kWrongType));
  // The increment is checked before the key's type, as Redis.
  EXPECT_EQ(Run({"HINCRBYFLOAT", "str", "f", "abc"}), Err("ERR value is not a valid float"));
  EXPECT_EQ(Run({"HINCRBY", "str", "f", "abc"}),
            Err("ERR value is not an integer or out of range"));
}

TEST_F(HashesTest, ScanVisitsEveryFieldOnce) {
  std::vector<std::string> cmd = {"HSET", "h"};
  std::vector<std::string> expected;
  for (int i = 0; i < 500; ++i) {
    cmd.push_back("f:" + std::to_string(i));
    cmd.push_back("v" + std::to_string(i));
    expected.push_back(cmd[cmd.size() - 2] + "=" + cmd.back());
  }
  ASSERT_EQ(Run(cmd), Int(500));
  std::sort(expected.begin(), expected.end());
  int calls = 0;
  EXPECT_EQ(ScanAll("h", {}, &calls), expected);
  EXPECT_GT(calls, 10);
  EXPECT_EQ(ScanAll("h", {"COUNT", "1000"}, &calls), expected);
  EXPECT_EQ(calls, 1);
  // MATCH applies to fields, and drops the value with its field.
  std::vector<std::string> tens;
  for (int i = 10; i < 20; ++i) tens.push_back("f:" + std::to_string(i) + "=v" + std::to_string(i));
  std::sort(tens.begin(), tens.end());
  EXPECT_EQ(ScanAll("h", {"MATCH", "f:1?", "COUNT", "3"}), tens);
  EXPECT_EQ(ScanAll("h", {"MATCH", "v*"}), std::vector<std::string>{});
}

TEST_F(HashesTest, ScanErrors) {
  ASSERT_EQ(Run({"HSET", "h", "a", "1", "b", "2"}), Int(2));
  Reply small = Run({"HSCAN", "h", "0", "MATCH", "a", "COUNT", "5"});
  EXPECT_EQ(small, Arr({Bulk("0"), BulkArr({"a", "1"})}));
  EXPECT_EQ(Run({"HSCAN", "h", "x"}), Err("ERR invalid cursor"));
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT", "0"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT", "-1"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"HSCAN", "h", "0", "COUNT", "x"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"HSCAN", "h", "0", "MATCH"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"HSCAN", "h", "0", "foo", "bar"}), Err("ERR syntax error"));
}

TEST_F(HashesTest, RandField) {
  ASSERT_EQ(Run({"HSET", "h", "a", "1", "b", "2", "c", "3"}), Int(3));
  Reply one = Run({"HRANDFIELD", "h"});
  ASSERT_TRUE(one.is_bulk());
  EXPECT_EQ(Run({"HEXISTS", "h", one.string()}), Int(1));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "0"}), Arr({}));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "0", "WITHVALUES"}), Arr({}));
  Reply two = Run({"HRANDFIELD", "h", "2"});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NE(two.array()[0], two.array()[1]);
  EXPECT_EQ(SortedStrings(Run({"HRANDFIELD", "h", "10"})), Strings({"a", "b", "c"}));
  Reply many = Run({"HRANDFIELD", "h", "-10"});
  ASSERT_EQ(many.size(), 10u);
  for (const Reply& f : many.array()) EXPECT_EQ(Run({"HEXISTS", "h", f.string()}), Int(1));
}

TEST_F(HashesTest, RandFieldWithValuesResp3Pairs) {
  ASSERT_EQ(Run({"HSET", "h", "a", "1", "b", "2", "c", "3"}), Int(3));
  auto check_pairs = [](const Reply& r, size_t n) {
    ASSERT_TRUE(r.is_array()) << r.debug_string();
    ASSERT_EQ(r.size(), n);
    for (const Reply& p : r.array()) {
      ASSERT_TRUE(p.is_array() && p.size() == 2) << r.debug_string();
      std::string f = p.array()[0].string(), v = p.array()[1].string();
      EXPECT_EQ(v, f == "a" ? "1" : f == "b" ? "2" : "3");
    }
  };
  check_pairs(Run({"HRANDFIELD", "h", "2", "WITHVALUES"}), 2);
  check_pairs(Run({"HRANDFIELD", "h", "5", "withvalues"}), 3);
  check_pairs(Run({"HRANDFIELD", "h", "1", "WITHVALUES"}), 1);
  check_pairs(Run({"HRANDFIELD", "h", "-7", "WITHVALUES"}), 7);
}

TEST_F(HashesTest, RandFieldWithValuesResp2Flat) {
  session().resp = 2;
  ASSERT_EQ(Run({"HSET", "h", "a", "1", "b", "2"}), Int(2));
  Reply all = Run({"HRANDFIELD", "h", "5", "WITHVALUES"});
  EXPECT_EQ(SortedPairs(all), Strings({"a=1", "b=2"}));
  EXPECT_EQ(all.size(), 4u);
  Reply rep = Run({"HRANDFIELD", "h", "-3", "WITHVALUES"});
  ASSERT_EQ(rep.size(), 6u);
  for (const std::string& p : SortedPairs(rep)) EXPECT_TRUE(p == "a=1" || p == "b=2") << p;
  EXPECT_EQ(Run({"HRANDFIELD", "h", "1", "WITHVALUES"}).size(), 2u);
  // HGETALL stays a Map in the engine: the server flattens it for RESP2.
  EXPECT_TRUE(Run({"HGETALL", "h"}).is_map());
}

TEST_F(HashesTest, RandFieldDistinctFromALargeHash) {
  std::vector<std::string> cmd = {"HSET", "h"};
  for (int i = 0; i < 600; ++i) {
    cmd.push_back(std::to_string(i));
    cmd.push_back("v");
  }
  ASSERT_EQ(Run(cmd), Int(600));
  for (const char* count : {"5", "250", "599"}) {
    Reply r = Run({"HRANDFIELD", "h", count});
    std::set<std::string> distinct;
    for (const Reply& f : r.array()) distinct.insert(f.string());
    EXPECT_EQ(distinct.size(), static_cast<size_t>(std::stoi(count)));
  }
}

TEST_F(HashesTest, RandFieldErrors) {
  ASSERT_EQ(Run({"HSET", "h", "a", "1"}), Int(1));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "abc"}), Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"HRANDFIELD", "nokey", "abc"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "1", "foo"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "1", "WITHVALUES", "extra"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"}),
            Err("ERR value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807"));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"}),
            Err("ERR value is out of range"));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"}),
            Err("ERR value is out of range"));
  EXPECT_EQ(Run({"HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"}),
            Arr({BulkArr({"a", "1"})}));
  // Redis would try to build the reply; the engine bounds it (limits.h).
  EXPECT_EQ(Run({"HRANDFIELD", "h", "-4611686018427387903"}), Err("ERR value is out of range"));
}

TEST_F(HashesTest, EmptiedHashIsRecreatedByHSet) {
  // HDEL of the last field deletes the key; a later HSET starts a new hash.
  ASSERT_EQ(Run({"HSET", "h", "a", "1"}), Int(1));
  ASSERT_EQ(Run({"HDEL", "h", "a"}), Int(1));
  EXPECT_EQ(Run({"HSET", "h", "b", "2"}), Int(1));
  EXPECT_EQ(Run({"HGETALL", "h"}), Reply::Map({Bulk("b"), Bulk("2")}));
}

}  // namespace
}  // namespace allot::testing
