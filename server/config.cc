#include "server/config.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include "engine/commands/args.h"
#include "engine/limits.h"
#include "engine/scripting/lua_runtime.h"
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

// Capped at the engine's largest value (Redis allows more): a longer argument would stop
// the server at the write-ahead log's size check instead of getting an error.
std::string SetProtoMaxBulkLen(ServerConfig& c, const Values& v) {
  uint64_t n = 0;
  std::string e = SetMemory(v, 1024 * 1024, &n);
  if (e.empty() && n > limits::kStringBytesMax) {
    e = "argument must be between 1048576 and " + std::to_string(limits::kStringBytesMax) +
        " inclusive";
  }
  if (e.empty()) c.proto_max_bulk_len = n;
  return e;
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

std::string SetCheckpointLogRecords(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 0, INT64_MAX, &n);
  if (e.empty()) c.checkpoint_log_records = static_cast<uint64_t>(n);
  return e;
}

std::string SetCheckpointIntervalS(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 0, INT_MAX, &n);
  if (e.empty()) c.checkpoint_interval_s = static_cast<uint64_t>(n);
  return e;
}

std::string SetLogfile(ServerConfig& c, const Values& v) {
  if (v.size() != 1) return "wrong number of arguments";
  c.logfile = v[0];
  return "";
}

// busy-reply-threshold / lua-time-limit: process-wide (engine/scripting/lua_runtime.h).
std::string SetBusyReplyThreshold(ServerConfig&, const Values& v) {
  if (v.size() != 1) return "wrong number of arguments";
  int64_t ms = 0;
  if (!internal::ParseInt64(v[0], &ms) || ms < 0)
    return "argument couldn't be parsed into an integer";
  internal::SetScriptBusyThresholdMs(ms);
  return "";
}

std::string GetBusyReplyThreshold(const ServerConfig&) {
  return std::to_string(internal::ScriptBusyThresholdMs());
}

std::string SetPgText(const Values& v, std::string* out, bool allow_empty) {
  if (v.size() > 1 || (v.empty() && !allow_empty)) return "wrong number of arguments";
  std::string s = v.empty() ? "" : v[0];
  if (s.empty() && !allow_empty) return "argument must not be empty";
  *out = s;
  return "";
}

std::string SetPgInterval(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 10, 3600000, &n);
  if (e.empty()) c.pg_sync_interval_ms = static_cast<uint64_t>(n);
  return e;
}

std::string SetPgBacklogMax(ServerConfig& c, const Values& v) {
  int64_t n = 0;
  std::string e = SetInt(v, 1000, INT64_MAX, &n);
  if (e.empty()) c.pg_backlog_max = static_cast<uint64_t>(n);
  return e;
}

std::string SetPgSyncKeys(ServerConfig& c, const Values& in) {
  Values v;
  for (const std::string& s : in) {  // a quoted list arrives as one argument
    std::vector<std::string> parts;
    SplitInlineArgs(s, &parts);
    v.insert(v.end(), parts.begin(), parts.end());
  }
  c.pg_sync_keys = v;
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
    {"checkpoint-log-records",
     "take a checkpoint (and trim the log) every this many log records, 0 = never (default "
     "1000000)",
     false, SetCheckpointLogRecords,
     [](const ServerConfig& c) { return std::to_string(c.checkpoint_log_records); }},
    {"checkpoint-interval-s",
     "take a checkpoint at least this often (seconds) while anything was written, 0 = never "
     "(default 300)",
     false, SetCheckpointIntervalS,
     [](const ServerConfig& c) { return std::to_string(c.checkpoint_interval_s); }},
    {"loglevel", "debug, verbose, notice or warning (default notice)", true, SetLoglevel,
     [](const ServerConfig& c) { return c.loglevel; }},
    {"busy-reply-threshold",
     "ms a script runs before other clients get BUSY and SCRIPT KILL works (default 5000)", true,
     SetBusyReplyThreshold, GetBusyReplyThreshold},
    {"lua-time-limit", "alias of busy-reply-threshold", true, SetBusyReplyThreshold,
     GetBusyReplyThreshold},
    {"logfile", "log file, empty = standard output (default \"\")", false, SetLogfile,
     [](const ServerConfig& c) { return c.logfile; }},
    {"pg-url",
     "PostgreSQL sync: libpq connection string or URI; empty = off (default \"\"); "
     "docs/postgres.md",
     false, [](ServerConfig& c, const Values& v) { return SetPgText(v, &c.pg_url, true); },
     [](const ServerConfig& c) { return c.pg_url; }},
    {"pg-sync-interval-ms", "PostgreSQL sync: milliseconds between rounds (default 1000)", false,
     SetPgInterval, [](const ServerConfig& c) { return std::to_string(c.pg_sync_interval_ms); }},
    {"pg-sync-keys",
     "PostgreSQL sync: glob patterns of plain keys (strings, counters, sets) mirrored besides "
     "inventory items (default none)",
     false, SetPgSyncKeys, [](const ServerConfig& c) { return Join(c.pg_sync_keys); }},
    {"pg-schema", "PostgreSQL sync: schema of the tables (default allot)", false,
     [](ServerConfig& c, const Values& v) { return SetPgText(v, &c.pg_schema, false); },
     [](const ServerConfig& c) { return c.pg_schema; }},
    {"pg-node", "PostgreSQL sync: this node's row in sync_state (default allot)", false,
     [](ServerConfig& c, const Values& v) { return SetPgText(v, &c.pg_node, false); },
     [](const ServerConfig& c) { return c.pg_node; }},
    {"pg-backlog-max",
     "PostgreSQL sync: sale events kept for PostgreSQL at most; at the limit new sales get "
     "TRYAGAIN (default 5000000)",
     false, SetPgBacklogMax,
     [](const ServerConfig& c) { return std::to_string(c.pg_backlog_max); }},
};

// Redis parameters accepted for compatibility, with Redis 7's defaults. Allot stores and
// reports them; they change nothing in Allot (documented in `allotd --help`), except
// slowlog-log-slower-than, slowlog-max-len, latency-monitor-threshold and
// enable-debug-command, which the server reads from here (Server::apply_limits).
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
    {"slowlog-log-slower-than", "10000"},
    {"slowlog-max-len", "128"},
    {"latency-monitor-threshold", "0"},
    {"latency-tracking", "yes"},
    {"latency-tracking-info-percentiles", "50 99 99.9"},
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
      "       allotd --restore-from-pg <pg-url> --dir <dir> [--pg-schema s]\n"
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
      "CONFIG GET, with no effect in Allot (except slowlog-log-slower-than, slowlog-max-len,\n"
      "latency-monitor-threshold and enable-debug-command, which work as in Redis):\n ";
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

namespace {

// Settings whose value is several arguments on one line; every other value is one
// argument, quoted when it needs to be.
bool MultiArgSetting(std::string_view name) { return name == "bind" || name == "save"; }

std::string QuoteArg(std::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '\'' || c == '\\' || c == '#' ||
        static_cast<unsigned char>(c) >= 0x7f) {
      plain = false;
    }
  }
  if (plain) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < ' ' || static_cast<unsigned char>(c) >= 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// The lines a setting is written as.
std::vector<std::string> DirectiveLines(std::string_view name, std::string_view value) {
  std::vector<std::string> lines;
  if (name == "client-output-buffer-limit") {
    // "normal h s t slave h s t pubsub h s t": one line per class, as Redis writes it.
    std::vector<std::string> words;
    SplitInlineArgs(value, &words);
    for (size_t i = 0; i + 3 < words.size(); i += 4) {
      lines.push_back(
          fmt::format("{} {} {} {} {}", name, words[i], words[i + 1], words[i + 2], words[i + 3]));
    }
    return lines;
  }
  if (MultiArgSetting(name)) {
    lines.push_back(std::string(name) + " " + (value.empty() ? "\"\"" : std::string(value)));
  } else {
    lines.push_back(std::string(name) + " " + QuoteArg(value));
  }
  return lines;
}

}  // namespace

std::string RewriteConfigText(std::string_view old_text, const ServerConfig& cfg) {
  // What the file says today, to leave untouched what it already gives its current value.
  // Line by line, skipping lines it refuses, so one bad line does not hide the rest.
  ServerConfig from_file;
  for (size_t at = 0; at < old_text.size();) {
    size_t nl = std::min(old_text.find('\n', at), old_text.size());
    std::vector<std::string> argv;
    std::string_view line = old_text.substr(at, nl - at);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#' && SplitInlineArgs(line, &argv) &&
        !argv.empty()) {
      ApplyDirective(from_file, argv[0], std::vector<std::string>(argv.begin() + 1, argv.end()),
                     true);
    }
    at = nl + 1;
  }
  std::map<std::string, std::string> file_values, defaults, current;
  for (auto& [n, v] : ConfigGet(from_file, "*")) file_values[n] = v;
  for (auto& [n, v] : ConfigGet(ServerConfig(), "*")) defaults[n] = v;
  for (auto& [n, v] : ConfigGet(cfg, "*")) current[n] = v;

  std::vector<std::string> out;
  std::set<std::string> written;
  size_t pos = 0;
  while (pos < old_text.size()) {
    size_t nl = old_text.find('\n', pos);
    if (nl == std::string_view::npos) nl = old_text.size();
    std::string_view line = old_text.substr(pos, nl - pos);
    pos = nl + 1;
    std::vector<std::string> argv;
    size_t first = line.find_first_not_of(" \t\r");
    bool directive = first != std::string_view::npos && line[first] != '#' &&
                     SplitInlineArgs(line, &argv) && !argv.empty();
    std::string name = directive ? internal::ToLower(argv[0]) : "";
    if (!directive || current.count(name) == 0) {
      out.emplace_back(line);  // comments, blank lines, directives Allot does not know
      continue;
    }
    if (written.count(name)) continue;  // a later duplicate: the first one holds the value
    written.insert(name);
    if (file_values[name] == current[name]) {
      // Unchanged: keep the user's own spelling (units, quoting) of this line and of its
      // per-class siblings.
      out.emplace_back(line);
      if (name == "client-output-buffer-limit") written.erase(name);
      continue;
    }
    for (std::string& l : DirectiveLines(name, current[name])) out.push_back(std::move(l));
  }
  bool header = false;
  for (const auto& [name, value] : current) {
    if (written.count(name) || value == defaults[name]) continue;
    if (!header) {
      out.emplace_back("# Generated by CONFIG REWRITE");
      header = true;
    }
    for (std::string& l : DirectiveLines(name, value)) out.push_back(std::move(l));
  }
  std::string text;
  for (const std::string& l : out) {
    text += l;
    text.push_back('\n');
  }
  return text;
}

std::string RewriteConfigFile(const std::string& path, const ServerConfig& cfg) {
  std::string old_text;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fmt::format("cannot open {}: {}", path, std::strerror(errno));
    old_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string text = RewriteConfigText(old_text, cfg);
  std::string tmp = path + ".rewrite.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return fmt::format("cannot create {}: {}", tmp, std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "write failed: " + why;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot replace the config file: " + why;
  }
  return "";
}

}  // namespace allot::server
