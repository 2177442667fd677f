// ACL rules, categories and the protected-mode decision (server/acl.h), and the config
// settings of access control and maxmemory (server/config.h).
#include "server/acl.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "server/config.h"
#include "server/server.h"

namespace allot::server {
namespace {

using internal::Args;
using internal::CommandTable;

// Whether user may run argv (command bits and key patterns), as Connection::refusal
// checks it.
bool May(const AclUser& u, std::vector<std::string_view> argv) {
  const internal::CommandSpec* spec = CommandTable::Get().find(argv[0]);
  EXPECT_NE(spec, nullptr) << argv[0];
  size_t index = static_cast<size_t>(spec - CommandTable::Get().all().data());
  int id = AclCommands::Get().id_for(index, Args(argv));
  return u.can_run(static_cast<size_t>(id)) && u.keys_allowed(*spec, Args(argv));
}

AclUser Make(std::vector<std::string_view> rules) {
  AclUser u("u");
  for (std::string_view r : rules) EXPECT_EQ(u.apply(r), "") << r;
  return u;
}

uint32_t Cats(std::string_view name) {
  int id = AclCommands::Get().find(name);
  EXPECT_GE(id, 0) << name;
  return id < 0 ? 0 : AclCommands::Get().cmd(static_cast<size_t>(id)).categories;
}

TEST(AclCategories, FromFlagsAndNames) {
  EXPECT_EQ(Cats("get"), kAclRead | kAclString | kAclFast);
  EXPECT_EQ(Cats("set"), kAclWrite | kAclString | kAclSlow);
  EXPECT_EQ(Cats("hset"), kAclWrite | kAclHash | kAclFast);
  EXPECT_EQ(Cats("sadd"), kAclWrite | kAclSet | kAclFast);
  EXPECT_EQ(Cats("lpush"), kAclWrite | kAclList | kAclFast);
  EXPECT_EQ(Cats("flushall"), kAclWrite | kAclKeyspace | kAclDangerous | kAclSlow);
  EXPECT_EQ(Cats("inv.buy"), kAclWrite | kAclInventory | kAclFast);
  EXPECT_EQ(Cats("inv.get"), kAclRead | kAclInventory | kAclFast);
  EXPECT_EQ(Cats("config|get"), kAclAdmin | kAclDangerous | kAclSlow);
  EXPECT_EQ(Cats("acl|whoami"), kAclSlow);
  EXPECT_EQ(Cats("acl|setuser"), kAclAdmin | kAclDangerous | kAclSlow);
  EXPECT_EQ(Cats("client|id"), kAclSlow | kAclConnection);
  EXPECT_TRUE(Cats("client|kill") & kAclAdmin);
  EXPECT_TRUE(Cats("shutdown") & kAclAdmin);
  EXPECT_TRUE(Cats("function|flush") & kAclAdmin);
  EXPECT_TRUE(Cats("function|flush") & kAclScripting);
  EXPECT_EQ(AclCommands::Get().find("nosuch"), -1);
  EXPECT_EQ(AclCommands::Get().find("config|nosuch"), -1);
}

// Every registered command gets @fast or @slow, and a data command gets its type, so a
// command added without a category is caught here.
TEST(AclCategories, EveryCommandIsCategorized) {
  const uint32_t kTypes = kAclString | kAclHash | kAclSet | kAclList | kAclKeyspace |
                          kAclInventory | kAclScripting | kAclConnection | kAclAdmin |
                          kAclTransaction;
  for (const internal::CommandSpec& s : CommandTable::Get().all()) {
    uint32_t c = Cats(internal::ToLower(s.name));
    EXPECT_TRUE(c & (kAclFast | kAclSlow)) << s.name;
    if (s.first_key > 0 || s.keys_fn != nullptr) {
      EXPECT_TRUE(c & kTypes) << s.name;
    }
  }
}

TEST(AclCategories, Names) {
  EXPECT_EQ(AclCommands::CategoryByName("ADMIN"), kAclAdmin);
  EXPECT_EQ(AclCommands::CategoryByName("inventory"), kAclInventory);
  EXPECT_EQ(AclCommands::CategoryByName("all"), 0u);
  EXPECT_EQ(AclCommands::CategoryNames().size(), 22u);
}

TEST(AclUserRules, AppUserIsNotAdmin) {
  AclUser app = Make({"on", ">secret", "~*", "+@all", "-@admin", "-@dangerous"});
  EXPECT_TRUE(May(app, {"GET", "k"}));
  EXPECT_TRUE(May(app, {"SET", "k", "v"}));
  EXPECT_TRUE(May(app, {"INV.BUY", "item", "alice"}));
  EXPECT_TRUE(May(app, {"INV.CONFIRM", "item", "1"}));
  EXPECT_TRUE(May(app, {"ACL", "WHOAMI"}));
  EXPECT_TRUE(May(app, {"CLIENT", "ID"}));
  EXPECT_TRUE(May(app, {"PING"}));
  EXPECT_FALSE(May(app, {"FLUSHALL"}));
  EXPECT_FALSE(May(app, {"FLUSHDB"}));
  EXPECT_FALSE(May(app, {"KEYS", "*"}));
  EXPECT_FALSE(May(app, {"CONFIG", "GET", "maxmemory"}));
  EXPECT_FALSE(May(app, {"CONFIG", "SET", "maxmemory", "1"}));
  EXPECT_FALSE(May(app, {"SHUTDOWN"}));
  EXPECT_FALSE(May(app, {"CLIENT", "KILL", "ID", "1"}));
  EXPECT_FALSE(May(app, {"ACL", "SETUSER", "x"}));
  EXPECT_FALSE(May(app, {"ACL", "LIST"}));
  EXPECT_FALSE(May(app, {"FUNCTION", "FLUSH"}));
  EXPECT_EQ(app.describe(),
            "on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* "
            "resetchannels +@all -@admin -@dangerous");
}

TEST(AclUserRules, CommandsAndSubcommands) {
  AclUser u = Make({"on", "nopass", "allkeys", "+get", "+config|get"});
  EXPECT_TRUE(May(u, {"GET", "k"}));
  EXPECT_FALSE(May(u, {"SET", "k", "v"}));
  EXPECT_TRUE(May(u, {"CONFIG", "GET", "port"}));
  EXPECT_FALSE(May(u, {"CONFIG", "SET", "port", "1"}));
  EXPECT_EQ(u.describe(), "on nopass ~* resetchannels -@all +get +config|get");
  // -@all forgets the rules before it, as Redis.
  ASSERT_EQ(u.apply("-@all"), "");
  EXPECT_FALSE(May(u, {"GET", "k"}));
  EXPECT_EQ(u.describe_commands(), "-@all");
  ASSERT_EQ(u.apply("+@read"), "");
  ASSERT_EQ(u.apply("-inv.get"), "");
  EXPECT_TRUE(May(u, {"GET", "k"}));
  EXPECT_TRUE(May(u, {"HGETALL", "k"}));
  EXPECT_FALSE(May(u, {"INV.GET", "k"}));
  EXPECT_FALSE(May(u, {"DEL", "k"}));
  ASSERT_EQ(u.apply("+config"), "");  // a whole container
  EXPECT_TRUE(May(u, {"CONFIG", "SET", "port", "1"}));
  EXPECT_EQ(u.describe_commands(), "-@all +@read -inv.get +config");
}

TEST(AclUserRules, KeyPatterns) {
  AclUser u = Make({"on", "nopass", "+@all", "~app:*", "~cache:?"});
  EXPECT_TRUE(May(u, {"GET", "app:1"}));
  EXPECT_TRUE(May(u, {"GET", "cache:x"}));
  EXPECT_FALSE(May(u, {"GET", "cache:xy"}));
  EXPECT_FALSE(May(u, {"GET", "other"}));
  EXPECT_TRUE(May(u, {"MSET", "app:1", "v", "cache:z", "w"}));
  EXPECT_FALSE(May(u, {"MSET", "app:1", "v", "secret", "w"}));
  EXPECT_TRUE(May(u, {"PING"}));  // keyless
  EXPECT_EQ(u.describe(), "on nopass ~app:* ~cache:? resetchannels +@all");
  EXPECT_EQ(u.apply("~*"), "");
  EXPECT_TRUE(May(u, {"GET", "other"}));
  EXPECT_EQ(u.apply("~more"),
            "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
            "not have any effect. Try 'resetkeys' to start with an empty list of patterns");
  EXPECT_EQ(u.apply("resetkeys"), "");
  EXPECT_FALSE(May(u, {"GET", "app:1"}));
  EXPECT_TRUE(May(u, {"PING"}));
}

TEST(AclUserRules, Passwords) {
  AclUser u = Make({"on", ">one", ">two"});
  EXPECT_TRUE(u.password_ok("one"));
  EXPECT_TRUE(u.password_ok("two"));
  EXPECT_FALSE(u.password_ok("three"));
  EXPECT_FALSE(u.password_ok(""));
  EXPECT_EQ(u.password_hashes.size(), 2u);
  EXPECT_EQ(u.describe().find("one"), std::string::npos);
  EXPECT_EQ(u.apply("<one"), "");
  EXPECT_FALSE(u.password_ok("one"));
  EXPECT_EQ(u.apply("<one"), "The password you are trying to remove from the user does not exist");
  EXPECT_EQ(u.apply("#abc"),
            "The password hash must be exactly 64 characters and contain only lowercase "
            "hexadecimal characters");
  EXPECT_EQ(u.apply("#" + Sha256Hex("four")), "");
  EXPECT_TRUE(u.password_ok("four"));
  EXPECT_EQ(u.apply("nopass"), "");
  EXPECT_TRUE(u.password_ok("anything"));
  EXPECT_TRUE(u.password_hashes.empty());
  EXPECT_EQ(u.apply("resetpass"), "");
  EXPECT_FALSE(u.password_ok("anything"));
  EXPECT_EQ(Sha256Hex("secret"),
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
}

TEST(AclUserRules, Errors) {
  AclUser u("u");
  EXPECT_EQ(u.apply("junk"), "Syntax error");
  EXPECT_EQ(u.apply("+bogus"), "Unknown command or category name in ACL");
  EXPECT_EQ(u.apply("+@bogus"), "Unknown command or category name in ACL");
  EXPECT_EQ(u.apply("+config|bogus"), "Unknown command or category name in ACL");
  EXPECT_NE(u.apply("%R~k"), "");
  EXPECT_EQ(u.describe(), "off resetchannels -@all");
  ASSERT_EQ(u.apply("on"), "");
  ASSERT_EQ(u.apply("reset"), "");
  EXPECT_EQ(u.describe(), "off resetchannels -@all");
}

TEST(AclStoreTest, DefaultUserAndRequirepass) {
  AclStore store;
  EXPECT_TRUE(store.default_nopass());
  EXPECT_EQ(store.default_user()->describe(), "on nopass ~* &* +@all");
  uint64_t v = store.version();
  store.set_requirepass("pw");
  EXPECT_GT(store.version(), v);
  EXPECT_FALSE(store.default_nopass());
  EXPECT_TRUE(store.default_user()->password_ok("pw"));
  EXPECT_FALSE(store.default_user()->password_ok("other"));
  store.set_requirepass("");
  EXPECT_TRUE(store.default_nopass());
  EXPECT_EQ(store.set_user("app", {"on", "bogus"}),
            "ERR Error in ACL SETUSER modifier 'bogus': Syntax error");
  EXPECT_EQ(store.find("app"), nullptr);  // a failed SETUSER changes nothing
  EXPECT_EQ(store.set_user("app", {"on", ">x", "+@read"}), "");
  AclUserPtr before = store.find("app");
  EXPECT_EQ(store.set_user("app", {"+@write"}), "");
  EXPECT_EQ(before->describe_commands(), "-@all +@read");  // snapshots are immutable
  EXPECT_EQ(store.find("app")->describe_commands(), "-@all +@read +@write");
  EXPECT_EQ(store.users().size(), 2u);
  EXPECT_EQ(store.del_users({"app", "nosuch"}), 1u);
  EXPECT_EQ(store.find("app"), nullptr);
}

sockaddr_storage Addr(const char* text) {
  sockaddr_storage ss{};
  if (std::strchr(text, ':') != nullptr) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text, &a->sin_addr), 1);
  }
  return ss;
}

TEST(ProtectedMode, Decision) {
  EXPECT_FALSE(ProtectedModeRefuses(true, true, Addr("127.0.0.1")));
  EXPECT_FALSE(ProtectedModeRefuses(true, true, Addr("127.3.2.1")));
  EXPECT_FALSE(ProtectedModeRefuses(true, true, Addr("::1")));
  EXPECT_FALSE(ProtectedModeRefuses(true, true, Addr("::ffff:127.0.0.1")));
  EXPECT_TRUE(ProtectedModeRefuses(true, true, Addr("192.0.2.2")));
  EXPECT_TRUE(ProtectedModeRefuses(true, true, Addr("10.0.0.1")));
  EXPECT_TRUE(ProtectedModeRefuses(true, true, Addr("2001:db8::1")));
  EXPECT_TRUE(ProtectedModeRefuses(true, true, Addr("::ffff:10.0.0.1")));
  EXPECT_FALSE(ProtectedModeRefuses(true, false, Addr("192.0.2.2")));  // a password is set
  EXPECT_FALSE(ProtectedModeRefuses(false, true, Addr("192.0.2.2")));  // protected-mode no
  std::string_view err = ProtectedModeError();
  EXPECT_EQ(err.substr(0, 8), "-DENIED ");
  EXPECT_EQ(err.substr(err.size() - 2), "\r\n");
  EXPECT_EQ(err.find('\n'), err.size() - 1);  // one protocol line
}

TEST(AccessConfig, UserLinesAndSettings) {
  ServerConfig c;
  EXPECT_TRUE(c.protected_mode);
  EXPECT_EQ(c.maxmemory_policy, "noeviction");
  std::string err;
  ASSERT_TRUE(
      LoadConfigText("user app on >secret ~* +@all -@admin -@dangerous\n"
                     "user admin on >adminpw ~* +@all\n"
                     "protected-mode no\nmaxmemory 10mb\nmaxmemory-policy allkeys-lru\n"
                     "tls-port 6380\ntls-auth-clients optional\n",
                     c, &err))
      << err;
  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users[0], "app on >secret ~* +@all -@admin -@dangerous");
  EXPECT_FALSE(c.protected_mode);
  EXPECT_EQ(c.maxmemory, 10u << 20);
  EXPECT_EQ(c.maxmemory_policy, "allkeys-lru");
  EXPECT_EQ(c.tls_port, 6380);
  EXPECT_EQ(c.tls_auth_clients, "optional");
  // Users are not reported by CONFIG GET (ACL LIST shows them, with digests only).
  for (auto& [name, value] : ConfigGet(c, "*")) EXPECT_NE(name, "user");
  EXPECT_EQ(ConfigGet(c, "maxmemory-policy")[0].second, "allkeys-lru");
  EXPECT_FALSE(LoadConfigText("user app on +nosuch\n", c, &err));
  EXPECT_NE(err.find("Error in user declaration '+nosuch': Unknown command or category name"),
            std::string::npos)
      << err;
  // Config errors never show a password.
  EXPECT_FALSE(LoadConfigText("user app on >topsecret <gone +nosuch\n", c, &err));
  EXPECT_EQ(err.find("topsecret"), std::string::npos) << err;
  EXPECT_EQ(err.find("gone"), std::string::npos) << err;
  EXPECT_NE(err.find("'user app on >*** <*** +nosuch'"), std::string::npos) << err;
  EXPECT_FALSE(LoadConfigText("requirepass \"a b\" extra\n", c, &err));
  EXPECT_EQ(err.find("a b"), std::string::npos) << err;
  EXPECT_FALSE(LoadConfigText("maxmemory-policy lru\n", c, &err));
  EXPECT_FALSE(LoadConfigText("tls-auth-clients maybe\n", c, &err));
}

TEST(AccessConfig, EvictionPolicies) {
  EXPECT_EQ(ParseEvictionPolicy("noeviction"), EvictionPolicy::kNoEviction);
  EXPECT_EQ(ParseEvictionPolicy("allkeys-random"), EvictionPolicy::kAllKeysRandom);
  EXPECT_EQ(ParseEvictionPolicy("allkeys-lru"), EvictionPolicy::kAllKeysRandom);
  EXPECT_EQ(ParseEvictionPolicy("allkeys-lfu"), EvictionPolicy::kAllKeysRandom);
  EXPECT_EQ(ParseEvictionPolicy("volatile-random"), EvictionPolicy::kVolatileRandom);
  EXPECT_EQ(ParseEvictionPolicy("volatile-lru"), EvictionPolicy::kVolatileRandom);
  EXPECT_EQ(ParseEvictionPolicy("volatile-ttl"), EvictionPolicy::kVolatileTtl);
}

}  // namespace
}  // namespace allot::server
