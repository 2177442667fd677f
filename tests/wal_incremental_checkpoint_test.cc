// wal_incremental_checkpoint_test.cc: the copy-on-first-touch scan of Db (db.h,
// checkpoint_begin/step): every entry present at the start is saved exactly once, with its
// value at the start, whatever commands do meanwhile (overwrite, delete, expire, FLUSHDB,
// inserts that rehash the table), and nothing created later is saved.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "engine/keyspace/db.h"
#include "tests/support/db_checkpoint_recorder.h"

namespace allot::testing {
namespace {

using internal::Db;
using internal::Entry;
using internal::StringValue;

TEST(IncrementalCheckpointTest, EveryEntrySavedOnceWithItsValueAtTheStart) {
  for (int seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    Db db;
    const int n = 200 + static_cast<int>(rng() % 3000);
    for (int i = 0; i < n; ++i) {
      db.insert("k" + std::to_string(i), StringValue("v" + std::to_string(i)), 0);
    }
    // A few keys with a TTL that passes during the checkpoint.
    for (int i = 0; i < 20; ++i) {
      db.set_expire(db.peek("k" + std::to_string(i), 0), 50 + i);
    }
    auto expected = SnapshotStrings(db);
    CheckpointRecorder rec;
    db.checkpoint_begin(&rec);
    int next_new = 0;
    int64_t now = 0;
    bool flushed = false;
    while (db.checkpoint_pending() > 0) {
      db.checkpoint_step(1 + rng() % 50);
      for (int ops = static_cast<int>(rng() % 40); ops > 0; --ops) {
        std::string k = "k" + std::to_string(rng() % (n + 50));
        switch (rng() % 6) {
          case 0:  // overwrite
            db.assign(k, StringValue("changed"), now);
            break;
          case 1:  // delete
            db.erase(k, now);
            break;
          case 2:  // in-place change through find
            if (Entry* e = db.find(k, now)) e->as<StringValue>() += "+";
            break;
          default:  // new keys: the table grows and rehashes under the cursor
            db.insert("new" + std::to_string(next_new++), StringValue("n"), now);
        }
      }
      now += 5;
      db.sweep(now, 5);
      if (!flushed && rng() % 200 == 0) {
        db.clear();  // FLUSHDB: the table is frozen for the scan
        flushed = true;
      }
    }
    db.checkpoint_end();
    EXPECT_EQ(rec.duplicates, 0) << "seed " << seed;
    EXPECT_EQ(rec.saved, expected) << "seed " << seed;
    // A second checkpoint sees the state as it is now.
    auto now_state = SnapshotStrings(db);
    CheckpointRecorder rec2;
    db.checkpoint_begin(&rec2);
    while (db.checkpoint_pending() > 0) db.checkpoint_step(100);
    db.checkpoint_end();
    EXPECT_EQ(rec2.saved, now_state) << "seed " << seed;
  }
}

TEST(IncrementalCheckpointTest, EmptyDbIsDoneAtOnce) {
  Db db;
  CheckpointRecorder rec;
  db.checkpoint_begin(&rec);
  EXPECT_EQ(db.checkpoint_pending(), 0u);
  db.insert("later", StringValue("x"), 0);
  EXPECT_EQ(db.checkpoint_step(10), 0u);
  db.checkpoint_end();
  EXPECT_TRUE(rec.saved.empty());
}

}  // namespace
}  // namespace allot::testing
