// scripting.cc: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FCALL, FCALL_RO, FUNCTION.
//
// EVAL-family commands are routed by their declared KEYS (ScriptKeys): dispatch holds the
// shards of those keys before the handler runs the script (engine/scripting/lua_runtime.h).
// They are not flagged write: their writes are logged as one effect group (txn/nested.h).
// FUNCTION LOAD/DELETE/FLUSH/RESTORE change the process-wide library registry and log
// themselves (engine/scripting/function_store.h).
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "engine/commands/family.h"
#include "engine/engine_impl.h"
#include "engine/scripting/function_store.h"
#include "engine/scripting/lua_runtime.h"
#include "engine/scripting/registry.h"
#include "engine/wal/record.h"

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

// A change of the function registry, parsed and compiled (no lock held) and ready to be
// applied; error set instead when the command fails before that.
struct FunctionChange {
  std::optional<Reply> error;
  std::function<Reply()> apply;
};

FunctionChange PrepareLoad(Args args) {
  bool replace = false;
  size_t i = 2;
  for (; i + 1 < args.size(); ++i) {
    if (!EqualsIgnoreCase(args[i], "REPLACE")) {
      return {Reply::Error("ERR Unknown option given: " + std::string(args[i])), nullptr};
    }
    replace = true;
  }
  if (i != args.size() - 1) return {Reply::Error("ERR Function code was not given"), nullptr};
  auto lib = std::make_shared<FunctionLibrary>();
  std::string err = CompileLibrary(args[i], *lib);
  if (!err.empty()) return {Reply::Error(err), nullptr};
  return {std::nullopt, [lib, replace] {
            std::string name = lib->name;
            std::string e = ScriptRegistry::Get().add_library(std::move(*lib), replace);
            return e.empty() ? Reply::Bulk(name) : Reply::Error(e);
          }};
}

// FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE] (arity checked by the caller).
FunctionChange PrepareRestore(Args args) {
  using Policy = ScriptRegistry::RestorePolicy;
  Policy policy = Policy::kAppend;
  if (args.size() == 4) {
    if (EqualsIgnoreCase(args[3], "FLUSH")) {
      policy = Policy::kFlush;
    } else if (EqualsIgnoreCase(args[3], "REPLACE")) {
      policy = Policy::kReplace;
    } else if (!EqualsIgnoreCase(args[3], "APPEND")) {
      return {Reply::Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND "
                           "or REPLACE."),
              nullptr};
    }
  }
  auto libs = std::make_shared<std::vector<FunctionLibrary>>();
  std::string err = CompileFunctionsPayload(args[2], *libs);
  if (!err.empty()) return {Reply::Error(err), nullptr};
  return {std::nullopt, [libs, policy] {
            std::string e = ScriptRegistry::Get().restore_libraries(std::move(*libs), policy);
            return e.empty() ? Reply::Ok() : Reply::Error(e);
          }};
}

// LOAD, DELETE, FLUSH, RESTORE; nullopt for the other subcommands.
std::optional<FunctionChange> PrepareFunctionChange(Args args) {
  std::string_view sub = args[1];
  if (EqualsIgnoreCase(sub, "LOAD") && args.size() >= 3) return PrepareLoad(args);
  if (EqualsIgnoreCase(sub, "RESTORE") && (args.size() == 3 || args.size() == 4)) {
    return PrepareRestore(args);
  }
  if (EqualsIgnoreCase(sub, "DELETE") && args.size() == 3) {
    std::string name(args[2]);
    return FunctionChange{std::nullopt, [name] {
                            return ScriptRegistry::Get().delete_library(name)
                                       ? Reply::Ok()
                                       : Reply::Error("ERR Library not found");
                          }};
  }
  if (EqualsIgnoreCase(sub, "FLUSH") && args.size() <= 3) {
    Reply r = FlushOption(args, "FUNCTION");
    if (r.is_error()) return FunctionChange{std::move(r), nullptr};
    return FunctionChange{std::nullopt, [] {
                            ScriptRegistry::Get().flush_libraries();
                            return Reply::Ok();
                          }};
  }
  return std::nullopt;
}

// Receives the reply of a FUNCTION record logged inside MULTI: EXEC answers for it (its
// own record comes after this one from the same thread, so it is durable first).
struct DropSink final : ReplySink {
  void deliver(Reply) override {}
};

// Applies a change and, with a WAL, logs it as one record whose reply waits for it like a
// write's (function_store.h has why the lock spans both).
Reply RunFunctionChange(CmdCtx& ctx, Args args, FunctionChange change) {
  if (change.error) return std::move(*change.error);
  Wal* wal = ctx.engine->wal();
  if (wal == nullptr) return change.apply();
  if (wal->refusing_writes()) return wal->misconf_reply();
  std::lock_guard<std::mutex> lock(ScriptRegistry::Get().changes_mutex());
  Reply reply = change.apply();
  if (reply.is_error()) return reply;
  WalRecordInfo info;
  info.db = static_cast<uint8_t>(ctx.session->db);
  info.now_ms = ctx.now_ms;
  std::string record = EncodeWalRecord(info, args);
  if (ctx.sink == nullptr) {
    static DropSink drop;
    wal->submit(std::move(record), Reply::Ok(), &drop);
    return reply;
  }
  wal->submit(std::move(record), std::move(reply), ctx.sink);
  ctx.reply_deferred = true;
  return Reply();
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

Reply FunctionHelp() {
  std::vector<Reply> lines;
  for (const char* l : {
           "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
           "LOAD [REPLACE] <FUNCTION CODE>",
           "    Create a new library with the given library name and code.",
           "DELETE <LIBRARY NAME>",
           "    Delete the given library.",
           "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
           "    Return general information on all the libraries:",
           "    * Library name",
           "    * The engine used to run the Library",
           "    * Library description",
           "    * Functions list",
           "    * Library code (if WITHCODE is given)",
           "    It also possible to get only function that matches a pattern using LIBRARYNAME "
           "argument.",
           "STATS",
           "    Return information about the current function running:",
           "    * Function name",
           "    * Command used to run the function",
           "    * Duration in MS that the function is running",
           "    If no function is running, return nil",
           "    In addition, returns a list of available engines.",
           "KILL",
           "    Kill the current running function.",
           "FLUSH [ASYNC|SYNC]",
           "    Delete all the libraries.",
           "    When called without the optional mode argument, the behavior is determined by the",
           "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
           "    * ASYNC: Asynchronously flush the libraries.",
           "    * SYNC: Synchronously flush the libraries.",
           "DUMP",
           "    Return a serialized payload representing the current libraries, can be restored "
           "using FUNCTION RESTORE command",
           "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
           "    Restore the libraries represented by the given payload, it is possible to give a "
           "restore policy to",
           "    control how to handle existing libraries (default APPEND):",
           "    * FLUSH: delete all existing libraries.",
           "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
           "abort.",
           "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
           "replace the old",
           "      libraries with the new libraries (notice that even on this option there is a "
           "chance of failure",
           "      in case of functions name collision with another library).",
           "HELP",
           "    Prints this help.",
       }) {
    lines.push_back(Reply::Status(l));
  }
  return Reply::Array(std::move(lines));
}

// FUNCTION LOAD|LIST|DELETE|FLUSH|KILL|STATS|DUMP|RESTORE|HELP
Reply CmdFunction(CmdCtx& ctx, Args args) {
  std::string_view sub = args[1];
  if (std::optional<FunctionChange> change = PrepareFunctionChange(args)) {
    return RunFunctionChange(ctx, args, std::move(*change));
  }
  if (EqualsIgnoreCase(sub, "LIST")) return FunctionList(ctx, args);
  if (EqualsIgnoreCase(sub, "DUMP") && args.size() == 2) {
    return Reply::Bulk(EncodeFunctionsPayload(ScriptRegistry::Get().libraries()));
  }
  if (EqualsIgnoreCase(sub, "KILL") && args.size() == 2) {
    return KillRunningScript(*ctx.engine, true);
  }
  if (EqualsIgnoreCase(sub, "STATS") && args.size() == 2) return FunctionStats(ctx);
  if (EqualsIgnoreCase(sub, "HELP") && args.size() == 2) return FunctionHelp();
  if (EqualsIgnoreCase(sub, "RESTORE") && args.size() > 4) {
    return Reply::Error("ERR unknown subcommand or wrong number of arguments for '" +
                        std::string(sub.substr(0, 128)) + "'. Try FUNCTION HELP.");
  }
  if (EqualsIgnoreCase(sub, "LOAD") || EqualsIgnoreCase(sub, "DELETE") ||
      EqualsIgnoreCase(sub, "FLUSH") || EqualsIgnoreCase(sub, "KILL") ||
      EqualsIgnoreCase(sub, "STATS") || EqualsIgnoreCase(sub, "DUMP") ||
      EqualsIgnoreCase(sub, "RESTORE") || EqualsIgnoreCase(sub, "HELP")) {
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

Reply ReplayFunctionCommand(Args args) {
  std::optional<FunctionChange> change =
      args.size() >= 2 ? PrepareFunctionChange(args) : std::nullopt;
  if (!change) return Reply::Error("ERR not a FUNCTION command that is logged");
  if (change->error) return std::move(*change->error);
  return change->apply();
}

void RegisterScriptingFamily(CommandTable& table) { table.add(kScriptingCommands); }

}  // namespace allot::internal
