#include "server/config.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "engine/commands/args.h"
#include "server/acl.h"
#include "server/resp_parser.h"

namespace allot::server {

namespace {

using Values = std::vector<std::string>;
using Setter = std::string (*)(ServerConfig&, const Values&);
using Getter = std::string (*)(const ServerConfig&);

struct Setting {
  std::string_view name;
  std::string_view help;
  bool mutable_at_run;  // CONFIG SET may change it
  Setter set;
  Getter get;
};

std::string Join(const Values& v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out.append(v[i]);
  }
  return out;
}

std::string SetMemory(const Values& v, uint64_t min_bytes, uint64_t* out) {
  int64_t n = 0;
  if (v.size() != 1 || !ParseMemory(v[0], &n) || n < 0) {
    return "argument must be a memory value";
  }
  if (static_cast<uint64_t>(n) < min_bytes) {
    return "argument must be between " + std::to_string(min_bytes) + " and " +
           std::to_string(INT64_MAX) + " inclusive";
  }
  *out = static_cast<uint64_t>(n);
  return "";
}

std::string SetInt(const Values& v, int64_t min, int64_t max, int64_t* out) {
  int64_t n = 0;
  if (v.size() != 1 || !internal::ParseInt64(v[0], &n))
    return "argument couldn't be parsed into an integer";
  if (n < min || n > max) {
    return "argument must be between " + std::to_string(min) + " and " + std::to_string(max) +
           " inclusive";
  }
  *out = n;
  return "";
}

std::string SetPort(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 0, 65535, &n);
  if (e.empty()) c.port = static_cast<int>(n);
  return e;
}

std::string SetThreads(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 0, 256, &n);
  if (e.empty()) c.threads = static_cast<unsigned>(n);
  return e;
}

std::string SetBind(ServerConfig& c, const Values& v) {
  if (v.empty()) return "wrong number of arguments";
  c.bind.clear();
  // Kept as written: a "-" prefix marks an address that may be unavailable (Redis's
  // default redis.conf has "bind 127.0.0.1 -::1"); server.cc skips it if bind fails.
  c.bind = v;
  return "";
}

std::string SetDir(ServerConfig& c, const Values& v) {
  if (v.size() != 1 || v[0].empty()) return "wrong number of arguments";
  c.dir = v[0];
  return "";
}

std::string SetRequirepass(ServerConfig& c, const Values& v) {
  if (v.size() != 1) return "wrong number of arguments";
  c.requirepass = v[0];
  return "";
}

// "user <name> [rules...]": checked now (an error is a config error), applied at start.
std::string SetUser(ServerConfig& c, const Values& v) {
  if (v.empty()) return "wrong number of arguments";
  std::string err = CheckUserRules(v);
  if (!err.empty()) return err;
  std::string line;
  for (const std::string& s : v) line += (line.empty() ? "" : " ") + s;
  c.users.push_back(line);
  return "";
}

std::string SetYesNo(const Values& v, bool* out) {
  if (v.size() != 1 || !ParseYesNo(v[0], out)) return "argument must be 'yes' or 'no'";
  return "";
}

std::string SetOneOf(const Values& v, std::initializer_list<std::string_view> names,
                     std::string* out) {
  if (v.size() == 1) {
    for (std::string_view n : names) {
      if (internal::EqualsIgnoreCase(v[0], n)) {
        *out = std::string(n);
        return "";
      }
    }
  }
  std::string all;
  for (std::string_view n : names) all += (all.empty() ? "" : ", ") + std::string(n);
  return "argument(s) must be one of the following: " + all;
}

std::string SetPolicy(ServerConfig& c, const Values& v) {
  return SetOneOf(v,
                  {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
                   "allkeys-lfu", "allkeys-random", "noeviction"},
                  &c.maxmemory_policy);
}

std::string SetPath(const Values& v, std::string* out) {
  if (v.size() != 1) return "wrong number of arguments";
  *out = v[0];
  return "";
}

std::string SetTlsPort(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 0, 65535, &n);
  if (e.empty()) c.tls_port = static_cast<int>(n);
  return e;
}

std::string SetMaxclients(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 1, INT_MAX, &n);
  if (e.empty()) c.maxclients = static_cast<uint64_t>(n);
  return e;
}

std::string SetMaxmemory(ServerConfig& c, const Values& v) { return SetMemory(v, 0, &c.maxmemory); }

std::string SetTimeout(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 0, INT_MAX, &n);
  if (e.empty()) c.timeout_seconds = static_cast<uint64_t>(n);
  return e;
}

std::string SetProtoMaxBulkLen(ServerConfig& c, const Values& v) {
  return SetMemory(v, 1024 * 1024, &c.proto_max_bulk_len);
}

std::string SetQueryBufferLimit(ServerConfig& c, const Values& v) {
  return SetMemory(v, 1024 * 1024, &c.client_query_buffer_limit);
}

// "class hard soft seconds" repeated, as Redis's client-output-buffer-limit.
std::string SetOutputLimit(ServerConfig& c, const Values& in) {
  Values v;
  for (const std::string& s : in) {  // a quoted flag value arrives as one argument
    std::vector<std::string> parts;
    SplitInlineArgs(s, &parts);
    v.insert(v.end(), parts.begin(), parts.end());
  }
  if (v.empty() || v.size() % 4 != 0)
    return "Wrong number of arguments in buffer limit configuration.";
  OutputBufferLimit next[3] = {c.output_limits[0], c.output_limits[1], c.output_limits[2]};
  for (size_t i = 0; i < v.size(); i += 4) {
    int cls = -1;
    if (internal::EqualsIgnoreCase(v[i], "normal")) cls = 0;
    if (internal::EqualsIgnoreCase(v[i], "replica") || internal::EqualsIgnoreCase(v[i], "slave"))
      cls = 1;
    if (internal::EqualsIgnoreCase(v[i], "pubsub")) cls = 2;
    if (cls < 0) return "Invalid client class specified in buffer limit configuration.";
    int64_t hard = 0, soft = 0, secs = 0;
    if (!ParseMemory(v[i + 1], &hard) || !ParseMemory(v[i + 2], &soft) ||
        !internal::ParseInt64(v[i + 3], &secs) || hard < 0 || soft < 0 || secs < 0) {
      return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    }
    next[cls] = {static_cast<uint64_t>(hard), static_cast<uint64_t>(soft),
                 static_cast<uint64_t>(secs)};
  }
  for (int i = 0; i < 3; ++i) c.output_limits[i] = next[i];
  return "";
}

std::string SetLoglevel(ServerConfig& c, const Values& v) {
  if (v.size() != 1) return "wrong number of arguments";
  for (std::string_view l : {"debug", "verbose", "notice", "warning"}) {
    if (internal::EqualsIgnoreCase(v[0], l)) {
      c.loglevel = std::string(l);
      return "";
    }
  }
  return "argument(s) must be one of the following: debug, verbose, notice, warning";
}

std::string SetDurability(ServerConfig& c, const Values& v) {
  if (v.size() != 1) return "wrong number of arguments";
  for (std::string_view m : {"always", "everysec", "none"}) {
    if (internal::EqualsIgnoreCase(v[0], m)) {
      c.durability = std::string(m);
      return "";
    }
  }
  return "argument(s) must be one of the following: always, everysec, none";
}

std::string SetLogfile(ServerConfig& c, const Values& v) {
  if (v.size() != 1) return "wrong number of arguments";
  c.logfile = v[0];
  return "";
}

std::string GetDir(const ServerConfig& c) {
  char buf[PATH_MAX];
  if (realpath(c.dir.c_str(), buf) != nullptr) return buf;
  return c.dir;
}

std::string GetOutputLimit(const ServerConfig& c) {
  static constexpr std::string_view kNames[3] = {"normal", "slave", "pubsub"};
  std::string out;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) out.push_back(' ');
    out += std::string(kNames[i]) + " " + std::to_string(c.output_limits[i].hard_bytes) + " " +
           std::to_string(c.output_limits[i].soft_bytes) + " " +
           std::to_string(c.output_limits[i].soft_seconds);
  }
  return out;
}

constexpr Setting kSettings[] = {
    {"port", "TCP port to listen on (default 6379)", false, SetPort,
     [](const ServerConfig& c) { return std::to_string(c.port); }},
    {"bind", "addresses to listen on (default 127.0.0.1)", false, SetBind,
     [](const ServerConfig& c) { return Join(c.bind); }},
    {"threads", "shard threads, 0 = one per online core (default 0)", false, SetThreads,
     [](const ServerConfig& c) { return std::to_string(c.threads); }},
    {"dir", "data directory (default .)", false, SetDir, GetDir},
    {"requirepass", "password clients must AUTH with (default none)", true, SetRequirepass,
     [](const ServerConfig& c) { return c.requirepass; }},
    {"maxclients", "maximum connected clients (default 10000)", true, SetMaxclients,
     [](const ServerConfig& c) { return std::to_string(c.maxclients); }},
    {"user", "<name> <rules...>: an ACL user, as Redis's `user` lines (may repeat)", false, SetUser,
     [](const ServerConfig&) { return std::string(); }},
    {"protected-mode",
     "refuse non-loopback clients while the default user has no password (default yes)", true,
     [](ServerConfig& c, const Values& v) { return SetYesNo(v, &c.protected_mode); },
     [](const ServerConfig& c) { return std::string(c.protected_mode ? "yes" : "no"); }},
    {"maxmemory", "memory limit for writes that grow memory, 0 = none (default 0)", true,
     SetMaxmemory, [](const ServerConfig& c) { return std::to_string(c.maxmemory); }},
    {"maxmemory-policy",
     "noeviction, allkeys-random, volatile-random, volatile-ttl (*-lru/*-lfu approximated); "
     "inventory is never evicted (default noeviction)",
     true, SetPolicy, [](const ServerConfig& c) { return c.maxmemory_policy; }},
    {"tls-port", "TLS port to listen on, 0 = none (default 0)", false, SetTlsPort,
     [](const ServerConfig& c) { return std::to_string(c.tls_port); }},
    {"tls-cert-file", "server certificate (PEM) for tls-port", false,
     [](ServerConfig& c, const Values& v) { return SetPath(v, &c.tls_cert_file); },
     [](const ServerConfig& c) { return c.tls_cert_file; }},
    {"tls-key-file", "private key (PEM) of tls-cert-file", false,
     [](ServerConfig& c, const Values& v) { return SetPath(v, &c.tls_key_file); },
     [](const ServerConfig& c) { return c.tls_key_file; }},
    {"tls-ca-cert-file", "CA certificates (PEM) to verify client certificates", false,
     [](ServerConfig& c, const Values& v) { return SetPath(v, &c.tls_ca_cert_file); },
     [](const ServerConfig& c) { return c.tls_ca_cert_file; }},
    {"tls-auth-clients", "no, yes or optional: client certificates (default no)", false,
     [](ServerConfig& c, const Values& v) {
       return SetOneOf(v, {"no", "yes", "optional"}, &c.tls_auth_clients);
     },
     [](const ServerConfig& c) { return c.tls_auth_clients; }},
    {"timeout", "close idle clients after this many seconds, 0 = never (default 0)", true,
     SetTimeout, [](const ServerConfig& c) { return std::to_string(c.timeout_seconds); }},
    {"proto-max-bulk-len", "largest bulk string in a request (default 512mb)", true,
     SetProtoMaxBulkLen,
     [](const ServerConfig& c) { return std::to_string(c.proto_max_bulk_len); }},
    {"client-query-buffer-limit", "largest pending request per client (default 1gb)", true,
     SetQueryBufferLimit,
     [](const ServerConfig& c) { return std::to_string(c.client_query_buffer_limit); }},
    {"client-output-buffer-limit",
     "<class> <hard> <soft> <soft-seconds>: close clients that do not read (default "
     "\"normal 0 0 0\")",
     true, SetOutputLimit, GetOutputLimit},
    {"durability",
     "always (reply after the WAL commit), everysec or none (memory only); default always", false,
     SetDurability, [](const ServerConfig& c) { return c.durability; }},
    {"loglevel", "debug, verbose, notice or warning (default notice)", true, SetLoglevel,
     [](const ServerConfig& c) { return c.loglevel; }},
    {"logfile", "log file, empty = standard output (default \"\")", false, SetLogfile,
     [](const ServerConfig& c) { return c.logfile; }},
};

// Redis parameters accepted for compatibility, with Redis 7's defaults. Allot stores and
// reports them; they change nothing in Allot (documented in `allotd --help`).
constexpr std::pair<std::string_view, std::string_view> kAccepted[] = {
    {"save", "3600 1 300 100 60 10000"},
    {"appendonly", "no"},
    {"appendfsync", "everysec"},
    {"appendfilename", "appendonly.aof"},
    {"dbfilename", "dump.rdb"},
    {"databases", "16"},
    {"hz", "10"},
    {"daemonize", "no"},
    {"tcp-backlog", "511"},
    {"tcp-keepalive", "300"},
    {"notify-keyspace-events", ""},
    {"lua-time-limit", "5000"},
    {"busy-reply-threshold", "5000"},
    {"slowlog-log-slower-than", "10000"},
    {"slowlog-max-len", "128"},
    {"latency-monitor-threshold", "0"},
    {"maxmemory-samples", "5"},
    {"maxmemory-clients", "0"},
    {"hash-max-listpack-entries", "128"},
    {"hash-max-listpack-value", "64"},
    {"hash-max-ziplist-entries", "128"},
    {"hash-max-ziplist-value", "64"},
    {"set-max-intset-entries", "512"},
    {"zset-max-listpack-entries", "128"},
    {"zset-max-listpack-value", "64"},
    {"zset-max-ziplist-entries", "128"},
    {"zset-max-ziplist-value", "64"},
    {"list-max-listpack-size", "-2"},
    {"list-max-ziplist-size", "-2"},
    {"list-compress-depth", "0"},
    {"stream-node-max-bytes", "4096"},
    {"stream-node-max-entries", "100"},
    {"activerehashing", "yes"},
    {"activedefrag", "no"},
    {"lazyfree-lazy-eviction", "no"},
    {"lazyfree-lazy-expire", "no"},
    {"lazyfree-lazy-server-del", "no"},
    {"lazyfree-lazy-user-del", "no"},
    {"lazyfree-lazy-user-flush", "no"},
    {"replica-read-only", "yes"},
    {"slave-read-only", "yes"},
    {"stop-writes-on-bgsave-error", "yes"},
    {"rdbcompression", "yes"},
    {"rdbchecksum", "yes"},
    {"io-threads", "1"},
    {"supervised", "no"},
    {"pidfile", ""},
    {"unixsocket", ""},
    {"cluster-enabled", "no"},
    {"lfu-log-factor", "10"},
    {"lfu-decay-time", "1"},
    {"always-show-logo", "no"},
    {"set-proc-title", "yes"},
    {"syslog-enabled", "no"},
    {"enable-debug-command", "no"},
    {"aof-use-rdb-preamble", "yes"},
    {"auto-aof-rewrite-percentage", "100"},
    {"auto-aof-rewrite-min-size", "67108864"},
    {"acllog-max-len", "128"},
    {"tracking-table-max-keys", "1000000"},
    {"active-expire-effort", "1"},
    {"min-replicas-to-write", "0"},
    {"repl-diskless-sync", "yes"},
};

const Setting* FindSetting(std::string_view name) {
  for (const Setting& s : kSettings) {
    if (internal::EqualsIgnoreCase(s.name, name)) return &s;
  }
  return nullptr;
}

}  // namespace

ServerConfig::ServerConfig() {
  for (const auto& [name, value] : kAccepted) accepted.emplace(name, value);
}

bool ParseYesNo(std::string_view s, bool* out) {
  if (internal::EqualsIgnoreCase(s, "yes")) {
    *out = true;
    return true;
  }
  if (internal::EqualsIgnoreCase(s, "no")) {
    *out = false;
    return true;
  }
  return false;
}

bool ParseMemory(std::string_view s, int64_t* out) {
  size_t digits_end = 0;
  while (digits_end < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits_end])) ||
                                   (digits_end == 0 && s[0] == '-'))) {
    ++digits_end;
  }
  std::string unit = internal::ToLower(s.substr(digits_end));
  int64_t mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k") {
    mul = 1000;
  } else if (unit == "kb") {
    mul = 1024;
  } else if (unit == "m") {
    mul = 1000 * 1000;
  } else if (unit == "mb") {
    mul = 1024 * 1024;
  } else if (unit == "g") {
    mul = 1000ll * 1000 * 1000;
  } else if (unit == "gb") {
    mul = 1024ll * 1024 * 1024;
  } else {
    return false;
  }
  int64_t n = 0;
  if (digits_end == 0 || !internal::ParseInt64(s.substr(0, digits_end), &n)) return false;
  if (n > INT64_MAX / mul || n < INT64_MIN / mul) return false;
  *out = n * mul;
  return true;
}

std::string ApplyDirective(ServerConfig& cfg, std::string_view name, const Values& values,
                           bool at_start) {
  if (const Setting* s = FindSetting(name)) {
    if (!at_start && !s->mutable_at_run) return "can't set immutable config";
    return s->set(cfg, values);
  }
  std::string lower = internal::ToLower(name);
  auto it = cfg.accepted.find(lower);
  if (it == cfg.accepted.end()) return "Bad directive or wrong number of arguments";
  if (lower == "databases" && !at_start) return "can't set immutable config";
  if (lower == "daemonize") {
    bool on = false;
    if (values.size() != 1 || !ParseYesNo(values[0], &on)) return "argument must be 'yes' or 'no'";
    if (on) return "daemonize yes is not supported: run allotd under a supervisor";
  }
  if (lower == "databases" && (values.size() != 1 || values[0] != "16")) {
    return "Allot has exactly 16 databases";
  }
  it->second = Join(values);
  return "";
}

namespace {

// The config line as an error message shows it, without passwords: a `requirepass` value
// and the `>pw` / `<pw` rules of a `user` line are masked.
std::string ShownLine(std::string_view line, const std::vector<std::string>& argv) {
  if (argv.empty()) return std::string(line);
  bool pass = internal::EqualsIgnoreCase(argv[0], "requirepass");
  if (!pass && !internal::EqualsIgnoreCase(argv[0], "user")) return std::string(line);
  std::string out = argv[0];
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    bool secret = pass || (!a.empty() && (a[0] == '>' || a[0] == '<'));
    out += " " + (secret ? (pass ? std::string("***") : a.substr(0, 1) + "***") : a);
  }
  return out;
}

}  // namespace

bool LoadConfigText(std::string_view text, ServerConfig& cfg, std::string* err) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    std::vector<std::string> argv;
    std::string why;
    if (!SplitInlineArgs(line, &argv)) {
      why = "Unbalanced quotes in configuration line";
    } else if (!argv.empty()) {
      std::vector<std::string> values(argv.begin() + 1, argv.end());
      why = ApplyDirective(cfg, argv[0], values, true);
    }
    if (!why.empty()) {
      *err = "*** FATAL CONFIG FILE ERROR ***\nReading the configuration file, at line " +
             std::to_string(line_no) + "\n>>> '" + ShownLine(line, argv) + "'\n" + why;
      return false;
    }
  }
  return true;
}

bool LoadConfigFile(const std::string& path, ServerConfig& cfg, std::string* err) {
  std::ifstream in(path);
  if (!in) {
    *err = "Fatal error, can't open config file '" + path + "'";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigText(ss.str(), cfg, err);
}

bool ParseCommandLine(int argc, const char* const* argv, ServerConfig& cfg, std::string* err,
                      bool* help, bool* version) {
  *help = false;
  *version = false;
  int i = 1;
  if (argc >= 2) {
    std::string_view a = argv[1];
    if (a == "--help" || a == "-h") return *help = true;
    if (a == "--version" || a == "-v") return *version = true;
    if (a.substr(0, 2) != "--") {
      if (!LoadConfigFile(std::string(a), cfg, err)) return false;
      i = 2;
    }
  }
  // Flags become config lines, as redis-server does: "--port 7000" is "port 7000".
  std::string text;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return *help = true;
    if (a.substr(0, 2) == "--") {
      if (!text.empty()) text.push_back('\n');
      text.append(a.substr(2));
      continue;
    }
    if (text.empty()) {
      *err = "Invalid argument '" + std::string(a) + "': flags are --name value";
      return false;
    }
    // Quote each value so that spaces inside one argument survive the line split.
    text.append(" \"");
    for (char c : a) {
      if (c == '"' || c == '\\') text.push_back('\\');
      text.push_back(c);
    }
    text.push_back('"');
  }
  return LoadConfigText(text, cfg, err);
}

std::string HelpText() {
  std::string out =
      "Usage: allotd [/path/to/allotd.conf] [--name value ...]\n"
      "       allotd --help | --version\n\n"
      "Every setting may be given in the config file (redis.conf syntax: `name value`)\n"
      "or as a flag `--name value`; flags override the file. Sizes take 1k 1kb 1m 1mb\n"
      "1g 1gb; booleans yes/no.\n\nSettings:\n";
  for (const Setting& s : kSettings) {
    out += "  " + std::string(s.name);
    out.append(s.name.size() < 28 ? 28 - s.name.size() : 1, ' ');
    out += std::string(s.help) + "\n";
  }
  out +=
      "\nAccepted for compatibility with Redis configurations and tools, reported back by\n"
      "CONFIG GET, with no effect in Allot:\n ";
  size_t col = 1;
  for (const auto& [name, value] : kAccepted) {
    if (col + name.size() + 1 > 78) {
      out += "\n ";
      col = 1;
    }
    out += " " + std::string(name);
    col += name.size() + 1;
  }
  out +=
      "\n\nExample: allotd --port 7000 --maxmemory 20mb --client-output-buffer-limit "
      "\"normal 64mb 32mb 10\"\n";
  return out;
}

std::vector<std::pair<std::string, std::string>> ConfigGet(const ServerConfig& cfg,
                                                           std::string_view pattern) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Setting& s : kSettings) {
    if (s.name == "user") continue;  // users are read with ACL LIST, as in Redis
    if (internal::GlobMatch(pattern, s.name, true)) out.emplace_back(s.name, s.get(cfg));
  }
  for (const auto& [name, value] : cfg.accepted) {
    if (internal::GlobMatch(pattern, name, true)) out.emplace_back(name, value);
  }
  return out;
}

}  // namespace allot::server
