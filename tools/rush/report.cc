#include "tools/rush/report.h"

#include <algorithm>
#include <cstdio>

namespace allot::rush {

const char* OpName(Op op, const Options& o) {
  bool quota = o.lua() && o.script == Script::kQuota;
  switch (op) {
    case kOpBuy:
      return quota ? "reserve" : "buy";
    case kOpHold:
      return "hold";
    case kOpConfirm:
      return "confirm";
    default:
      return "?";
  }
}

bool Report::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

namespace {

std::string Num(int64_t v) { return std::to_string(v); }

void Add(Report& r, std::string name, bool ok, std::string detail) {
  r.checks.push_back({std::move(name), ok, std::move(detail)});
}

// Units beyond one per user, from the server's counters; -1 when they cannot tell (a
// limit other than 1, or a server without a buyer count).
int64_t ServerDuplicates(const Report& r) {
  const auto& s = r.server;
  if (!s.read || s.buyers < 0 || r.options.limit != 1 || r.options.qty_max != 1) return -1;
  return std::max<int64_t>(0, s.sold + s.held - s.buyers);
}

void CheckCounters(Report& r) {
  const Tally& t = r.tally;
  const ServerState& s = r.server;
  if (!s.read) {
    Add(r, "server_counters", false, "the server's counters could not be read");
    return;
  }
  // Every unit a client was told it got must be sold on the server; the server may have
  // sold more only through requests whose answer the client never saw.
  int64_t told = t.units_sold();
  bool ok = s.sold >= told && s.sold <= told + t.units_unknown;
  Add(r, "sold_matches_clients", ok,
      "server sold " + Num(s.sold) + ", clients told " + Num(told) +
          (t.units_unknown ? " (+ up to " + Num(t.units_unknown) + " unanswered)" : ""));
  bool balance = s.total == s.available + s.held + s.sold && s.total == r.options.items;
  Add(r, "units_balance", balance,
      "total " + Num(s.total) + " = available " + Num(s.available) + " + held " + Num(s.held) +
          " + sold " + Num(s.sold) + " (stock " + Num(r.options.items) + ")");
  if (r.options.hold_flow() && r.waited_for_expiry) {
    Add(r, "holds_returned", s.held == 0,
        "open holds on the server after every deadline passed: " + Num(s.held));
  }
  if (r.options.hold_flow() && s.expired >= 0) {
    // Every hold opened was confirmed or expired (none are released by this tool).
    int64_t resolved = t.holds_confirmed + s.expired + (s.held > 0 ? s.held : 0);
    int64_t lo = t.holds_opened, hi = t.holds_opened + t.units_unknown;
    Add(r, "holds_accounted", resolved >= lo && resolved <= hi,
        "confirmed " + Num(t.holds_confirmed) + " + expired " + Num(s.expired) + " + open " +
            Num(s.held) + " vs opened " + Num(t.holds_opened));
  }
}

}  // namespace

void Verify(Report& r) {
  r.checks.clear();
  const Tally& t = r.tally;
  const ServerState& s = r.server;
  const int64_t stock = r.options.items;
  int64_t client_over = std::max<int64_t>(0, t.units_sold() - stock);
  int64_t server_over = s.read ? std::max<int64_t>(0, s.sold + s.held - stock) : 0;
  r.oversold = std::max(client_over, server_over);
  Add(r, "oversold", r.oversold == 0,
      "clients told " + Num(t.units_sold()) + " units sold, server has " +
          (s.read ? Num(s.sold) + " sold + " + Num(s.held) + " held" : std::string("?")) +
          ", stock " + Num(stock));

  int64_t server_dups = ServerDuplicates(r);
  r.duplicate_buyers = std::max<int64_t>(static_cast<int64_t>(t.duplicate_buyers_seen),
                                         std::max<int64_t>(server_dups, 0));
  std::string dup_detail = "users told they got more than the limit: " +
                           Num(static_cast<int64_t>(t.duplicate_buyers_seen));
  if (server_dups >= 0) {
    dup_detail += "; server: " + Num(s.sold + s.held) + " units for " + Num(s.buyers) + " buyers";
  } else if (r.options.limit > 0) {
    dup_detail += "; the server's counters cannot tell for this limit";
  }
  if (r.per_user.over_limit > 0) {
    r.duplicate_buyers = std::max(r.duplicate_buyers, r.per_user.over_limit);
    dup_detail += "; users above the limit on the server: " + Num(r.per_user.over_limit);
  }
  Add(r, "duplicate_buyers", r.duplicate_buyers == 0, dup_detail);
  if (r.per_user.checked >= 0) {
    const PerUserCheck& p = r.per_user;
    Add(r, "per_user", p.over_limit == 0 && p.mismatched == 0,
        Num(p.checked) + " users compared with the server, " + Num(p.mismatched) + " differ" +
            (p.example.empty() ? "" : " (" + p.example + ")"));
  }
  CheckCounters(r);
  Add(r, "no_error_replies", t.errors == 0, Num(static_cast<int64_t>(t.errors)) + " error replies");
}

namespace {

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string LatencyJson(const Histogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"count\": %llu, \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
                "\"p999\": %.3f, \"max\": %.3f}",
                static_cast<unsigned long long>(h.count()), h.mean() / 1e6, Ms(h.percentile(50)),
                Ms(h.percentile(90)), Ms(h.percentile(99)), Ms(h.percentile(99.9)), Ms(h.max()));
  return buf;
}

std::string LatencyLine(const char* name, const Histogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "  %-9s %9llu  p50 %8.3f  p90 %8.3f  p99 %8.3f  p99.9 %8.3f  max %8.3f ms\n", name,
                static_cast<unsigned long long>(h.count()), Ms(h.percentile(50)),
                Ms(h.percentile(90)), Ms(h.percentile(99)), Ms(h.percentile(99.9)), Ms(h.max()));
  return buf;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int64_t UnitsLeft(const Report& r) {
  return r.server.read ? r.server.available : r.options.items - r.tally.units_sold();
}

double CpuPct(const Report& r) {
  return r.wall_s > 0 ? 100.0 * (r.cpu_user_s + r.cpu_sys_s) / r.wall_s : 0;
}

double CpuUsPerRequest(const Report& r) {
  return r.tally.replies ? (r.cpu_user_s + r.cpu_sys_s) * 1e6 / r.tally.replies : 0;
}

}  // namespace

std::string FormatText(const Report& r) {
  const Options& o = r.options;
  const Tally& t = r.tally;
  std::string s;
  char b[512];
  std::snprintf(b, sizeof b,
                "allot-rush %s mode=%s  %s:%d  users=%lld items=%lld limit=%lld connections=%d\n",
                o.preset.empty() ? "(custom)" : o.preset.c_str(), ModeName(o.mode), o.host.c_str(),
                o.port, static_cast<long long>(o.users), static_cast<long long>(o.items),
                static_cast<long long>(o.limit), o.connections);
  s += b;
  std::snprintf(
      b, sizeof b,
      "requests %llu in %.3f s; the rush: %llu in %.3f s = %.0f req/s; retries %llu, "
      "timeouts %llu, unanswered %llu, errors %llu\n",
      static_cast<unsigned long long>(t.replies), r.wall_s,
      static_cast<unsigned long long>(r.rush_replies), r.rush_s, r.throughput_rps(),
      static_cast<unsigned long long>(t.retries), static_cast<unsigned long long>(t.timeouts),
      static_cast<unsigned long long>(t.unanswered), static_cast<unsigned long long>(t.errors));
  s += b;
  s += "latency (send to reply):\n";
  s += LatencyLine("all", r.all);
  for (int op = 0; op < kOpCount; ++op) {
    if (r.ops[op].count()) s += LatencyLine(OpName(static_cast<Op>(op), o), r.ops[op]);
  }
  s += LatencyLine("user-wait", r.user_wait);
  std::snprintf(b, sizeof b,
                "units: sold %lld (bought %lld, confirmed %lld), left %lld of %lld\n"
                "holds: opened %lld, confirmed %lld, expired at checkout %lld, abandoned %lld\n"
                "users: %llu arrived, %llu served, %llu sold out, %llu over the limit, %llu lost "
                "their hold, %llu failed\n",
                static_cast<long long>(t.units_sold()), static_cast<long long>(t.units_bought),
                static_cast<long long>(t.units_confirmed), static_cast<long long>(UnitsLeft(r)),
                static_cast<long long>(o.items), static_cast<long long>(t.holds_opened),
                static_cast<long long>(t.holds_confirmed),
                static_cast<long long>(t.holds_expired_at_confirm),
                static_cast<long long>(t.holds_abandoned), static_cast<unsigned long long>(t.users),
                static_cast<unsigned long long>(t.users_served),
                static_cast<unsigned long long>(t.users_sold_out),
                static_cast<unsigned long long>(t.users_limited),
                static_cast<unsigned long long>(t.users_lost_hold),
                static_cast<unsigned long long>(t.users_failed));
  s += b;
  std::snprintf(
      b, sizeof b,
      "generator cpu: user %.3f s, sys %.3f s (%.0f%% of one core, %.1f us per request)\n",
      r.cpu_user_s, r.cpu_sys_s, CpuPct(r), CpuUsPerRequest(r));
  s += b;
  for (const auto& [text, n] : t.error_texts) {
    s += "  error x" + std::to_string(n) + ": " + text + "\n";
  }
  for (const auto& n : r.notes) s += "note: " + n + "\n";
  s += "checks:\n";
  for (const auto& c : r.checks) {
    s += std::string("  [") + (c.ok ? "ok" : "FAIL") + "] " + c.name + ": " + c.detail + "\n";
  }
  s += r.passed() ? "PASS\n" : "FAIL\n";
  return s;
}

std::string FormatJson(const Report& r) {
  const Options& o = r.options;
  const Tally& t = r.tally;
  const ServerState& sv = r.server;
  auto u = [](uint64_t v) { return std::to_string(v); };
  auto i = [](int64_t v) { return std::to_string(v); };
  char num[160];
  std::string s = "{";
  s += "\"preset\": \"" + Escape(o.preset) + "\", \"mode\": \"" + ModeName(o.mode) + "\"";
  s += ", \"host\": \"" + Escape(o.host) + "\", \"port\": " + i(o.port);
  s += ", \"users\": " + i(o.users) + ", \"items\": " + i(o.items) + ", \"limit\": " + i(o.limit);
  s += ", \"connections\": " + i(o.connections) + ", \"seed\": " + u(o.seed);
  std::snprintf(num, sizeof num, "%.3f", o.time_scale);
  s += std::string(", \"time_scale\": ") + num;
  s += ", \"requests\": " + u(t.replies) + ", \"requests_sent\": " + u(t.requests_sent);
  std::snprintf(num, sizeof num, "%.1f", r.throughput_rps());
  s += std::string(", \"throughput_rps\": ") + num;
  std::snprintf(num, sizeof num, "%.3f, \"rush_s\": %.3f", r.wall_s, r.rush_s);
  s += std::string(", \"wall_s\": ") + num + ", \"rush_requests\": " + u(r.rush_replies);
  s += ", \"sold\": " + i(t.units_sold()) + ", \"units_left\": " + i(UnitsLeft(r));
  s += ", \"errors\": " + u(t.errors) + ", \"timeouts\": " + u(t.timeouts);
  s += ", \"retries\": " + u(t.retries) + ", \"unanswered\": " + u(t.unanswered);
  s += ", \"reconnects\": " + u(t.reconnects);
  s += ", \"oversold\": " + i(r.oversold) + ", \"duplicate_buyers\": " + i(r.duplicate_buyers);
  s += std::string(", \"passed\": ") + (r.passed() ? "true" : "false");
  s += ", \"latency_ms\": " + LatencyJson(r.all);
  s += ", \"ops\": {";
  bool first = true;
  for (int op = 0; op < kOpCount; ++op) {
    if (!r.ops[op].count()) continue;
    s += std::string(first ? "" : ", ") + "\"" + OpName(static_cast<Op>(op), o) +
         "\": " + LatencyJson(r.ops[op]);
    first = false;
  }
  s += "}, \"user_wait_ms\": " + LatencyJson(r.user_wait);
  s += ", \"holds\": {\"opened\": " + i(t.holds_opened) +
       ", \"confirmed\": " + i(t.holds_confirmed) +
       ", \"expired_at_confirm\": " + i(t.holds_expired_at_confirm) +
       ", \"abandoned\": " + i(t.holds_abandoned) +
       ", \"expired_returned\": " + i(t.holds_opened - t.holds_confirmed) + "}";
  s += ", \"users_detail\": {\"arrived\": " + u(t.users) + ", \"served\": " + u(t.users_served) +
       ", \"sold_out\": " + u(t.users_sold_out) + ", \"over_limit\": " + u(t.users_limited) +
       ", \"lost_hold\": " + u(t.users_lost_hold) + ", \"failed\": " + u(t.users_failed) + "}";
  s += ", \"server_counters\": {\"read\": " + std::string(sv.read ? "true" : "false") +
       ", \"source\": \"" + Escape(sv.source) + "\", \"total\": " + i(sv.total) +
       ", \"available\": " + i(sv.available) + ", \"held\": " + i(sv.held) +
       ", \"sold\": " + i(sv.sold) + ", \"buyers\": " + i(sv.buyers) +
       ", \"expired\": " + i(sv.expired) + "}";
  std::snprintf(num, sizeof num,
                "%.3f, \"cpu_sys_s\": %.3f, \"cpu_pct\": %.1f, \"cpu_us_per_request\": %.2f",
                r.cpu_user_s, r.cpu_sys_s, CpuPct(r), CpuUsPerRequest(r));
  s += std::string(", \"generator\": {\"cpu_user_s\": ") + num + "}";
  s += ", \"checks\": [";
  for (size_t k = 0; k < r.checks.size(); ++k) {
    const auto& c = r.checks[k];
    s += std::string(k ? ", " : "") + "{\"name\": \"" + c.name +
         "\", \"ok\": " + (c.ok ? "true" : "false") + ", \"detail\": \"" + Escape(c.detail) + "\"}";
  }
  s += "], \"error_texts\": {";
  first = true;
  for (const auto& [text, n] : t.error_texts) {
    s += std::string(first ? "" : ", ") + "\"" + Escape(text) + "\": " + u(n);
    first = false;
  }
  s += "}, \"notes\": [";
  for (size_t k = 0; k < r.notes.size(); ++k) {
    s += std::string(k ? ", " : "") + "\"" + Escape(r.notes[k]) + "\"";
  }
  s += "]}\n";
  return s;
}

}  // namespace allot::rush
