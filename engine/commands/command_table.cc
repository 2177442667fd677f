#include "engine/commands/command_table.h"

#include <algorithm>
#include <cstring>

#include "engine/commands/args.h"
#include "engine/util/assert.h"

namespace allot::internal {

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
  // A pipeline repeats its command: remember this thread's last hit (one compare instead
  // of a binary search of ~250 names).
  thread_local char last_name[32];
  thread_local size_t last_len = 0;
  thread_local const CommandSpec* last_spec = nullptr;
  thread_local const CommandTable* last_table = nullptr;
  if (last_table == this && last_len == lower.size() &&
      std::memcmp(last_name, buf, last_len) == 0) {
    return last_spec;
  }
  auto it = std::lower_bound(sorted_.begin(), sorted_.end(), lower,
                             [](const auto& e, std::string_view v) { return e.first < v; });
  if (it == sorted_.end() || it->first != lower) return nullptr;
  std::memcpy(last_name, buf, lower.size());
  last_len = lower.size();
  last_spec = &specs_[it->second];
  last_table = this;
  return last_spec;
}

}  // namespace allot::internal
