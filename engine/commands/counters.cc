// counters.cc: integer and float counters on string keys (INCR, DECR, INCRBY, DECRBY,
// INCRBYFLOAT), part of the string family. A counter update keeps the key's TTL, as in
// Redis (dbOverwrite), and stores the result as its decimal text.
#include <cmath>
#include <cstdint>
#include <limits>

#include "engine/commands/family.h"
#include "engine/commands/strings_util.h"

namespace allot::internal {

namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Stores text as key's value, keeping the TTL of an existing entry.
void StoreCounter(Db& db, std::string_view key, Entry* e, std::string text, int64_t now_ms) {
  if (e != nullptr) {
    e->as<StringValue>() = std::move(text);
  } else {
    db.insert(key, StringValue(std::move(text)), now_ms);
  }
}

// Adds incr to key's integer value (0 if missing); Redis's incrDecrCommand.
OpResult<int64_t> OpIncrBy(Db& db, std::string_view key, int64_t incr, int64_t now_ms) {
  OpResult<Entry*> e = FindString(db, key, now_ms);
  if (!e.ok()) return e.status();
  int64_t v = 0;
  if (*e != nullptr && !ParseInt64((*e)->as<StringValue>(), &v)) return OpStatus::kNotInteger;
  if ((incr < 0 && v < 0 && incr < kInt64Min - v) || (incr > 0 && v > 0 && incr > kInt64Max - v)) {
    return OpStatus::kOverflow;
  }
  v += incr;
  StoreCounter(db, key, *e, FormatInt64(v), now_ms);
  return v;
}

Reply IncrReply(CmdCtx& ctx, std::string_view key, int64_t incr) {
  OpResult<int64_t> r = OpIncrBy(ctx.db(key), key, incr, ctx.now_ms);
  return r.ok() ? Reply::Int(*r) : ErrorReply(r.status());
}

Reply CmdIncr(CmdCtx& ctx, Args args) { return IncrReply(ctx, args[1], 1); }
Reply CmdDecr(CmdCtx& ctx, Args args) { return IncrReply(ctx, args[1], -1); }

Reply CmdIncrby(CmdCtx& ctx, Args args) {
  int64_t incr = 0;
  if (!ParseInt64(args[2], &incr)) return ErrorReply(OpStatus::kNotInteger);
  return IncrReply(ctx, args[1], incr);
}

Reply CmdDecrby(CmdCtx& ctx, Args args) {
  int64_t decr = 0;
  if (!ParseInt64(args[2], &decr)) return ErrorReply(OpStatus::kNotInteger);
  // Negating INT64_MIN overflows; Redis has its own text for it.
  if (decr == kInt64Min) return Reply::Error("ERR decrement would overflow");
  return IncrReply(ctx, args[1], -decr);
}

// INCRBYFLOAT: long double arithmetic and Redis's human formatting (no exponent, at most
// 17 decimals, trailing zeros dropped). Errors in Redis's order: type, value, increment.
OpResult<std::string> OpIncrByFloat(Db& db, std::string_view key, std::string_view incr_arg,
                                    int64_t now_ms) {
  OpResult<Entry*> e = FindString(db, key, now_ms);
  if (!e.ok()) return e.status();
  long double v = 0, incr = 0;
  if (*e != nullptr && !ParseLongDouble((*e)->as<StringValue>(), &v)) return OpStatus::kNotFloat;
  if (!ParseLongDouble(incr_arg, &incr)) return OpStatus::kNotFloat;
  v += incr;
  if (std::isnan(v) || std::isinf(v)) return OpStatus::kIncrNanOrInf;
  std::string text = FormatLongDouble(v);
  StoreCounter(db, key, *e, text, now_ms);
  return text;
}

Reply CmdIncrbyfloat(CmdCtx& ctx, Args args) {
  OpResult<std::string> r = OpIncrByFloat(ctx.db(args[1]), args[1], args[2], ctx.now_ms);
  return r.ok() ? Reply::Bulk(std::move(*r)) : ErrorReply(r.status());
}

constexpr uint32_t kWof = kCmdWrite | kCmdDenyOom | kCmdFast;

constexpr CommandSpec kCounterCommands[] = {
    {"INCR", 2, kWof, 1, 1, 1, CmdIncr},
    {"DECR", 2, kWof, 1, 1, 1, CmdDecr},
    {"INCRBY", 3, kWof, 1, 1, 1, CmdIncrby},
    {"DECRBY", 3, kWof, 1, 1, 1, CmdDecrby},
    {"INCRBYFLOAT", 3, kWof, 1, 1, 1, CmdIncrbyfloat},
};

}  // namespace

void RegisterCounterCommands(CommandTable& t) { t.add(kCounterCommands); }

}  // namespace allot::internal
