// reactor.h: one shard thread's event loop.
//
// Each shard thread runs one Reactor: an io_uring ring (liburing) on which every wait of
// the thread completes (wake-ups from other threads through an eventfd read, the timer
// of the next expiry sweep as the wait's timeout, and, in allotd, socket I/O), plus an
// inbox of Tasks posted by other threads through a lock-free MPSC queue.
//
// Wake-up protocol: the loop announces that it is about to sleep (sleeping_ = true), then
// looks at the inbox once more; a producer pushes, then reads sleeping_ and writes the
// eventfd only if it flips it back. Both sides fence (seq_cst), so either the loop sees the
// task or the producer sees the sleeper: a task is never left waiting for a timeout.
//
// Threading: post() from any thread; everything else only from the reactor's own thread.
#pragma once

#include <liburing.h>

#include <atomic>
#include <boost/lockfree/queue.hpp>
#include <cstdint>
#include <functional>

namespace allot::internal {

class Reactor;

// A unit of work posted to a shard. run() executes on the shard thread and must delete
// the task (or hand it on) when done; the poster gives up ownership at post().
struct Task {
  virtual ~Task() = default;
  virtual void run(Reactor& reactor) = 0;
};

// A pending io_uring operation's owner: user_data of the SQE points to it.
struct Completion {
  virtual ~Completion() = default;
  virtual void on_complete(Reactor& reactor, int32_t res, uint32_t flags) = 0;
};

class Reactor {
 public:
  // on_tick runs after each wake-up and at least every tick_interval_ms; it returns the
  // number of milliseconds until it wants to run again (capped by tick_interval_ms).
  using TickFn = std::function<int64_t()>;

  Reactor(unsigned id, uint32_t tick_interval_ms, TickFn on_tick);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Any thread. Takes ownership of task. From a non-shard thread (an application), it
  // waits (yielding) while the inbox holds kInboxMessagesMax tasks: back-pressure. From a
  // shard thread it never waits (the queue grows past its preallocated nodes instead),
  // because a shard that waited could be the one a parked shard is waiting for; what a
  // shard thread posts is bounded by its own admission limits (clients x pipeline depth).
  void post(Task* task);
  // Like post() but never waits, even from an application thread: the multi-shard
  // enqueue uses it while holding its mutex (engine/txn/multi_shard.h).
  void post_unbounded(Task* task);
  // Runs the loop on the calling thread until stop() has been called and the inbox is empty.
  void run();
  // Any thread.
  void stop();

  unsigned id() const { return id_; }
  io_uring* ring() { return &ring_; }
  // The IORING_SETUP_* flags the ring runs with (for INFO and the benchmark notes).
  unsigned ring_flags() const { return ring_flags_; }
  // An SQE for the caller to fill in; submits pending ones first if the ring is full.
  io_uring_sqe* get_sqe();

  // Reactor of the calling thread, or nullptr on a non-shard thread.
  static Reactor* current();

  // Counters for INFO and tests (read racily from other threads).
  std::atomic<uint64_t> tasks_run{0};
  std::atomic<uint64_t> wakeups{0};

 private:
  void init_ring();
  void arm_eventfd_read();
  void wake_if_sleeping();
  bool drain_inbox();
  void reap_completions();

  const unsigned id_;
  const uint32_t tick_interval_ms_;
  TickFn on_tick_;
  io_uring ring_{};
  bool ring_ready_ = false;
  unsigned ring_flags_ = 0;  // the IORING_SETUP_* flags the kernel accepted
  int event_fd_ = -1;
  uint64_t eventfd_buf_ = 0;
  bool eventfd_armed_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sleeping_{false};
  boost::lockfree::queue<Task*> inbox_;
};

}  // namespace allot::internal
