// inventory_ops.h: the shard-local operations on one inventory item.
//
// Each Op* runs on the thread owning the item's shard, does no I/O, reads time only from
// its now_ms argument and returns a value or an OpStatus: business outcomes (sold out,
// over the limit, hold expired) are result codes, never errors. The command handlers in
// inventory.cc parse arguments, find the item and turn results into replies; the WAL
// replays the same Op* functions with the logged (absolute) deadlines and hold ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/commands/status.h"
#include "engine/keyspace/inventory.h"

namespace allot::internal {

// Where an item lives: the shard's deadline index is kept in step through it.
struct ItemRef {
  ShardState& shard;
  int db;
  std::string_view key;
  Inventory& inv;
};

// INV.BUY and INV.HOLD outcomes: the seed Lua script's codes.
inline constexpr int64_t kInvTaken = 1;
inline constexpr int64_t kInvSoldOut = 0;
inline constexpr int64_t kInvOverLimit = -1;
// INV.CONFIRM / RELEASE / EXTEND on a hold already resolved otherwise.
inline constexpr int64_t kInvHoldExpired = -2;
inline constexpr int64_t kInvHoldReleased = -3;
inline constexpr int64_t kInvHoldConfirmed = -4;

// A new item; the caller checked the ranges (total, limit >= 0, ttl > 0).
Inventory MakeInventory(int64_t total, int64_t limit, int64_t hold_ttl_ms);

// Crashes if the item's counters are inconsistent, or `user` (if not null) is over the
// limit. O(1); called after every mutation.
void CheckInventory(const Inventory& inv, const InventoryUser* user);

// Expires up to max open holds whose deadline is <= now_ms; returns how many.
size_t ExpireItemHolds(ItemRef item, int64_t now_ms, size_t max);
// Makes the shard's deadline index hold exactly this item's earliest open deadline under
// its current (shard, db, key).
void SyncItemTimer(ItemRef item);
// Lazy expiry and index registration; the first step of every INV.* command.
void RefreshItem(ItemRef item, int64_t now_ms);

OpResult<int64_t> OpRestock(Inventory& inv, int64_t n);
OpResult<int64_t> OpWithdraw(Inventory& inv, int64_t n);

// 1 taken, 0 sold out, -1 over the limit; kIdConflict if request_id was used by another
// user or quantity. A repeated successful request_id answers 1 and takes nothing.
OpResult<int64_t> OpBuy(Inventory& inv, std::string_view user, int64_t qty,
                        std::optional<std::string_view> request_id);

struct HoldOutcome {
  int64_t code = 0;  // kInvTaken (id is set), kInvSoldOut or kInvOverLimit
  std::string id;
};
// Reserves qty units for user until now_ms + ttl_ms. With hold_id, a repeat by the same
// user and quantity returns that hold (whatever its state) without reserving again.
OpResult<HoldOutcome> OpHold(ItemRef item, std::string_view user, int64_t qty, int64_t ttl_ms,
                             std::optional<std::string_view> hold_id, int64_t now_ms);

// 1, or kInvHoldExpired / kInvHoldReleased; kNoSuchHold if unknown.
OpResult<int64_t> OpConfirm(ItemRef item, std::string_view hold_id);
// 1, or kInvHoldExpired / kInvHoldConfirmed; kNoSuchHold if unknown.
OpResult<int64_t> OpRelease(ItemRef item, std::string_view hold_id);
// The new deadline (old + ms), or kInvHoldExpired / Released / Confirmed; kNoSuchHold;
// kOutOfRange if the hold would then last more than kHoldTtlMsMax from now.
OpResult<int64_t> OpExtend(ItemRef item, std::string_view hold_id, int64_t ms, int64_t now_ms);
// Refunds up to qty (all if nullopt) of user's bought units; returns how many.
int64_t OpCancel(Inventory& inv, std::string_view user, std::optional<int64_t> qty);

}  // namespace allot::internal
