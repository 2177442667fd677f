// allot/config.h: how an embedded Engine (and allotd) is set up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace allot {

// When a write's reply may leave, named as Redis's appendfsync.
enum class Durability {
  kAlways,    // after its log record is synced to disk (group commit); the default
  kEverysec,  // as soon as its record is queued; the log is synced at least once a second
  kNone,      // memory only: no log is written or read, even with dir set
};

struct Config {
  // Number of shard threads; 0 means one per online core.
  unsigned threads = 0;
  // Data directory for the write-ahead log and checkpoints; empty means memory only. It is
  // created if missing. At construction the Engine replays the log found there.
  std::string dir;
  // With dir set and durability != kNone, every write is logged (docs/durability.md).
  Durability durability = Durability::kAlways;
  // Upper bound of the WAL's LMDB map (virtual address space, not disk). The map starts at
  // min(64 GiB, this) and doubles up to it when full; past it, writes get MISCONF errors.
  uint64_t wal_map_bytes_max = uint64_t{1} << 40;
  // A checkpoint of every shard is taken (and the log before it trimmed) each time the
  // log holds this many records; 0 = only when asked (EngineImpl::checkpoint).
  uint64_t checkpoint_log_records = 1000000;
  // Pin shard thread i to core i % online cores. Off in tests that oversubscribe.
  bool pin_threads = false;
  // Source of "now" in Unix milliseconds for expiry and hold deadlines. Empty means the
  // real clock (CLOCK_REALTIME). Tests inject a controllable clock; it is called from
  // shard threads concurrently, so it must be thread-safe.
  std::function<int64_t()> clock_ms;
  // Interval of each shard's active expiry sweep (keys with a TTL, and holds past their
  // deadline), in milliseconds. Redis's default hz 10 gives 100 ms.
  uint32_t active_expire_interval_ms = 100;
  // Whether the active sweep runs at all (DEBUG SET-ACTIVE-EXPIRE 0 turns it off).
  bool active_expire = true;

  // PostgreSQL sync (docs/postgres.md): a libpq connection string; empty = off (the
  // default: an embedded Engine needs no PostgreSQL). Requires the write-ahead log (dir
  // set, durability not kNone).
  std::string pg_url;
  // How often the sync worker writes what changed, in milliseconds.
  uint32_t pg_sync_interval_ms = 1000;
  // Glob patterns of plain keys (strings, counters, sets) mirrored besides inventory items.
  std::vector<std::string> pg_sync_keys;
  // PostgreSQL schema of the tables.
  std::string pg_schema = "allot";
  // This node's row in sync_state.
  std::string pg_node = "allot";
  // Sale events kept in memory for PostgreSQL at most; at the limit new sales are refused
  // (TRYAGAIN) until PostgreSQL catches up. A warning is logged from 80% of it.
  uint64_t pg_backlog_max = 5000000;
  // Where the sync worker reports (reconnects, backlog warnings); empty = stderr.
  std::function<void(std::string_view)> log_warning;
};

}  // namespace allot
