// acl.h: users, passwords, command categories and key patterns (Redis's ACL), and the
// protected-mode decision.
//
// Command ids. Every command of the CommandTable has an id (its index in the table); some
// container commands (CONFIG, CLIENT, ACL, COMMAND, SCRIPT, FUNCTION) also give their
// subcommands ids of their own after those, so that `+config|get` or `-@admin` can allow
// CONFIG GET and refuse CONFIG SET. A user's permissions are a bitmap over these ids:
// checking a command is one table lookup and one bit test (AclUser::can_run).
//
// Categories. Derived from the command flags (write, readonly, fast, admin, blocking,
// inventory, connection) plus a small table by command name for what flags do not say:
// the data type (@string, @set, ...), @keyspace, @dangerous and @scripting. Commands in
// the table that are not registered (EVAL, SCRIPT, DEBUG before they exist) are ignored,
// so families added later fit in by name.
//
// Passwords are kept only as SHA-256 hex digests; ACL LIST and GETUSER print the digests.
//
// Threads: AclStore is shared by every shard thread; users are immutable snapshots
// (shared_ptr<const AclUser>) replaced as a whole on ACL SETUSER, so a connection keeps
// using its snapshot without a lock and re-reads it when the store's version changes.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/commands/command.h"

namespace allot::server {

// Redis's ACL categories, in ACL CAT order, plus Allot's @inventory.
enum AclCategory : uint32_t {
  kAclKeyspace = 1u << 0,
  kAclRead = 1u << 1,
  kAclWrite = 1u << 2,
  kAclSet = 1u << 3,
  kAclSortedSet = 1u << 4,
  kAclList = 1u << 5,
  kAclHash = 1u << 6,
  kAclString = 1u << 7,
  kAclBitmap = 1u << 8,
  kAclHyperLogLog = 1u << 9,
  kAclGeo = 1u << 10,
  kAclStream = 1u << 11,
  kAclPubSub = 1u << 12,
  kAclAdmin = 1u << 13,
  kAclFast = 1u << 14,
  kAclSlow = 1u << 15,
  kAclBlocking = 1u << 16,
  kAclDangerous = 1u << 17,
  kAclConnection = 1u << 18,
  kAclTransaction = 1u << 19,
  kAclScripting = 1u << 20,
  kAclInventory = 1u << 21,
};

// The table of command ids (see the file comment). Built once from the CommandTable.
class AclCommands {
 public:
  struct Cmd {
    std::string name;  // lower case; "config|get" for a subcommand
    uint32_t categories = 0;
    int parent = -1;               // a subcommand's command id
    std::vector<int> subcommands;  // a container's subcommand ids
  };
  static const AclCommands& Get();

  size_t size() const { return cmds_.size(); }
  const Cmd& cmd(size_t id) const { return cmds_[id]; }
  // Id of "name" or "name|sub" (case-insensitive), or -1.
  int find(std::string_view name) const;
  // The id a request is checked against: its subcommand's if the command has a table of
  // subcommands and args[1] is one of them, else the command's. spec_index = index of
  // the spec in CommandTable::all().
  int id_for(size_t spec_index, internal::Args args) const;
  // Category by name ("admin", case-insensitive), 0 if unknown; and every name.
  static uint32_t CategoryByName(std::string_view name);
  static std::vector<std::string_view> CategoryNames();

 private:
  AclCommands();
  std::vector<Cmd> cmds_;
  std::map<std::string, int, std::less<>> by_name_;
};

struct AclUser {
  std::string name;
  bool enabled = false;
  bool nopass = false;
  bool all_keys = false;
  bool all_channels = false;                 // only shown: Allot has no Pub/Sub
  std::vector<std::string> password_hashes;  // SHA-256, lower-case hex
  std::vector<std::string> key_patterns;     // globs, without the '~'
  std::vector<uint64_t> allowed;             // bitmap over AclCommands ids
  // The command rules as applied since the last +@all/-@all (for ACL LIST/GETUSER).
  std::vector<std::string> command_rules;
  bool base_all = false;  // the description starts with +@all (else -@all)

  explicit AclUser(std::string n);
  bool allowed_id(size_t id) const { return (allowed[id / 64] >> (id % 64)) & 1; }
  bool can_run(size_t id) const { return allowed_id(id); }
  // Whether every key of the request matches a key pattern.
  bool keys_allowed(const internal::CommandSpec& spec, internal::Args args) const;
  bool password_ok(std::string_view pass) const;
  // Applies one rule ("on", ">pw", "+@read", "~k*", ...). Returns "" or Redis's reason
  // (the text after "Error in ACL SETUSER modifier '...': ").
  std::string apply(std::string_view rule);
  // "on #<digest> ~* resetchannels +@all -@admin" (ACL LIST, without "user <name> ").
  std::string describe() const;
  std::string describe_commands() const;

 private:
  void set_id(size_t id, bool on);
  void set_category(uint32_t cat, bool on);
};

using AclUserPtr = std::shared_ptr<const AclUser>;

class AclStore {
 public:
  AclStore();
  // Changes bump version(): connections re-read their user.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  AclUserPtr find(std::string_view name) const;
  AclUserPtr default_user() const { return find("default"); }
  // ACL SETUSER name rules...: "" or the full error text ("ERR Error in ACL SETUSER ...").
  std::string set_user(std::string_view name, const std::vector<std::string>& rules);
  // ACL DELUSER: how many existed.
  size_t del_users(const std::vector<std::string>& names);
  std::vector<AclUserPtr> users() const;
  // requirepass: the default user's password ("" = nopass), as Redis's config does.
  void set_requirepass(const std::string& pass);
  // Whether the default user has no password (protected mode and new connections).
  bool default_nopass() const { return default_nopass_.load(std::memory_order_acquire); }

 private:
  void bump();
  mutable std::mutex mu_;
  std::map<std::string, AclUserPtr, std::less<>> users_;
  std::atomic<uint64_t> version_{1};
  std::atomic<bool> default_nopass_{true};
};

// A config file `user` line's arguments (name, rules...): "" or why it is refused.
std::string CheckUserRules(const std::vector<std::string>& name_and_rules);

// Lower-case hex SHA-256 of s.
std::string Sha256Hex(std::string_view s);
// Whether peer is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) or a Unix
// socket.
bool IsLoopback(const sockaddr_storage& peer);
// Protected mode: refuse peer when on, the default user has no password and peer is not
// loopback (Redis's clientAcceptHandler).
bool ProtectedModeRefuses(bool protected_mode, bool default_nopass, const sockaddr_storage& peer);
// The reply sent before closing such a client.
std::string_view ProtectedModeError();

}  // namespace allot::server
