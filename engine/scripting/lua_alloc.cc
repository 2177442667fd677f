#include "engine/scripting/lua_alloc.h"

#include <cstdlib>
#include <cstring>

namespace allot::internal {

LuaPool::~LuaPool() {
  for (void* c : chunks_) std::free(c);
}

void LuaPool::refill(size_t cls) {
  size_t size = (cls + 1) * kGrain;
  if (bump_left_ < size) {
    // The tail of the old chunk goes to the free lists of the sizes it still fits.
    while (bump_left_ >= kGrain) {
      size_t c = ClassOf(bump_left_ > kSmallMax ? kSmallMax : bump_left_);
      if ((c + 1) * kGrain > bump_left_) --c;
      give(bump_, c);
      bump_ += (c + 1) * kGrain;
      bump_left_ -= (c + 1) * kGrain;
    }
    bump_ = static_cast<char*>(std::malloc(kChunkBytes));
    if (bump_ == nullptr) {
      bump_left_ = 0;
      return;
    }
    chunks_.push_back(bump_);
    bump_left_ = kChunkBytes;
  }
  give(bump_, cls);
  bump_ += size;
  bump_left_ -= size;
}

void* LuaPool::take(size_t cls) {
  if (free_[cls] == nullptr) refill(cls);
  FreeBlock* b = free_[cls];
  if (b == nullptr) return nullptr;  // out of memory: Lua raises its memory error
  free_[cls] = b->next;
  return b;
}

void* LuaPool::Alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* pool = static_cast<LuaPool*>(ud);
  if (ptr == nullptr) osize = 0;  // Lua 5.1 passes 0 here already; be explicit
  bool old_small = ptr != nullptr && osize <= kSmallMax;
  if (nsize == 0) {
    if (ptr == nullptr) return nullptr;
    if (old_small) {
      pool->give(ptr, ClassOf(osize));
    } else {
      std::free(ptr);
    }
    return nullptr;
  }
  if (nsize <= kSmallMax) {
    size_t cls = ClassOf(nsize);
    if (old_small && ClassOf(osize) == cls) return ptr;
    void* p = pool->take(cls);
    if (p == nullptr) return nullptr;
    if (ptr != nullptr) {
      std::memcpy(p, ptr, osize < nsize ? osize : nsize);
      if (old_small) {
        pool->give(ptr, ClassOf(osize));
      } else {
        std::free(ptr);
      }
    }
    return p;
  }
  if (ptr == nullptr || !old_small) return std::realloc(ptr, nsize);
  void* p = std::malloc(nsize);
  if (p == nullptr) return nullptr;
  std::memcpy(p, ptr, osize);
  pool->give(ptr, ClassOf(osize));
  return p;
}

}  // namespace allot::internal
