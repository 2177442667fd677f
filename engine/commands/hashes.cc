// hashes.cc: the hash family (HSET, HGET, HINCRBY, HGETALL, HSCAN, HRANDFIELD, ...) with
// Redis 7's replies and error texts.
//
// A hash that becomes empty is deleted, as in Redis. Commands that may fail after the
// lookup (HINCRBY, HINCRBYFLOAT) compute first and create the key only to store a result,
// so a failed command never leaves an empty hash behind. Random picks and the HSCAN cursor
// are described in collection.h.
#include <cmath>
#include <string>
#include <vector>

#include "engine/commands/collection.h"
#include "engine/commands/family.h"

namespace allot::internal {

namespace {

OpResult<Entry*> FindHash(CmdCtx& ctx, std::string_view key) {
  return FindOfType(ctx.db(key), key, ctx.now_ms, ValueType::kHash);
}

// The hash at key, created empty if missing (the caller stores into it at once).
HashValue& HashForWrite(CmdCtx& ctx, std::string_view key, Entry* found) {
  if (found == nullptr) found = ctx.db(key).insert(key, HashValue{}, ctx.now_ms);
  return found->as<HashValue>();
}

// Sets field to value; returns whether the field is new.
bool SetField(HashValue& h, std::string_view field, std::string_view value) {
  auto it = h.find(field);
  if (it != h.end()) {
    it->second.assign(value);
    return false;
  }
  h.emplace(std::string(field), std::string(value));
  return true;
}

// The value of field, or nullptr (also when the hash is missing).
const std::string* GetField(Entry* e, std::string_view field) {
  if (e == nullptr) return nullptr;
  const HashValue& h = e->as<HashValue>();
  auto it = h.find(field);
  return it == h.end() ? nullptr : &it->second;
}

// HSET key field value [field value ...] (replies the number of new fields) and HMSET
// (replies OK). Both need pairs; Redis reports odd counts as an arity error.
template <bool kReplyOk>
Reply CmdHSet(CmdCtx& ctx, Args args) {
  if (args.size() % 2 != 0) return WrongArgsReply(args[0]);
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  HashValue& h = HashForWrite(ctx, args[1], *found);
  int64_t added = 0;
  for (size_t i = 2; i < args.size(); i += 2) {
    if (SetField(h, args[i], args[i + 1])) ++added;
  }
  return kReplyOk ? Reply::Ok() : Reply::Int(added);
}

Reply CmdHSetNx(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  if (GetField(*found, args[2]) != nullptr) return Reply::Int(0);
  SetField(HashForWrite(ctx, args[1], *found), args[2], args[3]);
  return Reply::Int(1);
}

Reply CmdHGet(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  const std::string* v = GetField(*found, args[2]);
  return v == nullptr ? Reply::Null() : Reply::Bulk(*v);
}

Reply CmdHMGet(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  std::vector<Reply> out;
  out.reserve(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string* v = GetField(*found, args[i]);
    out.push_back(v == nullptr ? Reply::Null() : Reply::Bulk(*v));
  }
  return Reply::Array(std::move(out));
}

Reply CmdHDel(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Int(0);
  HashValue& h = (*found)->as<HashValue>();
  int64_t removed = 0;
  for (size_t i = 2; i < args.size() && !h.empty(); ++i) {
    auto it = h.find(args[i]);
    if (it == h.end()) continue;
    h.erase(it);
    ++removed;
  }
  if (h.empty()) {
    ctx.db(args[1]).erase(*found);
  } else {
    ShrinkIfSparse(h);
  }
  return Reply::Int(removed);
}

Reply CmdHExists(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  return Reply::Int(GetField(*found, args[2]) != nullptr ? 1 : 0);
}

Reply CmdHLen(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Int(0);
  return Reply::Int(static_cast<int64_t>((*found)->as<HashValue>().size()));
}

Reply CmdHStrLen(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  const std::string* v = GetField(*found, args[2]);
  return Reply::Int(v == nullptr ? 0 : static_cast<int64_t>(v->size()));
}

// HKEYS, HVALS (arrays) and HGETALL (a map; the server flattens it for RESP2).
enum class HashPart { kKeys, kValues, kAll };

template <HashPart part>
Reply CmdHGetAll(CmdCtx& ctx, Args args) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  std::vector<Reply> out;
  if (*found != nullptr) {
    const HashValue& h = (*found)->as<HashValue>();
    out.reserve(part == HashPart::kAll ? h.size() * 2 : h.size());
    for (const auto& [field, value] : h) {
      if (part != HashPart::kValues) out.push_back(Reply::Bulk(field));
      if (part != HashPart::kKeys) out.push_back(Reply::Bulk(value));
    }
  }
  if (part == HashPart::kAll) return Reply::Map(std::move(out));
  return Reply::Array(std::move(out));
}

Reply CmdHIncrBy(CmdCtx& ctx, Args args) {
  int64_t incr = 0;
  if (!ParseInt64(args[3], &incr)) return ErrorReply(OpStatus::kNotInteger);
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  int64_t value = 0;
  if (const std::string* old = GetField(*found, args[2]); old != nullptr) {
    if (!ParseInt64(*old, &value)) return ErrorReply(OpStatus::kHashValueNotInteger);
  }
  int64_t result = 0;
  if (__builtin_add_overflow(value, incr, &result)) return ErrorReply(OpStatus::kOverflow);
  SetField(HashForWrite(ctx, args[1], *found), args[2], FormatInt64(result));
  return Reply::Int(result);
}

Reply CmdHIncrByFloat(CmdCtx& ctx, Args args) {
  long double incr = 0;
  if (!ParseLongDouble(args[3], &incr)) return ErrorReply(OpStatus::kNotFloat);
  if (std::isinf(incr)) return Reply::Error("ERR value is NaN or Infinity");
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  long double value = 0;
  if (const std::string* old = GetField(*found, args[2]); old != nullptr) {
    if (!ParseLongDouble(*old, &value)) return ErrorReply(OpStatus::kHashValueNotFloat);
  }
  value += incr;
  if (std::isnan(value) || std::isinf(value)) return ErrorReply(OpStatus::kIncrNanOrInf);
  std::string text = FormatLongDouble(value);
  SetField(HashForWrite(ctx, args[1], *found), args[2], text);
  return Reply::Bulk(std::move(text));
}

// HSCAN key cursor [MATCH pattern] [COUNT count]: field, value, field, value ... (an array
// in RESP3 too). MATCH applies to fields.
Reply CmdHScan(CmdCtx& ctx, Args args) {
  auto cursor = ParseScanCursor(args[2]);
  if (!cursor.ok()) return ErrorReply(cursor.status());
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  // As Redis, a missing key is an empty scan before the options are even parsed.
  if (*found == nullptr) return ScanReply(0, {});
  auto opts = ParseScanOptions(args, 3);
  if (!opts.ok()) return ErrorReply(opts.status());
  std::vector<Reply> items;
  uint64_t next = ScanBuckets((*found)->as<HashValue>(), *cursor, opts->count,
                              [&](const HashValue::value_type& fv) {
                                if (opts->use_pattern && !GlobMatch(opts->pattern, fv.first)) {
                                  return;
                                }
                                items.push_back(Reply::Bulk(fv.first));
                                items.push_back(Reply::Bulk(fv.second));
                              });
  return ScanReply(next, std::move(items));
}

// Appends one HRANDFIELD element: the field, with its value when asked, as a [field, value]
// pair in RESP3 and flat in RESP2 (Redis 7).
void AppendRandField(std::vector<Reply>& out, const HashValue::value_type& fv, bool withvalues,
                     bool resp3) {
  if (!withvalues) {
    out.push_back(Reply::Bulk(fv.first));
  } else if (resp3) {
    out.push_back(Reply::Array({Reply::Bulk(fv.first), Reply::Bulk(fv.second)}));
  } else {
    out.push_back(Reply::Bulk(fv.first));
    out.push_back(Reply::Bulk(fv.second));
  }
}

Reply HRandFieldCount(CmdCtx& ctx, Args args, int64_t count, bool withvalues) {
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr || count == 0) return Reply::Array();
  const HashValue& h = (*found)->as<HashValue>();
  ShardState& shard = ctx.shard_of(args[1]);
  bool resp3 = ctx.resp() >= 3;
  std::vector<Reply> out;
  if (count < 0 || count == 1) {
    // With repetition: every pick samples the whole hash.
    uint64_t n = count < 0 ? static_cast<uint64_t>(-count) : 1;
    if (!RepeatCountAllowed(n)) return ErrorReply(OpStatus::kOutOfRange);
    out.reserve(withvalues && !resp3 ? n * 2 : n);
    for (uint64_t i = 0; i < n; ++i)
      AppendRandField(out, RandomElement(h, shard), withvalues, resp3);
    return Reply::Array(std::move(out));
  }
  if (static_cast<uint64_t>(count) >= h.size()) {
    for (const auto& fv : h) AppendRandField(out, fv, withvalues, resp3);
    return Reply::Array(std::move(out));
  }
  for (const auto* fv : RandomDistinct(h, static_cast<size_t>(count), shard)) {
    AppendRandField(out, *fv, withvalues, resp3);
  }
  return Reply::Array(std::move(out));
}

// HRANDFIELD key [count [WITHVALUES]]. The count is checked before the key, as in Redis.
Reply CmdHRandField(CmdCtx& ctx, Args args) {
  if (args.size() >= 3) {
    auto parsed = ParseRandomCount(args[2]);
    if (const Reply* err = std::get_if<Reply>(&parsed)) return *err;
    int64_t count = std::get<int64_t>(parsed);
    if (args.size() > 4 || (args.size() == 4 && !EqualsIgnoreCase(args[3], "WITHVALUES"))) {
      return ErrorReply(OpStatus::kSyntax);
    }
    bool withvalues = args.size() == 4;
    // Redis keeps count * 2 (the RESP2 reply length) within a long.
    if (withvalues && (count < -INT64_MAX / 2 || count > INT64_MAX / 2)) {
      return ErrorReply(OpStatus::kOutOfRange);
    }
    return HRandFieldCount(ctx, args, count, withvalues);
  }
  auto found = FindHash(ctx, args[1]);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Null();
  return Reply::Bulk(RandomElement((*found)->as<HashValue>(), ctx.shard_of(args[1])).first);
}

constexpr uint32_t kRead = kCmdReadOnly;
constexpr uint32_t kReadFast = kCmdReadOnly | kCmdFast;
constexpr uint32_t kWriteGrowFast = kCmdWrite | kCmdDenyOom | kCmdFast;

constexpr CommandSpec kHashCommands[] = {
    {"HSET", -4, kWriteGrowFast, 1, 1, 1, CmdHSet<false>},
    {"HMSET", -4, kWriteGrowFast, 1, 1, 1, CmdHSet<true>},
    {"HSETNX", 4, kWriteGrowFast, 1, 1, 1, CmdHSetNx},
    {"HGET", 3, kReadFast, 1, 1, 1, CmdHGet},
    {"HMGET", -3, kReadFast, 1, 1, 1, CmdHMGet},
    {"HDEL", -3, kCmdWrite | kCmdFast, 1, 1, 1, CmdHDel},
    {"HEXISTS", 3, kReadFast, 1, 1, 1, CmdHExists},
    {"HLEN", 2, kReadFast, 1, 1, 1, CmdHLen},
    {"HSTRLEN", 3, kReadFast, 1, 1, 1, CmdHStrLen},
    {"HKEYS", 2, kRead, 1, 1, 1, CmdHGetAll<HashPart::kKeys>},
    {"HVALS", 2, kRead, 1, 1, 1, CmdHGetAll<HashPart::kValues>},
    {"HGETALL", 2, kRead, 1, 1, 1, CmdHGetAll<HashPart::kAll>},
    {"HINCRBY", 4, kWriteGrowFast, 1, 1, 1, CmdHIncrBy},
    {"HINCRBYFLOAT", 4, kWriteGrowFast, 1, 1, 1, CmdHIncrByFloat},
    {"HSCAN", -3, kRead | kCmdRandom, 1, 1, 1, CmdHScan},
    {"HRANDFIELD", -2, kRead | kCmdRandom, 1, 1, 1, CmdHRandField},
};

}  // namespace

void RegisterHashFamily(CommandTable& t) { t.add(kHashCommands); }

}  // namespace allot::internal
