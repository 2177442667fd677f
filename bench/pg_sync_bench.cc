// pg_sync_bench.cc: what PostgreSQL sync costs the selling path (docs/benchmarks.md).
//
//   build/bench/pg_sync_bench --benchmark_repetitions=5
//   ALLOT_BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/postgres build/bench/pg_sync_bench
//
// INV.BUY on the item's own shard thread (as allotd runs a local key), with the WAL on
// (everysec, so the reply does not wait for a sync), in three set-ups:
//   0  sync off;
//   1  sync on, PostgreSQL unreachable: the shard does all its sync work (dirty mark,
//      ledger event) and nothing is ever acknowledged (the ledger grows: an outage);
//   3  as 1, but after each batch of 100,000 sales the ledger is emptied outside the timed
//      part, as acknowledgements by a PostgreSQL that keeps up would (steady state);
//   2  sync on with the PostgreSQL of ALLOT_BENCH_PG_URL (skipped if unset): the worker
//      also copies and acknowledges (drops events) on the shard, between the sales.
// Besides wall time, shard_cpu_ns is the CPU time of the shard thread per sale (CLOCK_
// THREAD_CPUTIME_ID): on a machine shared with other work it is far steadier than wall
// time, and it is exactly the cost the selling path pays.
// Deterministic instruction counts per sale: run one iteration under callgrind
// (docs/benchmarks.md has the command).
#include <allot/engine.h>
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <time.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/keyspace/inventory.h"
#include "engine/pgsync/pg_sync.h"
#include "engine/pgsync/tracker.h"

namespace {

using allot::Engine;
using allot::Reply;
using allot::Session;
using allot::internal::ShardState;

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void BM_InvBuy_PgSync(benchmark::State& state) {
  const char* url = std::getenv("ALLOT_BENCH_PG_URL");
  if (state.range(0) == 2 && url == nullptr) {
    state.SkipWithError("set ALLOT_BENCH_PG_URL");
    return;
  }
  char tmpl[] = "/tmp/allot_pgbench_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  allot::Config cfg;
  cfg.threads = 1;
  cfg.dir = dir;
  cfg.durability = allot::Durability::kEverysec;
  cfg.wal_map_bytes_max = uint64_t{1} << 30;  // small enough for valgrind
  cfg.pg_backlog_max = uint64_t{1} << 40;
  cfg.pg_schema = "bench";
  cfg.log_warning = [](std::string_view) {};
  if (state.range(0) == 1 || state.range(0) == 3)
    cfg.pg_url = "postgresql://postgres@127.0.0.1:1/postgres";
  if (state.range(0) == 2) cfg.pg_url = url;
  {
    auto e = std::make_unique<Engine>(cfg);
    e->call({"INV.CREATE", "item", std::to_string(int64_t{1} << 45)});
    std::vector<std::string> users;
    for (int i = 0; i < 1 << 16; ++i) users.push_back("user:" + std::to_string(i));
    auto& impl = e->impl();
    int64_t cpu_ns = 0, sales = 0;
    for (auto _ : state) {
      const int64_t n = 100000;
      impl.run_on_shard(0, [&](ShardState& s) {
        Session session;
        int64_t t0 = ThreadCpuNs();
        for (int64_t i = 0; i < n; ++i) {
          std::array<std::string_view, 3> args{"INV.BUY", "item", users[(sales + i) & 0xffff]};
          Reply r = impl.execute_here(session, args, s);
          benchmark::DoNotOptimize(r);
        }
        cpu_ns += ThreadCpuNs() - t0;
        if (state.range(0) == 3) {  // what PgSync::ack does, untimed
          auto* e = s.dbs[0].peek("item", 0);
          auto& inv = *e->as<allot::internal::InventoryValue>();
          s.pg->add_backlog(-static_cast<int64_t>(inv.unsynced.size()));
          inv.unsynced.clear();
          s.pg->dirty.clear();
          s.pg->epoch = s.pg->shared->next_epoch.fetch_add(1);
        }
      });
      sales += n;
    }
    state.SetItemsProcessed(sales);
    state.counters["shard_cpu_ns"] = static_cast<double>(cpu_ns) / static_cast<double>(sales);
    if (impl.pg_sync() != nullptr) {
      auto st = impl.pg_sync()->status();
      state.counters["pg_tx"] = static_cast<double>(st.transactions);
      state.counters["pg_stmts"] = static_cast<double>(st.statements);
    }
  }
  (void)std::system(("rm -rf " + dir).c_str());
}
BENCHMARK(BM_InvBuy_PgSync)->Arg(0)->Arg(3)->Arg(1)->Arg(2)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
