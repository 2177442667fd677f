// lua_alloc.h: the memory allocator of each Lua interpreter (lua_runtime.h).
//
// Why: a script call allocates and frees a handful of small Lua objects (the strings of
// ARGV and of each redis.call reply, the tables a script builds) and the collector frees
// them a little later. Through glibc malloc that was ~15% of an EVALSHA of the seed
// script (malloc, free, and the heap top trimmed and grown again, with page faults).
// An interpreter belongs to one thread, so its allocator needs no lock: small blocks come
// from per-size free lists carved out of 64 KiB chunks, larger ones from malloc.
//
// Lua 5.1 passes the old size of every block it reallocates or frees, so blocks carry no
// header. Chunks go back to the system only when the interpreter is closed: a script that
// once held many small objects keeps their memory for the next ones (at most the peak of
// small-object use of that thread's interpreter; LUA_GCCOUNT still counts only live bytes).
#pragma once

#include <cstddef>
#include <vector>

namespace allot::internal {

class LuaPool {
 public:
  LuaPool() = default;
  ~LuaPool();
  LuaPool(const LuaPool&) = delete;
  LuaPool& operator=(const LuaPool&) = delete;

  // A lua_Alloc; ud is the LuaPool.
  static void* Alloc(void* ud, void* ptr, size_t osize, size_t nsize);

 private:
  static constexpr size_t kGrain = 16;      // size classes are multiples of this
  static constexpr size_t kSmallMax = 512;  // larger blocks go to malloc
  static constexpr size_t kChunkBytes = 64 * 1024;
  static constexpr size_t kClasses = kSmallMax / kGrain;

  struct FreeBlock {
    FreeBlock* next;
  };

  static size_t ClassOf(size_t size) { return (size + kGrain - 1) / kGrain - 1; }
  void* take(size_t cls);
  void give(void* p, size_t cls) {
    auto* b = static_cast<FreeBlock*>(p);
    b->next = free_[cls];
    free_[cls] = b;
  }
  void refill(size_t cls);

  FreeBlock* free_[kClasses] = {};
  char* bump_ = nullptr;  // unused tail of the newest chunk
  size_t bump_left_ = 0;
  std::vector<void*> chunks_;
};

}  // namespace allot::internal
