#include "engine/keyspace/key_table.h"

#include <bit>
#include <functional>
#include <utility>

#include "engine/util/assert.h"

namespace allot::internal {

KeyTable::~KeyTable() { clear(); }

KeyTable& KeyTable::operator=(KeyTable&& other) noexcept {
  if (this != &other) {
    clear();
    swap(other);
  }
  return *this;
}

void KeyTable::swap(KeyTable& other) noexcept {
  std::swap(slots_, other.slots_);
  std::swap(capacity_, other.capacity_);
  std::swap(size_, other.size_);
  std::swap(tombstones_, other.tombstones_);
}

uint64_t KeyTable::Hash(std::string_view key) {
  uint64_t h = std::hash<std::string_view>{}(key);
  // Two values mark empty and deleted slots; moving the keys that hash to them costs
  // nothing measurable (the index uses the low bits, which stay well mixed).
  return h < kFirstHash ? h + kFirstHash : h;
}

KeyTable::Node* KeyTable::find(std::string_view key, uint64_t hash) const {
  if (capacity_ == 0) return nullptr;
  const size_t mask = capacity_ - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.hash == hash && s.node->key == key) return s.node;
    if (s.hash == kEmpty) return nullptr;
  }
}

void KeyTable::place(Slot* slots, size_t mask, uint64_t hash, Node* node) {
  size_t i = hash & mask;
  while (slots[i].hash >= kFirstHash) i = (i + 1) & mask;
  slots[i].hash = hash;
  slots[i].node = node;
}

KeyTable::Node* KeyTable::insert_new(std::string&& key, uint64_t hash, Entry&& entry) {
  ALLOT_DCHECK(find(key, hash) == nullptr);
  make_room();
  Node* node = new Node{std::move(key), std::move(entry)};
  node->entry.key = &node->key;
  const size_t mask = capacity_ - 1;
  size_t i = hash & mask;
  while (slots_[i].hash >= kFirstHash) i = (i + 1) & mask;
  if (slots_[i].hash == kTombstone) --tombstones_;
  slots_[i].hash = hash;
  slots_[i].node = node;
  ++size_;
  return node;
}

size_t KeyTable::slot_of(std::string_view key, const Entry* entry) const {
  ALLOT_CHECK(capacity_ > 0);
  const size_t mask = capacity_ - 1;
  size_t i = Hash(key) & mask;
  while (slots_[i].node == nullptr || &slots_[i].node->entry != entry) {
    ALLOT_CHECK(slots_[i].hash != kEmpty && "erasing a key this table does not hold");
    i = (i + 1) & mask;
  }
  return i;
}

void KeyTable::erase_slot(size_t slot) {
  Node* node = slots_[slot].node;
  slots_[slot].hash = kTombstone;
  slots_[slot].node = nullptr;
  ++tombstones_;
  --size_;
  delete node;
}

void KeyTable::clear() {
  for (size_t i = 0; i < capacity_; ++i) delete slots_[i].node;
  delete[] slots_;
  slots_ = nullptr;
  capacity_ = 0;
  size_ = 0;
  tombstones_ = 0;
}

void KeyTable::reserve(size_t n) {
  // At most 3/4 of the slots in use (live + tombstones) keeps probe runs short.
  size_t want = std::bit_ceil(std::max(kMinSlots, n + n / 3 + 1));
  if (want > capacity_) rebuild(want);
}

void KeyTable::make_room() {
  if ((size_ + tombstones_ + 1) * 4 <= capacity_ * 3) return;
  // Grow when live keys fill more than 3/8 of the slots, otherwise only drop tombstones:
  // either way live keys fill at most 3/8 of the rebuilt table, so at least 3/8 of its
  // capacity in insertions (or erase + insert churn) follows before the next rebuild.
  size_t next = capacity_ == 0 ? kMinSlots : capacity_;
  if ((size_ + 1) * 8 > next * 3) next *= 2;
  rebuild(next);
}

void KeyTable::rebuild(size_t new_capacity) {
  ALLOT_CHECK(std::has_single_bit(new_capacity) && (size_ + 1) * 4 <= new_capacity * 3);
  Slot* fresh = new Slot[new_capacity];
  const size_t mask = new_capacity - 1;
  for (size_t i = 0; i < capacity_; ++i) {
    if (slots_[i].node != nullptr) place(fresh, mask, slots_[i].hash, slots_[i].node);
  }
  delete[] slots_;
  slots_ = fresh;
  capacity_ = new_capacity;
  tombstones_ = 0;
}

}  // namespace allot::internal
