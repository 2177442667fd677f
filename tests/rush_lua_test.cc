// allot-rush's lua modes against a real redis-server (started here on a free loopback
// port): the seed scripts pass every check, and deliberately broken scripts are caught.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/rush_support.h"
#include "tools/rush/driver.h"

namespace allot::rush {
namespace {

using testing::ServerProcess;
using testing::TempDir;

class RushLua : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string redis = testing::Which("redis-server");
    if (redis.empty()) GTEST_SKIP() << "redis-server is not installed";
    port_ = testing::FreePort();
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{redis, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", dir_.path(),
                                 "--logfile", dir_.path() + "/redis.log"},
        port_);
    ASSERT_TRUE(server_->up());
  }

  Options Small(const std::string& preset) {
    Options o;
    EXPECT_TRUE(ApplyPreset(preset, o));
    o.port = port_;
    o.mode = Mode::kLua;
    o.users = 3000;
    o.connections = 50;
    o.quiet = true;
    // A loaded CI machine must not turn into timeouts and retries (which the seed's
    // script does not make safe): these tests check verdicts, not latency.
    o.timeout_ms = 20000;
    return o;
  }

  Report Run(const Options& o) {
    Report r;
    std::string err;
    EXPECT_TRUE(RunRush(o, &r, &err, nullptr)) << err;
    return r;
  }

  std::string WriteScript(const std::string& body) {
    std::string path = dir_.path() + "/script.lua";
    std::ofstream(path) << body;
    return path;
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RushLua, SeedTicketsScriptPasses) {
  Options o = Small("seed-200");
  o.duplicate_rate = 0.5;
  Report r = Run(o);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  EXPECT_EQ(r.tally.units_sold(), 200);
  EXPECT_EQ(r.server.sold, 200);
  EXPECT_EQ(r.server.buyers, 200);
  EXPECT_EQ(r.tally.users_served, 200u);
  EXPECT_EQ(r.tally.replies, r.tally.requests_sent);
  EXPECT_EQ(r.per_user.checked, 200);
  EXPECT_EQ(r.per_user.mismatched, 0);
}

TEST_F(RushLua, OffByOneScriptOversellsAndIsCaught) {
  // "tickets < 0" instead of "tickets <= 0": the last ticket is sold twice.
  Options o = Small("seed-200");
  o.script = Script::kFile;
  o.script_file = WriteScript(R"(local tickets = tonumber(redis.call("GET", KEYS[1]) or "0")
if tickets < 0 then return 0 end
if redis.call("SISMEMBER", KEYS[2], ARGV[1]) == 1 then return -1 end
redis.call("DECR", KEYS[1])
redis.call("SADD", KEYS[2], ARGV[1])
return 1
)");
  Report r = Run(o);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.oversold, 1);
  EXPECT_EQ(r.server.available, -1);
  EXPECT_EQ(r.tally.units_sold(), 201);
}

TEST_F(RushLua, ScriptWithoutTheBuyerCheckSellsTwiceToDoubleClickers) {
  Options o = Small("seed-200");
  o.items = 5000;  // more stock than clicks: only the per-user check can refuse
  o.duplicate_rate = 1.0;
  o.users = 500;
  o.script = Script::kFile;
  o.script_file = WriteScript(R"(local tickets = tonumber(redis.call("GET", KEYS[1]) or "0")
if tickets <= 0 then return 0 end
redis.call("DECR", KEYS[1])
redis.call("SADD", KEYS[2], ARGV[1])
return 1
)");
  Report r = Run(o);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.oversold, 0);
  EXPECT_EQ(r.duplicate_buyers, 500);
  EXPECT_EQ(r.tally.duplicate_buyers_seen, 500u);
  EXPECT_EQ(r.server.sold - r.server.buyers, 500);
  // Each user is once in the set but was told 2 units.
  EXPECT_EQ(r.per_user.mismatched, 500);
}

TEST_F(RushLua, QuotaScriptPasses) {
  Options o = Small("seed-quota");
  o.items = 2000;
  o.users = 2000;
  o.time_scale = 600;  // the 60 s window in 0.1 s
  Report r = Run(o);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  EXPECT_EQ(r.server.sold, r.tally.units_sold());
  EXPECT_LE(r.server.sold, 2000);
  EXPECT_GT(r.tally.users_sold_out, 0u);
}

TEST_F(RushLua, HoldScriptsExpireAndConfirm) {
  Options o = Small("seed-5000");
  o.mode = Mode::kLuaHold;
  o.users = 2000;
  o.items = 300;
  o.time_scale = 300;  // holds of 1 s; payments from 33 ms to 1.3 s, some too late
  Report r = Run(o);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  // At least every unit was held once; expired holds go back on sale to later users.
  EXPECT_GE(r.tally.holds_opened, 300);
  EXPECT_GT(r.tally.holds_confirmed, 0);
  EXPECT_GT(r.tally.holds_abandoned, 0);
  EXPECT_TRUE(r.waited_for_expiry);
  EXPECT_EQ(r.server.held, 0);
  EXPECT_EQ(r.server.expired, r.tally.holds_opened - r.tally.holds_confirmed);
  EXPECT_EQ(r.server.available, 300 - r.tally.holds_confirmed);
}

}  // namespace
}  // namespace allot::rush
