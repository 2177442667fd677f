// inventory_ops.cc: the shard-local inventory operations, the hold state machine and the
// per-shard deadline index. See engine/keyspace/inventory.h for the data model.
#include "engine/commands/inventory_ops.h"

#include <algorithm>

#include "engine/keyspace/shard_state.h"
#include "engine/limits.h"
#include "engine/pgsync/tracker.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

// The user's entry, if any.
InventoryUser* FindUser(Inventory& inv, std::string_view user) {
  auto it = inv.users.find(user);
  return it == inv.users.end() ? nullptr : &it->second;
}

InventoryUser& UserFor(Inventory& inv, std::string_view user) {
  auto it = inv.users.find(user);
  if (it == inv.users.end()) it = inv.users.emplace(std::string(user), InventoryUser{}).first;
  return it->second;
}

// Users with nothing held or bought are dropped, so `buyers` is users.size() and memory
// follows live buyers only.
void DropUserIfEmpty(Inventory& inv, std::string_view user) {
  auto it = inv.users.find(user);
  ALLOT_CHECK(it != inv.users.end());
  if (it->second.held == 0 && it->second.bought == 0) {
    ALLOT_CHECK(it->second.open_holds.empty());
    inv.users.erase(it);
  }
}

// Whether user may take qty more units: the seed script's "already purchased" check,
// generalised to a per-user limit.
bool WithinLimit(const Inventory& inv, const InventoryUser* u, int64_t qty) {
  if (inv.limit == 0) return true;
  int64_t mine = u == nullptr ? 0 : u->held + u->bought;
  return mine + qty <= inv.limit;
}

// Remembers a resolved hold id, forgetting the oldest resolution past the bound.
void RememberResolved(Inventory& inv, const std::string& id) {
  inv.resolved_order.push_back(id);
  if (inv.resolved_order.size() > limits::kResolvedHoldsPerItemMax) {
    auto it = inv.holds.find(inv.resolved_order.front());
    ALLOT_CHECK(it != inv.holds.end() && it->second.state != HoldState::kOpen);
    inv.holds.erase(it);
    inv.resolved_order.pop_front();
  }
  ALLOT_DCHECK(inv.resolved_order.size() <= limits::kResolvedHoldsPerItemMax);
}

// Moves an open hold to its final state `to`, moving its units to sold or available.
void ResolveHold(Inventory& inv, const std::string& id, Hold& h, HoldState to) {
  ALLOT_CHECK(h.state == HoldState::kOpen && to != HoldState::kOpen);
  InventoryUser* u = FindUser(inv, h.user);
  ALLOT_CHECK(u != nullptr && u->held >= h.qty);
  size_t erased = inv.open_deadlines.erase({h.deadline_ms, id});
  ALLOT_CHECK(erased == 1);
  erased = u->open_holds.erase(h.seq);
  ALLOT_CHECK(erased == 1);
  inv.held -= h.qty;
  u->held -= h.qty;
  if (to == HoldState::kConfirmed) {
    inv.sold += h.qty;
    u->bought += h.qty;
  } else {
    inv.available += h.qty;
  }
  h.state = to;
  CheckInventory(inv, u);
  // h and id may belong to the entry evicted below: nothing may use them afterwards.
  std::string user = h.user;
  RememberResolved(inv, id);
  DropUserIfEmpty(inv, user);
}

int64_t ResolvedCode(HoldState s) {
  switch (s) {
    case HoldState::kExpired:
      return kInvHoldExpired;
    case HoldState::kReleased:
      return kInvHoldReleased;
    case HoldState::kConfirmed:
      return kInvHoldConfirmed;
    case HoldState::kOpen:
      break;
  }
  ALLOT_CHECK(false && "ResolvedCode(kOpen)");
  return 0;
}

bool TagMatches(const Inventory& inv, const ShardState& shard, int db, std::string_view key) {
  return inv.timer_deadline_ms != 0 && inv.timer_shard == shard.id && inv.timer_db == db &&
         inv.timer_key == key;
}

}  // namespace

Inventory MakeInventory(int64_t total, int64_t limit, int64_t hold_ttl_ms) {
  ALLOT_CHECK(total >= 0 && total <= limits::kInventoryUnitsMax);
  ALLOT_CHECK(limit >= 0 && hold_ttl_ms > 0 && hold_ttl_ms <= limits::kHoldTtlMsMax);
  Inventory inv;
  inv.total = total;
  inv.available = total;
  inv.limit = limit;
  inv.hold_ttl_ms = hold_ttl_ms;
  CheckInventory(inv, nullptr);
  return inv;
}

void CheckInventory(const Inventory& inv, const InventoryUser* user) {
  ALLOT_CHECK(inv.available >= 0 && inv.held >= 0 && inv.sold >= 0);
  ALLOT_CHECK(inv.total == inv.available + inv.held + inv.sold);
  ALLOT_CHECK(inv.total <= limits::kInventoryUnitsMax);
  if (user != nullptr) {
    ALLOT_CHECK(user->held >= 0 && user->bought >= 0);
    ALLOT_CHECK(user->held <= inv.held && user->bought <= inv.sold);
    ALLOT_CHECK(inv.limit == 0 || user->held + user->bought <= inv.limit);
  }
}

size_t ExpireItemHolds(ItemRef item, int64_t now_ms, size_t max) {
  Inventory& inv = item.inv;
  size_t n = 0;
  while (n < max && !inv.open_deadlines.empty() && inv.open_deadlines.begin()->first <= now_ms) {
    // Copy the id: ResolveHold erases the set element it lives in.
    std::string id = inv.open_deadlines.begin()->second;
    auto it = inv.holds.find(id);
    ALLOT_CHECK(it != inv.holds.end());
    ResolveHold(inv, id, it->second, HoldState::kExpired);
    ++n;
  }
  item.shard.stats.expired_holds += n;
  // Expired holds (by the shard timer or lazily) change the item: WATCH sees that.
  if (n > 0 && !item.shard.watches.empty()) {
    item.shard.watches.touch(item.db, item.key, item.shard.dbs[item.db]);
  }
  // Expiry is not logged (docs/durability.md): PostgreSQL sync learns of it here.
  if (n > 0) {
    if (PgTracker* t = PgTrackerFor(item.shard, item.db)) t->mark_item(item.key, inv);
  }
  return n;
}

void SyncItemTimer(ItemRef item) {
  Inventory& inv = item.inv;
  auto& due = item.shard.inventory_timers->due;
  bool registered_here = TagMatches(inv, item.shard, item.db, item.key);
  int64_t first = inv.open_deadlines.empty() ? 0 : inv.open_deadlines.begin()->first;
  if (registered_here && inv.timer_deadline_ms == first) return;
  // Only an entry under this very name is ours to remove; one under an old name (the item
  // was moved) is skipped when it fires.
  if (registered_here) due.erase({inv.timer_deadline_ms, item.db, std::string(item.key)});
  inv.timer_deadline_ms = 0;
  if (first == 0) return;
  due.emplace(first, item.db, std::string(item.key));
  inv.timer_deadline_ms = first;
  inv.timer_shard = item.shard.id;
  inv.timer_db = item.db;
  if (inv.timer_key != item.key) inv.timer_key.assign(item.key);
}

void RefreshItem(ItemRef item, int64_t now_ms) {
  ExpireItemHolds(item, now_ms, SIZE_MAX);
  SyncItemTimer(item);
}

void InventoryKeyAttached(ShardState& shard, int db, std::string_view key, Inventory& inv) {
  SyncItemTimer(ItemRef{shard, db, key, inv});
}

int64_t ExpireDueHolds(ShardState& shard, int64_t now_ms, size_t max) {
  auto& due = shard.inventory_timers->due;
  size_t budget = max;
  while (budget > 0 && !due.empty() && std::get<0>(*due.begin()) <= now_ms) {
    // Take the entry out first: SyncItemTimer may insert this item's next deadline.
    auto node = due.extract(due.begin());
    auto& [deadline_ms, db, key] = node.value();
    ALLOT_CHECK(db >= 0 && db < limits::kDatabaseCount);
    Entry* e = shard.dbs[db].peek(key, now_ms);
    // Deleted, overwritten by another type or flushed since: the entry is stale.
    if (e == nullptr || e->type() != ValueType::kInventory) continue;
    Inventory& inv = *e->as<InventoryValue>();
    // The item's live entry was just taken out of the index; forget it so SyncItemTimer
    // registers the next deadline. A stale entry only triggers a harmless early check.
    if (TagMatches(inv, shard, db, key) && inv.timer_deadline_ms == deadline_ms) {
      inv.timer_deadline_ms = 0;
    }
    ItemRef item{shard, db, key, inv};
    // Every entry taken costs budget, so stale entries cannot make one sweep long.
    budget -= std::max<size_t>(1, ExpireItemHolds(item, now_ms, budget));
    SyncItemTimer(item);
  }
  if (due.empty()) return -1;
  return std::max<int64_t>(0, std::get<0>(*due.begin()) - now_ms);
}

OpResult<int64_t> OpRestock(Inventory& inv, int64_t n) {
  ALLOT_DCHECK(n > 0);
  if (n > limits::kInventoryUnitsMax - inv.total) return OpStatus::kOverflow;
  inv.total += n;
  inv.available += n;
  CheckInventory(inv, nullptr);
  return inv.available;
}

OpResult<int64_t> OpWithdraw(Inventory& inv, int64_t n) {
  ALLOT_DCHECK(n > 0);
  if (n > inv.available) return OpStatus::kNotEnoughStock;
  inv.total -= n;
  inv.available -= n;
  CheckInventory(inv, nullptr);
  return inv.available;
}

OpResult<int64_t> OpBuy(Inventory& inv, std::string_view user, int64_t qty,
                        std::optional<std::string_view> request_id) {
  ALLOT_DCHECK(qty > 0);
  if (request_id) {
    auto it = inv.buy_requests.find(*request_id);
    if (it != inv.buy_requests.end()) {
      if (it->second.user != user || it->second.qty != qty) return OpStatus::kIdConflict;
      return kInvTaken;  // A retry: the first attempt took the units.
    }
  }
  // The seed script's order: sold out first, then the user's limit.
  if (inv.available < qty) return kInvSoldOut;
  if (!WithinLimit(inv, FindUser(inv, user), qty)) return kInvOverLimit;
  InventoryUser& u = UserFor(inv, user);
  inv.available -= qty;
  inv.sold += qty;
  u.bought += qty;
  CheckInventory(inv, &u);
  if (request_id) {
    inv.buy_requests.emplace(std::string(*request_id), BuyRequest{std::string(user), qty});
    inv.buy_request_order.emplace_back(*request_id);
    if (inv.buy_request_order.size() > limits::kBuyRequestIdsPerItemMax) {
      inv.buy_requests.erase(inv.buy_request_order.front());
      inv.buy_request_order.pop_front();
    }
    ALLOT_CHECK(inv.buy_requests.size() == inv.buy_request_order.size());
  }
  return kInvTaken;
}

OpResult<HoldOutcome> OpHold(ItemRef item, std::string_view user, int64_t qty, int64_t ttl_ms,
                             std::optional<std::string_view> hold_id, int64_t now_ms) {
  ALLOT_DCHECK(qty > 0 && ttl_ms > 0 && ttl_ms <= limits::kHoldTtlMsMax);
  Inventory& inv = item.inv;
  if (hold_id) {
    auto it = inv.holds.find(*hold_id);
    if (it != inv.holds.end()) {
      if (it->second.user != user || it->second.qty != qty) return OpStatus::kIdConflict;
      return HoldOutcome{kInvTaken, std::string(*hold_id)};  // A retry: same hold.
    }
  }
  if (inv.available < qty) return HoldOutcome{kInvSoldOut, {}};
  if (!WithinLimit(inv, FindUser(inv, user), qty)) return HoldOutcome{kInvOverLimit, {}};
  uint64_t seq = inv.next_hold_seq++;
  std::string id = hold_id ? std::string(*hold_id) : std::to_string(seq);
  // An assigned id skips numbers a client already chose as its own ids (bounded: each
  // skip passes one existing hold).
  while (!hold_id && inv.holds.contains(id)) {
    seq = inv.next_hold_seq++;
    id = std::to_string(seq);
  }
  int64_t deadline_ms = now_ms + ttl_ms;
  inv.holds.emplace(id, Hold{std::string(user), qty, deadline_ms, seq, HoldState::kOpen});
  inv.open_deadlines.emplace(deadline_ms, id);
  InventoryUser& u = UserFor(inv, user);
  u.open_holds.emplace(seq, id);
  u.held += qty;
  inv.available -= qty;
  inv.held += qty;
  CheckInventory(inv, &u);
  SyncItemTimer(item);
  return HoldOutcome{kInvTaken, std::move(id)};
}

OpResult<int64_t> OpConfirm(ItemRef item, std::string_view hold_id) {
  auto it = item.inv.holds.find(hold_id);
  if (it == item.inv.holds.end()) return OpStatus::kNoSuchHold;
  Hold& h = it->second;
  if (h.state == HoldState::kConfirmed) return int64_t{1};  // Idempotent repeat.
  if (h.state != HoldState::kOpen) return ResolvedCode(h.state);
  ResolveHold(item.inv, it->first, h, HoldState::kConfirmed);
  SyncItemTimer(item);
  return int64_t{1};
}

OpResult<int64_t> OpRelease(ItemRef item, std::string_view hold_id) {
  auto it = item.inv.holds.find(hold_id);
  if (it == item.inv.holds.end()) return OpStatus::kNoSuchHold;
  Hold& h = it->second;
  if (h.state == HoldState::kReleased) return int64_t{1};  // Idempotent repeat.
  if (h.state != HoldState::kOpen) return ResolvedCode(h.state);
  ResolveHold(item.inv, it->first, h, HoldState::kReleased);
  SyncItemTimer(item);
  return int64_t{1};
}

OpResult<int64_t> OpExtend(ItemRef item, std::string_view hold_id, int64_t ms, int64_t now_ms) {
  ALLOT_DCHECK(ms > 0);
  Inventory& inv = item.inv;
  auto it = inv.holds.find(hold_id);
  if (it == inv.holds.end()) return OpStatus::kNoSuchHold;
  Hold& h = it->second;
  if (h.state != HoldState::kOpen) return ResolvedCode(h.state);
  // Lazy expiry ran first, so an open hold's deadline is in the future.
  ALLOT_CHECK(h.deadline_ms > now_ms);
  if (ms > limits::kHoldTtlMsMax - (h.deadline_ms - now_ms)) return OpStatus::kOutOfRange;
  size_t erased = inv.open_deadlines.erase({h.deadline_ms, it->first});
  ALLOT_CHECK(erased == 1);
  h.deadline_ms += ms;
  inv.open_deadlines.emplace(h.deadline_ms, it->first);
  SyncItemTimer(item);
  return h.deadline_ms;
}

int64_t OpCancel(Inventory& inv, std::string_view user, std::optional<int64_t> qty) {
  InventoryUser* u = FindUser(inv, user);
  if (u == nullptr || u->bought == 0) return 0;
  int64_t n = qty ? std::min(*qty, u->bought) : u->bought;
  ALLOT_CHECK(n > 0 && n <= inv.sold);
  u->bought -= n;
  inv.sold -= n;
  inv.available += n;
  CheckInventory(inv, u);
  DropUserIfEmpty(inv, user);
  return n;
}

}  // namespace allot::internal
