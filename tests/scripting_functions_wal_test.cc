// scripting_functions_wal_test.cc: function libraries survive restarts. FUNCTION LOAD /
// DELETE / FLUSH / RESTORE are logged (one record each, none for a failure or a read) and
// replayed; a checkpoint carries the libraries, so they survive the log being trimmed; a
// version-2 checkpoint meta (no libraries) still loads.
#include <allot/engine.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "engine/engine_impl.h"
#include "engine/scripting/registry.h"
#include "engine/wal/checkpoint.h"
#include "engine/wal/crc32c.h"
#include "tests/support/engine_fixture.h"
#include "tests/wal_support.h"

namespace allot {
void PrintTo(const Reply& r, std::ostream* os) { *os << r.debug_string(); }
}  // namespace allot

namespace allot::testing {
namespace {

constexpr const char* kSale =
    "#!lua name=sale\nredis.register_function('buy', function(keys, args) "
    "redis.call('DECR', keys[1]) return redis.call('SADD', keys[2], args[1]) end)";
constexpr const char* kEcho =
    "#!lua name=echo\nredis.register_function{function_name='echo', callback=function(keys, "
    "args) return args[1] end, flags={'no-writes'}}";

class FunctionsWalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("allot-functions-wal");
    Open();
  }
  void TearDown() override {
    engine_.reset();
    internal::ScriptRegistry::Get().flush_libraries();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    engine_.reset();
    // A new process would start with no libraries: make sure none survive in memory.
    internal::ScriptRegistry::Get().flush_libraries();
    Config cfg;
    cfg.threads = 4;
    cfg.dir = dir_;
    cfg.durability = Durability::kAlways;
    cfg.clock_ms = [] { return int64_t{1767225600000}; };
    cfg.active_expire = false;
    cfg.checkpoint_log_records = 0;
    cfg.checkpoint_interval_s = 0;
    engine_ = std::make_unique<Engine>(cfg);
  }
  Reply Run(std::vector<std::string> args) { return engine_->call(args); }
  uint64_t Records() { return engine_->impl().wal()->stats().records; }
  std::vector<std::string> LibraryNames() {
    std::vector<std::string> out;
    Reply list = Run({"FUNCTION", "LIST"});
    for (const Reply& lib : list.array()) {
      out.push_back(lib.find("library_name")->string());
    }
    return out;
  }
  size_t LogEntries() {
    size_t n = 0;
    EditLog(dir_, [&](MDB_txn* txn, MDB_dbi dbi) {
      MDB_stat st;
      mdb_stat(txn, dbi, &st);
      n = st.ms_entries;
    });
    return n;
  }

  std::string dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(FunctionsWalTest, LoadedLibrarySurvivesARestart) {
  uint64_t before = Records();
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kSale}), Bulk("sale"));
  EXPECT_EQ(Records() - before, 1u);
  // Failures and reads log nothing.
  EXPECT_EQ(Run({"FUNCTION", "LOAD", kSale}), Err("ERR Library 'sale' already exists"));
  EXPECT_EQ(Run({"FUNCTION", "DELETE", "nope"}), Err("ERR Library not found"));
  Run({"FUNCTION", "LIST"});
  Run({"FUNCTION", "DUMP"});
  EXPECT_EQ(Records() - before, 1u);
  ASSERT_EQ(Run({"SET", "stock", "10"}), Ok());
  EXPECT_EQ(Run({"FCALL", "buy", "2", "stock", "buyers", "u1"}), Int(1));
  Open();
  EXPECT_EQ(LibraryNames(), std::vector<std::string>{"sale"});
  EXPECT_EQ(Run({"GET", "stock"}), Bulk("9"));
  EXPECT_EQ(Run({"FCALL", "buy", "2", "stock", "buyers", "u2"}), Int(1));
  EXPECT_EQ(Run({"GET", "stock"}), Bulk("8"));
  // LOAD REPLACE is replayed as such.
  ASSERT_EQ(Run({"FUNCTION", "LOAD", "REPLACE",
                 "#!lua name=sale\nredis.register_function('buy', function(keys, args) return "
                 "'replaced' end)"}),
            Bulk("sale"));
  Open();
  EXPECT_EQ(Run({"FCALL", "buy", "0"}), Bulk("replaced"));
}

TEST_F(FunctionsWalTest, DeleteFlushAndRestorePersist) {
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kSale}), Bulk("sale"));
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kEcho}), Bulk("echo"));
  ASSERT_EQ(Run({"FUNCTION", "DELETE", "sale"}), Ok());
  Open();
  EXPECT_EQ(LibraryNames(), std::vector<std::string>{"echo"});
  EXPECT_EQ(Run({"FCALL_RO", "echo", "0", "hi"}), Bulk("hi"));
  EXPECT_EQ(Run({"FCALL", "buy", "0"}), Err("ERR Function not found"));
  std::string payload = Run({"FUNCTION", "DUMP"}).string();
  ASSERT_EQ(Run({"FUNCTION", "FLUSH"}), Ok());
  Open();
  EXPECT_TRUE(LibraryNames().empty());
  ASSERT_EQ(Run({"FUNCTION", "RESTORE", payload}), Ok());
  Open();
  EXPECT_EQ(LibraryNames(), std::vector<std::string>{"echo"});
  EXPECT_EQ(Run({"FCALL_RO", "echo", "0", "back"}), Bulk("back"));
}

TEST_F(FunctionsWalTest, FunctionLoadInsideMultiIsLogged) {
  Session session;
  ASSERT_EQ(engine_->transaction(session, {{"FUNCTION", "LOAD", kEcho}, {"SET", "k", "v"}}),
            Arr({Bulk("echo"), Ok()}));
  Open();
  EXPECT_EQ(Run({"FCALL_RO", "echo", "0", "x"}), Bulk("x"));
  EXPECT_EQ(Run({"GET", "k"}), Bulk("v"));
}

TEST_F(FunctionsWalTest, CheckpointCarriesTheLibrariesAfterTheLogIsTrimmed) {
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kSale}), Bulk("sale"));
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kEcho}), Bulk("echo"));
  ASSERT_EQ(Run({"FUNCTION", "DELETE", "echo"}), Ok());
  ASSERT_EQ(Run({"SET", "stock", "5"}), Ok());
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  engine_.reset();
  EXPECT_EQ(LogEntries(), 0u);  // every FUNCTION record is gone: only the image has them
  Open();
  EXPECT_EQ(LibraryNames(), std::vector<std::string>{"sale"});
  EXPECT_EQ(Run({"FCALL", "buy", "2", "stock", "buyers", "u1"}), Int(1));
  EXPECT_EQ(Run({"GET", "stock"}), Bulk("4"));
  // Changes after the checkpoint replay on top of its libraries.
  ASSERT_EQ(Run({"FUNCTION", "LOAD", kEcho}), Bulk("echo"));
  Open();
  EXPECT_EQ(LibraryNames(), (std::vector<std::string>{"echo", "sale"}));
  // FUNCTION FLUSH before a checkpoint: the image has no libraries.
  ASSERT_EQ(Run({"FUNCTION", "FLUSH"}), Ok());
  ASSERT_EQ(engine_->impl().checkpoint(), "");
  Open();
  EXPECT_TRUE(LibraryNames().empty());
  EXPECT_EQ(Run({"GET", "stock"}), Bulk("4"));
}

// Libraries changed while checkpoints run: whatever the interleaving, a restart has
// exactly the libraries the engine had.
TEST_F(FunctionsWalTest, ChangesRacingCheckpoints) {
  std::atomic<bool> stop{false};
  std::thread checkpoints([&] {
    while (!stop.load()) ASSERT_EQ(engine_->impl().checkpoint(), "");
  });
  for (int i = 0; i < 60; ++i) {
    std::string name = "l" + std::to_string(i % 7);
    std::string code = "#!lua name=" + name + "\nredis.register_function('f" + name +
                       "', function() return " + std::to_string(i) + " end)";
    Reply r = Run({"FUNCTION", "LOAD", "REPLACE", code});
    ASSERT_EQ(r, Bulk(name));
    if (i % 5 == 4) Run({"FUNCTION", "DELETE", "l" + std::to_string(i % 3)});  // may be gone
  }
  stop.store(true);
  checkpoints.join();
  std::string before = Run({"FUNCTION", "DUMP"}).string();
  std::vector<std::string> names = LibraryNames();
  Open();
  EXPECT_EQ(LibraryNames(), names);
  EXPECT_EQ(Run({"FUNCTION", "DUMP"}).string(), before);
}

TEST(CheckpointMetaTest, VersionTwoLoadsWithoutLibrariesAndThreeRoundTrips) {
  internal::CheckpointMeta meta;
  meta.lsn = 7;
  meta.id = 3;
  meta.chunks = 2;
  meta.keys = 11;
  meta.created_ms = 1767225600000;
  meta.shard_keys = {5, 6};
  meta.functions = std::string("AFNS\x01payload", 12);
  std::string v3 = internal::EncodeCheckpointMeta(meta);
  internal::CheckpointMeta back;
  ASSERT_EQ(internal::DecodeCheckpointMeta(v3, back), "");
  EXPECT_EQ(back.functions, meta.functions);
  EXPECT_EQ(back.shard_keys, meta.shard_keys);
  EXPECT_EQ(back.lsn, 7u);
  // The same meta as version 2 wrote it: no functions field.
  std::string v2 = v3.substr(0, v3.size() - 4 - meta.functions.size());
  v2[4] = 2;
  uint32_t crc = internal::Crc32c(std::string_view(v2).substr(4));
  std::memcpy(v2.data(), &crc, 4);
  ASSERT_EQ(internal::DecodeCheckpointMeta(v2, back), "");
  EXPECT_EQ(back.functions, "");
  EXPECT_EQ(back.keys, 11u);
  EXPECT_EQ(back.shard_keys, meta.shard_keys);
  // A version-3 meta cut inside its functions field is damaged, not version 2.
  std::string cut = v3.substr(0, v3.size() - 3);
  crc = internal::Crc32c(std::string_view(cut).substr(4));
  std::memcpy(cut.data(), &crc, 4);
  EXPECT_EQ(internal::DecodeCheckpointMeta(cut, back), "checkpoint meta has the wrong size");
}

}  // namespace
}  // namespace allot::testing
