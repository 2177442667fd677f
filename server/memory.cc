// Replaces the global operator new/delete to count live bytes per thread (memory.h).
#include "server/memory.h"

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace allot::server {

namespace {

// One counter per allocating thread, each on its own cache line. A thread's first
// allocation takes the next slot; past kMemorySlots threads share the last one (and use
// an atomic add there). Frees are counted on the freeing thread, so a single counter may
// go negative; the sum is what matters.
constexpr size_t kMemorySlots = 128;
struct alignas(64) Counter {
  std::atomic<int64_t> bytes{0};
};
Counter g_counters[kMemorySlots];
std::atomic<size_t> g_slots_used{0};
thread_local Counter* t_counter = nullptr;
thread_local bool t_shared = false;

inline void Count(int64_t delta) {
  Counter* c = t_counter;
  if (c == nullptr) {
    size_t slot = g_slots_used.fetch_add(1, std::memory_order_relaxed);
    t_shared = slot >= kMemorySlots - 1;
    c = t_counter = &g_counters[t_shared ? kMemorySlots - 1 : slot];
  }
  if (t_shared) {
    c->bytes.fetch_add(delta, std::memory_order_relaxed);
  } else {
    // This thread is the only writer of its slot: a plain add, visible to readers.
    c->bytes.store(c->bytes.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
}

inline void* Allocate(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  Count(static_cast<int64_t>(malloc_usable_size(p)));
  return p;
}

inline void* AllocateAligned(size_t n, std::align_val_t al) {
  void* p = nullptr;
  size_t a = static_cast<size_t>(al);
  if (a < sizeof(void*)) a = sizeof(void*);
  if (posix_memalign(&p, a, n == 0 ? 1 : n) != 0) throw std::bad_alloc();
  Count(static_cast<int64_t>(malloc_usable_size(p)));
  return p;
}

inline void Release(void* p) {
  if (p == nullptr) return;
  Count(-static_cast<int64_t>(malloc_usable_size(p)));
  std::free(p);
}

}  // namespace

int64_t UsedMemoryBytes() {
  size_t n = g_slots_used.load(std::memory_order_relaxed);
  if (n > kMemorySlots) n = kMemorySlots;
  int64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += g_counters[i].bytes.load(std::memory_order_relaxed);
  return sum < 0 ? 0 : sum;
}

int64_t RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long pages = 0, resident = 0;
  int got = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return got == 2 ? static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE) : 0;
}

}  // namespace allot::server

// ALLOT_MEMORY_NO_OVERRIDE builds the library's default operator new instead (only to
// measure what the accounting costs, docs/access-control.md; used_memory is then 0).
#ifndef ALLOT_MEMORY_NO_OVERRIDE
using allot::server::Allocate;
using allot::server::AllocateAligned;
using allot::server::Release;

void* operator new(size_t n) { return Allocate(n); }
void* operator new[](size_t n) { return Allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(size_t n, std::align_val_t al) { return AllocateAligned(n, al); }
void* operator new[](size_t n, std::align_val_t al) { return AllocateAligned(n, al); }
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }
#endif  // ALLOT_MEMORY_NO_OVERRIDE
