// nested_test.cc: commands run inside a command (engine/txn/nested.h) and their effect
// group in the WAL: one record, replayed to the same state, writes before an error kept,
// nothing logged for a group that wrote nothing, undeclared keys on other shards refused.
#include "engine/txn/nested.h"

#include <allot/engine.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>

#include "engine/commands/family.h"
#include "tests/support/engine_fixture.h"
#include "tests/wal_support.h"

namespace allot::testing {
namespace {

using internal::Args;
using internal::CmdCtx;
using internal::CommandSpec;

// NESTTEST.RUN numkeys key... ; cmd arg... ; cmd arg...
// Runs each `;`-separated command nested, stops at the first error and returns it, else
// an array of the replies. Like EVAL: not flagged write; its writes are logged as a group.
Reply CmdRun(CmdCtx& ctx, Args args) {
  int64_t numkeys = 0;
  if (!internal::ParseInt64(args[1], &numkeys) || numkeys < 0 ||
      static_cast<size_t>(numkeys) + 2 > args.size()) {
    return Reply::Error("ERR bad numkeys");
  }
  internal::EffectGroup effects;
  std::vector<Reply> replies;
  size_t i = 2 + static_cast<size_t>(numkeys);
  Reply result;
  bool failed = false;
  while (i < args.size() && !failed) {
    if (args[i] != ";") return Reply::Error("ERR expected ;");
    size_t end = i + 1;
    while (end < args.size() && args[end] != ";") ++end;
    Args cmd = args.subspan(i + 1, end - i - 1);
    i = end;
    const CommandSpec* spec = internal::CommandTable::Get().find(cmd[0]);
    if (spec == nullptr || !internal::ArityOk(*spec, cmd.size())) {
      result = Reply::Error("ERR bad command");
      failed = true;
    } else if (!internal::NestedShardsHeld(ctx, *spec, cmd)) {
      result = Reply::Error("ERR key not held");
      failed = true;
    } else {
      Reply r = internal::RunNested(ctx, ctx.session->db, *spec, cmd, &effects);
      if (r.is_error()) {
        result = std::move(r);
        failed = true;
      } else {
        replies.push_back(std::move(r));
      }
    }
  }
  effects.move_to(ctx.log_as);
  return failed ? result : Reply::Array(std::move(replies));
}

void NestKeys(Args args, std::vector<size_t>& out) {
  int64_t numkeys = 0;
  if (!internal::ParseInt64(args[1], &numkeys) || numkeys < 0) return;
  for (size_t k = 2; k < 2 + static_cast<size_t>(numkeys) && k < args.size(); ++k) {
    out.push_back(k);
  }
}

constexpr CommandSpec kNestCommands[] = {
    {"NESTTEST.RUN", -2, 0, 0, 0, 0, CmdRun, NestKeys},
};

class NestedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::once_flag once;
    std::call_once(once, [] {
      auto& table = const_cast<internal::CommandTable&>(internal::CommandTable::Get());
      table.add(kNestCommands);
    });
    dir_ = MakeTempDir("allot-nested-test");
    Open();
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

TEST_F(NestedTest, GroupAcrossShardsIsOneRecordAndReplaysToTheSameState) {
  // Keys chosen without hash tags: with 4 shards they spread (checked below).
  std::vector<std::string> keys = {"alpha", "beta", "gamma", "delta"};
  std::set<unsigned> shards;
  for (auto& k : keys) shards.insert(engine_->impl().shard_of_key(k));
  ASSERT_GE(shards.size(), 2u);
  ASSERT_EQ(Run({"SADD", "delta", "a", "b", "c", "d"}), Int(4));
  uint64_t before = Records();
  Reply r = Run({"NESTTEST.RUN",
                 "4",
                 "alpha",
                 "beta",
                 "gamma",
                 "delta",
                 ";",
                 "SET",
                 "alpha",
                 "1",
                 ";",
                 "INCRBY",
                 "beta",
                 "41",
                 ";",
                 "GET",
                 "alpha",
                 ";",
                 "SPOP",
                 "delta",
                 ";",
                 "RPUSH",
                 "gamma",
                 "x",
                 "y"});
  ASSERT_TRUE(r.is_array()) << r.string();
  ASSERT_EQ(r.array().size(), 5u);
  EXPECT_EQ(r.array()[1], Int(41));
  EXPECT_EQ(r.array()[2], Bulk("1"));
  EXPECT_EQ(Records() - before, 1u);  // four writes, one record
  auto state = DumpState(*engine_);
  Reply members = Run({"SMEMBERS", "delta"});
  Open();
  EXPECT_EQ(DumpState(*engine_), state);
  EXPECT_EQ(SortedStrings(Run({"SMEMBERS", "delta"})), SortedStrings(members));
  EXPECT_EQ(Run({"GET", "beta"}), Bulk("41"));
}

TEST_F(NestedTest, WritesBeforeAnErrorStayAndAreLogged) {
  ASSERT_EQ(Run({"SET", "s", "text"}), Ok());
  Reply r =
      Run({"NESTTEST.RUN", "2", "n", "s", ";", "INCR", "n", ";", "INCR", "s", ";", "INCR", "n"});
  EXPECT_EQ(r, Err("ERR value is not an integer or out of range"));
  EXPECT_EQ(Run({"GET", "n"}), Bulk("1"));  // the first INCR stays, the third never ran
  Open();
  EXPECT_EQ(Run({"GET", "n"}), Bulk("1"));
  EXPECT_EQ(Run({"GET", "s"}), Bulk("text"));
}

TEST_F(NestedTest, ReadOnlyGroupIsNotLogged) {
  ASSERT_EQ(Run({"SET", "r", "1"}), Ok());
  uint64_t before = Records();
  EXPECT_EQ(Run({"NESTTEST.RUN", "1", "r", ";", "GET", "r", ";", "EXISTS", "r"}),
            Arr({Bulk("1"), Int(1)}));
  EXPECT_EQ(Records(), before);
}

TEST_F(NestedTest, UndeclaredKeyOnAnotherShardIsRefused) {
  // Find two keys on different shards.
  std::string a = "a0", b;
  for (int i = 1; b.empty(); ++i) {
    std::string k = "b" + std::to_string(i);
    if (engine_->impl().shard_of_key(k) != engine_->impl().shard_of_key(a)) b = k;
  }
  EXPECT_EQ(Run({"NESTTEST.RUN", "1", a, ";", "SET", b, "1"}), Err("ERR key not held"));
  EXPECT_EQ(Run({"EXISTS", b}), Int(0));
  // A key of the same shard as a declared one may be used (Redis allows undeclared keys
  // outside cluster mode; here they must share a held shard).
  std::string c;
  for (int i = 1; c.empty(); ++i) {
    std::string k = "c" + std::to_string(i);
    if (engine_->impl().shard_of_key(k) == engine_->impl().shard_of_key(a)) c = k;
  }
  EXPECT_EQ(Run({"NESTTEST.RUN", "1", a, ";", "SET", c, "1"}), Arr({Ok()}));
  // Commands that touch every shard need every shard.
  EXPECT_EQ(Run({"NESTTEST.RUN", "1", a, ";", "FLUSHALL"}), Err("ERR key not held"));
}

TEST(EffectGroupTest, EncodesAndDecodes) {
  internal::EffectGroup g;
  EXPECT_TRUE(g.empty());
  std::vector<std::string_view> set = {"SET", "k", "v"};
  g.add(3, Args(set));
  g.add(0, std::vector<std::string>{"DEL", "x"});
  std::vector<std::string> argv;
  g.move_to(argv);
  EXPECT_TRUE(g.empty());
  ASSERT_EQ(argv, (std::vector<std::string>{"ALLOT.EFFECTS", "3", "3", "SET", "k", "v", "0", "2",
                                            "DEL", "x"}));
  std::vector<std::string_view> views(argv.begin(), argv.end()), storage;
  std::vector<internal::EffectView> out;
  ASSERT_TRUE(internal::DecodeEffectGroup(Args(views), storage, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].db, 3);
  EXPECT_EQ(std::vector<std::string_view>(out[0].args.begin(), out[0].args.end()),
            (std::vector<std::string_view>{"SET", "k", "v"}));
  EXPECT_EQ(out[1].db, 0);
  // Malformed: a count past the end, a db out of range, an empty group, a zero argc.
  for (std::vector<std::string_view> bad :
       std::vector<std::vector<std::string_view>>{{"ALLOT.EFFECTS", "0", "4", "SET", "k", "v"},
                                                  {"ALLOT.EFFECTS", "16", "1", "PING"},
                                                  {"ALLOT.EFFECTS"},
                                                  {"ALLOT.EFFECTS", "0", "0"},
                                                  {"ALLOT.EFFECTS", "0", "x", "SET"}}) {
    EXPECT_FALSE(internal::DecodeEffectGroup(Args(bad), storage, out)) << bad.size();
  }
}

}  // namespace
}  // namespace allot::testing
