// strings_test.cc: the string family (strings.cc, counters.cc) against Redis 7's replies.
// Expected replies and error texts were checked against redis-server 7.0.
#include <string>

#include "engine/engine_impl.h"
#include "tests/support/engine_fixture.h"

namespace allot::testing {
namespace {

constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr std::string_view kNotInt = "ERR value is not an integer or out of range";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kNotFloat = "ERR value is not a valid float";

class StringsTest : public EngineTest {
 protected:
  // Stores a set under key directly in the shard's Db, so type errors are tested without
  // depending on the set family.
  void PutSet(const std::string& key) {
    auto& impl = engine().impl();
    impl.run_on_shard(engine().shard_of(key), [&](internal::ShardState& s) {
      s.dbs[session().db].assign(key, internal::SetValue{"m"}, NowMs());
    });
  }
  std::string Ms(int64_t delta_ms) const { return std::to_string(NowMs() + delta_ms); }
  std::string Sec(int64_t delta_s) const { return std::to_string(NowMs() / 1000 + delta_s); }
};

TEST_F(StringsTest, GetSetBasics) {
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"SET", "k", ""}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Bulk(""));
  std::string binary("a\0b\r\n", 5);
  EXPECT_EQ(Run({"SET", "bin", binary}), Ok());
  EXPECT_EQ(Run({"GET", "bin"}), Bulk(binary));
  EXPECT_EQ(Run({"SET", "k"}), Err("ERR wrong number of arguments for 'set' command"));
}

TEST_F(StringsTest, SetOverwritesAnyTypeButGetRefusesIt) {
  PutSet("s");
  EXPECT_EQ(Run({"GET", "s"}), Err(kWrongType));
  EXPECT_EQ(Run({"SET", "s", "v", "GET"}), Err(kWrongType));
  EXPECT_EQ(Run({"SET", "s", "v", "NX", "GET"}), Err(kWrongType));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"GET", "s"}), Bulk("v"));
  PutSet("s2");
  EXPECT_EQ(Run({"SET", "s2", "v", "NX"}), Nil());
  EXPECT_EQ(Run({"SET", "s2", "v", "XX"}), Ok());
  EXPECT_EQ(Run({"GET", "s2"}), Bulk("v"));
}

TEST_F(StringsTest, SetNxXxGet) {
  EXPECT_EQ(Run({"SET", "k", "1", "XX"}), Nil());
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  EXPECT_EQ(Run({"SET", "k", "1", "nx"}), Ok());
  EXPECT_EQ(Run({"SET", "k", "2", "NX"}), Nil());
  EXPECT_EQ(Run({"SET", "k", "3", "xx"}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Bulk("3"));
  EXPECT_EQ(Run({"SET", "k", "4", "GET"}), Bulk("3"));
  EXPECT_EQ(Run({"SET", "k", "5", "get", "GET"}), Bulk("4"));
  EXPECT_EQ(Run({"SET", "new", "a", "GET"}), Nil());
  EXPECT_EQ(Run({"GET", "new"}), Bulk("a"));
  // NX with GET (Redis 7): the old value, and no write when it exists.
  EXPECT_EQ(Run({"SET", "k", "6", "NX", "GET"}), Bulk("5"));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("5"));
  EXPECT_EQ(Run({"SET", "k2", "v", "NX", "GET"}), Nil());
  EXPECT_EQ(Run({"GET", "k2"}), Bulk("v"));
  EXPECT_EQ(Run({"SET", "k3", "v", "XX", "GET"}), Nil());
  EXPECT_EQ(Run({"GET", "k3"}), Nil());
  EXPECT_EQ(Run({"SET", "k", "7", "NX", "NX"}), Nil());
}

TEST_F(StringsTest, SetSyntaxErrors) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"SET", "k", "v", "NX", "XX"},
           {"SET", "k", "v", "XX", "NX"},
           {"SET", "k", "v", "EX", "10", "PX", "10"},
           {"SET", "k", "v", "PX", "10", "EXAT", "10"},
           {"SET", "k", "v", "EXAT", "10", "PXAT", "10"},
           {"SET", "k", "v", "KEEPTTL", "EX", "1"},
           {"SET", "k", "v", "EX", "1", "KEEPTTL"},
           {"SET", "k", "v", "EX"},
           {"SET", "k", "v", "foo"},
           {"SET", "k", "v", "PERSIST"},
           {"SET", "k", "v", "NXX"},
       }) {
    EXPECT_EQ(Run(args), Err(kSyntax)) << args[3];
  }
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  // Syntax is checked before the expire value.
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc", "foo"}), Err(kSyntax));
}

TEST_F(StringsTest, SetExpireErrors) {
  const Reply invalid = Err("ERR invalid expire time in 'set' command");
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "0"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "-1"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "0"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "0"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", "-5"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "9223372036854775807"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "9223372036854776"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "9223372036854775807"}), invalid);
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "abc"}), Err(kNotInt));
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "1.5"}), Err(kNotInt));
  EXPECT_EQ(Run({"SET", "k", "v", "PX", " 10"}), Err(kNotInt));
  // The expire value is checked before the key's type (GET).
  PutSet("s");
  EXPECT_EQ(Run({"SET", "s", "v", "GET", "EX", "0"}), invalid);
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  // Huge but valid absolute times.
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "9223372036854775"}), Ok());
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(9223372036854775000));
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", "9223372036854775807"}), Ok());
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int(9223372036854775807));
}

TEST_F(StringsTest, SetExpireOptions) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10"}), Ok());
  EXPECT_EQ(Run({"PTTL", "k"}), Int(10000));
  EXPECT_EQ(Run({"SET", "k", "v", "px", "1500"}), Ok());
  EXPECT_EQ(Run({"PTTL", "k"}), Int(1500));
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", Sec(20)}), Ok());
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int((NowMs() / 1000 + 20) * 1000));
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", Ms(2500)}), Ok());
  EXPECT_EQ(Run({"PTTL", "k"}), Int(2500));
  // The last of a repeated option wins.
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10", "EX", "20"}), Ok());
  EXPECT_EQ(Run({"TTL", "k"}), Int(20));
  // A plain SET clears the TTL; KEEPTTL keeps it.
  EXPECT_EQ(Run({"SET", "k", "v2", "KEEPTTL"}), Ok());
  EXPECT_EQ(Run({"TTL", "k"}), Int(20));
  EXPECT_EQ(Run({"SET", "k", "v3"}), Ok());
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  // KEEPTTL on a new key: no TTL.
  EXPECT_EQ(Run({"SET", "fresh", "v", "KEEPTTL"}), Ok());
  EXPECT_EQ(Run({"TTL", "fresh"}), Int(-1));
}

TEST_F(StringsTest, SetTtlExpiresLazily) {
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "100"}), Ok());
  AdvanceTime(99);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  AdvanceTime(1);
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  // An expired key counts as missing for NX and XX.
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "10"}), Ok());
  AdvanceTime(10);
  EXPECT_EQ(Run({"SET", "k", "w", "XX"}), Nil());
  EXPECT_EQ(Run({"SET", "k", "w", "NX", "GET"}), Nil());
  EXPECT_EQ(Run({"GET", "k"}), Bulk("w"));
}

TEST_F(StringsTest, SetAbsoluteTimeInThePastDeletes) {
  EXPECT_EQ(Run({"SET", "k", "old"}), Ok());
  EXPECT_EQ(Run({"SET", "k", "new", "GET", "EXAT", "1"}), Bulk("old"));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Run({"SET", "k", "v", "PXAT", Ms(0)}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
}

TEST_F(StringsTest, Setnx) {
  EXPECT_EQ(Run({"SETNX", "k", "1"}), Int(1));
  EXPECT_EQ(Run({"SETNX", "k", "2"}), Int(0));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("1"));
  PutSet("s");
  EXPECT_EQ(Run({"SETNX", "s", "2"}), Int(0));
  EXPECT_EQ(Run({"SET", "t", "v", "PX", "5"}), Ok());
  AdvanceTime(5);
  EXPECT_EQ(Run({"SETNX", "t", "w"}), Int(1));
  EXPECT_EQ(Run({"TTL", "t"}), Int(-1));
  EXPECT_EQ(Run({"SETNX", "k"}), Err("ERR wrong number of arguments for 'setnx' command"));
}

TEST_F(StringsTest, SetexPsetex) {
  EXPECT_EQ(Run({"SETEX", "k", "10", "v"}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(10000));
  EXPECT_EQ(Run({"PSETEX", "k", "1234", "w"}), Ok());
  EXPECT_EQ(Run({"PTTL", "k"}), Int(1234));
  AdvanceTime(1234);
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  EXPECT_EQ(Run({"SETEX", "k", "0", "v"}), Err("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(Run({"setex", "k", "-1", "v"}), Err("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(Run({"PSETEX", "k", "-1", "v"}), Err("ERR invalid expire time in 'psetex' command"));
  EXPECT_EQ(Run({"SETEX", "k", "abc", "v"}), Err(kNotInt));
  EXPECT_EQ(Run({"SETEX", "k", "9223372036854776", "v"}),
            Err("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(Run({"GET", "k"}), Nil());
  PutSet("s");
  EXPECT_EQ(Run({"SETEX", "s", "10", "v"}), Ok());
  EXPECT_EQ(Run({"TYPE", "s"}), Status("string"));
  EXPECT_EQ(Run({"SETEX", "k", "10"}), Err("ERR wrong number of arguments for 'setex' command"));
}

TEST_F(StringsTest, GetsetClearsTtl) {
  EXPECT_EQ(Run({"GETSET", "k", "1"}), Nil());
  EXPECT_EQ(Run({"EXPIRE", "k", "100"}), Int(1));
  EXPECT_EQ(Run({"GETSET", "k", "2"}), Bulk("1"));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("2"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  PutSet("s");
  EXPECT_EQ(Run({"GETSET", "s", "2"}), Err(kWrongType));
  EXPECT_EQ(Run({"TYPE", "s"}), Status("set"));
}

TEST_F(StringsTest, Getdel) {
  EXPECT_EQ(Run({"GETDEL", "k"}), Nil());
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"GETDEL", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  PutSet("s");
  EXPECT_EQ(Run({"GETDEL", "s"}), Err(kWrongType));
  EXPECT_EQ(Run({"EXISTS", "s"}), Int(1));
}

TEST_F(StringsTest, GetexOptions) {
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"GETEX", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "100"}), Bulk("v"));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(100000));
  EXPECT_EQ(Run({"GETEX", "k", "px", "500"}), Bulk("v"));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(500));
  EXPECT_EQ(Run({"GETEX", "k", "EXAT", Sec(50)}), Bulk("v"));
  EXPECT_EQ(Run({"PEXPIRETIME", "k"}), Int((NowMs() / 1000 + 50) * 1000));
  EXPECT_EQ(Run({"GETEX", "k", "PXAT", Ms(777)}), Bulk("v"));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(777));
  // Without options GETEX leaves the TTL alone.
  EXPECT_EQ(Run({"GETEX", "k"}), Bulk("v"));
  EXPECT_EQ(Run({"PTTL", "k"}), Int(777));
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST"}), Bulk("v"));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  // A past absolute time deletes the key after returning it.
  EXPECT_EQ(Run({"GETEX", "k", "PXAT", Ms(-1)}), Bulk("v"));
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
}

TEST_F(StringsTest, GetexErrors) {
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST", "EX", "10"}), Err(kSyntax));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "10", "PERSIST"}), Err(kSyntax));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "10", "PX", "10"}), Err(kSyntax));
  EXPECT_EQ(Run({"GETEX", "k", "NX"}), Err(kSyntax));
  EXPECT_EQ(Run({"GETEX", "k", "KEEPTTL"}), Err(kSyntax));
  EXPECT_EQ(Run({"GETEX", "k", "GET"}), Err(kSyntax));
  EXPECT_EQ(Run({"GETEX", "k", "EX"}), Err(kSyntax));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "0"}), Err("ERR invalid expire time in 'getex' command"));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"TTL", "k"}), Int(-1));
  // A missing key answers nil before the expire time is looked at; syntax comes first.
  EXPECT_EQ(Run({"GETEX", "nokey", "EX", "0"}), Nil());
  EXPECT_EQ(Run({"GETEX", "nokey", "foo"}), Err(kSyntax));
  PutSet("s");
  EXPECT_EQ(Run({"GETEX", "s", "EX", "0"}), Err(kWrongType));
  EXPECT_EQ(Run({"GETEX"}), Err("ERR wrong number of arguments for 'getex' command"));
}

TEST_F(StringsTest, MgetAcrossShards) {
  EXPECT_EQ(Run({"SET", "a", "1"}), Ok());
  EXPECT_EQ(Run({"SET", "b", "2"}), Ok());
  EXPECT_NE(engine().shard_of("a"), engine().shard_of("b"));
  PutSet("s");
  EXPECT_EQ(Run({"MGET", "a", "nokey", "b", "s", "a"}),
            Arr({Bulk("1"), Nil(), Bulk("2"), Nil(), Bulk("1")}));
  EXPECT_EQ(Run({"MGET"}), Err("ERR wrong number of arguments for 'mget' command"));
}

TEST_F(StringsTest, MsetAcrossShards) {
  std::vector<std::string> cmd = {"MSET"};
  for (int i = 0; i < 20; ++i) {
    cmd.push_back("key" + std::to_string(i));
    cmd.push_back("val" + std::to_string(i));
  }
  EXPECT_EQ(Run(cmd), Ok());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Run({"GET", "key" + std::to_string(i)}), Bulk("val" + std::to_string(i)));
  }
  // MSET clears TTLs and overwrites any type; a repeated key takes the last value.
  EXPECT_EQ(Run({"EXPIRE", "key1", "100"}), Int(1));
  PutSet("s");
  EXPECT_EQ(Run({"MSET", "key1", "x", "s", "y", "key1", "z"}), Ok());
  EXPECT_EQ(Run({"GET", "key1"}), Bulk("z"));
  EXPECT_EQ(Run({"TTL", "key1"}), Int(-1));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("y"));
  EXPECT_EQ(Run({"MSET", "a", "1", "b"}), Err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(Run({"MSET", "a"}), Err("ERR wrong number of arguments for 'mset' command"));
  EXPECT_EQ(Run({"EXISTS", "a", "b"}), Int(0));
}

TEST_F(StringsTest, MsetnxIsAllOrNothing) {
  EXPECT_EQ(Run({"MSETNX", "a", "1", "b", "2", "c", "3"}), Int(1));
  EXPECT_EQ(Run({"MGET", "a", "b", "c"}), BulkArr({"1", "2", "3"}));
  EXPECT_EQ(Run({"MSETNX", "d", "4", "e", "5", "c", "x"}), Int(0));
  EXPECT_EQ(Run({"MGET", "d", "e", "c"}), Arr({Nil(), Nil(), Bulk("3")}));
  // An existing key of another type also blocks it.
  PutSet("s");
  EXPECT_EQ(Run({"MSETNX", "d", "4", "s", "x"}), Int(0));
  EXPECT_EQ(Run({"EXISTS", "d"}), Int(0));
  // An expired key does not.
  EXPECT_EQ(Run({"SET", "t", "old", "PX", "10"}), Ok());
  AdvanceTime(10);
  EXPECT_EQ(Run({"MSETNX", "d", "4", "t", "new"}), Int(1));
  EXPECT_EQ(Run({"MGET", "d", "t"}), BulkArr({"4", "new"}));
  EXPECT_EQ(Run({"MSETNX", "a", "1", "b"}),
            Err("ERR wrong number of arguments for 'msetnx' command"));
}

TEST_F(StringsTest, IncrDecr) {
  EXPECT_EQ(Run({"INCR", "n"}), Int(1));
  EXPECT_EQ(Run({"INCR", "n"}), Int(2));
  EXPECT_EQ(Run({"DECR", "n"}), Int(1));
  EXPECT_EQ(Run({"DECR", "m"}), Int(-1));
  EXPECT_EQ(Run({"INCRBY", "n", "10"}), Int(11));
  EXPECT_EQ(Run({"INCRBY", "n", "-20"}), Int(-9));
  EXPECT_EQ(Run({"DECRBY", "n", "-9"}), Int(0));
  EXPECT_EQ(Run({"DECRBY", "n", "5"}), Int(-5));
  EXPECT_EQ(Run({"GET", "n"}), Bulk("-5"));
  EXPECT_EQ(Run({"SET", "n", "9223372036854775806"}), Ok());
  EXPECT_EQ(Run({"INCR", "n"}), Int(9223372036854775807));
  EXPECT_EQ(Run({"INCR", "n"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"GET", "n"}), Bulk("9223372036854775807"));
  EXPECT_EQ(Run({"SET", "n", "-9223372036854775807"}), Ok());
  EXPECT_EQ(Run({"DECR", "n"}), Int(INT64_MIN));
  EXPECT_EQ(Run({"DECRBY", "n", "1"}), Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"INCRBY", "n", "9223372036854775807"}), Int(-1));
  EXPECT_EQ(Run({"DECRBY", "n", "-9223372036854775808"}), Err("ERR decrement would overflow"));
  EXPECT_EQ(Run({"SET", "n", "10"}), Ok());
  EXPECT_EQ(Run({"DECRBY", "n", "9223372036854775807"}), Int(-9223372036854775797));
  EXPECT_EQ(Run({"DECRBY", "n", "9223372036854775807"}),
            Err("ERR increment or decrement would overflow"));
}

TEST_F(StringsTest, IncrNotAnInteger) {
  for (std::string v : {"abc", "", " 1", "1 ", "1.5", "01", "+1", "99999999999999999999"}) {
    EXPECT_EQ(Run({"SET", "n", v}), Ok());
    EXPECT_EQ(Run({"INCR", "n"}), Err(kNotInt)) << v;
    EXPECT_EQ(Run({"GET", "n"}), Bulk(v));
  }
  EXPECT_EQ(Run({"INCRBY", "m", "abc"}), Err(kNotInt));
  EXPECT_EQ(Run({"INCRBY", "m", "1.0"}), Err(kNotInt));
  EXPECT_EQ(Run({"DECRBY", "m", "9223372036854775808"}), Err(kNotInt));
  EXPECT_EQ(Run({"EXISTS", "m"}), Int(0));
  PutSet("s");
  EXPECT_EQ(Run({"INCR", "s"}), Err(kWrongType));
  EXPECT_EQ(Run({"DECRBY", "s", "1"}), Err(kWrongType));
  // The increment is parsed before the key is looked at.
  EXPECT_EQ(Run({"INCRBY", "s", "abc"}), Err(kNotInt));
  EXPECT_EQ(Run({"INCR", "a", "b"}), Err("ERR wrong number of arguments for 'incr' command"));
}

TEST_F(StringsTest, CountersKeepTtl) {
  EXPECT_EQ(Run({"SET", "n", "5", "EX", "100"}), Ok());
  EXPECT_EQ(Run({"INCR", "n"}), Int(6));
  EXPECT_EQ(Run({"TTL", "n"}), Int(100));
  EXPECT_EQ(Run({"INCRBYFLOAT", "n", "0.5"}), Bulk("6.5"));
  EXPECT_EQ(Run({"TTL", "n"}), Int(100));
  EXPECT_EQ(Run({"APPEND", "n", "1"}), Int(4));
  EXPECT_EQ(Run({"TTL", "n"}), Int(100));
  EXPECT_EQ(Run({"SETRANGE", "n", "0", "7"}), Int(4));
  EXPECT_EQ(Run({"TTL", "n"}), Int(100));
  EXPECT_EQ(Run({"GET", "n"}), Bulk("7.51"));
  AdvanceTime(100000);
  EXPECT_EQ(Run({"INCR", "n"}), Int(1));
  EXPECT_EQ(Run({"TTL", "n"}), Int(-1));
}

TEST_F(StringsTest, Incrbyfloat) {
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "10.50"}), Bulk("10.5"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.1"}), Bulk("10.6"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "-10.6"}), Bulk("0"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "g", "3.0e3"}), Bulk("3000"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "h", "-0.0"}), Bulk("0"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "i", "0.1"}), Bulk("0.1"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "i", "0.2"}), Bulk("0.3"));
  EXPECT_EQ(Run({"SET", "e", "1e5"}), Ok());
  EXPECT_EQ(Run({"INCRBYFLOAT", "e", "0"}), Bulk("100000"));
  EXPECT_EQ(Run({"GET", "e"}), Bulk("100000"));
  EXPECT_EQ(Run({"SET", "x", "0x10"}), Ok());
  EXPECT_EQ(Run({"INCRBYFLOAT", "x", "1"}), Bulk("17"));
  EXPECT_EQ(Run({"SET", "n", "5"}), Ok());
  EXPECT_EQ(Run({"INCRBYFLOAT", "n", "1.5"}), Bulk("6.5"));
  // Redis prints huge values without an exponent.
  EXPECT_EQ(Run({"INCRBYFLOAT", "big", "1e20"}), Bulk("100000000000000000000"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "tiny", "1e-4940"}), Bulk("0"));
}

TEST_F(StringsTest, IncrbyfloatErrors) {
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "abc"}), Err(kNotFloat));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", ""}), Err(kNotFloat));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", " 1"}), Err(kNotFloat));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "nan"}), Err(kNotFloat));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1e-5000"}), Err(kNotFloat));  // underflow to zero
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1e5000"}), Err(kNotFloat));   // overflow
  EXPECT_EQ(Run({"EXISTS", "f"}), Int(0));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "inf"}), Err("ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "-inf"}), Err("ERR increment would produce NaN or Infinity"));
  EXPECT_EQ(Run({"SET", "f", "abc"}), Ok());
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1"}), Err(kNotFloat));
  EXPECT_EQ(Run({"SET", "f", "1e4932"}), Ok());
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1e4932"}),
            Err("ERR increment would produce NaN or Infinity"));
  PutSet("s");
  // The type is checked before the increment.
  EXPECT_EQ(Run({"INCRBYFLOAT", "s", "x"}), Err(kWrongType));
}

TEST_F(StringsTest, AppendStrlen) {
  EXPECT_EQ(Run({"STRLEN", "k"}), Int(0));
  EXPECT_EQ(Run({"APPEND", "k", "hello"}), Int(5));
  EXPECT_EQ(Run({"APPEND", "k", " world"}), Int(11));
  EXPECT_EQ(Run({"APPEND", "k", ""}), Int(11));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("hello world"));
  EXPECT_EQ(Run({"STRLEN", "k"}), Int(11));
  EXPECT_EQ(Run({"APPEND", "e", ""}), Int(0));
  EXPECT_EQ(Run({"EXISTS", "e"}), Int(1));
  PutSet("s");
  EXPECT_EQ(Run({"APPEND", "s", "x"}), Err(kWrongType));
  EXPECT_EQ(Run({"STRLEN", "s"}), Err(kWrongType));
}

TEST_F(StringsTest, Getrange) {
  EXPECT_EQ(Run({"SET", "k", "hello"}), Ok());
  EXPECT_EQ(Run({"GETRANGE", "k", "0", "-1"}), Bulk("hello"));
  EXPECT_EQ(Run({"GETRANGE", "k", "-3", "-1"}), Bulk("llo"));
  EXPECT_EQ(Run({"GETRANGE", "k", "-1", "-3"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "k", "10", "20"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "k", "3", "1"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "k", "-100", "2"}), Bulk("hel"));
  EXPECT_EQ(Run({"GETRANGE", "k", "1", "100"}), Bulk("ello"));
  EXPECT_EQ(Run({"GETRANGE", "k", "0", "-100"}), Bulk("h"));
  EXPECT_EQ(Run({"GETRANGE", "k", "0", "0"}), Bulk("h"));
  EXPECT_EQ(Run({"GETRANGE", "k", "-9223372036854775808", "9223372036854775807"}), Bulk("hello"));
  EXPECT_EQ(Run({"SUBSTR", "k", "1", "2"}), Bulk("el"));
  EXPECT_EQ(Run({"GETRANGE", "nokey", "0", "1"}), Bulk(""));
  EXPECT_EQ(Run({"SET", "empty", ""}), Ok());
  EXPECT_EQ(Run({"GETRANGE", "empty", "0", "-1"}), Bulk(""));
  EXPECT_EQ(Run({"GETRANGE", "k", "a", "1"}), Err(kNotInt));
  EXPECT_EQ(Run({"GETRANGE", "k", "0", "1.0"}), Err(kNotInt));
  PutSet("s");
  EXPECT_EQ(Run({"GETRANGE", "s", "0", "1"}), Err(kWrongType));
  EXPECT_EQ(Run({"GETRANGE", "s", "x", "1"}), Err(kNotInt));
  EXPECT_EQ(Run({"GETRANGE", "k", "0"}),
            Err("ERR wrong number of arguments for 'getrange' command"));
}

TEST_F(StringsTest, Setrange) {
  EXPECT_EQ(Run({"SET", "k", "hello"}), Ok());
  EXPECT_EQ(Run({"SETRANGE", "k", "1", "EL"}), Int(5));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("hELlo"));
  EXPECT_EQ(Run({"SETRANGE", "k", "4", "O world"}), Int(11));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("hELlO world"));
  EXPECT_EQ(Run({"SETRANGE", "k", "1", ""}), Int(11));
  EXPECT_EQ(Run({"SETRANGE", "nk", "3", "ab"}), Int(5));
  EXPECT_EQ(Run({"GET", "nk"}), Bulk(std::string("\0\0\0ab", 5)));
  EXPECT_EQ(Run({"SETRANGE", "nk", "7", "z"}), Int(8));
  EXPECT_EQ(Run({"GET", "nk"}), Bulk(std::string("\0\0\0ab\0\0z", 8)));
  // An empty value on a missing key creates nothing.
  EXPECT_EQ(Run({"SETRANGE", "none", "5", ""}), Int(0));
  EXPECT_EQ(Run({"EXISTS", "none"}), Int(0));
  EXPECT_EQ(Run({"SETRANGE", "k", "-1", "x"}), Err("ERR offset is out of range"));
  EXPECT_EQ(Run({"SETRANGE", "k", "a", "x"}), Err(kNotInt));
  const Reply too_long = Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  EXPECT_EQ(Run({"SETRANGE", "nk", "536870911", "ab"}), too_long);
  EXPECT_EQ(Run({"SETRANGE", "new", "536870912", "a"}), too_long);
  EXPECT_EQ(Run({"SETRANGE", "new", "9223372036854775807", "a"}), too_long);
  EXPECT_EQ(Run({"EXISTS", "new"}), Int(0));
  EXPECT_EQ(Run({"STRLEN", "nk"}), Int(8));
  PutSet("s");
  EXPECT_EQ(Run({"SETRANGE", "s", "0", "b"}), Err(kWrongType));
  EXPECT_EQ(Run({"SETRANGE", "s", "a", "b"}), Err(kNotInt));
  EXPECT_EQ(Run({"SETRANGE", "s", "0", ""}), Err(kWrongType));
}

}  // namespace
}  // namespace allot::testing
