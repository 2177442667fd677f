// lists.cc: the list family (LPUSH, LPOP, LRANGE, LMOVE, LMPOP, ...), with Redis 7's
// replies. The blocking variants (BLPOP, BLMOVE, ...) are not here: the engine has no
// blocking machinery yet.
//
// A list is a ListValue (std::deque<std::string>): O(1) at both ends, O(1) random access.
// As in Redis, a list that becomes empty is deleted, so no empty list is ever visible,
// and a key that holds no list answers as Redis answers for a missing key. Each handler
// parses its arguments in the same order as Redis (t_list.c), because that order decides
// which error a client sees when several things are wrong at once.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/commands/family.h"

namespace allot::internal {

namespace {

enum class End : uint8_t { kLeft, kRight };

// The entry of key when it holds a list, nullptr when the key does not exist, or
// kWrongType when it holds another type.
OpResult<Entry*> FindList(Db& db, std::string_view key, int64_t now_ms) {
  Entry* e = db.find(key, now_ms);
  if (e != nullptr && e->type() != ValueType::kList) return OpStatus::kWrongType;
  return e;
}

// Redis deletes a list when its last element goes.
void DeleteIfEmpty(Db& db, Entry* e) {
  ALLOT_DCHECK(e != nullptr && e->type() == ValueType::kList);
  if (e->as<ListValue>().empty()) db.erase(e);
}

std::string PopEnd(ListValue& list, End end) {
  ALLOT_DCHECK(!list.empty());
  std::string v;
  if (end == End::kLeft) {
    v = std::move(list.front());
    list.pop_front();
  } else {
    v = std::move(list.back());
    list.pop_back();
  }
  return v;
}

void PushEnd(ListValue& list, End end, std::string_view v) {
  if (end == End::kLeft) {
    list.emplace_front(v);
  } else {
    list.emplace_back(v);
  }
}

// Redis's getListPositionFromObjectOrReply: LEFT or RIGHT, any case.
bool ParseEnd(std::string_view s, End* out) {
  if (EqualsIgnoreCase(s, "LEFT")) {
    *out = End::kLeft;
  } else if (EqualsIgnoreCase(s, "RIGHT")) {
    *out = End::kRight;
  } else {
    return false;
  }
  return true;
}

// A Redis list index (negative counts from the tail) as a position in a list of len
// elements, or -1 when it falls outside.
int64_t ResolveIndex(int64_t index, size_t len) {
  int64_t n = static_cast<int64_t>(len);
  if (index < 0) index += n;
  return (index < 0 || index >= n) ? -1 : index;
}

// LRANGE's and LTRIM's clamping of [start, stop] to a list of len elements. Returns false
// when the range is empty; otherwise 0 <= *start <= *stop < len.
bool ClampRange(int64_t* start, int64_t* stop, size_t len) {
  int64_t n = static_cast<int64_t>(len);
  if (*start < 0) *start += n;
  if (*stop < 0) *stop += n;
  if (*start < 0) *start = 0;
  if (*start > *stop || *start >= n) return false;
  if (*stop >= n) *stop = n - 1;
  return true;
}

// LPUSH/RPUSH key element [element ...], and the X variants that need an existing list.
Reply PushGeneric(CmdCtx& ctx, Args args, End end, bool only_existing) {
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> found = FindList(db, args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  Entry* e = *found;
  if (e == nullptr) {
    if (only_existing) return Reply::Int(0);
    e = db.insert(args[1], ListValue{}, ctx.now_ms);
  }
  ListValue& list = e->as<ListValue>();
  for (size_t i = 2; i < args.size(); ++i) PushEnd(list, end, args[i]);
  return Reply::Int(static_cast<int64_t>(list.size()));
}

Reply CmdLpush(CmdCtx& ctx, Args args) { return PushGeneric(ctx, args, End::kLeft, false); }
Reply CmdRpush(CmdCtx& ctx, Args args) { return PushGeneric(ctx, args, End::kRight, false); }
Reply CmdLpushx(CmdCtx& ctx, Args args) { return PushGeneric(ctx, args, End::kLeft, true); }
Reply CmdRpushx(CmdCtx& ctx, Args args) { return PushGeneric(ctx, args, End::kRight, true); }

// LPOP/RPOP key [count]. Without count: the element or a null. With count: an array, or a
// null array (RESP2 *-1) when the key does not exist. The count is checked before the key.
Reply PopGeneric(CmdCtx& ctx, Args args, End end) {
  if (args.size() > 3) return WrongArgsReply(args[0]);
  const bool has_count = args.size() == 3;
  int64_t count = 0;
  if (has_count) {
    if (!ParseInt64(args[2], &count)) return ErrorReply(OpStatus::kNotInteger);
    if (count < 0) return ErrorReply(OpStatus::kNotPositive);
  }
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> found = FindList(db, args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  Entry* e = *found;
  if (e == nullptr) return has_count ? Reply::NullArray() : Reply::Null();
  ListValue& list = e->as<ListValue>();
  if (!has_count) {
    Reply r = Reply::Bulk(PopEnd(list, end));
    DeleteIfEmpty(db, e);
    return r;
  }
  std::vector<Reply> out;
  const size_t n = std::min(list.size(), static_cast<size_t>(count));
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(Reply::Bulk(PopEnd(list, end)));
  DeleteIfEmpty(db, e);
  return Reply::Array(std::move(out));
}

Reply CmdLpop(CmdCtx& ctx, Args args) { return PopGeneric(ctx, args, End::kLeft); }
Reply CmdRpop(CmdCtx& ctx, Args args) { return PopGeneric(ctx, args, End::kRight); }

Reply CmdLlen(CmdCtx& ctx, Args args) {
  OpResult<Entry*> found = FindList(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Int(0);
  return Reply::Int(static_cast<int64_t>((*found)->as<ListValue>().size()));
}

// LRANGE key start stop: the indexes are parsed before the key is looked up.
Reply CmdLrange(CmdCtx& ctx, Args args) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseInt64(args[2], &start) || !ParseInt64(args[3], &stop)) {
    return ErrorReply(OpStatus::kNotInteger);
  }
  OpResult<Entry*> found = FindList(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Array();
  const ListValue& list = (*found)->as<ListValue>();
  if (!ClampRange(&start, &stop, list.size())) return Reply::Array();
  std::vector<Reply> out;
  out.reserve(static_cast<size_t>(stop - start + 1));
  for (int64_t i = start; i <= stop; ++i) out.push_back(Reply::Bulk(list[i]));
  return Reply::Array(std::move(out));
}

// LINDEX key index: unlike LRANGE, the key is looked up before the index is parsed.
Reply CmdLindex(CmdCtx& ctx, Args args) {
  OpResult<Entry*> found = FindList(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Null();
  int64_t index = 0;
  if (!ParseInt64(args[2], &index)) return ErrorReply(OpStatus::kNotInteger);
  const ListValue& list = (*found)->as<ListValue>();
  int64_t pos = ResolveIndex(index, list.size());
  if (pos < 0) return Reply::Null();
  return Reply::Bulk(list[pos]);
}

// LSET key index element.
Reply CmdLset(CmdCtx& ctx, Args args) {
  OpResult<Entry*> found = FindList(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return ErrorReply(OpStatus::kNoSuchKey);
  int64_t index = 0;
  if (!ParseInt64(args[2], &index)) return ErrorReply(OpStatus::kNotInteger);
  ListValue& list = (*found)->as<ListValue>();
  int64_t pos = ResolveIndex(index, list.size());
  if (pos < 0) return ErrorReply(OpStatus::kIndexOutOfRange);
  list[pos] = std::string(args[3]);
  return Reply::Ok();
}

// Removes up to `limit` elements equal to `element`, visiting [first, last) in order, and
// compacts the kept ones towards first. Returns the new end of the kept range.
template <class It>
It RemoveMatches(It first, It last, std::string_view element, uint64_t limit, int64_t* removed) {
  It out = first;
  for (It it = first; it != last; ++it) {
    if (static_cast<uint64_t>(*removed) < limit && *it == element) {
      ++*removed;
      continue;
    }
    if (out != it) *out = std::move(*it);
    ++out;
  }
  return out;
}

// LREM key count element: count > 0 from the head, < 0 from the tail, 0 every match.
Reply CmdLrem(CmdCtx& ctx, Args args) {
  int64_t count = 0;
  if (!ParseInt64(args[2], &count)) return ErrorReply(OpStatus::kNotInteger);
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> found = FindList(db, args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Int(0);
  ListValue& list = (*found)->as<ListValue>();
  // Unsigned so that -INT64_MIN does not overflow.
  const uint64_t limit = count == 0  ? std::numeric_limits<uint64_t>::max()
                         : count > 0 ? static_cast<uint64_t>(count)
                                     : 0 - static_cast<uint64_t>(count);
  int64_t removed = 0;
  if (count >= 0) {
    list.erase(RemoveMatches(list.begin(), list.end(), args[3], limit, &removed), list.end());
  } else {
    auto kept = RemoveMatches(list.rbegin(), list.rend(), args[3], limit, &removed);
    list.erase(list.begin(), kept.base());
  }
  DeleteIfEmpty(db, *found);
  return Reply::Int(removed);
}

// LTRIM key start stop: keeps [start, stop]; an empty range deletes the key.
Reply CmdLtrim(CmdCtx& ctx, Args args) {
  int64_t start = 0;
  int64_t stop = 0;
  if (!ParseInt64(args[2], &start) || !ParseInt64(args[3], &stop)) {
    return ErrorReply(OpStatus::kNotInteger);
  }
  Db& db = ctx.db(args[1]);
  OpResult<Entry*> found = FindList(db, args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Ok();
  ListValue& list = (*found)->as<ListValue>();
  if (!ClampRange(&start, &stop, list.size())) {
    list.clear();
  } else {
    list.erase(list.begin() + stop + 1, list.end());
    list.erase(list.begin(), list.begin() + start);
  }
  DeleteIfEmpty(db, *found);
  return Reply::Ok();
}

// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without
// the key. The position word is checked first.
Reply CmdLinsert(CmdCtx& ctx, Args args) {
  bool after = false;
  if (EqualsIgnoreCase(args[2], "AFTER")) {
    after = true;
  } else if (!EqualsIgnoreCase(args[2], "BEFORE")) {
    return ErrorReply(OpStatus::kSyntax);
  }
  OpResult<Entry*> found = FindList(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return Reply::Int(0);
  ListValue& list = (*found)->as<ListValue>();
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (*it != args[3]) continue;
    list.emplace(after ? it + 1 : it, args[4]);
    return Reply::Int(static_cast<int64_t>(list.size()));
  }
  return Reply::Int(-1);
}

struct LposOptions {
  int64_t rank = 1;
  int64_t count = -1;  // -1: COUNT not given (reply a single index, not an array)
  int64_t maxlen = 0;  // 0: scan the whole list
};

// Parses LPOS's options as Redis does, in order, each error ending the parse.
std::optional<Reply> ParseLposOptions(Args args, LposOptions* o) {
  for (size_t j = 3; j < args.size(); ++j) {
    const bool more = j + 1 < args.size();
    if (EqualsIgnoreCase(args[j], "RANK") && more) {
      if (!ParseInt64(args[++j], &o->rank)) return ErrorReply(OpStatus::kNotInteger);
      if (o->rank == std::numeric_limits<int64_t>::min()) {
        // Its negation (the rank from the tail) would overflow. Redis >= 7.2's text.
        return Reply::Error(
            "ERR value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807");
      }
      if (o->rank == 0) {
        return Reply::Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second "
            "... or use negative to start from the end of the list");
      }
    } else if (EqualsIgnoreCase(args[j], "COUNT") && more) {
      // Redis gives this text for a non-integer too.
      if (!ParseInt64(args[++j], &o->count) || o->count < 0) {
        return Reply::Error("ERR COUNT can't be negative");
      }
    } else if (EqualsIgnoreCase(args[j], "MAXLEN") && more) {
      if (!ParseInt64(args[++j], &o->maxlen) || o->maxlen < 0) {
        return Reply::Error("ERR MAXLEN can't be negative");
      }
    } else {
      return ErrorReply(OpStatus::kSyntax);
    }
  }
  return std::nullopt;
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
Reply CmdLpos(CmdCtx& ctx, Args args) {
  LposOptions o;
  if (std::optional<Reply> err = ParseLposOptions(args, &o)) return std::move(*err);
  const bool from_tail = o.rank < 0;
  const int64_t rank = from_tail ? -o.rank : o.rank;
  OpResult<Entry*> found = FindList(ctx.db(args[1]), args[1], ctx.now_ms);
  if (!found.ok()) return ErrorReply(found.status());
  if (*found == nullptr) return o.count != -1 ? Reply::Array() : Reply::Null();
  const ListValue& list = (*found)->as<ListValue>();
  const int64_t len = static_cast<int64_t>(list.size());
  const int64_t scan = o.maxlen == 0 ? len : std::min(len, o.maxlen);
  std::vector<Reply> out;
  int64_t matches = 0;
  for (int64_t i = 0; i < scan; ++i) {
    const int64_t pos = from_tail ? len - 1 - i : i;
    if (list[pos] != args[2] || ++matches < rank) continue;
    if (o.count == -1) return Reply::Int(pos);
    out.push_back(Reply::Int(pos));
    if (o.count != 0 && static_cast<int64_t>(out.size()) >= o.count) break;
  }
  if (o.count == -1) return Reply::Null();
  return Reply::Array(std::move(out));
}

// Pops from source's `from` end and pushes to destination's `to` end, atomically (the
// dispatcher holds both keys' shards). A missing source answers null before destination
// is looked at; a destination of another type leaves source untouched. source ==
// destination rotates the list.
Reply MoveGeneric(CmdCtx& ctx, Args args, End from, End to) {
  Db& src_db = ctx.db(args[1]);
  OpResult<Entry*> src = FindList(src_db, args[1], ctx.now_ms);
  if (!src.ok()) return ErrorReply(src.status());
  if (*src == nullptr) return Reply::Null();
  Db& dst_db = ctx.db(args[2]);
  OpResult<Entry*> dst = FindList(dst_db, args[2], ctx.now_ms);
  if (!dst.ok()) return ErrorReply(dst.status());
  std::string value = PopEnd((*src)->as<ListValue>(), from);
  Entry* d = *dst;
  // Entries are stable across inserts (node-based map), so *src stays valid here.
  if (d == nullptr) d = dst_db.insert(args[2], ListValue{}, ctx.now_ms);
  PushEnd(d->as<ListValue>(), to, value);
  DeleteIfEmpty(src_db, *src);
  return Reply::Bulk(std::move(value));
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT: the directions are checked first.
Reply CmdLmove(CmdCtx& ctx, Args args) {
  End from = End::kLeft;
  End to = End::kLeft;
  if (!ParseEnd(args[3], &from) || !ParseEnd(args[4], &to)) {
    return ErrorReply(OpStatus::kSyntax);
  }
  return MoveGeneric(ctx, args, from, to);
}

Reply CmdRpoplpush(CmdCtx& ctx, Args args) {
  return MoveGeneric(ctx, args, End::kRight, End::kLeft);
}

// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: the key arguments, or none when
// numkeys is not a count that fits the arguments (the handler then replies the error).
void LmpopKeys(Args args, std::vector<size_t>& out) {
  int64_t numkeys = 0;
  if (!ParseInt64(args[1], &numkeys) || numkeys < 1) return;
  if (static_cast<uint64_t>(numkeys) > args.size() - 3) return;
  for (size_t i = 2; i < 2 + static_cast<size_t>(numkeys); ++i) out.push_back(i);
}

// Pops up to count elements from the first key (in argument order) holding a non-empty
// list, replying [key, [elements]]; a null array when none does. A key of another type
// met before a list ends the command with WRONGTYPE, as in Redis.
Reply CmdLmpop(CmdCtx& ctx, Args args) {
  int64_t numkeys = 0;
  if (!ParseInt64(args[1], &numkeys) || numkeys < 1) {
    return Reply::Error("ERR numkeys should be greater than 0");
  }
  // The position word follows the keys: it must exist.
  if (static_cast<uint64_t>(numkeys) > args.size() - 3) return ErrorReply(OpStatus::kSyntax);
  const size_t where_idx = 2 + static_cast<size_t>(numkeys);
  End end = End::kLeft;
  if (!ParseEnd(args[where_idx], &end)) return ErrorReply(OpStatus::kSyntax);
  int64_t count = -1;
  for (size_t j = where_idx + 1; j < args.size(); ++j) {
    if (count == -1 && EqualsIgnoreCase(args[j], "COUNT") && j + 1 < args.size()) {
      if (!ParseInt64(args[++j], &count) || count < 1) {
        return Reply::Error("ERR count should be greater than 0");
      }
    } else {
      return ErrorReply(OpStatus::kSyntax);
    }
  }
  if (count == -1) count = 1;
  for (size_t k = 2; k < where_idx; ++k) {
    Db& db = ctx.db(args[k]);
    OpResult<Entry*> found = FindList(db, args[k], ctx.now_ms);
    if (!found.ok()) return ErrorReply(found.status());
    if (*found == nullptr) continue;
    ListValue& list = (*found)->as<ListValue>();
    std::vector<Reply> popped;
    const size_t n = std::min(list.size(), static_cast<size_t>(count));
    popped.reserve(n);
    for (size_t i = 0; i < n; ++i) popped.push_back(Reply::Bulk(PopEnd(list, end)));
    DeleteIfEmpty(db, *found);
    return Reply::Array({Reply::Bulk(args[k]), Reply::Array(std::move(popped))});
  }
  return Reply::NullArray();
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadOnly;

constexpr CommandSpec kListCommands[] = {
    {"LPUSH", -3, kW | kCmdDenyOom | kCmdFast, 1, 1, 1, CmdLpush},
    {"RPUSH", -3, kW | kCmdDenyOom | kCmdFast, 1, 1, 1, CmdRpush},
    {"LPUSHX", -3, kW | kCmdDenyOom | kCmdFast, 1, 1, 1, CmdLpushx},
    {"RPUSHX", -3, kW | kCmdDenyOom | kCmdFast, 1, 1, 1, CmdRpushx},
    {"LPOP", -2, kW | kCmdFast, 1, 1, 1, CmdLpop},
    {"RPOP", -2, kW | kCmdFast, 1, 1, 1, CmdRpop},
    {"LLEN", 2, kR | kCmdFast, 1, 1, 1, CmdLlen},
    {"LRANGE", 4, kR, 1, 1, 1, CmdLrange},
    {"LINDEX", 3, kR, 1, 1, 1, CmdLindex},
    {"LSET", 4, kW | kCmdDenyOom, 1, 1, 1, CmdLset},
    {"LREM", 4, kW, 1, 1, 1, CmdLrem},
    {"LTRIM", 4, kW, 1, 1, 1, CmdLtrim},
    {"LINSERT", 5, kW | kCmdDenyOom, 1, 1, 1, CmdLinsert},
    {"LPOS", -3, kR, 1, 1, 1, CmdLpos},
    {"LMOVE", 5, kW | kCmdDenyOom, 1, 2, 1, CmdLmove},
    {"RPOPLPUSH", 3, kW | kCmdDenyOom, 1, 2, 1, CmdRpoplpush},
    {"LMPOP", -4, kW, 0, 0, 0, CmdLmpop, LmpopKeys},
};

}  // namespace

void RegisterListFamily(CommandTable& t) { t.add(kListCommands); }

}  // namespace allot::internal
