// allot-rush's pure logic: verification arithmetic, report formats, flags and presets,
// and the RESP encoder / reply reader.
#include <gtest/gtest.h>

#include "tools/rush/options.h"
#include "tools/rush/report.h"
#include "tools/rush/resp.h"

namespace allot::rush {
namespace {

const Check* Find(const Report& r, const std::string& name) {
  for (const auto& c : r.checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// A clean seed-200 run: 200 tickets to 200 users, the server agrees.
Report CleanBuyRun() {
  Report r;
  ApplyPreset("seed-200", r.options);
  r.tally.units_bought = 200;
  r.tally.replies = 21000;
  r.server = {true, "INV.GET", 200, 0, 0, 200, 200, -1};
  r.rush_s = 2;
  r.rush_replies = 21000;
  return r;
}

TEST(RushVerify, CleanRunPasses) {
  Report r = CleanBuyRun();
  Verify(r);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  EXPECT_EQ(r.oversold, 0);
  EXPECT_EQ(r.duplicate_buyers, 0);
  EXPECT_DOUBLE_EQ(r.throughput_rps(), 10500);
  ASSERT_NE(Find(r, "units_balance"), nullptr);
  EXPECT_EQ(Find(r, "units_balance")->detail,
            "total 200 = available 0 + held 0 + sold 200 (stock 200)");
}

TEST(RushVerify, ClientsToldMoreThanTheStockIsOversold) {
  Report r = CleanBuyRun();
  r.tally.units_bought = 203;  // three users were told "1" beyond the stock
  Verify(r);
  EXPECT_EQ(r.oversold, 3);
  EXPECT_FALSE(Find(r, "oversold")->ok);
  // ...and the server, which says 200, does not match what they were told.
  EXPECT_FALSE(Find(r, "sold_matches_clients")->ok);
  EXPECT_FALSE(r.passed());
}

TEST(RushVerify, ServerCounterBelowZeroIsOversold) {
  // The off-by-one script: the counter went to -1, so 201 tickets were sold.
  Report r = CleanBuyRun();
  r.options.mode = Mode::kLua;
  r.tally.units_bought = 201;
  r.server = {true, "GET", 200, -1, 0, 201, 201, -1};
  Verify(r);
  EXPECT_EQ(r.oversold, 1);
  EXPECT_FALSE(r.passed());
  EXPECT_TRUE(Find(r, "sold_matches_clients")->ok);  // consistent, but oversold
}

TEST(RushVerify, DuplicatesFromTheServersBuyerCount) {
  Report r = CleanBuyRun();
  r.server.buyers = 196;  // 200 units went to 196 users: 4 units beyond one each
  Verify(r);
  EXPECT_EQ(r.duplicate_buyers, 4);
  EXPECT_FALSE(Find(r, "duplicate_buyers")->ok);
}

TEST(RushVerify, DuplicatesSeenByClients) {
  Report r = CleanBuyRun();
  r.tally.duplicate_buyers_seen = 2;
  Verify(r);
  EXPECT_EQ(r.duplicate_buyers, 2);
  EXPECT_FALSE(r.passed());
}

TEST(RushVerify, UnansweredRequestsWidenTheCounterCheck) {
  Report r = CleanBuyRun();
  r.tally.units_bought = 197;
  r.tally.units_unknown = 5;  // five requests never answered: up to 5 more may be sold
  Verify(r);
  EXPECT_TRUE(Find(r, "sold_matches_clients")->ok) << Find(r, "sold_matches_clients")->detail;
  EXPECT_EQ(Find(r, "sold_matches_clients")->detail,
            "server sold 200, clients told 197 (+ up to 5 unanswered)");
  r.tally.units_unknown = 2;
  Verify(r);
  EXPECT_FALSE(Find(r, "sold_matches_clients")->ok);
}

TEST(RushVerify, UnbalancedServerCountersFail) {
  Report r = CleanBuyRun();
  r.server.available = 3;  // total 200 != 3 + 0 + 200
  Verify(r);
  EXPECT_FALSE(Find(r, "units_balance")->ok);
}

TEST(RushVerify, UnreadableServerFails) {
  Report r = CleanBuyRun();
  r.server = ServerState{};
  Verify(r);
  EXPECT_FALSE(Find(r, "server_counters")->ok);
  EXPECT_FALSE(r.passed());
}

TEST(RushVerify, HoldsMustBeReturnedAfterTheirDeadlines) {
  Report r;
  ApplyPreset("seed-5000", r.options);
  r.tally.holds_opened = 5000;
  r.tally.holds_confirmed = 3000;
  r.tally.units_confirmed = 3000;
  r.waited_for_expiry = true;
  r.server = {true, "INV.GET", 5000, 1990, 10, 3000, 3010, -1};
  Verify(r);
  EXPECT_FALSE(Find(r, "holds_returned")->ok);
  r.server = {true, "INV.GET", 5000, 2000, 0, 3000, 3000, -1};
  Verify(r);
  EXPECT_TRUE(r.passed()) << FormatText(r);
}

TEST(RushVerify, LuaHoldsAreAccounted) {
  Report r;
  ApplyPreset("seed-5000", r.options);
  r.options.mode = Mode::kLuaHold;
  r.tally.holds_opened = 5000;
  r.tally.holds_confirmed = 3000;
  r.tally.units_confirmed = 3000;
  r.waited_for_expiry = true;
  r.server = {true, "keys", 5000, 2000, 0, 3000, 3000, 2000};
  Verify(r);
  EXPECT_TRUE(Find(r, "holds_accounted")->ok);
  r.server.expired = 1999;  // one hold vanished without being confirmed or expired
  Verify(r);
  EXPECT_FALSE(Find(r, "holds_accounted")->ok);
}

TEST(RushVerify, QuotaHasNoBuyerCount) {
  Report r;
  ApplyPreset("seed-quota", r.options);
  r.tally.units_bought = 15000;
  r.server = {true, "GET", 15000, 0, 0, 15000, -1, -1};
  Verify(r);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  r.server.sold = 15004;  // reserved beyond the quota
  r.server.available = -4;
  Verify(r);
  EXPECT_EQ(r.oversold, 4);
}

TEST(RushVerify, PerUserCheck) {
  Report r = CleanBuyRun();
  r.per_user.checked = 1200;
  Verify(r);
  EXPECT_EQ(Find(r, "per_user")->detail, "1200 users compared with the server, 0 differ");
  EXPECT_TRUE(r.passed());
  r.per_user.over_limit = 2;  // the server says two users hold or bought 2 with limit 1
  Verify(r);
  EXPECT_EQ(r.duplicate_buyers, 2);
  EXPECT_FALSE(Find(r, "per_user")->ok);
  EXPECT_FALSE(Find(r, "duplicate_buyers")->ok);
  r.per_user.over_limit = 0;
  r.per_user.mismatched = 1;
  r.per_user.example = "u17: server 1, told 0";
  Verify(r);
  EXPECT_EQ(Find(r, "per_user")->detail,
            "1200 users compared with the server, 1 differ (u17: server 1, told 0)");
  EXPECT_FALSE(r.passed());
}

TEST(RushVerify, ErrorRepliesFail) {
  Report r = CleanBuyRun();
  r.tally.errors = 1;
  Verify(r);
  EXPECT_FALSE(Find(r, "no_error_replies")->ok);
}

TEST(RushReport, JsonHasTheFieldsTheIssueNames) {
  Report r = CleanBuyRun();
  r.all.record(1'500'000);  // 1.5 ms
  r.ops[kOpBuy].record(1'500'000);
  Verify(r);
  std::string j = FormatJson(r);
  for (const char* field :
       {"\"throughput_rps\": 10500.0", "\"oversold\": 0", "\"duplicate_buyers\": 0",
        "\"sold\": 200", "\"errors\": 0", "\"latency_ms\": {", "\"p50\": 1.500", "\"p99\": 1.500",
        "\"p999\": 1.500", "\"max\": 1.500", "\"passed\": true", "\"ops\": {\"buy\": {"}) {
    EXPECT_NE(j.find(field), std::string::npos) << field << " in " << j;
  }
  EXPECT_EQ(j.back(), '\n');
  EXPECT_EQ(j.front(), '{');
}

TEST(RushReport, TextEndsWithTheVerdict) {
  Report r = CleanBuyRun();
  Verify(r);
  std::string t = FormatText(r);
  EXPECT_NE(t.find("[ok] oversold"), std::string::npos);
  EXPECT_EQ(t.substr(t.size() - 5), "PASS\n");
  r.tally.units_bought = 201;
  Verify(r);
  t = FormatText(r);
  EXPECT_NE(t.find("[FAIL] oversold"), std::string::npos);
  EXPECT_EQ(t.substr(t.size() - 5), "FAIL\n");
}

TEST(RushOptions, PresetThenOverrides) {
  Options o;
  std::string err;
  bool help;
  // Flags before the preset still override it.
  ASSERT_TRUE(ParseArgs({"--users", "500", "--preset", "seed-5000", "--mode", "buy", "--json"}, o,
                        &err, &help))
      << err;
  EXPECT_EQ(o.users, 500);
  EXPECT_EQ(o.items, 5000);
  EXPECT_EQ(o.mode, Mode::kBuy);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.preset, "seed-5000");
  EXPECT_EQ(o.hold_ttl_ms(), 10000);  // 300 s at time scale 30
}

TEST(RushOptions, Errors) {
  Options o;
  std::string err;
  bool help;
  EXPECT_FALSE(ParseArgs({"--preset", "seed-9"}, o, &err, &help));
  EXPECT_EQ(err, "unknown preset (use seed-200, seed-5000 or seed-quota)");
  EXPECT_FALSE(ParseArgs({"--users", "-3"}, o, &err, &help));
  EXPECT_EQ(err, "bad value for --users: '-3'");
  EXPECT_FALSE(ParseArgs({"--frobnicate"}, o, &err, &help));
  EXPECT_EQ(err, "unknown option --frobnicate (see --help)");
  EXPECT_FALSE(ParseArgs({"--port"}, o, &err, &help));
  EXPECT_EQ(err, "--port needs a value");
  Options q;
  EXPECT_FALSE(
      ParseArgs({"--preset", "seed-quota", "--mode", "lua", "--limit", "1"}, q, &err, &help));
  EXPECT_EQ(err, "the seed's quota script has no per-user limit: use --limit 0");
  ASSERT_TRUE(ParseArgs({"--help"}, o, &err, &help));
  EXPECT_TRUE(help);
}

TEST(RushOptions, EveryPresetIsValid) {
  for (const auto& name : PresetNames()) {
    for (const char* mode : {"buy", "hold", "lua", "lua-hold"}) {
      if (name == "seed-quota" && std::string(mode) == "lua-hold") continue;
      Options o;
      std::string err;
      bool help;
      EXPECT_TRUE(ParseArgs({"--preset", name, "--mode", mode}, o, &err, &help))
          << name << " " << mode << ": " << err;
    }
  }
}

TEST(RushResp, EncodesCommands) {
  std::string out;
  AppendCommand(out, {"INV.BUY", "k", ""});
  EXPECT_EQ(out, "*3\r\n$7\r\nINV.BUY\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RushResp, ReadsEveryReplyTypeCutAnywhere) {
  const std::string stream =
      "+OK\r\n-ERR no such key\r\n:-1\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n"
      "*4\r\n$5\r\ntotal\r\n:200\r\n*1\r\n:7\r\n$0\r\n\r\n";
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    RespReader r;
    std::vector<RespValue> got;
    for (size_t off = 0; off < stream.size(); off += piece) {
      r.feed(std::string_view(stream).substr(off, piece));
      while (auto v = r.next()) got.push_back(*v);
    }
    ASSERT_FALSE(r.failed());
    ASSERT_EQ(got.size(), 7u) << "piece " << piece;
    EXPECT_EQ(got[0].describe(), "OK");
    EXPECT_EQ(got[1].describe(), "(error) ERR no such key");
    EXPECT_EQ(got[2].integer, -1);
    EXPECT_EQ(got[3].describe(), "\"hello\"");
    EXPECT_EQ(got[4].type, RespValue::Type::kNil);
    EXPECT_EQ(got[5].type, RespValue::Type::kNil);
    EXPECT_EQ(got[6].describe(), "[\"total\", (integer) 200, [(integer) 7], \"\"]");
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(RushResp, RejectsGarbage) {
  RespReader r;
  r.feed("?what\r\n");
  EXPECT_FALSE(r.next().has_value());
  EXPECT_TRUE(r.failed());
  RespReader big;
  big.feed("$99999999999\r\n");
  EXPECT_FALSE(big.next().has_value());
  EXPECT_TRUE(big.failed());
  std::string nest;
  for (int i = 0; i < 20; ++i) nest += "*1\r\n";
  RespReader d;
  d.feed(nest + ":1\r\n");
  EXPECT_FALSE(d.next().has_value());
  EXPECT_TRUE(d.failed());
}

}  // namespace
}  // namespace allot::rush
