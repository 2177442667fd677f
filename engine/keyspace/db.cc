#include "engine/keyspace/db.h"

#include <algorithm>

#include "engine/keyspace/shard_state.h"
#include "engine/txn/watch.h"
#include "engine/util/assert.h"

namespace allot::internal {

std::string_view TypeName(ValueType t) {
  switch (t) {
    case ValueType::kString:
      return "string";
    case ValueType::kSet:
      return "set";
    case ValueType::kHash:
      return "hash";
    case ValueType::kList:
      return "list";
    case ValueType::kInventory:
      return "inventory";
  }
  return "none";
}

void Db::expire_now(Entry* entry) {
  if (stats_ != nullptr) ++stats_->expired_keys;
  if (watch_ == nullptr || watch_->empty()) return erase(entry);
  // An expired key counts as modified for WATCH (Redis signals it on deletion).
  std::string key = *entry->key;
  erase(entry);
  watch_->touch(index_, key, *this);
}

Entry* Db::find(std::string_view key, int64_t now_ms) {
  Entry* e = peek(key, now_ms);
  if (stats_ != nullptr) {
    if (e != nullptr) {
      ++stats_->keyspace_hits;
    } else {
      ++stats_->keyspace_misses;
    }
  }
  return e;
}

Entry* Db::peek(std::string_view key, int64_t now_ms) {
  KeyTable::Node* n = map_.find(key);
  if (n == nullptr) return nullptr;
  Entry* e = &n->entry;
  ckpt_touch(*e);  // before the caller (or the expiry below) can change it
  if (expired(*e, now_ms)) {
    expire_now(e);
    return nullptr;
  }
  return e;
}

Entry* Db::insert(std::string_view key, Value value, int64_t now_ms) {
  Entry* old = peek(key, now_ms);
  ALLOT_CHECK(old == nullptr);
  KeyTable::Node* n =
      map_.insert_new(std::string(key), KeyTable::Hash(key), Entry{std::move(value), 0, nullptr});
  n->entry.ckpt_epoch = ckpt_epoch_;  // created after any running checkpoint began
  return &n->entry;
}

Entry* Db::insert_loaded(std::string&& key, Value&& value, int64_t expire_at_ms) {
  ALLOT_CHECK(ckpt_sink_ == nullptr);
  const uint64_t hash = KeyTable::Hash(key);
  if (map_.find(key, hash) != nullptr) return nullptr;
  KeyTable::Node* n = map_.insert_new(std::move(key), hash, Entry{std::move(value), 0, nullptr});
  n->entry.ckpt_epoch = ckpt_epoch_;
  if (expire_at_ms != 0) set_expire(&n->entry, expire_at_ms);
  return &n->entry;
}

Entry* Db::assign(std::string_view key, Value value, int64_t now_ms, bool keep_ttl) {
  Entry* e = peek(key, now_ms);
  if (e == nullptr) return insert(key, std::move(value), now_ms);
  dropping(*e);
  e->value = std::move(value);
  if (!keep_ttl) set_expire(e, 0);
  return e;
}

bool Db::erase(std::string_view key, int64_t now_ms) {
  Entry* e = peek(key, now_ms);
  if (e == nullptr) return false;
  erase(e);
  return true;
}

void Db::erase(Entry* entry) {
  ALLOT_DCHECK(entry != nullptr && entry->key != nullptr);
  ckpt_touch(*entry);
  dropping(*entry);
  if (entry->expire_at_ms != 0) {
    size_t n = expires_.erase({entry->expire_at_ms, entry->key});
    ALLOT_CHECK(n == 1);
  }
  map_.erase(entry);
}

void Db::set_expire(Entry* entry, int64_t at_ms) {
  ALLOT_DCHECK(entry != nullptr && at_ms >= 0);
  if (entry->expire_at_ms == at_ms) return;
  if (entry->expire_at_ms != 0) {
    size_t n = expires_.erase({entry->expire_at_ms, entry->key});
    ALLOT_CHECK(n == 1);
  }
  entry->expire_at_ms = at_ms;
  if (at_ms != 0) expires_.insert({at_ms, entry->key});
}

void Db::clear() {
  // FLUSHDB/FLUSHALL modify every watched key that was present (Redis's
  // touchAllWatchedKeysInDb); missing ones stay untouched.
  std::vector<std::string> watched;
  if (watch_ != nullptr && !watch_->empty()) watched = watch_->present_keys(index_, *this);
  if (drop_hook_ != nullptr) {
    map_.for_each([this](const KeyTable::Node& n) { dropping(n.entry); });
  }
  expires_.clear();
  if (ckpt_sink_ != nullptr && ckpt_pending_ > 0) {
    // O(1) instead of saving every unsaved entry now: the table is kept, frozen, and the
    // checkpoint scan saves and frees it.
    ckpt_frozen_.push_back(std::move(map_));
    map_ = Map();
    return;
  }
  map_.clear();
  for (const std::string& k : watched) watch_->touch(index_, k, *this);
}

void Db::checkpoint_begin(DbCheckpointSink* sink) {
  ALLOT_CHECK(ckpt_sink_ == nullptr && ckpt_frozen_.empty());
  ++ckpt_epoch_;
  ckpt_sink_ = sink;
  ckpt_pending_ = map_.size();
  ckpt_cursor_ = 0;
  ckpt_frozen_cursor_ = 0;
  ckpt_restarts_ = 0;
}

void Db::ckpt_save(Entry& e) {
  ALLOT_CHECK(ckpt_pending_ > 0);
  ckpt_sink_->save(*e.key, e);
  e.ckpt_epoch = ckpt_epoch_;
  --ckpt_pending_;
}

size_t Db::ckpt_step_frozen(size_t budget) {
  size_t saved = 0;
  Map& m = ckpt_frozen_.back();
  for (size_t n = 0; ckpt_frozen_cursor_ < m.slot_count() && n < budget; ++n) {
    KeyTable::Node* node = m.at(ckpt_frozen_cursor_++);
    if (node == nullptr) continue;
    if (node->entry.ckpt_epoch != ckpt_epoch_) {
      ckpt_save(node->entry);
      ++saved;
    }
    m.erase(node);  // a tombstone: nothing moves behind the cursor
  }
  if (m.empty()) {
    ckpt_frozen_.pop_back();
    ckpt_frozen_cursor_ = 0;
  }
  return saved;
}

size_t Db::checkpoint_step(size_t budget) {
  size_t saved = 0;
  size_t examined = 0;
  while (ckpt_pending_ > 0 && examined < budget) {
    if (!ckpt_frozen_.empty()) {
      size_t n = ckpt_step_frozen(budget - examined);
      saved += n;
      examined += std::max<size_t>(n, 1);
      continue;
    }
    if (ckpt_cursor_ >= map_.slot_count()) {
      // Unsaved entries remain but the cursor passed every slot: a rebuild of the table
      // moved them behind it. A rebuild needs at least 3/8 of the table's capacity in
      // insertions since the last one (key_table.cc), so restarts are few.
      ckpt_cursor_ = 0;
      ++ckpt_restarts_;
      ALLOT_CHECK(ckpt_restarts_ < 64 && "checkpoint scan cannot find the unsaved entries");
    }
    KeyTable::Node* node = map_.at(ckpt_cursor_);
    if (node != nullptr && node->entry.ckpt_epoch != ckpt_epoch_) {
      ckpt_save(node->entry);
      ++saved;
    }
    ++ckpt_cursor_;
    ++examined;
  }
  return saved;
}

void Db::checkpoint_end() {
  ALLOT_CHECK(ckpt_pending_ == 0);
  ckpt_sink_ = nullptr;
  ckpt_frozen_.clear();
}

size_t Db::sweep(int64_t now_ms, size_t max) {
  size_t n = 0;
  while (n < max && !expires_.empty() && expires_.begin()->first <= now_ms) {
    const std::string* key = expires_.begin()->second;
    KeyTable::Node* node = map_.find(*key);
    ALLOT_CHECK(node != nullptr);
    expire_now(&node->entry);
    ++n;
  }
  return n;
}

uint64_t Db::scan(uint64_t cursor, size_t count, int64_t now_ms,
                  const std::function<void(const std::string&, Entry&)>& fn) {
  size_t slots = map_.slot_count();
  size_t visited = 0;
  // Empty slots count towards the work done, so a sparse table cannot make one call
  // walk the whole array (Redis's SCAN bounds its empty-bucket visits the same way).
  size_t examined = 0;
  while (cursor < slots && visited < count && examined < count * 10) {
    // fn must not erase; expired keys are only skipped.
    KeyTable::Node* node = map_.at(cursor);
    if (node != nullptr && !expired(node->entry, now_ms)) {
      fn(node->key, node->entry);
      ++visited;
    }
    ++examined;
    ++cursor;
  }
  return cursor >= slots ? 0 : cursor;
}

void Db::for_each(int64_t now_ms, const std::function<void(const std::string&, Entry&)>& fn) {
  map_.for_each([&](KeyTable::Node& n) {
    if (!expired(n.entry, now_ms)) fn(n.key, n.entry);
  });
}

const std::string* Db::random_key(int64_t now_ms, uint64_t random) {
  if (map_.empty()) return nullptr;
  size_t slots = map_.slot_count();
  // Probe slots from a random start; bounded by the slot count.
  for (size_t i = 0; i < slots; ++i) {
    KeyTable::Node* node = map_.at((random + i) & (slots - 1));
    if (node != nullptr && !expired(node->entry, now_ms)) return &node->key;
  }
  return nullptr;
}

void Db::for_each_volatile(const std::function<bool(const std::string&, Entry&)>& fn) {
  for (const auto& [at_ms, key] : expires_) {
    KeyTable::Node* node = map_.find(*key);
    if (node != nullptr && !fn(node->key, node->entry)) return;
  }
}

}  // namespace allot::internal
