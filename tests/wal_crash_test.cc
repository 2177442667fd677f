// wal_crash_test.cc: kill -9 at random moments; every acknowledged write must survive.
//
// A child process (tests/wal_crash_child.cc) runs an Engine in `durability always` with
// several threads writing, and reports each acknowledged write on a pipe. The test
// SIGKILLs it after a random delay (seeded; the seed is printed), reopens the directory in
// this process with a different shard count, and checks that every write acknowledged in
// any round so far is there with its value, and that every multi-shard write (acknowledged
// or not) is there whole or not at all. Then the next round's child continues on the same
// log. ALLOT_CRASH_ROUNDS and ALLOT_CRASH_SEED override the defaults (a longer run).
#include <allot/engine.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/wal_support.h"
#include "tests/wal_test_commands.h"

extern char** environ;

namespace allot::testing {
namespace {

struct Round {
  std::vector<std::string> acked;
  std::vector<std::pair<std::string, std::string>> pairs;
};

// Reads the child's lines until the deadline (or EOF if deadline is null).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // Reads until the deadline, or EOF (to_eof), or the READY line (when *ready is false on
  // entry). Returns false at EOF.
  bool read_until(std::chrono::steady_clock::time_point deadline, bool to_eof, Round& out,
                  bool* ready) {
    const bool stop_at_ready = !*ready && !to_eof;
    for (;;) {
      int timeout = -1;
      if (!to_eof) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return true;
        timeout = static_cast<int>(left.count());
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, timeout) <= 0) continue;
      char buf[65536];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      pending_.append(buf, static_cast<size_t>(n));
      size_t pos;
      while ((pos = pending_.find('\n')) != std::string::npos) {
        std::string line = pending_.substr(0, pos);
        pending_.erase(0, pos + 1);
        if (line == "READY") {
          *ready = true;
        } else if (line.rfind("A ", 0) == 0) {
          out.acked.push_back(line.substr(2));
        } else if (line.rfind("P ", 0) == 0) {
          size_t sp = line.find(' ', 2);
          out.pairs.emplace_back(line.substr(2, sp - 2), line.substr(sp + 1));
        }
      }
      if (stop_at_ready && *ready) return true;  // the caller starts the kill timer at READY
    }
  }

 private:
  int fd_;
  std::string pending_;
};

pid_t Spawn(const std::string& dir, const std::string& prefix, int* out_fd) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  std::string path = ALLOT_WAL_CRASH_CHILD;
  std::vector<std::string> args = {path, dir, prefix, "8"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, path.c_str(), &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : def;
}

TEST(WalCrashTest, EveryAcknowledgedWriteSurvivesKill9) {
  RegisterWalTestCommands();
  const int rounds = EnvInt("ALLOT_CRASH_ROUNDS", 20);
  const unsigned seed = static_cast<unsigned>(EnvInt("ALLOT_CRASH_SEED", 20261123));
  std::printf("crash test: %d rounds, seed %u\n", rounds, seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(5, 400);
  std::string dir = MakeTempDir("allot-wal-crash");
  std::vector<std::string> acked;
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t pairs_whole = 0, pairs_absent = 0;
  for (int round = 0; round < rounds; ++round) {
    int fd = -1;
    pid_t pid = Spawn(dir, "r" + std::to_string(round), &fd);
    ASSERT_GT(pid, 0);
    LineReader reader(fd);
    Round got;
    bool ready = false;
    auto far = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    ASSERT_TRUE(reader.read_until(far, false, got, &ready) && ready) << "child died at start";
    int wait_ms = delay_ms(rng);
    auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    reader.read_until(kill_at, false, got, &ready);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    reader.read_until(far, true, got, &ready);  // what was acknowledged before the kill
    close(fd);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child exited by itself (status " << status << ")";
    acked.insert(acked.end(), got.acked.begin(), got.acked.end());
    pairs.insert(pairs.end(), got.pairs.begin(), got.pairs.end());

    // Recover with another shard count than the child's 2.
    Config cfg;
    cfg.dir = dir;
    cfg.threads = 3 + static_cast<unsigned>(round % 2);
    Engine engine(cfg);
    for (const std::string& k : acked) {
      ASSERT_EQ(engine.call({"GET", k}), Reply::Bulk(k)) << "round " << round << " lost " << k;
    }
    pairs_whole = pairs_absent = 0;
    for (const auto& [k1, k2] : pairs) {
      bool has1 = !engine.call({"GET", k1}).is_null(), has2 = !engine.call({"GET", k2}).is_null();
      ASSERT_EQ(has1, has2) << "round " << round << ": half of the MSET of " << k1;
      (has1 ? pairs_whole : pairs_absent) += 1;
    }
    std::printf(
        "round %2d: killed after %3d ms, %5zu writes acknowledged so far, recovered %llu "
        "records in %llu us\n",
        round, wait_ms, acked.size(),
        static_cast<unsigned long long>(engine.impl().wal()->stats().recovered_records),
        static_cast<unsigned long long>(engine.impl().wal()->stats().recovery_us));
  }
  EXPECT_GT(acked.size(), 100u);
  std::printf("multi-shard writes: %zu whole, %zu absent (sent, not acknowledged)\n", pairs_whole,
              pairs_absent);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace allot::testing
