// wal_test_commands.h: commands that exist only in the WAL tests, to exercise what the
// skeleton's command set cannot yet: a handler that reads the clock, one that draws from
// the shard's random source, one with an absolute TTL, and a multi-key write that spans
// shards. Registered into the command table before the first Engine is created.
#pragma once

#include <mutex>
#include <string>

#include "engine/commands/family.h"

namespace allot::testing {

namespace wal_test_detail {

using internal::Args;
using internal::CmdCtx;
using internal::CommandSpec;
using internal::StringValue;

// WALTEST.STAMP key: key = the handler's now_ms.
inline Reply CmdStamp(CmdCtx& ctx, Args args) {
  ctx.db(args[1]).assign(args[1], StringValue(std::to_string(ctx.now_ms)), ctx.now_ms);
  return Reply::Ok();
}

// WALTEST.RAND key: key = a number from the home shard's random source.
inline Reply CmdRand(CmdCtx& ctx, Args args) {
  ctx.db(args[1]).assign(args[1], StringValue(std::to_string(ctx.home->next_random())), ctx.now_ms);
  return Reply::Ok();
}

// WALTEST.SETPX key ms value: SET with a relative TTL turned into an absolute deadline.
inline Reply CmdSetPx(CmdCtx& ctx, Args args) {
  int64_t ms = 0;
  if (!internal::ParseInt64(args[2], &ms) || ms <= 0) return Reply::Error("ERR bad ttl");
  internal::Db& db = ctx.db(args[1]);
  internal::Entry* e = db.assign(args[1], StringValue(args[3]), ctx.now_ms);
  db.set_expire(e, ctx.now_ms + ms);
  return Reply::Ok();
}

// WALTEST.MSET k v [k v ...]: like MSET, atomic over every shard of its keys.
inline Reply CmdMset(CmdCtx& ctx, Args args) {
  if (args.size() % 2 != 1) return Reply::Error("ERR wrong number of arguments for 'mset' command");
  for (size_t i = 1; i < args.size(); i += 2) {
    ctx.db(args[i]).assign(args[i], StringValue(args[i + 1]), ctx.now_ms);
  }
  return Reply::Ok();
}

// WALTEST.RANDLOG key: key = a random number; logged as the SET of that number
// (CmdCtx::log_as), so replay does not draw at all.
inline Reply CmdRandLog(CmdCtx& ctx, Args args) {
  std::string v = std::to_string(ctx.home->next_random());
  ctx.db(args[1]).assign(args[1], StringValue(v), ctx.now_ms);
  ctx.log_as = {"SET", std::string(args[1]), v};
  return Reply::Ok();
}

inline constexpr CommandSpec kCommands[] = {
    {"WALTEST.STAMP", 2, internal::kCmdWrite, 1, 1, 1, CmdStamp},
    {"WALTEST.RAND", 2, internal::kCmdWrite, 1, 1, 1, CmdRand},
    {"WALTEST.SETPX", 4, internal::kCmdWrite, 1, 1, 1, CmdSetPx},
    {"WALTEST.MSET", -3, internal::kCmdWrite, 1, -1, 2, CmdMset},
    {"WALTEST.RANDLOG", 2, internal::kCmdWrite, 1, 1, 1, CmdRandLog},
};

}  // namespace wal_test_detail

// Call before creating any Engine (the table must not change under a running one).
inline void RegisterWalTestCommands() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& table = const_cast<internal::CommandTable&>(internal::CommandTable::Get());
    table.add(wal_test_detail::kCommands);
  });
}

}  // namespace allot::testing
