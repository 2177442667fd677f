#include "tools/rush/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace allot::rush {

namespace {
constexpr uint64_t kLinearMax = 2048;   // values below get a bucket each
constexpr uint64_t kSubBuckets = 1024;  // per power of two above
constexpr int kLinearBits = 11;         // log2(kLinearMax)
}  // namespace

size_t Histogram::BucketOf(uint64_t value) {
  if (value < kLinearMax) return static_cast<size_t>(value);
  int msb = 63 - std::countl_zero(value);  // >= 11
  int shift = msb - (kLinearBits - 1);     // >= 1: value >> shift is in [1024, 2047]
  return static_cast<size_t>(kLinearMax + (shift - 1) * kSubBuckets +
                             ((value >> shift) - kSubBuckets));
}

uint64_t Histogram::LowestOf(size_t bucket) {
  if (bucket < kLinearMax) return bucket;
  uint64_t above = bucket - kLinearMax;
  int shift = static_cast<int>(above / kSubBuckets) + 1;
  return (kSubBuckets + above % kSubBuckets) << shift;
}

uint64_t Histogram::HighestOf(size_t bucket) {
  if (bucket < kLinearMax) return bucket;
  int shift = static_cast<int>((bucket - kLinearMax) / kSubBuckets) + 1;
  return LowestOf(bucket) + (uint64_t{1} << shift) - 1;
}

size_t Histogram::BucketCount() { return BucketOf(kValueMax) + 1; }

Histogram::Histogram() : counts_(BucketCount(), 0) {}

void Histogram::record(uint64_t value) {
  value = std::min(value, kValueMax);
  ++counts_[BucketOf(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() { *this = Histogram(); }

uint64_t Histogram::percentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The rank of the value asked for, 1-based: at least the first value.
  auto rank = static_cast<uint64_t>(std::ceil(percentile * static_cast<double>(count_) / 100.0));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestOf(i), max_);
  }
  return max_;
}

}  // namespace allot::rush
