#include "engine/runtime/reactor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "engine/limits.h"
#include "engine/util/assert.h"

namespace allot::internal {

namespace {

thread_local Reactor* tl_current = nullptr;

// user_data tag of the eventfd read. Completions carry a pointer; pointers are never 1.
constexpr uint64_t kEventfdTag = 1;
constexpr unsigned kRingEntries = 1024;

}  // namespace

Reactor::Reactor(unsigned id, uint32_t tick_interval_ms, TickFn on_tick)
    : id_(id),
      tick_interval_ms_(tick_interval_ms == 0 ? 1 : tick_interval_ms),
      on_tick_(std::move(on_tick)),
      inbox_(limits::kInboxMessagesMax) {
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ALLOT_CHECK(event_fd_ >= 0);
}

void Reactor::init_ring() {
  // SINGLE_ISSUER tells the kernel only this thread submits, which lets it skip locking;
  // the ring must then be created by the thread that uses it, hence here and not in the
  // constructor. DEFER_TASKRUN keeps the kernel from running our completions' task work at
  // every syscall exit: it runs only when the loop asks for events, in one batch. Without it a
  // socket's receive ran inside the reply's send syscall and spun on the socket lock the
  // sender's softirq still held (a third of allotd's CPU under redis-benchmark -P 1).
  // Older kernels refuse the flags: fall back step by step to a plain ring.
  const unsigned kFlagSets[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                                IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
                                IORING_SETUP_SINGLE_ISSUER, 0};
  int rc = -EINVAL;
  for (unsigned flags : kFlagSets) {
    io_uring_params params{};
    params.flags = flags;
    rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
    if (rc == 0) {
      ring_flags_ = flags;
      break;
    }
  }
  if (rc < 0) {
    std::fprintf(stderr, "allot: io_uring_queue_init failed: %s\n", std::strerror(-rc));
    std::abort();
  }
  ring_ready_ = true;
}

Reactor::~Reactor() {
  Task* t = nullptr;
  while (inbox_.pop(t)) delete t;
  if (ring_ready_) io_uring_queue_exit(&ring_);
  close(event_fd_);
}

Reactor* Reactor::current() { return tl_current; }

void Reactor::post(Task* task) {
  ALLOT_DCHECK(task != nullptr);
  if (tl_current != nullptr) {
    ALLOT_CHECK(inbox_.push(task));
  } else {
    while (!inbox_.bounded_push(task)) std::this_thread::yield();
  }
  wake_if_sleeping();
}

void Reactor::wake_if_sleeping() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed) && sleeping_.exchange(false)) {
    uint64_t one = 1;
    ssize_t n = write(event_fd_, &one, sizeof one);
    (void)n;  // EAGAIN means the counter is already non-zero: the loop wakes anyway.
  }
}

void Reactor::post_unbounded(Task* task) {
  ALLOT_CHECK(inbox_.push(task));
  wake_if_sleeping();
}

void Reactor::stop() {
  stopping_.store(true);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  uint64_t one = 1;
  ssize_t n = write(event_fd_, &one, sizeof one);
  (void)n;
}

io_uring_sqe* Reactor::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  ALLOT_CHECK(sqe != nullptr);
  return sqe;
}

void Reactor::arm_eventfd_read() {
  if (eventfd_armed_) return;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_read(sqe, event_fd_, &eventfd_buf_, sizeof eventfd_buf_, 0);
  io_uring_sqe_set_data64(sqe, kEventfdTag);
  eventfd_armed_ = true;
}

bool Reactor::drain_inbox() {
  Task* t = nullptr;
  size_t n = 0;
  while (n < limits::kInboxDrainBatchMax && inbox_.pop(t)) {
    t->run(*this);
    ++n;
  }
  if (n > 0) tasks_run.fetch_add(n, std::memory_order_relaxed);
  return n > 0;
}

void Reactor::reap_completions() {
  io_uring_cqe* cqes[256];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 256);
    if (n == 0) return;
    for (unsigned i = 0; i < n; ++i) {
      uint64_t data = io_uring_cqe_get_data64(cqes[i]);
      int32_t res = cqes[i]->res;
      uint32_t flags = cqes[i]->flags;
      io_uring_cqe_seen(&ring_, cqes[i]);
      if (data == kEventfdTag) {
        eventfd_armed_ = false;
        wakeups.fetch_add(1, std::memory_order_relaxed);
      } else if (data != 0) {
        reinterpret_cast<Completion*>(data)->on_complete(*this, res, flags);
      }
    }
  }
}

void Reactor::run() {
  init_ring();
  tl_current = this;
  int64_t wait_ms = 0;
  for (;;) {
    bool worked = drain_inbox();
    reap_completions();
    wait_ms = on_tick_ ? on_tick_() : tick_interval_ms_;
    if (wait_ms > tick_interval_ms_) wait_ms = tick_interval_ms_;
    if (stopping_.load(std::memory_order_acquire) && inbox_.empty()) break;
    if (worked) {
      io_uring_submit_and_get_events(&ring_);
      continue;
    }
    arm_eventfd_read();
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!inbox_.empty() || stopping_.load()) {
      sleeping_.store(false, std::memory_order_relaxed);
      io_uring_submit_and_get_events(&ring_);
      continue;
    }
    if (wait_ms <= 0) wait_ms = 0;
    __kernel_timespec ts{};
    ts.tv_sec = wait_ms / 1000;
    ts.tv_nsec = (wait_ms % 1000) * 1000000;
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
      std::fprintf(stderr, "allot: io_uring wait failed: %s\n", std::strerror(-rc));
      std::abort();
    }
    sleeping_.store(false, std::memory_order_relaxed);
  }
  reap_completions();
  tl_current = nullptr;
}

}  // namespace allot::internal
