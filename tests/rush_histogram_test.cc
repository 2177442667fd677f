// allot-rush's latency histogram: bucket arithmetic, precision and percentiles.
#include <gtest/gtest.h>

#include <random>

#include "tools/rush/histogram.h"

namespace allot::rush {
namespace {

TEST(RushHistogram, SmallValuesAreExact) {
  for (uint64_t v = 0; v < 2048; ++v) {
    EXPECT_EQ(Histogram::BucketOf(v), v);
    EXPECT_EQ(Histogram::LowestOf(v), v);
    EXPECT_EQ(Histogram::HighestOf(v), v);
  }
}

TEST(RushHistogram, BucketsTileTheRangeWithoutGaps) {
  for (size_t b = 1; b < Histogram::BucketCount(); ++b) {
    ASSERT_EQ(Histogram::LowestOf(b), Histogram::HighestOf(b - 1) + 1) << "bucket " << b;
    ASSERT_EQ(Histogram::BucketOf(Histogram::LowestOf(b)), b);
    ASSERT_EQ(Histogram::BucketOf(Histogram::HighestOf(b)), b);
  }
  EXPECT_EQ(Histogram::HighestOf(Histogram::BucketCount() - 1), Histogram::kValueMax);
}

TEST(RushHistogram, ThreeSignificantDigits) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = rng() % Histogram::kValueMax;
    size_t b = Histogram::BucketOf(v);
    uint64_t lo = Histogram::LowestOf(b), hi = Histogram::HighestOf(b);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    // The bucket's width is at most 1/1024 of its values.
    ASSERT_LE(static_cast<double>(hi - lo), static_cast<double>(lo) / 1024.0 + 1) << v;
  }
}

TEST(RushHistogram, PercentilesOfAKnownSet) {
  Histogram h;
  for (uint64_t v = 1; v <= 10000; ++v) h.record(v * 1000);  // 1 us .. 10 ms
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 10000000u);
  EXPECT_DOUBLE_EQ(h.mean(), 5000.5 * 1000);
  auto near = [](uint64_t got, uint64_t want) {
    return got >= want && static_cast<double>(got - want) <= want / 1024.0 + 1;
  };
  EXPECT_PRED2(near, h.percentile(50), 5000000u);
  EXPECT_PRED2(near, h.percentile(90), 9000000u);
  EXPECT_PRED2(near, h.percentile(99), 9900000u);
  EXPECT_PRED2(near, h.percentile(99.9), 9990000u);
  EXPECT_EQ(h.percentile(100), 10000000u);
  EXPECT_PRED2(near, h.percentile(0), 1000u);
}

TEST(RushHistogram, EmptyAndSingle) {
  Histogram h;
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
  h.record(123456789);
  // One value: every percentile is that value (the bucket's top is capped at max).
  EXPECT_EQ(h.percentile(1), 123456789u);
  EXPECT_EQ(h.percentile(99.99), 123456789u);
}

TEST(RushHistogram, MergeAddsCountsAndKeepsExtremes) {
  Histogram a, b;
  for (int i = 0; i < 90; ++i) a.record(100);
  for (int i = 0; i < 10; ++i) b.record(5000000);
  a.merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.min(), 100u);
  EXPECT_EQ(a.max(), 5000000u);
  EXPECT_EQ(a.percentile(90), 100u);
  EXPECT_EQ(a.percentile(91), 5000000u);
}

TEST(RushHistogram, HugeValuesClamp) {
  Histogram h;
  h.record(UINT64_MAX);
  EXPECT_EQ(h.max(), Histogram::kValueMax);
  EXPECT_EQ(h.percentile(50), Histogram::kValueMax);
}

}  // namespace
}  // namespace allot::rush
