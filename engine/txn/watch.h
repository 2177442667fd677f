// watch.h: WATCH, the optimistic lock of MULTI/EXEC (Redis semantics).
//
// A session that WATCHes keys owns one WatchState (Session::watch). Each watched key is
// registered in the WatchTable of the shard that owns it: (db, key) -> the states
// watching it. Whenever that key changes, its shard marks each watching state dirty;
// EXEC (engine/txn/transaction.cc) holds the shards of every watched key, reads the flag
// and answers a null array instead of running the queue when it is set.
//
// What marks a key ("touch"), the same events as Redis's signalModifiedKey:
//   * a write command that succeeded, for each of its declared keys that exists before
//     or after it (a DEL of a missing key changes nothing): WriteWatch, called from the
//     three places a handler runs (EngineImpl::run_local, execute_multi, RunNested);
//   * a key deleted by expiry, lazily or by the active sweep (Db::expire_now);
//   * FLUSHDB/FLUSHALL, for each watched key present when the database is emptied
//     (Db::clear);
//   * an inventory hold expired, by the shard timer or lazily (ExpireItemHolds); and at
//     EXEC, a hold of a watched item whose deadline passed since WATCH, even if nothing
//     expired it yet (like a key's TTL, below).
// A key that was already logically expired when it was WATCHed is not dirtied by its
// deletion (it stays "missing"), and EXEC also aborts when a watched key that existed at
// WATCH time has expired by then, even if nothing deleted it yet (Redis 7.0
// touchWatchedKey / isWatchedKeyExpired).
//
// Cost: every hook starts with `if (table.empty()) return` on the shard's own table, so
// the write path pays one load and branch while nobody watches a key of that shard.
// The hook sees that a command succeeded, not what it changed. Writes whose reply says
// they changed nothing (0 from PERSIST, SADD, SREM, DEL, EXPIRE, SETNX...; a null from
// SET NX/XX without GET) are recognized by a table in watch.cc, as Redis does not signal
// them either. Any other write that leaves an existing key as it was still dirties it:
// that can only abort an EXEC that Redis would run, never the reverse.
#pragma once

#include <allot/engine.h>
#include <allot/reply.h>

#include <array>
#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/keyspace/value.h"
#include "engine/limits.h"

namespace allot::internal {

class Db;
class EngineImpl;
struct CommandSpec;
struct CmdCtx;
struct ShardState;

struct WatchedKey {
  unsigned shard = 0;
  int db = 0;
  std::string key;
  int64_t watched_at_ms = 0;  // an inventory hold due after this and by EXEC is a change
};

// One session's watch. dirty is set by shard threads that own a watched key and read by
// EXEC while it holds all of them; keys is touched only by the session's own commands
// (WATCH, EXEC, UNWATCH), which never overlap.
struct WatchState {
  std::atomic<bool> dirty{false};
  std::vector<WatchedKey> keys;
};

class WatchTable {
 public:
  bool empty() const { return count_ == 0; }
  // Number of (db, key) entries: for INFO and tests.
  size_t size() const { return count_; }

  // Registers state on key; expired = the key is present but logically expired now.
  // No-op if state already watches it.
  // Returns whether it was new.
  bool add(int db, std::string_view key, const std::shared_ptr<WatchState>& state, bool expired);
  void remove(int db, std::string_view key, const WatchState* state);
  bool contains(int db, std::string_view key) const {
    return dbs_[static_cast<size_t>(db)].contains(key);
  }
  // Whether state's registration of key was made while the key was expired (and nothing
  // deleted it since); false if there is no such registration.
  bool registered_expired(int db, std::string_view key, const WatchState* state) const;
  // The key changed (call after the change): watchers become dirty, except those that
  // watched it expired when it is now gone.
  void touch(int db, std::string_view key, const Db& d);
  // Before d (database db) is emptied: the watched keys present in it. The caller clears
  // d and then touches them.
  std::vector<std::string> present_keys(int db, const Db& d) const;

 private:
  struct Reg {
    std::shared_ptr<WatchState> state;
    bool expired = false;
  };
  using Map = std::unordered_map<std::string, std::vector<Reg>, StrHash, StrEq>;
  std::array<Map, limits::kDatabaseCount> dbs_;
  size_t count_ = 0;
};

// The write hook: before(...) notes which watched keys of a write exist, after(...)
// touches those that existed before or exist after. Both return at once when no held
// shard has a watched key (the common case).
class WriteWatch {
 public:
  void before(CmdCtx& ctx, const CommandSpec& spec, std::span<const std::string_view> args);
  void after(CmdCtx& ctx, const Reply& reply);

 private:
  struct Noted {
    ShardState* shard;
    int db;
    std::string_view key;
    bool existed;
  };
  std::vector<Noted> noted_;
  const CommandSpec* spec_ = nullptr;
  std::span<const std::string_view> args_;
};

// Drops every registration of session's watch (UNWATCH, DISCARD, RESET, disconnect):
// posted to the owning shards, which run it after what they already have queued. The
// session forgets the watch at once, so a later WATCH starts a new one.
void ReleaseWatch(EngineImpl& engine, Session& session);

// Inside EXEC, holding every watched key's shard: whether the transaction must abort
// (a watched key changed, or expired since WATCH), and drops the registrations.
bool CheckAndReleaseWatch(CmdCtx& ctx);

}  // namespace allot::internal
