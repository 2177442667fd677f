// registry.h: the scripts and function libraries every thread shares.
//
// One process-wide registry holds the source of every script (sha -> body, filled by EVAL
// and SCRIPT LOAD) and every function library (FUNCTION LOAD). Each thread that runs
// scripts compiles what it needs into its own Lua state (engine/scripting/lua_runtime.h)
// and keeps the compiled functions in a per-thread cache, so the hot path (EVALSHA of a
// script this thread ran before) takes no lock: it only compares a generation number.
// The mutex here is taken on a per-thread miss, by SCRIPT/FUNCTION commands and on
// flushes; SCRIPT FLUSH and every change of the function libraries bump a generation
// that makes every per-thread cache drop what it compiled.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace allot::internal {

// Redis's script flags (shebang `#!lua flags=...` and register_function's flags).
enum ScriptFlag : uint32_t {
  kScriptNoWrites = 1u << 0,
  kScriptAllowOom = 1u << 1,
  kScriptAllowStale = 1u << 2,
  kScriptNoCluster = 1u << 3,
  kScriptAllowCrossSlot = 1u << 4,
  // Not a Redis flag name: the script declared flags (a shebang, or a function). Such a
  // script without no-writes counts as a write script (refused by EVAL_RO / FCALL_RO).
  kScriptDeclared = 1u << 31,
};

// Parses one flag name ("no-writes", ...); 0 when unknown.
uint32_t ScriptFlagByName(std::string_view name);
// The Redis names of flags (FUNCTION LIST), in Redis's order.
std::vector<std::string> ScriptFlagNames(uint32_t flags);

struct FunctionInfo {
  std::string name;
  std::string description;  // empty = none
  uint32_t flags = kScriptDeclared;
};

struct FunctionLibrary {
  std::string name;
  std::string code;
  std::vector<FunctionInfo> functions;
};

class ScriptRegistry {
 public:
  static ScriptRegistry& Get();

  // EVAL scripts, by lower-case sha1.
  void add_script(const std::string& sha, std::string_view body);
  std::optional<std::string> find_script(std::string_view sha) const;
  bool has_script(std::string_view sha) const;
  void flush_scripts();
  size_t script_count() const;
  uint64_t scripts_generation() const { return scripts_gen_.load(std::memory_order_acquire); }

  // Function libraries. add_library replaces a library of the same name only when
  // replace is set; it returns "" or Redis's error text. Function names are unique
  // across libraries.
  std::string add_library(FunctionLibrary lib, bool replace);
  bool delete_library(std::string_view name);
  void flush_libraries();
  std::vector<FunctionLibrary> libraries() const;
  uint64_t functions_generation() const { return functions_gen_.load(std::memory_order_acquire); }
  // FUNCTION RESTORE's policies. kFlush also serves recovery (the checkpoint's set).
  enum class RestorePolicy { kAppend, kReplace, kFlush };
  // Adds libs under policy, all or nothing; "" or Redis's error text.
  std::string restore_libraries(std::vector<FunctionLibrary> libs, RestorePolicy policy);

  // Held by whoever changes the libraries together with logging the change, and by the
  // checkpoint marker while it copies them (function_store.h): so the log order of the
  // changes is their order, and the marker falls cleanly before or after each one.
  std::mutex& changes_mutex() { return changes_mu_; }

 private:
  mutable std::mutex mu_;
  std::mutex changes_mu_;  // taken before mu_, never after
  std::unordered_map<std::string, std::string> scripts_;
  std::map<std::string, FunctionLibrary> libraries_;
  std::atomic<uint64_t> scripts_gen_{1};
  std::atomic<uint64_t> functions_gen_{1};
};

}  // namespace allot::internal
