// key_table.h: the key -> Entry hash table of one Db.
//
// Open addressing with linear probing over an array of {hash, node} slots; each key's Node
// (its key string and Entry) is its own allocation, so Entry pointers stay valid for the
// key's life, across growth (the expiry index and handlers rely on that).
//
// Why not std::unordered_map: a lookup there walks bucket -> the node BEFORE the chain ->
// chain nodes, one cache miss each, and profiles of allotd under redis-benchmark spent
// 40% of the server's CPU in that walk (docs/benchmarks.md, session 4). Here a lookup
// reads one slot (the full 64-bit hash sits next to the node pointer, so a mismatch
// never touches a node) and then the one node whose hash matches: two misses instead of
// four or five.
//
// Erase leaves a tombstone, so entries never move except when the table is rebuilt
// (grown, or compacted when tombstones pile up): cursors over slot indices (SCAN, the
// incremental checkpoint) only lose their place on a rebuild, as they did on a rehash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/keyspace/value.h"

namespace allot::internal {

class KeyTable {
 public:
  struct Node {
    std::string key;
    Entry entry;
  };

  KeyTable() = default;
  ~KeyTable();
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;
  KeyTable(KeyTable&& other) noexcept { swap(other); }
  KeyTable& operator=(KeyTable&& other) noexcept;
  void swap(KeyTable& other) noexcept;

  static uint64_t Hash(std::string_view key);

  Node* find(std::string_view key) const { return find(key, Hash(key)); }
  Node* find(std::string_view key, uint64_t hash) const;
  // Creates a node for key, which must be absent; entry.key points at the node's key.
  Node* insert_new(std::string&& key, uint64_t hash, Entry&& entry);
  // Deletes the node (found by find or at; it must belong to this table).
  void erase(Node* node) { erase_slot(slot_of(node->key, &node->entry)); }
  // Deletes the node holding entry (an Entry handed out by this table).
  void erase(const Entry* entry) { erase_slot(slot_of(*entry->key, entry)); }
  // Deletes every node; the slot array is released too.
  void clear();
  // Room for n keys without a rebuild.
  void reserve(size_t n);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Slot positions for cursors: at(i) is the live node in slot i or nullptr, for
  // 0 <= i < slot_count(). A rebuild re-deals nodes over new positions.
  size_t slot_count() const { return capacity_; }
  Node* at(size_t slot) const { return slots_[slot].node; }

  // Visits every live node in slot order; fn must not insert or erase.
  template <class F>
  void for_each(F&& fn) const {
    for (size_t i = 0; i < capacity_; ++i) {
      if (slots_[i].node != nullptr) fn(*slots_[i].node);
    }
  }

 private:
  struct Slot {
    uint64_t hash = kEmpty;  // kEmpty, kTombstone, or the key's hash (>= kFirstHash)
    Node* node = nullptr;
  };
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = 1;
  static constexpr uint64_t kFirstHash = 2;
  static constexpr size_t kMinSlots = 16;

  // Rebuilds into new_capacity slots (a power of two), dropping tombstones.
  void rebuild(size_t new_capacity);
  // Makes room for one more insertion (grow, or compact tombstones away).
  void make_room();
  static void place(Slot* slots, size_t mask, uint64_t hash, Node* node);
  // The slot of the node whose entry is `entry` (its key is `key`); crashes if absent.
  size_t slot_of(std::string_view key, const Entry* entry) const;
  void erase_slot(size_t slot);

  Slot* slots_ = nullptr;
  size_t capacity_ = 0;  // slots; 0 or a power of two
  size_t size_ = 0;      // live nodes
  size_t tombstones_ = 0;
};

}  // namespace allot::internal
