// allot/engine.h: the embedded Allot engine.
//
//   allot::Config cfg;                 // cfg.threads = 0: one shard thread per core
//   allot::Engine engine(cfg);         // starts the shard threads
//   allot::Reply r = engine.call({"INV.CREATE", "concert:42", "5000", "LIMIT", "1"});
//   allot::Reply h = engine.call({"INV.HOLD", "concert:42", "user:17"});
//
// Every command of allotd is available with the same arguments and the same replies as
// Reply values. Keys are spread over the shards by Redis Cluster's slot function
// (CRC16 of the key or of its {hash tag}); each shard is owned by one thread, and a call
// is executed on the thread that owns its keys. A command whose keys span shards is
// executed atomically over all of them.
//
// Threading contract: call(), call_async() and call_batch() may be invoked concurrently
// from any number of application threads. A callback passed to call_async() runs on a
// shard thread, or for a logged write in `durability always` on the log writer thread
// (after the record is durable): it must be short and must not call the Engine
// synchronously (it may call call_async()). The Engine must outlive every pending call;
// its destructor waits for the shard threads to finish the work already queued, and for
// the log writer to make the queued records durable, and stops them.
#pragma once

#include <allot/config.h>
#include <allot/reply.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace allot {

namespace internal {
class EngineImpl;
struct WatchState;
}  // namespace internal

// Per-caller state that Redis keeps per connection: the selected database, the protocol
// version (which changes the shape of a few replies, e.g. maps in RESP2) and the keys
// WATCHed for the next transaction. A session that ran WATCH must run UNWATCH or a
// transaction() before it is destroyed; otherwise its registrations stay in the shards
// (a leak of a few bytes per key) until the engine is destroyed.
// Checks the commands a script runs on a client's behalf (redis.call in EVAL and FCALL):
// allotd installs one per connection that applies the client's ACL user. An embedded
// Session has none: the application decides what it runs.
class CommandGate {
 public:
  virtual ~CommandGate() = default;
  // "" when args (args[0] = command name, known and of valid arity) may run; otherwise the
  // text of the error reply, without the leading '-'.
  virtual std::string check(std::span<const std::string_view> args) const = 0;
};

struct Session {
  int db = 0;
  int resp = 3;
  const CommandGate* gate = nullptr;  // see CommandGate; must outlive the session's commands
  std::shared_ptr<internal::WatchState> watch;  // set by WATCH, see engine/txn/watch.h
};

class Engine {
 public:
  using Callback = std::function<void(Reply)>;

  explicit Engine(const Config& cfg = Config());
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs one command synchronously and returns its reply. args[0] is the command name
  // (any case). Uses database 0 unless a Session is given.
  Reply call(std::initializer_list<std::string_view> args);
  Reply call(std::span<const std::string_view> args);
  Reply call(std::span<const std::string> args);
  Reply call(Session& session, std::span<const std::string_view> args);

  // Runs one command asynchronously; `done` receives the reply on a shard thread.
  void call_async(std::span<const std::string_view> args, Callback done);
  void call_async(Session& session, std::span<const std::string_view> args, Callback done);

  // Runs many commands and returns their replies in order. Commands for the same shard
  // travel in one message, which amortizes the cross-thread hand-off. Each command is
  // atomic on its own; the batch as a whole is not a transaction.
  std::vector<Reply> call_batch(const std::vector<std::vector<std::string>>& commands);

  // Runs commands as one transaction, as MULTI ... EXEC in Redis: atomically (no other
  // command runs on any shard they touch in between, however many shards that is) and
  // logged as one record. Returns an array with one reply per command; a command that
  // fails gives its error as its element and the others still run (EXEC does not roll
  // back). SELECT inside changes the database of the following commands and of session.
  // If a command is unknown or has the wrong number of arguments, nothing runs and the
  // reply is "EXECABORT Transaction discarded because of previous errors.". If the
  // session WATCHed keys (call(session, {"WATCH", key...})) and one was modified or
  // expired since, nothing runs and the reply is a null array; either way the watch is
  // released. Not from a shard thread.
  Reply transaction(Session& session, const std::vector<std::vector<std::string>>& commands);

  // Number of shard threads.
  unsigned shards() const;
  // Shard that owns `key`.
  unsigned shard_of(std::string_view key) const;

  internal::EngineImpl& impl() { return *impl_; }

 private:
  std::unique_ptr<internal::EngineImpl> impl_;
};

}  // namespace allot
