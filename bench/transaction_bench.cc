// transaction_bench.cc: what MULTI/EXEC and WATCH cost in the engine.
//
//   build/bench/transaction_bench --benchmark_min_time=1
//
// SetWatched: SET on the owning shard's thread (as allotd for a local key) with nobody
//   watching (arg 0), with another session watching an unrelated key of the same shard
//   (arg 1: the write hook looks the key up), and watching the key written (arg 2: the
//   hook also marks the watcher dirty).
// Exec: Engine::transaction of N INCRs from an application thread, the keys on one shard
//   or spread over two (a multi-shard transaction), against N separate call()s.
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

std::string KeyOnShard(Engine& e, const std::string& prefix, unsigned shard) {
  for (int i = 0;; ++i) {
    std::string k = prefix + std::to_string(i);
    if (e.shard_of(k) == shard) return k;
  }
}

Engine& SharedEngine() {
  static Engine* engine = [] {
    allot::Config cfg;
    cfg.threads = 2;
    return new Engine(cfg);
  }();
  return *engine;
}

void BM_SetWatched_OnShard(benchmark::State& state) {
  Engine& e = SharedEngine();
  std::vector<std::string> keys;
  for (int i = 0; i < 1024; ++i) keys.push_back(KeyOnShard(e, "sw:" + std::to_string(i) + ":", 0));
  Session watcher;
  std::string watched = state.range(0) == 2 ? keys[0] : KeyOnShard(e, "unrelated:", 0);
  if (state.range(0) > 0) {
    std::vector<std::string_view> w = {"WATCH", watched};
    e.call(watcher, w);
  }
  auto& impl = e.impl();
  for (auto _ : state) {
    const int64_t n = 100000;
    impl.run_on_shard(0, [&](ShardState& s) {
      Session session;
      for (int64_t i = 0; i < n; ++i) {
        std::array<std::string_view, 3> args{"SET", keys[i & 1023], "value-16-bytes!!"};
        Reply r = impl.execute_here(session, args, s);
        benchmark::DoNotOptimize(r);
      }
    });
  }
  state.SetItemsProcessed(state.iterations() * 100000);
  std::vector<std::string_view> unwatch = {"UNWATCH"};
  e.call(watcher, unwatch);
  const char* labels[] = {"nobody watches", "unrelated key watched", "written key watched"};
  state.SetLabel(labels[state.range(0)]);
}
BENCHMARK(BM_SetWatched_OnShard)->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

void BM_Exec_Call(benchmark::State& state) {
  Engine& e = SharedEngine();
  const int n = static_cast<int>(state.range(0));
  const bool cross = state.range(1) != 0;
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i) {
    unsigned shard = cross ? static_cast<unsigned>(i % 2) : 0;
    cmds.push_back({"INCR", KeyOnShard(e, "ex:" + std::to_string(i) + ":", shard)});
  }
  Session session;
  for (auto _ : state) {
    Reply r = e.transaction(session, cmds);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(cross ? "two shards" : "one shard");
}
BENCHMARK(BM_Exec_Call)
    ->Args({1, 0})
    ->Args({10, 0})
    ->Args({10, 1})
    ->Args({100, 0})
    ->Args({100, 1})
    ->UseRealTime();

// The same commands as separate synchronous calls (not atomic), for comparison.
void BM_Separate_Call(benchmark::State& state) {
  Engine& e = SharedEngine();
  const int n = static_cast<int>(state.range(0));
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back(KeyOnShard(e, "ex:" + std::to_string(i) + ":", 0));
  for (auto _ : state) {
    for (const auto& k : keys) {
      Reply r = e.call({"INCR", k});
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Separate_Call)->Arg(10)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
