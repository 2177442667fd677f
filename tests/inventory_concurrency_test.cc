// inventory_concurrency_test.cc: a real Engine (4 shard threads, the real clock, active
// expiry on) under many application threads buying and holding a few hot items, then a
// check of every invariant against what the clients were told.
#include <allot/engine.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/keyspace/shard_state.h"

namespace allot {
namespace {

constexpr int kThreads = 32;

std::unique_ptr<Engine> MakeEngine() {
  Config cfg;
  cfg.threads = 4;
  cfg.active_expire_interval_ms = 10;  // so short holds expire by the timer, not by luck
  return std::make_unique<Engine>(cfg);
}

int64_t GetField(Engine& e, const std::string& key, std::string_view name) {
  Reply r = e.call({"INV.GET", key});
  const Reply* f = r.find(name);
  EXPECT_NE(f, nullptr) << r.debug_string();
  return f == nullptr ? -1 : f->integer();
}

// The rush: 5,000 units, LIMIT 1, 50,000 distinct users from 32 threads.
TEST(InventoryConcurrencyTest, FlashSaleSellsExactlyTheStock) {
  auto engine = MakeEngine();
  ASSERT_EQ(engine->call({"INV.CREATE", "concert:42", "5000", "LIMIT", "1"}), Reply::Ok());
  constexpr int kUsers = 50000;
  std::atomic<int> taken{0}, sold_out{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int u = t; u < kUsers; u += kThreads) {
        std::string user = "user:" + std::to_string(u);
        Reply r = engine->call({"INV.BUY", "concert:42", user});
        if (r == Reply::Int(1)) {
          taken.fetch_add(1);
        } else if (r == Reply::Int(0)) {
          sold_out.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(taken.load(), 5000);
  EXPECT_EQ(sold_out.load(), kUsers - 5000);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(GetField(*engine, "concert:42", "sold"), 5000);
  EXPECT_EQ(GetField(*engine, "concert:42", "available"), 0);
  EXPECT_EQ(GetField(*engine, "concert:42", "buyers"), 5000);
}

struct HotItem {
  std::string key;
  int64_t total;
  int64_t limit;
  int64_t hold_qty_max;
};

// What the clients were told, per item and per user: the model the engine must match.
struct ItemTally {
  std::atomic<int64_t> bought_by_buy{0};
  std::atomic<int64_t> bought_by_confirm{0};
  std::atomic<int64_t> refunded{0};
  std::atomic<int64_t> expired_replies{0};
};

constexpr int kUsersPerItem = 200;
constexpr int kOpsPerThread = 400;

class Worker {
 public:
  Worker(Engine& e, const std::vector<HotItem>& items, std::vector<ItemTally>& tallies,
         std::vector<std::array<std::atomic<int64_t>, kUsersPerItem>>& user_bought,
         std::atomic<int>& errors, unsigned seed)
      : e_(e),
        items_(items),
        tallies_(tallies),
        user_bought_(user_bought),
        errors_(errors),
        rng_(seed) {}

  void Run() {
    for (int op = 0; op < kOpsPerThread; ++op) {
      size_t i = rng_() % items_.size();
      int u = static_cast<int>(rng_() % kUsersPerItem);
      std::string user = "u" + std::to_string(u);
      unsigned action = rng_() % 10;
      if (action < 3) {
        Buy(i, u, user);
      } else if (action < 9) {
        Hold(i, u, user);
      } else {
        Cancel(i, u, user);
      }
    }
  }

 private:
  void Fail(const Reply& r, std::string_view what) {
    errors_.fetch_add(1);
    ADD_FAILURE() << what << ": " << r.debug_string();
  }

  void Buy(size_t i, int u, const std::string& user) {
    Reply r = e_.call({"INV.BUY", items_[i].key, user});
    if (r == Reply::Int(1)) {
      tallies_[i].bought_by_buy.fetch_add(1);
      user_bought_[i][u].fetch_add(1);
    } else if (r != Reply::Int(0) && r != Reply::Int(-1)) {
      Fail(r, "INV.BUY");
    }
  }

  void Hold(size_t i, int u, const std::string& user) {
    int64_t qty = 1 + static_cast<int64_t>(rng_() % items_[i].hold_qty_max);
    std::string ttl = std::to_string(20 + rng_() % 31);  // 20..50 ms
    std::string q = std::to_string(qty);
    Reply h = e_.call({"INV.HOLD", items_[i].key, user, "QTY", q, "TTL", ttl});
    if (h == Reply::Int(0) || h == Reply::Int(-1)) return;
    if (!h.is_bulk()) return Fail(h, "INV.HOLD");
    unsigned next = rng_() % 4;
    // Some checkouts take longer than the hold lasts.
    if (next >= 2) std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 60));
    if (next == 3) return;  // abandoned: the timer must return the units
    bool confirm = next != 1;
    Reply r = e_.call({confirm ? "INV.CONFIRM" : "INV.RELEASE", items_[i].key, h.string()});
    if (r == Reply::Int(-2)) {
      tallies_[i].expired_replies.fetch_add(1);
    } else if (r != Reply::Int(1)) {
      return Fail(r, "INV.CONFIRM/RELEASE");
    } else if (confirm) {
      tallies_[i].bought_by_confirm.fetch_add(qty);
      user_bought_[i][u].fetch_add(qty);
    }
    // A repeat gets the same answer and changes nothing.
    Reply again = e_.call({confirm ? "INV.CONFIRM" : "INV.RELEASE", items_[i].key, h.string()});
    if (again != r) Fail(again, "repeated INV.CONFIRM/RELEASE");
  }

  void Cancel(size_t i, int u, const std::string& user) {
    Reply r = e_.call({"INV.CANCEL", items_[i].key, user, "QTY", "1"});
    if (!r.is_integer() || r.integer() < 0 || r.integer() > 1) return Fail(r, "INV.CANCEL");
    tallies_[i].refunded.fetch_add(r.integer());
    user_bought_[i][u].fetch_sub(r.integer());
  }

  Engine& e_;
  const std::vector<HotItem>& items_;
  std::vector<ItemTally>& tallies_;
  std::vector<std::array<std::atomic<int64_t>, kUsersPerItem>>& user_bought_;
  std::atomic<int>& errors_;
  std::mt19937 rng_;
};

TEST(InventoryConcurrencyTest, HoldsConfirmsReleasesAndExpiryKeepTheInvariants) {
  auto engine = MakeEngine();
  const std::vector<HotItem> items = {
      {"hot:a", 150, 1, 1}, {"hot:b", 300, 2, 2}, {"hot:c", 100, 1, 1}, {"{x}hot:d", 350, 2, 2}};
  for (const HotItem& it : items) {
    ASSERT_EQ(engine->call({"INV.CREATE", it.key, std::to_string(it.total), "LIMIT",
                            std::to_string(it.limit), "HOLD", "30"}),
              Reply::Ok());
  }
  std::vector<ItemTally> tallies(items.size());
  std::vector<std::array<std::atomic<int64_t>, kUsersPerItem>> user_bought(items.size());
  std::atomic<int> errors{0};
  std::atomic<bool> done{false};

  // Meanwhile, a reader checks the counters' invariant on every snapshot.
  std::thread checker([&] {
    while (!done.load()) {
      for (const HotItem& it : items) {
        Reply r = engine->call({"INV.GET", it.key});
        int64_t total = r.find("total")->integer(), sold = r.find("sold")->integer();
        int64_t available = r.find("available")->integer(), held = r.find("held")->integer();
        if (total != available + held + sold || sold > total || available < 0) {
          errors.fetch_add(1);
          ADD_FAILURE() << it.key << ": " << r.debug_string();
        }
      }
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(
        [&, t] { Worker(*engine, items, tallies, user_bought, errors, 1234 + t).Run(); });
  }
  for (auto& th : threads) th.join();
  done.store(true);
  checker.join();
  EXPECT_EQ(errors.load(), 0);

  // Let every open hold pass its deadline (50 ms at most) and the shard timers run.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  uint64_t expired_by_timer = 0;
  for (unsigned s = 0; s < engine->shards(); ++s) {
    engine->impl().run_on_shard(
        s, [&](internal::ShardState& st) { expired_by_timer += st.stats.expired_holds; });
  }
  EXPECT_GT(expired_by_timer, 0u);  // abandoned holds came back without any command
  std::printf("holds expired by the shard timers: %llu\n",
              static_cast<unsigned long long>(expired_by_timer));

  for (size_t i = 0; i < items.size(); ++i) {
    const HotItem& it = items[i];
    Reply r = engine->call({"INV.GET", it.key});
    SCOPED_TRACE(it.key + " " + r.debug_string());
    int64_t sold = r.find("sold")->integer();
    EXPECT_EQ(r.find("total")->integer(), it.total);
    EXPECT_EQ(r.find("held")->integer(), 0);
    EXPECT_EQ(r.find("holds")->integer(), 0);
    EXPECT_EQ(r.find("available")->integer() + sold, it.total);
    EXPECT_LE(sold, it.total);
    const ItemTally& t = tallies[i];
    EXPECT_EQ(sold, t.bought_by_buy.load() + t.bought_by_confirm.load() - t.refunded.load());
    EXPECT_GT(t.bought_by_confirm.load(), 0);
    int64_t bought_sum = 0, buyers = 0;
    for (int u = 0; u < kUsersPerItem; ++u) {
      Reply ur = engine->call({"INV.USER", it.key, "u" + std::to_string(u)});
      int64_t bought = ur.find("bought")->integer();
      EXPECT_EQ(ur.find("held")->integer(), 0);
      EXPECT_LE(bought, it.limit) << "u" << u;
      EXPECT_EQ(bought, user_bought[i][u].load()) << "u" << u;
      bought_sum += bought;
      buyers += bought > 0;
    }
    EXPECT_EQ(bought_sum, sold);
    std::printf("%s: sold %lld = bought %lld + confirmed %lld - refunded %lld; %lld late\n",
                it.key.c_str(), static_cast<long long>(sold),
                static_cast<long long>(t.bought_by_buy.load()),
                static_cast<long long>(t.bought_by_confirm.load()),
                static_cast<long long>(t.refunded.load()),
                static_cast<long long>(t.expired_replies.load()));
    EXPECT_EQ(r.find("buyers")->integer(), buyers);
  }
}

}  // namespace
}  // namespace allot
