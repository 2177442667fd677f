// transaction_integration_test.cc: MULTI/EXEC/DISCARD/WATCH/UNWATCH against the real
// allotd: exact reply bytes in RESP2 and RESP3 (checked against Redis 7.0), EXECABORT,
// pipelined transactions across shards, WATCH between two connections, a differential
// run of one randomized command stream against allotd and Debian's redis-server
// (identical bytes required), and optimistic increments from many connections.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/allotd_process.h"

namespace {

using allot::testing::FreePort;  // tests/support/allotd_process.h

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

// A server process on a free loopback port: allotd (4 shards, memory only) or
// redis-server (no persistence). Killed at the end.
class Process {
 public:
  explicit Process(bool redis) {
    port_ = FreePort();
    std::vector<std::string> args;
    if (redis) {
      args = {"/usr/bin/redis-server",
              "--port",
              std::to_string(port_),
              "--save",
              "",
              "--appendonly",
              "no",
              "--bind",
              "127.0.0.1",
              "--loglevel",
              "warning"};
    } else {
      char tmpl[] = "/tmp/allotd_txn_XXXXXX";
      dir_ = mkdtemp(tmpl);
      args = {ALLOTD_PATH,         "--port", std::to_string(port_), "--dir", dir_,
              "--threads",         "4",      "--durability",        "none",  "--logfile",
              dir_ + "/allotd.log"};
    }
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      if (redis) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
      }
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
    ADD_FAILURE() << "server did not start: " << args[0];
  }
  ~Process() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    if (!dir_.empty()) (void)std::system(("rm -rf " + dir_).c_str());
  }
  int port() const { return port_; }

 private:
  int port_ = 0;
  pid_t pid_ = -1;
  std::string dir_;
};

// A blocking RESP client that returns each reply's exact bytes.
class Client {
 public:
  explicit Client(int port) : fd_(Connect(port)) { EXPECT_GE(fd_, 0); }
  ~Client() { close(fd_); }
  static std::string Encode(const std::vector<std::string>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return out;
  }
  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  std::string Cmd(const std::vector<std::string>& args) {
    Send(Encode(args));
    return Read();
  }
  // One whole reply (nested aggregates included).
  std::string Read() {
    std::string line = Line();
    if (line.empty()) return line;
    char t = line[0];
    long n = std::strtol(line.c_str() + 1, nullptr, 10);
    if (t == '$' || t == '=' || t == '!') {
      if (n < 0) return line;
      return line + Bytes(static_cast<size_t>(n) + 2);
    }
    if (t == '*' || t == '~' || t == '>' || t == '%' || t == '|') {
      if (n < 0) return line;
      if (t == '%' || t == '|') n *= 2;
      for (long i = 0; i < n; ++i) line += Read();
    }
    return line;
  }

 private:
  bool Fill() {
    char buf[65536];
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return false;
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buf_.append(buf, static_cast<size_t>(n));
    return true;
  }
  std::string Line() {
    size_t pos;
    while ((pos = buf_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return "";
    }
    std::string out = buf_.substr(0, pos + 2);
    buf_.erase(0, pos + 2);
    return out;
  }
  std::string Bytes(size_t n) {
    while (buf_.size() < n) {
      if (!Fill()) break;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, std::min(n, buf_.size()));
    return out;
  }
  int fd_;
  std::string buf_;
};

using V = std::vector<std::string>;

class TxnServerTest : public ::testing::Test {
 protected:
  Process allotd_{false};
};

TEST_F(TxnServerTest, ExactRepliesResp2) {
  Client c(allotd_.port());
  struct Step {
    V cmd;
    std::string want;
  };
  const std::vector<Step> steps = {
      {{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
      {{"DISCARD"}, "-ERR DISCARD without MULTI\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"MULTI"}, "-ERR MULTI calls can not be nested\r\n"},
      {{"WATCH", "a"}, "-ERR WATCH inside MULTI is not allowed\r\n"},
      {{"SET", "a", "1"}, "+QUEUED\r\n"},
      {{"EXEC"}, "*1\r\n+OK\r\n"},  // neither error above flags the transaction
      {{"MULTI"}, "+OK\r\n"},
      {{"FOO", "x"}, "-ERR unknown command 'FOO', with args beginning with: 'x' \r\n"},
      {{"SET", "a"}, "-ERR wrong number of arguments for 'set' command\r\n"},
      {{"SET", "a", "2"}, "+QUEUED\r\n"},
      {{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
      {{"GET", "a"}, "$1\r\n1\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"SHUTDOWN"}, "-ERR Command not allowed inside a transaction\r\n"},
      {{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"SET", "a", "x"}, "+QUEUED\r\n"},
      {{"INCR", "a"}, "+QUEUED\r\n"},
      {{"PING"}, "+QUEUED\r\n"},
      {{"ECHO", "hi"}, "+QUEUED\r\n"},
      {{"SELECT", "1"}, "+QUEUED\r\n"},
      {{"SET", "b", "1"}, "+QUEUED\r\n"},
      {{"SELECT", "99"}, "+QUEUED\r\n"},
      {{"GET", "b"}, "+QUEUED\r\n"},
      {{"CLIENT", "SETNAME", "t"}, "+QUEUED\r\n"},
      {{"CLIENT", "GETNAME"}, "+QUEUED\r\n"},
      {{"EXEC"},
       "*10\r\n+OK\r\n-ERR value is not an integer or out of range\r\n+PONG\r\n$2\r\nhi\r\n"
       "+OK\r\n+OK\r\n-ERR DB index is out of range\r\n$1\r\n1\r\n+OK\r\n$1\r\nt\r\n"},
      {{"GET", "b"}, "$1\r\n1\r\n"},  // SELECT 1 stayed in effect
      {{"SELECT", "0"}, "+OK\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"EXEC"}, "*0\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"DISCARD"}, "+OK\r\n"},
      {{"WATCH", "a"}, "+OK\r\n"},
      {{"SET", "a", "z"}, "+OK\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"GET", "a"}, "+QUEUED\r\n"},
      {{"EXEC"}, "*-1\r\n"},
      {{"WATCH", "nx"}, "+OK\r\n"},
      {{"DEL", "nx"}, ":0\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"GET", "a"}, "+QUEUED\r\n"},
      {{"EXEC"}, "*1\r\n$1\r\nz\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"EXEC", "x"},
       "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
       "command\r\n"},
      {{"DISCARD"}, "-ERR DISCARD without MULTI\r\n"},
      {{"MULTI"}, "+OK\r\n"},
      {{"RESET"}, "+RESET\r\n"},
      {{"EXEC"}, "-ERR EXEC without MULTI\r\n"},
      {{"UNWATCH", "x"}, "-ERR wrong number of arguments for 'unwatch' command\r\n"},
      {{"WATCH"}, "-ERR wrong number of arguments for 'watch' command\r\n"},
      {{"UNWATCH"}, "+OK\r\n"},
  };
  for (const Step& s : steps) {
    std::string label;
    for (const auto& a : s.cmd) label += a + " ";
    EXPECT_EQ(c.Cmd(s.cmd), s.want) << label;
  }
}

TEST_F(TxnServerTest, ExactRepliesResp3) {
  Client c(allotd_.port());
  ASSERT_EQ(c.Cmd({"HELLO", "3"}).substr(0, 3), "%7\r");
  EXPECT_EQ(c.Cmd({"HSET", "h", "f", "v"}), ":1\r\n");
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"HGETALL", "h"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"HGETALL", "nohash"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"GET", "nokey"}), "+QUEUED\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "*3\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n%0\r\n_\r\n");
  EXPECT_EQ(c.Cmd({"WATCH", "h"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"HSET", "h", "g", "w"}), ":1\r\n");
  EXPECT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(c.Cmd({"EXEC"}), "_\r\n");
}

// A pipeline of transactions over keys of every shard: replies in request order.
TEST_F(TxnServerTest, PipelinedTransactionsAcrossShards) {
  Client c(allotd_.port());
  std::string batch;
  std::string want;
  for (int t = 0; t < 50; ++t) {
    batch += Client::Encode({"MULTI"});
    want += "+OK\r\n";
    for (int k = 0; k < 8; ++k) {
      batch += Client::Encode({"INCR", "p" + std::to_string(k)});
      want += "+QUEUED\r\n";
    }
    batch += Client::Encode({"EXEC"});
    want += "*8\r\n";
    for (int k = 0; k < 8; ++k) want += ":" + std::to_string(t + 1) + "\r\n";
    batch += Client::Encode({"GET", "p0"});
    want += "$" + std::to_string(std::to_string(t + 1).size()) + "\r\n" + std::to_string(t + 1) +
            "\r\n";
  }
  c.Send(batch);
  std::string got;
  while (got.size() < want.size()) {
    std::string r = c.Read();
    if (r.empty()) break;
    got += r;
  }
  EXPECT_EQ(got, want);
}

TEST_F(TxnServerTest, WatchFromTwoConnections) {
  Client a(allotd_.port()), b(allotd_.port());
  EXPECT_EQ(a.Cmd({"SET", "stock", "10"}), "+OK\r\n");
  EXPECT_EQ(a.Cmd({"WATCH", "stock", "other"}), "+OK\r\n");
  EXPECT_EQ(b.Cmd({"WATCH", "stock"}), "+OK\r\n");
  EXPECT_EQ(a.Cmd({"GET", "stock"}), "$2\r\n10\r\n");
  EXPECT_EQ(a.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(a.Cmd({"DECR", "stock"}), "+QUEUED\r\n");
  EXPECT_EQ(b.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(b.Cmd({"DECRBY", "stock", "5"}), "+QUEUED\r\n");
  EXPECT_EQ(b.Cmd({"EXEC"}), "*1\r\n:5\r\n");  // b commits first
  EXPECT_EQ(a.Cmd({"EXEC"}), "*-1\r\n");       // a's view is stale
  EXPECT_EQ(a.Cmd({"GET", "stock"}), "$1\r\n5\r\n");
  // A connection that closes with a watch leaves nothing behind that affects others.
  {
    Client gone(allotd_.port());
    EXPECT_EQ(gone.Cmd({"WATCH", "stock"}), "+OK\r\n");
  }
  EXPECT_EQ(a.Cmd({"WATCH", "stock"}), "+OK\r\n");
  EXPECT_EQ(a.Cmd({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(a.Cmd({"DECR", "stock"}), "+QUEUED\r\n");
  EXPECT_EQ(a.Cmd({"EXEC"}), "*1\r\n:4\r\n");
}

// The same randomized stream on two connections, against allotd and redis-server.
class Differential {
 public:
  explicit Differential(uint32_t seed) : rng_(seed) {}
  V Next(int conn) {
    bool& in_multi = multi_[conn];
    std::uniform_int_distribution<int> pick(0, 99);
    int p = pick(rng_);
    if (p < 6) {
      in_multi = !in_multi;
      return {in_multi ? "MULTI" : "EXEC"};
    }
    if (p < 8 && in_multi) {
      in_multi = false;
      return {"DISCARD"};
    }
    if (p < 12) return {"WATCH", Key(), Key()};
    if (p < 13) return {"UNWATCH"};
    if (p < 14) return {"EXEC"};
    if (p < 15) return {"DISCARD"};
    if (p < 16) return {"NOSUCHCMD", Key()};
    if (p < 17) return {"GET"};
    if (p < 18) return {"SELECT", std::to_string(pick(rng_) % 2)};
    if (p < 19) return {"MULTI"};
    static const std::vector<std::vector<std::string>> kShapes = {{"SET", "K", "V"},
                                                                  {"GET", "K"},
                                                                  {"INCR", "K"},
                                                                  {"DEL", "K"},
                                                                  {"DEL", "K", "K"},
                                                                  {"APPEND", "K", "V"},
                                                                  {"RPUSH", "K", "V"},
                                                                  {"LRANGE", "K", "0", "-1"},
                                                                  {"EXISTS", "K", "K"},
                                                                  {"MSET", "K", "V", "K", "V"},
                                                                  {"MGET", "K", "K", "K"},
                                                                  {"INCRBY", "K", "V"},
                                                                  {"STRLEN", "K"},
                                                                  {"LPOP", "K"},
                                                                  {"TYPE", "K"},
                                                                  {"EXPIRE", "K", "1000"},
                                                                  {"PERSIST", "K"},
                                                                  {"HSET", "K", "f", "V"},
                                                                  {"HGET", "K", "f"},
                                                                  {"PING"},
                                                                  {"ECHO", "V"},
                                                                  {"FLUSHDB"},
                                                                  {"DBSIZE"}};
    std::uniform_int_distribution<size_t> shape(0, kShapes.size() - 1);
    V cmd = kShapes[shape(rng_)];
    if (cmd[0] == "FLUSHDB" && pick(rng_) < 80) cmd = {"SET", "K", "V"};
    for (auto& a : cmd) {
      if (a == "K") a = Key();
      if (a == "V") a = std::to_string(pick(rng_) % 7);
    }
    return cmd;
  }

 private:
  std::string Key() {
    static const char* kKeys[] = {"a", "b", "c", "d", "e", "{t}1", "{t}2"};
    std::uniform_int_distribution<int> k(0, 6);
    return kKeys[k(rng_)];
  }
  std::mt19937 rng_;
  bool multi_[2] = {false, false};
};

TEST_F(TxnServerTest, DifferentialAgainstRedis) {
  if (access("/usr/bin/redis-server", X_OK) != 0) GTEST_SKIP() << "no redis-server";
  Process redis(true);
  // ALLOT_TXN_SEED picks another stream (the default one is what CI runs).
  const char* env = std::getenv("ALLOT_TXN_SEED");
  const uint32_t seed = env != nullptr ? static_cast<uint32_t>(std::atoi(env)) : 20261123;
  Differential gen(seed);
  Client a0(allotd_.port()), a1(allotd_.port());
  Client r0(redis.port()), r1(redis.port());
  Client* allot[2] = {&a0, &a1};
  Client* ref[2] = {&r0, &r1};
  std::mt19937 who(seed + 1);
  int execs = 0, aborted = 0;
  std::vector<std::string> history;  // the last steps, printed on a mismatch
  for (int i = 0; i < 6000; ++i) {
    int conn = static_cast<int>(who() % 2);
    V cmd = gen.Next(conn);
    std::string want = ref[conn]->Cmd(cmd);
    std::string got = allot[conn]->Cmd(cmd);
    std::string label = "step " + std::to_string(i) + " conn " + std::to_string(conn) + ":";
    for (const auto& s : cmd) label += " " + s;
    history.push_back(label + " -> " + want.substr(0, 40));
    if (history.size() > 60) history.erase(history.begin());
    if (got != want) {
      for (const auto& h : history) std::fprintf(stderr, "  %s\n", h.c_str());
    }
    ASSERT_EQ(got, want) << label;
    if (cmd[0] == "EXEC" && want[0] == '*') ++execs;
    if (want == "*-1\r\n") ++aborted;
  }
  // The stream really exercised both outcomes.
  EXPECT_GT(execs, 50);
  EXPECT_GT(aborted, 5);
}

// Optimistic increments (WATCH, GET, MULTI, SET, EXEC, retry on abort) from many
// connections on counters spread over the shards: every committed EXEC counts once.
TEST_F(TxnServerTest, OptimisticIncrementsFromManyConnections) {
  constexpr int kClients = 12, kPerClient = 60, kCounters = 4;
  std::atomic<int> commits{0}, aborts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Client c(allotd_.port());
      std::mt19937 rng(static_cast<uint32_t>(t));
      for (int i = 0; i < kPerClient; ++i) {
        // Two counters, usually on different shards, incremented together.
        std::string k1 = "cnt" + std::to_string(rng() % kCounters);
        std::string k2 = "cnt" + std::to_string(kCounters + rng() % kCounters);
        for (;;) {
          ASSERT_EQ(c.Cmd({"WATCH", k1, k2}), "+OK\r\n");
          auto value = [&](const std::string& k) {
            std::string r = c.Cmd({"GET", k});
            if (r == "$-1\r\n") return 0L;
            return std::strtol(r.c_str() + r.find("\r\n") + 2, nullptr, 10);
          };
          long v1 = value(k1), v2 = value(k2);
          ASSERT_EQ(c.Cmd({"MULTI"}), "+OK\r\n");
          ASSERT_EQ(c.Cmd({"SET", k1, std::to_string(v1 + 1)}), "+QUEUED\r\n");
          ASSERT_EQ(c.Cmd({"SET", k2, std::to_string(v2 + 1)}), "+QUEUED\r\n");
          std::string r = c.Cmd({"EXEC"});
          if (r == "*2\r\n+OK\r\n+OK\r\n") {
            commits.fetch_add(1);
            break;
          }
          ASSERT_EQ(r, "*-1\r\n");
          aborts.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(commits.load(), kClients * kPerClient);
  Client c(allotd_.port());
  long low = 0, high = 0;
  for (int k = 0; k < 2 * kCounters; ++k) {
    std::string r = c.Cmd({"GET", "cnt" + std::to_string(k)});
    long v = r == "$-1\r\n" ? 0 : std::strtol(r.c_str() + r.find("\r\n") + 2, nullptr, 10);
    (k < kCounters ? low : high) += v;
  }
  EXPECT_EQ(low, commits.load());
  EXPECT_EQ(high, commits.load());
  std::printf("optimistic increments: %d commits, %d aborted EXECs\n", commits.load(),
              aborts.load());
}

}  // namespace
