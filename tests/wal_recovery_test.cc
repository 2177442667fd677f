// wal_recovery_test.cc: the write-ahead log end to end through the Engine: what is logged,
// restart equals the state before, deterministic replay, durability modes, corruption
// refused at start, MISCONF when the log cannot be written, group commit.
#include <allot/engine.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/wal/record.h"
#include "tests/support/engine_fixture.h"
#include "tests/wal_support.h"
#include "tests/wal_test_commands.h"

namespace allot::testing {
namespace {

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterWalTestCommands();
    dir_ = MakeTempDir("allot-wal-test");
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  Config MakeConfig(unsigned threads, Durability durability) {
    Config cfg;
    cfg.threads = threads;
    cfg.dir = dir_;
    cfg.durability = durability;
    cfg.clock_ms = [this] { return now_.load(); };
    cfg.active_expire = false;
    return cfg;
  }
  void Open(unsigned threads = 4, Durability durability = Durability::kAlways) {
    engine_.reset();
    engine_ = std::make_unique<Engine>(MakeConfig(threads, durability));
    session_ = Session();
  }
  void Close() { engine_.reset(); }
  // The message of the exception that opening the engine throws ("" if none).
  std::string OpenError() {
    engine_.reset();
    try {
      Open();
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  }
  Reply Run(std::initializer_list<std::string_view> args) {
    return engine_->call(session_, std::span<const std::string_view>(args.begin(), args.size()));
  }
  internal::WalStats Stats() { return engine_->impl().wal()->stats(); }

  std::string dir_;
  std::atomic<int64_t> now_{kT0};
  Session session_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(WalTest, RestartRestoresEveryAcknowledgedWrite) {
  Open(4);
  uint64_t logged = 0;
  for (int i = 0; i < 300; ++i) {
    std::string k = "k" + std::to_string(i), v = "v" + std::to_string(i);
    ASSERT_EQ(engine_->call(std::vector<std::string>{"SET", k, v}), Ok());
    ++logged;
  }
  EXPECT_EQ(Run({"SELECT", "3"}), Ok());
  EXPECT_EQ(Run({"SET", "k1", "in db 3"}), Ok());
  EXPECT_EQ(Run({"SELECT", "5"}), Ok());
  EXPECT_EQ(Run({"SET", "gone", "x"}), Ok());
  EXPECT_EQ(Run({"FLUSHDB"}), Ok());  // all shards, one record
  EXPECT_EQ(Run({"SET", "after-flush", "y"}), Ok());
  EXPECT_EQ(Run({"SELECT", "0"}), Ok());
  logged += 4;
  // Keys of this MSET live on several shards: one multi-shard transaction, one record.
  ASSERT_NE(engine_->shard_of("a"), engine_->shard_of("b"));
  EXPECT_EQ(Run({"WALTEST.MSET", "a", "1", "b", "2", "c", "3", "k7", "over"}), Ok());
  ++logged;
  // Not logged: reads, errors, unknown commands, connection commands.
  EXPECT_EQ(Run({"GET", "k1"}), Bulk("v1"));
  EXPECT_EQ(Run({"SET", "k1", "v", "bad"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"SET", "k1"}), Err("ERR wrong number of arguments for 'set' command"));
  EXPECT_EQ(Run({"FLUSHALL", "NOW"}), Err("ERR syntax error"));
  EXPECT_EQ(Run({"DBSIZE"}), Int(303));
  EXPECT_EQ(Stats().records, logged);
  EXPECT_EQ(Stats().durable_lsn, logged);

  auto before = DumpState(*engine_);
  ASSERT_EQ(before.size(), 305u);  // 300 + a, b, c in db 0, k1 in db 3, after-flush in db 5
  EXPECT_EQ(before["3|k1"], "string|in db 3|0");
  EXPECT_EQ(before["5|after-flush"], "string|y|0");
  EXPECT_EQ(before.count("5|gone"), 0u);
  EXPECT_EQ(before["0|k7"], "string|over|0");
  Close();

  Open(4);
  EXPECT_EQ(DumpState(*engine_), before);
  EXPECT_EQ(Stats().recovered_records, logged);
  EXPECT_EQ(Stats().durable_lsn, logged);
  // Replay routes by key, so another shard count recovers the same keyspace.
  Open(3);
  EXPECT_EQ(DumpState(*engine_), before);
  // Writes after a recovery continue the log (LSN logged + 1, ...).
  EXPECT_EQ(Run({"FLUSHALL"}), Ok());
  EXPECT_EQ(Run({"SET", "fresh", "1"}), Ok());
  EXPECT_EQ(Stats().durable_lsn, logged + 2);
  before = DumpState(*engine_);
  ASSERT_EQ(before.size(), 1u);
  Open(2);
  EXPECT_EQ(DumpState(*engine_), before);
  EXPECT_EQ(Stats().recovered_records, logged + 2);
}

// The log file is kept kWalFileAheadBytes ahead of LMDB's pages with zeros (commits then
// overwrite instead of growing the file); a store with that margin reopens and replays
// exactly, and keeps its margin as the log grows past it.
TEST_F(WalTest, LogFileIsKeptAheadWithZerosAndReopens) {
  Open(2);
  const std::string file = dir_ + "/data.mdb";
  ASSERT_EQ(Run({"SET", "first", "1"}), Ok());
  EXPECT_GE(std::filesystem::file_size(file), limits::kWalFileAheadBytes);
  // ~10 MiB of log: past the first margin, so the file is extended again while it grows.
  const std::string value(2000, 'v');
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(Run({"SET", "k" + std::to_string(i % 100), value + std::to_string(i)}), Ok());
  }
  auto size = std::filesystem::file_size(file);
  EXPECT_GE(size, uint64_t{10} << 20);
  auto before = DumpState(*engine_);
  const uint64_t logged = Stats().records;
  Close();
  Open(2);
  EXPECT_EQ(DumpState(*engine_), before);
  EXPECT_EQ(Stats().recovered_records, logged);
  // The map ceiling bounds the margin: the file never grows past what LMDB could use.
  EXPECT_LE(std::filesystem::file_size(file), Stats().map_bytes);
}

TEST_F(WalTest, ReplayUsesTheLoggedTimeAndRandomState) {
  Open(4);
  EXPECT_EQ(Run({"WALTEST.STAMP", "stamp"}), Ok());
  EXPECT_EQ(Run({"WALTEST.SETPX", "ttl", "1000", "v"}), Ok());  // deadline kT0 + 1000
  for (const char* k : {"{r}1", "{r}2", "{r}3", "{q}1", "{q}2"}) {
    EXPECT_EQ(Run({"WALTEST.RAND", k}), Ok());
  }
  now_ += 250;
  EXPECT_EQ(Run({"WALTEST.STAMP", "stamp2"}), Ok());
  EXPECT_EQ(Run({"WALTEST.RAND", "{r}1"}), Ok());  // overwrites with the next draw
  auto before = DumpState(*engine_);
  EXPECT_EQ(before["0|stamp"], "string|" + std::to_string(kT0) + "|0");
  EXPECT_EQ(before["0|stamp2"], "string|" + std::to_string(kT0 + 250) + "|0");
  EXPECT_EQ(before["0|ttl"], "string|v|" + std::to_string(kT0 + 1000));
  EXPECT_NE(before["0|{r}1"], before["0|{r}2"]);
  Close();

  // Restart much later: the replayed handlers still see the logged times.
  now_ = kT0 + 500;
  Open(4);
  EXPECT_EQ(DumpState(*engine_), before);
  EXPECT_EQ(Run({"GET", "ttl"}), Bulk("v"));
  Close();
  now_ = kT0 + 60000;
  Open(4);
  EXPECT_EQ(DumpState(*engine_), before);  // the deadline is absolute, not re-based
  EXPECT_EQ(Run({"GET", "ttl"}), Nil());
}

TEST_F(WalTest, EverysecRestoresAfterACleanShutdown) {
  Open(4, Durability::kEverysec);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(engine_->call(std::vector<std::string>{"SET", "e" + std::to_string(i), "x"}), Ok());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Stats().syncs == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(Stats().syncs, 1u);  // the once-a-second sync ran without any new write
  EXPECT_EQ(Stats().records, 100u);
  auto before = DumpState(*engine_);
  Close();
  Open(4, Durability::kEverysec);
  EXPECT_EQ(DumpState(*engine_), before);
  Close();
  // The log is the same format: `always` reads what `everysec` wrote.
  Open(4, Durability::kAlways);
  EXPECT_EQ(DumpState(*engine_), before);
}

TEST_F(WalTest, NoneKeepsNothingAndTouchesNoFile) {
  Open(4, Durability::kNone);
  EXPECT_EQ(engine_->impl().wal(), nullptr);
  EXPECT_EQ(Run({"SET", "k", "v"}), Ok());
  Close();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/data.mdb"));
  Open(4, Durability::kNone);
  EXPECT_EQ(Run({"GET", "k"}), Nil());
}

TEST_F(WalTest, AsyncAndBatchWritesAreLoggedBeforeTheirReplies) {
  Open(4);
  std::atomic<int> done{0};
  std::vector<std::string_view> args = {"SET", "async", "1"};
  engine_->call_async(args, [&](Reply r) {
    EXPECT_EQ(r, Ok());
    done.fetch_add(1);
  });
  std::vector<std::vector<std::string>> batch;
  for (int i = 0; i < 50; ++i) batch.push_back({"SET", "b" + std::to_string(i), "x"});
  batch.push_back({"GET", "b0"});
  batch.push_back({"WALTEST.MSET", "m1", "1", "m2", "2"});
  auto replies = engine_->call_batch(batch);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(replies[i], Ok());
  EXPECT_EQ(replies[50], Bulk("x"));
  EXPECT_EQ(replies[51], Ok());
  while (done.load() == 0) std::this_thread::yield();
  // Every acknowledged write's record is durable when its reply arrives.
  EXPECT_EQ(Stats().durable_lsn, 52u);
  auto before = DumpState(*engine_);
  Close();
  Open(4);
  EXPECT_EQ(DumpState(*engine_), before);
}

// --- Corruption: the engine refuses to start, naming the LSN and the problem. ---

class WalCorruptionTest : public WalTest {
 protected:
  void WriteTen() {
    Open(4);
    for (int i = 1; i <= 10; ++i) {
      ASSERT_EQ(engine_->call(std::vector<std::string>{"SET", "k" + std::to_string(i), "v"}), Ok());
    }
    Close();
  }
  std::string ValueOf(MDB_txn* txn, MDB_dbi dbi, uint64_t lsn) {
    uint64_t be;
    MDB_val k = LsnKey(&be, lsn), v;
    EXPECT_EQ(mdb_get(txn, dbi, &k, &v), 0);
    return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
  }
  void Put(MDB_txn* txn, MDB_dbi dbi, uint64_t lsn, const std::string& bytes) {
    uint64_t be;
    MDB_val k = LsnKey(&be, lsn);
    MDB_val v{bytes.size(), const_cast<char*>(bytes.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
  }
  std::string Prefix() { return "allot: the write-ahead log in " + dir_ + " is damaged at LSN "; }
  const std::string kSuffix = "; refusing to start rather than lose acknowledged writes";
};

TEST_F(WalCorruptionTest, FlippedByteInAValue) {
  WriteTen();
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    std::string bytes = ValueOf(txn, dbi, 5);
    bytes[bytes.size() - 1] ^= 0x20;  // "v" -> "V"
    Put(txn, dbi, 5, bytes);
  });
  std::string err = OpenError();
  EXPECT_EQ(err.rfind(Prefix() + "5: payload checksum mismatch (stored 0x", 0), 0u) << err;
  EXPECT_EQ(err.substr(err.size() - kSuffix.size()), kSuffix) << err;
}

TEST_F(WalCorruptionTest, FlippedByteInAHeader) {
  WriteTen();
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    std::string bytes = ValueOf(txn, dbi, 2);
    bytes[9] ^= 0x01;  // payload length
    Put(txn, dbi, 2, bytes);
  });
  std::string err = OpenError();
  EXPECT_EQ(err.rfind(Prefix() + "2: header checksum mismatch (stored 0x", 0), 0u) << err;
}

TEST_F(WalCorruptionTest, MissingRecord) {
  WriteTen();
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    uint64_t be;
    MDB_val k = LsnKey(&be, 7);
    ASSERT_EQ(mdb_del(txn, dbi, &k, nullptr), 0);
  });
  EXPECT_EQ(OpenError(), Prefix() + "7: the next record has LSN 8 (records missing)" + kSuffix);
}

TEST_F(WalCorruptionTest, TruncatedLastRecord) {
  WriteTen();
  size_t full = 0;
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    std::string bytes = ValueOf(txn, dbi, 10);
    full = bytes.size();
    Put(txn, dbi, 10, bytes.substr(0, 30));
  });
  EXPECT_EQ(OpenError(), Prefix() + "10: record truncated: payload has 6 of " +
                             std::to_string(full - internal::kWalHeaderBytes) + " bytes" + kSuffix);
}

TEST_F(WalCorruptionTest, RecordUnderTheWrongKey) {
  WriteTen();
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    std::string bytes = ValueOf(txn, dbi, 4);
    Put(txn, dbi, 3, bytes);  // a valid record, but it says LSN 4
  });
  EXPECT_EQ(OpenError(), Prefix() + "3: the record says LSN 4" + kSuffix);
}

TEST_F(WalCorruptionTest, ValidRecordThatCannotReplay) {
  WriteTen();
  EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
    std::vector<std::string_view> args = {"NOPE", "x"};
    std::string bytes = internal::EncodeWalRecord(internal::WalRecordInfo{}, args);
    internal::SealWalRecord(bytes, 11);
    Put(txn, dbi, 11, bytes);
  });
  EXPECT_EQ(OpenError(), "allot: cannot replay the write-ahead log in " + dir_ +
                             " at LSN 11 (NOPE): unknown command; refusing to start");
}

// --- Failure to write: MISCONF, reads go on, writes resume when the disk does. ---

TEST_F(WalTest, MapFullGivesMisconfUntilTheLogCanBeWrittenAgain) {
  Config cfg = MakeConfig(4, Durability::kAlways);
  cfg.wal_map_bytes_max = 1 << 20;  // a "disk" of 1 MiB
  engine_ = std::make_unique<Engine>(cfg);
  const std::string big(16 * 1024, 'x');
  const std::string misconf =
      "MISCONF Errors writing to the WAL (LMDB: MDB_MAP_FULL: Environment mapsize limit "
      "reached). Commands that may modify the data set are disabled.";
  int acked = 0;
  Reply r;
  for (; acked < 200; ++acked) {
    r = engine_->call(std::vector<std::string>{"SET", "big" + std::to_string(acked), big});
    if (r.is_error()) break;
  }
  ASSERT_GT(acked, 10);
  ASSERT_LT(acked, 200);
  EXPECT_EQ(r, Err(misconf));
  EXPECT_TRUE(Stats().refusing_writes);
  EXPECT_GE(Stats().write_errors, 1u);
  // Writes are refused before they run; reads are served.
  EXPECT_EQ(Run({"SET", "refused", "1"}), Err(misconf));
  EXPECT_EQ(Run({"FLUSHALL"}), Err(misconf));
  EXPECT_EQ(Run({"GET", "refused"}), Nil());
  EXPECT_EQ(Run({"GET", "big0"}), Bulk(big));
  EXPECT_EQ(Run({"DBSIZE"}), Int(acked + 1));  // the failed write is in memory...

  // The disk has room again: the stuck record is logged first, then writes resume.
  engine_->impl().wal()->set_map_bytes_max(uint64_t{1} << 30);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Stats().refusing_writes && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Run({"SET", "after", "1"}), Ok());
  EXPECT_EQ(Stats().durable_lsn, static_cast<uint64_t>(acked + 2));
  auto before = DumpState(*engine_);
  Close();
  Open(4);
  EXPECT_EQ(DumpState(*engine_), before);  // ...and in the log: memory and log agree
}

// --- Group commit: many concurrent writers share commits. ---

// Both commit protocols of durability always (wal.h, pipeline_meta_): LMDB's own (two
// flushes per commit) and the pipelined meta page (one fdatasync per commit, a group
// acknowledged after the next sync); then a restart must find every acknowledged write.
class GroupCommitTest : public WalTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    WalTest::SetUp();
    setenv("ALLOT_WAL_PIPELINE_META", GetParam() ? "1" : "0", 1);
  }
  void TearDown() override {
    unsetenv("ALLOT_WAL_PIPELINE_META");
    WalTest::TearDown();
  }
};
INSTANTIATE_TEST_SUITE_P(Meta, GroupCommitTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Pipelined" : "Lmdb"; });

TEST_P(GroupCommitTest, SharesSyncsAmongConcurrentWriters) {
  const bool pipelined = GetParam();
  Open(2);
  constexpr int kThreads = 32, kWrites = 100;
  std::vector<std::thread> threads;
  auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        std::string k = "t" + std::to_string(t) + ":" + std::to_string(i);
        ASSERT_EQ(engine_->call(std::vector<std::string>{"SET", k, k}), Ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  internal::WalStats s = Stats();
  EXPECT_EQ(s.records, uint64_t{kThreads * kWrites});
  if (pipelined) {
    // One fdatasync per commit, plus an explicit one when no next commit carried the
    // previous group's meta page (wal.h).
    EXPECT_EQ(s.syncs, s.groups + s.explicit_syncs);
    EXPECT_LE(s.explicit_syncs, s.groups);
  } else {
    EXPECT_EQ(s.syncs, 2 * s.groups);  // data pages, then the meta page
    EXPECT_EQ(s.explicit_syncs, 0u);
  }
  // With 32 writers each waiting for its commit, a commit carries many records.
  EXPECT_LT(s.groups * 4, s.records);
  std::printf(
      "group commit: %d threads, %llu records, %llu groups (%.1f records/group, max %llu), "
      "%llu flushes (%llu explicit syncs), avg commit %.0f us, last %llu us, %.0f writes/s\n",
      kThreads, static_cast<unsigned long long>(s.records),
      static_cast<unsigned long long>(s.groups),
      static_cast<double>(s.records) / static_cast<double>(s.groups),
      static_cast<unsigned long long>(s.group_records_max),
      static_cast<unsigned long long>(s.syncs), static_cast<unsigned long long>(s.explicit_syncs),
      static_cast<double>(s.commit_us_total) / static_cast<double>(s.groups),
      static_cast<unsigned long long>(s.commit_us_last), s.records / secs);
  engine_.reset();
  Open(2);
  EXPECT_EQ(engine_->call(std::vector<std::string>{"DBSIZE"}), Reply::Int(kThreads * kWrites));
}

}  // namespace
}  // namespace allot::testing

namespace allot::testing {
namespace {

// Not a pass/fail figure: prints the rate of 32 synchronous writers per mode, for
// docs/durability.md (run: build/tests/wal_recovery_test --gtest_filter=*ModesThroughput*).
TEST_F(WalTest, ModesThroughput) {
  for (Durability d : {Durability::kNone, Durability::kEverysec, Durability::kAlways}) {
    Open(2, d);
    constexpr int kThreads = 32, kWrites = 300;
    std::vector<std::thread> threads;
    auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kWrites; ++i) {
          std::string k = "t" + std::to_string(t) + ":" + std::to_string(i);
          ASSERT_EQ(engine_->call(std::vector<std::string>{"SET", k, k}), Ok());
        }
      });
    }
    for (auto& th : threads) th.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const char* name = d == Durability::kNone       ? "none"
                       : d == Durability::kEverysec ? "everysec"
                                                    : "always";
    if (engine_->impl().wal() == nullptr) {
      std::printf("%-8s %8.0f writes/s\n", name, kThreads * kWrites / secs);
    } else {
      internal::WalStats s = Stats();
      std::printf("%-8s %8.0f writes/s, %.1f records/group, %llu syncs, avg commit %.0f us\n", name,
                  kThreads * kWrites / secs,
                  static_cast<double>(s.records) / static_cast<double>(s.groups),
                  static_cast<unsigned long long>(s.syncs),
                  static_cast<double>(s.commit_us_total) / static_cast<double>(s.groups));
    }
    Close();
    std::filesystem::remove_all(dir_);
  }
}

}  // namespace
}  // namespace allot::testing
