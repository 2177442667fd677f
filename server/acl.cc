#include "server/acl.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "engine/util/assert.h"

namespace allot::server {

using internal::CommandSpec;
using internal::CommandTable;
using internal::EqualsIgnoreCase;
using internal::ToLower;

namespace {

constexpr std::string_view kCategoryNames[] = {
    "keyspace",   "read",        "write",     "set",         "sortedset", "list",
    "hash",       "string",      "bitmap",    "hyperloglog", "geo",       "stream",
    "pubsub",     "admin",       "fast",      "slow",        "blocking",  "dangerous",
    "connection", "transaction", "scripting", "inventory"};

// What the command flags do not say, by command name (lower case). Names that are not
// registered are skipped, so commands added later (scripting, DEBUG) get theirs here.
struct NameCategories {
  std::string_view name;
  uint32_t categories;
};

constexpr uint32_t kStr = kAclString;
constexpr uint32_t kKs = kAclKeyspace;
constexpr uint32_t kKsDanger = kAclKeyspace | kAclDangerous;
constexpr uint32_t kAdminDanger = kAclAdmin | kAclDangerous;

constexpr NameCategories kByName[] = {
    {"get", kStr},
    {"set", kStr},
    {"setnx", kStr},
    {"setex", kStr},
    {"psetex", kStr},
    {"getset", kStr},
    {"getdel", kStr},
    {"getex", kStr},
    {"mget", kStr},
    {"mset", kStr},
    {"msetnx", kStr},
    {"append", kStr},
    {"strlen", kStr},
    {"getrange", kStr},
    {"substr", kStr},
    {"setrange", kStr},
    {"incr", kStr},
    {"decr", kStr},
    {"incrby", kStr},
    {"decrby", kStr},
    {"incrbyfloat", kStr},
    {"lcs", kStr},
    {"hset", kAclHash},
    {"hmset", kAclHash},
    {"hsetnx", kAclHash},
    {"hget", kAclHash},
    {"hmget", kAclHash},
    {"hdel", kAclHash},
    {"hexists", kAclHash},
    {"hlen", kAclHash},
    {"hstrlen", kAclHash},
    {"hkeys", kAclHash},
    {"hvals", kAclHash},
    {"hgetall", kAclHash},
    {"hincrby", kAclHash},
    {"hincrbyfloat", kAclHash},
    {"hscan", kAclHash},
    {"hrandfield", kAclHash},
    {"sadd", kAclSet},
    {"srem", kAclSet},
    {"sismember", kAclSet},
    {"smismember", kAclSet},
    {"scard", kAclSet},
    {"smembers", kAclSet},
    {"spop", kAclSet},
    {"srandmember", kAclSet},
    {"smove", kAclSet},
    {"sscan", kAclSet},
    {"sinter", kAclSet},
    {"sunion", kAclSet},
    {"sdiff", kAclSet},
    {"sinterstore", kAclSet},
    {"sunionstore", kAclSet},
    {"sdiffstore", kAclSet},
    {"sintercard", kAclSet},
    {"lpush", kAclList},
    {"rpush", kAclList},
    {"lpushx", kAclList},
    {"rpushx", kAclList},
    {"lpop", kAclList},
    {"rpop", kAclList},
    {"llen", kAclList},
    {"lrange", kAclList},
    {"lindex", kAclList},
    {"lset", kAclList},
    {"lrem", kAclList},
    {"ltrim", kAclList},
    {"linsert", kAclList},
    {"lpos", kAclList},
    {"lmove", kAclList},
    {"rpoplpush", kAclList},
    {"lmpop", kAclList},
    {"blpop", kAclList},
    {"brpop", kAclList},
    {"blmove", kAclList},
    {"blmpop", kAclList},
    {"brpoplpush", kAclList},
    {"del", kKs},
    {"unlink", kKs},
    {"exists", kKs},
    {"touch", kKs},
    {"type", kKs},
    {"expire", kKs},
    {"pexpire", kKs},
    {"expireat", kKs},
    {"pexpireat", kKs},
    {"ttl", kKs},
    {"pttl", kKs},
    {"expiretime", kKs},
    {"pexpiretime", kKs},
    {"persist", kKs},
    {"rename", kKs},
    {"renamenx", kKs},
    {"copy", kKs},
    {"move", kKs},
    {"scan", kKs},
    {"randomkey", kKs},
    {"dbsize", kKs},
    {"select", kKs},
    {"object", kKs},
    {"dump", kKs},
    {"keys", kKsDanger},
    {"flushdb", kKsDanger},
    {"flushall", kKsDanger},
    {"swapdb", kKsDanger},
    {"restore", kKsDanger},
    {"migrate", kKsDanger},
    {"info", kAclDangerous},
    {"shutdown", kAdminDanger},
    {"debug", kAdminDanger},
    {"monitor", kAdminDanger},
    {"save", kAdminDanger},
    {"bgsave", kAdminDanger},
    {"bgrewriteaof", kAdminDanger},
    {"lastsave", kAdminDanger},
    {"slowlog", kAdminDanger},
    {"latency", kAdminDanger},
    {"replicaof", kAdminDanger},
    {"slaveof", kAdminDanger},
    {"sync", kAdminDanger},
    {"failover", kAdminDanger},
    {"eval", kAclScripting},
    {"evalsha", kAclScripting},
    {"eval_ro", kAclScripting},
    {"evalsha_ro", kAclScripting},
    {"fcall", kAclScripting},
    {"fcall_ro", kAclScripting},
    {"script", kAclScripting},
    {"function", kAclScripting},
    {"multi", kAclTransaction},
    {"exec", kAclTransaction},
    {"discard", kAclTransaction},
    {"watch", kAclTransaction},
    {"unwatch", kAclTransaction},
    {"hello", kAclConnection},
    {"auth", kAclConnection},
    {"ping", kAclConnection},
    {"echo", kAclConnection},
    {"quit", kAclConnection},
    {"reset", kAclConnection},
    {"client", kAclConnection},
    {"command", kAclConnection},
};

// Subcommands with their full categories (Redis 7's, except that SCRIPT FLUSH and
// FUNCTION FLUSH are also @admin @dangerous here: an application user must not wipe the
// scripts of everyone else).
struct SubCategories {
  std::string_view parent;
  std::string_view sub;
  uint32_t categories;
};

constexpr uint32_t kSlow = kAclSlow;
constexpr uint32_t kSlowConn = kAclSlow | kAclConnection;
constexpr uint32_t kAdminConn = kAclAdmin | kAclSlow | kAclDangerous | kAclConnection;
constexpr uint32_t kAdmin = kAclAdmin | kAclSlow | kAclDangerous;
constexpr uint32_t kScript = kAclSlow | kAclScripting;
constexpr uint32_t kScriptWrite = kAclWrite | kAclSlow | kAclScripting;

constexpr SubCategories kSubcommands[] = {
    {"config", "get", kAdmin},
    {"config", "set", kAdmin},
    {"config", "resetstat", kAdmin},
    {"config", "rewrite", kAdmin},
    {"config", "help", kSlow},
    {"client", "id", kSlowConn},
    {"client", "getname", kSlowConn},
    {"client", "setname", kSlowConn},
    {"client", "setinfo", kSlowConn},
    {"client", "info", kSlowConn},
    {"client", "list", kAdminConn},
    {"client", "kill", kAdminConn},
    {"client", "pause", kAdminConn},
    {"client", "unpause", kAdminConn},
    {"client", "reply", kSlowConn},
    {"client", "no-evict", kAdminConn},
    {"client", "no-touch", kSlowConn},
    {"client", "help", kSlowConn},
    {"acl", "whoami", kSlow},
    {"acl", "cat", kSlow},
    {"acl", "help", kSlow},
    {"acl", "setuser", kAdmin},
    {"acl", "getuser", kAdmin},
    {"acl", "deluser", kAdmin},
    {"acl", "list", kAdmin},
    {"acl", "users", kAdmin},
    {"command", "count", kSlowConn},
    {"command", "info", kSlowConn},
    {"command", "docs", kSlowConn},
    {"command", "list", kSlowConn},
    {"command", "getkeys", kSlowConn},
    {"command", "help", kSlowConn},
    {"script", "load", kScript},
    {"script", "exists", kScript},
    {"script", "flush", kScript | kAdminDanger},
    {"script", "kill", kScript},
    {"script", "help", kScript},
    {"function", "load", kScriptWrite},
    {"function", "delete", kScriptWrite},
    {"function", "flush", kScriptWrite | kAdminDanger},
    {"function", "restore", kScriptWrite},
    {"function", "list", kScript},
    {"function", "dump", kScript},
    {"function", "stats", kScript},
    {"function", "kill", kScript},
    {"function", "help", kScript},
};

uint32_t CategoriesFromFlags(const CommandSpec& s) {
  using namespace internal;
  uint32_t c = (s.flags & kCmdFast) ? kAclFast : kAclSlow;
  if (s.flags & kCmdWrite) c |= kAclWrite;
  if (s.flags & kCmdReadOnly) c |= kAclRead;
  if (s.flags & kCmdAdmin) c |= kAclAdmin | kAclDangerous;
  if (s.flags & kCmdBlocking) c |= kAclBlocking;
  if (s.flags & kCmdPubSub) c |= kAclPubSub;
  if (s.flags & kCmdInventory) c |= kAclInventory;
  return c;
}

bool IsHexDigest(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

const AclCommands& AclCommands::Get() {
  static const AclCommands* cmds = new AclCommands();
  return *cmds;
}

AclCommands::AclCommands() {
  for (const CommandSpec& s : CommandTable::Get().all()) {
    Cmd c;
    c.name = ToLower(s.name);
    c.categories = CategoriesFromFlags(s);
    for (const NameCategories& n : kByName) {
      if (n.name == c.name) c.categories |= n.categories;
    }
    by_name_.emplace(c.name, static_cast<int>(cmds_.size()));
    cmds_.push_back(std::move(c));
  }
  for (const SubCategories& sc : kSubcommands) {
    auto it = by_name_.find(sc.parent);
    if (it == by_name_.end()) continue;
    int parent = it->second;
    Cmd c;
    c.name = std::string(sc.parent) + "|" + std::string(sc.sub);
    c.categories = sc.categories;
    c.parent = parent;
    int id = static_cast<int>(cmds_.size());
    by_name_.emplace(c.name, id);
    cmds_.push_back(std::move(c));
    cmds_[static_cast<size_t>(parent)].subcommands.push_back(id);
  }
  // A container's own bit stands for its subcommands not in the table (unknown ones get
  // the command's own error): it carries the union of their categories.
  for (Cmd& c : cmds_) {
    for (int sub : c.subcommands) c.categories |= cmds_[static_cast<size_t>(sub)].categories;
  }
}

int AclCommands::find(std::string_view name) const {
  auto it = by_name_.find(ToLower(name));
  return it == by_name_.end() ? -1 : it->second;
}

int AclCommands::id_for(size_t spec_index, internal::Args args) const {
  const Cmd& c = cmds_[spec_index];
  if (c.subcommands.empty() || args.size() < 2) return static_cast<int>(spec_index);
  for (int sub : c.subcommands) {
    std::string_view n = cmds_[static_cast<size_t>(sub)].name;
    if (EqualsIgnoreCase(n.substr(n.find('|') + 1), args[1])) return sub;
  }
  return static_cast<int>(spec_index);
}

uint32_t AclCommands::CategoryByName(std::string_view name) {
  for (size_t i = 0; i < std::size(kCategoryNames); ++i) {
    if (EqualsIgnoreCase(kCategoryNames[i], name)) return 1u << i;
  }
  return 0;
}

std::vector<std::string_view> AclCommands::CategoryNames() {
  return {std::begin(kCategoryNames), std::end(kCategoryNames)};
}

AclUser::AclUser(std::string n) : name(std::move(n)) {
  allowed.assign((AclCommands::Get().size() + 63) / 64, 0);
}

void AclUser::set_id(size_t id, bool on) {
  uint64_t bit = uint64_t{1} << (id % 64);
  if (on) {
    allowed[id / 64] |= bit;
  } else {
    allowed[id / 64] &= ~bit;
  }
}

void AclUser::set_category(uint32_t cat, bool on) {
  const AclCommands& t = AclCommands::Get();
  for (size_t id = 0; id < t.size(); ++id) {
    // A container is allowed by a category if any subcommand is; it is refused only
    // when the category covers every one of its subcommands (as its own union says).
    if (t.cmd(id).categories & cat) set_id(id, on);
  }
  if (!on) return;
  // Re-allowing containers: their own bit follows from the subcommands again.
  for (size_t id = 0; id < t.size(); ++id) {
    if (t.cmd(id).subcommands.empty() || allowed_id(id)) continue;
    for (int sub : t.cmd(id).subcommands) {
      if (allowed_id(static_cast<size_t>(sub))) set_id(id, true);
    }
  }
}

bool AclUser::keys_allowed(const CommandSpec& spec, internal::Args args) const {
  if (all_keys) return true;
  std::vector<size_t> idx;
  internal::KeyIndexes(spec, args, idx);
  for (size_t i : idx) {
    bool ok = std::any_of(key_patterns.begin(), key_patterns.end(), [&](const std::string& p) {
      return internal::GlobMatch(p, args[i], false);
    });
    if (!ok) return false;
  }
  return true;
}

bool AclUser::password_ok(std::string_view pass) const {
  if (nopass) return true;
  std::string digest = Sha256Hex(pass);
  // Compare every stored digest in full: no early exit on the first differing byte.
  bool found = false;
  for (const std::string& h : password_hashes) {
    unsigned diff = 0;
    for (size_t i = 0; i < 64; ++i) diff |= static_cast<unsigned>(h[i] ^ digest[i]);
    found |= diff == 0;
  }
  return found;
}

std::string AclUser::apply(std::string_view rule) {
  const AclCommands& t = AclCommands::Get();
  std::string lower = ToLower(rule);
  if (lower == "on") {
    enabled = true;
  } else if (lower == "off") {
    enabled = false;
  } else if (lower == "nopass") {
    nopass = true;
    password_hashes.clear();
  } else if (lower == "resetpass") {
    nopass = false;
    password_hashes.clear();
  } else if (!rule.empty() && (rule[0] == '>' || rule[0] == '#')) {
    std::string h = rule[0] == '>' ? Sha256Hex(rule.substr(1)) : std::string(rule.substr(1));
    if (rule[0] == '#' && !IsHexDigest(h)) {
      return "The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters";
    }
    if (std::find(password_hashes.begin(), password_hashes.end(), h) == password_hashes.end()) {
      password_hashes.push_back(h);
    }
    nopass = false;
  } else if (!rule.empty() && (rule[0] == '<' || rule[0] == '!')) {
    std::string h = rule[0] == '<' ? Sha256Hex(rule.substr(1)) : std::string(rule.substr(1));
    if (rule[0] == '!' && !IsHexDigest(h)) {
      return "The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters";
    }
    auto it = std::find(password_hashes.begin(), password_hashes.end(), h);
    if (it == password_hashes.end()) {
      return "The password you are trying to remove from the user does not exist";
    }
    password_hashes.erase(it);
  } else if (lower == "allkeys" || lower == "~*") {
    all_keys = true;
    key_patterns.clear();
  } else if (lower == "resetkeys") {
    all_keys = false;
    key_patterns.clear();
  } else if (!rule.empty() && rule[0] == '~') {
    if (all_keys) {
      return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
             "does not have any effect. Try 'resetkeys' to start with an empty list of "
             "patterns";
    }
    std::string p(rule.substr(1));
    if (std::find(key_patterns.begin(), key_patterns.end(), p) == key_patterns.end()) {
      key_patterns.push_back(p);
    }
  } else if (lower == "allchannels" || lower == "&*") {
    all_channels = true;
  } else if (lower == "resetchannels") {
    all_channels = false;
  } else if (lower == "allcommands" || lower == "+@all") {
    std::fill(allowed.begin(), allowed.end(), ~uint64_t{0});
    base_all = true;
    command_rules.clear();
  } else if (lower == "nocommands" || lower == "-@all") {
    std::fill(allowed.begin(), allowed.end(), 0);
    base_all = false;
    command_rules.clear();
  } else if (rule.size() > 2 && (rule[0] == '+' || rule[0] == '-') && rule[1] == '@') {
    uint32_t cat = AclCommands::CategoryByName(rule.substr(2));
    if (cat == 0) return "Unknown command or category name in ACL";
    set_category(cat, rule[0] == '+');
    command_rules.push_back(lower);
  } else if (rule.size() > 1 && (rule[0] == '+' || rule[0] == '-')) {
    int id = t.find(rule.substr(1));
    if (id < 0) return "Unknown command or category name in ACL";
    bool on = rule[0] == '+';
    set_id(static_cast<size_t>(id), on);
    for (int sub : t.cmd(static_cast<size_t>(id)).subcommands) set_id(static_cast<size_t>(sub), on);
    if (on && t.cmd(static_cast<size_t>(id)).parent >= 0) {
      set_id(static_cast<size_t>(t.cmd(static_cast<size_t>(id)).parent), true);
    }
    command_rules.push_back(lower);
  } else if (lower == "reset") {
    *this = AclUser(name);
    all_channels = false;
  } else if (!rule.empty() && rule[0] == '%') {
    return "Read/write key patterns (%R~, %W~) are not supported by allotd";
  } else {
    return "Syntax error";
  }
  return "";
}

std::string AclUser::describe_commands() const {
  std::string out = base_all ? "+@all" : "-@all";
  for (const std::string& r : command_rules) out += " " + r;
  return out;
}

std::string AclUser::describe() const {
  std::string out = enabled ? "on" : "off";
  if (nopass) out += " nopass";
  for (const std::string& h : password_hashes) out += " #" + h;
  if (all_keys) {
    out += " ~*";
  } else {
    for (const std::string& p : key_patterns) out += " ~" + p;
  }
  out += all_channels ? " &*" : " resetchannels";
  out += " " + describe_commands();
  return out;
}

AclStore::AclStore() {
  auto def = std::make_shared<AclUser>("default");
  for (std::string_view r : {"on", "nopass", "~*", "&*", "+@all"}) def->apply(r);
  users_.emplace("default", std::move(def));
}

void AclStore::bump() {
  auto it = users_.find("default");
  default_nopass_.store(it != users_.end() && it->second->nopass, std::memory_order_release);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

AclUserPtr AclStore::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second;
}

std::string AclStore::set_user(std::string_view name, const std::vector<std::string>& rules) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = users_.find(name);
  auto next = it != users_.end() ? std::make_shared<AclUser>(*it->second)
                                 : std::make_shared<AclUser>(std::string(name));
  for (const std::string& r : rules) {
    std::string err = next->apply(r);
    if (!err.empty()) return "ERR Error in ACL SETUSER modifier '" + r + "': " + err;
  }
  users_[std::string(name)] = std::move(next);
  bump();
  return "";
}

size_t AclStore::del_users(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const std::string& name : names) n += users_.erase(name);
  bump();
  return n;
}

std::vector<AclUserPtr> AclStore::users() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AclUserPtr> out;
  for (const auto& [name, u] : users_) out.push_back(u);
  return out;
}

void AclStore::set_requirepass(const std::string& pass) {
  std::vector<std::string> rules = {"resetpass"};
  rules.push_back(pass.empty() ? "nopass" : ">" + pass);
  std::string err = set_user("default", rules);
  ALLOT_CHECK(err.empty());
}

std::string CheckUserRules(const std::vector<std::string>& name_and_rules) {
  AclUser scratch(name_and_rules[0]);
  for (size_t i = 1; i < name_and_rules.size(); ++i) {
    std::string err = scratch.apply(name_and_rules[i]);
    if (err.empty()) continue;
    const std::string& r = name_and_rules[i];
    // Config errors reach stderr and logs: never show a password.
    std::string shown = r[0] == '<' ? "<***" : r;
    return "Error in user declaration '" + shown + "': " + err;
  }
  return "";
}

std::string Sha256Hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ALLOT_CHECK(EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr) == 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

bool IsLoopback(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_UNIX) return true;
  if (peer.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&peer);
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (peer.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&peer);
    if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

bool ProtectedModeRefuses(bool protected_mode, bool default_nopass, const sockaddr_storage& peer) {
  return protected_mode && default_nopass && !IsLoopback(peer);
}

std::string_view ProtectedModeError() {
  return "-DENIED Allot (allotd) is running in protected mode because protected mode is "
         "enabled and no password is set for the default user. In this mode connections "
         "are only accepted from the loopback interface. If you want to connect from "
         "external computers to allotd you may adopt one of the following solutions: 1) Just "
         "disable protected mode sending the command 'CONFIG SET protected-mode no' from the "
         "loopback interface by connecting to allotd from the same host the server is "
         "running, however MAKE SURE allotd is not publicly accessible from internet if you "
         "do so. 2) Alternatively you can just disable the protected mode by editing the "
         "allotd configuration file, and setting the protected mode option to 'no', and then "
         "restarting the server. 3) If you started the server manually just for testing, "
         "restart it with the '--protected-mode no' option. 4) Set up an authentication "
         "password for the default user (requirepass, or a 'user default' line). NOTE: You "
         "only need to do one of the above things in order for the server to start accepting "
         "connections from the outside.\r\n";
}

}  // namespace allot::server
