// keys.cc: the generic key family: DEL, UNLINK, EXISTS, TYPE, OBJECT, TOUCH, the EXPIRE and TTL
// families, PERSIST, RENAME, RENAMENX, COPY and MOVE. The keyless commands that walk every shard
// (KEYS, SCAN, RANDOMKEY) are in keys_scan.cc.
//
// Replies and errors follow Redis 7 (expire.c, db.c). Every lookup goes through Db::find,
// so a key whose TTL has passed is deleted and treated as missing by every command here.
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <variant>

#include "engine/commands/expire_util.h"
#include "engine/commands/family.h"
#include "engine/commands/object_encoding.h"
#include "engine/keyspace/inventory.h"
#include "engine/pgsync/tracker.h"

namespace allot::internal {

// KEYS, SCAN, RANDOMKEY (keys_scan.cc); called by RegisterKeyFamily.
void RegisterKeyScanCommands(CommandTable& t);

// OBJECT ENCODING: the name Redis 7.0 would report for this value, from its content
// (Allot has one representation per type; these are the encodings Redis's thresholds pick
// for a value built from scratch, so a client switching on them sees what it expects).
const char* RedisEncodingName(const Entry& e) {
  switch (e.type()) {
    case ValueType::kString: {
      const std::string& s = e.as<StringValue>();
      int64_t v = 0;
      if (s.size() <= 20 && ParseInt64(s, &v)) return "int";
      return s.size() <= limits::kEmbstrBytesMax ? "embstr" : "raw";
    }
    case ValueType::kSet: {
      const SetValue& set = e.as<SetValue>();
      if (set.size() > limits::kSetIntsetEntriesMax) return "hashtable";
      int64_t v = 0;
      for (const std::string& m : set) {
        if (!ParseInt64(m, &v)) return "hashtable";
      }
      return "intset";
    }
    case ValueType::kHash: {
      const HashValue& h = e.as<HashValue>();
      if (h.size() > limits::kHashListpackEntriesMax) return "hashtable";
      for (const auto& [f, v] : h) {
        if (f.size() > limits::kHashListpackValueBytesMax ||
            v.size() > limits::kHashListpackValueBytesMax) {
          return "hashtable";
        }
      }
      return "listpack";
    }
    case ValueType::kList:
      return "quicklist";  // Redis 7.0 (7.2 reports listpack for small lists)
    case ValueType::kInventory:
      return "native";  // not a Redis type: Allot's inventory item
  }
  return "unknown";
}

namespace {

Reply CmdDel(CmdCtx& ctx, Args args) {
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); ++i) n += ctx.db(args[i]).erase(args[i], ctx.now_ms);
  return Reply::Int(n);
}

// EXISTS and TOUCH: how many of the arguments exist, counting a repeated key every time.
Reply CmdExists(CmdCtx& ctx, Args args) {
  int64_t n = 0;
  for (size_t i = 1; i < args.size(); ++i)
    n += ctx.db(args[i]).find(args[i], ctx.now_ms) != nullptr;
  return Reply::Int(n);
}

Reply CmdType(CmdCtx& ctx, Args args) {
  Entry* e = ctx.db(args[1]).find(args[1], ctx.now_ms);
  return Reply::Status(e == nullptr ? "none" : TypeName(e->type()));
}

Reply CmdObject(CmdCtx& ctx, Args args) {
  std::string_view sub = args[1];
  auto wrong_args = [&] {
    std::string name = "object|";
    for (char c : sub)
      name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return Reply::Error("ERR wrong number of arguments for '" + name + "' command");
  };
  if (EqualsIgnoreCase(sub, "HELP")) {
    if (args.size() != 2) return wrong_args();
    std::vector<Reply> lines;
    for (const char* l :
         {"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "ENCODING <key>",
          "    Return the kind of internal representation used in order to store the value",
          "    associated with a <key>.", "FREQ <key>",
          "    Return the access frequency index of the <key>. The returned integer is",
          "    proportional to the logarithm of the recent access frequency of the key.",
          "IDLETIME <key>",
          "    Return the idle time of the <key>, that is the approximated number of",
          "    seconds elapsed since the last access to the key.", "REFCOUNT <key>",
          "    Return the number of references of the value associated with the specified",
          "    <key>.", "HELP", "    Prints this help."}) {
      lines.push_back(Reply::Status(l));
    }
    return Reply::Array(std::move(lines));
  }
  bool known = EqualsIgnoreCase(sub, "ENCODING") || EqualsIgnoreCase(sub, "REFCOUNT") ||
               EqualsIgnoreCase(sub, "FREQ") || EqualsIgnoreCase(sub, "IDLETIME");
  if (!known) {
    return Reply::Error("ERR unknown subcommand '" + std::string(sub.substr(0, 128)) +
                        "'. Try OBJECT HELP.");
  }
  if (args.size() != 3) return wrong_args();
  Entry* e = ctx.db(args[2]).find(args[2], ctx.now_ms);
  if (e == nullptr) return Reply::Null();
  if (EqualsIgnoreCase(sub, "ENCODING"))
    return Reply::Bulk(std::string_view(RedisEncodingName(*e)));
  if (EqualsIgnoreCase(sub, "REFCOUNT")) {
    // Redis shares the integers 0..9999 and reports them with OBJ_SHARED_REFCOUNT.
    int64_t v = -1;
    if (e->type() == ValueType::kString && std::string_view(RedisEncodingName(*e)) == "int" &&
        ParseInt64(e->as<StringValue>(), &v) && v >= 0 && v < limits::kSharedIntegersMax) {
      return Reply::Int(std::numeric_limits<int32_t>::max());
    }
    return Reply::Int(1);
  }
  if (EqualsIgnoreCase(sub, "FREQ")) {
    // Allot tracks no access frequency; Redis says the same when no LFU policy is set.
    return Reply::Error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
        "that when switching between policies at runtime LRU and LFU data will take some time "
        "to adjust.");
  }
  // IDLETIME: Allot keeps no per-key access time (it would grow every entry); refused
  // rather than answered with a made-up number.
  return Reply::Error("ERR OBJECT IDLETIME is not supported: Allot keeps no per-key access time");
}

// EXPIRE-family conditions (Redis 7's NX, XX, GT, LT).
enum ExpireCondition : uint32_t {
  kExpireNx = 1u << 0,
  kExpireXx = 1u << 1,
  kExpireGt = 1u << 2,
  kExpireLt = 1u << 3,
};

// The conditions in args[3..], or the error reply Redis gives for them.
struct ExpireConditions {
  uint32_t bits = 0;
  Reply error;  // an error reply when parsing failed, else null
};

ExpireConditions ParseExpireConditions(Args args) {
  ExpireConditions c;
  for (size_t j = 3; j < args.size(); ++j) {
    std::string_view opt = args[j];
    if (EqualsIgnoreCase(opt, "NX")) {
      c.bits |= kExpireNx;
    } else if (EqualsIgnoreCase(opt, "XX")) {
      c.bits |= kExpireXx;
    } else if (EqualsIgnoreCase(opt, "GT")) {
      c.bits |= kExpireGt;
    } else if (EqualsIgnoreCase(opt, "LT")) {
      c.bits |= kExpireLt;
    } else {
      c.error = Reply::Error("ERR Unsupported option " + std::string(opt));
      return c;
    }
  }
  if ((c.bits & kExpireNx) && (c.bits & (kExpireXx | kExpireGt | kExpireLt))) {
    c.error = Reply::Error("ERR NX and XX, GT or LT options at the same time are not compatible");
  } else if ((c.bits & kExpireGt) && (c.bits & kExpireLt)) {
    c.error = Reply::Error("ERR GT and LT options at the same time are not compatible");
  }
  return c;
}

// Whether the conditions allow replacing the expiry current_ms (0 = none, which GT and LT
// treat as an infinite TTL) by when_ms.
bool ExpireConditionsHold(uint32_t bits, int64_t current_ms, int64_t when_ms) {
  bool has_ttl = current_ms != 0;
  if ((bits & kExpireNx) && has_ttl) return false;
  if ((bits & kExpireXx) && !has_ttl) return false;
  if ((bits & kExpireGt) && (!has_ttl || when_ms <= current_ms)) return false;
  if ((bits & kExpireLt) && has_ttl && when_ms >= current_ms) return false;
  return true;
}

// EXPIRE's time argument as an absolute ms deadline. Unlike SET's, it may be zero or
// negative (the key is then deleted); only overflow of the unit conversion or of the
// addition of base_ms (now for relative commands, 0 for *AT) is an error (kOutOfRange).
OpResult<int64_t> ExpireArgToMs(std::string_view arg, bool seconds, int64_t base_ms) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  int64_t v = 0;
  if (!ParseInt64(arg, &v)) return OpStatus::kNotInteger;
  if (seconds) {
    if (v > kMax / 1000 || v < kMin / 1000) return OpStatus::kOutOfRange;
    v *= 1000;
  }
  if (v > kMax - base_ms) return OpStatus::kOutOfRange;
  return v + base_ms;
}

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time [NX|XX|GT|LT ...]: 1 if the deadline was
// set (or the key deleted because it has passed), 0 if the key is missing or a condition
// failed.
Reply ExpireGeneric(CmdCtx& ctx, Args args, bool seconds, bool relative) {
  ExpireConditions cond = ParseExpireConditions(args);
  if (cond.error.is_error()) return cond.error;
  OpResult<int64_t> when = ExpireArgToMs(args[2], seconds, relative ? ctx.now_ms : 0);
  if (!when.ok()) return ExpireParseError(when.status(), args[0]);
  Db& db = ctx.db(args[1]);
  Entry* e = db.find(args[1], ctx.now_ms);
  if (e == nullptr) return Reply::Int(0);
  if (!ExpireConditionsHold(cond.bits, e->expire_at_ms, *when)) return Reply::Int(0);
  ExpireOrDelete(db, e, *when, ctx.now_ms);
  return Reply::Int(1);
}

Reply CmdExpire(CmdCtx& ctx, Args args) { return ExpireGeneric(ctx, args, true, true); }
Reply CmdPexpire(CmdCtx& ctx, Args args) { return ExpireGeneric(ctx, args, false, true); }
Reply CmdExpireat(CmdCtx& ctx, Args args) { return ExpireGeneric(ctx, args, true, false); }
Reply CmdPexpireat(CmdCtx& ctx, Args args) { return ExpireGeneric(ctx, args, false, false); }

// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without a TTL; seconds are
// rounded to the nearest, as Redis's (ttl+500)/1000.
Reply TtlGeneric(CmdCtx& ctx, std::string_view key, bool ms, bool absolute) {
  Entry* e = ctx.db(key).find(key, ctx.now_ms);
  if (e == nullptr) return Reply::Int(-2);
  if (e->expire_at_ms == 0) return Reply::Int(-1);
  int64_t t = absolute ? e->expire_at_ms : e->expire_at_ms - ctx.now_ms;
  if (t < 0) t = 0;
  return Reply::Int(ms ? t : (t + 500) / 1000);
}

Reply CmdTtl(CmdCtx& ctx, Args args) { return TtlGeneric(ctx, args[1], false, false); }
Reply CmdPttl(CmdCtx& ctx, Args args) { return TtlGeneric(ctx, args[1], true, false); }
Reply CmdExpiretime(CmdCtx& ctx, Args args) { return TtlGeneric(ctx, args[1], false, true); }
Reply CmdPexpiretime(CmdCtx& ctx, Args args) { return TtlGeneric(ctx, args[1], true, true); }

Reply CmdPersist(CmdCtx& ctx, Args args) {
  Db& db = ctx.db(args[1]);
  Entry* e = db.find(args[1], ctx.now_ms);
  if (e == nullptr || e->expire_at_ms == 0) return Reply::Int(0);
  db.set_expire(e, 0);
  return Reply::Int(1);
}

// An inventory that changed name or database registers its hold deadlines under the new
// place at once, so the shard timer keeps expiring them without waiting for an INV.* call.
void AttachIfInventory(ShardState& shard, int db, std::string_view key, Entry* e) {
  if (e->type() == ValueType::kInventory) {
    InventoryKeyAttached(shard, db, key, *e->as<InventoryValue>());
  }
}

// RENAME / RENAMENX src dst. The two keys may live on different shards (both are held):
// the value moves between the Db objects with its TTL, as Redis keeps it.
Reply RenameGeneric(CmdCtx& ctx, Args args, bool nx) {
  Db& src = ctx.db(args[1]);
  Entry* e = src.find(args[1], ctx.now_ms);
  if (e == nullptr) return ErrorReply(OpStatus::kNoSuchKey);
  if (args[1] == args[2]) return nx ? Reply::Int(0) : Reply::Ok();
  Db& dst = ctx.db(args[2]);
  if (nx && dst.find(args[2], ctx.now_ms) != nullptr) return Reply::Int(0);
  int64_t at_ms = e->expire_at_ms;
  Value value = std::move(e->value);
  src.erase(e);
  Entry* moved = dst.assign(args[2], std::move(value), ctx.now_ms);
  if (at_ms != 0) dst.set_expire(moved, at_ms);
  AttachIfInventory(ctx.shard_of(args[2]), ctx.session->db, args[2], moved);
  return nx ? Reply::Int(1) : Reply::Ok();
}

Reply CmdRename(CmdCtx& ctx, Args args) { return RenameGeneric(ctx, args, false); }
Reply CmdRenamenx(CmdCtx& ctx, Args args) { return RenameGeneric(ctx, args, true); }

// A deep copy of v, or nullopt for an inventory: its holds have deadlines registered with
// the shard's timers, which a plain copy would not carry.
std::optional<Value> CloneValue(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::optional<Value> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, InventoryValue>) {
          return std::nullopt;
        } else {
          return Value(std::in_place_type<T>, x);
        }
      },
      v);
}

struct CopyOptions {
  int db = 0;
  bool replace = false;
  Reply error;  // an error reply when parsing failed, else null
};

// A database index argument (COPY's DB, MOVE): an int, then within SELECT's range.
OpResult<int> ParseDbIndex(std::string_view arg) {
  int64_t db = 0;
  if (!ParseInt64(arg, &db) || db < std::numeric_limits<int>::min() ||
      db > std::numeric_limits<int>::max()) {
    return OpStatus::kNotInteger;
  }
  if (db < 0 || db >= limits::kDatabaseCount) return OpStatus::kDbIndex;
  return static_cast<int>(db);
}

// COPY's [DB destination-db] [REPLACE] in args[3..]; db defaults to the session's.
CopyOptions ParseCopyOptions(Args args, int session_db) {
  CopyOptions o;
  o.db = session_db;
  for (size_t j = 3; j < args.size(); ++j) {
    if (EqualsIgnoreCase(args[j], "REPLACE")) {
      o.replace = true;
    } else if (EqualsIgnoreCase(args[j], "DB") && j + 1 < args.size()) {
      OpResult<int> db = ParseDbIndex(args[++j]);
      if (!db.ok()) {
        o.error = ErrorReply(db.status());
        return o;
      }
      o.db = *db;
    } else {
      o.error = ErrorReply(OpStatus::kSyntax);
      return o;
    }
  }
  return o;
}

// COPY source destination [DB destination-db] [REPLACE]: 1 if copied (with the TTL), 0 if
// the source is missing or the destination exists without REPLACE.
Reply CmdCopy(CmdCtx& ctx, Args args) {
  CopyOptions o = ParseCopyOptions(args, ctx.session->db);
  if (o.error.is_error()) return o.error;
  if (o.db == ctx.session->db && args[1] == args[2]) {
    return Reply::Error("ERR source and destination objects are the same");
  }
  Entry* e = ctx.db(args[1]).find(args[1], ctx.now_ms);
  if (e == nullptr) return Reply::Int(0);
  Db& dst = ctx.shard_of(args[2]).dbs[o.db];
  bool dst_exists = dst.find(args[2], ctx.now_ms) != nullptr;
  if (dst_exists && !o.replace) return Reply::Int(0);
  std::optional<Value> copy = CloneValue(e->value);
  if (!copy) return Reply::Error("ERR COPY is not supported for inventory keys");
  Entry* created = dst.assign(args[2], std::move(*copy), ctx.now_ms);
  if (e->expire_at_ms != 0) dst.set_expire(created, e->expire_at_ms);
  // Into database 0 from another: PostgreSQL sync tracks only database-0 commands itself.
  if (o.db == 0 && ctx.session->db != 0) PgArrivedInDb0(ctx.shard_of(args[2]), args[2], created);
  return Reply::Int(1);
}

// MOVE key db: moves the key (with its TTL) to another database of the same shard; 0 if
// it is missing or the destination database already has the key.
Reply CmdMove(CmdCtx& ctx, Args args) {
  OpResult<int> db = ParseDbIndex(args[2]);
  if (!db.ok()) return ErrorReply(db.status());
  if (*db == ctx.session->db) {
    return Reply::Error("ERR source and destination objects are the same");
  }
  Db& src = ctx.db(args[1]);
  Entry* e = src.find(args[1], ctx.now_ms);
  if (e == nullptr) return Reply::Int(0);
  ShardState& shard = ctx.shard_of(args[1]);
  Db& dst = shard.dbs[*db];
  if (dst.find(args[1], ctx.now_ms) != nullptr) return Reply::Int(0);
  // Out of database 0, an item is deleted for PostgreSQL: its unsent sales become orphans
  // (the find above saved it for a running checkpoint first). The key's row goes by the
  // tracking of this database-0 command (EngineImpl::pg_track).
  if (ctx.session->db == 0 && e->type() == ValueType::kInventory) {
    PgItemLeft(PgTrackerFor(shard, 0), *e->key, *e->as<InventoryValue>());
  }
  int64_t at_ms = e->expire_at_ms;
  Entry* moved = dst.insert(args[1], std::move(e->value), ctx.now_ms);
  if (at_ms != 0) dst.set_expire(moved, at_ms);
  src.erase(e);
  AttachIfInventory(shard, *db, args[1], moved);
  if (*db == 0) PgArrivedInDb0(shard, args[1], moved);
  return Reply::Int(1);
}

constexpr uint32_t kW = kCmdWrite;
constexpr uint32_t kR = kCmdReadOnly;
constexpr uint32_t kF = kCmdFast;

constexpr CommandSpec kKeyCommands[] = {
    {"DEL", -2, kW, 1, -1, 1, CmdDel},
    {"UNLINK", -2, kW | kF, 1, -1, 1, CmdDel},
    {"EXISTS", -2, kR | kF, 1, -1, 1, CmdExists},
    {"TOUCH", -2, kR | kF, 1, -1, 1, CmdExists},
    {"TYPE", 2, kR | kF, 1, 1, 1, CmdType},
    {"OBJECT", -2, kR, 2, 2, 1, CmdObject},
    {"EXPIRE", -3, kW | kF, 1, 1, 1, CmdExpire},
    {"PEXPIRE", -3, kW | kF, 1, 1, 1, CmdPexpire},
    {"EXPIREAT", -3, kW | kF, 1, 1, 1, CmdExpireat},
    {"PEXPIREAT", -3, kW | kF, 1, 1, 1, CmdPexpireat},
    {"TTL", 2, kR | kF, 1, 1, 1, CmdTtl},
    {"PTTL", 2, kR | kF, 1, 1, 1, CmdPttl},
    {"EXPIRETIME", 2, kR | kF, 1, 1, 1, CmdExpiretime},
    {"PEXPIRETIME", 2, kR | kF, 1, 1, 1, CmdPexpiretime},
    {"PERSIST", 2, kW | kF, 1, 1, 1, CmdPersist},
    {"RENAME", 3, kW, 1, 2, 1, CmdRename},
    {"RENAMENX", 3, kW | kF, 1, 2, 1, CmdRenamenx},
    {"COPY", -3, kW | kCmdDenyOom, 1, 2, 1, CmdCopy},
    {"MOVE", 3, kW | kF, 1, 1, 1, CmdMove},
};

}  // namespace

void RegisterKeyFamily(CommandTable& t) {
  t.add(kKeyCommands);
  RegisterKeyScanCommands(t);
}

}  // namespace allot::internal
