// server.cc: connection and server commands the engine answers itself (PING, ECHO,
// SELECT, DBSIZE, FLUSHDB, FLUSHALL, INFO). Commands about connections (HELLO, AUTH,
// CLIENT, COMMAND, CONFIG, QUIT, RESET, SHUTDOWN) are registered here so that COMMAND
// lists them and dispatch checks their arity, but allotd answers them (server/).
#include <malloc.h>

#include <atomic>

#include "engine/commands/family.h"
#include "engine/commands/server_info.h"
#include "engine/runtime/clock.h"

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
    out.append("loading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\n");
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
  return Reply::Bulk(std::move(out));
}

// TIME: the engine's clock (ms resolution) as Redis's [seconds, microseconds].
Reply CmdTime(CmdCtx& ctx, Args) {
  int64_t s = ctx.now_ms / 1000;
  int64_t us = (ctx.now_ms % 1000) * 1000;
  return Reply::Array({Reply::Bulk(std::to_string(s)), Reply::Bulk(std::to_string(us))});
}

// Nothing has been saved yet (durability comes with the WAL), so, as Redis before its
// first save, LASTSAVE reports the time the engine started.
std::atomic<int64_t> g_start_unix_s{0};

Reply CmdLastsave(CmdCtx&, Args) { return Reply::Int(g_start_unix_s.load()); }

// FUNCTION FLUSH [ASYNC|SYNC]: there are no functions until the scripting issue lands, so
// flushing them succeeds; the other subcommands say they are not available yet.
Reply CmdFunction(CmdCtx&, Args args) {
  if (EqualsIgnoreCase(args[1], "FLUSH")) {
    if (args.size() == 2) return Reply::Ok();
    if (args.size() == 3 &&
        (EqualsIgnoreCase(args[2], "ASYNC") || EqualsIgnoreCase(args[2], "SYNC"))) {
      return Reply::Ok();
    }
    return Reply::Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
  }
  return Reply::Error("ERR unknown subcommand '" + std::string(args[1].substr(0, 128)) +
                      "'. Try FUNCTION HELP.");
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
    {"INFO", -1, kCmdAllShards | kCmdLoading | kCmdStale, 0, 0, 0, CmdInfo},
    {"TIME", 1, kCmdFast | kCmdNoShard | kCmdLoading | kCmdStale | kCmdRandom, 0, 0, 0, CmdTime},
    {"LASTSAVE", 1, kCmdFast | kCmdNoShard | kCmdLoading | kCmdStale | kCmdRandom, 0, 0, 0,
     CmdLastsave},
    {"FUNCTION", -2, kCmdNoShard | kCmdNoScript, 0, 0, 0, CmdFunction},
    {"HELLO", -1, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"AUTH", -2, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"CLIENT", -2, kConnFlags | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"COMMAND", -1, kConnFlags, 0, 0, 0, CmdServerOnly},
    {"CONFIG", -2, kConnFlags | kCmdAdmin | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"ACL", -2, kConnFlags | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"QUIT", -1, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"RESET", 1, kConnFlags | kCmdFast | kCmdNoScript, 0, 0, 0, CmdServerOnly},
    {"SHUTDOWN", -1, kConnFlags | kCmdAdmin | kCmdNoScript, 0, 0, 0, CmdServerOnly},
};

}  // namespace

void SetServerInfoHook(InfoSectionFn fn) { g_info_hook.store(fn, std::memory_order_release); }

void RegisterServerFamily(CommandTable& t) {
  g_start_unix_s.store(RealClockMs() / 1000);
  t.add(kServerCommands);
}

}  // namespace allot::internal
