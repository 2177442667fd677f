#include "engine/scripting/registry.h"

#include <set>

namespace allot::internal {

namespace {

struct FlagName {
  uint32_t flag;
  std::string_view name;
};
constexpr FlagName kFlagNames[] = {
    {kScriptNoWrites, "no-writes"},
    {kScriptAllowOom, "allow-oom"},
    {kScriptAllowStale, "allow-stale"},
    {kScriptNoCluster, "no-cluster"},
    {kScriptAllowCrossSlot, "allow-cross-slot-keys"},
};

}  // namespace

uint32_t ScriptFlagByName(std::string_view name) {
  for (const FlagName& f : kFlagNames) {
    if (f.name == name) return f.flag;
  }
  return 0;
}

std::vector<std::string> ScriptFlagNames(uint32_t flags) {
  std::vector<std::string> out;
  for (const FlagName& f : kFlagNames) {
    if (flags & f.flag) out.emplace_back(f.name);
  }
  return out;
}

ScriptRegistry& ScriptRegistry::Get() {
  static ScriptRegistry* registry = new ScriptRegistry();  // never destroyed: threads use it
  return *registry;
}

void ScriptRegistry::add_script(const std::string& sha, std::string_view body) {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_.try_emplace(sha, body);
}

std::optional<std::string> ScriptRegistry::find_script(std::string_view sha) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = scripts_.find(std::string(sha));
  if (it == scripts_.end()) return std::nullopt;
  return it->second;
}

bool ScriptRegistry::has_script(std::string_view sha) const {
  std::lock_guard<std::mutex> lock(mu_);
  return scripts_.count(std::string(sha)) != 0;
}

void ScriptRegistry::flush_scripts() {
  std::lock_guard<std::mutex> lock(mu_);
  scripts_.clear();
  scripts_gen_.fetch_add(1, std::memory_order_acq_rel);
}

size_t ScriptRegistry::script_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return scripts_.size();
}

std::string ScriptRegistry::add_library(FunctionLibrary lib, bool replace) {
  std::lock_guard<std::mutex> lock(mu_);
  auto existing = libraries_.find(lib.name);
  if (existing != libraries_.end() && !replace) {
    return "ERR Library '" + lib.name + "' already exists";
  }
  for (const auto& [name, other] : libraries_) {
    if (name == lib.name) continue;
    for (const FunctionInfo& f : other.functions) {
      for (const FunctionInfo& mine : lib.functions) {
        if (f.name == mine.name) return "ERR Function " + f.name + " already exists";
      }
    }
  }
  libraries_[lib.name] = std::move(lib);
  functions_gen_.fetch_add(1, std::memory_order_acq_rel);
  return "";
}

bool ScriptRegistry::delete_library(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = libraries_.find(std::string(name));
  if (it == libraries_.end()) return false;
  libraries_.erase(it);
  functions_gen_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void ScriptRegistry::flush_libraries() {
  std::lock_guard<std::mutex> lock(mu_);
  libraries_.clear();
  functions_gen_.fetch_add(1, std::memory_order_acq_rel);
}

std::string ScriptRegistry::restore_libraries(std::vector<FunctionLibrary> libs,
                                              RestorePolicy policy) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, FunctionLibrary> next;
  if (policy != RestorePolicy::kFlush) next = libraries_;
  // Library names first (as Redis's libraryJoin), then function names.
  std::set<std::string> incoming;
  for (const FunctionLibrary& lib : libs) {
    bool clash = !incoming.insert(lib.name).second ||
                 (policy == RestorePolicy::kAppend && next.count(lib.name) != 0);
    if (clash) return "ERR Library " + lib.name + " already exists";
  }
  for (const FunctionLibrary& lib : libs) next.erase(lib.name);  // REPLACE drops the old
  std::set<std::string> functions;
  for (const auto& [name, lib] : next) {
    for (const FunctionInfo& f : lib.functions) functions.insert(f.name);
  }
  for (const FunctionLibrary& lib : libs) {
    for (const FunctionInfo& f : lib.functions) {
      if (!functions.insert(f.name).second) return "ERR Function " + f.name + " already exists";
    }
  }
  for (FunctionLibrary& lib : libs) {
    std::string name = lib.name;
    next[name] = std::move(lib);
  }
  libraries_ = std::move(next);
  functions_gen_.fetch_add(1, std::memory_order_acq_rel);
  return "";
}

std::vector<FunctionLibrary> ScriptRegistry::libraries() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FunctionLibrary> out;
  for (const auto& [name, lib] : libraries_) out.push_back(lib);
  return out;
}

}  // namespace allot::internal
