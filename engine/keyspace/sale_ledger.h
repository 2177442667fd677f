// sale_ledger.h: the container of an item's sale events for PostgreSQL sync
// (Inventory::unsynced, engine/pgsync/tracker.h).
//
// A std::deque whose blocks come from a per-thread free list. Why: the ledger is appended
// to on every sale and emptied by every sync round; with the plain allocator the freed
// blocks (about 13 MB per round at 100k sales/s) go back to the system when the heap
// shrinks, and the next round faults them in again, a page fault every 32 sales, which
// measured as most of the selling path's sync cost (docs/benchmarks.md). A deque rather
// than a vector keeps appends O(1) without reallocation stalls during a long outage.
#pragma once

#include <cstddef>
#include <deque>
#include <new>

#include "engine/limits.h"

namespace allot::internal {

// Recycles blocks of exactly kBlockBytes (the deque's element blocks); everything else
// (the deque's map) goes to operator new. Blocks may be freed on another thread than the
// one that allocated them: they are plain memory.
class LedgerPool {
 public:
  static constexpr size_t kBlockBytes = 512;  // libstdc++'s deque block for elements <= 512 B
  static void* allocate(size_t bytes) {
    if (bytes == kBlockBytes) {
      Pool& p = pool();
      if (p.head != nullptr && !p.dead) {
        Node* n = p.head;
        p.head = n->next;
        --p.count;
        return n;
      }
    }
    return ::operator new(bytes);
  }
  static void deallocate(void* ptr, size_t bytes) {
    Pool& p = pool();
    if (bytes == kBlockBytes && !p.dead && p.count < limits::kPgLedgerPoolBytesMax / kBlockBytes) {
      Node* n = static_cast<Node*>(ptr);
      n->next = p.head;
      p.head = n;
      ++p.count;
      return;
    }
    ::operator delete(ptr);
  }

 private:
  struct Node {
    Node* next;
  };
  struct Pool {
    Node* head = nullptr;
    size_t count = 0;
    // Set when the thread's pool is destroyed (thread exit): a ledger freed later on the
    // same thread (a static's destructor) must not push onto it.
    bool dead = false;
    ~Pool() {
      dead = true;
      while (head != nullptr) {
        Node* n = head;
        head = n->next;
        ::operator delete(n);
      }
    }
  };
  static Pool& pool() {
    thread_local Pool p;
    return p;
  }
};

template <class T>
struct LedgerAllocator {
  using value_type = T;
  LedgerAllocator() = default;
  template <class U>
  LedgerAllocator(const LedgerAllocator<U>&) {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) { return static_cast<T*>(LedgerPool::allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { LedgerPool::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const LedgerAllocator<U>&) const {
    return true;
  }
};

template <class T>
using SaleLedger = std::deque<T, LedgerAllocator<T>>;

}  // namespace allot::internal
