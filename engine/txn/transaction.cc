// transaction.cc: MULTI/EXEC in the engine (EngineImpl::execute_transaction).
//
// A transaction is routed like one command whose keys are the union of its commands'
// keys and of the session's WATCHed keys: on the owning shard's thread when they share a
// shard (no coordination at all), as a multi-shard transaction (txn/multi_shard.h) when
// they do not, over every shard when a command needs all (FLUSHALL, DBSIZE...). Its body
// first checks the watch (txn/watch.h), then runs the commands one by one with RunNested
// (txn/nested.h): nothing else runs on those shards in between, so the group is atomic
// and serializable. The writes are logged as one ALLOT.EFFECTS record.
#include <algorithm>

#include "engine/commands/family.h"
#include "engine/txn/multi_shard.h"
#include "engine/txn/nested.h"
#include "engine/txn/watch.h"

namespace allot::internal {

struct TxnJob {
  Session* session = nullptr;
  ReplySink* sink = nullptr;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::vector<std::string_view>> views;
  std::vector<const CommandSpec*> specs;
};

namespace {

constexpr std::string_view kExecAbort =
    "EXECABORT Transaction discarded because of previous errors.";

}  // namespace

void EngineImpl::execute_transaction(Session& session, std::vector<std::vector<std::string>> queued,
                                     ReplySink* sink) {
  auto job = std::make_shared<TxnJob>();
  job->session = &session;
  job->sink = sink;
  job->commands = std::move(queued);
  const CommandTable& table = CommandTable::Get();
  std::vector<unsigned> ids;
  bool all = false;
  bool any_shard = false;  // a keyless command that still runs on a shard (RANDOMKEY)
  std::vector<size_t> keys;
  for (const std::vector<std::string>& cmd : job->commands) {
    std::vector<std::string_view>& v = job->views.emplace_back(cmd.begin(), cmd.end());
    const CommandSpec* spec = v.empty() ? nullptr : table.find(v[0]);
    if (spec == nullptr || !ArityOk(*spec, v.size())) {
      ReleaseWatch(*this, session);  // as Redis: a discarded transaction unwatches
      return sink->deliver(Reply::Error(kExecAbort));
    }
    job->specs.push_back(spec);
    if (spec->flags & kCmdNoShard) continue;
    if (spec->flags & kCmdAllShards) {
      all = true;
      continue;
    }
    keys.clear();
    KeyIndexes(*spec, v, keys);
    if (keys.empty()) any_shard = true;
    for (size_t k : keys) ids.push_back(shard_of_key(v[k]));
  }
  if (session.watch != nullptr) {
    for (const WatchedKey& k : session.watch->keys) ids.push_back(k.shard);
  }
  Reactor* here = Reactor::current();
  if (all) {
    ids.resize(shards_.size());
    for (unsigned i = 0; i < ids.size(); ++i) ids[i] = i;
  } else {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.empty() && any_shard) ids.push_back(here != nullptr ? here->id() : 0);
  }
  if (ids.empty()) {  // PING, ECHO, SELECT...: nothing to hold
    return run_transaction(*job, {});
  }
  if (ids.size() == 1) {
    unsigned s = ids[0];
    ShardState* held[1] = {shards_[s].get()};
    if (here == reactors_[s].get()) return run_transaction(*job, held);
    run_on_shard_async(s, [this, job](ShardState& shard) {
      ShardState* one[1] = {&shard};
      run_transaction(*job, one);
    });
    return;
  }
  auto body = [this, job, ids] {
    std::vector<ShardState*> held;
    for (unsigned s : ids) held.push_back(shards_[s].get());
    run_transaction(*job, held);
  };
  auto* txn = new MultiShardTxn(ids, std::move(body));
  std::lock_guard<std::mutex> lock(multi_mu_);
  for (unsigned s : ids) reactors_[s]->post_unbounded(new TxnArrivalTask(txn));
}

void EngineImpl::run_transaction(TxnJob& job, std::span<ShardState* const> held) {
  Session& session = *job.session;
  CmdCtx ctx;
  ctx.engine = this;
  ctx.session = &session;
  ctx.now_ms = now_ms();  // one frozen clock for the whole transaction, as Redis
  ctx.shards = held;
  ctx.home = held.empty() ? nullptr : held[0];
  if (ctx.home != nullptr) ++ctx.home->stats.commands;
  const int db_before = session.db;
  const uint64_t rng_before = ctx.home != nullptr ? ctx.home->rng_state : 0;
  static const CommandSpec* exec_spec = CommandTable::Get().find("EXEC");
  if (CheckAndReleaseWatch(ctx)) {
    return finish(*exec_spec, {}, ctx.log_as, db_before, ctx.now_ms, rng_before, Reply::NullArray(),
                  job.sink);
  }
  EffectGroup effects;
  std::vector<Reply> replies;
  replies.reserve(job.specs.size());
  int db = session.db;
  const bool refuse_writes = wal_ != nullptr && wal_->refusing_writes();
  for (size_t i = 0; i < job.specs.size(); ++i) {
    const CommandSpec& spec = *job.specs[i];
    Args args = job.views[i];
    if (refuse_writes && (spec.flags & kCmdWrite)) {
      replies.push_back(wal_->misconf_reply());
      continue;
    }
    if (spec.name == "WATCH") {  // only reachable from Engine::transaction
      replies.push_back(Reply::Error("ERR WATCH inside MULTI is not allowed"));
      continue;
    }
    Reply r = RunNested(ctx, db, spec, args, &effects);
    if (spec.name == "SELECT" && !r.is_error()) {
      int64_t n = 0;
      ParseInt64(args[1], &n);
      db = static_cast<int>(n);
    }
    replies.push_back(std::move(r));
  }
  session.db = db;  // SELECT inside MULTI stays in effect after EXEC, as in Redis
  effects.move_to(ctx.log_as);
  finish(*exec_spec, {}, ctx.log_as, db_before, ctx.now_ms, rng_before,
         Reply::Array(std::move(replies)), job.sink);
}

}  // namespace allot::internal
