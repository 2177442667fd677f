// Access control, protected mode, maxmemory and TLS against a real allotd (started as in
// server_integration_test.cc), driven by hiredis and redis-cli.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

int Connect(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes or nothing arrives for timeout_ms.
std::string ReadAll(int fd, int timeout_ms, bool* closed) {
  std::string out;
  *closed = false;
  char buf[65536];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return out;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      *closed = true;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A non-loopback IPv4 address of this machine, or "".
std::string NonLoopbackAddress() {
  ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0) return "";
  std::string out;
  for (ifaddrs* i = ifs; i != nullptr && out.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    out = buf;
  }
  freeifaddrs(ifs);
  return out;
}

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;
struct CtxDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Ctx = std::unique_ptr<redisContext, CtxDeleter>;

class Allotd {
 public:
  // config: the text of a config file written into the data dir (empty: none).
  explicit Allotd(std::vector<std::string> extra = {}, const std::string& config = "") {
    char tmpl[] = "/tmp/allotd_access_XXXXXX";
    dir_ = mkdtemp(tmpl);
    port_ = FreePort();
    std::vector<std::string> args = {ALLOTD_PATH};
    if (!config.empty()) {
      std::ofstream(dir_ + "/allotd.conf") << config;
      args.push_back(dir_ + "/allotd.conf");
    }
    std::vector<std::string> flags = {
        "--port",    std::to_string(port_), "--dir",      dir_,     "--threads", "2",
        "--logfile", dir_ + "/allotd.log",  "--loglevel", "verbose"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      int fd = Connect("127.0.0.1", port_);
      if (fd >= 0) {
        close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "allotd did not start: " << log();
  }
  ~Allotd() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    std::string rm = "rm -rf " + dir_;
    (void)std::system(rm.c_str());
  }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string log() const { return ReadFile(dir_ + "/allotd.log"); }
  redisContext* Client() {
    redisContext* c = redisConnect("127.0.0.1", port_);
    EXPECT_TRUE(c != nullptr && c->err == 0);
    timeval tv{10, 0};
    redisSetTimeout(c, tv);
    return c;
  }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

ReplyPtr Cmd(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* r = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  return ReplyPtr(static_cast<redisReply*>(r), freeReplyObject);
}

std::string Str(const ReplyPtr& r) {
  return r && r->str != nullptr ? std::string(r->str, r->len) : std::string("<none>");
}

// The reply as text: status/string/error text, integers in decimal, arrays joined by ' '.
std::string Text(const ReplyPtr& r) {
  if (!r) return "<none>";
  if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
  if (r->type == REDIS_REPLY_NIL) return "<nil>";
  if (r->type == REDIS_REPLY_ARRAY) {
    std::string out;
    for (size_t i = 0; i < r->elements; ++i) {
      ReplyPtr e(r->element[i], [](void*) {});
      out += (i ? " " : "") + Text(e);
    }
    return out;
  }
  return Str(r);
}

std::string Info(redisContext* c, const std::string& field) {
  std::string info = Str(Cmd(c, {"INFO", "everything"}));
  size_t at = info.find(field + ":");
  if (at == std::string::npos) return "";
  size_t start = at + field.size() + 1;
  return info.substr(start, info.find("\r\n", start) - start);
}

constexpr char kUsersConfig[] =
    "requirepass defpw\n"
    "user app on >apppw ~* +@all -@admin -@dangerous\n"
    "user admin on >adminpw ~* +@all\n"
    "user reader on >readpw ~cache:* -@all +@read +ping\n";

TEST(AccessIntegration, AppUserVersusAdmin) {
  Allotd s({}, kUsersConfig);
  Ctx c(s.Client());
  EXPECT_EQ(Str(Cmd(c.get(), {"GET", "k"})), "NOAUTH Authentication required.");
  EXPECT_EQ(Str(Cmd(c.get(), {"AUTH", "app", "wrong"})),
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Str(Cmd(c.get(), {"AUTH", "nosuch", "apppw"})),
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Str(Cmd(c.get(), {"GET", "k"})), "NOAUTH Authentication required.");
  EXPECT_EQ(Str(Cmd(c.get(), {"AUTH", "app", "apppw"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"ACL", "WHOAMI"})), "app");
  EXPECT_EQ(Str(Cmd(c.get(), {"SET", "k", "v"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"GET", "k"})), "v");
  EXPECT_EQ(Text(Cmd(c.get(), {"INV.CREATE", "item", "10"})), "OK");
  EXPECT_EQ(Text(Cmd(c.get(), {"INV.BUY", "item", "alice", "QTY", "2"})), "1");
  EXPECT_EQ(Str(Cmd(c.get(), {"FLUSHALL"})),
            "NOPERM User app has no permissions to run the 'flushall' command");
  EXPECT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory", "1"})),
            "NOPERM User app has no permissions to run the 'config|set' command");
  EXPECT_EQ(Str(Cmd(c.get(), {"CONFIG", "GET", "requirepass"})),
            "NOPERM User app has no permissions to run the 'config|get' command");
  EXPECT_EQ(Str(Cmd(c.get(), {"SHUTDOWN"})),
            "NOPERM User app has no permissions to run the 'shutdown' command");
  // Nor through a script: redis.call checks the caller's ACL (Redis 7.0's texts).
  const std::string refused =
      "ERR The user executing the script can't run this command or subcommand script: ";
  EXPECT_EQ(
      Str(Cmd(c.get(), {"EVAL", "return redis.call('flushall')", "0"})).substr(0, refused.size()),
      refused);
  EXPECT_EQ(Str(Cmd(c.get(), {"EVAL", "return redis.pcall('flushall')", "0"})),
            "ERR The user executing the script can't run this command or subcommand");
  EXPECT_EQ(Str(Cmd(c.get(), {"GET", "k"})), "v");  // nothing was flushed
  EXPECT_EQ(Str(Cmd(c.get(), {"ACL", "LIST"})),
            "NOPERM User app has no permissions to run the 'acl|list' command");
  EXPECT_EQ(Str(Cmd(c.get(), {"INFO"})),
            "NOPERM User app has no permissions to run the 'info' command");
  EXPECT_EQ(Str(Cmd(c.get(), {"DBSIZE"})).size(), 6u);  // "<none>": an integer, allowed
  // Arity and unknown commands are reported before permissions, as Redis.
  EXPECT_EQ(Str(Cmd(c.get(), {"FLUSHALL", "a", "b", "c"})).substr(0, 6), "NOPERM");
  EXPECT_EQ(Str(Cmd(c.get(), {"NOSUCH"})).substr(0, 23), "ERR unknown command 'NO");

  // Inside MULTI a refused command is answered when queued and aborts the transaction.
  EXPECT_EQ(Str(Cmd(c.get(), {"MULTI"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"SET", "k", "in-multi"})), "QUEUED");
  EXPECT_EQ(Str(Cmd(c.get(), {"FLUSHALL"})),
            "NOPERM User app has no permissions to run the 'flushall' command");
  EXPECT_EQ(Str(Cmd(c.get(), {"EXEC"})),
            "EXECABORT Transaction discarded because of previous errors.");
  EXPECT_EQ(Str(Cmd(c.get(), {"GET", "k"})), "v");

  // HELLO AUTH switches user (and protocol: HELLO 3 through redis-cli, hiredis here is
  // RESP2 only).
  std::string hello3 =
      Shell("redis-cli -p " + std::to_string(s.port()) + " HELLO 3 AUTH admin adminpw");
  EXPECT_NE(hello3.find("proto"), std::string::npos) << hello3;
  EXPECT_EQ(Shell("redis-cli -p " + std::to_string(s.port()) + " HELLO 3 AUTH admin nope"),
            "WRONGPASS invalid username-password pair or user is disabled.\n\n");
  ReplyPtr hello = Cmd(c.get(), {"HELLO", "2", "AUTH", "admin", "adminpw"});
  ASSERT_EQ(hello->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(Str(Cmd(c.get(), {"ACL", "WHOAMI"})), "admin");
  EXPECT_EQ(Str(Cmd(c.get(), {"HELLO", "2", "AUTH", "admin", "bad"})),
            "WRONGPASS invalid username-password pair or user is disabled.");
  EXPECT_EQ(Str(Cmd(c.get(), {"ACL", "WHOAMI"})), "admin");  // a failed AUTH keeps the user
  EXPECT_EQ(Str(Cmd(c.get(), {"FLUSHALL"})), "OK");
  EXPECT_EQ(Text(Cmd(c.get(), {"CONFIG", "GET", "requirepass"})), "requirepass defpw");

  // The default user with requirepass: AUTH <password>.
  Ctx d(s.Client());
  EXPECT_EQ(Str(Cmd(d.get(), {"AUTH", "defpw"})), "OK");
  EXPECT_EQ(Str(Cmd(d.get(), {"ACL", "WHOAMI"})), "default");
  EXPECT_EQ(Str(Cmd(d.get(), {"RESET"})), "RESET");
  EXPECT_EQ(Str(Cmd(d.get(), {"ACL", "WHOAMI"})), "NOAUTH Authentication required.");
}

TEST(AccessIntegration, KeyPatternsAndSetuser) {
  Allotd s({}, kUsersConfig);
  Ctx r(s.Client());
  ASSERT_EQ(Str(Cmd(r.get(), {"AUTH", "reader", "readpw"})), "OK");
  EXPECT_EQ(Text(Cmd(r.get(), {"GET", "cache:1"})), "<nil>");
  EXPECT_EQ(Str(Cmd(r.get(), {"GET", "other"})), "NOPERM No permissions to access a key");
  EXPECT_EQ(Str(Cmd(r.get(), {"SET", "cache:1", "v"})),
            "NOPERM User reader has no permissions to run the 'set' command");
  EXPECT_EQ(Str(Cmd(r.get(), {"PING"})), "PONG");
  // Refused commands inside a pipeline (whose keys live on both shards, so some travel
  // in remote batches) are answered in their place.
  for (int i = 0; i < 200; ++i) {
    std::string k = (i % 3 == 1 ? "other:" : "cache:") + std::to_string(i);
    redisAppendCommand(r.get(), "GET %b", k.data(), k.size());
  }
  for (int i = 0; i < 200; ++i) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(r.get(), &raw), REDIS_OK);
    ReplyPtr got(static_cast<redisReply*>(raw), freeReplyObject);
    EXPECT_EQ(Text(got), i % 3 == 1 ? "NOPERM No permissions to access a key" : "<nil>") << i;
  }

  Ctx a(s.Client());
  ASSERT_EQ(Str(Cmd(a.get(), {"AUTH", "admin", "adminpw"})), "OK");
  // A change applies at once to the connections of that user.
  EXPECT_EQ(Str(Cmd(a.get(), {"ACL", "SETUSER", "reader", "+set"})), "OK");
  EXPECT_EQ(Str(Cmd(r.get(), {"SET", "cache:1", "v"})), "OK");
  EXPECT_EQ(Str(Cmd(a.get(), {"ACL", "SETUSER", "reader", "bogus"})),
            "ERR Error in ACL SETUSER modifier 'bogus': Syntax error");
  EXPECT_EQ(Str(Cmd(a.get(), {"ACL", "SETUSER", "reader", "+nosuch"})),
            "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in "
            "ACL");
  EXPECT_EQ(Text(Cmd(a.get(), {"ACL", "GETUSER", "nosuch"})), "<nil>");
  EXPECT_EQ(Text(Cmd(a.get(), {"ACL", "GETUSER", "reader"})),
            "flags on passwords "
            "58d5ea977110f496f363782c2d79b74692a7ee2bbf77276d394dc9e5ac50ebca commands -@all "
            "+@read +ping +set keys ~cache:* channels  selectors ");
  EXPECT_EQ(Str(Cmd(a.get(), {"ACL", "DELUSER", "default"})),
            "ERR The 'default' user cannot be removed");
  EXPECT_EQ(Text(Cmd(a.get(), {"ACL", "USERS"})), "admin app default reader");
  EXPECT_EQ(Text(Cmd(a.get(), {"ACL", "DELUSER", "reader", "nosuch"})), "1");
  // The deleted user's connection is closed.
  ReplyPtr gone = Cmd(r.get(), {"PING"});
  EXPECT_TRUE(gone == nullptr || r->err != 0) << Text(gone);
  EXPECT_EQ(Str(Cmd(a.get(), {"ACL", "CAT", "nosuch"})), "ERR Unknown category 'nosuch'");
  std::string inv = Text(Cmd(a.get(), {"ACL", "CAT", "inventory"}));
  EXPECT_NE(inv.find("inv.buy"), std::string::npos);
  EXPECT_EQ((" " + inv + " ").find(" get "), std::string::npos);
}

TEST(AccessIntegration, PasswordsNeverShown) {
  Allotd s({}, kUsersConfig);
  Ctx a(s.Client());
  ASSERT_EQ(Str(Cmd(a.get(), {"AUTH", "admin", "adminpw"})), "OK");
  ASSERT_EQ(Str(Cmd(a.get(), {"CONFIG", "SET", "slowlog-log-slower-than", "0"})), "OK");
  ASSERT_EQ(Str(Cmd(a.get(), {"ACL", "SETUSER", "late", "on", ">latepw", "+@all"})), "OK");
  Ctx bad(s.Client());
  Cmd(bad.get(), {"AUTH", "app", "guessed-pw"});
  Cmd(bad.get(), {"HELLO", "2", "AUTH", "app", "guessed-pw2"});
  std::string list = Text(Cmd(a.get(), {"ACL", "LIST"}));
  EXPECT_NE(list.find("user app on #"), std::string::npos) << list;
  std::string info = Str(Cmd(a.get(), {"INFO", "everything"}));
  std::string clients = Str(Cmd(a.get(), {"CLIENT", "LIST"}));
  EXPECT_NE(clients.find("user=admin"), std::string::npos) << clients;
  std::string slowlog = Text(Cmd(a.get(), {"SLOWLOG", "GET", "100"}));
  EXPECT_NE(slowlog.find("SETUSER"), std::string::npos) << slowlog;
  std::string log = s.log();
  for (std::string pw :
       {"defpw", "apppw", "adminpw", "readpw", "latepw", "guessed-pw", "guessed-pw2"}) {
    EXPECT_EQ(list.find(pw), std::string::npos) << pw;
    EXPECT_EQ(info.find(pw), std::string::npos) << pw;
    EXPECT_EQ(log.find(pw), std::string::npos) << pw;
    EXPECT_EQ(slowlog.find(pw), std::string::npos) << pw;
  }
  EXPECT_NE(log.find("ACL SETUSER late"), std::string::npos) << log;
}

TEST(AccessIntegration, ProtectedModeRefusesRemoteClients) {
  std::string remote = NonLoopbackAddress();
  if (remote.empty()) GTEST_SKIP() << "no non-loopback address (ProtectedMode.Decision covers it)";
  Allotd s({"--bind", "127.0.0.1", remote});
  int fd = Connect(remote, s.port());
  ASSERT_GE(fd, 0);
  bool closed = false;
  std::string got = ReadAll(fd, 2000, &closed);
  close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.substr(0, 64), "-DENIED Allot (allotd) is running in protected mode because prot");
  EXPECT_NE(got.find("'CONFIG SET protected-mode no'"), std::string::npos);
  // Loopback clients are served; setting a password lets remote clients in (to AUTH).
  Ctx c(s.Client());
  EXPECT_EQ(Str(Cmd(c.get(), {"PING"})), "PONG");
  ASSERT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "requirepass", "pw"})), "OK");
  redisContext* rc = redisConnect(remote.c_str(), s.port());
  ASSERT_TRUE(rc != nullptr && rc->err == 0);
  Ctx r(rc);
  EXPECT_EQ(Str(Cmd(r.get(), {"PING"})), "NOAUTH Authentication required.");
  EXPECT_EQ(Str(Cmd(r.get(), {"AUTH", "pw"})), "OK");
  EXPECT_EQ(Str(Cmd(r.get(), {"CONFIG", "SET", "requirepass", ""})), "OK");
  // No password again: new remote clients are refused, unless protected-mode is off.
  fd = Connect(remote, s.port());
  EXPECT_EQ(ReadAll(fd, 2000, &closed).substr(0, 8), "-DENIED ");
  close(fd);
  EXPECT_EQ(Str(Cmd(r.get(), {"CONFIG", "SET", "protected-mode", "no"})), "OK");
  redisContext* rc2 = redisConnect(remote.c_str(), s.port());
  ASSERT_TRUE(rc2 != nullptr && rc2->err == 0);
  Ctx r2(rc2);
  EXPECT_EQ(Str(Cmd(r2.get(), {"PING"})), "PONG");
}

TEST(AccessIntegration, MaxmemoryRefusesGrowthButNotSales) {
  Allotd s({"--durability", "everysec"});  // evictions are logged; no fsync per SET
  Ctx c(s.Client());
  ASSERT_EQ(Text(Cmd(c.get(), {"INV.CREATE", "item", "100"})), "OK");
  ReplyPtr hold = Cmd(c.get(), {"INV.HOLD", "item", "bob"});
  ASSERT_EQ(hold->type, REDIS_REPLY_STRING) << Text(hold);
  std::string hold_id = Str(hold);
  int64_t used = std::stoll(Info(c.get(), "used_memory"));
  ASSERT_GT(used, 0);
  std::string limit = std::to_string(used + (4 << 20));
  ASSERT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory", limit})), "OK");
  EXPECT_EQ(Info(c.get(), "maxmemory"), limit);
  EXPECT_EQ(Info(c.get(), "maxmemory_policy"), "noeviction");
  std::string value(16 * 1024, 'x');
  int stored = 0;
  std::string err;
  for (int i = 0; i < 2000 && err.empty(); ++i) {
    ReplyPtr r = Cmd(c.get(), {"SET", "cache:" + std::to_string(i), value});
    if (r->type == REDIS_REPLY_ERROR) {
      err = Str(r);
    } else {
      ++stored;
    }
  }
  EXPECT_EQ(err, "OOM command not allowed when used memory > 'maxmemory'.");
  EXPECT_GT(stored, 100);
  EXPECT_LT(stored, 1000);
  // Used memory moves with every request's own bytes; put it well over the limit so the
  // checks below do not depend on the size of the last refused request.
  int64_t now_used = std::stoll(Info(c.get(), "used_memory"));
  ASSERT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory", std::to_string(now_used - (1 << 20))})),
            "OK");
  // Writes that grow memory are refused; reads, deletes and the sale go on.
  EXPECT_EQ(Str(Cmd(c.get(), {"SADD", "s", "m"})), err);
  EXPECT_EQ(Str(Cmd(c.get(), {"INV.CREATE", "item2", "5"})), err);
  EXPECT_EQ(Str(Cmd(c.get(), {"INV.RESTOCK", "item", "5"})), err);
  EXPECT_EQ(Str(Cmd(c.get(), {"APPEND", "cache:1", "x"})), err);
  EXPECT_EQ(Str(Cmd(c.get(), {"GET", "cache:0"})), value);
  EXPECT_EQ(Text(Cmd(c.get(), {"INV.BUY", "item", "alice", "QTY", "3"})), "1");
  EXPECT_EQ(Text(Cmd(c.get(), {"INV.CONFIRM", "item", hold_id})), "1");
  ReplyPtr hold2 = Cmd(c.get(), {"INV.HOLD", "item", "carol", "QTY", "2"});
  EXPECT_EQ(hold2->type, REDIS_REPLY_STRING) << Text(hold2);
  EXPECT_EQ(Text(Cmd(c.get(), {"INV.RELEASE", "item", Str(hold2)})), "1");
  EXPECT_EQ(Text(Cmd(c.get(), {"DEL", "cache:0"})), "1");
  EXPECT_EQ(Info(c.get(), "evicted_keys"), "0");

  // With an eviction policy, plain keys make room; the inventory item stays whole.
  ASSERT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory-policy", "allkeys-random"})), "OK");
  // A write may be refused while other shards make room (the connection's shard evicts
  // only its own keys; the others evict on their threads when asked): retry briefly.
  int refused = 0;
  for (int i = 0; i < 300; ++i) {
    std::string got;
    for (int attempt = 0; attempt < 50; ++attempt) {
      got = Str(Cmd(c.get(), {"SET", "more:" + std::to_string(i), value}));
      if (got == "OK") break;
      ++refused;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(got, "OK") << i;
  }
  EXPECT_LT(refused, 60);
  std::fprintf(stderr, "writes refused while other shards evicted: %d\n", refused);
  EXPECT_GT(std::stoll(Info(c.get(), "evicted_keys")), 0);
  EXPECT_EQ(Text(Cmd(c.get(), {"TYPE", "item"})), "inventory");
  std::string inv = Text(Cmd(c.get(), {"INV.GET", "item"}));
  EXPECT_NE(inv.find("sold 4"), std::string::npos) << inv;
  EXPECT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory", "0"})), "OK");
}

// volatile-ttl evicts only keys with a TTL, soonest first; keys without one stay.
TEST(AccessIntegration, VolatileEvictionKeepsPersistentKeys) {
  Allotd s({"--durability", "everysec", "--maxmemory-policy", "volatile-ttl"});
  Ctx c(s.Client());
  std::string value(16 * 1024, 'v');
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Str(Cmd(c.get(), {"SET", "keep:" + std::to_string(i), value})), "OK");
  }
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Str(Cmd(c.get(),
                      {"SET", "tmp:" + std::to_string(i), value, "EX", std::to_string(1000 + i)})),
              "OK");
  }
  int64_t used = std::stoll(Info(c.get(), "used_memory"));
  ASSERT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory", std::to_string(used)})), "OK");
  int refused = 0;
  for (int i = 0; i < 60; ++i) {
    std::string got;
    for (int attempt = 0; attempt < 50; ++attempt) {
      got = Str(Cmd(c.get(), {"SET", "new:" + std::to_string(i), value, "EX", "5000"}));
      if (got == "OK") break;
      ++refused;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_EQ(got, "OK") << i;
  }
  EXPECT_GT(std::stoll(Info(c.get(), "evicted_keys")), 0);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Text(Cmd(c.get(), {"EXISTS", "keep:" + std::to_string(i)})), "1") << i;
  }
  // Every victim had a TTL: the keys gone are exactly the evictions. (Soonest-first holds
  // per shard only: a shard evicts its own keys, so one shard may evict its new keys while
  // the other still has older ones; docs/access-control.md.)
  int left = 0;
  for (int i = 0; i < 100; ++i) {
    left += std::stoi(Text(Cmd(c.get(), {"EXISTS", "tmp:" + std::to_string(i)})));
  }
  for (int i = 0; i < 60; ++i) {
    left += std::stoi(Text(Cmd(c.get(), {"EXISTS", "new:" + std::to_string(i)})));
  }
  EXPECT_EQ(160 - left, std::stoll(Info(c.get(), "evicted_keys")));
  EXPECT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory", "0"})), "OK");
}

// A certificate for 127.0.0.1, made by the test.
void MakeCertificate(const std::string& dir) {
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir + "/key.pem -out " +
                    dir +
                    "/cert.pem -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 "
                    ">/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
}

TEST(AccessIntegration, TlsPortWithRedisCli) {
  char tmpl[] = "/tmp/allotd_tls_XXXXXX";
  std::string certs = mkdtemp(tmpl);
  MakeCertificate(certs);
  int tls_port = FreePort();
  {
    Allotd s({"--tls-port", std::to_string(tls_port), "--tls-cert-file", certs + "/cert.pem",
              "--tls-key-file", certs + "/key.pem", "--requirepass", "pw"});
    std::string cli = "redis-cli --tls --cacert " + certs + "/cert.pem -p " +
                      std::to_string(tls_port) + " --no-auth-warning ";
    EXPECT_EQ(Shell(cli + "PING"), "NOAUTH Authentication required.\n\n");
    EXPECT_EQ(Shell(cli + "-a pw SET tlskey hello"), "OK\n");
    EXPECT_EQ(Shell(cli + "-a pw GET tlskey"), "hello\n");
    EXPECT_EQ(Shell(cli + "--user default --pass pw ACL WHOAMI"), "default\n");
    // A large value both ways (many TLS records, partial sends).
    std::string big(300000, 'b');
    std::ofstream(certs + "/big.txt") << big;
    EXPECT_EQ(Shell(cli + "-a pw -x SET big < " + certs + "/big.txt"), "OK\n");
    EXPECT_EQ(Shell(cli + "-a pw GET big"), big + "\n");
    // A pipeline over TLS.
    std::string pipe;
    for (int i = 0; i < 1000; ++i) pipe += "INCR n\r\n";
    std::ofstream(certs + "/pipe.txt") << "AUTH pw\r\n" << pipe;
    std::string piped = Shell(cli + "--pipe < " + certs + "/pipe.txt");
    EXPECT_NE(piped.find("errors: 0, replies: 1001"), std::string::npos) << piped;
    // The plain port serves the same data at the same time.
    Ctx c(s.Client());
    ASSERT_EQ(Str(Cmd(c.get(), {"AUTH", "pw"})), "OK");
    EXPECT_EQ(Str(Cmd(c.get(), {"GET", "tlskey"})), "hello");
    EXPECT_EQ(Text(Cmd(c.get(), {"GET", "n"})), "1000");
    // Plaintext on the TLS port and TLS on the plain port fail alone.
    int fd = Connect("127.0.0.1", tls_port);
    ASSERT_GE(fd, 0);
    std::string ping = "PING\r\n";
    ASSERT_EQ(send(fd, ping.data(), ping.size(), MSG_NOSIGNAL), 6);
    bool closed = false;
    ReadAll(fd, 2000, &closed);
    close(fd);
    EXPECT_TRUE(closed);
    std::string wrong = "timeout 5 redis-cli --tls --cacert " + certs + "/cert.pem -p " +
                        std::to_string(s.port()) + " PING 2>&1";
    EXPECT_EQ(Shell(wrong).find("PONG"), std::string::npos);
    EXPECT_EQ(Shell(cli + "-a pw PING"), "PONG\n");
    EXPECT_EQ(Str(Cmd(c.get(), {"PING"})), "PONG");
  }
  std::string rm = "rm -rf " + certs;
  (void)std::system(rm.c_str());
}

TEST(AccessIntegration, TlsClientCertificates) {
  char tmpl[] = "/tmp/allotd_tls_XXXXXX";
  std::string certs = mkdtemp(tmpl);
  MakeCertificate(certs);
  int tls_port = FreePort();
  {
    // The server's self-signed certificate is also the CA; the client presents it too.
    Allotd s({"--tls-port", std::to_string(tls_port), "--tls-cert-file", certs + "/cert.pem",
              "--tls-key-file", certs + "/key.pem", "--tls-ca-cert-file", certs + "/cert.pem",
              "--tls-auth-clients", "yes"});
    std::string cli = "timeout 10 redis-cli --tls --cacert " + certs + "/cert.pem -p " +
                      std::to_string(tls_port) + " ";
    EXPECT_EQ(Shell(cli + "PING 2>&1").find("PONG"), std::string::npos);
    EXPECT_EQ(Shell(cli + "--cert " + certs + "/cert.pem --key " + certs + "/key.pem PING"),
              "PONG\n");
  }
  std::string rm = "rm -rf " + certs;
  (void)std::system(rm.c_str());
}

}  // namespace
