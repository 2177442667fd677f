// scripting_engine_test.cc: EVAL/EVALSHA/SCRIPT/FUNCTION through the embedded engine (4
// shards): the seed's flash-sale script, Lua <-> reply conversions in RESP2 and RESP3,
// the sandbox, and error texts exactly as Redis 7.0 gives them.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "engine/engine_impl.h"
#include "engine/scripting/sha1.h"
#include "tests/support/engine_fixture.h"

namespace allot {
void PrintTo(const Reply& r, std::ostream* os) { *os << r.debug_string(); }
}  // namespace allot

namespace allot::testing {
namespace {

// The flash-sale script of seed 002, unchanged.
constexpr const char* kSeedScript = R"(local user_id = ARGV[1]
local ticket_key = KEYS[1]
local user_set_key = KEYS[2]

local tickets = tonumber(redis.call("GET", ticket_key) or "0")

if tickets <= 0 then
    return 0 -- Sold out
end

if redis.call("SISMEMBER", user_set_key, user_id) == 1 then
    return -1 -- User already purchased
end

redis.call("DECR", ticket_key)
redis.call("SADD", user_set_key, user_id)

return 1 -- Purchase successful
)";

class ScriptingTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Run({"SCRIPT", "FLUSH"});
    Run({"FUNCTION", "FLUSH"});
  }
  Reply Eval(std::string_view body, std::vector<std::string> rest = {"0"}) {
    std::vector<std::string> args = {"EVAL", std::string(body)};
    args.insert(args.end(), rest.begin(), rest.end());
    return Run(args);
  }
  static std::string Sha(std::string_view body) { return internal::Sha1Hex(body); }
  // Redis's suffix of an error raised in a script.
  static std::string At(std::string_view body, int line) {
    return " script: " + Sha(body) + ", on @user_script:" + std::to_string(line) + ".";
  }
};

TEST(Sha1Test, KnownDigests) {
  EXPECT_EQ(internal::Sha1Hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(internal::Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(internal::Sha1Hex(std::string(1000, 'a')), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST_F(ScriptingTest, SeedFlashSaleAcrossShards) {
  ASSERT_NE(engine().shard_of("ticket_counter"), engine().shard_of("purchased_users"));
  ASSERT_EQ(Run({"SET", "ticket_counter", "2"}), Ok());
  auto buy = [&](const char* user) {
    return Eval(kSeedScript, {"2", "ticket_counter", "purchased_users", user});
  };
  EXPECT_EQ(buy("u1"), Int(1));
  EXPECT_EQ(buy("u1"), Int(-1));
  EXPECT_EQ(buy("u2"), Int(1));
  EXPECT_EQ(buy("u3"), Int(0));
  EXPECT_EQ(Run({"GET", "ticket_counter"}), Bulk("0"));
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", "purchased_users"})),
            (std::vector<std::string>{"u1", "u2"}));
  // EVALSHA of the script EVAL cached; upper-case sha accepted.
  std::string sha = Sha(kSeedScript);
  EXPECT_EQ(Run({"EVALSHA", sha, "2", "ticket_counter", "purchased_users", "u4"}), Int(0));
  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(Run({"EVALSHA", upper, "2", "ticket_counter", "purchased_users", "u1"}), Int(0));
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha, "ffff"}), Arr({Int(1), Int(0)}));
}

TEST_F(ScriptingTest, ScriptLoadAndNoscript) {
  EXPECT_EQ(Run({"SCRIPT", "LOAD", "return 'x'"}), Bulk(Sha("return 'x'")));
  EXPECT_EQ(Run({"EVALSHA", Sha("return 'x'"), "0"}), Bulk("x"));
  EXPECT_EQ(Run({"SCRIPT", "FLUSH"}), Ok());
  EXPECT_EQ(Run({"EVALSHA", Sha("return 'x'"), "0"}),
            Err("NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_EQ(Run({"EVALSHA", "abc", "0"}), Err("NOSCRIPT No matching script. Please use EVAL."));
  EXPECT_EQ(Run({"SCRIPT", "LOAD", "return x x"}),
            Err("ERR Error compiling script (new function): user_script:1: '<eof>' expected "
                "near 'x'"));
  EXPECT_EQ(Run({"SCRIPT", "FLUSH", "BAD"}),
            Err("ERR SCRIPT FLUSH only supports SYNC|ASYNC option"));
  EXPECT_EQ(Run({"SCRIPT", "NOPE"}), Err("ERR unknown subcommand 'NOPE'. Try SCRIPT HELP."));
  EXPECT_EQ(Run({"SCRIPT", "KILL"}), Err("NOTBUSY No scripts in execution right now."));
}

// KEYS and ARGV tables are refilled from one call to the next (lua_runtime.cc,
// set_string_global): whatever a script did to them, the next script sees exactly its own
// arguments. {t} keeps every call on one shard, so on one interpreter.
TEST_F(ScriptingTest, KeysAndArgvAreFreshForEveryCall) {
  EXPECT_EQ(
      Eval("KEYS[3] = 'x'; KEYS.y = 1; ARGV[1] = nil; return #KEYS", {"2", "{t}a", "{t}b", "v"}),
      Int(3));
  EXPECT_EQ(Eval("return {#KEYS, KEYS[1], KEYS[2], tostring(KEYS[3]), tostring(KEYS.y), #ARGV, "
                 "ARGV[1]}",
                 {"2", "{t}c", "{t}d", "w"}),
            Arr({Int(2), Bulk("{t}c"), Bulk("{t}d"), Bulk("nil"), Bulk("nil"), Int(1), Bulk("w")}));
  EXPECT_EQ(Eval("return #KEYS + #ARGV", {"2", "{t}a", "{t}b", "1", "2", "3"}), Int(5));
  EXPECT_EQ(Eval("return {#KEYS, #ARGV, tostring(ARGV[2]), KEYS[1]}", {"1", "{t}a"}),
            Arr({Int(1), Int(0), Bulk("nil"), Bulk("{t}a")}));
  // A changed value is not taken for the same argument.
  EXPECT_EQ(Eval("KEYS[1] = 'changed'; ARGV[1] = 5; return 1", {"1", "{t}a", "x"}), Int(1));
  EXPECT_EQ(Eval("return {KEYS[1], ARGV[1]}", {"1", "{t}a", "x"}), BulkArr({"{t}a", "x"}));
  EXPECT_EQ(Eval("setmetatable(ARGV, {__index = function() return 'meta' end}); return 1",
                 {"1", "{t}a", "x"}),
            Int(1));
  EXPECT_EQ(
      Eval("return {tostring(getmetatable(ARGV)), tostring(ARGV[5]), ARGV[1]}", {"1", "{t}a", "x"}),
      BulkArr({"nil", "nil", "x"}));
  // Command names in any case, through the per-interpreter lookup cache.
  EXPECT_EQ(Eval("redis.call('set', KEYS[1], 'a'); redis.call('SET', KEYS[1], 'b'); "
                 "return redis.call('GeT', KEYS[1])",
                 {"1", "{t}k"}),
            Bulk("b"));
  EXPECT_EQ(Eval("return redis.pcall('nosuch', KEYS[1])", {"1", "{t}k"}),
            Err("ERR Unknown Redis command called from script"));
}

TEST_F(ScriptingTest, NumkeysErrors) {
  EXPECT_EQ(Eval("return 1", {"-1"}), Err("ERR Number of keys can't be negative"));
  EXPECT_EQ(Eval("return 1", {"2", "a"}),
            Err("ERR Number of keys can't be greater than number of args"));
  EXPECT_EQ(Eval("return 1", {"x"}), Err("ERR value is not an integer or out of range"));
}

TEST_F(ScriptingTest, LuaToReplyConversions) {
  EXPECT_EQ(Eval("return 3.99"), Int(3));
  EXPECT_EQ(Eval("return -3.9"), Int(-3));
  EXPECT_EQ(Eval("return 1e20"), Int(INT64_MIN));
  EXPECT_EQ(Eval("return {1,2,nil,3}"), Arr({Int(1), Int(2)}));
  EXPECT_EQ(Eval("return false"), Nil());
  EXPECT_EQ(Eval("return true"), Int(1));
  EXPECT_EQ(Eval("return nil"), Nil());
  EXPECT_EQ(Eval("return 'a'"), Bulk("a"));
  EXPECT_EQ(Eval("return {1,'a',{2,3}}"), Arr({Int(1), Bulk("a"), Arr({Int(2), Int(3)})}));
  EXPECT_EQ(Eval("return {err='bad'}"), Err("bad"));
  EXPECT_EQ(Eval("return {ok='fine'}"), Status("fine"));
  EXPECT_EQ(Eval("return redis.status_reply('fine')"), Status("fine"));
  EXPECT_EQ(Eval("return redis.error_reply('bad')"), Err("ERR bad"));
  EXPECT_EQ(Eval("return redis.error_reply('XYZ bad')"), Err("XYZ bad"));
  EXPECT_EQ(Eval("return {1,{err='x'},3}"), Arr({Int(1), Err("x"), Int(3)}));
  EXPECT_EQ(Eval("return {ok='a\\r\\nb'}"), Status("a  b"));
  EXPECT_EQ(Eval("return {double=3.5}"), Reply::Double(3.5));
  EXPECT_EQ(Eval("return {map={a=1}}"), Reply::Map({Bulk("a"), Int(1)}));
  EXPECT_EQ(Eval("return {set={a=true}}"), Reply::Set({Bulk("a")}));
  EXPECT_EQ(Eval("redis.setresp(3); return true"), Reply::Bool(true));
  EXPECT_EQ(Eval("redis.setresp(3); return false"), Reply::Bool(false));
  EXPECT_EQ(Eval("local t = {}; t[1] = t; return t").is_array(), true);
}

TEST_F(ScriptingTest, ReplyToLuaConversions) {
  Run({"SET", "s", "v"});
  Run({"HSET", "h", "a", "1"});
  EXPECT_EQ(Eval("return redis.call('get','nosuch') == false", {"1", "nosuch"}), Int(1));
  EXPECT_EQ(Eval("redis.setresp(3); return redis.call('get','nosuch') == nil", {"1", "nosuch"}),
            Reply::Bool(true));
  EXPECT_EQ(Eval("return redis.call('set','s','w')['ok']", {"1", "s"}), Bulk("OK"));
  EXPECT_EQ(Eval("return redis.call('hgetall','h')", {"1", "h"}), BulkArr({"a", "1"}));
  EXPECT_EQ(Eval("redis.setresp(3); return redis.call('hgetall','h')['map']['a']", {"1", "h"}),
            Bulk("1"));
  EXPECT_EQ(Eval("return redis.pcall('incr','s')['err']", {"1", "s"}),
            Bulk("ERR value is not an integer or out of range"));
  EXPECT_EQ(Eval("return redis.pcall('incr','s')", {"1", "s"}),
            Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Eval("return redis.call('set', KEYS[1], 0.1)", {"1", "n"}), Ok());
  EXPECT_EQ(Run({"GET", "n"}), Bulk("0.10000000000000001"));
  EXPECT_EQ(Eval("return redis.setresp(4)"),
            Err("ERR RESP version must be 2 or 3." + At("return redis.setresp(4)", 1)));
}

TEST_F(ScriptingTest, ErrorTexts) {
  auto check = [&](std::string_view body, std::string head, int line = 1,
                   std::vector<std::string> rest = {"0"}) {
    EXPECT_EQ(Eval(body, rest), Err(head + At(body, line))) << body;
  };
  check("return foo",
        "ERR user_script:1: Script attempted to access nonexistent global variable 'foo'");
  check("foo=1", "ERR user_script:1: Attempt to modify a readonly table");
  check("redis = 1", "ERR user_script:1: Attempt to modify a readonly table");
  check("math.x = 1", "ERR user_script:1: Attempt to modify a readonly table");
  check("rawset(_G, 'x', 1)", "ERR user_script:1: Attempt to modify a readonly table");
  check("return os",
        "ERR user_script:1: Script attempted to access nonexistent global variable 'os'");
  check("return io",
        "ERR user_script:1: Script attempted to access nonexistent global variable 'io'");
  check("return loadfile",
        "ERR user_script:1: Script attempted to access nonexistent global variable 'loadfile'");
  check("return dofile",
        "ERR user_script:1: Script attempted to access nonexistent global variable 'dofile'");
  check("return redis.call('nosuch')", "ERR Unknown Redis command called from script");
  check("return redis.call('set','a')",
        "ERR Wrong number of args calling Redis command from script");
  check("return redis.call('eval','return 1','0')",
        "ERR This Redis command is not allowed from script");
  check("return redis.call()", "ERR Please specify at least one argument for this redis lib call");
  check("return redis.call('get', {})",
        "ERR Lua redis lib command arguments must be strings or integers");
  check("error('boom')", "ERR user_script:1: boom");
  check("\nerror({err='My Error'})", "My Error", 2);
  check("return redis.log(1)", "ERR redis.log() requires two arguments or more.");
  check("return redis.log(99, 'x')", "ERR Invalid debug level.");
  Run({"SET", "s", "x"});
  check("return redis.call('incr',KEYS[1])", "ERR value is not an integer or out of range", 1,
        {"1", "s"});
  check("return redis.call('sadd',KEYS[1],'m')",
        "WRONGTYPE Operation against a key holding the wrong kind of value", 1, {"1", "s"});
}

TEST_F(ScriptingTest, WritesBeforeAnErrorStay) {
  std::string body = "redis.call('set',KEYS[1],'1'); error('after')";
  EXPECT_EQ(Eval(body, {"1", "x"}), Err("ERR user_script:1: after" + At(body, 1)));
  EXPECT_EQ(Run({"GET", "x"}), Bulk("1"));
}

TEST_F(ScriptingTest, LibrariesAndHelpers) {
  EXPECT_EQ(Eval("return redis.sha1hex('')"), Bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
  EXPECT_EQ(Eval("return cjson.encode({1,2,{a=1}})"), Bulk("[1,2,{\"a\":1}]"));
  EXPECT_EQ(Eval("return cjson.decode('[1,2,{\"a\":7}]')[3].a"), Int(7));
  EXPECT_EQ(Eval("return bit.band(7,3)"), Int(3));
  EXPECT_EQ(Eval("return redis.REDIS_VERSION"), Bulk("7.0.15"));
  EXPECT_EQ(Eval("return pcall(function() x = 1 end)"), Nil());
  EXPECT_EQ(Eval("local t = {} ; table.insert(t, 'a'); return t"), BulkArr({"a"}));
  EXPECT_EQ(Eval("return string.format('%d-%s', 5, 'x')"), Bulk("5-x"));
  EXPECT_EQ(Eval("return math.floor(2.5)"), Int(2));
}

TEST_F(ScriptingTest, ShebangFlagsAndReadOnly) {
  EXPECT_EQ(Eval("#!lua flags=bogus\nreturn 1"),
            Err("ERR Unexpected flag in script shebang: bogus"));
  EXPECT_EQ(Eval("#!js\nreturn 1"), Err("ERR Unexpected engine in script shebang: #!js"));
  EXPECT_EQ(Eval("#!lua name=x\nreturn 1"), Err("ERR Unknown lua shebang option: name=x"));
  EXPECT_EQ(Eval("#!lua flags=no-writes,allow-cross-slot-keys\nreturn 1"), Int(1));
  EXPECT_EQ(Eval("#!lua\nreturn redis.call('set','a','1')", {"1", "a"}), Ok());
  EXPECT_EQ(Run({"EVAL_RO", "#!lua\nreturn 1", "0"}),
            Err("ERR Can not execute a script with write flag using *_ro command."));
  std::string body = "#!lua flags=no-writes\nreturn redis.call('set','a','b')";
  EXPECT_EQ(Eval(body, {"1", "a"}),
            Err("ERR Write commands are not allowed from read-only scripts." + At(body, 2)));
  std::string ro = "return redis.call('set','a','b')";
  EXPECT_EQ(Run({"EVAL_RO", ro, "1", "a"}),
            Err("ERR Write commands are not allowed from read-only scripts." + At(ro, 1)));
  EXPECT_EQ(Run({"EVAL_RO", "return redis.call('get','a')", "1", "a"}), Bulk("1"));
}

TEST_F(ScriptingTest, UndeclaredKeys) {
  std::string a = "a0", other, same;
  for (int i = 1; other.empty() || same.empty(); ++i) {
    std::string k = "k" + std::to_string(i);
    if (engine().shard_of(k) != engine().shard_of(a)) {
      if (other.empty()) other = k;
    } else if (same.empty()) {
      same = k;
    }
  }
  std::string body = "return redis.call('set', ARGV[1], 'v')";
  EXPECT_EQ(Eval(body, {"1", a, same}), Ok());
  EXPECT_EQ(Eval(body, {"1", a, other}),
            Err("ERR Script attempted to access a key that is not in KEYS and lives on a shard "
                "the script does not hold; pass every key the script uses in KEYS" +
                At(body, 1)));
  EXPECT_EQ(Run({"EXISTS", other}), Int(0));
}

TEST_F(ScriptingTest, SelectInsideScriptChangesOnlyTheScript) {
  EXPECT_EQ(Eval("redis.call('select', 3); return redis.call('set', KEYS[1], 'v')", {"1", "k"}),
            Ok());
  EXPECT_EQ(Run({"EXISTS", "k"}), Int(0));
  EXPECT_EQ(Run({"SELECT", "3"}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
}

TEST_F(ScriptingTest, Functions) {
  std::string lib =
      "#!lua name=mylib\n"
      "redis.register_function('f1', function(keys, args) return keys[1] end)\n"
      "redis.register_function{function_name='f2', callback=function(keys, args) return "
      "redis.call('set', keys[1], args[1]) end, flags={'no-writes'}, description='desc'}";
  EXPECT_EQ(Run({"FUNCTION", "LOAD", lib}), Bulk("mylib"));
  EXPECT_EQ(Run({"FUNCTION", "LOAD", lib}), Err("ERR Library 'mylib' already exists"));
  EXPECT_EQ(Run({"FUNCTION", "LOAD", "REPLACE", lib}), Bulk("mylib"));
  EXPECT_EQ(Run({"FUNCTION", "LOAD",
                 "#!lua name=other\nredis.register_function('f1', function() return 1 end)"}),
            Err("ERR Function f1 already exists"));
  EXPECT_EQ(Run({"FCALL", "f1", "1", "a"}), Bulk("a"));
  EXPECT_EQ(Run({"FCALL", "f2", "1", "a", "b"}),
            Err("ERR Write commands are not allowed from read-only scripts. script: f2, on "
                "@user_function:3."));
  EXPECT_EQ(Run({"FCALL", "nosuch", "0"}), Err("ERR Function not found"));
  EXPECT_EQ(Run({"FCALL", "f1", "-1"}), Err("ERR Number of keys can't be negative"));
  EXPECT_EQ(Run({"FCALL", "f1", "5", "a"}),
            Err("ERR Number of keys can't be greater than number of args"));
  std::string lib2 =
      "#!lua name=lib2\n"
      "redis.register_function('w', function(keys, args) return redis.call('set', keys[1], 'v') "
      "end)\n"
      "redis.register_function('e', function(keys, args) return error('oops') end)\n"
      "redis.register_function('g', function(keys, args) return KEYS end)";
  EXPECT_EQ(Run({"FUNCTION", "LOAD", lib2}), Bulk("lib2"));
  EXPECT_EQ(Run({"FCALL_RO", "w", "1", "a"}),
            Err("ERR Can not execute a script with write flag using *_ro command."));
  EXPECT_EQ(Run({"FCALL", "w", "1", "a"}), Ok());
  EXPECT_EQ(Run({"FCALL", "e", "0"}),
            Err("ERR user_function:3: oops script: e, on @user_function:3."));
  EXPECT_EQ(Run({"FCALL", "g", "0"}),
            Err("ERR user_function:4: Script attempted to access nonexistent global variable "
                "'KEYS' script: g, on @user_function:4."));
  Reply list = Run({"FUNCTION", "LIST", "LIBRARYNAME", "my*"});
  ASSERT_EQ(list.array().size(), 1u);
  EXPECT_EQ(*list.array()[0].find("library_name"), Bulk("mylib"));
  EXPECT_EQ(Run({"FUNCTION", "DELETE", "nosuch"}), Err("ERR Library not found"));
  EXPECT_EQ(Run({"FUNCTION", "DELETE", "lib2"}), Ok());
  EXPECT_EQ(Run({"FCALL", "w", "1", "a"}), Err("ERR Function not found"));
  EXPECT_EQ(Run({"FUNCTION", "FLUSH"}), Ok());
  EXPECT_EQ(Run({"FCALL", "f1", "1", "a"}), Err("ERR Function not found"));
}

TEST_F(ScriptingTest, FunctionLoadErrors) {
  auto load = [&](std::string code) { return Run({"FUNCTION", "LOAD", code}); };
  EXPECT_EQ(load("return 1"), Err("ERR Missing library metadata"));
  EXPECT_EQ(load("#!lua"), Err("ERR Invalid library metadata"));
  EXPECT_EQ(load("#!lua name=x"), Err("ERR Invalid library metadata"));
  EXPECT_EQ(load("#!lua name=x foo=bar\n"), Err("ERR Invalid metadata value given: foo=bar"));
  EXPECT_EQ(load("#!js name=x\n"), Err("ERR Engine 'js' not found"));
  EXPECT_EQ(load("#!lua name=bad\nredis.call('ping')"),
            Err("ERR Error registering functions: ERR user_function:2: Script attempted to access "
                "nonexistent global variable 'call'"));
  EXPECT_EQ(load("#!lua name=bad\nx=1"),
            Err("ERR Error registering functions: ERR user_function:2: Attempt to modify a "
                "readonly table"));
  EXPECT_EQ(load("#!lua name=bad\nredis.register_function('f3', 5)"),
            Err("ERR Error registering functions: ERR second argument to "
                "redis.register_function must be a function"));
  EXPECT_EQ(load("#!lua name=bad\nredis.register_function{function_name='f3', "
                 "callback=function() end, flags={'bogus'}}"),
            Err("ERR Error registering functions: ERR unknown flag given"));
  EXPECT_EQ(load("#!lua name=bad\nreturn return"),
            Err("ERR Error compiling function: user_function:2: unexpected symbol near 'return'"));
  EXPECT_EQ(load("#!lua name=bad\nlocal x = 1"), Err("ERR No functions registered"));
}

}  // namespace
}  // namespace allot::testing
