// durability_integration_test.cc: durability against the real allotd: SAVE / BGSAVE /
// LASTSAVE / INFO persistence, the final checkpoint at shutdown, allot-inspect on a store
// with a corrupted byte, and the crash harness: INV.* load over several connections with
// `durability always`, SIGKILL at random points, restart, and exact checks of every
// acknowledged write and of the inventory invariants.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/allotd_process.h"

namespace allot::testing {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/allot_dur_test_XXXXXX";
  return mkdtemp(tmpl);
}

struct DirGuard {
  std::string dir;
  ~DirGuard() { std::filesystem::remove_all(dir); }
};

// "name:value" of INFO's persistence section.
std::map<std::string, std::string> Persistence(redisContext* c) {
  std::map<std::string, std::string> out;
  std::string text = Str(Cmd(c, {"INFO", "persistence"}));
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) out[line.substr(0, colon)] = line.substr(colon + 1);
    pos = end + 2;
  }
  return out;
}

std::string Shell(const std::string& cmd, int* status) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = pclose(f);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// Flips one byte in every occurrence of marker in file (LMDB keeps old copies of pages
// it has not reused yet; the live one is among them). Returns how many.
int CorruptByte(const std::string& file, const std::string& marker) {
  std::FILE* f = std::fopen(file.c_str(), "r+b");
  if (f == nullptr) return 0;
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  int count = 0;
  for (size_t at = data.find(marker); at != std::string::npos; at = data.find(marker, at + 1)) {
    std::fseek(f, static_cast<long>(at + marker.size() / 2), SEEK_SET);
    char c = static_cast<char>(data[at + marker.size() / 2] ^ 0x20);
    std::fwrite(&c, 1, 1, f);
    ++count;
  }
  std::fclose(f);
  return count;
}

TEST(DurabilityIntegration, SaveBgsaveLastsaveInfo) {
  DirGuard d{TempDir()};
  AllotdProcess s(d.dir);
  ASSERT_TRUE(s.started());
  Ctx c = s.Client();
  auto info = Persistence(c.get());
  EXPECT_EQ(info["loading"], "0");
  EXPECT_EQ(info["aof_enabled"], "1");
  EXPECT_EQ(info["wal_durability"], "always");
  EXPECT_EQ(info["rdb_bgsave_in_progress"], "0");
  EXPECT_EQ(info["rdb_last_bgsave_time_sec"], "-1");
  int64_t start = std::stoll(info["rdb_last_save_time"]);
  EXPECT_EQ(Cmd(c.get(), {"LASTSAVE"})->integer, start);
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Str(Cmd(c.get(), {"SET", "k" + std::to_string(i), "v"})), "OK");
  }
  info = Persistence(c.get());
  EXPECT_EQ(info["rdb_changes_since_last_save"], "50");
  EXPECT_EQ(info["wal_durable_lsn"], "50");
  EXPECT_EQ(info["wal_log_records"], "50");
  EXPECT_EQ(info["wal_records"], "50");
  EXPECT_NE(info["wal_groups"], "0");
  EXPECT_EQ(Str(Cmd(c.get(), {"SAVE"})), "OK");
  info = Persistence(c.get());
  EXPECT_EQ(info["rdb_changes_since_last_save"], "0");
  EXPECT_EQ(info["checkpoints"], "1");
  EXPECT_EQ(info["checkpoint_last_lsn"], "50");
  EXPECT_EQ(info["checkpoint_last_keys"], "50");
  EXPECT_EQ(info["wal_log_records"], "0");
  EXPECT_EQ(info["rdb_last_bgsave_status"], "ok");
  EXPECT_GE(Cmd(c.get(), {"LASTSAVE"})->integer, start);
  ASSERT_EQ(Str(Cmd(c.get(), {"SET", "after", "1"})), "OK");
  EXPECT_EQ(Str(Cmd(c.get(), {"BGSAVE", "x"})), "ERR syntax error");
  EXPECT_EQ(Str(Cmd(c.get(), {"BGSAVE", "SCHEDULE", "x"})), "ERR syntax error");
  EXPECT_EQ(Str(Cmd(c.get(), {"BGSAVE"})), "Background saving started");
  // Either it is still running, or it finished; both replies are Redis's.
  std::string again = Str(Cmd(c.get(), {"BGSAVE"}));
  EXPECT_TRUE(again == "ERR Background save already in progress" ||
              again == "Background saving started")
      << again;
  for (int i = 0; i < 500 && Persistence(c.get())["rdb_bgsave_in_progress"] != "0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  info = Persistence(c.get());
  EXPECT_EQ(info["checkpoint_last_lsn"], "51");
  EXPECT_EQ(Str(Cmd(c.get(), {"SAVE", "x"})), "ERR wrong number of arguments for 'save' command");
  EXPECT_EQ(Str(Cmd(c.get(), {"SHUTDOWN", "NOSAVE", "SAVE"})), "ERR syntax error");
  EXPECT_EQ(Str(Cmd(c.get(), {"SHUTDOWN", "ABORT"})), "ERR No shutdown in progress.");
  int status = s.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(DurabilityIntegration, MemoryOnlyHasNothingToSave) {
  DirGuard d{TempDir()};
  AllotdProcess s(d.dir, {"--durability", "none"});
  ASSERT_TRUE(s.started());
  Ctx c = s.Client();
  EXPECT_EQ(Str(Cmd(c.get(), {"SAVE"})),
            "ERR no data directory or durability none: nothing to save to");
  EXPECT_EQ(Str(Cmd(c.get(), {"BGSAVE"})),
            "ERR no data directory or durability none: nothing to save to");
  EXPECT_EQ(Persistence(c.get())["aof_enabled"], "0");
}

TEST(DurabilityIntegration, CleanShutdownCheckpointsSoRestartReplaysNothing) {
  DirGuard d{TempDir()};
  {
    AllotdProcess s(d.dir);
    ASSERT_TRUE(s.started());
    Ctx c = s.Client();
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(Str(Cmd(c.get(), {"SET", "k" + std::to_string(i), std::to_string(i)})), "OK");
    }
    ASSERT_EQ(Cmd(c.get(), {"INV.CREATE", "item", "10"})->type, REDIS_REPLY_STATUS);
    ASSERT_EQ(Cmd(c.get(), {"INV.BUY", "item", "u1"})->integer, 1);
    int status = s.Stop();  // SIGTERM
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_NE(s.log().find("Checkpoint saved at LSN 102"), std::string::npos) << s.log();
  }
  {
    AllotdProcess s(d.dir);
    ASSERT_TRUE(s.started());
    Ctx c = s.Client();
    auto info = Persistence(c.get());
    EXPECT_EQ(info["recovery_records"], "0");
    EXPECT_EQ(info["checkpoint_last_lsn"], "102");
    EXPECT_EQ(Str(Cmd(c.get(), {"GET", "k42"})), "42");
    EXPECT_EQ(Cmd(c.get(), {"INV.USER", "item", "u1"})->element[3]->integer, 1);
    ASSERT_EQ(Str(Cmd(c.get(), {"SET", "late", "x"})), "OK");
    // SHUTDOWN NOSAVE: no final checkpoint, the next start replays the one record.
    EXPECT_EQ(Cmd(c.get(), {"SHUTDOWN", "NOSAVE"}), nullptr);
    int status = s.Wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  AllotdProcess s(d.dir);
  ASSERT_TRUE(s.started());
  Ctx c = s.Client();
  EXPECT_EQ(Persistence(c.get())["recovery_records"], "1");
  EXPECT_EQ(Str(Cmd(c.get(), {"GET", "late"})), "x");
}

// allot-inspect lists the log and the checkpoint, verifies every checksum, and names the
// first damage after one byte of a record (and then of a checkpoint chunk) is flipped;
// allotd refuses to start on the same store.
TEST(DurabilityIntegration, InspectToolFindsACorruptedByte) {
  DirGuard d{TempDir()};
  {
    AllotdProcess s(d.dir);
    ASSERT_TRUE(s.started());
    Ctx c = s.Client();
    ASSERT_EQ(Str(Cmd(c.get(), {"SET", "in-checkpoint", "CHECKPOINTED-VALUE-MARKER"})), "OK");
    ASSERT_EQ(Str(Cmd(c.get(), {"SAVE"})), "OK");
    ASSERT_EQ(Str(Cmd(c.get(), {"SET", "a", "1"})), "OK");
    ASSERT_EQ(Str(Cmd(c.get(), {"SET", "in-log", "LOGGED-VALUE-MARKER"})), "OK");
    ASSERT_EQ(Str(Cmd(c.get(), {"SELECT", "3"})), "OK");
    ASSERT_EQ(Cmd(c.get(), {"INCR", "n"})->integer, 1);
    s.Kill();  // keep the log as it is (no final checkpoint)
  }
  int status = 0;
  std::string out = Shell(std::string(ALLOT_INSPECT_PATH) + " " + d.dir + " --records", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("checkpoint: id 1, LSN 1, 1 keys in 1 chunks"), std::string::npos) << out;
  EXPECT_NE(out.find("log: 3 records, LSN 2..4"), std::string::npos) << out;
  EXPECT_NE(out.find("lsn=3 db=0 time="), std::string::npos) << out;
  EXPECT_NE(out.find("\"SET\" \"in-log\" \"LOGGED-VALUE-MARKER\""), std::string::npos) << out;
  EXPECT_NE(out.find("lsn=4 db=3"), std::string::npos) << out;
  EXPECT_NE(out.find("OK: every checksum verified"), std::string::npos) << out;
  out = Shell(std::string(ALLOT_INSPECT_PATH) + " " + d.dir + " --keys", &status);
  EXPECT_NE(out.find("db=0 type=string key=\"in-checkpoint\""), std::string::npos) << out;

  ASSERT_GT(CorruptByte(d.dir + "/data.mdb", "LOGGED-VALUE-MARKER"), 0);
  out = Shell(std::string(ALLOT_INSPECT_PATH) + " " + d.dir, &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("DAMAGED: log at LSN 3: payload checksum mismatch"), std::string::npos) << out;
  {
    AllotdProcess s(d.dir);
    EXPECT_FALSE(s.started());
    EXPECT_NE(s.log().find("is damaged at LSN 3: payload checksum mismatch"), std::string::npos)
        << s.log();
  }
  ASSERT_GT(CorruptByte(d.dir + "/checkpoint/data.mdb", "CHECKPOINTED-VALUE-MARKER"), 0);
  out = Shell(std::string(ALLOT_INSPECT_PATH) + " " + d.dir, &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("DAMAGED: checkpoint chunk 0: checksum mismatch"), std::string::npos) << out;
}

// ---- The crash harness ----

constexpr int kItems = 4;
constexpr int kWorkers = 6;
constexpr int kUsersPerWorker = 40;
constexpr int kLimit = 4;

struct UserState {
  int64_t bought = 0;
  std::map<std::string, int64_t> open;  // hold id -> qty
};

// One connection's client: its own users (so its model is exact), its own request ids.
struct Worker {
  int id = 0;
  std::mt19937_64 rng;
  std::map<std::pair<int, int>, UserState> users;  // (item, user) -> state
  uint64_t seq = 0;
  int64_t incr_acked = 0;  // INCR worker:<id> acknowledged
  bool incr_unknown = false;
  std::vector<std::string> inflight;  // the command sent whose reply never came
  uint64_t acked = 0;

  std::string item(int i) const { return "item:{" + std::to_string(i) + "}"; }
  std::string user(int u) const { return "w" + std::to_string(id) + "u" + std::to_string(u); }

  std::vector<std::string> next_command() {
    int i = static_cast<int>(rng() % kItems);
    int u = static_cast<int>(rng() % kUsersPerWorker);
    UserState& st = users[{i, u}];
    int op = static_cast<int>(rng() % 10);
    if (op == 9) return {"INCR", "worker:" + std::to_string(id)};
    if ((op == 7 || op == 8) && !st.open.empty()) {
      auto it = st.open.begin();
      std::advance(it, static_cast<long>(rng() % st.open.size()));
      return {op == 7 ? "INV.CONFIRM" : "INV.RELEASE", item(i), it->first};
    }
    std::string rid = "r" + std::to_string(id) + ":" + std::to_string(++seq);
    if (op < 3) return {"INV.BUY", item(i), user(u), "ID", rid};
    return {"INV.HOLD", item(i), user(u), "TTL", "600000", "ID", "h" + rid};
  }

  UserState& state_of(const std::vector<std::string>& cmd) {
    int i = std::stoi(cmd[1].substr(6));
    int u = 0;
    if (cmd[0] == "INV.BUY" || cmd[0] == "INV.HOLD") {
      u = std::stoi(cmd[2].substr(cmd[2].find('u') + 1));
    } else {
      for (auto& [k, st] : users) {
        if (k.first == i && st.open.count(cmd[2])) return st;
      }
      ADD_FAILURE() << "no open hold " << cmd[2];
    }
    return users[{i, u}];
  }

  // Applies an acknowledged reply to the model.
  void apply(const std::vector<std::string>& cmd, const ReplyPtr& r) {
    ++acked;
    if (cmd[0] == "INCR") {
      ASSERT_EQ(r->type, REDIS_REPLY_INTEGER);
      if (!incr_unknown) {
        ASSERT_EQ(r->integer, incr_acked + 1);
      }
      incr_acked = r->integer;
      incr_unknown = false;
      return;
    }
    UserState& st = state_of(cmd);
    if (cmd[0] == "INV.BUY") {
      ASSERT_EQ(r->type, REDIS_REPLY_INTEGER) << Str(r);
      if (r->integer == 1) ++st.bought;
    } else if (cmd[0] == "INV.HOLD") {
      if (r->type == REDIS_REPLY_STRING) {
        ASSERT_EQ(Str(r), cmd[6]);
        st.open[cmd[6]] = 1;
      } else {
        ASSERT_EQ(r->type, REDIS_REPLY_INTEGER) << Str(r);
      }
    } else {
      ASSERT_EQ(r->type, REDIS_REPLY_INTEGER) << Str(r);
      ASSERT_EQ(r->integer, 1) << cmd[0] << " " << cmd[2];
      st.open.erase(cmd[2]);
      if (cmd[0] == "INV.CONFIRM") ++st.bought;
    }
  }

  // Runs until the connection fails (the kill); the unanswered command stays in flight.
  void run(int port, std::atomic<bool>& stop) {
    Ctx c(redisConnect("127.0.0.1", port));
    if (c == nullptr || c->err != 0) return;
    while (!stop.load()) {
      std::vector<std::string> cmd = next_command();
      inflight = cmd;
      if (cmd[0] == "INCR") incr_unknown = true;
      ReplyPtr r = Cmd(c.get(), cmd);
      if (r == nullptr) return;  // killed: outcome unknown
      inflight.clear();
      apply(cmd, r);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  // After a restart: the command in flight is sent again. BUY/HOLD carry ids and
  // CONFIRM/RELEASE are idempotent, so the reply says what is true now, exactly once.
  // An INCR in flight has an unknown outcome: the counter is read instead.
  void resolve(redisContext* c) {
    if (!inflight.empty() && inflight[0] != "INCR") {
      ReplyPtr r = Cmd(c, inflight);
      ASSERT_NE(r, nullptr);
      apply(inflight, r);
    }
    inflight.clear();
    if (incr_unknown) {
      ReplyPtr r = Cmd(c, {"GET", "worker:" + std::to_string(id)});
      int64_t v = r->type == REDIS_REPLY_NIL ? 0 : std::stoll(Str(r));
      ASSERT_TRUE(v == incr_acked || v == incr_acked + 1) << v << " vs " << incr_acked;
      incr_acked = v;
      incr_unknown = false;
    } else {
      ReplyPtr r = Cmd(c, {"GET", "worker:" + std::to_string(id)});
      int64_t v = r->type == REDIS_REPLY_NIL ? 0 : std::stoll(Str(r));
      ASSERT_EQ(v, incr_acked) << "acknowledged INCRs lost";
    }
  }
};

int64_t Field(const ReplyPtr& map, const std::string& name) {
  for (size_t i = 0; i + 1 < map->elements; i += 2) {
    if (std::string(map->element[i]->str, map->element[i]->len) == name) {
      return map->element[i + 1]->integer;
    }
  }
  ADD_FAILURE() << "no field " << name;
  return -1;
}

// Every acknowledged write present, exactly; total == available + held + sold; no user
// over the limit; sold == acknowledged buys + confirms.
void CheckEverything(redisContext* c, std::vector<Worker>& workers) {
  for (int i = 0; i < kItems; ++i) {
    int64_t sold = 0, held = 0;
    for (Worker& w : workers) {
      for (int u = 0; u < kUsersPerWorker; ++u) {
        UserState& st = w.users[{i, u}];
        ReplyPtr r = Cmd(c, {"INV.USER", w.item(i), w.user(u)});
        ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
        ASSERT_EQ(r->elements, 6u);
        int64_t got_held = r->element[1]->integer, got_bought = r->element[3]->integer;
        std::set<std::string> got_holds;
        for (size_t h = 0; h < r->element[5]->elements; ++h) {
          got_holds.insert(std::string(r->element[5]->element[h]->str));
        }
        std::set<std::string> want_holds;
        int64_t want_held = 0;
        for (auto& [id, q] : st.open) {
          want_holds.insert(id);
          want_held += q;
        }
        ASSERT_EQ(got_bought, st.bought) << w.user(u) << " on " << w.item(i);
        ASSERT_EQ(got_held, want_held) << w.user(u) << " on " << w.item(i);
        ASSERT_EQ(got_holds, want_holds) << w.user(u) << " on " << w.item(i);
        ASSERT_LE(got_held + got_bought, kLimit);
        sold += st.bought;
        held += want_held;
      }
    }
    ReplyPtr g = Cmd(c, {"INV.GET", "item:{" + std::to_string(i) + "}"});
    ASSERT_EQ(g->type, REDIS_REPLY_ARRAY);
    EXPECT_EQ(Field(g, "total"), Field(g, "available") + Field(g, "held") + Field(g, "sold"));
    EXPECT_EQ(Field(g, "sold"), sold);
    EXPECT_EQ(Field(g, "held"), held);
  }
}

TEST(DurabilityIntegration, CrashHarnessKillsAllotdUnderInventoryLoad) {
  const char* rounds_env = std::getenv("ALLOT_SERVER_CRASH_ROUNDS");
  const int rounds = rounds_env != nullptr ? std::atoi(rounds_env) : 20;
  const char* seed_env = std::getenv("ALLOT_SERVER_CRASH_SEED");
  const uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 20261123;
  std::mt19937_64 rng(seed);
  DirGuard d{TempDir()};
  // Checkpoints every 300 records: kills land in checkpoints and trims too.
  const std::vector<std::string> flags = {"--durability", "always", "--checkpoint-log-records",
                                          "300"};
  std::vector<Worker> workers(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    workers[w].id = w;
    workers[w].rng.seed(seed * 31 + static_cast<uint64_t>(w));
  }
  {
    AllotdProcess s(d.dir, flags);
    ASSERT_TRUE(s.started());
    Ctx c = s.Client();
    for (int i = 0; i < kItems; ++i) {
      ASSERT_EQ(Str(Cmd(c.get(), {"INV.CREATE", "item:{" + std::to_string(i) + "}", "100000",
                                  "LIMIT", std::to_string(kLimit)})),
                "OK");
    }
    s.Kill();
  }
  uint64_t acked_total = 0, checkpoints = 0;
  for (int round = 0; round < rounds; ++round) {
    AllotdProcess s(d.dir, flags);
    ASSERT_TRUE(s.started()) << s.log();
    {
      Ctx c = s.Client();
      for (Worker& w : workers) {
        w.resolve(c.get());
        ASSERT_FALSE(::testing::Test::HasFatalFailure());
      }
      CheckEverything(c.get(), workers);
      ASSERT_FALSE(::testing::Test::HasFatalFailure()) << "round " << round;
      checkpoints = std::stoull(Persistence(c.get())["checkpoint_last_id"]);
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (Worker& w : workers) threads.emplace_back([&w, &s, &stop] { w.run(s.port(), stop); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 1000));
    s.Kill();  // SIGKILL at a random point of the load
    for (auto& t : threads) t.join();
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
  AllotdProcess s(d.dir, flags);
  ASSERT_TRUE(s.started()) << s.log();
  Ctx c = s.Client();
  for (Worker& w : workers) w.resolve(c.get());
  CheckEverything(c.get(), workers);
  for (Worker& w : workers) acked_total += w.acked;
  std::printf(
      "crash harness: %d kills, %llu acknowledged writes checked, %llu checkpoints "
      "completed\n",
      rounds, static_cast<unsigned long long>(acked_total),
      static_cast<unsigned long long>(checkpoints));
  EXPECT_GT(acked_total, 0u);
}

}  // namespace
}  // namespace allot::testing
