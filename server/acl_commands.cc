// acl_commands.cc: ACL WHOAMI / CAT / SETUSER / GETUSER / DELUSER / LIST / USERS / HELP,
// with Redis 7's replies (server/acl.h holds the rules themselves).
#include <algorithm>

#include "engine/commands/args.h"
#include "server/connection.h"
#include "server/log.h"
#include "server/server.h"

namespace allot::server {

using internal::Args;
using internal::EqualsIgnoreCase;
using internal::ToLower;

namespace {

Reply WrongSubArgs(std::string_view sub) {
  return Reply::Error("ERR wrong number of arguments for 'acl|" + ToLower(sub) + "' command");
}

Reply AclCat(Args args) {
  std::vector<Reply> out;
  if (args.size() == 2) {
    for (std::string_view n : AclCommands::CategoryNames()) out.push_back(Reply::Bulk(n));
    return Reply::Array(std::move(out));
  }
  uint32_t cat = AclCommands::CategoryByName(args[2]);
  if (cat == 0) return Reply::Error("ERR Unknown category '" + std::string(args[2]) + "'");
  const AclCommands& t = AclCommands::Get();
  for (size_t id = 0; id < t.size(); ++id) {
    // Containers are listed through their subcommands, as Redis does.
    if ((t.cmd(id).categories & cat) && t.cmd(id).subcommands.empty()) {
      out.push_back(Reply::Bulk(t.cmd(id).name));
    }
  }
  return Reply::Array(std::move(out));
}

Reply AclGetUser(const AclUser& u) {
  std::vector<Reply> flags;
  flags.push_back(Reply::Bulk(std::string_view(u.enabled ? "on" : "off")));
  if (u.nopass) flags.push_back(Reply::Bulk(std::string_view("nopass")));
  std::vector<Reply> passwords;
  for (const std::string& h : u.password_hashes) passwords.push_back(Reply::Bulk(h));
  std::string keys;
  if (u.all_keys) {
    keys = "~*";
  } else {
    for (const std::string& p : u.key_patterns) keys += (keys.empty() ? "~" : " ~") + p;
  }
  return Reply::Map({Reply::Bulk(std::string_view("flags")), Reply::Array(std::move(flags)),
                     Reply::Bulk(std::string_view("passwords")), Reply::Array(std::move(passwords)),
                     Reply::Bulk(std::string_view("commands")), Reply::Bulk(u.describe_commands()),
                     Reply::Bulk(std::string_view("keys")), Reply::Bulk(keys),
                     Reply::Bulk(std::string_view("channels")),
                     Reply::Bulk(std::string_view(u.all_channels ? "&*" : "")),
                     Reply::Bulk(std::string_view("selectors")), Reply::Array()});
}

Reply AclHelp() {
  std::vector<Reply> lines;
  for (std::string_view l : {
           "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
           "CAT [<category>]",
           "    List all commands that belong to <category>, or all command categories",
           "    when no category is specified.",
           "DELUSER <username> [<username> ...]",
           "    Delete a list of users.",
           "GETUSER <username>",
           "    Get the user's details.",
           "LIST",
           "    Show users details in config file format.",
           "USERS",
           "    List all the registered usernames.",
           "SETUSER <username> [<property> [<property> ...]]",
           "    Create or modify a user with the specified properties.",
           "WHOAMI",
           "    Return the current connection username.",
           "HELP",
           "    Print this help.",
       }) {
    lines.push_back(Reply::Status(l));
  }
  return Reply::Array(std::move(lines));
}

}  // namespace

Reply Connection::cmd_acl(Args args) {
  std::string_view sub = args[1];
  size_t n = args.size();
  AclStore& acl = server_.acl();
  if (EqualsIgnoreCase(sub, "WHOAMI")) {
    if (n != 2) return WrongSubArgs(sub);
    return Reply::Bulk(user_->name);
  }
  if (EqualsIgnoreCase(sub, "CAT")) {
    if (n > 3) return WrongSubArgs(sub);
    return AclCat(args);
  }
  if (EqualsIgnoreCase(sub, "SETUSER")) {
    if (n < 3) return WrongSubArgs(sub);
    return cmd_acl_setuser(args);
  }
  if (EqualsIgnoreCase(sub, "GETUSER")) {
    if (n != 3) return WrongSubArgs(sub);
    AclUserPtr u = acl.find(args[2]);
    return u == nullptr ? Reply::Null() : AclGetUser(*u);
  }
  if (EqualsIgnoreCase(sub, "DELUSER")) {
    if (n < 3) return WrongSubArgs(sub);
    std::vector<std::string> names;
    for (size_t i = 2; i < n; ++i) {
      if (args[i] == "default") return Reply::Error("ERR The 'default' user cannot be removed");
      names.emplace_back(args[i]);
    }
    return Reply::Int(static_cast<int64_t>(acl.del_users(names)));
  }
  if (EqualsIgnoreCase(sub, "LIST") || EqualsIgnoreCase(sub, "USERS")) {
    if (n != 2) return WrongSubArgs(sub);
    bool list = EqualsIgnoreCase(sub, "LIST");
    std::vector<Reply> out;
    for (const AclUserPtr& u : acl.users()) {
      out.push_back(Reply::Bulk(list ? "user " + u->name + " " + u->describe() : u->name));
    }
    return Reply::Array(std::move(out));
  }
  if (EqualsIgnoreCase(sub, "HELP")) return AclHelp();
  return Reply::Error("ERR unknown subcommand '" + std::string(sub.substr(0, 128)) +
                      "'. Try ACL HELP.");
}

Reply Connection::cmd_acl_setuser(Args args) {
  std::string_view name = args[2];
  if (name.find(' ') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Reply::Error("ERR Usernames can't contain spaces or null characters");
  }
  std::vector<std::string> rules(args.begin() + 3, args.end());
  std::string err = server_.acl().set_user(name, rules);
  if (!err.empty()) return Reply::Error(err);
  // Logged without the rules: they may hold passwords.
  LogNotice("ACL SETUSER {} by client id={} addr={}", name.substr(0, 64), id_, meta_.peer);
  return Reply::Ok();
}

}  // namespace allot::server
