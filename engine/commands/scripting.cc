// scripting.cc: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FCALL, FCALL_RO, FUNCTION.
//
// EVAL-family commands are routed by their declared KEYS (ScriptKeys): dispatch holds the
// shards of those keys before the handler runs the script (engine/scripting/lua_runtime.h).
// They are not flagged write: their writes are logged as one effect group (txn/nested.h).
#include "engine/commands/family.h"
#include "engine/scripting/lua_runtime.h"
#include "engine/scripting/registry.h"

namespace allot::internal {

namespace {

// EVAL script numkeys key... arg... / FCALL function numkeys key... arg...
void ScriptKeys(Args args, std::vector<size_t>& out) {
  int64_t numkeys = 0;
  if (!ScriptNumKeys(args, 2, numkeys)) return;  // the handler replies with the error
  for (size_t k = 3; k < 3 + static_cast<size_t>(numkeys); ++k) out.push_back(k);
}

Reply CmdEval(CmdCtx& ctx, Args args) { return RunEval(ctx, args, false, false); }
Reply CmdEvalsha(CmdCtx& ctx, Args args) { return RunEval(ctx, args, true, false); }
Reply CmdEvalRo(CmdCtx& ctx, Args args) { return RunEval(ctx, args, false, true); }
Reply CmdEvalshaRo(CmdCtx& ctx, Args args) { return RunEval(ctx, args, true, true); }
Reply CmdFcall(CmdCtx& ctx, Args args) { return RunFcall(ctx, args, false); }
Reply CmdFcallRo(CmdCtx& ctx, Args args) { return RunFcall(ctx, args, true); }

Reply B(std::string_view s) { return Reply::Bulk(s); }

Reply UnknownSubcommand(std::string_view cmd, std::string_view sub) {
  return Reply::Error("ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try " +
                      std::string(cmd) + " HELP.");
}

Reply FlushOption(Args args, std::string_view cmd) {
  if (args.size() == 2) return Reply::Ok();
  if (args.size() == 3 &&
      (EqualsIgnoreCase(args[2], "ASYNC") || EqualsIgnoreCase(args[2], "SYNC"))) {
    return Reply::Ok();
  }
  return Reply::Error("ERR " + std::string(cmd) + " FLUSH only supports SYNC|ASYNC option");
}

// SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP
Reply CmdScript(CmdCtx& ctx, Args args) {
  std::string_view sub = args[1];
  ScriptRegistry& reg = ScriptRegistry::Get();
  if (EqualsIgnoreCase(sub, "LOAD") && args.size() == 3) return LoadScript(args[2]);
  if (EqualsIgnoreCase(sub, "EXISTS") && args.size() >= 3) {
    std::vector<Reply> out;
    for (size_t i = 2; i < args.size(); ++i) {
      std::string sha = ToLower(args[i]);
      out.push_back(Reply::Int(sha.size() == 40 && reg.has_script(sha) ? 1 : 0));
    }
    return Reply::Array(std::move(out));
  }
  if (EqualsIgnoreCase(sub, "FLUSH") && args.size() <= 3) {
    Reply r = FlushOption(args, "SCRIPT");
    if (r.is_error()) return r;
    reg.flush_scripts();
    return r;
  }
  if (EqualsIgnoreCase(sub, "KILL") && args.size() == 2) {
    return KillRunningScript(*ctx.engine, false);
  }
  if (EqualsIgnoreCase(sub, "HELP") && args.size() == 2) {
    std::vector<Reply> lines;
    for (const char* l :
         {"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "DEBUG (YES|SYNC|NO)",
          "    Set the debug mode for subsequent scripts executed.", "EXISTS <sha1> [<sha1> ...]",
          "    Return information about the existence of the scripts in the script cache.",
          "FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache. Very dangerous on replicas.",
          "    When called without the optional mode argument, the behavior is determined by the",
          "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
          "    * ASYNC: Asynchronously flush the scripts cache.",
          "    * SYNC: Synchronously flush the scripts cache.", "KILL",
          "    Kill the currently executing Lua script.", "LOAD <script>",
          "    Load a script into the scripts cache without executing it.", "HELP",
          "    Prints this help."}) {
      lines.push_back(Reply::Status(l));
    }
    return Reply::Array(std::move(lines));
  }
  if (EqualsIgnoreCase(sub, "LOAD") || EqualsIgnoreCase(sub, "EXISTS") ||
      EqualsIgnoreCase(sub, "FLUSH") || EqualsIgnoreCase(sub, "KILL")) {
    return Reply::Error("ERR wrong number of arguments for 'script|" + ToLower(sub) + "' command");
  }
  return UnknownSubcommand("SCRIPT", sub);
}

Reply FunctionLoad(Args args) {
  bool replace = false;
  size_t i = 2;
  for (; i + 1 < args.size(); ++i) {
    if (!EqualsIgnoreCase(args[i], "REPLACE")) {
      return Reply::Error("ERR Unknown option given: " + std::string(args[i]));
    }
    replace = true;
  }
  if (i != args.size() - 1) return Reply::Error("ERR Function code was not given");
  FunctionLibrary lib;
  std::string err = CompileLibrary(args[i], lib);
  if (err.empty()) err = ScriptRegistry::Get().add_library(lib, replace);
  if (!err.empty()) return Reply::Error(err);
  return Reply::Bulk(lib.name);
}

Reply FunctionList(CmdCtx& ctx, Args args) {
  bool with_code = false;
  std::string_view pattern;
  bool has_pattern = false;
  for (size_t i = 2; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "WITHCODE")) {
      with_code = true;
    } else if (EqualsIgnoreCase(args[i], "LIBRARYNAME")) {
      if (i + 1 >= args.size()) return Reply::Error("ERR library name argument was not given");
      pattern = args[++i];
      has_pattern = true;
    } else {
      return Reply::Error("ERR Unknown argument " + std::string(args[i]));
    }
  }
  std::vector<Reply> libs;
  for (const FunctionLibrary& lib : ScriptRegistry::Get().libraries()) {
    if (has_pattern && !GlobMatch(pattern, lib.name)) continue;
    std::vector<Reply> fns;
    for (const FunctionInfo& f : lib.functions) {
      std::vector<Reply> flags;
      for (const std::string& n : ScriptFlagNames(f.flags)) flags.push_back(Reply::Status(n));
      fns.push_back(Reply::Map({B("name"), Reply::Bulk(f.name), B("description"),
                                f.description.empty() ? Reply::Null() : Reply::Bulk(f.description),
                                B("flags"), Reply::Set(std::move(flags))}));
    }
    std::vector<Reply> entry = {B("library_name"), Reply::Bulk(lib.name),
                                B("engine"),       B("LUA"),
                                B("functions"),    Reply::Array(std::move(fns))};
    if (with_code) {
      entry.push_back(B("library_code"));
      entry.push_back(Reply::Bulk(lib.code));
    }
    libs.push_back(Reply::Map(std::move(entry)));
  }
  (void)ctx;
  return Reply::Array(std::move(libs));
}

Reply FunctionStats(CmdCtx&) {
  size_t libs = 0, fns = 0;
  for (const FunctionLibrary& lib : ScriptRegistry::Get().libraries()) {
    ++libs;
    fns += lib.functions.size();
  }
  return Reply::Map(
      {B("running_script"), Reply::Null(), B("engines"),
       Reply::Map(
           {B("LUA"), Reply::Map({B("libraries_count"), Reply::Int(static_cast<int64_t>(libs)),
                                  B("functions_count"), Reply::Int(static_cast<int64_t>(fns))})})});
}

// FUNCTION LOAD|LIST|DELETE|FLUSH|KILL|STATS
Reply CmdFunction(CmdCtx& ctx, Args args) {
  std::string_view sub = args[1];
  ScriptRegistry& reg = ScriptRegistry::Get();
  if (EqualsIgnoreCase(sub, "LOAD") && args.size() >= 3) return FunctionLoad(args);
  if (EqualsIgnoreCase(sub, "LIST")) return FunctionList(ctx, args);
  if (EqualsIgnoreCase(sub, "DELETE") && args.size() == 3) {
    if (!reg.delete_library(args[2])) return Reply::Error("ERR Library not found");
    return Reply::Ok();
  }
  if (EqualsIgnoreCase(sub, "FLUSH") && args.size() <= 3) {
    Reply r = FlushOption(args, "FUNCTION");
    if (r.is_error()) return r;
    reg.flush_libraries();
    return r;
  }
  if (EqualsIgnoreCase(sub, "KILL") && args.size() == 2) {
    return KillRunningScript(*ctx.engine, true);
  }
  if (EqualsIgnoreCase(sub, "STATS") && args.size() == 2) return FunctionStats(ctx);
  if (EqualsIgnoreCase(sub, "LOAD") || EqualsIgnoreCase(sub, "DELETE") ||
      EqualsIgnoreCase(sub, "FLUSH") || EqualsIgnoreCase(sub, "KILL") ||
      EqualsIgnoreCase(sub, "STATS")) {
    return Reply::Error("ERR wrong number of arguments for 'function|" + ToLower(sub) +
                        "' command");
  }
  return UnknownSubcommand("FUNCTION", sub);
}

constexpr uint32_t kScriptFlags = kCmdNoScript | kCmdStale;

constexpr CommandSpec kScriptingCommands[] = {
    {"EVAL", -3, kScriptFlags, 0, 0, 0, CmdEval, ScriptKeys},
    {"EVALSHA", -3, kScriptFlags, 0, 0, 0, CmdEvalsha, ScriptKeys},
    {"EVAL_RO", -3, kScriptFlags | kCmdReadOnly, 0, 0, 0, CmdEvalRo, ScriptKeys},
    {"EVALSHA_RO", -3, kScriptFlags | kCmdReadOnly, 0, 0, 0, CmdEvalshaRo, ScriptKeys},
    {"FCALL", -3, kScriptFlags, 0, 0, 0, CmdFcall, ScriptKeys},
    {"FCALL_RO", -3, kScriptFlags | kCmdReadOnly, 0, 0, 0, CmdFcallRo, ScriptKeys},
    {"SCRIPT", -2, kCmdNoShard | kCmdNoScript, 0, 0, 0, CmdScript},
    {"FUNCTION", -2, kCmdNoShard | kCmdNoScript, 0, 0, 0, CmdFunction},
};

}  // namespace

void RegisterScriptingFamily(CommandTable& table) { table.add(kScriptingCommands); }

}  // namespace allot::internal
