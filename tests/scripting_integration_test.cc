// scripting_integration_test.cc: scripts against the real allotd (and Debian's
// redis-server, started by the test, for the differential test): the seed scripts through
// `redis-cli --eval` and EVALSHA, a randomized stream of scripts and commands compared
// reply by reply with Redis, the seed's flash sale under many concurrent connections on
// keys of different shards, BUSY and SCRIPT KILL, and scripts surviving a restart.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/scripting/sha1.h"
#include "tests/support/allotd_process.h"

namespace {

const std::string kScriptsDir = std::string(ALLOT_SOURCE_DIR) + "/tests/scripts/";

// Ports and readiness checks shared by the integration tests (tests/support/allotd_process.h).
using allot::testing::CanConnect;
using allot::testing::FreePort;

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

// A server process (allotd or redis-server) on a free port, stopped with SIGKILL at the
// end of the test (a script may be spinning in it).
class Process {
 public:
  Process(std::vector<std::string> args, int port) : port_(port) {
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 500 && !CanConnect(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~Process() { Kill(); }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  int port() const { return port_; }

 private:
  int port_;
  pid_t pid_ = -1;
};

std::string TempDir() {
  char tmpl[] = "/tmp/allot_scripting_XXXXXX";
  return mkdtemp(tmpl);
}

std::unique_ptr<Process> StartAllotd(const std::string& dir, std::vector<std::string> extra = {},
                                     int threads = 4) {
  int port = FreePort();
  std::vector<std::string> args = {ALLOTD_PATH,
                                   "--port",
                                   std::to_string(port),
                                   "--dir",
                                   dir,
                                   "--threads",
                                   std::to_string(threads),
                                   "--logfile",
                                   dir + "/allotd.log"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<Process>(args, port);
}

std::unique_ptr<Process> StartRedis(const std::string& dir) {
  int port = FreePort();
  return std::make_unique<Process>(
      std::vector<std::string>{"redis-server", "--port", std::to_string(port), "--save", "",
                               "--appendonly", "no", "--dir", dir, "--logfile", dir + "/redis.log"},
      port);
}

struct CtxDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Ctx = std::unique_ptr<redisContext, CtxDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

Ctx Client(int port, int timeout_ms = 10000) {
  redisContext* c = redisConnect("127.0.0.1", port);
  EXPECT_TRUE(c != nullptr && c->err == 0);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  redisSetTimeout(c, tv);
  return Ctx(c);
}

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

// A reply as text, type included, for comparisons.
std::string Show(const redisReply* r) {
  if (r == nullptr) return "<no reply>";
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return "\"" + std::string(r->str, r->len) + "\"";
    case REDIS_REPLY_STATUS:
      return "+" + std::string(r->str, r->len);
    case REDIS_REPLY_ERROR:
      return "-" + std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return ":" + std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string s = "[";
      for (size_t i = 0; i < r->elements; ++i) s += (i ? "," : "") + Show(r->element[i]);
      return s + "]";
    }
    default:
      return "<type " + std::to_string(r->type) + ">";
  }
}

std::string Send(redisContext* c, const std::vector<std::string>& args) {
  return Show(Cmd(c, args).get());
}

// ---- Seeds ----------------------------------------------------------------------------

TEST(ScriptingIntegration, SeedScriptsThroughRedisCliEvalAndEvalsha) {
  std::string dir = TempDir();
  auto server = StartAllotd(dir);
  std::string cli = "redis-cli -p " + std::to_string(server->port()) + " ";
  auto eval = [&](const std::string& file, const std::string& keys_and_args) {
    std::string out = Shell(cli + "--eval " + kScriptsDir + file + " " + keys_and_args);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  Ctx c = Client(server->port());

  // Seed 002, unchanged: 2 tickets, keys without hash tags (two shards).
  ASSERT_EQ(Send(c.get(), {"SET", "ticket_counter", "2"}), "+OK");
  EXPECT_EQ(eval("seed002_flash_sale.lua", "ticket_counter purchased_users , u1"), "1");
  EXPECT_EQ(eval("seed002_flash_sale.lua", "ticket_counter purchased_users , u1"), "-1");
  EXPECT_EQ(eval("seed002_flash_sale.lua", "ticket_counter purchased_users , u2"), "1");
  EXPECT_EQ(eval("seed002_flash_sale.lua", "ticket_counter purchased_users , u3"), "0");
  std::string body = ReadFile(kScriptsDir + "seed002_flash_sale.lua");
  std::string sha = allot::internal::Sha1Hex(body);
  EXPECT_EQ(Send(c.get(), {"SCRIPT", "LOAD", body}), "\"" + sha + "\"");
  EXPECT_EQ(Send(c.get(), {"EVALSHA", sha, "2", "ticket_counter", "purchased_users", "u4"}), ":0");
  EXPECT_EQ(Send(c.get(), {"SCARD", "purchased_users"}), ":2");
  // The fast path: hash-tagged keys on one shard.
  ASSERT_EQ(Send(c.get(), {"SET", "{sale}:tickets", "1"}), "+OK");
  EXPECT_EQ(Send(c.get(), {"EVALSHA", sha, "2", "{sale}:tickets", "{sale}:users", "a"}), ":1");
  EXPECT_EQ(Send(c.get(), {"EVALSHA", sha, "2", "{sale}:tickets", "{sale}:users", "b"}), ":0");

  // Seed 000: quota reservation on one key.
  EXPECT_EQ(eval("seed000_reserve_quota.lua", "{show:1} , 3 5"), "1");
  EXPECT_EQ(eval("seed000_reserve_quota.lua", "{show:1} , 2 5"), "1");
  EXPECT_EQ(eval("seed000_reserve_quota.lua", "{show:1} , 1 5"), "0");
  EXPECT_EQ(Send(c.get(), {"GET", "{show:1}"}), "\"5\"");

  // Seed 001: one per user.
  ASSERT_EQ(Send(c.get(), {"SET", "stock", "1"}), "+OK");
  EXPECT_EQ(eval("seed001_buy_once.lua", "stock buyers , alice"), "1");
  EXPECT_EQ(eval("seed001_buy_once.lua", "stock buyers , alice"), "0");
  EXPECT_EQ(Send(c.get(), {"SET", "stock", "5"}), "+OK");
  EXPECT_EQ(eval("seed001_buy_once.lua", "stock buyers , alice"), "-1");

  // Seeds 003/004: a 5-minute lock or SOLDOUT.
  ASSERT_EQ(Send(c.get(), {"SET", "items", "1"}), "+OK");
  EXPECT_EQ(eval("seed003_lock_item.lua", "items lock:bob , bob"), "0");
  EXPECT_EQ(Send(c.get(), {"TTL", "lock:bob"}), ":300");
  EXPECT_EQ(eval("seed003_lock_item.lua", "items lock:eve , eve"), "SOLDOUT no items left");
  EXPECT_EQ(Send(c.get(), {"GET", "items"}), "\"0\"");
  server->Kill();
  (void)std::system(("rm -rf " + dir).c_str());
}

// ---- Differential ---------------------------------------------------------------------

// A stream of commands and scripts from a fixed seed; every script declares its keys.
std::vector<std::vector<std::string>> RandomStream(uint32_t seed, size_t n) {
  std::mt19937 rng(seed);
  auto pick = [&](size_t k) { return static_cast<size_t>(rng() % k); };
  const std::vector<std::string> keys = {"k1", "k2", "cnt", "stock", "users", "h", "l"};
  auto key = [&] { return keys[pick(keys.size())]; };
  auto num = [&] { return std::to_string(static_cast<int>(pick(7)) - 2); };
  const std::string seed_script = ReadFile(kScriptsDir + "seed002_flash_sale.lua");
  const std::vector<std::string> bodies = {
      "return redis.call('GET', KEYS[1])",
      "return redis.call('INCRBY', KEYS[1], ARGV[1])",
      "return redis.pcall('INCRBY', KEYS[1], ARGV[1])",
      "return redis.call('SADD', KEYS[1], ARGV[1])",
      "return redis.call('SISMEMBER', KEYS[1], ARGV[1])",
      "return {redis.call('EXISTS', KEYS[1]), redis.call('TYPE', KEYS[1])}",
      "return redis.call('HSET', KEYS[1], 'f', ARGV[1])",
      "return redis.call('HGET', KEYS[1], 'f')",
      "return redis.call('LPUSH', KEYS[1], ARGV[1])",
      "return redis.call('LRANGE', KEYS[1], 0, -1)",
      "return tonumber(ARGV[1]) * 1.5",
      "return {1, 2, nil, 4}",
      "return {err = 'custom ' .. ARGV[1]}",
      "return redis.status_reply('S' .. ARGV[1])",
      "return redis.error_reply('E' .. ARGV[1])",
      "local v = redis.call('GET', KEYS[1]); return v == false",
      "return redis.call('SET', KEYS[1], ARGV[1])",
      "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[1])",
      "return redis.call('DEL', KEYS[1])",
      "return cjson.encode({a = tonumber(ARGV[1])})",
      "return redis.sha1hex(ARGV[1])",
      "return x",
      "y = 1",
      "return redis.call('NOSUCH')",
      "return {redis.call('SCARD', KEYS[1]), tostring(ARGV[1])}",
      "redis.setresp(3); return redis.call('HGETALL', KEYS[1])",
      "return math.floor(tonumber(ARGV[1]) / 3)",
      "return string.rep('x', tonumber(ARGV[1]) + 2)",
  };
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < n; ++i) {
    switch (pick(6)) {
      case 0: {  // a plain command
        std::vector<std::vector<std::string>> cmds = {
            {"SET", key(), num()},        {"GET", key()}, {"INCR", key()},
            {"SADD", key(), "u" + num()}, {"DEL", key()}, {"EXISTS", key()}};
        out.push_back(cmds[pick(cmds.size())]);
        break;
      }
      case 1:  // the seed's script
        out.push_back({"EVAL", seed_script, "2", "stock", "users", "u" + num()});
        break;
      case 2:
        out.push_back({"SET", "stock", num()});
        break;
      default: {
        const std::string& body = bodies[pick(bodies.size())];
        if (pick(2) == 0) {
          out.push_back({"EVAL", body, "1", key(), num()});
        } else {
          out.push_back({"EVALSHA", allot::internal::Sha1Hex(body), "1", key(), num()});
        }
      }
    }
  }
  return out;
}

TEST(ScriptingIntegration, DifferentialAgainstRedis) {
  std::string dir = TempDir();
  auto allotd = StartAllotd(dir);
  auto redis = StartRedis(dir);
  Ctx a = Client(allotd->port());
  Ctx r = Client(redis->port());
  ASSERT_EQ(Send(r.get(), {"PING"}), "+PONG");
  auto stream = RandomStream(20260523, 3000);
  size_t compared = 0;
  for (const auto& cmd : stream) {
    std::string ra = Send(a.get(), cmd);
    std::string rr = Send(r.get(), cmd);
    ASSERT_EQ(ra, rr) << "command " << compared << ": " << cmd[0] << " "
                      << (cmd.size() > 1 ? cmd[1] : "");
    ++compared;
  }
  EXPECT_EQ(compared, stream.size());
  // Script cache commands agree too.
  std::string body = "return 'cached'";
  for (redisContext* c : {a.get(), r.get()}) {
    EXPECT_EQ(Send(c, {"SCRIPT", "LOAD", body}), "\"" + allot::internal::Sha1Hex(body) + "\"");
    EXPECT_EQ(Send(c, {"SCRIPT", "EXISTS", allot::internal::Sha1Hex(body), "00"}), "[:1,:0]");
    EXPECT_EQ(Send(c, {"SCRIPT", "FLUSH"}), "+OK");
    EXPECT_EQ(Send(c, {"EVALSHA", allot::internal::Sha1Hex(body), "0"}),
              "-NOSCRIPT No matching script. Please use EVAL.");
  }
  allotd->Kill();
  redis->Kill();
  (void)std::system(("rm -rf " + dir).c_str());
}

// ---- Concurrency ----------------------------------------------------------------------

TEST(ScriptingIntegration, ConcurrentFlashSaleSellsExactlyTheStock) {
  std::string dir = TempDir();
  auto server = StartAllotd(dir, {"--durability", "always"});
  constexpr int kStock = 500;
  constexpr int kClients = 32;
  constexpr int kAttemptsPerClient = 200;
  constexpr int kUsers = 2000;  // fewer users than attempts: many try twice
  Ctx setup = Client(server->port());
  ASSERT_EQ(Send(setup.get(), {"SET", "ticket_counter", std::to_string(kStock)}), "+OK");
  std::string body = ReadFile(kScriptsDir + "seed002_flash_sale.lua");
  std::string sha = allot::internal::Sha1Hex(body);
  ASSERT_EQ(Send(setup.get(), {"SCRIPT", "LOAD", body}), "\"" + sha + "\"");
  std::vector<std::thread> threads;
  std::vector<std::vector<std::pair<std::string, long long>>> results(kClients);
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Ctx c = Client(server->port());
      std::mt19937 rng(static_cast<uint32_t>(t));
      // Pipelined in groups of 8, so shards see real interleaving.
      for (int i = 0; i < kAttemptsPerClient; i += 8) {
        std::vector<std::string> users;
        for (int j = 0; j < 8; ++j) {
          users.push_back("user" + std::to_string(rng() % kUsers));
          const char* argv[] = {"EVALSHA",        sha.c_str(),       "2",
                                "ticket_counter", "purchased_users", users.back().c_str()};
          redisAppendCommandArgv(c.get(), 6, argv, nullptr);
        }
        for (int j = 0; j < 8; ++j) {
          void* raw = nullptr;
          ASSERT_EQ(redisGetReply(c.get(), &raw), REDIS_OK);
          ReplyPtr rep(static_cast<redisReply*>(raw), freeReplyObject);
          ASSERT_EQ(rep->type, REDIS_REPLY_INTEGER) << Show(rep.get());
          results[t].emplace_back(users[j], rep->integer);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::map<std::string, int> bought;
  int sold = 0;
  for (const auto& per : results) {
    for (const auto& [user, result] : per) {
      if (result == 1) {
        ++sold;
        ++bought[user];
      }
    }
  }
  EXPECT_EQ(sold, kStock);
  for (const auto& [user, n] : bought) EXPECT_EQ(n, 1) << user;
  EXPECT_EQ(Send(setup.get(), {"GET", "ticket_counter"}), "\"0\"");
  EXPECT_EQ(Send(setup.get(), {"SCARD", "purchased_users"}), ":" + std::to_string(kStock));
  // The effects survive a crash and restart: replayed, not re-run.
  server->Kill();
  server = StartAllotd(dir, {"--durability", "always"});
  Ctx after = Client(server->port());
  EXPECT_EQ(Send(after.get(), {"GET", "ticket_counter"}), "\"0\"");
  EXPECT_EQ(Send(after.get(), {"SCARD", "purchased_users"}), ":" + std::to_string(kStock));
  server->Kill();
  (void)std::system(("rm -rf " + dir).c_str());
}

// ---- BUSY and SCRIPT KILL ---------------------------------------------------------------

TEST(ScriptingIntegration, BusyAndScriptKill) {
  std::string dir = TempDir();
  auto server = StartAllotd(dir, {"--busy-reply-threshold", "100", "--durability", "none"}, 2);
  const std::string loop = "local i = 0; while true do i = i + 1 end";
  const std::string sha = allot::internal::Sha1Hex(loop);
  std::string script_reply;
  std::thread runner([&] {
    Ctx c = Client(server->port(), 30000);
    script_reply = Send(c.get(), {"EVAL", loop, "1", "busykey"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  // Connections land on either shard (SO_REUSEPORT); those on the other shard get BUSY
  // for a key of the busy shard at once. Those on the busy shard itself wait (the
  // thread-per-core limit, docs/scripting.md): short timeouts skip them.
  const std::string busy =
      "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
  bool killed = false;
  std::vector<Ctx> stuck;
  for (int i = 0; i < 40 && !killed; ++i) {
    Ctx c = Client(server->port(), 200);
    std::string got = Send(c.get(), {"GET", "busykey"});
    if (got == busy) {
      EXPECT_EQ(Send(c.get(), {"SCRIPT", "KILL"}), "+OK");
      killed = true;
    } else {
      stuck.push_back(std::move(c));  // timed out: keep it open until the end
    }
  }
  ASSERT_TRUE(killed);
  runner.join();
  EXPECT_EQ(script_reply, "-ERR Script killed by user with SCRIPT KILL... script: " + sha +
                              ", on @user_script:1.");
  // A script that wrote cannot be killed.
  const std::string writer = "redis.call('SET', KEYS[1], '1'); while true do end";
  std::thread runner2([&] {
    Ctx c = Client(server->port(), 2000);
    Send(c.get(), {"EVAL", writer, "1", "busykey"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  bool refused = false;
  for (int i = 0; i < 40 && !refused; ++i) {
    Ctx c = Client(server->port(), 200);
    std::string got = Send(c.get(), {"SCRIPT", "KILL"});
    if (got.rfind("-UNKILLABLE", 0) == 0) {
      EXPECT_EQ(got,
                "-UNKILLABLE Sorry the script already executed write commands against the "
                "dataset. You can either wait the script termination or kill the server in a "
                "hard way using the SHUTDOWN NOSAVE command.");
      refused = true;
    } else {
      stuck.push_back(std::move(c));
    }
  }
  EXPECT_TRUE(refused);
  server->Kill();  // the only way out of a script that wrote, as in Redis
  runner2.join();
  (void)std::system(("rm -rf " + dir).c_str());
}

// struct and cmsgpack over RESP give Redis's replies; a FUNCTION LOAD survives a hard kill
// and restart of allotd; FUNCTION DUMP / RESTORE round-trip through the server.
TEST(ScriptingIntegration, LibrariesAndDurableFunctions) {
  std::string dir = TempDir();
  (void)std::system(("mkdir -p " + dir + "/allot").c_str());
  auto redis = StartRedis(dir);
  auto server = StartAllotd(dir + "/allot", {"--durability", "always"});
  Ctx r = Client(redis->port());
  Ctx a = Client(server->port());
  for (const std::string& body : {
           std::string("return struct.pack('>I2', 1234)"),
           std::string("return {struct.unpack('<i4c0', struct.pack('<i4c0', 3, 'abc'))}"),
           std::string("return struct.size('!8bd')"),
           std::string("return struct.pack('q', 1)"),
           std::string("return cmsgpack.pack({1, 2, {a = 'b'}}, -129, 2^32, 1.5, 0.1)"),
           std::string("return cmsgpack.unpack(cmsgpack.pack({1, 'x', {2, {3}}}))"),
           std::string("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"),
           std::string("return cmsgpack.unpack('\\205\\1')"),
       }) {
    EXPECT_EQ(Send(a.get(), {"EVAL", body, "0"}), Send(r.get(), {"EVAL", body, "0"})) << body;
  }
  const std::string lib =
      "#!lua name=sale\nredis.register_function('buy', function(keys, args) "
      "return redis.call('DECR', keys[1]) end)";
  ASSERT_EQ(Send(a.get(), {"FUNCTION", "LOAD", lib}), "\"sale\"");
  ASSERT_EQ(Send(a.get(), {"SET", "{s}stock", "10"}), "+OK");
  ASSERT_EQ(Send(a.get(), {"FCALL", "buy", "1", "{s}stock"}), ":9");
  server->Kill();  // SIGKILL: what was acknowledged must be back
  a.reset();
  server = StartAllotd(dir + "/allot", {"--durability", "always"});
  a = Client(server->port());
  EXPECT_EQ(Send(a.get(), {"FCALL", "buy", "1", "{s}stock"}), ":8");
  ReplyPtr dump = Cmd(a.get(), {"FUNCTION", "DUMP"});
  ASSERT_TRUE(dump != nullptr && dump->type == REDIS_REPLY_STRING);
  std::string payload(dump->str, dump->len);
  EXPECT_EQ(Send(a.get(), {"FUNCTION", "FLUSH"}), "+OK");
  EXPECT_EQ(Send(a.get(), {"FCALL", "buy", "1", "{s}stock"}), "-ERR Function not found");
  EXPECT_EQ(Send(a.get(), {"FUNCTION", "RESTORE", payload}), "+OK");
  EXPECT_EQ(Send(a.get(), {"FCALL", "buy", "1", "{s}stock"}), ":7");
  // Redis's payload is not ours: the same error Redis gives a damaged one.
  ReplyPtr redis_dump = Cmd(r.get(), {"FUNCTION", "DUMP"});
  ASSERT_TRUE(redis_dump != nullptr && redis_dump->type == REDIS_REPLY_STRING);
  EXPECT_EQ(Send(a.get(),
                 {"FUNCTION", "RESTORE", std::string(redis_dump->str, redis_dump->len), "FLUSH"}),
            "-ERR DUMP payload version or checksum are wrong");
  EXPECT_EQ(Send(r.get(), {"FUNCTION", "RESTORE", payload}),
            "-ERR DUMP payload version or checksum are wrong");
  server->Kill();
  redis->Kill();
  (void)std::system(("rm -rf " + dir).c_str());
}

// struct and cmsgpack on random formats, values and bytes (tests/scripts/
// libs_differential.lua): allotd's output equals redis-server's, seed by seed.
TEST(ScriptingIntegration, LibrariesDifferentialAgainstRedis) {
  std::string dir = TempDir();
  auto redis = StartRedis(dir);
  auto server = StartAllotd(dir, {"--durability", "none"}, 2);
  Ctx r = Client(redis->port());
  Ctx a = Client(server->port());
  const std::string body = ReadFile(kScriptsDir + "libs_differential.lua");
  ASSERT_FALSE(body.empty());
  for (int seed = 1; seed <= 25; ++seed) {
    std::string from_redis = Send(r.get(), {"EVAL", body, "0", std::to_string(seed)});
    ASSERT_EQ(from_redis.rfind("\"", 0), 0u) << from_redis.substr(0, 200);
    EXPECT_EQ(Send(a.get(), {"EVAL", body, "0", std::to_string(seed)}), from_redis) << seed;
  }
  server->Kill();
  redis->Kill();
  (void)std::system(("rm -rf " + dir).c_str());
}

}  // namespace
