// engine.cc: the public allot::Engine, a thin layer over EngineImpl.
#include <allot/engine.h>

#include <atomic>

#include "engine/engine_impl.h"
#include "engine/keyspace/slot.h"
#include "engine/util/assert.h"

namespace allot {

namespace {

using internal::ReplySink;

// Completed by a shard thread; the application thread waits on a futex.
class SyncSink final : public ReplySink {
 public:
  void deliver(Reply reply) override {
    reply_ = std::move(reply);
    done_.store(1, std::memory_order_release);
    done_.notify_one();
  }
  Reply wait() {
    for (int i = 0; i < 200 && done_.load(std::memory_order_acquire) == 0; ++i) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    }
    while (done_.load(std::memory_order_acquire) == 0) done_.wait(0);
    return std::move(reply_);
  }

 private:
  Reply reply_;
  std::atomic<uint32_t> done_{0};
};

// Owns copies of the arguments (and the session) for a call whose caller does not wait.
class AsyncSink final : public ReplySink {
 public:
  AsyncSink(const Session& session, std::span<const std::string_view> args, Engine::Callback done)
      : session_(session), done_(std::move(done)) {
    owned_.reserve(args.size());
    for (std::string_view a : args) owned_.emplace_back(a);
    views_.reserve(args.size());
    for (const std::string& a : owned_) views_.emplace_back(a);
  }
  void deliver(Reply reply) override {
    Engine::Callback done = std::move(done_);
    delete this;
    if (done) done(std::move(reply));
  }
  Session& session() { return session_; }
  std::span<const std::string_view> args() const { return views_; }

 private:
  Session session_;
  Engine::Callback done_;
  std::vector<std::string> owned_;
  std::vector<std::string_view> views_;
};

}  // namespace

Engine::Engine(const Config& cfg) : impl_(std::make_unique<internal::EngineImpl>(cfg)) {}

Engine::~Engine() { impl_->shutdown(); }

unsigned Engine::shards() const { return impl_->shard_count(); }

unsigned Engine::shard_of(std::string_view key) const { return impl_->shard_of_key(key); }

Reply Engine::call(std::initializer_list<std::string_view> args) {
  return call(std::span<const std::string_view>(args.begin(), args.size()));
}

Reply Engine::call(std::span<const std::string_view> args) {
  Session session;
  return call(session, args);
}

Reply Engine::call(std::span<const std::string> args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return call(std::span<const std::string_view>(views));
}

Reply Engine::call(Session& session, std::span<const std::string_view> args) {
  if (args.empty()) return Reply::Error("ERR empty command");
  // A shard thread waiting for itself (or for a shard parked behind it) would deadlock.
  ALLOT_CHECK(internal::Reactor::current() == nullptr &&
              "Engine::call from a shard thread; use call_async");
  SyncSink sink;
  impl_->execute(session, args, &sink);
  return sink.wait();
}

void Engine::call_async(std::span<const std::string_view> args, Callback done) {
  Session session;
  call_async(session, args, std::move(done));
}

void Engine::call_async(Session& session, std::span<const std::string_view> args, Callback done) {
  if (args.empty()) {
    if (done) done(Reply::Error("ERR empty command"));
    return;
  }
  auto* sink = new AsyncSink(session, args, std::move(done));
  impl_->execute(sink->session(), sink->args(), sink);
}

Reply Engine::transaction(Session& session, const std::vector<std::vector<std::string>>& commands) {
  ALLOT_CHECK(internal::Reactor::current() == nullptr &&
              "Engine::transaction from a shard thread would wait for itself");
  SyncSink sink;
  impl_->execute_transaction(session, commands, &sink);
  return sink.wait();
}

std::vector<Reply> Engine::call_batch(const std::vector<std::vector<std::string>>& commands) {
  ALLOT_CHECK(internal::Reactor::current() == nullptr);
  std::vector<Reply> replies(commands.size());
  std::vector<std::vector<std::string_view>> views(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    views[i].assign(commands[i].begin(), commands[i].end());
  }
  // Commands of one shard go to it as one task; each reports into its slot.
  struct BatchSink final : ReplySink {
    Reply* slot;
    std::atomic<size_t>* left;
    void deliver(Reply r) override {
      *slot = std::move(r);
      if (left->fetch_sub(1, std::memory_order_acq_rel) == 1) left->notify_one();
    }
  };
  std::vector<BatchSink> sinks(commands.size());
  std::atomic<size_t> left{commands.size()};
  Session session;
  std::vector<std::vector<size_t>> per_shard(impl_->shard_count());
  for (size_t i = 0; i < commands.size(); ++i) {
    sinks[i].slot = &replies[i];
    sinks[i].left = &left;
    if (views[i].empty()) {
      sinks[i].deliver(Reply::Error("ERR empty command"));
      continue;
    }
    int shard = impl_->single_shard_route(views[i]);
    if (shard >= 0) {
      per_shard[static_cast<size_t>(shard)].push_back(i);
    } else {
      impl_->execute(session, views[i], &sinks[i]);
    }
  }
  for (unsigned s = 0; s < per_shard.size(); ++s) {
    if (per_shard[s].empty()) continue;
    impl_->run_on_shard_async(s, [&, s](internal::ShardState& shard) {
      for (size_t i : per_shard[s]) {
        impl_->execute_here(session, views[i], shard, &sinks[i]);
      }
    });
  }
  for (;;) {
    size_t v = left.load(std::memory_order_acquire);
    if (v == 0) break;
    left.wait(v);
  }
  return replies;
}

}  // namespace allot
