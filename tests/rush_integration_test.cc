// allot-rush against a real allotd started here: short runs of every preset in the
// native modes, and the binary's exit status and JSON report end to end.
#include <gtest/gtest.h>

#include <cstdio>

#include "tests/rush_support.h"
#include "tools/rush/driver.h"

namespace allot::rush {
namespace {

using testing::ServerProcess;
using testing::TempDir;

class RushAllotd : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::FreePort();
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{ALLOTD_PATH, "--port", std::to_string(port_), "--dir", dir_.path(),
                                 "--threads", "2", "--logfile", dir_.path() + "/allotd.log"},
        port_);
    ASSERT_TRUE(server_->up());
  }

  Options Small(const std::string& preset) {
    Options o;
    EXPECT_TRUE(ApplyPreset(preset, o));
    o.port = port_;
    o.connections = 100;
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

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(RushAllotd, Seed200Buy) {
  Options o = Small("seed-200");
  o.users = 5000;
  o.duplicate_rate = 0.3;
  Report r = Run(o);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  EXPECT_EQ(r.server.sold, 200);
  EXPECT_EQ(r.server.buyers, 200);
  EXPECT_EQ(r.tally.users_served, 200u);
  EXPECT_GT(r.tally.users_limited + r.tally.users_sold_out, 0u);
  // Every buyer and double clicker was looked up with INV.USER.
  EXPECT_GE(r.per_user.checked, 200);
  EXPECT_EQ(r.per_user.mismatched, 0);
  EXPECT_EQ(r.per_user.over_limit, 0);
}

TEST_F(RushAllotd, Seed5000HoldsCompressed) {
  Options o = Small("seed-5000");
  o.users = 5000;
  o.items = 500;
  o.time_scale = 300;  // 1 s holds
  Report r = Run(o);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  // At least every unit was held once; expired holds go back on sale to later users.
  EXPECT_GE(r.tally.holds_opened, 500);
  EXPECT_GT(r.tally.holds_abandoned, 0);
  EXPECT_EQ(r.server.held, 0);
  EXPECT_EQ(r.server.sold, r.tally.holds_confirmed);
  EXPECT_EQ(r.server.available, 500 - r.tally.holds_confirmed);
}

TEST_F(RushAllotd, SeedQuotaBuyWithQuantities) {
  Options o = Small("seed-quota");
  o.users = 5000;
  o.items = 3000;
  o.time_scale = 600;
  Report r = Run(o);
  EXPECT_TRUE(r.passed()) << FormatText(r);
  EXPECT_EQ(r.server.sold, r.tally.units_sold());
  EXPECT_GT(r.server.sold, 2990);  // orders of 1..4 units: at most 3 units left over
}

TEST_F(RushAllotd, BinaryExitStatusAndJson) {
  std::string cmd = std::string(ALLOT_RUSH_PATH) + " --port " + std::to_string(port_) +
                    " --preset seed-200 --users 2000 --connections 50 --json --quiet";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_EQ(out.front(), '{');
  EXPECT_NE(out.find("\"oversold\": 0"), std::string::npos) << out;
  EXPECT_NE(out.find("\"sold\": 200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"passed\": true"), std::string::npos) << out;

  // A server that is not there: exit status 2 and a message, not a report.
  std::string dead = std::string(ALLOT_RUSH_PATH) + " --port " +
                     std::to_string(testing::FreePort()) + " --quiet 2>/dev/null";
  status = std::system(dead.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

TEST_F(RushAllotd, LuaModeNeedsScripting) {
  // allotd has no EVAL yet: lua mode must stop at SCRIPT LOAD with the server's answer,
  // not run a rush of errors. (When scripting lands, this run passes instead.)
  for (Mode mode : {Mode::kLua, Mode::kLuaHold}) {
    Options o = Small(mode == Mode::kLua ? "seed-200" : "seed-5000");
    o.mode = mode;
    o.users = 1000;
    o.items = 100;
    o.time_scale = 300;
    Report r;
    std::string err;
    if (RunRush(o, &r, &err, nullptr)) {
      EXPECT_TRUE(r.passed()) << FormatText(r);
    } else {
      EXPECT_NE(err.find("SCRIPT LOAD failed"), std::string::npos) << err;
    }
  }
}

}  // namespace
}  // namespace allot::rush
