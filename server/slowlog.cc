#include "server/slowlog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "server/server.h"

namespace allot::server {

namespace {

using internal::EqualsIgnoreCase;

// Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING.
constexpr size_t kSlowlogArgsMax = 32;
constexpr size_t kSlowlogArgBytesMax = 128;
// Redis keeps 160 samples per latency event (LATENCY_TS_LEN).
constexpr size_t kLatencySamplesMax = 160;
// LATENCY GRAPH's size (Redis's LATENCY_GRAPH_COLS and the 4 rows it asks sparkline for).
constexpr size_t kGraphColumns = 80;
constexpr int kGraphRows = 4;
// The key LATENCY HISTOGRAM prints for each bucket of server.h: the highest value (in µs,
// rounded down) that Redis's HdrHistogram step 1024 * 2^k ns covers; the last is where
// Redis's iteration ends for its 1 s maximum.
constexpr int64_t kLatencyBucketUsec[kLatencyBuckets] = {
    1,    2,    4,    8,     16,    33,    66,     132,    264,    528,    1056,
    2113, 4227, 8454, 16908, 33816, 67633, 135266, 270532, 541065, 1073741};

Reply HelpReply(std::initializer_list<const char*> lines) {
  std::vector<Reply> out;
  for (const char* l : lines) out.push_back(Reply::Status(l));
  return Reply::Array(std::move(out));
}

Reply UnknownSubcommand(std::string_view cmd, std::string_view sub) {
  return Reply::Error(
      fmt::format("ERR unknown subcommand '{}'. Try {} HELP.", sub.substr(0, 128), cmd));
}

Reply WrongArgs(std::string_view cmd, std::string_view sub) {
  std::string name = fmt::format("{}|{}", cmd, sub);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return Reply::Error("ERR wrong number of arguments for '" + name + "' command");
}

}  // namespace

namespace {

// Whether argument i of args carries a secret that must never reach a log: AUTH's
// arguments, HELLO's AUTH user/pass, CONFIG SET requirepass/masterauth values, ACL SETUSER
// rules (Redis shows "(redacted)" for such arguments).
bool Redacted(std::span<const std::string_view> args, size_t i) {
  std::string_view cmd = args[0];
  if (EqualsIgnoreCase(cmd, "AUTH")) return i >= 1;
  if (EqualsIgnoreCase(cmd, "HELLO")) {
    for (size_t j = 1; j < i && j < args.size(); ++j) {
      if (EqualsIgnoreCase(args[j], "AUTH") && i <= j + 2) return true;
    }
    return false;
  }
  if (EqualsIgnoreCase(cmd, "CONFIG") && args.size() > 2 && EqualsIgnoreCase(args[1], "SET")) {
    return i >= 3 && i % 2 == 1 &&
           (EqualsIgnoreCase(args[i - 1], "requirepass") ||
            EqualsIgnoreCase(args[i - 1], "masterauth"));
  }
  if (EqualsIgnoreCase(cmd, "ACL") && args.size() > 1 && EqualsIgnoreCase(args[1], "SETUSER")) {
    return i >= 3;
  }
  return false;
}

}  // namespace

std::vector<std::string> SlowlogArgs(std::span<const std::string_view> args) {
  std::vector<std::string> out;
  size_t n = std::min(args.size(), kSlowlogArgsMax);
  for (size_t i = 0; i < n; ++i) {
    if (i == kSlowlogArgsMax - 1 && args.size() > kSlowlogArgsMax) {
      out.push_back(fmt::format("... ({} more arguments)", args.size() - kSlowlogArgsMax + 1));
      break;
    }
    std::string_view a = Redacted(args, i) ? std::string_view("(redacted)") : args[i];
    if (a.size() > kSlowlogArgBytesMax) {
      out.push_back(fmt::format("{}... ({} more bytes)", a.substr(0, kSlowlogArgBytesMax),
                                a.size() - kSlowlogArgBytesMax));
    } else {
      out.emplace_back(a);
    }
  }
  return out;
}

void SlowLog::configure(int64_t slower_than_us, uint64_t max_len) {
  slower_than_us_.store(slower_than_us);
  max_len_.store(max_len);
  std::lock_guard<std::mutex> lock(mu_);
  while (entries_.size() > max_len) entries_.pop_back();
}

void SlowLog::add(SlowlogEntry e) {
  std::lock_guard<std::mutex> lock(mu_);
  e.id = next_id_.fetch_add(1);
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len_.load()) entries_.pop_back();
}

Reply SlowLog::command(std::span<const std::string_view> args) {
  std::string_view sub = args.size() > 1 ? args[1] : "";
  size_t n = args.size();
  if (EqualsIgnoreCase(sub, "HELP") && n == 2) {
    return HelpReply(
        {"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "GET [<count>]",
         "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
         "    Entries are made of:",
         "    id, timestamp, time in microseconds, arguments array, client IP and port,",
         "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
         "    Reset the slowlog.", "HELP", "    Prints this help."});
  }
  if (EqualsIgnoreCase(sub, "LEN") && n == 2) {
    std::lock_guard<std::mutex> lock(mu_);
    return Reply::Int(static_cast<int64_t>(entries_.size()));
  }
  if (EqualsIgnoreCase(sub, "RESET") && n == 2) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.clear();
    return Reply::Ok();
  }
  if (EqualsIgnoreCase(sub, "GET") && (n == 2 || n == 3)) {
    int64_t count = 10;
    if (n == 3 && (!internal::ParseInt64(args[2], &count) || count < -1)) {
      return Reply::Error("ERR count should be greater than or equal to -1");
    }
    std::lock_guard<std::mutex> lock(mu_);
    size_t take =
        count == -1 ? entries_.size() : std::min(entries_.size(), static_cast<size_t>(count));
    std::vector<Reply> out;
    for (size_t i = 0; i < take; ++i) {
      const SlowlogEntry& e = entries_[i];
      std::vector<Reply> argv;
      for (const std::string& a : e.args) argv.push_back(Reply::Bulk(a));
      out.push_back(
          Reply::Array({Reply::Int(e.id), Reply::Int(e.unix_s), Reply::Int(e.duration_us),
                        Reply::Array(std::move(argv)), Reply::Bulk(e.peer), Reply::Bulk(e.name)}));
    }
    return Reply::Array(std::move(out));
  }
  if (EqualsIgnoreCase(sub, "GET") || EqualsIgnoreCase(sub, "LEN") ||
      EqualsIgnoreCase(sub, "RESET") || EqualsIgnoreCase(sub, "HELP")) {
    return WrongArgs("slowlog", sub);
  }
  return UnknownSubcommand("SLOWLOG", sub);
}

namespace {

// Redis's sparklineRenderRange with SPARKLINE_FILL, for samples [offset, offset + len).
void SparklineRange(const std::vector<std::pair<double, std::string>>& samples, double min,
                    double max, bool labels, size_t offset, size_t len, std::string* out) {
  static constexpr char kFill[] = "_o#";
  constexpr int kCharsetLen = 3;
  constexpr int kLabelMarginTop = 1;
  double relmax = max - min;
  if (relmax == 0) relmax = 1;
  int steps = kCharsetLen * kGraphRows;
  std::string chars(len, ' ');
  for (int row = 0;; ++row) {
    bool more = false;
    chars.assign(len, ' ');
    for (size_t j = 0; j < len; ++j) {
      const auto& [value, label] = samples[offset + j];
      // As Redis: the product is truncated to int before the division.
      int step =
          static_cast<int>(static_cast<double>(static_cast<int>((value - min) * steps)) / relmax);
      step = std::clamp(step, 0, steps - 1);
      if (row < kGraphRows) {
        int charidx = step - (kGraphRows - row - 1) * kCharsetLen;
        more = true;
        if (charidx >= 0 && charidx < kCharsetLen) {
          chars[j] = kFill[charidx];
        } else if (charidx >= kCharsetLen) {
          chars[j] = '|';
        }
        continue;
      }
      if (labels && row - kGraphRows < kLabelMarginTop) {
        more = true;  // the blank line between the graph and its labels
        break;
      }
      size_t label_char = static_cast<size_t>(row - kGraphRows - kLabelMarginTop);
      if (label.size() > label_char) {
        more = true;
        chars[j] = label[label_char];
      }
    }
    if (!more) return;
    *out += chars;
    *out += '\n';
  }
}

}  // namespace

std::string Sparkline(const std::vector<std::pair<double, std::string>>& samples) {
  std::string out;
  if (samples.empty()) return out;
  double min = samples[0].first;
  double max = samples[0].first;
  bool labels = false;
  for (const auto& [value, label] : samples) {
    if (value < min) {
      min = value;
    } else if (value > max) {
      max = value;
    }
    labels = labels || !label.empty();
  }
  for (size_t j = 0; j < samples.size(); j += kGraphColumns) {
    if (j != 0) out += '\n';
    SparklineRange(samples, min, max, labels, j, std::min(kGraphColumns, samples.size() - j), &out);
  }
  return out;
}

Reply LatencyHistogram(Server& server, std::span<const std::string_view> args) {
  const internal::CommandTable& table = internal::CommandTable::Get();
  std::span<const internal::CommandSpec> specs = table.all();
  std::vector<Reply> out;
  auto add = [&](size_t index) {
    uint64_t counts[kLatencyBuckets] = {};
    uint64_t calls = 0;
    for (unsigned shard = 0; shard < server.engine().shard_count(); ++shard) {
      const CommandStat& st = server.stats(shard).commands_by_spec[index];
      for (size_t k = 0; k < kLatencyBuckets; ++k) {
        counts[k] += st.latency[k].load(std::memory_order_relaxed);
      }
    }
    for (uint64_t c : counts) calls += c;
    if (calls == 0) return;  // Redis has no histogram for a command never called
    std::vector<Reply> hist;
    uint64_t cumulative = 0;
    for (size_t k = 0; k < kLatencyBuckets; ++k) {
      if (counts[k] == 0) continue;  // Redis prints only the steps where the count grew
      cumulative += counts[k];
      hist.push_back(Reply::Int(kLatencyBucketUsec[k]));
      hist.push_back(Reply::Int(static_cast<int64_t>(cumulative)));
    }
    std::string name(specs[index].name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.push_back(Reply::Bulk(name));
    out.push_back(
        Reply::Map({Reply::Bulk(std::string_view("calls")), Reply::Int(static_cast<int64_t>(calls)),
                    Reply::Bulk(std::string_view("histogram_usec")), Reply::Map(std::move(hist))}));
  };
  if (args.size() <= 2) {
    for (size_t i = 0; i < specs.size(); ++i) add(i);
  }
  // Unknown names are skipped; a name given twice is answered twice, as Redis does.
  for (size_t i = 2; i < args.size(); ++i) {
    if (const internal::CommandSpec* s = table.find(args[i])) {
      add(static_cast<size_t>(s - specs.data()));
    }
  }
  return Reply::Map(std::move(out));
}

void LatencyMonitor::add(std::string_view event, int64_t unix_s, int64_t ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), Event{}).first;
  Event& ev = it->second;
  ev.max_ms = std::max(ev.max_ms, ms);
  // One sample per second, holding that second's worst, as Redis's latencyAddSample.
  if (!ev.history.empty() && ev.history.back().unix_s == unix_s) {
    ev.history.back().ms = std::max(ev.history.back().ms, ms);
    return;
  }
  ev.history.push_back({unix_s, ms});
  if (ev.history.size() > kLatencySamplesMax) ev.history.pop_front();
}

Reply LatencyMonitor::doctor() {
  std::lock_guard<std::mutex> lock(mu_);
  if (threshold_ms_.load() == 0 && events_.empty()) {
    return Reply::Verbatim(
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
        "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
        "order to enable it. If we weren't in a deep space mission I'd suggest to take a look "
        "at https://redis.io/topics/latency-monitor.\n");
  }
  if (events_.empty()) {
    return Reply::Verbatim(
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not "
        "in the slightest bit. I honestly think you ought to sleep tonight.\n");
  }
  std::string out =
      "Dave, I have observed latency spikes in this Redis instance. You don't mind talking "
      "about it, do you Dave?\n\n";
  int i = 1;
  for (const auto& [name, ev] : events_) {
    double sum = 0;
    for (const Sample& s : ev.history) sum += static_cast<double>(s.ms);
    double avg = sum / static_cast<double>(ev.history.size());
    double dev = 0;
    for (const Sample& s : ev.history) dev += std::fabs(static_cast<double>(s.ms) - avg);
    dev /= static_cast<double>(ev.history.size());
    double period =
        ev.history.size() > 1
            ? static_cast<double>(ev.history.back().unix_s - ev.history.front().unix_s) /
                  static_cast<double>(ev.history.size() - 1)
            : 0;
    out += fmt::format(
        "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2f} sec). "
        "Worst all time event {}ms.\n",
        i++, name, ev.history.size(), static_cast<int64_t>(avg), static_cast<int64_t>(dev), period,
        ev.max_ms);
  }
  out +=
      "\nIn Allot a slow command holds only the shard that runs it: look at SLOWLOG GET for the "
      "commands, and at INFO commandstats.\n";
  return Reply::Verbatim(out);
}

Reply LatencyMonitor::graph(std::string_view event) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = events_.find(event);
  if (it == events_.end()) {
    return Reply::Error(
        fmt::format("ERR No samples available for event '{}'", event.substr(0, 128)));
  }
  const Event& ev = it->second;
  // Redis's latencyCommandGenSparkeline: labels say how long ago each sample was.
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  int64_t low = 0;
  int64_t high = 0;
  std::vector<std::pair<double, std::string>> samples;
  for (const Sample& s : ev.history) {
    if (samples.empty()) {
      low = high = s.ms;
    } else {
      low = std::min(low, s.ms);
      high = std::max(high, s.ms);
    }
    int64_t ago = now - s.unix_s;
    std::string label = ago < 60          ? fmt::format("{}s", ago)
                        : ago < 3600      ? fmt::format("{}m", ago / 60)
                        : ago < 3600 * 24 ? fmt::format("{}h", ago / 3600)
                                          : fmt::format("{}d", ago / (3600 * 24));
    samples.emplace_back(static_cast<double>(s.ms), std::move(label));
  }
  std::string out = fmt::format("{} - high {} ms, low {} ms (all time high {} ms)\n", event, high,
                                low, ev.max_ms);
  out.append(kGraphColumns, '-');
  out += '\n';
  out += Sparkline(samples);
  return Reply::Verbatim(out);
}

Reply LatencyMonitor::command(std::span<const std::string_view> args) {
  std::string_view sub = args.size() > 1 ? args[1] : "";
  size_t n = args.size();
  if (EqualsIgnoreCase(sub, "HELP") && n == 2) {
    return HelpReply(
        {"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "DOCTOR",
         "    Return a human readable latency analysis report.", "GRAPH <event>",
         "    Return an ASCII latency graph for the <event> class.", "HISTORY <event>",
         "    Return time-latency samples for the <event> class.", "LATEST",
         "    Return the latest latency samples for all events.", "RESET [<event> ...]",
         "    Reset latency data of one or more <event> classes.",
         "    (default: reset all data for all event classes)", "HISTOGRAM [COMMAND ...]",
         "    Return a cumulative distribution of latencies in the format of a histogram for "
         "the specified command names.",
         "    If no commands are specified then all histograms are replied.", "HELP",
         "    Prints this help."});
  }
  if (EqualsIgnoreCase(sub, "LATEST") && n == 2) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Reply> out;
    for (const auto& [name, ev] : events_) {
      out.push_back(Reply::Array({Reply::Bulk(name), Reply::Int(ev.history.back().unix_s),
                                  Reply::Int(ev.history.back().ms), Reply::Int(ev.max_ms)}));
    }
    return Reply::Array(std::move(out));
  }
  if (EqualsIgnoreCase(sub, "HISTORY") && n == 3) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Reply> out;
    auto it = events_.find(args[2]);
    if (it != events_.end()) {
      for (const Sample& s : it->second.history) {
        out.push_back(Reply::Array({Reply::Int(s.unix_s), Reply::Int(s.ms)}));
      }
    }
    return Reply::Array(std::move(out));
  }
  if (EqualsIgnoreCase(sub, "RESET") && n >= 2) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t reset = 0;
    if (n == 2) {
      reset = static_cast<int64_t>(events_.size());
      events_.clear();
    }
    for (size_t i = 2; i < n; ++i) {
      auto it = events_.find(args[i]);
      if (it == events_.end()) continue;
      events_.erase(it);
      ++reset;
    }
    return Reply::Int(reset);
  }
  if (EqualsIgnoreCase(sub, "DOCTOR") && n == 2) return doctor();
  if (EqualsIgnoreCase(sub, "GRAPH") && n == 3) return graph(args[2]);
  if (EqualsIgnoreCase(sub, "LATEST") || EqualsIgnoreCase(sub, "HISTORY") ||
      EqualsIgnoreCase(sub, "DOCTOR") || EqualsIgnoreCase(sub, "GRAPH") ||
      EqualsIgnoreCase(sub, "HELP")) {
    return WrongArgs("latency", sub);
  }
  return UnknownSubcommand("LATENCY", sub);
}

}  // namespace allot::server
