// engine_bench.cc: in-process throughput of the embedded engine.
//
//   build/bench/engine_bench --benchmark_min_time=1
//
// Three ways to reach a shard, from cheapest to dearest:
//   OnShard   the caller is the owning shard thread (what allotd does for a local key):
//             command lookup + handler, no message;
//   Batched   an application thread sends commands in batches of 256 per call_batch();
//   Call      an application thread does one synchronous call() per command (two
//             cross-thread hand-offs and a futex wake per command).
// "All shards" variants run one benchmark thread per shard, each on its own items.
#include <allot/engine.h>
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <vector>

#include "engine/engine_impl.h"

namespace {

using allot::Engine;
using allot::Reply;
using allot::Session;
using allot::internal::ShardState;

constexpr int64_t kStockUnits = int64_t{1} << 40;  // never sells out within a run

// A key owned by `shard`, found by trying names.
std::string KeyOnShard(Engine& e, const std::string& prefix, unsigned shard) {
  for (int i = 0;; ++i) {
    std::string k = prefix + std::to_string(i);
    if (e.shard_of(k) == shard) return k;
  }
}

Engine& SharedEngine(unsigned threads) {
  static Engine* engines[64] = {};
  if (engines[threads] == nullptr) {
    allot::Config cfg;
    cfg.threads = threads;
    engines[threads] = new Engine(cfg);  // lives for the process: benchmarks reuse it
  }
  return *engines[threads];
}

// Runs `iterations` commands produced by make(i) on the owning shard's own thread.
template <class Make>
void RunOnShard(benchmark::State& state, Engine& e, unsigned shard, Make make) {
  auto& impl = e.impl();
  for (auto _ : state) {
    const int64_t n = 100000;
    impl.run_on_shard(shard, [&](ShardState& s) {
      Session session;
      for (int64_t i = 0; i < n; ++i) {
        auto args = make(i);
        Reply r = impl.execute_here(session, args, s);
        benchmark::DoNotOptimize(r);
      }
    });
    state.SetItemsProcessed(state.items_processed() + n);
  }
}

void BM_InvBuy_OnShard(benchmark::State& state) {
  Engine& e = SharedEngine(1);
  std::string item = "bench:item:onshard";
  e.call({"DEL", item});
  e.call({"INV.CREATE", item, std::to_string(kStockUnits)});
  std::vector<std::string> users;
  for (int i = 0; i < 1 << 16; ++i) users.push_back("user:" + std::to_string(i));
  RunOnShard(state, e, 0, [&](int64_t i) {
    return std::array<std::string_view, 3>{"INV.BUY", item, users[i & 0xffff]};
  });
}
BENCHMARK(BM_InvBuy_OnShard)->UseRealTime();

void BM_InvHoldConfirm_OnShard(benchmark::State& state) {
  Engine& e = SharedEngine(1);
  std::string item = "bench:item:hold";
  e.call({"DEL", item});
  e.call({"INV.CREATE", item, std::to_string(kStockUnits)});
  auto& impl = e.impl();
  for (auto _ : state) {
    const int64_t n = 50000;
    impl.run_on_shard(0, [&](ShardState& s) {
      Session session;
      for (int64_t i = 0; i < n; ++i) {
        std::string user = "u" + std::to_string(i & 0xffff);
        std::string_view hold[] = {"INV.HOLD", item, user};
        Reply h = impl.execute_here(session, hold, s);
        std::string_view confirm[] = {"INV.CONFIRM", item, h.string()};
        Reply c = impl.execute_here(session, confirm, s);
        benchmark::DoNotOptimize(c);
      }
    });
    state.SetItemsProcessed(state.items_processed() + n);  // pairs
  }
}
BENCHMARK(BM_InvHoldConfirm_OnShard)->UseRealTime();

void BM_Get_OnShard(benchmark::State& state) {
  Engine& e = SharedEngine(1);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) keys.push_back("g:" + std::to_string(i));
  for (auto& k : keys) e.call({"SET", k, "value-16-bytes!!"});
  RunOnShard(state, e, 0, [&](int64_t i) {
    return std::array<std::string_view, 2>{"GET", keys[i & 1023]};
  });
}
BENCHMARK(BM_Get_OnShard)->UseRealTime();

void BM_Set_OnShard(benchmark::State& state) {
  Engine& e = SharedEngine(1);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) keys.push_back("s:" + std::to_string(i));
  RunOnShard(state, e, 0, [&](int64_t i) {
    return std::array<std::string_view, 3>{"SET", keys[i & 1023], "value-16-bytes!!"};
  });
}
BENCHMARK(BM_Set_OnShard)->UseRealTime();

void BM_Incr_OnShard(benchmark::State& state) {
  Engine& e = SharedEngine(1);
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) keys.push_back("i:" + std::to_string(i));
  RunOnShard(state, e, 0, [&](int64_t i) {
    return std::array<std::string_view, 2>{"INCR", keys[i & 1023]};
  });
}
BENCHMARK(BM_Incr_OnShard)->UseRealTime();

void BM_Sadd_OnShard(benchmark::State& state) {
  Engine& e = SharedEngine(1);
  std::vector<std::string> members;
  for (int i = 0; i < 1 << 16; ++i) members.push_back("m:" + std::to_string(i));
  RunOnShard(state, e, 0, [&](int64_t i) {
    return std::array<std::string_view, 3>{"SADD", "bench:set", members[i & 0xffff]};
  });
}
BENCHMARK(BM_Sadd_OnShard)->UseRealTime();

// One application thread per shard, each buying on an item owned by "its" shard,
// through synchronous call(): the cost of the cross-thread hand-off.
void BM_InvBuy_Call(benchmark::State& state) {
  unsigned shards = static_cast<unsigned>(state.range(0));
  Engine& e = SharedEngine(shards);
  unsigned mine = static_cast<unsigned>(state.thread_index()) % shards;
  std::string item =
      KeyOnShard(e, "bench:call:" + std::to_string(state.thread_index()) + ":", mine);
  if (e.call({"EXISTS", item}).integer() == 0) {
    e.call({"INV.CREATE", item, std::to_string(kStockUnits)});
  }
  int64_t i = 0;
  for (auto _ : state) {
    std::string user = "u" + std::to_string(i++ & 0xffff);
    Reply r = e.call({"INV.BUY", item, user});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InvBuy_Call)->Arg(1)->Threads(1)->UseRealTime();
BENCHMARK(BM_InvBuy_Call)->Arg(2)->Threads(2)->UseRealTime();

// The same, in batches of 256 commands per call_batch().
void BM_InvBuy_Batched(benchmark::State& state) {
  unsigned shards = static_cast<unsigned>(state.range(0));
  Engine& e = SharedEngine(shards);
  unsigned mine = static_cast<unsigned>(state.thread_index()) % shards;
  std::string item =
      KeyOnShard(e, "bench:batch:" + std::to_string(state.thread_index()) + ":", mine);
  if (e.call({"EXISTS", item}).integer() == 0) {
    e.call({"INV.CREATE", item, std::to_string(kStockUnits)});
  }
  std::vector<std::vector<std::string>> batch;
  for (int i = 0; i < 256; ++i) batch.push_back({"INV.BUY", item, "u" + std::to_string(i)});
  for (auto _ : state) {
    auto replies = e.call_batch(batch);
    benchmark::DoNotOptimize(replies);
  }
  state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_InvBuy_Batched)->Arg(1)->Threads(1)->UseRealTime();
BENCHMARK(BM_InvBuy_Batched)->Arg(2)->Threads(2)->UseRealTime();

// The cost of atomicity across shards: MSET of two keys through call(), once with both
// keys on one shard (one hop) and once on two shards (a multi-shard transaction: both
// shards park, the last to arrive runs it).
void BM_Mset2_Call(benchmark::State& state) {
  Engine& e = SharedEngine(2);
  bool cross = state.range(0) != 0;
  std::string a = KeyOnShard(e, "mset:a:", 0);
  std::string b = KeyOnShard(e, "mset:b:", cross ? 1 : 0);
  for (auto _ : state) {
    Reply r = e.call({"MSET", a, "1", b, "2"});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(cross ? "two shards" : "one shard");
}
BENCHMARK(BM_Mset2_Call)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
