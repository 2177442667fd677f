// nested.h: running commands inside a command (a script's redis.call, EXEC's queue), and
// logging what they changed as one atomic record.
//
// A script or a transaction is itself one routed command: dispatch holds every shard its
// declared keys live on (the owning shard thread alone, or a multi-shard transaction), and
// its handler runs the inner commands one after another with RunNested. Nothing else runs
// on those shards in between, so the group is atomic and serializable for free.
//
// The log never re-runs a script. Each inner write that succeeded is appended to an
// EffectGroup (its CmdCtx::log_as effect when it set one, e.g. SPOP's SREM), and the outer
// handler hands the group to the WAL through its own ctx.log_as: one record, so after a
// crash the group is there whole or not at all. Replay (EngineImpl::replay) recognizes the
// record by its name and runs the inner commands again; they are deterministic given the
// record's time and random state, exactly as single logged commands are.
#pragma once

#include <allot/reply.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/commands/command.h"

namespace allot::internal {

// The first argument of an effect-group record. Not a command: clients cannot call it.
inline constexpr std::string_view kEffectGroupName = "ALLOT.EFFECTS";

// The writes of one script or transaction, encoded as the argv of a group record:
//   ALLOT.EFFECTS db1 argc1 arg... db2 argc2 arg... (decimal db and argc)
class EffectGroup {
 public:
  // Appends one inner write that ran in database db.
  void add(int db, Args args);
  void add(int db, const std::vector<std::string>& args);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  // Moves the record's argv into log_as (CmdCtx::log_as) and empties the group. Does
  // nothing when empty: a script that wrote nothing is not logged.
  void move_to(std::vector<std::string>& log_as);

 private:
  std::vector<std::string> argv_;
  size_t count_ = 0;
};

struct EffectView {
  int db = 0;
  Args args;
};

// Splits an effect-group record (args[0] == kEffectGroupName) into its commands; false
// if the encoding is malformed. The views point into args.
bool DecodeEffectGroup(Args args, std::vector<std::string_view>& storage,
                       std::vector<EffectView>& out);

// Whether every key of args (a command of spec) lives on a shard held by outer, and, for
// commands that touch every shard (DBSIZE, FLUSHALL, KEYS...), whether outer holds all.
bool NestedShardsHeld(const CmdCtx& outer, const CommandSpec& spec, Args args);

// Runs one inner command inside outer: same shards, same time (a script sees one frozen
// clock, as in Redis), database db. The caller checked arity and NestedShardsHeld; this
// checks them again and crashes if they fail (a caller bug, not a user error). When
// effects is not null and the command is a write that succeeded, its effect is appended.
Reply RunNested(CmdCtx& outer, int db, const CommandSpec& spec, Args args, EffectGroup* effects);

}  // namespace allot::internal
