// strings.cc: the string family (GET, SET and its variants, MGET/MSET, GETEX, APPEND,
// GETRANGE/SETRANGE). Counters (INCR, INCRBYFLOAT, ...) are in counters.cc.
//
// Replies and errors follow Redis 7 (t_string.c), including the order in which errors are
// checked: option syntax, then the expire time, then the key's type.
#include <cstdint>
#include <optional>

#include "engine/commands/expire_util.h"
#include "engine/commands/family.h"
#include "engine/commands/strings_util.h"
#include "engine/limits.h"

namespace allot::internal {

namespace {

// Options of SET and GETEX (Redis's parseExtendedStringArgumentsOrReply).
enum StringOption : uint32_t {
  kOptNx = 1u << 0,
  kOptXx = 1u << 1,
  kOptGet = 1u << 2,
  kOptKeepTtl = 1u << 3,
  kOptPersist = 1u << 4,
  kOptEx = 1u << 5,
  kOptPx = 1u << 6,
  kOptExat = 1u << 7,
  kOptPxat = 1u << 8,
};
constexpr uint32_t kOptAnyExpire = kOptEx | kOptPx | kOptExat | kOptPxat;

struct StringOptions {
  uint32_t flags = 0;
  std::string_view expire;  // the argument of EX/PX/EXAT/PXAT when one is set
};

// The expire option named by opt (EX, PX, EXAT, PXAT), or 0.
uint32_t ExpireOptionBit(std::string_view opt) {
  if (EqualsIgnoreCase(opt, "EX")) return kOptEx;
  if (EqualsIgnoreCase(opt, "PX")) return kOptPx;
  if (EqualsIgnoreCase(opt, "EXAT")) return kOptExat;
  if (EqualsIgnoreCase(opt, "PXAT")) return kOptPxat;
  return 0;
}

// Parses args[first..] as SET (is_set) or GETEX options; nullopt means "ERR syntax error".
// As in Redis, repeating one option is allowed (the last EX wins), combining conflicting
// ones is not, and NX/XX/GET/KEEPTTL belong to SET only, PERSIST to GETEX only.
std::optional<StringOptions> ParseStringOptions(Args args, size_t first, bool is_set) {
  StringOptions o;
  for (size_t j = first; j < args.size(); ++j) {
    std::string_view opt = args[j];
    uint32_t f = o.flags;
    uint32_t expire_bit = ExpireOptionBit(opt);
    if (is_set && EqualsIgnoreCase(opt, "NX") && !(f & kOptXx)) {
      o.flags |= kOptNx;
    } else if (is_set && EqualsIgnoreCase(opt, "XX") && !(f & kOptNx)) {
      o.flags |= kOptXx;
    } else if (is_set && EqualsIgnoreCase(opt, "GET")) {
      o.flags |= kOptGet;
    } else if (is_set && EqualsIgnoreCase(opt, "KEEPTTL") && !(f & kOptAnyExpire)) {
      o.flags |= kOptKeepTtl;
    } else if (!is_set && EqualsIgnoreCase(opt, "PERSIST") && !(f & kOptAnyExpire)) {
      o.flags |= kOptPersist;
    } else if (expire_bit != 0 && j + 1 < args.size() &&
               !(f & (kOptKeepTtl | kOptPersist | (kOptAnyExpire & ~expire_bit)))) {
      o.flags |= expire_bit;
      o.expire = args[++j];
    } else {
      return std::nullopt;
    }
  }
  return o;
}

// The absolute deadline of the options' expire argument (0 if none is set).
OpResult<int64_t> OptionsExpireAtMs(const StringOptions& o, int64_t now_ms) {
  if (!(o.flags & kOptAnyExpire)) return int64_t{0};
  bool seconds = (o.flags & (kOptEx | kOptExat)) != 0;
  bool relative = (o.flags & (kOptEx | kOptPx)) != 0;
  return PositiveExpireToMs(o.expire, seconds, relative, now_ms);
}

// Stores value under key, replacing any value of any type; the TTL is cleared unless
// keep_ttl, then set to at_ms if non-zero (a past at_ms deletes the key).
void SetString(Db& db, std::string_view key, std::string_view value, int64_t at_ms, bool keep_ttl,
               int64_t now_ms) {
  Entry* e = db.assign(key, StringValue(value), now_ms, keep_ttl);
  if (at_ms != 0) ExpireOrDelete(db, e, at_ms, now_ms);
}

Reply CmdGet(CmdCtx& ctx, Args args) {
  OpResult<Entry*> e = FindString(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  return *e == nullptr ? Reply::Null() : Reply::Bulk((*e)->as<StringValue>());
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]
Reply CmdSet(CmdCtx& ctx, Args args) {
  std::optional<StringOptions> o = ParseStringOptions(args, 3, /*is_set=*/true);
  if (!o) return ErrorReply(OpStatus::kSyntax);
  OpResult<int64_t> at_ms = OptionsExpireAtMs(*o, ctx.now_ms);
  if (!at_ms.ok()) return ExpireParseError(at_ms.status(), "set");
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> old = FindString(db, args[1], ctx.now_ms);
  bool get = (o->flags & kOptGet) != 0;
  // Without GET the type of an existing key does not matter: SET overwrites anything.
  if (get && !old.ok()) return ErrorReply(old.status());
  Entry* found = old.ok() ? *old : db.peek(args[1], ctx.now_ms);
  Reply reply = Reply::Ok();
  if (get) reply = found ? Reply::Bulk(found->as<StringValue>()) : Reply::Null();
  bool exists = found != nullptr;
  if (((o->flags & kOptNx) && exists) || ((o->flags & kOptXx) && !exists)) {
    return get ? reply : Reply::Null();
  }
  SetString(db, args[1], args[2], *at_ms, (o->flags & kOptKeepTtl) != 0, ctx.now_ms);
  return reply;
}

Reply CmdSetnx(CmdCtx& ctx, Args args) {
  Db& db = ctx.db(args[1]);
  if (db.peek(args[1], ctx.now_ms) != nullptr) return Reply::Int(0);
  db.insert(args[1], StringValue(args[2]), ctx.now_ms);
  return Reply::Int(1);
}

// SETEX key seconds value / PSETEX key milliseconds value.
Reply SetWithTtl(CmdCtx& ctx, Args args, bool seconds) {
  OpResult<int64_t> at_ms = PositiveExpireToMs(args[2], seconds, /*relative=*/true, ctx.now_ms);
  if (!at_ms.ok()) return ExpireParseError(at_ms.status(), args[0]);
  SetString(ctx.db(args[1]), args[1], args[3], *at_ms, false, ctx.now_ms);
  return Reply::Ok();
}

Reply CmdSetex(CmdCtx& ctx, Args args) { return SetWithTtl(ctx, args, true); }
Reply CmdPsetex(CmdCtx& ctx, Args args) { return SetWithTtl(ctx, args, false); }

Reply CmdGetset(CmdCtx& ctx, Args args) {
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> e = FindString(db, args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  Reply reply = *e ? Reply::Bulk(std::move((*e)->as<StringValue>())) : Reply::Null();
  SetString(db, args[1], args[2], 0, false, ctx.now_ms);
  return reply;
}

Reply CmdGetdel(CmdCtx& ctx, Args args) {
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> e = FindString(db, args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  if (*e == nullptr) return Reply::Null();
  Reply reply = Reply::Bulk(std::move((*e)->as<StringValue>()));
  db.erase(*e);
  return reply;
}

// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]. As in Redis, a missing key replies
// nil before the expire time is validated.
Reply CmdGetex(CmdCtx& ctx, Args args) {
  std::optional<StringOptions> o = ParseStringOptions(args, 2, /*is_set=*/false);
  if (!o) return ErrorReply(OpStatus::kSyntax);
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> e = FindString(db, args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  if (*e == nullptr) return Reply::Null();
  OpResult<int64_t> at_ms = OptionsExpireAtMs(*o, ctx.now_ms);
  if (!at_ms.ok()) return ExpireParseError(at_ms.status(), "getex");
  Reply reply = Reply::Bulk((*e)->as<StringValue>());
  if (*at_ms != 0) {
    ExpireOrDelete(db, *e, *at_ms, ctx.now_ms);
  } else if (o->flags & kOptPersist) {
    db.set_expire(*e, 0);
  }
  return reply;
}

// MGET: nil for a missing key and for a key of another type, as Redis.
Reply CmdMget(CmdCtx& ctx, Args args) {
  std::vector<Reply> out;
  out.reserve(args.size() - 1);
  for (size_t i = 1; i < args.size(); ++i) {
    Entry* e = ctx.db(args[i]).find(args[i], ctx.now_ms);
    bool is_string = e != nullptr && e->type() == ValueType::kString;
    out.push_back(is_string ? Reply::Bulk(e->as<StringValue>()) : Reply::Null());
  }
  return Reply::Array(std::move(out));
}

// MSET / MSETNX: the dispatcher holds every key's shard, so the whole command is atomic.
Reply MsetGeneric(CmdCtx& ctx, Args args, bool nx) {
  if (args.size() % 2 == 0) return WrongArgsReply(args[0]);
  if (nx) {
    for (size_t i = 1; i < args.size(); i += 2) {
      if (ctx.db(args[i]).peek(args[i], ctx.now_ms) != nullptr) return Reply::Int(0);
    }
  }
  for (size_t i = 1; i < args.size(); i += 2) {
    SetString(ctx.db(args[i]), args[i], args[i + 1], 0, false, ctx.now_ms);
  }
  return nx ? Reply::Int(1) : Reply::Ok();
}

Reply CmdMset(CmdCtx& ctx, Args args) { return MsetGeneric(ctx, args, false); }
Reply CmdMsetnx(CmdCtx& ctx, Args args) { return MsetGeneric(ctx, args, true); }

Reply CmdAppend(CmdCtx& ctx, Args args) {
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> e = FindString(db, args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  if (*e == nullptr) {
    db.insert(args[1], StringValue(args[2]), ctx.now_ms);
    return Reply::Int(static_cast<int64_t>(args[2].size()));
  }
  StringValue& s = (*e)->as<StringValue>();
  if (!StringFits(s.size(), args[2].size())) return ErrorReply(OpStatus::kStringTooLong);
  s.append(args[2]);
  return Reply::Int(static_cast<int64_t>(s.size()));
}

Reply CmdStrlen(CmdCtx& ctx, Args args) {
  OpResult<Entry*> e = FindString(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  return Reply::Int(*e ? static_cast<int64_t>((*e)->as<StringValue>().size()) : 0);
}

// GETRANGE key start end (and its old name SUBSTR): Redis's clamping of negative and
// out-of-range indexes; an empty string for a missing key.
Reply CmdGetrange(CmdCtx& ctx, Args args) {
  int64_t start = 0, end = 0;
  if (!ParseInt64(args[2], &start) || !ParseInt64(args[3], &end)) {
    return ErrorReply(OpStatus::kNotInteger);
  }
  OpResult<Entry*> e = FindString(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  if (*e == nullptr) return Reply::Bulk(std::string_view());
  const StringValue& s = (*e)->as<StringValue>();
  int64_t len = static_cast<int64_t>(s.size());
  if (start < 0 && end < 0 && start > end) return Reply::Bulk(std::string_view());
  if (start < 0) start = std::max<int64_t>(0, len + start);
  if (end < 0) end = std::max<int64_t>(0, len + end);
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return Reply::Bulk(std::string_view());
  return Reply::Bulk(
      std::string_view(s).substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

// SETRANGE key offset value: zero-pads up to offset; an empty value changes nothing (and
// creates no key).
Reply CmdSetrange(CmdCtx& ctx, Args args) {
  int64_t offset = 0;
  if (!ParseInt64(args[2], &offset)) return ErrorReply(OpStatus::kNotInteger);
  if (offset < 0) return Reply::Error("ERR offset is out of range");
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> e = FindString(db, args[1], ctx.now_ms);
  if (!e.ok()) return ErrorReply(e.status());
  std::string_view value = args[3];
  size_t old_len = *e ? (*e)->as<StringValue>().size() : 0;
  if (value.empty()) return Reply::Int(static_cast<int64_t>(old_len));
  if (!StringFits(static_cast<uint64_t>(offset), value.size())) {
    return ErrorReply(OpStatus::kStringTooLong);
  }
  Entry* target = *e ? *e : db.insert(args[1], StringValue(), ctx.now_ms);
  StringValue& s = target->as<StringValue>();
  size_t off = static_cast<size_t>(offset);
  if (s.size() < off + value.size()) s.resize(off + value.size(), '\0');
  s.replace(off, value.size(), value);
  return Reply::Int(static_cast<int64_t>(s.size()));
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kWo = kCmdWrite | kCmdDenyOom;
constexpr uint32_t kR = kCmdReadOnly;
constexpr uint32_t kF = kCmdFast;

constexpr CommandSpec kStringCommands[] = {
    {"GET", 2, kR | kF, 1, 1, 1, CmdGet},       {"SET", -3, kWo, 1, 1, 1, CmdSet},
    {"SETNX", 3, kWo | kF, 1, 1, 1, CmdSetnx},  {"SETEX", 4, kWo, 1, 1, 1, CmdSetex},
    {"PSETEX", 4, kWo, 1, 1, 1, CmdPsetex},     {"GETSET", 3, kWo | kF, 1, 1, 1, CmdGetset},
    {"GETDEL", 2, kW | kF, 1, 1, 1, CmdGetdel}, {"GETEX", -2, kW | kF, 1, 1, 1, CmdGetex},
    {"MGET", -2, kR | kF, 1, -1, 1, CmdMget},   {"MSET", -3, kWo, 1, -1, 2, CmdMset},
    {"MSETNX", -3, kWo, 1, -1, 2, CmdMsetnx},   {"APPEND", 3, kWo | kF, 1, 1, 1, CmdAppend},
    {"STRLEN", 2, kR | kF, 1, 1, 1, CmdStrlen}, {"GETRANGE", 4, kR, 1, 1, 1, CmdGetrange},
    {"SUBSTR", 4, kR, 1, 1, 1, CmdGetrange},    {"SETRANGE", 4, kWo, 1, 1, 1, CmdSetrange},
};

}  // namespace

void RegisterStringFamily(CommandTable& t) {
  t.add(kStringCommands);
  RegisterCounterCommands(t);
}

}  // namespace allot::internal
