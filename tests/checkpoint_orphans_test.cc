// checkpoint_orphans_test.cc: PostgreSQL sync's orphaned sale events in checkpoint images
// (engine/wal/checkpoint.h, version 4). A shard's checkpoint saves the orphans that existed
// at its marker, not later ones (their items are in the image and replay re-creates them),
// whatever acknowledgements remove between its steps; the loader reads them back as
// entries of kCheckpointOrphansDb, which are not keys; older metas still load.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/keyspace/inventory.h"
#include "engine/keyspace/shard_state.h"
#include "engine/pgsync/tracker.h"
#include "engine/wal/checkpoint.h"
#include "engine/wal/crc32c.h"

namespace allot::testing {
namespace {

using internal::PgTracker;

internal::SaleLedger<internal::SaleEvent> Events(uint64_t first_seq, int n) {
  internal::SaleLedger<internal::SaleEvent> out;
  for (int i = 0; i < n; ++i) {
    internal::SaleEvent& ev = out.emplace_back();
    ev.seq = first_seq + static_cast<uint64_t>(i);
    ev.qty = 1;
    ev.at_ms = 1767225600000 + i;
    ev.user = "u" + std::to_string(i);
    if (i == 1) ev.hold_id = "h1";
    if (i == 2) ev.cancelled = true;
  }
  return out;
}

struct Saved {
  std::string key;
  uint64_t item_id;
  std::vector<uint64_t> seqs;
  std::string fields;  // per event: user/hold_id/cancelled
};

// Decodes every emitted chunk: the orphan entries, and the count of real keys.
std::vector<Saved> Decode(const std::vector<std::string>& chunks, int* keys) {
  std::vector<Saved> out;
  *keys = 0;
  for (std::string c : chunks) {
    internal::SealCheckpointChunk(c);
    std::string err = internal::DecodeCheckpointChunk(
        c, [&](int db, std::string_view key, internal::Value v, int64_t) {
          if (db != internal::kCheckpointOrphansDb) {
            ++*keys;
            return;
          }
          const internal::Inventory& inv = *std::get<internal::InventoryValue>(v);
          Saved s{std::string(key), inv.item_id, {}, ""};
          for (const internal::SaleEvent& ev : inv.unsynced) {
            s.seqs.push_back(ev.seq);
            s.fields += ev.user + "/" + ev.hold_id + "/" + (ev.cancelled ? "c" : "s") + " ";
          }
          out.push_back(std::move(s));
        });
    EXPECT_EQ(err, "");
  }
  return out;
}

TEST(CheckpointOrphansTest, SavesTheOrphansOfTheMarkerAcrossAcknowledgements) {
  internal::PgShared shared;
  internal::ShardState shard(0);
  shard.pg = std::make_unique<PgTracker>(&shared);
  PgTracker& t = *shard.pg;
  shard.dbs[0].insert("live", internal::StringValue("v"), 0);
  t.add_orphans("a", 11, Events(1, 3));
  t.add_orphans("b", 12, Events(5, 4));
  t.add_orphans("c", 13, Events(2, 3));
  std::vector<std::string> chunks;
  internal::ShardCheckpoint ckpt(shard);
  ckpt.begin([&](std::string c) { chunks.push_back(std::move(c)); });
  // One orphan per step (budget 1), with an acknowledgement and a new orphan in between.
  EXPECT_FALSE(ckpt.step(1, 1000000));
  t.orphans[1].events.pop_front();  // "b" seq 5 acknowledged
  std::erase_if(t.orphans, [](const internal::PgOrphanEvents& o) { return o.key == "a"; });
  t.add_orphans("later", 14, Events(1, 2));  // after the marker: not in this image
  while (!ckpt.step(1, 1000000)) {
  }
  int keys = 0;
  std::vector<Saved> saved = Decode(chunks, &keys);
  EXPECT_EQ(keys, 1);
  EXPECT_EQ(ckpt.keys(), 1u);  // orphans are not counted as keys
  ASSERT_EQ(saved.size(), 3u);
  EXPECT_EQ(saved[0].key, "a");
  EXPECT_EQ(saved[0].item_id, 11u);
  EXPECT_EQ(saved[0].seqs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(saved[1].key, "b");
  EXPECT_EQ(saved[1].seqs, (std::vector<uint64_t>{6, 7, 8}));
  EXPECT_EQ(saved[2].key, "c");
  EXPECT_EQ(saved[2].item_id, 13u);
  EXPECT_EQ(saved[2].fields, "u0//s u1/h1/s u2//c ");
  // The next checkpoint has the later one too.
  chunks.clear();
  ckpt.begin([&](std::string c) { chunks.push_back(std::move(c)); });
  while (!ckpt.step(100, 1000000)) {
  }
  saved = Decode(chunks, &keys);
  ASSERT_EQ(saved.size(), 3u);
  EXPECT_EQ(saved[2].key, "later");
  EXPECT_EQ(saved[2].seqs, (std::vector<uint64_t>{1, 2}));
}

TEST(CheckpointOrphansTest, WithoutSyncThereAreNone) {
  internal::ShardState shard(0);
  std::vector<std::string> chunks;
  internal::ShardCheckpoint ckpt(shard);
  ckpt.begin([&](std::string c) { chunks.push_back(std::move(c)); });
  EXPECT_TRUE(ckpt.step(10, 1000000));
  EXPECT_TRUE(chunks.empty());
}

// Version 4 writes; versions 2 and 3 (no orphans in their chunks) still load; a version
// this build does not know is refused.
TEST(CheckpointOrphansTest, MetaVersions) {
  internal::CheckpointMeta meta;
  meta.lsn = 9;
  meta.id = 2;
  meta.keys = 1;
  meta.shard_keys = {1};
  std::string v4 = internal::EncodeCheckpointMeta(meta);
  EXPECT_EQ(static_cast<int>(v4[4]), 4);
  auto with_version = [](std::string m, char v) {
    m[4] = v;
    uint32_t crc = internal::Crc32c(std::string_view(m).substr(4));
    std::memcpy(m.data(), &crc, 4);
    return m;
  };
  internal::CheckpointMeta back;
  EXPECT_EQ(internal::DecodeCheckpointMeta(v4, back), "");
  EXPECT_EQ(internal::DecodeCheckpointMeta(with_version(v4, 3), back), "");
  EXPECT_EQ(back.lsn, 9u);
  EXPECT_EQ(internal::DecodeCheckpointMeta(with_version(v4, 5), back),
            "unknown checkpoint version 5");
}

}  // namespace
}  // namespace allot::testing
