// command_fuzz: random command vectors against an in-process allot::Engine (2 shards, a
// test clock that moves only when the input says so).
//
// Input: a little byte code. Each step reads an opcode byte: most run one command whose
// name and arguments are drawn from the command table, a key pool spread over both
// shards (so multi-key commands cross shards), user and hold ids, option words, small
// and edge-case numbers and raw bytes; the others advance the clock or run every shard's
// active expiry. Byte 0 picks RESP2 or RESP3 for the session.
//
// Checked after every command: the reply is well formed in RESP2 and RESP3
// (fuzz/resp_check.h). Checked after every input, for every inventory key in every
// database: INV.GET's total == available + held + sold with every field >= 0, and for
// every user of the item INV.USER's held + bought <= limit (when there is one), with the
// users' units summing to the item's held and sold. Any engine ALLOT_CHECK or sanitizer
// report is a crash as well. Each input starts from FLUSHALL and the same clock.
#include <allot/engine.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/commands/command_table.h"
#include "engine/engine_impl.h"
#include "engine/keyspace/inventory.h"
#include "engine/limits.h"
#include "fuzz/resp_check.h"

namespace {

using allot::Reply;
using allot::Session;

constexpr int64_t kStartMs = 1767225600000;  // 2026-01-01, as the test fixture

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "command_fuzz: %s\n", why.c_str());
  std::abort();
}

std::string Show(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

constexpr std::string_view kWords[] = {
    "LIMIT",
    "HOLD",
    "QTY",
    "TTL",
    "ID",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "NX",
    "XX",
    "GT",
    "LT",
    "KEEPTTL",
    "GET",
    "PERSIST",
    "COUNT",
    "MATCH",
    "TYPE",
    "WITHVALUES",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "RANK",
    "MAXLEN",
    "REPLACE",
    "DB",
    "LEN",
    "IDX",
    "*",
    "",
    "0",
    "-1",
    "1",
    "2",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "1.5",
    "-0",
    "007",
    " 1",
    "1e3",
    "0x10",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1125899906842624",
    "1125899906842625",
    "2592000000",
    "2592000001",
    "4294967296",
    "17179869184",
    "string",
    "set",
    "hash",
    "list",
    "inventory",
};

struct World {
  std::atomic<int64_t> now_ms{kStartMs};
  std::unique_ptr<allot::Engine> engine;
  std::vector<std::string> names;      // every command
  std::vector<std::string> inv_names;  // INV.*
  std::vector<std::string> keys;       // half on each shard

  World() {
    allot::Config cfg;
    cfg.threads = 2;
    cfg.clock_ms = [this] { return now_ms.load(); };
    cfg.active_expire = false;  // the input runs expiry when it wants (deterministic)
    engine = std::make_unique<allot::Engine>(cfg);
    for (const auto& spec : allot::internal::CommandTable::Get().all()) {
      std::string name(spec.name);
      if (name == "SHUTDOWN") continue;  // the engine refuses it anyway; keep inputs useful
      names.push_back(name);
      if (spec.flags & allot::internal::kCmdInventory) inv_names.push_back(name);
    }
    unsigned per_shard[2] = {0, 0};
    for (int i = 0; keys.size() < 6; ++i) {
      std::string k = "k" + std::to_string(i);
      unsigned s = engine->shard_of(k);
      if (per_shard[s] < 3) {
        ++per_shard[s];
        keys.push_back(k);
      }
    }
  }
};

World& TheWorld() {
  static World* w = new World();  // never destroyed: libFuzzer exits with it running
  return *w;
}

class Input {
 public:
  Input(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool done() const { return i_ >= n_; }
  uint8_t next() { return i_ < n_ ? p_[i_++] : 0; }
  std::string bytes(size_t len) {
    std::string s;
    for (size_t k = 0; k < len && i_ < n_; ++k) s.push_back(static_cast<char>(p_[i_++]));
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
};

std::string Arg(World& w, Input& in) {
  uint8_t t = in.next();
  uint8_t v = in.next();
  switch (t % 8) {
    case 0:
    case 1:
      return w.keys[v % w.keys.size()];
    case 2:
      return std::to_string(static_cast<int>(v) - 3);
    case 3:
    case 4:
      return std::string(kWords[v % std::size(kWords)]);
    case 5:
      return "u" + std::to_string(v % 4);
    case 6:
      return std::to_string(1 + v % 6);  // assigned hold ids are 1, 2, ...
    default:
      return in.bytes(v % 24);
  }
}

Reply Call(World& w, Session& session, const std::vector<std::string>& argv) {
  std::vector<std::string_view> v(argv.begin(), argv.end());
  Reply r = w.engine->call(session, v);
  // ALLOT_FUZZ_VERBOSE=1 prints every command and reply (to read a reproducer's story).
  static const bool verbose = std::getenv("ALLOT_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "%s -> %s\n", Show(argv).c_str(), r.debug_string().c_str());
  std::string why = allot::fuzz::CheckReply(r);
  if (!why.empty()) Die("malformed reply to '" + Show(argv) + "': " + why);
  return r;
}

void RunTimers(World& w) {
  auto& impl = w.engine->impl();
  for (unsigned i = 0; i < impl.shard_count(); ++i) {
    impl.run_on_shard(i, [&](allot::internal::ShardState& s) {
      int64_t now = impl.now_ms();
      for (auto& db : s.dbs) db.sweep(now, allot::limits::kExpireKeysPerSweepMax);
      allot::internal::ExpireDueHolds(s, now, allot::limits::kExpireHoldsPerSweepMax);
    });
  }
}

int64_t Field(const Reply& map, std::string_view name, const std::string& key) {
  const Reply* f = map.find(name);
  if (f == nullptr || !f->is_integer())
    Die("INV.GET " + key + " has no integer " + std::string(name));
  return f->integer();
}

// The invariants of docs/commands.md "The model", through the public commands.
void CheckInventory(World& w, int db, const std::string& key,
                    const std::vector<std::string>& users) {
  Session s;
  s.db = db;
  s.resp = 3;
  Reply g = Call(w, s, {"INV.GET", key});
  if (!g.is_map()) Die("INV.GET " + key + " is not a map: " + g.debug_string());
  int64_t total = Field(g, "total", key), available = Field(g, "available", key);
  int64_t held = Field(g, "held", key), sold = Field(g, "sold", key);
  int64_t limit = Field(g, "limit", key);
  if (total < 0 || available < 0 || held < 0 || sold < 0 || limit < 0) {
    Die("negative counter in " + g.debug_string());
  }
  if (total != available + held + sold)
    Die("total != available + held + sold: " + g.debug_string());
  int64_t users_held = 0, users_bought = 0;
  for (const std::string& user : users) {
    Reply u = Call(w, s, {"INV.USER", key, user});
    const Reply* h = u.find("held");
    const Reply* b = u.find("bought");
    if (h == nullptr || b == nullptr) Die("INV.USER reply: " + u.debug_string());
    if (limit > 0 && h->integer() + b->integer() > limit) {
      Die("user " + user + " of " + key + " over the limit: " + u.debug_string() + " " +
          g.debug_string());
    }
    users_held += h->integer();
    users_bought += b->integer();
  }
  if (users_held != held || users_bought != sold) {
    Die("users' units do not add up for " + key + ": held " + std::to_string(users_held) +
        ", bought " + std::to_string(users_bought) + " vs " + g.debug_string());
  }
}

void CheckAllInventories(World& w) {
  struct Item {
    int db;
    std::string key;
    std::vector<std::string> users;
  };
  std::vector<Item> items;
  auto& impl = w.engine->impl();
  for (unsigned i = 0; i < impl.shard_count(); ++i) {
    impl.run_on_shard(i, [&](allot::internal::ShardState& s) {
      for (int db = 0; db < allot::limits::kDatabaseCount; ++db) {
        s.dbs[db].for_each(impl.now_ms(), [&](const std::string& key, allot::internal::Entry& e) {
          if (e.type() != allot::internal::ValueType::kInventory) return;
          Item item{db, key, {}};
          for (const auto& [user, state] : e.as<allot::internal::InventoryValue>()->users) {
            item.users.push_back(user);
          }
          items.push_back(std::move(item));
        });
      }
    });
  }
  for (const Item& item : items) CheckInventory(w, item.db, item.key, item.users);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = TheWorld();
  w.now_ms.store(kStartMs);
  Session session;
  Call(w, session, {"FLUSHALL"});
  Input in(data, size);
  session.resp = (in.next() & 1) ? 3 : 2;
  constexpr size_t kStepsMax = 64;
  for (size_t step = 0; step < kStepsMax && !in.done(); ++step) {
    uint8_t op = in.next();
    if (op == 0xff) {
      w.now_ms.fetch_add(static_cast<int64_t>(in.next()) * 1000 + in.next());
      continue;
    }
    if (op == 0xfe) {
      RunTimers(w);
      continue;
    }
    std::vector<std::string> argv;
    uint8_t pick = in.next();
    argv.push_back(op < 0x90 ? w.inv_names[pick % w.inv_names.size()]
                             : w.names[pick % w.names.size()]);
    size_t argc = op % 7;
    for (size_t i = 0; i < argc; ++i) argv.push_back(Arg(w, in));
    Call(w, session, argv);
  }
  CheckAllInventories(w);
  return 0;
}
