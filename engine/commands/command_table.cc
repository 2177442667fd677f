#include "engine/commands/command_table.h"

#include <algorithm>
#include <cstring>

#include "engine/commands/args.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

// FNV-1a: command names are short, and this needs no table of its own.
uint32_t NameHash(std::string_view lower) {
  uint32_t h = 2166136261u;
  for (char c : lower) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

}  // namespace

const CommandTable& CommandTable::Get() {
  static const CommandTable* table = [] {
    auto* t = new CommandTable();
    RegisterStringFamily(*t);
    RegisterKeyFamily(*t);
    RegisterSetFamily(*t);
    RegisterHashFamily(*t);
    RegisterListFamily(*t);
    RegisterInventoryFamily(*t);
    RegisterServerFamily(*t);
    RegisterWatchCommands(*t);
    RegisterScriptingFamily(*t);
    return t;
  }();
  return *table;
}

void CommandTable::add(std::span<const CommandSpec> specs) {
  for (const CommandSpec& s : specs) {
    ALLOT_CHECK(s.handler != nullptr && s.arity != 0);
    specs_.push_back(s);
  }
  reindex();
}

void CommandTable::reindex() {
  sorted_.clear();
  for (size_t i = 0; i < specs_.size(); ++i) sorted_.emplace_back(ToLower(specs_[i].name), i);
  std::sort(sorted_.begin(), sorted_.end());
  for (size_t i = 1; i < sorted_.size(); ++i) {
    // Two families declaring the same command is a programming error.
    ALLOT_CHECK(sorted_[i - 1].first != sorted_[i].first);
  }
  // At most a quarter full: probes stay short.
  size_t size = 64;
  while (size < sorted_.size() * 4) size *= 2;
  ALLOT_CHECK(sorted_.size() < 65535);
  slots_.assign(size, 0);
  for (size_t i = 0; i < sorted_.size(); ++i) {
    size_t j = NameHash(sorted_[i].first) & (size - 1);
    while (slots_[j] != 0) j = (j + 1) & (size - 1);
    slots_[j] = static_cast<uint16_t>(i + 1);
  }
}

const CommandSpec* CommandTable::find(std::string_view name) const {
  // Command names are short; lower-case into a stack buffer to avoid allocating.
  char buf[32];
  if (name.size() >= sizeof buf) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  std::string_view lower(buf, name.size());
  if (slots_.empty()) return nullptr;
  // Every command runs one lookup, and a script one more per redis.call (with the ACL
  // gate, two): an open-addressing hash of the names instead of a binary search.
  size_t mask = slots_.size() - 1;
  for (size_t i = NameHash(lower) & mask;; i = (i + 1) & mask) {
    uint16_t slot = slots_[i];
    if (slot == 0) return nullptr;
    const auto& [n, index] = sorted_[slot - 1];
    if (n == lower) return &specs_[index];
  }
}

}  // namespace allot::internal
