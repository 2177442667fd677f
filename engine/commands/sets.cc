// sets.cc: the set family (SADD, SREM, SMOVE, SPOP, SINTER*, SUNION*, SDIFF*, SSCAN, ...)
// with Redis 7's replies and error texts.
//
// A set that becomes empty is deleted: Redis never keeps empty aggregates, so a reader sees
// a missing key, never an empty set. Multi-key commands reach every key through
// ctx.db(key); when their keys span shards the dispatcher holds all of those shards, so
// SMOVE or SINTERSTORE is atomic however the keys are spread. Random picks and the SSCAN
// cursor are described in collection.h.
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/commands/collection.h"
#include "engine/commands/family.h"

namespace allot::internal {

namespace {

Reply SetReply(const SetValue& set) {
  std::vector<Reply> out;
  out.reserve(set.size());
  for (const std::string& m : set) out.push_back(Reply::Bulk(m));
  return Reply::Set(std::move(out));
}

// Deletes the key of a set that became empty; otherwise gives memory back if it got sparse.
void AfterRemove(Db& db, Entry* e) {
  SetValue& set = e->as<SetValue>();
  if (set.empty()) {
    db.erase(e);
  } else {
    ShrinkIfSparse(set);
  }
}

// Removes m from set if present; returns whether it was.
bool EraseMember(SetValue& set, std::string_view m) {
  auto it = set.find(m);
  if (it == set.end()) return false;
  set.erase(it);
  return true;
}

Reply CmdSAdd(CmdCtx& ctx, Args args) {
  Db& db = ctx.db(args[1]);
  auto found = FindOfType(db, args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  Entry* e = *found;
  if (e == nullptr) e = db.insert(args[1], SetValue{}, ctx.now_ms);
  SetValue& set = e->as<SetValue>();
  int64_t added = 0;
  for (size_t i = 2; i < args.size(); ++i) {
    // C++20 has no heterogeneous insert: look up first so a duplicate allocates nothing.
    if (set.contains(args[i])) continue;
    set.emplace(args[i]);
    ++added;
  }
  return Reply::Int(added);
}

Reply CmdSRem(CmdCtx& ctx, Args args) {
  Db& db = ctx.db(args[1]);
  auto found = FindOfType(db, args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Int(0);
  SetValue& set = (*found)->as<SetValue>();
  int64_t removed = 0;
  for (size_t i = 2; i < args.size() && !set.empty(); ++i) {
    if (EraseMember(set, args[i])) ++removed;
  }
  AfterRemove(db, *found);
  return Reply::Int(removed);
}

Reply CmdSIsMember(CmdCtx& ctx, Args args) {
  auto found = FindOfType(ctx.db(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  bool member = *found != nullptr && (*found)->as<SetValue>().contains(args[2]);
  return Reply::Int(member ? 1 : 0);
}

Reply CmdSMIsMember(CmdCtx& ctx, Args args) {
  auto found = FindOfType(ctx.db(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  std::vector<Reply> out;
  out.reserve(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    bool member = *found != nullptr && (*found)->as<SetValue>().contains(args[i]);
    out.push_back(Reply::Int(member ? 1 : 0));
  }
  return Reply::Array(std::move(out));
}

Reply CmdSCard(CmdCtx& ctx, Args args) {
  auto found = FindOfType(ctx.db(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Int(0);
  return Reply::Int(static_cast<int64_t>((*found)->as<SetValue>().size()));
}

Reply CmdSMembers(CmdCtx& ctx, Args args) {
  auto found = FindOfType(ctx.db(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Set();
  return SetReply((*found)->as<SetValue>());
}

// SPOP key count: a Set reply (RESP3 ~), as Redis 7.
Reply SPopCount(CmdCtx& ctx, Args args) {
  int64_t count = 0;
  if (!ParseInt64(args[2], &count) || count < 0) return ErrorReply(OpStatus::kNotPositive);
  Db& db = ctx.db(args[1]);
  auto found = FindOfType(db, args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr || count == 0) return Reply::Set();
  Entry* e = *found;
  SetValue& set = e->as<SetValue>();
  if (static_cast<uint64_t>(count) >= set.size()) {
    Reply all = SetReply(set);
    db.erase(e);
    return all;
  }
  ShardState& shard = ctx.shard_of(args[1]);
  std::vector<Reply> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    std::string m = RandomElement(set, shard);
    EraseMember(set, m);
    ShrinkIfSparse(set);
    out.push_back(Reply::Bulk(std::move(m)));
  }
  return Reply::Set(std::move(out));
}

Reply CmdSPop(CmdCtx& ctx, Args args) {
  if (args.size() > 3) return ErrorReply(OpStatus::kSyntax);
  if (args.size() == 3) return SPopCount(ctx, args);
  Db& db = ctx.db(args[1]);
  auto found = FindOfType(db, args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Null();
  SetValue& set = (*found)->as<SetValue>();
  std::string m = RandomElement(set, ctx.shard_of(args[1]));
  EraseMember(set, m);
  AfterRemove(db, *found);
  return Reply::Bulk(std::move(m));
}

// SRANDMEMBER key count: always an Array (also in RESP3), as Redis 7.
Reply SRandMemberCount(CmdCtx& ctx, Args args) {
  auto parsed = ParseRandomCount(args[2]);
  if (const Reply* err = std::get_if<Reply>(&parsed)) return *err;
  int64_t count = std::get<int64_t>(parsed);
  auto found = FindOfType(ctx.db(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr || count == 0) return Reply::Array();
  const SetValue& set = (*found)->as<SetValue>();
  ShardState& shard = ctx.shard_of(args[1]);
  std::vector<Reply> out;
  if (count < 0 || count == 1) {
    // With repetition: every pick samples the whole set.
    uint64_t n = count < 0 ? static_cast<uint64_t>(-count) : 1;
    if (!RepeatCountAllowed(n)) return ErrorReply(OpStatus::kOutOfRange);
    out.reserve(n);
    for (uint64_t i = 0; i < n; ++i) out.push_back(Reply::Bulk(RandomElement(set, shard)));
    return Reply::Array(std::move(out));
  }
  if (static_cast<uint64_t>(count) >= set.size()) {
    for (const std::string& m : set) out.push_back(Reply::Bulk(m));
    return Reply::Array(std::move(out));
  }
  for (const std::string* m : RandomDistinct(set, static_cast<size_t>(count), shard)) {
    out.push_back(Reply::Bulk(*m));
  }
  return Reply::Array(std::move(out));
}

Reply CmdSRandMember(CmdCtx& ctx, Args args) {
  if (args.size() > 3) return ErrorReply(OpStatus::kSyntax);
  if (args.size() == 3) return SRandMemberCount(ctx, args);
  auto found = FindOfType(ctx.db(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Null();
  return Reply::Bulk(RandomElement((*found)->as<SetValue>(), ctx.shard_of(args[1])));
}

// SMOVE source destination member. Redis's order of checks: a missing source is 0 even
// when the destination has the wrong type; then both types; then source == destination.
Reply CmdSMove(CmdCtx& ctx, Args args) {
  std::string_view src_key = args[1], dst_key = args[2], member = args[3];
  Db& src_db = ctx.db(src_key);
  Db& dst_db = ctx.db(dst_key);
  Entry* src = src_db.find(src_key, ctx.now_ms);
  Entry* dst = dst_db.find(dst_key, ctx.now_ms);
  if (src == nullptr) return Reply::Int(0);
  if (src->type() != ValueType::kSet || (dst != nullptr && dst->type() != ValueType::kSet)) {
    return ErrorReply(OpStatus::kWrongType);
  }
  if (src_key == dst_key) return Reply::Int(src->as<SetValue>().contains(member) ? 1 : 0);
  if (!EraseMember(src->as<SetValue>(), member)) return Reply::Int(0);
  // Erasing src leaves dst's node in place (unordered_map nodes never move).
  AfterRemove(src_db, src);
  if (dst == nullptr) dst = dst_db.insert(dst_key, SetValue{}, ctx.now_ms);
  dst->as<SetValue>().emplace(member);
  return Reply::Int(1);
}

Reply CmdSScan(CmdCtx& ctx, Args args) {
  auto cursor = ParseScanCursor(args[2]);
  if (!cursor.ok()) return ErrorReply(cursor.status());
  auto found = FindOfType(ctx.db(args[1]), args[1], ctx.now_ms, ValueType::kSet);
  if (!found.ok()) return ErrorReply(found.status());
  // Redis looks the key up before it parses the options: a missing key is an empty scan
  // whatever follows.
  if (*found == nullptr) return ScanReply(0, {});
  auto opts = ParseScanOptions(args, 3);
  if (!opts.ok()) return ErrorReply(opts.status());
  std::vector<Reply> items;
  uint64_t next =
      ScanBuckets((*found)->as<SetValue>(), *cursor, opts->count, [&](const std::string& m) {
        if (!opts->use_pattern || GlobMatch(opts->pattern, m)) {
          items.push_back(Reply::Bulk(m));
        }
      });
  return ScanReply(next, std::move(items));
}

// --- SINTER, SUNION, SDIFF, their STORE forms and SINTERCARD ---

enum class SetOp { kInter, kUnion, kDiff };

// The sets at keys (nullptr for a missing key), or kWrongType when any key holds another
// type: Redis 7 checks every key before computing, also after a missing one.
OpResult<std::vector<const SetValue*>> LookupSets(CmdCtx& ctx, Args keys) {
  std::vector<const SetValue*> sets;
  sets.reserve(keys.size());
  for (std::string_view key : keys) {
    auto found = FindOfType(ctx.db(key), key, ctx.now_ms, ValueType::kSet);
    if (!found.ok()) return found.status();
    sets.push_back(*found == nullptr ? nullptr : &(*found)->as<SetValue>());
  }
  return sets;
}

// Calls fn(member) once for every member of the result of op over sets, until fn returns
// false. The member references stay valid until a set is modified.
template <class Fn>
void ForEachResult(SetOp op, std::vector<const SetValue*> sets, Fn fn) {
  ALLOT_DCHECK(!sets.empty());
  if (op == SetOp::kUnion) {
    std::unordered_set<std::string_view> seen;
    for (const SetValue* s : sets) {
      if (s == nullptr) continue;
      for (const std::string& m : *s) {
        if (seen.insert(m).second && !fn(m)) return;
      }
    }
    return;
  }
  const SetValue* first = sets[0];
  if (op == SetOp::kInter) {
    for (const SetValue* s : sets) {
      if (s == nullptr) return;  // Intersecting with an empty set.
    }
    // Walk the smallest set, probe the others.
    auto smallest = std::min_element(sets.begin(), sets.end(),
                                     [](auto* a, auto* b) { return a->size() < b->size(); });
    std::swap(*smallest, sets[0]);
    first = sets[0];
  }
  if (first == nullptr) return;  // SDIFF of a missing first key.
  for (const std::string& m : *first) {
    bool keep = true;
    for (size_t j = 1; j < sets.size() && keep; ++j) {
      bool in_other = sets[j] != nullptr && sets[j]->contains(m);
      keep = op == SetOp::kInter ? in_other : !in_other;
    }
    if (keep && !fn(m)) return;
  }
}

template <SetOp op>
Reply CmdSetOp(CmdCtx& ctx, Args args) {
  auto sets = LookupSets(ctx, args.subspan(1));
  if (!sets.ok()) return ErrorReply(sets.status());
  std::vector<Reply> out;
  ForEachResult(op, std::move(*sets), [&](const std::string& m) {
    out.push_back(Reply::Bulk(m));
    return true;
  });
  return Reply::Set(std::move(out));
}

// SINTERSTORE/SUNIONSTORE/SDIFFSTORE destination key...: the destination is overwritten
// whatever its type, its TTL cleared; an empty result deletes it and replies 0.
template <SetOp op>
Reply CmdSetOpStore(CmdCtx& ctx, Args args) {
  auto sets = LookupSets(ctx, args.subspan(2));
  if (!sets.ok()) return ErrorReply(sets.status());
  SetValue result;
  ForEachResult(op, std::move(*sets), [&](const std::string& m) {
    result.emplace(m);
    return true;
  });
  // The sources are not needed any more: the destination may be one of them.
  std::string_view dst = args[1];
  Db& db = ctx.db(dst);
  if (result.empty()) {
    db.erase(dst, ctx.now_ms);
    return Reply::Int(0);
  }
  auto size = static_cast<int64_t>(result.size());
  db.assign(dst, std::move(result), ctx.now_ms);
  return Reply::Int(size);
}

// SINTERCARD numkeys key [key ...] [LIMIT limit]: the keys are args[2 .. 2+numkeys). A bad
// numkeys yields no keys; the handler then replies the error without touching data.
void SInterCardKeys(Args args, std::vector<size_t>& key_indexes) {
  int64_t numkeys = 0;
  if (!ParseInt64(args[1], &numkeys) || numkeys < 1) return;
  if (static_cast<uint64_t>(numkeys) > args.size() - 2) return;
  for (size_t i = 2; i < 2 + static_cast<size_t>(numkeys); ++i) key_indexes.push_back(i);
}

Reply CmdSInterCard(CmdCtx& ctx, Args args) {
  int64_t numkeys = 0;
  if (!ParseInt64(args[1], &numkeys) || numkeys < 1) {
    return Reply::Error("ERR numkeys should be greater than 0");
  }
  if (static_cast<uint64_t>(numkeys) > args.size() - 2) {
    return Reply::Error("ERR Number of keys can't be greater than number of args");
  }
  size_t keys_end = 2 + static_cast<size_t>(numkeys);
  int64_t limit = 0;  // 0 = no limit
  for (size_t i = keys_end; i < args.size(); i += 2) {
    if (!EqualsIgnoreCase(args[i], "LIMIT") || i + 1 >= args.size()) {
      return ErrorReply(OpStatus::kSyntax);
    }
    // Redis gives the same text for a non-integer LIMIT as for a negative one.
    if (!ParseInt64(args[i + 1], &limit) || limit < 0) {
      return Reply::Error("ERR LIMIT can't be negative");
    }
  }
  auto sets = LookupSets(ctx, args.subspan(2, keys_end - 2));
  if (!sets.ok()) return ErrorReply(sets.status());
  int64_t cardinality = 0;
  ForEachResult(SetOp::kInter, std::move(*sets), [&](const std::string&) {
    ++cardinality;
    return limit == 0 || cardinality < limit;
  });
  return Reply::Int(cardinality);
}

constexpr uint32_t kRead = kCmdReadOnly;
constexpr uint32_t kReadFast = kCmdReadOnly | kCmdFast;
constexpr uint32_t kWriteGrow = kCmdWrite | kCmdDenyOom;

constexpr CommandSpec kSetCommands[] = {
    {"SADD", -3, kWriteGrow | kCmdFast, 1, 1, 1, CmdSAdd},
    {"SREM", -3, kCmdWrite | kCmdFast, 1, 1, 1, CmdSRem},
    {"SISMEMBER", 3, kReadFast, 1, 1, 1, CmdSIsMember},
    {"SMISMEMBER", -3, kReadFast, 1, 1, 1, CmdSMIsMember},
    {"SCARD", 2, kReadFast, 1, 1, 1, CmdSCard},
    {"SMEMBERS", 2, kRead, 1, 1, 1, CmdSMembers},
    {"SPOP", -2, kCmdWrite | kCmdRandom | kCmdFast, 1, 1, 1, CmdSPop},
    {"SRANDMEMBER", -2, kRead | kCmdRandom, 1, 1, 1, CmdSRandMember},
    {"SMOVE", 4, kCmdWrite | kCmdFast, 1, 2, 1, CmdSMove},
    {"SSCAN", -3, kRead | kCmdRandom, 1, 1, 1, CmdSScan},
    {"SINTER", -2, kRead, 1, -1, 1, CmdSetOp<SetOp::kInter>},
    {"SUNION", -2, kRead, 1, -1, 1, CmdSetOp<SetOp::kUnion>},
    {"SDIFF", -2, kRead, 1, -1, 1, CmdSetOp<SetOp::kDiff>},
    {"SINTERSTORE", -3, kWriteGrow, 1, -1, 1, CmdSetOpStore<SetOp::kInter>},
    {"SUNIONSTORE", -3, kWriteGrow, 1, -1, 1, CmdSetOpStore<SetOp::kUnion>},
    {"SDIFFSTORE", -3, kWriteGrow, 1, -1, 1, CmdSetOpStore<SetOp::kDiff>},
    {"SINTERCARD", -3, kRead, 0, 0, 0, CmdSInterCard, SInterCardKeys},
};

}  // namespace

void RegisterSetFamily(CommandTable& t) { t.add(kSetCommands); }

}  // namespace allot::internal
