// wal_checkpoint_test.cc: checkpoints of every shard, trimming of the log before them,
// recovery = checkpoint + log tail, and the effect logging of CmdCtx::log_as.
#include <allot/engine.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "engine/keyspace/inventory.h"
#include "tests/support/engine_fixture.h"
#include "tests/wal_support.h"
#include "tests/wal_test_commands.h"

namespace allot::testing {
namespace {

constexpr int64_t kT0 = 1767225600000;

// User + system CPU time of the process (every thread): recovery's cost on a machine
// whose other load makes wall-clock times vary.
int64_t ProcessCpuMs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (int64_t{ru.ru_utime.tv_sec} + ru.ru_stime.tv_sec) * 1000 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterWalTestCommands();
    dir_ = MakeTempDir("allot-ckpt-test");
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open(unsigned threads = 4, uint64_t checkpoint_log_records = 0) {
    engine_.reset();
    Config cfg;
    cfg.threads = threads;
    cfg.dir = dir_;
    cfg.clock_ms = [this] { return now_.load(); };
    cfg.active_expire = false;
    cfg.checkpoint_log_records = checkpoint_log_records;
    engine_ = std::make_unique<Engine>(cfg);
  }
  Reply Run(std::initializer_list<std::string_view> args) {
    return engine_->call(session_, std::span<const std::string_view>(args.begin(), args.size()));
  }
  Reply Set(const std::string& k, const std::string& v) {
    return engine_->call(std::vector<std::string>{"SET", k, v});
  }
  internal::WalStats Stats() { return engine_->impl().wal()->stats(); }
  // Puts values of the types no command creates yet straight into db 2 of their shards.
  void InsertOtherTypes() {
    auto put = [&](const std::string& key, internal::Value v) {
      engine_->impl().run_on_shard(engine_->shard_of(key), [&](internal::ShardState& s) {
        s.dbs[2].insert(key, std::move(v), now_.load());
      });
    };
    put("set", internal::SetValue{"a", "b", std::string("\0c", 2)});
    put("hash", internal::HashValue{{"f1", "v1"}, {"f2", ""}});
    put("list", internal::ListValue{"x", "y", "x"});
    put("emptystr", internal::StringValue());
  }
  size_t LogEntries() {
    size_t n = 0;
    EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
      MDB_stat st;
      mdb_stat(txn, dbi, &st);
      n = st.ms_entries;
    });
    return n;
  }

  std::string dir_;
  std::atomic<int64_t> now_{kT0};
  Session session_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(CheckpointTest, RestartLoadsTheCheckpointAndReplaysOnlyTheTail) {
  Open(4);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Set("k" + std::to_string(i), "v"), Ok());
  ASSERT_EQ(Run({"WALTEST.SETPX", "ttl", "1000", "t"}), Ok());
  InsertOtherTypes();
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  internal::WalStats s = Stats();
  EXPECT_EQ(s.checkpoints, 1u);
  EXPECT_EQ(s.checkpoint_lsn, 101u);
  EXPECT_EQ(s.checkpoint_keys, 105u);
  EXPECT_EQ(s.log_records, 0u);
  std::printf("checkpoint of %llu keys: start pause %llu us, write %llu us\n",
              static_cast<unsigned long long>(s.checkpoint_keys),
              static_cast<unsigned long long>(s.checkpoint_pause_us_last),
              static_cast<unsigned long long>(s.checkpoint_write_us_last));
  // The tail: overwrite, flush a database, write more.
  ASSERT_EQ(Set("k1", "new"), Ok());
  ASSERT_EQ(Run({"SELECT", "2"}), Ok());
  ASSERT_EQ(Run({"SET", "db2key", "x"}), Ok());
  ASSERT_EQ(Run({"SELECT", "0"}), Ok());
  ASSERT_EQ(Run({"WALTEST.MSET", "a", "1", "b", "2"}), Ok());
  auto before = DumpState(*engine_);
  EXPECT_EQ(before["2|set"].substr(0, 4), "set|");
  engine_.reset();
  EXPECT_EQ(LogEntries(), 3u);  // records 1..101 were trimmed

  now_ += 5000;  // the TTL passed meanwhile: the checkpoint keeps the absolute deadline
  Open(3);
  EXPECT_EQ(DumpState(*engine_), before);
  EXPECT_EQ(Stats().recovered_records, 3u);
  EXPECT_EQ(Stats().checkpoint_lsn, 101u);
  EXPECT_EQ(Stats().durable_lsn, 104u);
  EXPECT_EQ(Run({"GET", "ttl"}), Nil());
  // Writes continue at LSN 105, and a second checkpoint replaces the first.
  ASSERT_EQ(Set("after", "1"), Ok());
  EXPECT_EQ(Stats().durable_lsn, 105u);
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  EXPECT_EQ(Stats().checkpoint_lsn, 105u);
  before = DumpState(*engine_);
  engine_.reset();
  EXPECT_EQ(LogEntries(), 0u);
  Open(4);
  EXPECT_EQ(DumpState(*engine_), before);
  EXPECT_EQ(Stats().recovered_records, 0u);
}

// Inventory items go into checkpoints whole: counters, buyers, open and remembered holds,
// request ids; after a restart from the checkpoint alone (the log trimmed), retries are still
// idempotent and the shard timer still expires the open holds.
TEST_F(CheckpointTest, InventoryRoundTripsThroughACheckpoint) {
  Open(4);
  ASSERT_EQ(Run({"INV.CREATE", "item", "10", "LIMIT", "3", "HOLD", "1000"}), Ok());
  ASSERT_EQ(Run({"INV.BUY", "item", "u1", "ID", "r1"}), Int(1));
  Reply confirmed = Run({"INV.HOLD", "item", "u2"});
  Reply released = Run({"INV.HOLD", "item", "u3"});
  Reply open = Run({"INV.HOLD", "item", "u4", "QTY", "2", "TTL", "5000"});
  ASSERT_TRUE(confirmed.is_bulk() && released.is_bulk() && open.is_bulk());
  ASSERT_EQ(Run({"INV.CONFIRM", "item", confirmed.string()}), Int(1));
  ASSERT_EQ(Run({"INV.RELEASE", "item", released.string()}), Int(1));
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  EXPECT_EQ(Stats().log_records, 0u);
  Reply get = Run({"INV.GET", "item"});
  Reply u4 = Run({"INV.USER", "item", "u4"});
  EXPECT_EQ(get.find("held")->integer(), 2);
  engine_.reset();
  EXPECT_EQ(LogEntries(), 0u);

  Open(3);
  EXPECT_EQ(Stats().recovered_records, 0u);
  // Before any INV.* command touches the item (each would re-register it): the open hold is
  // back in the shard's deadline index, so the timer alone expires it.
  now_ += 6000;
  engine_->impl().run_on_shard(engine_->shard_of("item"), [&](internal::ShardState& s) {
    internal::ExpireDueHolds(s, now_.load(), 100);
    auto* e = s.dbs[0].peek("item", now_.load());
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->as<internal::InventoryValue>()->held, 0);
  });
  Reply after = Run({"INV.GET", "item"});
  for (const char* f : {"total", "sold", "limit", "hold_ttl_ms"}) {
    EXPECT_EQ(*after.find(f), *get.find(f)) << f;
  }
  EXPECT_EQ(after.find("available")->integer(), get.find("available")->integer() + 2);
  EXPECT_EQ(after.find("held")->integer(), 0);
  EXPECT_EQ(Run({"INV.USER", "item", "u4"}).find("held")->integer(), 0);
  EXPECT_EQ(u4.find("held")->integer(), 2);
  // Remembered outcomes survive: retries answer as before and take nothing.
  EXPECT_EQ(Run({"INV.BUY", "item", "u1", "ID", "r1"}), Int(1));
  EXPECT_EQ(Run({"INV.CONFIRM", "item", confirmed.string()}), Int(1));
  EXPECT_EQ(Run({"INV.RELEASE", "item", released.string()}), Int(1));
  EXPECT_EQ(Run({"INV.GET", "item"}), after);
  // The next hold id continues the sequence instead of reusing one.
  Reply next = Run({"INV.HOLD", "item", "u5"});
  ASSERT_TRUE(next.is_bulk());
  EXPECT_NE(next.string(), open.string());
  EXPECT_NE(next.string(), confirmed.string());
  EXPECT_NE(next.string(), released.string());
  EXPECT_EQ(Run({"INV.CONFIRM", "item", open.string()}), Int(-2));
}

TEST_F(CheckpointTest, LogSizeTriggersCheckpointsWhileWritersRun) {
  Open(4, /*checkpoint_log_records=*/200);
  constexpr int kThreads = 8, kWrites = 150;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        std::string k = "t" + std::to_string(t) + ":" + std::to_string(i % 40);
        // Overwrites and cross-shard writes, so the boundary LSN matters.
        if (i % 5 == 4) {
          ASSERT_EQ(engine_->call(std::vector<std::string>{"WALTEST.MSET", k, std::to_string(i),
                                                           "x" + k, std::to_string(i)}),
                    Ok());
        } else {
          ASSERT_EQ(Set(k, std::to_string(i)), Ok());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Stats().checkpoints < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  internal::WalStats s = Stats();
  EXPECT_GE(s.checkpoints, 3u);
  EXPECT_EQ(s.durable_lsn, uint64_t{kThreads * kWrites});
  EXPECT_LT(s.log_records, 400u);
  auto before = DumpState(*engine_);
  engine_.reset();
  Open(2);
  EXPECT_EQ(DumpState(*engine_), before);
  EXPECT_EQ(Stats().recovered_records, s.log_records);
}

TEST_F(CheckpointTest, DamagedChunkRefusesToStart) {
  Open(4);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Set("k" + std::to_string(i), "v"), Ok());
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  engine_.reset();
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 4);
  ASSERT_EQ(mdb_env_open(env, (dir_ + "/checkpoint").c_str(), 0, 0644), 0);
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, 0, &txn);
  MDB_dbi dbi;
  ASSERT_EQ(mdb_dbi_open(txn, "checkpoint", 0, &dbi), 0);
  // Chunk 0 of checkpoint id 1.
  std::string key("c\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0", 17);
  MDB_val k{key.size(), key.data()}, v;
  ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
  std::string bytes(static_cast<const char*>(v.mv_data), v.mv_size);
  bytes[bytes.size() / 2] ^= 1;
  MDB_val nv{bytes.size(), bytes.data()};
  ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  try {
    Open(4);
    FAIL() << "opened a damaged checkpoint";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "allot: the checkpoint in " + dir_ +
                                         "/checkpoint is damaged: chunk 0: checksum mismatch; "
                                         "refusing to start rather than lose "
                                         "acknowledged writes");
  }
}

// The pauses of an incremental checkpoint: the all-shards step at its start and the
// longest background step of any shard. ALLOT_CKPT_KEYS=1000000 (or 10000000) for the
// figures in docs/benchmarks.md; writers run during it.
TEST_F(CheckpointTest, PauseForManyKeys) {
  Open(2);
  const char* env = std::getenv("ALLOT_CKPT_KEYS");
  const int keys = env != nullptr ? std::atoi(env) : 200000;
  for (unsigned sh = 0; sh < 2; ++sh) {
    engine_->impl().run_on_shard(sh, [&](internal::ShardState& s) {
      for (int i = 0; i < keys; ++i) {
        std::string k = "key:" + std::to_string(i);
        if (engine_->shard_of(k) == sh) s.dbs[0].insert(k, internal::StringValue("value"), 0);
      }
    });
  }
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0};
  std::thread writer([&] {
    for (uint64_t i = 0; !stop.load(); ++i) {
      ASSERT_EQ(Set("key:" + std::to_string(i * 7919 % keys), "w" + std::to_string(i)), Ok());
      ++writes;
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  auto total_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  stop = true;
  writer.join();
  internal::WalStats s = Stats();
  EXPECT_EQ(s.checkpoint_keys, uint64_t{static_cast<uint64_t>(keys)});
  std::printf(
      "checkpoint of %d keys: start pause %llu us, longest shard step %llu us (cpu %llu us), "
      "total %lld ms, %llu chunks, %llu MB, %llu writes meanwhile\n",
      keys, static_cast<unsigned long long>(s.checkpoint_pause_us_last),
      static_cast<unsigned long long>(s.checkpoint_step_us_last),
      static_cast<unsigned long long>(s.checkpoint_step_cpu_us_last),
      static_cast<long long>(total_ms), static_cast<unsigned long long>(s.checkpoint_chunks_last),
      static_cast<unsigned long long>(s.checkpoint_bytes_last >> 20),
      static_cast<unsigned long long>(writes.load()));
  EXPECT_LT(s.checkpoint_pause_us_last, 50000u);
  // Above 2M keys the exact comparison (two full copies) costs more than the run itself.
  const bool compare = keys <= 2000000;
  std::map<std::string, std::string> before;
  if (compare) before = DumpState(*engine_);
  engine_.reset();
  t0 = std::chrono::steady_clock::now();
  const int64_t cpu0 = ProcessCpuMs();
  // ALLOT_CKPT_REOPEN_SHARDS: restart with another shard count (the routed load path).
  const char* reopen = std::getenv("ALLOT_CKPT_REOPEN_SHARDS");
  Open(reopen != nullptr ? static_cast<unsigned>(std::atoi(reopen)) : 2);
  std::printf("recovery of %d keys from the checkpoint (+ %llu records): %lld ms (CPU %lld ms)\n",
              keys, static_cast<unsigned long long>(Stats().recovered_records),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()),
              static_cast<long long>(ProcessCpuMs() - cpu0));
  EXPECT_EQ(Run({"DBSIZE"}), Int(keys));
  if (compare) {
    EXPECT_EQ(DumpState(*engine_), before);
  }
}

// One inventory item with many buyers (a sold-out flash sale): its checkpoint is one
// value of ALLOT_CKPT_BUYERS users (default 100,000; the goal is 10 million recovered in
// under 5 s), loaded at restart with its users table sized up front.
TEST_F(CheckpointTest, RecoveryOfAnItemWithManyBuyers) {
  Open(2);
  const char* env = std::getenv("ALLOT_CKPT_BUYERS");
  const int64_t buyers = env != nullptr ? std::atoll(env) : 100000;
  ASSERT_EQ(Run({"INV.CREATE", "sale", std::to_string(buyers * 2)}), Reply::Ok());
  engine_->impl().run_on_shard(engine_->shard_of("sale"), [&](internal::ShardState& s) {
    internal::Entry* e = s.dbs[0].peek("sale", now_.load());
    ASSERT_NE(e, nullptr);
    internal::Inventory& inv = *e->as<internal::InventoryValue>();
    inv.users.reserve(static_cast<size_t>(buyers));
    for (int64_t i = 0; i < buyers; ++i) {
      internal::InventoryUser& u = inv.users["buyer:" + std::to_string(i)];
      u.bought = 1;
    }
    inv.available -= buyers;
    inv.sold += buyers;
  });
  ASSERT_EQ(Run({"INV.BUY", "sale", "late-buyer"}), Int(1));
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  engine_.reset();
  auto t0 = std::chrono::steady_clock::now();
  const int64_t cpu0 = ProcessCpuMs();
  Open(2);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("recovery of an item with %lld buyers: %lld ms (CPU %lld ms)\n",
              static_cast<long long>(buyers), static_cast<long long>(ms),
              static_cast<long long>(ProcessCpuMs() - cpu0));
  engine_->impl().run_on_shard(engine_->shard_of("sale"), [&](internal::ShardState& s) {
    internal::Entry* e = s.dbs[0].peek("sale", now_.load());
    ASSERT_NE(e, nullptr);
    const internal::Inventory& inv = *e->as<internal::InventoryValue>();
    EXPECT_EQ(inv.users.size(), static_cast<size_t>(buyers + 1));
    EXPECT_EQ(inv.sold, buyers + 1);
    EXPECT_EQ(inv.available, buyers - 1);
    auto it = inv.users.find("buyer:" + std::to_string(buyers - 1));
    ASSERT_NE(it, inv.users.end());
    EXPECT_EQ(it->second.bought, 1);
  });
}

// A crash after the checkpoint store committed a checkpoint but before the log was
// trimmed leaves records at or before the checkpoint's LSN in the log: recovery checks
// them and skips them (applying them again would double every INCR).
TEST_F(CheckpointTest, RecordsCoveredByTheCheckpointAreSkipped) {
  Open(4);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Run({"INCR", "n"}), Int(i + 1));
  engine_.reset();
  std::map<uint64_t, std::string> saved;
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    for (uint64_t lsn = 1; lsn <= 5; ++lsn) {
      uint64_t be;
      MDB_val k = LsnKey(&be, lsn), v;
      ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
      saved[lsn] = std::string(static_cast<const char*>(v.mv_data), v.mv_size);
    }
  });
  Open(4);
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  EXPECT_EQ(Stats().checkpoint_lsn, 5u);
  ASSERT_EQ(Run({"INCR", "n"}), Int(6));
  engine_.reset();
  EXPECT_EQ(LogEntries(), 1u);
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    for (auto& [lsn, bytes] : saved) {
      uint64_t be;
      MDB_val k = LsnKey(&be, lsn), v{bytes.size(), bytes.data()};
      ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    }
  });
  Open(4);
  EXPECT_EQ(Run({"GET", "n"}), Bulk("6"));
  EXPECT_EQ(Stats().recovered_records, 1u);
  EXPECT_EQ(Stats().log_records, 6u);
  // The next checkpoint trims them.
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  EXPECT_EQ(Stats().log_records, 0u);
}

TEST_F(CheckpointTest, LogAsRecordsTheEffectNotTheCommand) {
  Open(4);
  ASSERT_EQ(Run({"WALTEST.RANDLOG", "r"}), Ok());
  Reply v = Run({"GET", "r"});
  engine_.reset();
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    uint64_t be;
    MDB_val k = LsnKey(&be, 1), val;
    ASSERT_EQ(mdb_get(txn, dbi, &k, &val), 0);
    auto d = internal::DecodeWalRecord(
        std::string_view(static_cast<const char*>(val.mv_data), val.mv_size));
    ASSERT_TRUE(d.ok());
    ASSERT_EQ(d.record.args.size(), 3u);
    EXPECT_EQ(d.record.args[0], "SET");
    EXPECT_EQ(d.record.args[2], v.string());
  });
  Open(4);
  EXPECT_EQ(Run({"GET", "r"}), v);
}

}  // namespace
}  // namespace allot::testing
