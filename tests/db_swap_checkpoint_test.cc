// db_swap_checkpoint_test.cc: SWAPDB (Db::swap_contents) while a checkpoint is being saved.
// The image is the state at the checkpoint's marker: every entry each database held then
// is saved exactly once, under that database, whatever moved where since.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engine/keyspace/db.h"
#include "tests/support/db_checkpoint_recorder.h"

namespace allot::testing {
namespace {

using internal::Db;
using internal::Entry;
using internal::StringValue;

TEST(DbSwapCheckpointTest, SwapDuringCheckpointSavesEachEntryUnderItsDatabaseAtTheMarker) {
  for (int partial : {0, 40, 1000}) {
    Db a, b;
    for (int i = 0; i < 300; ++i) a.insert("a" + std::to_string(i), StringValue("va"), 0);
    for (int i = 0; i < 7; ++i) b.insert("b" + std::to_string(i), StringValue("vb"), 0);
    const auto want_a = SnapshotStrings(a), want_b = SnapshotStrings(b);
    CheckpointRecorder rec_a, rec_b;
    a.checkpoint_begin(&rec_a);
    b.checkpoint_begin(&rec_b);
    a.checkpoint_step(static_cast<size_t>(partial));  // some of a saved before the swap
    a.swap_contents(b);
    // Changes after the swap: the entries' values at the marker are what is saved.
    if (Entry* e = b.find("a5", 0)) e->as<StringValue>() = "changed";
    a.erase("b1", 0);
    a.insert("new", StringValue("n"), 0);
    for (int guard = 0; guard < 10000 && a.checkpoint_pending() + b.checkpoint_pending() > 0;
         ++guard) {
      a.checkpoint_step(16);
      b.checkpoint_step(16);
    }
    ASSERT_EQ(a.checkpoint_pending() + b.checkpoint_pending(), 0u) << partial;
    a.checkpoint_end();
    b.checkpoint_end();
    EXPECT_EQ(rec_a.duplicates + rec_b.duplicates, 0) << partial;
    EXPECT_EQ(rec_a.saved, want_a) << partial;
    EXPECT_EQ(rec_b.saved, want_b) << partial;
    // The next checkpoint sees the swapped state, each database on its own sink.
    CheckpointRecorder next_a, next_b;
    const auto now_a = SnapshotStrings(a), now_b = SnapshotStrings(b);
    a.checkpoint_begin(&next_a);
    b.checkpoint_begin(&next_b);
    while (a.checkpoint_pending() > 0) a.checkpoint_step(100);
    while (b.checkpoint_pending() > 0) b.checkpoint_step(100);
    a.checkpoint_end();
    b.checkpoint_end();
    EXPECT_EQ(next_a.saved, now_a) << partial;
    EXPECT_EQ(next_b.saved, now_b) << partial;
  }
}

}  // namespace
}  // namespace allot::testing
