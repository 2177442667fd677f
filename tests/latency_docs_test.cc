// LATENCY HISTOGRAM's buckets, LATENCY GRAPH's sparkline and COMMAND DOCS's data, without a
// server (tests/docs_latency_integration_test.cc compares the replies with redis-server).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/commands/command_table.h"
#include "server/command_docs.h"
#include "server/server.h"
#include "server/slowlog.h"

namespace allot::server {
namespace {

// Redis's bucket keys derived independently: HdrHistogram (1 ns .. 1 s, 2 significant
// digits) iterated in steps of 1024 * 2^k ns reports the highest value equivalent to the
// step (step + step / 128 - 1 ns) in µs; its iteration ends at 1073741 µs (2^30 - 1 ns).
int64_t RedisKey(size_t k) {
  if (k == kLatencyBuckets - 1) return 1073741;
  int64_t step = int64_t{1024} << k;
  return (step + step / 128 - 1) / 1000;
}

TEST(LatencyHistogram, BucketOfEveryDurationMatchesRedisSteps) {
  for (int64_t usec = 0; usec <= 1200000; ++usec) {
    // Redis records usec * 1000 ns clamped to 1 s; the bucket is the first step covering it.
    int64_t clamped = std::min<int64_t>(usec, 1000000);
    size_t want = 0;
    while (want + 1 < kLatencyBuckets && clamped > RedisKey(want)) ++want;
    ASSERT_EQ(LatencyBucket(usec), want) << usec;
  }
  // Keys seen in redis-server 7.0's replies.
  EXPECT_EQ(RedisKey(5), 33);
  EXPECT_EQ(RedisKey(9), 528);
  EXPECT_EQ(RedisKey(12), 4227);
  EXPECT_EQ(RedisKey(15), 33816);
  EXPECT_EQ(RedisKey(16), 67633);
}

TEST(LatencyHistogram, RecordLatencyCountsInTheCommandsBucket) {
  ShardNetStats stats;
  stats.commands_by_spec = std::make_unique<CommandStat[]>(3);
  RecordLatency(stats, 2, 0);
  RecordLatency(stats, 2, 1);
  RecordLatency(stats, 2, 40000);
  RecordLatency(stats, 1, 5000000);
  EXPECT_EQ(stats.commands_by_spec[2].latency[0].load(), 2u);
  EXPECT_EQ(stats.commands_by_spec[2].latency[16].load(), 1u);  // the 67633 µs step
  EXPECT_EQ(stats.commands_by_spec[1].latency[kLatencyBuckets - 1].load(), 1u);
  EXPECT_EQ(stats.commands_by_spec[0].latency[0].load(), 0u);
}

TEST(LatencyGraph, SparklineAsRedisDrawsIt) {
  // LATENCY GRAPH command of redis-server 7.0 after spikes of 10, 33, 20, 5, 45 ms.
  std::vector<std::pair<double, std::string>> samples = {
      {10, "7s"}, {33, "6s"}, {20, "4s"}, {5, "3s"}, {45, "2s"}};
  EXPECT_EQ(Sparkline(samples),
            "    #\n"
            " #  |\n"
            " |o |\n"
            "o||_|\n"
            "     \n"
            "76432\n"
            "sssss\n");
  // One sample (relmax 0): a floor mark; LATENCY GRAPH of a single 50 ms spike.
  EXPECT_EQ(Sparkline({{50, "0s"}}), " \n \n \n_\n \n0\ns\n");
}

TEST(LatencyGraph, MoreThanEightyColumnsWrap) {
  std::vector<std::pair<double, std::string>> samples;
  for (int i = 0; i < 81; ++i) samples.emplace_back(i % 2 == 0 ? 1 : 2, "");
  std::string out = Sparkline(samples);
  // Two blocks of 4 rows (80 columns, then 1), separated by an empty line; no label rows.
  std::string top, mid, floor;
  for (int i = 0; i < 80; ++i) {
    top += i % 2 == 0 ? ' ' : '#';
    mid += i % 2 == 0 ? ' ' : '|';
    floor += i % 2 == 0 ? '_' : '|';
  }
  std::string want = top + "\n" + mid + "\n" + mid + "\n" + floor + "\n\n \n \n \n_\n";
  EXPECT_EQ(out, want);
}

TEST(CommandDocs, EveryCommandIsDocumented) {
  for (const internal::CommandSpec& s : internal::CommandTable::Get().all()) {
    const Reply* doc = CommandDoc(s.name);
    ASSERT_NE(doc, nullptr) << s.name << ": run tools/gen_command_docs.py (docs/commands.md)";
    ASSERT_TRUE(doc->is_map()) << s.name;
    const Reply* summary = doc->find("summary");
    ASSERT_NE(summary, nullptr) << s.name;
    EXPECT_FALSE(summary->string().empty()) << s.name;
    ASSERT_NE(doc->find("group"), nullptr) << s.name;
  }
}

TEST(CommandDocs, ReplyShapes) {
  std::vector<std::string_view> args = {"COMMAND",       "DOCS",    "get",
                                        "NoSuchCommand", "INV.BUY", "config|get"};
  Reply r = CommandDocs(args);
  ASSERT_TRUE(r.is_map());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.array()[0].string(), "get");
  EXPECT_EQ(r.array()[1].find("summary")->string(), "Get the value of a key");
  EXPECT_EQ(r.array()[1].find("since")->string(), "1.0.0");
  EXPECT_EQ(r.array()[2].string(), "inv.buy");
  const Reply& buy = r.array()[3];
  EXPECT_EQ(buy.find("group")->string(), "inventory");
  const Reply* buy_args = buy.find("arguments");
  ASSERT_TRUE(buy_args != nullptr && buy_args->is_array());
  ASSERT_EQ(buy_args->array().size(), 4u);
  const Reply& qty = buy_args->array()[2];
  EXPECT_EQ(qty.find("token")->string(), "QTY");
  ASSERT_TRUE(qty.find("flags")->is_set());
  EXPECT_TRUE(qty.find("flags")->array()[0].is_status());
  EXPECT_EQ(qty.find("flags")->array()[0].string(), "optional");
  EXPECT_TRUE(buy_args->array()[0].find("key_spec_index")->is_integer());
  EXPECT_EQ(r.array()[4].string(), "config|get");
  EXPECT_EQ(r.array()[5].find("summary")->string(), "Get the values of configuration parameters");
  // Every command of the table when no name is given.
  std::vector<std::string_view> all = {"COMMAND", "DOCS"};
  EXPECT_EQ(CommandDocs(all).size(), internal::CommandTable::Get().all().size());
  EXPECT_EQ(CommandDoc("nosuch|get"), nullptr);
}

}  // namespace
}  // namespace allot::server
