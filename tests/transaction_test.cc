// transaction_test.cc: MULTI/EXEC in the engine (Engine::transaction, engine/txn/
// transaction.cc) and WATCH (engine/txn/watch.h): replies per element, EXECABORT,
// SELECT inside, atomicity across shards under concurrency, every event that dirties a
// watch (another session, another shard, expiry lazy and active, FLUSHALL, hold expiry)
// and those that do not, and the WAL: one record per transaction, replayed.
#include <allot/engine.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "engine/engine_impl.h"
#include "tests/support/engine_fixture.h"
#include "tests/wal_support.h"

namespace allot::testing {
namespace {

using Cmds = std::vector<std::vector<std::string>>;

// Keys that live on pairwise different shards.
std::vector<std::string> KeysOnDistinctShards(Engine& e, size_t n, const std::string& prefix) {
  std::vector<std::string> out;
  std::set<unsigned> used;
  for (int i = 0; out.size() < n; ++i) {
    std::string k = prefix + std::to_string(i);
    if (used.insert(e.shard_of(k)).second) out.push_back(k);
  }
  return out;
}

class TransactionTest : public EngineTest {
 protected:
  Reply Txn(const Cmds& cmds) { return engine().transaction(session(), cmds); }
  Reply Other(std::initializer_list<std::string_view> args) {
    std::vector<std::string_view> v(args);
    return engine().call(other_, v);
  }
  // Registrations left in every shard's watch table.
  size_t Watched() {
    size_t n = 0;
    for (unsigned i = 0; i < engine().shards(); ++i) {
      engine().impl().run_on_shard(i, [&](internal::ShardState& s) { n += s.watches.size(); });
    }
    return n;
  }
  Session other_;
};

TEST_F(TransactionTest, RepliesPerCommandAndErrorsDoNotRollBack) {
  EXPECT_EQ(Txn({{"SET", "a", "x"}, {"INCR", "a"}, {"PING"}, {"ECHO", "hi"}, {"GET", "a"}}),
            Arr({Ok(), Err("ERR value is not an integer or out of range"), Status("PONG"),
                 Bulk("hi"), Bulk("x")}));
  EXPECT_EQ(Txn({}), Arr({}));
}

TEST_F(TransactionTest, QueueErrorsAbortEverything) {
  const Reply abort = Err("EXECABORT Transaction discarded because of previous errors.");
  EXPECT_EQ(Txn({{"SET", "a", "1"}, {"NOSUCH", "x"}}), abort);
  EXPECT_EQ(Txn({{"SET", "a", "1"}, {"GET"}}), abort);
  EXPECT_EQ(Run({"EXISTS", "a"}), Int(0));
}

TEST_F(TransactionTest, SelectInsideChangesTheFollowingCommandsAndTheSession) {
  EXPECT_EQ(
      Txn({{"SET", "k", "0"}, {"SELECT", "1"}, {"SET", "k", "1"}, {"SELECT", "99"}, {"GET", "k"}}),
      Arr({Ok(), Ok(), Ok(), Err("ERR DB index is out of range"), Bulk("1")}));
  EXPECT_EQ(session().db, 1);
  EXPECT_EQ(Run({"GET", "k"}), Bulk("1"));
  EXPECT_EQ(Run({"SELECT", "0"}), Ok());
  EXPECT_EQ(Run({"GET", "k"}), Bulk("0"));
}

TEST_F(TransactionTest, AllShardsCommandsInside) {
  auto keys = KeysOnDistinctShards(engine(), 3, "k");
  EXPECT_EQ(Txn({{"SET", keys[0], "1"},
                 {"SET", keys[1], "2"},
                 {"DBSIZE"},
                 {"FLUSHALL"},
                 {"DBSIZE"},
                 {"SET", keys[2], "3"}}),
            Arr({Ok(), Ok(), Int(2), Ok(), Int(0), Ok()}));
  EXPECT_EQ(Run({"DBSIZE"}), Int(1));
}

// Two counters on different shards are incremented together in every transaction while
// readers check with one multi-shard MGET that they never differ.
TEST_F(TransactionTest, AtomicAcrossShardsUnderConcurrency) {
  auto keys = KeysOnDistinctShards(engine(), 2, "c");
  ASSERT_NE(engine().shard_of(keys[0]), engine().shard_of(keys[1]));
  constexpr int kWriters = 3, kPerWriter = 300;
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop.load()) {
      Reply r = engine().call({"MGET", keys[0], keys[1]});
      if (r.array()[0] != r.array()[1]) torn.fetch_add(1);
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      Session s;
      for (int i = 0; i < kPerWriter; ++i) {
        Reply r = engine().transaction(s, {{"INCR", keys[0]}, {"INCR", keys[1]}});
        ASSERT_TRUE(r.is_array());
        ASSERT_EQ(r.array()[0], r.array()[1]);
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(Run({"GET", keys[0]}), Bulk(std::to_string(kWriters * kPerWriter)));
  EXPECT_EQ(Run({"GET", keys[1]}), Bulk(std::to_string(kWriters * kPerWriter)));
}

TEST_F(TransactionTest, WatchUnchangedRunsAndIsReleased) {
  EXPECT_EQ(Run({"SET", "w", "1"}), Ok());
  EXPECT_EQ(Run({"WATCH", "w", "nokey"}), Ok());
  EXPECT_EQ(Run({"GET", "w"}), Bulk("1"));  // reads do not dirty
  EXPECT_EQ(Other({"GET", "w"}), Bulk("1"));
  EXPECT_EQ(Txn({{"SET", "w", "2"}}), Arr({Ok()}));
  EXPECT_EQ(Watched(), 0u);
  EXPECT_EQ(session().watch, nullptr);
}

TEST_F(TransactionTest, WatchDirtiedByAnotherSessionOnTheSameOrAnotherShard) {
  auto keys = KeysOnDistinctShards(engine(), 2, "w");
  EXPECT_EQ(Run({"WATCH", keys[0]}), Ok());
  EXPECT_EQ(Other({"SET", keys[0], "x"}), Ok());
  // The transaction's own keys are on another shard than the watched one.
  EXPECT_EQ(Txn({{"SET", keys[1], "mine"}}), Reply::NullArray());
  EXPECT_EQ(Run({"EXISTS", keys[1]}), Int(0));
  EXPECT_EQ(Watched(), 0u);
  // Multi-key WATCH across shards, dirtied by a multi-shard command.
  EXPECT_EQ(Run({"WATCH", keys[0], keys[1]}), Ok());
  EXPECT_EQ(Watched(), 2u);
  EXPECT_EQ(Other({"DEL", keys[0], keys[1]}), Int(1));
  EXPECT_EQ(Txn({{"PING"}}), Reply::NullArray());
  // Dirtied by a write inside another session's transaction.
  EXPECT_EQ(Run({"WATCH", keys[1]}), Ok());
  EXPECT_EQ(engine().transaction(other_, {{"SET", keys[1], "t"}}), Arr({Ok()}));
  EXPECT_EQ(Txn({{"PING"}}), Reply::NullArray());
}

TEST_F(TransactionTest, WatchDirtiedByTheSameSession) {
  EXPECT_EQ(Run({"WATCH", "s"}), Ok());
  EXPECT_EQ(Run({"SET", "s", "1"}), Ok());
  EXPECT_EQ(Txn({{"GET", "s"}}), Reply::NullArray());
}

TEST_F(TransactionTest, WritesThatChangeNothingOnAMissingKeyDoNotDirty) {
  EXPECT_EQ(Run({"WATCH", "m"}), Ok());
  EXPECT_EQ(Other({"DEL", "m"}), Int(0));
  EXPECT_EQ(Other({"EXPIRE", "m", "10"}), Int(0));
  EXPECT_EQ(Other({"GET", "m"}), Nil());
  EXPECT_EQ(Txn({{"SET", "m", "1"}}), Arr({Ok()}));
  // A failed write changes nothing either.
  EXPECT_EQ(Run({"WATCH", "m"}), Ok());
  EXPECT_EQ(Other({"LPUSH", "m", "x"}),
            Err("WRONGTYPE Operation against a key holding the wrong kind of value"));
  EXPECT_EQ(Txn({{"GET", "m"}}), Arr({Bulk("1")}));
}

TEST_F(TransactionTest, WatchDirtiedByExpiry) {
  // Expired by EXEC time, deleted by nobody.
  EXPECT_EQ(Run({"SET", "e", "1", "PX", "100"}), Ok());
  EXPECT_EQ(Run({"WATCH", "e"}), Ok());
  AdvanceTime(100);
  EXPECT_EQ(Txn({{"PING"}}), Reply::NullArray());
  // Deleted lazily by a read of another session.
  EXPECT_EQ(Run({"SET", "e", "1", "PX", "100"}), Ok());
  EXPECT_EQ(Run({"WATCH", "e"}), Ok());
  AdvanceTime(100);
  EXPECT_EQ(Other({"GET", "e"}), Nil());
  EXPECT_EQ(Txn({{"PING"}}), Reply::NullArray());
  // Deleted by the active sweep.
  EXPECT_EQ(Run({"SET", "e", "1", "PX", "100"}), Ok());
  EXPECT_EQ(Run({"WATCH", "e"}), Ok());
  AdvanceTime(100);
  RunTimers();
  EXPECT_EQ(Run({"DBSIZE"}), Int(0));
  EXPECT_EQ(Txn({{"PING"}}), Reply::NullArray());
}

TEST_F(TransactionTest, KeyAlreadyExpiredAtWatchIsNotAChangeWhenDeleted) {
  EXPECT_EQ(Run({"SET", "e", "1", "PX", "100"}), Ok());
  AdvanceTime(200);  // expired, still in the table (no access, no sweep)
  EXPECT_EQ(Run({"WATCH", "e"}), Ok());
  RunTimers();  // the sweep deletes it: logically it was missing all along
  EXPECT_EQ(Txn({{"PING"}}), Arr({Status("PONG")}));
  // But writing it after WATCH is a change.
  EXPECT_EQ(Run({"SET", "e", "1", "PX", "100"}), Ok());
  AdvanceTime(200);
  EXPECT_EQ(Run({"WATCH", "e"}), Ok());
  EXPECT_EQ(Other({"SET", "e", "2"}), Ok());
  EXPECT_EQ(Txn({{"PING"}}), Reply::NullArray());
}

TEST_F(TransactionTest, FlushDirtiesPresentWatchedKeysOnly) {
  EXPECT_EQ(Run({"SET", "p", "1"}), Ok());
  EXPECT_EQ(Run({"WATCH", "missing"}), Ok());
  EXPECT_EQ(Other({"FLUSHALL"}), Ok());
  EXPECT_EQ(Txn({{"PING"}}), Arr({Status("PONG")}));
  EXPECT_EQ(Run({"SET", "p", "1"}), Ok());
  EXPECT_EQ(Run({"WATCH", "p"}), Ok());
  EXPECT_EQ(Other({"FLUSHDB"}), Ok());
  EXPECT_EQ(Txn({{"PING"}}), Reply::NullArray());
  // FLUSHDB of another database leaves it alone.
  EXPECT_EQ(Run({"SET", "p", "1"}), Ok());
  EXPECT_EQ(Run({"WATCH", "p"}), Ok());
  Session db1;
  db1.db = 1;
  std::vector<std::string_view> flush = {"FLUSHDB"};
  EXPECT_EQ(engine().call(db1, flush), Ok());
  EXPECT_EQ(Txn({{"PING"}}), Arr({Status("PONG")}));
}

TEST_F(TransactionTest, MoveToAnotherDatabaseDirtiesTheTarget) {
  Session db1;
  db1.db = 1;
  std::vector<std::string_view> watch = {"WATCH", "mv"};
  EXPECT_EQ(engine().call(db1, watch), Ok());
  EXPECT_EQ(Run({"SET", "mv", "1"}), Ok());
  EXPECT_EQ(Run({"MOVE", "mv", "1"}), Int(1));
  EXPECT_EQ(engine().transaction(db1, {{"GET", "mv"}}), Reply::NullArray());
}

TEST_F(TransactionTest, WatchDirtiedByHoldExpiry) {
  EXPECT_EQ(Run({"INV.CREATE", "item", "3", "HOLD", "1000"}), Ok());
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1"}), Bulk("1"));
  // Due by EXEC time, expired by nobody.
  EXPECT_EQ(Run({"WATCH", "item"}), Ok());
  AdvanceTime(1000);
  EXPECT_EQ(Txn({{"INV.BUY", "item", "u2"}}), Reply::NullArray());
  // Expired by the shard timer.
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1"}), Bulk("2"));
  EXPECT_EQ(Run({"WATCH", "item"}), Ok());
  AdvanceTime(1000);
  RunTimers();
  EXPECT_EQ(Txn({{"INV.BUY", "item", "u2"}}), Reply::NullArray());
  // Expired lazily by another session's read.
  EXPECT_EQ(Run({"INV.HOLD", "item", "u1"}), Bulk("3"));
  EXPECT_EQ(Run({"WATCH", "item"}), Ok());
  AdvanceTime(1000);
  EXPECT_TRUE(Other({"INV.GET", "item"}).is_map());
  EXPECT_EQ(Txn({{"INV.BUY", "item", "u2"}}), Reply::NullArray());
  // Nothing due: the purchase goes through.
  EXPECT_EQ(Run({"WATCH", "item"}), Ok());
  EXPECT_EQ(Txn({{"INV.BUY", "item", "u2"}}), Arr({Int(1)}));
}

TEST_F(TransactionTest, UnwatchAndQueueErrorsRelease) {
  EXPECT_EQ(Run({"WATCH", "a", "b", "c"}), Ok());
  EXPECT_EQ(Watched(), 3u);
  EXPECT_EQ(Run({"UNWATCH"}), Ok());
  EXPECT_EQ(Watched(), 0u);  // run_on_shard runs after the posted removals
  EXPECT_EQ(Other({"SET", "a", "1"}), Ok());
  EXPECT_EQ(Txn({{"PING"}}), Arr({Status("PONG")}));
  EXPECT_EQ(Run({"WATCH", "a"}), Ok());
  EXPECT_EQ(Txn({{"NOSUCH"}}), Err("EXECABORT Transaction discarded because of previous errors."));
  EXPECT_EQ(Watched(), 0u);
  // WATCH twice on one key registers it once.
  EXPECT_EQ(Run({"WATCH", "a"}), Ok());
  EXPECT_EQ(Run({"WATCH", "a"}), Ok());
  EXPECT_EQ(Watched(), 1u);
  EXPECT_EQ(Txn({{"WATCH", "x"}}), Arr({Err("ERR WATCH inside MULTI is not allowed")}));
  EXPECT_EQ(Watched(), 0u);
}

TEST_F(TransactionTest, ManyWatchersOfOneKey) {
  std::vector<Session> sessions(20);
  std::vector<std::string_view> watch = {"WATCH", "hot"};
  for (Session& s : sessions) EXPECT_EQ(engine().call(s, watch), Ok());
  // The first to commit wins; everyone else sees the change.
  EXPECT_EQ(engine().transaction(sessions[0], {{"SET", "hot", "0"}}), Arr({Ok()}));
  for (size_t i = 1; i < sessions.size(); ++i) {
    EXPECT_EQ(engine().transaction(sessions[i], {{"SET", "hot", "x"}}), Reply::NullArray());
  }
  EXPECT_EQ(Run({"GET", "hot"}), Bulk("0"));
  EXPECT_EQ(Watched(), 0u);
}

class TransactionWalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("allot-txn-test");
    Open();
  }
  void TearDown() override {
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    engine_.reset();
    Config cfg;
    cfg.threads = 4;
    cfg.dir = dir_;
    cfg.durability = Durability::kAlways;
    cfg.clock_ms = [] { return int64_t{1767225600000}; };
    cfg.active_expire = false;
    engine_ = std::make_unique<Engine>(cfg);
  }
  uint64_t Records() { return engine_->impl().wal()->stats().records; }
  std::string dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(TransactionWalTest, ExecAcrossShardsIsOneRecordAndReplays) {
  auto keys = KeysOnDistinctShards(*engine_, 4, "t");
  EXPECT_EQ(engine_->call({"SADD", keys[3], "a", "b", "c"}), Int(3));
  Session session;
  uint64_t before = Records();
  Reply r = engine_->transaction(session, {{"SET", keys[0], "1"},
                                           {"INCRBY", keys[1], "41"},
                                           {"INCR", keys[0]},
                                           {"SPOP", keys[3]},
                                           {"SELECT", "2"},
                                           {"RPUSH", keys[2], "x", "y"},
                                           {"GET", keys[1]}});
  ASSERT_TRUE(r.is_array()) << r.debug_string();
  EXPECT_EQ(r.array()[1], Int(41));
  EXPECT_EQ(r.array()[2], Int(2));
  EXPECT_EQ(r.array()[6], Nil());  // db 2
  EXPECT_EQ(Records() - before, 1u);
  // Read-only and aborted transactions write no record.
  EXPECT_EQ(engine_->transaction(session, {{"GET", keys[0]}}), Arr({Nil()}));
  std::vector<std::string_view> watch = {"WATCH", keys[0]};
  session.db = 0;
  EXPECT_EQ(engine_->call(session, watch), Ok());
  EXPECT_EQ(engine_->call({"SET", keys[0], "9"}), Ok());
  uint64_t mid = Records();
  EXPECT_EQ(engine_->transaction(session, {{"SET", keys[1], "no"}}), Reply::NullArray());
  EXPECT_EQ(Records(), mid);
  auto state = DumpState(*engine_);
  Open();
  EXPECT_EQ(DumpState(*engine_), state);
  EXPECT_EQ(engine_->call({"GET", keys[1]}), Bulk("41"));
}

}  // namespace
}  // namespace allot::testing
