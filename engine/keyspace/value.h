// value.h: the value types a key can hold.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "engine/keyspace/inventory.h"

namespace allot::internal {

// Transparent hashing so that lookups by string_view allocate nothing.
struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct StrEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

using StringValue = std::string;
using SetValue = std::unordered_set<std::string, StrHash, StrEq>;
using HashValue = std::unordered_map<std::string, std::string, StrHash, StrEq>;
using ListValue = std::deque<std::string>;
// Inventory is large and rarely moved; it lives behind a pointer so every Entry stays small.
using InventoryValue = std::unique_ptr<Inventory>;

// Index order matches ValueType.
using Value = std::variant<StringValue, SetValue, HashValue, ListValue, InventoryValue>;

enum class ValueType : uint8_t { kString = 0, kSet, kHash, kList, kInventory };

// Redis's TYPE name ("string", "set", ...); "inventory" for the native type.
std::string_view TypeName(ValueType t);

struct Entry {
  Value value;
  // Absolute Unix time in ms at which the key expires; 0 = no TTL.
  int64_t expire_at_ms = 0;
  // Points at the map's own copy of the key (stable: unordered_map nodes never move).
  const std::string* key = nullptr;
  // The checkpoint epoch this entry was last saved in (Db::checkpoint_begin).
  uint32_t ckpt_epoch = 0;

  ValueType type() const { return static_cast<ValueType>(value.index()); }
  template <class T>
  T& as() {
    return std::get<T>(value);
  }
  template <class T>
  const T& as() const {
    return std::get<T>(value);
  }
};

}  // namespace allot::internal
