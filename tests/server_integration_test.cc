// Integration tests: the real build/server/allotd on a free loopback port with a temporary
// dir, driven by hiredis, raw sockets (for protocol errors) and redis-cli.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
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

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads until the peer closes or nothing arrives for timeout_ms; *closed tells which.
std::string ReadAll(int fd, int timeout_ms, bool* closed, size_t max_bytes = 1 << 30) {
  std::string out;
  *closed = false;
  char buf[65536];
  while (out.size() < max_bytes) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return out;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      *closed = true;
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
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

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

class Allotd {
 public:
  // dir empty: a fresh temporary dir, removed at the end; else that dir, kept (restarts).
  explicit Allotd(std::vector<std::string> extra = {}, std::string dir = "") {
    if (dir.empty()) {
      char tmpl[] = "/tmp/allotd_test_XXXXXX";
      dir_ = mkdtemp(tmpl);
      own_dir_ = true;
    } else {
      dir_ = std::move(dir);
    }
    port_ = FreePort();
    std::vector<std::string> args = {ALLOTD_PATH, "--port",    std::to_string(port_),
                                     "--dir",     dir_,        "--threads",
                                     "2",         "--logfile", dir_ + "/allotd.log"};
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
      int fd = Connect(port_);
      if (fd >= 0) {
        close(fd);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "allotd did not start";
  }
  ~Allotd() {
    if (pid_ > 0) {
      int status = Stop();
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    }
    if (own_dir_) {
      std::string rm = "rm -rf " + dir_;
      (void)std::system(rm.c_str());
    }
  }
  // SIGKILL (a crash: nothing flushed on the way out) and wait.
  void Kill() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // SIGTERM and wait; returns the wait status.
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string log() const {
    std::ifstream in(dir_ + "/allotd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  redisContext* Client() {
    redisContext* c = redisConnect("127.0.0.1", port_);
    EXPECT_TRUE(c != nullptr && c->err == 0);
    timeval tv{10, 0};
    redisSetTimeout(c, tv);
    return c;
  }

 private:
  std::string dir_;
  bool own_dir_ = false;
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

struct CtxDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Ctx = std::unique_ptr<redisContext, CtxDeleter>;

TEST(ServerIntegration, PingSetGet) {
  Allotd s;
  Ctx c(s.Client());
  auto r = Cmd(c.get(), {"PING"});
  ASSERT_EQ(r->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(Str(r), "PONG");
  r = Cmd(c.get(), {"SET", "key", std::string("bin\0ary\r\n", 9)});
  EXPECT_EQ(Str(r), "OK");
  r = Cmd(c.get(), {"GET", "key"});
  ASSERT_EQ(r->type, REDIS_REPLY_STRING);
  EXPECT_EQ(Str(r), std::string("bin\0ary\r\n", 9));
  r = Cmd(c.get(), {"GET", "missing"});
  EXPECT_EQ(r->type, REDIS_REPLY_NIL);
  r = Cmd(c.get(), {"NOSUCH", "a"});
  ASSERT_EQ(r->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(Str(r), "ERR unknown command 'NOSUCH', with args beginning with: 'a' ");
  r = Cmd(c.get(), {"GET"});
  EXPECT_EQ(Str(r), "ERR wrong number of arguments for 'get' command");
}

TEST(ServerIntegration, PipelineAcrossShardsKeepsOrder) {
  Allotd s;
  Ctx c(s.Client());
  constexpr int kN = 10000;
  for (int i = 0; i < kN / 2; ++i) {
    std::string k = "key:" + std::to_string(i), v = std::to_string(i * 7);
    redisAppendCommand(c.get(), "SET %b %b", k.data(), k.size(), v.data(), v.size());
    redisAppendCommand(c.get(), "GET %b", k.data(), k.size());
  }
  for (int i = 0; i < kN / 2; ++i) {
    void* raw = nullptr;
    ASSERT_EQ(redisGetReply(c.get(), &raw), REDIS_OK);
    ReplyPtr set(static_cast<redisReply*>(raw), freeReplyObject);
    ASSERT_EQ(Str(set), "OK") << i;
    ASSERT_EQ(redisGetReply(c.get(), &raw), REDIS_OK);
    ReplyPtr get(static_cast<redisReply*>(raw), freeReplyObject);
    ASSERT_EQ(Str(get), std::to_string(i * 7)) << i;
  }
  auto r = Cmd(c.get(), {"DBSIZE"});
  EXPECT_EQ(r->integer, kN / 2);
}

std::string RawSession(int port, std::string_view input);

// Reads n pipelined replies; stops at the first missing one.
std::vector<ReplyPtr> ReadReplies(redisContext* c, size_t n) {
  std::vector<ReplyPtr> out;
  for (size_t i = 0; i < n; ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) break;
    out.emplace_back(static_cast<redisReply*>(raw), freeReplyObject);
  }
  return out;
}

// durability always: a pipeline of writes runs on while earlier writes wait for the log;
// every reply still comes back in order, and every acknowledged write survives a crash.
TEST(ServerIntegration, PipelinedDurableWritesSurviveKill) {
  char tmpl[] = "/tmp/allotd_pipe_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  constexpr int kN = 5000;
  {
    Allotd s({"--durability", "always"}, dir);
    Ctx c(s.Client());
    for (int i = 0; i < kN; ++i) {
      std::string k = "d:" + std::to_string(i), v = "v" + std::to_string(i);
      redisAppendCommand(c.get(), "SET %b %b", k.data(), k.size(), v.data(), v.size());
      redisAppendCommand(c.get(), "INCR counter");
      redisAppendCommand(c.get(), "GET %b", k.data(), k.size());
    }
    std::vector<ReplyPtr> replies = ReadReplies(c.get(), 3 * kN);
    ASSERT_EQ(replies.size(), 3u * kN);
    for (int i = 0; i < kN; ++i) {
      ASSERT_EQ(Str(replies[3 * i]), "OK") << i;
      ASSERT_EQ(replies[3 * i + 1]->integer, i + 1) << i;
      ASSERT_EQ(Str(replies[3 * i + 2]), "v" + std::to_string(i)) << i;
    }
    // The tail of a pipeline, sent without waiting: whatever was acknowledged is durable.
    for (int i = 0; i < kN; ++i) {
      std::string k = "t:" + std::to_string(i);
      redisAppendCommand(c.get(), "SET %b 1", k.data(), k.size());
    }
    int flushed = 0;
    redisBufferWrite(c.get(), &flushed);
    std::vector<ReplyPtr> tail = ReadReplies(c.get(), kN / 2);
    ASSERT_EQ(tail.size(), static_cast<size_t>(kN / 2));
    s.Kill();
    for (auto& r : tail) ASSERT_EQ(Str(r), "OK");
  }
  {
    Allotd s({"--durability", "always"}, dir);
    Ctx c(s.Client());
    EXPECT_EQ(Str(Cmd(c.get(), {"GET", "counter"})), std::to_string(kN));
    for (int i = 0; i < kN; i += 7) {
      EXPECT_EQ(Str(Cmd(c.get(), {"GET", "d:" + std::to_string(i)})), "v" + std::to_string(i));
    }
    for (int i = 0; i < kN / 2; ++i) {
      ASSERT_EQ(Str(Cmd(c.get(), {"GET", "t:" + std::to_string(i)})), "1") << i;
    }
  }
  std::string rm = "rm -rf " + dir;
  (void)std::system(rm.c_str());
}

// Local writes (deferred by the log), reads on the other shard and multi-shard MSETs in one
// pipeline: each GET sees the SET before it, each MSET is seen by the GETs after it.
TEST(ServerIntegration, MixedPipelineKeepsOrderWithDurability) {
  for (const char* durability : {"always", "none"}) {
    SCOPED_TRACE(durability);
    Allotd s({"--durability", durability});
    Ctx c(s.Client());
    constexpr int kN = 2000;
    for (int i = 0; i < kN; ++i) {
      std::string k = "m:" + std::to_string(i), k2 = "n:" + std::to_string(i);
      std::string v = std::to_string(i);
      redisAppendCommand(c.get(), "SET %b %b", k.data(), k.size(), v.data(), v.size());
      redisAppendCommand(c.get(), "GET %b", k.data(), k.size());
      redisAppendCommand(c.get(), "MSET %b x%b %b y%b", k.data(), k.size(), v.data(), v.size(),
                         k2.data(), k2.size(), v.data(), v.size());
      redisAppendCommand(c.get(), "GET %b", k.data(), k.size());
      redisAppendCommand(c.get(), "GET %b", k2.data(), k2.size());
      redisAppendCommand(c.get(), "CLIENT REPLY SKIP");
      redisAppendCommand(c.get(), "SET %b skipped", k2.data(), k2.size());
      redisAppendCommand(c.get(), "GET %b", k2.data(), k2.size());
    }
    std::vector<ReplyPtr> r = ReadReplies(c.get(), 6 * kN);
    ASSERT_EQ(r.size(), 6u * kN);
    for (int i = 0; i < kN; ++i) {
      std::string v = std::to_string(i);
      ASSERT_EQ(Str(r[6 * i]), "OK") << i;
      ASSERT_EQ(Str(r[6 * i + 1]), v) << i;
      ASSERT_EQ(Str(r[6 * i + 2]), "OK") << i;
      ASSERT_EQ(Str(r[6 * i + 3]), "x" + v) << i;
      ASSERT_EQ(Str(r[6 * i + 4]), "y" + v) << i;
      ASSERT_EQ(Str(r[6 * i + 5]), "skipped") << i;
    }
    EXPECT_EQ(Str(Cmd(c.get(), {"PING"})), "PONG");
  }
}

// Long runs of pipelined commands for one shard (the other shard's runs travel as one
// message each), writes and reads interleaved across runs, with and without the log.
TEST(ServerIntegration, PipelinedRunsPerShardKeepOrder) {
  for (const char* durability : {"always", "none"}) {
    SCOPED_TRACE(durability);
    Allotd s({"--durability", durability});
    Ctx c(s.Client());
    constexpr int kTags = 6, kRun = 150, kRounds = 4;
    for (int round = 0; round < kRounds; ++round) {
      for (int t = 0; t < kTags; ++t) {
        std::string k = "{t" + std::to_string(t) + "}n";
        for (int i = 0; i < kRun; ++i) redisAppendCommand(c.get(), "INCR %b", k.data(), k.size());
        redisAppendCommand(c.get(), "GET %b", k.data(), k.size());
      }
    }
    std::vector<ReplyPtr> r = ReadReplies(c.get(), kRounds * kTags * (kRun + 1));
    ASSERT_EQ(r.size(), static_cast<size_t>(kRounds * kTags * (kRun + 1)));
    size_t at = 0;
    for (int round = 0; round < kRounds; ++round) {
      for (int t = 0; t < kTags; ++t) {
        for (int i = 0; i < kRun; ++i, ++at) {
          ASSERT_EQ(r[at]->integer, round * kRun + i + 1) << round << " " << t << " " << i;
        }
        ASSERT_EQ(Str(r[at++]), std::to_string((round + 1) * kRun)) << round << " " << t;
      }
    }
  }
}

// QUIT and a protocol error answer only after the durable writes before them.
TEST(ServerIntegration, QuitAndProtocolErrorAfterDurableWrites) {
  Allotd s({"--durability", "always"});
  std::string writes;
  for (int i = 0; i < 200; ++i) writes += "SET q" + std::to_string(i) + " 1\r\n";
  std::string expect;
  for (int i = 0; i < 200; ++i) expect += "+OK\r\n";
  EXPECT_EQ(RawSession(s.port(), writes), expect + "+OK\r\n");
  int fd = Connect(s.port());
  SendAll(fd, writes + "*1\r\n$x\r\n");
  bool closed = false;
  std::string out = ReadAll(fd, 5000, &closed);
  close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(out, expect + "-ERR Protocol error: invalid bulk length\r\n");
}

TEST(ServerIntegration, ConcurrentPipelinesKeepOrder) {
  Allotd s;
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      Ctx c(s.Client());
      for (int i = 0; i < 2000; ++i) {
        std::string k = "c" + std::to_string(t) + ":" + std::to_string(i % 97);
        std::string v = std::to_string(i);
        redisAppendCommand(c.get(), "SET %b %b", k.data(), k.size(), v.data(), v.size());
        redisAppendCommand(c.get(), "GET %b", k.data(), k.size());
      }
      for (int i = 0; i < 2000; ++i) {
        void* raw = nullptr;
        redisGetReply(c.get(), &raw);
        freeReplyObject(raw);
        redisGetReply(c.get(), &raw);
        ReplyPtr get(static_cast<redisReply*>(raw), freeReplyObject);
        if (Str(get) != std::to_string(i)) bad.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

// hiredis 0.14 (Debian) has no RESP3 reader: check RESP3 bytes on a raw socket.
std::string RawSession(int port, std::string_view input) {
  int fd = Connect(port);
  SendAll(fd, std::string(input) + "QUIT\r\n");
  bool closed = false;
  std::string out = ReadAll(fd, 5000, &closed);
  close(fd);
  EXPECT_TRUE(closed);
  return out;
}

TEST(ServerIntegration, Resp3ReplyShapes) {
  Allotd s;
  std::string hello = RawSession(s.port(), "HELLO 3\r\n");
  EXPECT_EQ(hello.substr(0, 40), "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n");
  EXPECT_NE(hello.find("$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:"), std::string::npos);
  EXPECT_NE(hello.find("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                       "$7\r\nmodules\r\n*0\r\n+OK\r\n"),
            std::string::npos)
      << hello;
  std::string port = std::to_string(s.port());
  EXPECT_EQ(RawSession(s.port(),
                       "HELLO 3\r\nGET nothing\r\nCONFIG GET port\r\n"
                       "SET k v\r\nGET k\r\n")
                .substr(hello.size() - 5),
            "_\r\n%1\r\n$4\r\nport\r\n$" + std::to_string(port.size()) + "\r\n" + port +
                "\r\n+OK\r\n$1\r\nv\r\n+OK\r\n");
  // RESP2: the same map is a flat array, the null a $-1.
  EXPECT_EQ(
      RawSession(s.port(), "GET nothing\r\nCONFIG GET port\r\n"),
      "$-1\r\n*2\r\n$4\r\nport\r\n$" + std::to_string(port.size()) + "\r\n" + port + "\r\n+OK\r\n");
  std::string cmd_info = RawSession(s.port(), "HELLO 3\r\nCOMMAND INFO get\r\n");
  EXPECT_NE(cmd_info.find(
                "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"),
            std::string::npos)
      << cmd_info;
  // INFO is a verbatim string in RESP3 (=N txt:...), a bulk string in RESP2, as Redis 7.
  std::string info3 = RawSession(s.port(), "HELLO 3\r\nINFO server\r\n");
  EXPECT_EQ(info3.substr(hello.size() - 5, 1), "=") << info3;
  EXPECT_NE(info3.find("txt:# Server\r\n"), std::string::npos) << info3;
  EXPECT_EQ(RawSession(s.port(), "INFO server\r\n").substr(0, 1), "$");
  EXPECT_EQ(RawSession(s.port(), "HELLO 4\r\n"),
            "-NOPROTO unsupported protocol version\r\n+OK\r\n");
}

TEST(ServerIntegration, ProtocolErrorClosesOnlyThatConnection) {
  Allotd s;
  Ctx good(s.Client());
  struct Case {
    std::string input, want;
  };
  std::vector<Case> cases = {
      {"*1\r\n$4\r\nPING\r\n*x\r\n", "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"},
      {"*20000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*1\r\n$-3\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n"},
      {"PING\r\nset \"a b\r\n", "+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n"},
      {std::string(70000, 'a'), "-ERR Protocol error: too big inline request\r\n"},
  };
  for (const Case& k : cases) {
    int fd = Connect(s.port());
    ASSERT_GE(fd, 0);
    SendAll(fd, k.input);
    bool closed = false;
    EXPECT_EQ(ReadAll(fd, 3000, &closed), k.want) << k.input.substr(0, 40);
    EXPECT_TRUE(closed) << k.input.substr(0, 40);
    close(fd);
    auto r = Cmd(good.get(), {"PING"});
    EXPECT_EQ(Str(r), "PONG");
  }
}

TEST(ServerIntegration, InlineCommands) {
  Allotd s;
  int fd = Connect(s.port());
  SendAll(fd, "PING\r\nSET a \"b c\"\r\nGET a\nECHO 'x y'\r\n\r\nQUIT\r\n");
  bool closed = false;
  EXPECT_EQ(ReadAll(fd, 3000, &closed), "+PONG\r\n+OK\r\n$3\r\nb c\r\n$3\r\nx y\r\n+OK\r\n");
  EXPECT_TRUE(closed);
  close(fd);
}

TEST(ServerIntegration, ClientReplyModes) {
  Allotd s;
  EXPECT_EQ(RawSession(s.port(),
                       "CLIENT REPLY SKIP\r\nPING\r\nECHO a\r\nCLIENT REPLY OFF\r\nPING\r\n"
                       "CLIENT REPLY ON\r\nPING\r\n"),
            "$1\r\na\r\n+OK\r\n+PONG\r\n+OK\r\n");
}

TEST(ServerIntegration, ClientKill) {
  Allotd s;
  Ctx a(s.Client()), b(s.Client());
  auto id = Cmd(a.get(), {"CLIENT", "ID"});
  EXPECT_EQ(Cmd(b.get(), {"CLIENT", "KILL", "ID", std::to_string(id->integer)})->integer, 1);
  EXPECT_EQ(Cmd(b.get(), {"CLIENT", "KILL", "ID", "999999"})->integer, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Cmd(a.get(), {"PING"}), nullptr);  // a's connection is gone
  EXPECT_EQ(Str(Cmd(b.get(), {"CLIENT", "KILL", "1.2.3.4:5"})), "ERR No such client");
  EXPECT_EQ(Str(Cmd(b.get(), {"PING"})), "PONG");
}

TEST(ServerIntegration, TimeLastsaveFunctionFlush) {
  Allotd s;
  Ctx c(s.Client());
  auto t = Cmd(c.get(), {"TIME"});
  ASSERT_EQ(t->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(t->elements, 2u);
  int64_t secs = std::stoll(t->element[0]->str);
  EXPECT_NEAR(static_cast<double>(secs), static_cast<double>(time(nullptr)), 5);
  EXPECT_LT(std::stoll(t->element[1]->str), 1000000);
  auto last = Cmd(c.get(), {"LASTSAVE"});
  EXPECT_LE(last->integer, secs);
  EXPECT_EQ(Str(Cmd(c.get(), {"FUNCTION", "FLUSH"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"FUNCTION", "FLUSH", "ASYNC"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"FUNCTION", "FLUSH", "x"})),
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
}

TEST(ServerIntegration, ClientPauseWrite) {
  Allotd s;
  Ctx admin(s.Client()), writer(s.Client());
  EXPECT_EQ(Str(Cmd(admin.get(), {"CLIENT", "PAUSE", "100000", "WRITE"})), "OK");
  EXPECT_EQ(Cmd(writer.get(), {"GET", "k"})->type, REDIS_REPLY_NIL);  // reads go on
  redisAppendCommand(writer.get(), "SET k v");
  redisBufferWrite(writer.get(), nullptr);
  int done = 0;
  while (!done) redisBufferWrite(writer.get(), &done);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string info = Str(Cmd(admin.get(), {"INFO", "clients"}));
  EXPECT_NE(info.find("blocked_clients:1\r\n"), std::string::npos) << info;
  EXPECT_EQ(Cmd(admin.get(), {"GET", "k"})->type, REDIS_REPLY_NIL);  // the SET waits
  EXPECT_EQ(Str(Cmd(admin.get(), {"CLIENT", "UNPAUSE"})), "OK");
  void* raw = nullptr;
  ASSERT_EQ(redisGetReply(writer.get(), &raw), REDIS_OK);
  ReplyPtr set(static_cast<redisReply*>(raw), freeReplyObject);
  EXPECT_EQ(Str(set), "OK");
  EXPECT_EQ(Str(Cmd(admin.get(), {"GET", "k"})), "v");
  EXPECT_EQ(Str(Cmd(admin.get(), {"CLIENT", "PAUSE", "x"})),
            "ERR timeout is not an integer or out of range");
  EXPECT_EQ(Str(Cmd(admin.get(), {"CLIENT", "PAUSE", "-1"})), "ERR timeout is negative");
  // A short ALL pause delays everything, then lets it through by itself.
  EXPECT_EQ(Str(Cmd(admin.get(), {"CLIENT", "PAUSE", "300", "ALL"})), "OK");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Str(Cmd(writer.get(), {"PING"})), "PONG");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
}

TEST(ServerIntegration, Auth) {
  Allotd s({"--requirepass", "sesame"});
  Ctx c(s.Client());
  auto r = Cmd(c.get(), {"GET", "a"});
  EXPECT_EQ(Str(r), "NOAUTH Authentication required.");
  r = Cmd(c.get(), {"AUTH", "wrong"});
  EXPECT_EQ(Str(r), "WRONGPASS invalid username-password pair or user is disabled.");
  r = Cmd(c.get(), {"HELLO", "3"});
  EXPECT_EQ(r->type, REDIS_REPLY_ERROR);
  r = Cmd(c.get(), {"AUTH", "sesame"});
  EXPECT_EQ(Str(r), "OK");
  r = Cmd(c.get(), {"SET", "a", "1"});
  EXPECT_EQ(Str(r), "OK");
  Ctx c2(s.Client());
  r = Cmd(c2.get(), {"HELLO", "2", "AUTH", "default", "sesame", "SETNAME", "me"});
  EXPECT_EQ(r->type, REDIS_REPLY_ARRAY);
  r = Cmd(c2.get(), {"CLIENT", "GETNAME"});
  EXPECT_EQ(Str(r), "me");
  // Before AUTH, Redis's tight limits apply: more than 10 arguments is a protocol error.
  int fd = Connect(s.port());
  SendAll(fd, "*11\r\n");
  bool closed = false;
  EXPECT_EQ(ReadAll(fd, 3000, &closed),
            "-ERR Protocol error: unauthenticated multibulk length\r\n");
  close(fd);
}

TEST(ServerIntegration, MaxClients) {
  Allotd s({"--maxclients", "2"});
  Ctx a(s.Client());
  // The start-up probe's connection must be gone before we count: wait until `a` is alone.
  for (int i = 0; i < 100; ++i) {
    std::string info = Str(Cmd(a.get(), {"INFO", "clients"}));
    if (info.find("connected_clients:1\r\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Ctx b(s.Client());
  EXPECT_EQ(Str(Cmd(a.get(), {"PING"})), "PONG");
  EXPECT_EQ(Str(Cmd(b.get(), {"PING"})), "PONG");
  int fd = Connect(s.port());
  bool closed = false;
  EXPECT_EQ(ReadAll(fd, 3000, &closed), "-ERR max number of clients reached\r\n");
  EXPECT_TRUE(closed);
  close(fd);
  a.reset();  // a slot frees up once the server has seen the close
  std::string pong;
  for (int i = 0; i < 60 && pong != "PONG"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Ctx c(s.Client());
    pong = Str(Cmd(c.get(), {"PING"}));
  }
  EXPECT_EQ(pong, "PONG");
}

TEST(ServerIntegration, QueryBufferLimitClosesClient) {
  Allotd s({"--client-query-buffer-limit", "1mb"});
  Ctx good(s.Client());
  int fd = Connect(s.port());
  SendAll(fd, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n" + std::string(1500000, 'x'));
  bool closed = false;
  EXPECT_EQ(ReadAll(fd, 3000, &closed), "");
  EXPECT_TRUE(closed);
  close(fd);
  EXPECT_EQ(Str(Cmd(good.get(), {"PING"})), "PONG");
}

TEST(ServerIntegration, OutputBufferLimitClosesSlowReader) {
  Allotd s({"--client-output-buffer-limit", "normal 1mb 0 0"});
  Ctx good(s.Client());
  ASSERT_EQ(Str(Cmd(good.get(), {"SET", "big", std::string(400000, 'v')})), "OK");
  int fd = Connect(s.port());
  std::string req;
  for (int i = 0; i < 200; ++i) req += "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
  SendAll(fd, req);
  // Not reading: the replies fill the socket buffers, then the unsent bytes pass 1mb.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  bool closed = false;
  std::string got = ReadAll(fd, 3000, &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(got.size(), 200u * 400000u);
  close(fd);
  EXPECT_EQ(Str(Cmd(good.get(), {"PING"})), "PONG");
  EXPECT_NE(s.log().find("output buffer limits"), std::string::npos);
}

TEST(ServerIntegration, ConnectionCommands) {
  Allotd s;
  Ctx c(s.Client());
  auto id = Cmd(c.get(), {"CLIENT", "ID"});
  ASSERT_EQ(id->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(Str(Cmd(c.get(), {"CLIENT", "SETNAME", "conn1"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"CLIENT", "GETNAME"})), "conn1");
  std::string list = Str(Cmd(c.get(), {"CLIENT", "LIST"}));
  EXPECT_NE(list.find("id=" + std::to_string(id->integer) + " "), std::string::npos);
  EXPECT_NE(list.find("name=conn1"), std::string::npos);
  EXPECT_EQ(Str(Cmd(c.get(), {"SELECT", "3"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"SET", "in3", "x"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"RESET"})), "RESET");
  EXPECT_EQ(Cmd(c.get(), {"GET", "in3"})->type, REDIS_REPLY_NIL);  // back in db 0
  EXPECT_EQ(Cmd(c.get(), {"CLIENT", "GETNAME"})->type, REDIS_REPLY_NIL);
  auto count = Cmd(c.get(), {"COMMAND", "COUNT"});
  EXPECT_GT(count->integer, 10);
  auto docs = Cmd(c.get(), {"COMMAND", "DOCS", "get"});
  EXPECT_EQ(docs->elements, 2u);
  std::string info = Str(Cmd(c.get(), {"INFO"}));
  for (const char* want :
       {"# Server", "redis_version:", "# Clients", "connected_clients:", "blocked_clients:0",
        "# Memory", "used_memory:", "# Persistence", "loading:0", "# Stats",
        "total_commands_processed:", "expired_keys:", "keyspace_hits:", "# Replication",
        "role:master", "# Keyspace", "db3:keys=1,expires=0,avg_ttl=0"}) {
    EXPECT_NE(info.find(want), std::string::npos) << want;
  }
  Cmd(c.get(), {"NOSUCHCMD"});
  std::string errs = Str(Cmd(c.get(), {"INFO", "errorstats"}));
  EXPECT_EQ(errs, "# Errorstats\r\nerrorstat_ERR:count=1\r\n");
  info = Str(Cmd(c.get(), {"INFO", "stats"}));
  EXPECT_NE(info.find("total_error_replies:1\r\n"), std::string::npos) << info;
  Cmd(c.get(), {"GET"});  // rejected: arity
  Cmd(c.get(), {"INCRBYFLOAT_NOPE"});
  std::string cs = Str(Cmd(c.get(), {"INFO", "commandstats"}));
  EXPECT_NE(cs.find("cmdstat_get:calls=1,"), std::string::npos) << cs;
  EXPECT_NE(cs.find(",rejected_calls=1,failed_calls=0\r\n"), std::string::npos) << cs;
  EXPECT_NE(cs.find("cmdstat_set:calls=1,"), std::string::npos) << cs;
  EXPECT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "maxmemory", "10mb"})), "OK");
  auto mm = Cmd(c.get(), {"CONFIG", "GET", "maxmemory"});
  ASSERT_EQ(mm->elements, 2u);
  EXPECT_EQ(std::string(mm->element[1]->str), "10485760");
  EXPECT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "appendonly", "yes"})), "OK");
  auto ao = Cmd(c.get(), {"CONFIG", "GET", "append*"});
  EXPECT_EQ(ao->elements, 6u);
  EXPECT_EQ(Str(Cmd(c.get(), {"CONFIG", "SET", "nope", "1"})),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nope'");
}

TEST(ServerIntegration, RedisCliScriptedAndPipe) {
  Allotd s;
  std::string cli = "redis-cli -p " + std::to_string(s.port()) + " ";
  EXPECT_EQ(Shell(cli + "SET greeting hello"), "OK\n");
  EXPECT_EQ(Shell(cli + "GET greeting"), "hello\n");
  EXPECT_EQ(Shell(cli + "PING"), "PONG\n");
  std::string path = s.dir() + "/mass.txt";
  {
    std::ofstream f(path);
    for (int i = 0; i < 20000; ++i) {
      std::string k = "mass:" + std::to_string(i);
      f << "*3\r\n$3\r\nSET\r\n$" << k.size() << "\r\n" << k << "\r\n$1\r\nv\r\n";
    }
  }
  std::string out = Shell(cli + "--pipe < " + path + " 2>&1");
  EXPECT_NE(out.find("errors: 0, replies: 20000"), std::string::npos) << out;
  EXPECT_EQ(Shell(cli + "DBSIZE"), "20001\n");
}

TEST(ServerIntegration, ShutdownCommand) {
  Allotd s;
  Ctx c(s.Client());
  auto r = Cmd(c.get(), {"SHUTDOWN"});
  EXPECT_EQ(r, nullptr);  // Redis closes the connection without a reply
}

TEST(ServerIntegration, SigtermDuringLoadExitsCleanly) {
  auto s = std::make_unique<Allotd>();
  std::atomic<bool> stop{false};
  std::thread load([&] {
    redisContext* c = redisConnect("127.0.0.1", s->port());
    while (!stop.load() && c->err == 0) {
      for (int i = 0; i < 100; ++i) redisAppendCommand(c, "SET k%d %d", i, i);
      void* raw = nullptr;
      for (int i = 0; i < 100 && redisGetReply(c, &raw) == REDIS_OK; ++i) freeReplyObject(raw);
    }
    redisFree(c);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int status = s->Stop();
  stop.store(true);
  load.join();
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(s->log().find("Received SIGTERM"), std::string::npos);
}

}  // namespace

namespace {

TEST(ServerIntegration, IdleTimeoutClosesClient) {
  Allotd s({"--timeout", "1"});
  int fd = Connect(s.port());
  SendAll(fd, "PING\r\n");
  bool closed = false;
  EXPECT_EQ(ReadAll(fd, 4000, &closed), "+PONG\r\n");
  EXPECT_TRUE(closed);  // closed after about 1-2 s of silence
  close(fd);
}

// SLOWLOG and LATENCY as Redis 7 (server/slowlog.h), secrets redacted, and DEBUG refused
// unless enable-debug-command allows it.
TEST(ServerIntegration, SlowlogLatencyAndDebugGate) {
  Allotd s({"--slowlog-log-slower-than", "0", "--slowlog-max-len", "3",
            "--latency-monitor-threshold", "20", "--enable-debug-command", "yes"});
  Ctx c(s.Client());
  EXPECT_EQ(Str(Cmd(c.get(), {"SLOWLOG", "RESET"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"CLIENT", "SETNAME", "slowpoke"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"SET", "k", std::string(200, 'v')})), "OK");
  auto got = Cmd(c.get(), {"SLOWLOG", "GET", "1"});
  ASSERT_EQ(got->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(got->elements, 1u);
  redisReply* e = got->element[0];
  ASSERT_EQ(e->elements, 6u);
  EXPECT_GE(e->element[2]->integer, 0);  // microseconds
  ASSERT_EQ(e->element[3]->elements, 3u);
  EXPECT_EQ(std::string(e->element[3]->element[0]->str), "SET");
  EXPECT_EQ(std::string(e->element[3]->element[2]->str),
            std::string(128, 'v') + "... (72 more bytes)");
  EXPECT_EQ(std::string(e->element[4]->str).substr(0, 10), "127.0.0.1:");
  EXPECT_EQ(std::string(e->element[5]->str), "slowpoke");
  // Passwords never reach the log.
  Cmd(c.get(), {"AUTH", "user", "hunter2"});
  auto auth = Cmd(c.get(), {"SLOWLOG", "GET", "1"});
  ASSERT_EQ(auth->elements, 1u);
  redisReply* argv = auth->element[0]->element[3];
  ASSERT_EQ(argv->elements, 3u);
  EXPECT_EQ(std::string(argv->element[1]->str), "(redacted)");
  EXPECT_EQ(std::string(argv->element[2]->str), "(redacted)");
  EXPECT_EQ(Cmd(c.get(), {"SLOWLOG", "LEN"})->integer, 3);  // slowlog-max-len
  EXPECT_EQ(Str(Cmd(c.get(), {"SLOWLOG", "GET", "-2"})),
            "ERR count should be greater than or equal to -1");
  EXPECT_EQ(Str(Cmd(c.get(), {"SLOWLOG", "FOO"})),
            "ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.");
  // A 50 ms DEBUG SLEEP is a latency spike over the 20 ms threshold.
  EXPECT_EQ(Str(Cmd(c.get(), {"DEBUG", "SLEEP", "0.05"})), "OK");
  auto latest = Cmd(c.get(), {"LATENCY", "LATEST"});
  ASSERT_EQ(latest->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(latest->elements, 1u);
  EXPECT_EQ(std::string(latest->element[0]->element[0]->str), "command");
  EXPECT_GE(latest->element[0]->element[2]->integer, 50);
  EXPECT_EQ(Cmd(c.get(), {"LATENCY", "HISTORY", "command"})->elements, 1u);
  EXPECT_EQ(Cmd(c.get(), {"LATENCY", "RESET"})->integer, 1);
  EXPECT_EQ(Cmd(c.get(), {"LATENCY", "LATEST"})->elements, 0u);
  EXPECT_EQ(Str(Cmd(c.get(), {"LATENCY", "GRAPH", "command"})),
            "ERR No samples available for event 'command'");

  Allotd plain;
  Ctx p(plain.Client());
  EXPECT_EQ(Str(Cmd(p.get(), {"DEBUG", "SLEEP", "0"})).substr(0, 30),
            "ERR DEBUG command not allowed.");
  EXPECT_EQ(Cmd(p.get(), {"LATENCY", "LATEST"})->elements, 0u);
  EXPECT_EQ(Str(Cmd(p.get(), {"LATENCY", "DOCTOR"})).substr(0, 32),
            "I'm sorry, Dave, I can't do that");
}

// A second allotd on a port already served refuses to start, as redis-server does, instead
// of joining the first one's SO_REUSEPORT group and splitting its clients.
TEST(ServerIntegration, SecondServerOnTheSamePortRefusesToStart) {
  Allotd first;
  char tmpl[] = "/tmp/allotd_second_XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string cmd = std::string(ALLOTD_PATH) + " --port " + std::to_string(first.port()) +
                    " --dir " + dir + " --threads 2 --logfile " + dir + "/log";
  int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status;
  std::ifstream log(dir + "/log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Address already in use"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
  Ctx c(first.Client());
  EXPECT_EQ(Str(Cmd(c.get(), {"PING"})), "PONG");
}

}  // namespace
