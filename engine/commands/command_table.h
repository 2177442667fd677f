// command_table.h: the one table of every command, built once at start.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/commands/command.h"

namespace allot::internal {

class CommandTable {
 public:
  // The table with every family registered. Built on first use; immutable after.
  static const CommandTable& Get();

  // Case-insensitive lookup; nullptr if unknown.
  const CommandSpec* find(std::string_view name) const;
  std::span<const CommandSpec> all() const { return specs_; }

  void add(std::span<const CommandSpec> specs);

 private:
  std::vector<CommandSpec> specs_;
  std::vector<std::pair<std::string, size_t>> sorted_;  // lower-case name -> index
  std::vector<uint16_t> slots_;  // open-addressing hash: 1 + index into sorted_, 0 = empty
  void reindex();
};

// One registration function per family, each in its own file.
void RegisterStringFamily(CommandTable& t);     // strings.cc
void RegisterKeyFamily(CommandTable& t);        // keys.cc
void RegisterSetFamily(CommandTable& t);        // sets.cc
void RegisterHashFamily(CommandTable& t);       // hashes.cc
void RegisterListFamily(CommandTable& t);       // lists.cc
void RegisterInventoryFamily(CommandTable& t);  // inventory.cc
void RegisterServerFamily(CommandTable& t);     // server.cc
void RegisterWatchCommands(CommandTable& t);    // txn/watch.cc (WATCH ... EXEC)
void RegisterScriptingFamily(CommandTable& t);  // scripting.cc

}  // namespace allot::internal
