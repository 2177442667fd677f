// A log-linear latency histogram with HdrHistogram's precision (3 significant digits):
// values below 2048 get one bucket each; above, every power of two is cut into 1024
// equal sub-buckets, so a recorded value is known to within 1/1024 of itself. Recording
// is one array increment; the whole range (1 ns .. 2^40 ns, about 18 minutes) costs
// ~32k counters (256 KB), which is why a run keeps one histogram per operation, not per
// connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace allot::rush {

class Histogram {
 public:
  static constexpr uint64_t kValueMax = (uint64_t{1} << 40) - 1;  // larger values clamp here

  Histogram();

  void record(uint64_t value);
  void merge(const Histogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The value at or below which `percentile` % of the recorded values fall, reported as
  // the highest value of its bucket (as HdrHistogram does) but never above max().
  // 0 for an empty histogram.
  uint64_t percentile(double percentile) const;

  // Bucket arithmetic, public for the tests.
  static size_t BucketOf(uint64_t value);
  static uint64_t LowestOf(size_t bucket);
  static uint64_t HighestOf(size_t bucket);
  static size_t BucketCount();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace allot::rush
