// server.cc: connection and server commands the engine answers itself (PING, ECHO,
// SELECT, DBSIZE, FLUSHDB, FLUSHALL). Commands about sockets live in server/.
#include "engine/commands/family.h"

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
  return args.size() == 1 ||
         (args.size() == 2 && (EqualsIgnoreCase(args[1], "ASYNC") || EqualsIgnoreCase(args[1], "SYNC")));
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

constexpr CommandSpec kServerCommands[] = {
    {"PING", -1, kCmdFast | kCmdNoShard | kCmdStale | kCmdLoading, 0, 0, 0, CmdPing},
    {"ECHO", 2, kCmdFast | kCmdNoShard | kCmdStale | kCmdLoading, 0, 0, 0, CmdEcho},
    {"SELECT", 2, kCmdFast | kCmdNoShard | kCmdConnection | kCmdLoading | kCmdStale, 0, 0, 0,
     CmdSelect},
    {"DBSIZE", 1, kCmdReadOnly | kCmdFast | kCmdAllShards, 0, 0, 0, CmdDbsize},
    {"FLUSHDB", -1, kCmdWrite | kCmdAllShards, 0, 0, 0, CmdFlushdb},
    {"FLUSHALL", -1, kCmdWrite | kCmdAllShards, 0, 0, 0, CmdFlushall},
};

}  // namespace

void RegisterServerFamily(CommandTable& t) { t.add(kServerCommands); }

}  // namespace allot::internal
