// multi_shard.h: atomic execution of one command over several shards.
//
// How it works. A command whose keys live on shards S = {s1 < s2 < ...} becomes a
// MultiShardTxn. Under EngineImpl's enqueue mutex, an arrival task for it is posted to
// every shard in S. When a shard thread reaches its arrival task it "parks": it counts
// itself in and waits, touching nothing, until the transaction is over. The shard that
// arrives last has exclusive use of every shard of S (all others are parked, and each
// shard's data is only ever touched by its own thread or by the transaction it is parked
// for), so it runs the command's handler over all of them, delivers the reply, and
// releases the others.
//
// Why it cannot deadlock. (1) The enqueue mutex is held only for pushes that never wait
// (a shard thread's post never blocks, and applications push unbounded here too), so
// every transaction is fully enqueued in bounded time. (2) Because enqueueing is
// serialized, all shards see the transactions in one global order. (3) A parked shard
// waits only for the other shards of the same transaction. Take the earliest unfinished
// transaction T: every shard of T processes its inbox in order, finishing single-shard
// tasks (which never wait) and earlier transactions (finished, by choice of T), so it
// reaches T. T completes, and by induction, so does every transaction.
//
// Why it is atomic. No shard of S executes anything between its arrival and the release,
// so the handler sees and leaves all of S's keys as one serial step, as Redis does.
//
// Cost. Two inbox hops per shard and a wait while the slowest shard arrives; parked
// shards serve nobody meanwhile. Single-shard commands never take this path; clients
// that want speed keep a sale's keys on one shard with a {hash tag}. The figure is in
// docs/benchmarks.md (multi-shard MSET).
//
// What a handler may do: read and write the held shards' databases through CmdCtx::db;
// it must not post to other shards, wait, or do I/O.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "engine/runtime/reactor.h"

namespace allot::internal {

class MultiShardTxn {
 public:
  // body runs once, on the last shard to arrive, with every shard of `shards` parked.
  MultiShardTxn(std::vector<unsigned> shards, std::function<void()> body)
      : shards_(std::move(shards)), body_(std::move(body)) {
    refs_.store(static_cast<unsigned>(shards_.size()));
  }

  const std::vector<unsigned>& shards() const { return shards_; }

  // Called by each shard's arrival task on that shard's thread.
  void arrive();

 private:
  std::vector<unsigned> shards_;
  std::function<void()> body_;
  std::atomic<unsigned> arrived_{0};
  std::atomic<uint32_t> released_{0};
  std::atomic<unsigned> refs_{0};
};

// The task posted to each shard of a transaction.
class TxnArrivalTask final : public Task {
 public:
  explicit TxnArrivalTask(MultiShardTxn* txn) : txn_(txn) {}
  void run(Reactor&) override {
    txn_->arrive();
    delete this;
  }

 private:
  MultiShardTxn* txn_;
};

}  // namespace allot::internal
