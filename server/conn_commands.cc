// conn_commands.cc: the commands allotd answers itself because they are about the
// connection or the process (HELLO, AUTH, QUIT, RESET, CLIENT, COMMAND, CONFIG,
// SHUTDOWN). The engine registers them (engine/commands/server.cc), so unknown-command and
// arity errors come from the engine's one dispatch path.
#include <algorithm>
#include <utility>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "engine/runtime/clock.h"
#include "server/command_docs.h"
#include "server/connection.h"
#include "server/log.h"
#include "server/server.h"

namespace allot::server {

using internal::Args;
using internal::CommandSpec;
using internal::CommandTable;
using internal::EqualsIgnoreCase;
using internal::ToLower;

namespace {

// The Redis version whose behaviour allotd follows (Debian 12's redis-server).
constexpr std::string_view kRedisVersion = "7.0.15";

Reply BulkText(std::string_view s) { return Reply::Bulk(s); }

bool Is(std::string_view a, std::string_view b) { return EqualsIgnoreCase(a, b); }

Reply SyntaxError() { return Reply::Error("ERR syntax error"); }

Reply UnknownSubcommand(std::string_view sub, std::string_view cmd) {
  return Reply::Error("ERR unknown subcommand '" + std::string(sub.substr(0, 128)) + "'. Try " +
                      std::string(cmd) + " HELP.");
}

Reply WrongPass() {
  return Reply::Error("WRONGPASS invalid username-password pair or user is disabled.");
}

// Redis's validateClientName: printable ASCII without spaces.
bool ValidClientName(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c <= '~'; });
}

Reply InvalidClientName() {
  return Reply::Error("ERR Client names cannot contain spaces, newlines or special characters.");
}

// COMMAND INFO's flag names, as Redis 7 prints them.
Reply CommandFlags(uint32_t f) {
  using namespace internal;
  std::vector<Reply> out;
  auto add = [&](uint32_t bit, std::string_view name) {
    if (f & bit) out.push_back(Reply::Status(name));
  };
  add(kCmdWrite, "write");
  add(kCmdReadOnly, "readonly");
  add(kCmdDenyOom, "denyoom");
  add(kCmdAdmin, "admin");
  add(kCmdPubSub, "pubsub");
  add(kCmdNoScript, "noscript");
  add(kCmdBlocking, "blocking");
  add(kCmdLoading, "loading");
  add(kCmdStale, "stale");
  add(kCmdFast, "fast");
  return Reply::Set(std::move(out));
}

// COMMAND INFO's ACL categories ("@write", "@string", ...), from server/acl.h.
Reply AclCategoryNames(const CommandSpec& s) {
  size_t index = static_cast<size_t>(&s - CommandTable::Get().all().data());
  uint32_t cats = AclCommands::Get().cmd(index).categories;
  std::vector<Reply> out;
  std::vector<std::string_view> names = AclCommands::CategoryNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (cats & (1u << i)) out.push_back(Reply::Status("@" + std::string(names[i])));
  }
  return Reply::Set(std::move(out));
}

Reply CommandInfo(const CommandSpec& s) {
  std::vector<Reply> e;
  e.push_back(Reply::Bulk(ToLower(s.name)));
  e.push_back(Reply::Int(s.arity));
  e.push_back(CommandFlags(s.flags));
  e.push_back(Reply::Int(s.keys_fn != nullptr && s.first_key == 0 ? 0 : s.first_key));
  e.push_back(Reply::Int(s.last_key));
  e.push_back(Reply::Int(s.key_step));
  e.push_back(AclCategoryNames(s));
  e.push_back(Reply::Set());    // tips
  e.push_back(Reply::Array());  // key specs
  e.push_back(Reply::Array());  // subcommands
  return Reply::Array(std::move(e));
}

Reply CmdCommand(Args args) {
  const CommandTable& table = CommandTable::Get();
  if (args.size() == 1) {
    std::vector<Reply> all;
    for (const CommandSpec& s : table.all()) all.push_back(CommandInfo(s));
    return Reply::Array(std::move(all));
  }
  std::string_view sub = args[1];
  if (Is(sub, "COUNT") && args.size() == 2)
    return Reply::Int(static_cast<int64_t>(table.all().size()));
  if (Is(sub, "LIST")) {
    std::vector<Reply> names;
    for (const CommandSpec& s : table.all()) names.push_back(Reply::Bulk(ToLower(s.name)));
    return Reply::Array(std::move(names));
  }
  if (Is(sub, "INFO")) {
    std::vector<Reply> out;
    if (args.size() == 2) {
      for (const CommandSpec& s : table.all()) out.push_back(CommandInfo(s));
    }
    for (size_t i = 2; i < args.size(); ++i) {
      const CommandSpec* s = table.find(args[i]);
      out.push_back(s != nullptr ? CommandInfo(*s) : Reply::NullArray());
    }
    return Reply::Array(std::move(out));
  }
  if (Is(sub, "DOCS")) return CommandDocs(args);
  if (Is(sub, "GETKEYS")) {
    if (args.size() < 4) {
      return Reply::Error("ERR wrong number of arguments for 'command|getkeys' command");
    }
    const CommandSpec* s = table.find(args[2]);
    if (s == nullptr) return Reply::Error("ERR Invalid command specified");
    if (s->first_key == 0 && s->keys_fn == nullptr) {
      return Reply::Error("ERR The command has no key arguments");
    }
    Args cmd = args.subspan(2);
    if (!ArityOk(*s, cmd.size())) {
      return Reply::Error("ERR Invalid number of arguments specified for command");
    }
    std::vector<size_t> idx;
    internal::KeyIndexes(*s, cmd, idx);
    std::vector<Reply> keys;
    for (size_t i : idx) keys.push_back(Reply::Bulk(cmd[i]));
    return Reply::Array(std::move(keys));
  }
  if (Is(sub, "HELP")) {
    return Reply::Array({Reply::Status("COMMAND [<subcommand> [<arg> ...]]. Subcommands are:"),
                         Reply::Status("COUNT | INFO [name ...] | DOCS [name ...] | LIST | "
                                       "GETKEYS <cmd> [arg ...]")});
  }
  return UnknownSubcommand(sub, "COMMAND");
}

}  // namespace

std::optional<Reply> Connection::server_command(Args args) {
  bool checked = std::exchange(refusal_checked_, false);
  const CommandSpec* spec = CommandTable::Get().find(args[0]);
  current_spec_ = spec;
  current_rejected_ = spec == nullptr || !ArityOk(*spec, args.size());
  if (current_rejected_) {
    meta_.last_cmd.store("NULL", std::memory_order_relaxed);
    return std::nullopt;  // the engine's exact unknown-command or arity error
  }
  meta_.last_cmd.store(spec->name.data(), std::memory_order_relaxed);
  // Every request passes here: compare table entries, not names, on the common path.
  static const CommandSpec* const kAuth = CommandTable::Get().find("AUTH");
  static const CommandSpec* const kHello = CommandTable::Get().find("HELLO");
  static const CommandSpec* const kQuit = CommandTable::Get().find("QUIT");
  static const CommandSpec* const kReset = CommandTable::Get().find("RESET");
  static const CommandSpec* const kDebug = CommandTable::Get().find("DEBUG");
  static const CommandSpec* const kSelect = CommandTable::Get().find("SELECT");
  bool no_auth = spec == kAuth || spec == kHello || spec == kQuit || spec == kReset;
  if (!authenticated_ && !no_auth) {
    current_rejected_ = true;
    return Reply::Error("NOAUTH Authentication required.");
  }
  // AUTH, HELLO, QUIT and RESET are never refused by ACL rules (Redis's no-auth flag).
  if (!no_auth && !checked) {
    if (std::optional<Reply> refused = refusal(*spec, args)) {
      current_rejected_ = true;
      return refused;
    }
  }
  if (spec == kDebug && !debug_allowed()) {
    return Reply::Error(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
        "you can run it from a local connection, otherwise you need to set this option in the "
        "configuration file, and then restart the server.");
  }
  if (!(spec->flags & internal::kCmdConnection) || spec == kSelect) return std::nullopt;
  std::string_view name = spec->name;
  if (name == "QUIT") {
    close_after_reply();
    return Reply::Ok();
  }
  if (name == "RESET") return cmd_reset();
  if (name == "HELLO") return cmd_hello(args);
  if (name == "AUTH") return cmd_auth(args);
  if (name == "CLIENT") return cmd_client(args);
  if (name == "COMMAND") return CmdCommand(args);
  if (name == "CONFIG") return cmd_config(args);
  if (name == "ACL") return cmd_acl(args);
  if (name == "SLOWLOG") return server_.slowlog().command(args);
  if (name == "LATENCY") {
    if (args.size() >= 2 && Is(args[1], "HISTOGRAM")) return LatencyHistogram(server_, args);
    return server_.latency().command(args);
  }
  if (name == "SHUTDOWN") {
    // SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] | ABORT. NOW and FORCE change nothing here
    // (there are no replicas to wait for, and a failed final checkpoint loses nothing).
    bool save = true, nosave = false, abort = false;
    for (size_t i = 1; i < args.size(); ++i) {
      if (Is(args[i], "NOSAVE")) {
        nosave = true;
      } else if (Is(args[i], "SAVE")) {
        save = true;
      } else if (Is(args[i], "ABORT")) {
        abort = true;
      } else if (!Is(args[i], "NOW") && !Is(args[i], "FORCE")) {
        return Reply::Error("ERR syntax error");
      }
    }
    if (abort) {
      if (args.size() != 2) return Reply::Error("ERR syntax error");
      return Reply::Error("ERR No shutdown in progress.");
    }
    if (nosave && args.size() > 1 &&
        std::any_of(args.begin() + 1, args.end(), [](auto a) { return Is(a, "SAVE"); })) {
      return Reply::Error("ERR syntax error");
    }
    LogWarning("User requested shutdown...");
    server_.request_shutdown(save && !nosave);
    reply_mode_ = ReplyMode::kOff;  // Redis closes the connection without a reply
    close_after_reply();
    return Reply::Ok();
  }
  return std::nullopt;
}

bool Connection::refresh_user() {
  uint64_t v = server_.acl().version();
  if (v == acl_version_) return true;
  acl_version_ = v;
  AclUserPtr fresh = server_.acl().find(user_->name);
  if (fresh == nullptr) return false;
  user_ = std::move(fresh);
  return true;
}

std::optional<Reply> Connection::refusal(const CommandSpec& spec, Args args) {
  if (!refresh_user()) {
    // As Redis: the clients of a deleted user are disconnected.
    reply_mode_ = ReplyMode::kOff;
    close_after_reply();
    return Reply::Error("NOPERM the user of this connection was deleted");
  }
  const AclUser& u = *user_;
  if (!u.base_all || !u.command_rules.empty()) {
    size_t index = static_cast<size_t>(&spec - CommandTable::Get().all().data());
    int id = AclCommands::Get().id_for(index, args);
    if (!u.can_run(static_cast<size_t>(id))) {
      return Reply::Error("NOPERM User " + u.name + " has no permissions to run the '" +
                          AclCommands::Get().cmd(static_cast<size_t>(id)).name + "' command");
    }
  }
  if (!u.keys_allowed(spec, args)) return Reply::Error("NOPERM No permissions to access a key");
  if ((spec.flags & internal::kCmdDenyOom) && !server_.make_room(shard_)) {
    return Reply::Error("OOM command not allowed when used memory > 'maxmemory'.");
  }
  return std::nullopt;
}

// Redis 7.0's texts for a script's command its user may not run (script.c).
std::string Connection::AclGate::check(std::span<const std::string_view> args) const {
  const CommandSpec* spec = CommandTable::Get().find(args[0]);
  if (spec == nullptr || conn->user_ == nullptr) return "";
  const AclUser& u = *conn->user_;
  if (!u.base_all || !u.command_rules.empty()) {
    size_t index = static_cast<size_t>(spec - CommandTable::Get().all().data());
    int id = AclCommands::Get().id_for(index, args);
    if (!u.can_run(static_cast<size_t>(id))) {
      return "ERR The user executing the script can't run this command or subcommand";
    }
  }
  if (!u.keys_allowed(*spec, args)) {
    return "ERR The user executing the script can't access at least one of the keys mentioned "
           "in the command arguments";
  }
  return "";
}

// enable-debug-command: no (Redis's default), yes, or local (loopback and unix sockets).
bool Connection::debug_allowed() const {
  int mode = server_.limits().debug_command.load(std::memory_order_relaxed);
  if (mode == 1) return true;
  if (mode != 2) return false;
  std::string_view peer = meta_.peer;
  return peer.starts_with("127.") || peer.starts_with("[::1]") || peer.starts_with("::1") ||
         peer.starts_with("/");
}

void Connection::authenticate(bool ok) {
  authenticated_ = ok;
  parser_.set_unauthenticated(!ok);
}

bool Connection::try_auth(std::string_view user, std::string_view pass) {
  AclUserPtr u = server_.acl().find(user);
  // Passwords are never logged; a failure names the user only at verbose level.
  if (u == nullptr || !u->enabled || !u->password_ok(pass)) {
    LogVerbose("Failed AUTH as '{}' from client id={} addr={}", user.substr(0, 64), id_,
               meta_.peer);
    return false;
  }
  user_ = std::move(u);
  acl_version_ = server_.acl().version();
  {
    std::lock_guard<std::mutex> lock(*server_.registry_mutex());
    meta_.user = user_->name;
  }
  authenticate(true);
  return true;
}

Reply Connection::cmd_reset() {
  discard_multi();
  release_watch();
  session_.db = 0;
  session_.resp = 2;
  reply_mode_ = ReplyMode::kOn;
  skip_next_reply_ = false;
  user_ = server_.acl().default_user();
  acl_version_ = server_.acl().version();
  {
    // The name is read by CLIENT LIST on other threads under the registry lock.
    std::lock_guard<std::mutex> lock(*server_.registry_mutex());
    meta_.name.clear();
    meta_.user = "default";
  }
  authenticate(user_->enabled && user_->nopass);
  meta_.db.store(0);
  meta_.resp.store(2);
  return Reply::Status("RESET");
}

Reply Connection::cmd_auth(Args args) {
  if (args.size() > 3) return SyntaxError();
  std::string_view user = args.size() == 3 ? args[1] : "default";
  std::string_view pass = args.back();
  if (args.size() == 2 && server_.acl().default_nopass()) {
    return Reply::Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
  }
  if (!try_auth(user, pass)) return WrongPass();
  return Reply::Ok();
}

Reply Connection::cmd_hello(Args args) {
  int64_t ver = 0;
  if (args.size() >= 2) {
    if (!internal::ParseInt64(args[1], &ver)) {
      return Reply::Error("ERR Protocol version is not an integer or out of range");
    }
    if (ver < 2 || ver > 3) return Reply::Error("NOPROTO unsupported protocol version");
  }
  std::string_view user, pass, setname;
  bool has_auth = false, has_name = false;
  for (size_t j = 2; j < args.size(); ++j) {
    size_t more = args.size() - 1 - j;
    if (Is(args[j], "AUTH") && more >= 2) {
      user = args[j + 1];
      pass = args[j + 2];
      has_auth = true;
      j += 2;
    } else if (Is(args[j], "SETNAME") && more >= 1) {
      setname = args[j + 1];
      if (!ValidClientName(setname)) return InvalidClientName();
      has_name = true;
      j += 1;
    } else {
      return Reply::Error("ERR Syntax error in HELLO option '" + std::string(args[j]) + "'");
    }
  }
  if (has_auth && !try_auth(user, pass)) return WrongPass();
  if (!authenticated_) {
    return Reply::Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time");
  }
  if (has_name) {
    std::lock_guard<std::mutex> lock(*server_.registry_mutex());
    meta_.name = std::string(setname);
  }
  if (ver != 0) {
    session_.resp = static_cast<int>(ver);
    meta_.resp.store(session_.resp);
  }
  return Reply::Map({BulkText("server"), BulkText("redis"), BulkText("version"),
                     Reply::Bulk(kRedisVersion), BulkText("proto"), Reply::Int(session_.resp),
                     BulkText("id"), Reply::Int(static_cast<int64_t>(id_)), BulkText("mode"),
                     BulkText("standalone"), BulkText("role"), BulkText("master"),
                     BulkText("modules"), Reply::Array()});
}

Reply Connection::cmd_client(Args args) {
  std::string_view sub = args[1];
  size_t n = args.size();
  if (Is(sub, "ID") && n == 2) return Reply::Int(static_cast<int64_t>(id_));
  if (Is(sub, "GETNAME") && n == 2) {
    std::lock_guard<std::mutex> lock(*server_.registry_mutex());
    return meta_.name.empty() ? Reply::Null() : Reply::Bulk(meta_.name);
  }
  if (Is(sub, "SETNAME") && n == 3) {
    if (!ValidClientName(args[2])) return InvalidClientName();
    std::lock_guard<std::mutex> lock(*server_.registry_mutex());
    meta_.name = std::string(args[2]);
    return Reply::Ok();
  }
  if (Is(sub, "SETINFO") && n == 4) {
    if (!ValidClientName(args[3])) {
      return Reply::Error("ERR " + ToLower(args[2]) +
                          " cannot contain spaces, newlines or special characters.");
    }
    std::lock_guard<std::mutex> lock(*server_.registry_mutex());
    if (Is(args[2], "LIB-NAME")) {
      meta_.lib_name = std::string(args[3]);
    } else if (Is(args[2], "LIB-VER")) {
      meta_.lib_ver = std::string(args[3]);
    } else {
      return Reply::Error("ERR Unrecognized option '" + std::string(args[2]) + "'");
    }
    return Reply::Ok();
  }
  if (Is(sub, "INFO") && n == 2) return Reply::Verbatim(server_.client_list(std::to_string(id_)));
  if (Is(sub, "LIST")) return cmd_client_list(args);
  if (Is(sub, "KILL") && n >= 3) return cmd_client_kill(args);
  if (Is(sub, "PAUSE") && (n == 3 || n == 4)) return cmd_client_pause(args);
  if (Is(sub, "UNPAUSE") && n == 2) {
    server_.unpause();
    return Reply::Ok();
  }
  if (Is(sub, "REPLY") && n == 3) {
    if (Is(args[2], "ON")) {
      reply_mode_ = ReplyMode::kOn;
      return Reply::Ok();
    }
    if (Is(args[2], "OFF")) {
      reply_mode_ = ReplyMode::kOff;
      return Reply::Ok();  // swallowed: the mode is already off
    }
    if (Is(args[2], "SKIP")) {
      reply_mode_ = ReplyMode::kSkip;
      skip_next_reply_ = false;
      return Reply::Ok();  // swallowed by the SKIP below
    }
    return SyntaxError();
  }
  if ((Is(sub, "NO-EVICT") || Is(sub, "NO-TOUCH")) && n == 3) {
    // Allot never evicts and keeps no LRU/LFU clock, so both modes change nothing.
    if (Is(args[2], "ON") || Is(args[2], "OFF")) return Reply::Ok();
    return SyntaxError();
  }
  if (Is(sub, "HELP")) {
    return Reply::Array(
        {Reply::Status("CLIENT <subcommand> [<arg> ...]. Subcommands are:"),
         Reply::Status("ID | GETNAME | SETNAME <name> | SETINFO <attr> <value> | "
                       "INFO | LIST [TYPE t] [ID id ...] | KILL ... | "
                       "REPLY ON|OFF|SKIP | PAUSE <ms> [WRITE|ALL] | UNPAUSE | NO-EVICT on|off | "
                       "NO-TOUCH on|off")});
  }
  return UnknownSubcommand(sub, "CLIENT");
}

Reply Connection::cmd_client_list(Args args) {
  size_t n = args.size();
  if (n == 2) return Reply::Verbatim(server_.client_list());
  if (n >= 4 && Is(args[2], "ID")) {
    std::string out;
    for (size_t i = 3; i < n; ++i) {
      int64_t id = 0;
      if (!internal::ParseInt64(args[i], &id) || id <= 0) {
        return Reply::Error("ERR Invalid client ID");
      }
      out += server_.client_list(args[i]);
    }
    return Reply::Verbatim(out);
  }
  if (n == 4 && Is(args[2], "TYPE")) {
    if (Is(args[3], "normal")) return Reply::Bulk(server_.client_list());
    if (Is(args[3], "master") || Is(args[3], "replica") || Is(args[3], "slave") ||
        Is(args[3], "pubsub")) {
      return BulkText("");
    }
    return Reply::Error("ERR Unknown client type '" + std::string(args[3]) + "'");
  }
  return SyntaxError();
}

// CLIENT PAUSE timeout-ms [WRITE|ALL]: commands (or only writes) of every client wait
// until the deadline or CLIENT UNPAUSE; the reply itself comes at once.
Reply Connection::cmd_client_pause(Args args) {
  int64_t ms = 0;
  if (!internal::ParseInt64(args[2], &ms)) {
    return Reply::Error("ERR timeout is not an integer or out of range");
  }
  if (ms < 0) return Reply::Error("ERR timeout is negative");
  bool all = true;
  if (args.size() == 4) {
    if (Is(args[3], "WRITE")) {
      all = false;
    } else if (!Is(args[3], "ALL")) {
      return SyntaxError();
    }
  }
  server_.pause(internal::RealClockMs() + ms, all);
  return Reply::Ok();
}

// CLIENT KILL addr:port (old form) or CLIENT KILL <filter> <value> ... (new form).
Reply Connection::cmd_client_kill(Args args) {
  size_t n = args.size();
  if (n == 3) {  // old form: CLIENT KILL addr:port
    uint64_t id = server_.find_client_by_addr(args[2]);
    if (id == 0 || !server_.kill_client(id)) return Reply::Error("ERR No such client");
    return Reply::Ok();
  }
  if (n % 2 != 0) return SyntaxError();
  int64_t killed = 0;
  bool skipme = true;
  std::vector<uint64_t> ids;
  for (size_t i = 2; i + 1 < n; i += 2) {
    if (Is(args[i], "ID")) {
      int64_t id = 0;
      if (!internal::ParseInt64(args[i + 1], &id) || id <= 0) {
        return Reply::Error("ERR client-id should be greater than 0");
      }
      ids.push_back(static_cast<uint64_t>(id));
    } else if (Is(args[i], "ADDR")) {
      uint64_t id = server_.find_client_by_addr(args[i + 1]);
      ids.push_back(id);
    } else if (Is(args[i], "SKIPME")) {
      if (Is(args[i + 1], "yes")) {
        skipme = true;
      } else if (Is(args[i + 1], "no")) {
        skipme = false;
      } else {
        return SyntaxError();
      }
    } else {
      return SyntaxError();
    }
  }
  for (uint64_t id : ids) {
    if (id == 0) continue;
    if (id == id_) {
      if (skipme) continue;
      close_after_reply();
      ++killed;
      continue;
    }
    if (server_.kill_client(id)) ++killed;
  }
  return Reply::Int(killed);
}

Reply Connection::cmd_config(Args args) {
  std::string_view sub = args[1];
  if (Is(sub, "GET") && args.size() >= 3) {
    ServerConfig cfg = server_.config();
    std::vector<Reply> out;
    std::vector<std::string> seen;
    for (size_t i = 2; i < args.size(); ++i) {
      for (auto& [name, value] : ConfigGet(cfg, args[i])) {
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
        seen.push_back(name);
        out.push_back(Reply::Bulk(name));
        out.push_back(Reply::Bulk(value));
      }
    }
    return Reply::Map(std::move(out));
  }
  if (Is(sub, "SET") && args.size() >= 4 && args.size() % 2 == 0) {
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      std::string err = server_.config_set(args[i], {std::string(args[i + 1])});
      if (err == "Bad directive or wrong number of arguments") {
        return Reply::Error("ERR Unknown option or number of arguments for CONFIG SET - '" +
                            std::string(args[i]) + "'");
      }
      if (!err.empty()) {
        return Reply::Error("ERR CONFIG SET failed (possibly related to argument '" +
                            std::string(args[i]) + "') - " + err);
      }
    }
    return Reply::Ok();
  }
  if (Is(sub, "SET") || Is(sub, "GET")) {
    return Reply::Error("ERR wrong number of arguments for 'config|" + ToLower(sub) + "' command");
  }
  if (Is(sub, "RESETSTAT") && args.size() == 2) {
    server_.reset_stats();
    return Reply::Ok();
  }
  if (Is(sub, "REWRITE") && args.size() == 2) {
    if (server_.config_file().empty()) {
      return Reply::Error("ERR The server is running without a config file");
    }
    std::string why = RewriteConfigFile(server_.config_file(), server_.config());
    if (!why.empty()) return Reply::Error("ERR Rewriting config file: " + why);
    LogNotice("CONFIG REWRITE executed with success.");
    return Reply::Ok();
  }
  if (Is(sub, "HELP")) {
    return Reply::Array(
        {Reply::Status("CONFIG <subcommand> [<arg> ...]. Subcommands are:"),
         Reply::Status("GET <pattern> | SET <name> <value> ... | RESETSTAT | REWRITE")});
  }
  return UnknownSubcommand(sub, "CONFIG");
}

}  // namespace allot::server
