#include "server/slowlog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/commands/args.h"

namespace allot::server {

namespace {

using internal::EqualsIgnoreCase;

// Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING.
constexpr size_t kSlowlogArgsMax = 32;
constexpr size_t kSlowlogArgBytesMax = 128;
// Redis keeps 160 samples per latency event (LATENCY_TS_LEN).
constexpr size_t kLatencySamplesMax = 160;

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
  if (EqualsIgnoreCase(sub, "GRAPH") && n == 3) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (events_.find(args[2]) == events_.end()) {
        return Reply::Error(
            fmt::format("ERR No samples available for event '{}'", args[2].substr(0, 128)));
      }
    }
    return Reply::Error("ERR LATENCY GRAPH is not implemented by allotd; use LATENCY HISTORY");
  }
  if (EqualsIgnoreCase(sub, "HISTOGRAM")) {
    return Reply::Error(
        "ERR LATENCY HISTOGRAM is not implemented by allotd; see INFO commandstats");
  }
  if (EqualsIgnoreCase(sub, "LATEST") || EqualsIgnoreCase(sub, "HISTORY") ||
      EqualsIgnoreCase(sub, "DOCTOR") || EqualsIgnoreCase(sub, "GRAPH") ||
      EqualsIgnoreCase(sub, "HELP")) {
    return WrongArgs("latency", sub);
  }
  return UnknownSubcommand("LATENCY", sub);
}

}  // namespace allot::server
