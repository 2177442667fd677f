// PostgreSQL sync, end to end: a real PostgreSQL (tests/support/pg_server.h) and the real
// allotd. Each test uses its own schema. docs/postgres.md describes what is checked here.
#include <allot/engine.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/pgsync/pg_sync.h"
#include "tests/support/allotd_process.h"
#include "tests/support/pg_server.h"

namespace {

using allot::testing::PgServer;
using namespace std::chrono_literals;

using allot::testing::Cmd;
using allot::testing::Ctx;
using allot::testing::ReplyPtr;

// allotd on dir (kept: the tests restart it on the same data). A stop must be clean.
class Allotd : public allot::testing::AllotdProcess {
 public:
  Allotd(const std::string& dir, std::vector<std::string> extra)
      : AllotdProcess(MadeDir(dir), std::move(extra)) {
    live_ = started();
    if (!live_) ADD_FAILURE() << "allotd did not start";
  }
  ~Allotd() {
    if (live_) Stop();
  }
  void Kill() {
    AllotdProcess::Kill();
    live_ = false;
  }
  void Stop() {
    int status = AllotdProcess::Stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    live_ = false;
  }

 private:
  static std::string MadeDir(const std::string& dir) {
    std::filesystem::create_directories(dir);
    return dir;
  }
  bool live_ = false;
};

// The value of one "name:value" line of INFO persistence.
std::string InfoField(redisContext* c, const std::string& name) {
  ReplyPtr r = Cmd(c, {"INFO", "persistence"});
  if (!r || r->type != REDIS_REPLY_STRING) return "";
  std::string s(r->str, r->len);
  size_t p = s.find("\n" + name + ":");
  if (p == std::string::npos) return "";
  p += name.size() + 2;
  return s.substr(p, s.find('\r', p) - p);
}

// The field's value once it equals want (the backlog is summed every 50 ms), or the last
// value seen after 2 s.
std::string WaitInfoField(redisContext* c, const std::string& name, const std::string& want) {
  std::string v;
  for (int i = 0; i < 40 && (v = InfoField(c, name)) != want; ++i)
    std::this_thread::sleep_for(50ms);
  return v;
}

// Waits until PostgreSQL holds everything: a round found nothing pending.
bool WaitCaughtUp(redisContext* c, std::chrono::milliseconds max = 30s) {
  auto end = std::chrono::steady_clock::now() + max;
  while (std::chrono::steady_clock::now() < end) {
    if (InfoField(c, "pg_caught_up") == "1" && InfoField(c, "pg_lag_records") == "0") return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

class Pg {
 public:
  explicit Pg(const std::string& url) : c_(PQconnectdb(url.c_str())) {
    EXPECT_EQ(PQstatus(c_), CONNECTION_OK) << PQerrorMessage(c_);
  }
  ~Pg() { PQfinish(c_); }
  // Rows of a query, each row's columns joined by '|'.
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> out;
    PGresult* r = PQexec(c_, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << sql << ": " << PQresultErrorMessage(r);
    for (int i = 0; i < PQntuples(r); ++i) {
      std::string row;
      for (int j = 0; j < PQnfields(r); ++j) {
        if (j > 0) row += "|";
        row += PQgetvalue(r, i, j);
      }
      out.push_back(row);
    }
    PQclear(r);
    return out;
  }
  std::string One(const std::string& sql) {
    auto rows = Rows(sql);
    return rows.size() == 1 ? rows[0] : "<" + std::to_string(rows.size()) + " rows>";
  }

 private:
  PGconn* c_;
};

class PgSyncTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = new PgServer(); }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(pg_->ok()) << "could not start PostgreSQL";
    char tmpl[] = "/tmp/allot_pgsync_XXXXXX";
    root_ = mkdtemp(tmpl);
    schema_ = std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& ch : schema_) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  void TearDown() override { (void)std::system(("rm -rf " + root_).c_str()); }

  std::vector<std::string> SyncArgs() {
    return {"--pg-url",       pg_->url(),  "--pg-schema",           schema_,
            "--pg-sync-keys", "cnt:* s:*", "--pg-sync-interval-ms", "100"};
  }
  std::string T(const std::string& table) { return schema_ + "." + table; }

  // allotd's view of every item and buyer, as PostgreSQL should have it.
  struct ItemState {
    std::map<std::string, long long> fields;                       // INV.GET
    std::map<std::string, std::pair<long long, long long>> users;  // held, bought
    std::set<std::string> holds;                                   // user/holdid
  };
  std::map<std::string, ItemState> Snapshot(redisContext* c, const std::vector<std::string>& items,
                                            const std::vector<std::string>& users) {
    std::map<std::string, ItemState> out;
    for (const std::string& item : items) {
      ReplyPtr g = Cmd(c, {"INV.GET", item});
      if (!g || g->type != REDIS_REPLY_ARRAY) continue;  // deleted
      ItemState& st = out[item];
      for (size_t i = 0; i + 1 < g->elements; i += 2) {
        st.fields[std::string(g->element[i]->str, g->element[i]->len)] = g->element[i + 1]->integer;
      }
      for (const std::string& u : users) {
        ReplyPtr r = Cmd(c, {"INV.USER", item, u});
        long long held = r->element[1]->integer, bought = r->element[3]->integer;
        if (held != 0 || bought != 0) st.users[u] = {held, bought};
        for (size_t k = 0; k < r->element[5]->elements; ++k) {
          st.holds.insert(u + "/" + std::string(r->element[5]->element[k]->str));
        }
      }
    }
    return out;
  }

  // Compares allotd's items with PostgreSQL's tables.
  void ExpectPgEquals(Pg& pg, const std::map<std::string, ItemState>& state) {
    std::vector<std::string> keys = pg.Rows("SELECT key FROM " + T("inventory") + " ORDER BY key");
    std::vector<std::string> want;
    for (const auto& [k, st] : state) want.push_back(k);
    EXPECT_EQ(keys, want);
    for (const auto& [item, st] : state) {
      std::string row = pg.One("SELECT total, available, held, sold, per_user_limit FROM " +
                               T("inventory") + " WHERE key = '" + item + "'");
      const auto& f = st.fields;
      EXPECT_EQ(row, std::to_string(f.at("total")) + "|" + std::to_string(f.at("available")) + "|" +
                         std::to_string(f.at("held")) + "|" + std::to_string(f.at("sold")) + "|" +
                         std::to_string(f.at("limit")))
          << item;
      // Buyers: bought = sold minus cancelled rows of this incarnation; held = open holds.
      std::map<std::string, std::pair<long long, long long>> users;
      for (const std::string& r :
           pg.Rows("SELECT p.user_id, sum(CASE status WHEN 'sold' THEN qty ELSE -qty END) FROM " +
                   T("purchases") + " p JOIN " + T("inventory") +
                   " i ON i.item_id = p.item_id WHERE i.key = '" + item + "' GROUP BY 1")) {
        auto bar = r.find('|');
        long long bought = std::stoll(r.substr(bar + 1));
        if (bought != 0) users[r.substr(0, bar)].second = bought;
      }
      std::set<std::string> holds;
      for (const std::string& r : pg.Rows("SELECT user_id, hold_id, qty FROM " + T("holds") +
                                          " WHERE key = '" + item + "'")) {
        auto b1 = r.find('|'), b2 = r.rfind('|');
        std::string user = r.substr(0, b1);
        holds.insert(user + "/" + r.substr(b1 + 1, b2 - b1 - 1));
        users[user].first += std::stoll(r.substr(b2 + 1));
      }
      EXPECT_EQ(users, st.users) << item;
      EXPECT_EQ(holds, st.holds) << item;
    }
  }

  // n sales of item, one unit each, to users prefix0, prefix1, ...
  static void Buy(redisContext* c, const std::string& item, int n, const std::string& prefix) {
    for (int i = 0; i < n; ++i) {
      ReplyPtr r = Cmd(c, {"INV.BUY", item, prefix + std::to_string(i)});
      ASSERT_TRUE(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) << item;
    }
  }
  static std::string Str(const ReplyPtr& r) {
    return r && (r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_STRING ||
                 r->type == REDIS_REPLY_ERROR)
               ? std::string(r->str, r->len)
               : "<reply type " + std::to_string(r ? r->type : -1) + ">";
  }
  // Waits until INFO persistence counts more than `before` checkpoints (BGSAVE).
  static bool WaitCheckpoints(redisContext* c, long long before) {
    for (int i = 0; i < 600; ++i) {
      std::string n = InfoField(c, "checkpoints");
      if (!n.empty() && std::stoll(n) > before) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // key|rows|distinct seqs of every key in purchases; and no (item_id, seq) twice.
  std::vector<std::string> PurchasesByKey(Pg& pg) {
    EXPECT_EQ(pg.One("SELECT count(*) FROM (SELECT item_id, seq FROM " + T("purchases") +
                     " GROUP BY 1, 2 HAVING count(*) > 1) d"),
              "0");
    return pg.Rows("SELECT key, count(*), count(DISTINCT seq) FROM " + T("purchases") +
                   " GROUP BY key ORDER BY key");
  }

  static PgServer* pg_;
  std::string root_;
  std::string schema_;
};

PgServer* PgSyncTest::pg_ = nullptr;

// A load of holds, confirms, releases, buys, cancels and mirrored keys; then every table
// equals allotd's state.
TEST_F(PgSyncTest, TablesEqualAllotdStateAfterLoad) {
  Allotd d(root_ + "/data", SyncArgs());
  Ctx c = d.Client();
  std::vector<std::string> items, users;
  for (int i = 0; i < 8; ++i) items.push_back("item:" + std::to_string(i));
  for (int i = 0; i < 12; ++i) users.push_back("user" + std::to_string(i));
  for (size_t i = 0; i < items.size(); ++i) {
    ASSERT_EQ(
        std::string(Cmd(c.get(), {"INV.CREATE", items[i], "60", "LIMIT", i % 2 ? "4" : "0"})->str),
        "OK");
  }
  std::mt19937 rng(42);
  std::vector<std::pair<std::string, std::string>> holds;  // item, hold id
  for (int op = 0; op < 1500; ++op) {
    const std::string& item = items[rng() % items.size()];
    const std::string& user = users[rng() % users.size()];
    std::string qty = std::to_string(1 + rng() % 2);
    switch (rng() % 8) {
      case 0:
      case 1:
        Cmd(c.get(), {"INV.BUY", item, user, "QTY", qty});
        break;
      case 2:
      case 3: {
        // Some holds expire during the test (the timer expires them: not logged).
        std::string ttl = rng() % 3 == 0 ? "300" : "600000";
        ReplyPtr r = Cmd(c.get(), {"INV.HOLD", item, user, "QTY", qty, "TTL", ttl});
        if (r->type == REDIS_REPLY_STRING) holds.emplace_back(item, r->str);
        break;
      }
      case 4:
        if (!holds.empty()) {
          auto [it, id] = holds[rng() % holds.size()];
          Cmd(c.get(), {"INV.CONFIRM", it, id});
        }
        break;
      case 5:
        if (!holds.empty()) {
          auto [it, id] = holds[rng() % holds.size()];
          Cmd(c.get(), {"INV.RELEASE", it, id});
        }
        break;
      case 6:
        Cmd(c.get(), {"INV.CANCEL", item, user, "QTY", "1"});
        break;
      case 7:
        Cmd(c.get(), {"INCR", "cnt:" + std::to_string(rng() % 4)});
        Cmd(c.get(), {"SADD", "s:" + std::to_string(rng() % 2), user});
        Cmd(c.get(), {"SET", "plain:" + std::to_string(rng() % 4), "x"});  // not mirrored
        break;
    }
  }
  Cmd(c.get(), {"INV.RESTOCK", items[0], "10"});
  Cmd(c.get(), {"DEL", items[7]});  // its rows go, its purchases stay (history)
  Cmd(c.get(), {"SET", "cnt:bin", std::string("a\0b\\\n", 5), "PX", "600000"});
  std::this_thread::sleep_for(600ms);  // the short holds expire
  ASSERT_TRUE(WaitCaughtUp(c.get()));

  Pg pg(pg_->url());
  ExpectPgEquals(pg, Snapshot(c.get(), items, users));
  // Mirrored plain keys, bytes exact; other keys are not mirrored.
  for (int i = 0; i < 4; ++i) {
    std::string k = "cnt:" + std::to_string(i);
    ReplyPtr v = Cmd(c.get(), {"GET", k});
    std::string want = v->type == REDIS_REPLY_STRING ? std::string(v->str, v->len) : "<0 rows>";
    std::string got =
        pg.One("SELECT convert_from(value, 'UTF8') FROM " + T("kv") + " WHERE key = '" + k + "'");
    EXPECT_EQ(got, want) << k;
  }
  EXPECT_EQ(pg.One("SELECT encode(value, 'hex'), expires_at IS NOT NULL FROM " + T("kv") +
                   " WHERE key = 'cnt:bin'"),
            "6100625c0a|t");
  for (int i = 0; i < 2; ++i) {
    std::string k = "s:" + std::to_string(i);
    ReplyPtr m = Cmd(c.get(), {"SMEMBERS", k});
    std::set<std::string> want;
    for (size_t j = 0; j < m->elements; ++j) want.insert(m->element[j]->str);
    auto rows = pg.Rows("SELECT convert_from(member, 'UTF8') FROM " + T("kv_set_members") +
                        " WHERE key = '" + k + "'");
    EXPECT_EQ(std::set<std::string>(rows.begin(), rows.end()), want) << k;
  }
  EXPECT_EQ(pg.One("SELECT count(*) FROM " + T("kv") + " WHERE key LIKE 'plain:%'"), "0");
  EXPECT_EQ(pg.One("SELECT count(*) FROM " + T("purchases") + " WHERE key = 'item:7'") != "0",
            true);
  // sync_state is at the durable position.
  EXPECT_EQ(pg.One("SELECT lsn FROM " + T("sync_state")), InfoField(c.get(), "pg_synced_lsn"));
  EXPECT_EQ(pg.One("SELECT max(version) FROM " + T("schema_version")), "1");
}

// Sells while PostgreSQL goes down and comes back, and allotd is killed -9 and restarted at a
// random point in between: every acknowledged sale has exactly one purchases row, and the
// rows equal allotd's state (a sale whose reply was lost in the kill may exist, once).
TEST_F(PgSyncTest, NoLostOrDuplicatePurchasesAcrossOutageAndCrash) {
  const std::string dir = root_ + "/data";
  std::vector<std::string> args = SyncArgs();
  auto d = std::make_unique<Allotd>(dir, args);
  std::vector<std::string> items = {"a", "b", "c"}, users;
  for (int i = 0; i < 50; ++i) users.push_back("u" + std::to_string(i));
  {
    Ctx c = d->Client();
    for (const auto& it : items) Cmd(c.get(), {"INV.CREATE", it, "1000000"});
  }
  std::atomic<bool> stop{false};
  std::atomic<int> port{d->port()};
  std::map<std::pair<std::string, std::string>, long long> acked;  // (item, user) -> units
  std::atomic<long long> acked_total{0};
  std::thread load([&] {
    std::mt19937 rng(7);
    Ctx c;
    while (!stop.load()) {
      if (!c || c->err != 0) {
        c.reset(redisConnect("127.0.0.1", port.load()));
        if (c == nullptr || c->err != 0) {
          c.reset();
          std::this_thread::sleep_for(20ms);
          continue;
        }
      }
      // A pipeline of 32 buys; only replies that arrive count as acknowledged.
      std::vector<std::pair<std::string, std::string>> sent;
      for (int i = 0; i < 32; ++i) {
        sent.emplace_back(items[rng() % items.size()], users[rng() % users.size()]);
        redisAppendCommand(c.get(), "INV.BUY %s %s", sent.back().first.c_str(),
                           sent.back().second.c_str());
      }
      for (auto& s : sent) {
        void* r = nullptr;
        if (redisGetReply(c.get(), &r) != REDIS_OK) break;
        ReplyPtr rp(static_cast<redisReply*>(r), freeReplyObject);
        if (rp->type == REDIS_REPLY_INTEGER && rp->integer == 1) {
          ++acked[s];
          ++acked_total;
        }
      }
    }
  });
  std::mt19937 rng(static_cast<unsigned>(std::random_device{}()));
  auto ms = [&](int lo, int hi) { return std::chrono::milliseconds(lo + rng() % (hi - lo)); };
  std::this_thread::sleep_for(ms(300, 800));
  ASSERT_TRUE(pg_->Stop());  // PostgreSQL down mid-load
  std::this_thread::sleep_for(ms(200, 1200));
  d->Kill();  // allotd crashes at a random point while PostgreSQL is down
  d = std::make_unique<Allotd>(dir, args);
  port.store(d->port());
  std::this_thread::sleep_for(ms(200, 800));
  ASSERT_TRUE(pg_->Start());  // PostgreSQL back: catch-up
  std::this_thread::sleep_for(ms(300, 1000));
  d->Kill();  // and once more while catching up
  d = std::make_unique<Allotd>(dir, args);
  port.store(d->port());
  std::this_thread::sleep_for(ms(300, 800));
  stop.store(true);
  load.join();
  Ctx c = d->Client();
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  ASSERT_GT(acked_total.load(), 100);

  Pg pg(pg_->url());
  // Exactly one row per event id (the primary key), and per buyer the rows equal allotd.
  long long rows = 0;
  for (const auto& it : items) {
    for (const auto& u : users) {
      ReplyPtr r = Cmd(c.get(), {"INV.USER", it, u});
      long long bought = r->element[3]->integer;
      std::string pgsum = pg.One("SELECT coalesce(sum(qty), 0) FROM " + T("purchases") +
                                 " WHERE key = '" + it + "' AND user_id = '" + u + "'");
      EXPECT_EQ(pgsum, std::to_string(bought)) << it << " " << u;
      auto a = acked.find({it, u});
      long long want = a == acked.end() ? 0 : a->second;
      EXPECT_GE(bought, want) << "an acknowledged sale was lost: " << it << " " << u;
      // Replies lost in the kills: at most one pipeline per kill.
      EXPECT_LE(bought, want + 64) << it << " " << u;
      rows += bought;
    }
  }
  EXPECT_EQ(pg.One("SELECT count(*) FROM " + T("purchases")), std::to_string(rows));
  EXPECT_EQ(pg.One("SELECT count(*) FROM (SELECT item_id, seq FROM " + T("purchases") +
                   " GROUP BY 1, 2 HAVING count(*) > 1) d"),
            "0");
  ExpectPgEquals(pg, Snapshot(c.get(), items, users));
}

// PostgreSQL down: sales go on until the backlog limit, then get TRYAGAIN; INFO warns
// before that; when PostgreSQL returns, sales resume and every sale is there.
TEST_F(PgSyncTest, BacklogLimitRefusesSalesUntilPostgresReturns) {
  std::vector<std::string> args = SyncArgs();
  args.insert(args.end(), {"--pg-backlog-max", "1000"});
  Allotd d(root_ + "/data", args);
  Ctx c = d.Client();
  Cmd(c.get(), {"INV.CREATE", "item", "100000"});
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  ASSERT_TRUE(pg_->Stop());
  int sold = 0;
  std::string refused;
  for (int i = 0; i < 3000 && refused.empty(); ++i) {
    ReplyPtr r = Cmd(c.get(), {"INV.BUY", "item", "u" + std::to_string(i)});
    if (r->type == REDIS_REPLY_ERROR) {
      refused = r->str;
    } else {
      ++sold;
    }
    if (i == 900) {
      EXPECT_EQ(InfoField(c.get(), "pg_backlog_warning"), "1");
    }
  }
  EXPECT_EQ(refused.substr(0, 9), "TRYAGAIN ");
  EXPECT_GE(sold, 1000);
  EXPECT_LT(sold, 1500);  // the limit is soft by about kPgBacklogCheckMs of sales
  EXPECT_EQ(InfoField(c.get(), "pg_sync"), "down");
  EXPECT_EQ(InfoField(c.get(), "pg_refusing_sales"), "1");
  EXPECT_NE(d.log().find("new sales are REFUSED"), std::string::npos);
  ASSERT_TRUE(pg_->Start());
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  EXPECT_EQ(InfoField(c.get(), "pg_refusing_sales"), "0");
  EXPECT_EQ(Cmd(c.get(), {"INV.BUY", "item", "late"})->integer, 1);
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  Pg pg(pg_->url());
  EXPECT_EQ(pg.One("SELECT count(*) FROM " + T("purchases")), std::to_string(sold + 1));
}

// Rebuild a data directory from PostgreSQL, start allotd on it: the same state, and new
// sales continue the same purchase ids without collisions.
TEST_F(PgSyncTest, RestoreFromPostgresRoundTrip) {
  std::vector<std::string> items = {"x", "y"}, users = {"ann", "bob", "cat", "dan"};
  std::map<std::string, ItemState> before;
  {
    Allotd d(root_ + "/data", SyncArgs());
    Ctx c = d.Client();
    Cmd(c.get(), {"INV.CREATE", "x", "20", "LIMIT", "5"});
    Cmd(c.get(), {"INV.CREATE", "y", "7", "HOLD", "600000"});
    Cmd(c.get(), {"INV.BUY", "x", "ann", "QTY", "3"});
    Cmd(c.get(), {"INV.BUY", "y", "bob"});
    ReplyPtr h = Cmd(c.get(), {"INV.HOLD", "x", "bob", "QTY", "2"});
    Cmd(c.get(), {"INV.CONFIRM", "x", h->str});
    Cmd(c.get(), {"INV.HOLD", "x", "cat", "QTY", "2", "TTL", "600000"});
    Cmd(c.get(), {"INV.HOLD", "y", "dan", "QTY", "3", "ID", "order-77"});
    Cmd(c.get(), {"INV.CANCEL", "x", "ann", "QTY", "1"});
    Cmd(c.get(), {"SET", "cnt:visits", "12345"});
    Cmd(c.get(), {"SADD", "s:vip", "ann", "dan"});
    ASSERT_TRUE(WaitCaughtUp(c.get()));
    before = Snapshot(c.get(), items, users);
  }
  const std::string url = pg_->url();
  std::string cmd = std::string(ALLOTD_PATH) + " --restore-from-pg '" + url + "' --dir " + root_ +
                    "/restored --pg-schema " + schema_ + " > " + root_ + "/restore.out 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out(root_ + "/restore.out");
  std::string text((std::istreambuf_iterator<char>(out)), {});
  EXPECT_NE(text.find("2 items, 5 buyers, 2 open holds, 1 strings, 1 sets"), std::string::npos)
      << text;
  // Restoring over an existing log is refused.
  EXPECT_NE(std::system(cmd.c_str()), 0);

  Allotd d(root_ + "/restored", SyncArgs());
  Ctx c = d.Client();
  EXPECT_EQ(Snapshot(c.get(), items, users).size(), 2u);
  auto after = Snapshot(c.get(), items, users);
  for (const auto& it : items) {
    EXPECT_EQ(after[it].fields, before[it].fields) << it;
    EXPECT_EQ(after[it].users, before[it].users) << it;
    EXPECT_EQ(after[it].holds, before[it].holds) << it;
  }
  EXPECT_EQ(std::string(Cmd(c.get(), {"GET", "cnt:visits"})->str), "12345");
  EXPECT_EQ(Cmd(c.get(), {"SCARD", "s:vip"})->integer, 2);
  // The hold kept its id: confirming it sells, and the new row does not collide.
  EXPECT_EQ(Cmd(c.get(), {"INV.CONFIRM", "y", "order-77"})->integer, 1);
  EXPECT_EQ(Cmd(c.get(), {"INV.BUY", "x", "dan"})->integer, 1);
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  Pg pg(url);
  EXPECT_EQ(pg.One("SELECT count(*) FROM " + T("purchases")), "6");
  ExpectPgEquals(pg, Snapshot(c.get(), items, users));
}

// Embedded: sales made while PostgreSQL is unreachable are in the items' ledgers, which
// checkpoints carry; a checkpoint happens (the log before it is kept: trim floor), the
// engine restarts and PostgreSQL gets every sale exactly once.
TEST_F(PgSyncTest, UnsyncedSalesSurviveCheckpointAndRestart) {
  allot::Config cfg;
  cfg.threads = 2;
  cfg.dir = root_ + "/embedded";
  cfg.checkpoint_log_records = 100;
  cfg.pg_schema = schema_;
  cfg.pg_sync_interval_ms = 50;
  cfg.pg_url = "postgresql://postgres@127.0.0.1:1/postgres";  // nothing listens there
  uint64_t log_records = 0, checkpoints = 0;
  {
    allot::Engine e(cfg);
    e.call({"INV.CREATE", "item", "100000"});
    for (int i = 0; i < 450; ++i) {
      std::string u = "u" + std::to_string(i % 30);
      ASSERT_EQ(e.call({"INV.BUY", "item", u}).integer(), 1);
    }
    std::this_thread::sleep_for(200ms);
    allot::internal::WalStats st = e.impl().wal()->stats();
    checkpoints = st.checkpoints;
    log_records = st.log_records;
    EXPECT_EQ(e.impl().pg_sync()->status().state, "down");
    EXPECT_EQ(e.impl().pg_sync()->status().backlog_events, 450);
  }
  EXPECT_GE(checkpoints, 3u);
  (void)log_records;
  cfg.pg_url = pg_->url();
  allot::Engine e(cfg);
  for (int i = 0; i < 50 && e.impl().pg_sync()->status().synced_lsn < 451; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(e.impl().pg_sync()->status().synced_lsn, 451u);
  EXPECT_EQ(e.impl().pg_sync()->status().backlog_events, 0);
  Pg pg(pg_->url());
  EXPECT_EQ(pg.One("SELECT count(*), sum(qty), count(DISTINCT seq) FROM " + T("purchases")),
            "450|450|450");
  EXPECT_EQ(pg.One("SELECT sold FROM " + T("inventory")), "450");
}

// Items deleted every way while their sales are not in PostgreSQL yet (DEL, UNLINK,
// overwrite, expiry, RENAME onto them, FLUSHALL), and allotd killed and restarted before
// PostgreSQL returns: every sale still gets exactly one purchases row, under the key the
// item had when it went.
TEST_F(PgSyncTest, DeletedItemsKeepTheirUnsentPurchases) {
  const std::string dir = root_ + "/data";
  auto d = std::make_unique<Allotd>(dir, SyncArgs());
  const std::vector<std::string> items = {"del", "unlink", "over", "exp", "src", "dst", "flush"};
  {
    Ctx c = d->Client();
    for (const auto& it : items) Cmd(c.get(), {"INV.CREATE", it, "1000"});
    ASSERT_TRUE(WaitCaughtUp(c.get()));
  }
  ASSERT_TRUE(pg_->Stop());
  {
    Ctx c = d->Client();
    for (size_t i = 0; i < items.size(); ++i) {
      for (size_t n = 0; n <= i; ++n) {  // 1 sale of "del", 2 of "unlink", ...
        ASSERT_EQ(Cmd(c.get(), {"INV.BUY", items[i], "u" + std::to_string(n)})->integer, 1);
      }
    }
    EXPECT_EQ(Cmd(c.get(), {"DEL", "del"})->integer, 1);
    EXPECT_EQ(Cmd(c.get(), {"UNLINK", "unlink"})->integer, 1);
    EXPECT_EQ(std::string(Cmd(c.get(), {"SET", "over", "x"})->str), "OK");
    EXPECT_EQ(Cmd(c.get(), {"PEXPIRE", "exp", "50"})->integer, 1);
    EXPECT_EQ(std::string(Cmd(c.get(), {"RENAME", "src", "dst"})->str), "OK");
    std::this_thread::sleep_for(300ms);  // the shard timer expires "exp"
    EXPECT_EQ(Cmd(c.get(), {"EXISTS", "exp"})->integer, 0);
    EXPECT_EQ(std::string(Cmd(c.get(), {"FLUSHALL"})->str), "OK");
  }
  d->Kill();  // recovery replays the sales and the deletions
  d = std::make_unique<Allotd>(dir, SyncArgs());
  ASSERT_TRUE(pg_->Start());
  Ctx c = d->Client();
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  Pg pg(pg_->url());
  // "src" sold 5 and was renamed onto "dst" (6 sales, dropped): both ledgers end as "dst".
  EXPECT_EQ(pg.Rows("SELECT key, count(*), count(DISTINCT user_id) FROM " + T("purchases") +
                    " GROUP BY key ORDER BY key"),
            (std::vector<std::string>{"del|1|1", "dst|11|6", "exp|4|4", "flush|7|7", "over|3|3",
                                      "unlink|2|2"}));
  EXPECT_EQ(pg.One("SELECT count(*) FROM (SELECT item_id, seq FROM " + T("purchases") +
                   " GROUP BY 1, 2 HAVING count(*) > 1) d"),
            "0");
  EXPECT_EQ(pg.One("SELECT count(*) FROM " + T("inventory")), "0");
  EXPECT_EQ(InfoField(c.get(), "pg_backlog_events"), "0");
}

// A deleted item's unsent sales (orphans) are part of checkpoint images: automatic
// checkpoints go on while they exist, and a restart from a checkpoint taken after the
// deletion still sends them.
TEST_F(PgSyncTest, NoCheckpointLosesTheSalesOfADeletedItem) {
  allot::Config cfg;
  cfg.threads = 2;
  cfg.dir = root_ + "/embedded";
  cfg.checkpoint_log_records = 100;
  cfg.pg_schema = schema_;
  cfg.pg_sync_interval_ms = 50;
  cfg.pg_url = "postgresql://postgres@127.0.0.1:1/postgres";  // nothing listens there
  {
    allot::Engine e(cfg);
    e.call({"INV.CREATE", "gone", "100000"});
    e.call({"INV.CREATE", "kept", "100000"});
    for (int i = 0; i < 300; ++i) {
      ASSERT_EQ(e.call({"INV.BUY", "gone", "u" + std::to_string(i % 30)}).integer(), 1);
    }
    std::this_thread::sleep_for(300ms);
    const uint64_t before = e.impl().wal()->stats().checkpoints;
    EXPECT_GE(before, 2u);
    EXPECT_EQ(e.call({"DEL", "gone"}).integer(), 1);
    for (int i = 0; i < 300; ++i) {
      ASSERT_EQ(e.call({"INV.BUY", "kept", "v" + std::to_string(i % 30)}).integer(), 1);
    }
    std::this_thread::sleep_for(300ms);
    EXPECT_GT(e.impl().wal()->stats().checkpoints, before);  // with the orphans in them
    EXPECT_EQ(e.impl().pg_sync()->status().backlog_events, 600);
  }
  cfg.pg_url = pg_->url();
  allot::Engine e(cfg);
  for (int i = 0; i < 100; ++i) {
    auto st = e.impl().pg_sync()->status();
    if (st.caught_up && st.backlog_events == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  Pg pg(pg_->url());
  EXPECT_EQ(pg.Rows("SELECT key, count(*), count(DISTINCT seq) FROM " + T("purchases") +
                    " GROUP BY key ORDER BY key"),
            (std::vector<std::string>{"gone|300|300", "kept|300|300"}));
  // Once PostgreSQL has them, checkpoints go on.
  const uint64_t synced = e.impl().wal()->stats().checkpoints;
  for (int i = 0; i < 300; ++i) e.call({"INV.BUY", "kept", "w"});
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(e.impl().wal()->stats().checkpoints, synced);
}

// An explicit SAVE or BGSAVE while deleted items' sales are not in PostgreSQL, then a crash
// before PostgreSQL returns: the checkpoint trimmed the replay that would re-create the
// orphans, so they must be in the image itself (checkpoint.h, version 4).
TEST_F(PgSyncTest, SaveWhileOrphansExistThenCrashKeepsTheirPurchases) {
  const std::string dir = root_ + "/data";
  auto d = std::make_unique<Allotd>(dir, SyncArgs());
  {
    Ctx c = d->Client();
    for (const char* it : {"gone", "bg", "kept"}) Cmd(c.get(), {"INV.CREATE", it, "1000"});
    ASSERT_TRUE(WaitCaughtUp(c.get()));
  }
  ASSERT_TRUE(pg_->Stop());
  {
    Ctx c = d->Client();
    Buy(c.get(), "gone", 5, "u");
    Buy(c.get(), "bg", 3, "v");
    Buy(c.get(), "kept", 2, "w");
    EXPECT_EQ(Cmd(c.get(), {"DEL", "gone"})->integer, 1);
    EXPECT_EQ(Str(Cmd(c.get(), {"SAVE"})), "OK");
    EXPECT_EQ(Cmd(c.get(), {"DEL", "bg"})->integer, 1);
    long long before = std::stoll(InfoField(c.get(), "checkpoints"));
    EXPECT_EQ(Str(Cmd(c.get(), {"BGSAVE"})), "Background saving started");
    ASSERT_TRUE(WaitCheckpoints(c.get(), before));
    EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "10"), "10");
  }
  d->Kill();
  d = std::make_unique<Allotd>(dir, SyncArgs());
  {
    Ctx c = d->Client();
    EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "10"), "10");  // 8 of them from the image
  }
  ASSERT_TRUE(pg_->Start());
  Ctx c = d->Client();
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  Pg pg(pg_->url());
  EXPECT_EQ(PurchasesByKey(pg), (std::vector<std::string>{"bg|3|3", "gone|5|5", "kept|2|2"}));
  EXPECT_EQ(pg.Rows("SELECT key, sold FROM " + T("inventory")),
            (std::vector<std::string>{"kept|2"}));
  EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "0"), "0");
}

// Only database 0 is mirrored: an item that leaves it (MOVE, SWAPDB) is deleted for
// PostgreSQL, and its unsent sales still get their rows; an item that arrives (MOVE into
// 0) is created. Checked across a checkpoint and a crash while PostgreSQL is down.
TEST_F(PgSyncTest, ItemsLeavingDatabase0KeepTheirUnsentPurchases) {
  const std::string dir = root_ + "/data";
  auto d = std::make_unique<Allotd>(dir, SyncArgs());
  Pg pg(pg_->url());
  {
    Ctx c = d->Client();
    for (const char* it : {"mv", "sw", "back", "stay"}) Cmd(c.get(), {"INV.CREATE", it, "1000"});
    ASSERT_TRUE(WaitCaughtUp(c.get()));  // past the full round of the start
    // Created and sold in database 3 (not mirrored), then moved into 0: a new row.
    EXPECT_EQ(Str(Cmd(c.get(), {"SELECT", "3"})), "OK");
    Cmd(c.get(), {"INV.CREATE", "in3", "100"});
    Buy(c.get(), "in3", 1, "x");
    EXPECT_EQ(Cmd(c.get(), {"MOVE", "in3", "0"})->integer, 1);
    ASSERT_TRUE(WaitCaughtUp(c.get()));
    EXPECT_EQ(pg.Rows("SELECT key, sold FROM " + T("inventory") + " ORDER BY key"),
              (std::vector<std::string>{"back|0", "in3|1", "mv|0", "stay|0", "sw|0"}));
    EXPECT_EQ(Str(Cmd(c.get(), {"SELECT", "0"})), "OK");
    EXPECT_EQ(Cmd(c.get(), {"DEL", "in3"})->integer, 1);
  }
  ASSERT_TRUE(pg_->Stop());
  {
    Ctx c = d->Client();
    Buy(c.get(), "mv", 2, "u");
    Buy(c.get(), "sw", 3, "u");
    Buy(c.get(), "back", 1, "u");
    Buy(c.get(), "stay", 4, "u");
    EXPECT_EQ(Cmd(c.get(), {"MOVE", "mv", "5"})->integer, 1);
    // Out and back in: the sales before it are orphans, the later ones the item's.
    EXPECT_EQ(Cmd(c.get(), {"MOVE", "back", "6"})->integer, 1);
    EXPECT_EQ(Str(Cmd(c.get(), {"SELECT", "6"})), "OK");
    EXPECT_EQ(Cmd(c.get(), {"MOVE", "back", "0"})->integer, 1);
    EXPECT_EQ(Str(Cmd(c.get(), {"SELECT", "0"})), "OK");
    Buy(c.get(), "back", 1, "late");
    // Everything out to 7 and back, but "sw" stays behind (moved on to 8 meanwhile).
    EXPECT_EQ(Str(Cmd(c.get(), {"SWAPDB", "0", "7"})), "OK");
    EXPECT_EQ(Str(Cmd(c.get(), {"SELECT", "7"})), "OK");
    Buy(c.get(), "sw", 1, "in7");  // not in database 0: no row
    EXPECT_EQ(Cmd(c.get(), {"MOVE", "sw", "8"})->integer, 1);
    EXPECT_EQ(Str(Cmd(c.get(), {"SELECT", "0"})), "OK");
    EXPECT_EQ(Str(Cmd(c.get(), {"SWAPDB", "0", "7"})), "OK");
    Buy(c.get(), "stay", 1, "after");
    EXPECT_EQ(Str(Cmd(c.get(), {"SAVE"})), "OK");
    EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "12"), "12");
  }
  d->Kill();
  d = std::make_unique<Allotd>(dir, SyncArgs());
  ASSERT_TRUE(pg_->Start());
  Ctx c = d->Client();
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  Pg pg2(pg_->url());
  EXPECT_EQ(PurchasesByKey(pg2),
            (std::vector<std::string>{"back|2|2", "mv|2|2", "stay|5|5", "sw|3|3"}));
  // "mv" (database 5) and "sw" (database 8) have no row any more, as deleted items.
  EXPECT_EQ(pg2.Rows("SELECT key, sold FROM " + T("inventory") + " ORDER BY key"),
            (std::vector<std::string>{"back|2", "stay|5"}));
  EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "0"), "0");
}

// Other ways a sale could miss PostgreSQL, with PostgreSQL down throughout: a RENAME to a
// new key (on another shard) with sales before and after it, expiry by the shard timer and
// by a lookup (lazy), FLUSHALL ASYNC; restarts while orphans exist, from a checkpoint
// holding them (SAVE) and from the log alone (replay re-creates them), and a checkpoint of
// recovered orphans.
TEST_F(PgSyncTest, RenameExpiryFlushallAsyncAndRestartsKeepUnsentPurchases) {
  const std::string dir = root_ + "/data";
  std::vector<std::string> args = SyncArgs();
  args.insert(args.end(), {"--enable-debug-command", "yes"});  // DEBUG SET-ACTIVE-EXPIRE
  auto d = std::make_unique<Allotd>(dir, args);
  {
    Ctx c = d->Client();
    for (const char* it : {"rn", "ex", "lz", "fl"}) Cmd(c.get(), {"INV.CREATE", it, "1000"});
    // Keys are not dumped: DUMP/RESTORE cannot copy an item (and its purchase ids).
    EXPECT_EQ(Str(Cmd(c.get(), {"DUMP", "rn"})).rfind("ERR unknown command 'DUMP'", 0), 0u);
    ASSERT_TRUE(WaitCaughtUp(c.get()));
  }
  ASSERT_TRUE(pg_->Stop());
  {
    Ctx c = d->Client();
    Buy(c.get(), "rn", 2, "u");
    // On another shard (of 2) than "rn": the item and its ledger change shard.
    EXPECT_EQ(Str(Cmd(c.get(), {"RENAME", "rn", "rn-new-name"})), "OK");
    Buy(c.get(), "rn-new-name", 1, "v");
    Buy(c.get(), "ex", 3, "u");
    EXPECT_EQ(Cmd(c.get(), {"PEXPIRE", "ex", "50"})->integer, 1);
    std::this_thread::sleep_for(300ms);  // the shard timer expires "ex"
    EXPECT_EQ(Cmd(c.get(), {"EXISTS", "ex"})->integer, 0);
    // Lazy expiry: the timer is off, a lookup finds the item past its TTL and deletes it.
    Buy(c.get(), "lz", 2, "u");
    EXPECT_EQ(Str(Cmd(c.get(), {"DEBUG", "SET-ACTIVE-EXPIRE", "0"})), "OK");
    EXPECT_EQ(Cmd(c.get(), {"PEXPIRE", "lz", "50"})->integer, 1);
    std::this_thread::sleep_for(150ms);
    EXPECT_EQ(Cmd(c.get(), {"EXISTS", "lz"})->integer, 0);
    EXPECT_EQ(Str(Cmd(c.get(), {"DEBUG", "SET-ACTIVE-EXPIRE", "1"})), "OK");
    EXPECT_EQ(Str(Cmd(c.get(), {"SAVE"})), "OK");
  }
  d->Kill();  // restart 1: the expired item's orphans come from the image
  d = std::make_unique<Allotd>(dir, args);
  {
    Ctx c = d->Client();
    EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "8"), "8");
    Buy(c.get(), "rn-new-name", 1, "w");
    Buy(c.get(), "fl", 4, "u");
    EXPECT_EQ(Str(Cmd(c.get(), {"FLUSHALL", "ASYNC"})), "OK");
  }
  d->Kill();  // restart 2: the flushed items' orphans come from replaying the log
  d = std::make_unique<Allotd>(dir, args);
  {
    Ctx c = d->Client();
    EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "13"), "13");
    EXPECT_EQ(Str(Cmd(c.get(), {"SAVE"})), "OK");  // every orphan into a new image
  }
  d->Kill();  // restart 3: from that image alone
  d = std::make_unique<Allotd>(dir, args);
  ASSERT_TRUE(pg_->Start());
  Ctx c = d->Client();
  ASSERT_TRUE(WaitCaughtUp(c.get()));
  Pg pg(pg_->url());
  // The renamed item's unsent sales went with it: every row says its new name.
  EXPECT_EQ(PurchasesByKey(pg),
            (std::vector<std::string>{"ex|3|3", "fl|4|4", "lz|2|2", "rn-new-name|4|4"}));
  EXPECT_EQ(pg.One("SELECT count(*) FROM " + T("inventory")), "0");
  EXPECT_EQ(WaitInfoField(c.get(), "pg_backlog_events", "0"), "0");
}

}  // namespace
