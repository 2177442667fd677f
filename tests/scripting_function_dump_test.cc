// scripting_function_dump_test.cc: FUNCTION DUMP / RESTORE [FLUSH|APPEND|REPLACE] through
// the embedded engine, with Redis 7.0.15's replies and error texts (the payload format is
// ours: engine/scripting/function_store.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/scripting/function_store.h"
#include "tests/support/engine_fixture.h"

namespace allot {
void PrintTo(const Reply& r, std::ostream* os) { *os << r.debug_string(); }
}  // namespace allot

namespace allot::testing {
namespace {

constexpr const char* kLib1 =
    "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return 1 end)";
constexpr const char* kLib2 =
    "#!lua name=lib2\nredis.register_function('f2', function(keys, args) return 2 end)";

class FunctionDumpTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    ASSERT_EQ(Run({"FUNCTION", "FLUSH"}), Ok());
  }
  void TearDown() override {
    Run({"FUNCTION", "FLUSH"});
    EngineTest::TearDown();
  }
  // "library:function,function" for every library of FUNCTION LIST, in its order.
  std::vector<std::string> Libraries() {
    std::vector<std::string> out;
    Reply list = Run({"FUNCTION", "LIST"});
    for (const Reply& lib : list.array()) {
      std::string entry = lib.find("library_name")->string() + ":";
      for (const Reply& f : lib.find("functions")->array()) {
        if (entry.back() != ':') entry += ",";
        entry += f.find("name")->string();
      }
      out.push_back(entry);
    }
    return out;
  }
  std::string Dump() {
    Reply r = Run({"FUNCTION", "DUMP"});
    EXPECT_TRUE(r.is_bulk()) << r.debug_string();
    return r.string();
  }
};

TEST_F(FunctionDumpTest, DumpFlushRestoreRoundTrip) {
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kLib1}), Bulk("lib1"));
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kLib2}), Bulk("lib2"));
  std::string payload = Dump();
  ASSERT_EQ(Run({"FUNCTION", "FLUSH"}), Ok());
  EXPECT_EQ(Run({"FCALL", "f1", "0"}), Err("ERR Function not found"));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload}), Ok());
  EXPECT_EQ(Libraries(), (std::vector<std::string>{"lib1:f1", "lib2:f2"}));
  EXPECT_EQ(Run({"FCALL", "f1", "0"}), Int(1));
  EXPECT_EQ(Run({"FCALL", "f2", "0"}), Int(2));
  // The code comes back byte for byte.
  Reply listed = Run({"FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "lib1"});
  ASSERT_EQ(listed.array().size(), 1u);
  EXPECT_EQ(listed.array()[0].find("library_code")->string(), kLib1);
  // Dumping the same set again gives the same bytes.
  EXPECT_EQ(Dump(), payload);
}

TEST_F(FunctionDumpTest, PoliciesAsRedis) {
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kLib1}), Bulk("lib1"));
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kLib2}), Bulk("lib2"));
  std::string payload = Dump();
  // APPEND (the default) refuses a library that exists, and changes nothing.
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload}), Err("ERR Library lib1 already exists"));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload, "APPEND"}),
            Err("ERR Library lib1 already exists"));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload, "REPLACE"}), Ok());
  ASSERT_EQ(Run({"FUNCTION", "DELETE", "lib1"}), Ok());
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload}), Err("ERR Library lib2 already exists"));
  EXPECT_EQ(Libraries(), (std::vector<std::string>{"lib2:f2"}));
  ASSERT_EQ(Run({"FUNCTION", "DELETE", "lib2"}), Ok());
  // A function name taken by another library: refused even with REPLACE.
  ASSERT_EQ(Run({"FUNCTION", "LOAD",
                 "#!lua name=other\nredis.register_function('f1', function(keys, args) return 3 "
                 "end)"}),
            Bulk("other"));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload}), Err("ERR Function f1 already exists"));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload, "REPLACE"}),
            Err("ERR Function f1 already exists"));
  EXPECT_EQ(Libraries(), (std::vector<std::string>{"other:f1"}));
  // FLUSH drops everything first.
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload, "flush"}), Ok());
  EXPECT_EQ(Libraries(), (std::vector<std::string>{"lib1:f1", "lib2:f2"}));
  EXPECT_EQ(Run({"FCALL", "f1", "0"}), Int(1));
  // REPLACE swaps a library of the same name, whatever its functions were.
  ASSERT_EQ(Run({"FUNCTION", "FLUSH"}), Ok());
  ASSERT_EQ(Run({"FUNCTION", "LOAD",
                 "#!lua name=lib1\nredis.register_function('zz', function(keys, args) return 9 "
                 "end)"}),
            Bulk("lib1"));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload, "REPLACE"}), Ok());
  EXPECT_EQ(Libraries(), (std::vector<std::string>{"lib1:f1", "lib2:f2"}));
  EXPECT_EQ(Run({"FCALL", "zz", "0"}), Err("ERR Function not found"));
}

TEST_F(FunctionDumpTest, BadPayloadsAndArguments) {
  const Reply bad = Err("ERR DUMP payload version or checksum are wrong");
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", "xxx"}), bad);
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", ""}), bad);
  // What Redis 7.0.15's FUNCTION DUMP gives for lib1 and lib2: not our format.
  std::string redis_payload = std::string("\xf5@P", 3) + kLib1 + std::string("\xf5@P", 3) + kLib2 +
                              std::string(
                                  "\n\x00"
                                  "AG\x85"
                                  "0g\xe5,\xa1",
                                  10);
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", redis_payload}), bad);
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kLib1}), Bulk("lib1"));
  std::string payload = Dump();
  ASSERT_EQ(Run({"FUNCTION", "FLUSH"}), Ok());
  std::string flipped = payload;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", flipped}), bad);
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload.substr(0, cut)}), bad) << cut;
  }
  std::string code_flipped = payload;
  code_flipped[12] = static_cast<char>(code_flipped[12] ^ 0x20);
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", code_flipped}), bad);
  EXPECT_TRUE(Libraries().empty());
  // The policy is checked before the payload, as in Redis.
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", "xxx", "FOO"}),
            Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or "
                "REPLACE."));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", "xxx", "FLUSH", "extra"}),
            Err("ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try "
                "FUNCTION HELP."));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE"}),
            Err("ERR wrong number of arguments for 'function|restore' command"));
  EXPECT_EQ(Run({"FUNCTION", "DUMP", "extra"}),
            Err("ERR wrong number of arguments for 'function|dump' command"));
  // A payload of ours whose code no longer compiles reports the compile error.
  std::string broken = internal::EncodeFunctionsPayload({{"x", "#!lua name=x\nreturn (", {}}});
  Reply r = Run({"FUNCTION", "RESTORE", broken});
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.string().rfind("ERR Error compiling function", 0), 0u) << r.string();
}

TEST_F(FunctionDumpTest, EmptyDumpRestoresNothing) {
  std::string payload = Dump();
  EXPECT_EQ(payload.size(), 13u);  // magic, version, count, checksum
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kLib1}), Bulk("lib1"));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload}), Ok());
  EXPECT_EQ(Libraries(), (std::vector<std::string>{"lib1:f1"}));
  EXPECT_EQ(Run({"FUNCTION", "RESTORE", payload, "FLUSH"}), Ok());
  EXPECT_TRUE(Libraries().empty());
}

TEST_F(FunctionDumpTest, HelpListsDumpAndRestore) {
  Reply help = Run({"FUNCTION", "HELP"});
  ASSERT_EQ(help.array().size(), 40u);
  EXPECT_EQ(help.array()[0],
            Status("FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
  EXPECT_EQ(help.array()[30], Status("RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]"));
}

}  // namespace
}  // namespace allot::testing
