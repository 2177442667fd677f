// server.cc: connection and server commands the engine answers itself (PING, ECHO,
// SELECT, DBSIZE, FLUSHDB, FLUSHALL, INFO). Commands about connections (HELLO, AUTH,
// CLIENT, COMMAND, CONFIG, QUIT, RESET, SHUTDOWN) are registered here so that COMMAND
// lists them and dispatch checks their arity, but allotd answers them (server/).
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "engine/commands/family.h"
#include "engine/commands/object_encoding.h"
#include "engine/commands/server_info.h"
#include "engine/engine_impl.h"
#include "engine/keyspace/inventory.h"
#include "engine/pgsync/pg_sync.h"
#include "engine/pgsync/tracker.h"
#include "engine/runtime/clock.h"
#include "engine/wal/wal_info.h"

namespace allot::internal {

namespace {

Reply CmdPing(CmdCtx&, Args args) {
  if (args.size() > 2) return WrongArgsReply("ping");
  if (args.size() == 2) return Reply::Bulk(args[1]);
  return Reply::Status("PONG");
}

Reply CmdEcho(CmdCtx&, Args args) { return Reply::Bulk(args[1]); }

Reply CmdSelect(CmdCtx& ctx, Args args) {
  int64_t db = 0;
  if (!ParseInt64(args[1], &db)) return ErrorReply(OpStatus::kNotInteger);
  if (db < 0 || db >= limits::kDatabaseCount) return ErrorReply(OpStatus::kDbIndex);
  ctx.session->db = static_cast<int>(db);
  return Reply::Ok();
}

Reply CmdDbsize(CmdCtx& ctx, Args) {
  int64_t n = 0;
  for (ShardState* s : ctx.shards) n += static_cast<int64_t>(ctx.db_of(s).size());
  return Reply::Int(n);
}

// FLUSHDB [ASYNC|SYNC] / FLUSHALL [ASYNC|SYNC]: both modes free synchronously here.
bool FlushModeOk(Args args) {
  return args.size() == 1 || (args.size() == 2 && (EqualsIgnoreCase(args[1], "ASYNC") ||
                                                   EqualsIgnoreCase(args[1], "SYNC")));
}

Reply CmdFlushdb(CmdCtx& ctx, Args args) {
  if (!FlushModeOk(args)) return ErrorReply(OpStatus::kSyntax);
  for (ShardState* s : ctx.shards) ctx.db_of(s).clear();
  return Reply::Ok();
}

Reply CmdFlushall(CmdCtx& ctx, Args args) {
  if (!FlushModeOk(args)) return ErrorReply(OpStatus::kSyntax);
  for (ShardState* s : ctx.shards) {
    for (Db& db : s->dbs) db.clear();
  }
  return Reply::Ok();
}

// SWAPDB index1 index2: on every shard, at one point (all shards are held). Inventory
// items change database, so their open holds are registered again under the new one (the
// old timer entries go stale, which the timer tolerates).
Reply CmdSwapdb(CmdCtx& ctx, Args args) {
  int64_t a = 0, b = 0;
  if (!ParseInt64(args[1], &a)) return Reply::Error("ERR invalid first DB index");
  if (!ParseInt64(args[2], &b)) return Reply::Error("ERR invalid second DB index");
  if (a < 0 || a >= limits::kDatabaseCount || b < 0 || b >= limits::kDatabaseCount) {
    return Reply::Error("ERR DB index is out of range");
  }
  if (a == b) return Reply::Ok();
  for (ShardState* s : ctx.shards) {
    if (a == 0 || b == 0) PgDb0Leaving(*s);  // unsent sales stay PostgreSQL's (tracker.h)
    s->dbs[a].swap_contents(s->dbs[b]);
    for (int64_t db : {a, b}) {
      s->dbs[db].for_each(0, [&](const std::string& key, Entry& e) {
        if (e.type() == ValueType::kInventory) {
          InventoryKeyAttached(*s, static_cast<int>(db), key, *e.as<InventoryValue>());
        }
      });
    }
  }
  return Reply::Ok();
}

std::atomic<LogLineFn> g_log_hook{nullptr};

Reply DebugHelp() {
  std::vector<Reply> lines;
  for (const char* l :
       {"DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "LOG <message>",
        "    Write <message> to the server log.", "OBJECT <key>",
        "    Show low level info about the <key> and associated value.", "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.", "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
        "HELP", "    Prints this help."}) {
    lines.push_back(Reply::Status(l));
  }
  return Reply::Array(std::move(lines));
}

// DEBUG, the subcommands that are cheap to offer; the rest of Redis's DEBUG (RELOAD, JMAP,
// POPULATE, ...) gets Redis's unknown-subcommand error, never silence. SLEEP stops the
// shard that runs it (the caller's), not the whole server: Allot has no global thread.
Reply CmdDebug(CmdCtx& ctx, Args args) {
  std::string_view sub = args[1];
  size_t n = args.size();
  if (EqualsIgnoreCase(sub, "HELP") && n == 2) return DebugHelp();
  if (EqualsIgnoreCase(sub, "SLEEP") && n == 3) {
    double seconds = 0;
    if (!ParseDouble(args[2], &seconds) || seconds < 0 || seconds > 3600) {
      return Reply::Error("ERR value is not a valid float");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6)));
    return Reply::Ok();
  }
  if (EqualsIgnoreCase(sub, "SET-ACTIVE-EXPIRE") && n == 3) {
    if (args[2] != "0" && args[2] != "1") return Reply::Error("ERR syntax error");
    ctx.engine->set_active_expire(args[2] == "1");
    return Reply::Ok();
  }
  if (EqualsIgnoreCase(sub, "LOG") && n == 3) {
    std::string line = "DEBUG LOG: " + std::string(args[2]);
    if (LogLineFn fn = g_log_hook.load(std::memory_order_acquire)) {
      fn(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    return Reply::Ok();
  }
  if (EqualsIgnoreCase(sub, "OBJECT") && n == 3) {
    Entry* e = ctx.db(args[2]).find(args[2], ctx.now_ms);
    if (e == nullptr) return Reply::Error("ERR no such key");
    // Redis also prints serializedlength and LRU fields; Allot has neither, so they are
    // left out rather than invented.
    char line[128];
    std::snprintf(line, sizeof line, "Value at:%p refcount:1 encoding:%s", static_cast<void*>(e),
                  RedisEncodingName(*e));
    return Reply::Status(line);
  }
  return Reply::Error("ERR unknown subcommand '" + std::string(sub.substr(0, 128)) +
                      "'. Try DEBUG HELP.");
}

void DebugKeys(Args args, std::vector<size_t>& out) {
  if (args.size() == 3 && EqualsIgnoreCase(args[1], "OBJECT")) out.push_back(2);
}

std::atomic<InfoSectionFn> g_info_hook{nullptr};

// Redis's INFO sections in Redis's order; `in_default` = part of plain INFO.
struct InfoSection {
  std::string_view name;
  std::string_view title;
  bool in_default;
};
constexpr InfoSection kInfoSections[] = {
    {"server", "Server", true},
    {"clients", "Clients", true},
    {"memory", "Memory", true},
    {"persistence", "Persistence", true},
    {"stats", "Stats", true},
    {"replication", "Replication", true},
    {"cpu", "CPU", true},
    {"commandstats", "Commandstats", false},
    {"errorstats", "Errorstats", true},
    {"cluster", "Cluster", true},
    {"keyspace", "Keyspace", true},
    {"inventory", "Inventory", true},
};

bool SectionWanted(Args args, const InfoSection& s) {
  if (args.size() == 1) return s.in_default;
  for (size_t i = 1; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "all") || EqualsIgnoreCase(args[i], "everything")) return true;
    if (EqualsIgnoreCase(args[i], "default") && s.in_default) return true;
    if (EqualsIgnoreCase(args[i], s.name)) return true;
  }
  return false;
}

void AppendLine(std::string& out, std::string_view name, uint64_t v) {
  out.append(name);
  out.push_back(':');
  out.append(std::to_string(v));
  out.append("\r\n");
}

// PostgreSQL sync (docs/postgres.md).
void InfoPgSyncLines(CmdCtx& ctx, std::string& out) {
  PgSync* pg = ctx.engine->pg_sync();
  if (pg == nullptr) {
    out.append("pg_sync:off\r\n");
    return;
  }
  PgSyncStatus s = pg->status();
  out.append("pg_sync:" + s.state + "\r\n");
  if (!s.last_error.empty()) {
    std::string e = s.last_error;
    for (char& c : e) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    out.append("pg_last_error:" + e + "\r\n");
  }
  AppendLine(out, "pg_synced_lsn", s.synced_lsn);
  AppendLine(out, "pg_lag_records", s.durable_lsn - std::min(s.durable_lsn, s.synced_lsn));
  char lag[32];
  std::snprintf(lag, sizeof lag, "%.3f", static_cast<double>(s.lag_ms) / 1000.0);
  out.append("pg_lag_seconds:" + std::string(lag) + "\r\n");
  AppendLine(out, "pg_caught_up", s.caught_up ? 1 : 0);
  AppendLine(out, "pg_backlog_events",
             static_cast<uint64_t>(std::max<int64_t>(0, s.backlog_events)));
  AppendLine(out, "pg_backlog_max", s.backlog_max);
  AppendLine(out, "pg_backlog_warning", s.backlog_warning ? 1 : 0);
  AppendLine(out, "pg_refusing_sales", s.refusing_sales ? 1 : 0);
  AppendLine(out, "pg_transactions", s.transactions);
  AppendLine(out, "pg_statements", s.statements);
  AppendLine(out, "pg_purchase_rows_sent", s.purchases_rows);
  AppendLine(out, "pg_rows_sent", s.rows);
  AppendLine(out, "pg_reconnects", s.reconnects);
}

// served: allotd's hook is installed and reports used_memory and evicted_keys itself
// (server/memory.h, server/maxmemory.cc).
void InfoEngineLines(CmdCtx& ctx, std::string_view section, bool served, std::string& out) {
  ShardStats sum;
  for (ShardState* s : ctx.shards) {
    sum.expired_keys += s->stats.expired_keys;
    sum.keyspace_hits += s->stats.keyspace_hits;
    sum.keyspace_misses += s->stats.keyspace_misses;
    sum.expired_holds += s->stats.expired_holds;
  }
  if (section == "memory") {
    if (served) return;
    struct mallinfo2 mi = mallinfo2();
    AppendLine(out, "used_memory", mi.uordblks + mi.hblkhd);
  } else if (section == "persistence") {
    AppendPersistenceInfo(*ctx.engine, out);
    InfoPgSyncLines(ctx, out);
  } else if (section == "stats") {
    AppendLine(out, "expired_keys", sum.expired_keys);
    if (!served) AppendLine(out, "evicted_keys", 0);
    AppendLine(out, "keyspace_hits", sum.keyspace_hits);
    AppendLine(out, "keyspace_misses", sum.keyspace_misses);
  } else if (section == "replication") {
    out.append("role:master\r\nconnected_slaves:0\r\n");
  } else if (section == "cluster") {
    out.append("cluster_enabled:0\r\n");
  } else if (section == "keyspace") {
    for (int db = 0; db < limits::kDatabaseCount; ++db) {
      uint64_t keys = 0, expires = 0;
      for (ShardState* s : ctx.shards) {
        keys += s->dbs[db].size();
        expires += s->dbs[db].expires_size();
      }
      if (keys == 0) continue;
      out.append("db" + std::to_string(db) + ":keys=" + std::to_string(keys) +
                 ",expires=" + std::to_string(expires) + ",avg_ttl=0\r\n");
    }
  } else if (section == "inventory") {
    AppendLine(out, "expired_holds", sum.expired_holds);
  }
}

// INFO [section ...]: runs holding every shard so the keyspace counts are consistent.
Reply CmdInfo(CmdCtx& ctx, Args args) {
  std::string out;
  InfoSectionFn hook = g_info_hook.load(std::memory_order_acquire);
  for (const InfoSection& s : kInfoSections) {
    if (!SectionWanted(args, s)) continue;
    if (!out.empty()) out.append("\r\n");
    out.append("# ");
    out.append(s.title);
    out.append("\r\n");
    InfoEngineLines(ctx, s.name, hook != nullptr, out);
    if (hook != nullptr) hook(s.name, out);
  }
  return Reply::Verbatim(out);
}

// TIME: the engine's clock (ms resolution) as Redis's [seconds, microseconds].
Reply CmdTime(CmdCtx& ctx, Args) {
  int64_t s = ctx.now_ms / 1000;
  int64_t us = (ctx.now_ms % 1000) * 1000;
  return Reply::Array({Reply::Bulk(std::to_string(s)), Reply::Bulk(std::to_string(us))});
}

// LASTSAVE: the time of the last completed checkpoint, or of the start when there is none.
Reply CmdLastsave(CmdCtx& ctx, Args) { return Reply::Int(ctx.engine->last_save_unix_s()); }

Reply NoPersistenceReply() {
  return Reply::Error("ERR no data directory or durability none: nothing to save to");
}

// SAVE: a checkpoint (incremental: the shards keep serving), replied to once it is on disk.
// Redis's SAVE blocks the server meanwhile; here only this connection waits.
Reply CmdSave(CmdCtx& ctx, Args) {
  if (ctx.engine->wal() == nullptr) return NoPersistenceReply();
  ReplySink* sink = ctx.sink;
  ALLOT_CHECK(sink != nullptr);
  bool started = ctx.engine->begin_checkpoint([sink](const std::string& error) {
    sink->deliver(error.empty() ? Reply::Ok() : Reply::Error("ERR " + error));
  });
  if (!started) return Reply::Error("ERR Background save already in progress");
  ctx.reply_deferred = true;
  return Reply();
}

// BGSAVE [SCHEDULE]
Reply CmdBgsave(CmdCtx& ctx, Args args) {
  bool schedule = false;
  if (args.size() > 1) {
    if (args.size() > 2 || !EqualsIgnoreCase(args[1], "SCHEDULE")) {
      return ErrorReply(OpStatus::kSyntax);
    }
    schedule = true;
  }
  if (ctx.engine->wal() == nullptr) return NoPersistenceReply();
  if (ctx.engine->begin_checkpoint(nullptr)) return Reply::Status("Background saving started");
  if (!schedule) return Reply::Error("ERR Background save already in progress");
  ctx.engine->schedule_checkpoint();
  return Reply::Status("Background saving scheduled");
}

// Reached only from an embedded Engine: allotd answers these before the engine sees them.
Reply CmdServerOnly(CmdCtx&, Args args) {
  return Reply::Error("ERR '" + ToLower(args[0]) +
                      "' is a command of allotd, not of an embedded engine");
}

constexpr uint32_t kConnFlags = kCmdNoShard | kCmdConnection | kCmdLoading | kCmdStale;

constexpr CommandSpec kServerCommands[] = {
    {"PING", -1, kCmdFast | kCmdNoShard | kCmdStale | kCmdLoading, 0, 0, 0, CmdPing},
    {"ECHO", 2, kCmdFast | kCmdNoShard | kCmdStale | kCmdLoading, 0, 0, 0, CmdEcho},
    {"SELECT", 2, kCmdFast | kCmdNoShard | kCmdConnection | kCmdLoading | kCmdStale, 0, 0, 0,
     CmdSelect},
    {"DBSIZE", 1, kCmdReadOnly | kCmdFast | kCmdAllShards, 0, 0, 0, CmdDbsize},
    {"FLUSHDB", -1, kCmdWrite | kCmdAllShards, 0, 0, 0, CmdFlushdb},
    {"FLUSHALL", -1, kCmdWrite | kCmdAllShards, 0, 0, 0, CmdFlushall},
    {"DEBUG", -2, kCmdAdmin | kCmdNoScript, 0, 0, 0, CmdDebug, DebugKeys},
    {"SWAPDB", 3, kCmdWrite | kCmdFast | kCmdAllShards, 0, 0, 0, CmdSwapdb},
    {"INFO", -1, kCmdAllShards | kCmdLoading | kCmdStale, 0, 0, 0, CmdInfo},
    {"TIME", 1, kCmdFast | kCmdNoShard | kCmdLoading | kCmdStale | kCmdRandom, 0, 0, 0, CmdTime},
    {"LASTSAVE", 1, kCmdFast | kCmdNoShard | kCmdLoading | kCmdStale | kCmdRandom, 0, 0, 0,
     CmdLastsave},
    {"SAVE", 1, kCmdNoShard | kCmdAdmin | kCmdNoScript, 0, 0, 0, CmdSave},
    {"BGSAVE", -1, kCmdNoShard | kCmdAdmin | kCmdNoScript, 0, 0, 0, CmdBgsave},
    {"HELLO", -1, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"AUTH", -2, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"CLIENT", -2, kConnFlags | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"COMMAND", -1, kConnFlags, 0, 0, 0, CmdServerOnly},
    {"CONFIG", -2, kConnFlags | kCmdAdmin | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"ACL", -2, kConnFlags | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"QUIT", -1, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"RESET", 1, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"SHUTDOWN", -1, kConnFlags | kCmdAdmin | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"SLOWLOG", -2, kConnFlags | kCmdAdmin, 0, 0, 0, CmdServerOnly},
    {"LATENCY", -2, kConnFlags | kCmdAdmin, 0, 0, 0, CmdServerOnly},
};

}  // namespace

void SetServerInfoHook(InfoSectionFn fn) { g_info_hook.store(fn, std::memory_order_release); }
void SetServerLogHook(LogLineFn fn) { g_log_hook.store(fn, std::memory_order_release); }

void RegisterServerFamily(CommandTable& t) { t.add(kServerCommands); }

}  // namespace allot::internal
