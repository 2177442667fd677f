// wal_crash_child: the process that tests/wal_crash_test.cc kills with SIGKILL.
//
//   wal_crash_child <dir> <key prefix> <writer threads>
//
// Opens an Engine on dir (durability always, a checkpoint every 300 records, recovering
// what is there), prints "READY",
// then writes from several threads until killed. Each line on stdout is one write(2) of
// less than PIPE_BUF bytes, so lines never interleave:
//   "A <key>"        SET <key> <key> was acknowledged
//   "P <k1> <k2>"    WALTEST.MSET k1 k1 k2 k2 is about to be sent (atomicity check)
//   "A <k1>" + "A <k2>" after it is acknowledged.
#include <allot/engine.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/wal_test_commands.h"

namespace {

void Say(const std::string& line) {
  std::string l = line + "\n";
  if (write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::_Exit(3);
}

void Writer(allot::Engine& engine, const std::string& prefix, int t) {
  for (long i = 0;; ++i) {
    std::string k = prefix + ":" + std::to_string(t) + ":" + std::to_string(i);
    if (i % 8 == 7) {
      std::string k2 = k + ":pair";
      Say("P " + k + " " + k2);
      allot::Reply r = engine.call(std::vector<std::string>{"WALTEST.MSET", k, k, k2, k2});
      if (!r.is_status()) std::_Exit(4);
      Say("A " + k);
      Say("A " + k2);
    } else {
      allot::Reply r = engine.call(std::vector<std::string>{"SET", k, k});
      if (!r.is_status()) std::_Exit(4);
      Say("A " + k);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: wal_crash_child <dir> <key prefix> <writer threads>\n");
    return 2;
  }
  allot::testing::RegisterWalTestCommands();
  allot::Config cfg;
  cfg.dir = argv[1];
  cfg.threads = 2;
  cfg.durability = allot::Durability::kAlways;
  // Small, so kills also land during checkpoints and trims (wal/checkpoint.h).
  cfg.checkpoint_log_records = 300;
  allot::Engine engine(cfg);
  Say("READY");
  std::vector<std::thread> writers;
  int n = std::atoi(argv[3]);
  for (int t = 0; t < n; ++t) {
    writers.emplace_back(
        [&engine, prefix = std::string(argv[2]), t] { Writer(engine, prefix, t); });
  }
  for (auto& w : writers) w.join();  // never: the parent kills us
  return 0;
}
