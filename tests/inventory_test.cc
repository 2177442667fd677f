// inventory_test.cc: the INV.* commands through the engine (4 shards, test clock), and
// the inventory operations directly where a bound needs many operations.
#include "engine/keyspace/inventory.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/commands/inventory_ops.h"
#include "engine/engine_impl.h"
#include "engine/keyspace/shard_state.h"
#include "engine/limits.h"
#include "tests/support/engine_fixture.h"

namespace allot {
// Readable replies in failure messages.
void PrintTo(const Reply& r, std::ostream* os) { *os << r.debug_string(); }
}  // namespace allot

namespace allot::testing {
namespace {

using internal::Inventory;
using internal::InventoryValue;
using internal::ShardState;

constexpr std::string_view kNotInt = "ERR value is not an integer or out of range";
constexpr std::string_view kOutOfRange = "ERR value is out of range";
constexpr std::string_view kNotPositive = "ERR value is out of range, must be positive";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
constexpr std::string_view kNoSuchKey = "ERR no such key";
constexpr std::string_view kNoSuchHold = "ERR no such hold";
constexpr std::string_view kIdConflict = "ERR id already used by another request";

Reply InvMap(int64_t total, int64_t available, int64_t held, int64_t sold, int64_t limit,
             int64_t hold_ttl_ms, int64_t holds, int64_t buyers) {
  return Reply::Map({Bulk("total"), Int(total), Bulk("available"), Int(available), Bulk("held"),
                     Int(held), Bulk("sold"), Int(sold), Bulk("limit"), Int(limit),
                     Bulk("hold_ttl_ms"), Int(hold_ttl_ms), Bulk("holds"), Int(holds),
                     Bulk("buyers"), Int(buyers)});
}

Reply UserMap(int64_t held, int64_t bought, std::initializer_list<std::string_view> holds) {
  return Reply::Map(
      {Bulk("held"), Int(held), Bulk("bought"), Int(bought), Bulk("holds"), BulkArr(holds)});
}

class InventoryTest : public EngineTest {
 protected:
  int64_t Field(std::string_view key, std::string_view name) {
    Reply r = Run({"INV.GET", key});
    const Reply* f = r.find(name);
    EXPECT_NE(f, nullptr) << r.debug_string();
    return f == nullptr ? -999 : f->integer();
  }
  // Sum of every shard's expired_holds counter.
  uint64_t ExpiredHolds() {
    uint64_t n = 0;
    for (unsigned i = 0; i < engine().shards(); ++i) {
      engine().impl().run_on_shard(i, [&](ShardState& s) { n += s.stats.expired_holds; });
    }
    return n;
  }
  // The item's held counter as stored, without the lazy expiry an INV.* command runs.
  int64_t RawHeld(const std::string& key) {
    int64_t held = -1;
    engine().impl().run_on_shard(engine().shard_of(key), [&](ShardState& s) {
      internal::Entry* e = s.dbs[0].peek(key, NowMs());
      if (e != nullptr) held = e->as<InventoryValue>()->held;
    });
    return held;
  }
};

TEST_F(InventoryTest, CreateAndGet) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "10"}), Ok());
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(10, 10, 0, 0, 0, 300000, 0, 0));
  EXPECT_EQ(Run({"inv.create", "item2", "0", "limit", "2", "hold", "60000"}), Ok());
  EXPECT_EQ(Run({"INV.GET", "item2"}), InvMap(0, 0, 0, 0, 2, 60000, 0, 0));
  // Repeated options: the last wins.
  EXPECT_EQ(Run({"INV.CREATE", "item3", "5", "LIMIT", "1", "LIMIT", "3"}), Ok());
  EXPECT_EQ(Field("item3", "limit"), 3);
  EXPECT_EQ(Run({"INV.CREATE", "max", std::to_string(limits::kInventoryUnitsMax)}), Ok());
}

TEST_F(InventoryTest, CreateErrors) {
  EXPECT_EQ(Run({"INV.CREATE", "k"}),
            Err("ERR wrong number of arguments for 'inv.create' command"));
  EXPECT_EQ(Run({"INV.CREATE", "k", "abc"}), Err(kNotInt));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1.5"}), Err(kNotInt));
  EXPECT_EQ(Run({"INV.CREATE", "k", "-1"}), Err(kOutOfRange));
  EXPECT_EQ(Run({"INV.CREATE", "k", std::to_string(limits::kInventoryUnitsMax + 1)}),
            Err(kOutOfRange));
  EXPECT_EQ(Run({"INV.CREATE", "k", "99999999999999999999"}), Err(kNotInt));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1", "LIMIT"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1", "LIMIT", "-1"}), Err(kOutOfRange));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1", "LIMIT", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1", "HOLD", "0"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1", "HOLD", std::to_string(limits::kHoldTtlMsMax + 1)}),
            Err(kOutOfRange));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1", "QTY", "1"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.CREATE", "k", "1", "BOGUS", "1"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.GET", "k"}), Nil());  // nothing was created by a failed CREATE
  EXPECT_EQ(Run({"INV.CREATE", "k", "1"}), Ok());
  EXPECT_EQ(Run({"INV.CREATE", "k", "1"}), Err("ERR key already exists"));
  EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
  EXPECT_EQ(Run({"INV.CREATE", "s", "1"}), Err("ERR key already exists"));
}

TEST_F(InventoryTest, MissingKeyAndWrongType) {
  EXPECT_EQ(Run({"INV.GET", "nope"}), Nil());
  EXPECT_EQ(Run({"INV.USER", "nope", "u"}), Nil());
  for (std::string_view key : {"nope", "s"}) {
    if (key == "s") {
      EXPECT_EQ(Run({"SET", "s", "v"}), Ok());
    }
    std::string_view want = key == "s" ? kWrongType : kNoSuchKey;
    EXPECT_EQ(Run({"INV.RESTOCK", key, "1"}), Err(want));
    EXPECT_EQ(Run({"INV.WITHDRAW", key, "1"}), Err(want));
    EXPECT_EQ(Run({"INV.BUY", key, "u"}), Err(want));
    EXPECT_EQ(Run({"INV.HOLD", key, "u"}), Err(want));
    EXPECT_EQ(Run({"INV.CONFIRM", key, "1"}), Err(want));
    EXPECT_EQ(Run({"INV.RELEASE", key, "1"}), Err(want));
    EXPECT_EQ(Run({"INV.EXTEND", key, "1", "10"}), Err(want));
    EXPECT_EQ(Run({"INV.CANCEL", key, "u"}), Err(want));
  }
  EXPECT_EQ(Run({"INV.GET", "s"}), Err(kWrongType));
  EXPECT_EQ(Run({"INV.USER", "s", "u"}), Err(kWrongType));
  // The other direction: a string command on an inventory key.
  EXPECT_EQ(Run({"INV.CREATE", "item", "1"}), Ok());
  EXPECT_EQ(Run({"GET", "item"}), Err(kWrongType));
}

TEST_F(InventoryTest, TypeIsInventory) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "1"}), Ok());
  Reply r = Run({"TYPE", "item"});
  if (r.is_error() && r.string().starts_with("ERR unknown command")) {
    GTEST_SKIP() << "TYPE is not in this branch";
  }
  EXPECT_EQ(r, Status("inventory"));
}

TEST_F(InventoryTest, RestockAndWithdraw) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "10"}), Ok());
  EXPECT_EQ(Run({"INV.RESTOCK", "item", "5"}), Int(15));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1", "QTY", "4"}), Bulk("1"));
  EXPECT_EQ(Run({"INV.BUY", "item", "u2", "QTY", "3"}), Int(1));
  EXPECT_EQ(Run({"INV.WITHDRAW", "item", "8"}), Int(0));
  EXPECT_EQ(Run({"INV.WITHDRAW", "item", "1"}), Err("ERR not enough units available"));
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(7, 0, 4, 3, 0, 300000, 1, 2));
  EXPECT_EQ(Run({"INV.RESTOCK", "item", "0"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.WITHDRAW", "item", "-1"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.RESTOCK", "item", "x"}), Err(kNotInt));
  EXPECT_EQ(Run({"INV.RESTOCK", "item", std::to_string(limits::kInventoryUnitsMax + 1)}),
            Err(kOutOfRange));
  EXPECT_EQ(Run({"INV.RESTOCK", "item", std::to_string(limits::kInventoryUnitsMax)}),
            Err("ERR increment or decrement would overflow"));
  EXPECT_EQ(Run({"INV.RESTOCK", "item", "1", "2"}),
            Err("ERR wrong number of arguments for 'inv.restock' command"));
  EXPECT_EQ(Field("item", "total"), 7);
}

TEST_F(InventoryTest, BuyCodesFollowTheSeedScript) {
  EXPECT_EQ(Run({"INV.CREATE", "tickets", "2", "LIMIT", "1"}), Ok());
  EXPECT_EQ(Run({"INV.BUY", "tickets", "user:1"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "tickets", "user:1"}), Int(-1));  // already purchased
  EXPECT_EQ(Run({"INV.BUY", "tickets", "user:2"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "tickets", "user:3"}), Int(0));  // sold out
  // As in the seed script, "sold out" is checked before "already purchased".
  EXPECT_EQ(Run({"INV.BUY", "tickets", "user:1"}), Int(0));
  EXPECT_EQ(Run({"INV.GET", "tickets"}), InvMap(2, 0, 0, 2, 1, 300000, 0, 2));
  EXPECT_EQ(Run({"INV.USER", "tickets", "user:1"}), UserMap(0, 1, {}));
  EXPECT_EQ(Run({"INV.USER", "tickets", "user:3"}), UserMap(0, 0, {}));
}

TEST_F(InventoryTest, BuyQuantityAndLimit) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "10", "LIMIT", "3"}), Ok());
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "QTY", "4"}), Int(-1));
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "QTY", "2"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "qty", "2"}), Int(-1));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u"}), Bulk("1"));  // holds count toward the limit
  EXPECT_EQ(Run({"INV.BUY", "item", "u"}), Int(-1));
  EXPECT_EQ(Run({"INV.BUY", "item", "v", "QTY", "8"}), Int(0));  // 7 left
  EXPECT_EQ(Run({"INV.BUY", "item", "v", "QTY", "0"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.BUY", "item", "v", "QTY", "abc"}), Err(kNotInt));
  EXPECT_EQ(Run({"INV.BUY", "item", "v", "QTY"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.BUY", "item", "v", "TTL", "5"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.BUY", "item", std::string(limits::kUserIdBytesMax + 1, 'x')}),
            Err("ERR user id is too long"));
  EXPECT_EQ(Run({"INV.BUY", "item", std::string(limits::kUserIdBytesMax, 'x')}), Int(1));
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(10, 6, 1, 3, 3, 300000, 1, 2));
  // No limit: one user may take everything.
  EXPECT_EQ(Run({"INV.CREATE", "free", "5"}), Ok());
  EXPECT_EQ(Run({"INV.BUY", "free", "u", "QTY", "5"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "free", "u"}), Int(0));
}

TEST_F(InventoryTest, BuyRequestIdMakesRetriesIdempotent) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "3", "LIMIT", "2"}), Ok());
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "ID", "req-1"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "ID", "req-1"}), Int(1));  // the retry takes nothing
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "id", "req-1"}), Int(1));
  EXPECT_EQ(Field("item", "sold"), 1);
  EXPECT_EQ(Run({"INV.BUY", "item", "other", "ID", "req-1"}), Err(kIdConflict));
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "QTY", "2", "ID", "req-1"}), Err(kIdConflict));
  // A refused BUY is not remembered: its retry is evaluated again.
  EXPECT_EQ(Run({"INV.BUY", "item", "w", "QTY", "3", "ID", "req-2"}), Int(0));
  EXPECT_EQ(Run({"INV.BUY", "item", "w", "QTY", "2", "ID", "req-3"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "item", "x", "QTY", "1", "ID", "req-4"}), Int(0));
  EXPECT_EQ(Run({"INV.RESTOCK", "item", "1"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "item", "x", "QTY", "1", "ID", "req-4"}), Int(1));
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(4, 0, 0, 4, 2, 300000, 0, 3));
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "ID", std::string(limits::kRequestIdBytesMax + 1, 'r')}),
            Err("ERR id is too long"));
  // Ids are per item.
  EXPECT_EQ(Run({"INV.CREATE", "item2", "1"}), Ok());
  EXPECT_EQ(Run({"INV.BUY", "item2", "other", "ID", "req-1"}), Int(1));
}

TEST_F(InventoryTest, HoldConfirmRelease) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "5", "LIMIT", "2", "HOLD", "60000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1"}), Bulk("1"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1"}), Bulk("2"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1"}), Int(-1));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u2", "QTY", "2"}), Bulk("3"));  // refusals take no id
  EXPECT_EQ(Run({"INV.HOLD", "item", "u3", "QTY", "2"}), Int(0));
  EXPECT_EQ(Run({"INV.USER", "item", "u1"}), UserMap(2, 0, {"1", "2"}));
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(5, 1, 4, 0, 2, 60000, 3, 2));

  EXPECT_EQ(Run({"INV.CONFIRM", "item", "1"}), Int(1));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "1"}), Int(1));   // idempotent
  EXPECT_EQ(Run({"INV.RELEASE", "item", "1"}), Int(-4));  // confirmed: use CANCEL
  EXPECT_EQ(Run({"INV.RELEASE", "item", "2"}), Int(1));
  EXPECT_EQ(Run({"INV.RELEASE", "item", "2"}), Int(1));   // idempotent
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "2"}), Int(-3));  // released
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "99"}), Err(kNoSuchHold));
  EXPECT_EQ(Run({"INV.RELEASE", "item", "99"}), Err(kNoSuchHold));
  EXPECT_EQ(Run({"INV.USER", "item", "u1"}), UserMap(0, 1, {}));
  EXPECT_EQ(Run({"INV.USER", "item", "u2"}), UserMap(2, 0, {"3"}));
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(5, 2, 2, 1, 2, 60000, 1, 2));
  EXPECT_EQ(Run({"INV.CONFIRM", "item"}),
            Err("ERR wrong number of arguments for 'inv.confirm' command"));
}

TEST_F(InventoryTest, HoldOptionsAndClientIds) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "10", "LIMIT", "3"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "item", "u", "ID", "order:7", "QTY", "2"}), Bulk("order:7"));
  // A retry with the same ID returns the same hold and reserves nothing more.
  EXPECT_EQ(Run({"INV.HOLD", "item", "u", "QTY", "2", "ID", "order:7"}), Bulk("order:7"));
  EXPECT_EQ(Field("item", "held"), 2);
  EXPECT_EQ(Run({"INV.HOLD", "item", "v", "QTY", "2", "ID", "order:7"}), Err(kIdConflict));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u", "QTY", "1", "ID", "order:7"}), Err(kIdConflict));
  // A retry after the hold resolved still names it; CONFIRM then tells its state.
  EXPECT_EQ(Run({"INV.RELEASE", "item", "order:7"}), Int(1));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u", "QTY", "2", "ID", "order:7"}), Bulk("order:7"));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "order:7"}), Int(-3));
  EXPECT_EQ(Field("item", "held"), 0);
  // An assigned id skips a number a client chose (the counter is at 3 now).
  EXPECT_EQ(Run({"INV.HOLD", "item", "w", "ID", "3"}), Bulk("3"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "w"}), Bulk("4"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "x", "TTL", "1000"}), Bulk("5"));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "5", "1"}), Int(NowMs() + 1001));
  EXPECT_EQ(Run({"INV.HOLD", "item", "x", "TTL", "0"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.HOLD", "item", "x", "TTL", std::to_string(limits::kHoldTtlMsMax + 1)}),
            Err(kOutOfRange));
  EXPECT_EQ(Run({"INV.HOLD", "item", "x", "QTY", "-2"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.HOLD", "item", "x", "LIMIT", "2"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.HOLD", "item", "x", "ID"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.HOLD", "item", "x", "ID", std::string(limits::kHoldIdBytesMax + 1, 'h')}),
            Err("ERR id is too long"));
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(10, 7, 3, 0, 3, 300000, 3, 2));
}

TEST_F(InventoryTest, ExtendPushesTheDeadline) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "10", "HOLD", "1000"}), Ok());
  int64_t start = NowMs();
  EXPECT_EQ(Run({"INV.HOLD", "item", "u"}), Bulk("1"));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "1", "500"}), Int(start + 1500));
  AdvanceTime(1499);
  EXPECT_EQ(Field("item", "held"), 1);
  EXPECT_EQ(Run({"INV.EXTEND", "item", "1", "1"}), Int(start + 1501));
  AdvanceTime(2);
  EXPECT_EQ(Run({"INV.EXTEND", "item", "1", "1000"}), Int(-2));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u"}), Bulk("2"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u"}), Bulk("3"));
  EXPECT_EQ(Run({"INV.RELEASE", "item", "2"}), Int(1));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "3"}), Int(1));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "2", "10"}), Int(-3));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "3", "10"}), Int(-4));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "9", "10"}), Err(kNoSuchHold));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u"}), Bulk("4"));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "4", "0"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "4", "ten"}), Err(kNotInt));
  // The hold may not last more than kHoldTtlMsMax from now: 1000 ms are left already.
  EXPECT_EQ(Run({"INV.EXTEND", "item", "4", std::to_string(limits::kHoldTtlMsMax - 999)}),
            Err(kOutOfRange));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "4", std::to_string(limits::kHoldTtlMsMax - 1000)}),
            Int(NowMs() + limits::kHoldTtlMsMax));
}

TEST_F(InventoryTest, LazyExpiryReturnsUnitsAtTheDeadline) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "3", "LIMIT", "1", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1"}), Bulk("1"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u2", "TTL", "2000"}), Bulk("2"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u3"}), Bulk("3"));
  EXPECT_EQ(Run({"INV.BUY", "item", "u4"}), Int(0));
  AdvanceTime(999);
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(3, 0, 3, 0, 1, 1000, 3, 3));
  AdvanceTime(1);  // the deadline itself: expired
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(3, 2, 1, 0, 1, 1000, 1, 1));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "1"}), Int(-2));
  EXPECT_EQ(Run({"INV.RELEASE", "item", "3"}), Int(-2));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "1"}), Int(-2));  // final: stays expired
  EXPECT_EQ(Run({"INV.USER", "item", "u1"}), UserMap(0, 0, {}));
  EXPECT_EQ(Run({"INV.BUY", "item", "u1"}), Int(1));  // the limit frees up with the units
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "2"}), Int(1));
  AdvanceTime(5000);
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "2"}), Int(1));  // confirmed holds never expire
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(3, 1, 0, 2, 1, 1000, 0, 2));
  EXPECT_EQ(ExpiredHolds(), 2u);
}

TEST_F(InventoryTest, ActiveExpiryByTheShardTimer) {
  // Items on every shard, each with holds of two deadlines.
  std::vector<std::string> keys;
  for (int i = 0; i < 16; ++i) keys.push_back("item:" + std::to_string(i));
  for (const auto& k : keys) {
    EXPECT_EQ(Run({"INV.CREATE", k, "10", "HOLD", "1000"}), Ok());
    EXPECT_EQ(Run({"INV.HOLD", k, "a", "QTY", "2"}), Bulk("1"));
    EXPECT_EQ(Run({"INV.HOLD", k, "b", "QTY", "3", "TTL", "3000"}), Bulk("2"));
  }
  AdvanceTime(999);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 0u);
  AdvanceTime(1);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 16u);  // before any command touched the items
  for (const auto& k : keys) EXPECT_EQ(RawHeld(k), 3) << k;
  AdvanceTime(2000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 32u);
  for (const auto& k : keys) {
    EXPECT_EQ(RawHeld(k), 0) << k;
    EXPECT_EQ(Run({"INV.GET", k}), InvMap(10, 10, 0, 0, 0, 1000, 0, 0));
    EXPECT_EQ(Run({"INV.CONFIRM", k, "2"}), Int(-2));
  }
}

TEST_F(InventoryTest, TimerFollowsExtendAndResolution) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "10", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "item", "a"}), Bulk("1"));
  EXPECT_EQ(Run({"INV.HOLD", "item", "b"}), Bulk("2"));
  EXPECT_EQ(Run({"INV.EXTEND", "item", "1", "5000"}), Int(NowMs() + 6000));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "2"}), Int(1));
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 0u);
  EXPECT_EQ(RawHeld("item"), 1);
  AdvanceTime(5000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 1u);
  EXPECT_EQ(RawHeld("item"), 0);
}

TEST_F(InventoryTest, DeletedOrReplacedItemsDoNotConfuseTheTimer) {
  EXPECT_EQ(Run({"INV.CREATE", "a", "5", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "a", "u"}), Bulk("1"));
  EXPECT_EQ(Run({"INV.CREATE", "b", "5", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "b", "u"}), Bulk("1"));
  EXPECT_EQ(Run({"SET", "a", "now a string"}), Ok());  // overwritten
  EXPECT_EQ(Run({"FLUSHALL"}), Ok());                  // b deleted
  // b comes back with a hold of the same id but a later deadline.
  EXPECT_EQ(Run({"INV.CREATE", "b", "5", "HOLD", "1500"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "b", "u"}), Bulk("1"));
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 0u);
  EXPECT_EQ(RawHeld("b"), 1);
  AdvanceTime(500);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 1u);
  EXPECT_EQ(RawHeld("b"), 0);
  RunTimers();  // nothing left
}

TEST_F(InventoryTest, MovedItemIsRegisteredAgain) {
  // Moves {t}src to {t}dst as a RENAME would (same shard thanks to the hash tag).
  auto move = [&](bool attach) {
    unsigned shard = engine().shard_of("{t}src");
    engine().impl().run_on_shard(shard, [&](ShardState& s) {
      internal::Entry* e = s.dbs[0].peek("{t}src", NowMs());
      ASSERT_NE(e, nullptr);
      internal::Value v = std::move(e->value);
      s.dbs[0].erase(e);
      internal::Entry* d = s.dbs[0].insert("{t}dst", std::move(v), NowMs());
      if (attach) internal::InventoryKeyAttached(s, 0, "{t}dst", *d->as<InventoryValue>());
    });
  };
  EXPECT_EQ(Run({"INV.CREATE", "{t}src", "5", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "{t}src", "u"}), Bulk("1"));
  move(true);
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 1u);
  EXPECT_EQ(RawHeld("{t}dst"), 0);

  // Without the hook, the next INV.* command on the new name registers it.
  EXPECT_EQ(Run({"FLUSHALL"}), Ok());
  EXPECT_EQ(Run({"INV.CREATE", "{t}src", "5", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "{t}src", "u"}), Bulk("1"));
  move(false);
  EXPECT_EQ(Run({"INV.HOLD", "{t}dst", "v", "TTL", "5000"}), Bulk("2"));
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 2u);
  EXPECT_EQ(RawHeld("{t}dst"), 1);
}

TEST_F(InventoryTest, GenericKeyCommandsOnInventoryKeys) {
  if (Run({"RENAME", "x", "y"}).string().starts_with("ERR unknown command")) {
    GTEST_SKIP() << "the keys family is not in this branch";
  }
  // Pick two names on different shards, so RENAME moves the item across shards.
  std::string src = "inv:src", dst;
  for (int i = 0; dst.empty(); ++i) {
    std::string k = "inv:dst:" + std::to_string(i);
    if (engine().shard_of(k) != engine().shard_of(src)) dst = k;
  }
  EXPECT_EQ(Run({"INV.CREATE", src, "5", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", src, "u"}), Bulk("1"));
  EXPECT_EQ(Run({"RENAME", src, dst}), Ok());
  EXPECT_EQ(Run({"INV.GET", src}), Nil());
  EXPECT_EQ(Run({"INV.USER", dst, "u"}), UserMap(1, 0, {"1"}));  // registers it afresh
  AdvanceTime(1000);
  RunTimers();  // the old shard's stale entry is skipped; the new shard expires the hold
  EXPECT_EQ(ExpiredHolds(), 1u);
  EXPECT_EQ(RawHeld(dst), 0);
  // DEL and EXPIRE take the holds with the key; the timers skip what is gone.
  EXPECT_EQ(Run({"INV.HOLD", dst, "u"}), Bulk("2"));
  EXPECT_EQ(Run({"DEL", dst}), Int(1));
  EXPECT_EQ(Run({"INV.CREATE", "gone", "5", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "gone", "u"}), Bulk("1"));
  EXPECT_EQ(Run({"PEXPIRE", "gone", "500"}), Int(1));
  AdvanceTime(500);
  EXPECT_EQ(Run({"INV.GET", "gone"}), Nil());
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 1u);
  EXPECT_EQ(Run({"TYPE", "gone"}), Status("none"));
}

TEST_F(InventoryTest, CancelRefundsBoughtUnits) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "10", "LIMIT", "4"}), Ok());
  EXPECT_EQ(Run({"INV.BUY", "item", "u", "QTY", "2"}), Int(1));
  EXPECT_EQ(Run({"INV.HOLD", "item", "u", "QTY", "2"}), Bulk("1"));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", "1"}), Int(1));
  EXPECT_EQ(Run({"INV.BUY", "item", "u"}), Int(-1));
  EXPECT_EQ(Run({"INV.CANCEL", "item", "u", "QTY", "1"}), Int(1));
  EXPECT_EQ(Run({"INV.USER", "item", "u"}), UserMap(0, 3, {}));
  EXPECT_EQ(Run({"INV.BUY", "item", "u"}), Int(1));                  // room under the limit again
  EXPECT_EQ(Run({"INV.CANCEL", "item", "u", "QTY", "10"}), Int(4));  // at most what was bought
  EXPECT_EQ(Run({"INV.CANCEL", "item", "u"}), Int(0));
  EXPECT_EQ(Run({"INV.CANCEL", "item", "nobody"}), Int(0));
  EXPECT_EQ(Run({"INV.BUY", "item", "v", "QTY", "3"}), Int(1));
  EXPECT_EQ(Run({"INV.HOLD", "item", "v"}), Bulk("2"));
  EXPECT_EQ(Run({"INV.CANCEL", "item", "v"}), Int(3));  // holds are not refunded
  EXPECT_EQ(Run({"INV.CANCEL", "item", "v", "QTY", "0"}), Err(kNotPositive));
  EXPECT_EQ(Run({"INV.CANCEL", "item", "v", "ID", "x"}), Err(kSyntax));
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(10, 9, 1, 0, 4, 300000, 1, 1));
  EXPECT_EQ(Run({"INV.USER", "item", "v"}), UserMap(1, 0, {"2"}));
}

TEST_F(InventoryTest, DatabasesAreSeparate) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "1", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"SELECT", "3"}), Ok());
  EXPECT_EQ(Run({"INV.GET", "item"}), Nil());
  EXPECT_EQ(Run({"INV.CREATE", "item", "2", "HOLD", "2000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "item", "u"}), Bulk("1"));
  EXPECT_EQ(Run({"SELECT", "0"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "item", "u"}), Bulk("1"));
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 1u);
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(ExpiredHolds(), 2u);
  EXPECT_EQ(Run({"SELECT", "3"}), Ok());
  EXPECT_EQ(Run({"INV.GET", "item"}), InvMap(2, 2, 0, 0, 0, 2000, 0, 0));
}

// The bounds on remembered ids, exercised on the operations directly (no engine), since
// they need tens of thousands of operations.
TEST(InventoryOpsTest, ResolvedHoldsAreForgottenOldestFirst) {
  ShardState shard(0);
  Inventory inv = internal::MakeInventory(10, 0, 1000);
  internal::ItemRef item{shard, 0, "item", inv};
  int64_t now = 1000000;
  const size_t n = limits::kResolvedHoldsPerItemMax + 2;
  for (size_t i = 0; i < n; ++i) {
    auto h = internal::OpHold(item, "u", 1, 1000, std::nullopt, now);
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(h->id, std::to_string(i + 1));
    ASSERT_EQ(internal::OpRelease(item, h->id).value(), 1);
  }
  EXPECT_EQ(inv.holds.size(), limits::kResolvedHoldsPerItemMax);
  EXPECT_EQ(internal::OpConfirm(item, "1").status(), internal::OpStatus::kNoSuchHold);
  EXPECT_EQ(internal::OpConfirm(item, "2").status(), internal::OpStatus::kNoSuchHold);
  EXPECT_EQ(internal::OpConfirm(item, "3").value(), internal::kInvHoldReleased);
  EXPECT_EQ(internal::OpRelease(item, std::to_string(n)).value(), 1);
  EXPECT_EQ(inv.available, 10);
  EXPECT_TRUE(inv.users.empty());
}

TEST(InventoryOpsTest, BuyRequestIdsAreForgottenOldestFirst) {
  ShardState shard(0);
  Inventory inv = internal::MakeInventory(limits::kInventoryUnitsMax, 0, 1000);
  const size_t n = limits::kBuyRequestIdsPerItemMax + 1;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(internal::OpBuy(inv, "u", 1, "r" + std::to_string(i)).value(), 1);
  }
  EXPECT_EQ(inv.buy_requests.size(), limits::kBuyRequestIdsPerItemMax);
  EXPECT_EQ(internal::OpBuy(inv, "u", 1, "r1").value(), 1);  // remembered: takes nothing
  EXPECT_EQ(inv.sold, static_cast<int64_t>(n));
  EXPECT_EQ(internal::OpBuy(inv, "u", 1, "r0").value(), 1);  // forgotten: a new purchase
  EXPECT_EQ(inv.sold, static_cast<int64_t>(n) + 1);
}

TEST(InventoryOpsTest, ExpireDueHoldsHonoursItsBudget) {
  ShardState shard(0);
  auto owned = std::make_unique<Inventory>(internal::MakeInventory(100, 0, 1000));
  internal::Entry* e = shard.dbs[0].insert("item", std::move(owned), 0);
  Inventory& inv = *e->as<InventoryValue>();
  internal::ItemRef item{shard, 0, "item", inv};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(internal::OpHold(item, "u", 1, 1000 + i, {}, 0).ok());
  EXPECT_EQ(internal::ExpireDueHolds(shard, 500, 100), 500);  // ms to the first deadline
  EXPECT_EQ(internal::ExpireDueHolds(shard, 2000, 4), 0);     // more are due already
  EXPECT_EQ(inv.held, 6);
  EXPECT_EQ(internal::ExpireDueHolds(shard, 1005, 100), 1);  // 1004, 1005 went; next 1006
  EXPECT_EQ(inv.held, 4);
  EXPECT_EQ(internal::ExpireDueHolds(shard, 2000, 100), -1);
  EXPECT_EQ(inv.held, 0);
  EXPECT_EQ(shard.stats.expired_holds, 10u);
  EXPECT_TRUE(shard.inventory_timers->due.empty());
}

}  // namespace
}  // namespace allot::testing
