#include "tools/rush/options.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

namespace allot::rush {

int64_t Options::hold_ttl_ms() const {
  return std::max<int64_t>(1, std::llround(hold_ttl_s * 1000.0 / time_scale));
}

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kBuy:
      return "buy";
    case Mode::kHold:
      return "hold";
    case Mode::kLua:
      return "lua";
    case Mode::kLuaHold:
      return "lua-hold";
  }
  return "?";
}

const char* ScriptName(Script s) {
  switch (s) {
    case Script::kTickets:
      return "tickets";
    case Script::kQuota:
      return "quota";
    case Script::kFile:
      return "file";
  }
  return "?";
}

std::vector<std::string> PresetNames() { return {"seed-200", "seed-5000", "seed-quota"}; }

bool ApplyPreset(const std::string& name, Options& o) {
  if (name == "seed-200") {
    // Seeds 001/002: exactly 200 tickets, one per user, 20k+ users at the sale's start.
    o.users = 20000;
    o.items = 200;
    o.limit = 1;
    o.window_s = 1;
    o.arrival = Arrival::kBurst;
    o.mode = Mode::kBuy;
    o.script = Script::kTickets;
    o.duplicate_rate = 0.05;
  } else if (name == "seed-5000") {
    // Seeds 003/004: 50,000 users within 30 s for 5,000 items, a 5-minute hold to pay.
    // Payment takes 10 s to 6.5 min (some pay after the hold expired), a fifth walk away.
    // Time scale 30: the 30 s window takes 1 s, holds 10 s, so expiry is exercised.
    o.users = 50000;
    o.items = 5000;
    o.limit = 1;
    o.window_s = 30;
    o.arrival = Arrival::kBurst;
    o.mode = Mode::kHold;
    o.script = Script::kTickets;
    o.hold_ttl_s = 300;
    o.pay_min_s = 10;
    o.pay_max_s = 390;
    o.abandon_rate = 0.2;
    o.duplicate_rate = 0.05;
    o.time_scale = 30;
  } else if (name == "seed-quota") {
    // Seed 000: one show's quota of 15,000 reserved by orders of varying size; the seed
    // reached 93,240 orders per minute. 93,000 orders in a 60 s window at time scale 6:
    // 6x the seed's rate (558k orders/min); --time-scale 1 replays the seed's rate.
    o.users = 93000;
    o.items = 15000;
    o.limit = 0;
    o.qty_min = 1;
    o.qty_max = 4;
    o.window_s = 60;
    o.arrival = Arrival::kUniform;
    o.mode = Mode::kBuy;
    o.script = Script::kQuota;
    o.duplicate_rate = 0;
    o.time_scale = 6;
  } else {
    return false;
  }
  o.preset = name;
  return true;
}

namespace {

bool ToI64(const std::string& s, int64_t& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

bool ToDouble(const std::string& s, double& v) {
  try {
    size_t used = 0;
    v = std::stod(s, &used);
    return used == s.size() && std::isfinite(v);
  } catch (...) {
    return false;
  }
}

using Setter = std::function<bool(Options&, const std::string&)>;

Setter Int(int64_t Options::*field, int64_t lo) {
  return [field, lo](Options& o, const std::string& v) {
    int64_t n;
    if (!ToI64(v, n) || n < lo) return false;
    o.*field = n;
    return true;
  };
}

Setter Int32(int Options::*field, int lo) {
  return [field, lo](Options& o, const std::string& v) {
    int64_t n;
    if (!ToI64(v, n) || n < lo || n > 1000000) return false;
    o.*field = static_cast<int>(n);
    return true;
  };
}

Setter Real(double Options::*field, double lo, double hi) {
  return [field, lo, hi](Options& o, const std::string& v) {
    double d;
    if (!ToDouble(v, d) || d < lo || d > hi) return false;
    o.*field = d;
    return true;
  };
}

const std::map<std::string, Setter>& ValueFlags() {
  static const std::map<std::string, Setter> flags = {
      {"--host", [](Options& o, const std::string& v) { return !(o.host = v).empty(); }},
      {"--port", Int32(&Options::port, 1)},
      {"--password", [](Options& o, const std::string& v) { return (o.password = v), true; }},
      {"--key", [](Options& o, const std::string& v) { return !(o.key = v).empty(); }},
      {"--users", Int(&Options::users, 1)},
      {"--items", Int(&Options::items, 0)},
      {"--limit", Int(&Options::limit, 0)},
      {"--qty-min", Int(&Options::qty_min, 1)},
      {"--qty-max", Int(&Options::qty_max, 1)},
      {"--qty",
       [](Options& o, const std::string& v) {
         int64_t n;
         if (!ToI64(v, n) || n < 1) return false;
         o.qty_min = o.qty_max = n;
         return true;
       }},
      {"--window-s", Real(&Options::window_s, 0, 86400)},
      {"--arrival",
       [](Options& o, const std::string& v) {
         if (v == "uniform")
           o.arrival = Arrival::kUniform;
         else if (v == "burst")
           o.arrival = Arrival::kBurst;
         else
           return false;
         return true;
       }},
      {"--mode",
       [](Options& o, const std::string& v) {
         if (v == "buy")
           o.mode = Mode::kBuy;
         else if (v == "hold")
           o.mode = Mode::kHold;
         else if (v == "lua")
           o.mode = Mode::kLua;
         else if (v == "lua-hold")
           o.mode = Mode::kLuaHold;
         else
           return false;
         return true;
       }},
      {"--script",
       [](Options& o, const std::string& v) {
         if (v == "tickets")
           o.script = Script::kTickets;
         else if (v == "quota")
           o.script = Script::kQuota;
         else
           return false;
         return true;
       }},
      {"--script-file",
       [](Options& o, const std::string& v) {
         o.script = Script::kFile;
         return !(o.script_file = v).empty();
       }},
      {"--hold-ttl-s", Real(&Options::hold_ttl_s, 0.001, 30 * 86400)},
      {"--pay-min-s", Real(&Options::pay_min_s, 0, 86400)},
      {"--pay-max-s", Real(&Options::pay_max_s, 0, 86400)},
      {"--abandon-rate", Real(&Options::abandon_rate, 0, 1)},
      {"--duplicate-rate", Real(&Options::duplicate_rate, 0, 1)},
      {"--time-scale", Real(&Options::time_scale, 0.001, 1e6)},
      {"--duration-s", Real(&Options::duration_s, 0.1, 86400)},
      {"--timeout-ms", Int(&Options::timeout_ms, 1)},
      {"--retries", Int32(&Options::retries, 0)},
      {"--seed",
       [](Options& o, const std::string& v) {
         int64_t n;
         if (!ToI64(v, n) || n < 0) return false;
         o.seed = static_cast<uint64_t>(n);
         return true;
       }},
      {"--connections", Int32(&Options::connections, 1)},
      {"--pipeline", Int32(&Options::pipeline, 1)},
  };
  return flags;
}

}  // namespace

bool ParseArgs(const std::vector<std::string>& args, Options& o, std::string* err, bool* help) {
  *help = false;
  // The preset first, wherever it is, so that every other flag overrides it.
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      *help = true;
      return true;
    }
    if (args[i] == "--preset") {
      if (i + 1 >= args.size() || !ApplyPreset(args[i + 1], o)) {
        *err = "unknown preset (use seed-200, seed-5000 or seed-quota)";
        return false;
      }
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--preset") {
      ++i;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--keep-keys") {
      o.keep_keys = true;
    } else if (a == "--burst") {
      o.arrival = Arrival::kBurst;
    } else if (a == "--uniform") {
      o.arrival = Arrival::kUniform;
    } else if (auto it = ValueFlags().find(a); it != ValueFlags().end()) {
      if (i + 1 >= args.size()) {
        *err = a + " needs a value";
        return false;
      }
      if (!it->second(o, args[++i])) {
        *err = "bad value for " + a + ": '" + args[i] + "'";
        return false;
      }
    } else {
      *err = "unknown option " + a + " (see --help)";
      return false;
    }
  }
  *err = Validate(o);
  return err->empty();
}

std::string Validate(const Options& o) {
  if (o.qty_min > o.qty_max) return "--qty-min is above --qty-max";
  if (o.pay_min_s > o.pay_max_s) return "--pay-min-s is above --pay-max-s";
  if (o.limit > 0 && o.qty_min > o.limit) return "every purchase would exceed --limit";
  if (o.lua() && o.script == Script::kQuota && o.mode == Mode::kLuaHold)
    return "--mode lua-hold has no quota script; use --mode lua or --mode buy/hold";
  if (o.lua() && o.script != Script::kQuota && (o.limit != 1 || o.qty_max != 1))
    return "the seed's tickets script sells one unit per user: use --limit 1 --qty 1";
  if (o.lua() && o.script == Script::kQuota && o.limit != 0)
    return "the seed's quota script has no per-user limit: use --limit 0";
  return "";
}

std::string UsageText() {
  return R"(allot-rush: a flash-sale rush against a RESP server (allotd or redis-server)

usage: allot-rush [--preset seed-200|seed-5000|seed-quota] [flags...]   (flags override the preset)

server     --host H (127.0.0.1)  --port P (6379)  --password PW  --key NAME (rush)
sale       --items N (stock or quota units)  --users N  --limit N (per user, 0 = none)
           --qty N | --qty-min N --qty-max N (units per purchase)
arrival    --window-s S (0 = all at once)  --arrival uniform|burst (or --uniform, --burst)
mode       --mode buy      INV.BUY key user [QTY n] ID req
           --mode hold     INV.HOLD key user TTL ms ID h, then INV.CONFIRM after the payment
                           delay, or walk away (the hold expires)
           --mode lua      the seed's Lua script via EVALSHA on plain keys (--script tickets|quota,
                           or --script-file F with the tickets contract: KEYS counter, buyers;
                           ARGV user; replies 1 taken, 0 sold out, -1 already bought)
           --mode lua-hold hold / confirm Lua scripts on plain keys
holds      --hold-ttl-s S (300)  --pay-min-s S  --pay-max-s S  --abandon-rate R (0.2)
clicks     --duplicate-rate R (clicks sent twice at once)  --timeout-ms MS (2000)
           --retries N (2, after a timeout, on a new connection, same request id)
time       --time-scale X (scenario runs X times faster)  --duration-s S (120, wall-clock cap)
run        --connections N (1000)  --pipeline N (1 request in flight per connection)
           --seed N  --json  --quiet  --keep-keys

Exit status: 0 if every check passed (nothing oversold, no user above the limit, the
server's counters match what clients were told), 1 if a check failed, 2 on a usage or
connection error.
)";
}

}  // namespace allot::rush
