// KeyTable: the open-addressing key table of a Db, checked against std::unordered_map.
#include "engine/keyspace/key_table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

namespace allot::internal {
namespace {

KeyTable::Node* Put(KeyTable& t, const std::string& key, const std::string& value) {
  return t.insert_new(std::string(key), KeyTable::Hash(key), Entry{Value(value), 0, nullptr});
}

TEST(KeyTable, FindInsertEraseKeepNodesInPlace) {
  KeyTable t;
  EXPECT_EQ(t.find("a"), nullptr);  // an empty table has no slots yet
  KeyTable::Node* a = Put(t, "a", "1");
  EXPECT_EQ(a->entry.key, &a->key);
  std::vector<KeyTable::Node*> nodes;
  for (int i = 0; i < 10000; ++i) nodes.push_back(Put(t, "k" + std::to_string(i), "v"));
  // Growth rebuilt the slot array many times; the nodes themselves never moved.
  EXPECT_EQ(t.find("a"), a);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(t.find("k" + std::to_string(i)), nodes[i]);
  EXPECT_EQ(t.size(), 10001u);
  t.erase(a);
  EXPECT_EQ(t.find("a"), nullptr);
  t.erase(&nodes[5]->entry);
  EXPECT_EQ(t.find("k5"), nullptr);
  EXPECT_EQ(t.find("k6"), nodes[6]);
  EXPECT_EQ(t.size(), 9999u);
  size_t seen = 0;
  t.for_each([&](const KeyTable::Node&) { ++seen; });
  EXPECT_EQ(seen, 9999u);
}

TEST(KeyTable, ChurnCompactsTombstonesWithoutGrowing) {
  KeyTable t;
  t.reserve(1000);
  const size_t slots = t.slot_count();
  // A steady set of 500 keys with endless erase + insert: tombstones must be recycled or
  // compacted away, never make the table grow or a lookup loop forever.
  for (int i = 0; i < 500; ++i) Put(t, "s" + std::to_string(i), "x");
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 50; ++i) {
      std::string key = "s" + std::to_string(round * 50 + i);
      KeyTable::Node* n = t.find(key);
      ASSERT_NE(n, nullptr) << key;
      t.erase(n);
      Put(t, "s" + std::to_string(500 + round * 50 + i), "y");
    }
    ASSERT_EQ(t.size(), 500u);
    ASSERT_EQ(t.find("missing"), nullptr);
  }
  EXPECT_EQ(t.slot_count(), slots);
}

TEST(KeyTable, RandomOperationsMatchUnorderedMap) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    KeyTable t;
    std::unordered_map<std::string, std::string> ref;
    for (int step = 0; step < 60000; ++step) {
      std::string key = "key:" + std::to_string(rng() % 3000);
      KeyTable::Node* n = t.find(key);
      auto it = ref.find(key);
      ASSERT_EQ(n != nullptr, it != ref.end()) << "seed " << seed << " step " << step;
      if (n != nullptr) {
        ASSERT_EQ(n->entry.as<StringValue>(), it->second);
      }
      if (rng() % 3 == 0 && n != nullptr) {
        t.erase(n);
        ref.erase(it);
      } else if (n == nullptr) {
        std::string v = std::to_string(step);
        Put(t, key, v);
        ref[key] = v;
      }
    }
    ASSERT_EQ(t.size(), ref.size());
    size_t seen = 0;
    t.for_each([&](const KeyTable::Node& node) {
      ++seen;
      ASSERT_EQ(ref.at(node.key), node.entry.as<StringValue>());
    });
    EXPECT_EQ(seen, ref.size());
    t.clear();
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.find("key:1"), nullptr);
  }
}

TEST(KeyTable, MoveAndSwapHandOverNodes) {
  KeyTable a;
  KeyTable::Node* n = Put(a, "x", "1");
  KeyTable b = std::move(a);
  EXPECT_EQ(b.find("x"), n);
  EXPECT_EQ(a.find("x"), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  KeyTable c;
  Put(c, "y", "2");
  b.swap(c);
  EXPECT_EQ(c.find("x"), n);
  EXPECT_NE(b.find("y"), nullptr);
  EXPECT_EQ(b.find("x"), nullptr);
}

}  // namespace
}  // namespace allot::internal
