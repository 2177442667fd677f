// slowlog.h: SLOWLOG and LATENCY, as Redis 7 answers them.
//
// What "slow" means here: the time from the moment a connection dispatched a command until
// it had run (a command run on its own shard: the handler; one routed to another shard or
// spanning shards: including the hop). Time spent waiting for the write-ahead log is not
// counted, as Redis's slowlog leaves out I/O. The connection already reads the clock for
// INFO commandstats, so checking the thresholds costs one comparison per command.
//
// Both logs are process-wide and guarded by a mutex that is taken only when a command was
// slow (or by SLOWLOG / LATENCY themselves), never on the ordinary path.
#pragma once

#include <allot/reply.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace allot::server {

struct SlowlogEntry {
  int64_t id = 0;
  int64_t unix_s = 0;
  int64_t duration_us = 0;
  std::vector<std::string> args;  // trimmed as Redis does (see SlowlogArgs)
  std::string peer;
  std::string name;
};

// Redis's trimming: at most 32 arguments (the last says how many more there were), each at
// most 128 bytes (the rest replaced by "... (N more bytes)").
std::vector<std::string> SlowlogArgs(std::span<const std::string_view> args);

class SlowLog {
 public:
  // Thresholds from the config (slowlog-log-slower-than in µs, negative = off; -max-len).
  void configure(int64_t slower_than_us, uint64_t max_len);
  // Whether a command that took duration_us belongs in the log; cheap, any thread.
  bool wants(int64_t duration_us) const {
    int64_t t = slower_than_us_.load(std::memory_order_relaxed);
    return t >= 0 && duration_us >= t;
  }
  void add(SlowlogEntry e);
  // SLOWLOG GET/LEN/RESET/HELP (args[0] == "SLOWLOG").
  Reply command(std::span<const std::string_view> args);

 private:
  std::atomic<int64_t> slower_than_us_{10000};
  std::atomic<uint64_t> max_len_{128};
  std::atomic<int64_t> next_id_{0};
  std::mutex mu_;
  std::deque<SlowlogEntry> entries_;  // newest first
};

class Server;

// LATENCY HISTOGRAM [command ...] from the per-shard buckets of server.h (ShardNetStats):
// per command with calls, its name, a map of calls and histogram_usec (upper bound in µs of
// each power-of-two step -> calls up to it, cumulative), as Redis 7 replies.
Reply LatencyHistogram(Server& server, std::span<const std::string_view> args);

// Redis's sparkline (sparkline.c) as LATENCY GRAPH draws it: samples (value, label) in
// columns of at most 80, 4 rows high, filled.
std::string Sparkline(const std::vector<std::pair<double, std::string>>& samples);

class LatencyMonitor {
 public:
  // latency-monitor-threshold in ms; 0 = off (Redis's default).
  void configure(int64_t threshold_ms) { threshold_ms_.store(threshold_ms); }
  bool wants(int64_t duration_ms) const {
    int64_t t = threshold_ms_.load(std::memory_order_relaxed);
    return t > 0 && duration_ms >= t;
  }
  // A sample for event ("command" or "fast-command") at unix_s.
  void add(std::string_view event, int64_t unix_s, int64_t ms);
  // LATENCY LATEST/HISTORY/RESET/DOCTOR/GRAPH/HISTOGRAM/HELP (args[0] == "LATENCY").
  Reply command(std::span<const std::string_view> args);

 private:
  struct Sample {
    int64_t unix_s = 0;
    int64_t ms = 0;
  };
  struct Event {
    std::deque<Sample> history;  // oldest first, one per second (its maximum)
    int64_t max_ms = 0;
  };
  Reply doctor();
  Reply graph(std::string_view event);

  std::atomic<int64_t> threshold_ms_{0};
  std::mutex mu_;
  std::map<std::string, Event, std::less<>> events_;
};

}  // namespace allot::server
