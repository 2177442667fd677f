// config.h: allotd's settings, read from a redis.conf-style file and `--name value`
// flags, and read/written at run time by CONFIG GET/SET.
//
// Syntax as Redis: one directive per line, `name arg1 arg2 ...`, '#' comments, arguments
// quoted as in inline requests; flags `--name v1 v2` are the same directives and are
// applied after the file. Sizes take Redis's units (1k = 1000, 1kb = 1024, m, mb, g,
// gb), booleans yes/no.
//
// Besides Allot's own settings, the names of common Redis parameters (save, appendonly,
// the *-max-listpack-* encodings, ...) are accepted and reported back by CONFIG GET so
// that tools which set them keep working; Allot has nothing to tune for them.
//
// Threading: a ServerConfig is a plain value. The server keeps the live one behind a
// mutex (server/server.h); hot-path limits are copied into atomics there.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace allot::server {

struct OutputBufferLimit {
  uint64_t hard_bytes = 0;
  uint64_t soft_bytes = 0;
  uint64_t soft_seconds = 0;
};

enum class ClientClass { kNormal = 0, kReplica = 1, kPubsub = 2 };

struct ServerConfig {
  int port = 6379;
  std::vector<std::string> bind = {"127.0.0.1"};
  unsigned threads = 0;  // 0 = one per online core
  std::string dir = ".";
  std::string requirepass;
  // `user <name> <rules...>` lines of the config file, each as "name rules..." (server/acl.h).
  std::vector<std::string> users;
  // Refuse non-loopback clients while the default user has no password (Redis's default).
  bool protected_mode = true;
  uint64_t maxclients = 10000;
  uint64_t maxmemory = 0;
  // noeviction | allkeys-random | volatile-random | volatile-ttl, and the LRU/LFU names
  // (approximated by random sampling, see docs/access-control.md).
  std::string maxmemory_policy = "noeviction";
  // TLS listener (server/tls.h): 0 = none. tls_auth_clients: no | yes | optional.
  int tls_port = 0;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_cert_file;
  std::string tls_auth_clients = "no";
  uint64_t timeout_seconds = 0;  // idle clients are closed after this; 0 = never
  uint64_t proto_max_bulk_len = 512ull * 1024 * 1024;
  uint64_t client_query_buffer_limit = 1024ull * 1024 * 1024;
  OutputBufferLimit output_limits[3] = {
      {0, 0, 0}, {256ull << 20, 64ull << 20, 60}, {32ull << 20, 8ull << 20, 60}};
  // Write-ahead log mode, named as Redis's appendfsync: always | everysec | none.
  std::string durability = "always";
  // Checkpoint triggers (docs/durability.md): every this many log records, and at least
  // every this many seconds while anything was written; 0 = that trigger off.
  uint64_t checkpoint_log_records = 1000000;
  uint64_t checkpoint_interval_s = 300;
  std::string loglevel = "notice";
  std::string logfile;  // empty = standard output
  // PostgreSQL sync (docs/postgres.md); off while pg_url is empty.
  std::string pg_url;
  uint64_t pg_sync_interval_ms = 1000;
  std::vector<std::string> pg_sync_keys;  // glob patterns of plain keys to mirror
  std::string pg_schema = "allot";
  std::string pg_node = "allot";
  uint64_t pg_backlog_max = 5000000;
  // Accepted Redis parameters Allot has nothing to tune for: name -> value as reported.
  std::map<std::string, std::string> accepted;

  ServerConfig();
};

// Applies one directive. values are its arguments (after the name). at_start allows the
// settings that cannot change while running. Returns an empty string or the reason.
std::string ApplyDirective(ServerConfig& cfg, std::string_view name,
                           const std::vector<std::string>& values, bool at_start);

// Reads a config file. On error *err holds Redis's style of message.
bool LoadConfigFile(const std::string& path, ServerConfig& cfg, std::string* err);
// Parses the config text itself (for tests and the file loader).
bool LoadConfigText(std::string_view text, ServerConfig& cfg, std::string* err);

// `allotd [configfile] [--name value ...]`. *help is set for --help/-h, *version for
// --version/-v (nothing else is parsed then).
bool ParseCommandLine(int argc, const char* const* argv, ServerConfig& cfg, std::string* err,
                      bool* help, bool* version);
std::string HelpText();

// CONFIG GET: every (name, value) whose name matches the glob pattern.
std::vector<std::pair<std::string, std::string>> ConfigGet(const ServerConfig& cfg,
                                                           std::string_view pattern);

// CONFIG REWRITE: old_text (the config file as it is) with every setting whose value is
// not what the file gives it brought up to date, as Redis does: a directive already in the
// file is rewritten in place (its later duplicates dropped), one set away from its default
// and absent from the file is appended; comments and unknown lines stay.
std::string RewriteConfigText(std::string_view old_text, const ServerConfig& cfg);
// Writes RewriteConfigText of path's content back to path atomically (temp file, fsync,
// rename). Returns "" or the reason it failed.
std::string RewriteConfigFile(const std::string& path, const ServerConfig& cfg);

// Redis's memtoll: "100", "1k", "1kb", "2mb", "1gb" (case-insensitive). False if invalid.
bool ParseMemory(std::string_view s, int64_t* out);
// Redis's yes/no.
bool ParseYesNo(std::string_view s, bool* out);

}  // namespace allot::server
