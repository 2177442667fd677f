// allot-rush's settings: one struct, the named presets that fill it from the seeds'
// scenarios, and the command line (`--preset` first, then every other flag overrides).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace allot::rush {

// What each simulated user sends.
enum class Mode {
  kBuy,      // INV.BUY key user [QTY n] ID req
  kHold,     // INV.HOLD key user TTL ms ID hold, later INV.CONFIRM or walk away
  kLua,      // EVALSHA of the seed's buy (or quota) script on plain keys
  kLuaHold,  // EVALSHA of hold / confirm scripts on plain keys (holds in a hash + list)
};

enum class Arrival { kUniform, kBurst };

// Which Lua script a lua mode runs for a purchase.
enum class Script {
  kTickets,  // seed 002: counter + purchased set, one per user, replies 1 / 0 / -1
  kQuota,    // seed 000: reserved counter against a quota, reserve `amount`, replies 1 / 0
  kFile,     // --script-file: the tickets contract (KEYS counter, buyers; ARGV user)
};

struct Options {
  std::string preset;  // informative: the preset the values came from
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  std::string key = "rush";  // native: "{key}:inv"; lua: "{key}:stock", "{key}:buyers", ...

  int64_t users = 20000;
  int64_t items = 200;  // stock: tickets, items, or the quota's units
  int64_t limit = 1;    // per-user limit; 0 = none (quota)
  int64_t qty_min = 1;  // units per purchase, uniform in [qty_min, qty_max]
  int64_t qty_max = 1;

  double window_s = 0;  // arrivals spread over this many (scenario) seconds; 0 = all at once
  Arrival arrival = Arrival::kUniform;
  Mode mode = Mode::kBuy;
  Script script = Script::kTickets;
  std::string script_file;

  // Hold flow, in scenario seconds (divided by time_scale on the wire).
  double hold_ttl_s = 300;
  double pay_min_s = 5;
  double pay_max_s = 60;
  double abandon_rate = 0.2;    // users who got a hold and walk away (it expires)
  double duplicate_rate = 0.0;  // users whose click is sent twice at once

  double time_scale = 1;      // 10 = the scenario runs 10x faster (window, delays, hold TTL)
  double duration_s = 120;    // wall-clock cap: no new requests after it
  int64_t timeout_ms = 2000;  // per request; then the connection is dropped and the request retried
  int retries = 2;            // retries of a request after a timeout
  uint64_t seed = 1;
  int connections = 1000;
  int pipeline = 1;  // requests in flight per connection
  bool json = false;
  bool quiet = false;
  bool keep_keys = false;  // do not delete the run's keys at the end

  // Derived wire values.
  int64_t hold_ttl_ms() const;
  bool hold_flow() const { return mode == Mode::kHold || mode == Mode::kLuaHold; }
  bool lua() const { return mode == Mode::kLua || mode == Mode::kLuaHold; }
};

const char* ModeName(Mode m);
const char* ScriptName(Script s);

// The preset names, for --help and errors.
std::vector<std::string> PresetNames();
// Fills `o` with a preset's values; false for an unknown name.
bool ApplyPreset(const std::string& name, Options& o);

// Parses argv (without argv[0]). On error returns false with *err set. `*help` is set for
// --help (and nothing else is checked).
bool ParseArgs(const std::vector<std::string>& args, Options& o, std::string* err, bool* help);
std::string UsageText();

// Cross-field checks (e.g. qty_min <= qty_max); empty if fine.
std::string Validate(const Options& o);

}  // namespace allot::rush
