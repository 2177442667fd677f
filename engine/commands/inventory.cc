// inventory.cc: the native inventory family (INV.*): argument parsing, replies and the
// command table. The operations themselves are in inventory_ops.cc; docs/commands.md
// documents every command for application developers.
//
// Every INV.* command has exactly one key, so it runs on the item's shard with no
// coordination, and it first expires the item's due holds (lazy expiry), so replies never
// show a hold past its deadline even before the shard's timer has run.
#include "engine/keyspace/inventory.h"

#include <memory>
#include <optional>

#include "engine/commands/family.h"
#include "engine/commands/inventory_ops.h"
#include "engine/pgsync/tracker.h"

namespace allot::internal {

namespace {

// Parses an integer argument that must lie in [lo, hi], with Redis's error texts.
bool ParseRangeOrReply(std::string_view s, int64_t lo, int64_t hi, int64_t* out, Reply* err) {
  int64_t v = 0;
  if (!ParseInt64(s, &v)) {
    *err = ErrorReply(OpStatus::kNotInteger);
    return false;
  }
  if (v < lo || v > hi) {
    *err = ErrorReply(lo == 1 && v < 1 ? OpStatus::kNotPositive : OpStatus::kOutOfRange);
    return false;
  }
  *out = v;
  return true;
}

bool CheckUserOrReply(std::string_view user, Reply* err) {
  if (user.size() <= limits::kUserIdBytesMax) return true;
  *err = Reply::Error("ERR user id is too long");
  return false;
}

// The options of INV.* commands; each command allows a subset.
enum InvOption : unsigned {
  kOptQty = 1u << 0,    // QTY n
  kOptTtl = 1u << 1,    // TTL ms
  kOptId = 1u << 2,     // ID id
  kOptLimit = 1u << 3,  // LIMIT n
  kOptHold = 1u << 4,   // HOLD ms
};

struct InvOptions {
  std::optional<int64_t> qty;
  std::optional<int64_t> ttl_ms;
  std::optional<std::string_view> id;
  int64_t limit = 0;
  int64_t hold_ttl_ms = limits::kHoldTtlMsDefault;
};

// Parses "NAME value" pairs from args[from..]. Options are case-insensitive; a repeated
// option takes its last value, as Redis's SET does with repeated flags it accepts.
bool ParseOptionsOrReply(Args args, size_t from, unsigned allowed, size_t id_bytes_max,
                         InvOptions* o, Reply* err) {
  for (size_t i = from; i < args.size(); i += 2) {
    std::string_view name = args[i];
    unsigned opt = EqualsIgnoreCase(name, "QTY")     ? kOptQty
                   : EqualsIgnoreCase(name, "TTL")   ? kOptTtl
                   : EqualsIgnoreCase(name, "ID")    ? kOptId
                   : EqualsIgnoreCase(name, "LIMIT") ? kOptLimit
                   : EqualsIgnoreCase(name, "HOLD")  ? kOptHold
                                                     : 0u;
    if ((opt & allowed) == 0 || i + 1 >= args.size()) {
      *err = ErrorReply(OpStatus::kSyntax);
      return false;
    }
    std::string_view v = args[i + 1];
    int64_t n = 0;
    switch (opt) {
      case kOptQty:
        if (!ParseRangeOrReply(v, 1, limits::kInventoryUnitsMax, &n, err)) return false;
        o->qty = n;
        break;
      case kOptTtl:
        if (!ParseRangeOrReply(v, 1, limits::kHoldTtlMsMax, &n, err)) return false;
        o->ttl_ms = n;
        break;
      case kOptLimit:
        if (!ParseRangeOrReply(v, 0, limits::kInventoryUnitsMax, &o->limit, err)) return false;
        break;
      case kOptHold:
        if (!ParseRangeOrReply(v, 1, limits::kHoldTtlMsMax, &o->hold_ttl_ms, err)) return false;
        break;
      case kOptId:
        if (v.size() > id_bytes_max) {
          *err = Reply::Error("ERR id is too long");
          return false;
        }
        o->id = v;
        break;
    }
  }
  return true;
}

// Where a command's item lives; valid while the handler runs.
struct Item {
  ShardState* shard = nullptr;
  int db = 0;
  std::string_view key;
  Inventory* inv = nullptr;
  ItemRef ref() const { return ItemRef{*shard, db, key, *inv}; }
};

// Finds the inventory at key and expires its due holds. If there is none, sets *err: for
// a read a null reply (as GET), for a write "ERR no such key"; for another type WRONGTYPE.
std::optional<Item> FindItemOrReply(CmdCtx& ctx, std::string_view key, bool read, Reply* err) {
  Entry* e = ctx.db(key).find(key, ctx.now_ms);
  if (e == nullptr) {
    *err = read ? Reply::Null() : ErrorReply(OpStatus::kNoSuchKey);
    return std::nullopt;
  }
  if (e->type() != ValueType::kInventory) {
    *err = ErrorReply(OpStatus::kWrongType);
    return std::nullopt;
  }
  Item item{&ctx.shard_of(key), ctx.session->db, key, e->as<InventoryValue>().get()};
  ALLOT_CHECK(item.inv != nullptr);
  RefreshItem(item.ref(), ctx.now_ms);
  // PostgreSQL sync: every inventory write marks its item here (EngineImpl::pg_track
  // leaves inventory commands to their handlers): no key lookup of its own per sale.
  if (!read) {
    if (PgTracker* t = PgTrackerFor(*item.shard, item.db)) t->mark_item(key, *item.inv);
  }
  return item;
}

// With PostgreSQL sync on and its backlog full (docs/postgres.md), new sales are refused
// rather than kept in memory without bound. Never during replay: the flag is only set by
// the running sync worker, and a record in the log was accepted when it ran.
bool SalesRefusedOrReply(const Item& item, Reply* err) {
  PgTracker* t = PgTrackerFor(*item.shard, item.db);
  if (t == nullptr || !t->shared->refuse_sales.load(std::memory_order_relaxed)) return false;
  *err = Reply::Error(
      "TRYAGAIN the PostgreSQL sync backlog is full (pg-backlog-max); sales resume when "
      "PostgreSQL catches up");
  return true;
}

// Ledger entry for PostgreSQL sync: one purchases row per sale or refund.
void RecordSale(CmdCtx& ctx, const Item& item, std::string_view user, int64_t qty,
                std::string_view hold_id, std::optional<std::string_view> request_id,
                bool cancelled) {
  PgRecordSale(PgTrackerFor(*item.shard, item.db), item.key, *item.inv, qty, ctx.now_ms, cancelled,
               user, hold_id, request_id.value_or(std::string_view()));
}

Reply IntOrError(const OpResult<int64_t>& r) {
  return r.ok() ? Reply::Int(r.value()) : ErrorReply(r.status());
}

// INV.CREATE key total [LIMIT n] [HOLD ms]
Reply CmdCreate(CmdCtx& ctx, Args args) {
  Reply err;
  int64_t total = 0;
  InvOptions o;
  if (!ParseRangeOrReply(args[2], 0, limits::kInventoryUnitsMax, &total, &err) ||
      !ParseOptionsOrReply(args, 3, kOptLimit | kOptHold, 0, &o, &err)) {
    return err;
  }
  Db& db = ctx.db(args[1]);
  if (db.find(args[1], ctx.now_ms) != nullptr) return ErrorReply(OpStatus::kKeyExists);
  auto inv = std::make_unique<Inventory>(MakeInventory(total, o.limit, o.hold_ttl_ms));
  // From the logged random state, so replay gives the item the same identity.
  inv->item_id = ctx.home->next_random() >> 1;  // fits PostgreSQL's signed bigint
  Entry* e = db.insert(args[1], std::move(inv), ctx.now_ms);
  if (PgTracker* t = PgTrackerFor(ctx.shard_of(args[1]), ctx.session->db)) {
    t->mark(args[1], e->as<InventoryValue>().get());
  }
  return Reply::Ok();
}

// INV.RESTOCK key n / INV.WITHDRAW key n
template <bool kRestock>
Reply CmdStock(CmdCtx& ctx, Args args) {
  Reply err;
  int64_t n = 0;
  if (!ParseRangeOrReply(args[2], 1, limits::kInventoryUnitsMax, &n, &err)) return err;
  auto item = FindItemOrReply(ctx, args[1], false, &err);
  if (!item) return err;
  return IntOrError(kRestock ? OpRestock(*item->inv, n) : OpWithdraw(*item->inv, n));
}

// INV.BUY key user [QTY n] [ID reqid]
Reply CmdBuy(CmdCtx& ctx, Args args) {
  Reply err;
  InvOptions o;
  if (!CheckUserOrReply(args[2], &err) ||
      !ParseOptionsOrReply(args, 3, kOptQty | kOptId, limits::kRequestIdBytesMax, &o, &err)) {
    return err;
  }
  auto item = FindItemOrReply(ctx, args[1], false, &err);
  if (!item) return err;
  if (SalesRefusedOrReply(*item, &err)) return err;
  const int64_t sold_before = item->inv->sold;
  auto r = OpBuy(*item->inv, args[2], o.qty.value_or(1), o.id);
  // A retry of a remembered request id answers 1 without selling: no new event.
  if (item->inv->sold > sold_before) {
    RecordSale(ctx, *item, args[2], item->inv->sold - sold_before, {}, o.id, false);
  }
  return IntOrError(r);
}

// INV.HOLD key user [QTY n] [TTL ms] [ID holdid]
Reply CmdHold(CmdCtx& ctx, Args args) {
  Reply err;
  InvOptions o;
  if (!CheckUserOrReply(args[2], &err) || !ParseOptionsOrReply(args, 3, kOptQty | kOptTtl | kOptId,
                                                               limits::kHoldIdBytesMax, &o, &err)) {
    return err;
  }
  auto item = FindItemOrReply(ctx, args[1], false, &err);
  if (!item) return err;
  if (SalesRefusedOrReply(*item, &err)) return err;
  int64_t ttl_ms = o.ttl_ms.value_or(item->inv->hold_ttl_ms);
  auto r = OpHold(item->ref(), args[2], o.qty.value_or(1), ttl_ms, o.id, ctx.now_ms);
  if (!r.ok()) return ErrorReply(r.status());
  if (r->code != kInvTaken) return Reply::Int(r->code);
  return Reply::Bulk(std::move(r->id));
}

// INV.CONFIRM key holdid / INV.RELEASE key holdid
template <bool kConfirm>
Reply CmdResolve(CmdCtx& ctx, Args args) {
  Reply err;
  auto item = FindItemOrReply(ctx, args[1], false, &err);
  if (!item) return err;
  if (!kConfirm) return IntOrError(OpRelease(item->ref(), args[2]));
  if (SalesRefusedOrReply(*item, &err)) return err;
  const int64_t sold_before = item->inv->sold;
  auto r = OpConfirm(item->ref(), args[2]);
  if (item->inv->sold > sold_before) {  // not a repeat: the hold was open
    auto h = item->inv->holds.find(args[2]);
    ALLOT_CHECK(h != item->inv->holds.end());
    RecordSale(ctx, *item, h->second.user, h->second.qty, args[2], std::nullopt, false);
  }
  return IntOrError(r);
}

// INV.EXTEND key holdid ms
Reply CmdExtend(CmdCtx& ctx, Args args) {
  Reply err;
  int64_t ms = 0;
  if (!ParseRangeOrReply(args[3], 1, limits::kHoldTtlMsMax, &ms, &err)) return err;
  auto item = FindItemOrReply(ctx, args[1], false, &err);
  if (!item) return err;
  return IntOrError(OpExtend(item->ref(), args[2], ms, ctx.now_ms));
}

// INV.CANCEL key user [QTY n]
Reply CmdCancel(CmdCtx& ctx, Args args) {
  Reply err;
  InvOptions o;
  if (!CheckUserOrReply(args[2], &err) || !ParseOptionsOrReply(args, 3, kOptQty, 0, &o, &err)) {
    return err;
  }
  auto item = FindItemOrReply(ctx, args[1], false, &err);
  if (!item) return err;
  if (SalesRefusedOrReply(*item, &err)) return err;
  int64_t n = OpCancel(*item->inv, args[2], o.qty);
  if (n > 0) RecordSale(ctx, *item, args[2], n, {}, std::nullopt, true);
  return Reply::Int(n);
}

void Field(std::vector<Reply>& kv, std::string_view name, int64_t v) {
  kv.push_back(Reply::Bulk(name));
  kv.push_back(Reply::Int(v));
}

// INV.GET key
Reply CmdGet(CmdCtx& ctx, Args args) {
  Reply err;
  auto item = FindItemOrReply(ctx, args[1], true, &err);
  if (!item) return err;
  const Inventory& inv = *item->inv;
  std::vector<Reply> kv;
  kv.reserve(16);
  Field(kv, "total", inv.total);
  Field(kv, "available", inv.available);
  Field(kv, "held", inv.held);
  Field(kv, "sold", inv.sold);
  Field(kv, "limit", inv.limit);
  Field(kv, "hold_ttl_ms", inv.hold_ttl_ms);
  Field(kv, "holds", static_cast<int64_t>(inv.open_hold_count()));
  Field(kv, "buyers", static_cast<int64_t>(inv.users.size()));
  return Reply::Map(std::move(kv));
}

// INV.USER key user
Reply CmdUser(CmdCtx& ctx, Args args) {
  Reply err;
  if (!CheckUserOrReply(args[2], &err)) return err;
  auto item = FindItemOrReply(ctx, args[1], true, &err);
  if (!item) return err;
  auto it = item->inv->users.find(args[2]);
  const InventoryUser* u = it == item->inv->users.end() ? nullptr : &it->second;
  std::vector<Reply> ids;
  if (u != nullptr) {
    ids.reserve(u->open_holds.size());
    for (const auto& [seq, id] : u->open_holds) ids.push_back(Reply::Bulk(id));
  }
  std::vector<Reply> kv;
  kv.reserve(6);
  Field(kv, "held", u == nullptr ? 0 : u->held);
  Field(kv, "bought", u == nullptr ? 0 : u->bought);
  kv.push_back(Reply::Bulk(std::string_view("holds")));
  kv.push_back(Reply::Array(std::move(ids)));
  return Reply::Map(std::move(kv));
}

// Under maxmemory, CREATE and RESTOCK (new items, more units) are refused like any write
// that grows memory. Selling is not: what BUY and HOLD add per item (a user entry, a hold,
// a remembered request id) is bounded by the units and the per-item caps admitted when
// the item was created or restocked, so a cache filling memory must not stop a sale;
// CONFIRM, RELEASE, EXTEND, CANCEL and WITHDRAW keep or free memory.
constexpr uint32_t kInvWrite = kCmdWrite | kCmdDenyOom | kCmdFast | kCmdInventory;
constexpr uint32_t kInvSale = kCmdWrite | kCmdFast | kCmdInventory;
constexpr uint32_t kInvRead = kCmdReadOnly | kCmdFast | kCmdInventory;

constexpr CommandSpec kInventoryCommands[] = {
    {"INV.CREATE", -3, kInvWrite, 1, 1, 1, CmdCreate},
    {"INV.RESTOCK", 3, kInvWrite, 1, 1, 1, CmdStock<true>},
    {"INV.WITHDRAW", 3, kInvSale, 1, 1, 1, CmdStock<false>},
    {"INV.BUY", -3, kInvSale, 1, 1, 1, CmdBuy},
    {"INV.HOLD", -3, kInvSale, 1, 1, 1, CmdHold},
    {"INV.CONFIRM", 3, kInvSale, 1, 1, 1, CmdResolve<true>},
    {"INV.RELEASE", 3, kInvSale, 1, 1, 1, CmdResolve<false>},
    {"INV.EXTEND", 4, kInvSale, 1, 1, 1, CmdExtend},
    {"INV.CANCEL", -3, kInvSale, 1, 1, 1, CmdCancel},
    {"INV.GET", 2, kInvRead, 1, 1, 1, CmdGet},
    {"INV.USER", 3, kInvRead, 1, 1, 1, CmdUser},
};

}  // namespace

void RegisterInventoryFamily(CommandTable& t) { t.add(kInventoryCommands); }

}  // namespace allot::internal
