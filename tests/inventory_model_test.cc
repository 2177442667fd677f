// inventory_model_test.cc: random INV.* command streams through the engine (4 shards,
// test clock, timers run at random moments), each reply compared with a plain reference
// model written for clarity, not speed: every hold in one map, every count recomputed.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/support/engine_fixture.h"

namespace allot {
void PrintTo(const Reply& r, std::ostream* os) { *os << r.debug_string(); }
}  // namespace allot

namespace allot::testing {
namespace {

enum class St { kOpen, kConfirmed, kReleased, kExpired };

struct MHold {
  std::string user;
  int64_t qty;
  int64_t deadline;
  uint64_t seq;
  St state;
};

struct Model {
  int64_t total = 0, available = 0, sold = 0, limit = 0, ttl = 0;
  uint64_t next_seq = 1;
  std::map<std::string, MHold> holds;
  std::map<std::string, int64_t> bought;
  std::map<std::string, std::pair<std::string, int64_t>> requests;

  int64_t Held(const std::string* user = nullptr) const {
    int64_t n = 0;
    for (const auto& [id, h] : holds) {
      if (h.state == St::kOpen && (user == nullptr || h.user == *user)) n += h.qty;
    }
    return n;
  }
  int64_t Bought(const std::string& u) const {
    auto it = bought.find(u);
    return it == bought.end() ? 0 : it->second;
  }
  void Expire(int64_t now) {
    for (auto& [id, h] : holds) {
      if (h.state == St::kOpen && h.deadline <= now) {
        h.state = St::kExpired;
        available += h.qty;
      }
    }
  }
  bool OverLimit(const std::string& u, int64_t qty) const {
    return limit > 0 && Held(&u) + Bought(u) + qty > limit;
  }
  Reply Buy(const std::string& u, int64_t qty, const std::optional<std::string>& id) {
    if (id && requests.contains(*id)) {
      if (requests[*id] != std::make_pair(u, qty)) {
        return Err("ERR id already used by another request");
      }
      return Int(1);
    }
    if (available < qty) return Int(0);
    if (OverLimit(u, qty)) return Int(-1);
    available -= qty;
    sold += qty;
    bought[u] += qty;
    if (id) requests[*id] = {u, qty};
    return Int(1);
  }
  Reply Hold(const std::string& u, int64_t qty, int64_t ttl_ms,
             const std::optional<std::string>& id, int64_t now) {
    if (id && holds.contains(*id)) {
      const MHold& h = holds[*id];
      if (h.user != u || h.qty != qty) return Err("ERR id already used by another request");
      return Bulk(*id);
    }
    if (available < qty) return Int(0);
    if (OverLimit(u, qty)) return Int(-1);
    uint64_t seq = next_seq++;
    std::string hid = id ? *id : std::to_string(seq);
    available -= qty;
    holds[hid] = MHold{u, qty, now + ttl_ms, seq, St::kOpen};
    return Bulk(hid);
  }
  // CONFIRM (to = kConfirmed) or RELEASE (to = kReleased).
  Reply Resolve(const std::string& id, St to) {
    if (!holds.contains(id)) return Err("ERR no such hold");
    MHold& h = holds[id];
    if (h.state == to) return Int(1);
    if (h.state == St::kExpired) return Int(-2);
    if (h.state == St::kReleased) return Int(-3);
    if (h.state == St::kConfirmed) return Int(-4);
    h.state = to;
    if (to == St::kConfirmed) {
      sold += h.qty;
      bought[h.user] += h.qty;
    } else {
      available += h.qty;
    }
    return Int(1);
  }
  Reply Extend(const std::string& id, int64_t ms) {
    if (!holds.contains(id)) return Err("ERR no such hold");
    MHold& h = holds[id];
    if (h.state != St::kOpen)
      return Int(h.state == St::kExpired ? -2 : h.state == St::kReleased ? -3 : -4);
    h.deadline += ms;
    return Int(h.deadline);
  }
  Reply Cancel(const std::string& u, std::optional<int64_t> qty) {
    int64_t n = std::min(qty.value_or(Bought(u)), Bought(u));
    if (n > 0) {
      bought[u] -= n;
      sold -= n;
      available += n;
    }
    return Int(n);
  }
  Reply Get() const {
    std::map<std::string, int64_t> per_user;
    for (const auto& [u, b] : bought) per_user[u] += b;
    int64_t open = 0;
    for (const auto& [id, h] : holds) {
      if (h.state == St::kOpen) {
        per_user[h.user] += h.qty;
        ++open;
      }
    }
    int64_t buyers = 0;
    for (const auto& [u, n] : per_user) buyers += n > 0;
    return Reply::Map({Bulk("total"), Int(total), Bulk("available"), Int(available), Bulk("held"),
                       Int(Held()), Bulk("sold"), Int(sold), Bulk("limit"), Int(limit),
                       Bulk("hold_ttl_ms"), Int(ttl), Bulk("holds"), Int(open), Bulk("buyers"),
                       Int(buyers)});
  }
  Reply User(const std::string& u) const {
    std::map<uint64_t, std::string> open;
    for (const auto& [id, h] : holds) {
      if (h.state == St::kOpen && h.user == u) open[h.seq] = id;
    }
    std::vector<Reply> ids;
    for (const auto& [seq, id] : open) ids.push_back(Bulk(id));
    return Reply::Map({Bulk("held"), Int(Held(&u)), Bulk("bought"), Int(Bought(u)), Bulk("holds"),
                       Reply::Array(std::move(ids))});
  }
};

class InventoryModelTest : public EngineTest, public ::testing::WithParamInterface<int> {};

TEST_P(InventoryModelTest, RandomCommandsMatchTheModel) {
  std::mt19937 rng(GetParam());
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  Model m;
  m.total = m.available = 20 + pick(20);
  m.limit = pick(4);
  m.ttl = 50 + pick(100);
  const std::string key = "item:" + std::to_string(GetParam());
  ASSERT_EQ(Run({"INV.CREATE", key, std::to_string(m.total), "LIMIT", std::to_string(m.limit),
                 "HOLD", std::to_string(m.ttl)}),
            Ok());
  std::vector<std::string> ids = {"404"};  // every hold id seen, plus one never assigned
  for (int step = 0; step < 3000; ++step) {
    if (pick(4) == 0) AdvanceTime(pick(40));
    if (pick(10) == 0) RunTimers();
    m.Expire(NowMs());
    std::string user = "u" + std::to_string(pick(8));
    std::string qty = std::to_string(1 + pick(3));
    std::optional<std::string> id;
    if (pick(3) == 0) id = "c" + std::to_string(pick(12));
    std::vector<std::string> cmd;
    Reply want;
    switch (pick(10)) {
      case 0:
      case 1:
        cmd = {"INV.BUY", key, user, "QTY", qty};
        if (id) cmd.insert(cmd.end(), {"ID", *id});
        want = m.Buy(user, std::stoll(qty), id);
        break;
      case 2:
      case 3: {
        int64_t ttl = pick(2) ? m.ttl : 1 + pick(80);
        cmd = {"INV.HOLD", key, user, "QTY", qty, "TTL", std::to_string(ttl)};
        if (id) cmd.insert(cmd.end(), {"ID", *id});
        want = m.Hold(user, std::stoll(qty), ttl, id, NowMs());
        if (want.is_bulk()) ids.push_back(want.string());
        break;
      }
      case 4:
      case 5: {
        const std::string& h = ids[pick(static_cast<int>(ids.size()))];
        bool confirm = pick(2) == 0;
        cmd = {confirm ? "INV.CONFIRM" : "INV.RELEASE", key, h};
        want = m.Resolve(h, confirm ? St::kConfirmed : St::kReleased);
        break;
      }
      case 6: {
        const std::string& h = ids[pick(static_cast<int>(ids.size()))];
        int64_t ms = 1 + pick(30);
        cmd = {"INV.EXTEND", key, h, std::to_string(ms)};
        want = m.Extend(h, ms);
        break;
      }
      case 7: {
        bool all = pick(2) == 0;
        cmd = {"INV.CANCEL", key, user};
        if (!all) cmd.insert(cmd.end(), {"QTY", qty});
        want = m.Cancel(user, all ? std::nullopt : std::optional<int64_t>(std::stoll(qty)));
        break;
      }
      case 8: {
        int64_t n = 1 + pick(3);
        bool restock = pick(2) == 0;
        cmd = {restock ? "INV.RESTOCK" : "INV.WITHDRAW", key, std::to_string(n)};
        if (restock) {
          m.total += n;
          m.available += n;
          want = Int(m.available);
        } else if (n > m.available) {
          want = Err("ERR not enough units available");
        } else {
          m.total -= n;
          m.available -= n;
          want = Int(m.available);
        }
        break;
      }
      default:
        if (pick(2) == 0) {
          cmd = {"INV.GET", key};
          want = m.Get();
        } else {
          cmd = {"INV.USER", key, user};
          want = m.User(user);
        }
    }
    Reply got = Run(cmd);
    std::string text;
    for (const auto& a : cmd) text += a + " ";
    ASSERT_EQ(got, want) << "step " << step << ": " << text;
  }
  ASSERT_EQ(Run({"INV.GET", key}), m.Get());
}

INSTANTIATE_TEST_SUITE_P(Seeds, InventoryModelTest, ::testing::Range(1, 9));

}  // namespace
}  // namespace allot::testing
