#include "engine/txn/nested.h"

#include <algorithm>
#include <charconv>

#include "engine/commands/args.h"
#include "engine/engine_impl.h"
#include "engine/limits.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

bool ParseSmall(std::string_view s, int64_t max, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0 && out <= max;
}

bool Holds(const CmdCtx& ctx, const ShardState* shard) {
  return std::find(ctx.shards.begin(), ctx.shards.end(), shard) != ctx.shards.end();
}

}  // namespace

void EffectGroup::add(int db, Args args) {
  if (argv_.empty()) argv_.emplace_back(kEffectGroupName);
  argv_.push_back(std::to_string(db));
  argv_.push_back(std::to_string(args.size()));
  for (std::string_view a : args) argv_.emplace_back(a);
  ++count_;
}

void EffectGroup::add(int db, const std::vector<std::string>& args) {
  if (argv_.empty()) argv_.emplace_back(kEffectGroupName);
  argv_.push_back(std::to_string(db));
  argv_.push_back(std::to_string(args.size()));
  argv_.insert(argv_.end(), args.begin(), args.end());
  ++count_;
}

void EffectGroup::move_to(std::vector<std::string>& log_as) {
  if (count_ == 0) return;
  log_as = std::move(argv_);
  argv_.clear();
  count_ = 0;
}

bool DecodeEffectGroup(Args args, std::vector<std::string_view>& storage,
                       std::vector<EffectView>& out) {
  out.clear();
  storage.assign(args.begin(), args.end());
  if (args.empty() || args[0] != kEffectGroupName) return false;
  size_t i = 1;
  while (i < args.size()) {
    int64_t db = 0;
    int64_t argc = 0;
    if (i + 1 >= args.size() || !ParseSmall(args[i], limits::kDatabaseCount - 1, db) ||
        !ParseSmall(args[i + 1], static_cast<int64_t>(args.size()), argc) || argc < 1 ||
        i + 2 + static_cast<size_t>(argc) > args.size()) {
      return false;
    }
    EffectView v;
    v.db = static_cast<int>(db);
    v.args = Args(storage.data() + i + 2, static_cast<size_t>(argc));
    out.push_back(v);
    i += 2 + static_cast<size_t>(argc);
  }
  return !out.empty();
}

bool NestedShardsHeld(const CmdCtx& outer, const CommandSpec& spec, Args args) {
  if (spec.flags & kCmdNoShard) return true;
  // Every shard held (one shard per process, or a script whose keys span them all):
  // whatever the keys are, they are held. The common case of a one-thread server.
  if (outer.shards.size() == outer.engine->shard_count()) return true;
  if (spec.flags & kCmdAllShards) return false;
  thread_local std::vector<size_t> keys;  // no allocation per redis.call
  keys.clear();
  KeyIndexes(spec, args, keys);
  for (size_t k : keys) {
    if (!Holds(outer, &outer.engine->shard(outer.engine->shard_of_key(args[k])))) return false;
  }
  return true;
}

Reply RunNested(CmdCtx& outer, int db, const CommandSpec& spec, Args args, EffectGroup* effects) {
  ALLOT_CHECK(ArityOk(spec, args.size()) && NestedShardsHeld(outer, spec, args));
  ALLOT_CHECK(db >= 0 && db < limits::kDatabaseCount);
  Session session = *outer.session;
  session.db = db;
  CmdCtx ctx;
  ctx.engine = outer.engine;
  ctx.session = &session;
  ctx.now_ms = outer.now_ms;
  ctx.shards = outer.shards;
  ctx.home = outer.home;
  // routed_key stays null: every key is hashed and its shard checked (command.h).
  WriteWatch watch;  // the inner write dirties other sessions' WATCHes (txn/watch.h)
  watch.before(ctx, spec, args);
  Reply reply = spec.handler(ctx, args);
  watch.after(ctx, reply);
  // PostgreSQL sync learns of the inner write as of any other (its ledger events, if it
  // sold, were recorded by the handler itself).
  if (outer.engine->pg_enabled()) outer.engine->pg_track(spec, args, ctx, db, reply);
  if (effects != nullptr && (spec.flags & kCmdWrite) && !reply.is_error()) {
    if (ctx.log_as.empty()) {
      effects->add(db, args);
    } else {
      effects->add(db, ctx.log_as);
    }
  }
  return reply;
}

}  // namespace allot::internal
